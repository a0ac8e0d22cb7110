//! `tongka bench hq-scale`: an HQ node holding a chain's year — by default
//! 1,000,000 members and 10,000,000 orders — and how long its reports and
//! its dashboard take to answer (issue 13: each report within one second,
//! the dashboard within 200 ms).
//!
//! The database is made through the op path an HQ really takes: a fresh
//! chain (`tongka_config::chain_new`, HQ and `stores` stores, each with its
//! certificate and key), the HQ node opened as the binary opens it
//! (`tongka_node::open` on its configuration: role HQ), and the stores'
//! ops — decided by the core's rules, stamped and signed as each store
//! does (`hq_gen`) — handed to the HQ's engine in batches of 2,048 through
//! `Engine::apply_remote_encoded`, as replication hands over what it
//! receives, with at most 32,768 ops handed over and not yet durable (as
//! replication's window). The run fails unless every op is durable, none
//! is rejected, and the HQ's ledger counts exactly the members, orders,
//! recharges and refunds made.
//!
//! Then the real HTTP API (`tongka_api::serve`, role `hq`) serves that
//! database on 127.0.0.1, and each endpoint of [`ENDPOINTS`] is asked once
//! (the first answer, timed apart: nothing cached) and then `requests`
//! times in a row over one keep-alive connection: min, median, p99 and
//! max, against its target. An endpoint marked optional that this build
//! does not have (404) is shown as absent.
//!
//! What it needs: the database takes about 2 KB of disk per op (1.4–2.0 KB
//! measured), so the defaults (about 13 M ops) need some 20–25 GB free where
//! `data_dir` points, and one process holds the generator's member states
//! beside the HQ (2.7 GB resident at 100,000 members).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use hyper::{Method, StatusCode};
use tongka_core::day::Day;
use tongka_core::ids::NodeId;
use tongka_core::op::EncodedOp;

use crate::catchup::{mib, opt_load, opt_mib};
use crate::hq_gen::{ChainGen, GenStore, Made};
use crate::http::{Client, text};
use crate::{chain, sys};

/// The target for a report.
pub const TARGET_REPORT_MS: f64 = 1000.0;
/// The target for the dashboard.
pub const TARGET_DASHBOARD_MS: f64 = 200.0;

/// Ops handed to the engine at once (replication's `APPLY_BATCH`).
const BATCH: usize = 2048;
/// Ops handed over and not yet durable, at most (replication's window).
const WINDOW: u64 = 32_768;

/// The days a report is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// No range (the endpoint takes none, or covers every day).
    None,
    /// The `n` days up to today: `from` = today − (n − 1), `to` = today.
    Days(i32),
}

/// An endpoint the benchmark times.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub path: &'static str,
    pub span: Span,
    pub target_ms: f64,
    /// Absent from this build (404) is shown, not a failure.
    pub optional: bool,
}

const fn report(path: &'static str, span: Span) -> Endpoint {
    Endpoint {
        path,
        span,
        target_ms: TARGET_REPORT_MS,
        optional: false,
    }
}

/// What is timed: every report over 30 and 366 days of every store, the
/// ledger, the consistency report, the metrics and the dashboard. One line
/// per endpoint.
pub const ENDPOINTS: &[Endpoint] = &[
    report("/api/v1/reports/sales", Span::Days(30)),
    report("/api/v1/reports/sales", Span::Days(366)),
    report("/api/v1/reports/liability", Span::None),
    report("/api/v1/reports/points", Span::Days(30)),
    report("/api/v1/reports/points", Span::Days(366)),
    report("/api/v1/reports/members", Span::Days(30)),
    report("/api/v1/reports/members", Span::Days(366)),
    report("/api/v1/reports/rankings", Span::Days(30)),
    report("/api/v1/reports/rankings", Span::Days(366)),
    report("/api/v1/ledger/summary", Span::None),
    report("/api/v1/reports/rankings?by=members", Span::Days(366)),
    report("/api/v1/reports/rankings?by=products", Span::Days(366)),
    report("/api/v1/reports/coupons", Span::Days(366)),
    report("/api/v1/reports/cards", Span::Days(366)),
    report("/api/v1/settlement", Span::Days(366)),
    report("/api/v1/consistency", Span::None),
    // The deep check reads every member: timed, no target (it is the
    // check of the running sum `/consistency` answers from).
    Endpoint {
        path: "/api/v1/consistency?deep=true",
        span: Span::None,
        target_ms: f64::INFINITY,
        optional: false,
    },
    report("/api/v1/metrics", Span::None),
    Endpoint {
        path: "/api/v1/dashboard",
        span: Span::None,
        target_ms: TARGET_DASHBOARD_MS,
        optional: true,
    },
];

