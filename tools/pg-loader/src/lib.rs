//! tongka-pgload: a worked example of consuming a node's op export
//! (`GET /api/v1/ops/export`, NDJSON) from outside the chain: it loads
//! every op into PostgreSQL and keeps figures over them as views
//! (`schema.sql`), so HQ reporting can move onto an analytics database
//! when a chain outgrows one HQ node (ARCHITECTURE.md, "HQ reporting
//! beyond one node").
//!
//! It knows the documented wire format only, not the tongka crates, as an
//! integrator's loader would. Exactly once, by construction:
//! - the rows of a batch and the cursor after them commit in one
//!   PostgreSQL transaction, so after a crash, a dropped connection or a
//!   kill, the stored cursor is exactly what was loaded;
//! - the next run asks the node for the ops after that cursor (a version
//!   vector: per origin, the last seq loaded), which the node answers
//!   with exactly the ops not yet sent;
//! - rows are keyed by op id (origin, seq) and inserted with `ON CONFLICT
//!   DO NOTHING`, so even a cursor lost or reset loads nothing twice.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

use anyhow::{Context, bail};
use serde_json::Value;

/// The tables and views, created (or kept) at each start.
pub const SCHEMA: &str = include_str!("../schema.sql");

/// What to load from where.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node's base URL (`http://127.0.0.1:8080`).
    pub node: String,
    /// Its admin token, or a session of HQ finance or the owner.
    pub token: String,
    /// A libpq-style connection string (`host=… port=… user=… dbname=…`).
    pub pg: String,
    /// The cursor's key in `tongka_export_cursor` (default: the node URL).
    pub source: String,
    /// Ops per export request (the node allows up to 100000).
    pub limit: u64,
    /// Ops per PostgreSQL transaction.
    pub batch: usize,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Export requests made.
    pub requests: u64,
    /// Op lines received.
    pub received: u64,
    /// Rows inserted (received ops not already loaded).
    pub inserted: u64,
    /// The cursor stored at the end.
    pub cursor: String,
}

/// A cursor as the export writes it (`hq.3_store-1.42`; empty: nothing).
pub fn parse_cursor(s: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for part in s.split('_').filter(|p| !p.is_empty()) {
        let (origin, seq) = part
            .rsplit_once('.')
            .with_context(|| format!("not a cursor: {s:?}"))?;
        let seq: u64 = seq
            .parse()
            .with_context(|| format!("not a cursor: {s:?}"))?;
        out.insert(origin.to_string(), seq);
    }
    Ok(out)
}

/// The cursor's text (origins in name order, zeros left out), as the
/// node writes it.
pub fn render_cursor(c: &BTreeMap<String, u64>) -> String {
    c.iter()
        .filter(|(_, s)| **s > 0)
        .map(|(o, s)| format!("{o}.{s}"))
        .collect::<Vec<_>>()
        .join("_")
}

const INSERT: &str = "INSERT INTO tongka_ops
    (origin, seq, hlc_ms, hlc_count, at, day, by_whom, idem, kind, member, amount,
     ledger, body, bytes, hash)
    VALUES ($1, $2, $3, $4, $5::text::timestamptz, $6::text::date, $7, $8, $9, $10,
     $11::text::numeric, $12::text::jsonb, $13::text::jsonb, decode($14::text, 'base64'), $15)
    ON CONFLICT (origin, seq) DO NOTHING";

const SAVE_CURSOR: &str = "INSERT INTO tongka_export_cursor (source, cursor, ops, loaded_at)
    VALUES ($1, $2, $3, now())
    ON CONFLICT (source) DO UPDATE
    SET cursor = EXCLUDED.cursor, ops = tongka_export_cursor.ops + EXCLUDED.ops,
        loaded_at = now()";

/// Load every op the node holds that PostgreSQL does not, resuming from
/// the stored cursor; until the node has nothing more.
pub fn run(cfg: &Config) -> anyhow::Result<Report> {
    let mut pg =
        postgres::Client::connect(&cfg.pg, postgres::NoTls).context("connecting to PostgreSQL")?;
    pg.batch_execute(SCHEMA).context("creating the tables")?;
    let mut report = Report::default();
    loop {
        let stored: Option<String> = pg
            .query_opt(
                "SELECT cursor FROM tongka_export_cursor WHERE source = $1",
                &[&cfg.source],
            )?
            .map(|r| r.get(0));
        let since = stored.unwrap_or_default();
        let more = load_once(cfg, &mut pg, &since, &mut report)?;
        if !more {
            return Ok(report);
        }
    }
}

