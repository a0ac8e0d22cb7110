//! Count and period cards through a whole life: sold by a sale's line
//! (one card per unit, in the member's wallet), visited (核销) from the
//! selling store's share or from a share another store gives, refunded at
//! their unused value (the used part kept). Properties: visits at every
//! store together never exceed a count card's visits, and a sale's refunds
//! plus what they keep add up to what the sale was paid.

mod common;

use common::{DAY_MS, NOON, member, n, op};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tongka_core::card::{self, CardError, CardKind, CardPlan};
use tongka_core::checkout::{
    Buyer, CheckoutContext, CheckoutError, Deductions, LineInput, Order, TenderInput, TenderKind,
    checkout_with, mint_cards,
};
use tongka_core::day::Day;
use tongka_core::escrow::Counter;
use tongka_core::ids::{CardId, OrderId, RefundId};
use tongka_core::programme::Programme;
use tongka_core::refund::{OrderState, RefundError, RefundLine};
use tongka_core::state::{ApplyError, LedgerTotals, MemberState};
use tongka_core::{Hlc, Money, OpBody};

fn count_plan(visits: u32) -> CardPlan {
    CardPlan {
        kind: CardKind::Count {
            visits,
            days: Some(365),
        },
        services: vec!["haircut".into()],
    }
}

fn period_plan(days: u16, cap: Option<u32>) -> CardPlan {
    CardPlan {
        kind: CardKind::Period {
            days,
            daily_cap: cap,
        },
        services: vec![],
    }
}

fn card_line(plan: CardPlan, fen: i64, qty: Decimal) -> LineInput {
    LineInput {
        sku: Some("card".into()),
        barcode: None,
        description: "十次卡".into(),
        unit_price: Money::from_fen(fen),
        qty,
        card: Some(plan),
        pricing: Default::default(),
    }
}

/// A sale at `store` with `m` (or a walk-in), its cards minted from `seq`.
fn sell(
    m: Option<&MemberState>,
    store: &str,
    lines: &[LineInput],
    seq: &mut u64,
) -> Result<Order, CheckoutError> {
    let p = Programme::default();
    let store = n(store);
    let ctx = CheckoutContext {
        programme: &p,
        store: &store,
        order: OrderId::mint(&store, 900 + *seq),
        at: Hlc { ms: NOON, count: 0 },
        buyer: m.map(|m| Buyer {
            member: &m.id,
            level: p.level_for(m.cumulative_principal),
            wallet: &m.wallet,
        }),
    };
    let mut o = checkout_with(
        &ctx,
        lines,
        &[TenderInput {
            kind: TenderKind::Card,
            amount: None,
        }],
        &Deductions {
            points: 0,
            coupons: &[],
        },
    )?;
    mint_cards(&mut o, || {
        *seq += 1;
        CardId::mint(&store, *seq)
    });
    Ok(o)
}

fn visit(
    m: &mut MemberState,
    store: &str,
    seq: u64,
    card: &CardId,
    count: u32,
    ms: u64,
) -> Result<(), String> {
    let held = m.card(card).unwrap();
    let today = Day::of_ms(ms);
    card::decide_visit(
        &held.card,
        Some("haircut"),
        today,
        held.held(&n(store)),
        held.left(),
        held.visits_on(today),
        count,
    )
    .map_err(|e| e.to_string())?;
    let body = OpBody::CardVisited {
        member: m.id.clone(),
        card: card.clone(),
        count,
        service: Some("haircut".into()),
        day: today,
    };
    m.apply(&op(store, seq, ms, body))
        .map_err(|e| e.to_string())
}

