//! A real node in process for the integration tests: a redb store on a
//! temporary file, the engine on the default programme, and the router,
//! driven request by request with `tower::ServiceExt::oneshot` (no socket).

#![allow(dead_code)]

pub mod reports;
pub mod schema;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tongka_actors::{Engine, EngineConfig};
use tongka_core::{NodeId, Programme};
use tongka_db::{Db, DbOptions};
use tower::ServiceExt;

pub const TOKEN: &str = "test-token-5f1c2a9e";
pub const NODE: &str = "store-1";
/// The member-code key of the node under test, and its window.
pub const CODE_KEY: [u8; 32] = [0x5a; 32];
pub const CODE_WINDOW_S: u64 = 60;

/// One node: its router, and the temporary directory its database lives in.
pub struct App {
    router: Router,
    pub engine: Engine,
    /// What the router serves (for `tongka_api::serve` over a socket).
    pub state: tongka_api::AppState,
    _dir: tempfile::TempDir,
}

/// An answer as the client sees it.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `error.code` of a JSON error body, if it has one.
    pub fn error_code(&self) -> Option<String> {
        self.json()?
            .get("error")?
            .get("code")?
            .as_str()
            .map(str::to_string)
    }
}

impl App {
    /// A fresh node `store-1`, console on, with an empty catalogue.
    pub fn new() -> App {
        App::as_node("store", false)
    }

    /// A fresh node `store-1` of `role` (`store`, `hq`), in a chain (it
    /// reports peers) or not.
    pub fn as_node(role: &str, chained: bool) -> App {
        App::build(role, chained, true)
    }

    /// A node given no member-code key (as a benchmark builds one).
    pub fn keyless() -> App {
        App::build("store", false, false)
    }

    /// A fresh node `store-1` of no chain whose staff sessions last `ttl`.
    pub fn with_session_ttl(ttl: Duration) -> App {
        App::build_with(|s| s.with_session_ttl(ttl), "store", false, true)
    }

    /// A store whose replication layer reports `peers` (of no chain as to
    /// authority: it authors its own catalogue).
    pub fn with_peers(peers: tongka_api::PeerStatusFn) -> App {
        App::build_with(|s| s.with_peers(peers), "store", false, true)
    }

    fn build(role: &str, chained: bool, member_codes: bool) -> App {
        App::build_with(|s| s, role, chained, member_codes)
    }

    /// A fresh node named `node` of `role`, in a chain (settlement tests:
    /// HQ and two stores, each its own router).
    pub fn named(node: &str, role: &str) -> App {
        App::build_named(node, |s| s, role, true, true)
    }

    /// Apply `ops`, made at another node, as replication would (one at a
    /// time, each committed before the next).
    pub async fn receive(&self, ops: Vec<tongka_core::op::Op>) {
        for op in ops {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.engine
                .apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
                .await
                .unwrap();
            rx.await.unwrap().unwrap();
        }
    }

    /// A fresh node named `node` of `role` whose replication layer reports
    /// `peers` (the dashboard at HQ).
    pub fn named_with_peers(node: &str, role: &str, peers: tongka_api::PeerStatusFn) -> App {
        App::build_named(node, |s| s.with_peers(peers), role, true, true)
    }

    fn build_with(
        tune: impl FnOnce(tongka_api::AppState) -> tongka_api::AppState,
        role: &str,
        chained: bool,
        member_codes: bool,
    ) -> App {
        App::build_named(NODE, tune, role, chained, member_codes)
    }

    fn build_named(
        node: &str,
        tune: impl FnOnce(tongka_api::AppState) -> tongka_api::AppState,
        role: &str,
        chained: bool,
        member_codes: bool,
    ) -> App {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (db, recovered) = Db::open(
            &dir.path().join("node.redb"),
            DbOptions {
                node: NodeId::new(node).expect("node name"),
                max_batch: 64,
                queue_max: 1024,
            },
        )
        .expect("open the store");
        let engine = Engine::new(
            db,
            Programme::default(),
            recovered.hlc,
            EngineConfig {
                max_in_flight: 64,
                idle_passivate: Duration::from_secs(60),
            },
        );
        // As tongka-node sets it: HQ sells nothing; a store of a chain
        // authors no documents.
        engine.set_role(match role {
            "hq" => Some(tongka_core::op::OriginRole::Hq),
            _ => chained.then_some(tongka_core::op::OriginRole::Store),
        });
        let mut state = tongka_api::AppState::new(engine.clone(), TOKEN.to_string(), role, true);
        if chained {
            state = state.with_peers(std::sync::Arc::new(Vec::new));
        }
        if member_codes {
            state = state.with_member_codes(tongka_api::MemberCodes {
                key: tongka_core::member_code::MemberCodeKey::from_bytes(CODE_KEY),
                window_s: CODE_WINDOW_S,
            });
        }
        let state = tune(state);
        App {
            router: tongka_api::router(state.clone()),
            state,
            engine,
            _dir: dir,
        }
    }

