//! A real partition: every node of a chain made by `tongka chain new`
//! (3 stores + HQ) runs in its own network namespace, and store-1 is cut
//! off by taking its network link down (`ip link set … down`), then healed
//! by bringing it up. Needs root and iproute2 (`tests/run` installs it);
//! when namespaces cannot be made the test fails with the reason, unless
//! `TONGKA_SKIP_NETNS=1` opts out explicitly.
//!
//! Layout, with `t` a tag unique to the test run (0..=255):
//!
//! ```text
//!   namespace tk{t}-sw: bridge `sw`, ports c1..c4          (the chain's LAN)
//!   namespace tk{t}-{node}: `chain` 198.19.t.i/24 ── port c{i} of `sw`
//!                           `mgmt`  198.18.t.4i+2/30 ── tk{t}m{i} 198.18.t.4i+1 (root)
//! ```
//!
//! QUIC runs on the chain LAN only; each node's HTTP API listens on its
//! `mgmt` link, a point-to-point link to the root namespace where the test
//! runs, with no route beyond it, so nodes cannot reach each other that
//! way. The bridge lives in a namespace of its own: the root namespace may
//! filter bridged traffic (`bridge-nf-call-iptables`), a new one does not.
//! The partition takes store-1's port on the bridge down: store-1 loses its
//! peers but the test still talks to it. Namespaces and links are removed
//! on drop, also when the test fails.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{BIN, Chain, Node, try_wait_for, wait_for};

/// Set to `1` to skip this test where network namespaces cannot be made
/// (no root, no iproute2). Nothing else skips it.
pub const OPT_OUT: &str = "TONGKA_SKIP_NETNS";

/// How long the chain may take to converge after the heal. A node learns
/// that a peer is gone by the QUIC idle timeout (5 s); after the heal the
/// dialling side retries with back-off of at most 2 s, and the few ops of
/// this test take milliseconds. Observed: see the test's output.
const CONVERGE: Duration = Duration::from_secs(20);

/// How long a node may take to notice that its link is down (idle timeout
/// 5 s, plus margin for a loaded machine).
const NOTICE: Duration = Duration::from_secs(20);

/// `ip ARGS`: Ok, or the command line and what it printed.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| {
        format!("cannot run `ip` (Debian package iproute2; tests/run installs it): {e}")
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Held for writing while a test's links exist in the root namespace, and
/// for reading by every browser test (`console::with_browser`). Chromium
/// watches the machine's interfaces: a link or address added or removed
/// in the root namespace makes it abort every request in flight with
/// `net::ERR_NETWORK_CHANGED`, so a console page loading its modules then
/// never starts (seen in CI as a page stuck at `auth=starting` with part
/// of its modules loaded; reproduced by adding and removing a veth in a
/// loop beside the browser tests: 5 of 10 failed so).
pub static ROOT_LINKS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// The namespaces and links of one test run; removed on drop.
pub struct Net {
    tag: u8,
    /// Node names, in chain order (node `i` is `names[i - 1]`).
    names: Vec<String>,
    /// No browser runs while these links come, exist and go (declared last:
    /// released after `drop` removed them).
    _links: std::sync::RwLockWriteGuard<'static, ()>,
}

impl Net {
    /// Namespaces and links for `names`, under a tag no other run holds
    /// (the switch namespace `tk{t}-sw` is the lock).
    pub fn new(names: &[String]) -> Result<Net, String> {
        let start = std::process::id()
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
        let links = ROOT_LINKS.write().unwrap_or_else(|e| e.into_inner());
        for k in 0..256u32 {
            let tag = ((start + k) % 256) as u8;
            match ip(&["netns", "add", &format!("tk{tag}-sw")]) {
                Ok(()) => {
                    let net = Net {
                        tag,
                        names: names.to_vec(),
                        _links: links,
                    };
                    net.build()?;
                    return Ok(net);
                }
                Err(e) if e.contains("File exists") => continue,
                Err(e) => return Err(e),
            }
        }
        Err("all 256 tags are taken (stale tk*-sw namespaces? `ip netns list`)".into())
    }

    fn sw(&self) -> String {
        format!("tk{}-sw", self.tag)
    }

