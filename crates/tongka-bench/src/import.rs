//! `tongka bench import`: a member import of `members` rows (100,000 by
//! default; issue 13: "well under a minute") through the real HTTP route
//! (`POST /api/v1/members/import`, in process on 127.0.0.1) of one fresh
//! store whose ops are signed: the dry run, the import, and the same file
//! again (replayed, nothing created), each timed.
//!
//! The run fails unless the dry run accepts every row, the import creates
//! every member, the re-run creates none, the ledger shows every import
//! and its money apart from recharges, and the ledger balances to the fen
//! (`Db::ledger_sides`): it never measures errors.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use serde_json::Value;
use tongka_core::money::Money;

use crate::actor::{close, open_node};
use crate::http::{Client, start_in_process_server};
use crate::{bench_dir, sys};

/// The bound: 100,000 members well under a minute.
pub const TARGET_IMPORT_SECS: f64 = 60.0;

#[derive(Debug, Clone)]
pub struct ImportBenchOptions {
    /// Rows of the file (at most `member_import::ROWS_MAX`).
    pub members: usize,
    pub data_dir: Option<PathBuf>,
    /// Leave ops unsigned (by default signed, as a chain node signs them).
    pub unsigned: bool,
}

impl Default for ImportBenchOptions {
    fn default() -> Self {
        ImportBenchOptions {
            members: 100_000,
            data_dir: None,
            unsigned: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub members: usize,
    pub file_bytes: usize,
    pub dry_run: Duration,
    pub import: Duration,
    pub rerun: Duration,
    pub commits: u64,
    pub load_avg_1m: Option<f64>,
    /// CPU time of the whole process during the import, seconds.
    pub import_cpu_secs: f64,
}

impl ImportReport {
    pub fn rows_per_sec(&self) -> f64 {
        self.members as f64 / self.import.as_secs_f64().max(1e-9)
    }

    pub fn meets_target(&self) -> bool {
        self.members < 100_000 || self.import.as_secs_f64() < TARGET_IMPORT_SECS
    }
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "member import benchmark: POST /api/v1/members/import over HTTP (in process), one fresh store, signed ops, a file of {} rows ({:.1} MB)",
            self.members,
            self.file_bytes as f64 / 1e6
        )?;
        writeln!(
            f,
            "  dry run      {:>7.2} s   ({:.0} rows/s checked)",
            self.dry_run.as_secs_f64(),
            self.members as f64 / self.dry_run.as_secs_f64().max(1e-9)
        )?;
        writeln!(
            f,
            "  import       {:>7.2} s   ({:.0} members/s, {} commits, {:.1} s CPU)",
            self.import.as_secs_f64(),
            self.rows_per_sec(),
            self.commits,
            self.import_cpu_secs
        )?;
        writeln!(
            f,
            "  same again   {:>7.2} s   (replayed, nothing created)",
            self.rerun.as_secs_f64()
        )?;
        if let Some(l) = self.load_avg_1m {
            writeln!(f, "  machine load {l:.2} (1-min load average at start)")?;
        }
        write!(
            f,
            "  {} members imported in {:.2} s; target < {TARGET_IMPORT_SECS:.0} s for 100,000: {}",
            self.members,
            self.import.as_secs_f64(),
            if self.meets_target() {
                "met"
            } else {
                "NOT met"
            }
        )
    }
}

/// The file: Chinese headers, every column, amounts with fen, a card
/// number on every other row, levels cycling; the sums of its principal,
/// bonus (in fen) and points.
fn file(n: usize) -> (String, i64, i64, i64) {
    let levels = ["", "普通会员", "silver", "金卡会员", "platinum", "diamond"];
    let mut csv = String::with_capacity(n * 80);
    csv.push_str("手机号,姓名,生日,卡号,本金,赠送金额,积分,等级\n");
    let (mut p, mut b, mut pts) = (0i64, 0i64, 0i64);
    for i in 0..n {
        let principal = (i as i64 * 7919) % 500_000;
        let bonus = (i as i64 * 31) % 10_000;
        let points = (i as i64 * 13) % 5_000;
        p += principal;
        b += bonus;
        pts += points;
        let card = if i % 2 == 0 {
            format!("IMP{i:08}")
        } else {
            String::new()
        };
        csv.push_str(&format!(
            "13{i:09},会员{i},19{:02}-{:02}-{:02},{card},{},{},{points},{}\n",
            50 + i % 50,
            1 + i % 12,
            1 + i % 28,
            Money::from_fen(principal),
            Money::from_fen(bonus),
            levels[i % levels.len()],
        ));
    }
    (csv, p, b, pts)
}

