//! `Core`: what every account actor and the engine share (the store, the
//! clock, the programme and catalogue documents, the live actors, claims
//! and in-flight keys, the merges), and how drafts are stamped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ractor::{ActorId, ActorRef};
use tongka_core::authority::may_author;
use tongka_core::catalogue_doc::{Barcodes, Catalogue};
use tongka_core::clock::{Hlc, HlcClock};
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::merge::Merged;
use tongka_core::op::{EncodedOp, Op, OpBody, OpDraft, OriginRole};
use tongka_core::programme::Programme;
use tongka_db::{Db, Effects};
use tongka_machine::idem::Idempotency;
use tongka_machine::stamp;

use crate::account::{AccountKey, AccountMsg, Encoding};
use crate::{EngineError, EscrowBroker, Idem};

/// What every actor shares.
pub(crate) struct Core {
    pub db: Db,
    pub node: NodeId,
    /// The programme now: what every decision made from now on uses.
    pub(crate) programme: std::sync::RwLock<Arc<Programme>>,
    /// The programme document (saved bytes); held while a programme op is
    /// made or applied, so they apply one at a time.
    pub(crate) programme_doc: Mutex<Vec<u8>>,
    /// The catalogue document (saved bytes) and the catalogue it holds (as
    /// materialised in the store); held while a catalogue op is made or
    /// applied, so they apply one at a time.
    pub(crate) catalogue: Mutex<(Vec<u8>, Catalogue, Barcodes)>,
    /// The chain's staff accounts; held while a staff op is made or
    /// applied, so they apply one at a time.
    pub(crate) staff: Mutex<Arc<tongka_core::staff::StaffBook>>,
    /// The chain's stock as this node holds it (`tongka_machine::stock`):
    /// held while a stock-moving op is decided, applied and handed to the
    /// writer, so the book changes in the log's order.
    pub(crate) stock: Mutex<tongka_machine::stock::StockBook>,
    /// The chain's stores as this node knows them (a transfer's possible
    /// destinations); `None`: none known (a node of no chain).
    pub(crate) stores: Mutex<Option<crate::stock::StoresFn>>,
    pub idle_passivate: Duration,
    pub(crate) clock: Mutex<HlcClock>,
    pub(crate) accounts: Mutex<HashMap<AccountKey, ActorRef<AccountMsg>>>,
    /// Phone and card numbers being registered or changed, not yet committed.
    pub(crate) claims: Mutex<HashSet<String>>,
    /// Index entries (`phone:…`, `card:…`) given by remote registrations
    /// handed to the writer and not committed yet: their member, and how
    /// many such registrations hold the entry. Later lookups see them.
    pub(crate) pending_index: Mutex<HashMap<String, (MemberId, usize)>>,
    /// Idempotency keys whose request is being processed (the machine's
    /// rule, `tongka_machine::idem`; their records are the store's).
    pub(crate) inflight: Mutex<Idempotency>,
    pub(crate) broker: Mutex<Option<Arc<dyn EscrowBroker>>>,
    /// The escrow asks made, for metrics.
    pub(crate) asks: crate::escrow::AskCounts,
    /// What this node's chain certificate makes it (`None`: a node of no
    /// chain). Every draft it makes is checked against it.
    pub(crate) role: Mutex<Option<OriginRole>>,
    /// The merges applied here (absorbed → survivors), loaded at start.
    pub(crate) merged: Mutex<Merged>,
    /// Held while a merge or a merge move involves two account actors, so
    /// no two actors ever wait on each other.
    pub(crate) merge_lock: tokio::sync::Mutex<()>,
    /// Held while this node decides a withdrawal step until its commit
    /// (settlement), so the next decision sees it.
    pub(crate) withdrawal_lock: tokio::sync::Mutex<()>,
    /// Held while this store makes a close, to its commit, so its closes
    /// are made one after another (`closes`).
    pub(crate) close_lock: tokio::sync::Mutex<()>,
    /// Spends declined after asking other stores, since start: `(refusal
    /// code, cause)` → count (`Engine::declines`).
    pub(crate) declines: Mutex<std::collections::BTreeMap<(&'static str, &'static str), u64>>,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Core {
    /// The programme now.
    pub fn programme(&self) -> Arc<Programme> {
        self.programme.read().expect("programme lock").clone()
    }

    /// Move the clock past a remote op's reading.
    pub fn observe(&self, at: Hlc) {
        let _ = self.clock.lock().expect("clock lock").observe(at, now_ms());
    }

    pub fn tick(&self) -> Hlc {
        self.clock.lock().expect("clock lock").tick(now_ms())
    }

    /// A draft for `body` stamped now, and the op it will become (for
    /// applying to state before the log gives it its number; apply does not
    /// look at the number).
    pub fn draft(
        &self,
        by: String,
        idem: Option<&Idem>,
        body: OpBody,
    ) -> Result<(OpDraft, Op), EngineError> {
        let at = self.tick();
        self.draft_at(by, idem, body, at)
    }

    /// `draft` stamped `at`. Every op this node makes passes here: one that
    /// its role may not author is refused (`authority::may_author`).
    pub fn draft_at(
        &self,
        by: String,
        idem: Option<&Idem>,
        body: OpBody,
        at: Hlc,
    ) -> Result<(OpDraft, Op), EngineError> {
        let role = *self.role.lock().expect("role lock");
        may_author(role, &body)?;
        let draft = OpDraft {
            hlc: at,
            by,
            idem: idem.map(|i| i.key.clone()),
            body,
        };
        let op = stamp::provisional(draft.clone(), &self.node);
        Ok((draft, op))
    }

    /// Forget a stopped account actor (if the map still points at it).
    pub fn forget(&self, key: &AccountKey, id: ActorId) {
        let mut map = self.accounts.lock().expect("accounts lock");
        if map.get(key).is_some_and(|r| r.get_id() == id) {
            map.remove(key);
        }
    }

    /// Called when a request's commit finished: its idempotency key and
    /// claims are free again (the commit, if any, now answers for them).
    pub fn finish(&self, idem_key: Option<String>, claims: Vec<String>) {
        if let Some(k) = idem_key {
            self.inflight.lock().expect("inflight lock").end(&k);
        }
        self.release_claims(claims);
    }

    /// Hand a remote op to the writer alone, with its effects: stored as
    /// received when its encoding is given (never encoded again, so a
    /// field this build does not know stays in the bytes it relays, and
    /// the origin's signature still verifies), else encoded here.
    pub(crate) fn submit_remote(
        &self,
        op: Op,
        encoded: Encoding,
        effects: Effects,
        on_durable: tongka_db::Done,
    ) {
        self.submit_source(tongka_db::Source::Remote(op), encoded, effects, on_durable);
    }

    /// Hand a draft this node made to the writer with its effects; the
    /// receiver answers once it is durable (or failed), after the request's
    /// idempotency key is settled. The caller submits under whatever lock
    /// orders its ops and awaits outside it ([`durable`]).
    pub(crate) fn submit_local(
        self: &Arc<Self>,
        draft: OpDraft,
        effects: Effects,
        idem_key: Option<String>,
    ) -> tokio::sync::oneshot::Receiver<Result<OpId, tongka_db::DbError>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let core = self.clone();
        self.db.submit(
            tongka_db::Source::Local(draft),
            effects,
            Box::new(move |res| {
                core.finish(idem_key, Vec::new());
                let _ = tx.send(res);
            }),
        );
        rx
    }

    /// `submit_remote` for any source: a local draft (no bytes yet) or a
    /// remote op, with its bytes when received so.
    pub(crate) fn submit_source(
        &self,
        source: tongka_db::Source,
        encoded: Encoding,
        effects: Effects,
        on_durable: tongka_db::Done,
    ) {
        match (source, encoded) {
            (tongka_db::Source::Remote(op), Some((bytes, hash))) => {
                let job =
                    self.db
                        .prepare_encoded(EncodedOp { op, bytes, hash }, effects, on_durable);
                self.db.submit_all(vec![job], Box::new(|_| {}));
            }
            (source, _) => self.db.submit(source, effects, on_durable),
        }
    }
}

/// What [`Core::submit_local`]'s receiver says, as the request's answer.
pub(crate) async fn durable<T>(
    rx: tokio::sync::oneshot::Receiver<Result<OpId, tongka_db::DbError>>,
    answer: T,
) -> Result<T, EngineError> {
    match rx.await {
        Ok(Ok(_)) => Ok(answer),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(EngineError::Internal("the writer stopped".into())),
    }
}
