//! Why a checkout is refused: one variant per reason, each with its code
//! and its Chinese message (`DomainError`).

use crate::card::CARDS_PER_LINE_MAX;
use crate::coupon::CouponError;
use crate::error::DomainError;
use crate::money::{AmountError, Money};
use crate::text::TextError;

use super::{LINES_MAX, QTY_MAX, TENDERS_MAX};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum CheckoutError {
    #[error("an order needs 1 to {LINES_MAX} lines")]
    LineCount,
    #[error(
        "line {line}: quantity must be greater than 0, at most {QTY_MAX}, with at most 3 decimal places"
    )]
    Qty { line: usize },
    #[error("line {line}: unit price {reason}")]
    UnitPrice { line: usize, reason: AmountError },
    #[error("line {line}: description {why}")]
    Description { line: usize, why: TextError },
    #[error("tender {kind}: amount {reason}")]
    TenderAmount {
        kind: &'static str,
        reason: AmountError,
    },
    #[error("at most {TENDERS_MAX} tenders, each kind once, and at most one without an amount")]
    Tenders,
    #[error("tenders add up to {tendered}, the order is {payable}")]
    TenderMismatch { tendered: Money, payable: Money },
    #[error("a balance tender needs a member")]
    BalanceWithoutMember,
    #[error("the order comes to {total}, more than the limit of one order (10000000.00)")]
    TooLarge { total: Money },
    #[error("insufficient balance: {wanted} wanted, {available_here} usable at this store")]
    InsufficientBalance {
        wanted: Money,
        available_here: Money,
    },
    #[error("this chain's programme does not allow paying with points")]
    PointsNotEnabled,
    #[error("paying with points needs a member")]
    PointsWithoutMember,
    #[error("points must be a whole number, 0 or more")]
    InvalidPoints,
    #[error("at least {min} points must be used at once")]
    PointsBelowMinimum { min: i64 },
    #[error(
        "{wanted} points are worth {value}, more than the cap of {cap}: at most {max_points} points"
    )]
    PointsOverCap {
        wanted: i64,
        value: Money,
        cap: Money,
        max_points: i64,
    },
    #[error("insufficient points: {wanted} wanted, {available_here} usable at this store")]
    InsufficientPoints { wanted: i64, available_here: i64 },
    #[error(transparent)]
    Coupon(#[from] CouponError),
    #[error("line {line} sells cards: a member is needed, to hold them")]
    CardWithoutMember { line: usize },
    #[error(
        "line {line} sells cards: the quantity is a whole number from 1 to {CARDS_PER_LINE_MAX}"
    )]
    CardQty { line: usize },
}

