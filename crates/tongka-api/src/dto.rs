//! Request bodies and their strict parsing: unknown fields are refused,
//! amounts keep their exact decimal text (JSON numbers are never turned into
//! floating point), and every field error names the field.

use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use tongka_core::checkout::TenderKind;
use tongka_core::member::Gender;
use tongka_core::money::{AmountError, Money};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A decimal given as a JSON string (`"95.00"`) or number (`95`), kept as
/// its exact text.
#[derive(Debug, Clone)]
pub struct DecimalText(pub String);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }
}

/// A string as it is; a number as its exact text (serde_json's
/// `arbitrary_precision` hands an integer over as such, any other number as
/// a one-entry map of its text), without
/// building a `serde_json::Value` on the way.
struct DecimalVisitor;

impl<'de> serde::de::Visitor<'de> for DecimalVisitor {
    type Value = DecimalText;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a decimal as a string like \"95.00\" or a number")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<DecimalText, E> {
        Ok(DecimalText(s.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<DecimalText, E> {
        Ok(DecimalText(s))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<DecimalText, E> {
        Ok(DecimalText(n.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<DecimalText, E> {
        Ok(DecimalText(n.to_string()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<DecimalText, A::Error> {
        let n = serde_json::Number::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(DecimalText(n.to_string()))
    }
}

fn reason_zh(r: &AmountError) -> &'static str {
    tongka_core::amount_reason_zh(r)
}

impl DecimalText {
    pub fn money(&self, field: &str, positive: bool) -> Result<Money, ApiError> {
        self.money_at(|| field.to_string(), positive)
    }

    /// `money`, naming the field only when it is refused (no allocation on
    /// the way of a good request).
    pub fn money_at(
        &self,
        field: impl FnOnce() -> String,
        positive: bool,
    ) -> Result<Money, ApiError> {
        Money::parse_amount(&self.0, positive)
            .map_err(|r| ApiError::invalid_amount(&field(), &r, reason_zh(&r)))
    }

    pub fn qty(&self, field: &str) -> Result<Decimal, ApiError> {
        self.qty_at(|| field.to_string())
    }

    /// `qty`, naming the field only when it is refused.
    pub fn qty_at(&self, field: impl FnOnce() -> String) -> Result<Decimal, ApiError> {
        let t = self.0.trim();
        tongka_core::money::parse_decimal_text(t, 3).map_err(|_| {
            let field = field();
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_qty",
                format!("{field}: quantity {t:?} is not a positive decimal with at most 3 places"),
                format!("{field}：数量 {t:?} 不是最多 3 位小数的正数"),
            )
            .with("field", field)
        })
    }
}

/// `null` → `Some(None)`, absent → `None`, value → `Some(Some(v))`.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_json("empty body; a JSON object is expected"));
    }
    serde_json::from_slice(body).map_err(ApiError::bad_json)
}

/// The tender `text` names; `field` names the field if it is refused.
pub fn tender_kind(text: &str, field: impl FnOnce() -> String) -> Result<TenderKind, ApiError> {
    Ok(match text {
        "balance" => TenderKind::Balance,
        "cash" => TenderKind::Cash,
        "card" => TenderKind::Card,
        "wechat" => TenderKind::Wechat,
        "alipay" => TenderKind::Alipay,
        _ => {
            let field = field();
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_tender",
                format!(
                    "{field}: unknown tender {text:?}; one of balance, cash, card, wechat, alipay"
                ),
                format!("{field}：未知支付方式 {text:?}；可选 balance、cash、card、wechat、alipay"),
            )
            .with("field", field));
        }
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RegisterRequest)]
pub struct RegisterReq {
    /// Mainland mobile number, 11 digits.
    #[schema(pattern = "^\\s*1[3-9][0-9]{9}\\s*$")]
    pub phone: String,
    /// 1 to 40 characters after trimming.
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", format = Date)]
    pub birthday: Option<String>,
    #[schema(value_type = Option<crate::openapi::Gender>)]
    pub gender: Option<Gender>,
    #[schema(pattern = "^[A-Za-z0-9]{4,32}$")]
    pub card_no: Option<String>,
    /// The referring member's invite code (4 to 16 bytes).
    #[schema(min_length = 4, max_length = 16)]
    pub invite_code: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::openapi::Tag>, max_items = 20, default = json!([]))]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 500, default = "")]
    pub notes: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PatchRequest)]
pub struct PatchReq {
    #[schema(pattern = "^\\s*1[3-9][0-9]{9}\\s*$")]
    pub phone: Option<String>,
    #[schema(min_length = 1, max_length = 40)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    /// `null` clears it.
    #[schema(format = Date)]
    pub birthday: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    /// `null` clears it.
    #[schema(value_type = Option<crate::openapi::Gender>)]
    pub gender: Option<Option<Gender>>,
    #[serde(default, deserialize_with = "double_option")]
    /// `null` clears it.
    #[schema(pattern = "^[A-Za-z0-9]{4,32}$")]
    pub card_no: Option<Option<String>>,
    #[schema(value_type = Option<Vec<crate::openapi::Tag>>, max_items = 20)]
    pub tags: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MergeRequest)]
pub struct MergeReq {
    /// The duplicate to absorb into the member of the path.
    /// The duplicate to merge into the member of the path (it is then looked up as that member).
    #[schema(value_type = crate::openapi::MemberId)]
    pub absorb: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RechargeRequest)]
