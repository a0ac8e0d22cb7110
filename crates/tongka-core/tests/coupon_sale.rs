//! Coupons through a whole sale: issued to a member (its uses held by a
//! node), used at checkout by the stacking rule, applied to the member's
//! state (one use from the selling store's share), refunded in parts (the
//! last part gives the uses back while the coupon is valid). Properties:
//! never a negative price, the receipt's sums hold, the order the coupons
//! are given in changes nothing, refunds add up to what was paid, and a
//! use is never taken from a share that does not hold it.

mod common;

use common::{NOON, member, n, op};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tongka_core::checkout::{
    Buyer, CheckoutContext, CheckoutError, Deductions, LineInput, TenderInput, TenderKind,
    checkout_with,
};
use tongka_core::coupon::{
    Benefit, Coupon, CouponError, CouponKind, CouponStatus, CouponTemplate, HeldCoupon, Scope,
    Validity,
};
use tongka_core::day::Day;
use tongka_core::ids::{CouponId, MemberId, OrderId, RefundId};
use tongka_core::op::UsesOf;
use tongka_core::programme::Programme;
use tongka_core::refund::{OrderState, RefundLine};
use tongka_core::state::{ApplyError, LedgerTotals, MemberState};
use tongka_core::{Hlc, Money, OpBody};

fn template(id: &str, benefit: Benefit, min_spend: i64, uses: u32) -> CouponTemplate {
    let kind = match &benefit {
        Benefit::AmountOff { .. } if min_spend > 0 => CouponKind::SpendOff,
        Benefit::AmountOff { .. } => CouponKind::Cash,
        Benefit::Percent { .. } => CouponKind::Percent,
        Benefit::FreeItem { .. } => CouponKind::Exchange,
    };
    CouponTemplate {
        id: id.into(),
        name: format!("券 {id}"),
        kind,
        benefit,
        validity: Validity::DaysFromIssue { days: 7 },
        scope: Scope::default(),
        uses,
        min_spend: Money::from_fen(min_spend),
        per_member_limit: 0,
    }
}

/// Issue `t` to `m` at `origin` (seq `seq`), its uses held by `holder`.
fn issue(m: &mut MemberState, t: &CouponTemplate, seq: u64, holder: &str) -> CouponId {
    let id = CouponId::mint(&n("hq"), seq);
    let body = OpBody::CouponIssued {
        member: m.id.clone(),
        coupon: Coupon::issue(id.clone(), t, Day::of_ms(NOON)),
        holder: n(holder),
    };
    m.apply(&op("hq", seq, NOON, body)).unwrap();
    id
}

fn sell(
    m: &MemberState,
    store: &str,
    lines: &[LineInput],
    coupons: &[&CouponId],
    ms: u64,
) -> Result<tongka_core::checkout::Order, CheckoutError> {
    let p = Programme::default();
    let store = n(store);
    let held: Vec<&HeldCoupon> = coupons.iter().map(|c| m.coupon(c).unwrap()).collect();
    let ctx = CheckoutContext {
        programme: &p,
        store: &store,
        order: OrderId::mint(&store, 9),
        at: Hlc { ms, count: 0 },
        buyer: Some(Buyer {
            member: &m.id,
            level: p.level_for(m.cumulative_principal),
            wallet: &m.wallet,
        }),
    };
    checkout_with(
        &ctx,
        lines,
        &[TenderInput {
            kind: TenderKind::Card,
            amount: None,
        }],
        &Deductions {
            points: 0,
            coupons: &held,
        },
    )
}

fn line(fen: i64, qty: i64) -> LineInput {
    LineInput {
        sku: Some(format!("sku-{fen}")),
        barcode: None,
        description: "货".into(),
        unit_price: Money::from_fen(fen),
        qty: Decimal::from(qty),
        card: None,
        pricing: Default::default(),
    }
}