async fn post(
    c: &mut Client,
    query: &str,
    csv: &str,
    want: StatusCode,
) -> anyhow::Result<(Duration, Value)> {
    let start = Instant::now();
    let (status, body) = c
        .send(
            Method::POST,
            &format!("/api/v1/members/import{query}"),
            None,
            Some(csv.to_string()),
        )
        .await?;
    let took = start.elapsed();
    let v: Value = serde_json::from_slice(&body)?;
    anyhow::ensure!(status == want, "import{query}: {status}: {v}");
    Ok((took, v))
}

pub async fn import(opts: ImportBenchOptions) -> anyhow::Result<ImportReport> {
    anyhow::ensure!(
        (1..=tongka_core::member_import::ROWS_MAX).contains(&opts.members),
        "members must be 1 to {}",
        tongka_core::member_import::ROWS_MAX
    );
    let dir = bench_dir(opts.data_dir.as_deref(), "tongka-bench-import-")?;
    let load_avg_1m = sys::load_avg();
    let (db, engine) = open_node(dir.path(), 4, opts.unsigned)?;
    let token = "bench-token".to_string();
    let server = start_in_process_server(engine.clone(), token.clone()).await?;
    let mut c = Client::connect(&server.addr.to_string(), &token).await?;
    let (csv, p, b, pts) = file(opts.members);
    let n = opts.members as u64;

    let (dry_run, v) = post(&mut c, "?dry_run=true", &csv, StatusCode::OK).await?;
    anyhow::ensure!(
        v["accepted"].as_u64() == Some(n) && v["rejected"].as_array().is_some_and(|r| r.is_empty()),
        "the dry run accepted {} of {n}: {}",
        v["accepted"],
        v["rejected"][0]
    );
    let totals0 = db.summary().totals;
    let (c0, _) = db.stats();
    let u0 = sys::Counters::now();
    let (took, v) = post(&mut c, "", &csv, StatusCode::CREATED).await?;
    let usage = u0.until(&sys::Counters::now());
    let (c1, _) = db.stats();
    anyhow::ensure!(
        v["created"].as_u64() == Some(n),
        "created {} of {n}",
        v["created"]
    );
    let (rerun, v) = post(&mut c, "", &csv, StatusCode::CREATED).await?;
    anyhow::ensure!(
        v["created"].as_u64() == Some(0) && v["replayed"].as_u64() == Some(n),
        "the same file again: {v}"
    );

    // The checks: every import and its money in the ledger, apart from
    // recharges, and what members hold equal to what the ledger owes.
    let t = db.summary().totals;
    anyhow::ensure!(
        t.imports - totals0.imports == n && t.members - totals0.members == n,
        "the ledger shows {} imports of {n}",
        t.imports - totals0.imports
    );
    anyhow::ensure!(
        (t.imported_principal - totals0.imported_principal).fen() == p
            && (t.imported_bonus - totals0.imported_bonus).fen() == b
            && t.imported_points - totals0.imported_points == pts,
        "the ledger's imported money differs from the file's"
    );
    anyhow::ensure!(
        t.recharges == totals0.recharges,
        "an import counted as a recharge"
    );
    let (totals, held) = db.ledger_sides()?;
    let check = tongka_core::consistency::check(&totals, held);
    anyhow::ensure!(check.balanced, "the ledger does not balance: {check:?}");
    drop(c);
    server.stop().await;
    drop(engine);
    close(db).await?;
    Ok(ImportReport {
        members: opts.members,
        file_bytes: csv.len(),
        dry_run,
        import: took,
        rerun,
        commits: c1 - c0,
        load_avg_1m,
        import_cpu_secs: usage.cpu.map_or(0.0, |d| d.as_secs_f64()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn import_bench_runs_end_to_end() {
        let report = import(ImportBenchOptions {
            members: 4_100,
            data_dir: None,
            unsigned: false,
        })
        .await
        .unwrap();
        assert_eq!(report.members, 4_100);
        assert!(report.commits >= 3, "{report}");
        assert!(report.to_string().contains("members imported in"));
    }
}
