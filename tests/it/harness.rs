//! Test harness: real `tongka` processes on fresh data directories, a small
//! HTTP client, and chromedriver for the browser tests. Readiness is
//! observed (the node writes `http.addr` once it listens and answers
//! `/health`), never assumed after a sleep.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_tongka");

/// How long a node may take to come up before a test fails.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Wait until `cond` holds, polling; panics with `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, cond: impl FnMut() -> bool) {
    assert!(
        try_wait_for(timeout, cond),
        "timed out after {timeout:?} waiting for {what}"
    );
}

/// Wait until `cond` holds, polling; false after `timeout`.
pub fn try_wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// A real node process.
pub struct Node {
    pub url: String,
    pub token: String,
    pub data_dir: PathBuf,
    args: Vec<String>,
    /// A command the node runs under, e.g. `ip netns exec NS` (which
    /// execs the node in place: the child's pid is the node's).
    wrap: Vec<String>,
    child: Option<Child>,
    agent: ureq::Agent,
    _tmp: Option<tempfile::TempDir>,
}

impl Node {
    /// `tongka up` on a fresh temporary data directory and a free port.
    pub fn up() -> Node {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data_dir = tmp.path().join("data");
        let args = vec![
            "up".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--http".into(),
            "127.0.0.1:0".into(),
        ];
        let mut n = Node {
            url: String::new(),
            token: String::new(),
            data_dir,
            args,
            wrap: Vec::new(),
            child: None,
            agent: agent(),
            _tmp: Some(tmp),
        };
        n.start();
        n
    }

    /// `tongka run --config FILE`; the data directory is read from the
    /// config's folder (`data`).
    pub fn run(config: &Path) -> Node {
        Node::run_under(config, &[])
    }

    /// `tongka run --config FILE` under `wrap` (e.g. `ip netns exec NS`).
    pub fn run_under(config: &Path, wrap: &[&str]) -> Node {
        let data_dir = config.parent().expect("config folder").join("data");
        let args = vec![
            "run".into(),
            "--config".into(),
            config.display().to_string(),
        ];
        let mut n = Node {
            url: String::new(),
            token: String::new(),
            data_dir,
            args,
            wrap: wrap.iter().map(|s| s.to_string()).collect(),
            child: None,
            agent: agent(),
            _tmp: None,
        };
        n.start();
        n
    }

