use proptest::prelude::*;

use super::*;
use crate::clock::Hlc;
use crate::day::Day;
use crate::figures::Book;
use crate::ids::MemberId;
use crate::testkit::{n, op};

/// 2026-12-06 00:00 in the chain's calendar (UTC+8), in ms.
const DAY0_MS: u64 = 1_796_486_400_000;
const HOUR: u64 = 3_600_000;

fn fen(f: i64) -> Money {
    Money::from_fen(f)
}

fn transfer(from: &str, seq: u64, ms: u64, to: &str, p: i64, b: i64, pts: i64) -> Op {
    op(
        from,
        seq,
        ms,
        OpBody::SharesTransferred {
            member: MemberId::mint(&n("hq"), 1),
            to: n(to),
            principal: fen(p),
            bonus: fen(b),
            points: pts,
        },
    )
}

fn store(i: u8) -> &'static str {
    ["store-a", "store-b", "store-c", "store-d"][usize::from(i % 4)]
}

fn book_of(ops: &[Op]) -> Book {
    let mut book = Book::default();
    for o in ops {
        book.apply(o);
    }
    book
}

fn settlement_of(book: &Book, from: Day, to: Day) -> Settlement {
    Settlement::of_figures(
        book.figures
            .iter()
            .filter(|((_, d), _)| *d >= from && *d <= to)
            .map(|((s, _), f)| (s, f)),
    )
}

#[test]
fn hand_computed_pairs_and_positions() {
    // a gives b 100.00 + 20.00 bonus + 50 points; b gives a back 30.00;
    // c gives b 10.00; a merge move and a self transfer settle nothing.
    let day = DAY0_MS + HOUR;
    let ops = vec![
        transfer("store-a", 1, day, "store-b", 10_000, 2_000, 50),
        transfer("store-b", 1, day, "store-a", 3_000, 0, 0),
        transfer("store-c", 1, day, "store-b", 1_000, 0, 0),
        transfer("store-c", 2, day, "store-c", 9_900, 0, 0),
        op(
            "store-a",
            2,
            day,
            OpBody::MergeMoved {
                member: MemberId::mint(&n("hq"), 2),
                into: MemberId::mint(&n("hq"), 1),
                principal: fen(5_000),
                bonus: fen(0),
                points: 0,
                coupons: vec![],
                cards: vec![],
            },
        ),
    ];
    let s = Settlement::of_ops(&ops);
    let pairs = s.pairs();
    assert_eq!(pairs.len(), 2);
    assert_eq!(
        (pairs[0].0.as_str(), pairs[0].1.as_str()),
        ("store-a", "store-b")
    );
    assert_eq!(pairs[0].2.principal, fen(7_000));
    assert_eq!(pairs[0].2.bonus, fen(2_000));
    assert_eq!(pairs[0].2.amount(), fen(9_000));
    assert_eq!(pairs[0].2.points, 50);
    assert_eq!(pairs[0].2.transfers, 2);
    assert_eq!(
        (pairs[1].0.as_str(), pairs[1].1.as_str()),
        ("store-c", "store-b")
    );
    assert_eq!(pairs[1].2.amount(), fen(1_000));
    assert_eq!(s.net(&n("store-b")).amount(), fen(10_000));
    assert_eq!(s.net(&n("store-a")).amount(), fen(-9_000));
    assert_eq!(s.net(&n("store-c")).amount(), fen(-1_000));
    assert_eq!(s.total().amount(), Money::ZERO);
    // The figures say the same.
    let d = Day::of_ms(day);
    assert_eq!(settlement_of(&book_of(&ops), d, d), s);
}

#[test]
fn shares_that_move_back_net_out() {
    let ops = vec![
        transfer("store-a", 1, DAY0_MS, "store-b", 4_321, 99, 7),
        transfer("store-b", 1, DAY0_MS + HOUR, "store-a", 4_321, 99, 7),
    ];
    let s = Settlement::of_ops(&ops);
    let pairs = s.pairs();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].2.amount(), Money::ZERO);
    assert_eq!(pairs[0].2.points, 0);
    assert_eq!(pairs[0].2.transfers, 2);
    assert_eq!(s.net(&n("store-a")).amount(), Money::ZERO);
}

/// A transfer drawn from numbers: giver, receiver, hour, principal, bonus,
/// points.
fn arb_transfer() -> impl Strategy<Value = (u8, u8, u64, i64, i64, i64)> {
    (
        any::<u8>(),
        any::<u8>(),
        0u64..(4 * 24),
        0i64..1_000_000,
        0i64..100_000,
        0i64..1_000,
    )
}

fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

proptest! {
    /// Over random transfers applied in any order: the positions sum to
    /// zero (money and points), the settlement read from the figures is
    /// the one of the ops, each pair's net is what one side gave less what
    /// the other gave, and each receiver's row mirrors its giver's.
    #[test]
    fn settlement_sums_to_zero_and_equals_the_transfers(
        specs in proptest::collection::vec(arb_transfer(), 0..80),
        seed in any::<u64>(),
        from_day in 0i32..4,
        days in 0i32..4,
    ) {
        let mut seqs: BTreeMap<&str, u64> = BTreeMap::new();
        let ops: Vec<Op> = specs
            .iter()
            .map(|&(f, t, h, p, b, pts)| {
                let from = store(f);
                let seq = seqs.entry(from).or_default();
                *seq += 1;
                transfer(from, *seq, DAY0_MS + h * HOUR, store(t), p, b, pts)
            })
            .collect();
        let mut shuffled = ops.clone();
        shuffle(&mut shuffled, seed);
        let book = book_of(&shuffled);
        prop_assert_eq!(&book, &book_of(&ops));

        let first = Day::of_ms(DAY0_MS).plus(from_day);
        let last = first.plus(days);
        let in_period: Vec<Op> = ops
            .iter()
            .filter(|o| {
                let d = Day::of_ms(o.hlc.ms);
                d >= first && d <= last
            })
            .cloned()
            .collect();
        let s = settlement_of(&book, first, last);
        prop_assert_eq!(&s, &Settlement::of_ops(&in_period));
        let total = s.total();
        prop_assert_eq!(total.amount(), Money::ZERO);
        prop_assert_eq!(total.points, 0);
        let sum: Money = s.positions().values().map(Owed::amount).sum();
        prop_assert_eq!(sum, Money::ZERO);

        // Each pair: what the debtor gave the creditor less what it got back.
        for (debtor, creditor, owed) in s.pairs() {
            let gave = |a: &NodeId, b: &NodeId| -> Money {
                in_period
                    .iter()
                    .filter_map(transfer_of)
                    .filter(|t| t.from == *a && t.to == *b)
                    .map(|t| t.principal + t.bonus)
                    .sum()
            };
            prop_assert!(!owed.amount().is_negative());
            prop_assert_eq!(owed.amount(), gave(&debtor, &creditor) - gave(&creditor, &debtor));
        }

        // Each store's position from its own rows is its net.
        for st in ["store-a", "store-b", "store-c", "store-d"] {
            let own = position_of(
                book.figures
                    .iter()
                    .filter(|((s2, d), _)| s2.as_str() == st && *d >= first && *d <= last)
                    .map(|(_, f)| f),
            );
            prop_assert_eq!(own.amount(), s.net(&n(st)).amount());
            prop_assert_eq!(own.points, s.net(&n(st)).points);
        }

        // The receiver's rows hold what the giver's rows say it gave.
        for ((st, d), f) in &book.figures {
            for (other, ex) in &f.shares_with {
                let mirror = book.figures[&(other.clone(), *d)].shares_with[st].clone();
                prop_assert_eq!(&ex.given, &mirror.received);
                prop_assert_eq!(&ex.received, &mirror.given);
            }
        }
    }
}

fn request(store: &str, seq: u64, ms: u64, id: u64, amount: i64) -> Op {
    op(
        store,
        seq,
        ms,
        OpBody::Withdrawal {
            id: WithdrawalId::mint(&n(store), id),
            step: WithdrawalStep::Requested {
                amount: fen(amount),
                note: String::new(),
            },
        },
    )
}

fn decide(seq: u64, ms: u64, store: &str, id: u64, approve: bool) -> Op {
    op(
        "hq",
        seq,
        ms,
        OpBody::Withdrawal {
            id: WithdrawalId::mint(&n(store), id),
            step: if approve {
                WithdrawalStep::Approved { note: "ok".into() }
            } else {
                WithdrawalStep::Rejected {
                    reason: "no".into(),
                }
            },
        },
    )
}

