use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::checkout::{Order, Tender};
use crate::clock::Hlc;
use crate::ids::{OrderId, RechargeId, RefundId};
use crate::member::Profile;
use crate::refund::Refund;
use crate::testkit::{n, op};

/// 2026-12-06 00:00 in the chain's calendar (UTC+8), in ms.
const DAY0_MS: u64 = 1_796_486_400_000;
const HOUR: u64 = 3_600_000;

fn m(i: u64) -> MemberId {
    MemberId::mint(&n("hq"), i)
}

fn yuan(fen: i64) -> Money {
    Money::from_fen(fen)
}

fn recharge(
    store: &str,
    seq: u64,
    ms: u64,
    member: u64,
    amount: i64,
    bonus: i64,
    tender: TenderKind,
) -> Op {
    op(
        store,
        seq,
        ms,
        OpBody::Recharged {
            member: m(member),
            recharge: RechargeId::mint(&n(store), seq),
            amount: yuan(amount),
            bonus: yuan(bonus),
            tender,
        },
    )
}

/// A sale of `payable`: `principal` and `bonus` from the balance, the rest
/// in `other` (cash handed `change` over).
#[allow(clippy::too_many_arguments)]
fn sale(
    store: &str,
    seq: u64,
    ms: u64,
    member: Option<u64>,
    payable: i64,
    principal: i64,
    bonus: i64,
    other: TenderKind,
    change: i64,
    points: i64,
) -> Op {
    let mut tenders = Vec::new();
    if principal + bonus > 0 {
        tenders.push(Tender {
            kind: TenderKind::Balance,
            amount: yuan(principal + bonus),
        });
    }
    if payable - principal - bonus > 0 {
        tenders.push(Tender {
            kind: other,
            amount: yuan(payable - principal - bonus),
        });
    }
    let order = Order {
        id: OrderId::mint(&n(store), seq),
        member: member.map(m),
        store: n(store),
        at: Hlc { ms, count: 0 },
        level: None,
        rate: Decimal::ONE,
        lines: vec![],
        total: yuan(payable),
        discount: Money::ZERO,
        payable: yuan(payable),
        tenders,
        change: yuan(change),
        balance_principal: yuan(principal),
        balance_bonus: yuan(bonus),
        points_earned: points,
        points_used: 0,
        points_value: Money::ZERO,
        coupons: vec![],
        coupon_off: Money::ZERO,
    };
    op(store, seq, ms, OpBody::sale(order))
}

/// A refund of an order of `store`: `principal` and `bonus` back to the
/// balance, `other_amount` through `other`.
#[allow(clippy::too_many_arguments)]
fn refund(
    store: &str,
    seq: u64,
    ms: u64,
    of: u64,
    principal: i64,
    bonus: i64,
    other: TenderKind,
    other_amount: i64,
    points: i64,
) -> Op {
    let mut tenders = Vec::new();
    if principal + bonus > 0 {
        tenders.push(Tender {
            kind: TenderKind::Balance,
            amount: yuan(principal + bonus),
        });
    }
    if other_amount > 0 {
        tenders.push(Tender {
            kind: other,
            amount: yuan(other_amount),
        });
    }
    let r = Refund {
        id: RefundId::mint(&n(store), seq),
        order: OrderId::mint(&n(store), of),
        member: None,
        store: n(store),
        at: Hlc { ms, count: 0 },
        lines: vec![],
        amount: yuan(principal + bonus + other_amount),
        tenders,
        balance_principal: yuan(principal),
        balance_bonus: yuan(bonus),
        points_reversed: points,
        reason: String::new(),
        points_returned: 0,
        coupons_returned: vec![],
        cards_refunded: vec![],
        card_kept: Money::ZERO,
        approved_by: None,
    };
    op(store, seq, ms, OpBody::refund(r))
}

