//! The checkers bite: deliberately broken drivers (`Mutation`) are caught,
//! each by the invariant meant for it, within a few seeds.

mod common;

use tongka_sim::scenario::Num;
use tongka_sim::{Dur, Fault, Mutation, Options, Scenario};

/// The first seed in 1..=5 whose run breaks an invariant, and which.
fn caught(sc: &Scenario, mutation: Mutation) -> (u64, String, String) {
    for seed in 1..=5 {
        let out = tongka_sim::run_with(
            sc,
            seed,
            &Options {
                mutation,
                shrink: false,
            },
        );
        if let Some(v) = out.violation {
            return (seed, v.invariant.clone(), v.to_string());
        }
    }
    panic!("{mutation:?} was not caught in 5 seeds");
}

#[test]
fn spend_beyond_the_share_is_caught_by_no_overdraft() {
    // store-1 sells beyond its share once members shop there while their
    // balance is held elsewhere.
    let sc = common::smaller(common::scenario("partition"), 150, 10);
    let (seed, inv, what) = caught(&sc, Mutation::SpendSkipsShareCheck);
    assert_eq!(inv, "no_overdraft", "seed {seed}: {what}");
}

#[test]
fn transfer_applied_twice_is_caught_by_at_most_once() {
    let sc = common::smaller(common::scenario("small"), 150, 6);
    let (seed, inv, what) = caught(&sc, Mutation::TransferAppliedTwice);
    assert_eq!(inv, "at_most_once", "seed {seed}: {what}");
}

#[test]
fn merge_dropping_a_field_is_caught_by_convergence() {
    let sc = common::scenario("profiles");
    let (seed, inv, what) = caught(&sc, Mutation::MergeDropsField);
    assert_eq!(inv, "convergence", "seed {seed}: {what}");
    assert!(what.contains("materialised state differs"), "{what}");
}

#[test]
fn applying_before_the_causal_past_is_caught_by_causality() {
    let sc = common::smaller(common::scenario("flapping"), 150, 6);
    let (seed, inv, what) = caught(&sc, Mutation::SkipCausalOrder);
    assert_eq!(inv, "causality", "seed {seed}: {what}");
}

#[test]
fn acknowledging_before_the_commit_is_caught_by_durability() {
    // store-1 is busy, commits its log in groups up to two seconds apart,
    // and crashes every ten minutes: a crash loses what was not committed
    // yet.
    let mut sc = common::smaller(common::scenario("crashes"), 1000, 3);
    sc.members.initial = 1000;
    sc.time.group_commit = Some(Dur(2_000));
    sc.workload.checkouts = Num(rust_decimal::Decimal::from(60));
    sc.faults.retain(|f| !matches!(f, Fault::Crash { .. }));
    for k in 1..18u64 {
        let at = k * 10 * 60_000;
        sc.faults.push(Fault::Crash {
            node: "store-1".into(),
            at: Dur(at),
            restart: Dur(at + 60_000),
        });
    }
    // Answered at the commit, every acknowledged op survives the crashes.
    for seed in 1..=1 {
        let out = tongka_sim::run_with(&sc, seed, &Options::default());
        assert!(out.violation.is_none(), "{}", out.to_text());
        assert!(out.report.ops_lost > 0, "crashes lost uncommitted ops");
    }
    let (seed, inv, what) = caught(&sc, Mutation::AckBeforeDurable);
    assert_eq!(inv, "durability", "seed {seed}: {what}");
}

#[test]
fn a_violation_is_reported_with_its_seed_and_shrunk() {
    let sc = common::smaller(common::scenario("small"), 150, 6);
    let out = tongka_sim::run_with(
        &sc,
        1,
        &Options {
            mutation: Mutation::TransferAppliedTwice,
            shrink: true,
        },
    );
    let v = out.violation.as_ref().expect("caught");
    let text = out.to_text();
    assert!(text.contains("VIOLATION (replay with --seed 1)"), "{text}");
    assert!(text.contains(&format!("step {}", v.step)), "{text}");
    let sh = out.shrunk.as_ref().expect("shrunk");
    assert_eq!(sh.violation.invariant, v.invariant);
    assert!(sh.steps <= out.report.steps);
    assert!(sh.scenario.members.initial <= sc.members.initial);
}