/// One export request, loaded batch by batch; whether the node said it
/// holds more.
fn load_once(
    cfg: &Config,
    pg: &mut postgres::Client,
    since: &str,
    report: &mut Report,
) -> anyhow::Result<bool> {
    let url = format!(
        "{}/api/v1/ops/export?since={since}&limit={}",
        cfg.node.trim_end_matches('/'),
        cfg.limit
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .get(&url)
        .header("Authorization", &format!("Bearer {}", cfg.token))
        .call()
        .with_context(|| format!("GET {url}"))?;
    report.requests += 1;
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    if status != 200 {
        let text = body.read_to_string().unwrap_or_default();
        bail!("the node refused the export ({status}): {text}");
    }
    let mut cursor = parse_cursor(since)?;
    report.cursor = render_cursor(&cursor);
    let mut batch: Vec<Value> = Vec::with_capacity(cfg.batch);
    let reader = BufReader::new(body.into_reader());
    for line in reader.lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                // Keep what arrived whole; the next run resumes after it.
                commit(pg, cfg, &mut batch, &cursor, report)?;
                bail!("the export was cut short ({e}); run again to resume");
            }
        };
        let v: Value = serde_json::from_str(&line).context("an export line")?;
        match v["type"].as_str() {
            Some("op") => {
                let origin = v["origin"].as_str().context("origin")?.to_string();
                let seq = v["seq"].as_u64().context("seq")?;
                let have = cursor.entry(origin).or_default();
                if seq != *have + 1 {
                    bail!("op {} after seq {have}: not the export's order", v["op"]);
                }
                *have = seq;
                report.received += 1;
                batch.push(v);
                if batch.len() >= cfg.batch {
                    commit(pg, cfg, &mut batch, &cursor, report)?;
                }
            }
            Some("end") => {
                let end = v["cursor"].as_str().context("cursor")?;
                if end != render_cursor(&cursor) {
                    bail!("the end line's cursor {end} is not the ops received");
                }
                commit(pg, cfg, &mut batch, &cursor, report)?;
                return Ok(v["more"].as_bool().unwrap_or(false));
            }
            Some("error") => {
                commit(pg, cfg, &mut batch, &cursor, report)?;
                bail!("the node stopped the export: {}", v["message"]);
            }
            _ => bail!("an export line of unknown type: {line}"),
        }
    }
    commit(pg, cfg, &mut batch, &cursor, report)?;
    bail!("the export ended without its end line; run again to resume")
}

/// The batch's rows and the cursor after them, in one transaction.
fn commit(
    pg: &mut postgres::Client,
    cfg: &Config,
    batch: &mut Vec<Value>,
    cursor: &BTreeMap<String, u64>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let text = render_cursor(cursor);
    if batch.is_empty() && text == report.cursor {
        return Ok(());
    }
    let mut tx = pg.transaction()?;
    let insert = tx.prepare(INSERT)?;
    for v in batch.iter() {
        let s = |k: &str| v[k].as_str().map(str::to_string);
        let hlc_count = i32::try_from(v["hlc"]["count"].as_u64().context("hlc")?)?;
        let n = tx.execute(
            &insert,
            &[
                &s("origin"),
                &i64::try_from(v["seq"].as_u64().context("seq")?)?,
                &i64::try_from(v["hlc"]["ms"].as_u64().context("hlc")?)?,
                &hlc_count,
                &s("at"),
                &s("day"),
                &s("by"),
                &s("idem"),
                &s("kind"),
                &s("member"),
                &s("amount"),
                &v["ledger"].to_string(),
                &v["body"].to_string(),
                &s("bytes"),
                &s("hash"),
            ],
        )?;
        report.inserted += n;
    }
    tx.execute(
        SAVE_CURSOR,
        &[&cfg.source, &text, &(i64::try_from(batch.len())?)],
    )?;
    tx.commit()?;
    batch.clear();
    report.cursor = text;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back() {
        let c = parse_cursor("hq.3_store-1.42").unwrap();
        assert_eq!(c["hq"], 3);
        assert_eq!(c["store-1"], 42);
        assert_eq!(render_cursor(&c), "hq.3_store-1.42");
        assert!(parse_cursor("").unwrap().is_empty());
        assert!(parse_cursor("hq").is_err());
        assert!(parse_cursor("hq.x").is_err());
    }
}
