//! The HTTP layer: `POST /api/v1/checkouts` over HTTP/1.1 keep-alive
//! connections (hyper 1 client), one connection per client, against the
//! real axum router started in process, or against a running node.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;
use tongka_actors::Engine;
use tongka_core::ids::MemberId;
use tongka_core::money::Money;
use tongka_db::Db;

use crate::sys::{Counters, Usage};
use crate::{
    CheckoutBenchOptions, OP_BYTES_ESTIMATE, Timed, micros, new_histogram, phone, recharge_yuan,
    run_id,
};

/// The real node's HTTP server, started in process on 127.0.0.1.
pub struct InProcessServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl InProcessServer {
    /// Stop accepting, and wait for the server to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// Start the real axum router (`tongka_api::serve`) over `engine` on an
/// ephemeral port of 127.0.0.1, accepting `token` as the bearer token.
pub async fn start_in_process_server(
    engine: Engine,
    token: String,
) -> anyhow::Result<InProcessServer> {
    start_in_process_server_as(engine, token, "store").await
}

/// [`start_in_process_server`] for a node of `role` (`store` or `hq`).
pub async fn start_in_process_server_as(
    engine: Engine,
    token: String,
    role: &str,
) -> anyhow::Result<InProcessServer> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = tongka_api::AppState::new(engine, token, role, false);
    // Every client of the run holds a connection: no cap below them (the
    // bench measures the node, not its edge limits).
    let options = tongka_api::ServeOptions {
        max_connections: 1_000_000,
        ..tongka_api::ServeOptions::default()
    };
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(e) = tongka_api::serve(listener, state, shutdown, options).await {
            tracing::error!(error = %e, "in-process HTTP server failed");
        }
    });
    Ok(InProcessServer {
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// `host:port` of an `http://host:port[/]` URL.
pub(crate) fn authority(url: &str) -> anyhow::Result<String> {
    let url = url.trim();
    anyhow::ensure!(
        !url.starts_with("https://"),
        "https is not supported by the benchmark client; use the node's http address"
    );
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let auth = rest.split('/').next().unwrap_or_default();
    anyhow::ensure!(!auth.is_empty(), "no host in {url:?}");
    Ok(auth.to_string())
}

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct Client {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
    bearer: String,
}

impl Client {
    pub(crate) async fn connect(authority: &str, token: &str) -> anyhow::Result<Client> {
        let stream = TcpStream::connect(authority)
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client {
            sender,
            authority: authority.to_string(),
            bearer: format!("Bearer {token}"),
        })
    }

    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        idem: Option<&str>,
        body: Option<String>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority)
            .header(header::AUTHORIZATION, &self.bearer);
        if let Some(k) = idem {
            req = req.header("idempotency-key", k);
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(b))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req.body(body)?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    /// Send until the node stops answering `overloaded` (counted in
    /// `retries`; same idempotency key each time).
    async fn send_admitted(
        &mut self,
        method: Method,
        path: &str,
        idem: Option<&str>,
        body: String,
        retries: &mut u64,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        loop {
            let (status, bytes) = self
                .send(method.clone(), path, idem, Some(body.clone()))
                .await?;
            if is_overloaded(status, &bytes) {
                *retries += 1;
                tokio::time::sleep(Duration::from_micros(200)).await;
                continue;
            }
            return Ok((status, bytes));
        }
    }
}

fn is_overloaded(status: StatusCode, body: &[u8]) -> bool {
    (status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS)
        && body.windows(12).any(|w| w == b"\"overloaded\"")
}

pub(crate) fn text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.chars().take(300).collect()
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct Paid {
    payable: Money,
}

#[derive(Deserialize)]
struct Ledger {
    spent_principal: Money,
    spent_bonus: Money,
}

async fn ledger_spent(c: &mut Client) -> anyhow::Result<Money> {
    let (status, body) = c
        .send(Method::GET, "/api/v1/ledger/summary", None, None)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "GET /api/v1/ledger/summary: {status} {}",
        text(&body)
    );
    let l: Ledger = serde_json::from_slice(&body).context("ledger summary")?;
    Ok(l.spent_principal + l.spent_bonus)
}

/// Register and recharge `n` members over HTTP, `width` connections at a time.
async fn setup_members(
    authority: &str,
    token: &str,
    run: u64,
    n: usize,
    yuan: i64,
    width: usize,
) -> anyhow::Result<Vec<String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..width.clamp(1, 32) {
        let next = next.clone();
        let mut c = Client::connect(authority, token).await?;
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let mut retries = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(out);
                }
                let body = serde_json::json!({"phone": phone(run, i), "name": format!("会员{i}")});
                let key = format!("bench-{run:x}-reg-{i}");
                let (status, resp) = c
                    .send_admitted(
                        Method::POST,
                        "/api/v1/members",
                        Some(&key),
                        body.to_string(),
                        &mut retries,
                    )
                    .await?;
                anyhow::ensure!(
                    status == StatusCode::CREATED,
                    "POST /api/v1/members for member {i}: {status} {}",
                    text(&resp)
                );
                let id = serde_json::from_slice::<Created>(&resp)
                    .context("member answer")?
                    .id;
                let body = serde_json::json!({"amount": format!("{yuan}.00"), "tender": "cash"});
                let key = format!("bench-{run:x}-rch-{i}");
                let path = format!("/api/v1/members/{id}/recharges");
                let (status, resp) = c
                    .send_admitted(
                        Method::POST,
                        &path,
                        Some(&key),
                        body.to_string(),
                        &mut retries,
                    )
                    .await?;
                anyhow::ensure!(
                    status == StatusCode::CREATED,
                    "POST {path}: {status} {}",
                    text(&resp)
                );
                out.push((i, id));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, id)| id).collect())
}

