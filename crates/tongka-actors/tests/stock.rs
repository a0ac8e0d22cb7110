//! Stock through the engine: goods in, a sale of stocked products moves
//! the store's stock in the sale's commit (and the book is the same after
//! a restart), a refund puts it back; under `negative_stock = refuse` a
//! sale short of stock is refused and changes nothing; a transfer shipped
//! at one store and replicated to another is in transit at both, received
//! once at its destination, and both end with the same book; the movement
//! report lists the moves newest first with their op.

mod common;

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tongka_actors::{Engine, EngineConfig, EngineError, LineRequest, Outcome};
use tongka_core::checkout::{TenderInput, TenderKind};
use tongka_core::error::DomainError;
use tongka_core::ids::{NodeId, OrderId};
use tongka_core::money::Money;
use tongka_core::op::OpBody;
use tongka_core::programme::Programme;
use tongka_core::refund::RefundLine;
use tongka_core::stock::{
    MoveKind, NegativeStock, StockError, StockInLine, StockQty, TransferId, TransferState,
};
use tongka_db::{Db, DbOptions};
use tongka_machine::stock::{StockAsk, StockBook};

fn node(n: &str) -> NodeId {
    NodeId::new(n).unwrap()
}

fn qty(n: i64) -> Decimal {
    Decimal::new(n, 0)
}

/// An engine over the db at `path` whose account actors let go of it
/// soon after they are idle (so the test can close and reopen it).
async fn open(path: &std::path::Path, name: &str) -> (Engine, Db) {
    // Account actors of an engine before hold the file until they passivate.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (db, rec) = loop {
        match Db::open(
            path,
            DbOptions {
                node: node(name),
                max_batch: 64,
                queue_max: 1024,
            },
        ) {
            Ok(s) => break s,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "{e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let e = Engine::new(
        db.clone(),
        Programme::default(),
        rec.hlc,
        EngineConfig {
            max_in_flight: 64,
            idle_passivate: Duration::from_millis(50),
        },
    );
    (e, db)
}

fn cash() -> Vec<TenderInput> {
    vec![TenderInput {
        kind: TenderKind::Cash,
        amount: None,
    }]
}

/// Goods in at `e`: each `(sku, qty, unit cost in fen)`.
async fn stock_in(e: &Engine, lines: &[(&str, i64, i64)]) {
    let ask = StockAsk::In {
        supplier: "供应商 Supplier".into(),
        note: String::new(),
        lines: lines
            .iter()
            .map(|&(sku, q, fen)| StockInLine {
                sku: sku.into(),
                qty: qty(q),
                unit_cost: Money::from_fen(fen),
            })
            .collect(),
    };
    let (out, replayed) = e.change_stock("t".into(), None, ask).await.unwrap();
    assert!(!replayed);
    assert!(matches!(out, Outcome::Stock(_)), "{out:?}");
}

fn on_hand(e: &Engine, store: &NodeId, sku: &str) -> Decimal {
    e.with_stock(|b| b.ledger(store, sku).on_hand)
}

fn book(e: &Engine) -> StockBook {
    e.with_stock(|b| b.clone())
}

async fn sell(e: &Engine, lines: Vec<LineRequest>) -> Result<OrderId, EngineError> {
    match e.checkout("t".into(), None, None, lines, cash()).await?.0 {
        Outcome::CheckedOut { order, .. } => Ok(order.order.id),
        other => panic!("{other:?}"),
    }
}

/// The stock lines of `e`'s own ops of kind `CheckedOut`, in log order.
fn sale_stock_lines(e: &Engine) -> Vec<Vec<StockQty>> {
    e.db()
        .ops_from(e.node(), 1, 1000)
        .unwrap()
        .into_iter()
        .filter_map(|op| match op.body {
            OpBody::CheckedOut { stock, .. } => Some(stock),
            _ => None,
        })
        .collect()
}

