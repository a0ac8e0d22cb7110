//! `GET /audit`: the audit trail (审计日志), every money movement and rule
//! change with who, where and when, newest first, a page at a time.
//!
//! The query is parsed here, strictly (422 `invalid_audit_filter` with the
//! `field` at fault; the value sent is never echoed); what an op means
//! (kind, member, amount, summary) is the core's (`tongka_core::audit`);
//! the walk of the op log is the db's (`Db::audit`).

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::audit::{self, Cursor, Filter, SCAN_BUDGET};
use tongka_core::day::Day;
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::money::Money;
use tongka_core::op::{KEY_LEN_MAX, Op};
use tongka_core::staff::StaffBook;
use utoipa::ToSchema;

use crate::render::Text;
use crate::*;

/// Entries a page holds when `limit` is not given.
pub const AUDIT_LIMIT_DEFAULT: usize = 50;

/// One op of the trail.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub(crate) struct AuditEntryView {
    /// The op id, `<origin>#<seq>` (as in a member's history).
    #[schema(examples("store-1#42"))]
    op: String,
    /// RFC 3339, UTC, milliseconds (the op's hybrid logical clock time).
    #[schema(value_type = String, format = DateTime)]
    at: Text<humantime::Rfc3339Timestamp>,
    /// The node that made it.
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// Who made it: a staff id (`s-hq-3`), or an integration token's name
    /// (`admin`).
    #[schema(examples("admin"))]
    by: String,
    /// Their name as this node knows it.
    by_name: String,
    #[schema(value_type = crate::openapi::AuditKind)]
    kind: &'static str,
    /// The member it concerns (a merge: the survivor).
    #[schema(value_type = Option<crate::openapi::MemberId>, required = true)]
    member: Option<MemberId>,
    /// The money it moves: a recharge's amount plus bonus, a sale's
    /// payable, a refund's amount, a share given or moved.
    #[schema(value_type = Option<crate::openapi::Money>, required = true)]
    amount: Option<Money>,
    /// The manager who approved it (a refund above the limit).
    #[schema(required = true)]
    approved_by: Option<String>,
    /// Their name (so a reader who may not list the staff, HQ finance,
    /// sees it too); null when none approved.
    #[schema(required = true)]
    approved_by_name: Option<String>,
    /// One line, English.
    summary: String,
    /// One line, Chinese.
    summary_zh: String,
}

/// A page of the trail.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditPage)]
pub(crate) struct AuditView {
    /// Newest first.
    entries: Vec<AuditEntryView>,
    /// Give it as `before` for the next page; `null` when the listing is
    /// done. A page may hold fewer than `limit` entries (even none) and
    /// still have a `next`: it stops after examining 20000 ops.
    #[schema(required = true, examples("hq.3_store-1.41"))]
    next: Option<String>,
}

/// One op as the trail shows it; who made and who approved it named as
/// the chain's book names them now, else by their id (an integration
/// token's name, an account this node does not know yet).
fn entry(book: &StaffBook, op: &Op) -> AuditEntryView {
    let f = audit::facts(&op.body);
    AuditEntryView {
        op: op.id.to_string(),
        at: Text(humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(op.hlc.ms),
        )),
        store: op.id.origin.clone(),
        by: op.by.clone(),
        by_name: crate::render::by_name(book, &op.by),
        kind: op.body.kind(),
        member: f.member,
        amount: f.amount,
        approved_by_name: f
            .approved_by
            .as_deref()
            .map(|a| crate::render::by_name(book, a)),
        approved_by: f.approved_by,
        summary: f.summary,
        summary_zh: f.summary_zh,
    }
}

/// The filter, cursor and limit a query asks for.
#[derive(Debug)]
pub(crate) struct AuditQuery {
    pub filter: Filter,
    pub before: Option<Cursor>,
    pub limit: usize,
}

fn bad(field: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_audit_filter",
        format!("{field}: {en}"),
        format!("{field}：{zh}"),
    )
    .with("field", field)
}

fn day(field: &'static str, v: &str) -> Result<Day, ApiError> {
    v.parse().map_err(|_| {
        bad(
            field,
            "a date YYYY-MM-DD between 1900 and 2100 is expected",
            "应为 1900 到 2100 年之间的日期 YYYY-MM-DD",
        )
    })
}

