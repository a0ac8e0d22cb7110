//! tongka-bench: benchmarks that print figures (`tongka bench …`).
//!
//! `checkout` drives checkouts through a real node — either the actor layer
//! (`Engine` over a real `Store` on a fresh redb file) or the HTTP API — with
//! concurrent clients, and prints durable checkouts/s and latency
//! percentiles beside the raw rate of batched redb `Immediate` commits of
//! the same number of writes, measured in the same run.
//!
//! Every acknowledged checkout is durable (the store acknowledges a request
//! only after the `Durability::Immediate` commit holding it returned), so
//! the durable rate is acknowledged checkouts over wall time. The benchmark
//! fails (returns an error) unless every checkout succeeded and the ledger
//! shows exactly the orders and the money it sent: it never measures errors.
//!
//! `stock` runs plain checkouts and barcode checkouts of five stocked
//! lines (moving stock in the sale's commit) on one fresh node, in
//! alternating rounds, and prints both durable rates and their ratio.
//!
//! `import` imports a file of 100,000 members through the HTTP route of
//! one fresh store: dry run, import, the same file again.
//!
//! `catchup`, `escrow` and `memory` measure whole nodes: a store that
//! rejoins after missing half a million ops (two nodes replicating over
//! QUIC in process), a sale that needs an escrow transfer from a peer
//! (same), and the resident memory and start-up time of the real `tongka`
//! binary on a database of a million members (a child process).
//!
//! `hq-scale` feeds an HQ node a chain's year of store ops (a million
//! members and ten million orders by default) through the op path HQ
//! takes, then times its reports, consistency report, metrics and
//! dashboard over the real HTTP API.

// Benchmark figures (rates, milliseconds) are floating point; no money is.
#![allow(clippy::float_arithmetic)]

mod actor;
mod catchup;
mod chain;
mod escrow;
mod hq_gen;
mod hq_scale;
mod http;
mod import;
mod memory;
mod profiles;
mod raw;
mod stock;
mod sys;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use hdrhistogram::Histogram;

pub use catchup::{CatchupBenchOptions, CatchupReport, TARGET_CATCHUP_OPS_PER_SEC, catchup};
pub use escrow::{EscrowBenchOptions, EscrowReport, Latency, TARGET_ESCROW_P50_MS, escrow};
pub use hq_gen::Made;
pub use hq_scale::{
    ENDPOINTS, Endpoint, EndpointReport, HqScaleOptions, HqScaleReport, Span, TARGET_DASHBOARD_MS,
    TARGET_REPORT_MS, Timing, hq_scale,
};
pub use http::{InProcessServer, start_in_process_server, start_in_process_server_as};
pub use import::{ImportBenchOptions, ImportReport, TARGET_IMPORT_SECS, import};
pub use memory::{MemoryBenchOptions, MemoryReport, TARGET_RSS_BYTES, find_tongka_binary, memory};
pub use profiles::{ProfileBenchOptions, ProfileReport, profiles};
pub use stock::{STOCK_LINES, StockBenchOptions, StockReport, TARGET_STOCK_RATIO, stock};

/// The target for a 2-core machine.
pub const TARGET_CHECKOUTS_PER_SEC: f64 = 20_000.0;
/// The target for the 99th percentile latency.
pub const TARGET_P99_MS: f64 = 20.0;

/// The layer the benchmark's clients talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layer {
    /// `Engine::checkout` in process: actors, store, redb; no HTTP.
    #[default]
    Actor,
    /// `POST /api/v1/checkouts` over HTTP/1.1 keep-alive connections, one
    /// per client: in process on 127.0.0.1, or against `http_url`.
    Http,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Actor => "actor",
            Layer::Http => "http",
        })
    }
}

impl FromStr for Layer {
    type Err = String;
    fn from_str(s: &str) -> Result<Layer, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "actor" | "actors" | "engine" => Ok(Layer::Actor),
            "http" | "api" => Ok(Layer::Http),
            other => Err(format!("unknown layer {other:?}: expected actor or http")),
        }
    }
}

