//! Count and period cards in the simulator (issue 11): the scenario's
//! `[cards]` table, what the report counts of them, and the checks over a
//! node's cards.
//!
//! Every rule is the core's or the machine's, none copied here: a card is
//! sold by a checkout line of a card product (`checkout::checkout_with`
//! with `LineInput::card`, codes from `checkout::mint_cards`), its visits
//! held by the selling store; a visit is `card::decide_visit` over the
//! card as the store holds it (`HeldCard::{held, left, visits_on}`),
//! logged as `CardVisited`; a store short of a count card's visit asks the
//! holders through the node machine's escrow for `Counter::Card` (as the
//! engine's `visit_card`), once, then decides again; a refund of a card
//! line is `OrderState::decide_with_cards`, and a card whose visits are
//! held elsewhere (`card_held_elsewhere`) has them asked for first (as the
//! engine's refund), then the refund is decided again. The Sim's side
//! lives in `sim/cards.rs`.
//!
//! Checks (full sweeps, only when the scenario has cards):
//! - at_most_once: for each count card (by code, over every member
//!   holding it: a merge moves cards), the visits in the `CardVisited` ops
//!   a node applied never exceed its visits; and no count-card visit is
//!   applied after the card's refund at the node that refunded it;
//! - no_overdraft: no node's share of a card's visits below zero; the
//!   shares add up to visits − visits applied − the visits refunds took
//!   back; `LedgerTotals::card_visits` is the visits applied.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tongka_core::card::{CardKind, CardPlan};
use tongka_core::ids::{CardId, MemberId, NodeId, OpId};
use tongka_core::money::Money;

use crate::node::Materialised;
use crate::report::pct;
use crate::scenario::Num;

/// A card product the stores sell: its sku, name, price and the core's
/// `CardPlan` (serde as it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardProduct {
    pub sku: String,
    pub name: String,
    pub price: Money,
    pub plan: CardPlan,
}

/// The scenario's `[cards]` table (absent: no cards, and the run draws the
/// same random numbers and reports byte for byte as before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cards {
    /// The card products; a sale picks one at random.
    pub plans: Vec<CardProduct>,
    /// Card sales per member per day, at the member's home store (one
    /// card, paid in cash).
    #[serde(default)]
    pub sales: Num,
    /// Visits per card-holding member per day (drawn in the hourly chunks
    /// like checkouts), on one of the member's cards picked at random.
    #[serde(default)]
    pub visits: Num,
    /// Probability that a visit is at another store than the one that
    /// sold the card (picked at random among the others).
    #[serde(default)]
    pub away: Num,
    /// Probability that a card sale is refunded later (its whole line, at
    /// the selling store, 1 to 4 hours after the sale).
    #[serde(default)]
    pub refunds: Num,
}

impl Cards {
    /// What is wrong with the table, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.plans.is_empty() {
            return Some("cards.plans: at least one".into());
        }
        let mut skus = std::collections::BTreeSet::new();
        for p in &self.plans {
            if let Err(e) = tongka_core::catalogue::validate_sku(&p.sku) {
                return Some(format!("cards.plans: {}: {e}", p.sku));
            }
            if !skus.insert(p.sku.as_str()) {
                return Some(format!("cards.plans: {} twice", p.sku));
            }
            if let Err(e) = p.plan.validate() {
                return Some(format!("cards.plans: {}: {e} ({})", p.sku, e.field()));
            }
            if !p.price.is_positive() {
                return Some(format!("cards.plans: {}: price must be positive", p.sku));
            }
        }
        for (name, p) in [("cards.away", self.away), ("cards.refunds", self.refunds)] {
            if p.0 > rust_decimal::Decimal::ONE {
                return Some(format!("{name} is a probability (0 to 1)"));
            }
        }
        None
    }
}

/// A card as its member knows it: its code, the store that sold it, its
/// plan (by index in `plans`), and whether they have had it refunded.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    pub id: CardId,
    pub store: usize,
    pub plan: usize,
    pub refunded: bool,
}

/// Whether a refusal is the card's own rule (what no share could change:
/// used up in all, expired, over the daily cap, …) rather than where its
/// visits are held or the store's state.
pub(crate) fn by_the_card(code: &str) -> bool {
    matches!(
        code,
        "card_used_up"
            | "card_daily_cap"
            | "card_expired"
            | "card_not_yet_valid"
            | "card_not_applicable"
            | "card_refunded"
    )
}

const PLACES: [&str; 4] = [
    "home, normal",
    "elsewhere, normal",
    "home, cut off",
    "elsewhere, cut off",
];

