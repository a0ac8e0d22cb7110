use proptest::prelude::*;
use rust_decimal::Decimal;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::OpId;
use tongka_core::money::Money;
use tongka_core::op::OpDraft;
use tongka_core::stock::chain_stock;

use super::*;

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn op(origin: &str, seq: u64, body: OpBody) -> Op {
    OpDraft {
        hlc: Hlc { ms: seq, count: 0 },
        by: "t".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: n(origin),
            seq,
        },
        VersionVector::new(),
    )
}

/// A sale's order: only its id matters to stock.
fn order(seq: u64) -> tongka_core::checkout::Order {
    tongka_core::checkout::Order {
        id: tongka_core::ids::OrderId::mint(&n("store-1"), seq),
        member: None,
        store: n("store-1"),
        at: Hlc::default(),
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
    }
}

fn units(sku: &str) -> Option<Unit> {
    match sku {
        "rice" => Some(Unit::Measured),
        "cola" | "soap" => Some(Unit::Whole),
        _ => None,
    }
}

fn q(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn made(policy: NegativeStock) -> Check<'static> {
    Check::Made {
        units: &units,
        policy,
    }
}

fn stores() -> Vec<NodeId> {
    vec![n("store-1"), n("store-2")]
}

/// Decide `ask` at `store` and apply its op (seq `seq`) made there.
fn run(
    book: &mut StockBook,
    store: &str,
    seq: u64,
    ask: StockAsk,
) -> Result<(Op, StockApplied, Decided), StockError> {
    let d = decide(book, &n(store), &ask, &units, &stores())?;
    let o = op(
        store,
        seq,
        OpBody::StockChanged {
            change: d.change.clone(),
        },
    );
    let a = book.apply(&o, made(NegativeStock::Allow))?;
    Ok((o, a, d))
}

fn stock_in(sku: &str, qty: &str, cost_fen: i64) -> StockAsk {
    StockAsk::In {
        supplier: "供应商甲".into(),
        note: String::new(),
        lines: vec![StockInLine {
            sku: sku.into(),
            qty: q(qty),
            unit_cost: Money::from_fen(cost_fen),
        }],
    }
}

fn line(sku: &str, qty: &str) -> StockQty {
    StockQty {
        sku: sku.into(),
        qty: q(qty),
    }
}

#[test]
fn a_transfer_moves_goods_through_transit_and_is_received_once() {
    let mut book = StockBook::default();
    run(&mut book, "store-1", 1, stock_in("cola", "10", 250)).unwrap();
    let id = TransferId::mint(&n("store-1"), 7);
    let (_, shipped, _) = run(
        &mut book,
        "store-1",
        2,
        StockAsk::Ship {
            id: id.clone(),
            to: n("store-2"),
            note: "补货".into(),
            lines: vec![line("cola", "4")],
        },
    )
    .unwrap();
    assert_eq!(book.ledger(&n("store-1"), "cola").on_hand, q("6"));
    assert!(matches!(
        shipped.transfer,
        Some(TransferState::InTransit(_))
    ));
    let total = |b: &StockBook| chain_stock(b.stores.values(), &b.transfers)["cola"].total();
    assert_eq!(total(&book), q("10"));
    // Received at store-2: 3 of 4 arrived, the rest a recorded shortage.
    let receive = StockAsk::Receive {
        id: id.clone(),
        note: String::new(),
        lines: vec![line("cola", "3")],
    };
    let (_, got, _) = run(&mut book, "store-2", 1, receive.clone()).unwrap();
    assert_eq!(book.ledger(&n("store-2"), "cola").on_hand, q("3"));
    assert_eq!(got.movements[0].value, Money::from_fen(750));
    assert!(matches!(got.transfer, Some(TransferState::Received { .. })));
    // A second receipt is refused, and changes nothing.
    let before = book.clone();
    assert!(matches!(
        run(&mut book, "store-2", 2, receive),
        Err(StockError::AlreadyReceived { .. })
    ));
    assert_eq!(book, before);
}

