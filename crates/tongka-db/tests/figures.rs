//! Figures kept in the op's commit, and backfilled once from the log of a
//! database made before them.

mod common;

use common::{draft, node, open, submit_wait};

use redb::ReadableDatabase;
use tongka_core::Money;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::Hlc;
use tongka_core::day::Day;
use tongka_core::figures::Figures;
use tongka_core::ids::{MemberId, NodeId, RechargeId};
use tongka_core::op::OpBody;
use tongka_db::{Db, Effects, Source};

/// 2026-12-06 00:00 in the chain's calendar (UTC+8), in ms.
const DAY0_MS: u64 = 1_796_486_400_000;
const HOUR: u64 = 3_600_000;

fn register(db: &Db, ms: u64) -> MemberId {
    let phone = format!("138{:08}", ms % 100_000_000);
    common::register(db, ms, &phone).0.id
}

fn recharge(db: &Db, m: &MemberId, ms: u64, yuan: i64, tender: TenderKind) {
    let d = draft(
        ms,
        OpBody::Recharged {
            member: m.clone(),
            recharge: RechargeId::mint(&node(), db.next_entity()),
            amount: Money::from_yuan(yuan),
            bonus: Money::from_yuan(1),
            tender,
        },
    );
    submit_wait(db, Source::Local(d), Effects::default()).unwrap();
}

fn all(db: &Db) -> Vec<(NodeId, Day, Figures)> {
    db.figures(None, Day(i32::MIN), Day(i32::MAX)).unwrap()
}

#[test]
fn figures_are_kept_per_store_and_day_and_backfilled_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    let day0 = Day::of_ms(DAY0_MS);
    let db = open(&path);
    let a = register(&db, DAY0_MS + HOUR);
    let b = register(&db, DAY0_MS + HOUR + 1);
    recharge(&db, &a, DAY0_MS + 2 * HOUR, 100, TenderKind::Cash);
    recharge(&db, &a, DAY0_MS + 3 * HOUR, 50, TenderKind::Wechat);
    recharge(&db, &b, DAY0_MS + 4 * HOUR, 20, TenderKind::Cash);
    // 23:30 is still day 0 in UTC+8; 24:30 is day 1.
    recharge(&db, &a, DAY0_MS + 24 * HOUR - HOUR / 2, 1, TenderKind::Cash);
    recharge(&db, &a, DAY0_MS + 24 * HOUR + HOUR / 2, 7, TenderKind::Card);

    let rows = all(&db);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (store, day, f) = &rows[0];
    assert_eq!((store, *day), (&node(), day0));
    assert_eq!(f.totals.members, 2);
    assert_eq!(f.totals.recharges, 4);
    assert_eq!(f.totals.recharged_principal, Money::from_yuan(171));
    assert_eq!(f.totals.recharged_bonus, Money::from_yuan(4));
    assert_eq!(f.active_members, 2);
    assert_eq!(f.tender(TenderKind::Cash).recharged, Money::from_yuan(121));
    assert_eq!(f.tender(TenderKind::Wechat).recharges, 1);
    let (_, day, f1) = &rows[1];
    assert_eq!(*day, day0.plus(1));
    assert_eq!(f1.active_members, 1);
    assert_eq!(f1.tender(TenderKind::Card).recharged, Money::from_yuan(7));

    // A range of one day, and of another store: nothing.
    let one = db
        .figures(Some(&[node()]), day0.plus(1), day0.plus(1))
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].1, day0.plus(1));
    let other = NodeId::new("store-2").unwrap();
    assert!(
        db.figures(Some(&[other]), day0, day0.plus(9))
            .unwrap()
            .is_empty()
    );

    let fresh = db.freshness().unwrap();
    assert_eq!(fresh.vv.get(&node()), 7);
    assert_eq!(
        fresh.newest,
        vec![(
            node(),
            7,
            Hlc {
                ms: DAY0_MS + 24 * HOUR + HOUR / 2,
                count: 0
            }
        )]
    );
    db.close();

    // A database of before the figures: their tables and mark gone.
    {
        let raw = redb::Database::create(&path).unwrap();
        let w = raw.begin_write().unwrap();
        w.delete_table(redb::TableDefinition::<(&str, i32), &[u8]>::new(
            "figures-1",
        ))
        .unwrap();
        w.delete_table(redb::TableDefinition::<(&str, i32, &str), ()>::new(
            "active-1",
        ))
        .unwrap();
        w.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
            .unwrap()
            .remove("figures-2")
            .unwrap();
        w.commit().unwrap();
        let r = raw.begin_read().unwrap();
        assert!(
            r.open_table(redb::TableDefinition::<(&str, i32), &[u8]>::new(
                "figures-1"
            ))
            .is_err()
        );
    }
    let db = open(&path);
    assert_eq!(all(&db), rows, "backfilled from the log");
    // Once: the ops after it add to the backfilled rows.
    recharge(&db, &b, DAY0_MS + 25 * HOUR, 3, TenderKind::Cash);
    db.close();
    let db = open(&path);
    let again = all(&db);
    assert_eq!(again[0], rows[0]);
    assert_eq!(again[1].2.active_members, 2);
    assert_eq!(again[1].2.totals.recharges, 2);
    db.close();

    // A database of the figures' older shape (marked `figures` only, its
    // rows lacking `shares_with`): recomputed from scratch, not added to.
    {
        let raw = redb::Database::create(&path).unwrap();
        let w = raw.begin_write().unwrap();
        {
            let mut meta = w
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
                .unwrap();
            meta.remove("figures-2").unwrap();
            meta.insert("figures", [1u8].as_slice()).unwrap();
        }
        w.commit().unwrap();
    }
    let db = open(&path);
    assert_eq!(all(&db), again, "recomputed once, not counted twice");
    db.close();
}
