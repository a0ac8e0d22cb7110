//! Figures in the db (`tongka_core::figures`): each store's figures per
//! chain day (`figures-1`) and the members active at a store on a day
//! (`active-1`), written in the commit of the op that changes them, for
//! every op applied (not rejected), made here or received. Reports read
//! rows of `figures-1` by range, never the op log.
//!
//! The writer's hot path: a commit reads each `(store, day)` row it
//! touches once, applies its ops to it in memory, and writes it once; an
//! op with an active member reads one `active-1` key and writes it only
//! when the member is new that day. A database whose log predates these
//! tables is backfilled once at open from its log (`backfill`).

use std::collections::HashMap;

use redb::{ReadableDatabase, ReadableTable, Table};
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::day::Day;
use tongka_core::figures::{self, Figures};
use tongka_core::ids::NodeId;
use tongka_core::op::{Op, OpBody};
use tongka_core::settlement::{self, Withdrawal};

use crate::tables::{ACTIVE, FIGURES, META, OPS, REJECTED, WITHDRAWALS};
use crate::{Db, DbError};

/// The `meta` key set once the figures hold every op of the log, in the
/// current shape of `Figures`. `figures-2`: rows grew `shares_with`
/// (settlement), so a database marked only `figures` is recomputed.
const FIGURES_KEPT: &str = "figures-2";

fn uncbor(b: &[u8]) -> Result<Figures, DbError> {
    minicbor::decode(b).map_err(|e| DbError::Corrupt(format!("figures: {e}")))
}

fn unwithdrawal(b: &[u8]) -> Result<Withdrawal, DbError> {
    minicbor::decode(b).map_err(|e| DbError::Corrupt(format!("withdrawal: {e}")))
}

/// The figures tables of one write transaction, and the rows its ops
/// changed so far (written by `flush`).
pub(crate) struct FiguresTables<'w> {
    figures: Table<'w, (&'static str, i32), &'static [u8]>,
    active: Table<'w, (&'static str, i32, &'static str), ()>,
    pending: HashMap<(NodeId, i32), Figures>,
    withdrawals: Table<'w, &'static str, &'static [u8]>,
}

impl<'w> FiguresTables<'w> {
    pub(crate) fn open(w: &'w redb::WriteTransaction) -> Result<FiguresTables<'w>, DbError> {
        Ok(FiguresTables {
            figures: w.open_table(FIGURES)?,
            active: w.open_table(ACTIVE)?,
            pending: HashMap::new(),
            withdrawals: w.open_table(WITHDRAWALS)?,
        })
    }

    /// Count `op`, applied, in the figures of the stores it touched.
    pub(crate) fn apply(&mut self, op: &Op) -> Result<(), DbError> {
        if let OpBody::Withdrawal { id, .. } = &op.body {
            self.withdrawal(id.as_str(), op)?;
        }
        let day = figures::day_of(op).0;
        for store in figures::touched(op) {
            let key = (store, day);
            let f = match self.pending.get_mut(&key) {
                Some(f) => f,
                None => {
                    let stored = match self.figures.get((key.0.as_str(), day))? {
                        Some(v) => uncbor(v.value())?,
                        None => Figures::default(),
                    };
                    self.pending.entry(key.clone()).or_insert(stored)
                }
            };
            f.apply_as(&key.0, op);
            if key.0 == *op.origin()
                && let Some(m) = figures::active(op)
            {
                let k = (key.0.as_str(), day, m.as_str());
                if self.active.get(k)?.is_none() {
                    self.active.insert(k, ())?;
                    f.active_members += 1;
                }
            }
        }
        Ok(())
    }

    /// A withdrawal's row after `op` (settlement). One that does not apply
    /// (a decision on a withdrawal this node does not hold, which causal
    /// delivery rules out; an id reused) leaves the row as it was.
    fn withdrawal(&mut self, id: &str, op: &Op) -> Result<(), DbError> {
        let cur = match self.withdrawals.get(id)? {
            Some(v) => Some(unwithdrawal(v.value())?),
            None => None,
        };
        if let Ok(next) = settlement::apply(cur.as_ref(), op) {
            let bytes = minicbor::to_vec(&next).expect("encoding to memory cannot fail");
            self.withdrawals.insert(id, bytes.as_slice())?;
        }
        Ok(())
    }

    /// Write the rows changed, once each.
    pub(crate) fn flush(mut self) -> Result<(), DbError> {
        for ((store, day), f) in self.pending.drain() {
            let bytes = minicbor::to_vec(&f).expect("encoding to memory cannot fail");
            self.figures
                .insert((store.as_str(), day), bytes.as_slice())?;
        }
        Ok(())
    }
}

/// Make the figures hold the whole log, once: a database made before the
/// figures tables, or before their current shape (its `meta` lacks
/// `FIGURES_KEPT`), has them cleared and computed from its log, every op
/// but the rejected, in this transaction; a new one computes nothing (its
/// log is empty) and gets the mark. Ops this build cannot decode were not applied by it
/// either, and are not counted.
pub(crate) fn backfill(w: &redb::WriteTransaction) -> Result<(), DbError> {
    let mut meta = w.open_table(META)?;
    if meta.get(FIGURES_KEPT)?.is_some() {
        return Ok(());
    }
    // Rows of an older shape (or of none) are recomputed from scratch.
    w.delete_table(FIGURES)?;
    w.delete_table(ACTIVE)?;
    w.delete_table(WITHDRAWALS)?;
    let ops = w.open_table(OPS)?;
    let rejected = w.open_table(REJECTED)?;
    let mut tables = FiguresTables::open(w)?;
    for row in ops.iter()? {
        let (k, v) = row?;
        if rejected.get(k.value())?.is_some() {
            continue;
        }
        if let Ok(op) = Op::decode(v.value()) {
            tables.apply(&op)?;
        }
    }
    tables.flush()?;
    meta.insert(FIGURES_KEPT, [1u8].as_slice())?;
    Ok(())
}

/// How fresh a report is: the ops this node holds of each origin, and the
/// clock of the newest of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freshness {
    pub vv: VersionVector,
    /// Each origin held, its last op's number and clock.
    pub newest: Vec<(NodeId, u64, Hlc)>,
}