/// Hand `from`'s ops (as its log holds them) to `to`, and wait until
/// they are durable there.
async fn replicate(from: &Engine, to: &Engine) {
    let ops = from.db().ops_from_encoded(from.node(), 1, 10_000).unwrap();
    let want = from.db().summary().seq;
    to.apply_remote_encoded(ops).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while to.db().summary().vv.get(from.node()) < want {
        assert!(std::time::Instant::now() < deadline, "not durable in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_sale_moves_stock_in_its_commit_a_refund_puts_it_back_and_a_restart_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store-1.redb");
    let here = node("store-1");
    let (e, db) = open(&path, "store-1").await;
    stock_in(&e, &[("coffee", 10, 1200), ("bread", 5, 600)]).await;
    assert_eq!(on_hand(&e, &here, "coffee"), qty(10));

    // coffee by sku, bread by its barcode, and a free line (no stock).
    let order = sell(
        &e,
        vec![
            LineRequest::Sku {
                sku: "coffee".into(),
                qty: qty(2),
            },
            LineRequest::Barcode {
                barcode: "6901234567915".into(),
                qty: qty(1),
            },
            LineRequest::Free {
                description: "袋 Bag".into(),
                unit_price: Money::from_fen(50),
                qty: qty(1),
            },
        ],
    )
    .await
    .unwrap();
    assert_eq!(on_hand(&e, &here, "coffee"), qty(8));
    assert_eq!(on_hand(&e, &here, "bread"), qty(4));
    // The sale's op carries its stock lines (the free line has none), and
    // the db holds the moved stock once the sale is answered: same commit.
    assert_eq!(
        sale_stock_lines(&e),
        vec![vec![
            StockQty {
                sku: "coffee".into(),
                qty: qty(2)
            },
            StockQty {
                sku: "bread".into(),
                qty: qty(1)
            },
        ]]
    );
    let on_disk = |db: &Db, sku: &str| {
        db.stock_parts()
            .unwrap()
            .ledgers
            .into_iter()
            .find(|(s, k, _)| s == &here && k == sku)
            .map(|(_, _, l)| l.on_hand)
    };
    assert_eq!(on_disk(&db, "coffee"), Some(qty(8)));
    assert_eq!(on_disk(&db, "bread"), Some(qty(4)));

    // Refund one coffee (line 0): it comes back; bread stays sold.
    let out = e
        .refund(
            "t".into(),
            None,
            order.clone(),
            Some(vec![RefundLine {
                line: 0,
                qty: qty(1),
            }]),
            "退货".into(),
        )
        .await
        .unwrap()
        .0;
    assert!(matches!(out, Outcome::Refunded { .. }), "{out:?}");
    assert_eq!(on_hand(&e, &here, "coffee"), qty(9));
    assert_eq!(on_hand(&e, &here, "bread"), qty(4));
    assert_eq!(on_disk(&db, "coffee"), Some(qty(9)));

    // The movement report: newest first, the refund, the sale, goods in.
    let (moves, _) = e.movements(&here, Some("coffee"), None, 10).unwrap();
    let kinds: Vec<_> = moves
        .iter()
        .map(|m| match m.movement.kind {
            MoveKind::StockIn { .. } => "in",
            MoveKind::Sale { .. } => "sale",
            MoveKind::Refund { .. } => "refund",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["refund", "sale", "in"]);
    let signed: Vec<_> = moves.iter().map(|m| m.movement.qty).collect();
    assert_eq!(signed, vec![qty(1), qty(-2), qty(10)]);
    let after: Vec<_> = moves.iter().map(|m| m.movement.on_hand).collect();
    assert_eq!(after, vec![qty(9), qty(8), qty(10)]);
    // Each record names its op: the log's ops 1 (in), 2 (sale), 3 (refund).
    let log = e.db().ops_from(&here, 1, 100).unwrap();
    let ids: Vec<_> = moves.iter().map(|m| m.op.clone()).collect();
    assert_eq!(
        ids,
        vec![log[2].id.clone(), log[1].id.clone(), log[0].id.clone()]
    );
    assert!(moves.windows(2).all(|w| w[0].at > w[1].at), "newest first");

    // A clean stop and a restart: the book is read back the same.
    let before = book(&e);
    drop(e);
    db.close();
    let (e, db) = open(&path, "store-1").await;
    assert_eq!(book(&e), before);
    assert_eq!(on_hand(&e, &here, "coffee"), qty(9));
    drop(e);
    db.close();
}

#[tokio::test]
async fn a_card_product_moves_no_stock() {
    let dir = tempfile::tempdir().unwrap();
    let here = node("store-1");
    let e = common::engine(dir.path(), "store-1");
    let m = match e
        .register(
            "t".into(),
            None,
            tongka_core::member::Profile {
                phone: "13912345678".into(),
                name: "甲".into(),
                birthday: None,
                gender: None,
                card_no: None,
                invited_by: None,
                tags: vec![],
                notes: String::new(),
            },
        )
        .await
        .unwrap()
        .0
    {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    };
    e.checkout(
        "t".into(),
        None,
        Some(m),
        vec![LineRequest::Sku {
            sku: "gym30".into(),
            qty: qty(1),
        }],
        cash(),
    )
    .await
    .unwrap();
    assert_eq!(sale_stock_lines(&e), vec![Vec::<StockQty>::new()]);
    assert_eq!(book(&e), StockBook::default());
    assert!(e.movements(&here, None, None, 10).unwrap().0.is_empty());
}

#[tokio::test]
async fn by_default_a_sale_short_of_stock_goes_below_zero_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let here = node("store-1");
    let e = common::engine(dir.path(), "store-1");
    stock_in(&e, &[("coffee", 1, 1200)]).await;
    sell(
        &e,
        vec![LineRequest::Sku {
            sku: "coffee".into(),
            qty: qty(3),
        }],
    )
    .await
    .unwrap();
    assert_eq!(on_hand(&e, &here, "coffee"), qty(-2));
    let (moves, _) = e.movements(&here, Some("coffee"), None, 1).unwrap();
    assert!(moves[0].movement.below_zero, "{moves:?}");
}

#[tokio::test]
async fn under_refuse_a_sale_short_of_stock_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let here = node("store-1");
    let e = common::engine(dir.path(), "store-1");
    let refuse = Programme {
        negative_stock: NegativeStock::Refuse,
        ..(*e.programme()).clone()
    };
    e.change_programme(refuse, "hq".into(), None).await.unwrap();
    assert_eq!(e.programme().negative_stock, NegativeStock::Refuse);
    stock_in(&e, &[("coffee", 1, 1200), ("bread", 5, 600)]).await;
    let before = book(&e);
    let seq = e.db().summary().seq;

    // Bread is there, coffee is short: the whole sale is refused.
    let err = sell(
        &e,
        vec![
            LineRequest::Barcode {
                barcode: "6901234567915".into(),
                qty: qty(1),
            },
            LineRequest::Sku {
                sku: "coffee".into(),
                qty: qty(2),
            },
        ],
    )
    .await
    .unwrap_err();
    match &err {
        EngineError::Stock(StockError::Insufficient {
            sku,
            on_hand,
            wanted,
        }) => {
            assert_eq!(sku, "coffee");
            assert_eq!(*on_hand, qty(1));
            assert_eq!(*wanted, qty(2));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), "insufficient_stock");
    assert_eq!(book(&e), before, "the book is unchanged");
    assert_eq!(e.db().summary().seq, seq, "no op was logged");
    assert_eq!(e.movements(&here, None, None, 10).unwrap().0.len(), 2);

    // What is there still sells, down to zero.
    sell(
        &e,
        vec![LineRequest::Sku {
            sku: "coffee".into(),
            qty: qty(1),
        }],
    )
    .await
    .unwrap();
    assert_eq!(on_hand(&e, &here, "coffee"), Decimal::ZERO);
}

