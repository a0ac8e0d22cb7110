use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::text::CharClass;

fn y(fen: i64) -> Money {
    Money::from_fen(fen)
}

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn day(s: &str) -> Day {
    s.parse().unwrap()
}

fn template(id: &str, kind: CouponKind, benefit: Benefit) -> CouponTemplate {
    CouponTemplate {
        id: id.into(),
        name: format!("券 {id}"),
        kind,
        benefit,
        validity: Validity::DaysFromIssue { days: 30 },
        scope: Scope::default(),
        uses: 1,
        min_spend: Money::ZERO,
        per_member_limit: 0,
    }
}

fn off(id: &str, fen: i64) -> CouponTemplate {
    template(id, CouponKind::Cash, Benefit::AmountOff { off: y(fen) })
}

fn percent(id: &str, rate: Decimal) -> CouponTemplate {
    template(
        id,
        CouponKind::Percent,
        Benefit::Percent {
            rate,
            max_off: None,
        },
    )
}

fn line(sku: &'static str, qty: Decimal, payable: i64) -> CouponLine<'static> {
    CouponLine {
        sku: Some(sku),
        category: None,
        qty,
        payable: y(payable),
    }
}

fn present<'a>(code: &'a str, t: &'a CouponTemplate) -> Presented<'a> {
    Presented {
        code,
        template: t,
        window: t.window(day("2026-12-01")),
    }
}

fn cx(store: &NodeId) -> Context<'_> {
    Context {
        store,
        level: Some("gold"),
        today: day("2026-12-05"),
    }
}

#[test]
fn amount_off_is_spread_over_the_lines_by_what_they_pay() {
    let s1 = n("store-1");
    let t = off("ten", 1_000);
    let lines = [line("a", dec!(1), 3_000), line("b", dec!(2), 1_000)];
    let got = stack(&lines, &[present("C1", &t)], &cx(&s1)).unwrap();
    assert_eq!(got.total(), y(1_000));
    assert_eq!(got.line_off, vec![y(750), y(250)]);
    assert_eq!(got.uses[0].lines, vec![(0, y(750)), (1, y(250))]);
    // More off than the goods: the goods, never below zero.
    let big = off("big", 100_000);
    let got = stack(&lines, &[present("C2", &big)], &cx(&s1)).unwrap();
    assert_eq!(got.line_off, vec![y(3_000), y(1_000)]);
}

#[test]
fn the_order_of_application_is_exchange_then_percent_then_amount_off() {
    let s1 = n("store-1");
    let gift = template(
        "gift",
        CouponKind::Exchange,
        Benefit::FreeItem { sku: "tea".into() },
    );
    let pct = percent("p90", dec!(0.9));
    let cash = off("cash5", 500);
    // tea ×2 at 12.00 a cup (after the level discount), cake 30.00.
    let lines = [line("tea", dec!(2), 2_400), line("cake", dec!(1), 3_000)];
    let presented = [
        present("Z-CASH", &cash),
        present("A-PCT", &pct),
        present("M-GIFT", &gift),
    ];
    let got = stack(&lines, &presented, &cx(&s1)).unwrap();
    let codes: Vec<&str> = got.uses.iter().map(|u| u.code.as_str()).collect();
    assert_eq!(codes, ["M-GIFT", "A-PCT", "Z-CASH"]);
    // One tea free (12.00); 10% of the 42.00 left (4.20); then 5.00.
    let offs: Vec<Money> = got.uses.iter().map(|u| u.off).collect();
    assert_eq!(offs, [y(1_200), y(420), y(500)]);
    assert_eq!(got.total(), y(2_120));
}

