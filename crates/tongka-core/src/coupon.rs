//! Coupons (优惠券): the templates HQ authors, a coupon's validity window
//! and scope, and the stacking rule that prices an order's coupons. Pure:
//! the caller passes the lines (after the level discount), the coupons
//! presented with their templates, the store, the member's level and the
//! day. Whether a use is left, and held at this store, is the escrowed
//! counter's business (`escrow`), not this module's.
//!
//! # Kinds
//! What a coupon takes off is its [`Benefit`]: an amount off (满减 with a
//! minimum spend, or a cash voucher 代金券 without), a percentage (折扣券),
//! or one unit of a product free (兑换券/礼品券). Its [`CouponKind`] says
//! why it exists (spend-off, discount, cash voucher, exchange, birthday,
//! channel gift, new member, wake-up): the label on the receipt and what
//! issuing rules pick. Each kind allows the benefits that fit it
//! ([`CouponTemplate::validate`]).
//!
//! # Stacking, written down once (order of application and rounding)
//! 1. The level discount first, per line (`checkout`): the coupons see
//!    each line's payable after it.
//! 2. Then the coupons, in a fixed order whatever the order they were
//!    presented in: exchange coupons, then the percentage coupon, then
//!    amount-off coupons, each group by code. So the result never depends
//!    on the order a cashier scanned them.
//!    - A coupon applies to the lines in its scope (products or
//!      categories; none listed: every line), at the stores and levels in
//!      its scope (none listed: all).
//!    - Its minimum spend is measured on the lines it applies to, after the
//!      level discount and before any coupon, so it too does not depend on
//!      the order.
//!    - Exchange: one unit of its product free: the first line of that
//!      product, by its payable ÷ quantity rounded half-up to the fen (the
//!      whole line when its quantity is below one), at most what the line
//!      still pays.
//!    - Percentage: what the lines it applies to still pay × (1 − rate),
//!      rounded half-up to the fen, at most its cap.
//!    - Amount off: its amount, at most what the lines still pay.
//!    - A coupon's amount is spread over its lines in proportion to what
//!      each still pays (`Money::spread`, the largest-remainder rule of
//!      `money`): no line ever pays less than zero.
//! 3. Then the points deduction (`checkout`), on what is left.
//!
//! Which combine: at most [`COUPONS_PER_ORDER_MAX`] coupons per order, each
//! code once, one coupon per template, and one percentage coupon.
//!
//! A refund of the whole order gives each coupon's use back while the
//! coupon is still valid on the day of the refund; a partial refund pays
//! back what the refunded lines paid after their coupons and keeps the
//! uses (the order still had them).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::day::Day;
use crate::error::DomainError;
use crate::ids::NodeId;
use crate::money::Money;
use crate::text::{self, TextError};

mod held;
pub use held::{COUPONS_PER_MEMBER_MAX, Coupon, CouponStatus, HeldCoupon, UsesShort};

/// The most coupons one order may use.
pub const COUPONS_PER_ORDER_MAX: usize = 5;
/// The most uses one coupon may have.
pub const COUPON_USES_MAX: u32 = 1_000;
/// The longest validity counted from issue, in days (ten years).
pub const VALID_DAYS_MAX: u16 = 3_650;
/// The most entries in each list of a scope.
pub const SCOPE_LIST_MAX: usize = 200;
/// A template's name: 1 to this many characters.
pub const TEMPLATE_NAME_LEN_MAX: usize = 40;
/// A template id: 1 to this many of `a-z0-9-_`.
pub const TEMPLATE_ID_LEN_MAX: usize = 32;

/// Why a coupon exists: its label, and what issuing rules pick.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
#[cbor(index_only)]
pub enum CouponKind {
    /// 满减: an amount off from a minimum spend.
    #[n(0)]
    SpendOff,
    /// 折扣券: a percentage off.
    #[n(1)]
    Percent,
    /// 代金券: an amount off, as cash.
    #[n(2)]
    Cash,
    /// 兑换券 / 礼品券: an item free.
    #[n(3)]
    Exchange,
    /// 生日券: issued on the member's birthday.
    #[n(4)]
    Birthday,
    /// 渠道礼品券: assigned to an enterprise or channel customer.
    #[n(5)]
    ChannelGift,
    /// 新人券: issued on registration.
    #[n(6)]
    NewMember,
    /// 唤醒券: sent to a dormant member.
    #[n(7)]
    WakeUp,
}