impl Endpoint {
    /// The request's path and query on `today`.
    pub fn uri(&self, today: Day) -> String {
        match self.span {
            Span::None => self.path.to_string(),
            Span::Days(n) => {
                let and = if self.path.contains('?') { '&' } else { '?' };
                format!("{}{and}from={}&to={today}", self.path, today.plus(1 - n))
            }
        }
    }

    fn label(&self) -> String {
        let path = self.path.trim_start_matches("/api/v1");
        match self.span {
            Span::None => path.to_string(),
            Span::Days(n) => format!("{path} {n} d"),
        }
    }
}

/// What `tongka bench hq-scale` runs.
#[derive(Debug, Clone)]
pub struct HqScaleOptions {
    pub members: usize,
    /// Sales (member and walk-in): the orders.
    pub orders: usize,
    /// Stores whose ops the HQ receives (`store-1 ..= store-N`).
    pub stores: u16,
    /// Timed requests per endpoint (after a first one, timed apart).
    pub requests: usize,
    /// Where the chain's files go (a fresh temporary folder is made inside
    /// it and removed afterwards); the system's temporary folder by default.
    pub data_dir: Option<PathBuf>,
    /// Print progress on stderr.
    pub progress: bool,
}

impl Default for HqScaleOptions {
    fn default() -> Self {
        HqScaleOptions {
            members: 1_000_000,
            orders: 10_000_000,
            stores: 5,
            requests: 20,
            data_dir: None,
            progress: true,
        }
    }
}

/// One endpoint's times, in milliseconds.
#[derive(Debug, Clone)]
pub struct Timing {
    pub first_ms: f64,
    pub min_ms: f64,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Size of the answer's body.
    pub bytes: usize,
}

/// One endpoint's line of the report.
#[derive(Debug, Clone)]
pub struct EndpointReport {
    pub endpoint: Endpoint,
    pub uri: String,
    /// `None`: this build has no such endpoint (404, optional).
    pub timing: Option<Timing>,
}

