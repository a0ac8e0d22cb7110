//! Stocktake (盘点): counted quantities against the book, a variance
//! report, and the adjustment it makes.
//!
//! # The rule
//! - A stocktake at a store counts some skus (each once; zero allowed,
//!   checked against the unit). For each: book (on hand), counted,
//!   variance = counted − book, and the variance's value at cost (a gain
//!   at the average cost, a loss at what taking it out is worth:
//!   `StockLedger::out_value`). Its adjustment is one
//!   `MoveKind::Adjust { delta: variance }` per sku whose variance is not
//!   zero, applied by the store like any of its moves.
//! - **Under transfer** refuses the count of a sku
//!   (`stocktake_under_transfer`): a transfer in transit shipped *from*
//!   this store with the sku on it (the goods left the books but may still
//!   be on the shelf or the van), or shipped *to* this store and not yet
//!   received here (the goods may already be on the shelf but are not on
//!   the books). Either way a count would book the transfer's goods as a
//!   variance and then again when received. Receive the transfer first.
//! - The adjustment's delta is taken against the book when decided; the
//!   store's own ops are serialised, so nothing moves the book between the
//!   decision and its op.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::transfer::Transfers;
use super::{Move, MoveKind, Reference, StockError, StoreStock, Unit, check_qty};
use crate::ids::NodeId;
use crate::money::Money;

/// A counted quantity of one sku.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct StockCount {
    #[n(0)]
    pub sku: String,
    #[cbor(n(1), with = "crate::codec::decimal")]
    pub counted: Decimal,
}

/// One sku of a variance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarianceLine {
    pub sku: String,
    pub book: Decimal,
    pub counted: Decimal,
    /// counted − book.
    pub variance: Decimal,
    /// The variance's value at cost (signed: a loss is negative).
    pub value: Money,
}

/// A stocktake's result at a store: every counted sku, with or without a
/// variance (the report shows both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarianceReport {
    pub store: NodeId,
    pub lines: Vec<VarianceLine>,
}

impl VarianceReport {
    /// The adjustment: one move per sku whose variance is not zero.
    pub fn moves(&self, reference: &Reference) -> Vec<Move> {
        self.lines
            .iter()
            .filter(|l| !l.variance.is_zero())
            .map(|l| Move {
                sku: l.sku.clone(),
                kind: MoveKind::Adjust { delta: l.variance },
                reference: reference.clone(),
            })
            .collect()
    }

    /// The whole variance's value at cost (signed).
    pub fn value(&self) -> Money {
        self.lines.iter().map(|l| l.value).sum()
    }
}

/// Decide a stocktake of `counts` at `stock`'s store. Refused: no counts,
/// a sku counted twice, an unknown sku, a quantity invalid for its unit,
/// a sku under transfer (module doc).
pub fn decide_stocktake(
    stock: &StoreStock,
    counts: &[StockCount],
    units: &dyn Fn(&str) -> Option<Unit>,
    transfers: &Transfers,
) -> Result<VarianceReport, StockError> {
    if counts.is_empty() {
        return Err(StockError::NoLines);
    }
    let mut lines = Vec::with_capacity(counts.len());
    for (i, c) in counts.iter().enumerate() {
        if counts[..i].iter().any(|o| o.sku == c.sku) {
            return Err(StockError::DuplicateLine { sku: c.sku.clone() });
        }
        let unit =
            units(&c.sku).ok_or_else(|| StockError::UnknownProduct { sku: c.sku.clone() })?;
        let counted = check_qty(&c.sku, unit, c.counted, true)?;
        if let Some(id) = transfers.under_transfer(&stock.store, &c.sku) {
            return Err(StockError::UnderTransfer {
                sku: c.sku.clone(),
                id: id.clone(),
            });
        }
        let l = stock.ledger(&c.sku);
        let variance = (counted - l.on_hand).normalize();
        let value = if variance > Decimal::ZERO {
            Money::round_half_up(l.cost.as_decimal() * variance)
        } else if variance < Decimal::ZERO {
            Money::ZERO - l.out_value(-variance)
        } else {
            Money::ZERO
        };
        lines.push(VarianceLine {
            sku: c.sku.clone(),
            book: l.on_hand,
            counted,
            variance,
            value,
        });
    }
    Ok(VarianceReport {
        store: stock.store.clone(),
        lines,
    })
}
