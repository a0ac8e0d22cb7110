//! Handing requests to the writer: the jobs it takes (values encoded on the
//! caller's thread), and the db's calls that queue them, set the signer,
//! add commit watchers and stop the writer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use tongka_core::ids::{MemberId, OrderId};
use tongka_core::op::{EncodedOp, OpSigner};
use tongka_core::wallet::Share;

use crate::values::encode;
use crate::writer::refuse;
use crate::{CatalogueWrite, CommitWatcher, Db, DbError, Done, Effects, RefusedOp, Source};

/// A request as the writer takes it: values already encoded by `submit`
/// on the caller's thread.
pub(crate) struct OpJob {
    pub(crate) source: Source,
    /// A local draft's `OpDraft::encode_tail`, or a remote op's whole
    /// encoding and hash.
    pub(crate) pre: Pre,
    pub(crate) values: Values,
    pub(crate) done: Done,
}

/// An op prepared for the writer by [`Db::prepare`]. Boxed: a batch
/// gathers thousands of them in vectors, which at the job's size were
/// large fresh allocations (zeroed pages) on every batch.
pub struct Prepared(Box<OpJob>);

impl Prepared {
    /// The remote op it holds (a local draft has no op yet).
    pub fn remote_op(&self) -> Option<&tongka_core::op::Op> {
        match &self.0.source {
            Source::Remote(op) => Some(op),
            Source::Local(_) => None,
        }
    }

    /// Whether it is logged as rejected (not applied).
    pub fn is_rejected(&self) -> bool {
        self.0.values.rejected.is_some()
    }

    /// Add the op's stock effects, decided after its other effects.
    pub fn set_stock(&mut self, stock: crate::StockWrite) {
        self.0.values.stock = Some(stock);
    }
}

pub(crate) enum Pre {
    Tail(Vec<u8>),
    Full(Vec<u8>, [u8; 32]),
}

/// `Effects` with the member, order and idempotency record encoded.
pub(crate) struct Values {
    /// A member row: its id, its bytes, and what it holds (`held`).
    pub(crate) member: Option<(MemberId, Vec<u8>, Share)>,
    pub(crate) also: Option<(MemberId, Vec<u8>, Share)>,
    pub(crate) merged: Vec<(MemberId, MemberId)>,
    pub(crate) order: Option<(OrderId, Vec<u8>)>,
    pub(crate) phones: Vec<(String, Option<MemberId>)>,
    pub(crate) cards: Vec<(String, Option<MemberId>)>,
    pub(crate) idem: Option<(String, Vec<u8>)>,
    pub(crate) duplicates: Vec<(String, MemberId)>,
    pub(crate) rejected: Option<String>,
    pub(crate) programme: Option<Vec<u8>>,
    pub(crate) catalogue: Option<CatalogueWrite>,
    pub(crate) staff: Option<Vec<u8>>,
    pub(crate) stock: Option<crate::StockWrite>,
}

impl Values {
    fn encode(e: Effects) -> Values {
        Values {
            member: e.member.map(|m| {
                let (bytes, held) = (encode(&m), crate::held::of(&m));
                (m.id, bytes, held)
            }),
            also: e.also.map(|m| {
                let (bytes, held) = (encode(&m), crate::held::of(&m));
                (m.id, bytes, held)
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
            staff: e.staff,
            stock: e.stock,
        }
    }
}

// Ops are by far the most common job; boxing them would cost an allocation
// per request for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Job {
    Op(OpJob),
    /// Ops committed in one transaction, in this order (`Db::submit_all`).
    Ops(Vec<OpJob>),
    /// Finish what is queued ahead, then stop.
    Stop,
    Refused {
        entry: RefusedOp,
        done: Box<dyn FnOnce(Result<(), DbError>) + Send>,
    },
}

impl Db {
    /// A fresh number for an entity id (member, order, …). Numbers are
    /// never reused for anything committed.
    pub fn next_entity(&self) -> u64 {
        self.shared.entity.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Queue an op and its effects; `done` is called after the commit that
    /// holds it (or with the error). Blocks only when the queue is full.
    pub fn submit(&self, source: Source, effects: Effects, done: Done) {
        if let Some(reason) = self.poison_reason() {
            done(Err(DbError::Poisoned(reason)));
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
            done(Err(DbError::Stopped));
        }
    }

    /// An op and its effects encoded for the writer, on the caller's
    /// thread, to be handed over later with [`Db::submit_all`].
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
                (job.done)(Err(DbError::Poisoned(reason.clone())));
            }
            return;
        }
        let job = Job::Ops(jobs.into_iter().map(|Prepared(j)| *j).collect());
        if let Err(mpsc::SendError(job)) = self.tx.send(job) {
            refuse(job, || DbError::Stopped);
        }
    }

    /// Log a remote op refused before applying (`refused()` lists them).
    pub fn log_refused(&self, entry: RefusedOp, done: Box<dyn FnOnce(Result<(), DbError>) + Send>) {
        if let Some(reason) = self.poison_reason() {
            done(Err(DbError::Poisoned(reason)));
            return;
        }
        if let Err(mpsc::SendError(Job::Refused { done, .. })) =
            self.tx.send(Job::Refused { entry, done })
        {
            done(Err(DbError::Stopped));
        }
    }

    /// Why the db takes no more writes, if a commit failed (a full disk, an
    /// I/O error): it stays so until the node restarts. `GET /health`
    /// reports it, so a node that cannot write does not look healthy.
    pub fn failed(&self) -> Option<DbError> {
        self.poison_reason().map(DbError::Poisoned)
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

    /// Sign every op this node makes from now on with `signer` (the node's
    /// chain key), in the commit that makes the op durable (the writer
    /// stamps a batch's ops, then signs them together: `op::sign_batch`).
    /// Set once, before the node takes requests; a second call is ignored
    /// (returns false).
    pub fn set_signer(&self, signer: Arc<dyn OpSigner>) -> bool {
        self.shared.signer.set(signer).is_ok()
    }

    /// Call `f` after every commit with the ids of the ops it made durable,
    /// in log order (replication uses it to stream and to acknowledge).
    pub fn watch_commits(&self, f: CommitWatcher) {
        self.shared.watchers.lock().expect("watchers lock").push(f);
    }

    /// Stop the writer after it has finished what is queued.
    pub fn close(self) {
        let Db { tx, writer, .. } = self;
        // Other handles (actors) may still hold senders: stop explicitly.
        let _ = tx.send(Job::Stop);
        drop(tx);
        if let Some(h) = writer.lock().expect("writer lock").take() {
            let _ = h.join();
        }
    }
}
