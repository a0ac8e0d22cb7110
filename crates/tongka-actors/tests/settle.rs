//! Settling merges through the engine (`tongka_machine::settle`): a node
//! moves its own share of a merged-away member to the survivor when the
//! merge arrives, and again when a later merge leads a cycle of
//! concurrent merges out (the cycle's smallest member owed nothing until
//! then).

mod common;

use common::engine;

use std::time::Duration;

use tongka_actors::{Engine, Outcome};
use tongka_core::checkout::TenderKind;
use tongka_core::ids::MemberId;
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::wallet::Share;

async fn register(e: &Engine, phone: &str) -> MemberId {
    let profile = Profile {
        phone: phone.into(),
        name: "会员".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    };
    match e.register("t".into(), None, profile).await.unwrap().0 {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    }
}

/// Hand `from`'s ops from `seq` on to `to`, and wait until they are
/// durable there; the next seq to ship.
async fn ship(from: &Engine, to: &Engine, seq: u64) -> u64 {
    let ops = from.db().ops_from(from.node(), seq, 1000).unwrap();
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
    seq + n as u64
}

/// `e`'s own share of `m`, as its disk holds it, once it is `want` (or
/// the deadline passes: the share then).
async fn share_becomes(e: &Engine, m: &MemberId, want: Share) -> Share {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = e.db().member(m).unwrap().unwrap().wallet.share(e.node());
        if s == want || std::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_merge_that_leads_a_cycle_out_moves_the_share_its_smallest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let a = engine(dir.path(), "store-1");
    let b = engine(dir.path(), "store-2");
    let c = engine(dir.path(), "store-3");
    let mut ids = [
        register(&a, "13900000001").await,
        register(&a, "13900000002").await,
        register(&a, "13900000003").await,
    ];
    ids.sort();
    let (r, p, q) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let next_a = ship(&a, &b, 1).await;
    ship(&a, &c, 1).await;
    let hundred = Share {
        principal: Money::from_yuan(100),
        ..Share::default()
    };
    b.recharge(
        "t".into(),
        None,
        p.clone(),
        hundred.principal,
        TenderKind::Cash,
    )
    .await
    .unwrap();
    // store-1 and store-3, apart, merge p and q each into the other.
    a.merge_members("t".into(), None, q.clone(), p.clone())
        .await
        .unwrap();
    c.merge_members("t".into(), None, p.clone(), q.clone())
        .await
        .unwrap();
    let next_a = ship(&a, &b, next_a).await;
    assert_eq!(
        share_becomes(&b, &q, hundred).await,
        hundred,
        "p merged into q: store-2's share of p moved to q"
    );
    ship(&c, &b, 1).await;
    assert_eq!(
        share_becomes(&b, &p, hundred).await,
        hundred,
        "q merged into p too: a cycle, whose smallest (p) gets the share and owes nothing"
    );
    assert_eq!(
        b.db().member(&q).unwrap().unwrap().wallet.share(b.node()),
        Share::default()
    );
    // store-1 (which never saw q merged into p) merges q into r, smaller:
    // the cycle resolves to r now, and p's share must follow.
    a.merge_members("t".into(), None, r.clone(), q.clone())
        .await
        .unwrap();
    ship(&a, &b, next_a).await;
    assert_eq!(
        share_becomes(&b, &r, hundred).await,
        hundred,
        "store-2's share of p moved on to r"
    );
    assert_eq!(
        b.db().member(&p).unwrap().unwrap().wallet.total(),
        Share::default(),
        "nothing stranded on p"
    );
    assert!(b.db().rejected(10).unwrap().is_empty());
}
