//! The apply rule: its refusals (authority, another store's sale, a
//! refund of an unknown order, registration twice), and on random op
//! sequences the same member states as the core's `MemberState::apply`,
//! without ever panicking.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tongka_core::Money;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{NodeId, OpId, RechargeId, RefundId};
use tongka_core::op::OpDraft;
use tongka_core::refund::Refund;

use super::*;

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn op(origin: &str, seq: u64, body: OpBody) -> Op {
    OpDraft {
        hlc: Hlc { ms: seq, count: 0 },
        by: "t".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: n(origin),
            seq,
        },
        VersionVector::new(),
    )
}

fn profile(phone: &str) -> Profile {
    Profile {
        phone: phone.into(),
        name: "x".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    }
}

fn order(id: u64, store: &str, member: Option<MemberId>) -> Order {
    Order {
        id: OrderId::mint(&n(store), id),
        member,
        store: n(store),
        at: Hlc::default(),
        level: None,
        rate: Default::default(),
        lines: vec![],
        total: Money::ZERO,
        discount: Money::ZERO,
        payable: Money::ZERO,
        tenders: vec![],
        change: Money::ZERO,
        balance_principal: Money::ZERO,
        balance_bonus: Money::ZERO,
        points_earned: 0,
        points_used: 0,
        points_value: Money::ZERO,
        coupons: vec![],
        coupon_off: Money::ZERO,
    }
}

/// A node's state as plain maps, applying what the rule returns.
#[derive(Default)]
struct State {
    members: BTreeMap<MemberId, MemberState>,
    orders: BTreeMap<OrderId, OrderState>,
    index: BTreeMap<Key, MemberId>,
}

impl View for State {
    fn member(&self, id: &MemberId) -> Option<&MemberState> {
        self.members.get(id)
    }
    fn order(&self, id: &OrderId) -> Option<Cow<'_, OrderState>> {
        self.orders.get(id).map(Cow::Borrowed)
    }
}

impl State {
    fn apply(&mut self, op: &Op, role: OriginRole) -> Result<(), Rejected> {
        let a = apply(self, op, Some(role))?;
        if let Some(m) = a.member {
            for d in &a.index {
                match d {
                    IndexDelta::Release(k) => {
                        self.index.remove(k);
                    }
                    IndexDelta::Claim(k) => {
                        self.index.insert(k.clone(), m.id.clone());
                    }
                }
            }
            self.members.insert(m.id.clone(), m);
        }
        if let Some(o) = a.order {
            self.orders.insert(o.order.id.clone(), o);
        }
        Ok(())
    }
}

#[test]
fn refusals_come_from_the_rule() {
    let mut s = State::default();
    let m = MemberId::mint(&n("a"), 1);
    let reg = op(
        "a",
        1,
        OpBody::MemberRegistered {
            member: m.clone(),
            profile: profile("13800000001"),
            opening: None,
        },
    );
    s.apply(&reg, OriginRole::Store).unwrap();
    assert_eq!(
        s.index.get(&Key::Phone("13800000001".into())),
        Some(&m),
        "a registration claims its phone"
    );
    let again = s.apply(&reg, OriginRole::Store).unwrap_err();
    assert_eq!(again.kind, Kind::NotApplicable);
    assert!(again.reason.contains("registered twice"), "{again}");

    // HQ sells nothing.
    let sale = op(
        "hq",
        1,
        OpBody::CheckedOut {
            stock: Vec::new(),
            order: order(1, "hq", None),
        },
    );
    assert_eq!(
        s.apply(&sale, OriginRole::Hq).unwrap_err().kind,
        Kind::Authority
    );

    // A walk-in sale whose order is another store's: refused (it was the
    // simulator's rule and not the node's).
    let sale = op(
        "a",
        2,
        OpBody::CheckedOut {
            stock: Vec::new(),
            order: order(1, "b", None),
        },
    );
    assert_eq!(
        s.apply(&sale, OriginRole::Store).unwrap_err().kind,
        Kind::Authority
    );

    // A sale of a member not known here.
    let stranger = MemberId::mint(&n("b"), 9);
    let sale = op(
        "a",
        3,
        OpBody::CheckedOut {
            stock: Vec::new(),
            order: order(2, "a", Some(stranger)),
        },
    );
    assert_eq!(
        s.apply(&sale, OriginRole::Store).unwrap_err().kind,
        Kind::Unknown
    );

    // A refund of an order not sold here.
    let refund = |id: OrderId, origin: &str| Refund {
        id: RefundId::mint(&n(origin), 1),
        order: id,
        member: None,
        store: n(origin),
        at: Hlc::default(),
        lines: vec![],
        amount: Money::ZERO,
        tenders: vec![],
        balance_principal: Money::ZERO,
        balance_bonus: Money::ZERO,
        points_reversed: 0,
        reason: String::new(),
        points_returned: 0,
        coupons_returned: vec![],
        cards_refunded: vec![],
        card_kept: Money::ZERO,
        approved_by: None,
    };
    let unknown = op(
        "a",
        4,
        OpBody::Refunded {
            stock: Vec::new(),
            refund: refund(OrderId::mint(&n("a"), 7), "a"),
        },
    );
    let e = s.apply(&unknown, OriginRole::Store).unwrap_err();
    assert_eq!(e.kind, Kind::Unknown);
    assert!(e.reason.contains("refund of unknown order"), "{e}");

    // A walk-in sale here, then its refund: the order is made, then
    // changed; the same sale again is refused.
    let sold = order(3, "a", None);
    let sale = op(
        "a",
        5,
        OpBody::CheckedOut {
            stock: Vec::new(),
            order: sold.clone(),
        },
    );
    s.apply(&sale, OriginRole::Store).unwrap();
    let twice = s.apply(&sale, OriginRole::Store).unwrap_err();
    assert_eq!(twice.kind, Kind::NotApplicable);
    let r = op(
        "a",
        6,
        OpBody::Refunded {
            stock: Vec::new(),
            refund: refund(sold.id.clone(), "a"),
        },
    );
    s.apply(&r, OriginRole::Store).unwrap();
    assert_eq!(s.orders[&sold.id].refunds.len(), 1);
    // Another store may not refund it.
    let r = op(
        "b",
        1,
        OpBody::Refunded {
            stock: Vec::new(),
            refund: refund(sold.id.clone(), "b"),
        },
    );
    assert_eq!(
        s.apply(&r, OriginRole::Store).unwrap_err().kind,
        Kind::Authority
    );
}

