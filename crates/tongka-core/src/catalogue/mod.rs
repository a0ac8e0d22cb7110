//! Products the till can scan, and their categories. The chain's
//! catalogue is an automerge document authored by HQ (`catalogue_doc`);
//! every node starts from the sample catalogue below.
//!
//! A product: sku, a primary barcode (`barcode`, API v1's field) and
//! others (`barcodes`), name, list price, an optional member price (会员价),
//! per-store prices, a unit (whole pieces or measured, and its label
//! 件/kg), a points multiplier, active or not, a category and attribute
//! values (`category`), whether it is stocked (false for services; a card
//! product never is), and for a card product its plan.
//!
//! Pricing a line (`checkout` applies it; the rule once): the regular
//! price is the selling store's price when HQ set one for it
//! (`store_prices`), else the list price. A member buying a product with a
//! member price pays the lower of the member price (the level discount
//! does not apply on top of it) and the regular price with the level
//! discount; never both. A non-member pays the regular price.
//!
//! Encodings: the op's `products` (history, minicbor) carry every field,
//! a field at its default left out, so a product of API v1's fields
//! encodes as before. The serde form (postcard: the db's `products-1`
//! rows, the catalogue document's old layout) keeps API v1's five fields
//! only, so rows and documents written before still read; the node reads
//! a product's other fields from the catalogue document it holds.

mod category;
mod error;
pub mod import;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::card::{CardKind, CardPlan};
use crate::ids::NodeId;
use crate::money::Money;
use crate::stock::Unit;
use crate::text::{self, TextError};

pub use category::{
    ATTRIBUTE_NAME_LEN_MAX, CATEGORY_ATTRIBUTES_MAX, CATEGORY_NAME_LEN_MAX, Categories, Category,
    CategoryId, attributes_of, lineage, resolve, would_cycle,
};
pub use error::{CategoryError, ProductError};

/// The most barcodes of a product besides its primary one.
pub const BARCODES_MAX: usize = 10;
/// The most store prices of a product.
pub const STORE_PRICES_MAX: usize = 500;
/// The most attribute values of a product.
pub const ATTRIBUTES_MAX: usize = 20;
/// The most characters of an attribute's value and of a unit's label.
pub const ATTRIBUTE_VALUE_LEN_MAX: usize = 40;
pub const UNIT_LABEL_LEN_MAX: usize = 8;
/// The largest points multiplier (a promotion's 10×).
pub const MULTIPLIER_MAX: u32 = 10;

fn one() -> Decimal {
    Decimal::ONE
}

fn yes() -> bool {
    true
}

fn is_empty_map<K, V>(m: &BTreeMap<K, V>) -> bool {
    m.is_empty()
}

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

fn is_whole(u: &Unit) -> bool {
    *u == Unit::Whole
}

/// minicbor for a flag whose absence means true (`active`, `stocked`):
/// left out when true, so a product of API v1 encodes as before.
mod cbor_true {
    use minicbor::{Decoder, Encoder};

    pub fn encode<C, W: minicbor::encode::Write>(
        v: &bool,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.bool(*v)?;
        Ok(())
    }

    pub fn decode<Ctx>(d: &mut Decoder<'_>, _: &mut Ctx) -> Result<bool, minicbor::decode::Error> {
        d.bool()
    }

    pub fn nil() -> Option<bool> {
        Some(true)
    }

    pub fn is_nil(v: &bool) -> bool {
        *v
    }
}

/// minicbor for the points multiplier: left out when 1.
mod cbor_multiplier {
    use minicbor::{Decoder, Encoder};
    use rust_decimal::Decimal;

    pub fn encode<C, W: minicbor::encode::Write>(
        v: &Decimal,
        e: &mut Encoder<W>,
        c: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        crate::codec::decimal::encode(v, e, c)
    }

    pub fn decode<Ctx>(
        d: &mut Decoder<'_>,
        c: &mut Ctx,
    ) -> Result<Decimal, minicbor::decode::Error> {
        crate::codec::decimal::decode(d, c)
    }

    pub fn nil() -> Option<Decimal> {
        Some(Decimal::ONE)
    }

    pub fn is_nil(v: &Decimal) -> bool {
        *v == Decimal::ONE
    }
}

