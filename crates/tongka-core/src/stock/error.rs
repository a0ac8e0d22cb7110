//! Why a stock move, transfer or stocktake is refused: one error type for
//! the whole of `stock`, each variant a stable code with zh and en
//! messages (the API renders them as every other refusal).

use rust_decimal::Decimal;

use super::Unit;
use super::transfer::TransferId;
use crate::error::DomainError;
use crate::ids::NodeId;

/// Why a stock move, transfer or stocktake is refused. Nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API will map each variant to an HTTP status in
// an exhaustive match, so a new variant must be given one.
pub enum StockError {
    #[error("{sku}: quantity {qty} is not valid for a product counted {}", unit_en(*.unit))]
    Qty {
        sku: String,
        qty: Decimal,
        unit: Unit,
    },
    #[error("{sku}: the unit cost must be a non-negative amount with at most two places")]
    UnitCost { sku: String },
    #[error("unknown product {sku:?}")]
    UnknownProduct { sku: String },
    #[error("{sku}: {wanted} wanted, {on_hand} on hand")]
    Insufficient {
        sku: String,
        on_hand: Decimal,
        wanted: Decimal,
    },
    #[error("the stock of {store} is changed only by {store}, not by {author}")]
    NotOwner { store: NodeId, author: NodeId },
    #[error("no lines")]
    NoLines,
    #[error("{sku} is on more than one line")]
    DuplicateLine { sku: String },
    #[error("a transfer cannot go to its own store")]
    TransferToSelf,
    #[error("unknown store {store}")]
    UnknownStore { store: String },
    #[error("unknown transfer {id}")]
    UnknownTransfer { id: TransferId },
    #[error("transfer {id} was already shipped")]
    TransferExists { id: TransferId },
    #[error("transfer {id} goes to {to}, not to {store}")]
    NotDestination {
        id: TransferId,
        to: NodeId,
        store: NodeId,
    },
    #[error("transfer {id} was already received")]
    AlreadyReceived { id: TransferId },
    #[error("transfer {id}: {received} of {sku} received, {shipped} shipped")]
    ReceiveExceedsShipped {
        id: TransferId,
        sku: String,
        shipped: Decimal,
        received: Decimal,
    },
    #[error("{sku} is under transfer {id}: receive it before counting")]
    UnderTransfer { sku: String, id: TransferId },
    /// More lines than one stock op takes.
    #[error("at most {max} lines")]
    TooManyLines { max: usize },
    /// A supplier's name or a note a client sets (`text`'s rule).
    #[error("{field} {error}")]
    Text {
        field: &'static str,
        error: crate::text::TextError,
    },
}

fn unit_en(u: Unit) -> &'static str {
    match u {
        Unit::Whole => "in whole pieces (greater than 0, no fractions)",
        Unit::Measured => "by measure (greater than 0, at most 3 decimal places)",
    }
}

