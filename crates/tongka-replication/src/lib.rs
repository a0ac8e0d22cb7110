//! tongka-replication: the node's replication layer. It runs the sans-IO
//! protocol of `tongka-sync` over authenticated QUIC connections
//! (`tongka-net`), hands remote ops to the engine in causal order, tells
//! peers what became durable, and brokers escrow transfers (asking peers for
//! shares of a member's balance, and giving when asked).
//!
//! One connection per pair of nodes: both nodes dial (the one whose name
//! sorts second after a grace period, or at once on start), and should both
//! connections get through, both keep the one the first node dialled. A
//! connection is re-dialled with back-off when it drops.
//!
//! Every op received is verified before the protocol (`Replica`) or the
//! applier sees it: its origin's certificate must be known and chain to the
//! chain CA, the signature must verify, and the origin's role (in its
//! certificate) must allow what the op does. A refused op is logged in the
//! store's refused-op log with the peer that sent it, never applied, and the
//! connection to that peer is closed (an honest node only relays ops it
//! verified). Peers pass on the certificates they know (`Frame::Certs`) when
//! a connection opens and whenever they learn one, before any op of that
//! origin on the same ordered stream.

mod frame;

pub use frame::{CERTS_FORMAT_V1, Frame, FrameError};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tongka_actors::{Engine, EscrowBroker};
use tongka_core::clock::VersionVector;
use tongka_core::escrow::Want;
use tongka_core::ids::{NodeId, OpId};
use tongka_core::op::{self, EncodedOp, Op, OpSigner, OriginRole};
use tongka_db::{Db, RefusedOp};
use tongka_net::{CertRole, Connection, Endpoint, OpKey, Trust};
use tongka_sync::{Msg, OpLog, Replica, ReplicaConfig};

/// How long a store waits for a peer to answer an escrow request.
pub const ASK_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long a giver remembers its answer to an escrow request: an asker
/// whose connection was replaced asks again (same request number) and gets
/// the same answer instead of a second transfer.
const GIVE_MEMORY: Duration = Duration::from_secs(30);
/// Re-dial back-off bounds.
const REDIAL_MIN: Duration = Duration::from_millis(100);
const REDIAL_MAX: Duration = Duration::from_secs(2);
/// Most ops the applier hands the engine at once (one commit).
const APPLY_BATCH: usize = 2048;
/// Ops of one origin sent to a peer and not yet durable there, at most
/// (`ReplicaConfig::window`): enough to keep a catch-up's pipeline (verify,
/// apply, commit, acknowledge) full.
const WINDOW: u64 = 32 * 1024;
/// Control messages queued for one peer, at most.
const CONTROL_QUEUE: usize = 1024;

/// What `/sync/status` shows of a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub node: NodeId,
    pub connected: bool,
    /// Ops this node holds that the peer is not known to hold.
    pub lag_ops: u64,
    /// Ops the peer sent that were refused at verification (forged, of an
    /// unknown origin, or not their origin's to make), since start.
    pub refused_ops: u64,
    /// While not connected: when its last connection went down (ms since
    /// the Unix epoch, this node's clock), so a dashboard can say
    /// "partitioned since". A peer that stops answering is found gone by
    /// QUIC's idle timeout (`Options::idle_timeout`, 5 s by default), so
    /// this is that much after its last packet. `None` while connected, and
    /// for a peer not connected to since this node started.
    pub disconnected_since: Option<u64>,
    /// What its chain certificate says it is (a store or HQ), once this
    /// node knows the certificate (`Trust::role`: learnt at a connection or
    /// relayed, kept in `certs/`); `None` before. A dashboard tells HQ from
    /// the stores by it.
    pub role: Option<OriginRole>,
}

/// Signs this node's ops with its chain key (`Db::set_signer`).
pub struct ChainSigner(pub OpKey);

impl OpSigner for ChainSigner {
    fn sign(&self, signing_bytes: &[u8]) -> Vec<u8> {
        self.0.sign(signing_bytes).to_vec()
    }
}

/// Verify one received op as replication does before applying it: its
/// origin's certificate is known (and chains to the chain CA: `Trust` only
/// learns such), its signature (`Op::signed_message`: the root its path
/// leads to) verifies, and the origin's role may make it.
pub fn verify_op(trust: &Trust, op: &Op) -> Result<(), String> {
    verify_encoded(trust, &EncodedOp::new(op.clone()))
}

