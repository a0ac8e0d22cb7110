//! The writer thread: it takes queued requests in batches, stamps and signs
//! the batch's local ops, and commits each batch as one durable transaction
//! (group commit), poisoning the db if a commit fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use redb::{Durability, ReadableTable};
use tongka_core::catalogue::Product;
use tongka_core::clock::VersionVector;
use tongka_core::op::{self, OpBody};
use tongka_machine::stamp::{self, Held};

use crate::completion::{Finished, completion_loop};
use crate::history::index_loop;
use crate::submit::{Job, OpJob, Pre};
use crate::tables::*;
use crate::values::{decode, encode};
use crate::{DbError, Shared, Source, Summary};

/// Figures of the group commit, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub commits: AtomicU64,
    pub requests: AtomicU64,
    /// Commits by batch size: `sizes[i]` counts the batches of at most
    /// `BATCH_BOUNDS[i]` requests (and more than the bound before it); the
    /// last, the larger ones. A histogram kept as counters, so the writer
    /// pays one atomic add per commit for it.
    pub sizes: [AtomicU64; BATCH_BOUNDS.len() + 1],
}

/// The upper bounds of the batch-size buckets of [`CommitStats::sizes`]:
/// powers of two up to past the default `max_batch`.
pub const BATCH_BOUNDS: [u64; 13] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/// The group commit's batch sizes as read at one moment (`Db::batch_sizes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSizes {
    /// Requests committed (ops, and refused remote ops logged), over all
    /// batches: the sum of the batch sizes.
    pub requests: u64,
    /// `(upper bound, commits)` per bucket of [`BATCH_BOUNDS`], not
    /// cumulative, then `(u64::MAX, commits)` of the larger batches.
    pub buckets: Vec<(u64, u64)>,
}

impl BatchSizes {
    /// Commits counted: the sum of the buckets.
    pub fn commits(&self) -> u64 {
        self.buckets.iter().map(|b| b.1).sum()
    }
}