impl EndpointReport {
    /// p99 within the target (an absent endpoint meets nothing).
    pub fn meets_target(&self) -> bool {
        self.timing
            .as_ref()
            .is_some_and(|t| t.p99_ms <= self.endpoint.target_ms)
    }
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct HqScaleReport {
    pub stores: u16,
    pub made: Made,
    /// First and last chain day of the ops.
    pub days: (Day, Day),
    /// From the first op made until the last was durable at the HQ.
    pub generate_secs: f64,
    /// `made.ops / generate_secs`.
    pub ops_per_sec: f64,
    /// CPU time of the generator thread (deciding, encoding, signing the
    /// stores' ops): not the HQ's work, but on the same cores.
    pub generator_cpu_secs: Option<f64>,
    /// CPU time of the whole process per op, µs (generator included).
    pub cpu_us_per_op: Option<f64>,
    /// CPU time of the HQ's writer thread per op, µs.
    pub writer_cpu_us_per_op: Option<f64>,
    pub commits: u64,
    /// The database files (database and history index) after generation.
    pub db_bytes: u64,
    pub history_bytes: u64,
    pub rss_after: Option<u64>,
    pub rss_peak: Option<u64>,
    /// `Db::ledger_sides_deep` timed in process (median of 3, after one):
    /// the deep check of `/consistency?deep=true` that reads every
    /// member's wallet, so grows with the members (`/consistency` itself
    /// reads the running sum: O(1)).
    pub ledger_sides_ms: f64,
    pub requests: usize,
    pub endpoints: Vec<EndpointReport>,
    pub load_avg_start: Option<f64>,
    pub load_avg_end: Option<f64>,
}

impl HqScaleReport {
    /// Every endpoint present within its target.
    pub fn meets_target(&self) -> bool {
        self.endpoints
            .iter()
            .filter(|e| e.timing.is_some())
            .all(EndpointReport::meets_target)
    }
}

impl fmt::Display for HqScaleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.made;
        writeln!(
            f,
            "HQ scale benchmark: an HQ node fed {} stores' ops through Engine::apply_remote_encoded, then the HTTP API on 127.0.0.1",
            self.stores
        )?;
        writeln!(
            f,
            "  chain                 {} members, {} orders ({} paid from the balance, {} walk-in), {} recharges, {} refunds, {} share transfers; days {} to {}",
            m.members,
            m.sales,
            m.balance_sales,
            m.walk_in_sales,
            m.recharges,
            m.refunds,
            m.transfers,
            self.days.0,
            self.days.1
        )?;
        writeln!(
            f,
            "  generation            {} ops ({:.1} MiB signed, {:.0} B/op) durable at the HQ in {:.1} s: {:.0} ops/s; {} commits",
            m.ops,
            mib(m.bytes),
            m.bytes as f64 / m.ops.max(1) as f64,
            self.generate_secs,
            self.ops_per_sec,
            self.commits
        )?;
        if let Some(cpu) = self.cpu_us_per_op {
            write!(f, "  CPU per op            {cpu:.1} µs in all")?;
            if let Some(g) = self.generator_cpu_secs {
                write!(
                    f,
                    ", of which the generator {:.1} µs",
                    g * 1e6 / m.ops.max(1) as f64
                )?;
            }
            if let Some(w) = self.writer_cpu_us_per_op {
                write!(f, "; HQ writer thread {w:.1} µs")?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "  database              {:.1} MiB, of which history index {:.1} MiB ({:.0} B per op)",
            mib(self.db_bytes),
            mib(self.history_bytes),
            self.db_bytes as f64 / m.ops.max(1) as f64
        )?;
        writeln!(
            f,
            "  process memory        RSS {} after generation, peak {}",
            opt_mib(self.rss_after),
            opt_mib(self.rss_peak)
        )?;
        writeln!(
            f,
            "  member scan           Db::ledger_sides_deep (every member's wallet, /consistency?deep=true) {:.1} ms in process: {:.2} µs per member",
            self.ledger_sides_ms,
            self.ledger_sides_ms * 1e3 / m.members.max(1) as f64
        )?;
        writeln!(
            f,
            "  endpoints             first answer, then {} requests in a row: min / median / p99 / max ms (target: p99)",
            self.requests
        )?;
        for e in &self.endpoints {
            match &e.timing {
                Some(t) => writeln!(
                    f,
                    "    {:<38} first {:>8.1}   {:>8.1} {:>8.1} {:>8.1} {:>8.1}   {:>9} B   {}",
                    e.endpoint.label(),
                    t.first_ms,
                    t.min_ms,
                    t.median_ms,
                    t.p99_ms,
                    t.max_ms,
                    t.bytes,
                    if e.endpoint.target_ms.is_infinite() {
                        "a check: no target".to_string()
                    } else {
                        format!(
                            "≤ {:.0} ms: {}",
                            e.endpoint.target_ms,
                            if e.meets_target() { "met" } else { "NOT met" }
                        )
                    }
                )?,
                None => writeln!(
                    f,
                    "    {:<38} absent from this build (404)",
                    e.endpoint.label()
                )?,
            }
        }
        writeln!(
            f,
            "  machine load          {} at start, {} at the end (1-min load average; 2 shared cores)",
            opt_load(self.load_avg_start),
            opt_load(self.load_avg_end)
        )?;
        write!(
            f,
            "  target                each report ≤ {TARGET_REPORT_MS:.0} ms, the dashboard ≤ {TARGET_DASHBOARD_MS:.0} ms (p99): {}",
            if self.meets_target() {
                "met"
            } else {
                "NOT met"
            }
        )
    }
}

/// Nearest-rank quantile `q` of sorted `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
    v.get(rank - 1).copied().unwrap_or(0.0)
}

/// Ask `uri` once, then `n` times; `None` when it is absent and may be.
async fn time_endpoint(
    c: &mut Client,
    e: &Endpoint,
    uri: &str,
    n: usize,
) -> anyhow::Result<Option<Timing>> {
    let ask = async |c: &mut Client| -> anyhow::Result<Option<(f64, usize)>> {
        let t0 = Instant::now();
        let (status, body) = c.send(Method::GET, uri, None, None).await?;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        if status == StatusCode::NOT_FOUND && e.optional {
            return Ok(None);
        }
        anyhow::ensure!(
            status == StatusCode::OK,
            "GET {uri}: {status} {}",
            text(&body)
        );
        Ok(Some((ms, body.len())))
    };
    let Some((first_ms, bytes)) = ask(c).await? else {
        return Ok(None);
    };
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let (ms, _) = ask(c).await?.context("answered once, then 404")?;
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    Ok(Some(Timing {
        first_ms,
        min_ms: quantile(&times, 0.0),
        median_ms: quantile(&times, 0.5),
        p99_ms: quantile(&times, 0.99),
        max_ms: times.last().copied().unwrap_or(first_ms),
        bytes,
    }))
}

