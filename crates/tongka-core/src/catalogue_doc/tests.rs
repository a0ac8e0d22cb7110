use super::*;
use crate::catalogue::{Category, CategoryId};
use crate::money::Money;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn at(ms: u64) -> Hlc {
    Hlc { ms, count: 0 }
}

fn product(sku: &str, barcode: Option<&str>, fen: i64) -> Product {
    Product::new(sku, barcode, &format!("name {sku}"), Money::from_fen(fen))
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

/// What `initial` writes is pinned: every node (and every build before
/// the per-field layout) starts from these bytes.
#[test]
fn initial_bytes_are_pinned() {
    let bytes = initial().save();
    assert_eq!(
        blake3::hash(&bytes).to_hex().as_str(),
        INITIAL_HASH,
        "initial() changed: every node must start from equal bytes"
    );
}

const INITIAL_HASH: &str = "212dd9daa9372b17f3e1e14bc9a596963b25925b45734fc4a8828e05bf537ce8";

fn cat(id: &str, parent: Option<&str>, attrs: &[&str]) -> Category {
    Category {
        id: CategoryId(id.into()),
        name: format!("分类 {id}"),
        parent: parent.map(|p| CategoryId(p.into())),
        attributes: attrs.iter().map(|a| a.to_string()).collect(),
    }
}

#[test]
fn new_fields_round_trip_and_old_layout_products_convert_on_edit() {
    let hq = n("hq");
    let mut doc = initial();
    change_categories(
        &mut doc,
        &hq,
        at(1),
        &[
            cat("food", None, &["产地"]),
            cat("fruit", Some("food"), &["颜色"]),
        ],
    )
    .unwrap()
    .unwrap();
    let mut latte = materialise(&doc).unwrap()["latte"].clone();
    latte.barcodes = vec!["6900000000200".into()];
    latte.member_price = Some(Money::from_fen(2900));
    latte.points_multiplier = Decimal::new(15, 1);
    latte.category = Some(CategoryId("fruit".into()));
    latte.attributes.insert("产地".into(), "云南".into());
    latte
        .store_prices
        .insert(n("store-1"), Money::from_fen(3100));
    latte.active = false;
    change(&mut doc, &hq, at(2), std::slice::from_ref(&latte))
        .unwrap()
        .unwrap();
    let c = materialise(&doc).unwrap();
    assert_eq!(c["latte"], latte);
    // Others still in the old layout read as before.
    assert_eq!(c["coffee"], sample_catalogue()[0]);
    // An attribute no category of its lineage defines is refused, and so
    // is an unknown category.
    let mut bad = latte.clone();
    bad.attributes.insert("尺码".into(), "L".into());
    assert!(matches!(
        change(&mut doc, &hq, at(3), &[bad]),
        Err(CatalogueDocError::Invalid(ProductError::UnknownAttribute(
            _
        )))
    ));
    let mut bad = latte.clone();
    bad.category = Some(CategoryId("nope".into()));
    assert!(matches!(
        change(&mut doc, &hq, at(3), &[bad]),
        Err(CatalogueDocError::Invalid(ProductError::Category(
            CategoryError::Unknown(_)
        )))
    ));
    // A barcode among another product's others is taken.
    let thief = product("thief", Some("6900000000200"), 100);
    assert!(matches!(
        change(&mut doc, &hq, at(3), &[thief]),
        Err(CatalogueDocError::Invalid(ProductError::BarcodeTaken(_)))
    ));
}

#[test]
fn a_move_that_makes_a_cycle_is_refused_and_concurrent_ones_resolve_alike() {
    let (a, b) = (n("hq"), n("hq-b"));
    let mut x = initial();
    let base = change_categories(
        &mut x,
        &a,
        at(1),
        &[cat("p", None, &[]), cat("q", None, &[])],
    )
    .unwrap()
    .unwrap();
    let mut y = initial();
    apply(&mut y, &a, &base).unwrap();
    let cx = change_categories(&mut x, &a, at(2), &[cat("q", Some("p"), &[])])
        .unwrap()
        .unwrap();
    // In x, p under q is a cycle now.
    assert!(matches!(
        change_categories(&mut x, &a, at(3), &[cat("p", Some("q"), &[])]),
        Err(CatalogueDocError::Invalid(ProductError::Category(
            CategoryError::Cycle { .. }
        )))
    ));
    // y has not seen it: moving p under q is fine there.
    let cy = change_categories(&mut y, &b, at(2), &[cat("p", Some("q"), &[])])
        .unwrap()
        .unwrap();
    apply(&mut x, &b, &cy).unwrap();
    apply(&mut y, &a, &cx).unwrap();
    let (cx, cy) = (categories(&x).unwrap(), categories(&y).unwrap());
    assert_eq!(cx, cy);
    // Broken at the lowest id: p is a root, q stays under it.
    assert_eq!(cx[&CategoryId("p".into())].parent, None);
    assert_eq!(
        cx[&CategoryId("q".into())].parent,
        Some(CategoryId("p".into()))
    );
}

/// A field edit of a product: which field, and a value from a small set.
fn field_edit() -> impl Strategy<Value = (u8, u8)> {
    (0u8..7, 0u8..4)
}

fn edit_field(p: &mut Product, (field, v): (u8, u8)) {
    let v = i64::from(v);
    match field {
        0 => p.price = Money::from_fen(100 + v),
        1 => p.name = format!("name {v}"),
        2 => p.member_price = Some(Money::from_fen(50 + v)),
        3 => p.points_multiplier = Decimal::from(v),
        4 => p.active = v % 2 == 0,
        5 => p.unit_label = format!("u{v}"),
        _ => {
            p.store_prices.insert(n("store-1"), Money::from_fen(70 + v));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Two authors edit fields of the same products concurrently (on a
    /// common base in the per-field layout), delivered in any order: the
    /// same catalogue everywhere, and an edit of a field the other author
    /// did not touch is kept.
    #[test]
    fn concurrent_edits_of_different_fields_both_survive(
        edits in proptest::collection::vec((0usize..2, 0usize..2, field_edit()), 1..12),
        seed in any::<u64>(),
    ) {
        let authors = [n("hq"), n("hq-b")];
        let skus = ["tea", "cake"];
        let mut base = initial();
        let first = change(
            &mut base,
            &authors[0],
            at(1),
            &[product("tea", Some("900001"), 100), product("cake", None, 200)],
        ).unwrap().unwrap();
        let mut docs = [base.fork(), base.fork()];
        let mut made: Vec<(usize, Vec<u8>)> = Vec::new();
        // Which author last wrote each (sku, field), and the value.
        let mut last: BTreeMap<(usize, u8), (usize, Product)> = BTreeMap::new();
        for (i, (a, which, e)) in edits.iter().enumerate() {
            let mut p = materialise(&docs[*a]).unwrap()[skus[*which]].clone();
            edit_field(&mut p, *e);
            if let Some(ch) = change(&mut docs[*a], &authors[*a], at(i as u64 + 2), std::slice::from_ref(&p)).unwrap() {
                made.push((*a, ch));
            }
            last.insert((*which, e.0), (*a, p));
        }
        let start = {
            let mut d = initial();
            apply(&mut d, &authors[0], &first).unwrap();
            d.save()
        };
        let mut results = Vec::new();
        for r in 0..2u64 {
            let bytes = crate::testkit::deliver_in_causal_order(
                start.clone(),
                2,
                &made,
                seed.wrapping_add(r.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                |b, a, ch| apply_to(b, &authors[a], ch).unwrap().0,
            );
            results.push((bytes.clone(), materialise(&load(&bytes).unwrap()).unwrap()));
        }
        prop_assert_eq!(&results[0].1, &results[1].1);
        let merged = &results[0].1;
        // A field only one author wrote holds that author's last value.
        for ((which, field), (a, p)) in &last {
            let other_wrote = edits.iter().any(|(b, w, e)| b != a && w == which && e.0 == *field);
            if other_wrote {
                continue;
            }
            let got = field_of(&merged[skus[*which]], *field);
            prop_assert_eq!(got, field_of(p, *field));
        }
    }
}

fn field_of(p: &Product, field: u8) -> String {
    match field {
        0 => p.price.to_string(),
        1 => p.name.clone(),
        2 => format!("{:?}", p.member_price),
        3 => p.points_multiplier.to_string(),
        4 => p.active.to_string(),
        5 => p.unit_label.clone(),
        _ => format!("{:?}", p.store_prices),
    }
}
