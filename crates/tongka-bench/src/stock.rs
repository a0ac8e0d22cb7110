//! `tongka bench stock`: barcode checkouts of five stocked lines, each
//! moving the store's stock in the sale's commit, against plain checkouts
//! (one free line, no stock) on the same fresh node, with the same
//! clients, in alternating rounds of the same run: durable checkouts/s of
//! both, and their ratio (issue 14's target: at least half the plain
//! rate).
//!
//! A stocked sale takes the store's stock book lock from its decision to
//! its hand-over to the writer (`tongka_actors::stock`), so stocked sales
//! of one store are decided one at a time; the ratio measures what that,
//! the barcode look-ups and the larger op and commit cost.
//!
//! The run fails unless every checkout succeeded, the ledger shows every
//! order and the money paid, and each stocked product's on hand fell by
//! exactly the stocked checkouts: it never measures errors.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tongka_actors::{Engine, LineRequest, Outcome};
use tongka_core::catalogue::sample_catalogue;
use tongka_core::checkout::{TenderInput, TenderKind};
use tongka_core::ids::MemberId;
use tongka_core::money::Money;
use tongka_core::stock::{QTY_MAX, StockInLine};
use tongka_machine::stock::StockAsk;

use crate::actor::{checkout_line, close, describe, idem, open_node, register_and_recharge};
use crate::{bench_dir, run_id, sys};

/// The target: stocked barcode checkouts at no less than this
/// share of the plain checkout rate.
pub const TARGET_STOCK_RATIO: f64 = 0.5;

/// Stocked lines per stocked checkout.
pub const STOCK_LINES: usize = 5;

/// What `tongka bench stock` runs.
#[derive(Debug, Clone)]
pub struct StockBenchOptions {
    /// Members the checkouts are spread over, round-robin.
    pub members: usize,
    /// Concurrent clients, each with one request outstanding at a time.
    pub clients: usize,
    /// Checkouts of each kind (plain and stocked), over all rounds.
    pub checkouts: usize,
    /// Rounds: each runs `checkouts / rounds` plain checkouts, then as
    /// many stocked ones, so both kinds see the same machine load over
    /// the run.
    pub rounds: usize,
    pub data_dir: Option<PathBuf>,
    /// Leave ops unsigned (by default signed, as a chain node signs them).
    pub unsigned: bool,
}

impl Default for StockBenchOptions {
    fn default() -> Self {
        StockBenchOptions {
            members: 1000,
            clients: 256,
            checkouts: 40_000,
            rounds: 4,
            data_dir: None,
            unsigned: false,
        }
    }
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct StockReport {
    pub members: usize,
    pub clients: usize,
    pub rounds: usize,
    pub plain_checkouts: u64,
    pub plain_secs: f64,
    pub plain_per_sec: f64,
    pub stock_checkouts: u64,
    pub stock_secs: f64,
    pub stock_per_sec: f64,
    /// `stock_per_sec / plain_per_sec`.
    pub ratio: f64,
    /// Requests per commit in each kind's timed parts.
    pub plain_per_commit: f64,
    pub stock_per_commit: f64,
    pub load_avg_1m: Option<f64>,
    /// CPU time of the whole process per checkout, µs.
    pub plain_cpu_us: f64,
    pub stock_cpu_us: f64,
}

impl StockReport {
    pub fn meets_target(&self) -> bool {
        self.ratio >= TARGET_STOCK_RATIO
    }
}

impl std::fmt::Display for StockReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "stock checkout benchmark: in-process Engine, one fresh node, {} clients over {} members, {} alternating rounds",
            self.clients, self.members, self.rounds
        )?;
        writeln!(
            f,
            "  plain   (1 free line, no stock)           {:>8.0} durable checkouts/s   ({} in {:.2} s, {:.1} per commit, {:.1} µs CPU each)",
            self.plain_per_sec,
            self.plain_checkouts,
            self.plain_secs,
            self.plain_per_commit,
            self.plain_cpu_us
        )?;
        writeln!(
            f,
            "  stocked ({STOCK_LINES} barcode lines, stock moved)  {:>8.0} durable checkouts/s   ({} in {:.2} s, {:.1} per commit, {:.1} µs CPU each)",
            self.stock_per_sec,
            self.stock_checkouts,
            self.stock_secs,
            self.stock_per_commit,
            self.stock_cpu_us
        )?;
        if let Some(l) = self.load_avg_1m {
            writeln!(f, "  machine load {l:.2} (1-min load average at start)")?;
        }
        write!(
            f,
            "  ratio stocked / plain {:.2}; target ≥ {:.2}: {}",
            self.ratio,
            TARGET_STOCK_RATIO,
            if self.meets_target() {
                "met"
            } else {
                "NOT met"
            }
        )
    }
}