#[tokio::test]
async fn a_transfer_is_in_transit_at_both_ends_and_received_once_at_its_destination() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = (node("store-1"), node("store-2"));
    let a = common::engine(dir.path(), "store-1");
    let b = common::engine(dir.path(), "store-2");
    for e in [&a, &b] {
        let stores = vec![s1.clone(), s2.clone()];
        e.set_stores(Arc::new(move || stores.clone()));
    }
    stock_in(&a, &[("coffee", 10, 1200), ("bread", 6, 600)]).await;
    let id: TransferId = a.new_transfer_id();
    let ship = StockAsk::Ship {
        id: id.clone(),
        to: s2.clone(),
        note: "补货 Restock".into(),
        lines: vec![
            StockQty {
                sku: "coffee".into(),
                qty: qty(4),
            },
            StockQty {
                sku: "bread".into(),
                qty: qty(2),
            },
        ],
    };
    a.change_stock("t".into(), None, ship).await.unwrap();
    assert_eq!(on_hand(&a, &s1, "coffee"), qty(6));

    replicate(&a, &b).await;
    for e in [&a, &b] {
        let t = e.with_stock(|bk| bk.transfers.get(&id).cloned());
        assert!(
            matches!(&t, Some(TransferState::InTransit(s)) if s.from == s1 && s.to == s2),
            "{}: {t:?}",
            e.node()
        );
        let in_transit: Vec<_> = e.with_stock(|bk| {
            bk.transfers
                .in_transit()
                .map(|(s, l)| (s.id.clone(), l.sku.clone(), l.qty))
                .collect()
        });
        assert_eq!(
            in_transit,
            vec![
                (id.clone(), "coffee".to_string(), qty(4)),
                (id.clone(), "bread".to_string(), qty(2)),
            ]
        );
        // Nothing arrived at store-2 yet.
        assert_eq!(on_hand(e, &s2, "coffee"), Decimal::ZERO);
        assert_eq!(on_hand(e, &s1, "coffee"), qty(6));
    }
    assert_eq!(book(&a), book(&b), "the same book at both ends");

    // The sender cannot receive its own transfer.
    let receive = |lines: Vec<(&str, i64)>| StockAsk::Receive {
        id: id.clone(),
        note: String::new(),
        lines: lines
            .into_iter()
            .map(|(sku, q)| StockQty {
                sku: sku.into(),
                qty: qty(q),
            })
            .collect(),
    };
    let err = a
        .change_stock("t".into(), None, receive(vec![("coffee", 4), ("bread", 2)]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Stock(StockError::NotDestination { .. })),
        "{err:?}"
    );

    // Received at store-2, one bread short.
    b.change_stock("t".into(), None, receive(vec![("coffee", 4), ("bread", 1)]))
        .await
        .unwrap();
    assert_eq!(on_hand(&b, &s2, "coffee"), qty(4));
    assert_eq!(on_hand(&b, &s2, "bread"), qty(1));
    let seq = b.db().summary().seq;
    let err = b
        .change_stock("t".into(), None, receive(vec![("coffee", 4), ("bread", 2)]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Stock(StockError::AlreadyReceived { id: got }) if got == &id),
        "{err:?}"
    );
    assert_eq!(b.db().summary().seq, seq, "a second receipt logs nothing");
    assert_eq!(on_hand(&b, &s2, "coffee"), qty(4));

    // Back at store-1: received there too, and the same book everywhere.
    replicate(&b, &a).await;
    for e in [&a, &b] {
        let t = e.with_stock(|bk| bk.transfers.get(&id).cloned());
        assert!(
            matches!(&t, Some(TransferState::Received { receipt, .. }) if receipt.at == s2),
            "{}: {t:?}",
            e.node()
        );
        assert_eq!(e.with_stock(|bk| bk.transfers.in_transit().count()), 0);
    }
    assert_eq!(book(&a), book(&b), "the receiver's book is the sender's");

    // The movement reports, newest first, each with its op.
    let (at_a, _) = a.movements(&s1, Some("coffee"), None, 10).unwrap();
    let kinds: Vec<_> = at_a
        .iter()
        .map(|m| matches!(m.movement.kind, MoveKind::Ship { .. }))
        .collect();
    assert_eq!(kinds, vec![true, false]);
    let a_log = a.db().ops_from(&s1, 1, 100).unwrap();
    assert_eq!(at_a[0].op, a_log[1].id);
    assert_eq!(at_a[1].op, a_log[0].id);
    let (at_b, _) = b.movements(&s2, None, None, 10).unwrap();
    let b_log = b.db().ops_from(&s2, 1, 100).unwrap();
    assert!(!at_b.is_empty());
    for m in &at_b {
        assert!(matches!(m.movement.kind, MoveKind::Receive { .. }), "{m:?}");
        assert_eq!(m.op, b_log[0].id);
    }
    // store-1's moves as store-2 holds them (replicated): the same report.
    let (a_at_b, _) = b.movements(&s1, Some("coffee"), None, 10).unwrap();
    assert_eq!(a_at_b, at_a);
}