/// What `tongka bench checkout` runs.
#[derive(Debug, Clone)]
pub struct CheckoutBenchOptions {
    pub layer: Layer,
    /// Members registered (and recharged) before the timed part.
    pub members: usize,
    /// Concurrent clients, each with one request outstanding at a time.
    pub clients: usize,
    /// Checkouts in the timed part, spread round-robin over the members.
    pub checkouts: usize,
    /// Where the benchmark's redb files go (a fresh temporary folder is made
    /// inside it and removed afterwards); the system's temporary folder by
    /// default. Pick the file system you want measured.
    pub data_dir: Option<PathBuf>,
    /// With `Layer::Http`: a running node (`http://127.0.0.1:8080`) to
    /// benchmark instead of one started in process. It should be otherwise
    /// idle: the check compares its ledger before and after.
    pub http_url: Option<String>,
    /// The bearer token for `http_url`.
    pub token: Option<String>,
    /// Leave ops unsigned (a node without a chain identity). By default the
    /// node signs every op it makes with an Ed25519 chain key, on the
    /// writer, as a chain node does.
    pub unsigned: bool,
    /// Each checkout uses one coupon of its member (actor layer): a coupon
    /// of many uses issued to every member before the timed part, one use
    /// per sale, taken from this store's share in the sale's commit.
    pub coupon: bool,
}

impl Default for CheckoutBenchOptions {
    fn default() -> Self {
        CheckoutBenchOptions {
            layer: Layer::Actor,
            members: 1000,
            clients: 256,
            checkouts: 100_000,
            data_dir: None,
            http_url: None,
            token: None,
            unsigned: false,
            coupon: false,
        }
    }
}

/// The figures of one run of the checkout benchmark.
#[derive(Debug, Clone)]
pub struct CheckoutReport {
    pub layer: Layer,
    /// What was benchmarked: "in-process Engine", "in-process HTTP at …",
    /// or the external node's URL.
    pub target: String,
    pub members: usize,
    pub clients: usize,
    pub checkouts: usize,
    /// Checkouts acknowledged as committed (equals `checkouts`, or the run
    /// fails).
    pub succeeded: u64,
    /// Requests refused with `overloaded` and sent again (same idempotency
    /// key); their latency counts from the first attempt.
    pub overloaded_retries: u64,
    /// Wall time of the timed part.
    pub elapsed_secs: f64,
    /// Durable checkouts per second: acknowledged checkouts / wall time.
    pub checkouts_per_sec: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// redb commits during the timed part, when the node's store is visible
    /// (not for an external node).
    pub commits: Option<u64>,
    /// Requests folded into one commit on average (`requests / commits`).
    pub requests_per_commit: Option<f64>,
    /// Size of the encoded checkout op (the raw baseline writes values of
    /// this size).
    pub op_bytes: usize,
    /// Bytes of values the node writes per checkout across its tables (op,
    /// order, member, idempotency record), when the store is visible.
    pub node_value_bytes_per_checkout: Option<usize>,
    /// Raw baseline: writes, each one value of `op_bytes` bytes.
    pub raw_writes: u64,
    /// Raw baseline: writes per `Immediate` commit (the node's mean batch,
    /// rounded; `clients` when the node's batches are not visible).
    pub raw_batch: usize,
    pub raw_commits: u64,
    pub raw_elapsed_secs: f64,
    /// Raw baseline: writes per second.
    pub raw_commit_writes_per_sec: f64,
    /// `checkouts_per_sec / raw_commit_writes_per_sec`.
    pub ratio: f64,
    /// The machine's 1-minute load average when the run started: other
    /// processes on the machine share its cores and disk, and make the
    /// wall-clock figures above noisy. The figures below are steadier.
    pub load_avg_1m: Option<f64>,
    /// CPU time of the whole process (node and clients) per checkout, in
    /// µs, in the timed part; `None` against an external node.
    pub cpu_us_per_checkout: Option<f64>,
    /// CPU time of the store's writer thread per checkout, in µs: the one
    /// serial stage every checkout passes.
    pub writer_cpu_us_per_checkout: Option<f64>,
    /// Share of the wall time the writer thread spent on a CPU.
    pub writer_cpu_share: Option<f64>,
    /// Share of the wall time the writer thread was ready to run but
    /// waited for a CPU (other threads or processes had both cores). The
    /// rest of its time it waited for the disk (sync) or for work.
    pub writer_cpu_wait_share: Option<f64>,
    /// Bytes the node sent to storage per checkout (pages rewritten by each
    /// commit, and their sync).
    pub disk_bytes_per_checkout: Option<f64>,
    /// Same for the raw baseline, per write.
    pub raw_disk_bytes_per_write: Option<f64>,
    /// CPU time of the raw baseline per write, in µs.
    pub raw_cpu_us_per_write: Option<f64>,
}

