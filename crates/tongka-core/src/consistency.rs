//! The consistency report's pure parts (`GET /consistency`): does the
//! ledger balance, and what the escrow moved between stores.
//!
//! The ledger balances when what the members hold, summed over every
//! member's every share, is what the op totals say is outstanding
//! (invariant 1, conservation: `LedgerTotals::outstanding`,
//! `points_outstanding`), to the fen and to the point. The two sides are
//! kept apart on purpose: the totals are folded from the ops
//! (`LedgerTotals::apply`), the holdings from the member states
//! (`MemberState::apply`); a bug in either shows as a difference here, as
//! the simulator's `conservation` checker sees it.
//!
//! An escrow transfer is an op made by the store that gives
//! (`SharesTransferred`: stored value and points; `UsesTransferred`: a
//! coupon's uses or a card's visits) naming the store it gives to.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ids::{MemberId, NodeId};
use crate::money::Money;
use crate::op::{Op, OpBody, UsesOf};
use crate::state::LedgerTotals;
use crate::wallet::Share;

/// Both sides of the ledger's balance, and whether they agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LedgerCheck {
    /// Σ over members of their principal, bonus and points, every share.
    pub held: Share,
    /// What the op totals say is outstanding: recharged − spent +
    /// refunded (principal, bonus); issued − reversed − redeemed +
    /// returned (points).
    pub owed: Share,
    /// `held == owed`, to the fen and to the point.
    pub balanced: bool,
}

/// Sum the members' holdings (every share of every wallet).
pub fn held<'a>(wallets: impl IntoIterator<Item = &'a crate::wallet::Wallet>) -> Share {
    wallets.into_iter().fold(Share::default(), |acc, w| {
        let t = w.total();
        Share {
            principal: acc.principal + t.principal,
            bonus: acc.bonus + t.bonus,
            points: acc.points + t.points,
        }
    })
}

/// Compare the holdings with the totals.
pub fn check(totals: &LedgerTotals, held: Share) -> LedgerCheck {
    let (principal, bonus) = totals.outstanding();
    let owed = Share {
        principal,
        bonus,
        points: totals.points_outstanding(),
    };
    LedgerCheck {
        held,
        owed,
        balanced: held == owed,
    }
}

/// Transfers one way: how many, and what they moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Moved {
    /// Transfer ops.
    pub count: u64,
    pub principal: Money,
    pub bonus: Money,
    pub points: i64,
    /// Coupon uses moved.
    pub coupon_uses: i64,
    /// Card visits moved.
    pub card_visits: i64,
}

impl Moved {
    fn add(&mut self, body: &OpBody) {
        match body {
            OpBody::SharesTransferred {
                principal,
                bonus,
                points,
                ..
            } => {
                self.count += 1;
                self.principal += *principal;
                self.bonus += *bonus;
                self.points += *points;
            }
            OpBody::UsesTransferred { of, uses, .. } => {
                self.count += 1;
                match of {
                    UsesOf::Coupon(_) => self.coupon_uses += i64::from(*uses),
                    UsesOf::Card(_) => self.card_visits += i64::from(*uses),
                }
            }
            _ => {}
        }
    }
}

/// A store's transfers: given (made by it) and received (naming it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StoreTransfers {
    pub given: Moved,
    pub received: Moved,
}

/// The escrow transfers among `ops` (others are passed over): chain-wide,
/// and per store. Chain-wide, what was given is what was received, so one
/// `Moved` says both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transfers {
    pub chain: Moved,
    pub stores: BTreeMap<NodeId, StoreTransfers>,
}

/// The node an op names as receiving a transfer, if it is one.
fn receiver(body: &OpBody) -> Option<&NodeId> {
    match body {
        OpBody::SharesTransferred { to, .. } | OpBody::UsesTransferred { to, .. } => Some(to),
        _ => None,
    }
}

