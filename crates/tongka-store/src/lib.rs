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
//!
//! The writer thread is the one serial stage every write passes, so it does
//! as little as it can: `submit` encodes values (and the bulk of the op) on
//! the caller's thread; a completion thread tells commit watchers, answers
//! requests and frees what the batch held; and the member history index,
//! whose entries land on random pages, is written in batches of its own
//! (`Durability::None`, made durable by the next commit) behind a
//! watermark, caught up from the op log at open.

pub mod baseline;
mod tables;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tongka_core::catalogue::Product;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId};
use tongka_core::op::{self, EncodedOp, Op, OpDraft, OpSigner, StateDigest};
use tongka_core::refund::OrderState;
use tongka_core::state::{LedgerTotals, MemberState};

pub use tables::SCHEMA_VERSION;
use tables::*;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database: {0}")]
    Db(DbError),
    #[error("database file was written by schema {found}; this build reads schema {expected}")]
    Schema { found: u32, expected: u32 },
    /// A database of before the format break (schema < 8): not upgraded.
    #[error(
        "this database was written by an earlier tongka format (schema {found}; this build \
         reads schema 8 and later): start a new data directory, or re-run \
         `tongka chain add-store` for this store, and let it catch up from the chain"
    )]
    FormatTooOld { found: u32 },
    #[error("database belongs to node {found}, not {expected}")]
    WrongNode { found: String, expected: String },
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("storage failed earlier and accepts no more writes until the node restarts: {0}")]
    Poisoned(String),
    #[error("the writer has stopped")]
    Stopped,
}

/// A failure of the database engine, kept opaque: only this crate knows
/// redb, so its error types stay inside.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DbError(redb::Error);

impl tongka_core::DomainError for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::Db(_) => "storage_error",
            StoreError::Schema { .. } => "storage_schema_unknown",
            StoreError::FormatTooOld { .. } => "storage_format_too_old",
            StoreError::WrongNode { .. } => "storage_wrong_node",
            StoreError::Corrupt(_) => "storage_corrupt",
            StoreError::Poisoned(_) => "storage_poisoned",
            StoreError::Stopped => "storage_stopped",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            StoreError::Db(e) => format!("数据库错误：{e}"),
            StoreError::Schema { found, expected } => {
                format!("数据库文件由结构版本 {found} 写入；本版本读取结构版本 {expected}")
            }
            StoreError::FormatTooOld { found } => format!(
                "此数据库由较早的通卡格式写入（结构版本 {found}；本版本读取 8 及以后）：\
                 请使用新的数据目录，或为此门店重新运行 `tongka chain add-store`，再从连锁同步数据"
            ),
            StoreError::WrongNode { found, expected } => {
                format!("数据库属于节点 {found}，不是 {expected}")
            }
            StoreError::Corrupt(e) => format!("存储的数据已损坏：{e}"),
            StoreError::Poisoned(e) => format!("存储此前出错，节点重启前不再接受写入：{e}"),
            StoreError::Stopped => "写入线程已停止".into(),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> StoreError { StoreError::Db(DbError(e.into())) }
        }
    )*};
}
from_redb!(
    redb::Error,
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
    /// A second member the op changes (a merge move: the survivor).
    pub also: Option<MemberState>,
    /// `(absorbed, survivor)` merges to record.
    pub merged: Vec<(MemberId, MemberId)>,
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
    /// The programme document after the op (`meta` `programme`).
    pub programme: Option<Vec<u8>>,
    /// The catalogue after the op: its document and the products whose
    /// materialised rows changed.
    pub catalogue: Option<CatalogueWrite>,
}