impl CouponKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            CouponKind::SpendOff => "满减券",
            CouponKind::Percent => "折扣券",
            CouponKind::Cash => "代金券",
            CouponKind::Exchange => "兑换券",
            CouponKind::Birthday => "生日券",
            CouponKind::ChannelGift => "渠道礼品券",
            CouponKind::NewMember => "新人券",
            CouponKind::WakeUp => "唤醒券",
        }
    }
}

/// What a coupon takes off. Externally tagged in serde (postcard, which
/// stores the programme's parts and stored answers, cannot read an
/// internally tagged enum); the API shows it through its own views.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum Benefit {
    /// `off` off the lines it applies to.
    #[n(0)]
    AmountOff {
        #[n(0)]
        off: Money,
    },
    /// Pay `rate` of the lines it applies to (0.85 = 85折), saving at most
    /// `max_off`.
    #[n(1)]
    Percent {
        #[cbor(n(0), with = "crate::codec::decimal")]
        rate: Decimal,
        #[n(1)]
        max_off: Option<Money>,
    },
    /// One unit of product `sku` free.
    #[n(2)]
    FreeItem {
        #[n(0)]
        sku: String,
    },
}

impl Benefit {
    /// Its place in the stacking order (module doc, step 2).
    fn rank(&self) -> u8 {
        match self {
            Benefit::FreeItem { .. } => 0,
            Benefit::Percent { .. } => 1,
            Benefit::AmountOff { .. } => 2,
        }
    }
}

/// When a coupon of a template may be used.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// From `from` to `to`, both days included.
    #[n(0)]
    Dates {
        #[n(0)]
        from: Day,
        #[n(1)]
        to: Day,
    },
    /// `days` days from the day it is issued, that day included.
    #[n(1)]
    DaysFromIssue {
        #[n(0)]
        days: u16,
    },
}

/// Where and on what a coupon applies; an empty list means "all".
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
#[serde(default)]
pub struct Scope {
    #[n(0)]
    pub skus: Vec<String>,
    #[n(1)]
    pub categories: Vec<String>,
    #[n(2)]
    pub stores: Vec<NodeId>,
    #[n(3)]
    pub levels: Vec<String>,
}

/// A coupon template, authored at HQ.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct CouponTemplate {
    #[n(0)]
    pub id: String,
    #[n(1)]
    pub name: String,
    #[n(2)]
    pub kind: CouponKind,
    #[n(3)]
    pub benefit: Benefit,
    #[n(4)]
    pub validity: Validity,
    #[n(5)]
    pub scope: Scope,
    /// Uses of each coupon (1: single use).
    #[n(6)]
    pub uses: u32,
    /// The least the lines it applies to must come to (after the level
    /// discount); zero: no minimum.
    #[n(7)]
    pub min_spend: Money,
    /// The most coupons of this template one member may be issued; 0: no
    /// limit.
    #[n(8)]
    pub per_member_limit: u32,
}

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template id must be 1 to {TEMPLATE_ID_LEN_MAX} of a-z, 0-9, - and _")]
    Id,
    #[error(
        "kind must be spend_off, percent, cash, exchange, birthday, channel_gift, new_member or wake_up"
    )]
    Kind,
    #[error("name {0}")]
    Name(TextError),
    #[error("a {kind:?} coupon cannot have this benefit")]
    KindBenefit { kind: CouponKind },
    #[error("an amount off must be greater than 0, at most 10000000.00")]
    Off,
    #[error("a rate must be greater than 0 and less than 1, with at most 2 decimal places")]
    Rate,
    #[error("a spend-off coupon needs a minimum spend greater than its amount off")]
    SpendOffMinimum,
    #[error("the product of an exchange coupon must be named")]
    Sku,
    #[error("the validity window is empty, or longer than {VALID_DAYS_MAX} days")]
    Validity,
    #[error("uses must be 1 to {COUPON_USES_MAX}")]
    Uses,
    #[error("each scope list holds at most {SCOPE_LIST_MAX} entries, none empty")]
    Scope,
    #[error("the minimum spend must be 0 or more, at most 10000000.00")]
    MinSpend,
}

