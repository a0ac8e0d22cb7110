//! Every (scenario, seed) in regressions.toml passes.

mod common;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    scenario: String,
    seed: u64,
    #[allow(dead_code)]
    note: String,
}

#[test]
fn every_regression_seed_passes() {
    let text = std::fs::read_to_string(format!("{}/regressions.toml", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    let file: File = toml::from_str(&text).unwrap();
    assert!(!file.case.is_empty());
    for c in &file.case {
        let sc = common::scenario(&c.scenario);
        let out = tongka_sim::run(&sc, c.seed);
        assert!(
            out.violation.is_none(),
            "{} seed {}:\n{}",
            c.scenario,
            c.seed,
            out.to_text()
        );
    }
}
