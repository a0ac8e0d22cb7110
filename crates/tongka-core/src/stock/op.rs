//! What a stock op carries (`OpBody::StockChanged`), and the stock lines a
//! sale or refund carries (`OpBody::CheckedOut::stock`,
//! `OpBody::Refunded::stock`). An op records what its origin decided
//! (quantities checked, a shipment valued, a count's adjustment taken
//! against the book), so every node applies the same moves whatever its
//! catalogue says by then.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::stocktake::StockCount;
use super::transfer::{Receipt, Shipment};
use super::{Move, MoveKind, Reference};
use crate::ids::{OpId, OrderId, RefundId};
use crate::money::Money;

/// A quantity of one sku: positive for a sale, refund or return line; a
/// count's adjustment is signed (counted − book).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct StockQty {
    #[n(0)]
    pub sku: String,
    #[cbor(n(1), with = "crate::codec::decimal")]
    pub qty: Decimal,
}

/// A line of goods in from a supplier.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct StockInLine {
    #[n(0)]
    pub sku: String,
    #[cbor(n(1), with = "crate::codec::decimal")]
    pub qty: Decimal,
    /// Cost of one unit, to the fen.
    #[n(2)]
    pub unit_cost: Money,
}

/// A change of a store's stock by the store itself (the op's origin).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum StockChange {
    /// Goods in from a supplier (入库).
    #[n(0)]
    In {
        #[n(0)]
        supplier: String,
        #[n(1)]
        note: String,
        #[n(2)]
        lines: Vec<StockInLine>,
    },
    /// Goods back to a supplier (退货).
    #[n(1)]
    Return {
        #[n(0)]
        supplier: String,
        #[n(1)]
        note: String,
        #[n(2)]
        lines: Vec<StockQty>,
    },
    /// A transfer leaves the origin (调拨出库): the shipment, valued.
    #[n(2)]
    Ship {
        #[n(0)]
        shipment: Shipment,
        #[n(1)]
        note: String,
    },
    /// A transfer arrives at the origin (调拨入库): what arrived of each
    /// shipped line.
    #[n(3)]
    Receive {
        #[n(0)]
        receipt: Receipt,
        #[n(1)]
        note: String,
    },
    /// A stocktake (盘点): what was counted, and the adjustment it made
    /// (counted − book when decided, one signed line per sku that differed).
    #[n(4)]
    Count {
        #[n(0)]
        counts: Vec<StockCount>,
        #[n(1)]
        adjust: Vec<StockQty>,
        #[n(2)]
        note: String,
    },
    /// The origin's minimum on hand of some skus (the low-stock report);
    /// zero removes one. Moves nothing.
    #[n(5)]
    Minimums {
        #[n(0)]
        lines: Vec<StockQty>,
    },
}

/// A movement as the stock ledger report lists it: the move, when (the
/// op's clock), who, and which op.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct MovementRecord {
    #[n(0)]
    pub movement: super::Movement,
    #[n(1)]
    pub at: crate::clock::Hlc,
    #[n(2)]
    pub by: String,
    #[n(3)]
    pub op: OpId,
}

impl StockChange {
    /// The kind's name (the audit trail, the API).
    pub fn kind(&self) -> &'static str {
        match self {
            StockChange::In { .. } => "stock_in",
            StockChange::Return { .. } => "stock_return",
            StockChange::Ship { .. } => "transfer_shipped",
            StockChange::Receive { .. } => "transfer_received",
            StockChange::Count { .. } => "stocktake",
            StockChange::Minimums { .. } => "stock_minimums",
        }
    }

    /// The origin's moves, `op` being the op that carries this change
    /// (the reference of moves without an entity of their own). A receive's
    /// moves need its shipment: see `Receipt::moves`.
    pub fn moves(&self, op: &OpId, shipment: Option<&Shipment>) -> Vec<Move> {
        let r = Reference::Op(op.clone());
        match self {
            StockChange::In { lines, .. } => lines
                .iter()
                .map(|l| Move {
                    sku: l.sku.clone(),
                    kind: MoveKind::StockIn {
                        qty: l.qty,
                        unit_cost: l.unit_cost,
                    },
                    reference: r.clone(),
                })
                .collect(),
            StockChange::Return { lines, .. } => lines
                .iter()
                .map(|l| Move {
                    sku: l.sku.clone(),
                    kind: MoveKind::SupplierReturn { qty: l.qty },
                    reference: r.clone(),
                })
                .collect(),
            StockChange::Ship { shipment, .. } => shipment.moves(),
            StockChange::Receive { receipt, .. } => {
                shipment.map(|s| receipt.moves(s)).unwrap_or_default()
            }
            StockChange::Minimums { .. } => Vec::new(),
            StockChange::Count { adjust, .. } => adjust
                .iter()
                .map(|l| Move {
                    sku: l.sku.clone(),
                    kind: MoveKind::Adjust { delta: l.qty },
                    reference: r.clone(),
                })
                .collect(),
        }
    }
}

/// A sale's moves: each stock line out of the selling store.
pub fn sale_moves(order: &OrderId, lines: &[StockQty]) -> Vec<Move> {
    lines
        .iter()
        .map(|l| Move {
            sku: l.sku.clone(),
            kind: MoveKind::Sale { qty: l.qty },
            reference: Reference::Order(order.clone()),
        })
        .collect()
}

/// A refund's moves: each stock line back in.
pub fn refund_moves(refund: &RefundId, lines: &[StockQty]) -> Vec<Move> {
    lines
        .iter()
        .map(|l| Move {
            sku: l.sku.clone(),
            kind: MoveKind::Refund { qty: l.qty },
            reference: Reference::Refund(refund.clone()),
        })
        .collect()
}
