//! Withdrawals (提现) in the simulator: the scenario's `[withdrawals]`
//! table, the report's figures, and the checkers.
//!
//! A store asks to withdraw part of what it is owed in settlement, and
//! sometimes more (refused `withdrawal_exceeds_owed`); HQ approves or
//! rejects each request a while later (`sim/withdrawals.rs`). Both sides
//! decide by the core's rule (`tongka_core::settlement::decide_request`,
//! `decide_approval`) over what the node's figures say the store is owed
//! and the withdrawals it holds, as `Engine::request_withdrawal` and
//! `decide_withdrawal` do; every node keeps each withdrawal as
//! `settlement::apply` makes it, as the db's `withdrawals-1` row.
//!
//! The checkers read the ops, not the rule's rows:
//! - withdrawal_owed: when a store's request is made, its requests not
//!   rejected (approved and pending) sum to at most what the share
//!   transfer ops applied there say it is owed (`Settlement::net` of their
//!   bodies, not the figures the decision read); when HQ approves one, the
//!   store's approved withdrawals sum to at most what HQ's transfer ops
//!   say.
//! - withdrawal_once: as each step is made (at its node), in full sweeps
//!   and at the end, at every node, each
//!   withdrawal is requested by one op and decided by at most one (one HQ
//!   decides), and the row the node keeps says what those ops say (store,
//!   amount, status). After the final heal every node holds the same rows
//!   (convergence, named by withdrawal).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tongka_core::ids::{NodeId, OpId, WithdrawalId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::settlement::{Status, Withdrawal, WithdrawalStep};

use crate::scenario::{Dur, Num};

/// The scenario's `[withdrawals]` table (absent: no withdrawals, and the
/// run draws the same random numbers and reports as before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withdrawals {
    /// Requests per store-day, at random times.
    #[serde(default)]
    pub requests: Num,
    /// Probability a request asks for more than the store may withdraw
    /// (refused `withdrawal_exceeds_owed`).
    #[serde(default)]
    pub over: Num,
    /// How long after a request HQ decides it, `[min, max]` (HQ not
    /// holding it yet, or down, looks again ten minutes later).
    pub review: [Dur; 2],
    /// Probability HQ rejects a request rather than approve it.
    #[serde(default)]
    pub rejects: Num,
    /// Probability HQ tries to decide a request a second time (refused
    /// `withdrawal_decided`).
    #[serde(default)]
    pub again: Num,
}

impl Withdrawals {
    pub fn problem(&self, hq: bool) -> Option<String> {
        if !hq {
            return Some("withdrawals need chain.hq (HQ approves them)".into());
        }
        for (name, p) in [
            ("withdrawals.over", self.over),
            ("withdrawals.rejects", self.rejects),
            ("withdrawals.again", self.again),
        ] {
            if p.0 > rust_decimal::Decimal::ONE {
                return Some(format!("{name} is a probability (0 to 1)"));
            }
        }
        (self.review[0] > self.review[1]).then(|| "withdrawals.review: [min, max]".into())
    }
}

/// What the report counts of withdrawals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WithdrawalStats {
    pub requested: u64,
    pub requested_amount: Money,
    /// Requests made while the store was cut off by a partition.
    pub requested_cut_off: u64,
    /// Requests refused `withdrawal_exceeds_owed` (asked more than the
    /// store may withdraw).
    pub refused_over: u64,
    /// A request not made: the store was owed nothing it had not asked
    /// for already.
    pub nothing_owed: u64,
    /// A request or decision not made: the store (or HQ) was down.
    pub skipped: u64,
    pub approved: u64,
    pub approved_amount: Money,
    pub rejected: u64,
    /// Approvals refused `withdrawal_exceeds_owed` (the store was owed
    /// less by then): HQ rejected those instead.
    pub approval_refused: u64,
    /// Second decisions refused `withdrawal_decided`.
    pub decided_refused: u64,
    /// HQ looked and did not hold the request yet (or was down): it looks
    /// again later.
    pub waits: u64,
    /// Still pending at the end (the workload ended before HQ decided).
    pub pending: u64,
    /// Withdrawals whose rows the end's check compared with their ops.
    pub checked: u64,
}

