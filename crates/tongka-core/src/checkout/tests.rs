use super::*;
use crate::error::DomainError;
use crate::wallet::Share;
use rust_decimal_macros::dec;

fn node() -> NodeId {
    NodeId::new("store-1").unwrap()
}

fn line(price_fen: i64, qty: Decimal) -> LineInput {
    LineInput {
        sku: None,
        barcode: None,
        description: "咖啡".into(),
        unit_price: Money::from_fen(price_fen),
        qty,
        card: None,
    }
}

fn run(
    level_code: &str,
    wallet: &Wallet,
    lines: &[LineInput],
    tenders: &[TenderInput],
) -> Result<Order, CheckoutError> {
    let p = Programme::default();
    let level = p.levels.iter().find(|l| l.code == level_code).unwrap();
    let m = MemberId::mint(&node(), 1);
    let n = node();
    let ctx = CheckoutContext {
        programme: &p,
        store: &n,
        order: OrderId::mint(&n, 2),
        at: Hlc::default(),
        buyer: Some(Buyer {
            member: &m,
            level,
            wallet,
        }),
    };
    checkout(&ctx, lines, tenders)
}

fn funded() -> Wallet {
    let mut w = Wallet::default();
    w.credit(
        &node(),
        Share {
            principal: Money::from_yuan(1000),
            bonus: Money::from_yuan(100),
            points: 0,
        },
    );
    w
}

#[test]
fn readme_walkthrough_numbers() {
    let o = run(
        "silver",
        &funded(),
        &[line(10000, dec!(1))],
        &[TenderInput {
            kind: TenderKind::Balance,
            amount: None,
        }],
    )
    .unwrap();
    assert_eq!(o.total.to_string(), "100.00");
    assert_eq!(o.payable.to_string(), "95.00");
    assert_eq!(o.discount.to_string(), "5.00");
    assert_eq!(
        (o.balance_principal.to_string(), o.balance_bonus.to_string()),
        ("86.36".into(), "8.64".into())
    );
    assert_eq!(o.points_earned, 95);
}

#[test]
fn per_line_rounding_half_up() {
    // 3 × 3.33 = 9.99; × 0.95 = 9.4905 → 9.49. 0.01 × 0.95 = 0.0095 → 0.01.
    let o = run(
        "silver",
        &funded(),
        &[line(333, dec!(3)), line(1, dec!(1))],
        &[TenderInput {
            kind: TenderKind::Cash,
            amount: Some(Money::from_yuan(20)),
        }],
    )
    .unwrap();
    assert_eq!(o.lines[0].payable.to_string(), "9.49");
    assert_eq!(o.lines[1].payable.to_string(), "0.01");
    assert_eq!(o.payable.to_string(), "9.50");
    assert_eq!(o.change.to_string(), "10.50");
    assert_eq!(o.tender(TenderKind::Cash).to_string(), "9.50");
}

#[test]
fn split_tender_and_refusals() {
    let w = funded();
    let o = run(
        "regular",
        &w,
        &[line(150000, dec!(1))],
        &[
            TenderInput {
                kind: TenderKind::Wechat,
                amount: Some(Money::from_yuan(400)),
            },
            TenderInput {
                kind: TenderKind::Balance,
                amount: None,
            },
        ],
    )
    .unwrap();
    assert_eq!(o.tender(TenderKind::Balance).to_string(), "1100.00");
    assert_eq!(
        o.balance_principal + o.balance_bonus,
        Money::from_yuan(1100)
    );

    let e = run(
        "regular",
        &w,
        &[line(150000, dec!(1))],
        &[TenderInput {
            kind: TenderKind::Balance,
            amount: None,
        }],
    )
    .unwrap_err();
    assert_eq!(
        e,
        CheckoutError::InsufficientBalance {
            wanted: Money::from_yuan(1500),
            available_here: Money::from_yuan(1100)
        }
    );
    assert_eq!(e.code(), "insufficient_balance");

    let e = run(
        "regular",
        &w,
        &[line(1000, dec!(1))],
        &[TenderInput {
            kind: TenderKind::Card,
            amount: Some(Money::from_yuan(11)),
        }],
    )
    .unwrap_err();
    assert_eq!(e.code(), "tender_mismatch");
    let e = run("regular", &w, &[line(1000, dec!(0))], &[]).unwrap_err();
    assert_eq!(e.code(), "invalid_qty");
    let e = run("regular", &w, &[line(1000, dec!(1.0001))], &[]).unwrap_err();
    assert_eq!(e.code(), "invalid_qty");
    let e = run("regular", &w, &[], &[]).unwrap_err();
    assert_eq!(e.code(), "invalid_lines");
    let two_open = [
        TenderInput {
            kind: TenderKind::Cash,
            amount: None,
        },
        TenderInput {
            kind: TenderKind::Balance,
            amount: None,
        },
    ];
    assert_eq!(
        run("regular", &w, &[line(1000, dec!(1))], &two_open)
            .unwrap_err()
            .code(),
        "invalid_tenders"
    );
}