fn transfer(
    from: &str,
    seq: u64,
    ms: u64,
    to: &str,
    principal: i64,
    bonus: i64,
    points: i64,
) -> Op {
    op(
        from,
        seq,
        ms,
        OpBody::SharesTransferred {
            member: m(1),
            to: n(to),
            principal: yuan(principal),
            bonus: yuan(bonus),
            points,
        },
    )
}

fn registration(store: &str, seq: u64, ms: u64, member: u64) -> Op {
    op(
        store,
        seq,
        ms,
        OpBody::MemberRegistered {
            member: m(member),
            profile: Profile {
                phone: format!("138{member:08}"),
                name: "会员".into(),
                birthday: None,
                gender: None,
                card_no: None,
                invited_by: None,
                tags: vec![],
                notes: String::new(),
            },
            opening: None,
        },
    )
}

fn figures(book: &Book, store: &str, day: i32) -> Figures {
    book.figures
        .get(&(n(store), Day::of_ms(DAY0_MS).plus(day)))
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_day_at_two_stores_by_hand() {
    use TenderKind::*;
    let ops = [
        registration("store-a", 1, DAY0_MS + HOUR, 1),
        // 100.00 + 20.00 bonus by cash, member 1 at store-a.
        recharge("store-a", 2, DAY0_MS + 2 * HOUR, 1, 10_000, 2_000, Cash),
        // 60.00: 50.00 principal + 10.00 bonus from the balance.
        sale(
            "store-a",
            3,
            DAY0_MS + 3 * HOUR,
            Some(1),
            6_000,
            5_000,
            1_000,
            Cash,
            0,
            60,
        ),
        // 35.50 in cash, 50.00 handed, 14.50 change; member 1 again.
        sale(
            "store-a",
            4,
            DAY0_MS + 4 * HOUR,
            Some(1),
            3_550,
            0,
            0,
            Cash,
            1_450,
            35,
        ),
        // store-a gives store-b 30.00 + 5.00 of member 1's share.
        transfer("store-a", 5, DAY0_MS + 5 * HOUR, "store-b", 3_000, 500, 0),
        // store-b: 40.00 from the balance (30.00 + 5.00 + 5.00 more it
        // does not hold: the figures do not check), then refunds 10.00 of
        // it as 8.00 principal and 2.00 bonus.
        sale(
            "store-b",
            1,
            DAY0_MS + 6 * HOUR,
            Some(1),
            4_000,
            3_400,
            600,
            Wechat,
            0,
            40,
        ),
        refund("store-b", 2, DAY0_MS + 7 * HOUR, 1, 800, 200, Wechat, 0, 10),
        // Next day at store-a: a card sale of a walk-in.
        sale(
            "store-a",
            6,
            DAY0_MS + 25 * HOUR,
            None,
            1_234,
            0,
            0,
            Card,
            0,
            0,
        ),
    ];
    let mut book = Book::default();
    for o in &ops {
        book.apply(o);
    }
    let a = figures(&book, "store-a", 0);
    assert_eq!(a.totals.members, 1);
    assert_eq!(a.totals.recharges, 1);
    assert_eq!(a.totals.orders, 2);
    assert_eq!(a.totals.sales, yuan(9_550));
    assert_eq!(a.active_members, 1);
    assert_eq!(
        a.tender(Cash),
        TenderFigures {
            sales: 1,
            sold: yuan(3_550),
            recharges: 1,
            recharged: yuan(10_000),
            refunds: 0,
            refunded: Money::ZERO,
            recharged_bonus: yuan(2_000),
        }
    );
    assert_eq!(a.tender(Balance).sold, yuan(6_000));
    assert_eq!(a.shares_out.principal, yuan(3_000));
    // 100.00 − 50.00 − 30.00 = 20.00; 20.00 − 10.00 − 5.00 = 5.00.
    assert_eq!(a.liability(), (yuan(2_000), yuan(500)));
    assert_eq!(a.points_outstanding(), 95);

    let b = figures(&book, "store-b", 0);
    assert_eq!(b.shares_in.count, 1);
    assert_eq!(b.tender(Balance).refunded, yuan(1_000));
    assert_eq!(b.tender(Wechat), TenderFigures::default());
    assert_eq!(b.active_members, 1);
    // 30.00 − 34.00 + 8.00 = 4.00; 5.00 − 6.00 + 2.00 = 1.00.
    assert_eq!(b.liability(), (yuan(400), yuan(100)));
    assert_eq!(b.points_outstanding(), 30);

    let a1 = figures(&book, "store-a", 1);
    assert_eq!(a1.tender(Card).sold, yuan(1_234));
    assert_eq!(a1.active_members, 0);

    assert_eq!(book.liability(), (yuan(2_400), yuan(600)));
    let mut totals = LedgerTotals::default();
    for o in &ops {
        totals.apply(o);
    }
    assert_eq!(book.liability(), totals.outstanding());
}

#[test]
fn figures_round_trip_through_minicbor() {
    let mut book = Book::default();
    book.apply(&recharge(
        "store-a",
        1,
        DAY0_MS,
        1,
        100,
        7,
        TenderKind::Alipay,
    ));
    book.apply(&sale(
        "store-a",
        2,
        DAY0_MS,
        Some(1),
        90,
        50,
        7,
        TenderKind::Cash,
        10,
        1,
    ));
    let f = figures(&book, "store-a", 0);
    let bytes = minicbor::to_vec(&f).unwrap();
    assert_eq!(minicbor::decode::<Figures>(&bytes).unwrap(), f);
}

fn store(i: u8) -> &'static str {
    ["store-a", "store-b", "store-c", "hq"][usize::from(i % 4)]
}