impl WithdrawalStats {
    pub fn to_text(&self, o: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(o, "withdrawals (提现)");
        let _ = writeln!(
            o,
            "  requested {} ({}; {} while cut off), refused withdrawal_exceeds_owed {}, nothing owed {}, skipped (down) {}",
            self.requested,
            self.requested_amount,
            self.requested_cut_off,
            self.refused_over,
            self.nothing_owed,
            self.skipped
        );
        let _ = writeln!(
            o,
            "  HQ approved {} ({}), rejected {} (of them approval refused withdrawal_exceeds_owed {}), second decisions refused {}, waits {}",
            self.approved,
            self.approved_amount,
            self.rejected,
            self.approval_refused,
            self.decided_refused,
            self.waits
        );
        let _ = writeln!(
            o,
            "  pending at the end {}; rows checked against their ops {}",
            self.pending, self.checked
        );
    }
}

pub const WITHDRAWAL_INVARIANTS: &[(&str, &str)] = &[
    (
        "withdrawal_owed",
        "as a request is made: the store's withdrawals approved and pending sum to at most what the transfer ops applied there say it is owed; as HQ approves one: the store's approved sum to at most what HQ's transfer ops say",
    ),
    (
        "withdrawal_once",
        "in full sweeps and at the end: each withdrawal requested by one op and decided by at most one, and the row each node keeps says what those ops say; after the final heal every node holds the same rows",
    ),
];

/// One withdrawal as a node's ops tell it: the request (op, store,
/// amount), how many ops requested it, and its decisions (op, approved).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub request: Option<(OpId, NodeId, Money)>,
    pub requests: u32,
    pub decisions: Vec<(OpId, bool)>,
}

impl Seen {
    /// Where it stands by its ops (the first decision: one HQ decides).
    pub fn status(&self) -> Status {
        match self.decisions.first() {
            None => Status::Pending,
            Some((_, true)) => Status::Approved,
            Some((_, false)) => Status::Rejected,
        }
    }
}

/// The withdrawals of `ops` (any other op is skipped), by id.
pub fn fold<'a>(ops: impl IntoIterator<Item = &'a Op>) -> BTreeMap<WithdrawalId, Seen> {
    let mut out: BTreeMap<WithdrawalId, Seen> = BTreeMap::new();
    for op in ops {
        let OpBody::Withdrawal { id, step } = &op.body else {
            continue;
        };
        let s = out.entry(id.clone()).or_default();
        match step {
            WithdrawalStep::Requested { amount, .. } => {
                s.requests += 1;
                s.request
                    .get_or_insert((op.id.clone(), op.origin().clone(), *amount));
            }
            WithdrawalStep::Approved { .. } => s.decisions.push((op.id.clone(), true)),
            WithdrawalStep::Rejected { .. } => s.decisions.push((op.id.clone(), false)),
        }
    }
    out
}

/// withdrawal_owed for `store` by the ops: its approved and pending
/// (`approvals`: approved only) sum to at most `owed`.
pub fn owed_problem(
    seen: &BTreeMap<WithdrawalId, Seen>,
    store: &NodeId,
    owed: Money,
    approvals: bool,
) -> Option<String> {
    let (mut approved, mut pending) = (Money::ZERO, Money::ZERO);
    for s in seen.values() {
        let Some((_, st, amount)) = &s.request else {
            continue;
        };
        if st != store {
            continue;
        }
        match s.status() {
            Status::Approved => approved += *amount,
            Status::Pending => pending += *amount,
            Status::Rejected => {}
        }
    }
    let (what, sum) = if approvals {
        ("approved", approved)
    } else {
        ("approved and pending", approved + pending)
    };
    (sum > owed).then(|| {
        format!("{store}'s withdrawals {what} sum to {sum}, its transfer ops say it is owed {owed}")
    })
}

