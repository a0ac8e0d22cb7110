//! `tongka bench catchup`: how fast a store that was away catches up.
//!
//! Two real nodes of a fresh chain (`store-1`, `store-2`) on loopback, each
//! started in this process with `tongka_node::start`: storage, engine,
//! replication over QUIC with mutual TLS. `store-1` is given `ops` valid ops
//! of a third store (`store-9`, never started): registrations with unique
//! phone numbers, recharges and balance sales of those members, made with
//! the core's own rules (`decide_recharge`, `checkout::checkout`) and fed
//! in log order through `Engine::apply_remote`, as replication hands them
//! over (setup, not timed). Then `store-2` starts empty, and the clock runs
//! from its start until its durable version vector equals `store-1`'s.
//! Both nodes must end with the same state digest and ledger totals, and
//! nothing may have been rejected.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rust_decimal::Decimal;
use tongka_core::checkout::{self, Buyer, CheckoutContext, LineInput, TenderInput, TenderKind};
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId, RechargeId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_core::programme::Programme;
use tongka_core::state::{MemberState, decide_recharge};

use crate::chain::{self, Node};
use crate::sys::{self, Counters};

/// The target on loopback.
pub const TARGET_CATCHUP_OPS_PER_SEC: f64 = 50_000.0;

/// The store whose ops `store-1` holds and `store-2` lacks.
const ORIGIN: &str = "store-9";

/// What `tongka bench catchup` runs.
#[derive(Debug, Clone)]
pub struct CatchupBenchOptions {
    /// Ops the rejoining store missed.
    pub ops: usize,
    /// The mix, per member: one registration, then this many recharges ...
    pub recharges_per_member: usize,
    /// ... and this many sales paid from the balance.
    pub sales_per_member: usize,
    /// Where the chain's files go (a fresh temporary folder is made inside
    /// it and removed afterwards); the system's temporary folder by default.
    pub data_dir: Option<PathBuf>,
    /// Print setup progress on stderr.
    pub progress: bool,
}

impl Default for CatchupBenchOptions {
    fn default() -> Self {
        CatchupBenchOptions {
            ops: 500_000,
            recharges_per_member: 1,
            sales_per_member: 2,
            data_dir: None,
            progress: true,
        }
    }
}

/// The figures of one catch-up run.
#[derive(Debug, Clone)]
pub struct CatchupReport {
    /// Ops `store-2` lacked and applied durably.
    pub ops: u64,
    pub members: u64,
    pub recharges: u64,
    pub sales: u64,
    /// Encoded size of those ops (the op log's payload, keys not counted).
    pub op_log_bytes: u64,
    /// Setup: `store-1` applying the ops one by one through
    /// `Engine::apply_remote` until durable (no network).
    pub setup_secs: f64,
    pub setup_ops_per_sec: f64,
    /// From `store-2`'s start until `tongka_node::start` returned.
    pub start_secs: f64,
    /// From `store-2`'s start until its first op was durable: start-up, the
    /// QUIC connection (`store-2` dials at once; `store-1` re-dials with
    /// back-off up to 2 s), and the first batch.
    pub first_op_secs: f64,
    /// From `store-2`'s start until it held everything `store-1` holds.
    pub elapsed_secs: f64,
    /// `ops / elapsed_secs`: the figure the target is about.
    pub ops_per_sec: f64,
    /// `ops / (elapsed_secs - first_op_secs)`: once ops flow.
    pub streaming_ops_per_sec: f64,
    /// Between 10% and 90% of the ops held.
    pub middle_ops_per_sec: f64,
    /// `store-2`'s group commits during the catch-up.
    pub commits: u64,
    pub ops_per_commit: f64,
    /// CPU time of this process (both nodes) per op caught up, in µs.
    pub cpu_us_per_op: Option<f64>,
    /// CPU time of the store writer threads (both nodes; `store-1`'s is
    /// idle) per op, in µs, and their share of the wall time waiting for a
    /// CPU.
    pub writer_cpu_us_per_op: Option<f64>,
    pub writer_cpu_wait_share: Option<f64>,
    /// Bytes this process sent to storage per op during the catch-up.
    pub disk_bytes_per_op: Option<f64>,
    /// Database files at the end (database and history index).
    pub store1_db_bytes: u64,
    pub store2_db_bytes: u64,
    /// Resident memory of this process (both nodes) before `store-2`
    /// started and after it caught up, and the peak.
    pub rss_before: Option<u64>,
    pub rss_after: Option<u64>,
    pub rss_peak: Option<u64>,
    /// Account actors alive at `store-2` when it had caught up (each remote
    /// registration starts one; idle ones stop after `idle_passivate_ms`).
    pub actors_alive: usize,
    /// The state digest both nodes reported at the end (equal, or the run
    /// fails).
    pub digest: String,
    /// 1-minute load average when the timed part started and ended.
    pub load_avg_start: Option<f64>,
    pub load_avg_end: Option<f64>,
}

