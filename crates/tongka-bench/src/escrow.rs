//! `tongka bench escrow`: the latency of a sale at a store that holds none
//! of the member's balance, so that it must first get a share from a
//! reachable peer (an escrow transfer), against a sale where the balance is.
//!
//! Two real nodes of a fresh chain (`store-1`, `store-2`) on loopback, each
//! started in this process with `tongka_node::start`. Members are
//! registered and recharged at `store-1`; once `store-2` holds them, each
//! pays once at `store-2` through `Engine::checkout` with a balance tender,
//! one sale at a time: the sale is refused for want of a local share, the
//! engine asks the broker, `store-1` commits a transfer and answers,
//! `store-2` applies it durably and retries. For comparison, another set of
//! members pays once at `store-1`, where their balance is. Every sale must
//! succeed and both ledgers must end equal.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tongka_actors::{Engine, Outcome};
use tongka_core::ids::MemberId;

use crate::catchup::opt_load;
use crate::chain::{self, Node};
use crate::{actor, micros, new_histogram, sys};

/// The target for the median cross-store sale on loopback.
pub const TARGET_ESCROW_P50_MS: f64 = 5.0;

/// What `tongka bench escrow` runs.
#[derive(Debug, Clone)]
pub struct EscrowBenchOptions {
    /// Members who pay once at `store-2` with a balance held at `store-1`;
    /// as many again pay at `store-1` (no transfer).
    pub members: usize,
    /// Start each cross-store sale as soon as the previous one answered. By
    /// default the benchmark waits, untimed, until both nodes hold the same
    /// ops, as at a till where customers are a while apart. (The members'
    /// home store is store-1, so store-2 pulls nothing ahead: escrow policy.)
    pub back_to_back: bool,
    /// Where the chain's files go (a fresh temporary folder is made inside
    /// it and removed afterwards); the system's temporary folder by default.
    pub data_dir: Option<PathBuf>,
    /// Print setup progress on stderr.
    pub progress: bool,
}

impl Default for EscrowBenchOptions {
    fn default() -> Self {
        EscrowBenchOptions {
            members: 1000,
            back_to_back: false,
            data_dir: None,
            progress: true,
        }
    }
}

/// Latency percentiles of one kind of sale, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    #[allow(clippy::float_arithmetic)]
    pub(crate) fn of(h: &Histogram<u64>) -> Latency {
        let ms = |v: u64| v as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}  ({} requests)",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms, self.mean_ms, self.count
        )
    }
}

/// The figures of one escrow run.
#[derive(Debug, Clone)]
pub struct EscrowReport {
    pub members: usize,
    pub back_to_back: bool,
    /// Sales at `store-2` paid with a balance held at `store-1`: each waits
    /// for a transfer. Successful sales only.
    pub cross_store: Latency,
    /// Cross-store sales refused although `store-1` held the balance and
    /// was connected (the run returns an error when there are any), and the
    /// first one's error with what `store-2` held shortly after.
    pub cross_store_failed: u64,
    pub first_failure: Option<String>,
    /// Sales at `store-1`, where the balance is: no transfer.
    pub local: Latency,
    /// Transfers `store-1` made while the cross-store sales ran: one for
    /// each sale's shortfall (store-2 is not the members' home store, so it
    /// pulls nothing ahead).
    pub transfers: u64,
    /// Members whose whole balance ended at `store-2`.
    pub balances_moved: u64,
    /// Wall time of the cross-store sales, one at a time.
    pub cross_store_secs: f64,
    pub local_secs: f64,
    /// 1-minute load average before the cross-store and the local sales.
    pub load_avg_cross: Option<f64>,
    pub load_avg_local: Option<f64>,
}

impl EscrowReport {
    pub fn meets_target(&self) -> bool {
        self.cross_store_failed == 0 && self.cross_store.p50_ms < TARGET_ESCROW_P50_MS
    }
}