impl CommitStats {
    fn record(&self, n: u64) {
        let i = BATCH_BOUNDS
            .iter()
            .position(|b| n <= *b)
            .unwrap_or(BATCH_BOUNDS.len());
        self.sizes[i].fetch_add(1, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn batch_sizes(&self) -> BatchSizes {
        let bounds = BATCH_BOUNDS.iter().copied().chain([u64::MAX]);
        BatchSizes {
            requests: self.requests.load(Ordering::Relaxed),
            buckets: bounds
                .zip(&self.sizes)
                .map(|(b, c)| (b, c.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

fn poison(shared: &Shared, e: &DbError) {
    tracing::error!(error = %e, "storage failed; it is poisoned until restart");
    *shared.poisoned.lock().expect("poison lock") = Some(e.to_string());
    shared.is_poisoned.store(true, Ordering::Release);
}

pub(crate) fn refuse(job: Job, e: impl Fn() -> DbError) -> bool {
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

pub(crate) fn writer_loop(
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
            stopping |= refuse(first, || DbError::Poisoned(reason.clone()));
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
                shared.stats.record(n);
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
                        Finished::Op { done, .. } => done(Err(DbError::Poisoned(e.to_string()))),
                        Finished::Products(done) => done(Err(DbError::Poisoned(e.to_string()))),
                    }
                }
                while let Ok(job) = rx.try_recv() {
                    stopping |= refuse(job, || DbError::Poisoned(e.to_string()));
                }
            }
        }
        if stopping {
            break;
        }
    }
    // Requests still queued behind the stop are refused, not dropped.
    while let Ok(job) = rx.try_recv() {
        refuse(job, || DbError::Stopped);
    }
    // Every answer sent and every history entry queued: the indexer writes
    // them durably and ends, so the next open has nothing to catch up.
    drop(fin_tx);
    let _ = completion.join();
    drop(stop_index);
    let _ = indexer.join();
}

type BatchResult = Result<Vec<Finished>, (DbError, Vec<Finished>)>;

/// Stamp the batch's local drafts in batch order, as the commit will log
/// them (`tongka_machine::stamp`: the node's next seq, deps what it holds
/// of others, the batch's earlier ops included), and sign them together
/// with the node's key:
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
                let op = stamp::stamp(
                    draft,
                    &mut Held {
                        origin: &shared.node,
                        held: &vv,
                    },
                );
                summary.seq = op.id.seq;
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
    mut batch: impl Iterator<Item = Job>,
    mut finished: Vec<Finished>,
) -> BatchResult {
    let result = (|| -> Result<(), DbError> {
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
            let mut staff: Option<Vec<u8>> = None;
            let mut authored = false;
            let mut stock: Option<crate::stock::StockTables> = None;
            let mut figures = crate::figures::FiguresTables::open(&w)?;
            let mut closes: Option<crate::closes::ClosesTables> = None;
            let mut more = crate::figures_more::MoreTables::open(&w)?;
            for job in batch.by_ref() {
                match job {
                    Job::Op(OpJob {
                        source,
                        pre,
                        values,
                        done,
                    }) => {
                        let (op, bytes, hash) = match (source, pre) {
                            (Source::Local(draft), Pre::Tail(tail)) => {
                                // Unsigned (no chain identity): stamped
                                // here, in commit order.
                                let op = stamp::stamp(
                                    draft,
                                    &mut Held {
                                        origin: &shared.node,
                                        held: &summary.vv,
                                    },
                                );
                                summary.seq = op.id.seq;
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
                        // Listed before its writes, so that one failing
                        // mid-op still answers it (with the batch's
                        // failure) rather than dropping its answer.
                        finished.push(Finished::Op {
                            rejected: values.rejected.is_some(),
                            op,
                            done,
                            _held: (bytes, values),
                        });
                        let Some(Finished::Op {
                            op,
                            _held: (bytes, values),
                            ..
                        }) = finished.last()
                        else {
                            unreachable!("pushed above")
                        };
                        ops.insert((op.id.origin.as_str(), op.id.seq), bytes.as_slice())?;
                        if let Some(reason) = &values.rejected {
                            rejected.insert((op.id.origin.as_str(), op.id.seq), reason.as_str())?;
                            continue;
                        }
                        summary.totals.apply(op);
                        figures.apply(op)?;
                        more.apply(op, crate::figures_more::order_before(&orders, op)?.as_ref())?;
                        if let OpBody::DayClosed { .. } = &op.body {
                            if closes.is_none() {
                                closes = Some(crate::closes::ClosesTables::open(&w)?);
                            }
                            closes.as_mut().expect("opened above").apply(op)?;
                        }
                        for (id, m, held) in values.member.iter().chain(&values.also) {
                            // The running sum of what members hold
                            // (`held`): the row replaced out, the new in.
                            if let Some(old) = members.insert(id.as_str(), m.as_slice())? {
                                summary.held = crate::held::minus(
                                    summary.held,
                                    crate::held::of_row(old.value())?,
                                );
                            }
                            summary.held = crate::held::plus(summary.held, *held);
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
                        if let Some(book) = &values.staff {
                            staff = Some(book.clone());
                        }
                        if let Some(s) = &values.stock {
                            if stock.is_none() {
                                stock = Some(crate::stock::StockTables::open(&w)?);
                            }
                            stock.as_mut().expect("opened above").write(op, s)?;
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
            drop(stock);
            drop(closes);
            figures.flush()?;
            more.flush()?;
            let mut meta = w.open_table(META)?;
            meta.insert("summary", encode(&*summary).as_slice())?;
            meta.insert("totals", summary.totals_bytes().as_slice())?;
            meta.insert(
                crate::held::KEY,
                crate::held::bytes(&summary.held).as_slice(),
            )?;
            if let Some(doc) = &programme {
                meta.insert("programme", doc.as_slice())?;
            }
            if let Some(doc) = &catalogue {
                meta.insert("catalogue", doc.as_slice())?;
            }
            if let Some(book) = &staff {
                meta.insert("staff", book.as_slice())?;
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
        Err(e) => {
            // Failed mid-batch: the jobs not reached are answered too.
            for job in batch {
                refuse(job, || DbError::Poisoned(e.to_string()));
            }
            Err((e, finished))
        }
    }
}

/// Write materialised products: each one's previous barcode released (if
/// it still points to it), then the rows and their barcodes, so a barcode
/// moving between the products written ends on its new holder.
pub(crate) fn write_products(
    products: &mut redb::Table<&str, &[u8]>,
    barcodes: &mut redb::Table<&str, &str>,
    list: &[Product],
) -> Result<(), DbError> {
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
