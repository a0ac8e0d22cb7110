//! `GET /consistency`: the consistency report (一致性报告), this node's view
//! of the chain: does the ledger balance to the fen, what the escrow moved
//! between stores, the spends declined when the stores that held the
//! shares could not be reached, duplicates found and merged, and the
//! remote ops rejected (failed their rules) or refused (failed
//! verification), with why.
//!
//! Where each figure comes from, and what it costs:
//! - the ledger check: `Db::ledger_sides`, the totals and what members
//!   hold (a running sum each commit keeps: `tongka-db` `held`), compared
//!   by `tongka_core::consistency::check`: O(1) at any number of members;
//!   with `deep=true`, `Db::ledger_sides_deep` also reads every member and
//!   compares their sum with the running one (about 2 µs a member);
//! - escrow transfers: the op log's `shares_transferred` and
//!   `uses_transferred` ops, read newest first through `Db::audit`
//!   examining at most `TRANSFER_SCAN` ops (`transfers.complete` says
//!   whether that reached the log's start; if not, the figures are of the
//!   newest ops only);
//! - declined spends: the engine's counters (`Engine::declines`), in
//!   memory, since this node started, of the spends this node declined;
//! - duplicates (`duplicates-1`), merges (`merged-1`), rejected
//!   (`rejected-1`) and refused (`refused-1`) ops: their tables, each read
//!   up to `TABLE_SCAN` rows.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::audit::Filter;
use tongka_core::consistency::{self, LedgerCheck, Moved};
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::money::Money;
use utoipa::ToSchema;

use crate::*;

/// Ops of the log examined, newest first, for the escrow transfers: as
/// many as a page of the audit trail may examine (`audit::SCAN_BUDGET`),
/// so a report costs no more than a page of the trail.
pub const TRANSFER_SCAN: usize = tongka_core::audit::SCAN_BUDGET;
/// Rows read from each of the duplicates, merges, rejected and refused
/// tables.
pub const TABLE_SCAN: usize = 10_000;
/// The entries listed of each table (a few: the counts say how many).
const LISTED: usize = 10;
/// Reasons listed, most frequent first.
const REASONS: usize = 20;

/// Principal, bonus and points.
#[derive(Serialize, ToSchema)]
#[schema(as = ConsistencyAmounts)]
struct AmountsView {
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    points: i64,
}

/// Does the ledger balance: what members hold against what the op totals
/// say they are owed.
#[derive(Serialize, ToSchema)]
#[schema(as = LedgerCheck)]
struct LedgerView {
    /// `held` equals `owed`, to the fen and to the point.
    balanced: bool,
    /// Σ over every member of every share they hold (the running sum each
    /// commit keeps).
    held: AmountsView,
    /// recharged − spent + refunded (principal, bonus); issued − reversed
    /// − redeemed + returned (points).
    owed: AmountsView,
    /// With `deep=true`: `held` made afresh from every member (and
    /// `balanced` requires it to equal the running sum).
    #[schema(required = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    deep: Option<DeepView>,
}

/// The deep check: every member read.
#[derive(Serialize, ToSchema)]
#[schema(as = LedgerDeepCheck)]
struct DeepView {
    /// Σ over every member read now.
    scanned: AmountsView,
    /// `scanned` equals the running sum `held`.
    matches: bool,
}

/// Escrow transfers one way.
#[derive(Serialize, ToSchema)]
#[schema(as = TransfersMoved)]
struct MovedView {
    /// Transfer ops.
    #[schema(minimum = 0)]
    count: u64,
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    points: i64,
    coupon_uses: i64,
    card_visits: i64,
}

impl From<Moved> for MovedView {
    fn from(m: Moved) -> MovedView {
        MovedView {
            count: m.count,
            principal: m.principal,
            bonus: m.bonus,
            points: m.points,
            coupon_uses: m.coupon_uses,
            card_visits: m.card_visits,
        }
    }
}

