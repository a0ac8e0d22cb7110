//! The reports issue 13 asked for beyond the first five (`reports`'s
//! module doc): dormant members (in `/reports/members`), top members and
//! top products (`/reports/rankings?by=members|products`), and coupon and
//! card figures (`/reports/coupons`, `/reports/cards`). Each is read from
//! what each op leaves in its commit, never from the log:
//!
//! - dormant members: the members per last day (`Db::dormant`,
//!   `tongka_core::figures::seen`: the rule), a range read of one row per
//!   day a member was last seen, per scope;
//! - top members and products: the rows per store, day and member or sku
//!   (`Db::member_spend_top`, `Db::product_sales`), summed over the range
//!   at read time on two threads, then the first `limit` selected
//!   (`ranks::MemberOrder::top`): the cost is the number of (store, day,
//!   member) or (store, day, sku) rows with a sale or refund in the range
//!   (at 1,000,000 members and 10,000,000 orders a year, some 5.5 million
//!   member rows: BENCHMARKS.md). The answer is bounded by `limit`
//!   (default 20, at most 100);
//! - coupons and cards: the figures per store and day (`Figures::totals`,
//!   which count coupons issued, uses made and given back, cards sold,
//!   visits and cards refunded). Coupons that expire unused are not
//!   reported: expiring is not an op (a coupon's use past its day is
//!   refused at the till, nothing records that it lapsed).
//!
//! Points do not expire in this product (no op or programme setting
//! expires them), so `/reports/points` keeps `expired: 0`.
//!
//! Query parameters are parsed as the other reports' (`parse`, 422
//! `invalid_report_query` naming the `field`); the extra ones here
//! (`dormant_days`, `limit`, `sort`) likewise.

use tongka_core::figures::ranks::{self, LIMIT_DEFAULT, LIMIT_MAX, ProductFigures, Spend};
use tongka_core::figures::seen::{self, DORMANT_DAYS_DEFAULT, DORMANT_DAYS_MAX};
use tongka_core::ids::MemberId;

use super::*;
use crate::export::{Cell, Column, Exportable, Kind, Table};

/// The parameters of these reports that the others do not take.
#[derive(Debug, Default)]
pub(super) struct Extra {
    pub(super) dormant_days: Option<i32>,
    pub(super) limit: Option<usize>,
    pub(super) sort: Option<String>,
}

