//! The chain's product catalogue as an automerge document, authored by HQ
//! (or by a chain-less node for itself), so that edits converge on every
//! node whatever order they arrive in.
//!
//! Layout (root map): one key per sku, a register holding the postcard
//! encoding of that `Product` (sku, barcode, name, price). A product is
//! replaced as a whole: concurrent edits of different products both stay,
//! concurrent edits of one product resolve to one of them (automerge's
//! deterministic winner). Products are never removed (no removal exists).
//! Every edit is checked on its own (`Product::validate`, when it is made),
//! so any merge of valid edits holds valid products. A document is read
//! with `Product::validate_stored` (a name's length, not its characters:
//! `text`), so one written by an older HQ still materialises.
//!
//! Barcodes: an edit that gives a product a barcode another product holds
//! (in its author's view) is refused (`barcode_taken`). Concurrent edits
//! by two authors (several HQ writers, or an old chain-less node) can
//! still leave two products claiming one barcode: `materialise` gives the
//! barcode to the product with the lowest sku (byte order) and shows the
//! others without a barcode (they stay sellable by sku), on every node
//! alike. A later edit of the loser can take a barcode of its own.
//!
//! Every node starts from the same document: the sample catalogue written
//! by the fixed actor `tongka-default` at time 0 (`initial`), equal bytes
//! everywhere. A change is authored like a profile change (actor = origin
//! node, time = the op's HLC ms) and travels in `OpBody::CatalogueChanged`;
//! applying, loading and canonical saving are `profile_doc`'s.

use std::collections::{BTreeMap, HashSet};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT, ReadDoc, ScalarValue, Value};

use crate::catalogue::{Product, ProductError, sample_catalogue};
use crate::clock::Hlc;
use crate::ids::NodeId;
pub use crate::profile_doc::{DocError, apply, canonical, load};
use crate::profile_doc::{make_change, malformed, options};
pub use crate::programme_doc::DEFAULT_ACTOR;

/// The catalogue as the tills use it: products by sku, barcodes resolved
/// (each barcode on one product at most).
pub type Catalogue = BTreeMap<String, Product>;

fn enc(p: &Product) -> Vec<u8> {
    postcard::to_allocvec(p).expect("encoding to memory cannot fail")
}