/// The stocked products of the sample catalogue, by barcode (five of
/// them: the card products are not stocked).
fn stocked_barcodes() -> Vec<(String, String)> {
    sample_catalogue()
        .into_iter()
        .filter(|p| p.stock_unit().is_some())
        .filter_map(|p| Some((p.sku, p.barcode?)))
        .take(STOCK_LINES)
        .collect()
}

/// Who sends the checkouts: the node, its members, how many clients, and
/// the run (for idempotency keys).
struct Tills {
    engine: Engine,
    members: Arc<Vec<MemberId>>,
    clients: usize,
    run: u64,
}

/// One timed part: `n` checkouts numbered from `from`, `clients` at a
/// time, each of `lines`; the sum paid in fen.
async fn timed(
    tills: &Tills,
    tag: &'static str,
    from: usize,
    n: usize,
    lines: Arc<Vec<LineRequest>>,
) -> anyhow::Result<(Duration, i64)> {
    let Tills {
        engine,
        members,
        clients,
        run,
    } = tills;
    let (clients, run) = (*clients, *run);
    let next = Arc::new(AtomicUsize::new(from));
    let end = from + n;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (engine, next, members, lines) =
            (engine.clone(), next.clone(), members.clone(), lines.clone());
        tasks.push(tokio::spawn(async move {
            let mut paid = 0i64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    return Ok::<_, anyhow::Error>(paid);
                }
                let member = members[i % members.len()].clone();
                let _admitted = loop {
                    match engine.admit() {
                        Ok(a) => break a,
                        Err(_) => tokio::time::sleep(Duration::from_micros(200)).await,
                    }
                };
                let res = engine
                    .checkout(
                        "bench".into(),
                        Some(idem(format!("bench-{run:x}-{tag}-{i}"))),
                        Some(member),
                        lines.to_vec(),
                        vec![TenderInput {
                            kind: TenderKind::Cash,
                            amount: None,
                        }],
                    )
                    .await;
                match res {
                    Ok((Outcome::CheckedOut { order, .. }, false)) => {
                        paid += order.order.payable.fen();
                    }
                    Ok((o, replay)) => {
                        anyhow::bail!(
                            "{tag} checkout {i}: unexpected answer (replay {replay}): {o:?}"
                        )
                    }
                    Err(e) => anyhow::bail!("{tag} checkout {i}: {}", describe(&e)),
                }
            }
        }));
    }
    let mut paid = 0;
    for t in tasks {
        paid += t.await??;
    }
    Ok((start.elapsed(), paid))
}