impl CheckoutReport {
    /// Whether the run met the target (rate and p99).
    pub fn meets_target(&self) -> bool {
        self.checkouts_per_sec >= TARGET_CHECKOUTS_PER_SEC && self.p99_ms < TARGET_P99_MS
    }
}

impl fmt::Display for CheckoutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "checkout benchmark, {} layer: {}",
            self.layer, self.target
        )?;
        writeln!(
            f,
            "  {} checkouts by {} concurrent clients over {} members: {} succeeded, {} overloaded retries",
            self.checkouts, self.clients, self.members, self.succeeded, self.overloaded_retries
        )?;
        writeln!(
            f,
            "  durable checkouts/s   {:>10.0}   ({} in {:.2} s; each acknowledged after its Durability::Immediate commit)",
            self.checkouts_per_sec, self.succeeded, self.elapsed_secs
        )?;
        writeln!(
            f,
            "  latency ms            p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  mean {:.2}",
            self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms, self.mean_ms
        )?;
        match (self.commits, self.requests_per_commit) {
            (Some(c), Some(r)) => writeln!(
                f,
                "  group commit          {c} commits, {r:.1} requests per commit"
            )?,
            _ => writeln!(f, "  group commit          not visible (external node)")?,
        }
        match self.node_value_bytes_per_checkout {
            Some(b) => writeln!(
                f,
                "  bytes per checkout    op {} B; {} B of values in all tables",
                self.op_bytes, b
            )?,
            None => writeln!(
                f,
                "  bytes per checkout    op ~{} B (estimated)",
                self.op_bytes
            )?,
        }
        writeln!(
            f,
            "  raw redb baseline     {:>10.0} writes/s   ({} writes of {} B in {} Immediate commits of {}, {:.2} s)",
            self.raw_commit_writes_per_sec,
            self.raw_writes,
            self.op_bytes,
            self.raw_commits,
            self.raw_batch,
            self.raw_elapsed_secs
        )?;
        writeln!(
            f,
            "  ratio                 {:.3}  (durable checkouts/s ÷ raw redb writes/s)",
            self.ratio
        )?;
        if let Some(cpu) = self.cpu_us_per_checkout {
            write!(f, "  CPU per checkout      {cpu:.1} µs in all")?;
            if let (Some(w), Some(share), Some(wait)) = (
                self.writer_cpu_us_per_checkout,
                self.writer_cpu_share,
                self.writer_cpu_wait_share,
            ) {
                write!(
                    f,
                    "; store writer thread {w:.1} µs (of the wall time: {:.0}% on a CPU, {:.0}% waiting for one, {:.0}% for the disk or for work)",
                    share * 100.0,
                    wait * 100.0,
                    (100.0 - share * 100.0 - wait * 100.0).max(0.0)
                )?;
            }
            if let Some(r) = self.raw_cpu_us_per_write {
                write!(f, "; raw baseline {r:.1} µs per write")?;
            }
            writeln!(f)?;
        }
        if let Some(b) = self.disk_bytes_per_checkout {
            write!(f, "  disk writes           {b:.0} B per checkout")?;
            if let Some(r) = self.raw_disk_bytes_per_write {
                write!(f, "; raw baseline {r:.0} B per write")?;
            }
            writeln!(f)?;
        }
        if let Some(l) = self.load_avg_1m {
            writeln!(
                f,
                "  machine load          {l:.2} (1-min load average at start; other processes on the cores or disk make the rates above noisy)"
            )?;
        }
        write!(
            f,
            "  target                ≥ {:.0}/s and p99 < {:.0} ms: {}",
            TARGET_CHECKOUTS_PER_SEC,
            TARGET_P99_MS,
            if self.meets_target() {
                "met"
            } else {
                "NOT met"
            }
        )
    }
}

