//! Dormant members and the rankings' rows kept in the op's commit
//! (`member-last-1`, `last-day-1`, `spend-1`, `product-sales-1`), equal to
//! the core's rule (`figures::Book`) and to figures by hand, and
//! backfilled once from the log of a database made before them.

mod common;

use common::{open, submit_wait};

use redb::{ReadableDatabase, ReadableTable};
use rust_decimal::Decimal;
use tongka_core::Money;
use tongka_core::checkout::{Order, OrderLine, Tender, TenderKind};
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::day::Day;
use tongka_core::figures::Book;
use tongka_core::figures::ranks::{MemberOrder, ProductFigures, Spend};
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId, RechargeId, RefundId};
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_core::refund::{OrderState, Refund, RefundLine};
use tongka_db::{Db, Dormant, Effects, Source};

/// 2026-12-06 00:00 in the chain's calendar (UTC+8), in ms.
const DAY0_MS: u64 = 1_796_486_400_000;
const DAY: u64 = 24 * 3_600_000;

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn day(d: i32) -> Day {
    Day::of_ms(DAY0_MS).plus(d)
}

fn at(d: u64) -> u64 {
    DAY0_MS + d * DAY + 3_600_000
}

fn draft(d: u64, body: OpBody) -> OpDraft {
    common::draft(at(d), body)
}

/// A remote op of store-2 (number `seq`).
fn remote(db: &Db, seq: u64, d: u64, body: OpBody) {
    let op = draft(d, body).stamp(
        OpId {
            origin: n("store-2"),
            seq,
        },
        VersionVector::new(),
    );
    submit_wait(db, Source::Remote(op), Effects::default()).unwrap();
}

fn register(db: &Db, d: u64, i: u64) -> MemberId {
    common::register(db, at(d), &format!("138{i:08}")).0.id
}

fn line(sku: &str, qty: i64, fen: i64) -> OrderLine {
    OrderLine {
        sku: Some(sku.into()),
        barcode: None,
        description: sku.into(),
        unit_price: Money::from_fen(fen / qty),
        qty: Decimal::from(qty),
        amount: Money::from_fen(fen),
        discount: Money::ZERO,
        payable: Money::from_fen(fen),
        coupon_off: Money::ZERO,
        card: None,
    }
}