impl CatchupReport {
    pub fn meets_target(&self) -> bool {
        self.ops_per_sec >= TARGET_CATCHUP_OPS_PER_SEC
    }
}

pub(crate) fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

pub(crate) fn opt_mib(b: Option<u64>) -> String {
    b.map_or_else(|| "?".into(), |b| format!("{:.0} MiB", mib(b)))
}

pub(crate) fn opt_load(l: Option<f64>) -> String {
    l.map_or_else(|| "?".into(), |l| format!("{l:.2}"))
}

impl fmt::Display for CatchupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "catch-up benchmark: store-2 starts empty and catches up from store-1 over QUIC (loopback, mutual TLS; both nodes in this process)"
        )?;
        writeln!(
            f,
            "  ops missed            {} of {ORIGIN}: {} registrations, {} recharges, {} balance sales; {:.1} MiB encoded ({:.0} B/op)",
            self.ops,
            self.members,
            self.recharges,
            self.sales,
            mib(self.op_log_bytes),
            self.op_log_bytes as f64 / self.ops.max(1) as f64
        )?;
        writeln!(
            f,
            "  durable ops/s         {:>10.0}   ({} ops in {:.2} s from store-2's start until its version vector equals store-1's)",
            self.ops_per_sec, self.ops, self.elapsed_secs
        )?;
        writeln!(
            f,
            "  phases                start {:.3} s; first op durable at {:.3} s; then {:.0} ops/s; 10%→90% of the ops at {:.0} ops/s",
            self.start_secs,
            self.first_op_secs,
            self.streaming_ops_per_sec,
            self.middle_ops_per_sec
        )?;
        writeln!(
            f,
            "  group commit          {} commits at store-2, {:.0} ops per commit",
            self.commits, self.ops_per_commit
        )?;
        if let Some(cpu) = self.cpu_us_per_op {
            write!(
                f,
                "  CPU per op            {cpu:.1} µs (this process: both nodes)"
            )?;
            if let (Some(w), Some(wait)) = (self.writer_cpu_us_per_op, self.writer_cpu_wait_share) {
                write!(
                    f,
                    "; writer threads {w:.1} µs, waiting for a CPU {:.0}% of the wall time",
                    wait * 100.0
                )?;
            }
            writeln!(f)?;
        }
        if let Some(d) = self.disk_bytes_per_op {
            writeln!(f, "  disk writes           {d:.0} B per op")?;
        }
        writeln!(
            f,
            "  database files        store-1 {:.1} MiB, store-2 {:.1} MiB",
            mib(self.store1_db_bytes),
            mib(self.store2_db_bytes)
        )?;
        writeln!(
            f,
            "  process memory        RSS {} before store-2 started, {} after; peak {}",
            opt_mib(self.rss_before),
            opt_mib(self.rss_after),
            opt_mib(self.rss_peak)
        )?;
        writeln!(
            f,
            "  account actors        {} alive at store-2 when it had caught up",
            self.actors_alive
        )?;
        writeln!(
            f,
            "  setup                 store-1 applied the ops through Engine::apply_remote at {:.0} ops/s ({:.1} s)",
            self.setup_ops_per_sec, self.setup_secs
        )?;
        writeln!(
            f,
            "  converged             equal version vectors, state digests (id {}) and ledger totals; nothing rejected",
            self.digest
        )?;
        writeln!(
            f,
            "  machine load          {} at start, {} at end (1-min load average; 2 shared cores make the rates noisy)",
            opt_load(self.load_avg_start),
            opt_load(self.load_avg_end)
        )?;
        write!(
            f,
            "  target                ≥ {:.0} ops/s: {}",
            TARGET_CATCHUP_OPS_PER_SEC,
            if self.meets_target() {
                "met"
            } else {
                "NOT met"
            }
        )
    }
}