    fn start(&mut self) {
        let addr_file = self.data_dir.join("http.addr");
        let _ = std::fs::remove_file(&addr_file);
        std::fs::create_dir_all(&self.data_dir).expect("data dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("node.log"))
            .expect("log file");
        let mut cmd = match self.wrap.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let child = cmd
            .args(&self.args)
            .env("TONGKA_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn tongka");
        self.child = Some(child);
        let mut exited = None;
        wait_for("the node to listen", START_TIMEOUT, || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                exited = Some(status);
                return true;
            }
            // The node writes the file in one write after creating it:
            // wait for the address, not just the file.
            std::fs::read_to_string(&addr_file)
                .is_ok_and(|a| a.trim().parse::<std::net::SocketAddr>().is_ok())
        });
        if let Some(status) = exited {
            let log = std::fs::read_to_string(self.data_dir.join("node.log")).unwrap_or_default();
            panic!("tongka exited with {status} before listening:\n{log}");
        }
        let addr = std::fs::read_to_string(&addr_file).expect("http.addr");
        self.url = format!("http://{}", addr.trim());
        self.token = std::fs::read_to_string(self.token_file())
            .expect("admin token")
            .trim()
            .to_string();
        let health = format!("{}/api/v1/health", self.url);
        let agent = self.agent.clone();
        let mut died = None;
        let ok = try_wait_for(START_TIMEOUT, || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                died = Some(status);
                return true;
            }
            agent.get(&health).call().is_ok_and(|r| r.status() == 200)
        });
        if !ok || died.is_some() {
            let log = std::fs::read_to_string(self.data_dir.join("node.log")).unwrap_or_default();
            panic!(
                "node at {} did not answer /health (exit: {died:?}):\n{log}",
                self.url
            );
        }
    }

    fn token_file(&self) -> PathBuf {
        let beside = self.data_dir.parent().map(|p| p.join("admin.token"));
        match beside {
            Some(p) if p.exists() && !self.data_dir.join("admin.token").exists() => p,
            _ => self.data_dir.join("admin.token"),
        }
    }

    /// The end of the node's log (for failure messages).
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data_dir.join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// SIGTERM, then wait (bounded) for the process to exit; its status.
    pub fn terminate(&mut self, bound: Duration) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        send_signal(c.id(), libc::SIGTERM);
        let mut status = None;
        let exited = try_wait_for(bound, || {
            status = c.try_wait().ok().flatten();
            status.is_some()
        });
        if !exited {
            let _ = c.kill();
            panic!(
                "the node did not exit within {bound:?} of SIGTERM:\n{}",
                self.log_tail()
            );
        }
        status.expect("exited")
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            send_signal(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.start();
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        idem: Option<&str>,
    ) -> (u16, Value) {
        let url = format!("{}/api/v1{}", self.url, path);
        let auth = format!("Bearer {}", self.token);
        let resp = match method {
            "GET" => self.agent.get(&url).header("Authorization", &auth).call(),
            _ => {
                let mut req = match method {
                    "POST" => self.agent.post(&url),
                    "PATCH" => self.agent.patch(&url),
                    "PUT" => self.agent.put(&url),
                    m => panic!("method {m}"),
                }
                .header("Authorization", &auth);
                if let Some(k) = idem {
                    req = req.header("Idempotency-Key", k);
                }
                req.send_json(body.cloned().unwrap_or(Value::Null))
            }
        };
        let mut resp = match resp {
            Ok(r) => r,
            Err(e) => panic!("{method} {path}: {e}\n{}", self.log_tail()),
        };
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, None)
    }

    pub fn post(&self, path: &str, body: Value, idem: Option<&str>) -> (u16, Value) {
        self.call("POST", path, Some(&body), idem)
    }

    pub fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PATCH", path, Some(&body), None)
    }

    pub fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PUT", path, Some(&body), None)
    }

    /// A raw request: any body bytes and headers, for malformed input.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let url = format!("{}/api/v1{}", self.url, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body.to_vec()).expect("request");
        let mut resp = self
            .agent
            .run(req)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Register a member and return its id.
    pub fn member(&self, phone: &str, name: &str) -> String {
        let (s, m) = self.post(
            "/members",
            serde_json::json!({"phone": phone, "name": name}),
            None,
        );
        assert_eq!(s, 201, "register {phone}: {m}");
        m["id"].as_str().expect("member id").to_string()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Send a signal with the `kill` command: the workspace forbids unsafe
/// code, and that is all `libc::kill` would add.
fn send_signal(pid: u32, sig: i32) {
    let status = Command::new("kill")
        .arg(format!("-{}", sig))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} {pid}");
}

/// chromedriver on a free port, killed on drop.
pub struct Chromedriver {
    pub url: String,
    child: Child,
}

