//! tongka-db: the node's durable state on redb, and the only crate that
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

mod audit;
pub mod baseline;
mod closes;
mod completion;
mod effects;
mod error;
mod figures;
mod figures_more;
mod held;
mod history;
mod open;
mod reads;
mod stock;
mod submit;
mod tables;
mod values;
mod writer;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use redb::Database;
use serde::{Deserialize, Serialize};
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::NodeId;
use tongka_core::op::{OpSigner, StateDigest};
use tongka_core::state::LedgerTotals;

pub use audit::AuditPage;
pub use closes::ClosedOp;
pub use completion::CommitWatcher;
pub use effects::{CatalogueWrite, Done, Effects, IdemRecord, RefusedOp, Source};
pub use error::{DbError, RedbError};
pub use figures::Freshness;
pub use figures_more::Dormant;
pub use history::history_path;
pub use open::{DbOptions, Recovered};
pub use stock::{MovementCursor, StockParts, StockWrite};
pub use submit::Prepared;
pub use tables::SCHEMA_VERSION;
pub use writer::{BATCH_BOUNDS, BatchSizes, CommitStats};

use history::IndexItem;
use submit::Job;

/// What the db's handles, the writer, the completion thread and the
/// indexer share.
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
    /// Signs the ops this node makes, once set (`Db::set_signer`); ops
    /// made before, or by a node without a chain identity, go unsigned.
    signer: std::sync::OnceLock<Arc<dyn OpSigner>>,
}

/// The replicated state in brief, as of a commit: this node's last op
/// number, the version vector, the state digest, the ledger totals and the
/// highest clock seen (`meta` `summary`), and what the members hold
/// (`meta` `held-1`, see `held`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub seq: u64,
    pub vv: VersionVector,
    pub digest: StateDigest,
    pub totals: LedgerTotals,
    pub hlc: Hlc,
    /// Not in the postcard shape (it cannot grow): kept apart, `held-1`.
    #[serde(skip)]
    pub held: tongka_core::wallet::Share,
}

impl Summary {
    /// The summary as kept in `meta`: `summary` (postcard, a shape that
    /// cannot grow) and `totals`, the whole `LedgerTotals` in minicbor
    /// (index-numbered, so it grows: the fields not in the serde shape,
    /// such as the imports', live there). A db written before `totals`
    /// existed had none of those fields' ops: zero is right for it.
    pub(crate) fn read(summary: Option<&[u8]>, totals: Option<&[u8]>) -> Result<Summary, DbError> {
        let mut s: Summary = match summary {
            Some(v) => values::decode(v, "summary")?,
            None => Summary::default(),
        };
        if let Some(t) = totals {
            s.totals = minicbor::decode(t).map_err(|e| DbError::Corrupt(format!("totals: {e}")))?;
        }
        Ok(s)
    }

    /// `meta` `totals`, written with `summary` in every commit.
    pub(crate) fn totals_bytes(&self) -> Vec<u8> {
        minicbor::to_vec(&self.totals).expect("encoding to memory cannot fail")
    }
}

/// The node's storage: a handle that is cheap to clone.
#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
    tx: mpsc::SyncSender<Job>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}