/// A catalogue change to materialise: the document (`meta` `catalogue`)
/// and the products (rows of `products`, `barcodes`) it changed.
#[derive(Debug, Default)]
pub struct CatalogueWrite {
    pub doc: Vec<u8>,
    pub products: Vec<Product>,
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

/// A request as the writer takes it: values already encoded by `submit`
/// on the caller's thread.
struct OpJob {
    source: Source,
    /// A local draft's `OpDraft::encode_tail`, or a remote op's whole
    /// encoding and hash.
    pre: Pre,
    values: Values,
    done: Done,
}

/// An op prepared for the writer by [`Store::prepare`]. Boxed: a batch
/// gathers thousands of them in vectors, which at the job's size were
/// large fresh allocations (zeroed pages) on every batch.
pub struct Prepared(Box<OpJob>);

enum Pre {
    Tail(Vec<u8>),
    Full(Vec<u8>, [u8; 32]),
}

/// `Effects` with the member, order and idempotency record encoded.
struct Values {
    member: Option<(MemberId, Vec<u8>)>,
    also: Option<(MemberId, Vec<u8>)>,
    merged: Vec<(MemberId, MemberId)>,
    order: Option<(OrderId, Vec<u8>)>,
    phones: Vec<(String, Option<MemberId>)>,
    cards: Vec<(String, Option<MemberId>)>,
    idem: Option<(String, Vec<u8>)>,
    duplicates: Vec<(String, MemberId)>,
    rejected: Option<String>,
    programme: Option<Vec<u8>>,
    catalogue: Option<CatalogueWrite>,
}

impl Values {
    fn encode(e: Effects) -> Values {
        Values {
            member: e.member.map(|m| {
                let bytes = encode(&m);
                (m.id, bytes)
            }),
            also: e.also.map(|m| {
                let bytes = encode(&m);
                (m.id, bytes)
            }),
            merged: e.merged,
            order: e.order.map(|o| {
                let bytes = encode(&o);
                (o.order.id, bytes)
            }),
            phones: e.phones,
            cards: e.cards,
            idem: e.idem.map(|(k, rec)| (k, encode(&rec))),
            duplicates: e.duplicates,
            rejected: e.rejected,
            programme: e.programme,
            catalogue: e.catalogue,
        }
    }
}

// Ops are by far the most common job; boxing them would cost an allocation
// per request for nothing.
#[allow(clippy::large_enum_variant)]
enum Job {
    Op(OpJob),
    /// Ops committed in one transaction, in this order (`Store::submit_all`).
    Ops(Vec<OpJob>),
    /// Finish what is queued ahead, then stop.
    Stop,
    Refused {
        entry: RefusedOp,
        done: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
    },
}

/// A remote op refused before it reached the log (see `tables::REFUSED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedOp {
    pub id: OpId,
    /// The peer that sent it.
    pub from: NodeId,
    pub reason: String,
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
    /// The member history index: a database of its own (see `tables`).
    history: Database,
    /// Committed ops not yet in the history index, in log order (filled by
    /// the completion thread, emptied by the indexer).
    unindexed: Mutex<Vec<IndexItem>>,
    /// Set if writing the history index failed: it stops (readers scan the
    /// log past its watermark; the next open catches it up).
    index_failed: AtomicBool,
    /// Signs the ops this node makes, once set (`Store::set_signer`); ops
    /// made before, or by a node without a chain identity, go unsigned.
    signer: std::sync::OnceLock<Arc<dyn OpSigner>>,
}

/// A committed op as the history index sees it: its id (to move the
/// watermark) and, when listed, its member and time.
struct IndexItem {
    id: OpId,
    entry: Option<(MemberId, Hlc)>,
}

/// How often the indexer writes what waits for the history index…
const INDEX_EVERY: Duration = Duration::from_millis(100);
/// …and how many of its writes in a row may be `Durability::None` (the
/// file's pages go to disk once per durable write).
const INDEX_DURABLE_EVERY: u32 = 20;