#[test]
fn which_coupons_combine() {
    let s1 = n("store-1");
    let (a, b) = (percent("p9", dec!(0.9)), percent("p8", dec!(0.8)));
    let c = off("c", 100);
    let lines = [line("a", dec!(1), 10_000)];
    let err = stack(&lines, &[present("X", &a), present("Y", &b)], &cx(&s1)).unwrap_err();
    assert_eq!(err.code(), "coupon_not_combinable");
    let err = stack(&lines, &[present("X", &c), present("Y", &c)], &cx(&s1)).unwrap_err();
    assert_eq!(err.code(), "coupon_not_combinable");
    let err = stack(&lines, &[present("X", &c), present("X", &a)], &cx(&s1)).unwrap_err();
    assert_eq!(err.code(), "coupon_repeated");
    let many: Vec<CouponTemplate> = (0..6).map(|i| off(&format!("t{i}"), 1)).collect();
    let codes: Vec<String> = (0..6).map(|i| format!("K{i}")).collect();
    let presented: Vec<Presented<'_>> = many
        .iter()
        .zip(&codes)
        .map(|(t, c)| present(c, t))
        .collect();
    assert_eq!(
        stack(&lines, &presented, &cx(&s1)).unwrap_err(),
        CouponError::TooMany
    );
    assert!(stack(&lines, &presented[..5], &cx(&s1)).is_ok());
}

#[test]
fn validity_scope_and_minimum_are_checked_with_their_codes() {
    let s1 = n("store-1");
    let lines = [line("a", dec!(1), 5_000)];
    let t = off("w", 100);
    let mut p = present("W", &t);
    p.window = (day("2026-12-06"), day("2026-12-31"));
    let e = stack(&lines, &[p], &cx(&s1)).unwrap_err();
    assert_eq!(
        (e.code(), e.message_zh()),
        ("coupon_not_yet_valid", "券 W 自 2026-12-06 起可用".into())
    );
    p.window = (day("2026-11-01"), day("2026-12-04"));
    let e = stack(&lines, &[p], &cx(&s1)).unwrap_err();
    assert_eq!(e.code(), "coupon_expired");
    assert_eq!(e.details()[1], ("valid_to", "2026-12-04".into()));
    // The last day is still good.
    p.window = (day("2026-11-01"), day("2026-12-05"));
    assert!(stack(&lines, &[p], &cx(&s1)).is_ok());

    let mut scoped = off("s", 100);
    scoped.scope.stores = vec![n("store-2")];
    let e = stack(&lines, &[present("S", &scoped)], &cx(&s1)).unwrap_err();
    assert_eq!(
        e,
        CouponError::NotApplicable {
            code: "S".into(),
            miss: Miss::Store
        }
    );
    scoped.scope.stores.clear();
    scoped.scope.levels = vec!["diamond".into()];
    let e = stack(&lines, &[present("S", &scoped)], &cx(&s1)).unwrap_err();
    assert_eq!(e.code(), "coupon_not_applicable");
    let walk_in = Context {
        level: None,
        ..cx(&s1)
    };
    assert!(stack(&lines, &[present("S", &scoped)], &walk_in).is_err());
    scoped.scope.levels.clear();
    scoped.scope.skus = vec!["b".into()];
    let e = stack(&lines, &[present("S", &scoped)], &cx(&s1)).unwrap_err();
    assert_eq!(
        e,
        CouponError::NotApplicable {
            code: "S".into(),
            miss: Miss::Goods
        }
    );

    let mut spend = template(
        "m",
        CouponKind::SpendOff,
        Benefit::AmountOff { off: y(2_000) },
    );
    spend.min_spend = y(10_000);
    let e = stack(&lines, &[present("M", &spend)], &cx(&s1)).unwrap_err();
    assert_eq!(e.code(), "coupon_below_minimum");
    assert_eq!(
        e.message_zh(),
        "券 M 需适用商品满 100.00 元，本单为 50.00 元"
    );
}

#[test]
fn the_minimum_counts_only_the_goods_in_scope() {
    let s1 = n("store-1");
    let mut t = template(
        "m",
        CouponKind::SpendOff,
        Benefit::AmountOff { off: y(500) },
    );
    t.min_spend = y(5_000);
    t.scope.categories = vec!["drinks".into()];
    let mut tea = line("tea", dec!(1), 4_000);
    tea.category = Some("drinks");
    let cake = line("cake", dec!(1), 9_000);
    assert_eq!(
        stack(&[tea, cake], &[present("M", &t)], &cx(&s1))
            .unwrap_err()
            .code(),
        "coupon_below_minimum"
    );
    let mut juice = line("juice", dec!(1), 1_000);
    juice.category = Some("drinks");
    let got = stack(&[tea, cake, juice], &[present("M", &t)], &cx(&s1)).unwrap();
    assert_eq!(got.line_off, vec![y(400), y(0), y(100)]);
}