pub fn transfers<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Transfers {
    let mut t = Transfers::default();
    for op in ops {
        let Some(to) = receiver(&op.body) else {
            continue;
        };
        t.chain.add(&op.body);
        t.stores
            .entry(op.id.origin.clone())
            .or_default()
            .given
            .add(&op.body);
        t.stores
            .entry(to.clone())
            .or_default()
            .received
            .add(&op.body);
    }
    t
}

/// The node a member was registered at: member ids are minted
/// `m-<node>-<n>` by the registering node (`MemberId::mint`).
pub fn home(member: &MemberId) -> Option<NodeId> {
    let rest = member.as_str().strip_prefix("m-")?;
    let (node, _) = rest.rsplit_once('-')?;
    NodeId::new(node).ok()
}

/// Count `items` by key, most frequent first (then by key).
pub fn counted<K: Ord + Clone>(items: impl IntoIterator<Item = K>) -> Vec<(K, u64)> {
    let mut m: BTreeMap<K, u64> = BTreeMap::new();
    for k in items {
        *m.entry(k).or_default() += 1;
    }
    let mut v: Vec<(K, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CouponId;
    use crate::testkit::{n, op};
    use crate::wallet::Wallet;

    /// An amount in yuan written as fen: `fen(1005)` is 10.05.
    fn fen(fen: i64) -> Money {
        Money::from_fen(fen)
    }

    #[test]
    fn transfers_count_each_way_per_store_and_once_chain_wide() {
        let m = MemberId::mint(&n("store-1"), 1);
        let ops = [
            op(
                "store-1",
                3,
                10,
                OpBody::SharesTransferred {
                    member: m.clone(),
                    to: n("store-2"),
                    principal: fen(1005),
                    bonus: fen(100),
                    points: 7,
                },
            ),
            op(
                "store-2",
                4,
                11,
                OpBody::UsesTransferred {
                    member: m.clone(),
                    of: UsesOf::Coupon(CouponId::mint(&n("hq"), 1)),
                    to: n("store-1"),
                    uses: 2,
                },
            ),
        ];
        let t = transfers(&ops);
        assert_eq!(t.chain.count, 2);
        assert_eq!(t.chain.principal, fen(1005));
        assert_eq!(t.chain.coupon_uses, 2);
        let s1 = t.stores[&n("store-1")];
        assert_eq!((s1.given.count, s1.given.principal), (1, fen(1005)));
        assert_eq!((s1.received.count, s1.received.coupon_uses), (1, 2));
        let s2 = t.stores[&n("store-2")];
        assert_eq!((s2.received.bonus, s2.received.points), (fen(100), 7));
        assert_eq!(s2.given.coupon_uses, 2);
        assert_eq!(t.stores.len(), 2);
    }

    #[test]
    fn the_ledger_balances_only_to_the_fen() {
        let mut totals = LedgerTotals {
            recharged_principal: fen(10000),
            recharged_bonus: fen(1000),
            spent_principal: fen(3001),
            ..Default::default()
        };
        let mut w = Wallet::default();
        w.credit(
            &n("store-1"),
            Share {
                principal: fen(6999),
                bonus: fen(1000),
                points: 0,
            },
        );
        let c = check(&totals, held([&w]));
        assert!(c.balanced, "{c:?}");
        totals.spent_principal = fen(3000);
        let c = check(&totals, held([&w]));
        assert!(!c.balanced);
        assert_eq!(c.owed.principal, fen(7000));
        assert_eq!(c.held.principal, fen(6999));
    }

    #[test]
    fn a_member_id_names_its_home() {
        let m = MemberId::mint(&n("store-12"), 7);
        assert_eq!(home(&m), Some(n("store-12")));
    }

    #[test]
    fn counted_puts_the_most_frequent_first() {
        let c = counted(["b", "a", "b", "c", "a", "b"]);
        assert_eq!(c, vec![("b", 3), ("a", 2), ("c", 1)]);
    }
}
