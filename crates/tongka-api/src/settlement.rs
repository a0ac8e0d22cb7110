//! Settlement between stores (跨店结算) and withdrawals (提现), over HTTP.
//! The rule is the core's (`tongka_core::settlement`, in README): the
//! giver of a share transfer owes the receiver its principal and bonus;
//! points are shown, not settled.
//!
//! - `GET /settlement?from&to&store`: per pair of stores who owes whom,
//!   each store's net position and the chain's total (zero), over the
//!   chain days asked, read from the figures rows (`Db::figures`), never
//!   the log, with the report's freshness. The query is parsed by the
//!   reports' strict parser (`reports::parse`).
//! - `POST /withdrawals` (a store asks), `POST /withdrawals/{id}/approve`
//!   and `/reject` (HQ decides), `GET /withdrawals` (the list, and per
//!   store what it is owed and may still ask). Each step is an op with
//!   who and when; an idempotency key is required on each write.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tongka_core::authority::Act;
use tongka_core::day::Day;
use tongka_core::ids::{NodeId, WithdrawalId};
use tongka_core::money::Money;
use tongka_core::settlement::{self, Owed, Settlement, Status, Withdrawal};
use utoipa::ToSchema;

use crate::dto::{DecimalText, parse_json};
use crate::render::Text;
use crate::reports::{self, FreshnessView};
use crate::*;

/// The longest note or reason on a withdrawal step, in characters.
pub const NOTE_LEN_MAX: usize = 200;

/// Money owed, principal and bonus apart, and points moved (not settled).
#[derive(Serialize, ToSchema)]
#[schema(as = SettlementAmount)]
pub(crate) struct OwedView {
    /// Principal and bonus: what is settled.
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    /// Points moved the same way: shown, not settled (no money).
    points: i64,
    /// The share transfers counted.
    #[schema(minimum = 0)]
    transfers: u64,
}

impl From<Owed> for OwedView {
    fn from(o: Owed) -> OwedView {
        OwedView {
            amount: o.amount(),
            principal: o.principal,
            bonus: o.bonus,
            points: o.points,
            transfers: o.transfers,
        }
    }
}

/// What one store owes another over the period, net of both directions.
#[derive(Serialize, ToSchema)]
#[schema(as = SettlementPair)]
pub(crate) struct PairView {
    /// The store that owes (it gave shares: it holds the cash).
    #[schema(value_type = crate::openapi::NodeName)]
    debtor: NodeId,
    /// The store owed (it received shares: it delivers the goods).
    #[schema(value_type = crate::openapi::NodeName)]
    creditor: NodeId,
    #[serde(flatten)]
    owed: OwedView,
}

/// One store's net position: positive, the others owe it; negative, it
/// owes them.
#[derive(Serialize, ToSchema)]
#[schema(as = SettlementStore)]
pub(crate) struct StoreView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    #[serde(flatten)]
    net: OwedView,
}

/// Settlement over a period.
#[derive(Serialize, ToSchema)]
#[schema(as = SettlementReport)]
pub(crate) struct SettlementView {
    #[schema(value_type = String, format = Date)]
    from: Text<Day>,
    #[schema(value_type = String, format = Date)]
    to: Text<Day>,
    /// Pairs of stores with transfers between them (of the store asked,
    /// or a store manager's stores), debtor first.
    pairs: Vec<PairView>,
    /// Each store's net position (likewise narrowed).
    stores: Vec<StoreView>,
    /// Every store's positions summed: zero by construction.
    chain_total: OwedView,
    freshness: FreshnessView,
}

