//! Shift and day closes over HTTP (交班 / 日结): what a close would record
//! now (`GET /closes/preview`), a close (`POST /closes`, one `DayClosed`
//! op, `Engine::close`), the closes of a range of days, one close, and its
//! printed form for the receipt printer. The rule is
//! `tongka_core::close`: a close covers the store's own ops after its
//! previous close of the kind; expected cash = opening float + cash sales
//! + cash recharges − cash refunds.
//!
//! A cashier closes a shift, a store manager or the owner the day
//! (`Action::CloseShift`, `Action::CloseDay`: the route needs the first,
//! a day close the second). HQ closes nothing (`hq_closes_nothing`).
//!
//! Reading closes follows the reports' rule (`reports::stores`): staff of a
//! store role (a cashier, a store manager) see their own stores' closes
//! only — a list narrowed to them, another store asked for or one of its
//! closes refused 403 `not_at_this_store`; HQ's roles and the admin token
//! see every store's.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tongka_actors::closes::CloseOutcome;
use tongka_actors::closes::ClosedOp;
use tongka_core::authority::Act;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::Hlc;
use tongka_core::close::{Close, CloseAsk, CloseKind};
use tongka_core::day::Day;
use tongka_core::ids::{NodeId, OpId};
use tongka_core::money::Money;
use tongka_core::staff::Action;
use tongka_core::text::printable;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::dto::{DecimalText, parse_json};
use crate::*;

/// The longest range of days a list of closes covers.
pub const CLOSES_RANGE_DAYS_MAX: i32 = 366;
/// The most closes one list answers.
pub const CLOSES_LIST_MAX: usize = 500;

const TENDERS: [TenderKind; 5] = [
    TenderKind::Cash,
    TenderKind::Balance,
    TenderKind::Card,
    TenderKind::Wechat,
    TenderKind::Alipay,
];

/// A close asked for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CloseRequest)]
pub(crate) struct CloseReq {
    /// `shift` (交班) or `day` (日结).
    #[schema(examples("day"))]
    kind: String,
    /// A day close's day, `YYYY-MM-DD` (default today): today, or an
    /// earlier day after the last day closed.
    #[serde(default)]
    #[schema(examples("2026-12-06"))]
    day: Option<String>,
    /// Cash in the drawer when the period began (default 0).
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::AmountInput>)]
    opening_float: Option<DecimalText>,
    /// Cash counted in the drawer now.
    #[schema(value_type = crate::openapi::AmountInput)]
    counted_cash: DecimalText,
    /// At most 200 characters; line breaks allowed.
    #[serde(default)]
    #[schema(examples("两张50元已存银行"))]
    note: Option<String>,
}

fn bad(field: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_close_query",
        format!("{field}: {en}"),
        format!("{field}：{zh}"),
    )
    .with("field", field)
}

fn kind(text: &str) -> Result<CloseKind, ApiError> {
    CloseKind::parse(text).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_close_kind",
            format!("kind: {text:?} is not a kind of close; give shift or day"),
            format!("kind：{text:?} 不是结账类型；应为 shift（交班）或 day（日结）"),
        )
        .with("field", "kind")
    })
}

fn day(field: &'static str, text: &str) -> Result<Day, ApiError> {
    text.parse::<Day>().map_err(|_| {
        bad(
            field,
            "a date YYYY-MM-DD between 1900 and 2100 is expected",
            "应为 1900 到 2100 年之间的日期 YYYY-MM-DD",
        )
    })
}

fn amount(field: &str, text: Option<&DecimalText>) -> Result<Money, ApiError> {
    text.map_or(Ok(Money::ZERO), |t| t.money(field, false))
}

/// The close a request body asks for.
fn ask_of(body: &[u8]) -> Result<CloseAsk, ApiError> {
    let req: CloseReq = parse_json(body)?;
    let kind = kind(&req.kind)?;
    let day = match req.day.as_deref() {
        Some(d) if kind == CloseKind::Day => Some(day("day", d)?),
        Some(_) => {
            return Err(bad("day", "a shift close takes no day", "交班不指定日期"));
        }
        None => None,
    };
    Ok(CloseAsk {
        kind,
        day,
        opening_float: amount("opening_float", req.opening_float.as_ref())?,
        counted_cash: req.counted_cash.money("counted_cash", false)?,
        note: req.note.unwrap_or_default(),
    })
}

