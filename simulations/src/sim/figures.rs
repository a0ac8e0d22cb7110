//! The report figures' checker (issue 13, "Figures from the ops"): the
//! figures a node keeps (`Materialised::figures`, by the core's
//! rule, as the db keeps them in each op's commit) say, for
//! each store, what members may still spend there and the points they
//! hold there; the member states applied at the same node say it too, as
//! the shares each store holds. They must agree at every sweep, to the fen
//! and the point, and every node holding the same ops must hold the same
//! figures (`figures_final`). Invariant `figures`.

use std::collections::BTreeMap;

use tongka_core::ids::NodeId;
use tongka_core::money::Money;

use super::Sim;
use crate::node::{FiguresMap, Materialised};

/// Per store: (principal, bonus, points).
type PerStore = BTreeMap<NodeId, (Money, Money, i64)>;

/// What the figures say each store owes members.
fn from_figures(figures: &FiguresMap) -> PerStore {
    let mut out = PerStore::new();
    for ((store, _day), f) in figures {
        let (p, b) = f.liability();
        let e = out
            .entry(store.clone())
            .or_insert((Money::ZERO, Money::ZERO, 0));
        e.0 += p;
        e.1 += b;
        e.2 += f.points_outstanding();
    }
    out
}

/// What the members' shares say each store holds for them.
fn from_shares(st: &Materialised) -> PerStore {
    let mut out = PerStore::new();
    for (_, m) in st.members.slots() {
        for (store, share) in m.wallet.shares() {
            let e = out
                .entry(store.clone())
                .or_insert((Money::ZERO, Money::ZERO, 0));
            e.0 += share.principal;
            e.1 += share.bonus;
            e.2 += share.points;
        }
    }
    out
}

/// The first store whose two accounts differ, described.
fn differ(figures: &PerStore, shares: &PerStore) -> Option<String> {
    let zero = (Money::ZERO, Money::ZERO, 0);
    let stores: std::collections::BTreeSet<&NodeId> = figures.keys().chain(shares.keys()).collect();
    stores.into_iter().find_map(|s| {
        let f = figures.get(s).unwrap_or(&zero);
        let h = shares.get(s).unwrap_or(&zero);
        (f != h).then(|| {
            format!(
                "the figures say {s} owes members {}/{} and {} points (principal/bonus), \
                 their shares there hold {}/{} and {} points",
                f.0, f.1, f.2, h.0, h.1, h.2
            )
        })
    })
}

impl Sim<'_> {
    /// Each store's liability and points in the figures kept at `n` equal
    /// what the members' shares held there say.
    pub(super) fn check_figures(&mut self, n: usize) {
        if !self.nodes[n].up {
            return;
        }
        let st = &self.nodes[n].st;
        if let Some(d) = differ(&from_figures(&st.figures), &from_shares(st)) {
            self.violate("figures", Some(n), d);
        }
    }

    /// At convergence: every node holds the same figures, store by store
    /// and day by day.
    pub(super) fn figures_final(&mut self) {
        for n in 1..self.nodes.len() {
            let (a, b) = (&self.nodes[0].st.figures, &self.nodes[n].st.figures);
            // The first (store, day) that differs, in order: the same
            // one whatever the hashing.
            let at = a
                .iter()
                .filter(|(k, v)| b.get(*k) != Some(*v))
                .chain(b.iter().filter(|(k, _)| !a.contains_key(*k)))
                .map(|(k, _)| k)
                .min();
            if let Some((store, day)) = at {
                let d = format!(
                    "{} and {} hold the same ops but their figures of {store} on {day} differ",
                    self.names[0], self.names[n]
                );
                return self.violate("figures", Some(n), d);
            }
        }
    }
}
