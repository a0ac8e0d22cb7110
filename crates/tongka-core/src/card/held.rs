//! Cards a member holds: sold by a sale's line (the card is a copy of the
//! product's plan then), visited (核销) at any store, refunded at the store
//! that sold it. A count card's visits are an escrowed counter like a
//! coupon's uses (`escrow::Counter::Card`): split into shares per node,
//! each taken only by its holder, so the card is never visited more times
//! than it has visits, whatever the network does. A period card has no
//! counter: its visits are counted per day for its daily cap (the cap's
//! stated limit is in `card`'s module doc).

use serde::{Deserialize, Serialize};

use super::Card;
use crate::day::Day;
use crate::ids::{CardId, NodeId};
use crate::shares::Shares;

/// The most cards one member may hold.
pub const CARDS_PER_MEMBER_MAX: usize = 200;
/// The days of visits a card keeps counted (today's is what the cap
/// reads; a few more for a node whose clock lags).
const VISIT_DAYS_KEPT: usize = 8;

/// A card in a member's wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldCard {
    pub card: Card,
    /// A count card's visits held per node; none for a period card.
    pub shares: Shares,
    /// Visits per day, the most recent days (for a period card's cap).
    pub days: Vec<(Day, u32)>,
    /// Visits made in all.
    pub visited: u32,
    /// Refunded: no visit is made on it any more.
    pub refunded: bool,
}

/// A debit of more visits than a node's share holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{node} holds {held} visits of card {card}, cannot take {wanted}")]
pub struct VisitsShort {
    pub card: CardId,
    pub node: NodeId,
    pub held: i64,
    pub wanted: i64,
}

impl HeldCard {
    /// A card just sold: a count card's visits all held by `holder`.
    pub fn sold(card: Card, holder: &NodeId) -> HeldCard {
        let shares = if card.is_count() {
            Shares::of(holder, i64::from(card.visits))
        } else {
            Shares::default()
        };
        HeldCard {
            card,
            shares,
            days: Vec::new(),
            visited: 0,
            refunded: false,
        }
    }

    /// A merged-away member's card arriving at its survivor, before the
    /// visits moved with it are credited.
    pub fn moved_in(card: Card, visited: u32, refunded: bool) -> HeldCard {
        HeldCard {
            card,
            shares: Shares::default(),
            days: Vec::new(),
            visited,
            refunded,
        }
    }

    pub fn id(&self) -> &CardId {
        &self.card.id
    }

    /// The visits `node` holds (a count card).
    pub fn held(&self, node: &NodeId) -> i64 {
        self.shares.held(node)
    }

    /// A count card's visits left, wherever held.
    pub fn left(&self) -> i64 {
        self.shares.total()
    }

    /// A count card's visits used: its visits less those left.
    pub fn used(&self) -> u32 {
        u32::try_from((i64::from(self.card.visits) - self.left()).max(0)).unwrap_or(0)
    }

    /// The nodes holding visits.
    pub fn holders(&self) -> impl Iterator<Item = &NodeId> {
        self.shares.holders()
    }

    /// The visits this node knows of on `day`.
    pub fn visits_on(&self, day: Day) -> u32 {
        self.days
            .iter()
            .find(|(d, _)| *d == day)
            .map_or(0, |(_, n)| *n)
    }

    /// Record `count` visits on `day` (keeping the most recent days).
    pub fn record(&mut self, day: Day, count: u32) {
        match self.days.iter_mut().find(|(d, _)| *d == day) {
            Some((_, n)) => *n = n.saturating_add(count),
            None => {
                self.days.push((day, count));
                self.days.sort_by_key(|d| std::cmp::Reverse(d.0));
                self.days.truncate(VISIT_DAYS_KEPT);
            }
        }
        self.visited = self.visited.saturating_add(count);
    }

    pub fn credit(&mut self, node: &NodeId, visits: i64) {
        self.shares.credit(node, visits);
    }

    /// Take `visits` from `node`'s share; refused (nothing changed) when it
    /// holds fewer.
    pub fn debit(&mut self, node: &NodeId, visits: i64) -> Result<(), VisitsShort> {
        self.shares.debit(node, visits).map_err(|held| VisitsShort {
            card: self.card.id.clone(),
            node: node.clone(),
            held,
            wanted: visits,
        })
    }
}
