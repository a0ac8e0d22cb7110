//! Stock in the simulator (issue 14): the stock scenario passes every
//! checker with transfers in flight across a partition and a destination's
//! restart, reports the same bytes for the same seed, and a store that
//! does not refuse a second receive of a transfer is caught.

mod common;

use tongka_sim::{Mutation, Options};

#[test]
fn stock_partition_passes_seeds_1_to_5() {
    let sc = common::scenario("stock_partition");
    let sum = tongka_sim::run_seeds(&sc, 1..6);
    assert!(sum.passed(), "{}", sum.to_text());
    let out = tongka_sim::run(&sc, 1);
    let text = out.to_text();
    let s = out.report.stock.as_ref().expect("stock figures");
    assert!(text.contains("stock_conservation held"), "{text}");
    assert!(text.contains("transfer_once held"), "{text}");
    // Every kind of move happened.
    assert!(
        s.deliveries > 3 && s.returns > 0 && s.minimums > 0,
        "{text}"
    );
    assert!(s.sales > 100 && s.refunds > 0, "{text}");
    assert!(s.below_zero > 0, "sales below zero under allow: {text}");
    assert!(s.stocktakes > 0 && s.variances > 0, "{text}");
    // Transfers: received, some while cut off from the sender, one after
    // the destination's restart, some short; some still in transit at
    // the end (shipped near it), counted by conservation.
    assert!(s.shipped > 10 && s.received > 10, "{text}");
    assert!(s.received_cut_off > 0, "{text}");
    assert!(s.received_after_restart > 0, "{text}");
    assert!(s.received_short > 0, "{text}");
    assert!(s.end.values().any(|t| !t.in_transit.is_zero()), "{text}");
    // Refusals are the store's rules: a count under transfer, a second
    // scan of a delivery note.
    assert!(s.refused["stocktake_under_transfer"] > 0, "{text}");
    assert_eq!(
        s.refused.get("transfer_already_received").copied(),
        Some(s.again),
        "{text}"
    );
    for (sku, t) in &s.end {
        assert_eq!(t.on_hand + t.in_transit, t.expected(), "{sku}: {text}");
    }
    // Both units: whole pieces and measured kg to the gram.
    assert!(s.end["pork"].sold.scale() > 0, "{text}");
    assert!(s.end["rice-5kg"].sold.fract().is_zero(), "{text}");
}

#[test]
fn stock_report_is_the_same_for_the_same_seed() {
    let sc = common::scenario("stock_partition");
    let a = tongka_sim::run(&sc, 3);
    let b = tongka_sim::run(&sc, 3);
    assert!(a.violation.is_none(), "{}", a.to_text());
    assert_eq!(a.report.to_text(), b.report.to_text());
    assert_eq!(a.report.to_html(), b.report.to_html());
    assert!(a.report.to_html().contains("<h2>Stock</h2>"));
    let c = tongka_sim::run(&sc, 4);
    assert_ne!(a.report.to_text(), c.report.to_text());
    // A scenario without stock shows no stock section.
    let small = tongka_sim::run(&common::scenario("small"), 1);
    assert!(small.report.stock.is_none());
    assert!(!small.report.to_text().contains("stock_conservation"));
}

#[test]
fn a_second_receive_is_caught() {
    // store-1 takes the second scan of a delivery note as a first: it
    // decides a receive of a transfer it already received and applies its
    // moves again. transfer_once finds two receives of one transfer in
    // its ops right after it applies the second.
    let sc = common::scenario("stock_partition");
    let mut caught = 0;
    for seed in 1..=6 {
        let out = tongka_sim::run_with(
            &sc,
            seed,
            &Options {
                mutation: Mutation::ReceiveTwice,
                shrink: false,
            },
        );
        let Some(v) = out.violation else { continue };
        assert_eq!(v.invariant, "transfer_once", "{v}");
        assert_eq!(v.node.as_deref(), Some("store-1"), "{v}");
        assert!(v.detail.contains("received twice"), "{v}");
        caught += 1;
    }
    assert!(caught >= 3, "ReceiveTwice caught in {caught} of 6 seeds");
}

#[test]
fn a_stock_scenario_prints_as_toml_and_reads_back() {
    let sc = common::scenario("stock_partition");
    let again = tongka_sim::Scenario::parse(&sc.to_toml()).expect("reads back");
    assert_eq!(again, sc);
    let mut bad = sc.clone();
    bad.stock.as_mut().unwrap().skus.clear();
    let e = tongka_sim::Scenario::parse(&bad.to_toml()).unwrap_err();
    assert!(e.to_string().contains("stock.skus"), "{e}");
}
