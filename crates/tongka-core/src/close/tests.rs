use std::collections::BTreeSet;

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::checkout::{Order, Tender};
use crate::clock::Hlc;
use crate::figures::Book;
use crate::ids::{MemberId, OrderId, RechargeId, RefundId};
use crate::op::OpBody;
use crate::refund::Refund;
use crate::testkit::{n, op};

/// 2026-12-06 00:00 in the chain's calendar (UTC+8), in ms.
const DAY0_MS: u64 = 1_796_486_400_000;
const HOUR: u64 = 3_600_000;

fn fen(f: i64) -> Money {
    Money::from_fen(f)
}

fn m(i: u64) -> MemberId {
    MemberId::mint(&n("hq"), i)
}

fn recharge(store: &str, seq: u64, ms: u64, amount: i64, bonus: i64, tender: TenderKind) -> Op {
    op(
        store,
        seq,
        ms,
        OpBody::Recharged {
            member: m(1),
            recharge: RechargeId::mint(&n(store), seq),
            amount: fen(amount),
            bonus: fen(bonus),
            tender,
        },
    )
}

/// A sale paid by `tenders` (each net of change, as an order records).
fn sale(store: &str, seq: u64, ms: u64, tenders: &[(TenderKind, i64)], change: i64) -> Op {
    let payable: i64 = tenders.iter().map(|t| t.1).sum();
    let order = Order {
        id: OrderId::mint(&n(store), seq),
        member: None,
        store: n(store),
        at: Hlc { ms, count: 0 },
        level: None,
        rate: Decimal::ONE,
        lines: vec![],
        total: fen(payable),
        discount: Money::ZERO,
        payable: fen(payable),
        tenders: tenders
            .iter()
            .map(|(kind, f)| Tender {
                kind: *kind,
                amount: fen(*f),
            })
            .collect(),
        change: fen(change),
        balance_principal: Money::ZERO,
        balance_bonus: Money::ZERO,
        points_earned: 0,
        points_used: 0,
        points_value: Money::ZERO,
        coupons: vec![],
        coupon_off: Money::ZERO,
    };
    op(store, seq, ms, OpBody::sale(order))
}

