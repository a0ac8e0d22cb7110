//! Stock as the API shows it: a stock op's answer, movements, ledgers,
//! transfers and a stocktake's variance. Quantities are decimal text
//! (`"2.5"`), money as everywhere (`"12.50"`).

use rust_decimal::Decimal;
use serde::Serialize;
use tongka_actors::stock::StockOutcome;
use tongka_core::ids::NodeId;
use tongka_core::money::Money;
use tongka_core::stock::{
    MoveKind, Movement, MovementRecord, Reference, StockLedger, TransferState, VarianceReport,
};
use utoipa::ToSchema;

use super::{Text, Time, at};

/// A stock move (库存流水) as recorded.
#[derive(Serialize, ToSchema)]
#[schema(as = StockMovement)]
pub struct MovementView<'a> {
    #[schema(value_type = crate::openapi::NodeName)]
    store: &'a NodeId,
    #[schema(value_type = String, examples("cola"))]
    sku: &'a str,
    /// `stock_in`, `supplier_return`, `sale`, `refund`, `adjust`, `ship`,
    /// `receive`.
    #[schema(value_type = String, examples("stock_in"))]
    kind: &'static str,
    /// The signed change of on hand.
    #[schema(value_type = crate::openapi::SignedDecimal, examples("-2"))]
    qty: Text<Decimal>,
    /// The signed change of value at cost.
    #[schema(value_type = crate::openapi::SignedMoney)]
    value: Money,
    /// On hand after the move (below zero after a sale the policy allowed).
    #[schema(value_type = crate::openapi::SignedDecimal)]
    on_hand: Text<Decimal>,
    /// A sale that took on hand below zero (allowed by the chain's
    /// policy): listed on the below-zero report.
    below_zero: bool,
    /// What the move refers to: an order, refund or transfer id; null for
    /// goods in, returns and stocktakes (their op is `op`).
    #[schema(value_type = Option<String>, required = true)]
    reference: Option<String>,
}

pub fn kind(k: &MoveKind) -> &'static str {
    match k {
        MoveKind::StockIn { .. } => "stock_in",
        MoveKind::SupplierReturn { .. } => "supplier_return",
        MoveKind::Sale { .. } => "sale",
        MoveKind::Refund { .. } => "refund",
        MoveKind::Adjust { .. } => "adjust",
        MoveKind::Ship { .. } => "ship",
        MoveKind::Receive { .. } => "receive",
    }
}

pub fn movement(m: &Movement) -> MovementView<'_> {
    MovementView {
        store: &m.store,
        sku: &m.sku,
        kind: kind(&m.kind),
        qty: Text(m.qty),
        value: m.value,
        on_hand: Text(m.on_hand),
        below_zero: m.below_zero,
        reference: match &m.reference {
            Reference::Op(_) => None,
            Reference::Order(o) => Some(o.to_string()),
            Reference::Refund(r) => Some(r.to_string()),
            Reference::Transfer(t) => Some(t.to_string()),
        },
    }
}

/// A movement in the stock ledger report: the move, when, who, which op.
#[derive(Serialize, ToSchema)]
#[schema(as = StockMovementRecord)]
pub struct MovementRecordView<'a> {
    #[serde(flatten)]
    movement: MovementView<'a>,
    #[schema(value_type = String)]
    at: Time,
    /// Who made the op (a staff id, or the integration token's name).
    by: &'a str,
    #[schema(examples("store-1:42"))]
    op: String,
}

pub fn movement_record(r: &MovementRecord) -> MovementRecordView<'_> {
    MovementRecordView {
        movement: movement(&r.movement),
        at: at(r.at),
        by: &r.by,
        op: r.op.to_string(),
    }
}

/// A store's stock of one sku.
#[derive(Serialize, ToSchema)]
#[schema(as = StockLevel)]
pub struct LedgerView {
    /// Below zero after sales the policy allowed.
    #[schema(value_type = crate::openapi::SignedDecimal)]
    on_hand: Text<Decimal>,
    /// On hand's value at cost (moving average).
    #[schema(value_type = crate::openapi::SignedMoney)]
    value: Money,
    /// The average unit cost.
    #[schema(value_type = crate::openapi::Money)]
    cost: Money,
}