#[test]
fn only_the_destination_receives_and_no_store_moves_anothers_stock() {
    let mut book = StockBook::default();
    run(&mut book, "store-1", 1, stock_in("cola", "5", 100)).unwrap();
    let id = TransferId::mint(&n("store-1"), 9);
    let (shipped_op, _, _) = run(
        &mut book,
        "store-1",
        2,
        StockAsk::Ship {
            id: id.clone(),
            to: n("store-2"),
            note: String::new(),
            lines: vec![line("cola", "5")],
        },
    )
    .unwrap();
    // store-1's shipment replayed as if authored by store-2: refused.
    let forged = op("store-2", 1, shipped_op.body.clone());
    let before = book.clone();
    assert!(matches!(
        book.apply(&forged, Check::Received),
        Err(StockError::NotOwner { .. })
    ));
    assert_eq!(book, before);
    // The sender cannot receive its own shipment.
    assert!(matches!(
        decide(
            &book,
            &n("store-1"),
            &StockAsk::Receive {
                id,
                note: String::new(),
                lines: vec![],
            },
            &units,
            &stores()
        ),
        Err(StockError::NotDestination { .. })
    ));
}

#[test]
fn a_sale_below_zero_is_flagged_or_refused_by_the_policy() {
    let mut book = StockBook::default();
    run(&mut book, "store-1", 1, stock_in("soap", "1", 300)).unwrap();
    let sale = |seq| {
        op(
            "store-1",
            seq,
            OpBody::CheckedOut {
                order: order(seq),
                stock: vec![line("soap", "2")],
            },
        )
    };
    let before = book.clone();
    assert!(matches!(
        book.apply(&sale(2), made(NegativeStock::Refuse)),
        Err(StockError::Insufficient { .. })
    ));
    assert_eq!(book, before);
    let a = book.apply(&sale(2), made(NegativeStock::Allow)).unwrap();
    assert!(a.movements[0].below_zero);
    assert_eq!(book.ledger(&n("store-1"), "soap").on_hand, q("-1"));
}

#[test]
fn a_count_adjusts_by_its_variance_and_refuses_goods_under_transfer() {
    let mut book = StockBook::default();
    run(&mut book, "store-1", 1, stock_in("rice", "10.5", 800)).unwrap();
    let (_, applied, d) = run(
        &mut book,
        "store-1",
        2,
        StockAsk::Count {
            note: "月末盘点".into(),
            counts: vec![StockCount {
                sku: "rice".into(),
                counted: q("9.25"),
            }],
        },
    )
    .unwrap();
    let report = d.variance.unwrap();
    assert_eq!(report.lines[0].variance, q("-1.25"));
    assert_eq!(applied.movements[0].qty, q("-1.25"));
    assert_eq!(book.ledger(&n("store-1"), "rice").on_hand, q("9.25"));
    run(
        &mut book,
        "store-1",
        3,
        StockAsk::Ship {
            id: TransferId::mint(&n("store-1"), 3),
            to: n("store-2"),
            note: String::new(),
            lines: vec![line("rice", "1")],
        },
    )
    .unwrap();
    for store in ["store-1", "store-2"] {
        assert!(matches!(
            decide(
                &book,
                &n(store),
                &StockAsk::Count {
                    note: String::new(),
                    counts: vec![StockCount {
                        sku: "rice".into(),
                        counted: q("1"),
                    }],
                },
                &units,
                &stores()
            ),
            Err(StockError::UnderTransfer { .. })
        ));
    }
}

#[test]
fn bad_asks_are_refused_with_their_reason() {
    let book = StockBook::default();
    let s1 = n("store-1");
    let refuse = |ask: StockAsk| decide(&book, &s1, &ask, &units, &stores()).unwrap_err();
    assert!(matches!(
        refuse(stock_in("cola", "1.5", 100)),
        StockError::Qty { .. }
    ));
    assert!(matches!(
        refuse(stock_in("cola", "-1", 100)),
        StockError::Qty { .. }
    ));
    assert!(matches!(
        refuse(stock_in("nope", "1", 100)),
        StockError::UnknownProduct { .. }
    ));
    assert!(matches!(
        refuse(StockAsk::In {
            supplier: "bad\u{7}".into(),
            note: String::new(),
            lines: vec![]
        }),
        StockError::Text { .. }
    ));
    assert!(matches!(
        refuse(StockAsk::Ship {
            id: TransferId::mint(&s1, 1),
            to: n("store-9"),
            note: String::new(),
            lines: vec![line("cola", "1")],
        }),
        StockError::UnknownStore { .. }
    ));
    assert!(matches!(
        refuse(StockAsk::Receive {
            id: TransferId::mint(&n("store-2"), 1),
            note: String::new(),
            lines: vec![line("cola", "1")],
        }),
        StockError::UnknownTransfer { .. }
    ));
}

