//! The chain's product catalogue as an automerge document, authored by HQ
//! (or by a chain-less node for itself), so that edits converge on every
//! node whatever order they arrive in.
//!
//! Layout (root map):
//! - one key per sku, a map of field → value (`fields`: each value the
//!   postcard encoding of that field), so concurrent edits of *different
//!   fields* of one product both stay; concurrent edits of one field
//!   resolve to one of them (automerge's deterministic winner). An edit
//!   writes only the fields that differ from its author's view.
//! - the old layout, still read: a sku's key holding a register of the
//!   postcard encoding of the whole product (API v1's five fields,
//!   `Legacy`). The sample catalogue of `initial` is in it, and an edit of
//!   such a product replaces the register by a map of every field; two
//!   authors doing that first edit of one product concurrently make two
//!   maps, and one wins whole (the only place field edits can be lost).
//! - one key per category, `@category:<id>` (no sku holds `@`), a map of
//!   its fields (name, parent, attributes): `catalogue::category`.
//!
//! Products and categories are never removed (no removal exists). Every
//! edit is checked on its own (`Product::validate`, `validate_in`,
//! `Category::validate`, when it is made), so any merge of valid edits
//! holds valid products. A document is read with
//! `Product::validate_stored` (a name's length, not its characters:
//! `text`), so one written by an older HQ still materialises.
//!
//! Barcodes: an edit that gives a product a barcode (primary or other)
//! another product holds (in its author's view) is refused
//! (`barcode_taken`). Concurrent edits can still leave two products
//! claiming one barcode: `materialise` gives it to the product with the
//! lowest sku (byte order) and shows the others without it (a primary
//! becomes none; they stay sellable by sku), on every node alike. A
//! barcode a product lists twice after concurrent edits (as its primary
//! and among its others) is shown once, as the primary.
//!
//! Every node starts from the same document: the sample catalogue written
//! by the fixed actor `tongka-default` at time 0 (`initial`, in the old
//! layout, equal bytes everywhere and to every build before). A change is
//! authored like a profile change (actor = origin node, time = the op's
//! HLC ms) and travels in `OpBody::CatalogueChanged`; applying, loading
//! and canonical saving are `profile_doc`'s. A build before per-field
//! layout cannot read a change in it (the catalogue change is logged
//! rejected there): a chain upgrades its stores before HQ.

mod fields;

use std::collections::{BTreeMap, HashSet};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::catalogue::{
    Categories, Category, CategoryError, CategoryId, Product, ProductError, resolve,
    sample_catalogue,
};
use crate::clock::Hlc;
use crate::ids::NodeId;
pub use crate::profile_doc::{DocError, apply, canonical, load};
use crate::profile_doc::{make_change, malformed, options};
pub use crate::programme_doc::DEFAULT_ACTOR;
use fields::{Legacy, Stored};

/// The catalogue as the tills use it: products by sku, barcodes resolved
/// (each barcode on one product at most).
pub type Catalogue = BTreeMap<String, Product>;

/// Every barcode of a catalogue (primary and others, as resolved) → its
/// sku: what a till's scan looks up.
pub type Barcodes = std::collections::HashMap<String, String>;

pub fn barcodes(c: &Catalogue) -> Barcodes {
    c.values()
        .flat_map(|p| p.all_barcodes().map(|b| (b.clone(), p.sku.clone())))
        .collect()
}

/// The root key of a category.
const CATEGORY_PREFIX: &str = "@category:";

/// The document every node starts from: the sample catalogue, equal bytes
/// everywhere (in the old layout, as every build wrote it).
pub fn initial() -> Automerge {
    let mut doc = Automerge::new();
    doc.set_actor(ActorId::from(DEFAULT_ACTOR.as_bytes()));
    let mut tx = doc.transaction();
    let r = (|| -> Result<(), automerge::AutomergeError> {
        for p in sample_catalogue() {
            tx.put(
                ROOT,
                p.sku.as_str(),
                ScalarValue::Bytes(Legacy::of(&p).encode()),
            )?;
        }
        Ok(())
    })();
    r.expect("writing fresh keys of a fresh document cannot fail");
    tx.commit_with(options(Hlc { ms: 0, count: 0 }));
    doc
}

