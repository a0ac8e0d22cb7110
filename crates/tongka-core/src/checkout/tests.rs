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
        pricing: Default::default(),
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

fn priced(price_fen: i64, qty: Decimal, member_fen: Option<i64>, mult: Decimal) -> LineInput {
    LineInput {
        pricing: LinePricing {
            member_price: member_fen.map(Money::from_fen),
            points_multiplier: mult,
        },
        ..line(price_fen, qty)
    }
}

fn cash() -> [TenderInput; 1] {
    [TenderInput {
        kind: TenderKind::Cash,
        amount: None,
    }]
}

/// The member price and the level discount never stack: a member pays
/// the lower of the two; a non-member pays the regular price.
#[test]
fn member_price_or_level_discount_whichever_is_lower() {
    // silver: 5% off. 100.00 × 0.95 = 95.00 beats a member price of 96.
    let o = run(
        "silver",
        &funded(),
        &[priced(10000, dec!(1), Some(9600), Decimal::ONE)],
        &cash(),
    )
    .unwrap();
    assert_eq!(o.payable.to_string(), "95.00");
    // A member price of 90.00 × 2 beats 200 × 0.95 = 190; not 90 × 0.95.
    let o = run(
        "silver",
        &funded(),
        &[priced(10000, dec!(2), Some(9000), Decimal::ONE)],
        &cash(),
    )
    .unwrap();
    assert_eq!(o.payable.to_string(), "180.00");
    assert_eq!(o.total.to_string(), "200.00");
    assert_eq!(o.discount.to_string(), "20.00");
    // Measured: 1.255 kg at member price 9.99 = 12.53745 → 12.54 (half-up).
    let o = run(
        "regular",
        &funded(),
        &[priced(1200, dec!(1.255), Some(999), Decimal::ONE)],
        &cash(),
    )
    .unwrap();
    assert_eq!(o.payable.to_string(), "12.54");
    // No member: the regular price.
    let p = Programme::default();
    let n = node();
    let ctx = CheckoutContext {
        programme: &p,
        store: &n,
        order: OrderId::mint(&n, 3),
        at: Hlc::default(),
        buyer: None,
    };
    let o = checkout(
        &ctx,
        &[priced(10000, dec!(1), Some(5000), Decimal::ONE)],
        &cash(),
    )
    .unwrap();
    assert_eq!(o.payable.to_string(), "100.00");
}

/// Points earned weigh each line's share of the payable by its
/// multiplier: 2× on a 60.00 line and 0× on a 40.00 line of a 100.00
/// order earn on 120.00.
#[test]
fn points_multiplier_weighs_each_lines_share() {
    let o = run(
        "regular",
        &funded(),
        &[
            priced(6000, dec!(1), None, dec!(2)),
            priced(4000, dec!(1), None, Decimal::ZERO),
        ],
        &cash(),
    )
    .unwrap();
    assert_eq!(o.payable.to_string(), "100.00");
    assert_eq!(o.points_earned, 120);
    let o = run(
        "regular",
        &funded(),
        &[priced(3333, dec!(1), None, dec!(0.5))],
        &cash(),
    )
    .unwrap();
    // 33.33 × 0.5 = 16.665 → 16.67 (half-up), 16 points.
    assert_eq!(o.points_earned, 16);
}

proptest::proptest! {
    /// Any member prices and multipliers: a line never pays more than
    /// its level-discounted price, the order still adds up, and
    /// multipliers of 1 earn exactly what no multiplier earns.
    #[test]
    fn member_prices_and_multipliers_add_up(
        lines in proptest::collection::vec((1i64..100_000, 1i64..20, proptest::option::of(0i64..100_000), 0u32..40), 1..6),
        level in 0usize..5,
    ) {
        let p = Programme::default();
        let code = p.levels[level].code.clone();
        let ls: Vec<LineInput> = lines.iter().map(|(f, q, m, x)| priced(*f, Decimal::from(*q), *m, Decimal::new(i64::from(*x), 1))).collect();
        let plain: Vec<LineInput> = lines.iter().map(|(f, q, _, _)| line(*f, Decimal::from(*q))).collect();
        let o = run(&code, &funded(), &ls, &cash()).unwrap();
        let base = run(&code, &funded(), &plain, &cash()).unwrap();
        proptest::prop_assert!(o.payable <= base.payable);
        proptest::prop_assert_eq!(o.total - o.discount, o.payable);
        for (a, b) in o.lines.iter().zip(&base.lines) {
            proptest::prop_assert!(a.payable <= b.payable);
        }
        let ones: Vec<LineInput> = lines.iter().map(|(f, q, _, _)| priced(*f, Decimal::from(*q), None, Decimal::ONE)).collect();
        proptest::prop_assert_eq!(run(&code, &funded(), &ones, &cash()).unwrap().points_earned, base.points_earned);
    }
}
