//! `GET /dashboard`: HQ's live dashboard (数据大屏, issue 13) in one answer:
//! members, today's sales and recharges, the stored value and points still
//! owed, each store's figures today and their ranking, the last 30 chain
//! days as series, and each store's sync state (connected, lag,
//! partitioned since, the newest op held of it).
//!
//! The console polls it every few seconds, so it must stay cheap on a
//! large chain (the issue: within 200 ms with 1,000,000 members and
//! 10,000,000 orders). It never scans the op log: the days come from the
//! figures each op leaves in its commit (`Db::figures`, 30 rows per store,
//! through `reports::read`), the chain-wide totals from the ledger totals
//! the db keeps in memory (`Db::summary`), the freshness from one op per
//! origin (`Db::freshness`), and the sync state from the replication
//! layer's peers (`AppState::with_peers`).
//!
//! The same code runs on every node: on HQ it is the chain; on a store,
//! the chain as far as that store holds it. A store manager sees their own
//! stores only (`reports::stores`), and the totals are then theirs: the
//! members registered there, and the stored value and points owed there
//! (`Figures::liability`, summed over all their days).
//!
//! HQ is not a store: it sells nothing, so it has no row among the stores
//! and no place in the ranking. Its link is shown apart (`hq`), on HQ's
//! own dashboard (this node) and on a store's (connected or partitioned
//! since when). A node knows which peer is HQ by the peer's chain
//! certificate (`PeerState::role`, from the replication layer's `Trust`);
//! a peer whose certificate it has not learnt yet is taken for a store.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::day::Day;
use tongka_core::figures::Figures;
use tongka_core::ids::NodeId;
use tongka_core::money::Money;
use tongka_core::op::OriginRole;
use utoipa::ToSchema;

use crate::render::Text;
use crate::reports::{FreshnessView, RANGE_DAYS_DEFAULT, read, stores};
use crate::sync::rfc3339_ms;
use crate::*;

/// Members: all, and today's.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardMembers)]
struct MembersView {
    /// Members registered (chain-wide, or at the stores seen).
    #[schema(minimum = 0)]
    total: u64,
    /// Registered today.
    #[schema(minimum = 0)]
    new_today: u64,
    /// Distinct members with a sale or recharge today, per store, summed
    /// (a member active at two stores counts at each).
    #[schema(minimum = 0)]
    active_today: u64,
}

/// Sales made today.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardSales)]
struct SalesView {
    #[schema(minimum = 0)]
    count: u64,
    /// What they were paid (their payable).
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
}

/// Recharges made today.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardRecharges)]
struct RechargesView {
    #[schema(minimum = 0)]
    count: u64,
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
}

/// What members may still spend.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardOutstanding)]
struct OutstandingView {
    /// Stored value, principal and bonus (recharged − spent + refunded).
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    /// Points held by members.
    points: i64,
}

/// One store's figures today.
#[derive(Serialize, ToSchema, Default)]
#[schema(as = DashboardStoreToday)]
struct TodayView {
    #[schema(minimum = 0)]
    sales: u64,
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
    #[schema(minimum = 0)]
    new_members: u64,
    #[schema(minimum = 0)]
    active_members: u64,
}

impl TodayView {
    fn add(&mut self, f: &Figures) {
        let t = &f.totals;
        self.sales += t.orders;
        self.sales_amount += t.sales;
        self.recharges += t.recharges;
        self.recharged_principal += t.recharged_principal;
        self.recharged_bonus += t.recharged_bonus;
        self.refunds += t.refunds;
        self.refunded += t.refunded;
        self.new_members += t.members;
        self.active_members += f.active_members;
    }
}

/// The newest op this node holds of a store.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardNewestOp)]
struct NewestView {
    #[schema(minimum = 1)]
    seq: u64,
    /// When it was made (RFC 3339, UTC, milliseconds: its clock).
    #[schema(format = DateTime)]
    at: String,
}

/// How this node is linked to a store.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardSync)]
struct SyncView {
    /// `this_node` (the store answering), `connected`, `partitioned` (a
    /// peer not connected now), or `not_a_peer` (ops of it are held, but
    /// this node does not replicate with it).
    #[schema(pattern = "^(this_node|connected|partitioned|not_a_peer)$")]
    state: &'static str,
    connected: bool,
    /// Ops this node holds that the store is not known to hold; null for
    /// this node and a store that is not a peer.
    #[schema(minimum = 0, required = true)]
    lag_ops: Option<u64>,
    /// When the connection to it was lost (RFC 3339, UTC, milliseconds;
    /// this node's clock); null while connected, and for a peer not
    /// connected to since this node started.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    partitioned_since: Option<Text<humantime::Rfc3339Timestamp>>,
    /// The newest op held of it (how fresh its figures are here); null
    /// when none is.
    #[schema(required = true)]
    newest_op: Option<NewestView>,
}

/// HQ's link: HQ sells nothing, so it is shown apart from the stores.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardHq)]
struct HqView {
    #[schema(value_type = crate::openapi::NodeName)]
    node: NodeId,
    /// The node answering is HQ.
    this_node: bool,
    sync: SyncView,
}