/// Spends declined after asking the other stores, for one reason.
#[derive(Serialize, ToSchema)]
#[schema(as = DeclinedSpends)]
struct DeclinedView {
    /// The refusal's code (`insufficient_balance`, `insufficient_points`,
    /// `coupon_unavailable_here`, `card_held_elsewhere`, …).
    code: &'static str,
    /// How the asks ended: `unreachable` (no store that could cover it was
    /// connected), `timed_out` (an ask went unanswered), `answered_short`
    /// (the stores answered; the member lacked it chain-wide).
    cause: &'static str,
    cause_zh: &'static str,
    #[schema(minimum = 0)]
    count: u64,
}

/// A reason and how many ops it refused.
#[derive(Serialize, ToSchema)]
#[schema(as = ReasonCount)]
struct ReasonView {
    reason: String,
    #[schema(minimum = 0)]
    count: u64,
}

/// An op rejected or refused.
#[derive(Serialize, ToSchema)]
#[schema(as = OpRefusal)]
struct OpRefusalView {
    /// `<origin>#<seq>`.
    op: String,
    /// The peer that sent it (refused ops only).
    #[schema(value_type = Option<crate::openapi::NodeName>, required = true)]
    from: Option<NodeId>,
    reason: String,
}

/// Remote ops rejected or refused: how many, why, the latest few.
#[derive(Serialize, ToSchema)]
#[schema(as = OpRefusals)]
struct RefusalsView {
    #[schema(minimum = 0)]
    count: u64,
    /// Most frequent first.
    by_reason: Vec<ReasonView>,
    /// Up to 10, by origin then op number, from the last.
    listed: Vec<OpRefusalView>,
}

/// A phone or card number held by more than one member.
#[derive(Serialize, ToSchema)]
#[schema(as = DuplicateKey)]
struct DuplicateView {
    /// `phone:<n>` or `card:<n>`.
    key: String,
    #[schema(value_type = Vec<crate::openapi::MemberId>)]
    members: Vec<MemberId>,
}

/// A merge applied.
#[derive(Serialize, ToSchema)]
#[schema(as = MergeApplied)]
struct MergeView {
    #[schema(value_type = crate::openapi::MemberId)]
    absorbed: MemberId,
    #[schema(value_type = crate::openapi::MemberId)]
    survivor: MemberId,
}

/// The chain as this node sees it.
#[derive(Serialize, ToSchema)]
#[schema(as = ConsistencyChain)]
struct ChainView {
    /// Escrow transfers (given, hence received, chain-wide).
    transfers: MovedView,
    /// Spends this node declined, by reason.
    declined: Vec<DeclinedView>,
    /// Phone and card numbers found held by more than one member (after a
    /// partition), merged since or not.
    #[schema(minimum = 0)]
    duplicates: u64,
    /// Of those, the ones still held by more than one member: not merged
    /// yet (`GET /members/duplicates` lists them).
    #[schema(minimum = 0)]
    duplicates_open: u64,
    /// Up to 10, by key, from the last.
    duplicates_listed: Vec<DuplicateView>,
    /// Merges applied.
    #[schema(minimum = 0)]
    merged: u64,
    /// Up to 10, by absorbed member, from the last.
    merged_listed: Vec<MergeView>,
    /// Remote ops that failed their rules: logged, not applied.
    rejected: RefusalsView,
    /// Remote ops that failed verification: not logged.
    refused: RefusalsView,
}

/// One store's figures.
#[derive(Serialize, ToSchema)]
#[schema(as = ConsistencyStore)]
struct StoreView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// Transfers this store made (gave).
    given: MovedView,
    /// Transfers made to this store.
    received: MovedView,
    /// Spends it declined (this node's only: other stores' are theirs).
    #[schema(minimum = 0)]
    declined: u64,
    /// Duplicate numbers one of whose members it registered.
    #[schema(minimum = 0)]
    duplicates: u64,
    /// Merges whose absorbed member it registered.
    #[schema(minimum = 0)]
    merged: u64,
    /// Its ops rejected here.
    #[schema(minimum = 0)]
    rejected: u64,
    /// Ops in its name refused here.
    #[schema(minimum = 0)]
    refused: u64,
}

