//! Closes in the simulator (issue 13, 日结 / 交班): the closes scenario
//! passes every checker with closes made while the chain is split and a
//! store restarts, and a store whose closes leave refunds out is caught.

mod common;

use tongka_sim::{Mutation, Options};

#[test]
fn closes_partition_passes_seeds_1_to_3() {
    let sc = common::scenario("closes_partition");
    let sum = tongka_sim::run_seeds(&sc, 1..4);
    assert!(sum.passed(), "{}", sum.to_text());
    let out = tongka_sim::run(&sc, 1);
    let text = out.to_text();
    let c = out.report.closes.as_ref().expect("close figures");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().take(2).eq(["close_totals", "held"])),
        "{text}"
    );
    assert!(c.shifts > 10 && c.days > 0, "{text}");
    assert!(c.already_closed > 0, "{text}");
    assert!(c.over > 0 && c.short > 0, "{text}");
    // Every close made is checked at the end (a store's closes lost in its
    // crash were never made).
    assert!(c.checked > 0 && c.checked <= c.shifts + c.days, "{text}");
}

#[test]
fn a_close_leaving_refunds_out_is_caught() {
    let sc = common::scenario("closes_partition");
    let out = tongka_sim::run_with(
        &sc,
        1,
        &Options {
            mutation: Mutation::CloseDropsRefunds,
            ..Options::default()
        },
    );
    let v = out.violation.as_ref().expect("the mutation is caught");
    assert_eq!(v.invariant, "close_totals", "{}", out.to_text());
}