/// Read `pairs`, each of `allowed` at most once, none other, no control
/// character; an empty value is as if not given.
fn query<'a>(
    pairs: &'a [(String, String)],
    allowed: &[&'static str],
) -> Result<Vec<(&'static str, &'a str)>, ApiError> {
    let mut out: Vec<(&'static str, &str)> = Vec::new();
    for (k, v) in pairs {
        let Some(&field) = allowed.iter().find(|a| **a == k.as_str()) else {
            let list = allowed.join(", ");
            return Err(bad(
                "query",
                &format!("unknown parameter: give {list}"),
                &format!("未知参数：可用 {list}"),
            ));
        };
        if out.iter().any(|(f, _)| *f == field) {
            return Err(bad(field, "given twice", "重复给出"));
        }
        if v.chars().any(char::is_control) {
            return Err(bad(field, "holds a control character", "含控制字符"));
        }
        if !v.is_empty() {
            out.push((field, v.as_str()));
        }
    }
    Ok(out)
}

/// One tender's line of a close.
#[derive(Serialize, ToSchema)]
#[schema(as = CloseTender)]
pub struct TenderView {
    #[schema(value_type = crate::openapi::TenderKind)]
    tender: &'static str,
    sales: u64,
    /// What it paid of sales, net of change.
    #[schema(value_type = crate::openapi::Money)]
    sold: Money,
    recharges: u64,
    /// Recharges' principal paid with it.
    #[schema(value_type = crate::openapi::Money)]
    recharged: Money,
    #[schema(value_type = crate::openapi::Money)]
    recharged_bonus: Money,
    refunds: u64,
    #[schema(value_type = crate::openapi::Money)]
    refunded: Money,
    /// sold + recharged − refunded.
    #[schema(value_type = crate::openapi::Money)]
    net: Money,
}

/// A close, as recorded (or as a close made now would record it).
#[derive(Serialize, ToSchema)]
#[schema(as = Close)]
pub struct CloseView {
    /// `<store>.<seq>` (the close's op); `null` in a preview.
    #[schema(examples("store-1.57"))]
    id: Option<String>,
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// `shift` or `day`.
    #[schema(examples("day"))]
    kind: &'static str,
    #[schema(examples("日结"))]
    kind_zh: &'static str,
    #[schema(value_type = String, examples("2026-12-06"))]
    day: String,
    /// The period: from the previous close of the kind to this one (RFC
    /// 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    from: String,
    #[schema(value_type = String, format = DateTime)]
    to: String,
    /// The store's own ops covered, `seq_from` to `seq_to` (none when
    /// `seq_to < seq_from`).
    seq_from: u64,
    seq_to: u64,
    ops: u64,
    /// Every tender kind, cash first.
    tenders: Vec<TenderView>,
    orders: u64,
    #[schema(value_type = crate::openapi::Money)]
    sales: Money,
    refunds: u64,
    #[schema(value_type = crate::openapi::Money)]
    refunded: Money,
    recharges: u64,
    #[schema(value_type = crate::openapi::Money)]
    recharged: Money,
    #[schema(value_type = crate::openapi::Money)]
    recharged_bonus: Money,
    #[schema(value_type = crate::openapi::Money)]
    opening_float: Money,
    /// opening float + cash sales + cash recharges − cash refunds.
    #[schema(value_type = crate::openapi::Money)]
    expected_cash: Money,
    #[schema(value_type = crate::openapi::Money)]
    counted_cash: Money,
    /// counted − expected.
    #[schema(value_type = crate::openapi::SignedMoney)]
    difference: Money,
    /// `over` (长款), `short` (短款) or `even`.
    #[schema(examples("short"))]
    result: &'static str,
    /// Who closed (a staff id, or the token's name); `null` in a preview.
    by: Option<String>,
    /// When (RFC 3339, UTC); `null` in a preview.
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<String>,
    note: String,
}

fn result_of(diff: Money) -> &'static str {
    if diff.is_positive() {
        "over"
    } else if diff.is_negative() {
        "short"
    } else {
        "even"
    }
}

fn ms_time(ms: u64) -> String {
    render::time(Hlc { ms, count: 0 })
}

/// A close's id in the API: `<store>.<seq>` (a node name has no dot).
fn close_id(id: &OpId) -> String {
    format!("{}.{}", id.origin, id.seq)
}