/// A random store action.
#[derive(Debug, Clone)]
enum Act {
    In(usize, u8, i64),
    Sell(usize, u8),
    Ship(usize, u8),
    Receive(usize, u8),
    Count(usize, u8),
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        (0..2usize, 1..20u8, 1..2000i64).prop_map(|(s, q, c)| Act::In(s, q, c)),
        (0..2usize, 1..5u8).prop_map(|(s, q)| Act::Sell(s, q)),
        (0..2usize, 1..10u8).prop_map(|(s, q)| Act::Ship(s, q)),
        (0..2usize, 0..10u8).prop_map(|(s, q)| Act::Receive(s, q)),
        (0..2usize, 0..30u8).prop_map(|(s, q)| Act::Count(s, q)),
    ]
}

proptest! {
    /// Whatever stores do, the book every other node builds by applying
    /// their ops as received equals the book of the stores that made them;
    /// and on hand + in transit = in − sold + adjusted − short.
    #[test]
    fn received_ops_build_the_same_book_and_stock_is_conserved(acts in prop::collection::vec(act(), 1..60)) {
        let names = ["store-1", "store-2"];
        let mut book = StockBook::default();
        let mut log: Vec<Op> = Vec::new();
        let mut seqs = [0u64; 2];
        let mut expected = Decimal::ZERO;
        let mut transfers = 0u64;
        for a in acts {
            let (s, ask_or_sale) = match a {
                Act::In(s, qty, c) => (s, Ok(stock_in("cola", &qty.to_string(), c))),
                Act::Sell(s, qty) => (s, Err(qty)),
                Act::Ship(s, qty) => {
                    transfers += 1;
                    (s, Ok(StockAsk::Ship {
                        id: TransferId::mint(&n(names[s]), transfers),
                        to: n(names[1 - s]),
                        note: String::new(),
                        lines: vec![line("cola", &qty.to_string())],
                    }))
                }
                Act::Receive(s, qty) => {
                    let open = book.transfers.in_transit()
                        .find(|(sh, _)| sh.to == n(names[s]))
                        .map(|(sh, l)| (sh.id.clone(), l.qty));
                    let Some((id, sent)) = open else { continue };
                    let got = Decimal::from(qty).min(sent);
                    (s, Ok(StockAsk::Receive { id, note: String::new(), lines: vec![line("cola", &got.to_string())] }))
                }
                Act::Count(s, qty) => (s, Ok(StockAsk::Count {
                    note: String::new(),
                    counts: vec![StockCount { sku: "cola".into(), counted: Decimal::from(qty) }],
                })),
            };
            let seq = seqs[s] + 1;
            let o = match ask_or_sale {
                Ok(ask) => {
                    let Ok(d) = decide(&book, &n(names[s]), &ask, &units, &stores()) else { continue };
                    op(names[s], seq, OpBody::StockChanged { change: d.change })
                }
                Err(qty) => op(names[s], seq, OpBody::CheckedOut {
                    order: order(seq),
                    stock: vec![line("cola", &qty.to_string())],
                }),
            };
            let Ok(applied) = book.apply(&o, made(NegativeStock::Allow)) else { continue };
            seqs[s] = seq;
            for m in &applied.movements {
                if !matches!(m.kind, tongka_core::stock::MoveKind::Ship { .. } | tongka_core::stock::MoveKind::Receive { .. }) {
                    expected += m.qty;
                }
            }
            if let OpBody::StockChanged { change: StockChange::Receive { receipt, .. } } = &o.body {
                let shipment = book.transfers.get(&receipt.id).unwrap().shipment().clone();
                for sh in receipt.shortages(&shipment) {
                    expected -= sh.qty;
                }
            }
            log.push(o);
        }
        let mut received = StockBook::default();
        for o in &log {
            received.apply(o, Check::Received).unwrap();
        }
        prop_assert_eq!(&received, &book);
        let total = chain_stock(book.stores.values(), &book.transfers)
            .get("cola").map_or(Decimal::ZERO, |c| c.total());
        prop_assert_eq!(total, expected.normalize());
    }
}
