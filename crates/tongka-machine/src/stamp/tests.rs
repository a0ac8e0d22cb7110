//! Stamping: ids without gaps, deps exactly what is held of others, the
//! draft carried whole and unsigned.

use proptest::prelude::*;
use tongka_core::Money;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId, RechargeId};
use tongka_core::op::{OpBody, OpDraft};

use super::*;

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

const NODES: [&str; 4] = ["a", "b", "c", "d"];

fn draft(ms: u64, idem: Option<&str>) -> OpDraft {
    OpDraft {
        hlc: Hlc { ms, count: 1 },
        by: "till".into(),
        idem: idem.map(str::to_owned),
        body: OpBody::Recharged {
            member: MemberId::mint(&n("a"), 1),
            recharge: RechargeId::mint(&n("a"), ms),
            amount: Money::from_yuan(ms as i64),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
    }
}

/// A host's own view with a cache, as the simulator keeps one: counts by
/// node index, the last deps made raised where more is held since.
struct Dense<'a> {
    me: usize,
    names: &'a [NodeId],
    held: &'a [u64],
    made: &'a mut (Vec<u64>, VersionVector),
}

impl Holdings for Dense<'_> {
    fn origin(&self) -> &NodeId {
        &self.names[self.me]
    }

    fn own(&self) -> u64 {
        self.held[self.me]
    }

    fn others(&mut self) -> VersionVector {
        let (made, vv) = &mut *self.made;
        for (o, &h) in self.held.iter().enumerate() {
            if o != self.me && h > made[o] {
                vv.raise(&self.names[o], h);
                made[o] = h;
            }
        }
        vv.clone()
    }
}

#[test]
fn the_first_op_is_number_one_with_no_deps() {
    let held = VersionVector::new();
    let a = n("a");
    let op = stamp(
        draft(5, Some("k")),
        &mut Held {
            origin: &a,
            held: &held,
        },
    );
    assert_eq!(op.id, OpId { origin: a, seq: 1 });
    assert_eq!(op.deps, VersionVector::new());
    assert!(op.sig.is_empty());
}

#[test]
fn a_provisional_op_has_no_number_nor_deps() {
    let d = draft(9, Some("k"));
    let op = provisional(d.clone(), &n("b"));
    assert_eq!(op.id.seq, PROVISIONAL_SEQ);
    assert_eq!(op.id.origin, n("b"));
    assert_eq!(op.deps, VersionVector::new());
    assert_eq!(
        (op.hlc, op.by, op.idem, op.body),
        (d.hlc, d.by, d.idem, d.body)
    );
}

/// A host that gives its own log among the deps breaks the rule: caught.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "leave out its own origin")]
fn deps_holding_the_origin_are_refused() {
    struct Wrong(NodeId, VersionVector);
    impl Holdings for Wrong {
        fn origin(&self) -> &NodeId {
            &self.0
        }
        fn own(&self) -> u64 {
            self.1.get(&self.0)
        }
        fn others(&mut self) -> VersionVector {
            self.1.clone()
        }
    }
    let mut held = VersionVector::new();
    held.raise(&n("a"), 3);
    let _ = stamp(draft(1, None), &mut Wrong(n("a"), held));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any interleaving of ops made at node `a` and ops of other nodes
    /// received there: each op made is `a`'s next (1, 2, 3, …), its deps
    /// are exactly what `a` held of the others when it was made (never `a`
    /// itself), the draft's fields are carried as they were, and the op is
    /// unsigned. A host's cached view stamps the very same ops.
    #[test]
    fn ops_are_numbered_in_order_and_depend_on_what_is_held(
        events in proptest::collection::vec((0usize..4, any::<bool>()), 0..60),
    ) {
        let names: Vec<NodeId> = NODES.iter().map(|s| n(s)).collect();
        let mut held = VersionVector::new();
        let mut dense = vec![0u64; NODES.len()];
        let mut cache = (vec![0u64; NODES.len()], VersionVector::new());
        let mut made = 0u64;
        for (i, (who, keyed)) in events.into_iter().enumerate() {
            if who != 0 {
                // An op of another node arrives and is held.
                let id = OpId { origin: names[who].clone(), seq: dense[who] + 1 };
                held.advance(&id);
                dense[who] += 1;
                continue;
            }
            let key = format!("k{i}");
            let d = draft(i as u64, keyed.then_some(key.as_str()));
            let op = stamp(d.clone(), &mut Held { origin: &names[0], held: &held });
            let via_cache = stamp(
                d.clone(),
                &mut Dense { me: 0, names: &names, held: &dense, made: &mut cache },
            );
            prop_assert_eq!(&op, &via_cache);
            made += 1;
            prop_assert_eq!(&op.id, &OpId { origin: names[0].clone(), seq: made });
            prop_assert_eq!(op.deps.get(&names[0]), 0);
            for (o, name) in names.iter().enumerate().skip(1) {
                prop_assert_eq!(op.deps.get(name), dense[o]);
            }
            prop_assert_eq!(op.deps.iter().count(), dense[1..].iter().filter(|&&h| h > 0).count());
            prop_assert_eq!(
                (&op.hlc, &op.by, &op.idem, &op.body),
                (&d.hlc, &d.by, &d.idem, &d.body)
            );
            prop_assert!(op.sig.is_empty());
            held.advance(&op.id);
            dense[0] += 1;
        }
    }
}
