//! `GET /ops/export`: the op log for consumers outside the chain (an
//! analytics database, a data warehouse), as NDJSON, resumable from a
//! version vector.
//!
//! Why a version vector is the whole cursor: every node holds each
//! origin's ops as a prefix, numbered from 1 without gaps (causal
//! delivery; the writer asserts it), and only ever appends. So "the ops a
//! consumer has seen" is, per origin, "up to seq n": a version vector. An
//! export from `since` sends ops with `seq > since[origin]`, each origin's
//! in order; the cursor after any line is `since` raised by the `(origin,
//! seq)` of every op line read so far, and the `end` line states it. A
//! consumer that stores that cursor with what it loaded, in one
//! transaction, and asks again from it sees every op exactly once, however
//! many ops are written meanwhile and wherever a connection drops.
//!
//! The order is causal across origins too: the next op sent is, of the
//! origins' next ops whose dependencies (`Op::deps`) were all sent (or are
//! below `since`), the earliest by hybrid logical clock. So a consumer may
//! apply lines as they come.
//!
//! Streaming: the export reads the log a chunk per origin at a time
//! (`Db::ops_from_encoded`, each read its own short read transaction, off
//! the async workers) up to the version vector the node held when the
//! request came (`Db::summary`: only committed ops, a causally closed
//! set), and sends about 64 KiB at a time through a bounded channel: a
//! slow reader slows the export, nothing piles up in memory, and a reader
//! that hangs up ends it at the next send; one that takes nothing for
//! `EXPORT_STALL` ends it too (the node's graceful shutdown lets a
//! response in flight finish: it must not wait on a reader that is gone).
//!
//! Each line carries the op's bytes as the log holds them (base64) and
//! their BLAKE3 hash, so a consumer can check the origin's signature
//! itself (`tongka_core::op`: `Op::sig`, `BatchSig`); the JSON beside them
//! is for convenience: `body` is the serde form of `OpBody` (a kind this
//! build does not know still exports), and `ledger` the op's part of each
//! `/ledger/summary` total, by the very rule the node sums them with
//! (`LedgerTotals::apply`), so sums over the lines equal the node's
//! figures.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Frame;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tongka_actors::Engine;
use tongka_core::audit;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::day::Day;
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::money::Money;
use tongka_core::op::{EncodedOp, OpBody};
use tongka_core::staff::Role;
use tongka_core::state::LedgerTotals;

use crate::*;

/// Ops an export sends when `limit` is not given.
pub const EXPORT_LIMIT_DEFAULT: u64 = 10_000;
/// The most ops one export sends: a consumer asks again from the cursor.
pub const EXPORT_LIMIT_MAX: u64 = 100_000;
/// The most origins `since` names (a chain has far fewer nodes).
pub const EXPORT_ORIGINS_MAX: usize = 1000;
/// Ops read from one origin's log at a time.
const CHUNK: usize = 256;
/// About how many bytes are sent at a time.
const FLUSH_BYTES: usize = 64 * 1024;
/// Sends in flight before the export waits for the reader.
const CHANNEL: usize = 4;
/// How long the export waits for a reader that takes nothing before it
/// ends the stream (the reader resumes from what it read).
pub const EXPORT_STALL: std::time::Duration = std::time::Duration::from_secs(30);

/// Exports streaming now (for tests and metrics).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// How many exports are streaming now: one ends when its last line is
/// sent or its reader hangs up.
pub fn exports_running() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// A version vector as a query parameter and in the `end` line:
/// `<origin>.<seq>` joined by `_` (`hq.3_store-1.42`), origins in name
/// order, zeros left out; empty for nothing. Only characters that need no
/// escaping in a URL.
pub fn render_vv(vv: &VersionVector) -> String {
    let mut out = String::new();
    for (origin, seq) in vv.iter().filter(|(_, s)| *s > 0) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(origin.as_str());
        out.push('.');
        out.push_str(&seq.to_string());
    }
    out
}