#[test]
fn a_coupon_is_used_once_and_a_full_refund_gives_the_use_back() {
    let mut m = member();
    let t = template(
        "five",
        Benefit::AmountOff {
            off: Money::from_yuan(5),
        },
        0,
        1,
    );
    let c = issue(&mut m, &t, 1, "s1");
    assert_eq!(
        m.coupon(&c).unwrap().status(Day::of_ms(NOON)),
        CouponStatus::Usable
    );
    let order = sell(&m, "s1", &[line(1200, 1), line(800, 2)], &[&c], NOON).unwrap();
    assert_eq!(order.coupon_off, Money::from_yuan(5));
    assert_eq!(order.payable, Money::from_yuan(23));
    assert_eq!(
        order.lines.iter().map(|l| l.coupon_off).sum::<Money>(),
        order.coupon_off
    );
    let mut totals = LedgerTotals::default();
    let sale = op("s1", 2, NOON, OpBody::sale(order.clone()));
    m.apply(&sale).unwrap();
    totals.apply(&sale);
    assert_eq!(m.coupon(&c).unwrap().left(), 0);
    assert_eq!(m.coupon(&c).unwrap().used(), 1);
    // Used: refused with its code, whatever the store.
    let again = sell(&m, "s1", &[line(1200, 1)], &[&c], NOON).unwrap_err();
    assert_eq!(
        again,
        CheckoutError::Coupon(CouponError::Used {
            code: c.to_string()
        })
    );
    // A partial refund keeps the use; the last part gives it back.
    let mut st = OrderState::new(order.clone());
    let part = st
        .decide(
            RefundId::mint(&n("s1"), 3),
            &n("s1"),
            Hlc { ms: NOON, count: 0 },
            Some(&[RefundLine {
                line: 1,
                qty: Decimal::ONE,
            }]),
            "",
            0,
        )
        .unwrap();
    assert!(part.coupons_returned.is_empty());
    st.apply(&part);
    let rest = st
        .decide(
            RefundId::mint(&n("s1"), 4),
            &n("s1"),
            Hlc { ms: NOON, count: 0 },
            None,
            "",
            0,
        )
        .unwrap();
    assert_eq!(rest.coupons_returned, vec![c.clone()]);
    assert_eq!(part.amount + rest.amount, order.payable);
    for (seq, r) in [(3, part), (4, rest)] {
        let o = op("s1", seq, NOON, OpBody::refund(r));
        m.apply(&o).unwrap();
        totals.apply(&o);
    }
    assert_eq!(m.coupon(&c).unwrap().held(&n("s1")), 1);
    assert_eq!(m.coupon(&c).unwrap().used(), 0);
    assert_eq!(totals.coupon_uses, 1);
    assert_eq!(totals.coupon_uses_returned, 1);
}

#[test]
fn a_refund_after_the_coupon_expired_keeps_the_use() {
    let mut m = member();
    let t = template(
        "five",
        Benefit::AmountOff {
            off: Money::from_yuan(5),
        },
        0,
        1,
    );
    let c = issue(&mut m, &t, 1, "s1");
    let order = sell(&m, "s1", &[line(2000, 1)], &[&c], NOON).unwrap();
    m.apply(&op("s1", 2, NOON, OpBody::sale(order.clone())))
        .unwrap();
    let week_later = NOON + 7 * 86_400_000;
    let r = OrderState::new(order)
        .decide(
            RefundId::mint(&n("s1"), 3),
            &n("s1"),
            Hlc {
                ms: week_later,
                count: 0,
            },
            None,
            "",
            0,
        )
        .unwrap();
    assert!(r.coupons_returned.is_empty(), "expired on the refund's day");
    assert_eq!(r.amount, Money::from_yuan(15), "what was paid comes back");
}