/// Run the benchmark and return its figures (print them with `Display`).
#[allow(clippy::float_arithmetic)]
pub async fn hq_scale(opts: HqScaleOptions) -> anyhow::Result<HqScaleReport> {
    anyhow::ensure!(
        (1..=1_000_000).contains(&opts.members),
        "members: 1 to 1,000,000 (phone numbers of a run)"
    );
    anyhow::ensure!(opts.orders >= 1, "orders must be at least 1");
    anyhow::ensure!((1..=99).contains(&opts.stores), "stores: 1 to 99");
    anyhow::ensure!(opts.requests >= 1, "requests must be at least 1");
    let dir = crate::bench_dir(opts.data_dir.as_deref(), "tongka-bench-hq-scale-")?;
    let chain_dir = dir.path().join("chain");
    tongka_config::chain_new(&tongka_config::ChainNewOptions {
        hq: true,
        ..tongka_config::ChainNewOptions::new(&chain_dir, opts.stores)
    })
    .with_context(|| format!("creating a chain in {}", chain_dir.display()))?;
    let manifest = tongka_config::ChainManifest::load(&chain_dir)?;
    let mut hq_config = None;
    let mut stores = Vec::new();
    for entry in &manifest.nodes {
        let config = tongka_config::NodeConfig::load(entry.config_path(&chain_dir))?;
        if config.node.role == tongka_config::Role::Hq {
            hq_config = Some(config);
            continue;
        }
        let tls = config.tls().context("a store's TLS files")?;
        let identity = tongka_net::Identity::load(&tls.ca_cert, &tls.cert, &tls.key)?;
        stores.push(GenStore {
            node: NodeId::new(entry.name.clone())?,
            signer: Box::new(tongka_replication::ChainSigner(
                tongka_net::OpKey::from_identity(&identity)?,
            )),
        });
    }
    let hq_config = hq_config.context("the chain has an HQ")?;
    let data_dir = hq_config.data_dir();
    let (db, engine) = tongka_node::open(&hq_config)?;

    // Generation: a thread makes the stores' ops; the HQ applies them.
    let run = crate::run_id();
    let (members, orders) = (opts.members as u64, opts.orders as u64);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<EncodedOp>>(4);
    let load_avg_start = sys::load_avg();
    let counters = sys::Counters::now();
    let (commits0, _) = db.stats();
    let t0 = Instant::now();
    let generator = std::thread::Builder::new()
        .name("hq-scale-gen".into())
        .spawn(
            move || -> anyhow::Result<(Made, Option<Duration>, (Day, Day))> {
                let mut g = ChainGen::new(stores, run, members, orders);
                let mut days: Option<(Day, Day)> = None;
                loop {
                    let batch = g.next_batch(BATCH)?;
                    if batch.is_empty() {
                        break;
                    }
                    let first = tongka_core::figures::day_of(&batch[0].op);
                    let last = tongka_core::figures::day_of(&batch[batch.len() - 1].op);
                    days = Some((days.map_or(first, |d| d.0), last));
                    if tx.blocking_send(batch).is_err() {
                        anyhow::bail!("the HQ stopped taking ops");
                    }
                }
                Ok((g.made, sys::this_thread_cpu(), days.context("no ops made")?))
            },
        )?;
    let mut handed = 0u64;
    let mut last_print = Instant::now();
    while let Some(batch) = rx.recv().await {
        handed += batch.len() as u64;
        engine
            .apply_remote_encoded(batch)
            .await
            .map_err(|e| anyhow::anyhow!("the HQ applying ops: {e}"))?;
        while handed.saturating_sub(db.summary().vv.total()) > WINDOW {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if opts.progress && last_print.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "hq-scale: {handed} ops handed to the HQ, {} durable ({:.0} s, {:.0} ops/s)",
                db.summary().vv.total(),
                t0.elapsed().as_secs_f64(),
                handed as f64 / t0.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
    }
    let (made, generator_cpu, days) = generator
        .join()
        .map_err(|_| anyhow::anyhow!("the generator panicked"))??;
    chain::wait_until(
        "the HQ holding every op made",
        Duration::from_secs(3600),
        Duration::from_millis(5),
        || {
            let held = db.summary().vv.total();
            (held >= made.ops, held)
        },
    )
    .await?;
    let elapsed = t0.elapsed();
    let usage = counters.until(&sys::Counters::now());
    let (commits1, _) = db.stats();
    let rejected = db.rejected(5)?;
    anyhow::ensure!(rejected.is_empty(), "the HQ rejected ops: {rejected:?}");
    let totals = db.summary().totals;
    anyhow::ensure!(
        totals.members == made.members
            && totals.orders == made.sales
            && totals.recharges == made.recharges
            && totals.refunds == made.refunds,
        "the HQ's ledger shows {} members, {} orders, {} recharges, {} refunds; made {made:?}",
        totals.members,
        totals.orders,
        totals.recharges,
        totals.refunds
    );
    let db_file = data_dir.join(tongka_node::DB_FILE);
    let history_bytes = chain::file_size(&tongka_db::history_path(&db_file));
    let db_bytes = chain::db_bytes(&data_dir);
    let rss_after = chain::own_memory().0;
    let ledger_sides_ms = {
        let mut times = Vec::with_capacity(3);
        for i in 0..4 {
            let t = Instant::now();
            db.ledger_sides_deep()?;
            if i > 0 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        quantile(&times, 0.5)
    };
    if opts.progress {
        eprintln!(
            "hq-scale: {} ops durable in {:.1} s; timing the endpoints",
            made.ops,
            elapsed.as_secs_f64()
        );
    }

    // The endpoints, over the real HTTP API.
    let token = format!(
        "bench-{}",
        blake3::hash(&run.to_le_bytes()).to_hex().as_str()
    );
    let server =
        crate::http::start_in_process_server_as(engine.clone(), token.clone(), "hq").await?;
    let timed = async {
        let mut c = Client::connect(&server.addr.to_string(), &token).await?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let today = Day::of_ms(now_ms);
        let mut out = Vec::with_capacity(ENDPOINTS.len());
        for e in ENDPOINTS {
            let uri = e.uri(today);
            let timing = time_endpoint(&mut c, e, &uri, opts.requests).await?;
            out.push(EndpointReport {
                endpoint: *e,
                uri,
                timing,
            });
        }
        Ok::<_, anyhow::Error>(out)
    }
    .await;
    server.stop().await;
    let load_avg_end = sys::load_avg();
    drop(engine);
    crate::actor::close(db).await?;
    let endpoints = timed?;
    let rss_peak = chain::own_memory().1;
    drop(dir);

    let secs = elapsed.as_secs_f64();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / made.ops.max(1) as f64;
    Ok(HqScaleReport {
        stores: opts.stores,
        made,
        days,
        generate_secs: secs,
        ops_per_sec: made.ops as f64 / secs.max(1e-9),
        generator_cpu_secs: generator_cpu.map(|d| d.as_secs_f64()),
        cpu_us_per_op: usage.cpu.map(per),
        writer_cpu_us_per_op: usage.writer.map(|(c, _)| per(c)),
        commits: commits1 - commits0,
        db_bytes,
        history_bytes,
        rss_after,
        rss_peak,
        ledger_sides_ms,
        requests: opts.requests,
        endpoints,
        load_avg_start,
        load_avg_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_cover_the_asked_days() {
        let today = Day::from_ymd(2026, 12, 6).unwrap();
        let e = report("/api/v1/reports/sales", Span::Days(366));
        assert_eq!(
            e.uri(today),
            "/api/v1/reports/sales?from=2025-12-06&to=2026-12-06"
        );
        assert_eq!(
            report("/api/v1/reports/sales", Span::Days(30)).uri(today),
            "/api/v1/reports/sales?from=2026-11-07&to=2026-12-06"
        );
        assert_eq!(
            report("/api/v1/consistency", Span::None).uri(today),
            "/api/v1/consistency"
        );
        let v = [5.0, 1.0, 3.0, 2.0, 4.0].map(|x: f64| x);
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        assert_eq!(quantile(&s, 0.5), 3.0);
        assert_eq!(quantile(&s, 0.99), 5.0);
        assert_eq!(quantile(&s, 0.0), 1.0);
    }

    /// The quick mode (`--members 1000 --orders 10000`) end to end: the
    /// HQ holds every op, and every endpoint answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hq_scale_bench_runs_end_to_end() {
        let report = hq_scale(HqScaleOptions {
            members: 1000,
            orders: 10_000,
            stores: 3,
            requests: 3,
            data_dir: None,
            progress: false,
        })
        .await
        .expect("benchmark runs");
        assert_eq!(report.made.members, 1000);
        assert_eq!(report.made.sales, 10_000);
        assert!(report.made.refunds > 0 && report.made.transfers > 0);
        assert!(report.db_bytes > 0);
        assert_eq!(report.endpoints.len(), ENDPOINTS.len());
        for e in &report.endpoints {
            if !e.endpoint.optional {
                let t = e.timing.as_ref().expect("a required endpoint answered");
                assert!(t.bytes > 0 && t.min_ms <= t.max_ms, "{e:?}");
            }
        }
        let text = report.to_string();
        assert!(text.contains("/reports/sales 366 d"), "{text}");
    }
}
