//! A fixed set of seeds per example scenario passes every invariant.
//! chain20 and day20 run shrunk to stay quick in a debug build; their full
//! days are benchmarks (`--example bench`).

mod common;

fn all_pass(sc: &tongka_sim::Scenario, seeds: std::ops::Range<u64>) {
    let sum = tongka_sim::run_seeds(sc, seeds);
    assert!(sum.passed(), "{}", sum.to_text());
}

#[test]
fn small() {
    all_pass(&common::scenario("small"), 1..4);
}

#[test]
fn partition() {
    all_pass(&common::scenario("partition"), 1..4);
}

#[test]
fn flapping() {
    all_pass(&common::scenario("flapping"), 1..4);
}

#[test]
fn crashes() {
    all_pass(&common::scenario("crashes"), 1..4);
}

#[test]
fn redemptions() {
    let sc = common::scenario("redemptions");
    let sum = tongka_sim::run_seeds(&sc, 1..3);
    assert!(sum.passed(), "{}", sum.to_text());
    // Points were paid with, some by escrow of points shares, and a
    // partition declined some.
    let out = tongka_sim::run(&sc, 1);
    assert!(out.report.redemptions > 50, "{}", out.to_text());
    assert!(out.report.points_transfers > 0, "{}", out.to_text());
    assert!(out.report.redemptions_declined > 0, "{}", out.to_text());
    let t = out.report.totals.as_ref().expect("totals");
    assert_eq!(t.points_redeemed, out.report.points_redeemed);
}

#[test]
fn profiles() {
    all_pass(&common::scenario("profiles"), 1..4);
}

#[test]
fn chain20_shrunk() {
    let sc = common::smaller(common::scenario("chain20"), 400, 12);
    all_pass(&sc, 1..2);
}

#[test]
fn day20_shrunk() {
    // The throughput day (about 1.2 M ops) is a benchmark (`--example
    // bench`), never a debug-build test: here a few hundred members.
    let sc = common::smaller(common::scenario("day20"), 300, 2);
    all_pass(&sc, 1..2);
}

#[test]
fn every_example_scenario_parses() {
    let dir = format!("{}/scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let sc =
                tongka_sim::load_scenario(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            // And renders back to a scenario that parses to the same.
            let again = tongka_sim::Scenario::parse(&sc.to_toml()).unwrap();
            assert_eq!(again, sc, "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 5);
}

#[test]
fn unknown_fields_and_bad_values_are_refused() {
    let base = std::fs::read_to_string(format!(
        "{}/scenarios/small.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let typo = base.replace("[network]", "[network]\nlos = 0.1");
    assert!(tongka_sim::Scenario::parse(&typo).is_err());
    let bad = base.replace("other_store = 0.1", "other_store = 1.5");
    assert!(tongka_sim::Scenario::parse(&bad).is_err());
    let fault = format!(
        "{base}\n[[faults]]\nkind = \"crash\"\nnode = \"store-9\"\nat = \"1h\"\nrestart = \"2h\"\n"
    );
    assert!(tongka_sim::Scenario::parse(&fault).is_err());
    let fault = format!(
        "{base}\n[[faults]]\nkind = \"crash\"\nnode = \"store-1\"\nat = \"1h\"\nrestart = \"2h\"\nextra = 1\n"
    );
    assert!(tongka_sim::Scenario::parse(&fault).is_err());
}

#[test]
fn programme() {
    let sc = common::scenario("programme");
    all_pass(&sc, 1..4);
    // HQ did edit the programme (the edits replicate and converge: the
    // programme is part of the compared state hash).
    let out = tongka_sim::run(&sc, 1);
    assert!(out.report.programme_changes > 0, "{}", out.to_text());
}

#[test]
fn programme_changes_need_hq() {
    let base = std::fs::read_to_string(format!(
        "{}/scenarios/profiles.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let sc = base.replace(
        "profile_edits = 100.0",
        "profile_edits = 100.0\nprogramme_changes = 1.0",
    );
    assert!(tongka_sim::Scenario::parse(&sc).is_err());
}

#[test]
fn merges() {
    let sc = common::scenario("merges");
    all_pass(&sc, 1..4);
    // Operators did merge, and the absorbed members' money moved.
    let out = tongka_sim::run(&sc, 2);
    assert!(out.report.merges > 0, "{}", out.to_text());
    assert!(out.report.merge_moved.is_positive(), "{}", out.to_text());
    assert!(
        out.report.to_text().contains("member merges: "),
        "{}",
        out.to_text()
    );
}

#[test]
fn merges_is_a_probability() {
    let base = std::fs::read_to_string(format!(
        "{}/scenarios/merges.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(tongka_sim::Scenario::parse(&base).is_ok());
    let bad = base.replace("merges = 0.5", "merges = 1.5");
    assert_ne!(bad, base);
    assert!(tongka_sim::Scenario::parse(&bad).is_err());
}