/// Valid ops of one store, made with the core's rules, in log order.
pub(crate) struct Synth {
    origin: NodeId,
    programme: Programme,
    run: u64,
    seq: u64,
    base_ms: u64,
    entity: u64,
    /// Ops per member: 1 registration, `recharges`, `sales`.
    recharges: usize,
    sales: usize,
    /// The member being made, and how many of its ops are out.
    current: Option<(MemberState, usize)>,
    pub members: u64,
    pub recharged: u64,
    pub sold: u64,
    pub bytes: u64,
    /// Signs the ops as their origin would (catch-up verifies them): in
    /// groups of `SIGN_GROUP`, as a node signs the ops of one commit.
    pub signer: Option<tongka_replication::ChainSigner>,
    /// Ops the setup makes in all, and those made and signed, not yet out.
    total: usize,
    ready: std::collections::VecDeque<Op>,
}

/// Ops signed together by the synthetic origin: about what one group
/// commit of a busy store holds.
const SIGN_GROUP: usize = 64;

impl Synth {
    pub fn new(origin: NodeId, run: u64, ops: usize, recharges: usize, sales: usize) -> Synth {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Synth {
            origin,
            programme: Programme::default(),
            run,
            seq: 0,
            // All in the past: a millisecond per 1000 ops, ending a minute ago.
            base_ms: now_ms.saturating_sub(ops as u64 / 1000 + 60_000),
            entity: 0,
            recharges,
            sales,
            current: None,
            members: 0,
            recharged: 0,
            sold: 0,
            bytes: 0,
            signer: None,
            total: ops,
            ready: std::collections::VecDeque::new(),
        }
    }

    fn mint(&mut self) -> u64 {
        self.entity += 1;
        self.entity
    }

    /// The next op of the log.
    pub fn next_op(&mut self) -> anyhow::Result<Op> {
        let Some(signer) = self.signer.take() else {
            return self.make_op();
        };
        if self.ready.is_empty() {
            let n = SIGN_GROUP.min(self.total.saturating_sub(self.seq as usize).max(1));
            let mut ops = (0..n)
                .map(|_| self.make_op())
                .collect::<anyhow::Result<Vec<Op>>>()?;
            let items = ops
                .iter_mut()
                .map(|op| {
                    let (bytes, hash) = op.encode_and_hash();
                    (op, bytes, hash)
                })
                .collect();
            tongka_core::op::sign_batch(items, &signer);
            self.ready.extend(ops);
        }
        self.signer = Some(signer);
        Ok(self.ready.pop_front().expect("made above"))
    }

