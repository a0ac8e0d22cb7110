//! `tongka bench memory`: resident memory of a node holding a million
//! members, and its start-up time.
//!
//! Setup (not timed against the target): a database made the way the node
//! makes one — `tongka_node::open` on the `tongka up` configuration, members
//! registered and recharged once each through the engine with many
//! concurrent requests, every one acknowledged after its durable commit —
//! then closed. Then the real `tongka` binary starts on it as a child
//! process (`tongka up --data-dir DIR --http 127.0.0.1:0`); the clock runs
//! until `DIR/http.addr` exists and `/api/v1/health` answers. Its `VmRSS`
//! and `VmHWM` are read from `/proc/<pid>/status` then, and again after
//! reading random members over HTTP and paying a number of sales.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use hyper::{Method, StatusCode};
use serde::Deserialize;
use tongka_config::NodeConfig;
use tongka_core::ids::MemberId;
use tongka_core::money::Money;

use crate::catchup::{mib, opt_load, opt_mib};
use crate::escrow::Latency;
use crate::http::{Client, text};
use crate::{actor, chain, micros, new_histogram, sys};

/// The issue's target for a node holding 1,000,000 members.
pub const TARGET_RSS_BYTES: u64 = 1 << 30;

/// What `tongka bench memory` runs.
#[derive(Debug, Clone)]
pub struct MemoryBenchOptions {
    /// Members in the database, each registered and recharged once.
    pub members: usize,
    /// Concurrent requests while making the database.
    pub setup_clients: usize,
    /// Random members read (`GET /api/v1/members/{id}`) after start-up.
    pub touches: usize,
    /// Balance sales (`POST /api/v1/checkouts`) of distinct random members
    /// after the reads.
    pub checkouts: usize,
    /// HTTP connections for the reads and sales.
    pub connections: usize,
    /// The `tongka` binary to start; found with [`find_tongka_binary`] when
    /// `None`.
    pub binary: Option<PathBuf>,
    /// Where the database goes (a fresh temporary folder is made inside it
    /// and removed afterwards); the system's temporary folder by default.
    pub data_dir: Option<PathBuf>,
    /// Print setup progress on stderr.
    pub progress: bool,
}

impl Default for MemoryBenchOptions {
    fn default() -> Self {
        MemoryBenchOptions {
            members: 1_000_000,
            setup_clients: 256,
            touches: 10_000,
            checkouts: 1000,
            connections: 8,
            binary: None,
            data_dir: None,
            progress: true,
        }
    }
}

/// The figures of one memory run.
#[derive(Debug, Clone)]
pub struct MemoryReport {
    pub members: u64,
    /// The binary that ran.
    pub binary: PathBuf,
    /// Making the database: registrations and recharges, 2 ops per member.
    pub setup_secs: f64,
    pub setup_ops_per_sec: f64,
    /// The database files (database and history index) when the node
    /// started.
    pub db_bytes: u64,
    /// Of which the history index (`tongka.history.redb`).
    pub history_bytes: u64,
    /// From spawning the binary until `http.addr` existed.
    pub addr_secs: f64,
    /// From spawning the binary until `/api/v1/health` answered.
    pub ready_secs: f64,
    /// Resident memory once ready.
    pub rss_ready: Option<u64>,
    pub hwm_ready: Option<u64>,
    /// After the reads and sales: resident now, and the peak so far.
    pub rss_end: Option<u64>,
    pub hwm_end: Option<u64>,
    pub touches: usize,
    pub checkouts: usize,
    pub get_latency: Latency,
    pub checkout_latency: Latency,
    /// Whether the node exited cleanly on SIGTERM at the end.
    pub clean_exit: bool,
    /// 1-minute load average when the binary was spawned, and at the end.
    pub load_avg_start: Option<f64>,
    pub load_avg_end: Option<f64>,
}

