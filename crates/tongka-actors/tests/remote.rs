//! Remote ops through the engine: a phone registered at two stores while
//! they could not reach each other is listed as a duplicate on both, and
//! both keep the same index entry.

mod common;

use common::engine;

use std::time::Duration;

use tongka_actors::{Engine, Outcome};
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::member::Profile;

fn profile(name: &str) -> Profile {
    Profile {
        phone: "13912345678".into(),
        name: name.into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    }
}

async fn register(e: &Engine, name: &str) -> MemberId {
    match e.register("t".into(), None, profile(name)).await.unwrap().0 {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    }
}

/// Hand `from`'s ops (all of them, in log order) to `to`, and wait until
/// they are durable there.
async fn ship(from: &Engine, to: &Engine) {
    let ops = from.db().ops_from(from.node(), 1, 1000).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let n = ops.len();
    for op in ops {
        let tx = tx.clone();
        to.apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
            .await
            .unwrap();
    }
    for _ in 0..n {
        rx.recv().await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_phone_registered_at_two_stores_is_listed_for_merging() {
    let dir = tempfile::tempdir().unwrap();
    let a = engine(dir.path(), "store-1");
    let b = engine(dir.path(), "store-2");
    let ma = register(&a, "甲").await;
    let mb = register(&b, "乙").await;
    ship(&a, &b).await;
    ship(&b, &a).await;
    for e in [&a, &b] {
        let dups = e.duplicates().unwrap();
        assert_eq!(dups.len(), 1, "{dups:?}");
        assert_eq!(dups[0].0, "phone:13912345678");
        let mut ids = dups[0].1.clone();
        ids.sort();
        assert_eq!(ids, vec![ma.clone(), mb.clone()]);
        // Both stores keep the same member in the phone index.
        assert_eq!(
            e.db().member_by_phone("13912345678").unwrap(),
            Some(ma.clone().min(mb.clone()))
        );
        // Both members exist everywhere, with their own profiles.
        assert_eq!(e.member(&ma).unwrap().profile.name, "甲");
        assert_eq!(e.member(&mb).unwrap().profile.name, "乙");
    }
    assert_eq!(a.db().summary().digest, b.db().summary().digest);
}

/// Wait (bounded) until `e` holds every op `of` holds.
async fn wait_holding(e: &Engine, of: &[&Engine]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let vv = e.db().summary().vv;
        if of.iter().all(|o| vv.get(o.node()) >= o.db().summary().seq) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} holds {vv:?}",
            e.node()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A batch holding both registrations of one phone, recharges and sales of
/// several members, applied with `apply_remote_batch`, ends in the same
/// state as the same ops applied one by one, each committed before the
/// next: same digest and totals, each member's wallet, and the phone listed
/// as a duplicate (the second registration sees the first, though neither
/// is committed yet).
#[tokio::test]
async fn a_batch_of_remote_ops_ends_where_one_by_one_does() {
    use rust_decimal::Decimal;
    use tongka_actors::LineRequest;
    use tongka_core::checkout::{TenderInput, TenderKind};
    use tongka_core::money::Money;

    let dir = tempfile::tempdir().unwrap();
    let a = engine(dir.path(), "store-1");
    let b = engine(dir.path(), "store-2");
    let mut members = Vec::new();
    for (e, name) in [(&a, "甲"), (&b, "乙")] {
        let m = register(e, name).await;
        for i in 0..3 {
            e.recharge(
                "t".into(),
                None,
                m.clone(),
                Money::from_yuan(100 + i),
                TenderKind::Cash,
            )
            .await
            .unwrap();
            e.checkout(
                "t".into(),
                None,
                Some(m.clone()),
                vec![LineRequest::Free {
                    description: "咖啡".into(),
                    unit_price: Money::from_fen(1250),
                    qty: Decimal::new(2, 0),
                }],
                vec![TenderInput {
                    kind: TenderKind::Balance,
                    amount: None,
                }],
            )
            .await
            .unwrap();
        }
        members.push(m);
    }
    // Store-3: everything in one batch, store-1's then store-2's (a causal
    // order: the two logs are independent).
    let c = engine(dir.path(), "store-3");
    let mut all = a.db().ops_from(a.node(), 1, 1000).unwrap();
    all.extend(b.db().ops_from(b.node(), 1, 1000).unwrap());
    assert_eq!(all.len(), 14);
    c.apply_remote_batch(all.clone()).await.unwrap();
    wait_holding(&c, &[&a, &b]).await;
    // Store-5: in two batches, the second handed over at once, while the
    // first registration is (almost surely) not committed yet.
    let e5 = engine(dir.path(), "store-5");
    e5.apply_remote_batch(all[..7].to_vec()).await.unwrap();
    e5.apply_remote_batch(all[7..].to_vec()).await.unwrap();
    wait_holding(&e5, &[&a, &b]).await;
    assert_eq!(e5.db().summary().digest, c.db().summary().digest);
    assert_eq!(e5.duplicates().unwrap(), c.duplicates().unwrap());
    // Store-6: the ops as their origins' logs hold them (replication's
    // path): stored as received, byte for byte, to the same state.
    let e6 = engine(dir.path(), "store-6");
    let mut encoded = a.db().ops_from_encoded(a.node(), 1, 1000).unwrap();
    encoded.extend(b.db().ops_from_encoded(b.node(), 1, 1000).unwrap());
    assert_eq!(
        encoded.iter().map(|e| e.op.clone()).collect::<Vec<_>>(),
        all
    );
    e6.apply_remote_encoded(encoded.clone()).await.unwrap();
    wait_holding(&e6, &[&a, &b]).await;
    assert_eq!(e6.db().summary().digest, c.db().summary().digest);
    assert_eq!(e6.db().summary().totals, c.db().summary().totals);
    assert_eq!(e6.duplicates().unwrap(), c.duplicates().unwrap());
    for (node, n) in [(a.node(), 7), (b.node(), 7)] {
        let here = e6.db().ops_from_encoded(node, 1, 1000).unwrap();
        assert_eq!(here.len(), n);
        for (h, e) in here
            .iter()
            .zip(encoded.iter().filter(|e| e.op.origin() == node))
        {
            assert_eq!(h.bytes, e.bytes);
            assert_eq!(h.hash, e.op.hash());
        }
    }
    // Store-4: the same ops one at a time, each durable before the next.
    let d = engine(dir.path(), "store-4");
    for op in all {
        let (tx, rx) = tokio::sync::oneshot::channel();
        d.apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
            .await
            .unwrap();
        rx.await.unwrap().unwrap();
    }
    let (sc, sd) = (c.db().summary(), d.db().summary());
    assert_eq!(sc.digest, sd.digest);
    assert_eq!(sc.totals, sd.totals);
    assert_eq!(sc.totals.orders, 6);
    assert!(c.db().rejected(10).unwrap().is_empty());
    for m in &members {
        // As committed, and as each origin has it.
        let at_c = c.member(m).unwrap();
        assert_eq!(at_c, d.member(m).unwrap());
        let origin = if a
            .member(m)
            .is_ok_and(|x| x.profile.name == at_c.profile.name)
        {
            &a
        } else {
            &b
        };
        assert_eq!(at_c.wallet, origin.member(m).unwrap().wallet);
    }
    let dups = c.duplicates().unwrap();
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_eq!(dups, d.duplicates().unwrap());
    assert_eq!(
        c.db().member_by_phone("13912345678").unwrap(),
        d.db().member_by_phone("13912345678").unwrap()
    );
    // The account actors hold the batch's state: a recharge here builds on it.
    let (out, _) = c
        .recharge(
            "t".into(),
            None,
            members[0].clone(),
            Money::from_yuan(10),
            TenderKind::Cash,
        )
        .await
        .unwrap();
    let Outcome::Recharged { member, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        member.wallet.total().money(),
        d.member(&members[0]).unwrap().wallet.total().money() + Money::from_yuan(10)
    );
}

/// A walk-in sale (no member) whose order names another store than the
/// op's origin is refused by the node, by either remote path, as the
/// simulator refuses it: the rule is the core's `state::sold`.
#[tokio::test]
async fn a_walk_in_sale_of_another_store_is_refused() {
    use rust_decimal::Decimal;
    use tongka_actors::{EngineError, LineRequest};
    use tongka_core::checkout::{TenderInput, TenderKind};
    use tongka_core::money::Money;

    let dir = tempfile::tempdir().unwrap();
    let a = engine(dir.path(), "store-1");
    let (out, _) = a
        .checkout(
            "t".into(),
            None,
            None,
            vec![LineRequest::Free {
                description: "水".into(),
                unit_price: Money::from_fen(300),
                qty: Decimal::new(1, 0),
            }],
            vec![TenderInput {
                kind: TenderKind::Cash,
                amount: None,
            }],
        )
        .await
        .unwrap();
    let order = match out {
        Outcome::CheckedOut { order, .. } => order.order.id,
        other => panic!("{other:?}"),
    };
    let honest = a.db().ops_from(a.node(), 1, 10).unwrap();
    let mut forged = honest[0].clone();
    assert!(forged.body.as_sale().is_some_and(|o| o.member.is_none()));
    // Store-2 claims store-1's walk-in sale as its own op.
    let two = NodeId::new("store-2").unwrap();
    forged.id.origin = two.clone();
    let c = engine(dir.path(), "store-3");
    c.apply_remote_batch(vec![forged.clone()]).await.unwrap();
    let d = engine(dir.path(), "store-4");
    let (tx, rx) = tokio::sync::oneshot::channel();
    d.apply_remote(forged, Box::new(move |r| tx.send(r).unwrap()))
        .await
        .unwrap();
    rx.await.unwrap().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while c.db().summary().vv.get(&two) < 1 {
        assert!(std::time::Instant::now() < deadline, "store-3 took the op");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for e in [&c, &d] {
        assert!(
            matches!(e.order(&order), Err(EngineError::OrderNotFound(_))),
            "{}: the forged walk-in sale made no order",
            e.node()
        );
        assert_eq!(e.db().summary().totals.orders, 0);
    }
    // The same sale from its own store applies.
    let e5 = engine(dir.path(), "store-5");
    e5.apply_remote_batch(honest).await.unwrap();
    wait_holding(&e5, &[&a]).await;
    assert!(e5.order(&order).is_ok());
    assert_eq!(e5.db().summary().totals.orders, 1);
}

/// A remote op stamped as `origin`'s `seq`-th, carrying `body`.
fn remote_op(origin: &str, seq: u64, body: tongka_core::op::OpBody) -> tongka_core::op::Op {
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::ids::OpId;
    use tongka_core::op::OpDraft;
    let mut deps = VersionVector::new();
    if seq > 1 {
        deps.raise(&NodeId::new(origin).unwrap(), seq - 1);
    }
    OpDraft {
        hlc: Hlc {
            ms: 1_000 + seq,
            count: 0,
        },
        by: "t".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: NodeId::new(origin).unwrap(),
            seq,
        },
        deps,
    )
}

/// The node applies received ops by the machine's rule, the simulator's
/// too: a walk-in sale whose order is another store's, a sale of an order
/// id already sold and a refund of an unknown order are logged as
/// rejected, and change nothing.
#[tokio::test]
async fn received_sales_and_refunds_are_checked_by_the_machine_rule() {
    use tongka_core::checkout::Order;
    use tongka_core::ids::{OrderId, RefundId};
    use tongka_core::money::Money;
    use tongka_core::op::OpBody;
    use tongka_core::refund::Refund;

    let dir = tempfile::tempdir().unwrap();
    let b = engine(dir.path(), "store-2");
    let s1 = NodeId::new("store-1").unwrap();
    let order = |id: u64, store: &NodeId| Order {
        id: OrderId::mint(store, id),
        member: None,
        store: store.clone(),
        at: Default::default(),
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
    };
    let forged = order(1, &NodeId::new("store-3").unwrap());
    let sold = order(2, &s1);
    let refund = Refund {
        id: RefundId::mint(&s1, 1),
        order: OrderId::mint(&s1, 99),
        member: None,
        store: s1.clone(),
        at: Default::default(),
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
    let ops = vec![
        remote_op(
            "store-1",
            1,
            OpBody::CheckedOut {
                stock: Vec::new(),
                order: forged.clone(),
            },
        ),
        remote_op(
            "store-1",
            2,
            OpBody::CheckedOut {
                stock: Vec::new(),
                order: sold.clone(),
            },
        ),
        remote_op(
            "store-1",
            3,
            OpBody::CheckedOut {
                stock: Vec::new(),
                order: sold.clone(),
            },
        ),
        remote_op("store-1", 4, OpBody::refund(refund)),
    ];
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for op in ops {
        let tx = tx.clone();
        b.apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
            .await
            .unwrap();
    }
    for _ in 0..4 {
        rx.recv().await.unwrap().unwrap();
    }
    let rejected = b.db().rejected(10).unwrap();
    let seqs: Vec<u64> = rejected.iter().map(|(id, _)| id.seq).collect();
    assert_eq!(seqs.len(), 3, "{rejected:?}");
    for seq in [1, 3, 4] {
        assert!(seqs.contains(&seq), "op {seq} rejected: {rejected:?}");
    }
    let reason = |seq: u64| &rejected.iter().find(|(id, _)| id.seq == seq).unwrap().1;
    assert!(reason(1).contains("may not change"), "{}", reason(1));
    assert!(reason(3).contains("twice"), "{}", reason(3));
    assert!(
        reason(4).contains("refund of unknown order"),
        "{}",
        reason(4)
    );
    assert!(b.db().order(&forged.id).unwrap().is_none());
    assert_eq!(b.db().order(&sold.id).unwrap().unwrap().order, sold);
}

/// Every op received with its bytes is stored as received, a merge's share
/// move (`MergeMoved`, applied across two accounts) included: the bytes a
/// node relays are its origin's, never encoded again.
#[tokio::test]
async fn received_ops_are_stored_byte_for_byte_merge_moves_included() {
    use tongka_core::checkout::TenderKind;
    use tongka_core::money::Money;
    use tongka_core::op::OpBody;

    let dir = tempfile::tempdir().unwrap();
    let a = engine(dir.path(), "store-1");
    let absorbed = register(&a, "甲").await;
    a.recharge(
        "t".into(),
        None,
        absorbed.clone(),
        Money::from_yuan(100),
        TenderKind::Cash,
    )
    .await
    .unwrap();
    let mut p = profile("乙");
    p.phone = "13987654321".into();
    let survivor = match a.register("t".into(), None, p).await.unwrap().0 {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    };
    a.merge_members("t".into(), None, survivor.clone(), absorbed.clone())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let sent = loop {
        let ops = a.db().ops_from_encoded(a.node(), 1, 100).unwrap();
        if ops
            .iter()
            .any(|e| matches!(e.op.body, OpBody::MergeMoved { .. }))
        {
            break ops;
        }
        assert!(std::time::Instant::now() < deadline, "no merge move made");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // Each op's bytes as a later build might write them: its sequence
    // number in a longer (valid, non-minimal) CBOR form. This build reads
    // the same op from them but would encode it otherwise, so any path
    // that encodes a received op again stores other bytes.
    let sent: Vec<_> = sent.into_iter().map(common::widen_seq).collect();
    let c = engine(dir.path(), "store-3");
    c.apply_remote_encoded(sent.clone()).await.unwrap();
    wait_holding(&c, &[&a]).await;
    let kept = c.db().ops_from_encoded(a.node(), 1, 100).unwrap();
    assert_eq!(kept.len(), sent.len());
    for (k, s) in kept.iter().zip(&sent) {
        assert_eq!(k.bytes, s.bytes, "{} stored byte for byte", s.op.id);
    }
    assert!(c.db().rejected(10).unwrap().is_empty());
    assert_eq!(
        c.member(&survivor).unwrap().balance().money(),
        Money::from_yuan(100)
    );
}

/// A received registration of a member already registered here is refused
/// (registered twice, as the machine's `admit` says and the simulator
/// checks), whether the first is on disk or in the same batch: it never
/// replaces the member and its wallet.
#[tokio::test]
async fn a_member_registered_twice_is_refused_not_replaced() {
    use tongka_core::checkout::TenderKind;
    use tongka_core::ids::RechargeId;
    use tongka_core::money::Money;
    use tongka_core::op::OpBody;

    let dir = tempfile::tempdir().unwrap();
    let b = engine(dir.path(), "store-2");
    let s1 = NodeId::new("store-1").unwrap();
    let registration = |member: &MemberId, name: &str| OpBody::MemberRegistered {
        member: member.clone(),
        profile: profile(name),
        opening: None,
    };
    let (x, y) = (MemberId::mint(&s1, 1), MemberId::mint(&s1, 2));
    let ops = vec![
        remote_op("store-1", 1, registration(&x, "甲")),
        remote_op(
            "store-1",
            2,
            OpBody::Recharged {
                member: x.clone(),
                recharge: RechargeId::mint(&s1, 3),
                amount: Money::from_yuan(100),
                bonus: Money::ZERO,
                tender: TenderKind::Cash,
            },
        ),
    ];
    b.apply_remote_batch(ops).await.unwrap();
    // Once on disk, then twice in one batch.
    let again = vec![
        remote_op("store-1", 3, registration(&x, "乙")),
        remote_op("store-1", 4, registration(&y, "丙")),
        remote_op("store-1", 5, registration(&y, "丁")),
    ];
    b.apply_remote_batch(again).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while b.db().summary().vv.get(&s1) < 5 {
        assert!(std::time::Instant::now() < deadline, "not applied");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rejected = b.db().rejected(10).unwrap();
    let seqs: Vec<u64> = rejected.iter().map(|(id, _)| id.seq).collect();
    assert_eq!(seqs.len(), 2, "{rejected:?}");
    for (id, reason) in &rejected {
        assert!([3, 5].contains(&id.seq), "{rejected:?}");
        assert!(reason.contains("registered twice"), "{reason}");
    }
    let kept = b.db().member(&x).unwrap().unwrap();
    assert_eq!(kept.profile.name, "甲");
    assert_eq!(
        kept.balance().money(),
        Money::from_yuan(100),
        "its wallet kept"
    );
    assert_eq!(b.db().member(&y).unwrap().unwrap().profile.name, "丙");
}

/// The member that lost a contested phone to a duplicate changes its
/// phone here: the phone stays the winner's in the index (a local profile
/// change releases a number only if it is still its member's, as a
/// received one does: `tongka_machine::apply::reindex`, `Core::reindex`).
#[tokio::test]
async fn a_duplicate_that_changes_its_phone_leaves_the_winner_indexed() {
    use tongka_core::member::ProfilePatch;

    let dir = tempfile::tempdir().unwrap();
    let a = engine(dir.path(), "store-1");
    let b = engine(dir.path(), "store-2");
    let ma = register(&a, "甲").await;
    let mb = register(&b, "乙").await;
    ship(&a, &b).await;
    let (winner, loser) = (ma.clone().min(mb.clone()), ma.max(mb));
    assert_eq!(
        b.db().member_by_phone("13912345678").unwrap(),
        Some(winner.clone())
    );
    let patch = ProfilePatch {
        phone: Some("13900000009".into()),
        ..ProfilePatch::default()
    };
    b.update_profile("t".into(), loser.clone(), patch)
        .await
        .unwrap();
    assert_eq!(
        b.db().member_by_phone("13912345678").unwrap(),
        Some(winner),
        "the winner keeps its phone"
    );
    assert_eq!(b.db().member_by_phone("13900000009").unwrap(), Some(loser));
}

/// A share move (`MergeMoved`) of a member that is not merged at the node
/// applying it is refused there, as the simulator refuses it: both apply
/// the move through the machine's `apply::move_out`. An honest store moves
/// a share only after applying the merge, which is then in the move's
/// causal past; a move without it would take money out of a live member.
#[tokio::test]
async fn a_share_move_of_a_member_not_merged_here_is_refused() {
    use tongka_core::checkout::TenderKind;
    use tongka_core::money::Money;
    use tongka_core::op::OpBody;

    let dir = tempfile::tempdir().unwrap();
    let a = engine(dir.path(), "store-1");
    let x = register(&a, "甲").await;
    let y = match a
        .register(
            "t".into(),
            None,
            Profile {
                phone: "13900000002".into(),
                ..profile("乙")
            },
        )
        .await
        .unwrap()
        .0
    {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    };
    a.recharge(
        "t".into(),
        None,
        x.clone(),
        Money::from_yuan(50),
        TenderKind::Cash,
    )
    .await
    .unwrap();
    let b = engine(dir.path(), "store-2");
    ship(&a, &b).await;
    let before = b.member(&x).unwrap().wallet;
    // store-1 (its next op) moves x's share into y, with no merge anywhere.
    let next = a.db().summary().seq + 1;
    let mut forged = remote_op(
        "store-1",
        next,
        OpBody::MergeMoved {
            member: x.clone(),
            into: y.clone(),
            principal: Money::from_yuan(50),
            bonus: Money::ZERO,
            points: 0,
            coupons: vec![],
            cards: vec![],
        },
    );
    forged.deps = a.db().summary().vv.without(a.node());
    forged.deps.raise(a.node(), next - 1);
    let (tx, rx) = tokio::sync::oneshot::channel();
    b.apply_remote(forged, Box::new(move |r| tx.send(r).unwrap()))
        .await
        .unwrap();
    rx.await.unwrap().unwrap();
    let rejected = b.db().rejected(10).unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(rejected[0].1.contains("not merged"), "{}", rejected[0].1);
    assert_eq!(b.member(&x).unwrap().wallet, before);
    assert!(before.total().money().is_positive());
    assert!(b.member(&y).unwrap().wallet.total().money().is_zero());
}
