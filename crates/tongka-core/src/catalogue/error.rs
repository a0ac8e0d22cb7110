//! Why a product or a category is refused: one variant per reason, each
//! with its code and its Chinese message (`DomainError`).

use crate::card::CardPlanError;
use crate::error::DomainError;
use crate::text::TextError;

use super::{
    ATTRIBUTES_MAX, BARCODES_MAX, MULTIPLIER_MAX, STORE_PRICES_MAX,
    category::CATEGORY_ATTRIBUTES_MAX,
};

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
    #[error("a product has at most {BARCODES_MAX} barcodes besides its own, each once")]
    Barcodes,
    #[error("unit label {0}")]
    UnitLabel(TextError),
    #[error("member price must be a non-negative amount with at most two places")]
    MemberPrice,
    #[error("points multiplier must be 0 to {MULTIPLIER_MAX}, with at most 2 decimal places")]
    PointsMultiplier,
    #[error(
        "store prices: at most {STORE_PRICES_MAX}, each for a store name and a non-negative amount"
    )]
    StorePrice,
    #[error("attribute name or value {0}")]
    Attribute(TextError),
    #[error("a product has at most {ATTRIBUTES_MAX} attribute values")]
    AttributeCount,
    #[error("attribute {0:?} is not defined by the product's category or its parents")]
    UnknownAttribute(String),
    #[error("product {0:?} is inactive: not for sale")]
    Inactive(String),
    #[error(transparent)]
    Category(#[from] CategoryError),
}

impl DomainError for ProductError {
    fn code(&self) -> &'static str {
        match self {
            ProductError::Sku => "invalid_sku",
            ProductError::Barcode | ProductError::Barcodes => "invalid_barcode",
            ProductError::Name(_) => "invalid_name",
            ProductError::Price | ProductError::MemberPrice | ProductError::StorePrice => {
                "invalid_amount"
            }
            ProductError::Unknown(_) => "unknown_product",
            ProductError::BarcodeTaken(_) => "barcode_taken",
            ProductError::Card(e) => e.code(),
            ProductError::UnitLabel(_) => "invalid_unit",
            ProductError::PointsMultiplier => "invalid_points_multiplier",
            ProductError::Attribute(_)
            | ProductError::AttributeCount
            | ProductError::UnknownAttribute(_) => "invalid_attribute",
            ProductError::Inactive(_) => "product_inactive",
            ProductError::Category(e) => e.code(),
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
            ProductError::Barcodes => {
                format!("除主条码外最多 {BARCODES_MAX} 个条码，且不得重复")
            }
            ProductError::UnitLabel(e) => format!("单位名称{}", e.zh()),
            ProductError::MemberPrice => "会员价须为不小于 0、最多两位小数的金额".into(),
            ProductError::PointsMultiplier => {
                format!("积分倍数须在 0 到 {MULTIPLIER_MAX} 之间，最多两位小数")
            }
            ProductError::StorePrice => {
                format!("门店价最多 {STORE_PRICES_MAX} 个，每个须为门店名和不小于 0 的金额")
            }
            ProductError::Attribute(e) => format!("属性名或属性值{}", e.zh()),
            ProductError::AttributeCount => format!("商品最多 {ATTRIBUTES_MAX} 个属性值"),
            ProductError::UnknownAttribute(a) => {
                format!("属性 {a:?} 未在商品的分类或其上级分类中定义")
            }
            ProductError::Inactive(s) => format!("商品 {s:?} 已停售"),
            ProductError::Category(e) => e.message_zh(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            ProductError::Name(e) | ProductError::UnitLabel(e) | ProductError::Attribute(e) => {
                e.details()
            }
            ProductError::Card(e) => e.details(),
            ProductError::Category(e) => e.details(),
            ProductError::BarcodeTaken(b) => vec![("barcode", b.clone())],
            ProductError::Inactive(s) | ProductError::Unknown(s) => vec![("sku", s.clone())],
            ProductError::UnknownAttribute(a) => vec![("attribute", a.clone())],
            _ => Vec::new(),
        }
    }
}

/// Why a category (or a category asked of a product) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: matched exhaustively by the API (error.rs).
pub enum CategoryError {
    #[error("category id must be 1 to 32 letters, digits, '-' or '_'")]
    Id,
    #[error("category name {0}")]
    Name(TextError),
    #[error("unknown category {0:?}")]
    Unknown(String),
    #[error("moving category {id:?} under {parent:?} would make a cycle")]
    Cycle { id: String, parent: String },
    #[error("attribute name {0}")]
    Attributes(TextError),
    #[error("a category defines at most {CATEGORY_ATTRIBUTES_MAX} attributes, each once")]
    AttributeCount,
}

impl DomainError for CategoryError {
    fn code(&self) -> &'static str {
        match self {
            CategoryError::Id => "invalid_category",
            CategoryError::Name(_) => "invalid_name",
            CategoryError::Unknown(_) => "unknown_category",
            CategoryError::Cycle { .. } => "category_cycle",
            CategoryError::Attributes(_) | CategoryError::AttributeCount => "invalid_attribute",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CategoryError::Id => "分类编号应为 1 到 32 位字母、数字、- 或 _".into(),
            CategoryError::Name(e) => format!("分类名称{}", e.zh()),
            CategoryError::Unknown(c) => format!("未知分类 {c:?}"),
            CategoryError::Cycle { id, parent } => {
                format!("把分类 {id:?} 移到 {parent:?} 之下会形成循环")
            }
            CategoryError::Attributes(e) => format!("属性名{}", e.zh()),
            CategoryError::AttributeCount => {
                format!("每个分类最多定义 {CATEGORY_ATTRIBUTES_MAX} 个属性，不得重复")
            }
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            CategoryError::Name(e) | CategoryError::Attributes(e) => e.details(),
            CategoryError::Unknown(c) => vec![("category", c.clone())],
            CategoryError::Cycle { id, parent } => {
                vec![("category", id.clone()), ("parent", parent.clone())]
            }
            CategoryError::Id | CategoryError::AttributeCount => Vec::new(),
        }
    }
}