/// One store on the dashboard.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardStore)]
struct StoreView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// The node answering.
    this_node: bool,
    today: TodayView,
    sync: SyncView,
}

/// One store's place in today's ranking.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardRank)]
struct RankView {
    #[schema(minimum = 1)]
    rank: u64,
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    #[schema(value_type = crate::openapi::Money)]
    sales_amount: Money,
    #[schema(minimum = 0)]
    sales: u64,
}

/// Per day, one value per day of `Series::days`.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardStoreSeries)]
struct StoreSeriesView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    #[schema(value_type = Vec<crate::openapi::Money>)]
    sales_amount: Vec<Money>,
    #[schema(value_type = Vec<crate::openapi::Money>)]
    recharged_principal: Vec<Money>,
}

/// The last 30 chain days, oldest first.
#[derive(Serialize, ToSchema)]
#[schema(as = DashboardSeries)]
struct SeriesView {
    #[schema(value_type = Vec<String>)]
    days: Vec<Text<Day>>,
    /// Every store seen, summed.
    #[schema(value_type = Vec<crate::openapi::Money>)]
    sales_amount: Vec<Money>,
    #[schema(value_type = Vec<crate::openapi::Money>)]
    recharged_principal: Vec<Money>,
    stores: Vec<StoreSeriesView>,
}