fn refund(store: &str, seq: u64, ms: u64, tenders: &[(TenderKind, i64)]) -> Op {
    let amount: i64 = tenders.iter().map(|t| t.1).sum();
    let r = Refund {
        id: RefundId::mint(&n(store), seq),
        order: OrderId::mint(&n(store), 1),
        member: None,
        store: n(store),
        at: Hlc { ms, count: 0 },
        lines: vec![],
        amount: fen(amount),
        tenders: tenders
            .iter()
            .map(|(kind, f)| Tender {
                kind: *kind,
                amount: fen(*f),
            })
            .collect(),
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
    op(store, seq, ms, OpBody::refund(r))
}

fn ask(kind: CloseKind, float: i64, counted: i64) -> CloseAsk {
    CloseAsk {
        kind,
        day: None,
        opening_float: fen(float),
        counted_cash: fen(counted),
        note: String::new(),
    }
}

fn today() -> Day {
    Day::of_ms(DAY0_MS)
}

/// A day of one store, by hand: 100.00 float; cash sale 35.50 (handed
/// 50.00, 14.50 change: the order records 35.50 cash); a sale of 20.00
/// balance + 10.00 cash; a card sale 88.00; a cash recharge 200.00 (+20
/// bonus); a wechat recharge 100.00; a cash refund 5.50 and a balance
/// refund 3.00. Expected cash 100 + 35.50 + 10 + 200 − 5.50 = 340.00;
/// counted 338.80: short 1.20.
#[test]
fn a_shift_by_hand() {
    use TenderKind::*;
    let s = "store-1";
    let ops = vec![
        sale(s, 1, DAY0_MS + 9 * HOUR, &[(Cash, 3550)], 1450),
        sale(
            s,
            2,
            DAY0_MS + 10 * HOUR,
            &[(Balance, 2000), (Cash, 1000)],
            0,
        ),
        sale(s, 3, DAY0_MS + 11 * HOUR, &[(Card, 8800)], 0),
        recharge(s, 4, DAY0_MS + 12 * HOUR, 20000, 2000, Cash),
        recharge(s, 5, DAY0_MS + 13 * HOUR, 10000, 0, Wechat),
        refund(s, 6, DAY0_MS + 14 * HOUR, &[(Cash, 550)]),
        refund(s, 7, DAY0_MS + 15 * HOUR, &[(Balance, 300)]),
        // Another store's sale is not this store's takings.
        sale("store-2", 1, DAY0_MS + 15 * HOUR, &[(Cash, 99900)], 0),
    ];
    let c = decide(
        &n(s),
        &ask(CloseKind::Shift, 10000, 33880),
        None,
        &ops,
        DAY0_MS + 16 * HOUR,
        today(),
    )
    .unwrap();
    assert_eq!((c.seq_from, c.seq_to), (1, 7));
    assert_eq!(c.totals.ops, 7);
    assert_eq!(c.totals.orders, 3);
    assert_eq!(c.totals.sales, fen(3550 + 3000 + 8800));
    assert_eq!((c.totals.refunds, c.totals.refunded), (2, fen(850)));
    assert_eq!(c.totals.recharges, 2);
    assert_eq!(c.totals.recharged, fen(30000));
    assert_eq!(c.totals.recharged_bonus, fen(2000));
    let cash = c.totals.tender(Cash);
    assert_eq!((cash.sales, cash.sold), (2, fen(4550)));
    assert_eq!((cash.recharges, cash.recharged), (1, fen(20000)));
    assert_eq!((cash.refunds, cash.refunded), (1, fen(550)));
    assert_eq!(c.totals.tender(Balance).sold, fen(2000));
    assert_eq!(c.totals.tender(Balance).refunded, fen(300));
    assert_eq!(c.totals.tender(Card).sold, fen(8800));
    assert_eq!(c.totals.tender(Wechat).recharged, fen(10000));
    assert_eq!(c.totals.tender(Alipay), TenderTotals::default());
    assert_eq!(c.expected_cash, fen(34000));
    assert_eq!(c.counted_cash, fen(33880));
    assert_eq!(c.difference, fen(-120));
    assert_eq!(c.from_ms, DAY0_MS + 9 * HOUR);
    assert_eq!(c.to_ms, DAY0_MS + 16 * HOUR);
    assert_eq!(c.check(), Ok(()));

    // The next shift reads after seq 7, and with nothing new covers none.
    let next = decide(
        &n(s),
        &ask(CloseKind::Shift, 0, 0),
        Some(&Previous::from(&c)),
        &ops,
        DAY0_MS + 17 * HOUR,
        today(),
    )
    .unwrap();
    assert_eq!((next.seq_from, next.seq_to), (8, 7));
    assert!(!next.covers(7) && !next.covers(8));
    assert_eq!(next.totals, CloseTotals::default());
    assert_eq!(next.from_ms, c.to_ms);
}

#[test]
fn a_day_closed_twice_or_before_it_begins_is_refused() {
    let s = n("store-1");
    let ops = vec![sale(
        "store-1",
        1,
        DAY0_MS + HOUR,
        &[(TenderKind::Cash, 100)],
        0,
    )];
    let now = DAY0_MS + 20 * HOUR;
    let first = decide(&s, &ask(CloseKind::Day, 0, 100), None, &ops, now, today()).unwrap();
    assert_eq!(first.day, today());
    assert_eq!(first.difference, Money::ZERO);
    let again = decide(
        &s,
        &ask(CloseKind::Day, 0, 0),
        Some(&Previous::from(&first)),
        &ops,
        now + 1,
        today(),
    )
    .unwrap_err();
    assert_eq!(again.code(), "already_closed");
    assert!(again.message_zh().contains("已日结"));
    let mut tomorrow = ask(CloseKind::Day, 0, 0);
    tomorrow.day = Some(today().plus(1));
    let e = decide(&s, &tomorrow, None, &ops, now, today()).unwrap_err();
    assert_eq!(e.code(), "close_day_not_begun");
    // A shift close after the day close is its own chain: allowed.
    assert!(decide(&s, &ask(CloseKind::Shift, 0, 0), None, &ops, now, today()).is_ok());
}

#[test]
fn entered_amounts_and_notes_are_checked() {
    let s = n("store-1");
    let bad = |a: CloseAsk| decide(&s, &a, None, &[], DAY0_MS, today()).unwrap_err();
    let mut a = ask(CloseKind::Shift, 0, 0);
    a.counted_cash = fen(-1);
    assert_eq!(bad(a.clone()).code(), "invalid_amount");
    a.counted_cash = Money::from_yuan(crate::money::AMOUNT_MAX_YUAN + 1);
    assert_eq!(bad(a.clone()).details()[0].1, "counted_cash");
    a.counted_cash = Money::ZERO;
    a.opening_float = fen(-5);
    assert_eq!(bad(a.clone()).details()[0].1, "opening_float");
    a.opening_float = Money::ZERO;
    a.note = "ok\u{7}".into();
    assert_eq!(bad(a.clone()).code(), "invalid_note");
    a.note = "x".repeat(NOTE_LEN + 1);
    assert_eq!(bad(a.clone()).code(), "invalid_note");
    a.note = "两张假币\n已上交".into();
    assert!(decide(&s, &a, None, &[], DAY0_MS, today()).is_ok());
}

#[test]
fn a_close_that_says_two_things_fails_its_check_and_round_trips() {
    let ops = vec![sale("store-1", 1, DAY0_MS, &[(TenderKind::Cash, 1234)], 66)];
    let mut c = decide(
        &n("store-1"),
        &ask(CloseKind::Shift, 500, 1700),
        None,
        &ops,
        DAY0_MS + HOUR,
        today(),
    )
    .unwrap();
    c.note = "交班".into();
    let bytes = minicbor::to_vec(&c).unwrap();
    assert_eq!(minicbor::decode::<Close>(&bytes).unwrap(), c);
    let mut forged = c.clone();
    forged.expected_cash = forged.counted_cash;
    assert_eq!(forged.check().unwrap_err().code(), "close_inconsistent");
    let mut forged = c.clone();
    forged.difference = Money::ZERO;
    assert!(forged.check().is_err());
    let mut forged = c;
    forged
        .totals
        .tenders
        .get_mut(&TenderKind::Cash)
        .unwrap()
        .sold = fen(1);
    assert!(forged.check().is_err());
}

/// One step of a generated store log.
#[derive(Debug, Clone)]
enum Step {
    Sale(Vec<(TenderKind, i64)>, i64),
    Recharge(i64, i64, TenderKind),
    Refund(Vec<(TenderKind, i64)>),
    /// An op of another store, interleaved.
    Elsewhere(i64),
    /// A close made here (its own op in the log), of this kind.
    Close(CloseKind),
}

fn tender() -> impl Strategy<Value = TenderKind> {
    prop::sample::select(vec![
        TenderKind::Cash,
        TenderKind::Balance,
        TenderKind::Card,
        TenderKind::Wechat,
        TenderKind::Alipay,
    ])
}

fn tenders() -> impl Strategy<Value = Vec<(TenderKind, i64)>> {
    prop::collection::vec((tender(), 1i64..50_000), 1..3)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (tenders(), 0i64..2_000).prop_map(|(t, c)| Step::Sale(t, c)),
        2 => (1i64..100_000, 0i64..10_000, tender().prop_filter("not balance", |t| *t != TenderKind::Balance))
            .prop_map(|(a, b, t)| Step::Recharge(a, b, t)),
        1 => tenders().prop_map(Step::Refund),
        1 => (1i64..10_000).prop_map(Step::Elsewhere),
        2 => prop::sample::select(vec![CloseKind::Shift, CloseKind::Day]).prop_map(Step::Close),
    ]
}