#[test]
fn a_node_ignoring_programme_changes_is_caught_by_convergence() {
    let sc = common::scenario("programme");
    let (seed, inv, what) = caught(&sc, Mutation::IgnoresProgramme);
    assert_eq!(inv, "convergence", "seed {seed}: {what}");
    assert!(what.contains("materialised state differs"), "{what}");
}

#[test]
fn a_merge_move_dropping_a_field_is_caught_by_conservation() {
    // store-1 credits survivors with other stores' share moves but drops
    // their principal: the survivor's wallet no longer adds up.
    let sc = common::scenario("merges");
    let (seed, inv, what) = caught(&sc, Mutation::MergeMoveDropsField);
    assert_eq!(inv, "conservation", "seed {seed}: {what}");
    assert!(what.contains("its ops say"), "{what}");
}

#[test]
fn redemption_beyond_the_points_share_is_caught_by_no_overdraft() {
    // Members shop around with points spread over stores: a store counting
    // every store's points as its own debits more than its share.
    let sc = common::smaller(common::scenario("redemptions"), 150, 10);
    let (seed, inv, what) = caught(&sc, Mutation::RedemptionSkipsPointsShare);
    assert_eq!(inv, "no_overdraft", "seed {seed}: {what}");
}

#[test]
fn futile_transfers_are_caught_by_no_futile_transfer() {
    // Members now and then ask to spend more than they hold: every such
    // spend is declined, and must move no share.
    let mut sc = common::smaller(common::scenario("small"), 150, 6);
    sc.workload.overspends = Num(rust_decimal::Decimal::new(3, 1));
    let honest = tongka_sim::run_with(&sc, 1, &Options::default());
    assert!(honest.violation.is_none(), "{}", honest.to_text());
    assert_eq!(honest.report.futile_transfers, 0);
    let short: u64 = honest
        .report
        .stores
        .iter()
        .filter_map(|s| s.declines.get("insufficient_balance"))
        .sum();
    assert!(short >= 5, "overspends declined: {short}");
    assert!(
        honest.to_text().contains("transfers per served spend: "),
        "{}",
        honest.to_text()
    );
    // store-1 asking anyway moves shares for spends it declines.
    let (seed, inv, what) = caught(&sc, Mutation::FutileTransfers);
    assert_eq!(inv, "no_futile_transfer", "seed {seed}: {what}");
}

#[test]
fn settlement_figures_dropping_the_bonus_are_caught() {
    // store-1 keeps its settlement figures of the transfers it applies
    // without their bonus: read from its figures, the settlement no longer
    // equals what the transfer ops moved (the default programme's bonus
    // rides on recharges of 1000.00 and more).
    let sc = common::smaller(common::scenario("partition"), 150, 10);
    let (seed, inv, what) = caught(&sc, Mutation::SettlementDropsBonus);
    assert_eq!(inv, "settlement", "seed {seed}: {what}");
    assert!(what.contains("by the ops"), "{what}");
}

#[test]
fn a_store_ignoring_idempotency_keys_is_caught_by_at_most_once() {
    // store-1 runs a client's retry as a new request: the machine's
    // idempotency verdict is the only thing that answers it once.
    let sc = common::smaller(common::scenario("small"), 150, 6);
    let (seed, inv, what) = caught(&sc, Mutation::IgnoresIdempotency);
    assert_eq!(inv, "at_most_once", "seed {seed}: {what}");
    assert!(what.contains("decided twice"), "{what}");
}

#[test]
fn figures_counting_a_transfer_twice_are_caught_by_figures() {
    // store-1 counts each share transfer twice in the figures the reports
    // read: at the next sweep its figures say a store owes members more
    // (or less) than their shares there hold.
    let sc = common::smaller(common::scenario("small"), 150, 6);
    let (seed, inv, what) = caught(&sc, Mutation::FiguresTransferTwice);
    assert_eq!(inv, "figures", "seed {seed}: {what}");
    assert!(what.contains("the figures say"), "{what}");
    assert!(what.contains("store-1"), "{what}");
}
