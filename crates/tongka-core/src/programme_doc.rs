//! The chain's programme (recharge offers, levels, points rule) as an
//! automerge document, so that edits converge on every node whatever order
//! they arrive in.
//!
//! Layout (root map): `recharge_offers`, `levels`, `points_per_yuan`,
//! `points_deduction` (`Option<PointsDeduction>`; absent in documents
//! written before it existed, and in the initial document: off),
//! `refund_approval_above` (`Option<Money>`; absent: the default limit,
//! `programme::REFUND_APPROVAL_ABOVE`, so the initial document's bytes
//! stay as every node has them), `negative_stock`
//! (`stock::NegativeStock`; absent: allow), and one
//! `coupon_template:<id>` per coupon template (none in the initial
//! document; a template removed is a key deleted), each a register holding
//! the postcard encoding of that part. A part is
//! replaced as a whole: concurrent edits of different parts both stay,
//! concurrent edits of one part resolve to one of them (automerge's
//! deterministic winner). `Programme::validate` checks each part on its
//! own, so any merge of valid edits is valid.
//!
//! Every node starts from the same document: the default programme written
//! by the fixed actor `tongka-default` at time 0 (`initial`), equal bytes
//! everywhere. A change is authored like a profile change (actor = origin
//! node, time = the op's HLC ms) and travels in `OpBody::ProgrammeChanged`;
//! applying, loading and canonical saving are `profile_doc`'s.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT, ReadDoc, ScalarValue, Value};

use crate::clock::Hlc;
use crate::coupon::CouponTemplate;
use crate::ids::NodeId;
pub use crate::profile_doc::{DocError, apply, canonical, load};
use crate::profile_doc::{make_change, malformed, options};
use crate::programme::{Level, Programme, ProgrammeError, RechargeOffer};

/// The actor of the initial document's one change.
pub const DEFAULT_ACTOR: &str = "tongka-default";

const OFFERS: &str = "recharge_offers";
const LEVELS: &str = "levels";
const POINTS: &str = "points_per_yuan";
const DEDUCTION: &str = "points_deduction";
const REFUND_LIMIT: &str = "refund_approval_above";
const NEGATIVE_STOCK: &str = "negative_stock";
/// The prefix of a coupon template's key: `coupon_template:<id>`.
const TEMPLATE: &str = "coupon_template:";

/// The coupon templates a document holds, by id.
fn templates(doc: &Automerge) -> Result<Vec<CouponTemplate>, DocError> {
    let mut out = Vec::new();
    for key in doc.keys(ROOT) {
        if let Some(id) = key.strip_prefix(TEMPLATE) {
            let t: CouponTemplate = part(doc, &key)?;
            if t.id != id {
                return Err(malformed(format!("{key} holds template {}", t.id)));
            }
            out.push(t);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).expect("encoding to memory cannot fail")
}

/// The document every node starts from: the default programme, equal
/// bytes everywhere.
pub fn initial() -> Automerge {
    let p = Programme::default();
    let mut doc = Automerge::new();
    doc.set_actor(ActorId::from(DEFAULT_ACTOR.as_bytes()));
    let mut tx = doc.transaction();
    let r = (|| -> Result<(), automerge::AutomergeError> {
        tx.put(ROOT, OFFERS, ScalarValue::Bytes(enc(&p.recharge_offers)))?;
        tx.put(ROOT, LEVELS, ScalarValue::Bytes(enc(&p.levels)))?;
        tx.put(ROOT, POINTS, ScalarValue::Bytes(enc(&p.points_per_yuan)))?;
        Ok(())
    })();
    r.expect("writing fresh keys of a fresh document cannot fail");
    tx.commit_with(options(Hlc { ms: 0, count: 0 }));
    doc
}

fn part<T: serde::de::DeserializeOwned>(doc: &Automerge, key: &str) -> Result<T, DocError> {
    match doc.get(ROOT, key).map_err(malformed)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Bytes(b) => postcard::from_bytes(b).map_err(malformed),
            _ => Err(malformed(format!("{key} is not bytes"))),
        },
        _ => Err(malformed(format!("{key} missing"))),
    }
}