fn kind(i: u8) -> TenderKind {
    [
        TenderKind::Cash,
        TenderKind::Card,
        TenderKind::Wechat,
        TenderKind::Alipay,
    ][usize::from(i % 4)]
}

/// An op drawn from numbers: its kind, store, other store, member, day,
/// amounts and tender.
fn arb_op() -> impl Strategy<Value = (u8, u8, u8, u64, u64, i64, i64, i64, u8)> {
    (
        0u8..5,
        any::<u8>(),
        any::<u8>(),
        1u64..6,
        0u64..(3 * 24),
        0i64..50_000,
        0i64..10_000,
        0i64..500,
        any::<u8>(),
    )
}

fn make(seq: u64, spec: (u8, u8, u8, u64, u64, i64, i64, i64, u8)) -> Op {
    let (what, s, t, member, hours, a, b, p, k) = spec;
    let ms = DAY0_MS + hours * HOUR;
    let st = store(s);
    match what {
        0 => recharge(st, seq, ms, member, a.max(1), b, kind(k)),
        1 => sale(st, seq, ms, Some(member), a + b + 100, a, b, kind(k), p, p),
        2 => refund(st, seq, ms, seq, a, b, kind(k), p, p),
        3 => transfer(st, seq, ms, store(t), a, b, p),
        _ => registration(st, seq, ms, member),
    }
}

proptest! {
    /// Σ over stores and days of each store's liability is the chain's
    /// outstanding stored value (and points), and the figures of a set of
    /// ops do not depend on the order they are applied in.
    #[test]
    fn store_liabilities_sum_to_the_chain_and_order_does_not_matter(
        specs in proptest::collection::vec(arb_op(), 0..60),
        seed in any::<u64>(),
    ) {
        let ops: Vec<Op> = specs.into_iter().enumerate().map(|(i, s)| make(i as u64 + 1, s)).collect();
        let mut book = Book::default();
        let mut totals = LedgerTotals::default();
        for o in &ops {
            book.apply(o);
            totals.apply(o);
        }
        prop_assert_eq!(book.liability(), totals.outstanding());
        let points: i64 = book.figures.values().map(Figures::points_outstanding).sum();
        prop_assert_eq!(points, totals.points_outstanding());

        // Another order (a seeded Fisher-Yates shuffle).
        let mut shuffled = ops.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut other = Book::default();
        for o in &shuffled {
            other.apply(o);
        }
        prop_assert_eq!(&other, &book);
    }
}