/// withdrawal_once over a node's ops (`seen`) and the rows it keeps.
pub fn once_problem(
    seen: &BTreeMap<WithdrawalId, Seen>,
    rows: &BTreeMap<WithdrawalId, Withdrawal>,
) -> Option<String> {
    for (id, s) in seen {
        let Some((op, store, amount)) = &s.request else {
            return Some(format!(
                "{id} decided by {} but never requested",
                s.decisions[0].0
            ));
        };
        if s.requests > 1 {
            return Some(format!("{id} requested by {} ops", s.requests));
        }
        if let [(a, _), (b, _), ..] = s.decisions.as_slice() {
            return Some(format!("{id} decided twice: by {a} and by {b}"));
        }
        let fine = rows.get(id).is_some_and(|w| {
            w.requested_op == *op
                && w.store == *store
                && w.amount == *amount
                && w.status() == s.status()
        });
        if !fine {
            return Some(format!(
                "the row of {id} is {:?}, its ops say {store} asked {amount}, {:?}",
                rows.get(id).map(|w| (&w.store, w.amount, w.status())),
                s.status()
            ));
        }
    }
    rows.keys()
        .find(|id| !seen.contains_key(*id))
        .map(|id| format!("a row of {id} without its ops"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::op::OpDraft;
    use tongka_core::settlement;

    fn op(origin: &str, seq: u64, id: &WithdrawalId, step: WithdrawalStep) -> Op {
        OpDraft {
            hlc: Hlc {
                ms: seq * 10,
                count: 0,
            },
            by: "x".into(),
            idem: None,
            body: OpBody::Withdrawal {
                id: id.clone(),
                step,
            },
        }
        .stamp(
            OpId {
                origin: NodeId::new(origin).unwrap(),
                seq,
            },
            VersionVector::new(),
        )
    }

    fn rows(ops: &[Op]) -> BTreeMap<WithdrawalId, Withdrawal> {
        let mut out = BTreeMap::new();
        for o in ops {
            let OpBody::Withdrawal { id, .. } = &o.body else {
                continue;
            };
            if let Ok(w) = settlement::apply(out.get(id), o) {
                out.insert(id.clone(), w);
            }
        }
        out
    }

    #[test]
    fn the_checks_hold_for_the_rule_and_name_what_breaks() {
        let s1 = NodeId::new("store-1").unwrap();
        let (a, b) = (WithdrawalId::mint(&s1, 1), WithdrawalId::mint(&s1, 2));
        let ask = |m: i64| WithdrawalStep::Requested {
            amount: Money::from_yuan(m),
            note: String::new(),
        };
        let ok = WithdrawalStep::Approved {
            note: String::new(),
        };
        let no = WithdrawalStep::Rejected {
            reason: String::new(),
        };
        let ops = vec![
            op("store-1", 1, &a, ask(30)),
            op("store-1", 2, &b, ask(50)),
            op("hq", 1, &a, ok.clone()),
            op("hq", 2, &b, no.clone()),
        ];
        let seen = fold(&ops);
        assert_eq!(once_problem(&seen, &rows(&ops)), None);
        // Approved 30, pending 0 (b rejected).
        let thirty = Money::from_yuan(30);
        assert_eq!(owed_problem(&seen, &s1, thirty, false), None);
        let d = owed_problem(&seen, &s1, Money::from_yuan(29), true).unwrap();
        assert!(d.contains("approved sum to 30.00"), "{d}");
        // Pending counts for a request, not for an approval.
        let pending = fold(&ops[..2]);
        assert!(owed_problem(&pending, &s1, Money::from_yuan(79), false).is_some());
        assert_eq!(owed_problem(&pending, &s1, Money::ZERO, true), None);
        // Decided twice.
        let mut twice = ops.clone();
        twice.push(op("hq", 3, &a, no));
        let d = once_problem(&fold(&twice), &rows(&twice)).unwrap();
        assert!(d.contains("decided twice"), "{d}");
        // A row that says other than the ops.
        let mut r = rows(&ops);
        r.get_mut(&b).unwrap().decision = None;
        let d = once_problem(&seen, &r).unwrap();
        assert!(d.contains(b.as_str()), "{d}");
        // A decision without its request.
        let d = once_problem(&fold(&ops[2..3]), &BTreeMap::new()).unwrap();
        assert!(d.contains("never requested"), "{d}");
    }
}