/// What the report counts of cards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardStats {
    /// Cards sold: count cards, period cards.
    pub sold_count: u64,
    pub sold_period: u64,
    /// Card sales not made, by code.
    pub sale_declined: BTreeMap<&'static str, u64>,
    /// Visits by place (`coupons::place`: the member's home store or
    /// elsewhere × normal or cut off by a partition): asked for, made,
    /// made without asking another store for the visit, declined by the
    /// card's own rules (`by_the_card`).
    pub attempted: [u64; 4],
    pub made: [u64; 4],
    pub local: [u64; 4],
    pub ruled: [u64; 4],
    /// Visits made on count cards and on period cards.
    pub made_count: u64,
    pub made_period: u64,
    /// Visits declined, by code.
    pub declines: BTreeMap<&'static str, u64>,
    /// Escrow asks for visits started (visits; refunds), and the transfer
    /// ops given for them with the visits they moved.
    pub visit_asks: u64,
    pub refund_asks: u64,
    pub transfers: u64,
    pub moved: u64,
    /// Card refunds asked for, made (of which after asking for visits
    /// held elsewhere), declined by code; cards taken back.
    pub refunds_asked: u64,
    pub refunds: u64,
    pub refunds_after_ask: u64,
    pub refund_declines: BTreeMap<&'static str, u64>,
    pub cards_back: u64,
}

fn codes(m: &BTreeMap<&'static str, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    let v: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
    v.join(", ")
}

impl CardStats {
    /// Visits at the member's home store while cut off: (served locally,
    /// attempted, attempted less those the card's own rules refused).
    pub fn home_cut_local(&self) -> (u64, u64, u64) {
        (
            self.local[2],
            self.attempted[2],
            self.attempted[2] - self.ruled[2],
        )
    }

    pub fn to_text(&self, o: &mut String, totals: Option<&tongka_core::state::LedgerTotals>) {
        let _ = writeln!(o, "cards");
        let _ = writeln!(
            o,
            "  sold {} (count {}, period {}); not sold: {}",
            self.sold_count + self.sold_period,
            self.sold_count,
            self.sold_period,
            codes(&self.sale_declined)
        );
        let (a, m) = (
            self.attempted.iter().sum::<u64>(),
            self.made.iter().sum::<u64>(),
        );
        let _ = writeln!(
            o,
            "  visits attempted {a}, made {m} (count cards {}, period cards {}), declined {} ({})",
            self.made_count,
            self.made_period,
            self.declines.values().sum::<u64>(),
            codes(&self.declines)
        );
        let _ = writeln!(
            o,
            "  escrow asks for visits {}, for refunds {}; transfers {} moving {} visits",
            self.visit_asks, self.refund_asks, self.transfers, self.moved
        );
        let _ = writeln!(
            o,
            "  refunds asked {}, made {} (after asking for visits {}; cards taken back {}), declined: {}",
            self.refunds_asked,
            self.refunds,
            self.refunds_after_ask,
            self.cards_back,
            codes(&self.refund_declines)
        );
        let _ = writeln!(
            o,
            "  {:<20} {:>9} {:>9} {:>16} {:>13}",
            "where", "attempted", "made", "served locally", "card's rules"
        );
        for (i, p) in PLACES.iter().enumerate() {
            let _ = writeln!(
                o,
                "  {:<20} {:>9} {:>9} {:>16} {:>13}",
                p,
                self.attempted[i],
                self.made[i],
                format!(
                    "{} {}",
                    self.local[i],
                    pct(self.local[i], self.attempted[i])
                ),
                self.ruled[i]
            );
        }
        let allowed = |i: usize| self.attempted[i] - self.ruled[i];
        let _ = writeln!(
            o,
            "  during partitions: {} of visits at the member's home store served locally ({} of those the card's rules allow), {} at other stores ({})",
            pct(self.local[2], self.attempted[2]),
            pct(self.local[2], allowed(2)),
            pct(self.local[3], self.attempted[3]),
            pct(self.local[3], allowed(3))
        );
        if let Some(t) = totals {
            let _ = writeln!(
                o,
                "  ledger: cards sold {}, visits {}, refunded {}, kept {}",
                t.cards_sold, t.card_visits, t.cards_refunded, t.card_kept
            );
        }
    }
}

/// What a node applied of one card: the visits in its `CardVisited` ops,
/// the visits refunds took back, and the origin of its refund.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Book {
    pub visited: i64,
    pub taken: i64,
    pub refunded_by: Option<NodeId>,
}

/// A node's card books (kept as ops apply: `Materialised::card_books`):
/// per card its `Book`, and the count-card visits applied after the
/// card's refund (the card, the refund's origin, the visit op).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Books {
    pub cards: BTreeMap<CardId, Book>,
    pub late: Vec<(CardId, NodeId, OpId)>,
}

