//! `EngineError`: why the engine refused or failed a request, with its
//! machine code and Chinese message (`DomainError`).

use tongka_core::authority::NotAuthorised;
use tongka_core::card::CardError;
use tongka_core::catalogue::ProductError;
use tongka_core::checkout::CheckoutError;
use tongka_core::coupon::CouponError;
use tongka_core::error::DomainError;
use tongka_core::merge::MergeError;
use tongka_core::programme::ProgrammeError;
use tongka_core::refund::RefundError;
use tongka_core::state::{MemberError, RechargeError};
use tongka_db::DbError;

/// Why the engine refused or failed a request.
#[derive(Debug, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum EngineError {
    #[error(transparent)]
    Member(#[from] MemberError),
    #[error(transparent)]
    Recharge(#[from] RechargeError),
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    #[error(transparent)]
    Refund(#[from] RefundError),
    /// Issuing a coupon (a coupon used at checkout is a `Checkout` refusal).
    #[error(transparent)]
    Coupon(#[from] CouponError),
    /// A card visit (a card taken back by a refund is a `Refund` refusal).
    #[error(transparent)]
    Card(#[from] CardError),
    #[error(transparent)]
    Product(#[from] ProductError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Programme(#[from] ProgrammeError),
    #[error(transparent)]
    NotAuthorised(#[from] NotAuthorised),
    /// Creating or changing a staff account.
    #[error(transparent)]
    Staff(#[from] tongka_core::staff::StaffError),
    /// A stock move, transfer or stocktake (and a sale short of stock).
    #[error(transparent)]
    Stock(#[from] tongka_core::stock::StockError),
    /// A withdrawal (提现) requested, approved or rejected (settlement).
    #[error(transparent)]
    Settlement(#[from] tongka_core::settlement::SettlementError),
    /// A shift or day close (`tongka_core::close`).
    #[error(transparent)]
    Close(tongka_core::close::CloseError),
    /// A cashier's refund above the programme's limit, unapproved.
    #[error(transparent)]
    ApprovalRequired(#[from] tongka_core::staff::ApprovalRequired),
    #[error("order {0} not found")]
    OrderNotFound(String),
    #[error("idempotency key {0:?} was already used with a different request")]
    IdemConflict(String),
    #[error("a request with idempotency key {0:?} is still being processed")]
    IdemInProgress(String),
    #[error("the node is at its limit of requests in flight; retry shortly")]
    Overloaded,
    /// Storage failed: until a restart (after freeing the disk, if full),
    /// retrying does not help, so the message says what does.
    #[error(
        "storage unavailable (free disk space if the disk is full, then restart the node): {0}"
    )]
    Storage(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError for EngineError {
    fn code(&self) -> &'static str {
        match self {
            EngineError::Member(e) => e.code(),
            EngineError::Recharge(e) => e.code(),
            EngineError::Checkout(e) => e.code(),
            EngineError::Refund(e) => e.code(),
            EngineError::Coupon(e) => e.code(),
            EngineError::Card(e) => e.code(),
            EngineError::Product(e) => e.code(),
            EngineError::Merge(e) => e.code(),
            EngineError::Programme(e) => e.code(),
            EngineError::NotAuthorised(e) => e.code(),
            EngineError::Staff(e) => e.code(),
            EngineError::Stock(e) => e.code(),
            EngineError::Settlement(e) => e.code(),
            EngineError::Close(e) => e.code(),
            EngineError::ApprovalRequired(e) => e.code(),
            EngineError::OrderNotFound(_) => "order_not_found",
            EngineError::IdemConflict(_) => "idempotency_key_reused",
            EngineError::IdemInProgress(_) => "idempotency_key_in_progress",
            EngineError::Overloaded => "overloaded",
            EngineError::Storage(_) => "storage_unavailable",
            EngineError::Internal(_) => "internal",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            EngineError::Member(e) => e.message_zh(),
            EngineError::Recharge(e) => e.message_zh(),
            EngineError::Checkout(e) => e.message_zh(),
            EngineError::Refund(e) => e.message_zh(),
            EngineError::Coupon(e) => e.message_zh(),
            EngineError::Card(e) => e.message_zh(),
            EngineError::Product(e) => e.message_zh(),
            EngineError::Merge(e) => e.message_zh(),
            EngineError::Programme(e) => e.message_zh(),
            EngineError::NotAuthorised(e) => e.message_zh(),
            EngineError::Staff(e) => e.message_zh(),
            EngineError::Stock(e) => e.message_zh(),
            EngineError::Settlement(e) => e.message_zh(),
            EngineError::Close(e) => e.message_zh(),
            EngineError::ApprovalRequired(e) => e.message_zh(),
            EngineError::OrderNotFound(id) => format!("订单 {id} 不存在"),
            EngineError::IdemConflict(k) => format!("幂等键 {k:?} 已用于另一个不同的请求"),
            EngineError::IdemInProgress(k) => format!("幂等键 {k:?} 的请求仍在处理中"),
            EngineError::Overloaded => "门店节点繁忙，请稍后重试".into(),
            EngineError::Storage(_) => {
                "存储不可用（磁盘已满或读写出错）：请释放磁盘空间后重启节点；重试无效".into()
            }
            EngineError::Internal(_) => "内部错误".into(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            EngineError::Checkout(e) => e.details(),
            EngineError::Refund(e) => e.details(),
            EngineError::Coupon(e) => e.details(),
            EngineError::Card(e) => e.details(),
            EngineError::Member(e) => e.details(),
            EngineError::Product(e) => e.details(),
            EngineError::Programme(e) => e.details(),
            EngineError::Staff(e) => e.details(),
            EngineError::Stock(e) => e.details(),
            EngineError::Settlement(e) => e.details(),
            EngineError::Close(e) => e.details(),
            EngineError::ApprovalRequired(e) => e.details(),
            _ => Vec::new(),
        }
    }
}
