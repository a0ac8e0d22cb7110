//! Withdrawals at the simulated stores and HQ (see `crate::withdrawals`):
//! a store asks, decided by `tongka_core::settlement::decide_request` over
//! what its figures say it is owed (`settlement::position_of`, as
//! `Engine::owed`) and the withdrawals it holds; HQ approves or rejects by
//! `decide_approval` likewise; each step made through `Sim::make` and
//! replicated as any op. The checks: withdrawal_owed as each step is
//! made, withdrawal_once then too, in full sweeps and at the end.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use tongka_core::DomainError;
use tongka_core::ids::{NodeId, WithdrawalId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::settlement::{self, SettlementError, Withdrawal, WithdrawalStep};

use super::workload::count;
use super::{Ev, Sim, between, chance};
use crate::Mutation;
use crate::withdrawals::{WithdrawalStats, fold, once_problem, owed_problem};

/// HQ not holding a request yet, or down, looks again this much later.
const LOOK_AGAIN: u64 = 10 * 60_000;

/// The withdrawals' own random stream (stream 5 of the seed: runs
/// without `[withdrawals]` draw as before).
pub(super) struct WithdrawalWork {
    rng: ChaCha8Rng,
}

impl WithdrawalWork {
    pub fn new(seed: u64) -> WithdrawalWork {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(5);
        WithdrawalWork { rng }
    }
}

impl Sim<'_> {
    fn withdrawal_stats(&mut self) -> &mut WithdrawalStats {
        self.report
            .withdrawals
            .as_mut()
            .expect("withdrawal figures when the scenario has withdrawals")
    }

    /// The ops node `n` applied (its log less what it rejected).
    fn applied(&self, n: usize) -> Vec<&Op> {
        let node = &self.nodes[n];
        node.log
            .iter()
            .flatten()
            .map(|r| &r.op)
            .filter(|o| !node.rejected.contains(&o.id))
            .collect()
    }

    /// What `store` is owed by node `n`'s figures: `Engine::owed`.
    fn owed_at(&self, n: usize, store: &NodeId) -> Money {
        let rows = self.nodes[n]
            .st
            .figures
            .iter()
            .filter(|((s, _), _)| s == store)
            .map(|(_, f)| f);
        settlement::position_of(rows).amount()
    }

    /// The withdrawal requests of one hour of the workload.
    pub(super) fn schedule_withdrawals(&mut self, start: u64, span: u64, frac: Decimal) {
        let Some(w) = self.sc.withdrawals.as_ref() else {
            return;
        };
        let rate = w.requests.0;
        for s in 0..self.stores {
            for _ in 0..count(&mut self.withdraw.rng, rate * frac) {
                let t = start + self.withdraw.rng.random_range(0..span);
                self.at(t, Ev::Withdraw(s));
            }
        }
    }

    /// Store `s` asks to withdraw part of what it may (or, with
    /// `withdrawals.over`, more: refused).
    pub(super) fn withdraw_event(&mut self, s: usize) {
        if self.workload_over {
            return;
        }
        if !self.nodes[s].up || self.nodes[s].disk_full {
            self.withdrawal_stats().skipped += 1;
            return;
        }
        let w = self.sc.withdrawals.as_ref().expect("withdrawals");
        let (over, review) = (w.over.ppm(), w.review);
        let name = self.names[s].clone();
        let owed = self.owed_at(s, &name);
        let held: Vec<Withdrawal> = self.nodes[s].st.withdrawals.values().cloned().collect();
        let available = settlement::available(&name, owed, &held);
        let amount = if chance(&mut self.withdraw.rng, over) {
            available + Money::from_fen(self.withdraw.rng.random_range(1..=20_000))
        } else if available.is_positive() {
            Money::from_fen(self.withdraw.rng.random_range(1..=available.fen()))
        } else {
            self.withdrawal_stats().nothing_owed += 1;
            return;
        };
        if let Err(e) = settlement::decide_request(&name, owed, &held, amount) {
            assert_eq!(e.code(), "withdrawal_exceeds_owed", "{e}");
            if !self.mutant(s, Mutation::WithdrawalSkipsOwed) {
                self.withdrawal_stats().refused_over += 1;
                return;
            }
            // The bug: the request is made all the same.
        }
        let e = self.next_entity(s);
        let id = WithdrawalId::mint(&name, e);
        let at = self.tick(s);
        let idem = self.idem();
        let body = OpBody::Withdrawal {
            id: id.clone(),
            step: WithdrawalStep::Requested {
                amount,
                note: format!("settlement {}", self.withdraw.rng.random_range(1..1000)),
            },
        };
        let rec = self.make(s, at, "manager", Some(idem), body);
        self.ack(s, &rec);
        let cut_off = self.cut_off[s];
        let st = self.withdrawal_stats();
        st.requested += 1;
        st.requested_amount += amount;
        st.requested_cut_off += u64::from(cut_off);
        self.check_withdrawal_owed(s, &name, false);
        self.check_withdrawals(s);
        let t = self.now + between(&mut self.withdraw.rng, review[0].ms(), review[1].ms());
        self.at(t, Ev::Review(id, false));
    }

    /// HQ decides withdrawal `id` (`again`: a second time, refused).
    pub(super) fn review_event(&mut self, id: WithdrawalId, again: bool) {
        if self.workload_over {
            return;
        }
        let hq = self.stores;
        let held = self.nodes[hq].st.withdrawals.get(&id).cloned();
        let Some(w) = held.filter(|_| self.nodes[hq].up && !self.nodes[hq].disk_full) else {
            if !again {
                self.withdrawal_stats().waits += 1;
                self.at(self.now + LOOK_AGAIN, Ev::Review(id, again));
            }
            return;
        };
        let sc = self.sc.withdrawals.as_ref().expect("withdrawals");
        let (rejects, twice) = (sc.rejects.ppm(), sc.again.ppm());
        let owed = self.owed_at(hq, &w.store);
        let rows: Vec<Withdrawal> = self.nodes[hq].st.withdrawals.values().cloned().collect();
        let mut approve = !chance(&mut self.withdraw.rng, rejects);
        match settlement::decide_approval(&w, approve, owed, &rows) {
            Ok(()) => {}
            // The bug: HQ decides it again.
            Err(SettlementError::Decided(_))
                if self.mutation == Mutation::WithdrawalDecidedTwice => {}
            Err(SettlementError::Decided(_)) => {
                self.withdrawal_stats().decided_refused += 1;
                return;
            }
            Err(SettlementError::ExceedsOwed { .. }) => {
                // The store is owed less by now: HQ rejects it instead.
                self.withdrawal_stats().approval_refused += 1;
                approve = false;
            }
            Err(e) => panic!("HQ's decision on {id}: {e}"),
        }
        let step = if approve {
            WithdrawalStep::Approved {
                note: "paid".into(),
            }
        } else {
            WithdrawalStep::Rejected {
                reason: "not owed".into(),
            }
        };
        let at = self.tick(hq);
        let idem = self.idem();
        let rec = self.make(
            hq,
            at,
            "finance",
            Some(idem),
            OpBody::Withdrawal {
                id: id.clone(),
                step,
            },
        );
        self.ack(hq, &rec);
        let st = self.withdrawal_stats();
        if approve {
            st.approved += 1;
            st.approved_amount += w.amount;
        } else {
            st.rejected += 1;
        }
        if approve {
            self.check_withdrawal_owed(hq, &w.store, true);
        }
        self.check_withdrawals(hq);
        if !again && chance(&mut self.withdraw.rng, twice) {
            let t = self.now + between(&mut self.withdraw.rng, 60_000, 30 * 60_000);
            self.at(t, Ev::Review(id, true));
        }
    }

    /// withdrawal_owed at node `n` as it made a step of `store`'s: by the
    /// transfer ops it applied (`settle_ops`), not the figures.
    fn check_withdrawal_owed(&mut self, n: usize, store: &NodeId, approvals: bool) {
        let owed = self.nodes[n].st.settle_ops.net(store).amount();
        let seen = fold(self.applied(n));
        if let Some(d) = owed_problem(&seen, store, owed, approvals) {
            self.violate("withdrawal_owed", Some(n), d);
        }
    }

    /// withdrawal_once at node `n`; how many withdrawals it checked.
    pub(super) fn check_withdrawals(&mut self, n: usize) -> u64 {
        if self.sc.withdrawals.is_none() {
            return 0;
        }
        let seen = fold(self.applied(n));
        if let Some(d) = once_problem(&seen, &self.nodes[n].st.withdrawals) {
            self.violate("withdrawal_once", Some(n), d);
        }
        seen.len() as u64
    }

    /// At convergence: every node holds the same rows (named by
    /// withdrawal), and the pending ones are counted.
    pub(super) fn withdrawals_final(&mut self) {
        if self.sc.withdrawals.is_none() {
            return;
        }
        let checked = self.check_withdrawals(0);
        let pending = self.nodes[0]
            .st
            .withdrawals
            .values()
            .filter(|w| w.decision.is_none())
            .count() as u64;
        let st = self.withdrawal_stats();
        st.checked = checked;
        st.pending = pending;
        for n in 1..self.nodes.len() {
            let (a, b) = (&self.nodes[0].st.withdrawals, &self.nodes[n].st.withdrawals);
            let differs = a
                .iter()
                .find(|(id, w)| b.get(*id) != Some(*w))
                .map(|(id, _)| id)
                .or_else(|| b.keys().find(|id| !a.contains_key(*id)));
            if let Some(id) = differs {
                let d = format!(
                    "{} and {} hold the same ops but withdrawal {id} differs: {:?} vs {:?}",
                    self.names[0],
                    self.names[n],
                    a.get(id).map(|w| (w.amount, w.status())),
                    b.get(id).map(|w| (w.amount, w.status()))
                );
                return self.violate("convergence", Some(n), d);
            }
        }
    }
}
