//! Products the till can scan: sku, barcode, name, price. The chain's
//! catalogue is an automerge document authored by HQ (`catalogue_doc`);
//! every node starts from the sample catalogue below.

use serde::{Deserialize, Serialize};

use crate::card::{CardKind, CardPlan, CardPlanError};
use crate::error::DomainError;
use crate::money::Money;
use crate::text::{self, TextError};

#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Product {
    #[n(0)]
    pub sku: String,
    #[n(1)]
    pub barcode: Option<String>,
    #[n(2)]
    pub name: String,
    #[n(3)]
    pub price: Money,
    /// A card product: what each unit sold puts in the member's wallet
    /// (a count card of N visits, or a period card), `card::CardPlan`.
    #[serde(default)]
    #[n(4)]
    pub card: Option<CardPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum ProductError {
    #[error("sku must be 1 to 32 letters, digits, '-' or '_'")]
    Sku,
    #[error("barcode must be 6 to 20 digits")]
    Barcode,
    #[error("product name {0}")]
    Name(TextError),
    #[error("price must be a non-negative amount with at most two places")]
    Price,
    #[error("unknown product {0:?}")]
    Unknown(String),
    #[error("barcode {0} already belongs to another product")]
    BarcodeTaken(String),
    #[error(transparent)]
    Card(#[from] CardPlanError),
}

impl DomainError for ProductError {
    fn code(&self) -> &'static str {
        match self {
            ProductError::Sku => "invalid_sku",
            ProductError::Barcode => "invalid_barcode",
            ProductError::Name(_) => "invalid_name",
            ProductError::Price => "invalid_amount",
            ProductError::Unknown(_) => "unknown_product",
            ProductError::BarcodeTaken(_) => "barcode_taken",
            ProductError::Card(e) => e.code(),
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ProductError::Sku => "商品编码应为 1 到 32 位字母、数字、- 或 _".into(),
            ProductError::Barcode => "条码应为 6 到 20 位数字".into(),
            ProductError::Name(e) => format!("商品名称{}", e.zh()),
            ProductError::Price => "价格须为不小于 0、最多两位小数的金额".into(),
            ProductError::Unknown(s) => format!("未知商品 {s:?}"),
            ProductError::BarcodeTaken(b) => format!("条码 {b} 已属于其他商品"),
            ProductError::Card(e) => e.message_zh(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            ProductError::Name(e) => e.details(),
            ProductError::Card(e) => e.details(),
            _ => Vec::new(),
        }
    }
}

pub fn validate_sku(sku: &str) -> Result<(), ProductError> {
    let ok = (1..=32).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(ProductError::Sku) }
}

pub fn validate_barcode(code: &str) -> Result<(), ProductError> {
    let ok = (6..=20).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ProductError::Barcode)
    }
}

/// The most characters of a product's name.
pub const NAME_LEN_MAX: usize = 80;

impl Product {
    /// How the product's stock is counted, `None` when it is not stocked
    /// (a card product sells a plan, not goods). The stock code asks only
    /// this.
    pub fn stock_unit(&self) -> Option<crate::stock::Unit> {
        match self.card {
            Some(_) => None,
            None => Some(crate::stock::Unit::Whole),
        }
    }

    /// Check a product a client sets (HQ's catalogue edit): the name held
    /// to `text`'s rule, since it is printed on receipts at every store.
    pub fn validate(&self) -> Result<(), ProductError> {
        self.check(|n| text::check_text(n, 1, NAME_LEN_MAX))
    }

    /// Check a product as stored in a catalogue document (received from HQ
    /// or written before): its name held to its length only, as every
    /// build did, so a document an older HQ wrote still materialises
    /// everywhere. Its name is made safe where it is printed
    /// (`text::printable`).
    pub fn validate_stored(&self) -> Result<(), ProductError> {
        self.check(|n| text::check_len(n, 1, NAME_LEN_MAX))
    }

    fn check(&self, name: impl Fn(&str) -> Result<(), TextError>) -> Result<(), ProductError> {
        validate_sku(&self.sku)?;
        if let Some(b) = &self.barcode {
            validate_barcode(b)?;
        }
        name(&self.name).map_err(ProductError::Name)?;
        Money::check_amount(self.price.as_decimal(), false).map_err(|_| ProductError::Price)?;
        if let Some(plan) = &self.card {
            plan.validate()?;
        }
        Ok(())
    }
}

/// A few products every new node starts with, so a till can scan something
/// on day one (the sample catalogue of `tongka up` and `tongka demo`).
pub fn sample_catalogue() -> Vec<Product> {
    let p = |sku: &str, barcode: &str, name: &str, fen: i64| Product {
        sku: sku.into(),
        barcode: Some(barcode.into()),
        name: name.into(),
        price: Money::from_fen(fen),
        card: None,
    };
    vec![
        p("coffee", "6901234567892", "美式咖啡 Americano", 2800),
        p("latte", "6901234567908", "拿铁 Latte", 3200),
        p("bread", "6901234567915", "全麦面包 Bread", 1550),
        p("haircut", "6901234567922", "洗剪吹 Haircut", 8800),
        p("petfood", "6901234567939", "猫粮 2kg Cat food", 12900),
        Product {
            card: Some(CardPlan {
                kind: CardKind::Count {
                    visits: 10,
                    days: Some(365),
                },
                services: vec!["haircut".into()],
            }),
            ..p(
                "haircut10",
                "6901234567946",
                "十次洗剪吹卡 10 haircuts",
                68000,
            )
        },
        Product {
            card: Some(CardPlan {
                kind: CardKind::Period {
                    days: 30,
                    daily_cap: Some(1),
                },
                services: Vec::new(),
            }),
            ..p("gym30", "6901234567953", "健身月卡 Gym month", 29900)
        },
    ]
}