impl DomainError for TemplateError {
    fn code(&self) -> &'static str {
        "invalid_coupon_template"
    }

    fn message_zh(&self) -> String {
        match self {
            TemplateError::Id => {
                format!("券模板编号应为 1 到 {TEMPLATE_ID_LEN_MAX} 个小写字母、数字、- 或 _")
            }
            TemplateError::Kind => "券类型须为 spend_off、percent、cash、exchange、birthday、channel_gift、new_member 或 wake_up 之一".into(),
            TemplateError::Name(e) => format!("券名称{}", e.zh()),
            TemplateError::KindBenefit { kind } => {
                format!("{}不能使用这种优惠方式", kind.label_zh())
            }
            TemplateError::Off => "减免金额须大于 0，不超过 10000000.00".into(),
            TemplateError::Rate => "折扣率须大于 0 且小于 1，最多两位小数".into(),
            TemplateError::SpendOffMinimum => "满减券的最低消费须大于减免金额".into(),
            TemplateError::Sku => "兑换券须指定兑换的商品".into(),
            TemplateError::Validity => format!("有效期为空，或超过 {VALID_DAYS_MAX} 天"),
            TemplateError::Uses => format!("可用次数应为 1 到 {COUPON_USES_MAX}"),
            TemplateError::Scope => format!("适用范围每一项最多 {SCOPE_LIST_MAX} 个，不能为空"),
            TemplateError::MinSpend => "最低消费须为 0 或以上，不超过 10000000.00".into(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            TemplateError::Name(e) => e.details(),
            _ => Vec::new(),
        }
    }
}

/// A template's name: kept as given, so no surrounding spaces; 1 to `max`
/// characters, none refused by `text`.
fn name_ok(s: &str, max: usize) -> Result<(), TextError> {
    if s.trim() != s {
        return Err(TextError::Padded);
    }
    text::check_text(s, 1, max)
}

impl CouponTemplate {
    /// Check a template given from outside.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let id_ok = (1..=TEMPLATE_ID_LEN_MAX).contains(&self.id.len())
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(TemplateError::Id);
        }
        name_ok(&self.name, TEMPLATE_NAME_LEN_MAX).map_err(TemplateError::Name)?;
        let kind_fits = match (self.kind, &self.benefit) {
            (CouponKind::SpendOff | CouponKind::Cash, Benefit::AmountOff { .. }) => true,
            (CouponKind::Percent, Benefit::Percent { .. }) => true,
            (CouponKind::Exchange, Benefit::FreeItem { .. }) => true,
            (CouponKind::SpendOff | CouponKind::Cash | CouponKind::Percent, _) => false,
            (CouponKind::Exchange, _) => false,
            _ => true,
        };
        if !kind_fits {
            return Err(TemplateError::KindBenefit { kind: self.kind });
        }
        let amount_ok =
            |m: Money, positive: bool| Money::check_amount(m.as_decimal(), positive).is_ok();
        match &self.benefit {
            Benefit::AmountOff { off } => {
                if !amount_ok(*off, true) {
                    return Err(TemplateError::Off);
                }
                if self.kind == CouponKind::SpendOff && self.min_spend <= *off {
                    return Err(TemplateError::SpendOffMinimum);
                }
            }
            Benefit::Percent { rate, max_off } => {
                let ok =
                    *rate > Decimal::ZERO && *rate < Decimal::ONE && rate.normalize().scale() <= 2;
                if !ok {
                    return Err(TemplateError::Rate);
                }
                if max_off.is_some_and(|m| !amount_ok(m, true)) {
                    return Err(TemplateError::Off);
                }
            }
            Benefit::FreeItem { sku } => {
                if name_ok(sku, 64).is_err() {
                    return Err(TemplateError::Sku);
                }
            }
        }
        let valid = match self.validity {
            Validity::Dates { from, to } => from <= to && to.0 - from.0 < i32::from(VALID_DAYS_MAX),
            Validity::DaysFromIssue { days } => (1..=VALID_DAYS_MAX).contains(&days),
        };
        if !valid {
            return Err(TemplateError::Validity);
        }
        if !(1..=COUPON_USES_MAX).contains(&self.uses) {
            return Err(TemplateError::Uses);
        }
        if !amount_ok(self.min_spend, false) {
            return Err(TemplateError::MinSpend);
        }
        let s = &self.scope;
        let list_ok =
            |l: &[String]| l.len() <= SCOPE_LIST_MAX && l.iter().all(|e| name_ok(e, 64).is_ok());
        if !list_ok(&s.skus) || !list_ok(&s.categories) || !list_ok(&s.levels) {
            return Err(TemplateError::Scope);
        }
        if s.stores.len() > SCOPE_LIST_MAX {
            return Err(TemplateError::Scope);
        }
        Ok(())
    }

    /// The days a coupon of this template issued on `issued` may be used,
    /// both included.
    pub fn window(&self, issued: Day) -> (Day, Day) {
        match self.validity {
            Validity::Dates { from, to } => (from, to),
            Validity::DaysFromIssue { days } => (issued, issued.plus(i32::from(days) - 1)),
        }
    }
}

