//! `tongka-pgload`: load a tongka node's op export into PostgreSQL (see
//! the library's doc and README, "Exporting the op stream"). Run it from
//! cron or a loop: each run loads what is new and stops.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Load a tongka node's ops into PostgreSQL, resuming where the last run
/// stopped (the cursor is kept in PostgreSQL, table tongka_export_cursor).
#[derive(Parser)]
#[command(name = "tongka-pgload", version)]
struct Args {
    /// The node's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    node: String,
    /// A file holding the node's admin token (`<data-dir>/admin.token`) or
    /// a session token of HQ finance or the owner; else TONGKA_TOKEN.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// PostgreSQL connection string, e.g. "host=127.0.0.1 port=5432
    /// user=tongka dbname=reports"; else TONGKA_PG.
    #[arg(long)]
    pg: Option<String>,
    /// The cursor's name in PostgreSQL (default: the node URL).
    #[arg(long)]
    source: Option<String>,
    /// Ops per export request (1 to 100000).
    #[arg(long, default_value_t = 10_000)]
    limit: u64,
    /// Ops per PostgreSQL transaction.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let token = match &a.token_file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading {}", p.display()))?
            .trim()
            .to_string(),
        None => std::env::var("TONGKA_TOKEN")
            .context("give --token-file, or the token in TONGKA_TOKEN")?,
    };
    let pg = match a.pg {
        Some(pg) => pg,
        None => std::env::var("TONGKA_PG").context("give --pg, or TONGKA_PG")?,
    };
    let cfg = tongka_pgload::Config {
        source: a.source.unwrap_or_else(|| a.node.clone()),
        node: a.node,
        token,
        pg,
        limit: a.limit.clamp(1, 100_000),
        batch: a.batch.max(1),
    };
    let r = tongka_pgload::run(&cfg)?;
    println!(
        "loaded: {} requests, {} ops received, {} new rows; cursor {}",
        r.requests,
        r.received,
        r.inserted,
        if r.cursor.is_empty() {
            "(none)"
        } else {
            &r.cursor
        }
    );
    Ok(())
}