pub fn chromedriver() -> Chromedriver {
    let bin = Path::new("/usr/bin/chromedriver");
    assert!(
        bin.exists() && Path::new("/usr/bin/chromium").exists(),
        "the browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver (.ci/run does)"
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        l.local_addr().expect("addr").port()
    };
    let child = Command::new(bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let status = format!("{url}/status");
    let a = agent();
    wait_for("chromedriver", START_TIMEOUT, || {
        a.get(&status).call().is_ok_and(|r| r.status() == 200)
    });
    Chromedriver { url, child }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chain of real nodes made by `tongka chain new`, each run from its own
/// config.
pub struct Chain {
    pub dir: PathBuf,
    pub nodes: Vec<Node>,
    _tmp: tempfile::TempDir,
}

/// A base port P such that P+1..=P+n (HTTP) and P+101..=P+100+n (QUIC) are
/// free now, for `chain new --base-port P`.
pub fn free_base_port(n: u16) -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    loop {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = 20_000 + (std::process::id() as u16 % 200) * 150 + (step % 40) * 300 % 30_000;
        let free = (1..=n).all(|i| {
            std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()
                && std::net::UdpSocket::bind(("127.0.0.1", base + 100 + i)).is_ok()
        });
        if free {
            return base;
        }
    }
}

impl Chain {
    /// A chain of nodes started by the caller from the configs in `dir`
    /// (inside `tmp`, removed on drop after the nodes are killed).
    pub fn from_nodes(tmp: tempfile::TempDir, dir: PathBuf, nodes: Vec<Node>) -> Chain {
        Chain {
            dir,
            nodes,
            _tmp: tmp,
        }
    }

    pub fn new(stores: u16) -> Chain {
        Chain::make(stores, false)
    }

    /// `stores` stores and HQ, last (`nodes[stores]`).
    pub fn with_hq(stores: u16) -> Chain {
        Chain::make(stores, true)
    }

    fn make(stores: u16, hq: bool) -> Chain {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("chain");
        let base = free_base_port(stores + u16::from(hq));
        let out = Command::new(BIN)
            .args([
                "chain",
                "new",
                "--dir",
                dir.to_str().unwrap(),
                "--stores",
                &stores.to_string(),
                "--base-port",
                &base.to_string(),
            ])
            .args(if hq { &["--hq"][..] } else { &[][..] })
            .output()
            .expect("chain new");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut nodes: Vec<Node> = (1..=stores)
            .map(|i| Node::run(&dir.join(format!("store-{i}/tongka.toml"))))
            .collect();
        if hq {
            nodes.push(Node::run(&dir.join("hq/tongka.toml")));
        }
        let chain = Chain {
            dir,
            nodes,
            _tmp: tmp,
        };
        chain.wait_connected();
        chain
    }

    /// `tongka chain add-store` and run the new store; it joins the running
    /// chain.
    pub fn add_store(&mut self, name: &str) {
        let out = Command::new(BIN)
            .args([
                "chain",
                "add-store",
                "--dir",
                self.dir.to_str().unwrap(),
                "--name",
                name,
            ])
            .output()
            .expect("add-store");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.nodes
            .push(Node::run(&self.dir.join(format!("{name}/tongka.toml"))));
    }

    /// Wait until every node sees every other connected.
    pub fn wait_connected(&self) {
        let n = self.nodes.len();
        let ok = try_wait_for(Duration::from_secs(30), || {
            self.nodes.iter().all(|node| {
                let (_, s) = node.get("/sync/status");
                s["peers"]
                    .as_array()
                    .is_some_and(|p| p.iter().filter(|x| x["connected"] == true).count() == n - 1)
            })
        });
        if !ok {
            panic!("peers did not all connect within 30 s:\n{}", self.report());
        }
    }

    /// Each node's sync status and the end of its log, for failure messages.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let (_, s) = node.get("/sync/status");
            let log = std::fs::read_to_string(node.data_dir.join("node.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            out.push_str(&format!(
                "{s}\n{}\n",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        out
    }

    /// Wait until the nodes at `idx` report one state hash and version
    /// vector; returns the hash.
    pub fn wait_converged(&self, idx: &[usize], bound: Duration) -> String {
        let mut hash = String::new();
        let ok = try_wait_for(bound, || {
            let states: Vec<Value> = idx
                .iter()
                .map(|&i| self.nodes[i].get("/sync/status").1)
                .collect();
            let same = states.windows(2).all(|w| {
                w[0]["state_hash"] == w[1]["state_hash"]
                    && w[0]["version_vector"] == w[1]["version_vector"]
            });
            hash = states[0]["state_hash"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            same
        });
        if !ok {
            panic!("no convergence within {bound:?}:\n{}", self.report());
        }
        hash
    }
}

impl Node {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }
}

/// Send a signal to a process (SIGSTOP, SIGCONT).
pub fn signal(pid: u32, sig: i32) {
    send_signal(pid, sig);
}
