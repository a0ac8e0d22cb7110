//! The binary's arguments (the PostgreSQL run is `tests/it/pgload.rs`,
//! against a real server; this test also makes cargo build the binary it
//! runs).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tongka-pgload");

#[test]
fn help_names_every_option() {
    let out = Command::new(BIN).arg("--help").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--node",
        "--token-file",
        "--pg",
        "--source",
        "--limit",
        "--batch",
    ] {
        assert!(text.contains(opt), "{opt} in {text}");
    }
}

#[test]
fn without_a_token_it_says_what_to_give() {
    let out = Command::new(BIN)
        .args(["--node", "http://127.0.0.1:9", "--pg", "host=127.0.0.1"])
        .env_remove("TONGKA_TOKEN")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("--token-file"), "{text}");
}
