//! Closes at the simulated stores (see `crate::closes`): a shift close or
//! a day close, decided by `tongka_core::close::decide` over the store's
//! own log after its previous close of the kind, made through `Sim::make`
//! and replicated as any op; the close_totals check in full sweeps and at
//! the end.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use tongka_core::close::{self, Close, CloseAsk, CloseKind, CloseTotals, Previous};
use tongka_core::day::Day;
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};

use super::workload::count;
use super::{Ev, Sim};
use crate::Mutation;
use crate::closes::CloseStats;

/// The closes' own random stream (stream 4 of the seed: runs without
/// `[closes]` draw as before).
pub(super) struct CloseWork {
    rng: ChaCha8Rng,
}

impl CloseWork {
    pub fn new(seed: u64) -> CloseWork {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(4);
        CloseWork { rng }
    }
}

impl Sim<'_> {
    fn close_stats(&mut self) -> &mut CloseStats {
        self.report
            .closes
            .as_mut()
            .expect("close figures when the scenario has closes")
    }

    /// The close events of one hour of the workload.
    pub(super) fn schedule_closes(&mut self, start: u64, span: u64, frac: Decimal) {
        let Some(c) = self.sc.closes.as_ref() else {
            return;
        };
        let (shifts, days) = (c.shifts.0, c.days.0);
        for s in 0..self.stores {
            for (kind, rate) in [(CloseKind::Shift, shifts), (CloseKind::Day, days)] {
                for _ in 0..count(&mut self.close.rng, rate * frac) {
                    let t = start + self.close.rng.random_range(0..span);
                    self.at(t, Ev::Close(s, kind));
                }
            }
        }
    }

    /// Store `s` closes: its previous close of `kind` from its own log,
    /// the ops after it, the rule.
    pub(super) fn close_event(&mut self, s: usize, kind: CloseKind) {
        if self.workload_over {
            return;
        }
        if !self.nodes[s].up || self.nodes[s].disk_full {
            self.close_stats().skipped += 1;
            return;
        }
        let at = self.tick(s);
        let log: Vec<&Op> = self.nodes[s].log[s].iter().map(|r| &r.op).collect();
        let previous = log.iter().rev().find_map(|o| match &o.body {
            OpBody::DayClosed { close } if close.kind == kind => Some(Previous::from(close)),
            _ => None,
        });
        let from = close::first_seq(previous.as_ref());
        let mut ops: Vec<Op> = log
            .iter()
            .filter(|o| o.id.seq >= from)
            .map(|o| (*o).clone())
            .collect();
        if self.mutant(s, Mutation::CloseDropsRefunds) {
            // The bug: the close leaves refunds out of its totals.
            ops.retain(|o| !matches!(o.body, OpBody::Refunded { .. }));
        }
        // The counted cash: as expected, or a few yuan over or short.
        let off = match self.close.rng.random_range(0..4u32) {
            0 => Money::from_fen(self.close.rng.random_range(1..500)),
            1 => Money::ZERO - Money::from_fen(self.close.rng.random_range(1..500)),
            _ => Money::ZERO,
        };
        let today = Day::of_ms(at.ms);
        let ask = |counted: Money| CloseAsk {
            kind,
            day: None,
            opening_float: Money::from_yuan(200),
            counted_cash: counted,
            note: String::new(),
        };
        let name = self.names[s].clone();
        let expected = close::expected_cash(
            Money::from_yuan(200),
            &CloseTotals::of(
                &name,
                ops.iter()
                    .take_while(|o| kind == CloseKind::Shift || Day::of_ms(o.hlc.ms) <= today),
            ),
        );
        let counted = (expected + off).max(Money::ZERO);
        let decided: Close =
            match close::decide(&name, &ask(counted), previous.as_ref(), &ops, at.ms, today) {
                Ok(c) => c,
                Err(e) => {
                    assert_eq!(tongka_core::DomainError::code(&e), "already_closed", "{e}");
                    self.close_stats().already_closed += 1;
                    return;
                }
            };
        let diff = decided.difference;
        let idem = self.idem();
        let rec = self.make(
            s,
            at,
            "clerk",
            Some(idem),
            OpBody::DayClosed { close: decided },
        );
        self.ack(s, &rec);
        let st = self.close_stats();
        match kind {
            CloseKind::Shift => st.shifts += 1,
            CloseKind::Day => st.days += 1,
        }
        if diff.is_positive() {
            st.over += 1;
        } else if diff.is_negative() {
            st.short += 1;
        }
    }

    /// close_totals at node `n`: every origin's log it holds.
    pub(super) fn check_closes(&mut self, n: usize) -> u64 {
        if self.sc.closes.is_none() {
            return 0;
        }
        let mut checked = 0;
        for o in 0..self.stores {
            let log: Vec<&Op> = self.nodes[n].log[o].iter().map(|r| &r.op).collect();
            let (problem, k) = crate::closes::log_problem(&log);
            checked += k;
            if let Some(d) = problem {
                self.violate("close_totals", Some(n), d);
                return checked;
            }
        }
        checked
    }

    /// At convergence: the check at every node, the closes counted once.
    pub(super) fn closes_final(&mut self) {
        if self.sc.closes.is_none() {
            return;
        }
        let checked = self.check_closes(0);
        self.close_stats().checked = checked;
        for n in 1..self.nodes.len() {
            self.check_closes(n);
        }
    }
}
