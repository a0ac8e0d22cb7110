//! The per-field layout of a product and of a category (module doc of
//! `catalogue_doc`): each field the postcard encoding of its value under
//! the field's name, and the old layout of a whole product (`Legacy`).
//! A field missing from a map reads as its default (so a field a later
//! build adds reads in a document written before it); a field this build
//! does not know is left alone.

use std::collections::BTreeMap;

use automerge::{Automerge, ObjId, ReadDoc, ScalarValue, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::CatalogueDocError;
use crate::card::CardPlan;
use crate::catalogue::{Category, CategoryId, Product};
use crate::money::Money;
use crate::profile_doc::malformed;

/// A product in the old layout: API v1's five fields, postcard, as every
/// build before per-field layout wrote it (the sample of `initial` still
/// is). Its own struct, so that what `initial` writes never follows
/// `Product`.
#[derive(Serialize, Deserialize)]
pub(super) struct Legacy {
    pub sku: String,
    pub barcode: Option<String>,
    pub name: String,
    pub price: Money,
    pub card: Option<CardPlan>,
}

impl Legacy {
    pub fn of(p: &Product) -> Legacy {
        Legacy {
            sku: p.sku.clone(),
            barcode: p.barcode.clone(),
            name: p.name.clone(),
            price: p.price,
            card: p.card.clone(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("encoding to memory cannot fail")
    }

    pub fn decode(b: &[u8]) -> Result<Legacy, CatalogueDocError> {
        postcard::from_bytes(b).map_err(|e| malformed(e).into())
    }
}

/// A product as stored: in the old layout, or a map of fields.
pub(super) enum Stored {
    Legacy(Legacy),
    Fields(ObjId, BTreeMap<String, Vec<u8>>),
}

impl Stored {
    pub fn product(&self, sku: &str) -> Result<Product, CatalogueDocError> {
        match self {
            Stored::Legacy(l) => {
                let mut p = Product::new(&l.sku, l.barcode.as_deref(), &l.name, l.price);
                p.card = l.card.clone();
                Ok(p)
            }
            Stored::Fields(_, f) => product(sku, f),
        }
    }
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).expect("encoding to memory cannot fail")
}

fn get<T: DeserializeOwned>(
    f: &BTreeMap<String, Vec<u8>>,
    key: &str,
    default: T,
) -> Result<T, CatalogueDocError> {
    match f.get(key) {
        Some(b) => postcard::from_bytes(b).map_err(|e| malformed(format!("{key}: {e}")).into()),
        None => Ok(default),
    }
}

/// Every field of `p` (its sku is the key).
pub(super) fn of(p: &Product) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("barcode", enc(&p.barcode)),
        ("barcodes", enc(&p.barcodes)),
        ("name", enc(&p.name)),
        ("price", enc(&p.price)),
        ("card", enc(&p.card)),
        ("unit", enc(&p.unit)),
        ("unit_label", enc(&p.unit_label)),
        ("member_price", enc(&p.member_price)),
        ("points_multiplier", enc(&p.points_multiplier)),
        ("active", enc(&p.active)),
        ("category", enc(&p.category)),
        ("stocked", enc(&p.stocked)),
        ("store_prices", enc(&p.store_prices)),
        ("attributes", enc(&p.attributes)),
    ]
}

fn product(sku: &str, f: &BTreeMap<String, Vec<u8>>) -> Result<Product, CatalogueDocError> {
    let d = Product::new(sku, None, "", Money::ZERO);
    Ok(Product {
        sku: sku.to_string(),
        barcode: get(f, "barcode", d.barcode)?,
        barcodes: get(f, "barcodes", d.barcodes)?,
        name: get(f, "name", d.name)?,
        price: get(f, "price", d.price)?,
        card: get(f, "card", d.card)?,
        unit: get(f, "unit", d.unit)?,
        unit_label: get(f, "unit_label", d.unit_label)?,
        member_price: get(f, "member_price", d.member_price)?,
        points_multiplier: get(f, "points_multiplier", d.points_multiplier)?,
        active: get(f, "active", d.active)?,
        category: get(f, "category", d.category)?,
        stocked: get(f, "stocked", d.stocked)?,
        store_prices: get(f, "store_prices", d.store_prices)?,
        attributes: get(f, "attributes", d.attributes)?,
    })
}

pub(super) fn of_category(c: &Category) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("name", enc(&c.name)),
        ("parent", enc(&c.parent)),
        ("attributes", enc(&c.attributes)),
    ]
}

pub(super) fn category(
    id: &str,
    f: &BTreeMap<String, Vec<u8>>,
) -> Result<Category, CatalogueDocError> {
    let c = Category {
        id: CategoryId(id.to_string()),
        name: get(f, "name", String::new())?,
        parent: get(f, "parent", None)?,
        attributes: get(f, "attributes", Vec::new())?,
    };
    Ok(c)
}

/// The fields of a map: each a bytes scalar.
pub(super) fn read_map(
    doc: &Automerge,
    obj: &ObjId,
) -> Result<BTreeMap<String, Vec<u8>>, CatalogueDocError> {
    let mut out = BTreeMap::new();
    for k in doc.keys(obj) {
        match doc.get(obj, k.as_str()).map_err(malformed)? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Bytes(b) => {
                    out.insert(k, b.clone());
                }
                _ => return Err(malformed(format!("field {k} is not bytes")).into()),
            },
            _ => return Err(malformed(format!("field {k} is not a value")).into()),
        }
    }
    Ok(out)
}