impl fmt::Display for EscrowReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "escrow benchmark: balance sales one at a time through Engine::checkout; store-1 and store-2 replicate over QUIC (loopback, mutual TLS; both nodes in this process)"
        )?;
        writeln!(
            f,
            "  cross-store ms        {}   at store-2, balance held at store-1: sale refused, Ask, store-1 commits a transfer, Gave, store-2 commits it, sale",
            self.cross_store
        )?;
        writeln!(
            f,
            "  pacing                {}",
            if self.back_to_back {
                "back to back: each sale starts when the previous answered"
            } else {
                "each sale after both nodes held the same ops (untimed wait)"
            }
        )?;
        if self.cross_store_failed > 0 {
            writeln!(
                f,
                "  FAILED                {} cross-store sales refused; first: {}",
                self.cross_store_failed,
                self.first_failure.as_deref().unwrap_or("?")
            )?;
        }
        writeln!(
            f,
            "  local ms              {}   at store-1, where the balance is",
            self.local
        )?;
        writeln!(
            f,
            "  transfers             {} by store-1 during the cross-store sales ({:.2} per sale: the shortfall; store-2 is not the members' home store, so it pulls nothing ahead); {} of {} balances ended wholly at store-2",
            self.transfers,
            self.transfers as f64 / self.members.max(1) as f64,
            self.balances_moved,
            self.members
        )?;
        writeln!(
            f,
            "  wall time             cross-store {:.2} s, local {:.2} s",
            self.cross_store_secs, self.local_secs
        )?;
        writeln!(
            f,
            "  converged             {}; equal version vectors, state digests and ledger totals at the end",
            if self.cross_store_failed == 0 {
                "every sale succeeded"
            } else {
                "every local sale succeeded"
            }
        )?;
        writeln!(
            f,
            "  machine load          {} before the cross-store sales, {} before the local ones (1-min load average; 2 shared cores)",
            opt_load(self.load_avg_cross),
            opt_load(self.load_avg_local)
        )?;
        write!(
            f,
            "  target                cross-store p50 < {:.0} ms: {}",
            TARGET_ESCROW_P50_MS,
            if self.meets_target() {
                "met"
            } else {
                "NOT met"
            }
        )
    }
}

/// One balance sale of `member` through `engine`, checked: the latency in µs.
async fn sale(
    engine: &Engine,
    run: u64,
    tag: &str,
    i: usize,
    member: &MemberId,
) -> anyhow::Result<u64> {
    let t0 = Instant::now();
    let res = {
        let _admitted = engine
            .admit()
            .map_err(|e| anyhow::anyhow!("admission: {}", actor::describe(&e)))?;
        engine
            .checkout(
                "bench".into(),
                Some(actor::idem(format!("bench-{run:x}-{tag}-{i}"))),
                Some(member.clone()),
                vec![actor::checkout_line()],
                vec![actor::balance_tender()],
            )
            .await
    };
    let us = micros(t0.elapsed());
    match res {
        Ok((Outcome::CheckedOut { order, .. }, false)) => {
            let o = &order.order;
            anyhow::ensure!(
                o.store == *engine.node()
                    && o.payable.is_positive()
                    && o.balance_principal + o.balance_bonus == o.payable,
                "{tag} sale {i} of {member}: unexpected order {o:?}"
            );
            Ok(us)
        }
        Ok((o, replay)) => {
            anyhow::bail!("{tag} sale {i} of {member}: unexpected answer (replay {replay}): {o:?}")
        }
        Err(e) => anyhow::bail!("{tag} sale {i} of {member}: {}", actor::describe(&e)),
    }
}

/// What `node` holds of `member`'s balance, as it sees it now.
fn share_at(node: &Node, member: &MemberId) -> String {
    match node.engine().member(member) {
        Ok(m) => format!("{}", m.wallet.share(node.engine().node()).money()),
        Err(e) => actor::describe(&e),
    }
}

/// Wait until `node`'s seq has not moved for `quiet` (background transfers
/// done) and both nodes hold the same ops.
async fn settle(a: &Node, b: &Node, quiet: Duration) -> anyhow::Result<()> {
    let mut last = (a.summary().seq, b.summary().seq);
    let mut since = Instant::now();
    let start = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = (a.summary().seq, b.summary().seq);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(120),
            "the nodes kept making ops for 2 minutes"
        );
    }
    chain::converge(a, b, Duration::from_secs(120)).await?;
    Ok(())
}

