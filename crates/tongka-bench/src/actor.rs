//! The actor layer: `Engine::checkout` in process over a real `Db`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rust_decimal::Decimal;
use tongka_actors::{Deduct, Engine, EngineConfig, EngineError, Idem, LineRequest, Outcome};
use tongka_core::checkout::{TenderInput, TenderKind};
use tongka_core::clock::VersionVector;
use tongka_core::coupon::{Benefit, CouponKind, CouponTemplate, Scope, Validity};
use tongka_core::ids::{CouponId, MemberId, NodeId, OpId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::programme::Programme;
use tongka_db::{Db, DbOptions, IdemRecord};

use crate::sys::Counters;
use crate::{CheckoutBenchOptions, Timed, micros, new_histogram, phone, recharge_yuan, run_id};

/// The db options the node runs with.
pub(crate) fn db_options(node: NodeId) -> DbOptions {
    DbOptions {
        node,
        max_batch: 4096,
        queue_max: 65536,
    }
}

/// A fresh node (db on `dir/node.redb` and engine) as the binary makes it:
/// signing its ops with the key of a chain certificate made for it (as
/// `tongka chain new` makes them) unless `unsigned`.
pub(crate) fn open_node(
    dir: &Path,
    clients: usize,
    unsigned: bool,
) -> anyhow::Result<(Db, Engine)> {
    let node = NodeId::new("store-1").expect("valid node name");
    let (db, recovered) =
        Db::open(&dir.join("node.redb"), db_options(node)).context("opening the db")?;
    if !unsigned {
        let chain = dir.join("chain");
        tongka_config::chain_new(&tongka_config::ChainNewOptions::new(&chain, 1))
            .context("making the node's chain certificate")?;
        let manifest = tongka_config::ChainManifest::load(&chain)?;
        let tls = tongka_config::NodeConfig::load(manifest.nodes[0].config_path(&chain))?
            .tls()
            .context("the node's TLS files")?;
        let identity = tongka_net::Identity::load(&tls.ca_cert, &tls.cert, &tls.key)?;
        let key = tongka_net::OpKey::from_identity(&identity)?;
        db.set_signer(std::sync::Arc::new(tongka_replication::ChainSigner(key)));
    }
    let engine = Engine::new(
        db.clone(),
        Programme::default(),
        recovered.hlc,
        EngineConfig {
            // Room for every client and the setup tasks: the benchmark
            // measures the node, not its door.
            max_in_flight: clients.saturating_mul(2).max(1024),
            idle_passivate: Duration::from_secs(60),
        },
    );
    Ok((db, engine))
}

/// Stop the db's writer (and release its file) once everything is done.
pub(crate) async fn close(db: Db) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || db.close()).await?;
    Ok(())
}

pub(crate) fn idem(key: String) -> Idem {
    let fingerprint = *blake3::hash(key.as_bytes()).as_bytes();
    Idem { key, fingerprint }
}

