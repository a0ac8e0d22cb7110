//! The command line: `chain new` makes a chain whose nodes run from their
//! configs; bad configs are refused with a clear message.

use std::process::Command;

use crate::harness::{BIN, Node};

#[test]
fn chain_new_then_run_each_node() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let out = Command::new(BIN)
        .args([
            "chain",
            "new",
            "--dir",
            dir.to_str().unwrap(),
            "--stores",
            "2",
            "--hq",
            "--base-port",
            "17100",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("chain.json")).unwrap()).unwrap();
    let nodes = manifest["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    for entry in nodes {
        let name = entry["name"].as_str().unwrap();
        let n = Node::run(&dir.join(entry["config"].as_str().unwrap()));
        let (s, h) = n.get("/health");
        assert_eq!(s, 200);
        assert_eq!(h["node"].as_str(), Some(name));
        assert_eq!(h["role"], entry["role"]);
        assert_eq!(n.url, format!("http://{}", entry["http"].as_str().unwrap()));
    }
    // Creating it again refuses and says why.
    let again = Command::new(BIN)
        .args([
            "chain",
            "new",
            "--dir",
            dir.to_str().unwrap(),
            "--stores",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("chain"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn bad_config_is_refused_with_the_field_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("tongka.toml");
    std::fs::write(&cfg, "[node]\nname = \"Store One\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("name"), "{err}");
    std::fs::write(&cfg, "[node]\nname = \"store-1\"\ncolour = \"red\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
}

#[test]
fn restart_keeps_data_and_token() {
    let mut n = Node::up();
    let id = n.member("13300000001", "周九");
    let token = n.token.clone();
    n.restart();
    assert_eq!(n.token, token);
    let (s, m) = n.get(&format!("/members/{id}"));
    assert_eq!((s, m["name"].as_str()), (200, Some("周九")));
    let id2 = n.member("13300000002", "吴十");
    assert_ne!(id, id2, "ids are never reused after a restart");
}

#[test]
fn sigterm_shuts_down_cleanly_and_keeps_data() {
    let mut n = Node::up();
    let id = n.member("13300000003", "郑十一");
    let (s, _) = n.post(
        &format!("/members/{id}/recharges"),
        serde_json::json!({"amount": "10", "tender": "cash"}),
        Some("r"),
    );
    assert_eq!(s, 201);
    let status = n.terminate(std::time::Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
    n.restart();
    let (_, w) = n.get(&format!("/members/{id}/wallet"));
    assert_eq!(w["balance"], "10.00");
}

#[test]
fn demo_runs_three_stores_and_hq_with_sample_data() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let base = crate::harness::free_base_port(4);
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--dir",
            dir.to_str().unwrap(),
            "--base-port",
            &base.to_string(),
        ])
        .env("TONGKA_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut consoles = Vec::new();
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        // `<node> console http://…/  admin token in <file>`: no token itself.
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            let file = line.split_once("admin token in ").expect("token file").1;
            assert!(!line.contains("#token="), "a token printed: {line}");
            consoles.push((
                url.trim_end_matches('/').to_string(),
                file.trim().to_string(),
            ));
        }
        if line.contains("Ctrl-C") {
            break;
        }
    }
    assert_eq!(consoles.len(), 4, "a console per node: {consoles:?}");
    let (url, token_file) = consoles
        .iter()
        .find(|(u, _)| u.ends_with(&format!(":{}", base + 4)))
        .expect("hq console")
        .clone();
    let token = std::fs::read_to_string(&token_file).unwrap();
    let token = token.trim();
    assert!(!printed.contains(token), "the token is printed: {printed}");
    let agent = crate::harness::agent();
    let get = |path: &str| -> serde_json::Value {
        let mut r = agent
            .get(&format!("{url}/api/v1{path}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        r.body_mut().read_json().unwrap()
    };
    // HQ sees every store's members once replication has caught up.
    crate::harness::wait_for(
        "HQ to see the sample members",
        std::time::Duration::from_secs(30),
        || get("/ledger/summary")["members"] == 12,
    );
    let h = get("/health");
    assert_eq!(h["role"], "hq");
    // HQ sells nothing.
    let mut r = agent
        .post(&format!("{url}/api/v1/checkouts"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Idempotency-Key", "k")
        .send_json(serde_json::json!({"lines": [{"sku": "coffee"}], "tenders": [{"kind": "cash"}]}))
        .unwrap();
    assert_eq!(r.status(), 403);
    let e: serde_json::Value = r.body_mut().read_json().unwrap();
    assert_eq!(e["error"]["code"], "hq_sells_nothing");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut status = None;
    crate::harness::wait_for(
        "the demo to exit",
        std::time::Duration::from_secs(15),
        || {
            status = child.try_wait().unwrap();
            status.is_some()
        },
    );
    assert!(status.unwrap().success());
}

/// Issue 12 ("files and logs"): the data directory is the owner's only
/// (0700, its files 0600, also those of a directory made before, 0755 with
/// a 0644 file), and `tongka up` prints where the admin token is, never
/// the token itself (stdout often ends up in a log).
#[cfg(unix)]
#[test]
fn files_are_private_and_the_token_is_not_printed() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("notes.txt"), "old").unwrap();
    std::fs::set_permissions(
        data.join("notes.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "up",
            "--data-dir",
            data.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ])
        .env("TONGKA_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut printed = String::new();
    // Kept open until the node has stopped: it may print as it stops.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("Ctrl-C") {
            break;
        }
    }
    let token_file = data.join("admin.token");
    assert!(
        printed.contains(&token_file.display().to_string()),
        "where the token is: {printed}"
    );
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(
        !printed.contains(token.trim()),
        "the token is printed: {printed}"
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for f in [
        "tongka.redb",
        "admin.token",
        "member-code.key",
        "notes.txt",
        "http.addr",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    drop(lines);
}