impl Books {
    /// `count` visits of `card` applied by `op` (a count card if `count_card`).
    pub fn visited(&mut self, card: &CardId, count: u32, count_card: bool, op: &OpId) {
        let b = self.cards.entry(card.clone()).or_default();
        b.visited += i64::from(count);
        if count_card && let Some(by) = &b.refunded_by {
            self.late.push((card.clone(), by.clone(), op.clone()));
        }
    }

    /// A refund by `origin` took `card` back with `left` visits left.
    pub fn refunded(&mut self, card: &CardId, left: i64, origin: &NodeId) {
        let b = self.cards.entry(card.clone()).or_default();
        b.taken += left;
        b.refunded_by = Some(origin.clone());
    }
}

/// The card checks over node `node`'s state (module doc): the invariant
/// broken and what, or `None`.
pub(crate) fn problem(st: &Materialised, node: &NodeId) -> Option<(&'static str, String)> {
    if let Some((card, _, op)) = st.card_books.late.iter().find(|(_, by, _)| by == node) {
        let d = format!("{node} applied visit {op} of card {card} after refunding the card");
        return Some(("at_most_once", d));
    }
    // Per count card: its visits, the visits left on every member holding
    // it, the first member holding it.
    let mut per: BTreeMap<&CardId, (i64, i64, &MemberId)> = BTreeMap::new();
    for (_, m) in st.members.slots() {
        for c in &m.cards {
            let id = c.id();
            if let Some((n, v)) = c.shares.iter().find(|(_, v)| *v < 0) {
                let d = format!("{}: {n}'s share of card {id} is {v}", m.id);
                return Some(("no_overdraft", d));
            }
            if matches!(c.card.plan.kind, CardKind::Count { .. }) {
                let visits = i64::from(c.card.visits);
                per.entry(id).or_insert((visits, 0, &m.id)).1 += c.left();
            }
        }
    }
    for (id, (visits, held, member)) in per {
        let b = st.card_books.cards.get(id).cloned().unwrap_or_default();
        if b.visited > visits {
            let d = format!(
                "count card {id} of {member} visited {} times in the ops applied, of {visits} visits",
                b.visited
            );
            return Some(("at_most_once", d));
        }
        if held != visits - b.visited - b.taken {
            let d = format!(
                "count card {id} of {member}: shares hold {held} visits, but visits {visits} − visited {} − taken back by its refund {} = {}",
                b.visited,
                b.taken,
                visits - b.visited - b.taken
            );
            return Some(("no_overdraft", d));
        }
    }
    let applied: i64 = st.card_books.cards.values().map(|b| b.visited).sum();
    (applied != st.totals.card_visits).then(|| {
        (
            "no_overdraft",
            format!(
                "the visits applied are {applied}, the ledger says {}",
                st.totals.card_visits
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tongka_core::checkout::{
        Buyer, CheckoutContext, Deductions, LineInput, TenderInput, TenderKind,
    };
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::day::Day;
    use tongka_core::ids::{OpId, OrderId};
    use tongka_core::member::Profile;
    use tongka_core::op::{Op, OpBody, OpDraft};
    use tongka_core::programme::Programme;

    fn op(origin: &str, seq: u64, body: OpBody) -> Op {
        OpDraft {
            hlc: Hlc {
                ms: crate::sim::EPOCH_MS + seq,
                count: 0,
            },
            by: "t".into(),
            idem: None,
            body,
        }
        .stamp(
            OpId {
                origin: NodeId::new(origin).unwrap(),
                seq,
            },
            VersionVector::new(),
        )
    }

    /// A node state with one member holding one count card of 3 visits
    /// sold at store-1 (by the core's checkout, as the simulator sells).
    fn state() -> (Materialised, MemberId, CardId) {
        let s1 = NodeId::new("store-1").unwrap();
        let member = MemberId::mint(&s1, 1);
        let mut st = Materialised::default();
        let profile = Profile {
            phone: "13000000001".into(),
            name: "会员".into(),
            birthday: None,
            gender: None,
            card_no: None,
            invited_by: None,
            tags: vec![],
            notes: String::new(),
        };
        let reg = OpBody::MemberRegistered {
            member: member.clone(),
            profile,
            opening: None,
        };
        st.apply(&op("store-1", 1, reg), None, false, false, false)
            .unwrap();
        let programme = Programme::default();
        let m = st.members.get(&member).unwrap().clone();
        let ctx = CheckoutContext {
            programme: &programme,
            store: &s1,
            order: OrderId::mint(&s1, 2),
            at: Hlc {
                ms: crate::sim::EPOCH_MS + 2,
                count: 0,
            },
            buyer: Some(Buyer {
                member: &member,
                level: programme.level_for(m.cumulative_principal),
                wallet: &m.wallet,
            }),
        };
        let plan = CardPlan {
            kind: CardKind::Count {
                visits: 3,
                days: None,
            },
            services: vec![],
        };
        let lines = [LineInput {
            sku: Some("wash3".into()),
            barcode: None,
            description: "三次卡".into(),
            unit_price: Money::from_yuan(90),
            qty: rust_decimal::Decimal::ONE,
            card: Some(plan),
            pricing: Default::default(),
        }];
        let tenders = [TenderInput {
            kind: TenderKind::Cash,
            amount: None,
        }];
        let none = Deductions {
            points: 0,
            coupons: &[],
        };
        let mut order =
            tongka_core::checkout::checkout_with(&ctx, &lines, &tenders, &none).unwrap();
        let id = CardId::mint(&s1, 3);
        tongka_core::checkout::mint_cards(&mut order, || id.clone());
        st.apply(
            &op("store-1", 2, OpBody::sale(order)),
            None,
            false,
            false,
            false,
        )
        .unwrap();
        (st, member, id)
    }

    fn visit(st: &mut Materialised, member: &MemberId, card: &CardId, seq: u64) {
        let body = OpBody::CardVisited {
            member: member.clone(),
            card: card.clone(),
            count: 1,
            service: None,
            day: Day::of_ms(crate::sim::EPOCH_MS),
        };
        st.apply(&op("store-1", seq, body), None, false, false, false)
            .unwrap();
    }

    #[test]
    fn a_sound_state_passes() {
        let s1 = NodeId::new("store-1").unwrap();
        let (mut st, member, card) = state();
        assert_eq!(problem(&st, &s1), None);
        visit(&mut st, &member, &card, 3);
        assert_eq!(problem(&st, &s1), None);
        assert_eq!(st.totals.card_visits, 1);
        assert_eq!(st.card_books.cards[&card].visited, 1);
    }

    #[test]
    fn more_visits_applied_than_the_card_has_is_at_most_once() {
        let s1 = NodeId::new("store-1").unwrap();
        let (mut st, _, card) = state();
        st.card_books.cards.entry(card).or_default().visited = 4;
        let (inv, what) = problem(&st, &s1).unwrap();
        assert_eq!(inv, "at_most_once", "{what}");
    }

    #[test]
    fn shares_not_adding_up_or_negative_is_no_overdraft() {
        let s1 = NodeId::new("store-1").unwrap();
        // A visit applied that the shares never lost.
        let (mut st, _, card) = state();
        st.card_books.cards.entry(card).or_default().visited = 1;
        st.totals.card_visits = 1;
        let (inv, what) = problem(&st, &s1).unwrap();
        assert_eq!(inv, "no_overdraft", "{what}");
        assert!(what.contains("shares hold 3"), "{what}");
        // A share below zero.
        let (mut st, _, _) = state();
        let i = st.members.slots().next().unwrap().0;
        let m = Arc::make_mut(st.members.at_mut(i).unwrap());
        let mut broken: Vec<(NodeId, i64)> = m.cards[0].shares.iter().cloned().collect();
        broken.push((NodeId::new("store-9").unwrap(), -1));
        m.cards[0].shares = tongka_core::shares::Shares::unchecked(broken);
        let (inv, what) = problem(&st, &s1).unwrap();
        assert_eq!(inv, "no_overdraft");
        assert!(what.contains("store-9"), "{what}");
        // The ledger's visits not the visits applied.
        let (mut st, _, _) = state();
        st.totals.card_visits = 2;
        assert_eq!(problem(&st, &s1).unwrap().0, "no_overdraft");
    }

    #[test]
    fn a_count_visit_after_the_refund_at_the_refunding_node_is_at_most_once() {
        let s1 = NodeId::new("store-1").unwrap();
        let s2 = NodeId::new("store-2").unwrap();
        let mut books = Books::default();
        let card = CardId::mint(&s1, 3);
        let visit = OpId {
            origin: s2.clone(),
            seq: 9,
        };
        books.refunded(&card, 2, &s1);
        // A period card's visit after the refund is the stated limit.
        books.visited(&card, 1, false, &visit);
        assert!(books.late.is_empty());
        books.visited(&card, 1, true, &visit);
        let (mut st, _, _) = state();
        st.card_books.late = books.late.clone();
        let (inv, what) = problem(&st, &s1).unwrap();
        assert_eq!(inv, "at_most_once", "{what}");
        assert!(
            what.contains("store-2#9") || what.contains("store-2"),
            "{what}"
        );
        // Only the node that refunded it is held to it.
        assert_eq!(problem(&st, &s2), None);
    }

    #[test]
    fn card_refusals_by_the_cards_rules_are_told_apart() {
        assert!(by_the_card("card_daily_cap"));
        assert!(by_the_card("card_used_up"));
        assert!(!by_the_card("card_held_elsewhere"));
        assert!(!by_the_card("card_not_found"));
    }
}
