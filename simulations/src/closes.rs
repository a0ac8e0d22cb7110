//! Day and shift closes (日结 / 交班) in the simulator: the scenario's
//! `[closes]` table, the report's figures, and the checker.
//!
//! A store closes a shift or its day at random times (`sim/closes.rs`),
//! decided by the core's rule (`tongka_core::close::decide`) over its own
//! log after its previous close of the kind, and made as a `DayClosed`
//! op that replicates like any other.
//!
//! Checker:
//! - close_totals: every close any node holds covers consecutive seqs of
//!   its origin's log after the previous close of its kind (from 1), and
//!   its totals are the fold of exactly those ops (`CloseTotals::of`), its
//!   expected cash and difference by the rule (`Close::check`). Checked in
//!   full sweeps and at the end, from each node's log.

use serde::{Deserialize, Serialize};
use tongka_core::close::{CloseKind, CloseTotals};
use tongka_core::op::{Op, OpBody};

use crate::scenario::Num;

/// The scenario's `[closes]` table (absent: no closes, and the run draws
/// the same random numbers and reports as before). Rates per store-day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closes {
    /// Shift closes (交班).
    #[serde(default)]
    pub shifts: Num,
    /// Day close attempts (日结): the first of a day closes it, a second
    /// the same day is refused `already_closed`.
    #[serde(default)]
    pub days: Num,
}

/// What the report counts of closes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseStats {
    pub shifts: u64,
    pub days: u64,
    /// Day closes refused: the day was closed already.
    pub already_closed: u64,
    /// Closes whose counted cash was over or short of the expected.
    pub over: u64,
    pub short: u64,
    /// Closes whose totals were checked against their ops (at the end, at
    /// the first node).
    pub checked: u64,
    /// A close not made: its store was down.
    pub skipped: u64,
}

impl CloseStats {
    pub fn to_text(&self, o: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(o, "closes (日结 / 交班)");
        let _ = writeln!(
            o,
            "  shift closes {}, day closes {}, refused already_closed {}, skipped (store down) {}",
            self.shifts, self.days, self.already_closed, self.skipped
        );
        let _ = writeln!(
            o,
            "  counted over {}, short {}; totals checked against their ops {}",
            self.over, self.short, self.checked
        );
    }
}

pub const CLOSE_INVARIANTS: &[(&str, &str)] = &[(
    "close_totals",
    "in full sweeps and at the end: every close covers consecutive seqs of its store's log after its previous close of the kind, and its totals by tender are the fold of exactly those ops, its expected cash and difference by the rule",
)];

/// What is wrong with the closes in one origin's log (`log[i]` is seq
/// i + 1, a prefix as a node holds it), if anything; and how many closes
/// it checked.
pub fn log_problem(log: &[&Op]) -> (Option<String>, u64) {
    let mut next = [1u64; 2];
    let mut checked = 0;
    for op in log {
        let OpBody::DayClosed { close } = &op.body else {
            continue;
        };
        let k = match close.kind {
            CloseKind::Shift => 0,
            CloseKind::Day => 1,
        };
        if close.seq_from != next[k] || close.seq_to >= op.id.seq {
            return (
                Some(format!(
                    "close {} covers seqs {}..={}, the previous {} close ended at {}",
                    op.id,
                    close.seq_from,
                    close.seq_to,
                    close.kind.as_str(),
                    next[k] - 1
                )),
                checked,
            );
        }
        next[k] = close.seq_to + 1;
        let from = (close.seq_from - 1) as usize;
        let to = close.seq_to as usize;
        let covered = &log[from.min(to)..to];
        let folded = CloseTotals::of(op.origin(), covered.iter().copied());
        if folded != close.totals {
            return (
                Some(format!(
                    "close {} of {} records {:?}, its ops fold to {:?}",
                    op.id, close.day, close.totals, folded
                )),
                checked,
            );
        }
        if let Err(e) = close.check() {
            return (Some(format!("close {}: {e}", op.id)), checked);
        }
        checked += 1;
    }
    (None, checked)
}