struct ClientResult {
    hist: hdrhistogram::Histogram<u64>,
    ok: u64,
    retries: u64,
    paid_fen: i64,
    errors: u64,
    first_error: Option<String>,
}

pub(crate) async fn run(opts: &CheckoutBenchOptions, dir: &Path) -> anyhow::Result<Timed> {
    let run = run_id();
    let mut local: Option<(Db, Engine)> = None;
    let mut server = None;
    let (authority, token, target) = match &opts.http_url {
        Some(url) => {
            let token = opts
                .token
                .clone()
                .context("a token (--token) is needed with --url")?;
            (authority(url)?, token, format!("node at {url}"))
        }
        None => {
            let (db, engine) = crate::actor::open_node(dir, opts.clients, opts.unsigned)?;
            let token = format!(
                "bench-{}",
                blake3::hash(&run.to_le_bytes()).to_hex().as_str()
            );
            let s = start_in_process_server(engine.clone(), token.clone()).await?;
            let authority = s.addr.to_string();
            server = Some(s);
            local = Some((db, engine));
            (
                authority.clone(),
                token,
                format!("in-process axum router at http://{authority}"),
            )
        }
    };
    let result = timed(
        opts,
        run,
        &authority,
        &token,
        local.as_ref().map(|(s, e)| (s, e)),
    )
    .await;
    if let Some(s) = server {
        s.stop().await;
    }
    if let Some((store, engine)) = local {
        drop(engine);
        crate::actor::close(store).await?;
    }
    let mut t = result?;
    t.target = target;
    Ok(t)
}