impl MemoryReport {
    /// Whether the peak resident memory stayed under the target.
    pub fn meets_target(&self) -> bool {
        self.hwm_end.is_some_and(|b| b < TARGET_RSS_BYTES)
    }
}

impl fmt::Display for MemoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "memory benchmark: `tongka up` on a database of {} members ({})",
            self.members,
            self.binary.display()
        )?;
        writeln!(
            f,
            "  database              {:.1} MiB, of which history index {:.1} MiB ({:.0} B per member; made in {:.1} s at {:.0} durable ops/s through the engine)",
            mib(self.db_bytes),
            mib(self.history_bytes),
            self.db_bytes as f64 / self.members.max(1) as f64,
            self.setup_secs,
            self.setup_ops_per_sec
        )?;
        writeln!(
            f,
            "  start-up              {:.3} s until http.addr, {:.3} s until /api/v1/health answered",
            self.addr_secs, self.ready_secs
        )?;
        writeln!(
            f,
            "  memory when ready     VmRSS {}, VmHWM {}",
            opt_mib(self.rss_ready),
            opt_mib(self.hwm_ready)
        )?;
        writeln!(
            f,
            "  after use             VmRSS {}, VmHWM {}  ({} random member reads, {} balance sales of distinct random members)",
            opt_mib(self.rss_end),
            opt_mib(self.hwm_end),
            self.touches,
            self.checkouts
        )?;
        writeln!(f, "  GET member ms         {}", self.get_latency)?;
        writeln!(f, "  checkout ms           {}", self.checkout_latency)?;
        writeln!(
            f,
            "  shutdown              {}",
            if self.clean_exit {
                "clean exit on SIGTERM"
            } else {
                "did NOT exit cleanly on SIGTERM"
            }
        )?;
        writeln!(
            f,
            "  machine load          {} at start-up, {} at the end (1-min load average; 2 shared cores)",
            opt_load(self.load_avg_start),
            opt_load(self.load_avg_end)
        )?;
        write!(
            f,
            "  target                peak RSS < {:.0} MiB: {}",
            mib(TARGET_RSS_BYTES),
            if self.meets_target() {
                "met"
            } else {
                "NOT met"
            }
        )
    }
}