/// What `render_vv` writes (an origin named once, a seq a decimal number
/// without sign or leading zero); empty is the empty vector.
pub fn parse_vv(s: &str) -> Option<VersionVector> {
    let mut vv = VersionVector::new();
    if s.is_empty() {
        return Some(vv);
    }
    if s.len() > EXPORT_ORIGINS_MAX * 54 {
        return None;
    }
    let mut seen = BTreeSet::new();
    for part in s.split('_') {
        let (origin, seq) = part.split_once('.')?;
        let origin = NodeId::new(origin).ok()?;
        let digits_ok = !seq.is_empty()
            && seq.len() <= 20
            && seq.bytes().all(|b| b.is_ascii_digit())
            && (seq == "0" || !seq.starts_with('0'));
        if !digits_ok {
            return None;
        }
        let seq: u64 = seq.parse().ok()?;
        if !seen.insert(origin.clone()) || seen.len() > EXPORT_ORIGINS_MAX {
            return None;
        }
        vv.raise(&origin, seq);
    }
    Some(vv)
}

/// The query, read.
#[derive(Debug)]
struct ExportQuery {
    since: VersionVector,
    /// Origins `since` names (a zero entry included: it must be known too).
    named: Vec<NodeId>,
    limit: u64,
}

fn bad(field: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_export_query",
        format!("{field}: {en}"),
        format!("{field}：{zh}"),
    )
    .with("field", field)
}

/// Each parameter at most once, none unknown; an empty value is as if not
/// given. The value sent is never echoed.
fn parse_query(pairs: &[(String, String)]) -> Result<ExportQuery, ApiError> {
    let mut q = ExportQuery {
        since: VersionVector::new(),
        named: Vec::new(),
        limit: EXPORT_LIMIT_DEFAULT,
    };
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (k, v) in pairs {
        let field = match k.as_str() {
            "since" => "since",
            "limit" => "limit",
            _ => {
                return Err(bad(
                    "query",
                    "unknown parameter: give since or limit",
                    "未知参数：可用 since、limit",
                ));
            }
        };
        if !seen.insert(field) {
            return Err(bad(field, "given twice", "重复给出"));
        }
        if v.is_empty() {
            continue;
        }
        if field == "since" {
            q.since = parse_vv(v).ok_or_else(|| {
                bad(
                    field,
                    "a version vector: <origin>.<seq> joined by _ (e.g. hq.3_store-1.42), each origin a node name once",
                    "应为版本向量：<节点>.<序号>，以 _ 连接（如 hq.3_store-1.42），每个节点只出现一次",
                )
            })?;
            q.named = v
                .split('_')
                .filter_map(|p| NodeId::new(p.split_once('.')?.0).ok())
                .collect();
        } else {
            q.limit = (v.len() <= 6 && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse::<u64>().ok())
                .flatten()
                .filter(|n| (1..=EXPORT_LIMIT_MAX).contains(n))
                .ok_or_else(|| {
                    bad(
                        field,
                        "a whole number from 1 to 100000",
                        "应为 1 到 100000 的整数",
                    )
                })?;
        }
    }
    Ok(q)
}

/// `since` against what this node holds: an origin it holds no op of, or
/// more ops of an origin than it holds, is not a cursor of this node's log
/// (another chain's, or a node restored from an older backup).
fn check_since(q: &ExportQuery, held: &VersionVector) -> Result<(), ApiError> {
    for origin in &q.named {
        if held.get(origin) == 0 {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "export_origin_unknown",
                format!("since names {origin}, of which this node holds no op"),
                format!("since 中的节点 {origin} 在本节点没有任何操作记录"),
            )
            .with("origin", origin.as_str()));
        }
        let (asked, have) = (q.since.get(origin), held.get(origin));
        if asked > have {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "export_cursor_ahead",
                format!("since holds {asked} ops of {origin}; this node holds {have}: ask a node that holds them, or later"),
                format!("since 含 {origin} 的 {asked} 条操作，本节点只有 {have} 条：请向持有这些操作的节点导出，或稍后再试"),
            )
            .with("origin", origin.as_str())
            .with("held", have));
        }
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/export",
    operation_id = "exportOps",
    tag = "node",
    summary = r#"Export the op log as NDJSON, resumable / 导出操作日志（NDJSON，可续传）"#,
    description = r#"The ops this node holds that `since` does not, one JSON object per line (`application/x-ndjson`), streamed; for loading into an analytics database (README, "Exporting the op stream"; a worked PostgreSQL loader: `tools/pg-loader`). HQ finance, the owner and the admin token only.