async fn timed(
    opts: &CheckoutBenchOptions,
    run: u64,
    authority: &str,
    token: &str,
    node: Option<(&Db, &Engine)>,
) -> anyhow::Result<Timed> {
    let db = node.map(|(s, _)| s);
    let members = Arc::new(
        setup_members(
            authority,
            token,
            run,
            opts.members,
            recharge_yuan(opts),
            opts.clients,
        )
        .await?,
    );
    let mut probe = Client::connect(authority, token).await?;
    let spent0 = ledger_spent(&mut probe).await?;
    let stats0 = db.map(Db::stats);
    let orders0 = db.map(|s| s.summary().totals.orders);

    // Connect every client before the clock starts.
    let mut clients = Vec::with_capacity(opts.clients);
    for _ in 0..opts.clients {
        clients.push(Client::connect(authority, token).await?);
    }
    let n = opts.checkouts;
    let next = Arc::new(AtomicUsize::new(0));
    let counters = Counters::now();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(opts.clients);
    for mut c in clients {
        let next = next.clone();
        let members = members.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = ClientResult {
                hist: new_histogram(),
                ok: 0,
                retries: 0,
                paid_fen: 0,
                errors: 0,
                first_error: None,
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return r;
                }
                let member = &members[i % members.len()];
                let body = format!(
                    r#"{{"member_id":"{member}","lines":[{{"description":"咖啡","unit_price":"{}","qty":"1"}}],"tenders":[{{"kind":"balance"}}]}}"#,
                    Money::from_fen(crate::PRICE_FEN)
                );
                let key = format!("bench-{run:x}-co-{i}");
                let t0 = Instant::now();
                let res = c
                    .send_admitted(
                        Method::POST,
                        "/api/v1/checkouts",
                        Some(&key),
                        body,
                        &mut r.retries,
                    )
                    .await;
                r.hist.saturating_record(micros(t0.elapsed()));
                let failure = match res {
                    Ok((StatusCode::CREATED, resp)) => match serde_json::from_slice::<Paid>(&resp)
                    {
                        Ok(p) => {
                            r.ok += 1;
                            r.paid_fen += p.payable.fen();
                            None
                        }
                        Err(e) => Some(format!("order answer without payable ({e}): {}", text(&resp))),
                    },
                    Ok((status, resp)) => Some(format!("{status} {}", text(&resp))),
                    Err(e) => {
                        // The connection is gone: no point in going on with it.
                        r.errors += 1;
                        r.first_error.get_or_insert(format!("{e:#}"));
                        return r;
                    }
                };
                if let Some(f) = failure {
                    r.errors += 1;
                    r.first_error.get_or_insert(f);
                }
            }
        }));
    }
    let mut hist = new_histogram();
    let (mut ok, mut retries, mut paid_fen, mut errors) = (0u64, 0u64, 0i64, 0u64);
    let mut first_error = None;
    for t in tasks {
        let r = t.await?;
        hist.add(&r.hist).expect("same histogram bounds");
        ok += r.ok;
        retries += r.retries;
        paid_fen += r.paid_fen;
        errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
    }
    let elapsed = start.elapsed();
    // Against an external node this process holds only the clients.
    let usage = match db {
        Some(_) => counters.until(&Counters::now()),
        None => Usage::default(),
    };
    let stats1 = db.map(Db::stats);

    anyhow::ensure!(
        errors == 0 && ok == n as u64,
        "{errors} checkouts failed, {ok} of {n} succeeded; first failure: {}",
        first_error.unwrap_or_default()
    );
    let spent = ledger_spent(&mut probe).await? - spent0;
    anyhow::ensure!(
        spent.fen() == paid_fen,
        "the node's ledger shows {spent} more spent, the checkouts paid {} \
         (an external node must be otherwise idle during the benchmark)",
        Money::from_fen(paid_fen)
    );
    let (op_bytes, node_value_bytes) = match db {
        Some(s) => {
            let summary = s.summary();
            let orders = summary.totals.orders - orders0.unwrap_or(0);
            anyhow::ensure!(
                orders == n as u64,
                "the ledger shows {orders} orders, {n} checkouts succeeded"
            );
            let engine = node.map(|(_, e)| e).context("in-process node")?;
            let member = MemberId::parse(&members[0])
                .with_context(|| format!("member id {:?}", members[0]))?;
            let (op, all) = crate::actor::probe_sizes(engine, s, member, run).await?;
            (op, Some(all))
        }
        None => (OP_BYTES_ESTIMATE, None),
    };
    Ok(Timed {
        target: String::new(),
        elapsed,
        hist,
        succeeded: ok,
        retries,
        commits: match (stats0, stats1) {
            (Some((c0, r0)), Some((c1, r1))) => Some((c1 - c0, r1 - r0)),
            _ => None,
        },
        op_bytes,
        node_value_bytes,
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        assert_eq!(
            authority("http://127.0.0.1:8080/").unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(authority("127.0.0.1:7101").unwrap(), "127.0.0.1:7101");
        assert!(authority("https://x:1").is_err());
        assert!(authority("http://").is_err());
    }

    #[test]
    fn overloaded_is_recognised() {
        let body = br#"{"error":{"code":"overloaded","message":"busy"}}"#;
        assert!(is_overloaded(StatusCode::SERVICE_UNAVAILABLE, body));
        assert!(!is_overloaded(StatusCode::CONFLICT, body));
    }

    #[test]
    fn checkout_body_is_json() {
        let body = format!(
            r#"{{"member_id":"{}","lines":[{{"description":"咖啡","unit_price":"{}","qty":"1"}}],"tenders":[{{"kind":"balance"}}]}}"#,
            "m-x-1",
            Money::from_fen(crate::PRICE_FEN)
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["lines"][0]["unit_price"], "28.00");
        assert_eq!(v["tenders"][0]["kind"], "balance");
    }
}

#[cfg(test)]
mod end_to_end {
    use crate::{CheckoutBenchOptions, Layer};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_bench_runs_end_to_end_in_process() {
        let report = crate::checkout(CheckoutBenchOptions {
            layer: Layer::Http,
            members: 5,
            clients: 8,
            checkouts: 100,
            ..Default::default()
        })
        .await
        .expect("benchmark runs");
        assert_eq!(report.succeeded, 100);
        assert!(report.commits.is_some_and(|c| (1..=100).contains(&c)));
        assert_eq!(report.raw_writes, 100);
        assert!(
            report.target.contains("http://127.0.0.1:"),
            "{}",
            report.target
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_bench_runs_against_a_running_node() {
        let dir = tempfile::tempdir().unwrap();
        let (db, engine) = crate::actor::open_node(dir.path(), 8, false).unwrap();
        let server = crate::start_in_process_server(engine, "s3cret".into())
            .await
            .unwrap();
        let url = format!("http://{}/", server.addr);
        let report = crate::checkout(CheckoutBenchOptions {
            layer: Layer::Http,
            members: 4,
            clients: 6,
            checkouts: 60,
            http_url: Some(url.clone()),
            token: Some("s3cret".into()),
            ..Default::default()
        })
        .await
        .expect("benchmark runs");
        assert_eq!(report.succeeded, 60);
        assert_eq!(report.commits, None);
        assert_eq!(report.cpu_us_per_checkout, None);
        assert!(report.target.contains(&url), "{}", report.target);
        assert_eq!(db.summary().totals.orders, 60);
        // A wrong token is refused before anything is measured.
        let err = crate::checkout(CheckoutBenchOptions {
            layer: Layer::Http,
            members: 1,
            clients: 1,
            checkouts: 1,
            http_url: Some(url),
            token: Some("wrong".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert!(format!("{err:#}").contains("401"), "{err:#}");
        server.stop().await;
    }
}