#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Product {
    #[n(0)]
    pub sku: String,
    /// The primary barcode (API v1's one barcode).
    #[n(1)]
    pub barcode: Option<String>,
    #[n(2)]
    pub name: String,
    /// The list price.
    #[n(3)]
    pub price: Money,
    /// A card product: what each unit sold puts in the member's wallet
    /// (a count card of N visits, or a period card), `card::CardPlan`.
    #[serde(default)]
    #[n(4)]
    pub card: Option<CardPlan>,
    /// Its other barcodes (a case, an older label…): a till finds the
    /// product by any of them.
    #[serde(skip)]
    #[cbor(n(5), skip_if = "crate::codec::is_empty_vec", default)]
    pub barcodes: Vec<String>,
    #[serde(skip)]
    #[cbor(n(6), skip_if = "is_whole", default)]
    pub unit: Unit,
    /// The unit as shown (件, 瓶, kg); empty: the unit's own (`label`).
    #[serde(skip)]
    #[cbor(n(7), skip_if = "is_empty_str", default)]
    pub unit_label: String,
    /// 会员价: see the module doc for how it meets the level discount.
    #[serde(skip)]
    #[n(8)]
    pub member_price: Option<Money>,
    /// Points a line earns are multiplied by this (2: double points; 0: no
    /// points), exact, 0 to `MULTIPLIER_MAX`, two places at most.
    #[serde(skip, default = "one")]
    #[cbor(n(9), with = "cbor_multiplier", has_nil)]
    pub points_multiplier: Decimal,
    /// Inactive (停售): shown, not sellable (`product_inactive`).
    #[serde(skip, default = "yes")]
    #[cbor(n(10), with = "cbor_true", has_nil)]
    pub active: bool,
    #[serde(skip)]
    #[n(11)]
    pub category: Option<CategoryId>,
    /// Whether stock is kept of it: false for a service (a haircut); a
    /// card product never is, whatever this says (`stock_unit`).
    #[serde(skip, default = "yes")]
    #[cbor(n(12), with = "cbor_true", has_nil)]
    pub stocked: bool,
    /// The regular price at a store, instead of the list price.
    #[serde(skip)]
    #[cbor(n(13), skip_if = "is_empty_map", default)]
    pub store_prices: BTreeMap<NodeId, Money>,
    /// Attribute values, by the name of an attribute its category (or a
    /// parent) defines.
    #[serde(skip)]
    #[cbor(n(14), skip_if = "is_empty_map", default)]
    pub attributes: BTreeMap<String, String>,
}

impl Product {
    /// A product of API v1's fields: one barcode, whole pieces, active,
    /// stocked, no member price, multiplier 1, no category.
    pub fn new(sku: &str, barcode: Option<&str>, name: &str, price: Money) -> Product {
        Product {
            sku: sku.into(),
            barcode: barcode.map(Into::into),
            name: name.into(),
            price,
            card: None,
            barcodes: Vec::new(),
            unit: Unit::Whole,
            unit_label: String::new(),
            member_price: None,
            points_multiplier: Decimal::ONE,
            active: true,
            category: None,
            stocked: true,
            store_prices: BTreeMap::new(),
            attributes: BTreeMap::new(),
        }
    }

    /// The unit stock is counted in; None when no stock is kept: a
    /// service (`stocked` false) or a card product.
    pub fn stock_unit(&self) -> Option<Unit> {
        (self.stocked && self.card.is_none()).then_some(self.unit)
    }

    /// The unit's label as shown: HQ's, else 件 or kg.
    pub fn label(&self) -> &str {
        if !self.unit_label.is_empty() {
            return &self.unit_label;
        }
        match self.unit {
            Unit::Whole => "件",
            Unit::Measured => "kg",
        }
    }

    /// Every barcode of it, the primary first.
    pub fn all_barcodes(&self) -> impl Iterator<Item = &String> {
        self.barcode.iter().chain(self.barcodes.iter())
    }

    /// The regular price at `store` (module doc).
    pub fn price_at(&self, store: &NodeId) -> Money {
        self.store_prices.get(store).copied().unwrap_or(self.price)
    }