/// Why a document or change cannot be the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueDocError {
    #[error(transparent)]
    Doc(#[from] DocError),
    #[error("the catalogue it makes is invalid: {0}")]
    Invalid(#[from] ProductError),
}

impl From<CategoryError> for CatalogueDocError {
    fn from(e: CategoryError) -> Self {
        CatalogueDocError::Invalid(e.into())
    }
}

/// The products as stored, by sku: each in its layout.
fn stored(doc: &Automerge) -> Result<BTreeMap<String, Stored>, CatalogueDocError> {
    let mut out = BTreeMap::new();
    for key in doc.keys(ROOT) {
        if key.starts_with('@') {
            continue;
        }
        let s = match doc.get(ROOT, key.as_str()).map_err(malformed)? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Bytes(b) => Stored::Legacy(Legacy::decode(b)?),
                _ => return Err(malformed(format!("{key} is not bytes")).into()),
            },
            Some((Value::Object(ObjType::Map), obj)) => {
                Stored::Fields(obj.clone(), fields::read_map(doc, &obj)?)
            }
            _ => return Err(malformed(format!("{key} is not a product")).into()),
        };
        out.insert(key, s);
    }
    Ok(out)
}

/// The products as written, barcodes unresolved.
fn entries(doc: &Automerge) -> Result<Catalogue, CatalogueDocError> {
    let mut out = Catalogue::new();
    for (sku, s) in stored(doc)? {
        let mut p = s.product(&sku)?;
        if p.sku != sku {
            return Err(malformed(format!("{sku} holds product {}", p.sku)).into());
        }
        // A barcode listed twice by concurrent edits of two fields: once.
        let primary = p.barcode.clone();
        let mut seen: HashSet<String> = primary.into_iter().collect();
        p.barcodes.retain(|b| seen.insert(b.clone()));
        // As stored: what HQ wrote is what every node holds (its text is
        // checked when HQ writes it, in `change`).
        p.validate_stored()?;
        out.insert(sku, p);
    }
    Ok(out)
}

/// The catalogue a document holds, checked, barcodes resolved: a barcode
/// two products claim stays with the lowest sku.
pub fn materialise(doc: &Automerge) -> Result<Catalogue, CatalogueDocError> {
    let mut out = entries(doc)?;
    let mut seen: HashSet<String> = HashSet::new();
    // BTreeMap iterates in sku order: the first claimant keeps it.
    for p in out.values_mut() {
        if let Some(b) = &p.barcode
            && !seen.insert(b.clone())
        {
            p.barcode = None;
        }
        p.barcodes.retain(|b| seen.insert(b.clone()));
    }
    Ok(out)
}

/// The categories a document holds, cycles broken (`category::resolve`).
pub fn categories(doc: &Automerge) -> Result<Categories, CatalogueDocError> {
    let mut out = Categories::new();
    for key in doc.keys(ROOT) {
        let Some(id) = key.strip_prefix(CATEGORY_PREFIX) else {
            continue;
        };
        let obj = match doc.get(ROOT, key.as_str()).map_err(malformed)? {
            Some((Value::Object(ObjType::Map), obj)) => obj,
            _ => return Err(malformed(format!("{key} is not a category")).into()),
        };
        let c = fields::category(id, &fields::read_map(doc, &obj)?)?;
        out.insert(c.id.clone(), c);
    }
    resolve(&mut out);
    Ok(out)
}

