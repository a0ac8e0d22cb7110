//! tongka-store: the node's durable state on redb, and the only crate that
//! knows redb.
//!
//! One writer thread owns every write transaction and batches whatever
//! requests are queued into one commit (group commit). Each commit is
//! `Durability::Immediate`; a request's completion is called only after the
//! commit holding it returned, so an acknowledged request survives kill -9
//! and power loss. Reads run on the caller's thread in their own read
//! transactions and see only committed state.
//!
//! Architecture Invariant: ops of this node are numbered by the writer, in
//! commit order, without gaps; an op and the state change it causes are in
//! the same transaction.

mod tables;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tongka_core::catalogue::Product;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId};
use tongka_core::op::{Op, OpDraft, StateDigest};
use tongka_core::refund::OrderState;
use tongka_core::state::{LedgerTotals, MemberState};

pub use tables::SCHEMA_VERSION;
use tables::*;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    #[error("database file was written by schema {found}; this build reads schema {expected}")]
    Schema { found: u32, expected: u32 },
    #[error("database belongs to node {found}, not {expected}")]
    WrongNode { found: String, expected: String },
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("storage failed earlier and accepts no more writes until the node restarts: {0}")]
    Poisoned(String),
    #[error("the writer has stopped")]
    Stopped,
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> StoreError { StoreError::Db(e.into()) }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![VALUE_FORMAT_V1];
    postcard::to_io(v, &mut out).expect("encoding to memory cannot fail");
    out
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&VALUE_FORMAT_V1, rest)) => {
            postcard::from_bytes(rest).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
        }
        _ => Err(StoreError::Corrupt(format!("{what}: unknown value format"))),
    }
}

/// A stored answer to an API request with an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemRecord {
    /// Hash of the request (method, path, body) the key was first used with.
    pub fingerprint: [u8; 32],
    /// The first answer, encoded by the caller.
    pub body: Vec<u8>,
}

/// What a request writes besides its op: the materialised state it changes.
#[derive(Debug, Default)]
pub struct Effects {
    pub member: Option<MemberState>,
    pub order: Option<OrderState>,
    /// Index changes: `(phone or card, Some(member))` to claim, `None` to release.
    pub phones: Vec<(String, Option<MemberId>)>,
    pub cards: Vec<(String, Option<MemberId>)>,
    /// The stored answer for the request's idempotency key.
    pub idem: Option<(String, IdemRecord)>,
    /// `(key, member)` pairs to list as duplicates (`phone:…`, `card:…`).
    pub duplicates: Vec<(String, MemberId)>,
    /// A remote op that failed its checks: logged, not applied.
    pub rejected: Option<String>,
}

/// Where an op comes from.
#[derive(Debug)]
pub enum Source {
    /// Made here: the writer gives it the next sequence number.
    Local(OpDraft),
    /// Made by another node, already numbered.
    Remote(Op),
}

/// Called once the request is durable (or failed).
pub type Done = Box<dyn FnOnce(Result<OpId, StoreError>) + Send>;

// Ops are by far the most common job; boxing them would cost an allocation
// per request for nothing.
#[allow(clippy::large_enum_variant)]
enum Job {
    Op {
        source: Source,
        effects: Effects,
        done: Done,
    },
    /// Finish what is queued ahead, then stop.
    Stop,
    Products {
        products: Vec<Product>,
        done: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
    },
}

/// Figures of the group commit, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub commits: AtomicU64,
    pub requests: AtomicU64,
}

/// State recovered at open.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub hlc: Hlc,
}

pub struct StoreOptions {
    pub node: NodeId,
    /// The most requests folded into one commit.
    pub max_batch: usize,
    /// How many requests may wait for the writer before `submit` blocks.
    pub queue_max: usize,
}

struct Shared {
    db: Database,
    node: NodeId,
    entity: AtomicU64,
    poisoned: Mutex<Option<String>>,
    is_poisoned: AtomicBool,
    /// Replicated-state summary, as of the last commit.
    summary: Mutex<Summary>,
    stats: CommitStats,
    /// Told, after each commit, the ids of the ops it made durable, in order.
    watchers: Mutex<Vec<CommitWatcher>>,
}

/// A function called after each commit with the ops it made durable.
pub type CommitWatcher = Arc<dyn Fn(&[OpId]) + Send + Sync>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub seq: u64,
    pub vv: VersionVector,
    pub digest: StateDigest,
    pub totals: LedgerTotals,
    pub hlc: Hlc,
}

