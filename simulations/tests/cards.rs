//! Cards in the simulator (issue 11): the card scenario passes every
//! checker, serves visits at the member's home store while cut off,
//! reports the same bytes for the same seed, and a store that verifies a
//! count-card visit without holding a share of its visits is caught.

mod common;

use tongka_sim::{Mutation, Options};

#[test]
fn card_visits_passes_seeds_1_to_5() {
    let sc = common::scenario("card_visits");
    let sum = tongka_sim::run_seeds(&sc, 1..6);
    assert!(sum.passed(), "{}", sum.to_text());
    let out = tongka_sim::run(&sc, 1);
    let c = out.report.cards.as_ref().expect("card figures");
    let text = out.to_text();
    assert!(text.contains("cards\n  sold"), "{text}");
    // Both kinds sold and visited.
    assert!(c.sold_count > 20 && c.sold_period > 20, "{text}");
    assert!(c.made_count > 20 && c.made_period > 20, "{text}");
    // At home while cut off: served there, without asking anyone, every
    // visit the card's own rules allow (a period card's daily cap may
    // refuse one, at any store).
    let (local, attempted, allowed) = c.home_cut_local();
    assert!(attempted > 50, "{text}");
    assert!(local * 100 >= allowed * 99, "{text}");
    assert!(local * 100 >= attempted * 95, "{text}");
    // Away while cut off, a count card's visit is at home: declined.
    assert!(c.attempted[3] > 0, "{text}");
    assert!(c.declines.contains_key("card_held_elsewhere"), "{text}");
    // While connected, away visits asked the home store and got the visit.
    assert!(c.visit_asks > 0 && c.transfers > 0, "{text}");
    assert!(c.refunds > 0, "{text}");
    // The ledger counts every visit made, and every card sold.
    let t = out.report.totals.as_ref().expect("totals");
    assert_eq!(t.card_visits, c.made.iter().sum::<u64>() as i64, "{text}");
    assert_eq!(t.cards_sold, c.sold_count + c.sold_period, "{text}");
    assert_eq!(t.cards_refunded, c.cards_back, "{text}");
}

#[test]
fn card_report_is_the_same_for_the_same_seed() {
    let sc = common::smaller(common::scenario("card_visits"), 120, 6);
    let a = tongka_sim::run(&sc, 3);
    let b = tongka_sim::run(&sc, 3);
    assert!(a.violation.is_none(), "{}", a.to_text());
    assert_eq!(a.report.to_text(), b.report.to_text());
    assert_eq!(a.report.to_html(), b.report.to_html());
    assert!(a.report.to_html().contains("<h2>Cards</h2>"));
    let c = tongka_sim::run(&sc, 4);
    assert_ne!(a.report.to_text(), c.report.to_text());
}

#[test]
fn a_visit_without_a_share_here_is_caught_by_no_overdraft() {
    // store-1 verifies a count-card visit whose visits it holds none of,
    // as if it held one: every other node refuses the op (the core's
    // apply takes the visit from the origin's share).
    let sc = common::scenario("card_visits");
    for seed in 1..=5 {
        let out = tongka_sim::run_with(
            &sc,
            seed,
            &Options {
                mutation: Mutation::CardSkipsShareCheck,
                shrink: false,
            },
        );
        if let Some(v) = out.violation {
            assert_eq!(v.invariant, "no_overdraft", "{v}");
            assert!(v.detail.contains("card visit not held"), "{v}");
            return;
        }
    }
    panic!("CardSkipsShareCheck was not caught in 5 seeds");
}

#[test]
fn a_card_scenario_prints_as_toml_and_reads_back() {
    // A shrunk failing scenario is printed as TOML to run again.
    let sc = common::scenario("card_visits");
    let again = tongka_sim::Scenario::parse(&sc.to_toml()).expect("reads back");
    assert_eq!(again, sc);
    // A plan the core refuses is refused with its reason and field.
    let mut bad = sc.clone();
    bad.cards.as_mut().unwrap().plans[0].plan.kind = tongka_core::card::CardKind::Count {
        visits: 0,
        days: None,
    };
    let e = tongka_sim::Scenario::parse(&bad.to_toml()).unwrap_err();
    assert!(e.to_string().contains("cut10"), "{e}");
    assert!(e.to_string().contains("visits"), "{e}");
}

#[test]
fn a_refund_asks_for_the_visits_held_elsewhere_first() {
    // With asks that give up quickly, a transfer for an away visit may
    // arrive after the visit was declined: the visit stays at the away
    // store, and the card's refund at the seller must ask for it first.
    let mut sc = common::scenario("card_visits");
    sc.escrow.ask_timeout = tongka_sim::Dur(40);
    let c = sc.cards.as_mut().unwrap();
    c.refunds = tongka_sim::scenario::Num(rust_decimal::Decimal::new(3, 1));
    let mut after_ask = 0;
    for seed in 1..=3 {
        let out = tongka_sim::run(&sc, seed);
        assert!(out.violation.is_none(), "{}", out.to_text());
        let c = out.report.cards.as_ref().unwrap();
        assert!(c.refund_asks > 0, "{}", out.to_text());
        after_ask += c.refunds_after_ask;
    }
    assert!(after_ask > 0, "no refund was made after asking for visits");
}