fn with_points_rule(cap_pct: i64, min_points: i64) -> Programme {
    Programme {
        points_deduction: Some(crate::programme::PointsDeduction {
            points_per_yuan: 100,
            cap: Decimal::new(cap_pct, 2),
            min_points,
        }),
        ..Programme::default()
    }
}

fn points_wallet(points: i64) -> Wallet {
    let mut w = funded();
    w.credit(
        &node(),
        Share {
            points,
            ..Share::default()
        },
    );
    w
}

pub(crate) fn run_points(
    p: &Programme,
    level_code: &str,
    wallet: &Wallet,
    lines: &[LineInput],
    tenders: &[TenderInput],
    points: i64,
) -> Result<Order, CheckoutError> {
    let level = p.levels.iter().find(|l| l.code == level_code).unwrap();
    let m = MemberId::mint(&node(), 1);
    let n = node();
    let ctx = CheckoutContext {
        programme: p,
        store: &n,
        order: OrderId::mint(&n, 2),
        at: Hlc::default(),
        buyer: Some(Buyer {
            member: &m,
            level,
            wallet,
        }),
    };
    checkout_with_points(&ctx, lines, tenders, points)
}

fn cash_rest() -> [TenderInput; 1] {
    [TenderInput {
        kind: TenderKind::Cash,
        amount: None,
    }]
}

#[test]
fn points_deduct_after_the_level_discount_and_earn_on_what_is_paid() {
    let p = with_points_rule(50, 0);
    // 100.00 at silver (95%) = 95.00; 1500 points = 15.00; pays 80.00.
    let o = run_points(
        &p,
        "silver",
        &points_wallet(2000),
        &[line(10000, dec!(1))],
        &cash_rest(),
        1500,
    )
    .unwrap();
    assert_eq!(o.total.to_string(), "100.00");
    assert_eq!(o.discount.to_string(), "5.00");
    assert_eq!(o.points_used, 1500);
    assert_eq!(o.points_value.to_string(), "15.00");
    assert_eq!(o.payable.to_string(), "80.00");
    assert_eq!(o.goods_payable().to_string(), "95.00");
    assert_eq!(o.tender(TenderKind::Cash).to_string(), "80.00");
    assert_eq!(o.points_earned, 80);
    assert_eq!(o.total - o.discount - o.points_value, o.payable);
    // All of it with points (cap 100%): nothing to tender, nothing earned.
    let all = run_points(
        &with_points_rule(100, 0),
        "regular",
        &points_wallet(1000),
        &[line(1000, dec!(1))],
        &[],
        1000,
    )
    .unwrap();
    assert_eq!(all.payable, Money::ZERO);
    assert!(all.tenders.is_empty());
    assert_eq!(all.points_earned, 0);
}