    /// Whether a till may sell it: inactive products are refused.
    pub fn sellable(&self) -> Result<(), ProductError> {
        if self.active {
            Ok(())
        } else {
            Err(ProductError::Inactive(self.sku.clone()))
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
    /// Check a product a client sets (HQ's catalogue edit): the name held
    /// to `text`'s rule, since it is printed on receipts at every store.
    pub fn validate(&self) -> Result<(), ProductError> {
        self.check(text::check_text)
    }

    /// Check a product as stored in a catalogue document (received from HQ
    /// or written before): its name held to its length only, as every
    /// build did, so a document an older HQ wrote still materialises
    /// everywhere. Its name is made safe where it is printed
    /// (`text::printable`).
    pub fn validate_stored(&self) -> Result<(), ProductError> {
        self.check(text::check_len)
    }

    fn check(
        &self,
        text: impl Fn(&str, usize, usize) -> Result<(), TextError>,
    ) -> Result<(), ProductError> {
        validate_sku(&self.sku)?;
        for b in self.all_barcodes() {
            validate_barcode(b)?;
        }
        if self.barcodes.len() > BARCODES_MAX {
            return Err(ProductError::Barcodes);
        }
        let mut codes: Vec<&String> = self.all_barcodes().collect();
        codes.sort();
        codes.dedup();
        if codes.len() != self.all_barcodes().count() {
            return Err(ProductError::Barcodes);
        }
        text(&self.name, 1, NAME_LEN_MAX).map_err(ProductError::Name)?;
        Money::check_amount(self.price.as_decimal(), false).map_err(|_| ProductError::Price)?;
        if let Some(plan) = &self.card {
            plan.validate()?;
        }
        text(&self.unit_label, 0, UNIT_LABEL_LEN_MAX).map_err(ProductError::UnitLabel)?;
        if let Some(m) = self.member_price {
            Money::check_amount(m.as_decimal(), false).map_err(|_| ProductError::MemberPrice)?;
        }
        check_multiplier(self.points_multiplier)?;
        if self.store_prices.len() > STORE_PRICES_MAX {
            return Err(ProductError::StorePrice);
        }
        for m in self.store_prices.values() {
            Money::check_amount(m.as_decimal(), false).map_err(|_| ProductError::StorePrice)?;
        }
        if self.attributes.len() > ATTRIBUTES_MAX {
            return Err(ProductError::AttributeCount);
        }
        for (k, v) in &self.attributes {
            text(k, 1, ATTRIBUTE_NAME_LEN_MAX).map_err(ProductError::Attribute)?;
            text(v, 1, ATTRIBUTE_VALUE_LEN_MAX).map_err(ProductError::Attribute)?;
        }
        if let Some(c) = &self.category {
            validate_sku(c.as_str()).map_err(|_| CategoryError::Id)?;
        }
        Ok(())
    }

    /// Check its category and attribute names against the categories (the
    /// author's view): the category exists, each attribute is defined by
    /// it or a parent. Only when HQ edits: categories never go away, so a
    /// product valid when written stays valid.
    pub fn validate_in(&self, cats: &Categories) -> Result<(), ProductError> {
        let defined = match &self.category {
            Some(c) if !cats.contains_key(c) => {
                return Err(CategoryError::Unknown(c.to_string()).into());
            }
            Some(c) => attributes_of(cats, c),
            None => Vec::new(),
        };
        for k in self.attributes.keys() {
            if !defined.contains(k) {
                return Err(ProductError::UnknownAttribute(k.clone()));
            }
        }
        Ok(())
    }
}

/// A points multiplier: 0 to `MULTIPLIER_MAX`, two places at most.
pub fn check_multiplier(m: Decimal) -> Result<(), ProductError> {
    let ok = m >= Decimal::ZERO && m <= Decimal::from(MULTIPLIER_MAX) && m.normalize().scale() <= 2;
    if ok {
        Ok(())
    } else {
        Err(ProductError::PointsMultiplier)
    }
}

/// A few products every new node starts with, so a till can scan something
/// on day one (the sample catalogue of `tongka up` and `tongka demo`).
pub fn sample_catalogue() -> Vec<Product> {
    let p = |sku: &str, barcode: &str, name: &str, fen: i64| {
        Product::new(sku, Some(barcode), name, Money::from_fen(fen))
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