#[test]
fn an_exchange_frees_one_unit_or_a_line_below_one() {
    let s1 = n("store-1");
    let g = template(
        "g",
        CouponKind::Exchange,
        Benefit::FreeItem { sku: "rice".into() },
    );
    let got = stack(
        &[line("rice", dec!(3), 1_000)],
        &[present("G", &g)],
        &cx(&s1),
    )
    .unwrap();
    assert_eq!(got.total(), y(333), "10.00 ÷ 3 half-up");
    let got = stack(
        &[line("rice", dec!(0.5), 1_000)],
        &[present("G", &g)],
        &cx(&s1),
    )
    .unwrap();
    assert_eq!(got.total(), y(1_000));
    let e = stack(
        &[line("tea", dec!(1), 1_000)],
        &[present("G", &g)],
        &cx(&s1),
    )
    .unwrap_err();
    assert_eq!(e.code(), "coupon_not_applicable");
}

#[test]
fn a_percentage_is_rounded_half_up_and_capped() {
    let s1 = n("store-1");
    let mut t = percent("p", dec!(0.85));
    let got = stack(&[line("a", dec!(1), 3_333)], &[present("P", &t)], &cx(&s1)).unwrap();
    // 33.33 × 0.15 = 4.9995 → 5.00
    assert_eq!(got.total(), y(500));
    t.benefit = Benefit::Percent {
        rate: dec!(0.5),
        max_off: Some(y(1_000)),
    };
    let got = stack(&[line("a", dec!(1), 10_000)], &[present("P", &t)], &cx(&s1)).unwrap();
    assert_eq!(got.total(), y(1_000));
}

#[test]
fn templates_given_from_outside_are_checked() {
    let ok = off("cash-10", 1_000);
    assert_eq!(ok.validate(), Ok(()));
    let bad = |f: &dyn Fn(&mut CouponTemplate)| {
        let mut t = ok.clone();
        f(&mut t);
        t.validate().unwrap_err()
    };
    assert_eq!(bad(&|t| t.id = "Cash".into()), TemplateError::Id);
    assert_eq!(bad(&|t| t.id = "x".repeat(33)), TemplateError::Id);
    let name = |e| TemplateError::Name(e);
    let char = |class, code| name(TextError::Char { class, code });
    let length = name(TextError::Length { min: 1, max: 40 });
    assert_eq!(
        bad(&|t| t.name = "a\u{7}b".into()),
        char(CharClass::Control, 7)
    );
    assert_eq!(
        bad(&|t| t.name = "a\u{202e}b".into()),
        char(CharClass::Direction, 0x202E)
    );
    assert_eq!(
        bad(&|t| t.name = "a\u{200b}b".into()),
        char(CharClass::Invisible, 0x200B)
    );
    assert_eq!(bad(&|t| t.name = " a".into()), name(TextError::Padded));
    assert_eq!(bad(&|t| t.name = String::new()), length);
    assert_eq!(bad(&|t| t.name = "名".repeat(41)), length);
    assert_eq!(
        bad(&|t| t.benefit = Benefit::FreeItem { sku: "a".into() }),
        TemplateError::KindBenefit {
            kind: CouponKind::Cash
        }
    );
    assert_eq!(
        bad(&|t| t.benefit = Benefit::AmountOff { off: y(0) }),
        TemplateError::Off
    );
    assert_eq!(
        bad(&|t| t.benefit = Benefit::AmountOff { off: y(-5) }),
        TemplateError::Off
    );
    assert_eq!(
        bad(&|t| t.benefit = Benefit::AmountOff {
            off: Money::from_yuan(10_000_001)
        }),
        TemplateError::Off
    );
    assert_eq!(
        bad(&|t| {
            t.kind = CouponKind::SpendOff;
            t.min_spend = y(1_000);
        }),
        TemplateError::SpendOffMinimum
    );
    for rate in [dec!(0), dec!(1), dec!(1.5), dec!(0.855), dec!(-0.5)] {
        assert_eq!(
            bad(&|t| {
                t.kind = CouponKind::Percent;
                t.benefit = Benefit::Percent {
                    rate,
                    max_off: None,
                };
            }),
            TemplateError::Rate,
            "{rate}"
        );
    }
    assert_eq!(
        bad(&|t| t.validity = Validity::DaysFromIssue { days: 0 }),
        TemplateError::Validity
    );
    assert_eq!(
        bad(&|t| t.validity = Validity::Dates {
            from: day("2026-12-05"),
            to: day("2026-12-04")
        }),
        TemplateError::Validity
    );
    assert_eq!(bad(&|t| t.uses = 0), TemplateError::Uses);
    assert_eq!(bad(&|t| t.uses = COUPON_USES_MAX + 1), TemplateError::Uses);
    assert_eq!(bad(&|t| t.min_spend = y(-1)), TemplateError::MinSpend);
    assert_eq!(
        bad(&|t| t.scope.skus = vec![String::new()]),
        TemplateError::Scope
    );
    assert_eq!(
        bad(&|t| t.scope.skus = vec!["a".into(); 201]),
        TemplateError::Scope
    );
    // Occasion kinds take any benefit.
    let mut b = ok.clone();
    b.kind = CouponKind::Birthday;
    b.benefit = Benefit::FreeItem { sku: "cake".into() };
    assert_eq!(b.validate(), Ok(()));
}

