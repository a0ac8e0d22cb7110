//! `GET /reports/…`: HQ's reports (issue 13), read from the figures each
//! op leaves in its commit (`tongka_core::figures`, `Db::figures`: one row
//! per store and chain day), never from the op log, so a report costs a
//! range scan of at most 366 days per store.
//!
//! - `sales`: per day and store, sales, recharges, refunds and the balance
//!   spent, optionally of one tender kind (`channel`);
//! - `liability`: stored value owed to members per store and chain-wide,
//!   principal and bonus (the rule: `Figures::liability`, imports
//!   included);
//! - `points`: issued, imported, redeemed, reversed, returned, moved
//!   between stores and outstanding (expired is 0: points do not expire
//!   yet);
//! - `members`: new (registered and imported) and active members per day
//!   and store, and dormant members (`more`);
//! - `rankings`: stores by sales; members and products (`more`).
//!
//! Coupons and cards (`/reports/coupons`, `/reports/cards`) are in `more`.
//!
//! **Channels** (`channel`, the one place this is said; README's reports
//! section says it too). A channel is how something came in, and a report
//! takes it where its figures record it:
//! - `sales` and `rankings` `by=stores`: a tender kind (`balance`, `cash`,
//!   `card`, `wechat`, `alipay`): money through it (stores ranked by what
//!   that tender took);
//! - `members`: how a member joined: `store` (registered at a till) or
//!   `import` (`POST /members/import`). Each row gives `registered` and
//!   `imported`, and `new` = registered + imported;
//! - `points`: where points were issued: `sale` (earned by sales, less
//!   what their refunds reversed) or `import` (imported opening points,
//!   `imported`).
//!
//! Under a channel, a figure that records none is 0 (or left out: `null`,
//! no rows), never a figure of every channel: the sales report's balance
//! columns for a tender other than balance; the members report's `active`
//! and `dormant` (a sale does not record how its member joined); the
//! points report's redeemed, returned, moved and outstanding points (a
//! point held is spent or moved whatever its source). The other reports
//! refuse `channel` (422 `invalid_report_query`, field `channel`, saying
//! why): stored value is one balance per member, recharged and imported
//! money cannot be told apart once spent (liability); coupon ops record no
//! tender or source (coupons); a card is one line of a sale paid as a
//! whole (cards); the rows kept per member and per product are not split
//! by tender (rankings `by=members|products`).
//!
//! Every report says how fresh it is (`freshness`): the ops this node
//! holds of each origin and when the newest of them was made. Every node
//! holding the same ops answers the same figures.
//!
//! Query parameters are parsed strictly: a bad one is 422
//! `invalid_report_query` with the `field` at fault (the value sent is
//! never echoed). A store manager sees their own stores only.
//!
//! Every report is also a file: `format=csv|xlsx` (and `lang=zh|en` for
//! its headers) answers its table (`reports/tables.rs`) through `export`.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::day::Day;
use tongka_core::figures::Figures;
use tongka_core::ids::NodeId;
use tongka_core::money::Money;
use utoipa::ToSchema;

use crate::export::Export;
use crate::render::Text;
use crate::*;

pub(crate) mod more;
/// Each report's table, for its CSV and .xlsx (`export`).
mod tables;

/// The longest range a report covers, in days.
pub const RANGE_DAYS_MAX: i32 = 366;
/// The range when none is given: the 30 days up to today.
pub const RANGE_DAYS_DEFAULT: i32 = 30;

const TENDERS: [TenderKind; 5] = [
    TenderKind::Balance,
    TenderKind::Cash,
    TenderKind::Card,
    TenderKind::Wechat,
    TenderKind::Alipay,
];

pub(crate) fn bad(field: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_report_query",
        format!("{field}: {en}"),
        format!("{field}：{zh}"),
    )
    .with("field", field)
}

/// What a report's query asks.
#[derive(Debug, Default)]
pub(crate) struct Asked {
    from: Option<Day>,
    to: Option<Day>,
    pub(crate) store: Option<NodeId>,
    /// As given; each report reads it its own way (module doc, "Channels").
    channel: Option<String>,
    by: Option<String>,
    /// `format` and `lang` (every report takes them: `export::PARAMS`).
    export: Export,
}