impl Db {
    /// Figures per store and day, `from` to `to` inclusive: of `stores`,
    /// or of every store that has any. Ordered by store, then day. Range
    /// scans: one per store (every store: found by skipping from one
    /// store's rows to the next's).
    pub fn figures(
        &self,
        stores: Option<&[NodeId]>,
        from: Day,
        to: Day,
    ) -> Result<Vec<(NodeId, Day, Figures)>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(FIGURES)?;
        let mut out = Vec::new();
        let mut scan = |store: &str| -> Result<(), DbError> {
            let node = NodeId::new(store)
                .map_err(|_| DbError::Corrupt(format!("figures of {store:?}")))?;
            for row in t.range((store, from.0)..=(store, to.0))? {
                let (k, v) = row?;
                out.push((node.clone(), Day(k.value().1), uncbor(v.value())?));
            }
            Ok(())
        };
        match stores {
            Some(list) => {
                let mut list: Vec<&NodeId> = list.iter().collect();
                list.sort();
                list.dedup();
                for s in list {
                    scan(s.as_str())?;
                }
            }
            None => {
                let mut next: Option<String> = t.first()?.map(|(k, _)| k.value().0.to_string());
                while let Some(store) = next {
                    scan(&store)?;
                    next = t
                        .range((store.as_str(), i32::MAX)..)?
                        .find_map(|row| match row {
                            Ok((k, _)) if k.value().0 != store => Some(Ok(k.value().0.to_string())),
                            Ok(_) => None,
                            Err(e) => Some(Err(e)),
                        })
                        .transpose()?;
                }
            }
        }
        Ok(out)
    }

    /// This node's version vector and, per origin, its newest op's clock
    /// (one op read per origin).
    pub fn freshness(&self) -> Result<Freshness, DbError> {
        let vv = self.summary().vv;
        let r = self.shared.db.begin_read()?;
        let ops = r.open_table(OPS)?;
        let mut newest = Vec::new();
        for (origin, seq) in vv.iter() {
            if seq == 0 {
                continue;
            }
            if let Some(v) = ops.get((origin.as_str(), seq))? {
                let op = Op::decode(v.value()).map_err(|e| DbError::Corrupt(e.to_string()))?;
                newest.push((origin.clone(), seq, op.hlc));
            }
        }
        Ok(Freshness { vv, newest })
    }

    /// Every withdrawal this node holds (settlement), ordered by id. A
    /// chain makes a few a month per store: read whole.
    pub fn withdrawals(&self) -> Result<Vec<Withdrawal>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(WITHDRAWALS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(unwithdrawal(v.value())?);
        }
        Ok(out)
    }

    /// One withdrawal, if this node holds it.
    pub fn withdrawal(&self, id: &str) -> Result<Option<Withdrawal>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(WITHDRAWALS)?;
        t.get(id)?.map(|v| unwithdrawal(v.value())).transpose()
    }
}