/// How much of the op log the transfer figures cover.
#[derive(Serialize, ToSchema)]
#[schema(as = TransferScan)]
struct ScanView {
    /// Ops examined, newest first.
    #[schema(minimum = 0)]
    examined: usize,
    /// Every op this node holds was examined; if not, the transfers are
    /// those of the newest `examined` ops.
    complete: bool,
}

/// The consistency report.
#[derive(Serialize, ToSchema)]
#[schema(as = ConsistencyReport)]
struct ReportView {
    /// The node answering.
    #[schema(value_type = crate::openapi::NodeName)]
    node: NodeId,
    /// The ops it holds: each origin's, up to this number.
    #[schema(value_type = BTreeMap<String, u64>)]
    holds: BTreeMap<NodeId, u64>,
    ledger: LedgerView,
    chain: ChainView,
    /// Each store named by a figure (or the one asked for), by name.
    stores: Vec<StoreView>,
    transfers_scan: ScanView,
    /// Declined spends are counted in memory since this node started.
    since_start: &'static str,
}

fn amounts(s: tongka_core::wallet::Share) -> AmountsView {
    AmountsView {
        principal: s.principal,
        bonus: s.bonus,
        points: s.points,
    }
}

fn cause_zh(cause: &str) -> &'static str {
    match cause {
        "unreachable" => "无可联系门店",
        "timed_out" => "请求超时",
        "answered_short" => "全链余额不足",
        _ => "其他",
    }
}

fn bad(field: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_consistency_query",
        format!("{field}: {en}"),
        format!("{field}：{zh}"),
    )
    .with("field", field)
}

/// What the query asks: one store's figures (`store`), and the deep check
/// (`deep`).
#[derive(Debug, Default)]
struct Asked {
    store: Option<NodeId>,
    deep: bool,
}

/// The query: `store` and `deep`, each at most once; nothing else. An
/// empty value is as if not given.
fn parse_query(pairs: &[(String, String)]) -> Result<Asked, ApiError> {
    let mut asked = Asked::default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (k, v) in pairs {
        let field = match k.as_str() {
            "store" => "store",
            "deep" => "deep",
            _ => {
                return Err(bad(
                    "query",
                    "unknown parameter: give store, deep or nothing",
                    "未知参数：只可用 store 或 deep",
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
                asked.store = Some(NodeId::new(v.as_str()).map_err(|_| {
                    bad(
                        field,
                        "a node name is 1 to 32 of a-z, 0-9 and -, starting with a letter",
                        "门店名应为 1 到 32 个 a-z、0-9 或 -，以字母开头",
                    )
                })?);
            }
            _ => {
                asked.deep = match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(bad(
                            field,
                            "true or false is expected",
                            "应为 true 或 false",
                        ));
                    }
                };
            }
        }
    }
    Ok(asked)
}

/// Everything read from the db, off the async workers.
struct Read {
    ledger: LedgerCheck,
    /// With `deep`: what members hold, every member read.
    scanned: Option<tongka_core::wallet::Share>,
    transfers: consistency::Transfers,
    examined: usize,
    complete: bool,
    duplicates: Vec<(String, Vec<MemberId>)>,
    merged: Vec<(MemberId, MemberId)>,
    rejected: Vec<(tongka_core::ids::OpId, String)>,
    /// `(op, peer that sent it, reason)`.
    refused: Vec<(tongka_core::ids::OpId, NodeId, String)>,
}