    /// Send anything: `headers` are sent as given (no token added).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Body::from(body)).expect("a valid request");
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router never fails");
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .expect("the body is readable")
            .to_bytes()
            .to_vec();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// Send with the token, JSON content type, and an idempotency key if given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        idem: Option<&str>,
    ) -> Answer {
        let auth = format!("Bearer {TOKEN}");
        let mut headers = vec![
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        if let Some(k) = idem {
            headers.push(("idempotency-key", k));
        }
        self.raw(method, path, &headers, body).await
    }

    /// Send with `bearer` as the token (a staff session's, say), JSON
    /// content type, and an idempotency key if given.
    pub async fn call_as(
        &self,
        bearer: &str,
        method: &str,
        path: &str,
        body: Vec<u8>,
        idem: Option<&str>,
    ) -> Answer {
        let auth = format!("Bearer {bearer}");
        let mut headers = vec![
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        if let Some(k) = idem {
            headers.push(("idempotency-key", k));
        }
        self.raw(method, path, &headers, body).await
    }

    /// `send`, with `bearer` as the token.
    pub async fn send_as(
        &self,
        bearer: &str,
        method: &str,
        path: &str,
        body: &Value,
        idem: Option<&str>,
    ) -> (u16, Value) {
        let a = self
            .call_as(bearer, method, path, body.to_string().into_bytes(), idem)
            .await;
        (a.status.as_u16(), a.json().unwrap_or(Value::Null))
    }

    /// `get`, with `bearer` as the token.
    pub async fn get_as(&self, bearer: &str, path: &str) -> (u16, Value) {
        let a = self.call_as(bearer, "GET", path, Vec::new(), None).await;
        (a.status.as_u16(), a.json().unwrap_or(Value::Null))
    }

    /// A staff account made with the admin token (`POST /staff`); its view.
    pub async fn create_staff(
        &self,
        login: &str,
        role: &str,
        stores: &[&str],
        password: &str,
    ) -> Value {
        let (s, v) = self
            .send(
                "POST",
                "/api/v1/staff",
                &json!({"login": login, "name": format!("员工 {login}"), "role": role,
                        "stores": stores, "password": password}),
                None,
            )
            .await;
        assert_eq!(s, 201, "creating {login}: {v}");
        v
    }

    /// Sign in (`POST /sessions`, no token): the answer as the client sees it.
    pub async fn try_sign_in(&self, login: &str, password: &str) -> Answer {
        let body = json!({"login": login, "password": password}).to_string();
        self.raw(
            "POST",
            "/api/v1/sessions",
            &[("content-type", "application/json")],
            body.into_bytes(),
        )
        .await
    }

    /// Sign in, which must succeed: the session's token.
    pub async fn sign_in(&self, login: &str, password: &str) -> String {
        let a = self.try_sign_in(login, password).await;
        let v = a.json().unwrap_or(Value::Null);
        assert_eq!(a.status, 201, "signing in as {login}: {v}");
        v["token"].as_str().expect("a session token").to_string()
    }

    /// Send a JSON value; the answer's status and JSON body (`null` if none).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        idem: Option<&str>,
    ) -> (u16, Value) {
        let a = self
            .call(method, path, body.to_string().into_bytes(), idem)
            .await;
        (a.status.as_u16(), a.json().unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let a = self.call("GET", path, Vec::new(), None).await;
        (a.status.as_u16(), a.json().unwrap_or(Value::Null))
    }

    /// What a refused request must leave as it was: the ledger totals, the
    /// op count per node and the replicated state hash.
    pub async fn snapshot(&self) -> Value {
        let (s1, ledger) = self.get("/api/v1/ledger/summary").await;
        let (s2, sync) = self.get("/api/v1/sync/status").await;
        assert_eq!((s1, s2), (200, 200), "snapshot reads");
        json!({
            "ledger": ledger,
            "state_hash": sync["state_hash"],
            "version_vector": sync["version_vector"],
        })
    }

    /// A member with a balance, a product with a barcode, and a paid order
    /// of two lines: something for every endpoint to work on.
    pub async fn seed(&self) -> Seed {
        let (s, m) = self
            .send(
                "POST",
                "/api/v1/members",
                &json!({"phone": "13812341234", "name": "张三", "card_no": "CARD0001"}),
                Some("seed-member"),
            )
            .await;
        assert_eq!(s, 201, "{m}");
        let member = m["id"].as_str().expect("member id").to_string();
        let (s, r) = self
            .send(
                "POST",
                &format!("/api/v1/members/{member}/recharges"),
                &json!({"amount": "5000.00", "tender": "cash"}),
                Some("seed-recharge"),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let (s, p) = self
            .send(
                "PUT",
                "/api/v1/products/latte",
                &json!({"name": "拿铁 Latte", "barcode": "6901234567908", "price": "32.00"}),
                None,
            )
            .await;
        assert_eq!(s, 200, "{p}");
        let (s, o) = self
            .send(
                "POST",
                "/api/v1/checkouts",
                &json!({
                    "member_id": member,
                    "lines": [{"sku": "latte", "qty": "2"}, {"description": "蛋糕", "unit_price": "18.50", "qty": 3}],
                    "tenders": [{"kind": "cash", "amount": "10"}, {"kind": "balance"}],
                }),
                Some("seed-order"),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        Seed {
            member,
            order: o["id"].as_str().expect("order id").to_string(),
        }
    }
}

pub struct Seed {
    pub member: String,
    pub order: String,
}

/// The machine code of an error answer ("" for another answer).
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// The staff accounts as the admin token sees them.
pub async fn staff_list(app: &App) -> Value {
    let (s, v) = app.get("/api/v1/staff").await;
    assert_eq!(s, 200, "{v}");
    v
}