    /// The namespace of node `i` (1-based).
    pub fn ns(&self, i: usize) -> String {
        format!("tk{}-{}", self.tag, self.names[i - 1])
    }

    /// The address of node `i` on the chain LAN.
    fn chain_ip(&self, i: usize) -> String {
        format!("198.19.{}.{i}", self.tag)
    }

    /// The address of node `i` on its link to the root namespace.
    fn mgmt_ip(&self, i: usize) -> String {
        format!("198.18.{}.{}", self.tag, 4 * i + 2)
    }

    fn build(&self) -> Result<(), String> {
        let sw = self.sw();
        ip(&["-n", &sw, "link", "add", "name", "sw", "type", "bridge"])?;
        ip(&["-n", &sw, "link", "set", "sw", "up"])?;
        for i in 1..=self.names.len() {
            let ns = self.ns(i);
            let port = format!("c{i}");
            let root_end = format!("tk{}m{i}", self.tag);
            ip(&["netns", "add", &ns])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            // Chain LAN: a veth from the node's namespace to the bridge.
            ip(&[
                "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "chain", "netns",
                &ns,
            ])?;
            ip(&["-n", &sw, "link", "set", &port, "master", "sw", "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", self.chain_ip(i)),
                "dev",
                "chain",
            ])?;
            ip(&["-n", &ns, "link", "set", "chain", "up"])?;
            // Management: a point-to-point veth to the root namespace.
            ip(&[
                "link", "add", &root_end, "type", "veth", "peer", "name", "mgmt", "netns", &ns,
            ])?;
            ip(&[
                "addr",
                "add",
                &format!("198.18.{}.{}/30", self.tag, 4 * i + 1),
                "dev",
                &root_end,
            ])?;
            ip(&["link", "set", &root_end, "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/30", self.mgmt_ip(i)),
                "dev",
                "mgmt",
            ])?;
            ip(&["-n", &ns, "link", "set", "mgmt", "up"])?;
        }
        Ok(())
    }

    /// Take node `i`'s link to the chain LAN down (`false`) or up.
    pub fn link(&self, i: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.sw(), "link", "set", &format!("c{i}"), state])
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 1..=self.names.len() {
            let ns = self.ns(i);
            // Whatever still runs in the namespace is this run's (a node
            // whose `Node` was not dropped, e.g. after a panic in setup).
            if let Ok(out) = Command::new("ip").args(["netns", "pids", &ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = ip(&["link", "del", &format!("tk{}m{i}", self.tag)]);
            let _ = ip(&["netns", "del", &ns]);
        }
        // Last: the switch namespace is the run's lock on its tag.
        let _ = ip(&["netns", "del", &self.sw()]);
    }
}

/// A chain (`tongka chain new --stores N --hq`) whose nodes each run in
/// their own namespace. Fields drop in order: the nodes are killed before
/// their namespaces go.
pub struct NetChain {
    pub chain: Chain,
    pub net: Net,
}