/// What a layer's timed part measured.
pub(crate) struct Timed {
    pub target: String,
    pub elapsed: Duration,
    /// Latencies in microseconds.
    pub hist: Histogram<u64>,
    pub succeeded: u64,
    pub retries: u64,
    pub commits: Option<(u64, u64)>,
    pub op_bytes: usize,
    pub node_value_bytes: Option<usize>,
    /// CPU and disk use of the timed part (in-process node only).
    pub usage: sys::Usage,
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 3 significant figures.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// An op's size when the node's store is not visible: what an encoded
/// checkout op with one free line measures in process.
pub(crate) const OP_BYTES_ESTIMATE: usize = 175;

/// Largest per-checkout price the benchmark sends (28.00 before the level
/// discount), in yuan: recharges cover this much per checkout.
pub(crate) const PRICE_FEN: i64 = 2800;

/// The recharge per member (yuan) that covers its share of the checkouts
/// even without a discount, and reaches the top level (4000).
pub(crate) fn recharge_yuan(opts: &CheckoutBenchOptions) -> i64 {
    let per_member = opts.checkouts.div_ceil(opts.members.max(1)) as u64;
    let need_yuan = (per_member * PRICE_FEN as u64).div_ceil(100);
    let thousands = need_yuan.div_ceil(1000) * 1000;
    i64::try_from(thousands).unwrap_or(i64::MAX).max(4000)
}

/// A run id that keeps idempotency keys and phone numbers of separate runs
/// apart (matters against an external node).
pub(crate) fn run_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// A phone number for member `i` of run `run`: 11 digits starting 13–19.
pub(crate) fn phone(run: u64, i: usize) -> String {
    // 9 free digits: run picks a block of 1,000,000 numbers.
    let block = (run % 1000) * 1_000_000;
    let second = 3 + (run / 1000) % 7;
    format!("1{second}{:09}", block + (i as u64 % 1_000_000))
}

/// A fresh temporary folder for a benchmark's files, inside `data_dir` if
/// given (created if missing), else in the system's temporary folder.
pub(crate) fn bench_dir(
    data_dir: Option<&std::path::Path>,
    prefix: &str,
) -> anyhow::Result<tempfile::TempDir> {
    Ok(match data_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::Builder::new().prefix(prefix).tempdir_in(d)?
        }
        None => tempfile::Builder::new().prefix(prefix).tempdir()?,
    })
}

/// Run the checkout benchmark and return its figures (print them with
/// `Display`). Fails if any checkout failed or the ledger disagrees.
/// The line comparing a run of checkouts each using a coupon with the
/// plain run of the same checkouts: both rates and their ratio.
pub fn coupon_ratio(plain: &CheckoutReport, coupon: &CheckoutReport) -> String {
    format!(
        "coupon / plain: {:.0} / {:.0} durable checkouts/s = {:.2}",
        coupon.checkouts_per_sec,
        plain.checkouts_per_sec,
        coupon.checkouts_per_sec / plain.checkouts_per_sec.max(1e-9)
    )
}