/// Read `pairs`, each of `allowed` at most once, none other; an empty value
/// is as if not given.
pub(crate) fn parse(
    pairs: &[(String, String)],
    allowed: &[&'static str],
) -> Result<Asked, ApiError> {
    let mut q = Asked::default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (k, v) in pairs {
        let Some(&field) = allowed
            .iter()
            .chain(&crate::export::PARAMS)
            .find(|a| **a == k.as_str())
        else {
            let list = [allowed, &crate::export::PARAMS[..]].concat().join(", ");
            return Err(bad(
                "query",
                &format!("unknown parameter: give {list}"),
                &format!("未知参数：可用 {list}"),
            ));
        };
        if !seen.insert(field) {
            return Err(bad(field, "given twice", "重复给出"));
        }
        if v.chars().any(char::is_control) {
            return Err(bad(field, "holds a control character", "含控制字符"));
        }
        if v.is_empty() {
            continue;
        }
        let day = |v: &str| {
            v.parse::<Day>().map_err(|_| {
                bad(
                    field,
                    "a date YYYY-MM-DD between 1900 and 2100 is expected",
                    "应为 1900 到 2100 年之间的日期 YYYY-MM-DD",
                )
            })
        };
        match field {
            "from" => q.from = Some(day(v)?),
            "to" => q.to = Some(day(v)?),
            "store" => {
                q.store = Some(NodeId::new(v.as_str()).map_err(|_| {
                    bad(
                        field,
                        "a node name is 1 to 32 of a-z, 0-9 and -, starting with a letter",
                        "门店名应为 1 到 32 个 a-z、0-9 或 -，以字母开头",
                    )
                })?);
            }
            "channel" => q.channel = Some(v.clone()),
            "by" => {
                if !["stores", "members", "products"].contains(&v.as_str()) {
                    return Err(bad(
                        field,
                        "stores, members or products is expected",
                        "应为 stores、members 或 products",
                    ));
                }
                q.by = Some(v.clone());
            }
            "format" => {
                q.export.format = crate::export::Format::parse(v).ok_or_else(|| {
                    bad(
                        field,
                        "a file format: json, csv or xlsx",
                        "应为文件格式：json、csv 或 xlsx",
                    )
                })?;
            }
            "lang" => {
                q.export.lang = crate::export::Lang::parse(v).ok_or_else(|| {
                    bad(
                        field,
                        "the headers' language: zh or en",
                        "应为表头语言：zh 或 en",
                    )
                })?;
            }
            _ => unreachable!("the parameters allowed"),
        }
    }
    Ok(q)
}

impl Asked {
    /// `channel` as a tender kind (sales, the stores ranking).
    pub(crate) fn tender(&self) -> Result<Option<TenderKind>, ApiError> {
        let Some(v) = &self.channel else {
            return Ok(None);
        };
        TENDERS
            .into_iter()
            .find(|t| t.as_str() == v)
            .map(Some)
            .ok_or_else(|| {
                bad(
                    "channel",
                    "a tender kind: balance, cash, card, wechat or alipay",
                    "应为支付方式：balance、cash、card、wechat 或 alipay",
                )
            })
    }

    /// `channel` as one of `kinds` (refused with `en` / `zh`, which list
    /// them).
    pub(crate) fn channel_of(
        &self,
        kinds: &[&'static str],
        en: &str,
        zh: &str,
    ) -> Result<Option<&'static str>, ApiError> {
        let Some(v) = &self.channel else {
            return Ok(None);
        };
        kinds
            .iter()
            .find(|k| **k == v.as_str())
            .copied()
            .map(Some)
            .ok_or_else(|| bad("channel", en, zh))
    }

    /// A report whose figures record no channel: `channel` refused, `en` /
    /// `zh` saying why.
    pub(crate) fn no_channel(&self, en: &str, zh: &str) -> Result<(), ApiError> {
        match self.channel {
            Some(_) => Err(bad("channel", en, zh)),
            None => Ok(()),
        }
    }
}

/// The days asked: `from` to `to` inclusive; `to` defaults to today and
/// `from` to 29 days before `to`.
pub(crate) fn range(q: &Asked) -> Result<(Day, Day), ApiError> {
    let to = q.to.unwrap_or_else(today);
    let from = q.from.unwrap_or(to.plus(1 - RANGE_DAYS_DEFAULT));
    if from > to {
        return Err(bad("from", "is after to", "晚于 to"));
    }
    if to.0 - from.0 >= RANGE_DAYS_MAX {
        return Err(bad(
            "to",
            "a report covers at most 366 days",
            "报表最多覆盖 366 天",
        ));
    }
    Ok((from, to))
}

/// The stores a report covers: the one asked, or every store (`None`) —
/// for a store manager, their own. A store this node has never heard of
/// (no op of it held, not this node, not a peer) is refused.
pub(crate) fn stores(
    s: &AppState,
    who: &Principal,
    asked: Option<&NodeId>,
) -> Result<Option<Vec<NodeId>>, ApiError> {
    let mine: Option<Vec<NodeId>> = who
        .account()
        .filter(|a| a.role.is_store_role())
        .map(|a| a.stores.clone());
    if let Some(store) = asked {
        if let Some(mine) = &mine
            && !mine.contains(store)
        {
            return Err(crate::auth::not_at_this_store(store.as_str()));
        }
        let engine = s.engine();
        let known = engine.node() == store
            || engine.db().summary().vv.get(store) > 0
            || s.inner
                .peers
                .as_ref()
                .is_some_and(|p| p().iter().any(|p| p.node == store.as_str()));
        if !known {
            return Err(bad(
                "store",
                "no such store: this node holds no op of it",
                "无此门店：本节点没有它的任何操作",
            ));
        }
        return Ok(Some(vec![store.clone()]));
    }
    Ok(mine)
}

/// The figures rows of `stores` (every store: `None`) from `from` to `to`,
/// and how fresh they are, read off the async workers.
pub(crate) async fn read(
    s: &AppState,
    stores: Option<Vec<NodeId>>,
    from: Day,
    to: Day,
) -> Result<(Vec<(NodeId, Day, Figures)>, FreshnessView), ApiError> {
    let db = s.engine().db().clone();
    let read = tokio::task::spawn_blocking(move || {
        let rows = db.figures(stores.as_deref(), from, to)?;
        let f = db.freshness()?;
        Ok::<_, tongka_actors::EngineError>((rows, FreshnessView::new(&f.vv, f.newest)))
    });
    Ok(read
        .await
        .map_err(|e| tongka_actors::EngineError::Internal(format!("the report read: {e}")))??)
}

/// How fresh a report is.
#[derive(Serialize, ToSchema)]
#[schema(as = ReportFreshness)]
pub(crate) struct FreshnessView {
    /// This node's version vector: per origin, how many of its ops it holds.
    version_vector: BTreeMap<String, u64>,
    /// Per origin held, its newest op: number and when it was made.
    newest: Vec<NewestView>,
}

/// The newest op held of one origin.
#[derive(Serialize, ToSchema)]
#[schema(as = ReportNewestOp)]
struct NewestView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    #[schema(minimum = 1)]
    seq: u64,
    /// RFC 3339, UTC, milliseconds (the op's hybrid logical clock time).
    #[schema(value_type = String, format = DateTime)]
    at: Text<humantime::Rfc3339Timestamp>,
}