/// The `tongka` binary: this executable if it is `tongka`; else a
/// `tongka` beside or up to two folders above it (`target/<profile>/tongka`
/// for an example or a test of this crate); else
/// `$CARGO_TARGET_DIR/{release,debug}/tongka` or the workspace's
/// `target/{release,debug}/tongka`.
pub fn find_tongka_binary() -> Option<PathBuf> {
    let name = format!("tongka{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().ok();
    if let Some(exe) = &exe {
        if exe.file_name().is_some_and(|n| n == name.as_str()) {
            return Some(exe.clone());
        }
        for dir in exe.ancestors().skip(1).take(3) {
            let c = dir.join(&name);
            if c.is_file() {
                return Some(c);
            }
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join(&name))
        .find(|c| c.is_file())
}

/// xorshift64*: random member picks without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// A child process killed when dropped (on any early return).
struct Guard(Option<Child>);

impl Guard {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child until taken")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Make the database in `node_dir`: `n` members, each registered and
/// recharged, through the engine on its own runtime, which is dropped with
/// every actor before returning, so nothing holds the file any more.
#[allow(clippy::float_arithmetic)]
fn make_database(
    node_dir: &Path,
    n: usize,
    clients: usize,
    progress: bool,
) -> anyhow::Result<Vec<MemberId>> {
    let mut config = NodeConfig::quick_start(
        node_dir.to_path_buf(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    );
    // Setup only: passivate idle accounts soon, so this process does not
    // hold a million actors.
    config.actors.idle_passivate_ms = 2000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (db, engine) = tongka_node::open(&config)?;
    let run = crate::run_id();
    let done = Arc::new(AtomicUsize::new(0));
    let result = rt.block_on(async {
        let reporter = progress.then(|| {
            let done = done.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                loop {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    let d = done.load(Ordering::Relaxed);
                    eprintln!(
                        "memory setup: {d} of {n} members registered and recharged ({:.0} s, {:.0} members/s)",
                        start.elapsed().as_secs_f64(),
                        d as f64 / start.elapsed().as_secs_f64()
                    );
                }
            })
        });
        let ids = actor::register_and_recharge(
            &engine,
            run,
            0..n,
            100,
            clients.max(1),
            Some(done.clone()),
        )
        .await;
        if let Some(r) = reporter {
            r.abort();
        }
        ids
    });
    let totals = db.summary().totals;
    drop(engine);
    db.close();
    drop(rt);
    let ids = result?;
    anyhow::ensure!(
        totals.members == n as u64 && totals.recharges == n as u64,
        "the database holds {} members and {} recharges, {n} of each were made",
        totals.members,
        totals.recharges
    );
    Ok(ids)
}

#[derive(Deserialize)]
struct MemberAnswer {
    id: String,
}

#[derive(Deserialize)]
struct OrderAnswer {
    payable: Money,
}

#[derive(Deserialize)]
struct LedgerAnswer {
    members: u64,
    recharges: u64,
    orders: u64,
}

/// Read `/proc/<pid>/status` memory of the child.
fn child_memory(pid: u32) -> (Option<u64>, Option<u64>) {
    sys::proc_memory(&format!("/proc/{pid}/status"))
}

/// The last lines of the node's log, for errors.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Run `requests` over `connections` keep-alive connections; `make(i)` is
/// the request `i`, `check` its answer. Latencies in µs.
async fn drive<M, C>(
    authority: &str,
    token: &str,
    connections: usize,
    requests: usize,
    make: M,
    check: C,
) -> anyhow::Result<Histogram<u64>>
where
    M: Fn(usize) -> (Method, String, Option<String>, Option<String>) + Send + Sync + 'static,
    C: Fn(usize, StatusCode, &[u8]) -> anyhow::Result<()> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let check = Arc::new(check);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let mut c = Client::connect(authority, token).await?;
        let (make, check, next) = (make.clone(), check.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = new_histogram();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, anyhow::Error>(h);
                }
                let (method, path, idem, body) = make(i);
                let t0 = Instant::now();
                let (status, bytes) = c.send(method, &path, idem.as_deref(), body).await?;
                h.saturating_record(micros(t0.elapsed()));
                check(i, status, &bytes)?;
            }
        }));
    }
    let mut all = new_histogram();
    for t in tasks {
        all.add(&t.await??).expect("same histogram bounds");
    }
    Ok(all)
}