impl DomainError for StockError {
    fn code(&self) -> &'static str {
        match self {
            StockError::Qty { .. } => "invalid_stock_qty",
            StockError::UnitCost { .. } => "invalid_unit_cost",
            StockError::UnknownProduct { .. } => "unknown_product",
            StockError::Insufficient { .. } => "insufficient_stock",
            StockError::NotOwner { .. } => "stock_not_owner",
            StockError::NoLines => "no_stock_lines",
            StockError::DuplicateLine { .. } => "duplicate_stock_line",
            StockError::TransferToSelf => "transfer_to_self",
            StockError::UnknownStore { .. } => "unknown_store",
            StockError::UnknownTransfer { .. } => "unknown_transfer",
            StockError::TransferExists { .. } => "transfer_exists",
            StockError::NotDestination { .. } => "not_transfer_destination",
            StockError::AlreadyReceived { .. } => "transfer_already_received",
            StockError::ReceiveExceedsShipped { .. } => "receive_exceeds_shipped",
            StockError::UnderTransfer { .. } => "stocktake_under_transfer",
            StockError::TooManyLines { .. } => "too_many_stock_lines",
            StockError::Text { field, .. } => match *field {
                "supplier" => "invalid_supplier",
                _ => "invalid_note",
            },
        }
    }

    fn message_zh(&self) -> String {
        match self {
            StockError::Qty { sku, qty, unit } => match unit {
                Unit::Whole => format!("{sku}：数量 {qty} 无效，按件计的商品数量须为正整数"),
                Unit::Measured => {
                    format!("{sku}：数量 {qty} 无效，计量商品数量须大于 0、最多 3 位小数")
                }
            },
            StockError::UnitCost { sku } => {
                format!("{sku}：进价须为不小于 0、最多两位小数的金额")
            }
            StockError::UnknownProduct { sku } => format!("未知商品 {sku:?}"),
            StockError::Insufficient {
                sku,
                on_hand,
                wanted,
            } => format!("{sku} 库存不足：需要 {wanted}，现有 {on_hand}"),
            StockError::NotOwner { store, author } => {
                format!("{store} 的库存只能由 {store} 变动，{author} 不能")
            }
            StockError::NoLines => "没有商品行".into(),
            StockError::DuplicateLine { sku } => format!("{sku} 出现在多行中"),
            StockError::TransferToSelf => "不能调拨给本门店".into(),
            StockError::UnknownStore { store } => format!("未知门店 {store}"),
            StockError::UnknownTransfer { id } => format!("未知调拨单 {id}"),
            StockError::TransferExists { id } => format!("调拨单 {id} 已发货"),
            StockError::NotDestination { id, to, store } => {
                format!("调拨单 {id} 发往 {to}，不是 {store}")
            }
            StockError::AlreadyReceived { id } => format!("调拨单 {id} 已收货"),
            StockError::ReceiveExceedsShipped {
                id,
                sku,
                shipped,
                received,
            } => format!("调拨单 {id}：{sku} 收货 {received}，超过发货 {shipped}"),
            StockError::UnderTransfer { sku, id } => {
                format!("{sku} 正在调拨中（调拨单 {id}），收货后才能盘点")
            }
            StockError::TooManyLines { max } => format!("一次最多 {max} 行"),
            StockError::Text { field, error } => {
                let what = if *field == "supplier" {
                    "供应商"
                } else {
                    "备注"
                };
                format!("{what}{}", error.zh())
            }
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            StockError::Qty { sku, qty, .. } => {
                vec![("sku", sku.clone()), ("qty", qty.to_string())]
            }
            StockError::UnitCost { sku } | StockError::UnknownProduct { sku } => {
                vec![("sku", sku.clone())]
            }
            StockError::Insufficient {
                sku,
                on_hand,
                wanted,
            } => vec![
                ("sku", sku.clone()),
                ("on_hand", on_hand.to_string()),
                ("wanted", wanted.to_string()),
            ],
            StockError::DuplicateLine { sku } => vec![("sku", sku.clone())],
            StockError::UnknownStore { store } => vec![("store", store.clone())],
            StockError::UnknownTransfer { id }
            | StockError::TransferExists { id }
            | StockError::AlreadyReceived { id } => vec![("transfer", id.to_string())],
            StockError::NotDestination { id, to, .. } => {
                vec![("transfer", id.to_string()), ("to", to.to_string())]
            }
            StockError::ReceiveExceedsShipped {
                id,
                sku,
                shipped,
                received,
            } => vec![
                ("transfer", id.to_string()),
                ("sku", sku.clone()),
                ("shipped", shipped.to_string()),
                ("received", received.to_string()),
            ],
            StockError::UnderTransfer { sku, id } => {
                vec![("sku", sku.clone()), ("transfer", id.to_string())]
            }
            StockError::Text { field, .. } => vec![("field", (*field).to_string())],
            _ => Vec::new(),
        }
    }
}