#[test]
fn a_use_held_elsewhere_says_where_and_a_transfer_brings_it() {
    let mut m = member();
    let t = template(
        "five",
        Benefit::AmountOff {
            off: Money::from_yuan(5),
        },
        0,
        2,
    );
    let c = issue(&mut m, &t, 1, "s2");
    let e = sell(&m, "s1", &[line(2000, 1)], &[&c], NOON).unwrap_err();
    assert_eq!(
        e,
        CheckoutError::Coupon(CouponError::UnavailableHere {
            code: c.to_string(),
            held_at: vec![n("s2")],
        })
    );
    assert!(e.to_string().contains("s2"), "{e}");
    // A sale made anyway at s1 (a forged or buggy op) is refused: s1 holds
    // no use of it.
    let mut forged = sell(&m, "s2", &[line(2000, 1)], &[&c], NOON).unwrap();
    forged.store = n("s1");
    let before = m.clone();
    let err = m
        .apply(&op("s1", 2, NOON, OpBody::sale(forged)))
        .unwrap_err();
    assert!(matches!(err, ApplyError::UsesShort(_)), "{err}");
    assert_eq!(m, before);
    // The holder gives one use: s1 can use it, s2 keeps the other.
    let give = tongka_core::escrow::Counter::Coupon(m.id.clone(), c.clone())
        .give(&m, &n("s2"), &n("s1"), 1)
        .unwrap();
    assert!(matches!(
        &give,
        OpBody::UsesTransferred { of: UsesOf::Coupon(id), uses: 1, .. } if *id == c
    ));
    m.apply(&op("s2", 1, NOON, give)).unwrap();
    assert_eq!(
        (
            m.coupon(&c).unwrap().held(&n("s1")),
            m.coupon(&c).unwrap().held(&n("s2"))
        ),
        (1, 1)
    );
    sell(&m, "s1", &[line(2000, 1)], &[&c], NOON).unwrap();
}

fn arb_template(i: usize) -> impl Strategy<Value = CouponTemplate> {
    prop_oneof![
        (1i64..5_000).prop_map(move |off| template(
            &format!("a{i}"),
            Benefit::AmountOff {
                off: Money::from_fen(off)
            },
            0,
            1
        )),
        (1i64..5_000, 0i64..3).prop_map(move |(off, k)| template(
            &format!("m{i}"),
            Benefit::AmountOff {
                off: Money::from_fen(off)
            },
            off + k * 1_000 + 1,
            1
        )),
        (50i64..99).prop_map(move |pct| template(
            &format!("p{i}"),
            Benefit::Percent {
                rate: Decimal::new(pct, 2),
                max_off: None
            },
            0,
            1
        )),
    ]
}