impl NetChain {
    /// `None` when the test is opted out by `TONGKA_SKIP_NETNS=1`; panics
    /// with the reason when namespaces cannot be made.
    pub fn new(stores: u16) -> Option<NetChain> {
        if std::env::var(OPT_OUT).is_ok_and(|v| v == "1") {
            eprintln!("skipped: {OPT_OUT}=1 (no network namespaces)");
            return None;
        }
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("chain");
        let out = Command::new(BIN)
            .args(["chain", "new", "--dir", dir.to_str().unwrap()])
            .args(["--stores", &stores.to_string(), "--hq"])
            .output()
            .expect("chain new");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("chain.json")).unwrap())
                .unwrap();
        let entries = manifest["nodes"].as_array().unwrap().clone();
        let names: Vec<String> = entries
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect();
        let net = Net::new(&names).unwrap_or_else(|e| {
            panic!(
                "cannot make network namespaces for the partition test: {e}\n\
                 (needs root and iproute2; set {OPT_OUT}=1 to skip this test explicitly)"
            )
        });
        // Every loopback address of the manifest becomes the node's address
        // in its namespace: QUIC on the chain LAN, HTTP on the mgmt link.
        let port = |a: &Value| a.as_str().unwrap().rsplit_once(':').unwrap().1.to_string();
        let mut moves = Vec::new();
        for (k, n) in entries.iter().enumerate() {
            let i = k + 1;
            moves.push((
                format!("\"{}\"", n["http"].as_str().unwrap()),
                format!("\"{}:{}\"", net.mgmt_ip(i), port(&n["http"])),
            ));
            moves.push((
                format!("\"{}\"", n["quic"].as_str().unwrap()),
                format!("\"{}:{}\"", net.chain_ip(i), port(&n["quic"])),
            ));
        }
        let configs: Vec<PathBuf> = entries
            .iter()
            .map(|n| dir.join(n["config"].as_str().unwrap()))
            .collect();
        for c in &configs {
            let mut text = std::fs::read_to_string(c).unwrap();
            for (from, to) in &moves {
                text = text.replace(from, to);
            }
            assert!(!text.contains("127.0.0.1"), "{}: {text}", c.display());
            std::fs::write(c, text).unwrap();
        }
        let mut nodes = Vec::new();
        for (k, c) in configs.iter().enumerate() {
            let ns = net.ns(k + 1);
            nodes.push(Node::run_under(c, &["ip", "netns", "exec", &ns]));
        }
        let chain = Chain::from_nodes(tmp, dir, nodes);
        chain.wait_connected();
        Some(NetChain { chain, net })
    }
}

fn sale(member: &str, price: &str) -> Value {
    json!({"member_id": member, "lines": [{"description": "咖啡", "unit_price": price, "qty": "1"}], "tenders": [{"kind": "balance"}]})
}

fn fen(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("money string, got {v}"));
    let (y, f) = s.split_once('.').unwrap();
    y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
}

/// Whether `node` sees `peer` connected.
fn connected(node: &Node, peer: &str) -> bool {
    let (_, s) = node.get("/sync/status");
    s["peers"].as_array().is_some_and(|p| {
        p.iter()
            .any(|x| x["node"] == peer && x["connected"] == true)
    })
}

