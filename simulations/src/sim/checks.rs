//! The invariant checks: after every step (what an op touched, a node's
//! totals) and over a node's whole state (`full_sweep_node`, periodically,
//! at a restart and at the end).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::Arc;

use rust_decimal::Decimal;
use tongka_core::money::Money;

use super::Sim;
use crate::ids::Fx;
use crate::node::{Materialised, OpRec, Sale, Touched, wallet_summary};

impl Sim<'_> {
    pub(super) fn after_step(&mut self) {
        self.checks += 1;
        if self.merge.any_unsettled() {
            self.settle_pending();
        }
    }

    /// `check_touched` after `rec` applied: a member state other nodes
    /// share is summed once (`Memo::summary`).
    pub(super) fn check_touched_op(&mut self, n: usize, t: Touched, rec: &OpRec) {
        let st = &self.nodes[n].st;
        let fine = t.member.is_some_and(|i| {
            st.members.at(i).is_some_and(|m| {
                let (total, negative) = rec.memo.summary(m);
                let e = st.expect.at(i).copied().unwrap_or_default();
                !negative && total.principal == e.principal && total.bonus == e.bonus
            })
        });
        let t = if fine {
            Touched { member: None, ..t }
        } else {
            t
        };
        self.check_touched(n, t)
    }

    /// Checks on what one op touched: shares and balances never negative,
    /// the wallet adds up to what its ops say, refunds within the sale.
    pub(super) fn check_touched(&mut self, n: usize, t: Touched) {
        if let Some((inv, d)) = touched_problem(&self.nodes[n].st, t) {
            self.violate(inv, Some(n), d);
        }
    }

    /// Conservation at a node: the wallets hold exactly what the ledger
    /// says is outstanding.
    pub(super) fn check_node_totals(&mut self, n: usize) {
        let st = &self.nodes[n].st;
        let (p, b) = st.totals.outstanding();
        if st.held.principal != p || st.held.bonus != b {
            let d = format!(
                "wallets hold {}/{} (principal/bonus), the ledger says {p}/{b} outstanding",
                st.held.principal, st.held.bonus
            );
            self.violate("conservation", Some(n), d);
        }
    }

    /// Settlement at a node: read from its figures, as the API does, it
    /// sums to zero chain-wide and equals the transfers in its ops.
    pub(super) fn check_settlement(&mut self, n: usize) {
        use tongka_core::settlement::Settlement;
        let st = &self.nodes[n].st;
        let s = Settlement::of_figures(st.figures.iter().map(|((s, _), f)| (s, f)));
        let total = s.total();
        let problem = if !total.amount().is_zero() || total.points != 0 {
            Some((
                "settlement_zero",
                format!(
                    "the stores' positions sum to {} ({} points)",
                    total.amount(),
                    total.points
                ),
            ))
        } else if s != st.settle_ops {
            let diff = s
                .pairs()
                .into_iter()
                .zip(st.settle_ops.pairs())
                .find(|(a, b)| a != b)
                .map(|(a, b)| {
                    format!(
                        "{} owes {} {} by the figures, {} owes {} {} by the ops",
                        a.0,
                        a.1,
                        a.2.amount(),
                        b.0,
                        b.1,
                        b.2.amount()
                    )
                })
                .unwrap_or_else(|| "the pairs differ".into());
            Some(("settlement", diff))
        } else {
            None
        };
        if let Some((inv, d)) = problem {
            self.violate(inv, Some(n), d);
        }
    }

    /// Every check over a node's whole state (periodically and at the end).
    /// `cache`: what the sweeps of other nodes found of the member states
    /// this node shares with them (the state is the same: so are its
    /// total and its shares).
    pub(super) fn full_sweep_node(&mut self, n: usize, cache: &mut SweepCache) {
        if !self.nodes[n].up {
            return;
        }
        // Points (only with redemptions on: runs without them check as
        // before): conserved, and no redemption counted twice.
        self.check_coupons(n);
        self.check_cards(n);
        self.check_staff(n);
        self.check_stock(n);
        self.check_figures(n);
        self.check_settlement(n);
        self.check_closes(n);
        self.check_withdrawals(n);
        self.check_imports(n);
        if self.p_redeem > 0 {
            if let Some(d) = crate::points::conservation_problem(&self.nodes[n].st) {
                self.violate("conservation", Some(n), d);
            }
            if let Some(d) = crate::points::once_problem(&self.nodes[n].st) {
                self.violate("at_most_once", Some(n), d);
            }
        }
        let mut sum = (Money::ZERO, Money::ZERO);
        // By number, not by id: which problem is reported first when there
        // are several may differ, whether there is one may not.
        let st = &self.nodes[n].st;
        let mut problem = None;
        for (i, m) in st.members.slots() {
            // Held while the sweeps last (every state is held by a node):
            // an address names one state.
            let (t, negative) = *cache
                .entry(Arc::as_ptr(m) as usize)
                .or_insert_with(|| wallet_summary(m));
            sum.0 += t.principal;
            sum.1 += t.bonus;
            let e = st.expect.at(i).copied().unwrap_or_default();
            let fine = !negative && t.principal == e.principal && t.bonus == e.bonus;
            if problem.is_none() && !fine {
                problem = touched_problem(
                    st,
                    Touched {
                        member: Some(i),
                        order: None,
                    },
                );
            }
        }
        if problem.is_none() {
            // Orders no refund touched are as sold: nothing to check there.
            problem = st.refunded.iter().find_map(|&i| {
                touched_problem(
                    st,
                    Touched {
                        member: None,
                        order: Some(i),
                    },
                )
            });
        }
        if let Some((inv, d)) = problem {
            self.violate(inv, Some(n), d);
        }
        let (p, b) = self.nodes[n].st.totals.outstanding();
        if sum != (p, b) {
            let d = format!(
                "wallets sum to {}/{} (principal/bonus), the ledger says {p}/{b} outstanding",
                sum.0, sum.1
            );
            self.violate("conservation", Some(n), d);
        }
        // Op ids unique and gap-free per origin.
        // The canonical op at a place has the place's seq and origin (`make`
        // stamps it so): the same handle needs no closer look.
        for (o, ops) in self.nodes[n].log.iter().enumerate() {
            let canon = &self.ops[o];
            if let Some((k, r)) = ops.iter().enumerate().find(|(k, r)| {
                !canon.get(*k).is_some_and(|c| Rc::ptr_eq(c, r))
                    && (r.op.id.seq != *k as u64 + 1 || r.op.id.origin != self.names[o])
            }) {
                let d = format!(
                    "log of {} holds {} at place {}",
                    self.names[o],
                    r.op.id,
                    k + 1
                );
                self.violate("at_most_once", Some(n), d);
                break;
            }
        }
        // Durability.
        let have = self.nodes[n].log[n].len() as u64;
        if self.acked[n].last().is_some_and(|s| *s > have) {
            self.violate(
                "durability",
                Some(n),
                "an acknowledged op is not in its origin's log".into(),
            );
        }
    }
}