Lines of `"type": "op"`: `op` (`<origin>#<seq>`), `origin`, `seq`, `hlc` (`{ms, count}`), `at` (RFC 3339, UTC), `day` (the chain's calendar day, China time), `by`, `idem` (the idempotency key, or null), `kind`, `deps` (the version vector the origin held), `member` and `amount` (as the audit trail shows them, or null), `ledger` (the op's part of each `/ledger/summary` total, zeros left out: summed over every line, the node's figures), `body` (the op's content, serde form, tagged by variant), `bytes` (the op as the log holds it, base64) and `hash` (its BLAKE3, hex) to check the origin's signature.

Order: each origin's ops in sequence, and across origins causal (an op comes after every op it depends on), by clock otherwise. The last line is `{"type": "end", "cursor", "ops", "more", "held"}`: `cursor` is the version vector to give as `since` next (also computable: `since` raised by the `origin`/`seq` of every op line read, so after a dropped connection a consumer resumes from what it loaded); `more` true when the node held more ops than `limit` let through; `held`, what the node held when the export began. A stream without an `end` line was cut short (a reader that takes nothing for 30 s is cut off; a failed read of the log ends with a `"type": "error"` line): resume from the ops read. Resuming from a cursor gives exactly the ops not yet sent, while ops are being written too."#,
    params(
        ("since" = Option<String>, Query, description = r#"A version vector: `<origin>.<seq>` joined by `_`, the `cursor` of an earlier export; empty or absent: from the first op. Each origin must be one this node holds ops of, with no more ops than it holds."#, example = "hq.3_store-1.42"),
        ("limit" = Option<u64>, Query, description = r#"The most ops sent, 1 to 100000 (default 10000)."#)
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_export_query", "export_origin_unknown", "export_cursor_ahead", "export_not_for_role", "unauthorized",
    ]))),
    responses(
        (status = 200, description = r#"NDJSON: op lines, then one `end` line."#, body = String, content_type = "application/x-ndjson")
    )
)]
pub(crate) async fn export(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    // Every member's every movement: HQ finance and the owner (and the
    // token), not the other roles that may see reports (`ROUTES` lets
    // them through as `reports`; this rule is narrower, so its own code).
    if let Some(role) = who.role()
        && !matches!(role, Role::HqFinance | Role::Owner)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "export_not_for_role",
            format!(
                "a {} may not export the op log: HQ finance and the owner may",
                role.as_str()
            ),
            "导出操作日志仅限总部财务与店主",
        )
        .with("role", role.as_str()));
    }
    let q = parse_query(&pairs)?;
    let engine = s.engine().clone();
    let held = engine.db().summary().vv;
    check_since(&q, &held)?;
    let (tx, rx) = mpsc::channel(CHANNEL);
    RUNNING.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(produce(engine, Export::new(q.since, &held, q.limit), tx));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::new(Lines(rx)),
    )
        .into_response())
}

/// The response body: what the producer sends, as it comes.
struct Lines(mpsc::Receiver<Bytes>);

