//! Coupons in the simulator (issue 11): the campaign scenario passes every
//! checker, serves uses at the member's home store while cut off, reports
//! the same bytes for the same seed, and a store that uses a coupon
//! without holding a use is caught.

mod common;

use tongka_sim::coupons::IssueAt;
use tongka_sim::scenario::Num;
use tongka_sim::{Mutation, Options};

#[test]
fn coupon_campaign_passes_seeds_1_to_5() {
    let sc = common::scenario("coupon_campaign");
    let sum = tongka_sim::run_seeds(&sc, 1..6);
    assert!(sum.passed(), "{}", sum.to_text());
    let out = tongka_sim::run(&sc, 1);
    let c = out.report.coupons.as_ref().expect("coupon figures");
    let text = out.to_text();
    // Both campaigns reached every member (300 at the start, and the ones
    // registered by 05:30).
    assert!(c.campaign_issued >= 600, "{text}");
    // Coupons were used at home while cut off, almost all there.
    let (local, attempted) = c.home_cut_local();
    assert!(attempted > 20, "{text}");
    assert!(local * 100 >= attempted * 99, "{text}");
    // Elsewhere while cut off the use is held at home: declined.
    assert!(c.attempted[3] > 0 && c.local[3] == 0, "{text}");
    assert!(c.declines.contains_key("coupon_unavailable_here"), "{text}");
    // Uses were asked for and moved while connected, and refunds gave some
    // back.
    assert!(c.transfers > 0 && c.returned > 0, "{text}");
    let t = out.report.totals.as_ref().expect("totals");
    assert_eq!(t.coupon_uses, c.made.iter().sum::<u64>() as i64, "{text}");
    assert!(text.contains("coupons\n  issued"), "{text}");
}

#[test]
fn coupon_report_is_the_same_for_the_same_seed() {
    let sc = common::smaller(common::scenario("coupon_campaign"), 120, 6);
    let a = tongka_sim::run(&sc, 3);
    let b = tongka_sim::run(&sc, 3);
    assert!(a.violation.is_none(), "{}", a.to_text());
    assert_eq!(a.report.to_text(), b.report.to_text());
    assert_eq!(a.report.to_html(), b.report.to_html());
    let c = tongka_sim::run(&sc, 4);
    assert_ne!(a.report.to_text(), c.report.to_text());
}

#[test]
fn store_issues_are_held_and_used_where_issued() {
    // Coupons issued at the store the member walks into, no campaign.
    let mut sc = common::smaller(common::scenario("coupon_campaign"), 120, 6);
    let c = sc.coupons.as_mut().unwrap();
    c.issue_at = IssueAt::Store;
    c.campaigns.clear();
    c.issues = Num(rust_decimal::Decimal::from(10));
    let sum = tongka_sim::run_seeds(&sc, 1..3);
    assert!(sum.passed(), "{}", sum.to_text());
    let out = tongka_sim::run(&sc, 1);
    let st = out.report.coupons.as_ref().unwrap();
    assert!(
        st.issued > 200 && st.campaign_issued == 0,
        "{}",
        out.to_text()
    );
    assert!(st.made.iter().sum::<u64>() > 10, "{}", out.to_text());
}

#[test]
fn a_use_without_a_share_here_is_caught_by_no_overdraft() {
    // store-1 decides a sale with a coupon whose uses it does not hold, as
    // if it held one: every other node refuses the op (the core's apply
    // debits the origin's share of the coupon's uses).
    let sc = common::smaller(common::scenario("coupon_campaign"), 150, 4);
    for seed in 1..=5 {
        let out = tongka_sim::run_with(
            &sc,
            seed,
            &Options {
                mutation: Mutation::CouponSkipsShareCheck,
                shrink: false,
            },
        );
        if let Some(v) = out.violation {
            assert_eq!(v.invariant, "no_overdraft", "{v}");
            assert!(v.detail.contains("coupon"), "{v}");
            return;
        }
    }
    panic!("CouponSkipsShareCheck was not caught in 5 seeds");
}

#[test]
fn a_coupon_scenario_prints_as_toml_and_reads_back() {
    // A shrunk failing scenario is printed as TOML to run again.
    let sc = common::scenario("coupon_campaign");
    let again = tongka_sim::Scenario::parse(&sc.to_toml()).expect("reads back");
    assert_eq!(again, sc);
    // A template the core refuses is refused with its reason.
    let mut bad = sc.clone();
    bad.coupons.as_mut().unwrap().templates[0].uses = 0;
    let e = tongka_sim::Scenario::parse(&bad.to_toml()).unwrap_err();
    assert!(e.to_string().contains("cash10"), "{e}");
}

#[test]
fn a_per_member_limit_is_the_cores_rule_at_issue() {
    // cash10 with a limit of one: a second campaign of it issues nothing.
    let mut sc = common::smaller(common::scenario("coupon_campaign"), 120, 6);
    let c = sc.coupons.as_mut().unwrap();
    c.templates[0].per_member_limit = 1;
    let again = c.campaigns[0].clone();
    c.campaigns.push(again);
    let out = tongka_sim::run(&sc, 2);
    assert!(out.violation.is_none(), "{}", out.to_text());
    let figures = out.report.coupons.as_ref().expect("coupon figures");
    assert!(
        figures
            .issue_refused
            .get("coupon_limit_reached")
            .copied()
            .unwrap_or(0)
            > 0,
        "{}",
        out.to_text()
    );
}