/// `verify_op` for an op as received: its bytes are what the signature
/// must cover (the hash is taken of them, `EncodedOp::decode`).
pub fn verify_encoded(trust: &Trust, op: &EncodedOp) -> Result<(), String> {
    match verify_ops(trust, std::slice::from_ref(op)) {
        Some((_, reason)) => Err(reason),
        None => Ok(()),
    }
}

fn origin_role(role: CertRole) -> OriginRole {
    match role {
        CertRole::Store => OriginRole::Store,
        CertRole::Hq => OriginRole::Hq,
    }
}

fn authorised(role: CertRole, op: &Op) -> Result<(), String> {
    op::check_authority(origin_role(role), &op.body).map_err(|e| e.to_string())
}

/// Verify `ops` (signature, certificate, role); the index of the first
/// refused one and why, if any. Ops their origin committed together share
/// one signature, verified once.
fn verify_ops(trust: &Trust, ops: &[EncodedOp]) -> Option<(usize, String)> {
    let signed: Vec<Option<(Vec<u8>, &[u8])>> = ops.iter().map(EncodedOp::signed_message).collect();
    // Each distinct (origin, message, signature), once.
    let mut distinct: HashMap<(&str, &[u8], &[u8]), usize> = HashMap::new();
    let mut which = Vec::with_capacity(ops.len());
    for (op, s) in ops.iter().zip(&signed) {
        which.push(s.as_ref().map(|(m, sig)| {
            let n = distinct.len();
            *distinct
                .entry((op.op.origin().as_str(), m.as_slice(), *sig))
                .or_insert(n)
        }));
    }
    let mut items = vec![("", &[][..], &[][..]); distinct.len()];
    for (item, i) in &distinct {
        items[*i] = *item;
    }
    let results = trust.verify_all(&items);
    ops.iter().zip(&which).enumerate().find_map(|(i, (op, w))| {
        let op = &op.op;
        let r = match w {
            None => Err(format!("signature of {} malformed or missing", op.origin())),
            Some(w) => results[*w].clone().map_err(|e| e.to_string()),
        };
        r.and_then(|role| authorised(role, op))
            .err()
            .map(|e| (i, e))
    })
}

/// Messages with fewer ops are verified on the receiving task; larger ones
/// (catch-up) on the blocking pool.
const VERIFY_INLINE_MAX: usize = 16;

struct DbLog<'a>(&'a Db);

impl OpLog<EncodedOp> for DbLog<'_> {
    fn ops_from(&self, origin: &NodeId, from_seq: u64, limit: usize) -> Vec<EncodedOp> {
        self.0
            .ops_from_encoded(origin, from_seq, limit)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "reading the op log");
                Vec::new()
            })
    }
}

struct Inner {
    me: NodeId,
    engine: Engine,
    db: Db,
    /// Ops travel as their origin encoded them: sent as the log holds them,
    /// stored as received and verified.
    replica: Mutex<Replica<EncodedOp>>,
    /// The chain's certificates: verifies every received op.
    trust: Arc<Trust>,
    /// Ops refused at verification, by the peer that sent them.
    refused: Mutex<HashMap<NodeId, u64>>,
    /// Wakes every peer's sender: something to send may have appeared.
    wake: Notify,
    /// What this node holds durably, for escrow waiters.
    held: watch::Sender<VersionVector>,
    /// Connected peers: control-message queue, connection, and its number.
    peers: Mutex<HashMap<NodeId, Live>>,
    next_conn: AtomicU64,
    /// Known peers (static and discovered), for status.
    known: Mutex<Vec<NodeId>>,
    /// Peers whose connection went down, and when (ms since the epoch):
    /// set when a peer's live connection ends, cleared when one is up.
    down_since: Mutex<HashMap<NodeId, u64>>,
    asks: Mutex<HashMap<u64, oneshot::Sender<Vec<OpId>>>>,
    next_ask: AtomicU64,
    /// Escrow requests answered (or being answered) here, by asker and
    /// request number: see `GIVE_MEMORY`.
    gives: Mutex<HashMap<(NodeId, u64), Give>>,
    /// Notified whenever a peer's connection comes, goes or is replaced:
    /// pending asks go again on the peer's connection of now.
    links: Notify,
    /// Tests: the next escrow message to lose with its connection
    /// (`LOSE_NONE`, `LOSE_ASK`, `LOSE_GAVE`).
    lose_next: AtomicU8,
    /// Tests: escrow messages lost so (`escrow_messages_lost`).
    lost: AtomicU64,
    endpoint: Arc<Endpoint>,
    /// Peers being dialled (each has one dial loop).
    dialing: Mutex<Vec<NodeId>>,
    /// Ops released by the protocol, from every connection, in the order it
    /// released them (sent while holding the replica lock); one task applies
    /// them, so the writer receives them in causal order.
    apply_tx: mpsc::UnboundedSender<Applying>,
    /// Set by `stop`: the node is shutting down and its db closes next;
    /// the applier applies nothing more.
    stopping: AtomicBool,
}