/// Read the query's parameters: each at most once, none unknown; an
/// empty value is as if not given.
pub(crate) fn parse_query(pairs: &[(String, String)]) -> Result<AuditQuery, ApiError> {
    let mut q = AuditQuery {
        filter: Filter::default(),
        before: None,
        limit: AUDIT_LIMIT_DEFAULT,
    };
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (k, v) in pairs {
        let field = match k.as_str() {
            "store" => "store",
            "staff" => "staff",
            "kind" => "kind",
            "from" => "from",
            "to" => "to",
            "before" => "before",
            "limit" => "limit",
            _ => {
                return Err(bad(
                    "query",
                    "unknown parameter: give store, staff, kind, from, to, before or limit",
                    "未知参数：可用 store、staff、kind、from、to、before、limit",
                ));
            }
        };
        if !seen.insert(field) {
            return Err(bad(field, "given twice", "重复给出"));
        }
        if v.is_empty() {
            continue;
        }
        match field {
            "store" => {
                let n = NodeId::new(v.as_str()).map_err(|_| {
                    bad(
                        field,
                        "a node name is 1 to 32 of a-z, 0-9 and -, starting with a letter",
                        "门店名应为 1 到 32 个 a-z、0-9 或 -，以字母开头",
                    )
                })?;
                q.filter.origins = Some([n].into());
            }
            "staff" => {
                if v.len() > KEY_LEN_MAX || !v.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(bad(
                        field,
                        "a staff id or token name is 1 to 128 visible ASCII characters",
                        "员工编号或令牌名应为 1 到 128 个可见 ASCII 字符",
                    ));
                }
                q.filter.by = Some(v.clone());
            }
            "kind" => {
                let kinds = v
                    .split(',')
                    .map(audit::kind_named)
                    .collect::<Option<BTreeSet<_>>>()
                    .ok_or_else(|| {
                        bad(
                            field,
                            "a comma-separated list of audit kinds (see the AuditKind schema)",
                            "应为以逗号分隔的审计类型（见 AuditKind）",
                        )
                    })?;
                q.filter.kinds = Some(kinds);
            }
            "from" => q.filter.from = Some(day(field, v)?),
            "to" => q.filter.to = Some(day(field, v)?),
            "before" => {
                q.before = Some(v.parse().map_err(|_| {
                    bad(
                        field,
                        "not a cursor this endpoint gave (its `next`)",
                        "不是本接口给出的游标（next）",
                    )
                })?);
            }
            "limit" => {
                let n = (v.len() <= 3 && v.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| v.parse::<usize>().ok())
                    .flatten()
                    .filter(|n| (1..=LIST_MAX).contains(n))
                    .ok_or_else(|| {
                        bad(
                            field,
                            "a whole number from 1 to 200",
                            "应为 1 到 200 的整数",
                        )
                    })?;
                q.limit = n;
            }
            _ => unreachable!("the parameters named above"),
        }
    }
    if let (Some(f), Some(t)) = (q.filter.from, q.filter.to)
        && f > t
    {
        return Err(bad("from", "is after to", "晚于 to"));
    }
    Ok(q)
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "audit",
    tag = "audit",
    summary = r#"The audit trail / 审计日志"#,
    description = r#"Every op this node holds (money movements, rule changes, members registered and changed), chain-wide or of one store, with who made it, where and when; newest first, a page at a time (`next` → `before`). Ops of one store come in the order its log holds them, merged with the other stores' by their clock. An empty parameter counts as not given; an unknown or repeated one is refused. Dates are days of the chain's calendar (China time)."#,
    params(
        ("store" = Option<String>, Query, description = r#"Only this store's ops (a node name)."#, example = "store-1"),
        ("staff" = Option<String>, Query, description = r#"Only the ops made by this staff id or integration token name."#, example = "admin"),
        ("kind" = Option<String>, Query, description = r#"Only ops of these kinds, comma-separated (`AuditKind`)."#, example = "recharged,refunded"),
        ("from" = Option<String>, Query, description = r#"From this day, included (`YYYY-MM-DD`, China time)."#, example = "2026-12-01"),
        ("to" = Option<String>, Query, description = r#"To this day, included (`YYYY-MM-DD`, China time); not before `from`."#, example = "2026-12-05"),
        ("before" = Option<String>, Query, description = r#"A cursor: the `next` of the page before (opaque)."#),
        ("limit" = Option<u64>, Query, description = r#"Entries per page, 1 to 200 (default 50)."#)
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_audit_filter", "unauthorized", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"A page of the trail."#, body = crate::audit::AuditView, content_type = "application/json")
    )
)]
pub(crate) async fn audit(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut q = parse_query(&pairs)?;
    // A store manager sees the trail of their own stores only: asked for
    // none, theirs; asked for another, refused.
    if let Some(me) = who.account().filter(|a| a.role.is_store_role()) {
        let mine: std::collections::BTreeSet<NodeId> = me.stores.iter().cloned().collect();
        match &q.filter.origins {
            None => q.filter.origins = Some(mine),
            Some(asked) => {
                if let Some(other) = asked.iter().find(|o| !mine.contains(*o)) {
                    return Err(crate::auth::not_at_this_store(other.as_str()));
                }
            }
        }
    }
    // A page may examine SCAN_BUDGET ops: off the async workers.
    let db = s.engine().db().clone();
    let page = tokio::task::spawn_blocking(move || {
        db.audit(&q.filter, q.before.as_ref(), q.limit, SCAN_BUDGET)
    })
    .await
    .map_err(|e| tongka_actors::EngineError::Internal(format!("the audit read: {e}")))?
    .map_err(tongka_actors::EngineError::from)?;
    let book = s.engine().staff();
    Ok(json_answer(
        StatusCode::OK,
        &AuditView {
            entries: page.ops.iter().map(|op| entry(&book, op)).collect(),
            next: page.next.map(|c| c.to_string()),
        },
    ))
}