pub fn ledger(l: &StockLedger) -> LedgerView {
    LedgerView {
        on_hand: Text(l.on_hand),
        value: l.value,
        cost: l.cost,
    }
}

/// A line of a transfer: shipped, and received once it is.
#[derive(Serialize, ToSchema)]
#[schema(as = TransferLine)]
pub struct TransferLineView<'a> {
    #[schema(value_type = String)]
    sku: &'a str,
    #[schema(value_type = crate::openapi::Decimal)]
    shipped: Text<Decimal>,
    /// Null while in transit.
    #[schema(value_type = Option<crate::openapi::Decimal>, required = true)]
    received: Option<Text<Decimal>>,
    /// The shipped value at the sender's cost.
    #[schema(value_type = crate::openapi::Money)]
    value: Money,
}

/// A transfer between stores (调拨单).
#[derive(Serialize, ToSchema)]
#[schema(as = Transfer)]
pub struct TransferView<'a> {
    #[schema(value_type = String, examples("t-store-1-12"))]
    id: String,
    #[schema(value_type = crate::openapi::NodeName)]
    from: &'a NodeId,
    #[schema(value_type = crate::openapi::NodeName)]
    to: &'a NodeId,
    /// `in_transit` or `received`.
    #[schema(value_type = String)]
    status: &'static str,
    lines: Vec<TransferLineView<'a>>,
}

pub fn transfer(t: &TransferState) -> TransferView<'_> {
    let s = t.shipment();
    let receipt = match t {
        TransferState::InTransit(_) => None,
        TransferState::Received { receipt, .. } => Some(receipt),
    };
    TransferView {
        id: s.id.to_string(),
        from: &s.from,
        to: &s.to,
        status: if receipt.is_some() {
            "received"
        } else {
            "in_transit"
        },
        lines: s
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| TransferLineView {
                sku: &l.sku,
                shipped: Text(l.qty),
                received: receipt.and_then(|r| r.lines.get(i)).map(|r| Text(r.qty)),
                value: l.value,
            })
            .collect(),
    }
}

/// A counted sku of a stocktake.
#[derive(Serialize, ToSchema)]
#[schema(as = VarianceLine)]
pub struct VarianceLineView<'a> {
    #[schema(value_type = String)]
    sku: &'a str,
    #[schema(value_type = crate::openapi::SignedDecimal)]
    book: Text<Decimal>,
    #[schema(value_type = crate::openapi::Decimal)]
    counted: Text<Decimal>,
    /// counted − book.
    #[schema(value_type = crate::openapi::SignedDecimal)]
    variance: Text<Decimal>,
    /// The variance at cost (a loss is negative).
    #[schema(value_type = crate::openapi::SignedMoney)]
    value: Money,
}

pub fn variance(r: &VarianceReport) -> Vec<VarianceLineView<'_>> {
    r.lines
        .iter()
        .map(|l| VarianceLineView {
            sku: &l.sku,
            book: Text(l.book),
            counted: Text(l.counted),
            variance: Text(l.variance),
            value: l.value,
        })
        .collect()
}

/// The answer to a stock op.
#[derive(Serialize, ToSchema)]
#[schema(as = StockChange)]
pub struct StockOutcomeView<'a> {
    /// `stock_in`, `stock_return`, `transfer_shipped`,
    /// `transfer_received`, `stocktake`, `stock_minimums`.
    #[schema(value_type = String)]
    kind: &'a str,
    #[schema(value_type = crate::openapi::NodeName)]
    store: &'a NodeId,
    #[schema(value_type = String)]
    at: Time,
    movements: Vec<MovementView<'a>>,
    /// The transfer shipped or received; null otherwise.
    #[schema(required = true)]
    transfer: Option<TransferView<'a>>,
    /// A stocktake's variance report (every counted sku); null otherwise.
    #[schema(required = true)]
    variance: Option<Vec<VarianceLineView<'a>>>,
}

pub fn stock_outcome(o: &StockOutcome) -> StockOutcomeView<'_> {
    StockOutcomeView {
        kind: &o.kind,
        store: &o.store,
        at: at(o.at),
        movements: o.movements.iter().map(movement).collect(),
        transfer: o.transfer.as_ref().map(transfer),
        variance: o.variance.as_ref().map(variance),
    }
}