/// Per member state (by address), its wallet's total and whether a share
/// is negative: see `full_sweep_node`.
pub(super) type SweepCache =
    HashMap<usize, (tongka_core::wallet::Share, bool), BuildHasherDefault<Fx>>;

/// What is wrong with a member or order after an op touched it, if anything.
fn touched_problem(st: &Materialised, t: Touched) -> Option<(&'static str, String)> {
    if let Some(i) = t.member
        && let Some(m) = st.members.at(i)
    {
        for (owner, share) in m.wallet.shares() {
            if share.principal.is_negative() || share.bonus.is_negative() || share.points < 0 {
                let id = &m.id;
                let d = format!("{id}: share of {owner} is negative: {share:?}");
                return Some(("no_overdraft", d));
            }
        }
        let total = m.wallet.total();
        let e = st.expect.at(i).copied().unwrap_or_default();
        if total.principal != e.principal || total.bonus != e.bonus {
            let id = &m.id;
            let d = format!(
                "{id}: wallet holds {}/{} (principal/bonus) but its ops say {}/{}",
                total.principal, total.bonus, e.principal, e.bonus
            );
            return Some(("conservation", d));
        }
    }
    if let Some(i) = t.order
        && let Some(sale) = st.orders.at(i)
    {
        let o = match sale {
            Sale::Changed(o) => &**o,
            // As sold: nothing refunded (`OrderState::new`).
            Sale::Sold(_) => {
                let order = sale.order();
                if order.lines.iter().any(|l| Decimal::ZERO > l.qty) || Money::ZERO > order.payable
                {
                    return Some((
                        "at_most_once",
                        format!("{}: refunded more than was sold", order.id),
                    ));
                }
                return None;
            }
        };
        let over = o
            .order
            .lines
            .iter()
            .zip(&o.refunded_qty)
            .any(|(l, q)| *q > l.qty);
        if over || o.refunded > o.order.payable {
            let oid = &o.order.id;
            return Some((
                "at_most_once",
                format!("{oid}: refunded more than was sold"),
            ));
        }
    }
    None
}