fn read(engine: &tongka_actors::Engine, deep: bool) -> Result<Read, tongka_actors::EngineError> {
    let db = engine.db();
    let (totals, held, scanned) = if deep {
        let (totals, held, scanned) = db.ledger_sides_deep()?;
        (totals, held, Some(scanned))
    } else {
        let (totals, held) = db.ledger_sides()?;
        (totals, held, None)
    };
    let filter = Filter {
        kinds: Some(BTreeSet::from(["shares_transferred", "uses_transferred"])),
        ..Filter::default()
    };
    let page = db.audit(&filter, None, usize::MAX, TRANSFER_SCAN)?;
    Ok(Read {
        ledger: consistency::check(&totals, held),
        scanned,
        transfers: consistency::transfers(&page.ops),
        examined: page.examined,
        complete: page.next.is_none(),
        duplicates: db.duplicates(TABLE_SCAN)?,
        merged: db.merged()?,
        rejected: db.rejected(TABLE_SCAN)?,
        refused: db
            .refused(TABLE_SCAN)?
            .into_iter()
            .map(|o| (o.id, o.from, o.reason))
            .collect(),
    })
}

fn reasons(rs: impl IntoIterator<Item = String>) -> Vec<ReasonView> {
    consistency::counted(rs)
        .into_iter()
        .take(REASONS)
        .map(|(reason, count)| ReasonView { reason, count })
        .collect()
}