#[test]
fn reindex_releases_then_claims() {
    let old = profile("1");
    let mut new = profile("2");
    new.card_no = Some("c".into());
    assert_eq!(
        reindex(Some(&old), &new),
        vec![
            IndexDelta::Release(Key::Phone("1".into())),
            IndexDelta::Claim(Key::Phone("2".into())),
            IndexDelta::Claim(Key::Card("c".into())),
        ]
    );
    assert!(reindex(Some(&new), &new).is_empty());
}

/// A random op about one of three members (some never registered) from
/// one of three stores or HQ.
fn body(kind: u8, who: u8, store: u8, amount: i64) -> (String, OpBody) {
    let origin = ["a", "b", "c", "hq"][usize::from(store % 4)].to_string();
    let member = MemberId::mint(&n("a"), u64::from(who % 3) + 1);
    let body = match kind % 4 {
        0 => OpBody::MemberRegistered {
            member,
            profile: profile(&format!("1380000000{}", who % 3)),
            opening: None,
        },
        1 => OpBody::Recharged {
            member,
            recharge: RechargeId::mint(&n(&origin), amount.unsigned_abs()),
            amount: Money::from_yuan(amount),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
        2 => OpBody::SharesTransferred {
            member,
            to: n(["a", "b", "c"][usize::from(who % 3)]),
            principal: Money::from_yuan(amount),
            bonus: Money::ZERO,
            points: 0,
        },
        _ => OpBody::CheckedOut {
            stock: Vec::new(),
            order: order(amount.unsigned_abs(), &origin, Some(member)),
        },
    };
    (origin, body)
}

fn role(origin: &str) -> OriginRole {
    if origin == "hq" {
        OriginRole::Hq
    } else {
        OriginRole::Store
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any sequence of ops, valid or not: the rule never panics, and the
    /// member states it gives are those of the core's rules applied
    /// directly (`MemberState::registered`, `MemberState::apply`) to the
    /// ops it accepts; an op it refuses changes nothing.
    #[test]
    fn apply_agrees_with_the_core_and_never_panics(
        ops in proptest::collection::vec((0u8..8, 0u8..4, 0u8..5, -5i64..50), 0..40),
    ) {
        let mut s = State::default();
        let mut direct: BTreeMap<MemberId, MemberState> = BTreeMap::new();
        for (seq, (kind, who, store, amount)) in ops.into_iter().enumerate() {
            let (origin, body) = body(kind, who, store, amount);
            let op = op(&origin, seq as u64 + 1, body);
            let before = s.members.clone();
            let res = s.apply(&op, role(&origin));
            match res {
                Ok(()) => {
                    let id = op.body.member().unwrap().clone();
                    let next = match direct.get(&id) {
                        None => MemberState::registered(&op).unwrap(),
                        Some(m) => {
                            let mut m = m.clone();
                            m.apply(&op).unwrap();
                            m
                        }
                    };
                    direct.insert(id, next);
                }
                Err(_) => prop_assert_eq!(&before, &s.members, "a refused op changes nothing"),
            }
            prop_assert_eq!(&direct, &s.members);
        }
    }
}

/// A signed op moving a negative amount is refused, not a panic (the
/// wallet asserts amounts are not negative; the property test above found
/// this).
#[test]
fn negative_amounts_are_refused() {
    let mut s = State::default();
    let m = MemberId::mint(&n("a"), 1);
    let reg = OpBody::MemberRegistered {
        member: m.clone(),
        profile: profile("13800000001"),
        opening: None,
    };
    s.apply(&op("a", 1, reg), OriginRole::Store).unwrap();
    let transfer = OpBody::SharesTransferred {
        member: m.clone(),
        to: n("b"),
        principal: Money::from_yuan(-1),
        bonus: Money::ZERO,
        points: 0,
    };
    let e = s
        .apply(&op("a", 2, transfer), OriginRole::Store)
        .unwrap_err();
    assert_eq!(e.kind, Kind::NotApplicable);
    let recharge = OpBody::Recharged {
        member: m,
        recharge: RechargeId::mint(&n("a"), 1),
        amount: Money::from_yuan(-5),
        bonus: Money::ZERO,
        tender: TenderKind::Cash,
    };
    let e = s
        .apply(&op("a", 3, recharge), OriginRole::Store)
        .unwrap_err();
    assert_eq!(e.kind, Kind::NotApplicable);
}