/// A line of the order as the coupons see it: after the level discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CouponLine<'a> {
    pub sku: Option<&'a str>,
    pub category: Option<&'a str>,
    pub qty: Decimal,
    pub payable: Money,
}

/// A coupon presented at checkout, with what the node knows of it.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub code: &'a str,
    pub template: &'a CouponTemplate,
    /// The days it may be used, both included (`CouponTemplate::window`
    /// of the day it was issued).
    pub window: (Day, Day),
}

/// Where, for whom and when the coupons are used.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub store: &'a NodeId,
    /// The member's level (its name); `None` for a walk-in.
    pub level: Option<&'a str>,
    pub today: Day,
}

/// One coupon used on an order: what it took off, and from which lines.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct CouponUse {
    #[n(0)]
    pub code: String,
    #[n(1)]
    pub template: String,
    #[n(2)]
    pub off: Money,
    /// `(line index, amount)` for each line it took something off.
    #[n(3)]
    pub lines: Vec<(u32, Money)>,
    /// The coupon's last valid day: a refund gives the use back only up to
    /// it.
    #[n(4)]
    pub to: Day,
}

/// The coupons of an order, priced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stacked {
    /// In the stacking order.
    pub uses: Vec<CouponUse>,
    /// What the coupons took off each line, in all.
    pub line_off: Vec<Money>,
}

impl Stacked {
    pub fn total(&self) -> Money {
        self.uses.iter().map(|u| u.off).sum()
    }
}

/// Which part of a coupon's scope an order misses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    Store,
    Level,
    Goods,
}

/// Why a coupon cannot be used on this order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouponError {
    #[error("at most {COUPONS_PER_ORDER_MAX} coupons per order")]
    TooMany,
    #[error("coupon {code} is given twice")]
    Repeated { code: String },
    #[error("coupon {code} cannot be combined with coupon {with} ({why})")]
    NotCombinable {
        code: String,
        with: String,
        why: &'static str,
    },
    #[error("coupon {code} expired on {to}")]
    Expired { code: String, to: Day },
    #[error("coupon {code} may be used from {from}")]
    NotYetValid { code: String, from: Day },
    #[error("coupon {code} does not apply to this {}", match .miss { Miss::Store => "store", Miss::Level => "member level", Miss::Goods => "order's goods" })]
    NotApplicable { code: String, miss: Miss },
    #[error("coupon {code} needs a spend of {min} on the goods it applies to, the order has {has}")]
    BelowMinimum {
        code: String,
        min: Money,
        has: Money,
    },
    #[error("the member holds no coupon {code}")]
    NotFound { code: String },
    #[error("coupon {code} has no use left")]
    Used { code: String },
    #[error("coupon {code}'s uses are held at {}, which cannot be reached now", held_at.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "))]
    UnavailableHere { code: String, held_at: Vec<NodeId> },
    #[error("coupons are used by a member: name the member")]
    WithoutMember,
    #[error("no coupon template {template} in the programme")]
    TemplateNotFound { template: String },
    #[error("the member already holds {limit} coupons of template {template}, its limit")]
    LimitReached { template: String, limit: u32 },
    #[error("the member already holds {COUPONS_PER_MEMBER_MAX} coupons")]
    WalletFull,
}

