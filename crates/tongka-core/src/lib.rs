//! tongka-core: the sans-IO heart of tongka. Every rule that decides about
//! money, points and merging lives here as pure, deterministic code, so the
//! node, the tests and the simulator run the same rules. No tokio, no redb,
//! no network, no clock: time and ids are passed in.
//!
//! Architecture Invariant: this crate depends on no IO crate.

pub mod audit;
pub mod authority;
pub mod card;
pub mod catalogue;
pub mod catalogue_doc;
pub mod checkout;
pub mod clock;
pub mod close;
pub mod codec;
pub mod consistency;
pub mod coupon;
pub mod csv;
pub mod day;
pub mod error;
pub mod escrow;
pub mod figures;
pub mod ids;
pub mod member;
pub mod member_code;
pub mod member_import;
pub mod merge;
pub mod money;
pub mod op;
pub mod profile_doc;
pub mod programme;
pub mod programme_doc;
pub mod refund;
pub mod settlement;
pub mod shares;
pub mod staff;
pub mod state;
pub mod stock;
pub mod text;
pub mod totals;
pub mod wallet;

#[cfg(test)]
mod testkit;

pub use checkout::{Order, OrderLine, Tender, TenderKind};
pub use clock::{Hlc, HlcClock, VersionVector};
pub use error::DomainError;
pub use ids::{MemberId, NodeId, OpId, OrderId, RechargeId, RefundId};
pub use money::Money;
pub use op::{Op, OpBody, OpDraft, StateDigest};
pub use programme::Programme;
pub use refund::OrderState;
pub use state::{LedgerTotals, MemberState};
pub use wallet::{Share, Wallet};

/// The Chinese wording of an amount refusal, for messages.
pub fn amount_reason_zh(reason: &money::AmountError) -> &'static str {
    use money::AmountError::*;
    match reason {
        NotANumber => "不是数字",
        TooPrecise => "最多两位小数",
        NotPositive => "须大于 0",
        Negative => "不能为负数",
        TooLarge => "超过上限 10000000.00",
    }
}