const LOSE_NONE: u8 = 0;
const LOSE_ASK: u8 = 1;
const LOSE_GAVE: u8 = 2;

/// An escrow request from a peer, as this node answers it.
enum Give {
    /// The transfer is being made; a repeated request waits for it.
    Making(std::time::Instant),
    /// The answer (`Msg::Gave` ops), sent again to a repeated request.
    Made(std::time::Instant, Vec<Vec<u8>>),
}

impl Give {
    fn at(&self) -> std::time::Instant {
        match self {
            Give::Making(at) | Give::Made(at, _) => *at,
        }
    }
}

/// A live connection to a peer.
struct Live {
    control: mpsc::Sender<Msg>,
    conn: Arc<Connection>,
    id: u64,
    /// Dialled by the node of the pair whose name sorts first.
    preferred: bool,
}

/// How often the node of a pair whose name sorts last checks, while
/// connected, whether it must dial again itself (the other may not know
/// it: a store added later).
const DIAL_GRACE: Duration = Duration::from_secs(3);

/// A batch of delivered ops for the applier, and whom to tell when applied.
struct Applying {
    ops: Vec<EncodedOp>,
    /// An escrow ask answered: told the ids of the ops the answer carried
    /// once this batch is handed over (the asker then waits until those are
    /// durable; one may be held back until its causal past arrives).
    gave: Option<(oneshot::Sender<Vec<OpId>>, Vec<OpId>)>,
}

/// The replication layer of a running node.
#[derive(Clone)]
pub struct Replication {
    inner: Arc<Inner>,
}