impl DomainError for CouponError {
    fn code(&self) -> &'static str {
        match self {
            CouponError::TooMany => "too_many_coupons",
            CouponError::Repeated { .. } => "coupon_repeated",
            CouponError::NotCombinable { .. } => "coupon_not_combinable",
            CouponError::Expired { .. } => "coupon_expired",
            CouponError::NotYetValid { .. } => "coupon_not_yet_valid",
            CouponError::NotApplicable { .. } => "coupon_not_applicable",
            CouponError::BelowMinimum { .. } => "coupon_below_minimum",
            CouponError::NotFound { .. } => "coupon_not_found",
            CouponError::Used { .. } => "coupon_used",
            CouponError::UnavailableHere { .. } => "coupon_unavailable_here",
            CouponError::WithoutMember => "coupon_without_member",
            CouponError::TemplateNotFound { .. } => "coupon_template_not_found",
            CouponError::LimitReached { .. } => "coupon_limit_reached",
            CouponError::WalletFull => "coupon_wallet_full",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CouponError::TooMany => format!("每单最多使用 {COUPONS_PER_ORDER_MAX} 张券"),
            CouponError::Repeated { code } => format!("券 {code} 重复使用"),
            CouponError::NotCombinable { code, with, why } => {
                let why = match *why {
                    "same template" => "同一种券每单只能用一张",
                    _ => "每单只能用一张折扣券",
                };
                format!("券 {code} 不能与券 {with} 同时使用：{why}")
            }
            CouponError::Expired { code, to } => format!("券 {code} 已于 {to} 过期"),
            CouponError::NotYetValid { code, from } => format!("券 {code} 自 {from} 起可用"),
            CouponError::NotApplicable { code, miss } => {
                let what = match miss {
                    Miss::Store => "本门店",
                    Miss::Level => "该会员等级",
                    Miss::Goods => "本单商品",
                };
                format!("券 {code} 不适用于{what}")
            }
            CouponError::BelowMinimum { code, min, has } => {
                format!("券 {code} 需适用商品满 {min} 元，本单为 {has} 元")
            }
            CouponError::NotFound { code } => format!("该会员没有券 {code}"),
            CouponError::Used { code } => format!("券 {code} 已用完"),
            CouponError::UnavailableHere { code, held_at } => format!(
                "券 {code} 的可用次数在 {}，目前无法联系，请稍后再试或到该门店使用",
                held_at
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            CouponError::WithoutMember => "用券须先识别会员".into(),
            CouponError::TemplateNotFound { template } => format!("方案中没有券模板 {template}"),
            CouponError::LimitReached { template, limit } => {
                format!("该会员已有 {limit} 张券模板 {template} 的券，已达每人上限")
            }
            CouponError::WalletFull => {
                format!("该会员已有 {COUPONS_PER_MEMBER_MAX} 张券，不能再发")
            }
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            CouponError::TooMany => vec![("max", COUPONS_PER_ORDER_MAX.to_string())],
            CouponError::Repeated { code } => vec![("coupon", code.clone())],
            CouponError::NotCombinable { code, with, .. } => {
                vec![("coupon", code.clone()), ("with", with.clone())]
            }
            CouponError::Expired { code, to } => {
                vec![("coupon", code.clone()), ("valid_to", to.to_string())]
            }
            CouponError::NotYetValid { code, from } => {
                vec![("coupon", code.clone()), ("valid_from", from.to_string())]
            }
            CouponError::NotApplicable { code, miss } => vec![
                ("coupon", code.clone()),
                (
                    "miss",
                    match miss {
                        Miss::Store => "store",
                        Miss::Level => "level",
                        Miss::Goods => "goods",
                    }
                    .into(),
                ),
            ],
            CouponError::BelowMinimum { code, min, has } => vec![
                ("coupon", code.clone()),
                ("min_spend", min.to_string()),
                ("applicable", has.to_string()),
            ],
            CouponError::NotFound { code } | CouponError::Used { code } => {
                vec![("coupon", code.clone())]
            }
            CouponError::UnavailableHere { code, held_at } => vec![
                ("coupon", code.clone()),
                (
                    "held_at",
                    held_at
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ],
            CouponError::WithoutMember | CouponError::WalletFull => Vec::new(),
            CouponError::TemplateNotFound { template } => vec![("template", template.clone())],
            CouponError::LimitReached { template, limit } => {
                vec![("template", template.clone()), ("limit", limit.to_string())]
            }
        }
    }
}

/// Whether `line` is in `scope`'s goods (no product or category listed:
/// every line).
fn covers(scope: &Scope, line: &CouponLine<'_>) -> bool {
    if scope.skus.is_empty() && scope.categories.is_empty() {
        return true;
    }
    let sku = line.sku.is_some_and(|s| scope.skus.iter().any(|k| k == s));
    let cat = line
        .category
        .is_some_and(|c| scope.categories.iter().any(|k| k == c));
    sku || cat
}

/// Price `coupons` on `lines` by the stacking rule of the module doc. The
/// lines' payables are after the level discount; the result says what
/// each coupon takes off and from which lines. Refuses the whole set when
/// one coupon cannot be used (expired, out of scope, below its minimum,
/// not combinable): a cashier removes it and tries again.
pub fn stack(
    lines: &[CouponLine<'_>],
    coupons: &[Presented<'_>],
    cx: &Context<'_>,
) -> Result<Stacked, CouponError> {
    if coupons.len() > COUPONS_PER_ORDER_MAX {
        return Err(CouponError::TooMany);
    }
    let mut order: Vec<&Presented<'_>> = coupons.iter().collect();
    order.sort_by(|a, b| {
        (a.template.benefit.rank(), a.code).cmp(&(b.template.benefit.rank(), b.code))
    });
    // Which combine (checked on the sorted set: the same answer whatever
    // the order presented).
    for (i, a) in order.iter().enumerate() {
        for b in &order[..i] {
            if a.code == b.code {
                return Err(CouponError::Repeated {
                    code: a.code.into(),
                });
            }
            let why = if a.template.id == b.template.id {
                "same template"
            } else if matches!(a.template.benefit, Benefit::Percent { .. })
                && matches!(b.template.benefit, Benefit::Percent { .. })
            {
                "two percentage coupons"
            } else {
                continue;
            };
            return Err(CouponError::NotCombinable {
                code: a.code.into(),
                with: b.code.into(),
                why,
            });
        }
    }
    let mut left: Vec<Money> = lines.iter().map(|l| l.payable).collect();
    let mut out = Stacked {
        uses: Vec::with_capacity(order.len()),
        line_off: vec![Money::ZERO; lines.len()],
    };
    for p in order {
        let t = p.template;
        let code = || p.code.to_string();
        if cx.today < p.window.0 {
            return Err(CouponError::NotYetValid {
                code: code(),
                from: p.window.0,
            });
        }
        if cx.today > p.window.1 {
            return Err(CouponError::Expired {
                code: code(),
                to: p.window.1,
            });
        }
        let miss = |miss| CouponError::NotApplicable { code: code(), miss };
        if !t.scope.stores.is_empty() && !t.scope.stores.contains(cx.store) {
            return Err(miss(Miss::Store));
        }
        if !t.scope.levels.is_empty()
            && !cx
                .level
                .is_some_and(|l| t.scope.levels.iter().any(|k| k == l))
        {
            return Err(miss(Miss::Level));
        }
        let applies: Vec<usize> = (0..lines.len())
            .filter(|&i| covers(&t.scope, &lines[i]))
            .collect();
        if applies.is_empty() {
            return Err(miss(Miss::Goods));
        }
        let has: Money = applies.iter().map(|&i| lines[i].payable).sum();
        if has < t.min_spend {
            return Err(CouponError::BelowMinimum {
                code: code(),
                min: t.min_spend,
                has,
            });
        }
        let parts: Vec<(usize, Money)> = match &t.benefit {
            Benefit::FreeItem { sku } => {
                let Some(&i) = applies
                    .iter()
                    .find(|&&i| lines[i].sku == Some(sku.as_str()))
                else {
                    return Err(miss(Miss::Goods));
                };
                let line = &lines[i];
                let unit = if line.qty >= Decimal::ONE {
                    Money::round_half_up(line.payable.as_decimal() / line.qty)
                } else {
                    line.payable
                };
                vec![(i, unit.min(left[i]))]
            }
            Benefit::Percent { rate, max_off } => {
                let base: Money = applies.iter().map(|&i| left[i]).sum();
                let mut off = Money::round_half_up(base.as_decimal() * (Decimal::ONE - rate));
                if let Some(max) = max_off {
                    off = off.min(*max);
                }
                spread_over(off, &applies, &left)
            }
            Benefit::AmountOff { off } => {
                let base: Money = applies.iter().map(|&i| left[i]).sum();
                spread_over((*off).min(base), &applies, &left)
            }
        };
        let mut used = CouponUse {
            code: code(),
            template: t.id.clone(),
            off: Money::ZERO,
            lines: Vec::new(),
            to: p.window.1,
        };
        for (i, part) in parts {
            if part.is_zero() {
                continue;
            }
            left[i] -= part;
            out.line_off[i] += part;
            used.off += part;
            used.lines.push((i as u32, part));
        }
        out.uses.push(used);
    }
    Ok(out)
}

/// `off` spread over lines `applies` in proportion to what they still
/// pay (`left`).
fn spread_over(off: Money, applies: &[usize], left: &[Money]) -> Vec<(usize, Money)> {
    let weights: Vec<Money> = applies.iter().map(|&i| left[i]).collect();
    let parts = off
        .spread(&weights)
        .expect("the amount is at most what the lines still pay");
    applies.iter().copied().zip(parts).collect()
}

#[cfg(test)]
mod tests;