/// The node's storage: a handle that is cheap to clone.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    tx: mpsc::SyncSender<Job>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Store {
    /// Open (or create) the database at `path` for node `opts.node`,
    /// checking the schema version, and start the writer.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<(Store, Recovered), StoreError> {
        let db = Database::create(path)?;
        let summary = Self::init(&db, &opts.node)?;
        let entity = {
            let r = db.begin_read()?;
            let meta = r.open_table(META)?;
            meta.get("entity")?
                .map(|v| u64_from(v.value()))
                .unwrap_or(0)
        };
        let recovered = Recovered { hlc: summary.hlc };
        let shared = Arc::new(Shared {
            db,
            node: opts.node,
            entity: AtomicU64::new(entity),
            poisoned: Mutex::new(None),
            is_poisoned: AtomicBool::new(false),
            summary: Mutex::new(summary),
            stats: CommitStats::default(),
            watchers: Mutex::new(Vec::new()),
        });
        let (tx, rx) = mpsc::sync_channel(opts.queue_max.max(1));
        let w = shared.clone();
        let max_batch = opts.max_batch.max(1);
        let handle = std::thread::Builder::new()
            .name("tongka-writer".into())
            .spawn(move || writer_loop(&w, &rx, max_batch))
            .expect("spawn writer thread");
        Ok((
            Store {
                shared,
                tx,
                writer: Arc::new(Mutex::new(Some(handle))),
            },
            recovered,
        ))
    }

    fn init(db: &Database, node: &NodeId) -> Result<Summary, StoreError> {
        let mut w = db.begin_write()?;
        w.set_durability(Durability::Immediate)?;
        let summary = {
            let mut meta = w.open_table(META)?;
            let schema = meta
                .get("schema")?
                .map(|v| u32::from_le_bytes(v.value()[..4].try_into().unwrap_or([0; 4])));
            match schema {
                None => {
                    meta.insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice())?;
                    meta.insert("node", node.as_str().as_bytes())?;
                }
                Some(found) if found != SCHEMA_VERSION => {
                    return Err(StoreError::Schema {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
                Some(_) => {}
            }
            let stored_node = meta
                .get("node")?
                .map(|v| String::from_utf8_lossy(v.value()).into_owned());
            if let Some(found) = stored_node
                && found != node.as_str()
            {
                return Err(StoreError::WrongNode {
                    found,
                    expected: node.to_string(),
                });
            }
            match meta.get("summary")? {
                Some(v) => decode(v.value(), "summary")?,
                None => Summary::default(),
            }
        };
        for t in [MEMBERS, ORDERS, IDEM, PRODUCTS] {
            w.open_table(t)?;
        }
        w.open_table(OPS)?;
        w.open_table(PHONES)?;
        w.open_table(CARDS)?;
        w.open_table(BARCODES)?;
        w.open_table(MEMBER_OPS)?;
        w.open_table(DUPLICATES)?;
        w.open_table(REJECTED)?;
        w.commit()?;
        Ok(summary)
    }

    pub fn node(&self) -> &NodeId {
        &self.shared.node
    }

    /// A fresh number for an entity id (member, order, …). Numbers are
    /// never reused for anything committed.
    pub fn next_entity(&self) -> u64 {
        self.shared.entity.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Queue an op and its effects; `done` is called after the commit that
    /// holds it (or with the error). Blocks only when the queue is full.
    pub fn submit(&self, source: Source, effects: Effects, done: Done) {
        if let Some(reason) = self.poison_reason() {
            done(Err(StoreError::Poisoned(reason)));
            return;
        }
        if let Err(mpsc::SendError(Job::Op { done, .. })) = self.tx.send(Job::Op {
            source,
            effects,
            done,
        }) {
            done(Err(StoreError::Stopped));
        }
    }

    /// Insert or replace products (catalogue edits).
    pub fn put_products(
        &self,
        products: Vec<Product>,
        done: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
    ) {
        if let Some(reason) = self.poison_reason() {
            done(Err(StoreError::Poisoned(reason)));
            return;
        }
        if let Err(mpsc::SendError(Job::Products { done, .. })) =
            self.tx.send(Job::Products { products, done })
        {
            done(Err(StoreError::Stopped));
        }
    }

    fn poison_reason(&self) -> Option<String> {
        if self.shared.is_poisoned.load(Ordering::Acquire) {
            Some(
                self.shared
                    .poisoned
                    .lock()
                    .expect("poison lock")
                    .clone()
                    .unwrap_or_default(),
            )
        } else {
            None
        }
    }

    /// Call `f` after every commit with the ids of the ops it made durable,
    /// in log order (replication uses it to stream and to acknowledge).
    pub fn watch_commits(&self, f: CommitWatcher) {
        self.shared.watchers.lock().expect("watchers lock").push(f);
    }

    pub fn stats(&self) -> (u64, u64) {
        (
            self.shared.stats.commits.load(Ordering::Relaxed),
            self.shared.stats.requests.load(Ordering::Relaxed),
        )
    }

    /// The replicated-state summary as of the last commit.
    pub fn summary(&self) -> Summary {
        self.shared.summary.lock().expect("summary lock").clone()
    }

    pub fn member(&self, id: &MemberId) -> Result<Option<MemberState>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(MEMBERS)?;
        t.get(id.as_str())?
            .map(|v| decode(v.value(), "member"))
            .transpose()
    }

    pub fn member_by_phone(&self, phone: &str) -> Result<Option<MemberId>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(PHONES)?;
        Ok(t.get(phone)?.and_then(|v| MemberId::parse(v.value())))
    }

    pub fn member_by_card(&self, card: &str) -> Result<Option<MemberId>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(CARDS)?;
        Ok(t.get(card)?.and_then(|v| MemberId::parse(v.value())))
    }

    pub fn member_count(&self) -> Result<u64, StoreError> {
        let r = self.shared.db.begin_read()?;
        Ok(r.open_table(MEMBERS)?.len()?)
    }

    pub fn order(&self, id: &OrderId) -> Result<Option<OrderState>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(ORDERS)?;
        t.get(id.as_str())?
            .map(|v| decode(v.value(), "order"))
            .transpose()
    }

    pub fn idem(&self, key: &str) -> Result<Option<IdemRecord>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(IDEM)?;
        t.get(key)?
            .map(|v| decode(v.value(), "idempotency record"))
            .transpose()
    }

    pub fn op(&self, id: &OpId) -> Result<Option<Op>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(OPS)?;
        t.get((id.origin.as_str(), id.seq))?
            .map(|v| Op::decode(v.value()).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// Ops of `origin` from `from_seq` on, at most `limit` (for replication
    /// and audit).
    pub fn ops_from(
        &self,
        origin: &NodeId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<Op>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(OPS)?;
        let mut out = Vec::new();
        for item in t
            .range((origin.as_str(), from_seq)..=(origin.as_str(), u64::MAX))?
            .take(limit)
        {
            let (_, v) = item?;
            out.push(Op::decode(v.value()).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }

    /// The member's ops, newest first, at most `limit`.
    pub fn member_history(&self, id: &MemberId, limit: usize) -> Result<Vec<Op>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let idx = r.open_table(MEMBER_OPS)?;
        let ops = r.open_table(OPS)?;
        let m = id.as_str();
        let mut out = Vec::new();
        for item in idx
            .range((m, 0u64, 0u32, "", 0u64)..=(m, u64::MAX, u32::MAX, "\u{10FFFF}", u64::MAX))?
            .rev()
            .take(limit)
        {
            let (k, _) = item?;
            let (_, _, _, origin, seq) = k.value();
            if let Some(v) = ops.get((origin, seq))? {
                out.push(Op::decode(v.value()).map_err(|e| StoreError::Corrupt(e.to_string()))?);
            }
        }
        Ok(out)
    }

    /// Phone and card numbers held by more than one member, with the
    /// members (the merge queue).
    pub fn duplicates(&self, limit: usize) -> Result<Vec<(String, Vec<MemberId>)>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(DUPLICATES)?;
        let mut out: Vec<(String, Vec<MemberId>)> = Vec::new();
        for item in t.iter()? {
            let (k, _) = item?;
            let (key, member) = k.value();
            let Some(member) = MemberId::parse(member) else {
                continue;
            };
            let full = out.len() >= limit;
            match out.last_mut() {
                Some((last, ms)) if last == key => ms.push(member),
                _ if full => break,
                _ => out.push((key.to_string(), vec![member])),
            }
        }
        Ok(out)
    }

    /// Remote ops refused by their checks, with the reason.
    pub fn rejected(&self, limit: usize) -> Result<Vec<(OpId, String)>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(REJECTED)?;
        let mut out = Vec::new();
        for item in t.iter()?.take(limit) {
            let (k, v) = item?;
            let (origin, seq) = k.value();
            if let Ok(origin) = NodeId::new(origin) {
                out.push((OpId { origin, seq }, v.value().to_string()));
            }
        }
        Ok(out)
    }

    pub fn product(&self, sku: &str) -> Result<Option<Product>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(PRODUCTS)?;
        t.get(sku)?
            .map(|v| decode(v.value(), "product"))
            .transpose()
    }

    pub fn product_by_barcode(&self, barcode: &str) -> Result<Option<Product>, StoreError> {
        let sku = {
            let r = self.shared.db.begin_read()?;
            let t = r.open_table(BARCODES)?;
            t.get(barcode)?.map(|v| v.value().to_string())
        };
        match sku {
            Some(s) => self.product(&s),
            None => Ok(None),
        }
    }

    pub fn products(&self, limit: usize) -> Result<Vec<Product>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(PRODUCTS)?;
        let mut out = Vec::new();
        for item in t.iter()?.take(limit) {
            let (_, v) = item?;
            out.push(decode(v.value(), "product")?);
        }
        Ok(out)
    }

    /// Stop the writer after it has finished what is queued.
    pub fn close(self) {
        let Store { tx, writer, .. } = self;
        // Other handles (actors) may still hold senders: stop explicitly.
        let _ = tx.send(Job::Stop);
        drop(tx);
        if let Some(h) = writer.lock().expect("writer lock").take() {
            let _ = h.join();
        }
    }
}

