//! The member history index, a database of its own beside the db's:
//! written in batches by the indexer thread behind a watermark, caught up
//! from the op log at open, and read with the ops past its watermark.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use redb::{Database, Durability, ReadableDatabase, ReadableTable};
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::op::Op;

use crate::tables::*;
use crate::values::{decode, encode};
use crate::{Db, DbError, Shared, Summary};

/// A committed op as the history index sees it: its id (to move the
/// watermark) and, when listed, its member and time.
pub(crate) struct IndexItem {
    pub(crate) id: OpId,
    pub(crate) entry: Option<(MemberId, Hlc)>,
}

/// How often the indexer writes what waits for the history index…
const INDEX_EVERY: Duration = Duration::from_millis(100);
/// …and how many of its writes in a row may be `Durability::None` (the
/// file's pages go to disk once per durable write).
const INDEX_DURABLE_EVERY: u32 = 20;

/// The history index's file beside the database: `node.redb` →
/// `node.history.redb`.
pub fn history_path(db: &Path) -> std::path::PathBuf {
    db.with_extension("history.redb")
}

fn hlc_key(h: Hlc) -> (u64, u32) {
    (h.ms, h.count)
}

fn read_watermark(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<VersionVector, DbError> {
    match meta.get("indexed")? {
        Some(v) => decode(v.value(), "index watermark"),
        None => Ok(VersionVector::new()),
    }
}

/// Bring the history index up to the log: index the ops committed after
/// its watermark (after a crash, what its last durable write had not
/// covered), durably. An index that is not this database's (another node,
/// ahead of the log, unreadable) is rebuilt from the log. The watermark it
/// reaches.
pub(crate) fn catch_up_index(
    db: &Database,
    history: &Database,
    node: &NodeId,
    committed: &VersionVector,
) -> Result<VersionVector, DbError> {
    let instance = {
        let r = db.begin_read()?;
        let meta = r.open_table(META)?;
        meta.get("instance")?
            .map(|v| v.value().to_vec())
            .unwrap_or_default()
    };
    let mut w = history.begin_write()?;
    w.set_durability(Durability::Immediate)?;
    let indexed = {
        let mut meta = w.open_table(HISTORY_META)?;
        let mut idx = w.open_table(MEMBER_OPS)?;
        let ours = meta
            .get("node")?
            .is_some_and(|v| v.value() == node.as_str().as_bytes())
            && meta
                .get("instance")?
                .is_some_and(|v| v.value() == instance.as_slice());
        let mut indexed = match read_watermark(&meta) {
            Ok(v) if ours && committed.dominates(&v) => v,
            _ => {
                idx.retain(|_, _| false)?;
                meta.insert("node", node.as_str().as_bytes())?;
                meta.insert("instance", instance.as_slice())?;
                VersionVector::new()
            }
        };
        if !indexed.dominates(committed) {
            let r = db.begin_read()?;
            let ops = r.open_table(OPS)?;
            let rejected = r.open_table(REJECTED)?;
            for (origin, top) in committed.iter() {
                let from = indexed.get(origin) + 1;
                if from > top {
                    continue;
                }
                for item in ops.range((origin.as_str(), from)..=(origin.as_str(), top))? {
                    let (k, v) = item?;
                    let op = Op::decode(v.value()).map_err(|e| DbError::Corrupt(e.to_string()))?;
                    if let Some(m) = op.body.member()
                        && rejected.get(k.value())?.is_none()
                    {
                        let (ms, c) = hlc_key(op.hlc);
                        idx.insert((m.as_str(), ms, c, origin.as_str(), op.id.seq), ())?;
                    }
                }
                indexed.raise(origin, top);
            }
        }
        meta.insert("indexed", encode(&indexed).as_slice())?;
        indexed
    };
    w.commit()?;
    Ok(indexed)
}

/// Write what waits for the history index, with its watermark, in one
/// transaction of the index's database.
fn flush_index(
    shared: &Shared,
    indexed: &mut VersionVector,
    durability: Durability,
) -> Result<(), DbError> {
    let items = std::mem::take(&mut *shared.unindexed.lock().expect("index lock"));
    if items.is_empty() && matches!(durability, Durability::None) {
        return Ok(());
    }
    let mut entries: Vec<(&str, u64, u32, &str, u64)> = items
        .iter()
        .filter_map(|i| {
            let (m, h) = i.entry.as_ref()?;
            Some((m.as_str(), h.ms, h.count, i.id.origin.as_str(), i.id.seq))
        })
        .collect();
    // In key order, each page of the index is copied once and then stays
    // hot while its entries go in.
    entries.sort_unstable();
    let mut next = indexed.clone();
    for i in &items {
        next.raise(&i.id.origin, i.id.seq);
    }
    let mut w = shared.history.begin_write()?;
    w.set_durability(durability)?;
    {
        let mut idx = w.open_table(MEMBER_OPS)?;
        for e in entries {
            idx.insert(e, ())?;
        }
        let mut meta = w.open_table(HISTORY_META)?;
        meta.insert("indexed", encode(&next).as_slice())?;
    }
    w.commit()?;
    *indexed = next;
    Ok(())
}

/// The indexer thread: every `INDEX_EVERY`, write what waits for the
/// history index; when `stop` closes, write the rest durably and end.
pub(crate) fn index_loop(shared: &Shared, stop: &mpsc::Receiver<()>, mut indexed: VersionVector) {
    let mut writes = 0u32;
    loop {
        let last = !matches!(
            stop.recv_timeout(INDEX_EVERY),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        writes += 1;
        let durability = if last || writes.is_multiple_of(INDEX_DURABLE_EVERY) {
            Durability::Immediate
        } else {
            Durability::None
        };
        if let Err(e) = flush_index(shared, &mut indexed, durability) {
            tracing::error!(error = %e, "writing the member history index failed; it stops until restart");
            shared.index_failed.store(true, Ordering::Release);
            shared.unindexed.lock().expect("index lock").clear();
            return;
        }
        if last {
            return;
        }
    }
}

impl Db {
    /// The member's ops, newest first (by clock, then origin and number),
    /// at most `limit`: from the history index, and from the ops committed
    /// after its watermark.
    pub fn member_history(&self, id: &MemberId, limit: usize) -> Result<Vec<Op>, DbError> {
        // The index first: what it covers is committed in the log.
        let h = self.shared.history.begin_read()?;
        let idx = h.open_table(MEMBER_OPS)?;
        let indexed = read_watermark(&h.open_table(HISTORY_META)?)?;
        let r = self.shared.db.begin_read()?;
        let ops = r.open_table(OPS)?;
        let rejected = r.open_table(REJECTED)?;
        let meta = r.open_table(META)?;
        let committed = {
            let (summary, totals) = (meta.get("summary")?, meta.get("totals")?);
            let summary = Summary::read(
                summary.as_ref().map(|v| v.value()),
                totals.as_ref().map(|v| v.value()),
            )?;
            summary.vv
        };
        let decode_op = |b: &[u8]| Op::decode(b).map_err(|e| DbError::Corrupt(e.to_string()));
        // The ops past the watermark: few (the index trails the log by a
        // fraction of a second), read from the log.
        let mut recent: Vec<((u64, u32, String, u64), Op)> = Vec::new();
        for (origin, top) in committed.iter() {
            let from = indexed.get(origin) + 1;
            if from > top {
                continue;
            }
            for item in ops.range((origin.as_str(), from)..=(origin.as_str(), top))? {
                let (k, v) = item?;
                let op = decode_op(v.value())?;
                if op.body.member() == Some(id) && rejected.get(k.value())?.is_none() {
                    let key = (op.hlc.ms, op.hlc.count, origin.to_string(), op.id.seq);
                    recent.push((key, op));
                }
            }
        }
        recent.sort_by(|a, b| b.0.cmp(&a.0));
        let mut recent = recent.into_iter().peekable();
        let m = id.as_str();
        let mut indexed_iter = idx
            .range((m, 0u64, 0u32, "", 0u64)..=(m, u64::MAX, u32::MAX, "\u{10FFFF}", u64::MAX))?
            .rev()
            .peekable();
        let mut out = Vec::new();
        while out.len() < limit {
            let from_index = match (indexed_iter.peek(), recent.peek()) {
                (None, None) => break,
                (Some(Err(_)), _) => {
                    indexed_iter.next().transpose()?;
                    continue;
                }
                (Some(Ok((k, _))), Some((rk, _))) => {
                    let (_, ms, c, origin, seq) = k.value();
                    (ms, c, origin, seq) > (rk.0, rk.1, rk.2.as_str(), rk.3)
                }
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if from_index {
                let (k, _) = indexed_iter.next().expect("peeked")?;
                let (_, _, _, origin, seq) = k.value();
                if let Some(v) = ops.get((origin, seq))? {
                    out.push(decode_op(v.value())?);
                }
            } else {
                out.push(recent.next().expect("peeked").1);
            }
        }
        Ok(out)
    }
}