/// The dashboard.
#[derive(Serialize, ToSchema)]
#[schema(as = Dashboard)]
pub(crate) struct DashboardView {
    /// When this answer was made (RFC 3339, this node's clock).
    #[schema(value_type = String, format = DateTime)]
    at: Text<humantime::Rfc3339Timestamp>,
    /// The chain day today (China time).
    #[schema(value_type = String, format = Date)]
    today: Text<Day>,
    #[schema(value_type = crate::openapi::NodeName)]
    node: NodeId,
    /// `chain` (every store), or `stores` (a store manager's own).
    #[schema(pattern = "^(chain|stores)$")]
    scope: &'static str,
    members: MembersView,
    sales_today: SalesView,
    recharges_today: RechargesView,
    outstanding: OutstandingView,
    /// Stores by name (HQ is not one: see `hq`).
    stores: Vec<StoreView>,
    /// HQ's link as this node sees it, by name (a chain has one HQ): on
    /// HQ, itself (`this_node`); on a store, the peers whose chain
    /// certificate says HQ. Empty when this node knows of no HQ.
    hq: Vec<HqView>,
    /// The stores by today's sales amount, highest first (ties by name);
    /// HQ is not ranked (it sells nothing).
    ranking: Vec<RankView>,
    series: SeriesView,
    freshness: FreshnessView,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboard",
    operation_id = "dashboard",
    tag = "reports",
    summary = r#"The live dashboard: the chain today, the last 30 days and each store's sync state / 数据大屏"#,
    description = r#"One answer for HQ's dashboard, polled every few seconds: members (all, new and active today), today's sales and recharges, stored value (principal, bonus) and points still owed, each store's figures today and their ranking by sales, the last 30 chain days (sales amount and recharged principal, chain-wide and per store), and each store's sync state as this node sees it: connected or partitioned since when, its lag in ops, and the newest op held of it; HQ's link the same, apart (`hq`: HQ sells nothing, so it is neither a store row nor ranked). Read from the figures each op keeps and the ledger totals, never the op log. On a store it is the chain as that store holds it. A store manager sees their own stores only, and the totals are theirs."#,
    extensions(("x-codes" = json!([
        "unauthorized", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The dashboard."#, body = crate::dashboard::DashboardView, content_type = "application/json")
    )
)]
pub(crate) async fn dashboard(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let today = Day::of_ms(now);
    let first = today.plus(1 - RANGE_DAYS_DEFAULT);
    let mine = stores(&s, &who, None)?;
    let whole = mine.is_none();
    // The chain's totals are kept in memory; a store manager's are summed
    // over every day of their stores (one store's days: a few hundred rows).
    let (rows, freshness) = if whole {
        read(&s, None, first, today).await?
    } else {
        read(&s, mine.clone(), Day(i32::MIN), Day(i32::MAX)).await?
    };
    let engine = s.engine();
    let me = engine.node().clone();
    let hq_here = engine.role() == Some(OriginRole::Hq);

    let days = usize::try_from(RANGE_DAYS_DEFAULT).unwrap_or(30);
    let mut today_of: BTreeMap<NodeId, TodayView> = BTreeMap::new();
    let mut per_day: BTreeMap<NodeId, (Vec<Money>, Vec<Money>)> = BTreeMap::new();
    let (mut owed_p, mut owed_b, mut owed_points, mut registered) =
        (Money::ZERO, Money::ZERO, 0, 0);
    for (store, day, f) in &rows {
        if !whole {
            let (p, b) = f.liability();
            owed_p += p;
            owed_b += b;
            owed_points += f.points_outstanding();
            registered += f.totals.members;
        }
        if *day == today {
            today_of.entry(store.clone()).or_default().add(f);
        }
        if *day >= first && *day <= today {
            let i = usize::try_from(day.0 - first.0).unwrap_or(0);
            let (sales, recharged) = per_day
                .entry(store.clone())
                .or_insert_with(|| (vec![Money::ZERO; days], vec![Money::ZERO; days]));
            sales[i] += f.totals.sales;
            recharged[i] += f.totals.recharged_principal;
        }
    }
    let outstanding = if whole {
        let t = engine.db().summary().totals;
        let (principal, bonus) = t.outstanding();
        registered = t.members;
        OutstandingView {
            principal,
            bonus,
            points: t.points_outstanding(),
        }
    } else {
        OutstandingView {
            principal: owed_p,
            bonus: owed_b,
            points: owed_points,
        }
    };

    // HQ: this node if it is HQ, and the peers whose certificate says so.
    let peers = s.inner.peers.as_ref().map(|f| f()).unwrap_or_default();
    let mut hq_names: BTreeSet<NodeId> = peers
        .iter()
        .filter(|p| p.role == Some(OriginRole::Hq))
        .filter_map(|p| NodeId::new(&p.node).ok())
        .collect();
    if hq_here {
        hq_names.insert(me.clone());
    }
    // The stores shown: those with figures, the peers, and this node, but
    // HQ — for a store manager, their own.
    let mut names: BTreeSet<NodeId> = per_day.keys().cloned().collect();
    names.extend(today_of.keys().cloned());
    names.extend(peers.iter().filter_map(|p| NodeId::new(&p.node).ok()));
    names.insert(me.clone());
    names.retain(|n| !hq_names.contains(n));
    if let Some(mine) = &mine {
        names.retain(|n| mine.contains(n));
    }
    let sync_of = |node: &NodeId| {
        let peer = peers.iter().find(|p| p.node == node.as_str());
        let this_node = *node == me;
        let state = match (this_node, peer) {
            (true, _) => "this_node",
            (false, Some(p)) if p.connected => "connected",
            (false, Some(_)) => "partitioned",
            (false, None) => "not_a_peer",
        };
        SyncView {
            state,
            connected: this_node || peer.is_some_and(|p| p.connected),
            lag_ops: if this_node {
                None
            } else {
                peer.map(|p| p.lag_ops)
            },
            partitioned_since: peer
                .filter(|p| !p.connected && !this_node)
                .and_then(|p| p.disconnected_since)
                .map(rfc3339_ms),
            newest_op: freshness
                .newest_of(node)
                .map(|(seq, at)| NewestView { seq, at }),
        }
    };

    let mut total = TodayView::default();
    for t in today_of.values() {
        total.sales += t.sales;
        total.sales_amount += t.sales_amount;
        total.recharges += t.recharges;
        total.recharged_principal += t.recharged_principal;
        total.recharged_bonus += t.recharged_bonus;
        total.new_members += t.new_members;
        total.active_members += t.active_members;
    }

    let stores: Vec<StoreView> = names
        .iter()
        .map(|store| StoreView {
            store: store.clone(),
            this_node: *store == me,
            today: today_of.remove(store).unwrap_or_default(),
            sync: sync_of(store),
        })
        .collect();
    let hq = hq_names
        .iter()
        .map(|node| HqView {
            node: node.clone(),
            this_node: *node == me,
            sync: sync_of(node),
        })
        .collect();

    let mut ranked: Vec<&StoreView> = stores.iter().collect();
    ranked.sort_by(|a, b| {
        b.today
            .sales_amount
            .cmp(&a.today.sales_amount)
            .then(a.store.cmp(&b.store))
    });
    let ranking = ranked
        .into_iter()
        .enumerate()
        .map(|(i, v)| RankView {
            rank: i as u64 + 1,
            store: v.store.clone(),
            sales_amount: v.today.sales_amount,
            sales: v.today.sales,
        })
        .collect();

    let mut chain_sales = vec![Money::ZERO; days];
    let mut chain_recharged = vec![Money::ZERO; days];
    for (sales, recharged) in per_day.values() {
        for i in 0..days {
            chain_sales[i] += sales[i];
            chain_recharged[i] += recharged[i];
        }
    }
    let series = SeriesView {
        days: (0..RANGE_DAYS_DEFAULT)
            .map(|i| Text(first.plus(i)))
            .collect(),
        sales_amount: chain_sales,
        recharged_principal: chain_recharged,
        stores: per_day
            .into_iter()
            .filter(|(store, _)| names.contains(store))
            .map(
                |(store, (sales_amount, recharged_principal))| StoreSeriesView {
                    store,
                    sales_amount,
                    recharged_principal,
                },
            )
            .collect(),
    };

    Ok(json_answer(
        StatusCode::OK,
        &DashboardView {
            at: rfc3339_ms(now),
            today: Text(today),
            node: me,
            scope: if whole { "chain" } else { "stores" },
            members: MembersView {
                total: registered,
                new_today: total.new_members,
                active_today: total.active_members,
            },
            sales_today: SalesView {
                count: total.sales,
                amount: total.sales_amount,
            },
            recharges_today: RechargesView {
                count: total.recharges,
                principal: total.recharged_principal,
                bonus: total.recharged_bonus,
            },
            outstanding,
            stores,
            hq,
            ranking,
            series,
            freshness,
        },
    ))
}