#[test]
fn a_card_line_puts_cards_in_the_wallet_and_a_walk_in_cannot_buy_one() {
    let mut m = member();
    let mut seq = 0;
    let order = sell(
        Some(&m),
        "s1",
        &[card_line(count_plan(10), 68_000, Decimal::from(2))],
        &mut seq,
    )
    .unwrap();
    let sale = order.lines[0].card.as_ref().unwrap();
    assert_eq!(sale.cards.len(), 2);
    m.apply(&op("s1", 2, NOON, OpBody::sale(order.clone())))
        .unwrap();
    assert_eq!(m.cards.len(), 2);
    for c in &m.cards {
        assert_eq!(c.card.price, Money::from_yuan(680));
        assert_eq!((c.held(&n("s1")), c.left(), c.used()), (10, 10, 0));
        assert_eq!(c.card.to, Some(Day::of_ms(NOON).plus(364)));
    }
    // Sold twice (the same op again, or the same codes): refused.
    assert!(m.apply(&op("s1", 3, NOON, OpBody::sale(order))).is_err());
    let walk_in = sell(
        None,
        "s1",
        &[card_line(count_plan(10), 68_000, Decimal::ONE)],
        &mut seq,
    );
    assert_eq!(
        walk_in.unwrap_err(),
        CheckoutError::CardWithoutMember { line: 1 }
    );
    let half = sell(
        Some(&m),
        "s1",
        &[card_line(count_plan(10), 68_000, Decimal::new(15, 1))],
        &mut seq,
    );
    assert_eq!(half.unwrap_err(), CheckoutError::CardQty { line: 1 });
}

#[test]
fn visits_come_from_the_share_held_here_and_a_transfer_moves_them() {
    let mut m = member();
    let mut seq = 0;
    let order = sell(
        Some(&m),
        "s1",
        &[card_line(count_plan(5), 50_000, Decimal::ONE)],
        &mut seq,
    )
    .unwrap();
    let id = order.lines[0].card.as_ref().unwrap().cards[0].clone();
    m.apply(&op("s1", 2, NOON, OpBody::sale(order))).unwrap();
    visit(&mut m, "s1", 3, &id, 2, NOON).unwrap();
    // s2 holds none: the rule refuses, and a forged visit is refused by apply.
    let e = visit(&mut m, "s2", 1, &id, 1, NOON).unwrap_err();
    assert!(e.contains("held") || e.contains("left"), "{e}");
    let forged = OpBody::CardVisited {
        member: m.id.clone(),
        card: id.clone(),
        count: 1,
        service: None,
        day: Day::of_ms(NOON),
    };
    let before = m.clone();
    assert!(matches!(
        m.apply(&op("s2", 1, NOON, forged)).unwrap_err(),
        ApplyError::VisitsShort(_)
    ));
    assert_eq!(m, before);
    // s1 gives s2 two visits: each store visits what it holds, 5 in all.
    let give = Counter::Card(m.id.clone(), id.clone())
        .give(&m, &n("s1"), &n("s2"), 2)
        .unwrap();
    m.apply(&op("s1", 4, NOON, give)).unwrap();
    visit(&mut m, "s2", 2, &id, 2, NOON).unwrap();
    visit(&mut m, "s1", 5, &id, 1, NOON).unwrap();
    let c = m.card(&id).unwrap();
    assert_eq!((c.left(), c.used(), c.visited), (0, 5, 5));
    let e = visit(&mut m, "s1", 6, &id, 1, NOON).unwrap_err();
    assert!(e.contains("used up") || e.contains("0"), "{e}");
}