    fn make_op(&mut self) -> anyhow::Result<Op> {
        self.seq += 1;
        let seq = self.seq;
        let hlc = Hlc {
            ms: self.base_ms + seq / 1000,
            count: (seq % 1000) as u32,
        };
        let per_member = 1 + self.recharges + self.sales;
        let body = match self.current.take() {
            Some((m, done)) if done < per_member => {
                let body = if done < 1 + self.recharges {
                    let n = self.mint();
                    let id = RechargeId::mint(&self.origin, n);
                    decide_recharge(
                        &self.programme,
                        &m.id,
                        id,
                        Money::from_yuan(1000),
                        TenderKind::Cash,
                    )?
                } else {
                    let n = self.mint();
                    let order = OrderId::mint(&self.origin, n);
                    let level = self.programme.level_for(m.cumulative_principal);
                    let ctx = CheckoutContext {
                        programme: &self.programme,
                        store: &self.origin,
                        order,
                        at: hlc,
                        buyer: Some(Buyer {
                            member: &m.id,
                            level,
                            wallet: &m.wallet,
                        }),
                    };
                    let order = checkout::checkout(&ctx, &[coffee()], &[balance()])
                        .map_err(|e| anyhow::anyhow!("synthesising a sale: {e}"))?;
                    OpBody::sale(order)
                };
                self.current = Some((m, done + 1));
                body
            }
            _ => {
                let i = self.members as usize;
                let n = self.mint();
                let member = MemberId::mint(&self.origin, n);
                self.members += 1;
                OpBody::MemberRegistered {
                    member,
                    profile: Profile {
                        phone: crate::phone(self.run, i),
                        name: format!("会员{i}"),
                        birthday: None,
                        gender: None,
                        card_no: None,
                        invited_by: None,
                        tags: Vec::new(),
                        notes: String::new(),
                    },
                    opening: None,
                }
            }
        };
        let op = OpDraft {
            hlc,
            by: "till-9".into(),
            idem: Some(format!("bench-{:x}-{ORIGIN}-{seq}", self.run)),
            body,
        }
        .stamp(
            OpId {
                origin: self.origin.clone(),
                seq,
            },
            VersionVector::new(),
        );
        match (&op.body, self.current.as_mut()) {
            (OpBody::MemberRegistered { .. }, _) => {
                self.current = Some((MemberState::registered(&op)?, 1));
            }
            (body, Some((m, _))) => {
                m.apply(&op)?;
                match body {
                    OpBody::Recharged { .. } => self.recharged += 1,
                    _ => self.sold += 1,
                }
            }
            (_, None) => anyhow::bail!("an op without its member"),
        }
        self.bytes += op.encode().len() as u64;
        Ok(op)
    }
}

fn coffee() -> LineInput {
    LineInput {
        sku: None,
        barcode: None,
        description: "咖啡".into(),
        unit_price: Money::from_fen(crate::PRICE_FEN),
        qty: Decimal::ONE,
        card: None,
        pricing: Default::default(),
    }
}

fn balance() -> TenderInput {
    TenderInput {
        kind: TenderKind::Balance,
        amount: None,
    }
}

/// A short name for a state digest: the first 8 bytes of the blake3 hash
/// of its encoding, in hex.
pub(crate) fn digest_id(d: &tongka_core::op::StateDigest) -> String {
    let bytes = postcard::to_allocvec(d).expect("encoding to memory cannot fail");
    blake3::hash(&bytes).to_hex()[..16].to_string()
}

/// Figures of the timed part.
struct Timed {
    start: Duration,
    first_op: Duration,
    p10: Duration,
    p90: Duration,
    elapsed: Duration,
}