pub struct RechargeReq {
    /// Principal paid in; greater than zero.
    #[schema(value_type = crate::openapi::AmountInput)]
    pub amount: DecimalText,
    /// How it is paid; not `balance`.
    #[schema(value_type = crate::openapi::RechargeTender)]
    pub tender: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineReq {
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub description: Option<String>,
    pub unit_price: Option<DecimalText>,
    pub qty: Option<DecimalText>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TenderRequest)]
pub struct TenderReq {
    #[schema(value_type = crate::openapi::TenderKind)]
    pub kind: String,
    /// Greater than zero. Leave it out on at most one tender: that one pays the rest.
    #[schema(value_type = Option<crate::openapi::AmountInput>)]
    pub amount: Option<DecimalText>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CheckoutRequest)]
pub struct CheckoutReq {
    /// The member buying; leave out for a walk-in sale (no discount, no points, no balance).
    #[schema(value_type = Option<crate::openapi::MemberId>)]
    pub member_id: Option<String>,
    #[schema(value_type = Vec<crate::openapi::LineRequest>, min_items = 1, max_items = 200)]
    pub lines: Vec<LineReq>,
    #[serde(default)]
    /// Codes of the member's coupons to use (用券), at most 5, each `c-<node>-<n>` (GET /members/{id}/coupons lists them); needs `member_id`. Taken after the level discount and before points, by the stacking rule (amounts off, then one percentage coupon). Refused: too_many_coupons, invalid_coupon_code (with field), coupon_without_member, coupon_repeated, coupon_not_found, coupon_used, coupon_expired, coupon_not_yet_valid, coupon_not_applicable (with miss), coupon_below_minimum, coupon_not_combinable, 409 coupon_unavailable_here (with held_at) when the stores holding its uses cannot be reached.
    #[schema(value_type = Vec<crate::openapi::CouponCode>, max_items = 5, default = json!([]))]
    pub coupon_codes: Vec<String>,
    /// Whole points to pay with (积分抵现), 0 or more; needs a member and the programme's points_deduction. Refused: invalid_points, points_deduction_not_enabled, points_need_member, points_below_minimum, points_over_cap (with max_points), 409 insufficient_points (with available_here) when the member's points here and at the reachable stores fall short.
    #[schema(value_type = Option<crate::openapi::WholeInput>)]
    pub points: Option<DecimalText>,
    #[serde(default)]
    #[schema(max_items = 6, default = json!([]))]
    pub tenders: Vec<TenderReq>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RefundLineRequest)]
pub struct RefundLineReq {
    /// Index of the order line, from 0.
    #[schema(minimum = 0)]
    pub line: usize,
    #[schema(value_type = crate::openapi::QtyInput)]
    pub qty: DecimalText,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RefundRequest)]
pub struct RefundReq {
    /// Leave out (or null) to refund everything not yet refunded.
    #[schema(min_items = 1)]
    pub lines: Option<Vec<RefundLineReq>>,
    #[serde(default)]
    #[schema(max_length = 200, default = "")]
    pub reason: String,
    /// A store manager's sign-in at this till, approving a cashier's
    /// refund above the programme's `refund_approval_above`.
    #[serde(default)]
    pub approval: Option<ApprovalReq>,
}

/// A store manager's login and password, approving at the till.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApprovalRequest)]
pub struct ApprovalReq {
    #[schema(examples("wang.dz"))]
    pub login: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProductRequest)]
pub struct ProductReq {
    #[schema(pattern = "^[0-9]{6,20}$")]
    pub barcode: Option<String>,
    #[schema(min_length = 1, max_length = 80)]
    pub name: String,
    /// Zero or more.
    #[schema(value_type = crate::openapi::AmountInput)]
    pub price: DecimalText,
    /// A card product: each unit sold puts a card of this plan in the member's wallet (a sale of it needs a member). Absent or null: not a card product.
    #[serde(default)]
    pub card: Option<crate::render::CardPlanDto>,
    /// The fields below are optional: absent keeps the product's value (a new product: its default), so an API v1 body leaves them as they are.
    /// Other barcodes (up to 10), each 6 to 20 digits.
    pub barcodes: Option<Vec<String>>,
    /// `whole` (counted in pieces, the default) or `measured` (kg…).
    #[schema(value_type = Option<String>)]
    pub unit: Option<tongka_core::stock::Unit>,
    /// The unit as shown (件, kg), 0 to 8 characters; empty: the unit's own.
    pub unit_label: Option<String>,
    /// 会员价; null: none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<crate::openapi::AmountInput>)]
    pub member_price: Option<Option<DecimalText>>,
    /// 0 to 10, two places at most; 1: normal points.
    #[schema(value_type = Option<String>)]
    pub points_multiplier: Option<DecimalText>,
    /// false: not for sale (`product_inactive` at checkout).
    pub active: Option<bool>,
    /// A category id; null: none.
    #[serde(default, deserialize_with = "double_option")]
    pub category: Option<Option<String>>,
    /// false: no stock kept (a service). A card product never is.
    pub stocked: Option<bool>,
    /// Store name → its regular price there.
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    pub store_prices: Option<std::collections::BTreeMap<String, DecimalText>>,
    /// Attribute name → value (names defined by the category or a parent).
    pub attributes: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CategoryRequest)]
pub struct CategoryReq {
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
    /// The parent's id; absent or null: a root.
    #[serde(default)]
    pub parent: Option<String>,
    /// The attribute names it defines (its subcategories inherit them).
    #[serde(default)]
    pub attributes: Vec<String>,
}
