//! The audit trail read (`Db::audit`): the op log, newest first, a page at a
//! time, filtered by `tongka_core::audit::Filter`.
//!
//! No index of its own: the log (`ops-1`, keyed `(origin, seq)`) already
//! holds each origin's ops in the order its writer logged them. A page scans
//! each origin's log back from its newest op (or from where the last page
//! stopped) and merges the scans by their next op's clock reading (then op
//! id), so the trail comes newest first, each origin's ops in its log's
//! order. An origin's log is in clock order only nearly (an op's clock is
//! read when it is decided, a moment before the writer numbers it: see
//! `tongka_core::audit::CLOCK_SLACK_MS`), so two ops of one origin may show
//! a few milliseconds out of clock order; none is skipped or shown twice,
//! since the cursor is a place in each log, not a time.
//!
//! A page stops before the first op it would keep past `limit` (so the ops
//! it passes over after its last one are not examined again, and a listing
//! whose last page is full ends there rather than with an empty page), or
//! once it has examined `budget` ops (a filter that keeps little must not
//! read the whole log in one request), or at the end; its cursor names, for
//! each origin not done, the number of the next op to examine. A scan is
//! done at its origin's first op, or once it meets an op older than the
//! filter's first day by more than the slack; with a last day, it starts
//! below the ops newer than that day by the slack, found by bisection.

use std::ops::Bound;

use redb::{ReadOnlyTable, ReadableDatabase};
use tongka_core::audit::{Cursor, Filter};
use tongka_core::ids::NodeId;
use tongka_core::op::Op;

use crate::tables::OPS;
use crate::{Db, DbError};

/// A page of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// The ops kept, newest first.
    pub ops: Vec<Op>,
    /// Where to go on from, if anything is left to examine.
    pub next: Option<Cursor>,
    /// How many ops the page examined (kept or not).
    pub examined: usize,
}

type Rows<'t> = std::iter::Rev<redb::Range<'t, (&'static str, u64), &'static [u8]>>;

/// One origin's log read backwards, with its next op decoded.
struct Scan<'t> {
    rows: Rows<'t>,
    head: Option<Op>,
}

impl Scan<'_> {
    /// Decode the next op back into `head` (`None` at the log's start).
    fn advance(&mut self) -> Result<(), DbError> {
        self.head = match self.rows.next() {
            Some(row) => {
                let (_, v) = row?;
                Some(Op::decode(v.value()).map_err(|e| DbError::Corrupt(e.to_string()))?)
            }
            None => None,
        };
        Ok(())
    }
}

/// The origins the log holds ops of, in name order (one seek each).
fn origins(t: &ReadOnlyTable<(&str, u64), &[u8]>) -> Result<Vec<NodeId>, DbError> {
    let mut out: Vec<NodeId> = Vec::new();
    loop {
        let mut rows = match out.last() {
            None => t.range::<(&str, u64)>(..)?,
            Some(o) => {
                t.range::<(&str, u64)>((Bound::Excluded((o.as_str(), u64::MAX)), Bound::Unbounded))?
            }
        };
        let Some(row) = rows.next() else {
            return Ok(out);
        };
        let (k, _) = row?;
        let origin = k.value().0;
        out.push(NodeId::new(origin).map_err(|e| DbError::Corrupt(e.to_string()))?);
    }
}

/// Where the backward scan of `origin`'s log starts, at or below `top`:
/// below the ops the filter's last day leaves out (all of them, 0, when
/// nothing is left). The log's ops are numbered from 1 without a gap, and
/// an op logged after one past the filter's end is after its end too (by
/// `CLOCK_SLACK_MS`), so a bisection finds an op past the end in a few
/// reads and the scan starts below it, never above an op it would keep.
/// These reads are not counted as examined.
fn start_at(
    t: &ReadOnlyTable<(&str, u64), &[u8]>,
    origin: &NodeId,
    top: u64,
    filter: &Filter,
) -> Result<u64, DbError> {
    let o = origin.as_str();
    let last = match t.range::<(&str, u64)>((o, 1)..=(o, top))?.next_back() {
        Some(row) => row?.0.value().1,
        None => return Ok(0),
    };
    if filter.to.is_none() {
        return Ok(last);
    }
    let past = |seq: u64| -> Result<bool, DbError> {
        let v = t
            .get((o, seq))?
            .ok_or_else(|| DbError::Corrupt(format!("op {o}#{seq} missing from the log")))?;
        let op = Op::decode(v.value()).map_err(|e| DbError::Corrupt(e.to_string()))?;
        Ok(filter.past_the_end(&op))
    };
    if !past(last)? {
        return Ok(last);
    }
    // past(hi); lo is 0 or !past(lo).
    let (mut lo, mut hi) = (0, last);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if past(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi - 1)
}

impl Db {
    /// A page of the audit trail: the ops `filter` keeps, newest first, from
    /// the newest (`before` `None`) or from where the page that answered
    /// `before` stopped; at most `limit` of them, examining at most
    /// `budget` ops (see the module doc). The pages of one listing, followed
    /// by their cursors, hold each kept op once. Ops logged after the first
    /// page are not in its listing (a new listing shows them).
    pub fn audit(
        &self,
        filter: &Filter,
        before: Option<&Cursor>,
        limit: usize,
        budget: usize,
    ) -> Result<AuditPage, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(OPS)?;
        // Where each origin's scan starts: its newest op, or the cursor's.
        let starts: Vec<(NodeId, u64)> = match (before, &filter.origins) {
            (Some(c), _) => c
                .next
                .iter()
                .filter(|(o, _)| filter.wants_origin(o))
                .map(|(o, seq)| (o.clone(), *seq))
                .collect(),
            (None, Some(only)) => only.iter().map(|o| (o.clone(), u64::MAX)).collect(),
            (None, None) => origins(&t)?.into_iter().map(|o| (o, u64::MAX)).collect(),
        };
        let mut scans = Vec::with_capacity(starts.len());
        for (origin, top) in &starts {
            let top = start_at(&t, origin, *top, filter)?;
            if top == 0 {
                continue;
            }
            let rows = t
                .range::<(&str, u64)>((origin.as_str(), 1)..=(origin.as_str(), top))?
                .rev();
            let mut s = Scan { rows, head: None };
            s.advance()?;
            scans.push(s);
        }
        let mut ops = Vec::new();
        let mut examined = 0;
        while examined < budget {
            // The scan whose next op is the newest.
            let Some(i) = scans
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.head.as_ref().map(|h| (i, (h.hlc, &h.id))))
                .max_by(|a, b| a.1.cmp(&b.1))
                .map(|(i, _)| i)
            else {
                break;
            };
            let head = scans[i].head.as_ref().expect("the newest head");
            if ops.len() >= limit && filter.keeps(head) {
                // The next page starts here.
                break;
            }
            let op = scans[i].head.take().expect("the newest head");
            examined += 1;
            if filter.past_the_start(&op) {
                // Done: its older ops are older still (head left empty).
                continue;
            }
            scans[i].advance()?;
            if filter.keeps(&op) {
                ops.push(op);
            }
        }
        let left: Vec<(NodeId, u64)> = scans
            .iter()
            .filter_map(|s| s.head.as_ref().map(|h| (h.id.origin.clone(), h.id.seq)))
            .collect();
        Ok(AuditPage {
            ops,
            next: (!left.is_empty()).then(|| Cursor {
                next: left.into_iter().collect(),
            }),
            examined,
        })
    }
}