/// Run the catch-up benchmark and return its figures (print them with
/// `Display`). Fails unless `store-2` ends holding exactly what `store-1`
/// holds, with equal state digests and ledger totals, nothing rejected.
#[allow(clippy::float_arithmetic)]
pub async fn catchup(opts: CatchupBenchOptions) -> anyhow::Result<CatchupReport> {
    anyhow::ensure!(opts.ops >= 1, "ops must be at least 1");
    let per_member = 1 + opts.recharges_per_member + opts.sales_per_member;
    anyhow::ensure!(
        opts.ops.div_ceil(per_member) <= 1_000_000,
        "at most 1,000,000 members (phone numbers of a run)"
    );
    // A member recharged 1000.00 once can pay 2 × 28.00 a few dozen times.
    anyhow::ensure!(
        opts.sales_per_member <= 30 * opts.recharges_per_member.max(1)
            && (opts.sales_per_member == 0 || opts.recharges_per_member >= 1),
        "each member needs a recharge per 30 sales"
    );
    let dir = crate::bench_dir(opts.data_dir.as_deref(), "tongka-bench-catchup-")?;
    let configs = chain::chain_configs(dir.path(), 2)?;
    let (c1, c2) = (configs[0].clone(), configs[1].clone());
    // store-9 is never started, but its ops are signed with its key, and
    // store-1 knows its certificate (as if it had met store-9), so it passes
    // it on to store-2, which verifies every op it catches up on.
    let chain_dir = dir.path().join("chain");
    let entry = tongka_config::add_store(&chain_dir, ORIGIN)?;
    let tls = tongka_config::NodeConfig::load(entry.config_path(&chain_dir))?
        .tls()
        .context("store-9 has TLS files")?;
    let identity = tongka_net::Identity::load(&tls.ca_cert, &tls.cert, &tls.key)?;
    let certs = c1.data_dir().join(tongka_node::CERTS_DIR);
    std::fs::create_dir_all(&certs)?;
    std::fs::copy(&tls.cert, certs.join(format!("{ORIGIN}.pem")))?;
    let store1 = Node::start(c1).await?;

    // Setup: store-1 applies the ops of store-9, in log order.
    let origin = NodeId::new(ORIGIN).expect("valid node name");
    let mut synth = Synth::new(
        origin.clone(),
        crate::run_id(),
        opts.ops,
        opts.recharges_per_member,
        opts.sales_per_member,
    );
    synth.signer = Some(tongka_replication::ChainSigner(
        tongka_net::OpKey::from_identity(&identity)?,
    ));
    let failed = Arc::new(AtomicU64::new(0));
    let setup_start = Instant::now();
    let mut last_print = Instant::now();
    for i in 0..opts.ops {
        let op = synth.next_op()?;
        let failed = failed.clone();
        store1
            .engine()
            .apply_remote(
                op,
                Box::new(move |r| {
                    if r.is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }),
            )
            .await
            .map_err(|e| anyhow::anyhow!("store-1 applying op {}: {e}", i + 1))?;
        if opts.progress && last_print.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "catchup setup: {} of {} ops handed to store-1 ({:.0} s)",
                i + 1,
                opts.ops,
                setup_start.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
    }
    let n = opts.ops as u64;
    chain::wait_until(
        "store-1 holding every op of the setup",
        Duration::from_secs(600),
        Duration::from_millis(10),
        || {
            let held = store1.summary().vv.get(&origin);
            (held >= n, held)
        },
    )
    .await?;
    let setup = setup_start.elapsed();
    anyhow::ensure!(
        failed.load(Ordering::Relaxed) == 0,
        "{} ops of the setup failed to commit",
        failed.load(Ordering::Relaxed)
    );
    let rejected = store1.engine().db().rejected(5)?;
    anyhow::ensure!(
        rejected.is_empty(),
        "store-1 rejected ops of the setup: {rejected:?}"
    );
    let target = store1.summary();
    anyhow::ensure!(
        target.totals.members == synth.members
            && target.totals.recharges == synth.recharged
            && target.totals.orders == synth.sold,
        "store-1's ledger shows {:?}, the setup made {} members, {} recharges, {} sales",
        target.totals,
        synth.members,
        synth.recharged,
        synth.sold
    );
    if opts.progress {
        eprintln!(
            "catchup setup: store-1 holds {n} ops ({:.1} s); starting store-2",
            setup.as_secs_f64()
        );
    }

    // Timed: store-2 starts empty and catches up.
    let rss_before = chain::own_memory().0;
    let load_avg_start = sys::load_avg();
    let counters = Counters::now();
    let t0 = Instant::now();
    let store2 = Node::start(c2).await?;
    let start = t0.elapsed();
    let (commits0, requests0) = store2.engine().db().stats();
    let want = target.vv.total();
    let (mut first_op, mut p10, mut p90) = (None, None, None);
    let limit = Duration::from_secs(600);
    loop {
        let s = store2.summary();
        let held = s.vv.get(&origin);
        let now = t0.elapsed();
        if held > 0 && first_op.is_none() {
            first_op = Some(now);
        }
        if held * 10 >= n && p10.is_none() {
            p10 = Some(now);
        }
        if held * 10 >= n * 9 && p90.is_none() {
            p90 = Some(now);
        }
        if s.vv.dominates(&target.vv) {
            break;
        }
        anyhow::ensure!(
            now < limit,
            "store-2 holds {held} of {n} ops after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = t0.elapsed();
    let usage = counters.until(&Counters::now());
    let load_avg_end = sys::load_avg();
    let (commits1, requests1) = store2.engine().db().stats();
    let rss_after = chain::own_memory().0;
    let actors_alive = store2.engine().active_accounts();
    let timed = Timed {
        start,
        first_op: first_op.unwrap_or(elapsed),
        p10: p10.unwrap_or(elapsed),
        p90: p90.unwrap_or(elapsed),
        elapsed,
    };

    let end = chain::converge(&store1, &store2, Duration::from_secs(60)).await?;
    let rejected = store2.engine().db().rejected(5)?;
    anyhow::ensure!(rejected.is_empty(), "store-2 rejected ops: {rejected:?}");
    anyhow::ensure!(
        chain::same_ops(&end.vv, &target.vv),
        "store-1 holds {:?} at the end, {:?} at the start",
        end.vv,
        target.vv
    );
    let store1_db_bytes = chain::db_bytes(&store1.running.started.data_dir);
    let store2_db_bytes = chain::db_bytes(&store2.running.started.data_dir);
    store2.stop().await?;
    store1.stop().await?;
    let rss_peak = chain::own_memory().1;

    let secs = |d: Duration| d.as_secs_f64();
    let rate = |ops: f64, d: Duration| ops / secs(d).max(1e-9);
    let commits = commits1 - commits0;
    let per = |x: f64| x / want.max(1) as f64;
    let report = CatchupReport {
        ops: want,
        members: synth.members,
        recharges: synth.recharged,
        sales: synth.sold,
        op_log_bytes: synth.bytes,
        setup_secs: secs(setup),
        setup_ops_per_sec: rate(n as f64, setup),
        start_secs: secs(timed.start),
        first_op_secs: secs(timed.first_op),
        elapsed_secs: secs(timed.elapsed),
        ops_per_sec: rate(want as f64, timed.elapsed),
        streaming_ops_per_sec: rate(want as f64, timed.elapsed - timed.first_op),
        middle_ops_per_sec: rate(n as f64 * 0.8, timed.p90.saturating_sub(timed.p10)),
        commits,
        ops_per_commit: (requests1 - requests0) as f64 / commits.max(1) as f64,
        cpu_us_per_op: usage.cpu.map(|c| per(secs(c) * 1e6)),
        writer_cpu_us_per_op: usage.writer.map(|(c, _)| per(secs(c) * 1e6)),
        writer_cpu_wait_share: usage
            .writer
            .map(|(_, w)| secs(w) / secs(timed.elapsed).max(1e-9)),
        disk_bytes_per_op: usage.written.map(|b| per(b as f64)),
        store1_db_bytes,
        store2_db_bytes,
        rss_before,
        rss_after,
        rss_peak,
        actors_alive,
        digest: digest_id(&end.digest),
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
    fn synthesised_ops_follow_the_rules() {
        let origin = NodeId::new(ORIGIN).unwrap();
        let mut s = Synth::new(origin.clone(), 7, 100, 1, 2);
        let mut totals = tongka_core::state::LedgerTotals::default();
        for seq in 1..=100u64 {
            let op = s.next_op().unwrap();
            assert_eq!(op.id.seq, seq);
            assert_eq!(op.origin(), &origin);
            let back = Op::decode(&op.encode()).unwrap();
            assert_eq!(back, op);
            totals.apply(&op);
        }
        assert_eq!(s.members, 25);
        assert_eq!(s.recharged, 25);
        assert_eq!(s.sold, 50);
        assert_eq!(totals.members, 25);
        assert_eq!(totals.orders, 50);
        assert!(s.bytes > 100 * 50);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn catchup_bench_runs_end_to_end() {
        let report = catchup(CatchupBenchOptions {
            ops: 2000,
            progress: false,
            ..Default::default()
        })
        .await
        .expect("benchmark runs");
        assert_eq!(report.ops, 2000);
        assert_eq!(report.members, 500);
        assert_eq!(report.recharges, 500);
        assert_eq!(report.sales, 1000);
        assert!(report.commits >= 1);
        assert!(report.first_op_secs <= report.elapsed_secs);
        assert!(report.ops_per_sec > 0.0);
        let text = report.to_string();
        assert!(text.contains("durable ops/s"), "{text}");
    }
}
