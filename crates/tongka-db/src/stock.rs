//! Stock in the db: what an op's stock effects write in its commit (the
//! ledgers after it, its movements, the transfer, minimums: tables
//! `stock-1`, `movements-2`, `sku-movements-1`, `transfers-1`,
//! `stock-minimums-1`), the book read back whole at start, and the
//! movement report read in pages. Values are minicbor, whose records grow
//! by new fields.

use redb::{ReadableDatabase, ReadableTable, Table};
use rust_decimal::Decimal;
use tongka_core::ids::NodeId;
use tongka_core::op::Op;
use tongka_core::stock::{
    Movement, MovementRecord, Reference, StockLedger, StockQty, TransferState,
};

use crate::tables::{MOVEMENTS, SKU_MOVEMENTS, STOCK, STOCK_MINIMUMS, TRANSFERS};
use crate::{Db, DbError};

/// An op's stock effects (`tongka_machine::stock::StockApplied`), for its
/// commit.
#[derive(Debug, Clone, Default)]
pub struct StockWrite {
    /// The ledgers after the op, of the skus it moved (at the op's origin).
    pub ledgers: Vec<(String, StockLedger)>,
    pub movements: Vec<Movement>,
    pub transfer: Option<TransferState>,
    /// Minimums set (zero: removed).
    pub minimums: Vec<StockQty>,
}

/// What the db holds of stock, read whole at start to build the book.
#[derive(Debug, Clone, Default)]
pub struct StockParts {
    pub ledgers: Vec<(NodeId, String, StockLedger)>,
    pub minimums: Vec<(NodeId, String, Decimal)>,
    pub transfers: Vec<TransferState>,
}

fn cbor<T: minicbor::Encode<()>>(v: &T) -> Vec<u8> {
    minicbor::to_vec(v).expect("encoding to memory cannot fail")
}

fn uncbor<'b, T: minicbor::Decode<'b, ()>>(b: &'b [u8], what: &str) -> Result<T, DbError> {
    minicbor::decode(b).map_err(|e| DbError::Corrupt(format!("{what}: {e}")))
}

/// The tables a commit with stock effects writes, opened on the first.
pub(crate) struct StockTables<'w> {
    stock: Table<'w, (&'static str, &'static str), &'static [u8]>,
    minimums: Table<'w, (&'static str, &'static str), &'static str>,
    transfers: Table<'w, &'static str, &'static [u8]>,
    movements: Table<'w, (&'static str, u64, u32), &'static [u8]>,
    sku_movements: Table<'w, (&'static str, &'static str, u64, u32), ()>,
}

