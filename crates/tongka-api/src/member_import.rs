//! Member import from another system (会员导入): `POST /members/import`.
//! The rows are checked by the core (`tongka_core::member_import::plan`,
//! against the index and the programme now); a dry run lists every
//! rejected row; a real run with any rejected row changes nothing
//! (`import_rejected`, the rows a JSON array); a good file becomes one
//! registration with opening balances per member, made by
//! `Engine::import_members` a chunk (`CHUNK_ROWS` rows) per commit.
//!
//! Idempotency as the opening-stock import's (`stock_import`): each chunk's
//! key is `member-import:<hash>:<n>`, `hash` the first 32 hex digits of
//! the BLAKE3 hash of the body, `n` the chunk's number. A chunk made
//! already is not checked against the index (its members hold its numbers
//! now: `Lookups::done`) and is replayed, so the same file again answers
//! the same counts and creates nothing; after a run that stopped halfway
//! it makes the rest.
//!
//! A store imports: the opening balances are its share, as a recharge's
//! would be (spendable at other stores through the escrow); HQ holds no
//! stored value and is refused (`hq_holds_no_balances`).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_actors::{Engine, Idem, ImportRow, Outcome};
use tongka_core::authority::Act;
use tongka_core::member_import::{self, FILE_BYTES_MAX, Lookups, MemberPlan};
use tongka_core::money::Money;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::imports;
use crate::products::{RejectedRow, import_rejected};
use crate::*;

/// Chunks handed to the engine before the first is answered: the next
/// chunk's rows are claimed and prepared while the writer commits one.
const CHUNKS_IN_FLIGHT: usize = 2;

/// One chunk of an import: members committed together.
#[derive(Serialize, ToSchema)]
#[schema(as = MemberImportChunk)]
pub(crate) struct ChunkView {
    /// 1-based, in the file's order.
    chunk: usize,
    /// Its idempotency key (module doc of the route).
    #[schema(examples("member-import:3f2a9c0d1b7e4a5f8c6d2e1f0a9b8c7d:1"))]
    key: String,
    rows: usize,
    /// Made earlier by the same file, answered again (nothing created).
    replayed: bool,
}

/// What a member import did, or in a dry run would do.
#[derive(Serialize, ToSchema)]
#[schema(as = MemberImport)]
pub(crate) struct ImportView {
    dry_run: bool,
    /// Rows that are (or would be) imported, or were by an earlier run of
    /// the same file.
    accepted: usize,
    /// Members created by this request (0 in a dry run and on a re-run).
    created: usize,
    /// Rows of chunks made by an earlier run of the same file.
    replayed: usize,
    /// Σ of the accepted rows' opening principal, bonus and points.
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    points: i64,
    chunks: Vec<ChunkView>,
    /// Every rejected row, with its line, code and reasons.
    rejected: Vec<RejectedRow>,
}

/// A chunk's key.
fn chunk_idem(hash: &str, n: usize) -> Idem {
    imports::chunk_idem("POST /members/import", "member-import", hash, n)
}

/// The plan's questions, answered by the engine: the index, and which of
/// the file's chunks are made (each asked once).
struct Asked<'a> {
    engine: &'a Engine,
    hash: &'a str,
    done: Mutex<HashMap<usize, bool>>,
    /// The first error a lookup met (the plan's answer is then not used).
    failed: Mutex<Option<ApiError>>,
}

impl Asked<'_> {
    fn or_fail(&self, r: Result<bool, tongka_actors::EngineError>) -> bool {
        r.unwrap_or_else(|e| {
            self.failed
                .lock()
                .expect("lookup lock")
                .get_or_insert(ApiError::from(e));
            false
        })
    }
}

impl Lookups for Asked<'_> {
    fn phone_taken(&self, phone: &str) -> bool {
        self.or_fail(self.engine.phone_taken(phone))
    }

    fn card_taken(&self, card: &str) -> bool {
        self.or_fail(self.engine.card_taken(card))
    }

    fn done(&self, chunk: usize) -> bool {
        if let Some(d) = self.done.lock().expect("done lock").get(&chunk) {
            return *d;
        }
        let made = self
            .engine
            .replay(Some(&chunk_idem(self.hash, chunk)))
            .map(|r| r.is_some());
        let d = self.or_fail(made);
        self.done.lock().expect("done lock").insert(chunk, d);
        d
    }
}

fn too_large(n: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        format!("the file is {n} bytes, more than {FILE_BYTES_MAX}: split it"),
        format!("文件 {n} 字节，超过 {FILE_BYTES_MAX} 字节：请拆分后导入"),
    )
}