#[utoipa::path(
    get,
    path = "/api/v1/settlement",
    operation_id = "settlement",
    tag = "reports",
    summary = r#"Settlement between stores / 跨店结算"#,
    description = r#"Who owes whom for stored value paid in at one store and spent at another, over chain days `from` to `to` (at most 366; default the 30 days to today). Every escrow share transfer (a store giving part of a member's balance to another store where the member spends) makes the giver owe the receiver the principal and the bonus it moved: the giver took the cash and sold the bonus, the receiver hands over the goods. Points moved are shown, not settled. Per pair: the net of both directions, debtor first; per store: what the others owe it less what it owes (positive: it is owed); `chain_total` sums every store's position and is zero. Read from the figures each op keeps: equal on every node holding the same ops (`freshness`). A store manager sees their own stores' pairs only."#,
    params(
        ("from" = Option<String>, Query, description = r#"First day, included (`YYYY-MM-DD`, China time)."#, example = "2026-12-01"),
        ("to" = Option<String>, Query, description = r#"Last day, included."#, example = "2026-12-06"),
        ("store" = Option<String>, Query, description = r#"One store's pairs and position; default every store."#, example = "store-1"),
    ),
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "forbidden_for_role",
        "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The settlement."#, body = crate::settlement::SettlementView, content_type = "application/json")
    )
)]
pub(crate) async fn settlement(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = reports::parse(&pairs, &["from", "to", "store"])?;
    let (from, to) = reports::range(&q)?;
    let shown = reports::stores(&s, &who, q.store.as_ref())?;
    // Every store's rows: the chain total needs them all, and a pair's
    // amounts are read from its giver's row.
    let (rows, freshness) = reports::read(&s, None, from, to).await?;
    let all = Settlement::of_figures(rows.iter().map(|(st, _, f)| (st, f)));
    let keep = |st: &NodeId| shown.as_ref().is_none_or(|list| list.contains(st));
    let pairs = all
        .pairs()
        .into_iter()
        .filter(|(d, c, _)| keep(d) || keep(c))
        .map(|(debtor, creditor, o)| PairView {
            debtor,
            creditor,
            owed: o.into(),
        })
        .collect();
    let mut positions = all.positions();
    if let Some(list) = &shown {
        for st in list {
            positions.entry(st.clone()).or_default();
        }
    }
    let stores = positions
        .into_iter()
        .filter(|(st, _)| keep(st))
        .map(|(store, net)| StoreView {
            store,
            net: net.into(),
        })
        .collect();
    Ok(json_answer(
        StatusCode::OK,
        &SettlementView {
            from: Text(from),
            to: Text(to),
            pairs,
            stores,
            chain_total: all.total().into(),
            freshness,
        },
    ))
}

/// A withdrawal as answered.
#[derive(Serialize, ToSchema)]
#[schema(as = Withdrawal)]
pub(crate) struct WithdrawalView {
    /// `w-<store>-<n>`.
    #[schema(value_type = String)]
    id: WithdrawalId,
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
    note: String,
    /// pending, approved or rejected.
    #[schema(value_type = String)]
    status: Status,
    /// Who asked (staff id or token name) and when (RFC 3339, UTC).
    requested_by: String,
    #[schema(value_type = String, format = DateTime)]
    requested_at: Text<humantime::Rfc3339Timestamp>,
    /// HQ's decision: who, when, and its note or reason.
    #[schema(required = true)]
    decided_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    decided_at: Option<Text<humantime::Rfc3339Timestamp>>,
    #[schema(required = true)]
    decision_note: Option<String>,
}

fn rfc3339(ms: u64) -> Text<humantime::Rfc3339Timestamp> {
    Text(humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms),
    ))
}

pub(crate) fn withdrawal(w: &Withdrawal) -> WithdrawalView {
    WithdrawalView {
        id: w.id.clone(),
        store: w.store.clone(),
        amount: w.amount,
        note: w.note.clone(),
        status: w.status(),
        requested_by: w.requested_by.clone(),
        requested_at: rfc3339(w.requested_at.ms),
        decided_by: w.decision.as_ref().map(|d| d.by.clone()),
        decided_at: w.decision.as_ref().map(|d| rfc3339(d.at.ms)),
        decision_note: w.decision.as_ref().map(|d| d.note.clone()),
    }
}

/// A store's request to withdraw.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WithdrawalRequest)]
pub struct WithdrawalReq {
    /// More than 0, at most what the store may withdraw (`available`).
    #[schema(value_type = crate::openapi::AmountInput)]
    pub amount: DecimalText,
    /// Up to 200 characters, one line.
    #[serde(default)]
    pub note: String,
}

/// HQ's approval (a note) or rejection (a reason).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WithdrawalDecision)]
pub struct DecisionReq {
    /// Up to 200 characters, one line; a rejection needs one.
    #[serde(default)]
    pub note: String,
}

fn note_of(text: &str, field: &'static str, min: usize) -> Result<String, ApiError> {
    tongka_core::text::check_text(text, min, NOTE_LEN_MAX).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_withdrawal_note",
            format!("{field}: {e}"),
            format!("{field}：{}", e.zh()),
        )
        .with("field", field)
    })?;
    Ok(text.trim().to_string())
}

