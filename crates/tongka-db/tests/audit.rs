//! The audit trail read (`Db::audit`) on real redb files: ops of two
//! origins with interleaved clocks come newest first; each filter keeps
//! what it names; pages of a small limit and a small scan budget, followed
//! by their cursors, hold the whole filtered list once each; a scan stops
//! at a `from` date; an origin's log out of clock order is still listed
//! whole.

use std::collections::BTreeSet;
use std::sync::mpsc;

use tongka_core::Money;
use tongka_core::audit::{Cursor, Filter};
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::day::Day;
use tongka_core::ids::{CardId, MemberId, NodeId, OpId, RechargeId};
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_db::{Db, DbError, DbOptions, Effects, Source};

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// The day the ops are made on (China time), and the two days before it.
fn today() -> Day {
    "2026-12-05".parse().unwrap()
}

/// What the test made: an op's id, clock, who and kind.
#[derive(Debug, Clone)]
struct Made {
    id: OpId,
    ms: u64,
    by: &'static str,
    kind: &'static str,
}

fn body(i: u64, origin: &NodeId) -> OpBody {
    let member = MemberId::mint(origin, 1);
    match i % 3 {
        0 => OpBody::Recharged {
            member,
            recharge: RechargeId::mint(origin, 100 + i),
            amount: Money::from_yuan(i as i64 + 1),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
        1 => OpBody::CardVisited {
            member,
            card: CardId::mint(origin, 7),
            count: 1,
            service: None,
            day: today(),
        },
        _ => OpBody::SharesTransferred {
            member,
            to: n("hq"),
            principal: Money::from_yuan(1),
            bonus: Money::ZERO,
            points: 0,
        },
    }
}

/// Who made op `i`: every other one a staff member.
fn by(i: u64) -> &'static str {
    if i.is_multiple_of(2) {
        "admin"
    } else {
        "s-hq-3"
    }
}

fn draft(i: u64, origin: &NodeId, ms: u64) -> OpDraft {
    OpDraft {
        hlc: Hlc { ms, count: 0 },
        by: by(i).into(),
        idem: None,
        body: body(i, origin),
    }
}

/// A node `store-1` with ops of its own and of `store-2` (received), their
/// clocks given per op, in log order; every op committed before it returns.
fn node_with(dir: &std::path::Path, mine: &[u64], theirs: &[u64]) -> (Db, Vec<Made>) {
    let (db, _) = Db::open(
        &dir.join("node.redb"),
        DbOptions {
            node: n("store-1"),
            max_batch: 64,
            queue_max: 1024,
        },
    )
    .unwrap();
    let mut made = Vec::new();
    let mut waits = Vec::new();
    // Interleaved in submission, as a node takes its own and received ops.
    let most = mine.len().max(theirs.len());
    for i in 0..most {
        for (origin, clocks) in [(n("store-1"), mine), (n("store-2"), theirs)] {
            let Some(&ms) = clocks.get(i) else { continue };
            let d = draft(i as u64, &origin, ms);
            let id = OpId {
                origin: origin.clone(),
                seq: i as u64 + 1,
            };
            made.push(Made {
                id: id.clone(),
                ms,
                by: by(i as u64),
                kind: d.body.kind(),
            });
            let source = if origin == n("store-1") {
                Source::Local(d)
            } else {
                Source::Remote(d.stamp(id, VersionVector::new()))
            };
            let (tx, rx) = mpsc::channel();
            db.submit(
                source,
                Effects::default(),
                Box::new(move |r| tx.send(r).unwrap()),
            );
            waits.push((rx, made.last().unwrap().id.clone()));
        }
    }
    for (rx, id) in waits {
        assert_eq!(rx.recv().unwrap().unwrap(), id, "logged as numbered");
    }
    (db, made)
}

fn ids(ops: &[Op]) -> Vec<OpId> {
    ops.iter().map(|o| o.id.clone()).collect()
}