/// The document every node starts from: the sample catalogue, equal bytes
/// everywhere.
pub fn initial() -> Automerge {
    let mut doc = Automerge::new();
    doc.set_actor(ActorId::from(DEFAULT_ACTOR.as_bytes()));
    let mut tx = doc.transaction();
    let r = (|| -> Result<(), automerge::AutomergeError> {
        for p in sample_catalogue() {
            tx.put(ROOT, p.sku.as_str(), ScalarValue::Bytes(enc(&p)))?;
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

/// The products as written, barcodes unresolved.
fn entries(doc: &Automerge) -> Result<Catalogue, CatalogueDocError> {
    let mut out = Catalogue::new();
    for sku in doc.keys(ROOT) {
        let p: Product = match doc.get(ROOT, sku.as_str()).map_err(malformed)? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Bytes(b) => postcard::from_bytes(b).map_err(malformed)?,
                _ => return Err(malformed(format!("{sku} is not bytes")).into()),
            },
            _ => return Err(malformed(format!("{sku} is not a product")).into()),
        };
        if p.sku != sku {
            return Err(malformed(format!("{sku} holds product {}", p.sku)).into());
        }
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
    }
    Ok(out)
}

/// Make the change that puts `asked` (new products or new versions of
/// existing ones) into `doc`'s catalogue as `origin` at `at`: only the
/// products that differ are written. Commits it to `doc` and returns its
/// bytes, `None` when nothing differs. Each product is validated; a
/// barcode held by another product (here or among `asked`) is refused.
pub fn change(
    doc: &mut Automerge,
    origin: &NodeId,
    at: Hlc,
    asked: &[Product],
) -> Result<Option<Vec<u8>>, CatalogueDocError> {
    let current = entries(doc)?;
    // The catalogue as it would be: each barcode asked must be on no other
    // product of it (a product moving its barcode away in the same edit
    // frees it).
    let mut after = current.clone();
    for p in asked {
        p.validate()?;
        after.insert(p.sku.clone(), p.clone());
    }
    let mut writes = Vec::new();
    for p in asked {
        if let Some(b) = &p.barcode
            && after
                .values()
                .any(|o| o.sku != p.sku && o.barcode.as_deref() == Some(b.as_str()))
        {
            return Err(ProductError::BarcodeTaken(b.clone()).into());
        }
        if current.get(&p.sku) != Some(p) {
            writes.push(p);
        }
    }
    if writes.is_empty() {
        return Ok(None);
    }
    Ok(make_change(doc, origin, at, |tx| {
        for p in writes {
            tx.put(ROOT, p.sku.as_str(), ScalarValue::Bytes(enc(p)))?;
        }
        Ok(())
    }))
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
    Ok((doc.save(), c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use proptest::prelude::*;

    fn n(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn at(ms: u64) -> Hlc {
        Hlc { ms, count: 0 }
    }

    fn product(sku: &str, barcode: Option<&str>, fen: i64) -> Product {
        Product {
            sku: sku.into(),
            barcode: barcode.map(Into::into),
            name: format!("name {sku}"),
            price: Money::from_fen(fen),
            card: None,
        }
    }

    #[test]
    fn initial_is_the_sample_catalogue_with_equal_bytes() {
        assert_eq!(initial().save(), initial().save());
        let c = materialise(&initial()).unwrap();
        let sample: Catalogue = sample_catalogue()
            .into_iter()
            .map(|p| (p.sku.clone(), p))
            .collect();
        assert_eq!(c, sample);
    }

    #[test]
    fn an_edit_applies_elsewhere_and_writes_only_what_differs() {
        let hq = n("hq");
        let mut doc = initial();
        let mut latte = materialise(&doc).unwrap()["latte"].clone();
        latte.price = Money::from_fen(3500);
        let tea = product("tea", Some("6900000000017"), 1800);
        let ch = change(&mut doc, &hq, at(10), &[latte.clone(), tea.clone()])
            .unwrap()
            .unwrap();
        let (bytes, c) = apply_to(&initial().save(), &hq, &ch).unwrap();
        assert_eq!(c["latte"], latte);
        assert_eq!(c["tea"], tea);
        assert_eq!(c.len(), sample_catalogue().len() + 1);
        assert_eq!(bytes, canonical(&doc).unwrap().save());
        assert_eq!(change(&mut doc, &hq, at(11), &[latte]).unwrap(), None);
    }

    #[test]
    fn invalid_edits_taken_barcodes_and_foreign_actors_are_refused() {
        let hq = n("hq");
        let mut doc = initial();
        let before = doc.save();
        let bad = product("bad sku", None, 100);
        assert!(matches!(
            change(&mut doc, &hq, at(1), &[bad]),
            Err(CatalogueDocError::Invalid(ProductError::Sku))
        ));
        let mut neg = product("neg", None, 0);
        neg.price = Money::from_fen(-1);
        assert!(matches!(
            change(&mut doc, &hq, at(1), &[neg]),
            Err(CatalogueDocError::Invalid(ProductError::Price))
        ));
        // coffee's barcode.
        let thief = product("thief", Some("6901234567892"), 100);
        assert!(matches!(
            change(&mut doc, &hq, at(1), std::slice::from_ref(&thief)),
            Err(CatalogueDocError::Invalid(ProductError::BarcodeTaken(_)))
        ));
        assert_eq!(doc.save(), before);
        // Moving the barcode away from coffee in the same edit frees it.
        let mut coffee = materialise(&doc).unwrap()["coffee"].clone();
        coffee.barcode = None;
        let ch = change(&mut doc, &hq, at(2), &[coffee, thief])
            .unwrap()
            .unwrap();
        assert_eq!(
            materialise(&doc).unwrap()["thief"].barcode.as_deref(),
            Some("6901234567892")
        );
        assert!(matches!(
            apply_to(&before, &n("store-1"), &ch),
            Err(CatalogueDocError::Doc(DocError::Author { .. }))
        ));
    }

    #[test]
    fn a_barcode_claimed_concurrently_goes_to_the_lowest_sku() {
        let (a, b) = (n("hq"), n("hq-b"));
        let mut x = initial();
        let mut y = initial();
        let cx = change(&mut x, &a, at(1), &[product("zz", Some("111111"), 100)])
            .unwrap()
            .unwrap();
        let cy = change(&mut y, &b, at(1), &[product("aa", Some("111111"), 200)])
            .unwrap()
            .unwrap();
        apply(&mut x, &b, &cy).unwrap();
        apply(&mut y, &a, &cx).unwrap();
        assert_eq!(x.save(), y.save());
        let c = materialise(&x).unwrap();
        assert_eq!(c["aa"].barcode.as_deref(), Some("111111"));
        assert_eq!(c["zz"].barcode, None);
    }

    fn edit() -> impl Strategy<Value = (u8, u8, i64)> {
        // (which sku, which barcode or none, price in fen)
        (0u8..6, 0u8..4, 0i64..5000)
    }

    fn asked_of(base: &Catalogue, (which, code, fen): (u8, u8, i64)) -> Vec<Product> {
        let skus = ["coffee", "latte", "bread", "tea", "cake", "zz"];
        let sku = skus[which as usize];
        let barcode = match code {
            0 => None,
            c => Some(format!("90000{c}")),
        };
        let mut p = base
            .get(sku)
            .cloned()
            .unwrap_or_else(|| product(sku, None, 1));
        p.price = Money::from_fen(fen);
        // Only a barcode free in the author's view (others keep theirs).
        if barcode.as_deref().is_none_or(|b| {
            !base
                .values()
                .any(|o| o.sku != sku && o.barcode.as_deref() == Some(b))
        }) {
            p.barcode = barcode;
        }
        vec![p]
    }

    proptest! {
        /// Concurrent catalogue edits by several authors, each on what it
        /// had seen, delivered to replicas in any causal order: same bytes,
        /// same catalogue, and each barcode on one product at most.
        #[test]
        fn concurrent_edits_converge(
            edits in proptest::collection::vec((0usize..3, edit()), 1..10),
            seed in any::<u64>(),
        ) {
            let authors = [n("hq"), n("hq-b"), n("hq-c")];
            let mut docs: Vec<Automerge> = (0..3).map(|_| initial()).collect();
            let mut made: Vec<(usize, Vec<u8>)> = Vec::new();
            for (i, (a, e)) in edits.iter().enumerate() {
                let base = entries(&docs[*a]).unwrap();
                let asked = asked_of(&base, *e);
                if let Some(ch) = change(&mut docs[*a], &authors[*a], at(i as u64 + 1), &asked).unwrap() {
                    made.push((*a, ch));
                }
            }
            let mut results = Vec::new();
            for r in 0..2u64 {
                let bytes = crate::testkit::deliver_in_causal_order(
                    initial().save(),
                    3,
                    &made,
                    seed.wrapping_add(r.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                    |b, a, ch| apply_to(b, &authors[a], ch).unwrap().0,
                );
                let c = materialise(&load(&bytes).unwrap()).unwrap();
                let mut barcodes: Vec<&String> = c.values().filter_map(|p| p.barcode.as_ref()).collect();
                let all = barcodes.len();
                barcodes.sort();
                barcodes.dedup();
                prop_assert_eq!(all, barcodes.len());
                results.push((bytes, c));
            }
            prop_assert_eq!(&results[0].1, &results[1].1);
            prop_assert_eq!(&results[0].0, &results[1].0);
        }
    }
}