#[utoipa::path(
    post,
    path = "/api/v1/withdrawals",
    operation_id = "requestWithdrawal",
    tag = "reports",
    summary = r#"A store asks to withdraw what it is owed / 门店申请提现"#,
    description = r#"Made at the store withdrawing (this node; HQ requests none), also while it is cut off from HQ: the request replicates when the network heals. The amount is at most what this node's figures say the store is owed over all time (its settlement position) less its withdrawals approved and pending. HQ then approves or rejects it."#,
    request_body(content = crate::settlement::WithdrawalReq),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json", "invalid_amount",
        "invalid_withdrawal_note", "withdrawal_exceeds_owed", "withdrawal_not_positive",
        "withdrawal_at_stores", "idempotency_key_reused", "idempotency_key_in_progress",
        "unauthorized", "session_expired", "account_disabled", "not_at_this_store",
        "forbidden_for_role", "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"The withdrawal, pending (or the first answer, replayed)."#, body = crate::settlement::WithdrawalView, content_type = "application/json")
    )
)]
pub(crate) async fn request(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authorised(&s, Act::RequestWithdrawal)?;
    let idem = idem(&headers, &method, "/withdrawals", &body, true)?;
    let parsed = (|| {
        let req: WithdrawalReq = parse_json(&body)?;
        Ok((
            req.amount.money("amount", true)?,
            note_of(&req.note, "note", 0)?,
        ))
    })();
    let (amount, note) = match parsed {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s
        .engine()
        .request_withdrawal(amount, note, actor(&who), idem)
        .await?;
    Ok(created(&s, &out))
}

fn withdrawal_id(text: &str) -> Result<WithdrawalId, ApiError> {
    WithdrawalId::parse(text).ok_or_else(|| {
        ApiError::from(tongka_actors::EngineError::from(
            settlement::SettlementError::NotFound(WithdrawalId::mint(
                &NodeId::new("unknown").expect("a valid name"),
                0,
            )),
        ))
        .with("withdrawal", text.chars().take(64).collect::<String>())
    })
}

async fn decide(
    s: AppState,
    who: Principal,
    id: String,
    approve: bool,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authorised(&s, Act::DecideWithdrawal)?;
    let verb = if approve { "approve" } else { "reject" };
    let idem = idem(
        &headers,
        &method,
        &format!("/withdrawals/{id}/{verb}"),
        &body,
        true,
    )?;
    let parsed = (|| {
        let id = withdrawal_id(&id)?;
        let req: DecisionReq = if body.is_empty() {
            DecisionReq::default()
        } else {
            parse_json(&body)?
        };
        let note = note_of(&req.note, "note", usize::from(!approve))?;
        Ok((id, note))
    })();
    let (id, note) = match parsed {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::OK, e),
    };
    let out = s
        .engine()
        .decide_withdrawal(id, approve, note, actor(&who), idem)
        .await?;
    Ok(answered(&s, StatusCode::OK, &out))
}

#[utoipa::path(
    post,
    path = "/api/v1/withdrawals/{id}/approve",
    operation_id = "approveWithdrawal",
    tag = "reports",
    summary = r#"HQ approves a withdrawal / 总部批准提现"#,
    description = r#"At the HQ node only. Once per withdrawal; only while the store is still owed at least its amount (by HQ's figures) less what was approved before. Approved withdrawals reduce what the store may withdraw next."#,
    params(("id" = String, Path, description = r#"The withdrawal, `w-<store>-<n>`."#, example = "w-store-2-7")),
    request_body(content = crate::settlement::DecisionReq),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "invalid_withdrawal_note", "withdrawal_not_found", "withdrawal_decided",
        "withdrawal_exceeds_owed", "withdrawal_hq_decides", "idempotency_key_reused",
        "idempotency_key_in_progress", "unauthorized", "session_expired", "account_disabled",
        "forbidden_for_role", "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"The withdrawal, approved."#, body = crate::settlement::WithdrawalView, content_type = "application/json")
    )
)]
pub(crate) async fn approve(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    decide(s, who, id, true, method, headers, body).await
}

#[utoipa::path(
    post,
    path = "/api/v1/withdrawals/{id}/reject",
    operation_id = "rejectWithdrawal",
    tag = "reports",
    summary = r#"HQ rejects a withdrawal / 总部驳回提现"#,
    description = r#"At the HQ node only, with a reason (`note`, 1 to 200 characters). Once per withdrawal; what it asked is free to ask again."#,
    params(("id" = String, Path, description = r#"The withdrawal, `w-<store>-<n>`."#, example = "w-store-2-7")),
    request_body(content = crate::settlement::DecisionReq),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "invalid_withdrawal_note", "withdrawal_not_found", "withdrawal_decided",
        "withdrawal_hq_decides", "idempotency_key_reused", "idempotency_key_in_progress",
        "unauthorized", "session_expired", "account_disabled", "forbidden_for_role",
        "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"The withdrawal, rejected."#, body = crate::settlement::WithdrawalView, content_type = "application/json")
    )
)]
pub(crate) async fn reject(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    decide(s, who, id, false, method, headers, body).await
}

