//! Shares of a counter counted in whole units, one per node: a coupon's
//! uses, a count card's visits. The bounded counter of `escrow`: the
//! total is the sum of the shares, no share is negative (a debit beyond a
//! share is refused whole), and only a share's holder debits it (the
//! caller's rule: an op debits its origin's share).

use serde::{Deserialize, Serialize};

use crate::ids::NodeId;

/// Units held per node, by node; none zero, none negative.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Shares(Vec<(NodeId, i64)>);

impl Shares {
    /// `units` held by `node` (none when `units` is zero or less).
    pub fn of(node: &NodeId, units: i64) -> Shares {
        let mut s = Shares::default();
        s.credit(node, units);
        s
    }

    /// Shares as given, unchecked: for a checker's test that must see a
    /// broken state (every rule builds shares by `credit` and `debit`).
    pub fn unchecked(shares: Vec<(NodeId, i64)>) -> Shares {
        Shares(shares)
    }

    fn find(&self, node: &NodeId) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.cmp(node))
    }

    /// The units `node` holds.
    pub fn held(&self, node: &NodeId) -> i64 {
        self.find(node).map_or(0, |i| self.0[i].1)
    }

    /// The units held in all.
    pub fn total(&self) -> i64 {
        self.0.iter().map(|(_, u)| u).sum()
    }

    /// The nodes holding units, by node.
    pub fn holders(&self) -> impl Iterator<Item = &NodeId> {
        self.0.iter().map(|(n, _)| n)
    }

    /// Each node's share, by node.
    pub fn iter(&self) -> std::slice::Iter<'_, (NodeId, i64)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Add `units` to `node`'s share (nothing for zero or less).
    pub fn credit(&mut self, node: &NodeId, units: i64) {
        if units <= 0 {
            return;
        }
        match self.find(node) {
            Ok(i) => self.0[i].1 += units,
            Err(i) => self.0.insert(i, (node.clone(), units)),
        }
    }

    /// Take `units` from `node`'s share; refused, nothing changed, when it
    /// holds fewer (or `units` is negative): `Err` of what it holds.
    pub fn debit(&mut self, node: &NodeId, units: i64) -> Result<(), i64> {
        let held = self.held(node);
        if units < 0 || held < units {
            return Err(held);
        }
        if let Ok(i) = self.find(node) {
            self.0[i].1 -= units;
            if self.0[i].1 == 0 {
                self.0.remove(i);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    proptest! {
        /// Any credits and debits: the total is credits less accepted
        /// debits, no share is zero or negative, shares stay by node, and a
        /// refused debit changes nothing.
        #[test]
        fn units_are_conserved(steps in proptest::collection::vec((any::<bool>(), 0u8..3, -1i64..4), 0..40)) {
            let nodes = [n("a"), n("b"), n("c")];
            let mut s = Shares::of(&nodes[0], 5);
            let mut total = 5;
            for (credit, node, units) in steps {
                let node = &nodes[node as usize];
                if credit {
                    s.credit(node, units);
                    total += units.max(0);
                } else {
                    let before = s.clone();
                    match s.debit(node, units) {
                        Ok(()) => total -= units,
                        Err(held) => {
                            prop_assert_eq!(&s, &before);
                            prop_assert_eq!(held, before.held(node));
                        }
                    }
                }
                prop_assert_eq!(s.total(), total);
                prop_assert!(s.iter().all(|(_, u)| *u > 0));
                prop_assert!(s.0.windows(2).all(|w| w[0].0 < w[1].0));
            }
        }
    }
}
