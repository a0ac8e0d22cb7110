//! A member's wallet as escrowed shares: stored value (principal and bonus)
//! and points are bounded counters, `total = Σ share[node]`, every share
//! non-negative, and only the node that owns a share ever decreases it.
//! A one-store chain simply has one share.

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

/// The shares, sorted by node name, each node once. Most
/// members hold a share at one node: that one is held inline.
type Shares = smallvec::SmallVec<[(NodeId, Share); 1]>;

#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Wallet {
    /// Encoded as a map from node name to share, in name order.
    #[serde(with = "shares_map")]
    shares: Shares,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Map<'a>(&'a Shares);
        impl std::fmt::Debug for Map<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(n, s)| (n, s)))
                    .finish()
            }
        }
        f.debug_struct("Wallet")
            .field("shares", &Map(&self.shares))
            .finish()
    }
}

/// `Shares` encoded as a map, as a `BTreeMap<NodeId, Share>` is.
mod shares_map {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    use super::{NodeId, Share, Shares};

    pub fn serialize<S: Serializer>(shares: &Shares, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(shares.len()))?;
        for (n, share) in shares {
            m.serialize_entry(n, share)?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Shares, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Shares;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shares, A::Error> {
                // As a `BTreeMap` reads it: any order, a repeated name's
                // last share wins.
                let mut v = Shares::new();
                while let Some((n, share)) = map.next_entry::<NodeId, Share>()? {
                    match v.binary_search_by(|(m, _)| m.cmp(&n)) {
                        Ok(i) => v[i].1 = share,
                        Err(i) => v.insert(i, (n, share)),
                    }
                }
                Ok(v)
            }
        }
        d.deserialize_map(Entries)
    }
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
    fn find(&self, node: &NodeId) -> Result<usize, usize> {
        self.shares.binary_search_by(|(n, _)| n.cmp(node))
    }

    pub fn share(&self, node: &NodeId) -> Share {
        match self.find(node) {
            Ok(i) => self.shares[i].1,
            Err(_) => Share::default(),
        }
    }

    pub fn shares(&self) -> impl Iterator<Item = (&NodeId, &Share)> {
        self.shares.iter().map(|(n, s)| (n, s))
    }

    /// The sum of all shares.
    pub fn total(&self) -> Share {
        if let [(_, s)] = self.shares.as_slice() {
            return *s;
        }
        self.shares
            .iter()
            .fold(Share::default(), |a, (_, s)| Share {
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
        let i = match self.find(node) {
            Ok(i) => i,
            Err(i) => {
                self.shares.insert(i, (node.clone(), Share::default()));
                i
            }
        };
        let s = &mut self.shares[i].1;
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
        match (self.find(node), after.is_empty()) {
            (Ok(i), true) => {
                self.shares.remove(i);
            }
            (Ok(i), false) => self.shares[i].1 = after,
            (Err(_), true) => {}
            (Err(i), false) => self.shares.insert(i, (node.clone(), after)),
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

    proptest::proptest! {
        /// The wallet encodes and prints as it did with a `BTreeMap` of
        /// shares, and reads back the same.
        #[test]
        fn wallets_encode_as_a_tree_of_shares(
            credits in proptest::collection::vec(("[a-c]", 0i64..1000, 0i64..1000, 0i64..50), 0..12),
            debits in proptest::collection::vec(("[a-c]", 0i64..1000, 0i64..1000, 0i64..50), 0..12),
        ) {
            #[derive(Debug, Serialize)]
            struct Wallet0 {
                shares: std::collections::BTreeMap<NodeId, Share>,
            }
            let share = |p: i64, b: i64, pts: i64| Share {
                principal: Money::from_fen(p),
                bonus: Money::from_fen(b),
                points: pts,
            };
            let mut w = Wallet::default();
            for (node, p, b, pts) in &credits {
                w.credit(&n(node), share(*p, *b, *pts));
            }
            for (node, p, b, pts) in &debits {
                let _ = w.debit(&n(node), share(*p, *b, *pts));
            }
            let w0 = Wallet0 {
                shares: w.shares().map(|(k, s)| (k.clone(), *s)).collect(),
            };
            let bytes = postcard::to_allocvec(&w).unwrap();
            proptest::prop_assert_eq!(&bytes, &postcard::to_allocvec(&w0).unwrap());
            proptest::prop_assert_eq!(&postcard::from_bytes::<Wallet>(&bytes).unwrap(), &w);
            let json = serde_json::to_string(&w).unwrap();
            proptest::prop_assert_eq!(&json, &serde_json::to_string(&w0).unwrap());
            proptest::prop_assert_eq!(&serde_json::from_str::<Wallet>(&json).unwrap(), &w);
            proptest::prop_assert_eq!(format!("{w:?}"), format!("{w0:?}").replace("Wallet0", "Wallet"));
            let total = w0.shares.values().fold(Share::default(), |a, s| Share {
                principal: a.principal + s.principal,
                bonus: a.bonus + s.bonus,
                points: a.points + s.points,
            });
            proptest::prop_assert_eq!(w.total(), total);
            for k in ["a", "b", "c"] {
                proptest::prop_assert_eq!(w.share(&n(k)), w0.shares.get(&n(k)).copied().unwrap_or_default());
            }
        }
    }
}