/// Make the change that puts `asked` (new products or new versions of
/// existing ones) into `doc`'s catalogue as `origin` at `at`: only the
/// fields that differ are written. Commits it to `doc` and returns its
/// bytes, `None` when nothing differs. Each product is validated, its
/// category and attributes against the categories; a barcode held by
/// another product (here or among `asked`) is refused.
pub fn change(
    doc: &mut Automerge,
    origin: &NodeId,
    at: Hlc,
    asked: &[Product],
) -> Result<Option<Vec<u8>>, CatalogueDocError> {
    let held = stored(doc)?;
    let current = materialise(doc)?;
    let cats = categories(doc)?;
    // The catalogue as it would be: each barcode asked must be on no other
    // product of it (a product moving its barcode away in the same edit
    // frees it).
    let mut after = current.clone();
    for p in asked {
        p.validate()?;
        p.validate_in(&cats)?;
        after.insert(p.sku.clone(), p.clone());
    }
    let mut writes = Vec::new();
    for p in asked {
        for b in p.all_barcodes() {
            if after
                .values()
                .any(|o| o.sku != p.sku && o.all_barcodes().any(|x| x == b))
            {
                return Err(ProductError::BarcodeTaken(b.clone()).into());
            }
        }
        let now = fields::of(p);
        match held.get(&p.sku) {
            Some(Stored::Fields(obj, was)) => {
                let differ: Vec<(&'static str, Vec<u8>)> = now
                    .into_iter()
                    .filter(|(k, v)| was.get(*k) != Some(v))
                    .collect();
                if !differ.is_empty() {
                    writes.push((p.sku.clone(), Some(obj.clone()), differ));
                }
            }
            Some(Stored::Legacy(_)) if current.get(&p.sku) == Some(p) => {}
            _ => writes.push((p.sku.clone(), None, now)),
        }
    }
    if writes.is_empty() {
        return Ok(None);
    }
    Ok(make_change(doc, origin, at, |tx| {
        for (sku, obj, values) in writes {
            let obj = match obj {
                Some(o) => o,
                None => tx.put_object(ROOT, sku.as_str(), ObjType::Map)?,
            };
            for (k, v) in values {
                tx.put(&obj, k, ScalarValue::Bytes(v))?;
            }
        }
        Ok(())
    }))
}

/// Make the change that puts `asked` (new categories, renames, moves,
/// attribute definitions) into `doc` as `origin` at `at`: only the fields
/// that differ are written. A parent must exist (here or among `asked`)
/// and a move that would make a cycle is refused (`category_cycle`).
pub fn change_categories(
    doc: &mut Automerge,
    origin: &NodeId,
    at: Hlc,
    asked: &[Category],
) -> Result<Option<Vec<u8>>, CatalogueDocError> {
    let mut after = categories(doc)?;
    for c in asked {
        c.validate()?;
        after.insert(c.id.clone(), c.clone());
    }
    for c in asked {
        if let Some(p) = &c.parent {
            if !after.contains_key(p) {
                return Err(CategoryError::Unknown(p.to_string()).into());
            }
            if has_cycle(&after, &c.id) {
                return Err(CategoryError::Cycle {
                    id: c.id.to_string(),
                    parent: p.to_string(),
                }
                .into());
            }
        }
    }
    let mut writes = Vec::new();
    for c in asked {
        let key = format!("{CATEGORY_PREFIX}{}", c.id);
        let now = fields::of_category(c);
        match doc.get(ROOT, key.as_str()).map_err(malformed)? {
            Some((Value::Object(ObjType::Map), obj)) => {
                let was = fields::read_map(doc, &obj)?;
                let differ: Vec<(&'static str, Vec<u8>)> = now
                    .into_iter()
                    .filter(|(k, v)| was.get(*k) != Some(v))
                    .collect();
                if !differ.is_empty() {
                    writes.push((key, Some(obj), differ));
                }
            }
            _ => writes.push((key, None, now)),
        }
    }
    if writes.is_empty() {
        return Ok(None);
    }
    Ok(make_change(doc, origin, at, |tx| {
        for (key, obj, values) in writes {
            let obj = match obj {
                Some(o) => o,
                None => tx.put_object(ROOT, key.as_str(), ObjType::Map)?,
            };
            for (k, v) in values {
                tx.put(&obj, k, ScalarValue::Bytes(v))?;
            }
        }
        Ok(())
    }))
}

/// Whether walking up from `id` in `cats` (unresolved) comes back to it.
fn has_cycle(cats: &Categories, id: &CategoryId) -> bool {
    let mut at = cats.get(id).and_then(|c| c.parent.as_ref());
    let mut steps = 0;
    while let Some(p) = at {
        if p == id {
            return true;
        }
        steps += 1;
        if steps > cats.len() {
            return true;
        }
        at = cats.get(p).and_then(|c| c.parent.as_ref());
    }
    false
}

/// Apply a change `origin` made (from a `CatalogueChanged` op) to the
/// document held as `bytes`: the new document's bytes (canonical) and the
/// catalogue it holds. A change that does not apply or would make an
/// invalid product is refused and nothing changes.
pub fn apply_to(
    bytes: &[u8],
    origin: &NodeId,
    change: &[u8],
) -> Result<(Vec<u8>, Catalogue), CatalogueDocError> {
    let mut doc = load(bytes)?;
    apply(&mut doc, origin, change)?;
    let c = materialise(&doc)?;
    categories(&doc)?;
    Ok((doc.save(), c))
}

#[cfg(test)]
mod tests;