#[test]
fn a_window_counted_from_issue_includes_the_day_of_issue() {
    let t = off("w", 100);
    assert_eq!(
        t.window(day("2026-12-05")),
        (day("2026-12-05"), day("2027-01-03"))
    );
}

fn arb_template(i: usize) -> impl Strategy<Value = CouponTemplate> {
    let benefit = prop_oneof![
        (1i64..20_000).prop_map(|f| (CouponKind::Cash, Benefit::AmountOff { off: y(f) })),
        (1u32..100, proptest::option::of(1i64..5_000)).prop_map(|(r, m)| (
            CouponKind::Percent,
            Benefit::Percent {
                rate: Decimal::new(i64::from(r), 2),
                max_off: m.map(y)
            }
        )),
        (0usize..3).prop_map(|s| (
            CouponKind::Exchange,
            Benefit::FreeItem {
                sku: ["a", "b", "c"][s].into()
            }
        )),
    ];
    (benefit, proptest::collection::vec(0usize..3, 0..2)).prop_map(
        move |((kind, benefit), skus)| {
            let mut t = template(&format!("t{i}"), kind, benefit);
            t.scope.skus = skus
                .into_iter()
                .map(|s| ["a", "b", "c"][s].to_string())
                .collect();
            t
        },
    )
}

proptest! {
    /// Whatever coupons, in whatever order: no line pays below zero, the
    /// coupons' amounts add up to what the lines lost, every amount is in
    /// whole fen, and the order presented changes nothing.
    #[test]
    fn never_negative_and_order_free(
        payables in proptest::collection::vec((0usize..3, 1i64..5, 0i64..50_000), 1..6),
        templates in (arb_template(0), arb_template(1), arb_template(2)),
        shuffle in any::<proptest::sample::Index>(),
    ) {
        let s1 = n("store-1");
        let lines: Vec<CouponLine<'static>> = payables
            .iter()
            .map(|(s, q, p)| line(["a", "b", "c"][*s], Decimal::from(*q), *p))
            .collect();
        let ts = [templates.0, templates.1, templates.2];
        let codes = ["A", "B", "C"];
        let presented: Vec<Presented<'_>> = ts.iter().zip(codes).map(|(t, c)| present(c, t)).collect();
        let mut turned = presented.clone();
        turned.rotate_left(shuffle.index(presented.len()));
        let a = stack(&lines, &presented, &cx(&s1));
        let b = stack(&lines, &turned, &cx(&s1));
        prop_assert_eq!(&a, &b);
        if let Ok(got) = a {
            let mut lost = Money::ZERO;
            for (l, off) in lines.iter().zip(&got.line_off) {
                prop_assert!(!off.is_negative() && *off <= l.payable);
                lost += *off;
            }
            prop_assert_eq!(got.total(), lost);
            for u in &got.uses {
                prop_assert_eq!(u.lines.iter().map(|l| l.1).sum::<Money>(), u.off);
                prop_assert_eq!(u.off, Money::from_fen(u.off.fen()));
            }
        }
    }
}
