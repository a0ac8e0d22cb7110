//! Withdrawals and member imports in the simulator (issue 13): the
//! closes scenario, where stores also import members with opening
//! balances and ask HQ to withdraw what they are owed, passes every
//! checker while the chain is split and a store restarts; a store asking
//! more than it is owed, HQ deciding a withdrawal twice, and a store
//! registering a file's members again on a re-run, are caught.

mod common;

use tongka_sim::{Mutation, Options};

#[test]
fn withdrawals_and_imports_pass_seeds_1_to_3() {
    let sc = common::scenario("closes_partition");
    let sum = tongka_sim::run_seeds(&sc, 1..4);
    assert!(sum.passed(), "{}", sum.to_text());
    let out = tongka_sim::run(&sc, 1);
    let text = out.to_text();
    for inv in ["withdrawal_owed", "withdrawal_once", "import_once"] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().take(2).eq([inv, "held"])),
            "{inv}: {text}"
        );
    }
    let w = out.report.withdrawals.as_ref().expect("withdrawal figures");
    assert!(w.requested > 0 && w.refused_over > 0, "{text}");
    assert!(w.approved > 0 && w.rejected > 0, "{text}");
    assert!(w.decided_refused > 0, "{text}");
    assert!(w.checked >= w.requested, "{text}");
    let i = out.report.imports.as_ref().expect("import figures");
    assert!(i.files > 0 && i.reruns > 0 && i.replayed > 0, "{text}");
    assert!(i.away_spends > 0 && i.transfers > 0, "{text}");
    // Every member the workload imported, once, in the chain's ledger.
    let t = out.report.totals.as_ref().expect("totals");
    assert_eq!(t.imports, i.imported.members, "{text}");
    assert_eq!(t.imported_principal, i.imported.principal, "{text}");
    assert_eq!(t.imported_bonus, i.imported.bonus, "{text}");
    assert_eq!(t.imported_points, i.imported.points, "{text}");
}

fn caught(mutation: Mutation) -> (u64, tongka_sim::Violation) {
    let sc = common::scenario("closes_partition");
    for seed in 1..=3 {
        let out = tongka_sim::run_with(
            &sc,
            seed,
            &Options {
                mutation,
                ..Options::default()
            },
        );
        if let Some(v) = out.violation {
            return (seed, v);
        }
    }
    panic!("{mutation:?} was not caught in 3 seeds");
}

#[test]
fn a_withdrawal_beyond_what_is_owed_is_caught() {
    let (seed, v) = caught(Mutation::WithdrawalSkipsOwed);
    assert_eq!(v.invariant, "withdrawal_owed", "seed {seed}: {v}");
    assert_eq!(v.node.as_deref(), Some("store-1"), "seed {seed}: {v}");
}

#[test]
fn a_withdrawal_decided_twice_is_caught() {
    let (seed, v) = caught(Mutation::WithdrawalDecidedTwice);
    assert_eq!(v.invariant, "withdrawal_once", "seed {seed}: {v}");
    assert!(v.detail.contains("decided twice"), "seed {seed}: {v}");
}

#[test]
fn an_import_rerun_registering_again_is_caught() {
    let (seed, v) = caught(Mutation::ImportRerunRegisters);
    assert_eq!(v.invariant, "import_once", "seed {seed}: {v}");
    assert!(v.detail.contains("imported twice"), "seed {seed}: {v}");
}