/// What one store is owed and may still withdraw.
#[derive(Serialize, ToSchema)]
#[schema(as = WithdrawalBalance)]
pub(crate) struct BalanceView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// Its settlement position over all time (negative: it owes).
    #[schema(value_type = crate::openapi::Money)]
    owed: Money,
    #[schema(value_type = crate::openapi::Money)]
    approved: Money,
    #[schema(value_type = crate::openapi::Money)]
    pending: Money,
    /// What it may still ask: owed − approved − pending, at least 0.
    #[schema(value_type = crate::openapi::Money)]
    available: Money,
}

/// The withdrawals list.
#[derive(Serialize, ToSchema)]
#[schema(as = Withdrawals)]
pub(crate) struct WithdrawalsView {
    /// Newest request first.
    withdrawals: Vec<WithdrawalView>,
    /// This node's store (at a store) and every store with a withdrawal.
    balances: Vec<BalanceView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/withdrawals",
    operation_id = "listWithdrawals",
    tag = "reports",
    summary = r#"Withdrawals and what each store may withdraw / 提现记录与可提现金额"#,
    description = r#"Every withdrawal this node holds (a store manager: their stores'), newest first, with who asked and decided and when; per store, what it is owed over all time, approved, pending and still available. `store` keeps one store; `status` one of pending, approved, rejected."#,
    params(
        ("store" = Option<String>, Query, description = r#"One store."#, example = "store-2"),
        ("status" = Option<String>, Query, description = r#"pending, approved or rejected."#, example = "pending"),
    ),
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "forbidden_for_role",
        "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The list."#, body = crate::settlement::WithdrawalsView, content_type = "application/json")
    )
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    // `status` is ours; the rest goes through the reports' parser.
    let mut status = None;
    let mut rest = Vec::new();
    for (k, v) in pairs {
        if k == "status" {
            if status.is_some() {
                return Err(reports::bad("status", "given twice", "重复给出"));
            }
            status = Some(match v.as_str() {
                "pending" => Some(Status::Pending),
                "approved" => Some(Status::Approved),
                "rejected" => Some(Status::Rejected),
                "" => None,
                _ => {
                    return Err(reports::bad(
                        "status",
                        "pending, approved or rejected",
                        "应为 pending、approved 或 rejected",
                    ));
                }
            });
        } else {
            rest.push((k, v));
        }
    }
    let q = reports::parse(&rest, &["store"])?;
    let shown = reports::stores(&s, &who, q.store.as_ref())?;
    let engine = s.engine().clone();
    let here = engine.node().clone();
    let at_store = engine.role() != Some(tongka_core::op::OriginRole::Hq);
    let read = tokio::task::spawn_blocking(move || {
        let all = engine.db().withdrawals()?;
        let mut stores: BTreeSet<NodeId> = all.iter().map(|w| w.store.clone()).collect();
        if at_store {
            stores.insert(here);
        }
        let mut balances = Vec::new();
        for st in stores {
            if shown.as_ref().is_some_and(|l| !l.contains(&st)) {
                continue;
            }
            let owed = engine.owed(&st)?;
            let (mut approved, mut pending) = (Money::ZERO, Money::ZERO);
            for w in all.iter().filter(|w| w.store == st) {
                match w.status() {
                    Status::Approved => approved += w.amount,
                    Status::Pending => pending += w.amount,
                    Status::Rejected => {}
                }
            }
            balances.push(BalanceView {
                available: settlement::available(&st, owed, &all),
                store: st,
                owed,
                approved,
                pending,
            });
        }
        let mut list: Vec<&Withdrawal> = all
            .iter()
            .filter(|w| shown.as_ref().is_none_or(|l| l.contains(&w.store)))
            .filter(|w| status.flatten().is_none_or(|st| w.status() == st))
            .collect();
        list.sort_by(|a, b| (b.requested_at, &b.id).cmp(&(a.requested_at, &a.id)));
        let withdrawals = list.into_iter().map(withdrawal).collect();
        Ok::<_, tongka_actors::EngineError>(WithdrawalsView {
            withdrawals,
            balances,
        })
    });
    let view = read.await.map_err(|e| {
        tongka_actors::EngineError::Internal(format!("the withdrawals read: {e}"))
    })??;
    Ok(json_answer(StatusCode::OK, &view))
}