impl DomainError for CheckoutError {
    fn code(&self) -> &'static str {
        match self {
            CheckoutError::LineCount => "invalid_lines",
            CheckoutError::Qty { .. } => "invalid_qty",
            CheckoutError::UnitPrice { .. } => "invalid_amount",
            CheckoutError::Description { .. } => "invalid_description",
            CheckoutError::TenderAmount { .. } => "invalid_amount",
            CheckoutError::Tenders => "invalid_tenders",
            CheckoutError::TenderMismatch { .. } => "tender_mismatch",
            CheckoutError::BalanceWithoutMember => "balance_needs_member",
            CheckoutError::InsufficientBalance { .. } => "insufficient_balance",
            CheckoutError::TooLarge { .. } => "order_too_large",
            CheckoutError::PointsNotEnabled => "points_deduction_not_enabled",
            CheckoutError::PointsWithoutMember => "points_need_member",
            CheckoutError::InvalidPoints => "invalid_points",
            CheckoutError::PointsBelowMinimum { .. } => "points_below_minimum",
            CheckoutError::PointsOverCap { .. } => "points_over_cap",
            CheckoutError::InsufficientPoints { .. } => "insufficient_points",
            CheckoutError::Coupon(e) => e.code(),
            CheckoutError::CardWithoutMember { .. } => "card_needs_member",
            CheckoutError::CardQty { .. } => "invalid_card_qty",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CheckoutError::LineCount => format!("订单需要 1 到 {LINES_MAX} 行商品"),
            CheckoutError::Qty { line } => {
                format!("第 {line} 行：数量须大于 0、不超过 {QTY_MAX}，最多 3 位小数")
            }
            CheckoutError::UnitPrice { line, reason } => format!(
                "第 {line} 行：单价无效（{}）",
                crate::amount_reason_zh(reason)
            ),
            CheckoutError::Description { line, why } => {
                format!("第 {line} 行：商品描述{}", why.zh())
            }
            CheckoutError::TenderAmount { kind, reason } => format!(
                "支付方式 {kind}：金额无效（{}）",
                crate::amount_reason_zh(reason)
            ),
            CheckoutError::Tenders => {
                format!("最多 {TENDERS_MAX} 种支付方式，每种一次，最多一种不填金额")
            }
            CheckoutError::TenderMismatch { tendered, payable } => {
                format!("支付合计 {tendered} 与应付 {payable} 不符")
            }
            CheckoutError::BalanceWithoutMember => "余额支付需要会员".into(),
            CheckoutError::TooLarge { total } => {
                format!("订单金额 {total} 超过单笔上限 10000000.00")
            }
            CheckoutError::InsufficientBalance {
                wanted,
                available_here,
            } => {
                format!("余额不足：需要 {wanted}，本店可用 {available_here}")
            }
            CheckoutError::PointsNotEnabled => "本连锁的会员方案未开启积分抵现".into(),
            CheckoutError::PointsWithoutMember => "积分抵现需要会员".into(),
            CheckoutError::InvalidPoints => "积分须为不小于 0 的整数".into(),
            CheckoutError::PointsBelowMinimum { min } => {
                format!("积分抵现单笔最少使用 {min} 积分")
            }
            CheckoutError::PointsOverCap {
                wanted,
                value,
                cap,
                max_points,
            } => {
                format!("{wanted} 积分可抵 {value}，超过抵扣上限 {cap}：最多使用 {max_points} 积分")
            }
            CheckoutError::InsufficientPoints {
                wanted,
                available_here,
            } => format!("积分不足：需要 {wanted}，本店可用 {available_here}"),
            CheckoutError::Coupon(e) => e.message_zh(),
            CheckoutError::CardWithoutMember { line } => {
                format!("第 {line} 行是次卡/期卡：须识别会员，卡存入会员账户")
            }
            CheckoutError::CardQty { line } => {
                format!("第 {line} 行是次卡/期卡：数量须为 1 到 {CARDS_PER_LINE_MAX} 的整数")
            }
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            CheckoutError::InsufficientBalance {
                wanted,
                available_here,
            } => {
                vec![
                    ("wanted", wanted.to_string()),
                    ("available_here", available_here.to_string()),
                ]
            }
            CheckoutError::InsufficientPoints {
                wanted,
                available_here,
            } => vec![
                ("wanted", wanted.to_string()),
                ("available_here", available_here.to_string()),
            ],
            CheckoutError::PointsOverCap {
                wanted,
                value,
                cap,
                max_points,
            } => vec![
                ("wanted", wanted.to_string()),
                ("value", value.to_string()),
                ("cap", cap.to_string()),
                ("max_points", max_points.to_string()),
            ],
            CheckoutError::PointsBelowMinimum { min } => vec![("min", min.to_string())],
            CheckoutError::TenderMismatch { tendered, payable } => {
                vec![
                    ("tendered", tendered.to_string()),
                    ("payable", payable.to_string()),
                ]
            }
            CheckoutError::Description { line, why } => {
                let mut d = vec![("line", line.to_string())];
                d.extend(why.details());
                d
            }
            CheckoutError::Qty { line }
            | CheckoutError::UnitPrice { line, .. }
            | CheckoutError::CardWithoutMember { line }
            | CheckoutError::CardQty { line } => {
                vec![("line", line.to_string())]
            }
            CheckoutError::Coupon(e) => e.details(),
            _ => Vec::new(),
        }
    }
}
