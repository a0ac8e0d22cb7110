//! `GET /api/v1/metrics`: what a scrape shows is what was done. Requests
//! counted by method, route template and status (exactly those made), the
//! latency histograms count the same requests, the group commit's batch
//! sizes add up to the ops committed, escrow asks and their timeouts,
//! actors alive, and each peer's replication lag; reports roles only.

mod common;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use common::{App, TOKEN};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tongka_actors::EscrowBroker;
use tongka_core::NodeId;
use tongka_core::escrow::Want;
use tongka_core::ids::OpId;

/// One sample of the text format: name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: Decimal,
}

/// A small parser of the Prometheus text format (0.0.4) as this node
/// writes it: comment lines, then `name{k="v",…} value`. Label values hold
/// no escaped quotes here (route templates, node names, numbers).
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let value = match value {
            "+Inf" => Decimal::MAX,
            v => Decimal::from_str(v)
                .or_else(|_| Decimal::from_scientific(v))
                .unwrap_or_else(|e| panic!("{line}: {e}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels close");
                let labels = body
                    .split("\",")
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once("=\"").expect("k=\"v\"");
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (name, labels)
            }
        };
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    out
}

fn int(d: Decimal) -> u64 {
    assert!(d.fract().is_zero(), "{d} is a whole number");
    u64::try_from(d).expect("a count")
}