fn u64_from(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.get(..8).and_then(|s| s.try_into().ok()).unwrap_or([0; 8]))
}

fn hlc_key(h: Hlc) -> (u64, u32) {
    (h.ms, h.count)
}

enum Reply {
    Op(Done, Result<OpId, StoreError>),
    Products(Box<dyn FnOnce(Result<(), StoreError>) + Send>),
}

fn writer_loop(shared: &Shared, rx: &mpsc::Receiver<Job>, max_batch: usize) {
    let mut stopping = false;
    while let Ok(first) = rx.recv() {
        if matches!(first, Job::Stop) {
            break;
        }
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(Job::Stop) => {
                    stopping = true;
                    break;
                }
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        let before = shared.summary.lock().expect("summary lock").clone();
        let mut summary = before.clone();
        match commit_batch(shared, &mut summary, batch) {
            Ok(replies) => {
                *shared.summary.lock().expect("summary lock") = summary;
                shared.stats.commits.fetch_add(1, Ordering::Relaxed);
                shared.stats.requests.fetch_add(n, Ordering::Relaxed);
                let committed: Vec<OpId> = replies
                    .iter()
                    .filter_map(|r| match r {
                        Reply::Op(_, Ok(id)) => Some(id.clone()),
                        _ => None,
                    })
                    .collect();
                if !committed.is_empty() {
                    for w in shared.watchers.lock().expect("watchers lock").iter() {
                        w(&committed);
                    }
                }
                for r in replies {
                    match r {
                        Reply::Op(done, res) => done(res),
                        Reply::Products(done) => done(Ok(())),
                    }
                }
            }
            Err((e, replies)) => {
                // Nothing of the batch is durable, but callers (actors) may
                // already hold state that assumed it would be: accept no
                // more writes until a restart reloads state from disk.
                tracing::error!(error = %e, "commit failed; storage is poisoned until restart");
                *shared.poisoned.lock().expect("poison lock") = Some(e.to_string());
                shared.is_poisoned.store(true, Ordering::Release);
                for r in replies {
                    match r {
                        Reply::Op(done, _) => done(Err(StoreError::Poisoned(e.to_string()))),
                        Reply::Products(done) => done(Err(StoreError::Poisoned(e.to_string()))),
                    }
                }
                while let Ok(job) = rx.try_recv() {
                    match job {
                        Job::Op { done, .. } => done(Err(StoreError::Poisoned(e.to_string()))),
                        Job::Products { done, .. } => {
                            done(Err(StoreError::Poisoned(e.to_string())))
                        }
                        Job::Stop => stopping = true,
                    }
                }
            }
        }
        if stopping {
            break;
        }
    }
    // Requests still queued behind the stop are refused, not dropped.
    while let Ok(job) = rx.try_recv() {
        match job {
            Job::Op { done, .. } => done(Err(StoreError::Stopped)),
            Job::Products { done, .. } => done(Err(StoreError::Stopped)),
            Job::Stop => {}
        }
    }
}

