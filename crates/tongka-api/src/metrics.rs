//! `GET /api/v1/metrics`: the node's figures in the Prometheus text format
//! (version 0.0.4), for a Prometheus server to scrape. Behind sign-in: the
//! admin token, or a staff role that may see reports.
//!
//! Two kinds of figure. The HTTP ones are counted here, by a layer round
//! every route ([`track`]): requests by method, route and status, and a
//! latency histogram by method and route. The route is the matched route
//! template (`/api/v1/members/{id}`), never the raw path, and the method
//! is one of the known ones, so the label values stay few whatever clients
//! send (a path the router does not know is `unmatched`). The others are
//! kept by the crates that own them as plain atomics and read only when
//! scraped ([`Node`], a `Collector`): the group commit's batch sizes
//! (`tongka_db::Db::batch_sizes`), the account actors alive now
//! (`Engine::active_accounts`), the escrow asks made and those unanswered
//! (`Engine::escrow_asks`), and each replication peer's lag (the peers the
//! node gave `AppState::with_peers`). So the write path pays an atomic add
//! at most, and the lower crates know nothing of Prometheus.
//!
//! A request whose client hangs up before its answer is not counted (its
//! handler is dropped before the layer sees a status). The latency is
//! measured from routing to the answer's head: the body, if streamed, is
//! not in it.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::AppState;

/// The route label of a request the router matched to no route.
pub const UNMATCHED: &str = "unmatched";

/// The labels of a request counted.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// The labels of a latency observed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// Latency buckets: 0.5 ms doubling to about 8 s (15 buckets): a commit
/// with `Durability::Immediate` is around a millisecond; an escrow ask
/// waits up to its timeout, seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The registry and the HTTP figures it holds.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
}

impl Metrics {
    pub(crate) fn new(state: AppState) -> Arc<Metrics> {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "tongka_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "tongka_http_request_duration",
            "Time from routing a request to its answer, by method and route template",
            Unit::Seconds,
            latency.clone(),
        );
        registry.register_collector(Box::new(Node(state)));
        Arc::new(Metrics {
            registry,
            requests,
            latency,
        })
    }

    fn observe(&self, method: &'static str, route: String, status: StatusCode, took: f64) {
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(took);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status: status.as_u16(),
            })
            .inc();
    }

    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// A method as a label value: the known ones by name, any other `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The layer round every route (`router`): counts the request and times
/// it once its answer is made.
pub(crate) async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_string();
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    m.observe(method, route, resp.status(), start.elapsed().as_secs_f64());
    resp
}

/// The endpoint, over this router's figures.
pub(crate) fn endpoint(m: &Arc<Metrics>) -> MethodRouter<AppState> {
    let m = m.clone();
    get(move || scrape(m.clone()))
}

#[utoipa::path(
    get,
    path = "/api/v1/metrics",
    operation_id = "metrics",
    tag = "node",
    summary = r#"Metrics for Prometheus / 监控指标"#,
    description = r#"The Prometheus text format (version 0.0.4). Requests by method, route template and status (`tongka_http_requests_total`) and their latency (`tongka_http_request_duration_seconds`, a histogram); the group commit's batch sizes (`tongka_db_commit_batch_size`, a histogram: its sum is the requests committed, its count the commits); ops held (`tongka_ops`); account actors alive (`tongka_actors_live`); escrow asks made of peers and those unanswered (`tongka_escrow_asks_total`, `tongka_escrow_ask_timeouts_total`); per replication peer, its lag in ops, whether connected, and its ops refused (`tongka_replication_lag_ops`, `tongka_replication_peer_connected`, `tongka_replication_refused_ops_total`, label `peer`). Counters start at zero when the node starts. The admin token, or a role that may see reports."#,
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "internal",
    ]))),
    responses(
        (status = 200, description = r#"The metrics."#, body = String, content_type = "text/plain")
    )
)]
pub(crate) async fn scrape(m: Arc<Metrics>) -> Response {
    match m.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            text,
        )
            .into_response(),
        Err(e) => crate::ApiError::from(tongka_actors::EngineError::Internal(format!(
            "rendering the metrics: {e}"
        )))
        .into_response(),
    }
}

/// The figures other crates keep, read at scrape time.
struct Node(AppState);

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Node")
    }
}

impl Collector for Node {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = &self.0;
        let e = s.engine();

        let sizes = e.db().batch_sizes();
        let buckets: Vec<(f64, u64)> = sizes
            .buckets
            .iter()
            .map(|&(le, n)| {
                let le = if le == u64::MAX {
                    f64::INFINITY
                } else {
                    le as f64
                };
                (le, n)
            })
            .collect();
        enc.encode_descriptor(
            "tongka_db_commit_batch_size",
            "Requests per group commit (one redb transaction each): the sum is the requests committed, the count the commits.",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(
            sizes.requests as f64,
            sizes.commits(),
            &buckets,
            None,
        )?;

        enc.encode_descriptor(
            "tongka_ops",
            "Ops this node holds, of every origin.",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&e.db().summary().vv.total())?;

        enc.encode_descriptor(
            "tongka_actors_live",
            "Account actors alive now (activated on demand, passivated when idle).",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&(e.active_accounts() as u64))?;

        let (asks, unanswered) = e.escrow_asks();
        enc.encode_descriptor(
            "tongka_escrow_asks",
            "Asks for shares this node made of its peers (a spend short here, or a pull ahead).",
            None,
            MetricType::Counter,
        )?
        .encode_counter::<NoLabelSet, _, u64>(&asks, None)?;
        enc.encode_descriptor(
            "tongka_escrow_ask_timeouts",
            "Asks for shares that went unanswered: the peer unreachable, or no answer by the deadline.",
            None,
            MetricType::Counter,
        )?
        .encode_counter::<NoLabelSet, _, u64>(&unanswered, None)?;

        let peers = s.inner.peers.as_ref().map(|f| f()).unwrap_or_default();
        let mut lag = enc.encode_descriptor(
            "tongka_replication_lag_ops",
            "Ops this node holds that the peer is not known to hold.",
            None,
            MetricType::Gauge,
        )?;
        for p in &peers {
            lag.encode_family(&[("peer", p.node.as_str())])?
                .encode_gauge(&p.lag_ops)?;
        }
        let mut connected = enc.encode_descriptor(
            "tongka_replication_peer_connected",
            "1 while the peer is connected, else 0.",
            None,
            MetricType::Gauge,
        )?;
        for p in &peers {
            connected
                .encode_family(&[("peer", p.node.as_str())])?
                .encode_gauge(&u64::from(p.connected))?;
        }
        let mut refused = enc.encode_descriptor(
            "tongka_replication_refused_ops",
            "Ops the peer sent that failed verification, since this node started.",
            None,
            MetricType::Counter,
        )?;
        for p in &peers {
            refused
                .encode_family(&[("peer", p.node.as_str())])?
                .encode_counter::<NoLabelSet, _, u64>(&p.refused_ops, None)?;
        }
        Ok(())
    }
}
