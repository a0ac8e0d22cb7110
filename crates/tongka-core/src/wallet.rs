//! A member's wallet as escrowed shares: stored value (principal and bonus)
//! and points are bounded counters, `total = Σ share[node]`, every share
//! non-negative, and only the node that owns a share ever decreases it.
//! A one-store chain simply has one share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::NodeId;
use crate::money::Money;

/// One node's part of a member's stored value and points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Share {
    pub principal: Money,
    pub bonus: Money,
    pub points: i64,
}

impl Share {
    pub fn money(&self) -> Money {
        self.principal + self.bonus
    }

    fn is_empty(&self) -> bool {
        self.principal.is_zero() && self.bonus.is_zero() && self.points == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Wallet {
    shares: BTreeMap<NodeId, Share>,
}

/// A debit larger than the share it is taken from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("share of {node} holds {held:?}, cannot debit {wanted:?}")]
pub struct Overdraft {
    pub node: NodeId,
    pub held: Share,
    pub wanted: Share,
}

impl Wallet {
    pub fn share(&self, node: &NodeId) -> Share {
        self.shares.get(node).copied().unwrap_or_default()
    }

    pub fn shares(&self) -> impl Iterator<Item = (&NodeId, &Share)> {
        self.shares.iter()
    }

    /// The sum of all shares.
    pub fn total(&self) -> Share {
        self.shares.values().fold(Share::default(), |a, s| Share {
            principal: a.principal + s.principal,
            bonus: a.bonus + s.bonus,
            points: a.points + s.points,
        })
    }

    /// Add to `node`'s share. Amounts must not be negative.
    pub fn credit(&mut self, node: &NodeId, add: Share) {
        assert!(
            !add.principal.is_negative() && !add.bonus.is_negative() && add.points >= 0,
            "credit of a negative amount"
        );
        let s = self.shares.entry(node.clone()).or_default();
        s.principal += add.principal;
        s.bonus += add.bonus;
        s.points += add.points;
    }

    /// Take from `node`'s share, all or nothing. Amounts must not be
    /// negative. The caller has checked that `node` may debit (authority).
    pub fn debit(&mut self, node: &NodeId, take: Share) -> Result<(), Overdraft> {
        assert!(
            !take.principal.is_negative() && !take.bonus.is_negative() && take.points >= 0,
            "debit of a negative amount"
        );
        let held = self.share(node);
        let after = Share {
            principal: held.principal - take.principal,
            bonus: held.bonus - take.bonus,
            points: held.points - take.points,
        };
        if after.principal.is_negative() || after.bonus.is_negative() || after.points < 0 {
            return Err(Overdraft {
                node: node.clone(),
                held,
                wanted: take,
            });
        }
        if after.is_empty() {
            self.shares.remove(node);
        } else {
            self.shares.insert(node.clone(), after);
        }
        Ok(())
    }

    /// Split a balance payment of `amount` out of `node`'s share into
    /// principal and bonus, in proportion to that share's principal and
    /// bonus (rounded half-up to the fen, bonus takes the remainder; see
    /// `money`). Transfers move principal and bonus in the giver's
    /// proportion, so a share's proportion follows the member's whole
    /// balance. `None` when the share holds less than `amount`.
    pub fn split_spend(&self, node: &NodeId, amount: Money) -> Option<(Money, Money)> {
        let s = self.share(node);
        if amount > s.money() {
            return None;
        }
        if amount.is_zero() {
            return Some((Money::ZERO, Money::ZERO));
        }
        let principal = amount.mul_ratio(s.principal, s.money());
        let bonus = amount - principal;
        debug_assert!(principal <= s.principal && bonus <= s.bonus);
        Some((principal, bonus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn debit_is_all_or_nothing() {
        let mut w = Wallet::default();
        w.credit(
            &n("a"),
            Share {
                principal: Money::from_yuan(10),
                bonus: Money::from_yuan(1),
                points: 5,
            },
        );
        let before = w.clone();
        let err = w.debit(
            &n("a"),
            Share {
                principal: Money::from_yuan(11),
                ..Default::default()
            },
        );
        assert!(err.is_err());
        assert_eq!(w, before);
        assert!(
            w.debit(
                &n("b"),
                Share {
                    points: 1,
                    ..Default::default()
                }
            )
            .is_err()
        );
        w.debit(
            &n("a"),
            Share {
                principal: Money::from_yuan(10),
                bonus: Money::from_yuan(1),
                points: 5,
            },
        )
        .unwrap();
        assert_eq!(w, Wallet::default());
    }

    #[test]
    fn split_follows_the_share() {
        let mut w = Wallet::default();
        w.credit(
            &n("a"),
            Share {
                principal: Money::from_yuan(1000),
                bonus: Money::from_yuan(100),
                points: 0,
            },
        );
        let (p, b) = w.split_spend(&n("a"), Money::from_fen(9500)).unwrap();
        assert_eq!(
            (p.to_string(), b.to_string()),
            ("86.36".into(), "8.64".into())
        );
        assert_eq!(w.split_spend(&n("a"), Money::from_yuan(1101)), None);
        assert_eq!(w.split_spend(&n("b"), Money::from_yuan(1)), None);
    }

    proptest::proptest! {
        #[test]
        fn split_never_overdraws(p in 0i64..1_000_000, b in 0i64..1_000_000, x in 0i64..2_000_000) {
            let mut w = Wallet::default();
            w.credit(&n("a"), Share { principal: Money::from_fen(p), bonus: Money::from_fen(b), points: 0 });
            match w.split_spend(&n("a"), Money::from_fen(x)) {
                Some((pp, bb)) => {
                    proptest::prop_assert_eq!(pp + bb, Money::from_fen(x));
                    let take = Share { principal: pp, bonus: bb, points: 0 };
                    proptest::prop_assert!(w.debit(&n("a"), take).is_ok());
                }
                None => proptest::prop_assert!(x > p + b),
            }
        }
    }
}