pub async fn stock(opts: StockBenchOptions) -> anyhow::Result<StockReport> {
    anyhow::ensure!(opts.members >= 1, "members must be at least 1");
    anyhow::ensure!(opts.clients >= 1, "clients must be at least 1");
    anyhow::ensure!(opts.rounds >= 1, "rounds must be at least 1");
    anyhow::ensure!(
        opts.checkouts >= opts.rounds,
        "at least one checkout of each kind per round"
    );
    anyhow::ensure!(
        opts.checkouts < QTY_MAX as usize,
        "at most {} stocked checkouts (one goods-in movement)",
        QTY_MAX - 1
    );
    let dir = bench_dir(opts.data_dir.as_deref(), "tongka-bench-stock-")?;
    let load_avg_1m = sys::load_avg();
    let (db, engine) = open_node(dir.path(), opts.clients, opts.unsigned)?;
    let run = run_id();
    let members = Arc::new(
        register_and_recharge(
            &engine,
            run,
            0..opts.members,
            1,
            opts.clients.clamp(1, 64),
            None,
        )
        .await?,
    );

    // Goods in: enough of each stocked product for every stocked sale.
    let products = stocked_barcodes();
    anyhow::ensure!(
        products.len() == STOCK_LINES,
        "the sample catalogue has {} stocked products with a barcode, {STOCK_LINES} wanted",
        products.len()
    );
    let stocked = Decimal::from(opts.checkouts as u64);
    let ask = StockAsk::In {
        supplier: "bench".into(),
        note: String::new(),
        lines: products
            .iter()
            .map(|(sku, _)| StockInLine {
                sku: sku.clone(),
                qty: stocked,
                unit_cost: Money::from_fen(100),
            })
            .collect(),
    };
    engine
        .change_stock("bench".into(), None, ask)
        .await
        .map_err(|e| anyhow::anyhow!("goods in: {}", describe(&e)))?;

    let plain_lines = Arc::new(vec![checkout_line()]);
    let stock_lines = Arc::new(
        products
            .iter()
            .map(|(_, barcode)| LineRequest::Barcode {
                barcode: barcode.clone(),
                qty: Decimal::ONE,
            })
            .collect::<Vec<_>>(),
    );
    let tills = Tills {
        engine: engine.clone(),
        members,
        clients: opts.clients,
        run,
    };
    let totals0 = db.summary().totals;
    let per_round = opts.checkouts / opts.rounds;
    let (mut plain, mut stock) = (Part::default(), Part::default());
    let mut paid = 0i64;
    for r in 0..opts.rounds {
        let n = if r + 1 == opts.rounds {
            opts.checkouts - per_round * (opts.rounds - 1)
        } else {
            per_round
        };
        for (part, tag, lines) in [
            (&mut plain, "plain", &plain_lines),
            (&mut stock, "stock", &stock_lines),
        ] {
            let (c0, q0) = db.stats();
            let u0 = sys::Counters::now();
            let (took, p) = timed(&tills, tag, r * per_round, n, lines.clone()).await?;
            let usage = u0.until(&sys::Counters::now());
            let (c1, q1) = db.stats();
            part.n += n as u64;
            part.elapsed += took;
            part.commits += c1 - c0;
            part.requests += q1 - q0;
            part.cpu_secs += usage.cpu.map_or(0.0, |d| d.as_secs_f64());
            paid += p;
        }
    }

    // The checks: every order and its money, and the stock each moved.
    let totals = db.summary().totals;
    let orders = totals.orders - totals0.orders;
    anyhow::ensure!(
        orders == 2 * opts.checkouts as u64,
        "the ledger shows {orders} orders, {} checkouts succeeded",
        2 * opts.checkouts
    );
    let sales = (totals.sales - totals0.sales).fen();
    anyhow::ensure!(
        sales == paid,
        "the ledger shows {sales} fen of sales, the checkouts paid {paid}"
    );
    let node = engine.node().clone();
    for (sku, _) in &products {
        let on_hand = engine.with_stock(|b| b.ledger(&node, sku).on_hand);
        anyhow::ensure!(
            on_hand.is_zero(),
            "{sku}: {on_hand} on hand after {} stocked sales of {stocked} in",
            opts.checkouts
        );
    }
    drop(tills);
    drop(engine);
    close(db).await?;

    let rate = |p: &Part| p.n as f64 / p.elapsed.as_secs_f64().max(1e-9);
    let (plain_per_sec, stock_per_sec) = (rate(&plain), rate(&stock));
    Ok(StockReport {
        members: opts.members,
        clients: opts.clients,
        rounds: opts.rounds,
        plain_checkouts: plain.n,
        plain_secs: plain.elapsed.as_secs_f64(),
        plain_per_sec,
        stock_checkouts: stock.n,
        stock_secs: stock.elapsed.as_secs_f64(),
        stock_per_sec,
        ratio: stock_per_sec / plain_per_sec.max(1e-9),
        plain_per_commit: plain.requests as f64 / plain.commits.max(1) as f64,
        stock_per_commit: stock.requests as f64 / stock.commits.max(1) as f64,
        load_avg_1m,
        plain_cpu_us: plain.cpu_secs * 1e6 / plain.n.max(1) as f64,
        stock_cpu_us: stock.cpu_secs * 1e6 / stock.n.max(1) as f64,
    })
}

/// One kind's timed parts, summed over the rounds.
#[derive(Default)]
struct Part {
    n: u64,
    elapsed: Duration,
    commits: u64,
    requests: u64,
    cpu_secs: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stock_bench_runs_end_to_end() {
        let report = stock(StockBenchOptions {
            members: 20,
            clients: 8,
            checkouts: 200,
            rounds: 2,
            data_dir: None,
            unsigned: true,
        })
        .await
        .unwrap();
        assert_eq!(report.plain_checkouts, 200);
        assert_eq!(report.stock_checkouts, 200);
        assert!(report.ratio > 0.0);
        assert!(report.to_string().contains("ratio stocked / plain"));
    }
}