pub async fn checkout(opts: CheckoutBenchOptions) -> anyhow::Result<CheckoutReport> {
    anyhow::ensure!(opts.members >= 1, "members must be at least 1");
    anyhow::ensure!(opts.clients >= 1, "clients must be at least 1");
    anyhow::ensure!(opts.checkouts >= 1, "checkouts must be at least 1");
    anyhow::ensure!(
        opts.members <= 1_000_000,
        "at most 1,000,000 members (phone numbers of a run)"
    );
    anyhow::ensure!(
        opts.http_url.is_none() || opts.layer == Layer::Http,
        "--url needs the http layer"
    );
    anyhow::ensure!(
        !opts.coupon || opts.layer == Layer::Actor,
        "coupon checkouts are measured at the actor layer"
    );
    let dir = match &opts.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::Builder::new()
                .prefix("tongka-bench-")
                .tempdir_in(d)?
        }
        None => tempfile::Builder::new().prefix("tongka-bench-").tempdir()?,
    };
    let load_avg_1m = sys::load_avg();
    let timed = match opts.layer {
        Layer::Actor => actor::run(&opts, dir.path()).await?,
        Layer::Http => http::run(&opts, dir.path()).await?,
    };
    let raw_batch = match timed.commits {
        Some((c, r)) if c > 0 => (r as f64 / c as f64).round().max(1.0) as usize,
        _ => opts.clients.clamp(1, 4096),
    };
    let raw_path = dir.path().join("raw-baseline.redb");
    let raw_writes = opts.checkouts as u64;
    let value_bytes = timed.op_bytes;
    let raw = tokio::task::spawn_blocking(move || {
        raw::baseline(&raw_path, raw_writes, raw_batch, value_bytes)
    })
    .await??;
    let elapsed_secs = timed.elapsed.as_secs_f64();
    let n = timed.succeeded.max(1);
    let per = |x: f64, count: u64| x / count.max(1) as f64;
    let checkouts_per_sec = timed.succeeded as f64 / elapsed_secs.max(1e-9);
    let raw_rate = raw.writes as f64 / raw.elapsed.as_secs_f64().max(1e-9);
    let ms = |q: f64| timed.hist.value_at_quantile(q) as f64 / 1000.0;
    let report = CheckoutReport {
        layer: opts.layer,
        target: timed.target,
        members: opts.members,
        clients: opts.clients,
        checkouts: opts.checkouts,
        succeeded: timed.succeeded,
        overloaded_retries: timed.retries,
        elapsed_secs,
        checkouts_per_sec,
        p50_ms: ms(0.50),
        p90_ms: ms(0.90),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: timed.hist.max() as f64 / 1000.0,
        mean_ms: timed.hist.mean() / 1000.0,
        commits: timed.commits.map(|(c, _)| c),
        requests_per_commit: timed.commits.map(|(c, r)| r as f64 / (c.max(1)) as f64),
        op_bytes: timed.op_bytes,
        node_value_bytes_per_checkout: timed.node_value_bytes,
        raw_writes: raw.writes,
        raw_batch,
        raw_commits: raw.commits,
        raw_elapsed_secs: raw.elapsed.as_secs_f64(),
        raw_commit_writes_per_sec: raw_rate,
        ratio: checkouts_per_sec / raw_rate.max(1e-9),
        load_avg_1m,
        cpu_us_per_checkout: timed.usage.cpu.map(|c| per(c.as_secs_f64() * 1e6, n)),
        writer_cpu_us_per_checkout: timed
            .usage
            .writer
            .map(|(c, _)| per(c.as_secs_f64() * 1e6, n)),
        writer_cpu_share: timed
            .usage
            .writer
            .map(|(c, _)| c.as_secs_f64() / elapsed_secs.max(1e-9)),
        writer_cpu_wait_share: timed
            .usage
            .writer
            .map(|(_, w)| w.as_secs_f64() / elapsed_secs.max(1e-9)),
        disk_bytes_per_checkout: timed.usage.written.map(|b| per(b as f64, n)),
        raw_disk_bytes_per_write: raw.written.map(|b| per(b as f64, raw.writes)),
        raw_cpu_us_per_write: raw.cpu.map(|c| per(c.as_secs_f64() * 1e6, raw.writes)),
    };
    drop(dir);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_valid_and_distinct() {
        let run = run_id();
        let a = phone(run, 0);
        let b = phone(run, 999_999);
        assert_ne!(a, b);
        for p in [a, b, phone(0, 0), phone(u64::MAX, 123)] {
            tongka_core::member::validate_phone(&p).unwrap();
        }
    }

    #[test]
    fn recharges_cover_every_checkout() {
        let mut o = CheckoutBenchOptions::default();
        assert_eq!(recharge_yuan(&o), 4000);
        o.members = 3;
        o.checkouts = 1000;
        // 334 checkouts of at most 28.00 = 9352.00 → 10000.
        assert_eq!(recharge_yuan(&o), 10_000);
    }

    #[test]
    fn layer_parses() {
        assert_eq!("HTTP".parse::<Layer>().unwrap(), Layer::Http);
        assert_eq!("actor".parse::<Layer>().unwrap(), Layer::Actor);
        assert!("quic".parse::<Layer>().is_err());
    }
}