impl FreshnessView {
    /// The newest op held of `store`: its number, and when it was made
    /// (RFC 3339).
    pub(crate) fn newest_of(&self, store: &NodeId) -> Option<(u64, String)> {
        self.newest
            .iter()
            .find(|n| n.store == *store)
            .map(|n| (n.seq, n.at.0.to_string()))
    }

    fn new(vv: &VersionVector, newest: Vec<(NodeId, u64, Hlc)>) -> FreshnessView {
        FreshnessView {
            version_vector: vv.iter().map(|(n, s)| (n.to_string(), s)).collect(),
            newest: newest
                .into_iter()
                .map(|(store, seq, hlc)| NewestView {
                    store,
                    seq,
                    at: Text(humantime::format_rfc3339_millis(
                        std::time::UNIX_EPOCH + std::time::Duration::from_millis(hlc.ms),
                    )),
                })
                .collect(),
        }
    }
}

/// Money through one tender kind on one day at one store.
#[derive(Serialize, ToSchema, Default)]
#[schema(as = ReportTender)]
struct TenderView {
    #[schema(value_type = crate::openapi::TenderKind)]
    kind: &'static str,
    /// Sales paid (in part) with it, and what it paid (net of change).
    #[schema(minimum = 0)]
    sales: u64,
    #[schema(value_type = crate::openapi::Money)]
    sold: Money,
    /// Recharges paid with it: their principal, and the bonus given.
    #[schema(minimum = 0)]
    recharges: u64,
    #[schema(value_type = crate::openapi::Money)]
    recharged: Money,
    #[schema(value_type = crate::openapi::Money)]
    recharged_bonus: Money,
    /// Refunds paid back through it, and what it paid back.
    #[schema(minimum = 0)]
    refunds: u64,
    #[schema(value_type = crate::openapi::Money)]
    refunded: Money,
}

/// Sales, recharges and refunds of one store on one day (or their sum).
#[derive(Serialize, ToSchema, Default)]
#[schema(as = SalesRow)]
struct SalesRowView {
    /// The chain day (`YYYY-MM-DD`, China time); absent in the totals.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(skip_serializing_if = "Option::is_none")]
    day: Option<Text<Day>>,
    #[schema(value_type = Option<crate::openapi::NodeName>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<NodeId>,
    #[schema(minimum = 0)]
    sales: u64,
    /// What sales were paid (their payable; with `channel`, what that
    /// tender paid of them).
    #[schema(value_type = crate::openapi::Money)]
    sales_amount: Money,
    #[schema(minimum = 0)]
    recharges: u64,
    #[schema(value_type = crate::openapi::Money)]
    recharged_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    recharged_bonus: Money,
    #[schema(minimum = 0)]
    refunds: u64,
    #[schema(value_type = crate::openapi::Money)]
    refunded: Money,
    /// The balance spent by sales, principal and bonus (with a `channel`
    /// other than balance: 0).
    #[schema(value_type = crate::openapi::Money)]
    balance_spent_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    balance_spent_bonus: Money,
    /// The balance refunds gave back, principal and bonus (likewise).
    #[schema(value_type = crate::openapi::Money)]
    balance_refunded_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    balance_refunded_bonus: Money,
    /// Each tender kind used (only `channel`'s, when given).
    tenders: Vec<TenderView>,
}

impl SalesRowView {
    fn add(&mut self, f: &Figures, channel: Option<TenderKind>) {
        let t = &f.totals;
        let balance = channel.is_none_or(|c| c == TenderKind::Balance);
        match channel {
            None => {
                self.sales += t.orders;
                self.sales_amount += t.sales;
                self.recharges += t.recharges;
                self.recharged_principal += t.recharged_principal;
                self.recharged_bonus += t.recharged_bonus;
                self.refunds += t.refunds;
                self.refunded += t.refunded;
            }
            Some(c) => {
                let x = f.tender(c);
                self.sales += x.sales;
                self.sales_amount += x.sold;
                self.recharges += x.recharges;
                self.recharged_principal += x.recharged;
                self.recharged_bonus += x.recharged_bonus;
                self.refunds += x.refunds;
                self.refunded += x.refunded;
            }
        }
        if balance {
            self.balance_spent_principal += t.spent_principal;
            self.balance_spent_bonus += t.spent_bonus;
            self.balance_refunded_principal += t.refunded_principal;
            self.balance_refunded_bonus += t.refunded_bonus;
        }
        for (kind, x) in &f.tenders {
            if channel.is_some_and(|c| c != *kind) {
                continue;
            }
            let i = match self.tenders.iter().position(|v| v.kind == kind.as_str()) {
                Some(i) => i,
                None => {
                    self.tenders.push(TenderView {
                        kind: kind.as_str(),
                        ..TenderView::default()
                    });
                    self.tenders.len() - 1
                }
            };
            let v = &mut self.tenders[i];
            v.sales += x.sales;
            v.sold += x.sold;
            v.recharges += x.recharges;
            v.recharged += x.recharged;
            v.recharged_bonus += x.recharged_bonus;
            v.refunds += x.refunds;
            v.refunded += x.refunded;
        }
        self.tenders.sort_by_key(|v| {
            TENDERS
                .iter()
                .position(|k| k.as_str() == v.kind)
                .unwrap_or(usize::MAX)
        });
    }
}