proptest! {
    /// Whatever the lines and coupons: the price is never negative, the
    /// receipt adds up, the coupons' order changes nothing, applying the
    /// sale takes exactly one use of each, and refunds in any parts add up
    /// to what was paid, the last giving every use back.
    #[test]
    fn coupon_sales_add_up_and_refunds_undo_them(
        prices in proptest::collection::vec((1i64..20_000, 1i64..4), 1..5),
        templates in (arb_template(0), arb_template(1), arb_template(2)),
        pick in proptest::collection::vec(0usize..3, 0..3),
        cuts in proptest::collection::vec((0usize..5, 1i64..4), 0..6),
    ) {
        let mut m = member();
        let ts = [templates.0, templates.1, templates.2];
        let ids: Vec<CouponId> = ts.iter().enumerate().map(|(i, t)| issue(&mut m, t, i as u64 + 1, "s1")).collect();
        let mut chosen: Vec<&CouponId> = pick.iter().map(|&i| &ids[i]).collect();
        chosen.dedup();
        let lines: Vec<LineInput> = prices.iter().map(|&(p, q)| line(p, q)).collect();
        let Ok(order) = sell(&m, "s1", &lines, &chosen, NOON) else {
            return Ok(());
        };
        let reversed: Vec<&CouponId> = chosen.iter().rev().copied().collect();
        prop_assert_eq!(&sell(&m, "s1", &lines, &reversed, NOON).unwrap(), &order);
        prop_assert!(!order.payable.is_negative());
        prop_assert!(order.lines.iter().all(|l| !l.paid().is_negative()));
        prop_assert_eq!(order.total - order.discount - order.coupon_off - order.points_value, order.payable);
        prop_assert_eq!(order.coupons.iter().map(|u| u.off).sum::<Money>(), order.coupon_off);
        prop_assert_eq!(order.lines.iter().map(|l| l.coupon_off).sum::<Money>(), order.coupon_off);
        prop_assert_eq!(order.coupons.len(), chosen.len());

        let left = |m: &MemberState| ids.iter().map(|c| m.coupon(c).unwrap().left()).sum::<i64>();
        let before = left(&m);
        m.apply(&op("s1", 10, NOON, OpBody::sale(order.clone()))).unwrap();
        prop_assert_eq!(left(&m), before - chosen.len() as i64);

        let mut st = OrderState::new(order.clone());
        let mut refunded = Money::ZERO;
        let mut seq = 11;
        for (l, q) in cuts {
            let l = l % order.lines.len();
            let remaining = order.lines[l].qty - st.refunded_qty[l];
            let q = Decimal::from(q).min(remaining);
            if q <= Decimal::ZERO { continue; }
            let r = st.decide(RefundId::mint(&n("s1"), seq), &n("s1"), Hlc { ms: NOON, count: 0 }, Some(&[RefundLine { line: l, qty: q }]), "", 0).unwrap();
            if !st.fully_refunded() && !r.coupons_returned.is_empty() {
                // Only the refund that completes the sale gives uses back.
                let mut after = st.clone();
                after.apply(&r);
                prop_assert!(after.fully_refunded());
            }
            refunded += r.amount;
            st.apply(&r);
            m.apply(&op("s1", seq, NOON, OpBody::refund(r))).unwrap();
            seq += 1;
        }
        if !st.fully_refunded() {
            let r = st.decide(RefundId::mint(&n("s1"), seq), &n("s1"), Hlc { ms: NOON, count: 0 }, None, "", 0).unwrap();
            refunded += r.amount;
            st.apply(&r);
            m.apply(&op("s1", seq, NOON, OpBody::refund(r))).unwrap();
        }
        prop_assert_eq!(refunded, order.payable);
        prop_assert_eq!(left(&m), before);
    }
}

/// A merge moves each holder's uses of the absorbed member's coupons to
/// the survivor, with the coupon: nothing lost, nothing doubled.
#[test]
fn a_merge_moves_coupons_with_their_uses() {
    use tongka_core::merge::{apply_credit, decide_move};
    let mut gone = member();
    let t = template(
        "five",
        Benefit::AmountOff {
            off: Money::from_yuan(5),
        },
        0,
        3,
    );
    let c = issue(&mut gone, &t, 1, "s1");
    let give = tongka_core::escrow::Counter::Coupon(gone.id.clone(), c.clone())
        .give(&gone, &n("s1"), &n("s2"), 1)
        .unwrap();
    gone.apply(&op("s1", 2, NOON, give)).unwrap();
    let mut survivor = {
        let mut m = member();
        m.id = MemberId::mint(&n("s2"), 7);
        m
    };
    for (seq, holder) in [(3, "s1"), (4, "s2")] {
        let body = decide_move(&gone, &survivor.id, &n(holder)).unwrap();
        let moved = op(holder, seq, NOON, body);
        assert_eq!(
            moved.body.needs() & tongka_core::codec::FEATURE_COUPONS,
            tongka_core::codec::FEATURE_COUPONS
        );
        gone.apply(&moved).unwrap();
        apply_credit(&mut survivor, &moved).unwrap();
    }
    assert_eq!(gone.coupon(&c).unwrap().left(), 0);
    let s = survivor.coupon(&c).unwrap();
    assert_eq!((s.held(&n("s1")), s.held(&n("s2")), s.used()), (2, 1, 0));
    assert!(!gone.held_by(&n("s1")) && !gone.held_by(&n("s2")));
    assert!(
        decide_move(&gone, &survivor.id, &n("s1")).is_none(),
        "nothing left to move"
    );
}
