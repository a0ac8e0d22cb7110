//! Shift and day closes in the db (`tongka_core::close`): two small
//! indexes over the op log, written in the commit of every close op
//! applied (not rejected), made here or received. The closes themselves
//! are the ops (`OpBody::DayClosed`), read from the log by id.
//!
//! - `closes-1` `(day, store, seq)`: the closes of a range of days, of
//!   every store or one, by one range scan (`Db::closes`).
//! - `last-close-1` `(store, kind)` → seq: the last close of each kind of
//!   each store, so a new close finds where the previous one stopped with
//!   one read (`Db::last_close`), never scanning the log.
//!
//! A close op is new with this table: a log that holds one was written by
//! a build that keeps these tables, so nothing is backfilled.

use redb::{ReadableDatabase, ReadableTable, Table};
use tongka_core::close::{Close, CloseKind};
use tongka_core::day::Day;
use tongka_core::ids::{NodeId, OpId};
use tongka_core::op::{Op, OpBody};

use crate::tables::{CLOSES, LAST_CLOSE, OPS};
use crate::{Db, DbError};

fn kind_byte(k: CloseKind) -> u8 {
    match k {
        CloseKind::Shift => 0,
        CloseKind::Day => 1,
    }
}

/// The close tables of one write transaction.
pub(crate) struct ClosesTables<'w> {
    closes: Table<'w, (i32, &'static str, u64), ()>,
    last: Table<'w, (&'static str, u8), u64>,
}

impl<'w> ClosesTables<'w> {
    pub(crate) fn open(w: &'w redb::WriteTransaction) -> Result<ClosesTables<'w>, DbError> {
        Ok(ClosesTables {
            closes: w.open_table(CLOSES)?,
            last: w.open_table(LAST_CLOSE)?,
        })
    }

    /// Index `op` if it is a close.
    pub(crate) fn apply(&mut self, op: &Op) -> Result<(), DbError> {
        let OpBody::DayClosed { close } = &op.body else {
            return Ok(());
        };
        let origin = op.id.origin.as_str();
        self.closes.insert((close.day.0, origin, op.id.seq), ())?;
        let k = (origin, kind_byte(close.kind));
        let before = self.last.get(k)?.map(|v| v.value());
        if before.is_none_or(|s| s < op.id.seq) {
            self.last.insert(k, op.id.seq)?;
        }
        Ok(())
    }
}

/// A close op as read back: the op (who, when, id) and its close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedOp {
    pub op: Op,
}

impl ClosedOp {
    fn of(op: Op) -> Option<ClosedOp> {
        matches!(op.body, OpBody::DayClosed { .. }).then_some(ClosedOp { op })
    }

    pub fn close(&self) -> &Close {
        match &self.op.body {
            OpBody::DayClosed { close } => close,
            _ => unreachable!("a ClosedOp holds a close"),
        }
    }
}

fn decode(bytes: &[u8]) -> Result<Op, DbError> {
    Op::decode(bytes).map_err(|e| DbError::Corrupt(e.to_string()))
}

impl Db {
    /// The last close of `kind` of `store` this node holds.
    pub fn last_close(&self, store: &NodeId, kind: CloseKind) -> Result<Option<ClosedOp>, DbError> {
        let r = self.shared.db.begin_read()?;
        let last = r.open_table(LAST_CLOSE)?;
        let Some(seq) = last
            .get((store.as_str(), kind_byte(kind)))?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let ops = r.open_table(OPS)?;
        let Some(v) = ops.get((store.as_str(), seq))? else {
            return Err(DbError::Corrupt(format!(
                "close {store}/{seq} not in the log"
            )));
        };
        Ok(ClosedOp::of(decode(v.value())?))
    }

    /// The close of op `id`, if that op is a close.
    pub fn close_op(&self, id: &OpId) -> Result<Option<ClosedOp>, DbError> {
        Ok(self.op(id)?.and_then(ClosedOp::of))
    }

    /// Closes of days `from` to `to` (inclusive), of `store` or of every
    /// store, of `kind` or both, newest day first (then store, then newest
    /// first), at most `limit`: one range scan of `closes-1`, one log read
    /// per close looked at.
    pub fn closes(
        &self,
        store: Option<&NodeId>,
        kind: Option<CloseKind>,
        from: Day,
        to: Day,
        limit: usize,
    ) -> Result<Vec<ClosedOp>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(CLOSES)?;
        let ops = r.open_table(OPS)?;
        let mut out = Vec::new();
        let lo = (from.0, "", 0u64);
        let hi = (to.0, "\u{10FFFF}", u64::MAX);
        for row in t.range(lo..=hi)?.rev() {
            if out.len() >= limit {
                break;
            }
            let (k, _) = row?;
            let (_, origin, seq) = k.value();
            if store.is_some_and(|s| s.as_str() != origin) {
                continue;
            }
            let Some(v) = ops.get((origin, seq))? else {
                return Err(DbError::Corrupt(format!(
                    "close {origin}/{seq} not in the log"
                )));
            };
            if let Some(c) = ClosedOp::of(decode(v.value())?)
                && kind.is_none_or(|k| c.close().kind == k)
            {
                out.push(c);
            }
        }
        Ok(out)
    }
}