impl hyper::body::Body for Lines {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// Counts the export out of `RUNNING` however it ends.
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn produce(engine: Engine, mut ex: Export, tx: mpsc::Sender<Bytes>) {
    let _running = Running;
    loop {
        let wants = ex.wants();
        if !wants.is_empty() {
            let engine = engine.clone();
            let read = tokio::task::spawn_blocking(move || {
                wants
                    .into_iter()
                    .map(|(origin, from, n)| {
                        let ops = engine
                            .db()
                            .ops_from_encoded(&origin, from, n)
                            .map_err(|e| e.to_string())?;
                        Ok((origin, ops))
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .await;
            match read {
                Ok(Ok(chunks)) => ex.fill(chunks),
                Ok(Err(e)) => {
                    tracing::warn!("op export: reading the log: {e}");
                    let _ = tx.send(ex.error_line()).await;
                    return;
                }
                Err(e) => {
                    tracing::warn!("op export: the read task: {e}");
                    let _ = tx.send(ex.error_line()).await;
                    return;
                }
            }
        }
        let mut buf = Vec::with_capacity(FLUSH_BYTES + 8 * 1024);
        let step = ex.emit(&mut buf);
        if step == Step::Done {
            ex.end_line(&mut buf);
        }
        if !buf.is_empty() {
            match tokio::time::timeout(EXPORT_STALL, tx.send(Bytes::from(buf))).await {
                Ok(Ok(())) => {}
                // The reader hung up, or took nothing for `EXPORT_STALL` (gone
                // without closing, or stuck): end, so neither this task
                // nor the node's graceful shutdown waits on it.
                Ok(Err(_)) | Err(_) => return,
            }
        }
        if step == Step::Done {
            return;
        }
    }
}

/// One origin's part of an export.
struct Origin {
    name: NodeId,
    /// The last seq to send (what the node held when the export began).
    upto: u64,
    /// Read, not sent yet, in seq order.
    buf: VecDeque<EncodedOp>,
}

/// Where `emit` stopped.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// An origin's buffer ran dry: read more.
    Refill,
    /// The buffer is full: send it.
    Full,
    /// Nothing more to send (or `limit` reached).
    Done,
}

/// The merge of the origins' logs into one causal stream (sans IO: the
/// producer reads and sends).
struct Export {
    /// `since` raised by every op sent.
    cursor: VersionVector,
    held: VersionVector,
    origins: Vec<Origin>,
    left: u64,
    sent: u64,
}

impl Export {
    fn new(since: VersionVector, held: &VersionVector, limit: u64) -> Export {
        let origins = held
            .iter()
            .filter(|(name, upto)| since.get(name) < *upto)
            .map(|(name, upto)| Origin {
                name: name.clone(),
                upto,
                buf: VecDeque::new(),
            })
            .collect();
        Export {
            cursor: since,
            held: held.clone(),
            origins,
            left: limit,
            sent: 0,
        }
    }

    /// The reads to make: `(origin, from seq, at most)` for each origin
    /// with ops left to send and none read.
    fn wants(&self) -> Vec<(NodeId, u64, usize)> {
        if self.left == 0 {
            return Vec::new();
        }
        self.origins
            .iter()
            .filter(|o| o.buf.is_empty())
            .filter_map(|o| {
                let next = self.cursor.get(&o.name) + 1;
                let n = (o.upto + 1)
                    .saturating_sub(next)
                    .min(CHUNK as u64)
                    .min(self.left);
                (n > 0).then(|| (o.name.clone(), next, n as usize))
            })
            .collect()
    }

    fn fill(&mut self, chunks: Vec<(NodeId, Vec<EncodedOp>)>) {
        for (name, ops) in chunks {
            let Some(o) = self.origins.iter_mut().find(|o| o.name == name) else {
                continue;
            };
            let mut next = self.cursor.get(&name) + 1;
            for e in ops {
                // The log is a prefix per origin; anything else ends this
                // origin's part here rather than send a gap.
                if e.op.id.seq != next || next > o.upto {
                    break;
                }
                o.buf.push_back(e);
                next += 1;
            }
            if o.buf.is_empty() {
                // Read nothing (cannot happen below what was committed):
                // this origin is done for this export.
                o.upto = next - 1;
            }
        }
    }

    /// Write op lines into `buf` until a refill, a full buffer or the end.
    fn emit(&mut self, buf: &mut Vec<u8>) -> Step {
        loop {
            if self.left == 0 {
                return Step::Done;
            }
            let mut pending = false;
            let mut best: Option<usize> = None;
            for (i, o) in self.origins.iter().enumerate() {
                if self.cursor.get(&o.name) >= o.upto {
                    continue;
                }
                let Some(front) = o.buf.front() else {
                    pending = true;
                    continue;
                };
                let ready = front
                    .op
                    .deps
                    .iter()
                    .all(|(n, s)| *n == o.name || self.cursor.get(n) >= s);
                let earlier = best.is_none_or(|b| {
                    let b = self.origins[b].buf.front().expect("a candidate has one");
                    (front.op.hlc, &front.op.id.origin) < (b.op.hlc, &b.op.id.origin)
                });
                if ready && earlier {
                    best = Some(i);
                }
            }
            if pending {
                return Step::Refill;
            }
            // None ready: the log is causally closed below `held`, so this
            // means nothing is left.
            let Some(i) = best else {
                return Step::Done;
            };
            let e = self.origins[i].buf.pop_front().expect("the candidate");
            write_line(buf, &e);
            self.cursor.raise(&e.op.id.origin, e.op.id.seq);
            self.left -= 1;
            self.sent += 1;
            if buf.len() >= FLUSH_BYTES {
                return Step::Full;
            }
        }
    }

    fn more(&self) -> bool {
        self.origins
            .iter()
            .any(|o| self.cursor.get(&o.name) < o.upto)
    }

    fn end_line(&self, buf: &mut Vec<u8>) {
        let end = EndLine {
            kind: "end",
            cursor: render_vv(&self.cursor),
            ops: self.sent,
            more: self.more(),
            held: render_vv(&self.held),
        };
        serde_json::to_writer(&mut *buf, &end).expect("an end line serialises");
        buf.push(b'\n');
    }

    fn error_line(&self) -> Bytes {
        let line = serde_json::json!({
            "type": "error",
            "code": "storage_unavailable",
            "message": "reading the op log failed: resume from the ops read",
            "message_zh": "读取操作日志失败：请从已读取的操作处续传",
            "cursor": render_vv(&self.cursor),
        });
        let mut out = line.to_string().into_bytes();
        out.push(b'\n');
        Bytes::from(out)
    }
}

#[derive(Serialize)]
struct EndLine {
    #[serde(rename = "type")]
    kind: &'static str,
    cursor: String,
    ops: u64,
    more: bool,
    held: String,
}

/// One op, as a line.
#[derive(Serialize)]
struct OpLine<'a> {
    #[serde(rename = "type")]
    line: &'static str,
    op: String,
    origin: &'a NodeId,
    seq: u64,
    hlc: Hlc,
    at: String,
    day: String,
    by: &'a str,
    idem: Option<&'a str>,
    kind: &'static str,
    deps: &'a VersionVector,
    member: Option<MemberId>,
    amount: Option<Money>,
    ledger: Value,
    body: &'a OpBody,
    bytes: String,
    hash: String,
}

/// `LedgerTotals` of no op, as JSON: a field equal to it is left out of a
/// line's `ledger`.
static ZERO: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(LedgerTotals::default()).expect("totals serialise"));

/// The op's part of each ledger total (only those it changes).
fn ledger_part(e: &EncodedOp) -> Value {
    let mut t = LedgerTotals::default();
    t.apply(&e.op);
    match serde_json::to_value(&t) {
        Ok(Value::Object(mut m)) => {
            m.retain(|k, v| ZERO.get(k) != Some(v));
            Value::Object(m)
        }
        _ => Value::Object(Default::default()),
    }
}

fn write_line(buf: &mut Vec<u8>, e: &EncodedOp) {
    let op = &e.op;
    let f = audit::facts(&op.body);
    let line = OpLine {
        line: "op",
        op: op.id.to_string(),
        origin: &op.id.origin,
        seq: op.id.seq,
        hlc: op.hlc,
        at: humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(op.hlc.ms),
        )
        .to_string(),
        day: Day::of_ms(op.hlc.ms).to_string(),
        by: &op.by,
        idem: op.idem.as_deref(),
        kind: op.body.kind(),
        deps: &op.deps,
        member: f.member,
        amount: f.amount,
        ledger: ledger_part(e),
        body: &op.body,
        bytes: base64(&e.bytes),
        hash: hex::encode(e.hash),
    };
    serde_json::to_writer(&mut *buf, &line).expect("an op line serialises");
    buf.push(b'\n');
}

/// Standard base64 (RFC 4648 §4, padded): the op's bytes in a JSON string.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(ABC[(n >> 18) as usize & 63] as char);
        out.push(ABC[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            ABC[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            ABC[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_rfc_4648() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn version_vectors_read_back_and_bad_ones_are_refused() {
        let vv = parse_vv("hq.3_store-1.42").expect("parses");
        assert_eq!(vv.get(&NodeId::new("hq").unwrap()), 3);
        assert_eq!(render_vv(&vv), "hq.3_store-1.42");
        assert_eq!(render_vv(&parse_vv("").unwrap()), "");
        assert_eq!(render_vv(&parse_vv("store-1.0").unwrap()), "");
        for bad in [
            "hq",
            "hq.",
            ".3",
            "hq.03",
            "hq.-1",
            "hq.+1",
            "hq.1_hq.2",
            "HQ.1",
            "hq.1_",
            "hq.1,store-1.2",
            "hq.1\n",
            "hq\u{0}.1",
            "hq.99999999999999999999999",
        ] {
            assert!(parse_vv(bad).is_none(), "{bad:?}");
        }
    }

    /// A recharge at `origin` with `seq`, at clock `ms`, made holding `deps`.
    fn op(origin: &str, seq: u64, ms: u64, deps: &[(&str, u64)]) -> EncodedOp {
        use tongka_core::ids::{OpId, RechargeId};
        let mut dv = VersionVector::new();
        for (n, s) in deps {
            dv.raise(&NodeId::new(*n).unwrap(), *s);
        }
        EncodedOp::new(tongka_core::op::Op {
            id: OpId {
                origin: NodeId::new(origin).unwrap(),
                seq,
            },
            hlc: Hlc { ms, count: 0 },
            deps: dv,
            by: "admin".into(),
            idem: None,
            body: OpBody::Recharged {
                member: MemberId::parse("m-store-1-1").unwrap(),
                recharge: RechargeId::parse(&format!("r-{origin}-{seq}")).unwrap(),
                amount: Money::from_yuan(100),
                bonus: Money::ZERO,
                tender: tongka_core::checkout::TenderKind::Cash,
            },
            sig: Vec::new(),
        })
    }

    /// The op ids an export sends, draining it as the producer would.
    fn drain(ex: &mut Export, log: &[EncodedOp]) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let chunks = ex
                .wants()
                .into_iter()
                .map(|(o, from, n)| {
                    let ops: Vec<EncodedOp> = log
                        .iter()
                        .filter(|e| e.op.id.origin == o && e.op.id.seq >= from)
                        .take(n)
                        .cloned()
                        .collect();
                    (o, ops)
                })
                .collect();
            ex.fill(chunks);
            let mut buf = Vec::new();
            let step = ex.emit(&mut buf);
            for l in String::from_utf8(buf).unwrap().lines() {
                let v: Value = serde_json::from_str(l).unwrap();
                out.push(v["op"].as_str().unwrap().to_string());
            }
            if step == Step::Done {
                return out;
            }
        }
    }

    #[test]
    fn the_stream_is_causal_even_against_the_clock_and_resumes_exactly() {
        // store-2#1 was made holding store-1#1 but with an earlier clock
        // (a store whose clock is behind): causality wins over the clock;
        // otherwise the clock orders.
        let log = vec![
            op("store-1", 1, 100, &[]),
            op("store-1", 2, 300, &[]),
            op("store-2", 1, 50, &[("store-1", 1)]),
            op("store-2", 2, 200, &[("store-1", 1)]),
        ];
        let held = parse_vv("store-1.2_store-2.2").unwrap();
        let all = drain(&mut Export::new(VersionVector::new(), &held, 100), &log);
        assert_eq!(all, ["store-1#1", "store-2#1", "store-2#2", "store-1#2"]);
        // Two at a time, each from the cursor of the one before: the same
        // ops, once each.
        let mut since = VersionVector::new();
        let mut paged = Vec::new();
        loop {
            let mut ex = Export::new(since.clone(), &held, 2);
            let got = drain(&mut ex, &log);
            if got.is_empty() {
                assert!(!ex.more());
                break;
            }
            paged.extend(got);
            since = ex.cursor.clone();
        }
        assert_eq!(paged, all);
        // From a cursor part-way: only what follows it.
        let since = parse_vv("store-1.1_store-2.1").unwrap();
        let rest = drain(&mut Export::new(since, &held, 100), &log);
        assert_eq!(rest, ["store-2#2", "store-1#2"]);
    }
}