/// Run the memory benchmark and return its figures (print them with
/// `Display`). Fails if the node does not start, any read or sale fails,
/// or its ledger disagrees with what was made.
#[allow(clippy::float_arithmetic)]
pub async fn memory(opts: MemoryBenchOptions) -> anyhow::Result<MemoryReport> {
    anyhow::ensure!(opts.members >= 1, "members must be at least 1");
    anyhow::ensure!(
        opts.members <= 1_000_000,
        "at most 1,000,000 members (phone numbers of a run)"
    );
    anyhow::ensure!(
        opts.checkouts <= opts.members,
        "checkouts go to distinct members: at most one per member"
    );
    let binary = match &opts.binary {
        Some(b) => b.clone(),
        None => find_tongka_binary().context(
            "no tongka binary found: build it (cargo build --release -p tongka) or pass its path",
        )?,
    };
    anyhow::ensure!(binary.is_file(), "{} is not a file", binary.display());
    let dir = crate::bench_dir(opts.data_dir.as_deref(), "tongka-bench-memory-")?;
    let node_dir = dir.path().join("node");

    let setup_start = Instant::now();
    let (n, clients, progress) = (opts.members, opts.setup_clients, opts.progress);
    let nd = node_dir.clone();
    let ids =
        tokio::task::spawn_blocking(move || make_database(&nd, n, clients, progress)).await??;
    let setup = setup_start.elapsed();
    let db_bytes = chain::db_bytes(&node_dir);
    let history_bytes = chain::file_size(&tongka_db::history_path(
        &node_dir.join(tongka_node::DB_FILE),
    ));
    if opts.progress {
        eprintln!(
            "memory setup: {n} members in {:.1} s, database {:.1} MiB; starting {}",
            setup.as_secs_f64(),
            mib(db_bytes),
            binary.display()
        );
    }

    // Timed: the real binary starts on the database.
    let log_path = dir.path().join("node.log");
    let log = std::fs::File::create(&log_path)?;
    let load_avg_start = sys::load_avg();
    let t0 = Instant::now();
    let mut child = Guard(Some(
        Command::new(&binary)
            .arg("up")
            .arg("--data-dir")
            .arg(&node_dir)
            .arg("--http")
            .arg("127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?,
    ));
    let pid = child.child().id();
    let addr_file = node_dir.join(tongka_node::ADDR_FILE);
    let limit = Duration::from_secs(300);
    let (addr, addr_secs) = loop {
        if let Some(status) = child.child().try_wait()? {
            anyhow::bail!(
                "the node exited with {status} before it was up:\n{}",
                log_tail(&log_path)
            );
        }
        if let Some(a) = std::fs::read_to_string(&addr_file)
            .ok()
            .and_then(|s| s.trim().parse::<SocketAddr>().ok())
        {
            break (a, t0.elapsed());
        }
        anyhow::ensure!(
            t0.elapsed() < limit,
            "no {} after {limit:?}:\n{}",
            addr_file.display(),
            log_tail(&log_path)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let authority = addr.to_string();
    let token = std::fs::read_to_string(node_dir.join("admin.token"))
        .context("reading the admin token")?
        .trim()
        .to_string();
    let ready_secs = loop {
        let ok = match Client::connect(&authority, &token).await {
            Ok(mut c) => matches!(
                c.send(Method::GET, "/api/v1/health", None, None).await,
                Ok((StatusCode::OK, _))
            ),
            Err(_) => false,
        };
        if ok {
            break t0.elapsed();
        }
        anyhow::ensure!(
            t0.elapsed() < limit,
            "/api/v1/health did not answer:\n{}",
            log_tail(&log_path)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let (rss_ready, hwm_ready) = child_memory(pid);

    // Random members read, then distinct random members pay.
    let ids = Arc::new(ids);
    let mut rng = Rng(crate::run_id() | 1);
    let reads: Arc<Vec<usize>> = Arc::new((0..opts.touches).map(|_| rng.below(n)).collect());
    let mut picked = std::collections::HashSet::new();
    let mut payers = Vec::with_capacity(opts.checkouts);
    while payers.len() < opts.checkouts {
        let i = rng.below(n);
        if picked.insert(i) {
            payers.push(i);
        }
    }
    let payers = Arc::new(payers);
    let (ids_r, ids_c) = (ids.clone(), ids.clone());
    let reads_c = reads.clone();
    let h_get = drive(
        &authority,
        &token,
        opts.connections,
        opts.touches,
        move |i| {
            let id = &ids_r[reads[i]];
            (Method::GET, format!("/api/v1/members/{id}"), None, None)
        },
        move |i, status, body| {
            let want = &ids[reads_c[i]];
            anyhow::ensure!(
                status == StatusCode::OK,
                "GET member {want}: {status} {}",
                text(body)
            );
            let m: MemberAnswer = serde_json::from_slice(body).context("member answer")?;
            anyhow::ensure!(m.id == want.as_str(), "asked for {want}, got {}", m.id);
            Ok(())
        },
    )
    .await?;
    let run = crate::run_id();
    let p = payers.clone();
    let h_co = drive(
        &authority,
        &token,
        opts.connections,
        opts.checkouts,
        move |i| {
            let member = &ids_c[p[i]];
            let body = format!(
                r#"{{"member_id":"{member}","lines":[{{"description":"咖啡","unit_price":"{}","qty":"1"}}],"tenders":[{{"kind":"balance"}}]}}"#,
                Money::from_fen(crate::PRICE_FEN)
            );
            (
                Method::POST,
                "/api/v1/checkouts".to_string(),
                Some(format!("bench-{run:x}-mem-co-{i}")),
                Some(body),
            )
        },
        |i, status, body| {
            anyhow::ensure!(
                status == StatusCode::CREATED,
                "checkout {i}: {status} {}",
                text(body)
            );
            let o: OrderAnswer = serde_json::from_slice(body).context("order answer")?;
            anyhow::ensure!(o.payable.is_positive(), "checkout {i}: nothing paid");
            Ok(())
        },
    )
    .await?;
    let (rss_end, hwm_end) = child_memory(pid);
    let load_avg_end = sys::load_avg();

    let mut c = Client::connect(&authority, &token).await?;
    let (status, body) = c
        .send(Method::GET, "/api/v1/ledger/summary", None, None)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "GET /api/v1/ledger/summary: {status} {}",
        text(&body)
    );
    let l: LedgerAnswer = serde_json::from_slice(&body).context("ledger summary")?;
    anyhow::ensure!(
        l.members == n as u64 && l.recharges == n as u64 && l.orders == opts.checkouts as u64,
        "the node's ledger shows {} members, {} recharges, {} orders; expected {n}, {n}, {}",
        l.members,
        l.recharges,
        l.orders,
        opts.checkouts
    );
    drop(c);

    // Stop it as an operator would.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let stop_start = Instant::now();
    let clean_exit = loop {
        if let Some(status) = child.child().try_wait()? {
            break status.success();
        }
        if stop_start.elapsed() > Duration::from_secs(30) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    drop(child);

    let report = MemoryReport {
        members: n as u64,
        binary,
        setup_secs: setup.as_secs_f64(),
        setup_ops_per_sec: 2.0 * n as f64 / setup.as_secs_f64().max(1e-9),
        db_bytes,
        history_bytes,
        addr_secs: addr_secs.as_secs_f64(),
        ready_secs: ready_secs.as_secs_f64(),
        rss_ready,
        hwm_ready,
        rss_end,
        hwm_end,
        touches: opts.touches,
        checkouts: opts.checkouts,
        get_latency: Latency::of(&h_get),
        checkout_latency: Latency::of(&h_co),
        clean_exit,
        load_avg_start,
        load_avg_end,
    };
    drop(dir);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_stay_in_range() {
        let mut r = Rng(12345);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let i = r.below(10);
            assert!(i < 10);
            seen.insert(i);
        }
        assert_eq!(seen.len(), 10);
    }

    /// Needs the `tongka` binary (`cargo build -p tongka`); says so and
    /// passes without it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_bench_runs_end_to_end() {
        let Some(binary) = find_tongka_binary() else {
            eprintln!("skipped: no tongka binary built (cargo build -p tongka)");
            return;
        };
        let report = memory(MemoryBenchOptions {
            members: 300,
            setup_clients: 16,
            touches: 200,
            checkouts: 50,
            connections: 4,
            binary: Some(binary),
            progress: false,
            ..Default::default()
        })
        .await
        .expect("benchmark runs");
        assert_eq!(report.members, 300);
        assert_eq!(report.get_latency.count, 200);
        assert_eq!(report.checkout_latency.count, 50);
        assert!(report.db_bytes > 0);
        assert!(report.addr_secs <= report.ready_secs);
        assert!(report.clean_exit);
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(report.rss_ready.is_some_and(|b| b > 0));
            assert!(report.hwm_end >= report.rss_ready);
        }
    }
}
