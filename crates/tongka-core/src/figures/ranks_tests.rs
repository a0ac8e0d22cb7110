//! Dormant members and the rankings (`seen`, `ranks`): by hand, and the
//! whole [`Book`] of a set of ops the same in any causal order.

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::ranks::{MemberOrder, ProductFigures, Spend};
use super::seen::{LastSeen, Scope};
use super::*;
use crate::checkout::{Order, OrderLine, Tender};
use crate::clock::Hlc;
use crate::ids::{OrderId, RechargeId, RefundId};
use crate::member::Profile;
use crate::op::MergedFigures;
use crate::refund::{Refund, RefundLine};
use crate::testkit::{n, op};

/// 2026-12-06 00:00 in the chain's calendar (UTC+8), in ms.
const DAY0_MS: u64 = 1_796_486_400_000;
const DAY: u64 = 24 * 3_600_000;

fn m(i: u64) -> MemberId {
    MemberId::mint(&n("hq"), i)
}

fn day(d: i32) -> Day {
    Day::of_ms(DAY0_MS).plus(d)
}

fn at(d: u64) -> u64 {
    DAY0_MS + d * DAY + 3_600_000
}

fn register(store: &str, seq: u64, d: u64, member: u64) -> Op {
    op(
        store,
        seq,
        at(d),
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

fn recharge(store: &str, seq: u64, d: u64, member: u64) -> Op {
    op(
        store,
        seq,
        at(d),
        OpBody::Recharged {
            member: m(member),
            recharge: RechargeId::mint(&n(store), seq),
            amount: Money::from_yuan(100),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
    )
}

fn line(sku: &str, qty: i64, paid_fen: i64) -> OrderLine {
    OrderLine {
        sku: Some(sku.into()),
        barcode: None,
        description: sku.into(),
        unit_price: Money::from_fen(paid_fen / qty.max(1)),
        qty: Decimal::from(qty),
        amount: Money::from_fen(paid_fen),
        discount: Money::ZERO,
        payable: Money::from_fen(paid_fen),
        coupon_off: Money::ZERO,
        card: None,
    }
}

/// Sale number `seq` of `store` on day `d`: `lines`, paid in cash.
fn sale(store: &str, seq: u64, d: u64, member: Option<u64>, lines: Vec<OrderLine>) -> Op {
    let payable: Money = lines.iter().map(|l| l.payable).sum();
    let order = Order {
        id: OrderId::mint(&n(store), seq),
        member: member.map(m),
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
    };
    op(store, seq, at(d), OpBody::sale(order))
}

/// A refund (number `seq`) at `store` of its sale number `of`: `qty` of
/// line `line`, `amount` back in cash.
#[allow(clippy::too_many_arguments)]
fn refund(
    store: &str,
    seq: u64,
    d: u64,
    of: u64,
    member: Option<u64>,
    line: usize,
    qty: i64,
    amount: i64,
) -> Op {
    let r = Refund {
        id: RefundId::mint(&n(store), seq),
        order: OrderId::mint(&n(store), of),
        member: member.map(m),
        store: n(store),
        at: Hlc {
            ms: at(d),
            count: 0,
        },
        lines: vec![RefundLine {
            line,
            qty: Decimal::from(qty),
        }],
        amount: Money::from_fen(amount),
        tenders: vec![Tender {
            kind: TenderKind::Cash,
            amount: Money::from_fen(amount),
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
    op(store, seq, at(d), OpBody::refund(r))
}

fn merge(store: &str, seq: u64, d: u64, survivor: u64, absorbed: u64) -> Op {
    op(
        store,
        seq,
        at(d),
        OpBody::MembersMerged {
            member: m(survivor),
            absorbed: m(absorbed),
            change: vec![],
            figures: MergedFigures::default(),
        },
    )
}

fn book(ops: &[Op]) -> Book {
    let mut b = Book::default();
    for o in ops {
        b.apply(o);
    }
    b
}

fn store(s: &str) -> Scope {
    Some(n(s))
}

#[test]
fn dormant_members_by_hand() {
    let ops = [
        // Day 0: 1 and 2 registered at store-a, 3 at store-b.
        register("store-a", 1, 0, 1),
        register("store-a", 2, 0, 2),
        register("store-b", 1, 0, 3),
        // Day 10: 1 recharges at store-b; day 20: 2 buys at store-a.
        recharge("store-b", 2, 10, 1),
        sale("store-a", 3, 20, Some(2), vec![line("tea", 1, 500)]),
        // Day 25: 4 registered at store-a, merged into 3 on day 26.
        register("store-a", 4, 25, 4),
        merge("hq", 1, 26, 3, 4),
    ];
    let b = book(&ops);
    let s = &b.seen;
    // As of day 40 after 15 days (seen on day 25 or before): 1 (day 10),
    // 2 (day 20), 3 (day 0); 4 is gone.
    assert_eq!(s.dormant(&None, day(40), 15), 3);
    // At store-a: 1 (day 0: their recharge was at store-b) and 2.
    assert_eq!(s.dormant(&store("store-a"), day(40), 15), 2);
    // After 25 days, as of day 40 (seen on day 15 or before): 1 at store-a
    // (day 0) but not 2 (day 20).
    assert_eq!(s.dormant(&store("store-a"), day(40), 25), 1);
    // At store-b: 3 (day 0) and 1 (day 10).
    assert_eq!(s.dormant(&store("store-b"), day(40), 15), 2);
    // After 30 days: as of day 40, seen on day 10 or before: 1 and 3.
    assert_eq!(s.dormant(&None, day(40), 30), 2);
    // After 31 days: only 3 (day 0 ≤ 9; 1 was seen on day 10).
    assert_eq!(s.dormant(&None, day(40), 31), 1);
    // A member registered the day of the cutoff is dormant, the next not.
    assert_eq!(s.dormant(&None, day(25), 25), 1);
    assert_eq!(s.dormant(&None, day(24), 25), 0);
    // Counts per last day: chain {0: 1 (member 3), 10: 1, 20: 1}.
    let chain: Vec<(Day, u64)> = s
        .counts
        .iter()
        .filter(|((sc, _), _)| sc.is_none())
        .map(|((_, d), c)| (*d, *c))
        .collect();
    assert_eq!(chain, vec![(day(0), 1), (day(10), 1), (day(20), 1)]);
}

#[test]
fn rankings_by_hand_and_a_line_refunded_in_parts_nets_to_zero() {
    let ops = [
        // Member 1 at store-a: 3 tea for 10.00 and a cake for 25.00.
        sale(
            "store-a",
            1,
            0,
            Some(1),
            vec![line("tea", 3, 1_000), line("cake", 1, 2_500)],
        ),
        // Member 2 at store-a: 1 tea for 4.00.
        sale("store-a", 2, 0, Some(2), vec![line("tea", 1, 400)]),
        // Member 1 is refunded 1 tea (10.00 × 1/3 = 3.33), next day.
        refund("store-a", 3, 1, 1, Some(1), 0, 1, 333),
        // Member 2 at store-b: 10 tea for 30.00.
        sale("store-b", 1, 1, Some(2), vec![line("tea", 10, 3_000)]),
        // Then the 2 other tea of order 1: F(3) − F(1) = 10.00 − 3.33.
        refund("store-a", 4, 2, 1, Some(1), 0, 2, 667),
        // A walk-in: not ranked as a member.
        sale("store-a", 5, 2, None, vec![line("cake", 2, 5_000)]),
    ];
    let b = book(&ops);
    let r = &b.ranks;
    let tea_a: ProductFigures = (0..3)
        .filter_map(|d| r.products.get(&(n("store-a"), day(d), "tea".into())))
        .fold(ProductFigures::default(), |mut a, p| {
            a.add(p);
            a
        });
    assert_eq!(tea_a.qty, Decimal::from(4));
    assert_eq!(tea_a.returned_qty, Decimal::from(3));
    assert_eq!(tea_a.sold, Money::from_fen(1_400));
    // 3.33 then 6.67: the line's 10.00 back exactly.
    assert_eq!(
        r.products[&(n("store-a"), day(1), "tea".into())].returned,
        Money::from_fen(333)
    );
    assert_eq!(tea_a.returned, Money::from_fen(1_000));
    assert_eq!(tea_a.net(), Money::from_fen(400));

    // Members, chain-wide over the three days: 2 spent 4.00 + 30.00; 1
    // spent 35.00 − 10.00.
    let top = r.top_members(None, day(0), day(2), 20);
    assert_eq!(
        top,
        vec![
            (
                m(2),
                Spend {
                    sales: 2,
                    sold: Money::from_fen(3_400),
                    refunds: 0,
                    refunded: Money::ZERO
                }
            ),
            (
                m(1),
                Spend {
                    sales: 1,
                    sold: Money::from_fen(3_500),
                    refunds: 2,
                    refunded: Money::from_fen(1_000)
                }
            ),
        ]
    );
    // Only store-a, only day 0: 1 (35.00) before 2 (4.00); limit 1.
    let top = r.top_members(Some(&n("store-a")), day(0), day(0), 1);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].0, m(1));
    assert_eq!(top[0].1.net(), Money::from_fen(3_500));
}

/// Ops drawn from numbers, each origin's in seq order: registrations,
/// recharges, sales (of members or walk-ins, one or two lines), refunds of
/// an earlier sale of the same origin (one line, part of it), merges and
/// share transfers.
fn make(specs: &[(u8, u8, u64, u64, u64, u8)]) -> Vec<Op> {
    let stores = ["store-a", "store-b", "hq"];
    let skus = ["tea", "cake", "milk"];
    let mut seqs = [0u64; 3];
    let mut sales: [Vec<(u64, Option<u64>)>; 3] = Default::default();
    let mut out = Vec::new();
    for &(what, s, member, d, x, k) in specs {
        let i = usize::from(s % 3);
        let st = stores[i];
        seqs[i] += 1;
        let seq = seqs[i];
        let who = (member % 6) + 1;
        let o = match what % 7 {
            0 => register(st, seq, d, who),
            1 => recharge(st, seq, d, who),
            2 | 3 => {
                let mut lines = vec![line(
                    skus[usize::from(k % 3)],
                    (x % 4 + 1) as i64,
                    100 + x as i64 * 37,
                )];
                if k % 2 == 0 {
                    lines.push(line(skus[usize::from(k / 2 % 3)], 2, 999));
                }
                let member = (what % 7 == 2).then_some(who);
                sales[i].push((seq, member));
                sale(st, seq, d, member, lines)
            }
            4 if !sales[i].is_empty() => {
                let (of, member) = sales[i][(x as usize) % sales[i].len()];
                refund(st, seq, d, of, member, 0, 1, 50)
            }
            5 => merge(st, seq, d, who, (x % 6) + 1),
            _ => op(
                st,
                seq,
                at(d),
                OpBody::SharesTransferred {
                    member: m(who),
                    to: n(stores[usize::from(k % 3)]),
                    principal: Money::from_fen(x as i64),
                    bonus: Money::ZERO,
                    points: 0,
                },
            ),
        };
        out.push(o);
    }
    out
}

/// `ops` in another order drawn from `seed`: each origin's in order, the
/// origins interleaved (as a node receives them).
fn causal_shuffle(ops: &[Op], seed: u64) -> Vec<Op> {
    let mut queues: BTreeMap<NodeId, std::collections::VecDeque<Op>> = BTreeMap::new();
    for o in ops {
        queues
            .entry(o.origin().clone())
            .or_default()
            .push_back(o.clone());
    }
    let mut x = seed | 1;
    let mut out = Vec::new();
    while queues.values().any(|q| !q.is_empty()) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let live: Vec<NodeId> = queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        let k = &live[(x % live.len() as u64) as usize];
        out.push(queues.get_mut(k).unwrap().pop_front().unwrap());
    }
    out
}

fn arb_specs() -> impl Strategy<Value = Vec<(u8, u8, u64, u64, u64, u8)>> {
    proptest::collection::vec(
        (
            any::<u8>(),
            any::<u8>(),
            0u64..6,
            0u64..120,
            0u64..50,
            any::<u8>(),
        ),
        0..80,
    )
}

proptest! {
    /// The whole book (figures, active members, last days, rankings) of a
    /// set of ops is the same in any causal order.
    #[test]
    fn the_book_does_not_depend_on_the_order_ops_arrive_in(specs in arb_specs(), seed in any::<u64>()) {
        let ops = make(&specs);
        let a = book(&ops);
        let b = book(&causal_shuffle(&ops, seed));
        prop_assert_eq!(&a, &b);
    }

    /// The last days do not even need each origin's order, and their
    /// counts are what the rule says member by member.
    #[test]
    fn dormant_counts_follow_the_rule_in_any_order(specs in arb_specs(), seed in any::<u64>(), as_of in 0i32..150, days in 1i32..100) {
        let ops = make(&specs);
        let mut seen = LastSeen::default();
        for o in &ops {
            seen.apply(o);
        }
        let mut shuffled = ops.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut other = LastSeen::default();
        for o in &shuffled {
            other.apply(o);
        }
        prop_assert_eq!(&seen, &other);

        // By the rule, from the ops alone.
        let gone: BTreeSet<MemberId> = ops.iter().filter_map(|o| match &o.body {
            OpBody::MembersMerged { absorbed, .. } => Some(absorbed.clone()),
            _ => None,
        }).collect();
        let mut last: BTreeMap<(MemberId, Scope), Day> = BTreeMap::new();
        for o in &ops {
            if let Some(seen::Seen::At { member, store, day }) = seen::seen(o) {
                for scope in [None, Some(store.clone())] {
                    let e = last.entry((member.clone(), scope)).or_insert(day);
                    *e = (*e).max(day);
                }
            }
        }
        for scope in [None, store("store-a"), store("store-b"), store("hq")] {
            let want = last
                .iter()
                .filter(|((mm, sc), d)| *sc == scope && !gone.contains(mm) && **d <= day(as_of).plus(-days))
                .count() as u64;
            prop_assert_eq!(seen.dormant(&scope, day(as_of), days), want);
        }
    }
}

proptest! {
    /// The selection answers the first `limit` of the full sort, in
    /// order, for both orders, with ties of amount and count broken by id.
    #[test]
    fn the_top_is_the_head_of_the_full_sort(
        rows in proptest::collection::vec((0u64..40, 0u64..6, 0i64..500, 0i64..200), 0..120),
        limit in 0usize..30,
    ) {
        let v: Vec<(MemberId, Spend)> = rows
            .iter()
            .enumerate()
            .map(|(i, &(id, sales, sold, refunded))| {
                // Ids may repeat in the input's shape; make them distinct.
                (m(id * 1000 + i as u64), Spend {
                    sales,
                    sold: Money::from_fen(sold * 10),
                    refunds: 0,
                    refunded: Money::from_fen(refunded * 10),
                })
            })
            .collect();
        for order in [MemberOrder::Amount, MemberOrder::Count] {
            let mut all = v.clone();
            all.sort_by(|a, b| order.cmp(a, b));
            all.truncate(limit);
            prop_assert_eq!(order.top(v.clone(), limit), all);
        }
    }
}