/// Admission as the HTTP layer does it, retrying `overloaded` (counted).
async fn admitted(engine: &Engine, retries: &mut u64) -> tongka_actors::Admitted {
    loop {
        match engine.admit() {
            Ok(a) => return a,
            Err(_) => {
                *retries += 1;
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
    }
}

/// Register `n` members and recharge each with `yuan` cash, `width` at a time.
async fn setup_members(
    engine: &Engine,
    run: u64,
    n: usize,
    yuan: i64,
    width: usize,
) -> anyhow::Result<Vec<MemberId>> {
    register_and_recharge(engine, run, 0..n, yuan, width.clamp(1, 64), None).await
}

/// Register members `range` (phone numbers `phone(run, i)`) and recharge
/// each with `yuan` cash, through `engine`, `width` tasks at a time, each
/// request with its own idempotency key as a till sends it; `done` counts
/// the members finished. The ids in the order of `range`.
pub(crate) async fn register_and_recharge(
    engine: &Engine,
    run: u64,
    range: std::ops::Range<usize>,
    yuan: i64,
    width: usize,
    done: Option<Arc<AtomicUsize>>,
) -> anyhow::Result<Vec<MemberId>> {
    let next = Arc::new(AtomicUsize::new(range.start));
    let end = range.end;
    let mut tasks = Vec::new();
    for _ in 0..width.max(1) {
        let engine = engine.clone();
        let next = next.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    return Ok::<_, anyhow::Error>(out);
                }
                let profile = Profile {
                    phone: phone(run, i),
                    name: format!("会员{i}"),
                    birthday: None,
                    gender: None,
                    card_no: None,
                    invited_by: None,
                    tags: Vec::new(),
                    notes: String::new(),
                };
                let (outcome, _) = engine
                    .register(
                        "bench".into(),
                        Some(idem(format!("bench-{run:x}-reg-{i}"))),
                        profile,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("registering member {i}: {}", describe(&e)))?;
                let Outcome::Member(m) = outcome else {
                    anyhow::bail!("registering member {i}: unexpected answer {outcome:?}");
                };
                engine
                    .recharge(
                        "bench".into(),
                        Some(idem(format!("bench-{run:x}-rch-{i}"))),
                        m.id.clone(),
                        Money::from_yuan(yuan),
                        TenderKind::Cash,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("recharging member {i}: {}", describe(&e)))?;
                out.push((i, m.id));
                if let Some(d) = &done {
                    d.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut all = Vec::with_capacity(range.len());
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
    let (db, engine) = open_node(dir, opts.clients, opts.unsigned)?;
    let run = run_id();
    let members = Arc::new(
        setup_members(
            &engine,
            run,
            opts.members,
            recharge_yuan(opts),
            opts.clients,
        )
        .await?,
    );
    let coupons = if opts.coupon {
        Some(Arc::new(
            issue_coupons(&engine, run, &members, opts.checkouts).await?,
        ))
    } else {
        None
    };
    let (commits0, requests0) = db.stats();
    let totals0 = db.summary().totals;

    let n = opts.checkouts;
    let next = Arc::new(AtomicUsize::new(0));
    let counters = Counters::now();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(opts.clients);
    for _ in 0..opts.clients {
        let engine = engine.clone();
        let next = next.clone();
        let members = members.clone();
        let coupons = coupons.clone();
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
                let k = i % members.len();
                let member = members[k].clone();
                let deduct = Deduct {
                    points: 0,
                    coupons: coupons
                        .as_ref()
                        .map(|c| vec![c[k].clone()])
                        .unwrap_or_default(),
                };
                let t0 = Instant::now();
                let res = {
                    let _admitted = admitted(&engine, &mut r.retries).await;
                    engine
                        .checkout_with(
                            "bench".into(),
                            Some(idem(format!("bench-{run:x}-co-{i}"))),
                            Some(member),
                            vec![checkout_line()],
                            vec![balance_tender()],
                            deduct,
                        )
                        .await
                };
                r.hist.saturating_record(micros(t0.elapsed()));
                match res {
                    Ok((Outcome::CheckedOut { order, .. }, false)) => {
                        r.ok += 1;
                        r.paid_fen += order.order.payable.fen();
                    }
                    other => {
                        r.errors += 1;
                        if r.first_error.is_none() {
                            r.first_error = Some(match other {
                                Err(e) => describe(&e),
                                Ok((o, replay)) => {
                                    format!("unexpected answer (replay {replay}): {o:?}")
                                }
                            });
                        }
                    }
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
    let usage = counters.until(&Counters::now());
    let (commits1, requests1) = db.stats();

    anyhow::ensure!(
        errors == 0 && ok == n as u64,
        "{errors} of {n} checkouts failed ({ok} succeeded); first: {}",
        first_error.unwrap_or_default()
    );
    let summary = db.summary();
    let totals = &summary.totals;
    let orders = totals.orders - totals0.orders;
    anyhow::ensure!(
        orders == n as u64,
        "the ledger shows {orders} orders, {n} checkouts succeeded"
    );
    let spent = (totals.spent_principal + totals.spent_bonus)
        - (totals0.spent_principal + totals0.spent_bonus);
    let sales = totals.sales - totals0.sales;
    anyhow::ensure!(
        spent.fen() == paid_fen && sales.fen() == paid_fen,
        "the ledger shows {spent} spent and {sales} sales, the checkouts paid {}",
        Money::from_fen(paid_fen)
    );
    let uses = totals.coupon_uses - totals0.coupon_uses;
    let want_uses = if opts.coupon { n as i64 } else { 0 };
    anyhow::ensure!(
        uses == want_uses,
        "the ledger shows {uses} coupon uses, {want_uses} expected"
    );

    let (op_bytes, node_value_bytes) = probe_sizes(&engine, &db, members[0].clone(), run).await?;
    drop(engine);
    close(db).await?;

    Ok(Timed {
        target: format!(
            "in-process Engine (ractor account actors, redb group commit), ops {}",
            if opts.unsigned {
                "unsigned"
            } else {
                "signed (one Ed25519 signature per commit over the Merkle root of its ops, on the writer)"
            }
        ),
        elapsed,
        hist,
        succeeded: ok,
        retries,
        commits: Some((commits1 - commits0, requests1 - requests0)),
        op_bytes,
        node_value_bytes: Some(node_value_bytes),
        usage,
    })
}

/// The bench's coupon template: 1 yuan off, enough uses for every
/// checkout of its member.
const COUPON_TEMPLATE: &str = "bench";

/// Put the bench's template in the programme and issue one coupon of it
/// to each member, with as many uses as the member's checkouts; the codes
/// in the members' order.
async fn issue_coupons(
    engine: &Engine,
    run: u64,
    members: &[MemberId],
    checkouts: usize,
) -> anyhow::Result<Vec<CouponId>> {
    let uses = checkouts.div_ceil(members.len().max(1));
    anyhow::ensure!(
        uses <= tongka_core::coupon::COUPON_USES_MAX as usize,
        "at most {} checkouts per member with --coupon",
        tongka_core::coupon::COUPON_USES_MAX
    );
    let template = CouponTemplate {
        id: COUPON_TEMPLATE.into(),
        name: "压测券".into(),
        kind: CouponKind::Cash,
        benefit: Benefit::AmountOff {
            off: Money::from_yuan(1),
        },
        validity: Validity::DaysFromIssue { days: 30 },
        scope: Scope::default(),
        uses: uses as u32,
        min_spend: Money::ZERO,
        per_member_limit: 0,
    };
    let programme = Programme {
        coupon_templates: vec![template],
        ..Programme::default()
    };
    engine
        .change_programme(programme, "bench".into(), None)
        .await
        .map_err(|e| anyhow::anyhow!("the bench's coupon template: {}", describe(&e)))?;
    let mut out = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        let key = Some(idem(format!("bench-{run:x}-cpn-{i}")));
        match engine
            .issue_coupon("bench".into(), key, m.clone(), COUPON_TEMPLATE)
            .await
        {
            Ok((Outcome::CouponIssued { coupon, .. }, _)) => out.push(coupon),
            Ok((o, _)) => anyhow::bail!("issuing a coupon: unexpected answer {o:?}"),
            Err(e) => anyhow::bail!("issuing a coupon: {}", describe(&e)),
        }
    }
    Ok(out)
}

pub(crate) fn describe(e: &EngineError) -> String {
    use tongka_core::error::DomainError as _;
    format!("{}: {e}", e.code())
}

/// One more checkout, after the timed part and its checks, to measure what
/// a checkout writes: the encoded op (as the db stamps it) and the values
/// of op, order, member and idempotency record (keys not counted).
///
/// Computed from the answer, as the db encodes it, rather than read
/// back from the db.
pub(crate) async fn probe_sizes(
    engine: &Engine,
    db: &Db,
    member: MemberId,
    run: u64,
) -> anyhow::Result<(usize, usize)> {
    let key = format!("bench-{run:x}-size-probe");
    let (outcome, _) = engine
        .checkout(
            "bench".into(),
            Some(idem(key.clone())),
            Some(member),
            vec![checkout_line()],
            vec![balance_tender()],
        )
        .await
        .map_err(|e| anyhow::anyhow!("size probe: {}", describe(&e)))?;
    let Outcome::CheckedOut { order, member } = &outcome else {
        anyhow::bail!("size probe: unexpected answer {outcome:?}");
    };
    let op = Op {
        id: OpId {
            origin: db.node().clone(),
            seq: db.summary().seq,
        },
        hlc: order.order.at,
        deps: VersionVector::default(),
        by: "bench".into(),
        idem: Some(key),
        body: OpBody::CheckedOut {
            stock: Vec::new(),
            order: order.order.clone(),
        },
        sig: Vec::new(),
    };
    let op_bytes = op.encode().len();
    let mut total = op_bytes + 1 + postcard::to_allocvec(order)?.len();
    if let Some(m) = member {
        total += 1 + postcard::to_allocvec(m)?.len();
    }
    let rec = IdemRecord {
        fingerprint: [0; 32],
        body: postcard::to_allocvec(&outcome)?,
    };
    total += 1 + postcard::to_allocvec(&rec)?.len();
    Ok((op_bytes, total))
}

pub(crate) fn checkout_line() -> LineRequest {
    LineRequest::Free {
        description: "咖啡".into(),
        unit_price: Money::from_fen(crate::PRICE_FEN),
        qty: Decimal::ONE,
    }
}

pub(crate) fn balance_tender() -> TenderInput {
    TenderInput {
        kind: TenderKind::Balance,
        amount: None,
    }
}

#[cfg(test)]
mod tests {
    use crate::{CheckoutBenchOptions, Layer};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn actor_bench_runs_end_to_end() {
        let report = crate::checkout(CheckoutBenchOptions {
            layer: Layer::Actor,
            members: 7,
            clients: 20,
            checkouts: 200,
            ..Default::default()
        })
        .await
        .expect("benchmark runs");
        assert_eq!(report.succeeded, 200);
        assert_eq!(report.checkouts, 200);
        assert_eq!(report.overloaded_retries, 0);
        let commits = report.commits.expect("db visible");
        assert!((1..=200).contains(&commits), "{commits} commits");
        let per = report.requests_per_commit.expect("db visible");
        assert!(
            (per * commits as f64 - 200.0).abs() < 1e-6,
            "{per} per commit"
        );
        assert_eq!(report.raw_writes, 200);
        assert!(report.raw_commits >= 1);
        assert!(report.raw_batch >= 1);
        assert!(report.op_bytes > 50, "{} B op", report.op_bytes);
        assert!(report.checkouts_per_sec > 0.0 && report.ratio > 0.0);
        assert!(report.p50_ms <= report.p99_ms && report.p99_ms <= report.max_ms);
        let text = report.to_string();
        assert!(text.contains("durable checkouts/s"), "{text}");
        assert!(text.contains("ratio"), "{text}");
    }
}