#[utoipa::path(
    get,
    path = "/api/v1/consistency",
    operation_id = "consistency",
    tag = "node",
    summary = r#"The consistency report / 一致性报告"#,
    description = r#"This node's view of the chain, chain-wide and per store: whether the ledger balances to the fen (what members hold against recharged − spent + refunded), escrow transfers between stores (from the newest ops of the log, at most 20000 examined: `transfers_scan`), spends this node declined after asking the stores that held the shares, by refusal code and cause (counted in memory since this node started), duplicate phone and card numbers and merges, and remote ops rejected (failed their rules) or refused (failed verification) with their reasons. `store` keeps one store's figures in `stores`; a store manager sees their own stores only."#,
    params(
        ("store" = Option<String>, Query, description = r#"Only this store in `stores` (a node name)."#, example = "store-1"),
        ("deep" = Option<bool>, Query, description = r#"Also read every member and compare what they hold with the running sum the node keeps (`ledger.deep`); costs about 2 µs a member. Default false."#, example = true),
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_consistency_query", "unauthorized", "not_at_this_store", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The report."#, body = crate::consistency::ReportView, content_type = "application/json")
    )
)]
pub(crate) async fn consistency(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let Asked { store: asked, deep } = parse_query(&pairs)?;
    // A store manager sees their own stores only: asked for none, theirs;
    // asked for another, refused (as the audit trail).
    let mine: Option<BTreeSet<NodeId>> = who
        .account()
        .filter(|a| a.role.is_store_role())
        .map(|a| a.stores.iter().cloned().collect());
    if let (Some(mine), Some(asked)) = (&mine, &asked)
        && !mine.contains(asked)
    {
        return Err(crate::auth::not_at_this_store(asked.as_str()));
    }
    let engine = s.engine();
    let e2 = engine.clone();
    let r = tokio::task::spawn_blocking(move || read(&e2, deep))
        .await
        .map_err(|e| {
            tongka_actors::EngineError::Internal(format!("the consistency read: {e}"))
        })??;
    let me = engine.node().clone();
    let declines = engine.declines();
    let declined_here: u64 = declines.values().sum();

    // Per store: every store a figure names, and this node.
    let mut stores: BTreeMap<NodeId, StoreView> = BTreeMap::new();
    let blank = |n: &NodeId| StoreView {
        store: n.clone(),
        given: Moved::default().into(),
        received: Moved::default().into(),
        declined: 0,
        duplicates: 0,
        merged: 0,
        rejected: 0,
        refused: 0,
    };
    stores
        .entry(me.clone())
        .or_insert_with(|| blank(&me))
        .declined = declined_here;
    for (n, t) in &r.transfers.stores {
        let v = stores.entry(n.clone()).or_insert_with(|| blank(n));
        v.given = t.given.into();
        v.received = t.received.into();
    }
    for (_, members) in &r.duplicates {
        let homes: BTreeSet<NodeId> = members.iter().filter_map(consistency::home).collect();
        for n in homes {
            stores
                .entry(n.clone())
                .or_insert_with(|| blank(&n))
                .duplicates += 1;
        }
    }
    for (absorbed, _) in &r.merged {
        if let Some(n) = consistency::home(absorbed) {
            stores.entry(n.clone()).or_insert_with(|| blank(&n)).merged += 1;
        }
    }
    for (id, _) in &r.rejected {
        let n = &id.origin;
        stores.entry(n.clone()).or_insert_with(|| blank(n)).rejected += 1;
    }
    for (id, _, _) in &r.refused {
        let n = &id.origin;
        stores.entry(n.clone()).or_insert_with(|| blank(n)).refused += 1;
    }
    let keep = |n: &NodeId| match (&asked, &mine) {
        (Some(a), _) => a == n,
        (None, Some(mine)) => mine.contains(n),
        (None, None) => true,
    };
    let stores: Vec<StoreView> = stores.into_values().filter(|v| keep(&v.store)).collect();

    let rejected = RefusalsView {
        count: r.rejected.len() as u64,
        by_reason: reasons(r.rejected.iter().map(|(_, why)| why.clone())),
        listed: r
            .rejected
            .iter()
            .rev()
            .take(LISTED)
            .map(|(id, why)| OpRefusalView {
                op: id.to_string(),
                from: None,
                reason: why.clone(),
            })
            .collect(),
    };
    let refused = RefusalsView {
        count: r.refused.len() as u64,
        by_reason: reasons(r.refused.iter().map(|(_, _, why)| why.clone())),
        listed: r
            .refused
            .iter()
            .rev()
            .take(LISTED)
            .map(|(id, from, why)| OpRefusalView {
                op: id.to_string(),
                from: Some(from.clone()),
                reason: why.clone(),
            })
            .collect(),
    };
    let report = ReportView {
        node: me,
        holds: engine
            .db()
            .summary()
            .vv
            .iter()
            .map(|(n, s)| (n.clone(), s))
            .collect(),
        ledger: LedgerView {
            balanced: r.ledger.balanced && r.scanned.is_none_or(|s| s == r.ledger.held),
            held: amounts(r.ledger.held),
            owed: amounts(r.ledger.owed),
            deep: r.scanned.map(|s| DeepView {
                matches: s == r.ledger.held,
                scanned: amounts(s),
            }),
        },
        chain: ChainView {
            transfers: r.transfers.chain.into(),
            declined: declines
                .into_iter()
                .map(|((code, cause), count)| DeclinedView {
                    code,
                    cause,
                    cause_zh: cause_zh(cause),
                    count,
                })
                .collect(),
            duplicates: r.duplicates.len() as u64,
            duplicates_open: r
                .duplicates
                .iter()
                .filter(|(_, ms)| {
                    ms.iter()
                        .map(|m| engine.resolve(m))
                        .collect::<BTreeSet<_>>()
                        .len()
                        > 1
                })
                .count() as u64,
            duplicates_listed: r
                .duplicates
                .iter()
                .rev()
                .take(LISTED)
                .map(|(key, members)| DuplicateView {
                    key: key.clone(),
                    members: members.clone(),
                })
                .collect(),
            merged: r.merged.len() as u64,
            merged_listed: r
                .merged
                .iter()
                .rev()
                .take(LISTED)
                .map(|(a, s)| MergeView {
                    absorbed: a.clone(),
                    survivor: s.clone(),
                })
                .collect(),
            rejected,
            refused,
        },
        stores,
        transfers_scan: ScanView {
            examined: r.examined,
            complete: r.complete,
        },
        since_start: "declined spends: since this node started / 拒绝的消费：自本节点启动以来",
    };
    Ok(json_answer(StatusCode::OK, &report))
}