fn parse_close_id(text: &str) -> Option<OpId> {
    let (origin, seq) = text.rsplit_once('.')?;
    Some(OpId {
        origin: NodeId::new(origin).ok()?,
        seq: seq.parse().ok().filter(|s| *s > 0)?,
    })
}

/// The view of `close` made at `store`; `made`: its op's id, who and when.
pub fn view(store: &NodeId, close: &Close, made: Option<(&OpId, &str, Hlc)>) -> CloseView {
    let t = &close.totals;
    CloseView {
        id: made.map(|(id, ..)| close_id(id)),
        store: store.clone(),
        kind: close.kind.as_str(),
        kind_zh: close.kind.label_zh(),
        day: close.day.to_string(),
        from: ms_time(close.from_ms),
        to: ms_time(close.to_ms),
        seq_from: close.seq_from,
        seq_to: close.seq_to,
        ops: t.ops,
        tenders: TENDERS
            .iter()
            .map(|k| {
                let x = t.tender(*k);
                TenderView {
                    tender: k.as_str(),
                    sales: x.sales,
                    sold: x.sold,
                    recharges: x.recharges,
                    recharged: x.recharged,
                    recharged_bonus: x.recharged_bonus,
                    refunds: x.refunds,
                    refunded: x.refunded,
                    net: x.net(),
                }
            })
            .collect(),
        orders: t.orders,
        sales: t.sales,
        refunds: t.refunds,
        refunded: t.refunded,
        recharges: t.recharges,
        recharged: t.recharged,
        recharged_bonus: t.recharged_bonus,
        opening_float: close.opening_float,
        expected_cash: close.expected_cash,
        counted_cash: close.counted_cash,
        difference: close.difference,
        result: result_of(close.difference),
        by: made.map(|(_, by, _)| by.to_string()),
        at: made.map(|(.., at)| render::time(at)),
        note: close.note.clone(),
    }
}

fn view_of(c: &ClosedOp) -> CloseView {
    view(
        &c.op.id.origin,
        c.close(),
        Some((&c.op.id, &c.op.by, c.op.hlc)),
    )
}

/// The answer to a close: as the first request got it, with the close's
/// id found in the log (the first answer is stored before its number).
pub(crate) fn outcome_view(s: &AppState, o: &CloseOutcome) -> Result<CloseView, ApiError> {
    let found = s.engine().close_op_of(&o.close)?;
    let id = found.as_ref().map(|c| c.op.id.clone());
    Ok(view(
        &o.store,
        &o.close,
        Some((
            id.as_ref().unwrap_or(&OpId {
                origin: o.store.clone(),
                seq: 0,
            }),
            &o.by,
            o.at,
        )),
    ))
}

