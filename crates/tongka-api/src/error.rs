//! API errors: an HTTP status, a machine code, and messages in English and
//! Chinese, rendered as `{"error": {"code", "message", "message_zh", ...}}`.
//!
//! Each engine refusal gets its status in [`status_of`], one exhaustive
//! `match` over `EngineError` and every domain error it wraps, with no
//! wildcard arm: a new variant does not compile until it is given a status.
//! The status lives here, beside the only code that knows HTTP, rather than
//! as a status class in the core, so the core stays free of HTTP words.
//! For that the domain enums (`MemberError`, `ProfileError`,
//! `RechargeError`, `CheckoutError`, `RefundError`, `ProductError`,
//! `MergeError`, `ProgrammeError`) and `EngineError` are not
//! `#[non_exhaustive]`: that attribute forbids an exhaustive match outside
//! their crate, and it buys nothing in one workspace that is built as a
//! whole (no other crate's semver to protect).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tongka_actors::EngineError;
use tongka_core::authority::NotAuthorised;
use tongka_core::card::CardError;
use tongka_core::catalogue::{CategoryError, ProductError};
use tongka_core::checkout::CheckoutError;
use tongka_core::close::CloseError;
use tongka_core::coupon::CouponError;
use tongka_core::error::DomainError;
use tongka_core::member::ProfileError;
use tongka_core::member_code::MemberCodeError;
use tongka_core::merge::MergeError;
use tongka_core::programme::ProgrammeError;
use tongka_core::refund::RefundError;
use tongka_core::settlement::SettlementError;
use tongka_core::staff::StaffError;
use tongka_core::state::{MemberError, RechargeError};
use tongka_core::stock::StockError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub message_zh: String,
    pub details: Vec<(&'static str, String)>,
    /// Details that are not text (an import's rejected rows, as a JSON
    /// array a client reads as such, not a string of JSON to parse again).
    pub structured: Vec<(&'static str, Value)>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            message_zh: message_zh.into(),
            details: Vec::new(),
            structured: Vec::new(),
        }
    }

    /// A domain refusal answered with `status`.
    pub fn from_domain(status: StatusCode, e: &dyn DomainError) -> ApiError {
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
            message_zh: e.message_zh(),
            details: e.details(),
            structured: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl ToString) -> ApiError {
        self.details.push((name, value.to_string()));
        self
    }

    /// A detail that is not text (`structured`).
    pub fn with_json(mut self, name: &'static str, value: Value) -> ApiError {
        self.structured.push((name, value));
        self
    }

    /// A body that does not parse. The parser's reason quotes what was
    /// sent (serde names an unknown field and shows a string of the wrong
    /// type), so it is [`tame`]d first.
    pub fn bad_json(reason: impl std::fmt::Display) -> ApiError {
        let reason = tame(&reason.to_string());
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("request body is not valid: {reason}"),
            format!("请求体无效：{reason}"),
        )
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token (Authorization: Bearer <token>)",
            "缺少或错误的访问令牌（Authorization: Bearer <令牌>）",
        )
    }

    pub fn not_found_route() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint",
            "接口不存在",
        )
    }

    pub fn invalid_amount(
        field: &str,
        reason: impl std::fmt::Display,
        reason_zh: &str,
    ) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
            format!("{field}: {reason}"),
            format!("{field}：金额无效（{reason_zh}）"),
        )
        .with("field", field)
    }
}

/// The longest word of a parser's reason kept whole, in characters.
const WORD_CHARS_MAX: usize = 40;
/// The most characters of a parser's reason kept.
const REASON_CHARS_MAX: usize = 300;