/// The sales report.
#[derive(Serialize, ToSchema)]
#[schema(as = SalesReport)]
pub(crate) struct SalesView {
    #[schema(value_type = String, format = Date)]
    from: Text<Day>,
    #[schema(value_type = String, format = Date)]
    to: Text<Day>,
    /// The tender kind asked, if any.
    #[schema(value_type = Option<crate::openapi::TenderKind>, required = true)]
    channel: Option<&'static str>,
    /// Per store, then day; days without any op are left out.
    rows: Vec<SalesRowView>,
    /// The rows summed.
    totals: SalesRowView,
    freshness: FreshnessView,
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/sales",
    operation_id = "salesReport",
    tag = "reports",
    summary = r#"Sales, recharges and refunds per day and store / 销售、充值与退款日报"#,
    description = r#"Per chain day (China time) and store: sales (count and what was paid), recharges (principal and bonus), refunds, and the balance spent and given back (principal and bonus), with each tender kind's part. `channel` keeps one tender kind: the rows then count what went through it (the balance columns only for `balance`). Read from the figures each op leaves in its commit: equal on every node holding the same ops; `freshness` says which ops those are. Days from `from` to `to` included, at most 366; `to` defaults to today and `from` to 29 days before `to`. A store manager sees their own stores only."#,
    params(
        ("from" = Option<String>, Query, description = r#"First day, included (`YYYY-MM-DD`, China time)."#, example = "2026-12-01"),
        ("to" = Option<String>, Query, description = r#"Last day, included; not before `from`, at most 365 days after it."#, example = "2026-12-06"),
        ("store" = Option<String>, Query, description = r#"One store (a node name); default every store."#, example = "store-1"),
        ("channel" = Option<String>, Query, description = r#"One tender kind: balance, cash, card, wechat or alipay."#, example = "cash"),
        ("format" = Option<String>, Query, description = r#"`json` (the default), `csv` (UTF-8 with BOM, CRLF, RFC 4180) or `xlsx` (Excel): the report's table as a file to download (`Content-Disposition: attachment`)."#, example = "csv"),
        ("lang" = Option<String>, Query, description = r#"The file's headers: `zh` (Chinese, the default) or `en`."#, example = "zh"),
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The report. JSON; with `format`, its table as a CSV or .xlsx file."#, content(
            (crate::reports::SalesView = "application/json"),
            (crate::export::CsvFile = "text/csv"),
            (crate::export::XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ), headers(("Content-Disposition" = String, description = r#"With `format=csv|xlsx`: `attachment`, an ASCII `filename` (`sales_2026-12-01_2026-12-06.csv`) and an RFC 5987 `filename*` in the headers' language."#)))
    )
)]
pub(crate) async fn sales(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = parse(&pairs, &["from", "to", "store", "channel"])?;
    let channel = q.tender()?;
    let (from, to) = range(&q)?;
    let stores = stores(&s, &who, q.store.as_ref())?;
    let (rows, freshness) = read(&s, stores, from, to).await?;
    let mut totals = SalesRowView::default();
    let rows = rows
        .iter()
        .map(|(store, day, f)| {
            totals.add(f, channel);
            let mut row = SalesRowView {
                day: Some(Text(*day)),
                store: Some(store.clone()),
                ..SalesRowView::default()
            };
            row.add(f, channel);
            row
        })
        .collect();
    Ok(crate::export::answer(
        q.export,
        &SalesView {
            from: Text(from),
            to: Text(to),
            channel: channel.map(TenderKind::as_str),
            rows,
            totals,
            freshness,
        },
    ))
}

/// Stored value owed to members (principal, bonus).
#[derive(Serialize, ToSchema)]
#[schema(as = Liability)]
struct LiabilityView {
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
}

/// One store's liability.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreLiability)]
struct StoreLiabilityView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
}

/// The liability report.
#[derive(Serialize, ToSchema)]
#[schema(as = LiabilityReport)]
pub(crate) struct LiabilityReportView {
    /// Per store: recharged + imported − spent + refunded + shares
    /// received − shares given, over all its days.
    stores: Vec<StoreLiabilityView>,
    /// Chain-wide (recharged + imported − spent + refunded); null for a
    /// store manager or when one store is asked.
    #[schema(required = true)]
    chain: Option<LiabilityView>,
    freshness: FreshnessView,
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/liability",
    operation_id = "liabilityReport",
    tag = "reports",
    summary = r#"Stored value owed to members, per store and chain-wide / 储值负债"#,
    description = r#"What members may still spend, principal and bonus apart. A store's part is recharged + imported (opening balances of members imported there) − spent + refunded at it, plus the shares other stores gave it less the shares it gave (escrow transfers), over all its days; the stores' parts sum to the chain-wide figure, recharged + imported − spent + refunded. No `channel`: a member's stored value is one balance. A store manager sees their own stores only, without the chain-wide figure."#,
    params(
        ("store" = Option<String>, Query, description = r#"One store (a node name); default every store."#, example = "store-1"),
        ("channel" = Option<String>, Query, description = r#"Not taken: refused (422 `invalid_report_query`, field `channel`): stored value is one balance per member, and what was recharged or imported cannot be told apart once spent."#),
        ("format" = Option<String>, Query, description = r#"`json` (the default), `csv` (UTF-8 with BOM, CRLF, RFC 4180) or `xlsx` (Excel): the report's table as a file to download (`Content-Disposition: attachment`)."#, example = "csv"),
        ("lang" = Option<String>, Query, description = r#"The file's headers: `zh` (Chinese, the default) or `en`."#, example = "zh"),
    ),
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The report. JSON; with `format`, its table as a CSV or .xlsx file."#, content(
            (crate::reports::LiabilityReportView = "application/json"),
            (crate::export::CsvFile = "text/csv"),
            (crate::export::XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ), headers(("Content-Disposition" = String, description = r#"With `format=csv|xlsx`: `attachment`, an ASCII `filename` (`sales_2026-12-01_2026-12-06.csv`) and an RFC 5987 `filename*` in the headers' language."#)))
    )
)]
pub(crate) async fn liability(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = parse(&pairs, &["store", "channel"])?;
    q.no_channel(
        "the liability is not split by channel: a member's stored value is one balance, and what was recharged or imported cannot be told apart once spent (recharges per tender: the sales report; imports: the members report)",
        "储值负债不分渠道：会员储值是一笔余额，充值与导入的部分一经消费便无法区分（各支付方式的充值见销售日报，导入见会员增长）",
    )?;
    let stores = stores(&s, &who, q.store.as_ref())?;
    let whole = stores.is_none();
    let (rows, freshness) = read(&s, stores, Day(i32::MIN), Day(i32::MAX)).await?;
    let mut per: BTreeMap<NodeId, (Money, Money)> = BTreeMap::new();
    for (store, _, f) in &rows {
        let (p, b) = f.liability();
        let e = per
            .entry(store.clone())
            .or_insert((Money::ZERO, Money::ZERO));
        e.0 += p;
        e.1 += b;
    }
    let chain = whole.then(|| {
        let (principal, bonus) = per
            .values()
            .fold((Money::ZERO, Money::ZERO), |a, v| (a.0 + v.0, a.1 + v.1));
        LiabilityView { principal, bonus }
    });
    Ok(crate::export::answer(
        q.export,
        &LiabilityReportView {
            stores: per
                .into_iter()
                .map(|(store, (principal, bonus))| StoreLiabilityView {
                    store,
                    principal,
                    bonus,
                })
                .collect(),
            chain,
            freshness,
        },
    ))
}

/// Points of one store on one day.
#[derive(Serialize, ToSchema)]
#[schema(as = PointsRow)]
struct PointsRowView {
    #[schema(value_type = String, format = Date)]
    day: Text<Day>,
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// Earned by sales.
    issued: i64,
    /// Opening points of members imported at the store that day
    /// (`POST /members/import`), apart from `issued`.
    imported: i64,
    /// Paid with at checkout (积分抵现).
    redeemed: i64,
    /// Taken back by refunds of the sales that earned them.
    reversed: i64,
    /// Paid with, given back by refunds.
    returned: i64,
    /// Always 0: points do not expire yet.
    expired: i64,
    /// Points shares other stores gave this one, and it gave others.
    moved_in: i64,
    moved_out: i64,
    /// issued + imported − redeemed − reversed + returned − expired +
    /// moved in − moved out (with `channel`: of that channel's figures,
    /// the others 0).
    net: i64,
}

impl PointsRowView {
    /// `f`'s points, or (`channel`) those issued that way alone: `sale`
    /// keeps issued and reversed, `import` the imported; every other
    /// figure records no channel and is 0 (module doc, "Channels").
    fn of(store: &NodeId, day: Day, f: &Figures, channel: Option<&str>) -> PointsRowView {
        let t = &f.totals;
        let (sale, spent, import) = match channel {
            None => (true, true, true),
            Some("sale") => (true, false, false),
            Some(_) => (false, false, true),
        };
        let keep = |yes: bool, n: i64| if yes { n } else { 0 };
        let mut row = PointsRowView {
            day: Text(day),
            store: store.clone(),
            issued: keep(sale, t.points_issued),
            imported: keep(import, t.imported_points),
            redeemed: keep(spent, t.points_redeemed),
            reversed: keep(sale, t.points_reversed),
            returned: keep(spent, t.points_returned),
            expired: 0,
            moved_in: keep(spent, f.shares_in.points),
            moved_out: keep(spent, f.shares_out.points),
            net: 0,
        };
        row.net = row.issued + row.imported - row.redeemed - row.reversed + row.returned
            - row.expired
            + row.moved_in
            - row.moved_out;
        debug_assert!(channel.is_some() || row.net == f.points_outstanding());
        row
    }
}

/// One store's points outstanding.
#[derive(Serialize, ToSchema)]
#[schema(as = StorePoints)]
struct StorePointsView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// Over all its days (not only the range).
    outstanding: i64,
}

/// The points report.
#[derive(Serialize, ToSchema)]
#[schema(as = PointsReport)]
pub(crate) struct PointsView {
    #[schema(value_type = String, format = Date)]
    from: Text<Day>,
    #[schema(value_type = String, format = Date)]
    to: Text<Day>,
    /// Where the points asked were issued (`sale`, `import`), if asked.
    #[schema(value_type = Option<String>, required = true, example = "import")]
    channel: Option<&'static str>,
    rows: Vec<PointsRowView>,
    /// Each store's points outstanding; empty with `channel` (a point held
    /// is not told apart by where it was issued).
    stores: Vec<StorePointsView>,
    /// Chain-wide points members hold; null for a store manager, when one
    /// store is asked, or with `channel`.
    #[schema(required = true)]
    chain_outstanding: Option<i64>,
    freshness: FreshnessView,
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/points",
    operation_id = "pointsReport",
    tag = "reports",
    summary = r#"Points issued, redeemed, reversed, returned and outstanding / 积分报表"#,
    description = r#"Per chain day and store: points issued by sales, imported (opening points of members imported there), redeemed at checkout, reversed and returned by refunds, and moved between stores by escrow transfers; `expired` is always 0 (points do not expire yet). `stores` gives each store's points outstanding over all its days, and `chain_outstanding` the chain's. `channel` keeps the points issued one way (`sale`, `import`). Days as in the sales report (at most 366)."#,
    params(
        ("from" = Option<String>, Query, description = r#"First day, included (`YYYY-MM-DD`, China time)."#, example = "2026-12-01"),
        ("to" = Option<String>, Query, description = r#"Last day, included."#, example = "2026-12-06"),
        ("store" = Option<String>, Query, description = r#"One store (a node name); default every store."#, example = "store-1"),
        ("channel" = Option<String>, Query, description = r#"Where points were issued: `sale` (earned by sales; reversed by their refunds) or `import` (imported opening points). The other figures record no channel and are 0; `stores` is then empty and `chain_outstanding` null."#, example = "import"),
        ("format" = Option<String>, Query, description = r#"`json` (the default), `csv` (UTF-8 with BOM, CRLF, RFC 4180) or `xlsx` (Excel): the report's table as a file to download (`Content-Disposition: attachment`)."#, example = "csv"),
        ("lang" = Option<String>, Query, description = r#"The file's headers: `zh` (Chinese, the default) or `en`."#, example = "zh"),
    ),
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The report. JSON; with `format`, its table as a CSV or .xlsx file."#, content(
            (crate::reports::PointsView = "application/json"),
            (crate::export::CsvFile = "text/csv"),
            (crate::export::XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ), headers(("Content-Disposition" = String, description = r#"With `format=csv|xlsx`: `attachment`, an ASCII `filename` (`sales_2026-12-01_2026-12-06.csv`) and an RFC 5987 `filename*` in the headers' language."#)))
    )
)]
pub(crate) async fn points(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = parse(&pairs, &["from", "to", "store", "channel"])?;
    let channel = q.channel_of(
        &["sale", "import"],
        "where points were issued: sale or import",
        "应为积分来源：sale（消费）或 import（导入）",
    )?;
    let (from, to) = range(&q)?;
    let stores = stores(&s, &who, q.store.as_ref())?;
    let whole = stores.is_none() && channel.is_none();
    let (all, freshness) = read(&s, stores, Day(i32::MIN), Day(i32::MAX)).await?;
    let mut outstanding: BTreeMap<NodeId, i64> = BTreeMap::new();
    let mut rows = Vec::new();
    for (store, day, f) in &all {
        if channel.is_none() {
            *outstanding.entry(store.clone()).or_default() += f.points_outstanding();
        }
        if *day < from || *day > to {
            continue;
        }
        rows.push(PointsRowView::of(store, *day, f, channel));
    }
    let chain_outstanding = whole.then(|| outstanding.values().sum());
    Ok(crate::export::answer(
        q.export,
        &PointsView {
            from: Text(from),
            to: Text(to),
            channel,
            rows,
            stores: outstanding
                .into_iter()
                .map(|(store, outstanding)| StorePointsView { store, outstanding })
                .collect(),
            chain_outstanding,
            freshness,
        },
    ))
}

/// Members of one store on one day.
#[derive(Serialize, ToSchema)]
#[schema(as = MembersRow)]
struct MembersRowView {
    #[schema(value_type = String, format = Date)]
    day: Text<Day>,
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// Joined at the store that day: registered + imported (with
    /// `channel`, that channel's).
    #[schema(minimum = 0)]
    new: u64,
    /// Registered at a till (channel `store`).
    #[schema(minimum = 0)]
    registered: u64,
    /// Imported from another system (channel `import`,
    /// `POST /members/import`).
    #[schema(minimum = 0)]
    imported: u64,
    /// Distinct members with a sale or a recharge at the store that day
    /// (0 with `channel`: a sale does not record how its member joined).
    #[schema(minimum = 0)]
    active: u64,
}

/// The members report.
#[derive(Serialize, ToSchema)]
#[schema(as = MembersReport)]
pub(crate) struct MembersView {
    #[schema(value_type = String, format = Date)]
    from: Text<Day>,
    #[schema(value_type = String, format = Date)]
    to: Text<Day>,
    /// How the members counted joined (`store`, `import`), if asked.
    #[schema(value_type = Option<String>, required = true, example = "import")]
    channel: Option<&'static str>,
    rows: Vec<MembersRowView>,
    /// New members in the range, all rows; and of them registered and
    /// imported.
    #[schema(minimum = 0)]
    new: u64,
    #[schema(minimum = 0)]
    registered: u64,
    #[schema(minimum = 0)]
    imported: u64,
    /// Dormant members as of `to` (`dormant_days`); with `channel`, none
    /// counted (`chain` null, no stores).
    dormant: more::DormantView,
    freshness: FreshnessView,
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/members",
    operation_id = "membersReport",
    tag = "reports",
    summary = r#"Member growth: new, active and dormant members / 会员增长"#,
    description = r#"Per chain day and store: members who joined there (`new`), registered at a till (`registered`) or imported from another system (`imported`); `channel` keeps one way (`store`, `import`). And distinct members with a sale or recharge there (a member active at two stores counts at each; one active on two days counts on each). `dormant`: as of `to`, members last seen (registered, or a sale or recharge) on or before `to − dormant_days` — chain-wide (anywhere) and per store (at the store; a member of two stores counts at each), merged-away duplicates left out. Counted from each member's last day as it is now: exact for `to` = today; for a past `to`, the members dormant then and not seen since. With `channel`, active and dormant members are not counted (0, none): a sale does not record how its member joined. Days as in the sales report (at most 366)."#,
    params(
        ("from" = Option<String>, Query, description = r#"First day, included (`YYYY-MM-DD`, China time)."#, example = "2026-12-01"),
        ("to" = Option<String>, Query, description = r#"Last day, included."#, example = "2026-12-06"),
        ("store" = Option<String>, Query, description = r#"One store (a node name); default every store."#, example = "store-1"),
        ("channel" = Option<String>, Query, description = r#"How members joined: `store` (registered at a till) or `import` (imported from another system)."#, example = "import"),
        ("dormant_days" = Option<i32>, Query, description = r#"Days without a sale or recharge that make a member dormant: 1 to 3660, default 90."#, example = 90),
        ("format" = Option<String>, Query, description = r#"`json` (the default), `csv` (UTF-8 with BOM, CRLF, RFC 4180) or `xlsx` (Excel): the report's table as a file to download (`Content-Disposition: attachment`)."#, example = "csv"),
        ("lang" = Option<String>, Query, description = r#"The file's headers: `zh` (Chinese, the default) or `en`."#, example = "zh"),
    ),
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The report. JSON; with `format`, its table as a CSV or .xlsx file."#, content(
            (crate::reports::MembersView = "application/json"),
            (crate::export::CsvFile = "text/csv"),
            (crate::export::XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ), headers(("Content-Disposition" = String, description = r#"With `format=csv|xlsx`: `attachment`, an ASCII `filename` (`sales_2026-12-01_2026-12-06.csv`) and an RFC 5987 `filename*` in the headers' language."#)))
    )
)]
pub(crate) async fn members(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (q, extra) = more::parse_more(
        &pairs,
        &["from", "to", "store", "channel"],
        &["dormant_days"],
    )?;
    let channel = q.channel_of(
        &["store", "import"],
        "how members joined: store or import",
        "应为入会渠道：store（门店注册）或 import（导入）",
    )?;
    let (from, to) = range(&q)?;
    let stores = stores(&s, &who, q.store.as_ref())?;
    let dormant = more::dormant(
        &s,
        stores.clone(),
        to,
        extra.dormant_days,
        channel.is_none(),
    )
    .await?;
    let (rows, freshness) = read(&s, stores, from, to).await?;
    let rows: Vec<MembersRowView> = rows
        .into_iter()
        .map(|(store, day, f)| {
            let t = &f.totals;
            let imported = if channel == Some("store") {
                0
            } else {
                t.imports
            };
            let registered = if channel == Some("import") {
                0
            } else {
                t.members - t.imports
            };
            MembersRowView {
                day: Text(day),
                store,
                new: registered + imported,
                registered,
                imported,
                active: if channel.is_none() {
                    f.active_members
                } else {
                    0
                },
            }
        })
        .collect();
    Ok(crate::export::answer(
        q.export,
        &MembersView {
            from: Text(from),
            to: Text(to),
            channel,
            new: rows.iter().map(|r| r.new).sum(),
            registered: rows.iter().map(|r| r.registered).sum(),
            imported: rows.iter().map(|r| r.imported).sum(),
            rows,
            dormant,
            freshness,
        },
    ))
}

/// One store's place in the ranking.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreRank)]
struct RankView {
    #[schema(minimum = 1)]
    rank: u64,
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    #[schema(value_type = crate::openapi::Money)]
    sales_amount: Money,
    #[schema(minimum = 0)]
    sales: u64,
    #[schema(value_type = crate::openapi::Money)]
    refunded: Money,
    #[schema(value_type = crate::openapi::Money)]
    recharged_principal: Money,
}

/// The rankings report.
#[derive(Serialize, ToSchema)]
#[schema(as = RankingsReport)]
pub(crate) struct RankingsView {
    #[schema(value_type = String, format = Date)]
    from: Text<Day>,
    #[schema(value_type = String, format = Date)]
    to: Text<Day>,
    /// What is ranked: `stores`, `members` or `products`.
    by: &'static str,
    /// The tender kind stores are ranked by, if asked (`by=stores` only).
    #[schema(value_type = Option<crate::openapi::TenderKind>, required = true)]
    channel: Option<&'static str>,
    /// Highest sales amount first (ties: by store name); empty unless
    /// `by=stores`.
    stores: Vec<RankView>,
    /// With `by=members`: highest spent first (`sort=count`: most sales).
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<more::MemberRankView>>,
    /// With `by=products`: highest net amount first (`sort=qty`: net
    /// quantity).
    #[serde(skip_serializing_if = "Option::is_none")]
    products: Option<Vec<more::ProductRankView>>,
    freshness: FreshnessView,
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/rankings",
    operation_id = "rankingsReport",
    tag = "reports",
    summary = r#"Top stores, members or products / 门店、会员与商品排名"#,
    description = r#"`by=stores` (the default): stores ranked by what their sales were paid in the range (ties by name), with their sales count, refunds and recharges; `channel` (a tender kind) ranks them by what that tender took, the figures then that tender's. `by=members`: members by what they spent (sales paid less refunds given back, refunds on their own day; `sort=count`: by sales made), ties by member id. `by=products`: products (by sku; lines without one are not ranked) by what their lines paid less what refunds took back (`sort=qty`: by quantity sold less refunded), ties by sku. Members and products of one `store` or of every store; `limit` answers the first 1 to 100 (default 20; stores: all unless given). Summed at read time from rows kept per store, day and member or sku. A store manager sees their own stores only. Days as in the sales report (at most 366)."#,
    params(
        ("from" = Option<String>, Query, description = r#"First day, included (`YYYY-MM-DD`, China time)."#, example = "2026-12-01"),
        ("to" = Option<String>, Query, description = r#"Last day, included."#, example = "2026-12-06"),
        ("by" = Option<String>, Query, description = r#"What to rank: `stores` (default), `members` or `products`."#, example = "stores"),
        ("store" = Option<String>, Query, description = r#"Members or products of one store (a node name); default every store. Not with `by=stores`."#, example = "store-1"),
        ("sort" = Option<String>, Query, description = r#"`amount` (default); `count` for members, `qty` for products. Not with `by=stores`."#, example = "amount"),
        ("channel" = Option<String>, Query, description = r#"With `by=stores`: one tender kind (balance, cash, card, wechat or alipay). Refused with `by=members|products`: the rows kept per member and product are not split by tender."#, example = "wechat"),
        ("limit" = Option<u32>, Query, description = r#"How many to answer: 1 to 100; default 20 (stores: all)."#, example = 20),
        ("format" = Option<String>, Query, description = r#"`json` (the default), `csv` (UTF-8 with BOM, CRLF, RFC 4180) or `xlsx` (Excel): the report's table as a file to download (`Content-Disposition: attachment`)."#, example = "csv"),
        ("lang" = Option<String>, Query, description = r#"The file's headers: `zh` (Chinese, the default) or `en`."#, example = "zh"),
    ),
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The ranking. JSON; with `format`, its table as a CSV or .xlsx file."#, content(
            (crate::reports::RankingsView = "application/json"),
            (crate::export::CsvFile = "text/csv"),
            (crate::export::XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ), headers(("Content-Disposition" = String, description = r#"With `format=csv|xlsx`: `attachment`, an ASCII `filename` (`sales_2026-12-01_2026-12-06.csv`) and an RFC 5987 `filename*` in the headers' language."#)))
    )
)]
pub(crate) async fn rankings(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (q, extra) = more::parse_more(
        &pairs,
        &["from", "to", "by", "store", "channel"],
        &["limit", "sort"],
    )?;
    let (from, to) = range(&q)?;
    if let Some(by @ ("members" | "products")) = q.by.as_deref() {
        q.no_channel(
            "only with by=stores: the rows kept per member and per product are not split by tender",
            "仅用于按门店排名：按会员、按商品保存的数据不分支付方式",
        )?;
        let by = if by == "members" {
            "members"
        } else {
            "products"
        };
        return more::rankings(&s, &who, &q, &extra, (from, to), by).await;
    }
    let channel = q.tender()?;
    for (given, field) in [(q.store.is_some(), "store"), (extra.sort.is_some(), "sort")] {
        if given {
            return Err(bad(field, "not with by=stores", "按门店排名时不可用"));
        }
    }
    let stores = stores(&s, &who, None)?;
    let (rows, freshness) = read(&s, stores, from, to).await?;
    let mut per: BTreeMap<NodeId, SalesRowView> = BTreeMap::new();
    for (store, _, f) in &rows {
        per.entry(store.clone()).or_default().add(f, channel);
    }
    let mut ranked: Vec<(NodeId, SalesRowView)> = per.into_iter().collect();
    ranked.sort_by(|a, b| b.1.sales_amount.cmp(&a.1.sales_amount).then(a.0.cmp(&b.0)));
    ranked.truncate(extra.limit.unwrap_or(usize::MAX));
    Ok(crate::export::answer(
        q.export,
        &RankingsView {
            from: Text(from),
            to: Text(to),
            by: "stores",
            channel: channel.map(TenderKind::as_str),
            stores: ranked
                .into_iter()
                .enumerate()
                .map(|(i, (store, r))| RankView {
                    rank: i as u64 + 1,
                    store,
                    sales_amount: r.sales_amount,
                    sales: r.sales,
                    refunded: r.refunded,
                    recharged_principal: r.recharged_principal,
                })
                .collect(),
            members: None,
            products: None,
            freshness,
        },
    ))
}
