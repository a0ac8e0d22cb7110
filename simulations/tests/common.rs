//! Helpers shared by the integration tests.

#![allow(dead_code)]

use tongka_sim::Scenario;

pub fn scenario(name: &str) -> Scenario {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    tongka_sim::load_scenario(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A scenario made smaller for debug-build tests: fewer members and a
/// shorter day, faults after the new end dropped.
pub fn smaller(mut sc: Scenario, members: u32, hours: u64) -> Scenario {
    let end = hours * 3_600_000;
    sc.members.initial = sc.members.initial.min(members);
    if sc.time.duration.0 > end {
        sc.time.duration = tongka_sim::Dur(end);
        sc.faults.retain(|f| f.starts().0 < end);
    }
    sc
}