#[test]
fn partition_by_network_namespaces_link_down_and_up() {
    let Some(nc) = NetChain::new(3) else { return };
    let chain = &nc.chain;
    let [s1, s2, s3, hq] = [
        &chain.nodes[0],
        &chain.nodes[1],
        &chain.nodes[2],
        &chain.nodes[3],
    ];
    let all = [0, 1, 2, 3];

    // The member's home store is store-2 (registered there); the recharge
    // is made at store-1.
    let id = s2.member("13911112222", "隔离会员");
    wait_for("the member at store-1", Duration::from_secs(10), || {
        s1.get(&format!("/members/{id}")).0 == 200
    });
    let (s, _) = s1.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "1000", "tender": "cash"}),
        Some("r1"),
    );
    assert_eq!(s, 201);
    wait_for("the recharge at store-2", Duration::from_secs(10), || {
        s2.get(&format!("/members/{id}/wallet")).1["balance"] == "1100.00"
    });
    // Spend at store-2 what was recharged at store-1 (escrow transfer); the
    // pull-ahead at the member's home store then moves the rest of the
    // balance to store-2.
    let (s, o) = s2.post("/checkouts", sale(&id, "100.00"), Some("c1"));
    assert_eq!((s, o["payable"].as_str()), (201, Some("95.00")), "{o}");
    wait_for("the pull-ahead transfer", Duration::from_secs(10), || {
        s2.get(&format!("/members/{id}/wallet")).1["available_here"] == "1005.00"
    });
    // A second recharge at store-1 stays there: both sides hold a share.
    let (s, _) = s1.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "500", "tender": "wechat"}),
        Some("r2"),
    );
    assert_eq!(s, 201);
    chain.wait_converged(&all, CONVERGE);
    assert_eq!(
        s1.get(&format!("/members/{id}/wallet")).1["available_here"],
        "500.00"
    );

    // Partition: store-1's link to the chain LAN goes down.
    nc.net.link(1, false);
    let cut = Instant::now();
    let noticed = try_wait_for(NOTICE, || {
        !["store-2", "store-3", "hq"]
            .iter()
            .any(|p| connected(s1, p))
            && [s2, s3, hq].iter().all(|n| !connected(n, "store-1"))
    });
    assert!(
        noticed,
        "the link down was not noticed within {NOTICE:?}:\n{}",
        chain.report()
    );
    println!(
        "partition noticed on every node {:?} after the link went down",
        cut.elapsed()
    );
    for (n, peers) in [
        (s2, ["store-3", "hq"]),
        (s3, ["store-2", "hq"]),
        (hq, ["store-2", "store-3"]),
    ] {
        assert!(
            peers.iter().all(|p| connected(n, p)),
            "the other side stays connected:\n{}",
            chain.report()
        );
    }

    // Store-1 keeps serving within its share ...
    let (s, o) = s1.post("/checkouts", sale(&id, "100.00"), Some("p1"));
    assert_eq!((s, o["payable"].as_str()), (201, Some("95.00")), "{o}");
    // ... and declines beyond it: the rest of the balance is out of reach.
    let (s, e) = s1.post("/checkouts", sale(&id, "1000.00"), Some("p2"));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("insufficient_balance")),
        "{e}"
    );
    assert_eq!(e["error"]["available_here"], "405.00", "{e}");
    // Store-2 trades within its share and declines beyond the reachable
    // shares (its own 910; store-1's 405 is cut off).
    let (s, o) = s2.post("/checkouts", sale(&id, "100.00"), Some("p3"));
    assert_eq!((s, o["payable"].as_str()), (201, Some("95.00")), "{o}");
    let (s, e) = s2.post("/checkouts", sale(&id, "2000.00"), Some("p4"));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("insufficient_balance")),
        "{e}"
    );
    assert_eq!(e["error"]["available_here"], "910.00", "{e}");
    // Store-3 holds nothing, but store-2 is reachable and gives.
    let (s, o) = s3.post("/checkouts", sale(&id, "10.00"), Some("p5"));
    assert_eq!((s, o["payable"].as_str()), (201, Some("9.50")), "{o}");
    chain.wait_converged(&[1, 2, 3], CONVERGE);
    // Each side sees only its own sales: the partition is real.
    let (_, w1) = s1.get(&format!("/members/{id}/wallet"));
    assert_eq!(w1["balance"], "1410.00", "store-1: 1505 - 95");
    let (_, w3) = s3.get(&format!("/members/{id}/wallet"));
    assert_eq!(w3["balance"], "1400.50", "others: 1505 - 95 - 9.50");
    let held_by_s1: i64 = w3["shares"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["node"] == "store-1")
        .map(|x| fen(&x["principal"]) + fen(&x["bonus"]))
        .sum();
    assert_eq!(
        held_by_s1, 50_000,
        "store-1's share untouched as others see it"
    );

    // Heal: the link comes back up.
    nc.net.link(1, true);
    let healed = Instant::now();
    let hash = chain.wait_converged(&all, CONVERGE);
    println!(
        "converged {:?} after the link came back up (bound {CONVERGE:?}), state hash {hash}",
        healed.elapsed()
    );
    let ledgers: Vec<Value> = chain
        .nodes
        .iter()
        .map(|n| n.get("/ledger/summary").1)
        .collect();
    assert!(
        ledgers.windows(2).all(|w| w[0] == w[1]),
        "one ledger: {ledgers:?}"
    );
    let l = &ledgers[0];
    // Conservation to the fen: 1000 + 100 bonus + 500 recharged; 95 + 95 +
    // 95 + 9.50 spent.
    let outstanding = 160_000 - 29_450;
    assert_eq!(
        fen(&l["outstanding_principal"]) + fen(&l["outstanding_bonus"]),
        outstanding
    );
    assert_eq!(l["orders"], 4, "each sale once: {l}");
    for n in &chain.nodes {
        let (_, w) = n.get(&format!("/members/{id}/wallet"));
        assert_eq!(fen(&w["balance"]), outstanding, "{w}");
        let shares: i64 = w["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| fen(&s["principal"]) + fen(&s["bonus"]))
            .sum();
        assert_eq!(shares, outstanding, "shares add up to the balance: {w}");
    }
}