/// The log a run of steps makes (each op `gap` minutes after the last),
/// the closes made at each `Close` step, decided against the log as it
/// stood then (a close is itself an op of the store).
fn run(steps: &[Step], gap_min: u64) -> (Vec<Op>, Vec<Close>) {
    let s = "store-1";
    let mut log = Vec::new();
    let mut closes: Vec<Close> = Vec::new();
    let (mut seq, mut other) = (0, 0);
    let mut ms = DAY0_MS;
    for st in steps {
        ms += gap_min * 60_000;
        seq += 1;
        let o = match st {
            Step::Sale(t, c) => sale(s, seq, ms, t, *c),
            Step::Recharge(a, b, t) => recharge(s, seq, ms, *a, *b, *t),
            Step::Refund(t) => refund(s, seq, ms, t),
            Step::Elsewhere(f) => {
                seq -= 1;
                other += 1;
                sale("store-2", other, ms, &[(TenderKind::Cash, *f)], 0)
            }
            Step::Close(kind) => {
                let prev = closes.iter().rev().find(|c| c.kind == *kind);
                let prev = prev.map(Previous::from);
                let today = Day::of_ms(ms);
                match decide(&n(s), &ask(*kind, 0, 0), prev.as_ref(), &log, ms, today) {
                    Ok(c) => {
                        // The close's own op: an op covered by the next
                        // close, which takes nothing in.
                        let body = OpBody::DayClosed { close: c.clone() };
                        closes.push(c);
                        op(s, seq, ms, body)
                    }
                    Err(e) => {
                        assert_eq!(e.code(), "already_closed");
                        seq -= 1;
                        continue;
                    }
                }
            }
        };
        log.push(o);
    }
    (log, closes)
}