#[test]
fn points_refusals_have_their_codes() {
    let lines = [line(10000, dec!(1))];
    let w = points_wallet(10_000);
    let code = |p: &Programme, w: &Wallet, points: i64| {
        run_points(p, "regular", w, &lines, &cash_rest(), points)
            .unwrap_err()
            .code()
    };
    assert_eq!(
        code(&Programme::default(), &w, 100),
        "points_deduction_not_enabled"
    );
    let p = with_points_rule(50, 200);
    assert_eq!(code(&p, &w, -1), "invalid_points");
    assert_eq!(code(&p, &w, 199), "points_below_minimum");
    let e = run_points(&p, "regular", &w, &lines, &cash_rest(), 5001).unwrap_err();
    assert_eq!(
        e,
        CheckoutError::PointsOverCap {
            wanted: 5001,
            value: Money::from_fen(5001),
            cap: Money::from_yuan(50),
            max_points: 5000
        }
    );
    assert_eq!(e.code(), "points_over_cap");
    let e = run_points(
        &p,
        "regular",
        &points_wallet(300),
        &lines,
        &cash_rest(),
        400,
    )
    .unwrap_err();
    assert_eq!(
        e,
        CheckoutError::InsufficientPoints {
            wanted: 400,
            available_here: 300
        }
    );
    assert_eq!(e.code(), "insufficient_points");
    assert!(e.message_zh().contains("本店可用 300"));
    // A walk-in cannot pay with points.
    let n = node();
    let ctx = CheckoutContext {
        programme: &p,
        store: &n,
        order: OrderId::mint(&n, 2),
        at: Hlc::default(),
        buyer: None,
    };
    assert_eq!(
        checkout_with_points(&ctx, &lines, &cash_rest(), 300)
            .unwrap_err()
            .code(),
        "points_need_member"
    );
    // Zero points: no deduction, allowed with the rule off.
    let o = run_points(
        &Programme::default(),
        "regular",
        &w,
        &lines,
        &cash_rest(),
        0,
    )
    .unwrap();
    assert_eq!(o.points_used, 0);
}

proptest::proptest! {
    #[test]
    fn orders_add_up(prices in proptest::collection::vec((1i64..100_000, 1i64..50), 1..8), level in 0usize..5) {
        let p = Programme::default();
        let code = p.levels[level].code.clone();
        let lines: Vec<_> = prices.iter().map(|&(fen, q)| line(fen, Decimal::from(q))).collect();
        let o = run(&code, &Wallet::default(), &lines, &[TenderInput { kind: TenderKind::Card, amount: Some(Money::from_fen(1)) }, TenderInput { kind: TenderKind::Cash, amount: None }]);
        if let Ok(o) = o {
            proptest::prop_assert_eq!(o.total - o.discount, o.payable);
            proptest::prop_assert_eq!(o.tenders.iter().map(|t| t.amount).sum::<Money>(), o.payable);
            proptest::prop_assert!(o.lines.iter().all(|l| l.payable <= l.amount));
        }
    }

    /// Points never pay more than the cap, the held share, or the
    /// payable; the order always adds up.
    #[test]
    fn points_orders_add_up(
        prices in proptest::collection::vec((1i64..100_000, 1i64..5), 1..5),
        level in 0usize..5,
        cap in 1i64..=100,
        held in 0i64..20_000,
        points in 0i64..30_000,
    ) {
        let p = with_points_rule(cap, 0);
        let code = p.levels[level].code.clone();
        let lines: Vec<_> = prices.iter().map(|&(fen, q)| line(fen, Decimal::from(q))).collect();
        let w = points_wallet(held);
        match run_points(&p, &code, &w, &lines, &cash_rest(), points) {
            Ok(o) => {
                proptest::prop_assert!(o.points_used <= held);
                proptest::prop_assert!(o.points_value <= Money::round_half_up(o.goods_payable().as_decimal() * Decimal::new(cap, 2)));
                proptest::prop_assert_eq!(o.total - o.discount - o.points_value, o.payable);
                proptest::prop_assert_eq!(o.tenders.iter().map(|t| t.amount).sum::<Money>(), o.payable);
                proptest::prop_assert_eq!(o.points_earned, p.points_for(o.payable));
            }
            Err(CheckoutError::InsufficientPoints { .. }) => proptest::prop_assert!(points > held),
            Err(CheckoutError::PointsOverCap { max_points, .. }) => proptest::prop_assert!(points > max_points),
            Err(e) => proptest::prop_assert!(false, "unexpected {e}"),
        }
    }
}