#[test]
fn a_period_card_keeps_its_daily_cap_per_day() {
    let mut m = member();
    let mut seq = 0;
    let order = sell(
        Some(&m),
        "s1",
        &[card_line(period_plan(30, Some(1)), 29_900, Decimal::ONE)],
        &mut seq,
    )
    .unwrap();
    let id = order.lines[0].card.as_ref().unwrap().cards[0].clone();
    m.apply(&op("s1", 2, NOON, OpBody::sale(order))).unwrap();
    let held = m.card(&id).unwrap();
    assert!(held.shares.is_empty(), "a period card has no counter");
    let day = |m: &MemberState, ms| {
        let h = m.card(&id).unwrap();
        card::decide_visit(
            &h.card,
            None,
            Day::of_ms(ms),
            0,
            0,
            h.visits_on(Day::of_ms(ms)),
            1,
        )
    };
    assert!(day(&m, NOON).is_ok());
    let body = OpBody::CardVisited {
        member: m.id.clone(),
        card: id.clone(),
        count: 1,
        service: None,
        day: Day::of_ms(NOON),
    };
    m.apply(&op("s1", 3, NOON, body)).unwrap();
    assert!(matches!(
        day(&m, NOON),
        Err(CardError::DailyCap { cap: 1, .. })
    ));
    assert!(day(&m, NOON + DAY_MS).is_ok(), "the next day");
    assert!(matches!(
        day(&m, NOON + 30 * DAY_MS),
        Err(CardError::Expired { .. })
    ));
}

#[test]
fn a_refund_returns_the_unused_part_and_keeps_the_rest() {
    let mut m = member();
    let mut seq = 0;
    let lines = [
        card_line(count_plan(10), 68_000, Decimal::from(2)),
        LineInput {
            card: None,
            sku: Some("tea".into()),
            ..card_line(count_plan(1), 1_000, Decimal::ONE)
        },
    ];
    let order = sell(Some(&m), "s1", &lines, &mut seq).unwrap();
    let ids = order.lines[0].card.as_ref().unwrap().cards.clone();
    m.apply(&op("s1", 3, NOON, OpBody::sale(order.clone())))
        .unwrap();
    visit(&mut m, "s1", 4, &ids[0], 3, NOON).unwrap();
    let mut st = OrderState::new(order.clone());
    let at = Hlc {
        ms: NOON + DAY_MS,
        count: 0,
    };
    // One card back (the first sold): 680 × 7/10 = 476.00 back, 204.00 kept.
    let r = st
        .decide_with_cards(
            RefundId::mint(&n("s1"), 5),
            &n("s1"),
            at,
            Some(&[RefundLine {
                line: 0,
                qty: Decimal::ONE,
            }]),
            "",
            0,
            &m.cards,
        )
        .unwrap();
    assert_eq!(r.cards_refunded, vec![ids[0].clone()]);
    assert_eq!(
        (r.amount, r.card_kept),
        (Money::from_yuan(476), Money::from_yuan(204))
    );
    st.apply(&r);
    let mut totals = LedgerTotals::default();
    let o = op("s1", 5, at.ms, OpBody::refund(r.clone()));
    m.apply(&o).unwrap();
    totals.apply(&o);
    assert!(m.card(&ids[0]).unwrap().refunded);
    assert_eq!(m.card(&ids[0]).unwrap().left(), 0);
    let e = visit(&mut m, "s1", 6, &ids[0], 1, at.ms);
    assert!(e.is_err(), "no visit on a card taken back");
    // The rest, the second card unused: all it was paid comes back.
    let rest = st
        .decide_with_cards(
            RefundId::mint(&n("s1"), 7),
            &n("s1"),
            at,
            None,
            "",
            0,
            &m.cards,
        )
        .unwrap();
    assert_eq!(rest.cards_refunded, vec![ids[1].clone()]);
    assert_eq!(rest.card_kept, Money::ZERO);
    assert_eq!(r.amount + rest.amount + r.card_kept, order.payable);
    totals.apply(&op("s1", 7, at.ms, OpBody::refund(rest)));
    assert_eq!(
        (totals.cards_refunded, totals.card_kept),
        (2, Money::from_yuan(204))
    );
}

