//! HTTPS on the shop's LAN, end to end: `tongka chain new --https-host`,
//! then `tongka run` on a node's config. A client whose only trust root is
//! the chain CA (`ca.pem`, what a till imports) gets the console and
//! `/api/v1/health` over HTTPS; one with the usual public roots is refused;
//! plain HTTP gets no HTTP answer.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::harness::{BIN, free_base_port, wait_for};

/// Kills the node when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent_trusting(ca_pem: &[u8]) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let ca = Certificate::from_pem(ca_pem).expect("ca.pem is PEM");
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(vec![ca])))
                .build(),
        )
        .build()
        .into()
}

#[test]
fn a_chain_node_serves_https_under_the_chain_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let base = free_base_port(1);
    let out = Command::new(BIN)
        .args([
            "chain",
            "new",
            "--dir",
            dir.to_str().unwrap(),
            "--stores",
            "1",
        ])
        .args(["--base-port", &base.to_string()])
        .args(["--https-host", "10.9.8.7", "--https-host", "till-gw.lan"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = base + 1;
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains(&format!("https://127.0.0.1:{port}/")),
        "{printed}"
    );

    let node_dir = dir.join("store-1");
    let log = std::fs::File::create(tmp.path().join("node.log")).unwrap();
    let mut node = Killed(
        Command::new(BIN)
            .args(["run", "--config"])
            .arg(node_dir.join("tongka.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    // What the node prints once it serves: the console's URL is https://.
    // Read to its last line, and the pipe kept open to the end: a node
    // writing to a closed stdout would fail.
    let mut stdout = BufReader::new(node.0.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    for line in stdout.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("Ctrl-C") {
            break;
        }
    }
    assert!(
        printed.contains(&format!("console / 控制台:  https://127.0.0.1:{port}/")),
        "{printed}\n{}",
        std::fs::read_to_string(tmp.path().join("node.log")).unwrap_or_default()
    );

    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let till = agent_trusting(&ca);
    let health = format!("https://localhost:{port}/api/v1/health");
    wait_for("/api/v1/health over HTTPS", Duration::from_secs(30), || {
        till.get(&health).call().is_ok_and(|r| r.status() == 200)
    });
    let mut r = till.get(&health).call().unwrap();
    let body: serde_json::Value = r.body_mut().read_json().unwrap();
    assert_eq!(body["node"], "store-1");

    let mut r = till
        .get(&format!("https://127.0.0.1:{port}/"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers().get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(r.body_mut().read_to_string().unwrap().contains("<html"));

    // The usual public roots do not vouch for the chain's certificate.
    let public = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    let err = public.get(&health).call().unwrap_err();
    // (ureq passes rustls's verdict on as an I/O error.)
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = crate::harness::agent();
    assert!(
        plain
            .get(&format!("http://127.0.0.1:{port}/api/v1/health"))
            .call()
            .is_err()
    );
    // And the node still serves.
    assert_eq!(till.get(&health).call().unwrap().status(), 200);
    drop(node);
    drop(stdout);
}