/// A close's slip for a 58 mm thermal printer (32 columns; CJK characters
/// take two): every line through `text::printable`.
pub fn slip(c: &CloseView) -> String {
    let rule = "-".repeat(32);
    let mut out = String::new();
    let line = |out: &mut String, label: &str, v: &dyn std::fmt::Display| {
        out.push_str(&format!("{label:<16}{:>16}\n", v.to_string()));
    };
    out.push_str(&format!(
        "通卡 tongka  {}\n{} {} close\n日期 Day {}\n",
        c.store, c.kind_zh, c.kind, c.day
    ));
    if let Some(id) = &c.id {
        out.push_str(&format!("编号 No. {id}\n"));
    }
    out.push_str(&format!("自 From {}\n至 To   {}\n{rule}\n", c.from, c.to));
    line(&mut out, "订单 Orders", &c.orders);
    line(&mut out, "销售 Sales", &c.sales);
    line(&mut out, "充值 Recharges", &c.recharges);
    line(&mut out, "  本金 principal", &c.recharged);
    line(&mut out, "  赠送 bonus", &c.recharged_bonus);
    line(&mut out, "退款 Refunds", &c.refunds);
    line(&mut out, "  金额 amount", &c.refunded);
    out.push_str(&format!("{rule}\n按支付方式 By tender\n"));
    for t in c
        .tenders
        .iter()
        .filter(|t| t.sales + t.recharges + t.refunds > 0)
    {
        out.push_str(&format!("{}\n", t.tender));
        line(&mut out, "  销售 sold", &t.sold);
        if t.recharges > 0 {
            line(&mut out, "  充值 recharged", &t.recharged);
        }
        if t.refunds > 0 {
            line(&mut out, "  退款 refunded", &t.refunded);
        }
    }
    out.push_str(&format!("{rule}\n"));
    line(&mut out, "备用金 Float", &c.opening_float);
    line(&mut out, "应有现金 Expected", &c.expected_cash);
    line(&mut out, "实点现金 Counted", &c.counted_cash);
    let label = match c.result {
        "over" => "长款 Over",
        "short" => "短款 Short",
        _ => "差额 Difference",
    };
    line(&mut out, label, &c.difference);
    if let Some(by) = &c.by {
        out.push_str(&format!("{rule}\n经办 By {by}\n"));
    }
    if let Some(at) = &c.at {
        out.push_str(&format!("时间 At {at}\n"));
    }
    if !c.note.is_empty() {
        out.push_str(&format!("备注 Note {}\n", c.note.replace('\n', " ")));
    }
    out.push_str("\n签字 Signed ______________\n");
    out.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

#[utoipa::path(
    get,
    path = "/api/v1/closes/preview",
    operation_id = "previewClose",
    tag = "closes",
    summary = r#"What a close would record now / 交班、日结预览"#,
    description = r#"At a store: the totals by tender of the store's own ops since its previous close of the kind, and the expected cash (opening float + cash sales + cash recharges − cash refunds) against `counted_cash`. Nothing is written. 预览：自上次同类结账以来本店的收款，按支付方式汇总。"#,
    params(
        ("kind" = String, Query, description = r#"`shift` or `day`."#, example = "shift"),
        ("day" = Option<String>, Query, description = r#"A day close's day, `YYYY-MM-DD` (default today)."#),
        ("opening_float" = Option<String>, Query, description = r#"Default 0."#, example = "200.00"),
        ("counted_cash" = Option<String>, Query, description = r#"Default 0."#, example = "1234.50"),
    ),
    extensions(("x-codes" = json!([
        "unauthorized", "forbidden_for_role", "hq_closes_nothing", "invalid_close_kind",
        "invalid_close_query", "invalid_amount", "already_closed", "close_day_not_begun",
        "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The close a close made now would record (`id`, `by`, `at` null)."#, body = crate::closes::CloseView, content_type = "application/json")
    )
)]
pub(crate) async fn preview(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    authorised(&s, Act::Close)?;
    let q = query(&pairs, &["kind", "day", "opening_float", "counted_cash"])?;
    let get = |f: &str| q.iter().find(|(k, _)| *k == f).map(|(_, v)| *v);
    let k = kind(get("kind").unwrap_or(""))?;
    if k == CloseKind::Day {
        who.check(Action::CloseDay)?;
    }
    let money = |f: &str| -> Result<Money, ApiError> {
        amount(f, get(f).map(|v| DecimalText(v.to_string())).as_ref())
    };
    let ask = CloseAsk {
        kind: k,
        day: match get("day") {
            Some(d) if k == CloseKind::Day => Some(day("day", d)?),
            Some(_) => return Err(bad("day", "a shift close takes no day", "交班不指定日期")),
            None => None,
        },
        opening_float: money("opening_float")?,
        counted_cash: money("counted_cash")?,
        note: String::new(),
    };
    let e = s.engine();
    let close = e.close_preview(&ask)?;
    Ok(json_answer(StatusCode::OK, &view(e.node(), &close, None)))
}

#[utoipa::path(
    post,
    path = "/api/v1/closes",
    operation_id = "createClose",
    tag = "closes",
    summary = r#"Close a shift or the day / 交班、日结"#,
    description = r#"At a store: a cashier closes a shift, a store manager or the owner the day. Records one `DayClosed` op (replicated: HQ sees it) with the totals by tender of the store's own ops since its previous close of the kind, the expected cash, the cash counted and the difference (长款 over / 短款 short). A day already closed is refused `already_closed`; a retry with the same `Idempotency-Key` is answered the first close. 交班由收银员、日结由店长或店主在门店进行。"#,
    request_body(
        content = crate::closes::CloseReq,
        examples(("a day close" = (value = json!({"kind": "day", "opening_float": "200.00", "counted_cash": "1234.50", "note": "两张50元已存银行"}))))
    ),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json", "unauthorized",
        "forbidden_for_role", "hq_closes_nothing", "idempotency_key_reused",
        "idempotency_key_in_progress", "invalid_close_kind", "invalid_close_query",
        "invalid_amount", "invalid_note", "already_closed", "close_day_not_begun",
        "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"The close (or the first answer, replayed)."#, body = crate::closes::CloseView, content_type = "application/json")
    )
)]
pub(crate) async fn create(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authorised(&s, Act::Close)?;
    let idem = idem(&headers, &method, "/closes", &body, true)?;
    let ask = match ask_of(&body).and_then(|a| {
        if a.kind == CloseKind::Day {
            who.check(Action::CloseDay)?;
        }
        Ok(a)
    }) {
        Ok(a) => a,
        Err(e) => match s.engine().replay(idem.as_ref())? {
            Some(first) => return replayed(&s, &(first, true)),
            None => return Err(e),
        },
    };
    let out = s.engine().close(actor(&who), idem, ask).await?;
    replayed(&s, &out)
}

fn replayed(s: &AppState, out: &(Outcome, bool)) -> Result<Response, ApiError> {
    let Outcome::Close(o) = &out.0 else {
        return Err(ApiError::from(tongka_actors::EngineError::Internal(
            "a close's key answered another request".into(),
        )));
    };
    let mut resp = json_answer(StatusCode::CREATED, &outcome_view(s, o)?);
    if out.1 {
        resp.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(resp)
}

/// The closes of a range of days.
#[derive(Serialize, ToSchema)]
#[schema(as = CloseList)]
pub struct ListView {
    #[schema(value_type = String)]
    from: String,
    #[schema(value_type = String)]
    to: String,
    closes: Vec<CloseView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/closes",
    operation_id = "listCloses",
    tag = "closes",
    summary = r#"Closes of a range of days / 结账记录"#,
    description = r#"Shift and day closes of days `from` to `to` (default the 30 days up to today; at most 366), of one store or of every store this node holds (HQ: the whole chain's, as replicated), newest first, at most `limit` (default 100, at most 500). A cashier or store manager sees their own stores' only (another store asked for: 403 `not_at_this_store`), as in the reports. 结账记录，最新在前；门店员工只看到自己门店的。"#,
    params(
        ("store" = Option<String>, Query, description = r#"One store."#, example = "store-1"),
        ("from" = Option<String>, Query, description = r#"First day, `YYYY-MM-DD`."#),
        ("to" = Option<String>, Query, description = r#"Last day, `YYYY-MM-DD`."#),
        ("kind" = Option<String>, Query, description = r#"`shift` or `day`."#),
        ("limit" = Option<u32>, Query, description = r#"1 to 500."#),
    ),
    extensions(("x-codes" = json!([
        "unauthorized", "not_at_this_store", "invalid_close_query", "invalid_close_kind",
        "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The closes."#, body = crate::closes::ListView, content_type = "application/json")
    )
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = query(&pairs, &["store", "from", "to", "kind", "limit"])?;
    let get = |f: &str| q.iter().find(|(k, _)| *k == f).map(|(_, v)| *v);
    let store = get("store")
        .map(|v| {
            NodeId::new(v).map_err(|_| {
                bad(
                    "store",
                    "a node name is 1 to 32 of a-z, 0-9 and -, starting with a letter",
                    "门店名应为 1 到 32 个 a-z、0-9 或 -，以字母开头",
                )
            })
        })
        .transpose()?;
    let to = get("to")
        .map(|v| day("to", v))
        .transpose()?
        .unwrap_or_else(today);
    let from = get("from")
        .map(|v| day("from", v))
        .transpose()?
        .unwrap_or(to.plus(-29));
    if from > to {
        return Err(bad("from", "is after to", "晚于 to"));
    }
    if to.0 - from.0 >= CLOSES_RANGE_DAYS_MAX {
        return Err(bad("to", "at most 366 days", "最多 366 天"));
    }
    let only = get("kind").map(kind).transpose()?;
    let limit = match get("limit") {
        None => 100,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=CLOSES_LIST_MAX).contains(n))
            .ok_or_else(|| bad("limit", "1 to 500", "应为 1 到 500"))?,
    };
    let found = match mine(&who) {
        // HQ's roles, the token: every store, or the one asked.
        None => s.engine().closes(store.as_ref(), only, from, to, limit)?,
        Some(mine) => match store {
            Some(store) => {
                at_mine(mine, &store)?;
                s.engine().closes(Some(&store), only, from, to, limit)?
            }
            // Each of their stores (a few), merged in the list's order:
            // newest day first, then store and number, both descending.
            None => {
                let mut all = Vec::new();
                for store in mine {
                    all.extend(s.engine().closes(Some(store), only, from, to, limit)?);
                }
                all.sort_by(|a, b| {
                    (b.close().day, &b.op.id.origin, b.op.id.seq).cmp(&(
                        a.close().day,
                        &a.op.id.origin,
                        a.op.id.seq,
                    ))
                });
                all.truncate(limit);
                all
            }
        },
    };
    let closes = found.iter().map(view_of).collect();
    Ok(json_answer(
        StatusCode::OK,
        &ListView {
            from: from.to_string(),
            to: to.to_string(),
            closes,
        },
    ))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "close_not_found",
        "no close of this id",
        "无此结账记录",
    )
    .with("id", printable(id).chars().take(80).collect::<String>())
}

/// The stores whose closes `who` may read: `None` for every store (HQ's
/// roles, the admin token), else a store role's own (as the reports).
fn mine(who: &Principal) -> Option<&[NodeId]> {
    who.account()
        .filter(|a| a.role.is_store_role())
        .map(|a| a.stores.as_slice())
}

/// `store` is one of `mine`, or the reports' refusal of another store.
fn at_mine(mine: &[NodeId], store: &NodeId) -> Result<(), ApiError> {
    if mine.contains(store) {
        Ok(())
    } else {
        Err(crate::auth::not_at_this_store(store.as_str()))
    }
}

/// The close `id`, if `who` may read it: another store's is refused before
/// it is looked up, so the refusal says nothing of whether it exists.
fn find(s: &AppState, who: &Principal, id: &str) -> Result<ClosedOp, ApiError> {
    let op = parse_close_id(id).ok_or_else(|| not_found(id))?;
    if let Some(mine) = mine(who) {
        at_mine(mine, &op.origin)?;
    }
    s.engine().close_of(&op)?.ok_or_else(|| not_found(id))
}

#[utoipa::path(
    get,
    path = "/api/v1/closes/{id}",
    operation_id = "getClose",
    tag = "closes",
    summary = r#"One close / 结账记录"#,
    description = r#"A cashier or store manager reads their own stores' closes only: another store's is refused 403 `not_at_this_store`, whether it exists or not."#,
    params(
        ("id" = String, Path, description = r#"`<store>.<seq>`."#, example = "store-1.57")
    ),
    extensions(("x-codes" = json!([
        "unauthorized", "not_at_this_store", "close_not_found", "internal",
        "storage_unavailable", "invalid_request",
    ]))),
    responses(
        (status = 200, description = r#"The close."#, body = crate::closes::CloseView, content_type = "application/json")
    )
)]
pub(crate) async fn get_one(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json_answer(StatusCode::OK, &view_of(&find(&s, &who, &id)?)))
}

#[utoipa::path(
    get,
    path = "/api/v1/closes/{id}/receipt",
    operation_id = "getCloseReceipt",
    tag = "closes",
    summary = r#"A close's slip for the receipt printer / 结账单"#,
    description = r#"Plain text for a 58 mm printer (32 columns; CJK characters take two), with a line to sign. Another store's close is refused to a cashier or store manager, as `GET /closes/{id}`."#,
    params(
        ("id" = String, Path, description = r#"`<store>.<seq>`."#, example = "store-1.57")
    ),
    extensions(("x-codes" = json!([
        "unauthorized", "not_at_this_store", "close_not_found", "internal",
        "storage_unavailable", "invalid_request",
    ]))),
    responses(
        (status = 200, description = r#"The slip."#, body = String, content_type = "text/plain")
    )
)]
pub(crate) async fn receipt(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = find(&s, &who, &id)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        slip(&view_of(&c)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_and_odd_ones_are_none() {
        let id = OpId {
            origin: NodeId::new("store-1").unwrap(),
            seq: 57,
        };
        assert_eq!(parse_close_id(&close_id(&id)), Some(id));
        for bad in [
            "",
            "store-1",
            "store-1.",
            "store-1.0",
            ".5",
            "Store.5",
            "s.x",
        ] {
            assert_eq!(parse_close_id(bad), None, "{bad}");
        }
    }
}