/// Every page of the listing, followed by its cursors.
fn pages(db: &Db, f: &Filter, limit: usize, budget: usize) -> Result<Vec<Vec<OpId>>, DbError> {
    let mut out = Vec::new();
    let mut at: Option<Cursor> = None;
    loop {
        // The cursor goes through its text, as a client gives it back.
        let before = at.map(|c| c.to_string().parse::<Cursor>().unwrap());
        let page = db.audit(f, before.as_ref(), limit, budget)?;
        assert!(page.ops.len() <= limit);
        assert!(page.examined <= budget);
        out.push(ids(&page.ops));
        match page.next {
            Some(c) => at = Some(c),
            None => return Ok(out),
        }
        assert!(out.len() < 10_000, "paging does not end");
    }
}

/// Ops at 10 ms steps from 150 ms before `today` starts, `store-2`'s 5 ms
/// after `store-1`'s, after 4 ops each made two days before.
fn clocks(count: u64, offset: u64) -> Vec<u64> {
    let start = today().start_ms() as u64;
    let old = today().plus(-2).start_ms() as u64 + 3_600_000;
    (0..count)
        .map(|i| {
            if i < 4 {
                old + i * 1000 + offset
            } else {
                start - 150 + i * 10 + offset
            }
        })
        .collect()
}