/// Why a document or change cannot be the programme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProgrammeDocError {
    #[error(transparent)]
    Doc(#[from] DocError),
    #[error("the programme it makes is invalid: {0}")]
    Invalid(#[from] ProgrammeError),
}

/// The programme a document holds, checked.
pub fn materialise(doc: &Automerge) -> Result<Programme, ProgrammeDocError> {
    let p = Programme {
        recharge_offers: part::<Vec<RechargeOffer>>(doc, OFFERS)?,
        levels: part::<Vec<Level>>(doc, LEVELS)?,
        points_per_yuan: part(doc, POINTS)?,
        points_deduction: match doc.get(ROOT, DEDUCTION).map_err(malformed)? {
            None => None,
            Some(_) => part(doc, DEDUCTION)?,
        },
        coupon_templates: templates(doc)?,
        refund_approval_above: match doc.get(ROOT, REFUND_LIMIT).map_err(malformed)? {
            None => Some(crate::programme::REFUND_APPROVAL_ABOVE),
            Some(_) => part(doc, REFUND_LIMIT)?,
        },
        negative_stock: match doc.get(ROOT, NEGATIVE_STOCK).map_err(malformed)? {
            None => crate::stock::NegativeStock::Allow,
            Some(_) => part(doc, NEGATIVE_STOCK)?,
        },
    };
    // As stored: a programme an older HQ wrote still reads (its text is
    // checked when HQ writes it, in `change`).
    p.validate_stored()?;
    Ok(p)
}

/// Make the change that turns `doc`'s programme into `asked` as `origin`
/// at `at`: only the parts that differ are written (so a concurrent edit
/// of another part stays). Commits it to `doc` and returns its bytes,
/// `None` when nothing differs. `asked` must be valid.
pub fn change(
    doc: &mut Automerge,
    origin: &NodeId,
    at: Hlc,
    asked: &Programme,
) -> Result<Option<Vec<u8>>, ProgrammeDocError> {
    asked.validate()?;
    let current = materialise(doc)?;
    Ok(make_change(doc, origin, at, |tx| {
        if current.recharge_offers != asked.recharge_offers {
            tx.put(
                ROOT,
                OFFERS,
                ScalarValue::Bytes(enc(&asked.recharge_offers)),
            )?;
        }
        if current.levels != asked.levels {
            tx.put(ROOT, LEVELS, ScalarValue::Bytes(enc(&asked.levels)))?;
        }
        if current.points_per_yuan != asked.points_per_yuan {
            tx.put(
                ROOT,
                POINTS,
                ScalarValue::Bytes(enc(&asked.points_per_yuan)),
            )?;
        }
        if current.points_deduction != asked.points_deduction {
            tx.put(
                ROOT,
                DEDUCTION,
                ScalarValue::Bytes(enc(&asked.points_deduction)),
            )?;
        }
        if current.refund_approval_above != asked.refund_approval_above {
            tx.put(
                ROOT,
                REFUND_LIMIT,
                ScalarValue::Bytes(enc(&asked.refund_approval_above)),
            )?;
        }
        if current.negative_stock != asked.negative_stock {
            tx.put(
                ROOT,
                NEGATIVE_STOCK,
                ScalarValue::Bytes(enc(&asked.negative_stock)),
            )?;
        }
        // One key per template: only those added, changed or removed.
        for t in &asked.coupon_templates {
            if !current.coupon_templates.contains(t) {
                tx.put(
                    ROOT,
                    format!("{TEMPLATE}{}", t.id),
                    ScalarValue::Bytes(enc(t)),
                )?;
            }
        }
        for t in &current.coupon_templates {
            if !asked.coupon_templates.iter().any(|a| a.id == t.id) {
                tx.delete(ROOT, format!("{TEMPLATE}{}", t.id))?;
            }
        }
        Ok(())
    }))
}

/// Apply a change `origin` made (from a `ProgrammeChanged` op) to the
/// document held as `bytes`: the new document's bytes (canonical) and the
/// programme it holds. A change that does not apply or would make an
/// invalid programme is refused and nothing changes.
pub fn apply_to(
    bytes: &[u8],
    origin: &NodeId,
    change: &[u8],
) -> Result<(Vec<u8>, Programme), ProgrammeDocError> {
    let mut doc = load(bytes)?;
    apply(&mut doc, origin, change)?;
    let p = materialise(&doc)?;
    Ok((doc.save(), p))
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

    #[test]
    fn initial_is_the_default_programme_with_equal_bytes() {
        assert_eq!(initial().save(), initial().save());
        assert_eq!(materialise(&initial()).unwrap(), Programme::default());
    }

    #[test]
    fn an_edit_applies_elsewhere_and_changes_only_its_part() {
        let hq = n("hq");
        let mut doc = initial();
        let mut asked = Programme::default();
        asked.recharge_offers[0].bonus = Money::from_yuan(150);
        let ch = change(&mut doc, &hq, at(10), &asked).unwrap().unwrap();
        assert_eq!(materialise(&doc).unwrap(), asked);
        let (bytes, p) = apply_to(&initial().save(), &hq, &ch).unwrap();
        assert_eq!(p, asked);
        assert_eq!(bytes, doc.save());
        // Nothing differs: no change.
        assert_eq!(change(&mut doc, &hq, at(11), &asked).unwrap(), None);
    }

    fn template(id: &str, off_fen: i64) -> CouponTemplate {
        use crate::coupon::{Benefit, CouponKind, Scope, Validity};
        CouponTemplate {
            id: id.into(),
            name: format!("券 {id}"),
            kind: CouponKind::Cash,
            benefit: Benefit::AmountOff {
                off: Money::from_fen(off_fen),
            },
            validity: Validity::DaysFromIssue { days: 30 },
            scope: Scope::default(),
            uses: 1,
            min_spend: Money::ZERO,
            per_member_limit: 0,
        }
    }

    /// Each coupon template is a part of its own: edits of two templates
    /// made concurrently (at HQ and at a chain-less node's copy) both stay,
    /// a removal removes, and the programme lists them by id.
    #[test]
    fn coupon_templates_are_parts_of_their_own() {
        let hq = n("hq");
        let mut doc = initial();
        let two = Programme {
            coupon_templates: vec![template("b-ten", 1_000), template("a-five", 500)],
            ..Programme::default()
        };
        let ch = change(&mut doc, &hq, at(5), &two).unwrap().unwrap();
        let p = materialise(&doc).unwrap();
        let ids: Vec<&str> = p.coupon_templates.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["a-five", "b-ten"]);
        let (base, _) = apply_to(&initial().save(), &hq, &ch).unwrap();
        // Two edits from the same base, of different templates.
        let mut left = load(&base).unwrap();
        let mut right = load(&base).unwrap();
        let mut l = materialise(&left).unwrap();
        l.coupon_templates[0] = template("a-five", 600);
        let cl = change(&mut left, &hq, at(6), &l).unwrap().unwrap();
        let mut r = materialise(&right).unwrap();
        r.coupon_templates.retain(|t| t.id != "b-ten");
        r.coupon_templates.push(template("c-new", 100));
        let cr = change(&mut right, &n("hq2"), at(7), &r).unwrap().unwrap();
        let mut merged = load(&base).unwrap();
        apply(&mut merged, &hq, &cl).unwrap();
        apply(&mut merged, &n("hq2"), &cr).unwrap();
        let got = materialise(&merged).unwrap().coupon_templates;
        assert_eq!(got, vec![template("a-five", 600), template("c-new", 100)]);
        // An invalid template is refused, nothing changes.
        let mut bad = materialise(&merged).unwrap();
        bad.coupon_templates.push(template("Bad Id", 100));
        assert!(matches!(
            change(&mut merged, &hq, at(8), &bad),
            Err(ProgrammeDocError::Invalid(ProgrammeError::CouponTemplate {
                template: 3,
                ..
            }))
        ));
        let mut twice = materialise(&merged).unwrap();
        twice.coupon_templates.push(template("c-new", 5));
        assert!(matches!(
            change(&mut merged, &hq, at(9), &twice),
            Err(ProgrammeDocError::Invalid(
                ProgrammeError::CouponTemplateIds
            ))
        ));
        assert_eq!(materialise(&merged).unwrap().coupon_templates, got);
    }

    #[test]
    fn the_points_deduction_rule_is_a_part_of_its_own() {
        let hq = n("hq");
        let mut doc = initial();
        // A document of before (no `points_deduction` key): off.
        assert_eq!(materialise(&doc).unwrap().points_deduction, None);
        let asked = Programme {
            points_deduction: Some(crate::programme::PointsDeduction {
                points_per_yuan: 100,
                cap: rust_decimal::Decimal::new(5, 1),
                min_points: 100,
            }),
            ..Programme::default()
        };
        let ch = change(&mut doc, &hq, at(5), &asked).unwrap().unwrap();
        let (_, p) = apply_to(&initial().save(), &hq, &ch).unwrap();
        assert_eq!(p, asked);
        // Turned off again.
        let off = change(&mut doc, &hq, at(6), &Programme::default())
            .unwrap()
            .unwrap();
        assert_eq!(materialise(&doc).unwrap(), Programme::default());
        assert!(!off.is_empty());
        // An invalid rule is refused with its code.
        let bad = Programme {
            points_deduction: Some(crate::programme::PointsDeduction {
                points_per_yuan: 0,
                cap: rust_decimal::Decimal::ONE,
                min_points: 0,
            }),
            ..Programme::default()
        };
        assert!(matches!(
            change(&mut doc, &hq, at(7), &bad),
            Err(ProgrammeDocError::Invalid(ProgrammeError::DeductionRate))
        ));
    }

    #[test]
    fn an_invalid_edit_is_refused_and_a_foreign_actor_too() {
        let hq = n("hq");
        let mut doc = initial();
        let before = doc.save();
        let bad = Programme {
            points_per_yuan: rust_decimal::Decimal::new(-1, 0),
            ..Programme::default()
        };
        assert!(matches!(
            change(&mut doc, &hq, at(1), &bad),
            Err(ProgrammeDocError::Invalid(ProgrammeError::PointsRate))
        ));
        assert_eq!(doc.save(), before);
        let asked = Programme {
            points_per_yuan: rust_decimal::Decimal::new(2, 0),
            ..Programme::default()
        };
        let ch = change(&mut doc, &hq, at(2), &asked).unwrap().unwrap();
        assert!(matches!(
            apply_to(&before, &n("store-1"), &ch),
            Err(ProgrammeDocError::Doc(DocError::Author { .. }))
        ));
    }

    fn edit() -> impl Strategy<Value = (u8, i64)> {
        (0u8..4, 1i64..9)
    }

    fn asked_of(base: &Programme, (which, v): (u8, i64)) -> Programme {
        let mut p = base.clone();
        match which {
            0 => p.recharge_offers[0].bonus = Money::from_yuan(v * 10),
            1 => p.levels[1].rate = rust_decimal::Decimal::new(90 + v, 2),
            2 => p.points_per_yuan = rust_decimal::Decimal::new(v, 0),
            _ => {
                p.points_deduction = Some(crate::programme::PointsDeduction {
                    points_per_yuan: v * 10,
                    cap: rust_decimal::Decimal::new(v, 1),
                    min_points: v,
                })
            }
        }
        p
    }

    proptest! {
        /// Concurrent edits by several authors, each on what it had seen,
        /// delivered to replicas in any causal order: same programme, same
        /// bytes, and a valid programme.
        #[test]
        fn concurrent_edits_converge(
            edits in proptest::collection::vec((0usize..3, edit()), 1..8),
            seed in any::<u64>(),
        ) {
            let authors = [n("hq"), n("hq-b"), n("hq-c")];
            let mut docs: Vec<Automerge> = (0..3).map(|_| initial()).collect();
            // (author, change) in the order made; each author builds on its own doc.
            let mut made: Vec<(usize, Vec<u8>)> = Vec::new();
            for (i, (a, e)) in edits.iter().enumerate() {
                let base = materialise(&docs[*a]).unwrap();
                let asked = asked_of(&base, *e);
                if let Some(ch) = change(&mut docs[*a], &authors[*a], at(i as u64 + 1), &asked).unwrap() {
                    made.push((*a, ch));
                }
            }
            // Two replicas apply all changes in different orders, each
            // author's own changes in its order (causal per author; the
            // authors never saw each other's, so that is causal order).
            let mut results = Vec::new();
            for r in 0..2u64 {
                let bytes = crate::testkit::deliver_in_causal_order(
                    initial().save(),
                    3,
                    &made,
                    seed.wrapping_add(r.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                    |b, a, ch| apply_to(b, &authors[a], ch).unwrap().0,
                );
                let p = materialise(&load(&bytes).unwrap()).unwrap();
                results.push((bytes, p));
            }
            prop_assert_eq!(&results[0].1, &results[1].1);
            prop_assert_eq!(&results[0].0, &results[1].0);
        }
    }
}