#[test]
fn withdrawals_reserve_and_reduce_what_is_owed() {
    let b = n("store-b");
    let owed = fen(10_000);
    let w1 = apply(None, &request("store-b", 1, DAY0_MS, 1, 6_000)).unwrap();
    assert_eq!(w1.store, b);
    assert_eq!(w1.status(), Status::Pending);
    // The pending request reserves its amount.
    assert_eq!(available(&b, owed, [&w1]), fen(4_000));
    assert_eq!(
        decide_request(&b, owed, [&w1], fen(4_001)),
        Err(SettlementError::ExceedsOwed {
            asked: fen(4_001),
            available: fen(4_000)
        })
    );
    assert_eq!(decide_request(&b, owed, [&w1], fen(4_000)), Ok(()));
    // Another store's withdrawals do not count.
    let other = apply(None, &request("store-c", 1, DAY0_MS, 1, 9_000)).unwrap();
    assert_eq!(available(&b, owed, [&w1, &other]), fen(4_000));

    // HQ approves: approved stays taken; approving again is refused.
    assert_eq!(decide_approval(&w1, true, owed, [&w1]), Ok(()));
    let w1 = apply(Some(&w1), &decide(1, DAY0_MS + 1, "store-b", 1, true)).unwrap();
    assert_eq!(w1.status(), Status::Approved);
    assert_eq!(w1.decision.as_ref().unwrap().by, "t");
    assert_eq!(available(&b, owed, [&w1]), fen(4_000));
    assert_eq!(
        decide_approval(&w1, true, owed, [&w1]),
        Err(SettlementError::Decided(w1.id.clone()))
    );
    assert_eq!(
        decide_approval(&w1, false, owed, [&w1]),
        Err(SettlementError::Decided(w1.id.clone()))
    );

    // A second request beyond what is left after the approval: HQ refuses
    // to approve it (the store's owed went down meanwhile), may reject it.
    let w2 = apply(None, &request("store-b", 2, DAY0_MS + 2, 2, 4_000)).unwrap();
    assert_eq!(
        decide_approval(&w2, true, fen(9_000), [&w1, &w2]),
        Err(SettlementError::ExceedsOwed {
            asked: fen(4_000),
            available: fen(3_000)
        })
    );
    assert_eq!(decide_approval(&w2, false, fen(9_000), [&w1, &w2]), Ok(()));
    let w2 = apply(Some(&w2), &decide(2, DAY0_MS + 3, "store-b", 2, false)).unwrap();
    assert_eq!(w2.status(), Status::Rejected);
    // Rejected frees its amount.
    assert_eq!(available(&b, owed, [&w1, &w2]), fen(4_000));
    // A debtor store may withdraw nothing.
    assert_eq!(available(&b, fen(-500), []), Money::ZERO);
}

#[test]
fn withdrawal_ops_apply_the_same_in_any_order_of_concurrent_decisions() {
    let req = request("store-b", 1, DAY0_MS, 1, 100);
    let w = apply(None, &req).unwrap();
    // Again: unchanged; another op with the same id: refused.
    assert_eq!(apply(Some(&w), &req).unwrap(), w);
    assert!(matches!(
        apply(Some(&w), &request("store-b", 2, DAY0_MS, 1, 100)),
        Err(SettlementError::IdTaken(_))
    ));
    // A decision on an unknown withdrawal.
    assert!(matches!(
        apply(None, &decide(1, DAY0_MS, "store-b", 1, true)),
        Err(SettlementError::NotFound(_))
    ));
    // Two HQ decisions made concurrently: the earlier stands, either order.
    let yes = decide(1, DAY0_MS + 5, "store-b", 1, true);
    let mut no = decide(1, DAY0_MS + 9, "store-b", 1, false);
    no.id.origin = n("hq-2");
    no.hlc = Hlc {
        ms: DAY0_MS + 9,
        count: 0,
    };
    let a = apply(Some(&apply(Some(&w), &yes).unwrap()), &no).unwrap();
    let b = apply(Some(&apply(Some(&w), &no).unwrap()), &yes).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.status(), Status::Approved);
}

#[test]
fn figures_with_shares_with_round_trip_and_old_rows_decode() {
    let mut f = Figures::default();
    f.apply_as(
        &n("store-a"),
        &transfer("store-a", 1, DAY0_MS, "store-b", 100, 5, 1),
    );
    let bytes = minicbor::to_vec(&f).unwrap();
    let back: Figures = minicbor::decode(&bytes).unwrap();
    assert_eq!(back, f);
    assert_eq!(back.shares_with[&n("store-b")].given.principal, fen(100));
}