/// The totals of the covered ops folded by hand from the ops' tenders
/// (not by the figures' rule the module uses).
fn by_hand(ops: &[&Op]) -> CloseTotals {
    let mut t = CloseTotals::default();
    for o in ops {
        t.ops += 1;
        match &o.body {
            OpBody::CheckedOut { order, .. } => {
                t.orders += 1;
                t.sales += order.payable;
                let kinds: BTreeSet<_> = order.tenders.iter().map(|x| x.kind).collect();
                for k in kinds {
                    let e = t.tenders.entry(k).or_default();
                    e.sales += 1;
                    for x in order.tenders.iter().filter(|x| x.kind == k) {
                        e.sold += x.amount;
                    }
                }
            }
            OpBody::Refunded { refund, .. } => {
                t.refunds += 1;
                t.refunded += refund.amount;
                let kinds: BTreeSet<_> = refund.tenders.iter().map(|x| x.kind).collect();
                for k in kinds {
                    let e = t.tenders.entry(k).or_default();
                    e.refunds += 1;
                    for x in refund.tenders.iter().filter(|x| x.kind == k) {
                        e.refunded += x.amount;
                    }
                }
            }
            OpBody::Recharged {
                amount,
                bonus,
                tender,
                ..
            } => {
                t.recharges += 1;
                t.recharged += *amount;
                t.recharged_bonus += *bonus;
                let e = t.tenders.entry(*tender).or_default();
                e.recharges += 1;
                e.recharged += *amount;
                e.recharged_bonus += *bonus;
            }
            _ => {}
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every close's totals are a fold of exactly the store's ops in its
    /// seq range; each kind's closes cover consecutive ranges from 1, and
    /// with the ops after the last they sum to the whole log's totals.
    #[test]
    fn closes_are_folds_of_their_ops_and_sum_to_the_whole(
        steps in prop::collection::vec(step(), 0..60),
        gap in prop::sample::select(vec![1u64, 37, 240]),
    ) {
        let store = n("store-1");
        let (log, closes) = run(&steps, gap);
        let own: Vec<&Op> = log.iter().filter(|o| o.origin() == &store).collect();
        for c in &closes {
            let covered: Vec<&Op> = own.iter().copied().filter(|o| c.covers(o.id.seq)).collect();
            prop_assert_eq!(&c.totals, &by_hand(&covered));
            prop_assert_eq!(
                c.expected_cash,
                c.totals.tender(TenderKind::Cash).sold + c.totals.tender(TenderKind::Cash).recharged
                    - c.totals.tender(TenderKind::Cash).refunded
            );
            prop_assert_eq!(c.check(), Ok(()));
        }
        for kind in CloseKind::ALL {
            let mine: Vec<&Close> = closes.iter().filter(|c| c.kind == kind).collect();
            let mut next = 1;
            let mut sum = CloseTotals::default();
            for c in &mine {
                prop_assert_eq!(c.seq_from, next);
                next = c.seq_to + 1;
                sum.add(&c.totals);
            }
            let rest: Vec<&Op> = own.iter().copied().filter(|o| o.id.seq >= next).collect();
            sum.add(&by_hand(&rest));
            prop_assert_eq!(sum, by_hand(&own));
        }
        // A day close covers no op of a later day, and days only go on.
        let days: Vec<&Close> = closes.iter().filter(|c| c.kind == CloseKind::Day).collect();
        for w in days.windows(2) {
            prop_assert!(w[0].day < w[1].day);
        }
        for c in &days {
            for o in own.iter().filter(|o| c.covers(o.id.seq)) {
                prop_assert!(Day::of_ms(o.hlc.ms) <= c.day);
            }
        }
    }

    /// Closing each past day in turn gives that day's figures
    /// (`figures::Book`, the reports' rule) when the log's clocks follow its
    /// seqs, as a store's own do.
    #[test]
    fn day_closes_of_past_days_are_the_days_figures(
        steps in prop::collection::vec(step(), 0..40),
    ) {
        let store = n("store-1");
        let steps: Vec<Step> = steps.into_iter().filter(|s| !matches!(s, Step::Close(_))).collect();
        let (log, _) = run(&steps, 197);
        let mut book = Book::default();
        for o in &log {
            book.apply(o);
        }
        let last = log.last().map_or(today(), |o| Day::of_ms(o.hlc.ms));
        let mut prev: Option<Previous> = None;
        let mut d = today();
        while d <= last {
            let mut a = ask(CloseKind::Day, 0, 0);
            a.day = Some(d);
            let c = decide(&store, &a, prev.as_ref(), &log, u64::MAX / 2, last.plus(1)).unwrap();
            let f = book.figures.get(&(store.clone(), d)).cloned().unwrap_or_default();
            prop_assert_eq!(c.totals.orders, f.totals.orders);
            prop_assert_eq!(c.totals.sales, f.totals.sales);
            prop_assert_eq!(c.totals.recharged, f.totals.recharged_principal);
            for (k, t) in &f.tenders {
                let mine = c.totals.tender(*k);
                prop_assert_eq!((mine.sold, mine.recharged, mine.refunded), (t.sold, t.recharged, t.refunded));
            }
            prop_assert_eq!(c.to_ms as i64, d.plus(1).start_ms() - 1);
            prev = Some(Previous::from(&c));
            d = d.plus(1);
        }
    }
}