type BatchResult = Result<Vec<Reply>, (StoreError, Vec<Reply>)>;

fn commit_batch(shared: &Shared, summary: &mut Summary, batch: Vec<Job>) -> BatchResult {
    let mut replies = Vec::with_capacity(batch.len());
    let result = (|| -> Result<(), StoreError> {
        let mut w = shared.db.begin_write()?;
        w.set_durability(Durability::Immediate)?;
        {
            let mut ops = w.open_table(OPS)?;
            let mut members = w.open_table(MEMBERS)?;
            let mut orders = w.open_table(ORDERS)?;
            let mut phones = w.open_table(PHONES)?;
            let mut cards = w.open_table(CARDS)?;
            let mut member_ops = w.open_table(MEMBER_OPS)?;
            let mut idem = w.open_table(IDEM)?;
            let mut products = w.open_table(PRODUCTS)?;
            let mut barcodes = w.open_table(BARCODES)?;
            let mut duplicates = w.open_table(DUPLICATES)?;
            let mut rejected = w.open_table(REJECTED)?;
            for job in batch {
                match job {
                    Job::Op {
                        source,
                        effects,
                        done,
                    } => {
                        let op = match source {
                            Source::Local(draft) => {
                                summary.seq += 1;
                                let id = OpId {
                                    origin: shared.node.clone(),
                                    seq: summary.seq,
                                };
                                draft.stamp(id, summary.vv.without(&shared.node))
                            }
                            Source::Remote(op) => op,
                        };
                        assert!(
                            summary.vv.is_next(&op.id),
                            "op {} handed to the writer out of order (holding {:?}): the caller must deliver in causal order",
                            op.id,
                            summary.vv
                        );
                        summary.vv.advance(&op.id);
                        summary.hlc = summary.hlc.max(op.hlc);
                        summary.digest.add(&op.hash());
                        if let Some(reason) = &effects.rejected {
                            rejected.insert((op.id.origin.as_str(), op.id.seq), reason.as_str())?;
                            ops.insert((op.id.origin.as_str(), op.id.seq), op.encode().as_slice())?;
                            replies.push(Reply::Op(done, Ok(op.id)));
                            continue;
                        }
                        summary.totals.apply(&op);
                        ops.insert((op.id.origin.as_str(), op.id.seq), op.encode().as_slice())?;
                        if let Some(m) = op.body.member() {
                            let (ms, c) = hlc_key(op.hlc);
                            member_ops.insert(
                                (m.as_str(), ms, c, op.id.origin.as_str(), op.id.seq),
                                (),
                            )?;
                        }
                        if let Some(m) = &effects.member {
                            members.insert(m.id.as_str(), encode(m).as_slice())?;
                        }
                        if let Some(o) = &effects.order {
                            orders.insert(o.order.id.as_str(), encode(o).as_slice())?;
                        }
                        for (phone, owner) in &effects.phones {
                            match owner {
                                Some(m) => phones.insert(phone.as_str(), m.as_str())?,
                                None => phones.remove(phone.as_str())?,
                            };
                        }
                        for (card, owner) in &effects.cards {
                            match owner {
                                Some(m) => cards.insert(card.as_str(), m.as_str())?,
                                None => cards.remove(card.as_str())?,
                            };
                        }
                        for (key, member) in &effects.duplicates {
                            duplicates.insert((key.as_str(), member.as_str()), ())?;
                        }
                        if let Some((key, rec)) = &effects.idem {
                            idem.insert(key.as_str(), encode(rec).as_slice())?;
                        }
                        replies.push(Reply::Op(done, Ok(op.id)));
                    }
                    Job::Products {
                        products: list,
                        done,
                    } => {
                        for p in &list {
                            if let Some(old) = products
                                .get(p.sku.as_str())?
                                .map(|v| decode::<Product>(v.value(), "product"))
                                .transpose()?
                                && let Some(b) = old.barcode
                            {
                                barcodes.remove(b.as_str())?;
                            }
                            products.insert(p.sku.as_str(), encode(p).as_slice())?;
                            if let Some(b) = &p.barcode {
                                barcodes.insert(b.as_str(), p.sku.as_str())?;
                            }
                        }
                        replies.push(Reply::Products(done));
                    }
                    Job::Stop => unreachable!("the writer loop never batches a stop"),
                }
            }
            let mut meta = w.open_table(META)?;
            meta.insert("summary", encode(&*summary).as_slice())?;
            meta.insert(
                "entity",
                shared
                    .entity
                    .load(Ordering::Relaxed)
                    .to_le_bytes()
                    .as_slice(),
            )?;
        }
        w.commit()?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(replies),
        Err(e) => Err((e, replies)),
    }
}