#[test]
fn the_trail_is_newest_first_filtered_and_paged_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let (db, made) = node_with(dir.path(), &clocks(30, 0), &clocks(25, 5));
    assert_eq!(made.len(), 55);

    // Newest first, by clock (then op id), both origins merged.
    let mut expect = made.clone();
    expect.sort_by(|a, b| (b.ms, &b.id).cmp(&(a.ms, &a.id)));
    let all = db.audit(&Filter::default(), None, 1000, 100_000).unwrap();
    assert_eq!(
        ids(&all.ops),
        expect.iter().map(|m| m.id.clone()).collect::<Vec<_>>()
    );
    assert!(all.next.is_none());
    assert_eq!(all.examined, 55);

    let day = |ms: u64| Day::of_ms(ms);
    type Keep = Box<dyn Fn(&Made) -> bool>;
    let filters: Vec<(&str, Filter, Keep)> = vec![
        ("everything", Filter::default(), Box::new(|_| true)),
        (
            "store-2",
            Filter {
                origins: Some([n("store-2")].into()),
                ..Filter::default()
            },
            Box::new(|m| m.id.origin == n("store-2")),
        ),
        (
            "an unknown store",
            Filter {
                origins: Some([n("store-9")].into()),
                ..Filter::default()
            },
            Box::new(|_| false),
        ),
        (
            "by s-hq-3",
            Filter {
                by: Some("s-hq-3".into()),
                ..Filter::default()
            },
            Box::new(|m| m.by == "s-hq-3"),
        ),
        (
            "recharges and visits",
            Filter {
                kinds: Some(["recharged", "card_visited"].into()),
                ..Filter::default()
            },
            Box::new(|m| m.kind == "recharged" || m.kind == "card_visited"),
        ),
        (
            "from today",
            Filter {
                from: Some(today()),
                ..Filter::default()
            },
            Box::new(move |m| day(m.ms) >= today()),
        ),
        (
            "yesterday only",
            Filter {
                from: Some(today().plus(-1)),
                to: Some(today().plus(-1)),
                ..Filter::default()
            },
            Box::new(move |m| day(m.ms) == today().plus(-1)),
        ),
        (
            "up to two days ago",
            Filter {
                to: Some(today().plus(-2)),
                ..Filter::default()
            },
            Box::new(move |m| day(m.ms) <= today().plus(-2)),
        ),
        (
            "store-1's recharges by admin, today",
            Filter {
                origins: Some([n("store-1")].into()),
                by: Some("admin".into()),
                kinds: Some(["recharged"].into()),
                from: Some(today()),
                to: Some(today()),
            },
            Box::new(move |m| {
                m.id.origin == n("store-1")
                    && m.by == "admin"
                    && m.kind == "recharged"
                    && day(m.ms) == today()
            }),
        ),
    ];
    for (what, f, keep) in &filters {
        let want: Vec<OpId> = expect
            .iter()
            .filter(|m| keep(m))
            .map(|m| m.id.clone())
            .collect();
        let whole = db.audit(f, None, 1000, 100_000).unwrap();
        assert_eq!(ids(&whole.ops), want, "{what}");
        // Pages of 3 kept ops, or of 4 examined, or both small: the same
        // list, in order, each op once.
        for (limit, budget) in [(3, 100_000), (1000, 4), (3, 4), (1, 1)] {
            let p = pages(&db, f, limit, budget).unwrap();
            let joined: Vec<OpId> = p.iter().flatten().cloned().collect();
            assert_eq!(joined, want, "{what}, limit {limit}, budget {budget}");
            let unique: BTreeSet<&OpId> = joined.iter().collect();
            assert_eq!(unique.len(), joined.len(), "{what}: an op twice");
            if budget == 100_000 {
                // Short only at the end, and no empty page after a full one.
                let (last, full) = p.split_last().unwrap();
                assert!(full.iter().all(|page| page.len() == limit), "{what}");
                assert!(!last.is_empty() || want.is_empty(), "{what}: {p:?}");
            }
        }
    }
    // Both kinds and days filtered, some kept: the tests above are not empty.
    assert_eq!(filters.len(), 9);

    // From today: each origin's scan stops at its first op older than the
    // slack before today (the ops of two days ago), examining only it.
    let from = db
        .audit(
            &Filter {
                from: Some(today()),
                ..Filter::default()
            },
            None,
            1000,
            100_000,
        )
        .unwrap();
    let recent = made
        .iter()
        .filter(|m| day(m.ms) >= today().plus(-1))
        .count();
    assert_eq!(from.examined, recent + 2);
    assert!(from.next.is_none());

    // Up to two days ago: each origin's scan starts below its newer ops
    // (found by bisection), examining only the four old ones.
    let to = db
        .audit(
            &Filter {
                to: Some(today().plus(-2)),
                ..Filter::default()
            },
            None,
            1000,
            100_000,
        )
        .unwrap();
    assert_eq!((to.ops.len(), to.examined), (8, 8));

    // A cursor naming an origin past its log's end, or one the log does
    // not hold, reads what there is.
    let c: Cursor = "store-1.999_store-7.3".parse().unwrap();
    let rest = db
        .audit(&Filter::default(), Some(&c), 1000, 100_000)
        .unwrap();
    assert_eq!(
        ids(&rest.ops),
        expect
            .iter()
            .filter(|m| m.id.origin == n("store-1"))
            .map(|m| m.id.clone())
            .collect::<Vec<_>>()
    );
    // A store filter with a cursor of another store reads nothing.
    let other = db
        .audit(
            &Filter {
                origins: Some([n("store-2")].into()),
                ..Filter::default()
            },
            Some(&"store-1.10".parse().unwrap()),
            1000,
            100_000,
        )
        .unwrap();
    assert!(other.ops.is_empty() && other.next.is_none());
}

#[test]
fn a_log_out_of_clock_order_is_listed_whole_in_each_origins_order() {
    let dir = tempfile::tempdir().unwrap();
    let base = today().start_ms() as u64;
    // store-1's op 3 was decided before its op 2 (read its clock first,
    // reached the writer second).
    let (db, made) = node_with(
        dir.path(),
        &[base + 10, base + 30, base + 20, base + 40],
        &[base + 25, base + 35],
    );
    let id = |o: &str, seq: u64| OpId { origin: n(o), seq };
    let want = vec![
        id("store-1", 4),
        id("store-2", 2),
        id("store-2", 1),
        id("store-1", 3),
        id("store-1", 2),
        id("store-1", 1),
    ];
    let whole = db.audit(&Filter::default(), None, 100, 100).unwrap();
    assert_eq!(ids(&whole.ops), want);
    for (limit, budget) in [(1, 100), (100, 1), (2, 3)] {
        let joined: Vec<OpId> = pages(&db, &Filter::default(), limit, budget)
            .unwrap()
            .concat();
        assert_eq!(joined, want, "limit {limit}, budget {budget}");
    }
    assert_eq!(made.len(), 6);
}