/// Run the escrow benchmark and return its figures (print them with
/// `Display`). Fails unless every sale succeeded and both nodes end with
/// the same ops, state digest and ledger totals.
#[allow(clippy::float_arithmetic)]
pub async fn escrow(opts: EscrowBenchOptions) -> anyhow::Result<EscrowReport> {
    anyhow::ensure!(opts.members >= 1, "members must be at least 1");
    anyhow::ensure!(
        opts.members <= 500_000,
        "at most 500,000 members (two sets of phone numbers of a run)"
    );
    let dir = crate::bench_dir(opts.data_dir.as_deref(), "tongka-bench-escrow-")?;
    let configs = chain::chain_configs(dir.path(), 2)?;
    let store1 = Node::start(configs[0].clone()).await?;
    let store2 = Node::start(configs[1].clone()).await?;
    let run = crate::run_id();
    let m = opts.members;

    // Setup: two sets of members, registered and recharged at store-1.
    let setup_start = Instant::now();
    let yuan = 100;
    let cross = actor::register_and_recharge(store1.engine(), run, 0..m, yuan, 32, None).await?;
    let local =
        actor::register_and_recharge(store1.engine(), run, m..2 * m, yuan, 32, None).await?;
    chain::converge(&store1, &store2, Duration::from_secs(120)).await?;
    let s2 = store2.summary();
    anyhow::ensure!(
        s2.totals.members == 2 * m as u64 && s2.totals.recharges == 2 * m as u64,
        "store-2 holds {:?} after the setup",
        s2.totals
    );
    if opts.progress {
        eprintln!(
            "escrow setup: {} members registered and recharged at store-1 and replicated to store-2 ({:.1} s)",
            2 * m,
            setup_start.elapsed().as_secs_f64()
        );
    }

    // Cross-store sales at store-2, one at a time.
    let load_avg_cross = sys::load_avg();
    let seq1 = store1.summary().seq;
    let mut h_cross = new_histogram();
    let (mut failed, mut first_failure) = (0u64, None);
    let mut cross_elapsed = Duration::ZERO;
    for (i, member) in cross.iter().enumerate() {
        let t = Instant::now();
        let res = sale(store2.engine(), run, "x", i, member).await;
        cross_elapsed += t.elapsed();
        match res {
            Ok(us) => {
                h_cross.saturating_record(us);
            }
            Err(e) => {
                failed += 1;
                if first_failure.is_none() {
                    // Did the share arrive after all, only too late?
                    let now = share_at(&store2, member);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    first_failure = Some(format!(
                        "{e:#} (store-2's share of {member}: {now} when refused, {} 500 ms later; store-1 holds {})",
                        share_at(&store2, member),
                        share_at(&store1, member),
                    ));
                }
            }
        }
        if !opts.back_to_back {
            // store-2 is not the member's home store: no pull-ahead
            // (escrow policy); only wait for the nodes to agree.
            chain::converge(&store1, &store2, Duration::from_secs(10)).await?;
        }
    }
    settle(&store1, &store2, Duration::from_millis(300)).await?;
    // Only transfers are made at store-1 meanwhile.
    let transfers = store1.summary().seq - seq1;
    let me2 = store2.engine().node().clone();
    let mut balances_moved = 0;
    for member in &cross {
        let state = store2
            .engine()
            .member(member)
            .map_err(|e| anyhow::anyhow!("reading {member} at store-2: {}", actor::describe(&e)))?;
        if state
            .wallet
            .shares()
            .all(|(n, s)| *n == me2 || !s.money().is_positive())
        {
            balances_moved += 1;
        }
    }

    // Local sales at store-1, one at a time.
    let load_avg_local = sys::load_avg();
    let mut h_local = new_histogram();
    let t = Instant::now();
    for (i, member) in local.iter().enumerate() {
        let us = sale(store1.engine(), run, "l", i, member).await?;
        h_local.saturating_record(us);
    }
    let local_elapsed = t.elapsed();
    let orders = 2 * m as u64 - failed;
    settle(&store1, &store2, Duration::from_millis(300)).await?;

    let end = store1.summary();
    anyhow::ensure!(
        end.totals.orders == orders,
        "the ledger shows {} orders, {orders} sales succeeded",
        end.totals.orders,
    );
    anyhow::ensure!(
        store1.engine().db().rejected(5)?.is_empty()
            && store2.engine().db().rejected(5)?.is_empty(),
        "a node rejected ops"
    );
    store2.stop().await?;
    store1.stop().await?;
    let report = EscrowReport {
        members: m,
        back_to_back: opts.back_to_back,
        cross_store: Latency::of(&h_cross),
        cross_store_failed: failed,
        first_failure,
        local: Latency::of(&h_local),
        transfers,
        balances_moved,
        cross_store_secs: cross_elapsed.as_secs_f64(),
        local_secs: local_elapsed.as_secs_f64(),
        load_avg_cross,
        load_avg_local,
    };
    drop(dir);
    anyhow::ensure!(
        report.cross_store_failed == 0,
        "{} of {m} cross-store sales failed although store-1 held the balance and was connected:\n{report}",
        report.cross_store_failed
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn escrow_bench_runs_end_to_end() {
        let report = escrow(EscrowBenchOptions {
            members: 20,
            progress: false,
            ..Default::default()
        })
        .await
        .expect("benchmark runs");
        assert_eq!(report.cross_store.count, 20);
        assert_eq!(report.local.count, 20);
        // At least one transfer per cross-store sale; pull-ahead may add one.
        assert!(
            (20..=40).contains(&report.transfers),
            "{} transfers",
            report.transfers
        );
        assert!(report.cross_store.p50_ms <= report.cross_store.p99_ms);
        assert!(report.to_string().contains("cross-store"));
    }

    /// An escrow request, or its answer, lost with the connection it went
    /// on. Two stores that dial each other at once keep one of the two
    /// connections and drop the other with whatever was in it; a sale whose
    /// request went that way waited `ASK_TIMEOUT` and was refused (the test
    /// below failed so, reportedly one run in 50 to 100: the swap comes
    /// about 1 s after a chain starts, and its sales can start before). The
    /// asker now asks again on the connection of now, and the giver answers
    /// a repeated request as the first time, without a second transfer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_escrow_message_lost_with_its_connection_is_asked_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let configs = chain::chain_configs(dir.path(), 2).expect("chain");
        let store1 = Node::start(configs[0].clone()).await.expect("store-1");
        let store2 = Node::start(configs[1].clone()).await.expect("store-2");
        let run = crate::run_id();
        let members = actor::register_and_recharge(store1.engine(), run, 0..2, 100, 2, None)
            .await
            .expect("members at store-1");
        chain::converge(&store1, &store2, Duration::from_secs(60))
            .await
            .expect("replicated");
        let rep = |n: &Node| {
            n.running
                .replication
                .clone()
                .expect("a chain's node replicates")
        };
        let seq1 = store1.summary().seq;

        // store-2's request is lost with its connection.
        rep(&store2).lose_next_ask();
        sale(store2.engine(), run, "lost-ask", 0, &members[0])
            .await
            .expect("the request goes again on the new connection");
        assert_eq!(rep(&store2).escrow_messages_lost(), 1);

        // store-1 makes the transfer, and its answer is lost.
        rep(&store1).lose_next_gave();
        sale(store2.engine(), run, "lost-gave", 1, &members[1])
            .await
            .expect("asked again, answered again");
        assert_eq!(rep(&store1).escrow_messages_lost(), 1);

        settle(&store1, &store2, Duration::from_millis(300))
            .await
            .expect("settled");
        // One transfer for each sale: the repeated request gave nothing more.
        assert_eq!(store1.summary().seq - seq1, 2, "transfers made by store-1");
        store2.stop().await.expect("stop store-2");
        store1.stop().await.expect("stop store-1");
    }

    /// Cross-store sales back to back, each while the previous sale's
    /// pull-ahead transfer still runs. This once found a replication bug:
    /// some sales were refused with `insufficient_balance` although the peer
    /// gave the share (the giver's `Gave` arrived before an earlier op of the
    /// giver, and the asker stopped waiting); the asker now waits for the
    /// ops the `Gave` carries. It also found two effects of the dial race
    /// (see `an_escrow_message_lost_with_its_connection_is_asked_again`, and
    /// the replaced connection that took ops to send and lost them, which
    /// stalled a setup's replication).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn back_to_back_cross_store_sales_all_succeed() {
        for _ in 0..5 {
            let report = escrow(EscrowBenchOptions {
                members: 100,
                back_to_back: true,
                progress: false,
                ..Default::default()
            })
            .await
            .expect("every cross-store sale succeeds");
            assert_eq!(report.cross_store.count, 100);
        }
    }
}