/// `parse` with `extra` parameters read here: each at most once, none
/// other than `allowed` and `extra` (the refusal lists both).
pub(super) fn parse_more(
    pairs: &[(String, String)],
    allowed: &[&'static str],
    extra: &[&'static str],
) -> Result<(Asked, Extra), ApiError> {
    let mut rest = Vec::new();
    let mut out = Extra::default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (k, v) in pairs {
        let Some(&field) = extra.iter().find(|e| **e == k.as_str()) else {
            if !allowed
                .iter()
                .chain(&crate::export::PARAMS)
                .any(|a| *a == k.as_str())
            {
                let list = allowed
                    .iter()
                    .chain(extra)
                    .chain(&crate::export::PARAMS)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(bad(
                    "query",
                    &format!("unknown parameter: give {list}"),
                    &format!("未知参数：可用 {list}"),
                ));
            }
            rest.push((k.clone(), v.clone()));
            continue;
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
        match field {
            "dormant_days" => {
                out.dormant_days = Some(
                    v.parse::<i32>()
                        .ok()
                        .filter(|d| (1..=DORMANT_DAYS_MAX).contains(d))
                        .ok_or_else(|| {
                            bad(
                                field,
                                "a whole number of days from 1 to 3660 is expected",
                                "应为 1 到 3660 之间的整数天数",
                            )
                        })?,
                );
            }
            "limit" => {
                out.limit = Some(
                    v.parse::<usize>()
                        .ok()
                        .filter(|l| (1..=LIMIT_MAX).contains(l))
                        .ok_or_else(|| {
                            bad(
                                field,
                                "a whole number from 1 to 100 is expected",
                                "应为 1 到 100 之间的整数",
                            )
                        })?,
                );
            }
            "sort" => {
                if !["amount", "count", "qty"].contains(&v.as_str()) {
                    return Err(bad(
                        field,
                        "amount, count (members) or qty (products) is expected",
                        "应为 amount、count（会员）或 qty（商品）",
                    ));
                }
                out.sort = Some(v.clone());
            }
            _ => unreachable!("the extra parameters handled here"),
        }
    }
    Ok((parse(&rest, allowed)?, out))
}

/// One store's dormant members.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreDormant)]
pub(super) struct StoreDormantView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// Members of the store (registered there, or with a sale or recharge
    /// there) last seen there on or before `last_seen_by`.
    #[schema(minimum = 0)]
    dormant: u64,
}

/// Dormant members as of a day.
#[derive(Serialize, ToSchema)]
#[schema(as = DormantMembers)]
pub(super) struct DormantView {
    /// The day they are counted as of (the report's `to`).
    #[schema(value_type = String, format = Date)]
    as_of: Text<Day>,
    /// Days without a sale or recharge that make a member dormant.
    #[schema(minimum = 1)]
    days: i32,
    /// `as_of − days`: dormant members were last seen on or before it.
    #[schema(value_type = String, format = Date)]
    last_seen_by: Text<Day>,
    /// Chain-wide (a member counts once); null for a store manager or
    /// when one store is asked.
    #[schema(required = true)]
    chain: Option<u64>,
    /// Per store (a member seen at two stores counts at each).
    stores: Vec<StoreDormantView>,
}

/// Dormant members as of `as_of` after `days` (default 90) at `stores`
/// (`None`: every store, and the chain); none counted unless `counted`
/// (a channel asked: a member's last day does not record how they joined).
pub(super) async fn dormant(
    s: &AppState,
    stores: Option<Vec<NodeId>>,
    as_of: Day,
    days: Option<i32>,
    counted: bool,
) -> Result<DormantView, ApiError> {
    let days = days.unwrap_or(DORMANT_DAYS_DEFAULT);
    let cutoff = seen::cutoff(as_of, days);
    if !counted {
        return Ok(DormantView {
            as_of: Text(as_of),
            days,
            last_seen_by: Text(cutoff),
            chain: None,
            stores: Vec::new(),
        });
    }
    let whole = stores.is_none();
    let db = s.engine().db().clone();
    let d = tokio::task::spawn_blocking(move || db.dormant(stores.as_deref(), cutoff))
        .await
        .map_err(|e| tongka_actors::EngineError::Internal(format!("the report read: {e}")))?
        .map_err(tongka_actors::EngineError::from)?;
    Ok(DormantView {
        as_of: Text(as_of),
        days,
        last_seen_by: Text(cutoff),
        chain: whole.then_some(d.chain),
        stores: d
            .stores
            .into_iter()
            .map(|(store, dormant)| StoreDormantView { store, dormant })
            .collect(),
    })
}

/// One member's place in the ranking.
#[derive(Serialize, ToSchema)]
#[schema(as = MemberRank)]
pub(super) struct MemberRankView {
    #[schema(minimum = 1)]
    rank: u64,
    #[schema(value_type = String)]
    member: MemberId,
    /// Sales made for them, and what they were paid.
    #[schema(minimum = 0)]
    sales: u64,
    #[schema(value_type = crate::openapi::Money)]
    sold: Money,
    /// Refunds of their sales, and what they gave back.
    #[schema(minimum = 0)]
    refunds: u64,
    #[schema(value_type = crate::openapi::Money)]
    refunded: Money,
    /// sold − refunded.
    #[schema(value_type = crate::openapi::Money)]
    spent: Money,
}

/// One product's place in the ranking.
#[derive(Serialize, ToSchema)]
#[schema(as = ProductRank)]
pub(super) struct ProductRankView {
    #[schema(minimum = 1)]
    rank: u64,
    sku: String,
    /// Quantity sold, and what the lines paid for it (after discounts and
    /// coupons).
    #[schema(value_type = String, example = "3")]
    qty: Text<rust_decimal::Decimal>,
    #[schema(value_type = crate::openapi::Money)]
    sold: Money,
    /// Quantity refunded, and its share of what the lines paid.
    #[schema(value_type = String, example = "1")]
    returned_qty: Text<rust_decimal::Decimal>,
    #[schema(value_type = crate::openapi::Money)]
    returned: Money,
    /// qty − returned_qty, and sold − returned.
    #[schema(value_type = String, example = "2")]
    net_qty: Text<rust_decimal::Decimal>,
    #[schema(value_type = crate::openapi::Money)]
    net: Money,
}

/// `/reports/rankings` of members or products (`by`).
pub(super) async fn rankings(
    s: &AppState,
    who: &Principal,
    q: &Asked,
    extra: &Extra,
    (from, to): (Day, Day),
    by: &'static str,
) -> Result<Response, ApiError> {
    let sort = extra.sort.as_deref().unwrap_or("amount");
    let fits = match by {
        "members" => sort != "qty",
        _ => sort != "count",
    };
    if !fits {
        return Err(bad(
            "sort",
            "members rank by amount or count, products by amount or qty",
            "会员按 amount 或 count 排名，商品按 amount 或 qty 排名",
        ));
    }
    let limit = extra.limit.unwrap_or(LIMIT_DEFAULT);
    let stores = stores(s, who, q.store.as_ref())?;
    let db = s.engine().db().clone();
    let members = by == "members";
    let order = if sort == "count" {
        ranks::MemberOrder::Count
    } else {
        ranks::MemberOrder::Amount
    };
    let read = tokio::task::spawn_blocking(move || {
        let rows = if members {
            let top = db.member_spend_top(stores.as_deref(), from, to, order, limit)?;
            (top, Vec::new())
        } else {
            (Vec::new(), db.product_sales(stores.as_deref(), from, to)?)
        };
        let f = db.freshness()?;
        Ok::<_, tongka_actors::EngineError>((rows, FreshnessView::new(&f.vv, f.newest)))
    });
    let ((spend, mut products), freshness) = read
        .await
        .map_err(|e| tongka_actors::EngineError::Internal(format!("the report read: {e}")))??;
    let mut view = RankingsView {
        from: Text(from),
        to: Text(to),
        by,
        channel: None,
        stores: Vec::new(),
        members: None,
        products: None,
        freshness,
    };
    if members {
        // Ranked and cut to `limit` by the read (`MemberOrder::top`).
        view.members = Some(
            spend
                .into_iter()
                .take(limit)
                .enumerate()
                .map(
                    |(i, (member, x)): (usize, (MemberId, Spend))| MemberRankView {
                        rank: i as u64 + 1,
                        member,
                        sales: x.sales,
                        sold: x.sold,
                        refunds: x.refunds,
                        refunded: x.refunded,
                        spent: x.net(),
                    },
                )
                .collect(),
        );
    } else {
        ranks::rank_products(&mut products, sort == "qty");
        view.products = Some(
            products
                .into_iter()
                .take(limit)
                .enumerate()
                .map(
                    |(i, (sku, p)): (usize, (String, ProductFigures))| ProductRankView {
                        rank: i as u64 + 1,
                        sku,
                        qty: Text(p.qty.normalize()),
                        sold: p.sold,
                        returned_qty: Text(p.returned_qty.normalize()),
                        returned: p.returned,
                        net_qty: Text(p.net_qty().normalize()),
                        net: p.net(),
                    },
                )
                .collect(),
        );
    }
    Ok(crate::export::answer(q.export, &view))
}

/// The table of a ranking of members or products (`None`: of stores).
pub(super) fn ranked_table(v: &RankingsView) -> Option<Table> {
    let text = |d: &Text<rust_decimal::Decimal>| Cell::Text(d.0.to_string());
    let (title_zh, title_en, columns, rows) = if let Some(members) = &v.members {
        (
            "会员排名",
            "Top members",
            vec![
                Column::new("名次", "Rank", Kind::Integer),
                Column::new("会员", "Member", Kind::Text),
                Column::new("销售笔数", "Sales", Kind::Integer),
                Column::new("销售金额", "Sold", Kind::Money),
                Column::new("退款笔数", "Refunds", Kind::Integer),
                Column::new("退款金额", "Refunded", Kind::Money),
                Column::new("消费净额", "Spent", Kind::Money),
            ],
            members
                .iter()
                .map(|r| {
                    vec![
                        Cell::Int(r.rank as i64),
                        Cell::Text(r.member.to_string()),
                        Cell::Int(r.sales as i64),
                        Cell::Money(r.sold),
                        Cell::Int(r.refunds as i64),
                        Cell::Money(r.refunded),
                        Cell::Money(r.spent),
                    ]
                })
                .collect(),
        )
    } else if let Some(products) = &v.products {
        (
            "商品排名",
            "Top products",
            vec![
                Column::new("名次", "Rank", Kind::Integer),
                Column::new("商品编码", "SKU", Kind::Text),
                Column::new("销售数量", "Qty", Kind::Text),
                Column::new("销售金额", "Sold", Kind::Money),
                Column::new("退货数量", "Returned qty", Kind::Text),
                Column::new("退货金额", "Returned", Kind::Money),
                Column::new("净数量", "Net qty", Kind::Text),
                Column::new("净额", "Net", Kind::Money),
            ],
            products
                .iter()
                .map(|r| {
                    vec![
                        Cell::Int(r.rank as i64),
                        Cell::Text(r.sku.clone()),
                        text(&r.qty),
                        Cell::Money(r.sold),
                        text(&r.returned_qty),
                        Cell::Money(r.returned),
                        text(&r.net_qty),
                        Cell::Money(r.net),
                    ]
                })
                .collect(),
        )
    } else {
        return None;
    };
    Some(Table {
        name: if v.members.is_some() {
            "rankings_members"
        } else {
            "rankings_products"
        },
        title_zh,
        title_en,
        suffix: tables::range(v.from.0, v.to.0),
        columns,
        rows,
        freshness: tables::sources(&v.freshness),
    })
}

/// Coupons of one store on one day (or their sum).
#[derive(Serialize, ToSchema, Default)]
#[schema(as = CouponsRow)]
pub(crate) struct CouponsRowView {
    /// Absent in the totals.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(skip_serializing_if = "Option::is_none")]
    day: Option<Text<Day>>,
    #[schema(value_type = Option<crate::openapi::NodeName>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<NodeId>,
    /// Coupons the store issued, and the uses they came with.
    #[schema(minimum = 0)]
    issued: u64,
    uses_issued: i64,
    /// Uses made by the store's sales, and given back by its refunds.
    used: i64,
    returned: i64,
    /// What coupons took off the store's sales.
    #[schema(value_type = crate::openapi::Money)]
    off: Money,
    /// uses_issued − used + returned (summed over every store and all
    /// days: the uses members hold).
    net_uses: i64,
}

impl CouponsRowView {
    fn add(&mut self, f: &Figures) {
        let t = &f.totals;
        self.issued += t.coupons_issued;
        self.uses_issued += t.coupon_uses_issued;
        self.used += t.coupon_uses;
        self.returned += t.coupon_uses_returned;
        self.off += t.coupon_off;
        self.net_uses += t.coupon_uses_outstanding();
    }
}

/// The coupons report.
#[derive(Serialize, ToSchema)]
#[schema(as = CouponsReport)]
pub(crate) struct CouponsView {
    #[schema(value_type = String, format = Date)]
    from: Text<Day>,
    #[schema(value_type = String, format = Date)]
    to: Text<Day>,
    /// Per store, then day; days without any op are left out.
    rows: Vec<CouponsRowView>,
    totals: CouponsRowView,
    freshness: FreshnessView,
}

/// Each `(store, day)` row of figures as a report row (`at` names it, `add`
/// counts it), and every row summed into one with no store and no day.
fn day_rows<R: Default>(
    rows: &[(NodeId, Day, Figures)],
    add: fn(&mut R, &Figures),
    at: impl Fn(&NodeId, Day) -> R,
) -> (Vec<R>, R) {
    let mut totals = R::default();
    let rows = rows
        .iter()
        .map(|(store, day, f)| {
            add(&mut totals, f);
            let mut row = at(store, *day);
            add(&mut row, f);
            row
        })
        .collect();
    (rows, totals)
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/coupons",
    operation_id = "couponsReport",
    tag = "reports",
    summary = r#"Coupons issued, used and given back per day and store / 优惠券报表"#,
    description = r#"Per chain day (China time) and store: coupons issued there and the uses they came with, uses made by its sales and given back by its refunds, and what coupons took off its sales. Coupons that lapse unused are not counted: expiring is not an op. Read from the figures each op leaves in its commit: equal on every node holding the same ops; `freshness` says which ops those are. Days as in the sales report (at most 366). A store manager sees their own stores only."#,
    params(
        ("from" = Option<String>, Query, description = r#"First day, included (`YYYY-MM-DD`, China time)."#, example = "2026-12-01"),
        ("to" = Option<String>, Query, description = r#"Last day, included."#, example = "2026-12-06"),
        ("store" = Option<String>, Query, description = r#"One store (a node name); default every store."#, example = "store-1"),
        ("channel" = Option<String>, Query, description = r#"Not taken: refused (422 `invalid_report_query`, field `channel`): coupon ops record no tender or source."#),
        ("format" = Option<String>, Query, description = r#"`json` (the default), `csv` (UTF-8 with BOM, CRLF, RFC 4180) or `xlsx` (Excel): the report's table as a file to download (`Content-Disposition: attachment`)."#, example = "csv"),
        ("lang" = Option<String>, Query, description = r#"The file's headers: `zh` (Chinese, the default) or `en`."#, example = "zh"),
    ),
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The report. JSON; with `format`, its table as a CSV or .xlsx file."#, content(
            (crate::reports::more::CouponsView = "application/json"),
            (crate::export::CsvFile = "text/csv"),
            (crate::export::XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ), headers(("Content-Disposition" = String, description = r#"With `format=csv|xlsx`: `attachment`, an ASCII `filename` (`sales_2026-12-01_2026-12-06.csv`) and an RFC 5987 `filename*` in the headers' language."#)))
    )
)]
pub(crate) async fn coupons(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = parse(&pairs, &["from", "to", "store", "channel"])?;
    q.no_channel(
        "the coupons report is not split by channel: issuing, using and giving back a coupon record no tender or source",
        "优惠券报表不分渠道：发券、核销与退回都不记录支付方式或来源",
    )?;
    let (from, to) = range(&q)?;
    let stores = stores(&s, &who, q.store.as_ref())?;
    let (rows, freshness) = read(&s, stores, from, to).await?;
    let (rows, totals) = day_rows(&rows, CouponsRowView::add, |store, day| CouponsRowView {
        day: Some(Text(day)),
        store: Some(store.clone()),
        ..CouponsRowView::default()
    });
    Ok(crate::export::answer(
        q.export,
        &CouponsView {
            from: Text(from),
            to: Text(to),
            rows,
            totals,
            freshness,
        },
    ))
}

/// Cards of one store on one day (or their sum).
#[derive(Serialize, ToSchema, Default)]
#[schema(as = CardsRow)]
pub(crate) struct CardsRowView {
    /// Absent in the totals.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(skip_serializing_if = "Option::is_none")]
    day: Option<Text<Day>>,
    #[schema(value_type = Option<crate::openapi::NodeName>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<NodeId>,
    /// Cards the store's sales sold.
    #[schema(minimum = 0)]
    sold: u64,
    /// Visits verified (核销) at the store.
    visits: i64,
    /// Cards its refunds took back, and what those refunds kept for the
    /// visits used.
    #[schema(minimum = 0)]
    refunded: u64,
    #[schema(value_type = crate::openapi::Money)]
    kept: Money,
}

impl CardsRowView {
    fn add(&mut self, f: &Figures) {
        let t = &f.totals;
        self.sold += t.cards_sold;
        self.visits += t.card_visits;
        self.refunded += t.cards_refunded;
        self.kept += t.card_kept;
    }
}

/// The cards report.
#[derive(Serialize, ToSchema)]
#[schema(as = CardsReport)]
pub(crate) struct CardsView {
    #[schema(value_type = String, format = Date)]
    from: Text<Day>,
    #[schema(value_type = String, format = Date)]
    to: Text<Day>,
    /// Per store, then day; days without any op are left out.
    rows: Vec<CardsRowView>,
    totals: CardsRowView,
    freshness: FreshnessView,
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/cards",
    operation_id = "cardsReport",
    tag = "reports",
    summary = r#"Cards sold, visits and cards refunded per day and store / 次卡报表"#,
    description = r#"Per chain day (China time) and store: cards its sales sold, visits verified there, cards its refunds took back and what those refunds kept for the visits used. Read from the figures each op leaves in its commit: equal on every node holding the same ops; `freshness` says which ops those are. Days as in the sales report (at most 366). A store manager sees their own stores only."#,
    params(
        ("from" = Option<String>, Query, description = r#"First day, included (`YYYY-MM-DD`, China time)."#, example = "2026-12-01"),
        ("to" = Option<String>, Query, description = r#"Last day, included."#, example = "2026-12-06"),
        ("store" = Option<String>, Query, description = r#"One store (a node name); default every store."#, example = "store-1"),
        ("channel" = Option<String>, Query, description = r#"Not taken: refused (422 `invalid_report_query`, field `channel`): a card is one line of a sale paid as a whole."#),
        ("format" = Option<String>, Query, description = r#"`json` (the default), `csv` (UTF-8 with BOM, CRLF, RFC 4180) or `xlsx` (Excel): the report's table as a file to download (`Content-Disposition: attachment`)."#, example = "csv"),
        ("lang" = Option<String>, Query, description = r#"The file's headers: `zh` (Chinese, the default) or `en`."#, example = "zh"),
    ),
    extensions(("x-codes" = json!([
        "invalid_report_query", "unauthorized", "not_at_this_store", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The report. JSON; with `format`, its table as a CSV or .xlsx file."#, content(
            (crate::reports::more::CardsView = "application/json"),
            (crate::export::CsvFile = "text/csv"),
            (crate::export::XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ), headers(("Content-Disposition" = String, description = r#"With `format=csv|xlsx`: `attachment`, an ASCII `filename` (`sales_2026-12-01_2026-12-06.csv`) and an RFC 5987 `filename*` in the headers' language."#)))
    )
)]
pub(crate) async fn cards(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = parse(&pairs, &["from", "to", "store", "channel"])?;
    q.no_channel(
        "the cards report is not split by channel: a card is one line of a sale paid as a whole, so no tender pays for it alone",
        "次卡报表不分渠道：次卡是整笔支付的销售中的一行，没有单独为它付款的支付方式",
    )?;
    let (from, to) = range(&q)?;
    let stores = stores(&s, &who, q.store.as_ref())?;
    let (rows, freshness) = read(&s, stores, from, to).await?;
    let (rows, totals) = day_rows(&rows, CardsRowView::add, |store, day| CardsRowView {
        day: Some(Text(day)),
        store: Some(store.clone()),
        ..CardsRowView::default()
    });
    Ok(crate::export::answer(
        q.export,
        &CardsView {
            from: Text(from),
            to: Text(to),
            rows,
            totals,
            freshness,
        },
    ))
}

impl Exportable for CouponsView {
    fn table(&self) -> Table {
        let cells = |r: &CouponsRowView, day: Cell, store: Cell| {
            vec![
                day,
                store,
                Cell::Int(r.issued as i64),
                Cell::Int(r.uses_issued),
                Cell::Int(r.used),
                Cell::Int(r.returned),
                Cell::Money(r.off),
                Cell::Int(r.net_uses),
            ]
        };
        let mut rows: Vec<Vec<Cell>> = self
            .rows
            .iter()
            .map(|r| {
                cells(
                    r,
                    r.day.as_ref().map_or(Cell::Empty, |d| Cell::Date(d.0)),
                    r.store
                        .as_ref()
                        .map_or(Cell::Empty, |s| Cell::Text(s.to_string())),
                )
            })
            .collect();
        rows.push(cells(&self.totals, Cell::Empty, tables::TOTAL));
        Table {
            name: "coupons",
            title_zh: "优惠券报表",
            title_en: "Coupons",
            suffix: tables::range(self.from.0, self.to.0),
            columns: vec![
                tables::DAY,
                tables::STORE,
                Column::new("发券张数", "Issued", Kind::Integer),
                Column::new("发放次数", "Uses issued", Kind::Integer),
                Column::new("核销次数", "Used", Kind::Integer),
                Column::new("退回次数", "Returned", Kind::Integer),
                Column::new("抵扣金额", "Off", Kind::Money),
                Column::new("净发放次数", "Net uses", Kind::Integer),
            ],
            rows,
            freshness: tables::sources(&self.freshness),
        }
    }
}

impl Exportable for CardsView {
    fn table(&self) -> Table {
        let cells = |r: &CardsRowView, day: Cell, store: Cell| {
            vec![
                day,
                store,
                Cell::Int(r.sold as i64),
                Cell::Int(r.visits),
                Cell::Int(r.refunded as i64),
                Cell::Money(r.kept),
            ]
        };
        let mut rows: Vec<Vec<Cell>> = self
            .rows
            .iter()
            .map(|r| {
                cells(
                    r,
                    r.day.as_ref().map_or(Cell::Empty, |d| Cell::Date(d.0)),
                    r.store
                        .as_ref()
                        .map_or(Cell::Empty, |s| Cell::Text(s.to_string())),
                )
            })
            .collect();
        rows.push(cells(&self.totals, Cell::Empty, tables::TOTAL));
        Table {
            name: "cards",
            title_zh: "次卡报表",
            title_en: "Cards",
            suffix: tables::range(self.from.0, self.to.0),
            columns: vec![
                tables::DAY,
                tables::STORE,
                Column::new("售卡张数", "Sold", Kind::Integer),
                Column::new("核销次数", "Visits", Kind::Integer),
                Column::new("退卡张数", "Refunded", Kind::Integer),
                Column::new("退卡留存金额", "Kept", Kind::Money),
            ],
            rows,
            freshness: tables::sources(&self.freshness),
        }
    }
}