impl<'w> StockTables<'w> {
    pub(crate) fn open(w: &'w redb::WriteTransaction) -> Result<StockTables<'w>, DbError> {
        Ok(StockTables {
            stock: w.open_table(STOCK)?,
            minimums: w.open_table(STOCK_MINIMUMS)?,
            transfers: w.open_table(TRANSFERS)?,
            movements: w.open_table(MOVEMENTS)?,
            sku_movements: w.open_table(SKU_MOVEMENTS)?,
        })
    }

    /// Write `s`, the stock effects of `op`.
    pub(crate) fn write(&mut self, op: &Op, s: &StockWrite) -> Result<(), DbError> {
        let store = op.id.origin.as_str();
        for (sku, l) in &s.ledgers {
            self.stock
                .insert((store, sku.as_str()), cbor(l).as_slice())?;
        }
        for m in &s.minimums {
            if m.qty.is_zero() {
                self.minimums.remove((store, m.sku.as_str()))?;
            } else {
                self.minimums
                    .insert((store, m.sku.as_str()), m.qty.to_string().as_str())?;
            }
        }
        if let Some(t) = &s.transfer {
            self.transfers
                .insert(t.shipment().id.as_str(), cbor(t).as_slice())?;
        }
        for (i, m) in s.movements.iter().enumerate() {
            let line = u32::try_from(i).expect("an op has far fewer lines");
            let mut movement = m.clone();
            // A move without an entity of its own refers to its op, whose
            // number a local op gets only now (it was drafted without).
            if let Reference::Op(_) = movement.reference {
                movement.reference = Reference::Op(op.id.clone());
            }
            let rec = MovementRecord {
                movement,
                at: op.hlc,
                by: op.by.to_string(),
                op: op.id.clone(),
            };
            self.movements
                .insert((store, op.id.seq, line), cbor(&rec).as_slice())?;
            self.sku_movements
                .insert((store, m.sku.as_str(), op.id.seq, line), ())?;
        }
        Ok(())
    }
}

/// Where a page of movements ends: the next page starts before it.
pub type MovementCursor = (u64, u32);

impl Db {
    /// Every store's ledgers, minimums and every transfer (start).
    pub fn stock_parts(&self) -> Result<StockParts, DbError> {
        let r = self.shared.db.begin_read()?;
        let mut out = StockParts::default();
        for row in r.open_table(STOCK)?.iter()? {
            let (k, v) = row?;
            let (store, sku) = k.value();
            out.ledgers.push((
                node(store)?,
                sku.to_string(),
                uncbor(v.value(), "stock ledger")?,
            ));
        }
        for row in r.open_table(STOCK_MINIMUMS)?.iter()? {
            let (k, v) = row?;
            let (store, sku) = k.value();
            let min: Decimal = v
                .value()
                .parse()
                .map_err(|_| DbError::Corrupt(format!("stock minimum of {sku}")))?;
            out.minimums.push((node(store)?, sku.to_string(), min));
        }
        for row in r.open_table(TRANSFERS)?.iter()? {
            let (_, v) = row?;
            out.transfers.push(uncbor(v.value(), "transfer")?);
        }
        Ok(out)
    }

    /// A page of `store`'s movements, newest first: of `sku`, or of every
    /// sku; at most `limit`, before `before` (a cursor a page returned).
    /// Returns the page and the cursor of the next, if there are more.
    pub fn movements(
        &self,
        store: &NodeId,
        sku: Option<&str>,
        before: Option<MovementCursor>,
        limit: usize,
    ) -> Result<(Vec<MovementRecord>, Option<MovementCursor>), DbError> {
        let r = self.shared.db.begin_read()?;
        let movements = r.open_table(MOVEMENTS)?;
        let (seq, line) = before.unwrap_or((u64::MAX, u32::MAX));
        let s = store.as_str();
        let mut out = Vec::new();
        let mut last = None;
        let mut more = false;
        let mut take = |q: u64, l: u32| -> Result<bool, DbError> {
            if out.len() == limit {
                more = true;
                return Ok(false);
            }
            let v = movements
                .get((s, q, l))?
                .ok_or_else(|| DbError::Corrupt(format!("movement {s}/{q}/{l} missing")))?;
            out.push(uncbor(v.value(), "movement")?);
            last = Some((q, l));
            Ok(true)
        };
        match sku {
            Some(sku) => {
                let index = r.open_table(SKU_MOVEMENTS)?;
                for row in index.range((s, sku, 0, 0)..(s, sku, seq, line))?.rev() {
                    let (k, _) = row?;
                    let (_, _, q, l) = k.value();
                    if !take(q, l)? {
                        break;
                    }
                }
            }
            None => {
                let keys: Vec<(u64, u32)> = movements
                    .range((s, 0, 0)..(s, seq, line))?
                    .rev()
                    .take(limit + 1)
                    .map(|row| row.map(|(k, _)| (k.value().1, k.value().2)))
                    .collect::<Result<_, _>>()?;
                for (q, l) in keys {
                    if !take(q, l)? {
                        break;
                    }
                }
            }
        }
        Ok((out, if more { last } else { None }))
    }
}

fn node(s: &str) -> Result<NodeId, DbError> {
    NodeId::new(s).map_err(|_| DbError::Corrupt(format!("stock of {s:?}")))
}