fn order(store: &str, id: u64, d: u64, member: &MemberId, lines: Vec<OrderLine>) -> Order {
    let payable: Money = lines.iter().map(|l| l.payable).sum();
    Order {
        id: OrderId::mint(&n(store), id),
        member: Some(member.clone()),
        store: n(store),
        at: Hlc {
            ms: at(d),
            count: 0,
        },
        level: None,
        rate: Decimal::ONE,
        lines,
        total: payable,
        discount: Money::ZERO,
        payable,
        tenders: vec![Tender {
            kind: TenderKind::Cash,
            amount: payable,
        }],
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

/// A refund of `qty` of `state`'s line `line`, paid back `fen` in cash;
/// the state after it.
fn refund(db: &Db, d: u64, state: &OrderState, line: usize, qty: i64, fen: i64) -> OrderState {
    let r = Refund {
        id: RefundId::mint(&n("store-1"), db.next_entity()),
        order: state.order.id.clone(),
        member: state.order.member.clone(),
        store: n("store-1"),
        at: Hlc {
            ms: at(d),
            count: 0,
        },
        lines: vec![RefundLine {
            line,
            qty: Decimal::from(qty),
        }],
        amount: Money::from_fen(fen),
        tenders: vec![Tender {
            kind: TenderKind::Cash,
            amount: Money::from_fen(fen),
        }],
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
    let mut after = state.clone();
    after.apply(&r);
    submit_wait(
        db,
        Source::Local(draft(d, OpBody::refund(r))),
        Effects {
            order: Some(after.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    after
}

/// What the db answers: dormant, member spend, product sales.
type Answers = (
    Dormant,
    Vec<(MemberId, Spend)>,
    Vec<(String, ProductFigures)>,
);

/// What the db answers, every store and day.
fn answers(db: &Db) -> Answers {
    (
        db.dormant(None, day(0)).unwrap(),
        db.member_spend(None, day(-1), day(9)).unwrap(),
        db.product_sales(Some(&[n("store-1")]), day(0), day(9))
            .unwrap(),
    )
}

fn all_ops(db: &Db) -> Vec<Op> {
    let mut ops = db.ops_from(&n("store-1"), 1, 1000).unwrap();
    ops.extend(db.ops_from(&n("store-2"), 1, 1000).unwrap());
    ops
}

#[test]
fn dormant_and_rankings_are_kept_per_op_and_backfilled_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    let db = open(&path);
    let m1 = register(&db, 0, 1);
    let m2 = register(&db, 0, 2);
    // m1 buys 3 tea for 10.00 and a cake for 25.00 on day 0.
    let o = order(
        "store-1",
        1,
        0,
        &m1,
        vec![line("tea", 3, 1_000), line("cake", 1, 2_500)],
    );
    let state = OrderState::new(o.clone());
    submit_wait(
        &db,
        Source::Local(draft(0, OpBody::sale(o))),
        Effects {
            order: Some(state.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    // 1 tea back on day 1 (3.33), the 2 others on day 2 (6.67).
    let state = refund(&db, 1, &state, 0, 1, 333);
    refund(&db, 2, &state, 0, 2, 667);
    // At store-2 on day 5: m2 recharges and buys 10 tea for 30.00.
    remote(
        &db,
        1,
        5,
        OpBody::Recharged {
            member: m2.clone(),
            recharge: RechargeId::mint(&n("store-2"), 1),
            amount: Money::from_yuan(50),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
    );
    remote(
        &db,
        2,
        5,
        OpBody::sale(order("store-2", 2, 5, &m2, vec![line("tea", 10, 3_000)])),
    );

    let (dormant, spend, products) = answers(&db);
    // Last seen on day 0 or before: in the chain m1 (its refunds do not
    // count); at store-1 m1 and m2 (registered there); at store-2 nobody.
    assert_eq!(
        dormant,
        Dormant {
            chain: 1,
            stores: vec![(n("store-1"), 2), (n("store-2"), 0)],
        }
    );
    assert_eq!(db.dormant(None, day(5)).unwrap().chain, 2);
    assert_eq!(
        db.dormant(Some(&[n("store-2")]), day(5)).unwrap().stores,
        vec![(n("store-2"), 1)]
    );
    assert_eq!(
        spend,
        vec![
            (
                m1.clone(),
                Spend {
                    sales: 1,
                    sold: Money::from_fen(3_500),
                    refunds: 2,
                    refunded: Money::from_fen(1_000),
                }
            ),
            (
                m2.clone(),
                Spend {
                    sales: 1,
                    sold: Money::from_fen(3_000),
                    refunds: 0,
                    refunded: Money::ZERO,
                }
            ),
        ]
    );
    // Only the refund days at store-1: m1's refunds alone.
    let refunds_only = db
        .member_spend(Some(&[n("store-1")]), day(1), day(2))
        .unwrap();
    assert_eq!(refunds_only.len(), 1);
    assert_eq!(refunds_only[0].1.net(), Money::from_fen(-1_000));
    assert_eq!(
        products,
        vec![
            (
                "cake".to_string(),
                ProductFigures {
                    lines: 1,
                    qty: Decimal::from(1),
                    sold: Money::from_fen(2_500),
                    returned_qty: Decimal::ZERO,
                    returned: Money::ZERO,
                }
            ),
            (
                "tea".to_string(),
                ProductFigures {
                    lines: 1,
                    qty: Decimal::from(3),
                    sold: Money::from_fen(1_000),
                    returned_qty: Decimal::from(3),
                    returned: Money::from_fen(1_000),
                }
            ),
        ]
    );
    // Chain-wide tea: 13 sold, 3 back, 30.00 net.
    let tea = db.product_sales(None, day(0), day(9)).unwrap();
    assert_eq!(tea[1].1.net_qty(), Decimal::from(10));
    assert_eq!(tea[1].1.net(), Money::from_fen(3_000));

    // The core's rule over the same ops says the same.
    let mut book = Book::default();
    for op in all_ops(&db) {
        book.apply(&op);
    }
    assert_eq!(book.ranks.top_members(None, day(-1), day(9), 100), {
        let mut s = spend.clone();
        tongka_core::figures::ranks::rank_members(&mut s);
        s
    });
    // The ranked read: the head of the book's ranking, whatever the limit,
    // at one store or all.
    for limit in [0, 1, 2, 100] {
        assert_eq!(
            db.member_spend_top(None, day(-1), day(9), MemberOrder::Amount, limit)
                .unwrap(),
            book.ranks.top_members(None, day(-1), day(9), limit)
        );
        let s1 = n("store-1");
        assert_eq!(
            db.member_spend_top(
                Some(std::slice::from_ref(&s1)),
                day(0),
                day(3),
                MemberOrder::Amount,
                limit
            )
            .unwrap(),
            book.ranks.top_members(Some(&s1), day(0), day(3), limit)
        );
    }
    // A store asked twice is read once.
    let s1 = n("store-1");
    assert_eq!(
        db.member_spend_top(
            Some(&[s1.clone(), s1.clone()]),
            day(-1),
            day(9),
            MemberOrder::Amount,
            100
        )
        .unwrap(),
        book.ranks.top_members(Some(&s1), day(-1), day(9), 100)
    );
    let by_count = db
        .member_spend_top(None, day(-1), day(9), MemberOrder::Count, 100)
        .unwrap();
    let mut expected = spend.clone();
    expected.sort_by(|a, b| MemberOrder::Count.cmp(a, b));
    assert_eq!(by_count, expected);
    assert_eq!(book.seen.dormant(&None, day(0), 0), dormant.chain);
    assert_eq!(
        book.seen.dormant(&Some(n("store-1")), day(0), 0),
        dormant.stores[0].1
    );
    db.close();

    // A database of before these tables: their tables and mark gone.
    {
        let raw = redb::Database::create(&path).unwrap();
        let w = raw.begin_write().unwrap();
        w.delete_table(redb::TableDefinition::<(&str, &str), (i32, bool)>::new(
            "member-last-1",
        ))
        .unwrap();
        w.delete_table(redb::TableDefinition::<(&str, i32), u64>::new("last-day-1"))
            .unwrap();
        assert!(
            w.delete_table(SPEND_2).unwrap(),
            "the members' spend is kept in buckets"
        );
        assert!(
            w.delete_table(redb::TableDefinition::<(&str, i32, &str), &[u8]>::new(
                "product-sales-1"
            ))
            .unwrap()
        );
        let mut meta = w
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
            .unwrap();
        meta.remove("figures-more").unwrap();
        meta.remove("spend-2").unwrap();
        drop(meta);
        w.commit().unwrap();
    }
    let db = open(&path);
    assert_eq!(
        answers(&db),
        (dormant.clone(), spend.clone(), products.clone()),
        "backfilled from the log"
    );
    // Once: the ops after it add to the backfilled rows (m1 back on day 9).
    remote(
        &db,
        3,
        9,
        OpBody::Recharged {
            member: m1.clone(),
            recharge: RechargeId::mint(&n("store-2"), 3),
            amount: Money::from_yuan(1),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
    );
    db.close();
    let db = open(&path);
    let (d, s, p) = answers(&db);
    assert_eq!(d.chain, 0);
    assert_eq!(db.dormant(None, day(8)).unwrap().chain, 1);
    assert_eq!(db.dormant(None, day(9)).unwrap().chain, 2);
    assert_eq!((s, p), (spend, products));
    // m2 merged into m1: gone from every scope (m1 at store-2 since day 9).
    remote(
        &db,
        4,
        9,
        OpBody::MembersMerged {
            member: m1.clone(),
            absorbed: m2.clone(),
            change: vec![],
            figures: Default::default(),
        },
    );
    assert_eq!(
        db.dormant(None, day(9)).unwrap(),
        Dormant {
            chain: 1,
            stores: vec![(n("store-1"), 1), (n("store-2"), 1)],
        }
    );
    let before = answers(&db);
    db.close();

    // A database of the layout before the buckets: a row per store, day
    // and member in `spend-1`. Packed into `spend-2` at open, once.
    {
        let raw = redb::Database::create(&path).unwrap();
        let w = raw.begin_write().unwrap();
        let mut rows = 0;
        {
            let packed = w.open_table(SPEND_2).unwrap();
            let mut old = w.open_table(SPEND_1).unwrap();
            for row in packed.iter().unwrap() {
                let (k, v) = row.unwrap();
                let (store, day, _) = k.value();
                let entries: Vec<(String, Spend)> = minicbor::decode(v.value()).unwrap();
                for (m, s) in entries {
                    let bytes = minicbor::to_vec(&s).unwrap();
                    old.insert((store, day, m.as_str()), bytes.as_slice())
                        .unwrap();
                    rows += 1;
                }
            }
        }
        assert!(rows > 3, "spend rows to move: {rows}");
        w.delete_table(SPEND_2).unwrap();
        w.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
            .unwrap()
            .remove("spend-2")
            .unwrap();
        w.commit().unwrap();
    }
    let db = open(&path);
    assert_eq!(answers(&db), before, "the same figures from the buckets");
    db.close();
    let raw = redb::Database::create(&path).unwrap();
    let r = raw.begin_read().unwrap();
    assert!(r.open_table(SPEND_1).is_err(), "spend-1 is gone");
}

const SPEND_1: redb::TableDefinition<(&str, i32, &str), &[u8]> =
    redb::TableDefinition::new("spend-1");
const SPEND_2: redb::TableDefinition<(&str, i32, u16), &[u8]> =
    redb::TableDefinition::new("spend-2");