/// A parser's reason, fit to send back: a client's text it quotes may be
/// 10 KB or carry control, invisible and direction characters. Each such
/// character is shown by its code point (`U+202E`), a word longer than
/// [`WORD_CHARS_MAX`] is cut, and the whole after [`REASON_CHARS_MAX`].
pub(crate) fn tame(reason: &str) -> String {
    let mut out = String::new();
    let (mut word, mut kept) = (0, 0);
    for c in reason.chars() {
        if kept == REASON_CHARS_MAX {
            out.push('…');
            break;
        }
        word = if c == ' ' { 0 } else { word + 1 };
        if word > WORD_CHARS_MAX {
            if word == WORD_CHARS_MAX + 1 {
                out.push('…');
            }
            continue;
        }
        kept += 1;
        if tongka_core::text::refused(c).is_some() {
            out.push_str(&format!("U+{:04X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The status of a coupon refusal: an unknown coupon or template 404; no
/// use left, held elsewhere, a member's limit 409; the rule's refusals 422.
pub(crate) fn coupon_status(e: &CouponError) -> StatusCode {
    match e {
        CouponError::NotFound { .. } | CouponError::TemplateNotFound { .. } => {
            StatusCode::NOT_FOUND
        }
        CouponError::Used { .. }
        | CouponError::UnavailableHere { .. }
        | CouponError::LimitReached { .. }
        | CouponError::WalletFull => StatusCode::CONFLICT,
        CouponError::TooMany
        | CouponError::Repeated { .. }
        | CouponError::NotCombinable { .. }
        | CouponError::Expired { .. }
        | CouponError::NotYetValid { .. }
        | CouponError::NotApplicable { .. }
        | CouponError::BelowMinimum { .. }
        | CouponError::WithoutMember => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The status of a card refusal: an unknown card 404; refunded, used up
/// or held elsewhere 409; the visit rule's refusals 422.
pub(crate) fn card_status(e: &CardError) -> StatusCode {
    match e {
        CardError::NotFound { .. } => StatusCode::NOT_FOUND,
        CardError::Refunded { .. } | CardError::UsedUp { .. } | CardError::HeldElsewhere { .. } => {
            StatusCode::CONFLICT
        }
        CardError::InvalidCount { .. }
        | CardError::NotYetValid { .. }
        | CardError::Expired { .. }
        | CardError::NotApplicable { .. }
        | CardError::DailyCap { .. } => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The status of each engine refusal: 404 for what does not exist, 409 for
/// a conflict with the state (taken, short, already done, elsewhere), 503
/// for a node that cannot take the request now, 500 for a fault, and 422
/// for a request that is well formed but breaks a rule.
pub(crate) fn status_of(e: &EngineError) -> StatusCode {
    const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
    const CONFLICT: StatusCode = StatusCode::CONFLICT;
    const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
    match e {
        EngineError::Member(e) => match e {
            MemberError::NotFound(_) => NOT_FOUND,
            MemberError::PhoneTaken(_) | MemberError::CardTaken(_) => CONFLICT,
            MemberError::Profile(e) => match e {
                ProfileError::Phone(_)
                | ProfileError::Name(_)
                | ProfileError::Birthday(_)
                | ProfileError::CardNo(_)
                | ProfileError::TagCount
                | ProfileError::Tags(_)
                | ProfileError::Notes(_)
                | ProfileError::EmptyPatch => INVALID,
            },
        },
        EngineError::Recharge(e) => match e {
            RechargeError::Amount(_) | RechargeError::Tender => INVALID,
        },
        EngineError::Checkout(e) => match e {
            CheckoutError::InsufficientBalance { .. }
            | CheckoutError::InsufficientPoints { .. } => CONFLICT,
            CheckoutError::LineCount
            | CheckoutError::Qty { .. }
            | CheckoutError::UnitPrice { .. }
            | CheckoutError::Description { .. }
            | CheckoutError::TenderAmount { .. }
            | CheckoutError::Tenders
            | CheckoutError::TenderMismatch { .. }
            | CheckoutError::BalanceWithoutMember
            | CheckoutError::TooLarge { .. }
            | CheckoutError::PointsNotEnabled
            | CheckoutError::PointsWithoutMember
            | CheckoutError::InvalidPoints
            | CheckoutError::PointsBelowMinimum { .. }
            | CheckoutError::PointsOverCap { .. }
            | CheckoutError::CardWithoutMember { .. }
            | CheckoutError::CardQty { .. } => INVALID,
            CheckoutError::Coupon(e) => coupon_status(e),
        },
        EngineError::Refund(e) => match e {
            RefundError::FullyRefunded | RefundError::WrongStore { .. } => CONFLICT,
            RefundError::NoSuchLine { .. }
            | RefundError::Qty { .. }
            | RefundError::Exceeds { .. }
            | RefundError::Reason(_) => INVALID,
            RefundError::Card(e) => card_status(e),
        },
        EngineError::Product(e) => match e {
            ProductError::Unknown(_) => NOT_FOUND,
            ProductError::BarcodeTaken(_) => CONFLICT,
            ProductError::Inactive(_) => INVALID,
            ProductError::Category(c) => match c {
                CategoryError::Unknown(_) => NOT_FOUND,
                CategoryError::Cycle { .. } => CONFLICT,
                CategoryError::Id
                | CategoryError::Name(_)
                | CategoryError::Attributes(_)
                | CategoryError::AttributeCount => INVALID,
            },
            ProductError::Sku
            | ProductError::Barcode
            | ProductError::Name(_)
            | ProductError::Price
            | ProductError::Card(_)
            | ProductError::Barcodes
            | ProductError::UnitLabel(_)
            | ProductError::MemberPrice
            | ProductError::PointsMultiplier
            | ProductError::StorePrice
            | ProductError::Attribute(_)
            | ProductError::AttributeCount
            | ProductError::UnknownAttribute(_) => INVALID,
        },
        EngineError::Merge(e) => match e {
            MergeError::AlreadyMerged { .. } => CONFLICT,
            MergeError::SameMember | MergeError::Document(_) => INVALID,
        },
        EngineError::Programme(e) => match e {
            ProgrammeError::LevelsOrder
            | ProgrammeError::LevelRate
            | ProgrammeError::OffersOrder
            | ProgrammeError::PointsRate
            | ProgrammeError::LevelNames
            | ProgrammeError::LevelName { .. }
            | ProgrammeError::TooMany
            | ProgrammeError::DeductionRate
            | ProgrammeError::DeductionCap
            | ProgrammeError::DeductionMinimum
            | ProgrammeError::CouponTemplate { .. }
            | ProgrammeError::CouponTemplateIds
            | ProgrammeError::OfferCoupons { .. }
            | ProgrammeError::RefundLimit => INVALID,
        },
        // Not this node's to do (HQ sells nothing; stores author no
        // documents): the same 403 the API's early checks answer.
        EngineError::Staff(e) => match e {
            StaffError::NotFound => NOT_FOUND,
            StaffError::LoginTaken(_) | StaffError::Exists => CONFLICT,
            StaffError::Login
            | StaffError::Name(_)
            | StaffError::Password
            | StaffError::Hash
            | StaffError::TooManyStores
            | StaffError::StoresRequired
            | StaffError::Incomplete => INVALID,
        },
        EngineError::ApprovalRequired(_) => StatusCode::FORBIDDEN,
        EngineError::Settlement(e) => match e {
            SettlementError::ExceedsOwed { .. } | SettlementError::NotPositive => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            SettlementError::Decided(_) | SettlementError::IdTaken(_) => StatusCode::CONFLICT,
            SettlementError::NotFound(_) => StatusCode::NOT_FOUND,
        },
        EngineError::Stock(e) => match e {
            StockError::Qty { .. }
            | StockError::UnitCost { .. }
            | StockError::NoLines
            | StockError::DuplicateLine { .. }
            | StockError::TooManyLines { .. }
            | StockError::Text { .. }
            | StockError::TransferToSelf
            | StockError::ReceiveExceedsShipped { .. } => INVALID,
            StockError::UnknownProduct { .. }
            | StockError::UnknownStore { .. }
            | StockError::UnknownTransfer { .. } => NOT_FOUND,
            StockError::Insufficient { .. }
            | StockError::TransferExists { .. }
            | StockError::AlreadyReceived { .. }
            | StockError::UnderTransfer { .. } => CONFLICT,
            StockError::NotOwner { .. } | StockError::NotDestination { .. } => {
                StatusCode::FORBIDDEN
            }
        },
        EngineError::NotAuthorised(e) => match e {
            NotAuthorised::HqSellsNothing
            | NotAuthorised::ProgrammeHqOnly
            | NotAuthorised::CatalogueHqOnly
            | NotAuthorised::HqHoldsNoStock
            | NotAuthorised::WithdrawalAtStores
            | NotAuthorised::WithdrawalHqDecides
            | NotAuthorised::HqClosesNothing
            | NotAuthorised::HqHoldsNoBalances => StatusCode::FORBIDDEN,
        },
        EngineError::Close(e) => match e {
            CloseError::AlreadyClosed { .. } => CONFLICT,
            CloseError::DayNotBegun { .. }
            | CloseError::Amount { .. }
            | CloseError::Note(_)
            | CloseError::Inconsistent(_) => INVALID,
        },
        EngineError::Coupon(e) => coupon_status(e),
        EngineError::Card(e) => card_status(e),
        EngineError::OrderNotFound(_) => NOT_FOUND,
        EngineError::IdemConflict(_) | EngineError::IdemInProgress(_) => CONFLICT,
        EngineError::Overloaded | EngineError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        EngineError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let code = e.code();
        let status = status_of(&e);
        if matches!(e, EngineError::Internal(_) | EngineError::Storage(_)) {
            tracing::error!(error = %e, "request failed");
        }
        ApiError {
            status,
            code,
            message: e.to_string(),
            message_zh: e.message_zh(),
            details: e.details(),
            structured: Vec::new(),
        }
    }
}

/// A scanned member code refused: 422 whatever the reason (a code is
/// well-formed input that breaks a rule: forged, or too old), matched with
/// no wildcard as `status_of` is.
impl From<MemberCodeError> for ApiError {
    fn from(e: MemberCodeError) -> ApiError {
        let status = match e {
            MemberCodeError::Invalid
            | MemberCodeError::Expired { .. }
            | MemberCodeError::FromTheFuture { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
            message_zh: e.message_zh(),
            details: e.details(),
            structured: Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self
            .details
            .iter()
            .find(|(k, _)| *k == "retry_after_s")
            .and_then(|(_, v)| axum::http::HeaderValue::from_str(v).ok());
        let mut body = Map::new();
        body.insert("code".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        body.insert("message_zh".into(), json!(self.message_zh));
        for (k, v) in self.details {
            body.insert(k.into(), Value::String(v));
        }
        for (k, v) in self.structured {
            body.insert(k.into(), v);
        }
        let mut resp = (self.status, axum::Json(json!({ "error": body }))).into_response();
        // Only a node at its limit of requests in flight is worth retrying
        // soon; failed storage (`storage_unavailable`) needs a restart, so
        // its answer says so in its message and carries no Retry-After.
        if self.code == "overloaded" {
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        // Sign-ins locked after failures: when they may be tried again.
        if self.code == "login_locked"
            && let Some(s) = retry_after
        {
            resp.headers_mut().insert("retry-after", s);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parsers_reason_is_tamed() {
        let long = "a".repeat(10_000);
        let t = tame(&format!(
            "unknown field `x\u{202e}{long}`, expected one of `login`"
        ));
        assert!(t.len() < 200 && !t.contains('\u{202e}'), "{t}");
        assert!(
            t.starts_with("unknown field `xU+202Eaaa") && t.contains('…'),
            "{t}"
        );
        assert!(t.ends_with("… expected one of `login`"), "{t}");
        let plain = "invalid type: integer `1`, expected a string at line 1 column 9";
        assert_eq!(tame(plain), plain);
        let spaced = "word ".repeat(1_000);
        assert_eq!(tame(&spaced).chars().count(), REASON_CHARS_MAX + 1);
    }
}
