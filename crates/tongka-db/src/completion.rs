//! The completion thread: after each commit, in commit order, it tells the
//! commit watchers, answers the requests, queues the history entries and
//! frees what the batch held, so the writer does none of it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use tongka_core::ids::OpId;
use tongka_core::op::Op;

use crate::history::IndexItem;
use crate::submit::Values;
use crate::{DbError, Done, Shared};

/// A function called after each commit with the ops it made durable.
pub type CommitWatcher = Arc<dyn Fn(&[OpId]) + Send + Sync>;

/// What a committed batch leaves to the completion thread: answers to
/// send, and everything the batch held, freed there rather than on the
/// writer.
// Ops are by far the most common; boxing them would cost an allocation per
// request for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Finished {
    Op {
        op: Op,
        /// Rejected remote ops are logged, not listed in histories.
        rejected: bool,
        done: Done,
        _held: (Vec<u8>, Values),
    },
    Products(Box<dyn FnOnce(Result<(), DbError>) + Send>),
}

/// The completion thread: after each commit, in commit order, tell the
/// watchers, answer the requests, queue the history entries, free the rest.
pub(crate) fn completion_loop(
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