/// The history index's file beside the database: `node.redb` →
/// `node.history.redb`.
pub fn history_path(db: &Path) -> std::path::PathBuf {
    db.with_extension("history.redb")
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
        let history = Database::create(history_path(path))?;
        let indexed = catch_up_index(&db, &history, &opts.node, &summary.vv)?;
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
            history,
            unindexed: Mutex::new(Vec::new()),
            index_failed: AtomicBool::new(false),
            signer: std::sync::OnceLock::new(),
        });
        let (tx, rx) = mpsc::sync_channel(opts.queue_max.max(1));
        let w = shared.clone();
        let max_batch = opts.max_batch.max(1);
        let handle = std::thread::Builder::new()
            .name("tongka-writer".into())
            .spawn(move || writer_loop(&w, &rx, max_batch, indexed))
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
                    meta.insert("instance", random_u64().to_le_bytes().as_slice())?;
                }
                // Before the format break (schema 8): refused, not upgraded.
                Some(found) if found < SCHEMA_VERSION => {
                    return Err(StoreError::FormatTooOld { found });
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
        w.open_table(DUPLICATES)?;
        w.open_table(REJECTED)?;
        w.open_table(REFUSED)?;
        w.open_table(MERGED)?;
        init_catalogue(&w)?;
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
        // Encode here, on the caller's thread: the writer is the one stage
        // every request passes, one at a time.
        let pre = match &source {
            Source::Local(draft) => Pre::Tail(draft.encode_tail()),
            Source::Remote(op) => {
                let (bytes, hash) = op.encode_and_hash();
                Pre::Full(bytes, hash)
            }
        };
        let job = Job::Op(OpJob {
            source,
            pre,
            values: Values::encode(effects),
            done,
        });
        if let Err(mpsc::SendError(Job::Op(OpJob { done, .. }))) = self.tx.send(job) {
            done(Err(StoreError::Stopped));
        }
    }

    /// An op and its effects encoded for the writer, on the caller's
    /// thread, to be handed over later with [`Store::submit_all`].
    pub fn prepare(&self, source: Source, effects: Effects, done: Done) -> Prepared {
        let pre = match &source {
            Source::Local(draft) => Pre::Tail(draft.encode_tail()),
            Source::Remote(op) => {
                let (bytes, hash) = op.encode_and_hash();
                Pre::Full(bytes, hash)
            }
        };
        Prepared(Box::new(OpJob {
            source,
            pre,
            values: Values::encode(effects),
            done,
        }))
    }

    /// `prepare` for a remote op whose encoding and hash the caller holds
    /// (an op received as bytes and verified: stored as received).
    pub fn prepare_encoded(&self, op: EncodedOp, effects: Effects, done: Done) -> Prepared {
        Prepared(Box::new(OpJob {
            source: Source::Remote(op.op),
            pre: Pre::Full(op.bytes, op.hash),
            values: Values::encode(effects),
            done,
        }))
    }

    /// Queue prepared ops to be committed in this order and all in one
    /// transaction: all of them are durable, or none. Each `done` is called
    /// after that commit (or with the error), then `after`.
    pub fn submit_all(&self, mut jobs: Vec<Prepared>, after: Box<dyn FnOnce(bool) + Send>) {
        let Some(last) = jobs.last_mut() else {
            after(true);
            return;
        };
        let done = std::mem::replace(&mut last.0.done, Box::new(|_| {}));
        last.0.done = Box::new(move |res| {
            let ok = res.is_ok();
            done(res);
            after(ok);
        });
        if let Some(reason) = self.poison_reason() {
            for Prepared(job) in jobs {
                (job.done)(Err(StoreError::Poisoned(reason.clone())));
            }
            return;
        }
        let job = Job::Ops(jobs.into_iter().map(|Prepared(j)| *j).collect());
        if let Err(mpsc::SendError(job)) = self.tx.send(job) {
            refuse(job, || StoreError::Stopped);
        }
    }

    /// Log a remote op refused before applying (`refused()` lists them).
    pub fn log_refused(
        &self,
        entry: RefusedOp,
        done: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
    ) {
        if let Some(reason) = self.poison_reason() {
            done(Err(StoreError::Poisoned(reason)));
            return;
        }
        if let Err(mpsc::SendError(Job::Refused { done, .. })) =
            self.tx.send(Job::Refused { entry, done })
        {
            done(Err(StoreError::Stopped));
        }
    }

    /// Remote ops refused before applying, with the peer that sent them.
    pub fn refused(&self, limit: usize) -> Result<Vec<RefusedOp>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(REFUSED)?;
        let mut out = Vec::new();
        for item in t.iter()?.take(limit) {
            let (k, v) = item?;
            let (origin, seq, from) = k.value();
            if let (Ok(origin), Ok(from)) = (NodeId::new(origin), NodeId::new(from)) {
                out.push(RefusedOp {
                    id: OpId { origin, seq },
                    from,
                    reason: v.value().to_string(),
                });
            }
        }
        Ok(out)
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
    /// Sign every op this node makes from now on with `signer` (the node's
    /// chain key), in the commit that makes the op durable (the writer
    /// stamps a batch's ops, then signs them together: `op::sign_batch`). Set once, before the node takes requests; a second call is
    /// ignored (returns false).
    pub fn set_signer(&self, signer: Arc<dyn OpSigner>) -> bool {
        self.shared.signer.set(signer).is_ok()
    }

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
        Ok(self
            .ops_from_encoded(origin, from_seq, limit)?
            .into_iter()
            .map(|e| e.op)
            .collect())
    }

    /// `ops_from`, each op with the bytes the log holds (replication sends
    /// them as they are).
    pub fn ops_from_encoded(
        &self,
        origin: &NodeId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<EncodedOp>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(OPS)?;
        let mut out = Vec::new();
        for item in t
            .range((origin.as_str(), from_seq)..=(origin.as_str(), u64::MAX))?
            .take(limit)
        {
            let (_, v) = item?;
            out.push(
                EncodedOp::decode(v.value().to_vec())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        Ok(out)
    }

    /// The member's ops, newest first (by clock, then origin and number),
    /// at most `limit`: from the history index, and from the ops committed
    /// after its watermark.
    pub fn member_history(&self, id: &MemberId, limit: usize) -> Result<Vec<Op>, StoreError> {
        // The index first: what it covers is committed in the log.
        let h = self.shared.history.begin_read()?;
        let idx = h.open_table(MEMBER_OPS)?;
        let indexed = read_watermark(&h.open_table(HISTORY_META)?)?;
        let r = self.shared.db.begin_read()?;
        let ops = r.open_table(OPS)?;
        let rejected = r.open_table(REJECTED)?;
        let meta = r.open_table(META)?;
        let committed = {
            let summary: Summary = match meta.get("summary")? {
                Some(v) => decode(v.value(), "summary")?,
                None => Summary::default(),
            };
            summary.vv
        };
        let decode_op = |b: &[u8]| Op::decode(b).map_err(|e| StoreError::Corrupt(e.to_string()));
        // The ops past the watermark: few (the index trails the log by a
        // fraction of a second), read from the log.
        let mut recent: Vec<((u64, u32, String, u64), Op)> = Vec::new();
        for (origin, top) in committed.iter() {
            let from = indexed.get(origin) + 1;
            if from > top {
                continue;
            }
            for item in ops.range((origin.as_str(), from)..=(origin.as_str(), top))? {
                let (k, v) = item?;
                let op = decode_op(v.value())?;
                if op.body.member() == Some(id) && rejected.get(k.value())?.is_none() {
                    let key = (op.hlc.ms, op.hlc.count, origin.to_string(), op.id.seq);
                    recent.push((key, op));
                }
            }
        }
        recent.sort_by(|a, b| b.0.cmp(&a.0));
        let mut recent = recent.into_iter().peekable();
        let m = id.as_str();
        let mut indexed_iter = idx
            .range((m, 0u64, 0u32, "", 0u64)..=(m, u64::MAX, u32::MAX, "\u{10FFFF}", u64::MAX))?
            .rev()
            .peekable();
        let mut out = Vec::new();
        while out.len() < limit {
            let from_index = match (indexed_iter.peek(), recent.peek()) {
                (None, None) => break,
                (Some(Err(_)), _) => {
                    indexed_iter.next().transpose()?;
                    continue;
                }
                (Some(Ok((k, _))), Some((rk, _))) => {
                    let (_, ms, c, origin, seq) = k.value();
                    (ms, c, origin, seq) > (rk.0, rk.1, rk.2.as_str(), rk.3)
                }
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if from_index {
                let (k, _) = indexed_iter.next().expect("peeked")?;
                let (_, _, _, origin, seq) = k.value();
                if let Some(v) = ops.get((origin, seq))? {
                    out.push(decode_op(v.value())?);
                }
            } else {
                out.push(recent.next().expect("peeked").1);
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

    /// Every merge this node applied: `(absorbed, survivor)`.
    pub fn merged(&self) -> Result<Vec<(MemberId, MemberId)>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(MERGED)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            let (k, _) = item?;
            let (a, s) = k.value();
            if let (Some(a), Some(s)) = (MemberId::parse(a), MemberId::parse(s)) {
                out.push((a, s));
            }
        }
        Ok(out)
    }

    /// The programme document (`programme_doc`, saved), if any op changed
    /// it; none means the initial one.
    pub fn programme_doc(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        Ok(meta.get("programme")?.map(|v| v.value().to_vec()))
    }

    /// The catalogue document (`catalogue_doc`, saved): written at
    /// creation (the initial one) and by each catalogue change.
    pub fn catalogue_doc(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        Ok(meta.get("catalogue")?.map(|v| v.value().to_vec()))
    }

    /// Whether this node ever authored a programme or catalogue change
    /// (`meta` `authored-documents`): a store of a chain may not, so a
    /// node that did (without a chain) cannot join one as a store.
    pub fn authored_documents(&self) -> Result<bool, StoreError> {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        Ok(meta.get("authored-documents")?.is_some())
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

/// What a committed batch leaves to the completion thread: answers to
/// send, and everything the batch held, freed there rather than on the
/// writer.
// Ops are by far the most common; boxing them would cost an allocation per
// request for nothing.
#[allow(clippy::large_enum_variant)]
enum Finished {
    Op {
        op: Op,
        /// Rejected remote ops are logged, not listed in histories.
        rejected: bool,
        done: Done,
        _held: (Vec<u8>, Values),
    },
    Products(Box<dyn FnOnce(Result<(), StoreError>) + Send>),
}

fn read_watermark(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<VersionVector, StoreError> {
    match meta.get("indexed")? {
        Some(v) => decode(v.value(), "index watermark"),
        None => Ok(VersionVector::new()),
    }
}

/// A number unlikely to repeat (std's per-process random hash keys).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Bring the history index up to the log: index the ops committed after
/// its watermark (after a crash, what its last durable write had not
/// covered), durably. An index that is not this database's (another node,
/// ahead of the log, unreadable) is rebuilt from the log. The watermark it
/// reaches.
/// A new database gets the initial catalogue document, materialised in
/// `products` and `barcodes`.
fn init_catalogue(w: &redb::WriteTransaction) -> Result<(), StoreError> {
    use tongka_core::catalogue_doc;
    let mut meta = w.open_table(META)?;
    if meta.get("catalogue")?.is_some() {
        return Ok(());
    }
    let mut products = w.open_table(PRODUCTS)?;
    let mut barcodes = w.open_table(BARCODES)?;
    let doc = catalogue_doc::initial();
    let initial = catalogue_doc::materialise(&doc).expect("the initial catalogue is valid");
    let rows: Vec<Product> = initial.into_values().collect();
    write_products(&mut products, &mut barcodes, &rows)?;
    meta.insert("catalogue", doc.save().as_slice())?;
    Ok(())
}

/// Write materialised products: each one's previous barcode released (if
/// it still points to it), then the rows and their barcodes, so a barcode
/// moving between the products written ends on its new holder.
fn write_products(
    products: &mut redb::Table<&str, &[u8]>,
    barcodes: &mut redb::Table<&str, &str>,
    list: &[Product],
) -> Result<(), StoreError> {
    for p in list {
        let old = products
            .get(p.sku.as_str())?
            .map(|v| decode::<Product>(v.value(), "product"))
            .transpose()?;
        if let Some(b) = old.and_then(|o| o.barcode) {
            let mine = barcodes
                .get(b.as_str())?
                .is_some_and(|v| v.value() == p.sku);
            if mine {
                barcodes.remove(b.as_str())?;
            }
        }
    }
    for p in list {
        products.insert(p.sku.as_str(), encode(p).as_slice())?;
        if let Some(b) = &p.barcode {
            barcodes.insert(b.as_str(), p.sku.as_str())?;
        }
    }
    Ok(())
}

fn catch_up_index(
    db: &Database,
    history: &Database,
    node: &NodeId,
    committed: &VersionVector,
) -> Result<VersionVector, StoreError> {
    let instance = {
        let r = db.begin_read()?;
        let meta = r.open_table(META)?;
        meta.get("instance")?
            .map(|v| v.value().to_vec())
            .unwrap_or_default()
    };
    let mut w = history.begin_write()?;
    w.set_durability(Durability::Immediate)?;
    let indexed = {
        let mut meta = w.open_table(HISTORY_META)?;
        let mut idx = w.open_table(MEMBER_OPS)?;
        let ours = meta
            .get("node")?
            .is_some_and(|v| v.value() == node.as_str().as_bytes())
            && meta
                .get("instance")?
                .is_some_and(|v| v.value() == instance.as_slice());
        let mut indexed = match read_watermark(&meta) {
            Ok(v) if ours && committed.dominates(&v) => v,
            _ => {
                idx.retain(|_, _| false)?;
                meta.insert("node", node.as_str().as_bytes())?;
                meta.insert("instance", instance.as_slice())?;
                VersionVector::new()
            }
        };
        if !indexed.dominates(committed) {
            let r = db.begin_read()?;
            let ops = r.open_table(OPS)?;
            let rejected = r.open_table(REJECTED)?;
            for (origin, top) in committed.iter() {
                let from = indexed.get(origin) + 1;
                if from > top {
                    continue;
                }
                for item in ops.range((origin.as_str(), from)..=(origin.as_str(), top))? {
                    let (k, v) = item?;
                    let op =
                        Op::decode(v.value()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if let Some(m) = op.body.member()
                        && rejected.get(k.value())?.is_none()
                    {
                        let (ms, c) = hlc_key(op.hlc);
                        idx.insert((m.as_str(), ms, c, origin.as_str(), op.id.seq), ())?;
                    }
                }
                indexed.raise(origin, top);
            }
        }
        meta.insert("indexed", encode(&indexed).as_slice())?;
        indexed
    };
    w.commit()?;
    Ok(indexed)
}

/// Write what waits for the history index, with its watermark, in one
/// transaction of the index's database.
fn flush_index(
    shared: &Shared,
    indexed: &mut VersionVector,
    durability: Durability,
) -> Result<(), StoreError> {
    let items = std::mem::take(&mut *shared.unindexed.lock().expect("index lock"));
    if items.is_empty() && matches!(durability, Durability::None) {
        return Ok(());
    }
    let mut entries: Vec<(&str, u64, u32, &str, u64)> = items
        .iter()
        .filter_map(|i| {
            let (m, h) = i.entry.as_ref()?;
            Some((m.as_str(), h.ms, h.count, i.id.origin.as_str(), i.id.seq))
        })
        .collect();
    // In key order, each page of the index is copied once and then stays
    // hot while its entries go in.
    entries.sort_unstable();
    let mut next = indexed.clone();
    for i in &items {
        next.raise(&i.id.origin, i.id.seq);
    }
    let mut w = shared.history.begin_write()?;
    w.set_durability(durability)?;
    {
        let mut idx = w.open_table(MEMBER_OPS)?;
        for e in entries {
            idx.insert(e, ())?;
        }
        let mut meta = w.open_table(HISTORY_META)?;
        meta.insert("indexed", encode(&next).as_slice())?;
    }
    w.commit()?;
    *indexed = next;
    Ok(())
}

/// The indexer thread: every `INDEX_EVERY`, write what waits for the
/// history index; when `stop` closes, write the rest durably and end.
fn index_loop(shared: &Shared, stop: &mpsc::Receiver<()>, mut indexed: VersionVector) {
    let mut writes = 0u32;
    loop {
        let last = !matches!(
            stop.recv_timeout(INDEX_EVERY),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        writes += 1;
        let durability = if last || writes.is_multiple_of(INDEX_DURABLE_EVERY) {
            Durability::Immediate
        } else {
            Durability::None
        };
        if let Err(e) = flush_index(shared, &mut indexed, durability) {
            tracing::error!(error = %e, "writing the member history index failed; it stops until restart");
            shared.index_failed.store(true, Ordering::Release);
            shared.unindexed.lock().expect("index lock").clear();
            return;
        }
        if last {
            return;
        }
    }
}

/// The completion thread: after each commit, in commit order, tell the
/// watchers, answer the requests, queue the history entries, free the rest.
fn completion_loop(
    shared: &Shared,
    rx: &mpsc::Receiver<Vec<Finished>>,
    recycle: &mpsc::Sender<Vec<Finished>>,
) {
    while let Ok(mut batch) = rx.recv() {
        let committed: Vec<OpId> = batch
            .iter()
            .filter_map(|f| match f {
                Finished::Op { op, .. } => Some(op.id.clone()),
                Finished::Products(_) => None,
            })
            .collect();
        if !committed.is_empty() {
            for w in shared.watchers.lock().expect("watchers lock").iter() {
                w(&committed);
            }
        }
        let mut items = Vec::with_capacity(committed.len());
        for f in batch.drain(..) {
            match f {
                Finished::Op {
                    op, rejected, done, ..
                } => {
                    done(Ok(op.id.clone()));
                    let entry = match op.body.member() {
                        Some(m) if !rejected => Some((m.clone(), op.hlc)),
                        _ => None,
                    };
                    items.push(IndexItem { id: op.id, entry });
                }
                Finished::Products(done) => done(Ok(())),
            }
        }
        let _ = recycle.send(batch);
        if !shared.index_failed.load(Ordering::Acquire) {
            shared
                .unindexed
                .lock()
                .expect("index lock")
                .append(&mut items);
        }
    }
}

fn poison(shared: &Shared, e: &StoreError) {
    tracing::error!(error = %e, "storage failed; it is poisoned until restart");
    *shared.poisoned.lock().expect("poison lock") = Some(e.to_string());
    shared.is_poisoned.store(true, Ordering::Release);
}

fn refuse(job: Job, e: impl Fn() -> StoreError) -> bool {
    match job {
        Job::Op(OpJob { done, .. }) => done(Err(e())),
        Job::Ops(jobs) => {
            for job in jobs {
                (job.done)(Err(e()));
            }
        }
        Job::Refused { done, .. } => done(Err(e())),
        Job::Stop => return true,
    }
    false
}

fn writer_loop(
    shared: &Arc<Shared>,
    rx: &mpsc::Receiver<Job>,
    max_batch: usize,
    indexed: VersionVector,
) {
    let (fin_tx, fin_rx) = mpsc::channel::<Vec<Finished>>();
    let (recycle, recycled) = mpsc::channel::<Vec<Finished>>();
    let completion = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("tongka-commit-done".into())
            .spawn(move || completion_loop(&shared, &fin_rx, &recycle))
            .expect("spawn completion thread")
    };
    let (stop_index, stop_rx) = mpsc::channel::<()>();
    let indexer = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("tongka-indexer".into())
            .spawn(move || index_loop(&shared, &stop_rx, indexed))
            .expect("spawn indexer thread")
    };
    let mut summary = shared.summary.lock().expect("summary lock").clone();
    let mut stopping = false;
    let mut batch: Vec<Job> = Vec::new();
    loop {
        let Ok(first) = rx.recv() else { break };
        if matches!(first, Job::Stop) {
            break;
        }
        if shared.is_poisoned.load(Ordering::Acquire) {
            let reason = shared
                .poisoned
                .lock()
                .expect("poison lock")
                .clone()
                .unwrap_or_default();
            stopping |= refuse(first, || StoreError::Poisoned(reason.clone()));
            if stopping {
                break;
            }
            continue;
        }
        // Ops submitted together stay together: `Job::Ops` goes into one
        // batch whole, even past `max_batch`.
        let take = |batch: &mut Vec<Job>, job: Job| match job {
            Job::Ops(jobs) => batch.extend(jobs.into_iter().map(Job::Op)),
            job => batch.push(job),
        };
        take(&mut batch, first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(Job::Stop) => {
                    stopping = true;
                    break;
                }
                Ok(j) => take(&mut batch, j),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        // Vectors of a batch's size are reused, not allocated per commit:
        // fresh large allocations cost page faults on every commit.
        let finished = recycled.try_recv().unwrap_or_default();
        stamp_and_sign(shared, &mut summary, &mut batch);
        match commit_batch(shared, &mut summary, batch.drain(..), finished) {
            Ok(finished) => {
                *shared.summary.lock().expect("summary lock") = summary.clone();
                shared.stats.commits.fetch_add(1, Ordering::Relaxed);
                shared.stats.requests.fetch_add(n, Ordering::Relaxed);
                let _ = fin_tx.send(finished);
            }
            Err((e, finished)) => {
                // Nothing of the batch is durable, but callers (actors) may
                // already hold state that assumed it would be: accept no
                // more writes until a restart reloads state from disk.
                poison(shared, &e);
                summary = shared.summary.lock().expect("summary lock").clone();
                for f in finished {
                    match f {
                        Finished::Op { done, .. } => done(Err(StoreError::Poisoned(e.to_string()))),
                        Finished::Products(done) => done(Err(StoreError::Poisoned(e.to_string()))),
                    }
                }
                while let Ok(job) = rx.try_recv() {
                    stopping |= refuse(job, || StoreError::Poisoned(e.to_string()));
                }
            }
        }
        if stopping {
            break;
        }
    }
    // Requests still queued behind the stop are refused, not dropped.
    while let Ok(job) = rx.try_recv() {
        refuse(job, || StoreError::Stopped);
    }
    // Every answer sent and every history entry queued: the indexer writes
    // them durably and ends, so the next open has nothing to catch up.
    drop(fin_tx);
    let _ = completion.join();
    drop(stop_index);
    let _ = indexer.join();
}

type BatchResult = Result<Vec<Finished>, (StoreError, Vec<Finished>)>;

/// Stamp the batch's local drafts (`(node, seq)`, deps) in batch order, as
/// the commit will log them, and sign them together with the node's key:
/// one signature of the Merkle root of their hashes (`op::sign_batch`),
/// each op carrying its path, so that signing costs one signature per
/// commit, not one per op. Local jobs come back in the shape of remote ones
/// (op, full encoding, hash).
fn stamp_and_sign(shared: &Shared, summary: &mut Summary, batch: &mut Vec<Job>) {
    let Some(signer) = shared.signer.get() else {
        return;
    };
    let mut vv = summary.vv.clone();
    let mut local = Vec::new();
    *batch = std::mem::take(batch)
        .into_iter()
        .enumerate()
        .map(|(i, job)| match job {
            Job::Op(OpJob {
                source: Source::Local(draft),
                pre: Pre::Tail(tail),
                values,
                done,
            }) => {
                summary.seq += 1;
                let id = OpId {
                    origin: shared.node.clone(),
                    seq: summary.seq,
                };
                let op = draft.stamp(id, vv.without(&shared.node));
                vv.advance(&op.id);
                let (bytes, hash) = op.encode_with_tail(&tail);
                local.push(i);
                Job::Op(OpJob {
                    source: Source::Remote(op),
                    pre: Pre::Full(bytes, hash),
                    values,
                    done,
                })
            }
            Job::Op(j) => {
                if let Source::Remote(op) = &j.source
                    && vv.is_next(&op.id)
                {
                    vv.advance(&op.id);
                }
                Job::Op(j)
            }
            other => other,
        })
        .collect();
    let items: Vec<_> = batch
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| local.binary_search(i).is_ok())
        .filter_map(|(_, j)| match j {
            Job::Op(OpJob {
                source: Source::Remote(op),
                pre: Pre::Full(bytes, hash),
                ..
            }) => Some((op, bytes, *hash)),
            _ => None,
        })
        .collect();
    let (ops, mut slots): (Vec<_>, Vec<_>) = items
        .into_iter()
        .map(|(op, bytes, hash)| ((op, std::mem::take(bytes), hash), bytes))
        .unzip();
    for (slot, signed) in slots.iter_mut().zip(op::sign_batch(ops, signer.as_ref())) {
        **slot = signed;
    }
}

fn commit_batch(
    shared: &Shared,
    summary: &mut Summary,
    batch: impl Iterator<Item = Job>,
    mut finished: Vec<Finished>,
) -> BatchResult {
    let result = (|| -> Result<(), StoreError> {
        let mut w = shared.db.begin_write()?;
        w.set_durability(Durability::Immediate)?;
        {
            let mut ops = w.open_table(OPS)?;
            let mut members = w.open_table(MEMBERS)?;
            let mut orders = w.open_table(ORDERS)?;
            let mut phones = w.open_table(PHONES)?;
            let mut cards = w.open_table(CARDS)?;
            let mut idem = w.open_table(IDEM)?;
            let mut products = w.open_table(PRODUCTS)?;
            let mut barcodes = w.open_table(BARCODES)?;
            let mut duplicates = w.open_table(DUPLICATES)?;
            let mut rejected = w.open_table(REJECTED)?;
            let mut refused = w.open_table(REFUSED)?;
            let mut merged = w.open_table(MERGED)?;
            let mut programme: Option<Vec<u8>> = None;
            let mut catalogue: Option<Vec<u8>> = None;
            let mut authored = false;
            for job in batch {
                match job {
                    Job::Op(OpJob {
                        source,
                        pre,
                        values,
                        done,
                    }) => {
                        let (op, bytes, hash) = match (source, pre) {
                            (Source::Local(draft), Pre::Tail(tail)) => {
                                summary.seq += 1;
                                let id = OpId {
                                    origin: shared.node.clone(),
                                    seq: summary.seq,
                                };
                                let op = draft.stamp(id, summary.vv.without(&shared.node));
                                let (bytes, hash) = op.encode_with_tail(&tail);
                                (op, bytes, hash)
                            }
                            (Source::Remote(op), Pre::Full(bytes, hash)) => (op, bytes, hash),
                            _ => unreachable!("submit encodes each source its way"),
                        };
                        assert!(
                            summary.vv.is_next(&op.id),
                            "op {} handed to the writer out of order (holding {:?}): the caller must deliver in causal order",
                            op.id,
                            summary.vv
                        );
                        summary.vv.advance(&op.id);
                        summary.hlc = summary.hlc.max(op.hlc);
                        summary.digest.add(&hash);
                        ops.insert((op.id.origin.as_str(), op.id.seq), bytes.as_slice())?;
                        if let Some(reason) = &values.rejected {
                            rejected.insert((op.id.origin.as_str(), op.id.seq), reason.as_str())?;
                            finished.push(Finished::Op {
                                op,
                                rejected: true,
                                done,
                                _held: (bytes, values),
                            });
                            continue;
                        }
                        summary.totals.apply(&op);
                        for (id, m) in values.member.iter().chain(&values.also) {
                            members.insert(id.as_str(), m.as_slice())?;
                        }
                        for (absorbed, survivor) in &values.merged {
                            merged.insert((absorbed.as_str(), survivor.as_str()), ())?;
                        }
                        if let Some((id, o)) = &values.order {
                            orders.insert(id.as_str(), o.as_slice())?;
                        }
                        for (phone, owner) in &values.phones {
                            match owner {
                                Some(m) => phones.insert(phone.as_str(), m.as_str())?,
                                None => phones.remove(phone.as_str())?,
                            };
                        }
                        for (card, owner) in &values.cards {
                            match owner {
                                Some(m) => cards.insert(card.as_str(), m.as_str())?,
                                None => cards.remove(card.as_str())?,
                            };
                        }
                        for (key, member) in &values.duplicates {
                            duplicates.insert((key.as_str(), member.as_str()), ())?;
                        }
                        if let Some((key, rec)) = &values.idem {
                            idem.insert(key.as_str(), rec.as_slice())?;
                        }
                        if let Some(doc) = &values.programme {
                            programme = Some(doc.clone());
                        }
                        if let Some(c) = &values.catalogue {
                            write_products(&mut products, &mut barcodes, &c.products)?;
                            catalogue = Some(c.doc.clone());
                        }
                        if (values.programme.is_some() || values.catalogue.is_some())
                            && op.id.origin == shared.node
                        {
                            authored = true;
                        }
                        finished.push(Finished::Op {
                            op,
                            rejected: false,
                            done,
                            _held: (bytes, values),
                        });
                    }
                    Job::Refused { entry, done } => {
                        refused.insert(
                            (entry.id.origin.as_str(), entry.id.seq, entry.from.as_str()),
                            entry.reason.as_str(),
                        )?;
                        finished.push(Finished::Products(done));
                    }
                    Job::Stop | Job::Ops(_) => {
                        unreachable!("the writer loop never batches a stop, and unpacks ops")
                    }
                }
            }
            let mut meta = w.open_table(META)?;
            meta.insert("summary", encode(&*summary).as_slice())?;
            if let Some(doc) = &programme {
                meta.insert("programme", doc.as_slice())?;
            }
            if let Some(doc) = &catalogue {
                meta.insert("catalogue", doc.as_slice())?;
            }
            if authored {
                meta.insert("authored-documents", [1u8].as_slice())?;
            }
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
        Ok(()) => Ok(finished),
        Err(e) => Err((e, finished)),
    }
}
