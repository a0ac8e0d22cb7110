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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterReq {
    pub phone: String,
    pub name: String,
    pub birthday: Option<String>,
    pub gender: Option<Gender>,
    pub card_no: Option<String>,
    pub invite_code: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchReq {
    pub phone: Option<String>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub birthday: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub gender: Option<Option<Gender>>,
    #[serde(default, deserialize_with = "double_option")]
    pub card_no: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeReq {
    /// The duplicate to absorb into the member of the path.
    pub absorb: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RechargeReq {
    pub amount: DecimalText,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenderReq {
    pub kind: String,
    pub amount: Option<DecimalText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutReq {
    pub member_id: Option<String>,
    pub lines: Vec<LineReq>,
    #[serde(default)]
    pub coupon_codes: Vec<String>,
    pub points: Option<DecimalText>,
    #[serde(default)]
    pub tenders: Vec<TenderReq>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundLineReq {
    pub line: usize,
    pub qty: DecimalText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundReq {
    pub lines: Option<Vec<RefundLineReq>>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductReq {
    pub barcode: Option<String>,
    pub name: String,
    pub price: DecimalText,
}