#[utoipa::path(
    post,
    path = "/api/v1/members/import",
    operation_id = "importMembers",
    tag = "members",
    summary = r#"Import members from CSV / 会员导入 (CSV)"#,
    description = r#"Store manager or owner, at a store (HQ holds no stored value: `hq_holds_no_balances`). A `text/csv` body (at most 16 MiB and 100,000 rows): a header row and one member per row; columns `phone` (手机号) and `name` (姓名), and optionally `birthday` (生日), `card_no` (卡号), `principal` (本金), `bonus` (赠送金额), `points` (积分), `level` (等级: a level's code or name). `?dry_run=true` checks every row (a bad phone or card number, one twice in the file or already a member's, a bad name or birthday, an amount negative, of more than two decimals or too large, bad points, an unknown level, a control character) and lists the rejected ones with line, code and reasons; nothing changes. A real run with any rejected row is refused whole (`import_rejected`, `rejected` the rows as an array). Otherwise each row becomes a member with its opening balance as this store's share (one op per member, `member_imported` in its history; not a recharge: counted apart in the ledger, as liability), 2,000 members per commit, each chunk under an idempotency key derived from the file's content hash and the chunk's number (`member-import:<hash>:<n>`): sending the same file again answers the same counts and creates nothing. An imported level is kept: the member starts at the level's threshold of cumulative principal. 会员导入：先试运行查看被拒绝的行；同一文件重复导入不会重复建会员。"#,
    params(("dry_run" = Option<bool>, Query, description = r#"true: check only."#)),
    request_body(content = String, content_type = "text/csv"),
    extensions(("x-codes" = json!([
        "unauthorized", "forbidden_for_role", "hq_holds_no_balances", "invalid_csv",
        "invalid_csv_header", "too_many_rows", "file_too_large", "import_rejected",
        "invalid_import_query", "phone_taken", "card_taken", "idempotency_key_in_progress",
        "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"A dry run: what would be imported, and the rows rejected."#, body = crate::member_import::ImportView, content_type = "application/json"),
        (status = 201, description = r#"Imported (or replayed): the chunks made."#, body = crate::member_import::ImportView, content_type = "application/json"),
    )
)]
pub(crate) async fn import_members(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authorised(&s, Act::Import)?;
    let (dry_run, _) = imports::query(&pairs, &["dry_run"])?;
    if body.len() > FILE_BYTES_MAX {
        return Err(too_large(body.len()));
    }
    imports::text(&body)?;
    let hash = imports::hash(&[&body]);
    // Reading 100,000 rows and asking the index of each: off the async
    // workers.
    let engine = s.engine().clone();
    let (plan, hash): (MemberPlan, String) = tokio::task::spawn_blocking(move || {
        let text = std::str::from_utf8(&body).expect("checked above");
        let asked = Asked {
            engine: &engine,
            hash: &hash,
            done: Mutex::new(HashMap::new()),
            failed: Mutex::new(None),
        };
        let plan = member_import::plan(text, &engine.programme(), &asked)
            .map_err(|e| ApiError::from_domain(StatusCode::UNPROCESSABLE_ENTITY, &e));
        match asked.failed.into_inner().expect("lookup lock") {
            Some(e) => Err(e),
            None => plan.map(|p| (p, hash)),
        }
    })
    .await
    .map_err(|e| {
        ApiError::from(tongka_actors::EngineError::Internal(format!(
            "import plan: {e}"
        )))
    })??;
    let (principal, bonus, points) = plan.totals();
    let mut view = ImportView {
        dry_run,
        accepted: plan.rows.len(),
        created: 0,
        replayed: 0,
        principal,
        bonus,
        points,
        chunks: plan
            .chunks()
            .map(|(n, c)| ChunkView {
                chunk: n,
                key: chunk_idem(&hash, n).key,
                rows: c.len(),
                replayed: plan.done.contains(&n),
            })
            .collect(),
        rejected: plan
            .rejected
            .iter()
            .map(|(line, e)| RejectedRow::of(*line, e))
            .collect(),
    };
    if dry_run {
        view.replayed = view
            .chunks
            .iter()
            .filter(|c| c.replayed)
            .map(|c| c.rows)
            .sum();
        return Ok(json_answer(StatusCode::OK, &view));
    }
    if !view.rejected.is_empty() {
        return Err(import_rejected(&view.rejected, "会员"));
    }
    if plan.rows.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_csv",
            "the file has no member rows",
            "文件中没有会员行",
        ));
    }
    let total = view.chunks.len();
    let by = actor(&who);
    let mut running = std::collections::VecDeque::new();
    let mut answers = Vec::with_capacity(total);
    for (n, chunk) in plan.chunks() {
        let rows: Vec<ImportRow> = chunk
            .iter()
            .map(|r| ImportRow {
                profile: r.profile.clone(),
                opening: r.opening.clone(),
            })
            .collect();
        let (engine, by, idem) = (s.engine().clone(), by.clone(), chunk_idem(&hash, n));
        running.push_back((
            n,
            tokio::spawn(async move { engine.import_members(by, idem, rows).await }),
        ));
        if running.len() >= CHUNKS_IN_FLIGHT {
            let (n, task) = running.pop_front().expect("a chunk in flight");
            answers.push((n, task.await));
        }
    }
    while let Some((n, task)) = running.pop_front() {
        answers.push((n, task.await));
    }
    // The chunks before a failed one are made: the same file again makes
    // the rest (module doc).
    for (n, answer) in answers {
        let answer = answer.map_err(|e| {
            ApiError::from(tongka_actors::EngineError::Internal(format!(
                "import chunk: {e}"
            )))
        })?;
        let (out, replayed) =
            answer.map_err(|e| ApiError::from(e).with("chunk", n).with("chunks", total))?;
        let Outcome::Imported { count, .. } = out else {
            return Err(ApiError::from(tongka_actors::EngineError::Internal(
                "an import chunk answered another outcome".into(),
            )));
        };
        let c = &mut view.chunks[n - 1];
        c.replayed = replayed;
        if replayed {
            view.replayed += count as usize;
        } else {
            view.created += count as usize;
        }
    }
    Ok(json_answer(StatusCode::CREATED, &view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_of_the_file_and_the_chunk() {
        let a = imports::hash(&[b"phone,name\n13800000001,a\n"]);
        assert_ne!(a, imports::hash(&[b"phone,name\n13800000001,b\n"]));
        let (k1, k2) = (chunk_idem(&a, 1), chunk_idem(&a, 2));
        assert_ne!(k1.key, k2.key);
        assert!(k1.key.starts_with("member-import:"));
        assert!(k1.key.len() <= tongka_core::op::KEY_LEN_MAX);
        // Not the stock import's key of the same file and chunk.
        let stock = imports::chunk_idem("POST /stock/import", "stock-import", &a, 1);
        assert_ne!(stock.fingerprint, k1.fingerprint);
    }
}