/// The one sample of `name` with these labels.
fn one(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> u64 {
    let found: Vec<_> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    int(found[0].value)
}

/// Scrape with `bearer`: the status, content type and body.
async fn scrape(app: &App, bearer: &str) -> (u16, String, String) {
    let a = app
        .call_as(bearer, "GET", "/api/v1/metrics", Vec::new(), None)
        .await;
    (
        a.status.as_u16(),
        a.content_type().to_string(),
        String::from_utf8(a.body).expect("UTF-8"),
    )
}

/// A broker with one peer, `store-2`, that never answers.
struct Silent;

impl EscrowBroker for Silent {
    fn reachable(&self) -> Vec<NodeId> {
        vec![NodeId::new("store-2").expect("node name")]
    }
    fn ask_timeout(&self) -> Duration {
        Duration::from_millis(50)
    }
    fn ask(
        &self,
        _to: NodeId,
        _want: Want,
        _timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Option<Vec<OpId>>> + Send>> {
        Box::pin(async { None })
    }
}

#[tokio::test]
async fn a_scrape_shows_what_was_done() {
    let app = App::with_peers(Arc::new(|| {
        vec![
            tongka_api::PeerState {
                node: "hq".to_string(),
                connected: true,
                lag_ops: 5,
                ..Default::default()
            },
            tongka_api::PeerState {
                node: "store-2".to_string(),
                refused_ops: 2,
                disconnected_since: Some(1_796_486_400_000),
                ..Default::default()
            },
        ]
    }));
    app.engine.set_broker(Arc::new(Silent));

    // A member, a recharge, a product and a paid checkout.
    let seed = app.seed().await;
    // A checkout of more than the balance: short here, so the engine asks
    // the one peer, which never answers; refused.
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/checkouts",
            &json!({"member_id": seed.member,
                    "lines": [{"description": "大蛋糕", "unit_price": "9000.00", "qty": 1}],
                    "tenders": [{"kind": "balance"}]}),
            Some("too-much"),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("insufficient_balance")),
        "{v}"
    );
    // A path the router does not know, and a request without a token.
    assert_eq!(app.get("/api/v1/nope/m-store-1-1").await.0, 404);
    let a = app
        .raw("GET", "/api/v1/ledger/summary", &[], Vec::new())
        .await;
    assert_eq!(a.status, 401);
    // A cashier is refused the metrics; HQ finance may read them.
    app.create_staff("cashier1", "cashier", &["store-1"], "pass-word-1")
        .await;
    app.create_staff("finance1", "hq_finance", &[], "pass-word-2")
        .await;
    let cashier = app.sign_in("cashier1", "pass-word-1").await;
    let finance = app.sign_in("finance1", "pass-word-2").await;
    let a = app
        .call_as(&cashier, "GET", "/api/v1/metrics", Vec::new(), None)
        .await;
    let v = a.json().unwrap_or(Value::Null);
    assert_eq!(a.status, 403, "{v}");
    assert_eq!(v["error"]["code"], "forbidden_for_role", "{v}");
    assert_eq!(v["error"]["action"], "reports", "{v}");
    let (s, ct, _) = scrape(&app, &finance).await;
    assert_eq!(
        (s, ct.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );

    let (s, _, text) = scrape(&app, TOKEN).await;
    assert_eq!(s, 200, "{text}");
    let m = parse(&text);

    // Requests: exactly those made, by route template (never the member's
    // id), method and status. This scrape is not in its own figures.
    let counted: BTreeMap<(String, String, String), u64> = m
        .iter()
        .filter(|s| s.name == "tongka_http_requests_total")
        .map(|s| {
            let l = |k: &str| s.labels[k].clone();
            ((l("method"), l("route"), l("status")), int(s.value))
        })
        .collect();
    let expected: BTreeMap<(String, String, String), u64> = [
        ("POST", "/api/v1/members", "201", 1),
        ("POST", "/api/v1/members/{id}/recharges", "201", 1),
        ("PUT", "/api/v1/products/{sku}", "200", 1),
        ("POST", "/api/v1/checkouts", "201", 1),
        ("POST", "/api/v1/checkouts", "409", 1),
        ("GET", "unmatched", "404", 1),
        ("GET", "/api/v1/ledger/summary", "401", 1),
        ("POST", "/api/v1/staff", "201", 2),
        ("POST", "/api/v1/sessions", "201", 2),
        ("GET", "/api/v1/metrics", "403", 1),
        ("GET", "/api/v1/metrics", "200", 1),
    ]
    .into_iter()
    .map(|(m, r, s, n)| ((m.into(), r.into(), s.into()), n))
    .collect();
    assert_eq!(counted, expected, "{text}");

    // The latency histograms count the same requests, per method and route;
    // their buckets are cumulative and end at the count.
    let mut per_route: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ((method, route, _), n) in &counted {
        *per_route
            .entry((method.clone(), route.clone()))
            .or_default() += n;
    }
    for ((method, route), n) in &per_route {
        let labels = [("method", method.as_str()), ("route", route.as_str())];
        let count = one(&m, "tongka_http_request_duration_seconds_count", &labels);
        assert_eq!(count, *n, "{method} {route}");
        let buckets: Vec<u64> = m
            .iter()
            .filter(|s| {
                s.name == "tongka_http_request_duration_seconds_bucket"
                    && s.labels["method"] == *method
                    && s.labels["route"] == *route
            })
            .map(|s| int(s.value))
            .collect();
        assert_eq!(buckets.len(), 16, "15 bounds and +Inf");
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        assert_eq!(buckets.last(), Some(n));
    }
    let histograms = m
        .iter()
        .filter(|s| s.name == "tongka_http_request_duration_seconds_count")
        .count();
    assert_eq!(histograms, per_route.len(), "a histogram per route counted");

    // Group commit: the batch sizes add up to the ops committed (all made
    // here), and the histogram agrees with the db's own figures.
    let ops = one(&m, "tongka_ops", &[]);
    let sum = one(&m, "tongka_db_commit_batch_size_sum", &[]);
    let commits = one(&m, "tongka_db_commit_batch_size_count", &[]);
    assert_eq!(ops, app.engine.db().summary().vv.total());
    assert!(ops >= 5, "a member, a recharge, a sale, two staff: {ops}");
    assert_eq!(sum, ops, "Σ batch sizes = ops committed");
    assert_eq!((commits, sum), app.engine.db().stats());
    let inf = one(&m, "tongka_db_commit_batch_size_bucket", &[("le", "+Inf")]);
    assert_eq!(inf, commits);
    let ones = one(&m, "tongka_db_commit_batch_size_bucket", &[("le", "1")]);
    assert!(ones <= commits && ones >= 1, "{ones} of {commits}");

    // The refused checkout asked the one peer, which timed out.
    assert_eq!(one(&m, "tongka_escrow_asks_total", &[]), 1);
    assert_eq!(one(&m, "tongka_escrow_ask_timeouts_total", &[]), 1);
    // The member's actor is alive.
    let live = one(&m, "tongka_actors_live", &[]);
    assert_eq!(live, app.engine.active_accounts() as u64);
    assert!(live >= 1);
    // Each peer's lag, connection and refusals.
    let peer = |name: &str, who: &str| one(&m, name, &[("peer", who)]);
    assert_eq!(peer("tongka_replication_lag_ops", "hq"), 5);
    assert_eq!(peer("tongka_replication_lag_ops", "store-2"), 0);
    assert_eq!(peer("tongka_replication_peer_connected", "hq"), 1);
    assert_eq!(peer("tongka_replication_peer_connected", "store-2"), 0);
    assert_eq!(peer("tongka_replication_refused_ops_total", "store-2"), 2);
    assert_eq!(peer("tongka_replication_refused_ops_total", "hq"), 0);
}

/// Without a token, or with a wrong one: `401`, and no figures.
#[tokio::test]
async fn metrics_need_sign_in() {
    let app = App::new();
    let a = app.raw("GET", "/api/v1/metrics", &[], Vec::new()).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.error_code().as_deref(), Some("unauthorized"));
    let (s, _, text) = scrape(&app, "not-the-token").await;
    assert_eq!(s, 401, "{text}");
    assert!(!text.contains("tongka_"), "{text}");
}
