//! Staff accounts in the simulator (issue 12): the staff scenario passes
//! every checker with edits made on both sides of its partitions and
//! logins claimed twice, reports the same bytes for the same seed, and a
//! store that applies staff edits in arrival order instead of by stamp is
//! caught.

mod common;

use tongka_sim::{Mutation, Options};

#[test]
fn staff_partition_passes_seeds_1_to_5() {
    let sc = common::scenario("staff_partition");
    let sum = tongka_sim::run_seeds(&sc, 1..6);
    assert!(sum.passed(), "{}", sum.to_text());
    let out = tongka_sim::run(&sc, 1);
    let text = out.to_text();
    let s = out.report.staff.as_ref().expect("staff figures");
    assert!(text.contains("staff accounts\n  accounts"), "{text}");
    assert!(text.contains("last_writer_wins held"), "{text}");
    // Every account HQ was asked for, every kind of edit, some made
    // while cut off, none refused (the workload makes valid edits).
    assert_eq!(s.created, 12, "{text}");
    assert!(s.edits.iter().all(|&k| k > 5), "{text}");
    assert!(s.edits_cut_off > 10, "{text}");
    assert!(s.refused.is_empty(), "{text}");
    // Concurrent writes of one field, settled by stamp.
    assert!(s.concurrent_fields > 0, "{text}");
    // Each clash made two accounts of one login: one of each pair is shut
    // out of it on every node.
    assert!(s.clash_created >= 2, "{text}");
    assert_eq!(s.login_conflicts * 2, s.clash_created, "{text}");
    assert_eq!(s.accounts_end, s.created + s.clash_created, "{text}");
}

#[test]
fn staff_report_is_the_same_for_the_same_seed() {
    let sc = common::scenario("staff_partition");
    let a = tongka_sim::run(&sc, 3);
    let b = tongka_sim::run(&sc, 3);
    assert!(a.violation.is_none(), "{}", a.to_text());
    assert_eq!(a.report.to_text(), b.report.to_text());
    assert_eq!(a.report.to_html(), b.report.to_html());
    assert!(a.report.to_html().contains("<h2>Staff accounts</h2>"));
    let c = tongka_sim::run(&sc, 4);
    assert_ne!(a.report.to_text(), c.report.to_text());
    // A scenario without staff shows no staff section.
    let small = tongka_sim::run(&common::scenario("small"), 1);
    assert!(small.report.staff.is_none());
    assert!(!small.report.to_text().contains("staff"));
    assert!(!small.report.to_text().contains("last_writer_wins"));
}

#[test]
fn staff_edits_in_arrival_order_are_caught() {
    // store-1 takes each staff field as it arrives, whatever its stamp:
    // of two concurrent password changes the one that arrived last stays
    // there, not the later stamp. The full sweeps find the value
    // last_writer_wins computes from the ops differ; where the values
    // came out alike but a field's stamp did not (an edit of two fields
    // restamped for one), the nodes' books differ at convergence, which
    // names the account.
    let sc = common::scenario("staff_partition");
    let mut by = std::collections::BTreeMap::new();
    for seed in 1..=6 {
        let out = tongka_sim::run_with(
            &sc,
            seed,
            &Options {
                mutation: Mutation::StaffLastArrivedWins,
                shrink: false,
            },
        );
        let Some(v) = out.violation else { continue };
        match v.invariant.as_str() {
            "last_writer_wins" => {
                assert_eq!(v.node.as_deref(), Some("store-1"), "{v}");
                assert!(v.detail.contains("the latest write is"), "{v}");
            }
            "convergence" => assert!(v.detail.contains("staff account"), "{v}"),
            _ => panic!("caught by another invariant: {v}"),
        }
        *by.entry(v.invariant).or_insert(0) += 1;
    }
    assert!(
        by.get("last_writer_wins").is_some_and(|&n| n >= 3),
        "StaffLastArrivedWins caught: {by:?} in 6 seeds"
    );
}

#[test]
fn a_staff_scenario_prints_as_toml_and_reads_back() {
    // A shrunk failing scenario is printed as TOML to run again.
    let sc = common::scenario("staff_partition");
    let again = tongka_sim::Scenario::parse(&sc.to_toml()).expect("reads back");
    assert_eq!(again, sc);
    // HQ creates the accounts: a chain without HQ is refused.
    let mut bad = sc.clone();
    bad.chain.hq = false;
    bad.faults.clear();
    let e = tongka_sim::Scenario::parse(&bad.to_toml()).unwrap_err();
    assert!(e.to_string().contains("staff needs chain.hq"), "{e}");
}