impl Replication {
    /// Start replicating: accept connections on `endpoint`, dial `peers`
    /// whose names sort after this node's, and lend the engine an escrow
    /// broker. Received ops are verified with `trust` (the node's own ops
    /// are signed by the store: `Db::set_signer`).
    pub fn start(
        engine: Engine,
        db: Db,
        endpoint: Endpoint,
        trust: Arc<Trust>,
        chain: &str,
        peers: Vec<(NodeId, SocketAddr)>,
    ) -> Replication {
        let me = db.node().clone();
        let replica = Replica::new(
            me.clone(),
            VersionVector::new(),
            ReplicaConfig {
                chain: chain.to_string(),
                window: WINDOW,
                ..ReplicaConfig::default()
            },
        );
        let (held, _) = watch::channel(VersionVector::new());
        let (apply_tx, mut apply_rx) = mpsc::unbounded_channel::<Applying>();
        let inner = Arc::new(Inner {
            me: me.clone(),
            engine: engine.clone(),
            db: db.clone(),
            replica: Mutex::new(replica),
            trust,
            refused: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            held,
            peers: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            known: Mutex::new(peers.iter().map(|(n, _)| n.clone()).collect()),
            down_since: Mutex::new(HashMap::new()),
            asks: Mutex::new(HashMap::new()),
            // Request numbers of a restarted node do not repeat those of
            // its previous run, which a giver may still remember.
            next_ask: AtomicU64::new(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(1) << 10),
            ),
            gives: Mutex::new(HashMap::new()),
            links: Notify::new(),
            lose_next: AtomicU8::new(LOSE_NONE),
            lost: AtomicU64::new(0),
            endpoint: Arc::new(endpoint),
            dialing: Mutex::new(Vec::new()),
            apply_tx,
            stopping: AtomicBool::new(false),
        });
        // Watch commits before reading what storage holds, so nothing
        // committed in between is missed (telling twice is harmless).
        let w = inner.clone();
        db.watch_commits(Arc::new(move |ids: &[OpId]| {
            let held = {
                let mut r = w.replica.lock().expect("replica lock");
                for id in ids {
                    r.durable(id);
                }
                r.held().clone()
            };
            w.held.send_replace(held);
            w.wake.notify_waiters();
        }));
        {
            let mut r = inner.replica.lock().expect("replica lock");
            r.durable_up_to(&db.summary().vv);
            inner.held.send_replace(r.held().clone());
        }
        let applier = inner.engine.clone();
        let stop = inner.clone();
        tokio::spawn(async move {
            while let Some(batch) = apply_rx.recv().await {
                if stop.stopping.load(Ordering::Acquire) {
                    break;
                }
                // Batches queued meanwhile (a peer streaming a catch-up) go
                // to the engine together, up to APPLY_BATCH ops.
                let mut ops = batch.ops;
                let mut gave: Vec<_> = batch.gave.into_iter().collect();
                while ops.len() < APPLY_BATCH {
                    let Ok(more) = apply_rx.try_recv() else { break };
                    ops.extend(more.ops);
                    gave.extend(more.gave);
                }
                let first = ops.first().map(|op| op.op.id.clone());
                if let Err(e) = applier.apply_remote_encoded(ops).await {
                    if stop.stopping.load(Ordering::Acquire) {
                        // Shutting down: the db closed under the batch.
                        // Nothing of it is acknowledged; peers send it
                        // again after the restart.
                        tracing::info!(error = %e, "stopped while applying remote ops");
                        break;
                    }
                    // A delivered op must be applied before any later one:
                    // a node that cannot is broken; restart it.
                    panic!("applying remote ops from {first:?}: {e}");
                }
                for (tx, ids) in gave {
                    let _ = tx.send(ids);
                }
            }
        });
        let rep = Replication { inner };
        engine.set_broker(Arc::new(Broker(rep.clone())));
        let acc = rep.clone();
        let ep = rep.inner.endpoint.clone();
        tokio::spawn(async move {
            while let Some(incoming) = ep.accept().await {
                match incoming {
                    Ok(conn) => {
                        let r = acc.clone();
                        tokio::spawn(async move { r.run(conn, false).await });
                    }
                    Err(e) => tracing::warn!(error = %e, "incoming connection failed"),
                }
            }
        });
        for (peer, addr) in peers {
            rep.add_peer(peer, addr);
        }
        rep
    }

    /// A peer to keep connected to (static or discovered). Both nodes of a
    /// pair dial; the one whose name sorts second waits a grace period
    /// first when connected (see below).
    /// The node is shutting down: close every connection and apply
    /// nothing more, before the db closes (a batch applied after would
    /// fail and stop the node as broken). Ops received but not applied
    /// are not acknowledged: peers send them again after the restart.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        self.inner.endpoint.close("node shutting down");
    }

    pub fn add_peer(&self, peer: NodeId, addr: SocketAddr) {
        {
            // A peer found again (mDNS announces a node now and then)
            // stays down since when its link went down, until it is up:
            // only a peer new to this node starts with no such time.
            let mut known = self.inner.known.lock().expect("known lock");
            if !known.contains(&peer) {
                known.push(peer.clone());
                self.inner
                    .down_since
                    .lock()
                    .expect("down_since lock")
                    .remove(&peer);
            }
        }
        if self.inner.me == peer {
            return;
        }
        // Of each pair the node whose name sorts first dials; the other
        // dials too (at once on start: it may be rejoining after a long
        // absence, and the other's back-off may be long), and checks again
        // after a grace period when connected. Should both connections get
        // through, both nodes keep the one the first node dialled.
        let grace = if self.inner.me < peer {
            Duration::ZERO
        } else {
            DIAL_GRACE
        };
        {
            let mut dialing = self.inner.dialing.lock().expect("dialing lock");
            if dialing.contains(&peer) {
                return;
            }
            dialing.push(peer.clone());
        }
        let r = self.clone();
        tokio::spawn(async move { r.dial(peer, addr, grace).await });
    }

    fn is_connected(&self, peer: &NodeId) -> bool {
        self.inner
            .peers
            .lock()
            .expect("peers lock")
            .contains_key(peer)
    }

    async fn dial(&self, peer: NodeId, addr: SocketAddr, grace: Duration) {
        let mut backoff = REDIAL_MIN;
        loop {
            if self.is_connected(&peer) {
                tokio::time::sleep(grace.max(REDIAL_MIN)).await;
                continue;
            }
            match self.inner.endpoint.connect(peer.as_str(), addr).await {
                Ok(conn) => {
                    let up = std::time::Instant::now();
                    self.run(conn, true).await;
                    // A connection refused at once (the peer keeps another)
                    // does not reset the back-off.
                    if up.elapsed() > REDIAL_MAX {
                        backoff = REDIAL_MIN;
                    }
                }
                Err(e) => tracing::debug!(%peer, error = %e, "dial failed"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(REDIAL_MAX);
        }
    }

    /// Serve one authenticated connection (`dialled` by this node, or
    /// accepted) until it drops.
    async fn run(&self, conn: Connection, dialled: bool) {
        let Ok(peer) = NodeId::new(conn.peer()) else {
            conn.close("bad node name");
            return;
        };
        let conn = Arc::new(conn);
        let (tx, rx) = mpsc::channel(CONTROL_QUEUE);
        let id = self.inner.next_conn.fetch_add(1, Ordering::Relaxed);
        // Dialled by the node whose name sorts first.
        let preferred = dialled == (self.inner.me < peer);
        {
            let mut peers = self.inner.peers.lock().expect("peers lock");
            // Both nodes dialled at once: both keep the preferred connection.
            if let Some(old) = peers.get(&peer)
                && old.preferred
                && !preferred
                && old.conn.close_reason().is_none()
            {
                drop(peers);
                conn.close("a connection dialled by the other node is up");
                return;
            }
            // Else a newer connection to the same peer replaces the older one.
            if let Some(old) = peers.insert(
                peer.clone(),
                Live {
                    control: tx,
                    conn: conn.clone(),
                    id,
                    preferred,
                },
            ) {
                old.conn.close("replaced by a newer connection");
            }
            let mut known = self.inner.known.lock().expect("known lock");
            if !known.contains(&peer) {
                known.push(peer.clone());
            }
        }
        self.inner.links.notify_waiters();
        let hello = self
            .inner
            .replica
            .lock()
            .expect("replica lock")
            .connected(&peer);
        tracing::info!(%peer, remote = %conn.remote(), "peer connected");
        let sender =
            tokio::spawn(
                self.clone()
                    .send_loop(conn.clone(), id, peer.clone(), hello, rx),
            );
        let reason = self.receive_loop(&conn, &peer).await;
        sender.abort();
        conn.close(&reason);
        let ours = {
            let mut peers = self.inner.peers.lock().expect("peers lock");
            let ours = peers.get(&peer).is_some_and(|l| l.id == id);
            if ours {
                peers.remove(&peer);
            }
            ours
        };
        self.inner.links.notify_waiters();
        if ours {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            self.inner
                .down_since
                .lock()
                .expect("down_since lock")
                .insert(peer.clone(), now);
            self.inner
                .replica
                .lock()
                .expect("replica lock")
                .disconnected(&peer);
            // The other peers' send loops tell them this link is down.
            self.inner.wake.notify_waiters();
        }
        tracing::info!(%peer, %reason, "peer disconnected");
    }

    async fn send_loop(
        self,
        conn: Arc<Connection>,
        id: u64,
        peer: NodeId,
        hello: Msg,
        mut control: mpsc::Receiver<Msg>,
    ) {
        let mut last_have: Option<Msg> = None;
        let send = |m: Msg| {
            let conn = conn.clone();
            async move { conn.send(Bytes::from(m.encode())).await }
        };
        if send(hello).await.is_err() {
            return;
        }
        // Certificates sent on this connection: the first `certs_sent` the
        // trust store learnt. An op is applied here only after its origin's
        // certificate was learnt, so sending new certificates before polling
        // ops puts each origin's certificate ahead of its ops.
        let mut certs_sent = 0;
        loop {
            let woken = self.inner.wake.notified();
            if self.inner.trust.len() > certs_sent {
                let certs = self.inner.trust.certs_from(certs_sent);
                certs_sent += certs.len();
                if conn
                    .send(Bytes::from(Frame::encode_certs(&certs)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            while let Ok(m) = control.try_recv() {
                if send(m).await.is_err() {
                    return;
                }
            }
            // Tell the peer what became durable here, and whom this node is
            // linked to (the relay policy needs both).
            let have = self.inner.replica.lock().expect("replica lock").have();
            if last_have.as_ref() != Some(&have) {
                if send(have.clone()).await.is_err() {
                    return;
                }
                last_have = Some(have);
            }
            let next = {
                let mut r = self.inner.replica.lock().expect("replica lock");
                // A connection replaced by another (both nodes dialled at
                // once) polls no more: what it took would count as sent to
                // the peer and be lost with it, and the new connection
                // would never send it. Looked at under the replica lock:
                // the new connection is the peer's before its `Hello`
                // resets what was sent.
                let current = self
                    .inner
                    .peers
                    .lock()
                    .expect("peers lock")
                    .get(&peer)
                    .is_some_and(|l| l.id == id);
                if !current {
                    return;
                }
                let ops = r.next_ops(&peer, &DbLog(&self.inner.db));
                (!ops.is_empty()).then(|| Msg::encoded_ops(ops))
            };
            match next {
                Some(m) => {
                    if send(m).await.is_err() {
                        return;
                    }
                }
                None => {
                    tokio::select! {
                        _ = woken => {}
                        m = control.recv() => match m {
                            Some(m) => if send(m).await.is_err() { return },
                            None => return,
                        },
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
    }

    async fn receive_loop(&self, conn: &Connection, peer: &NodeId) -> String {
        loop {
            let bytes = match conn.recv().await {
                Ok(Some(b)) => b,
                Ok(None) => return "closed".into(),
                Err(e) => return e.to_string(),
            };
            let msg = match Frame::decode(&bytes) {
                Ok(Frame::Msg(m)) => m,
                Ok(Frame::Certs(certs)) => {
                    self.learn_certs(peer, &certs);
                    continue;
                }
                Err(e) => return format!("bad message: {e}"),
            };
            let (ops, gave_req) = match msg {
                Msg::Ops { ops } => (ops, None),
                Msg::Gave { req, ops } => (ops, Some(req)),
                msg => {
                    let is_have = matches!(msg, Msg::Have { .. });
                    let d = self
                        .inner
                        .replica
                        .lock()
                        .expect("replica lock")
                        .receive_control(peer, &msg);
                    if let Some(reason) = d.refuse {
                        return reason;
                    }
                    // A peer's `Have` opens its window (it holds more now):
                    // the sender may send again at once. (Without this, a
                    // sender whose window was full slept until its periodic
                    // wake, 500 ms: catch-up ran at one window per 500 ms.)
                    if is_have {
                        self.inner.wake.notify_waiters();
                    }
                    if let Some((req, want)) = d.ask {
                        self.asked(peer, req, want);
                    }
                    continue;
                }
            };
            let ops = match Msg::decode_encoded_ops(ops) {
                Ok(ops) => ops,
                Err(e) => return format!("bad message: {e}"),
            };
            let ids: Vec<OpId> = ops.iter().map(|op| op.op.id.clone()).collect();
            // Verify what is new here (outside the replica lock: it is the
            // costly part of receiving), the verified prefix goes on.
            let mut ops: Vec<EncodedOp> = {
                let r = self.inner.replica.lock().expect("replica lock");
                ops.into_iter()
                    .filter(|op| !r.has_admitted(&op.op.id))
                    .collect()
            };
            let refused = if ops.len() < VERIFY_INLINE_MAX {
                // A few ops (live traffic, an escrow answer): a signature or
                // two, verified here rather than paying a thread hop.
                verify_ops(&self.inner.trust, &ops)
            } else {
                let trust = self.inner.trust.clone();
                let (back, refused) = tokio::task::spawn_blocking(move || {
                    let refused = verify_ops(&trust, &ops);
                    (ops, refused)
                })
                .await
                .expect("verifying ops");
                ops = back;
                refused
            }
            .map(|(i, reason)| (ops.split_off(i).swap_remove(0), reason));
            let gave = gave_req.and_then(|req| {
                self.inner
                    .asks
                    .lock()
                    .expect("asks lock")
                    .remove(&req)
                    .map(|tx| (tx, ids))
            });
            let d = {
                let mut r = self.inner.replica.lock().expect("replica lock");
                let mut d = r.receive_ops(peer, ops, gave_req);
                // Delivered ops are admitted: they must reach the applier
                // even if the rest of the message is refused.
                if !d.apply.is_empty() || gave.is_some() {
                    let _ = self.inner.apply_tx.send(Applying {
                        ops: std::mem::take(&mut d.apply),
                        gave,
                    });
                }
                d
            };
            if let Some((op, reason)) = refused {
                return self.refuse_op(peer, op, reason);
            }
            if let Some(reason) = d.refuse {
                return reason;
            }
            // The peer learns of applied ops through `Have`, sent when they
            // are durable; wake the senders now in case the window was full.
            self.inner.wake.notify_waiters();
        }
    }

    /// Learn the certificates a peer passed on (each checked against the
    /// chain CA); wake the senders to pass new ones on.
    fn learn_certs(&self, peer: &NodeId, certs: &[Vec<u8>]) {
        let mut new = false;
        for c in certs {
            match self.inner.trust.learn(c) {
                Ok(Some(node)) => {
                    tracing::info!(%peer, %node, "learnt a node certificate");
                    new = true;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "peer passed on a certificate that is refused")
                }
            }
        }
        if new {
            self.inner.wake.notify_waiters();
        }
    }

    /// An op from `peer` failed verification: log it with the peer, count
    /// it against the peer, and give the reason to close the connection.
    fn refuse_op(&self, peer: &NodeId, op: EncodedOp, reason: String) -> String {
        let op = op.op;
        tracing::warn!(%peer, op = %op.id, kind = op.body.kind(), %reason, "refused an op that failed verification; closing the connection to the peer that sent it");
        *self
            .inner
            .refused
            .lock()
            .expect("refused lock")
            .entry(peer.clone())
            .or_default() += 1;
        let id = op.id.clone();
        self.inner.db.log_refused(
            RefusedOp {
                id: op.id,
                from: peer.clone(),
                reason: reason.clone(),
            },
            Box::new(|r| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "logging a refused op");
                }
            }),
        );
        format!("sent op {id}, refused: {reason}")
    }

    /// A peer asked for shares. A request asked again (its connection was
    /// replaced before the answer got through) is answered as the first
    /// time, and gives nothing more.
    fn asked(&self, peer: &NodeId, req: u64, want: Want) {
        let now = std::time::Instant::now();
        let again = {
            let mut gives = self.inner.gives.lock().expect("gives lock");
            gives.retain(|_, g| now.duration_since(g.at()) < GIVE_MEMORY);
            match gives.get(&(peer.clone(), req)) {
                // Answered when the transfer is made, on the connection of then.
                Some(Give::Making(_)) => return,
                Some(Give::Made(_, ops)) => Some(ops.clone()),
                None => {
                    gives.insert((peer.clone(), req), Give::Making(now));
                    None
                }
            }
        };
        match again {
            Some(ops) => {
                self.control(peer, Msg::Gave { req, ops });
            }
            None => {
                let r = self.clone();
                let peer = peer.clone();
                tokio::spawn(async move { r.give(peer, req, want).await });
            }
        }
    }

    /// Give what is held here of `want`'s counter, up to `want`, then
    /// answer.
    async fn give(&self, peer: NodeId, req: u64, want: Want) {
        let ops = match self.inner.engine.give_share(peer.clone(), want).await {
            Ok(Some(op)) => vec![op.encode()],
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!(%peer, error = %e, "escrow transfer failed");
                Vec::new()
            }
        };
        self.inner.gives.lock().expect("gives lock").insert(
            (peer.clone(), req),
            Give::Made(std::time::Instant::now(), ops.clone()),
        );
        if self.losing(LOSE_GAVE) {
            self.drop_link(&peer);
            return;
        }
        self.control(&peer, Msg::Gave { req, ops });
    }

    /// Tests: whether to lose this message (`what`) with its connection.
    fn losing(&self, what: u8) -> bool {
        let lose = self
            .inner
            .lose_next
            .compare_exchange(what, LOSE_NONE, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if lose {
            self.inner.lost.fetch_add(1, Ordering::Relaxed);
        }
        lose
    }

    /// Close the connection to `peer` (it is dialled again).
    fn drop_link(&self, peer: &NodeId) {
        let conn = self
            .inner
            .peers
            .lock()
            .expect("peers lock")
            .get(peer)
            .map(|l| l.conn.clone());
        if let Some(conn) = conn {
            conn.close("dropped with an escrow message (test)");
        }
    }

    /// Tests: the next escrow request this node sends is lost with the
    /// connection it goes on, as when two nodes dialled each other at once
    /// and the connection it went on is the one they drop.
    #[doc(hidden)]
    pub fn lose_next_ask(&self) {
        self.inner.lose_next.store(LOSE_ASK, Ordering::Relaxed);
    }

    /// Tests: the next answer to an escrow request this node gives is lost
    /// with its connection (the transfer is made).
    #[doc(hidden)]
    pub fn lose_next_gave(&self) {
        self.inner.lose_next.store(LOSE_GAVE, Ordering::Relaxed);
    }

    /// Tests: how many escrow messages `lose_next_ask` and `lose_next_gave`
    /// made this node lose.
    #[doc(hidden)]
    pub fn escrow_messages_lost(&self) -> u64 {
        self.inner.lost.load(Ordering::Relaxed)
    }

    fn control(&self, peer: &NodeId, msg: Msg) -> bool {
        self.control_on(peer, msg).is_some()
    }

    /// Queue `msg` on the peer's connection; which one (its number).
    fn control_on(&self, peer: &NodeId, msg: Msg) -> Option<u64> {
        let live = self
            .inner
            .peers
            .lock()
            .expect("peers lock")
            .get(peer)
            .map(|l| (l.control.clone(), l.id));
        let (tx, id) = live?;
        let ok = tx.try_send(msg).is_ok();
        self.inner.wake.notify_waiters();
        ok.then_some(id)
    }

    /// The number of the peer's connection now.
    fn link(&self, peer: &NodeId) -> Option<u64> {
        self.inner
            .peers
            .lock()
            .expect("peers lock")
            .get(peer)
            .map(|l| l.id)
    }

    /// Ask `node` for up to `want` of a counter's shares (one ask of the
    /// escrow machine's): the transfer ops given (none: nothing held
    /// there) once durable here, or when `timeout` is up for that wait;
    /// `None` when `node` is not connected or did not answer in `timeout`.
    async fn ask(&self, node: NodeId, want: Want, timeout: Duration) -> Option<Vec<OpId>> {
        let req = self.inner.next_ask.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inner.asks.lock().expect("asks lock").insert(req, tx);
        let got = self.await_gave(&node, req, &want, rx, timeout).await;
        self.inner.asks.lock().expect("asks lock").remove(&req);
        let ids = got?;
        // Wait until the transfers are durable here.
        let mut held_rx = self.inner.held.subscribe();
        let _ = tokio::time::timeout(
            timeout,
            held_rx.wait_for(|vv| ids.iter().all(|id| vv.contains(id))),
        )
        .await;
        Some(ids)
    }

    /// Send `Ask` `req` to `node` and wait (up to `timeout`) for its
    /// answer. Two nodes that dialled each other at once keep one of the
    /// two connections: an ask sent on the other one, or its answer, may be
    /// lost with it. So whenever the node's connection is no longer the
    /// one the ask went on, the ask goes again on the new one (the giver
    /// answers a repeated request once: `asked`).
    async fn await_gave(
        &self,
        node: &NodeId,
        req: u64,
        want: &Want,
        mut rx: oneshot::Receiver<Vec<OpId>>,
        timeout: Duration,
    ) -> Option<Vec<OpId>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let ask = || Msg::Ask {
            req,
            want: want.clone(),
        };
        // Not connected now: nobody to ask.
        let first = if self.losing(LOSE_ASK) {
            let id = self.link(node)?;
            self.drop_link(node);
            id
        } else {
            self.control_on(node, ask())?
        };
        let mut sent_on = Some(first);
        loop {
            // Registered before the connection is looked at, so a change
            // right after is not missed.
            let changed = self.inner.links.notified();
            let now = self.link(node);
            if now.is_some() && now != sent_on {
                sent_on = self.control_on(node, ask());
            }
            tokio::select! {
                got = &mut rx => return got.ok(),
                () = changed => {}
                () = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    /// Every known peer: connected or not, and how far behind.
    pub fn status(&self) -> Vec<PeerStatus> {
        let known = self.inner.known.lock().expect("known lock").clone();
        let refused = self.inner.refused.lock().expect("refused lock").clone();
        let down = self
            .inner
            .down_since
            .lock()
            .expect("down_since lock")
            .clone();
        let r = self.inner.replica.lock().expect("replica lock");
        let mut out: Vec<PeerStatus> = known
            .into_iter()
            .filter(|n| *n != self.inner.me)
            .map(|node| {
                let connected = r.is_connected(&node);
                PeerStatus {
                    connected,
                    lag_ops: r.lag(&node),
                    refused_ops: refused.get(&node).copied().unwrap_or(0),
                    disconnected_since: if connected {
                        None
                    } else {
                        down.get(&node).copied()
                    },
                    role: self.inner.trust.role(node.as_str()).map(origin_role),
                    node,
                }
            })
            .collect();
        out.sort_by(|a, b| a.node.cmp(&b.node));
        out
    }
}

struct Broker(Replication);

impl EscrowBroker for Broker {
    fn reachable(&self) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self
            .0
            .inner
            .peers
            .lock()
            .expect("peers lock")
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }

    fn ask_timeout(&self) -> Duration {
        ASK_TIMEOUT
    }

    fn ask(
        &self,
        to: NodeId,
        want: Want,
        timeout: Duration,
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<Vec<OpId>>> + Send>> {
        let r = self.0.clone();
        Box::pin(async move { r.ask(to, want, timeout).await })
    }
}