#[test]
fn a_card_whose_visits_are_elsewhere_is_refunded_only_once_they_are_back() {
    let mut m = member();
    let mut seq = 0;
    let order = sell(
        Some(&m),
        "s1",
        &[card_line(count_plan(4), 40_000, Decimal::ONE)],
        &mut seq,
    )
    .unwrap();
    let id = order.lines[0].card.as_ref().unwrap().cards[0].clone();
    m.apply(&op("s1", 2, NOON, OpBody::sale(order.clone())))
        .unwrap();
    let give = Counter::Card(m.id.clone(), id.clone())
        .give(&m, &n("s1"), &n("s2"), 1)
        .unwrap();
    m.apply(&op("s1", 3, NOON, give)).unwrap();
    let st = OrderState::new(order);
    let e = st
        .decide_with_cards(
            RefundId::mint(&n("s1"), 4),
            &n("s1"),
            Hlc { ms: NOON, count: 0 },
            None,
            "",
            0,
            &m.cards,
        )
        .unwrap_err();
    assert_eq!(
        e,
        RefundError::Card(CardError::HeldElsewhere {
            card: id.to_string(),
            held_at: vec![n("s2")],
        })
    );
    // s2 gives it back: the refund goes through, all of it (nothing used).
    let back = Counter::Card(m.id.clone(), id.clone())
        .give(&m, &n("s2"), &n("s1"), 1)
        .unwrap();
    m.apply(&op("s2", 1, NOON, back)).unwrap();
    let r = st
        .decide_with_cards(
            RefundId::mint(&n("s1"), 4),
            &n("s1"),
            Hlc { ms: NOON, count: 0 },
            None,
            "",
            0,
            &m.cards,
        )
        .unwrap();
    assert_eq!(
        (r.amount, r.card_kept),
        (Money::from_yuan(400), Money::ZERO)
    );
}

proptest! {
    /// Visits and transfers in any order at three stores: no share below
    /// zero, visits made never more than the card's, left + used = visits;
    /// then a refund at the selling store, once the visits are back there,
    /// returns exactly refund_value and keeps the rest of what was paid.
    #[test]
    fn visits_never_exceed_the_card_and_a_refund_adds_up(
        visits in 1u32..20,
        steps in proptest::collection::vec((0usize..3, 0usize..3, 1u32..4), 0..40),
        price in 1i64..100_000,
    ) {
        let stores = ["s1", "s2", "s3"];
        let mut m = member();
        let mut seq = 0;
        let order = sell(Some(&m), "s1", &[card_line(count_plan(visits), price, Decimal::ONE)], &mut seq).unwrap();
        let id = order.lines[0].card.as_ref().unwrap().cards[0].clone();
        m.apply(&op("s1", 2, NOON, OpBody::sale(order.clone()))).unwrap();
        let mut seqs = [2u64, 0, 0];
        let mut made = 0u32;
        for (a, b, k) in steps {
            seqs[a] += 1;
            if a == b {
                if visit(&mut m, stores[a], seqs[a], &id, k, NOON).is_ok() {
                    made += k;
                }
            } else if let Some(give) = Counter::Card(m.id.clone(), id.clone()).give(&m, &n(stores[a]), &n(stores[b]), i64::from(k)) {
                m.apply(&op(stores[a], seqs[a], NOON, give)).unwrap();
            }
            let c = m.card(&id).unwrap();
            prop_assert!(c.shares.iter().all(|(_, u)| *u > 0));
            prop_assert_eq!(c.left() + i64::from(made), i64::from(visits));
            prop_assert!(made <= visits);
        }
        // Bring every visit home, then refund.
        for (i, s) in stores.iter().enumerate().skip(1) {
            if let Some(give) = Counter::Card(m.id.clone(), id.clone()).give(&m, &n(s), &n("s1"), i64::MAX) {
                seqs[i] += 1;
                m.apply(&op(s, seqs[i], NOON, give)).unwrap();
            }
        }
        let r = OrderState::new(order.clone())
            .decide_with_cards(RefundId::mint(&n("s1"), 999), &n("s1"), Hlc { ms: NOON, count: 0 }, None, "", 0, &m.cards)
            .unwrap();
        let c = m.card(&id).unwrap();
        prop_assert_eq!(r.amount, card::refund_value(&c.card, c.used(), Day::of_ms(NOON)));
        prop_assert_eq!(r.amount + r.card_kept, order.payable);
    }
}
