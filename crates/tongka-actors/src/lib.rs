//! tongka-actors: the node's live layer. Account actors (ractor) own members
//! and wallets, activated on demand and passivated when idle, so memory
//! follows the active set. In front of their unbounded mailboxes sits
//! admission control: at most `max_in_flight` requests are inside the node
//! at once; the rest are refused at the door with `overloaded`.
//!
//! The `Engine` is the API the edges (HTTP, benchmarks) use. It owns
//! idempotency: a key is checked before, and its answer stored in the same
//! commit as, the op it made.

mod account;
mod detach;
mod escrow;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ractor::{Actor, ActorId, ActorRef, RpcReplyPort};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tongka_core::authority::{NotAuthorised, may_author};
use tongka_core::catalogue::{Product, ProductError};
use tongka_core::catalogue_doc::{self, Catalogue};
use tongka_core::checkout::{CheckoutError, LineInput, TenderInput, TenderKind};
use tongka_core::clock::{Hlc, HlcClock};
use tongka_core::error::DomainError;
use tongka_core::escrow::Want;
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId, RechargeId};
use tongka_core::member::{Profile, ProfilePatch};
use tongka_core::merge::{MergeError, Merged};
use tongka_core::money::Money;
use tongka_core::op::{EncodedOp, Op, OpBody, OpDraft, OriginRole};
use tongka_core::programme::{Programme, ProgrammeError};
use tongka_core::programme_doc;
use tongka_core::refund::{OrderState, Refund, RefundError, RefundLine};
use tongka_core::state::{MemberError, MemberState, RechargeError};
use tongka_store::{CatalogueWrite, Effects, IdemRecord, Source, Store, StoreError};

pub use account::AccountKey;
use account::{AccountActor, AccountMsg, Encoding, RemoteItem};
use detach::detach;
pub use escrow::EscrowBroker;

/// A remote op as the engine takes it: the op, its encoding if received
/// so, and who waits for it to be durable.
type RemoteIn = (Op, Encoding, Option<tongka_store::Done>);

/// The answer to a request that changed something; stored with its
/// idempotency key so a replay gets exactly the first answer (see
/// `StoredAnswer` for how a sale's is kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // one per request, moved a few times
pub enum Outcome {
    /// A member registered or changed.
    Member(MemberState),
    Recharged {
        recharge: RechargeId,
        amount: Money,
        bonus: Money,
        tender: TenderKind,
        at: Hlc,
        member: MemberState,
    },
    CheckedOut {
        order: OrderState,
        /// The member after the sale. On a replay, the member as committed
        /// now: the answer to a sale shows only the order.
        member: Option<MemberState>,
    },
    Refunded {
        refund: Refund,
        order: OrderState,
        member: Option<MemberState>,
    },
    /// The programme after a change.
    Programme(Programme),
}

/// Why the engine refused or failed a request.
#[derive(Debug, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum EngineError {
    #[error(transparent)]
    Member(#[from] MemberError),
    #[error(transparent)]
    Recharge(#[from] RechargeError),
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    #[error(transparent)]
    Refund(#[from] RefundError),
    #[error(transparent)]
    Product(#[from] ProductError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Programme(#[from] ProgrammeError),
    #[error(transparent)]
    NotAuthorised(#[from] NotAuthorised),
    #[error("order {0} not found")]
    OrderNotFound(String),
    #[error("idempotency key {0:?} was already used with a different request")]
    IdemConflict(String),
    #[error("a request with idempotency key {0:?} is still being processed")]
    IdemInProgress(String),
    #[error("the node is at its limit of requests in flight; retry shortly")]
    Overloaded,
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError for EngineError {
    fn code(&self) -> &'static str {
        match self {
            EngineError::Member(e) => e.code(),
            EngineError::Recharge(e) => e.code(),
            EngineError::Checkout(e) => e.code(),
            EngineError::Refund(e) => e.code(),
            EngineError::Product(e) => e.code(),
            EngineError::Merge(e) => e.code(),
            EngineError::Programme(e) => e.code(),
            EngineError::NotAuthorised(e) => e.code(),
            EngineError::OrderNotFound(_) => "order_not_found",
            EngineError::IdemConflict(_) => "idempotency_key_reused",
            EngineError::IdemInProgress(_) => "idempotency_key_in_progress",
            EngineError::Overloaded => "overloaded",
            EngineError::Storage(_) => "storage_unavailable",
            EngineError::Internal(_) => "internal",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            EngineError::Member(e) => e.message_zh(),
            EngineError::Recharge(e) => e.message_zh(),
            EngineError::Checkout(e) => e.message_zh(),
            EngineError::Refund(e) => e.message_zh(),
            EngineError::Product(e) => e.message_zh(),
            EngineError::Merge(e) => e.message_zh(),
            EngineError::Programme(e) => e.message_zh(),
            EngineError::NotAuthorised(e) => e.message_zh(),
            EngineError::OrderNotFound(id) => format!("订单 {id} 不存在"),
            EngineError::IdemConflict(k) => format!("幂等键 {k:?} 已用于另一个不同的请求"),
            EngineError::IdemInProgress(k) => format!("幂等键 {k:?} 的请求仍在处理中"),
            EngineError::Overloaded => "门店节点繁忙，请稍后重试".into(),
            EngineError::Storage(_) => "存储不可用，请联系运维重启节点".into(),
            EngineError::Internal(_) => "内部错误".into(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            EngineError::Checkout(e) => e.details(),
            EngineError::Refund(e) => e.details(),
            _ => Vec::new(),
        }
    }
}

/// An idempotency key with the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct Idem {
    pub key: String,
    pub fingerprint: [u8; 32],
}

/// What the body of an idempotency record holds (postcard), as written.
/// The first answer, except for a sale: there, a reference to the order,
/// whose first answer is `OrderState::new` of the sale's order (refunds
/// change the order's state, never its `order`). Sales are by far the most
/// common request, and the order and the member are their bulk: a small
/// record keeps the writer's page writes small. A recharge, refund or
/// registration keeps its whole answer: it shows the wallet or the order
/// as they were then.
///
#[derive(Serialize)]
enum StoredAnswerRef<'a> {
    CheckedOut { order: &'a OrderId },
    Outcome(&'a Outcome),
}

/// `StoredAnswerRef` as read back (same variants, same order).
#[allow(clippy::large_enum_variant)] // read once per replay
#[derive(Deserialize)]
enum StoredAnswer {
    CheckedOut { order: OrderId },
    Outcome(Outcome),
}

/// An idempotency record's body as `StoredAnswer`.
fn decode_stored_answer(body: &[u8]) -> Result<StoredAnswer, postcard::Error> {
    postcard::from_bytes::<StoredAnswer>(body)
}

impl Idem {
    fn record(&self, outcome: &Outcome) -> (String, IdemRecord) {
        let stored = match outcome {
            Outcome::CheckedOut { order, .. } => StoredAnswerRef::CheckedOut {
                order: &order.order.id,
            },
            other => StoredAnswerRef::Outcome(other),
        };
        let body = postcard::to_allocvec(&stored).expect("encoding to memory cannot fail");
        (
            self.key.clone(),
            IdemRecord {
                fingerprint: self.fingerprint,
                body,
            },
        )
    }
}

/// A sale line as the till sends it: a product by sku or barcode, or a
/// free line with its own description and price.
#[derive(Debug, Clone)]
pub enum LineRequest {
    Sku {
        sku: String,
        qty: rust_decimal::Decimal,
    },
    Barcode {
        barcode: String,
        qty: rust_decimal::Decimal,
    },
    Free {
        description: String,
        unit_price: Money,
        qty: rust_decimal::Decimal,
    },
}

/// The most entries a list answer holds.
pub const LIST_MAX: usize = 1000;

pub struct EngineConfig {
    pub max_in_flight: usize,
    pub idle_passivate: Duration,
}

/// What every actor shares.
pub(crate) struct Core {
    pub store: Store,
    pub node: NodeId,
    /// The programme now: what every decision made from now on uses.
    programme: std::sync::RwLock<Arc<Programme>>,
    /// The programme document (saved bytes); held while a programme op is
    /// made or applied, so they apply one at a time.
    programme_doc: Mutex<Vec<u8>>,
    /// The catalogue document (saved bytes) and the catalogue it holds (as
    /// materialised in the store); held while a catalogue op is made or
    /// applied, so they apply one at a time.
    catalogue: Mutex<(Vec<u8>, Catalogue)>,
    pub idle_passivate: Duration,
    clock: Mutex<HlcClock>,
    accounts: Mutex<HashMap<AccountKey, ActorRef<AccountMsg>>>,
    /// Phone and card numbers being registered or changed, not yet committed.
    claims: Mutex<HashSet<String>>,
    /// Index entries (`phone:…`, `card:…`) given by remote registrations
    /// handed to the writer and not committed yet: their member, and how
    /// many such registrations hold the entry. Later lookups see them.
    pending_index: Mutex<HashMap<String, (MemberId, usize)>>,
    /// Idempotency keys whose request is being processed.
    inflight: Mutex<HashSet<String>>,
    broker: Mutex<Option<Arc<dyn EscrowBroker>>>,
    /// What this node's chain certificate makes it (`None`: a node of no
    /// chain). Every draft it makes is checked against it.
    role: Mutex<Option<OriginRole>>,
    /// The merges applied here (absorbed → survivors), loaded at start.
    merged: Mutex<Merged>,
    /// Held while a merge or a merge move involves two account actors, so
    /// no two actors ever wait on each other.
    merge_lock: tokio::sync::Mutex<()>,
}

/// The products of `now` whose materialised row differs from `before`'s
/// (the catalogue only grows: no product is removed).
fn changed_products(before: &Catalogue, now: &Catalogue) -> Vec<Product> {
    now.values()
        .filter(|p| before.get(&p.sku) != Some(*p))
        .cloned()
        .collect()
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
        actor: String,
        idem: Option<&Idem>,
        body: OpBody,
    ) -> Result<(OpDraft, Op), EngineError> {
        let at = self.tick();
        self.draft_at(actor, idem, body, at)
    }

    /// `draft` stamped `at`. Every op this node makes passes here: one that
    /// its role may not author is refused (`authority::may_author`).
    pub fn draft_at(
        &self,
        actor: String,
        idem: Option<&Idem>,
        body: OpBody,
        at: Hlc,
    ) -> Result<(OpDraft, Op), EngineError> {
        let role = *self.role.lock().expect("role lock");
        may_author(role, &body)?;
        let draft = OpDraft {
            hlc: at,
            actor,
            idem: idem.map(|i| i.key.clone()),
            body,
        };
        let op = draft.clone().stamp(
            OpId {
                origin: self.node.clone(),
                seq: u64::MAX,
            },
            Default::default(),
        );
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
            self.inflight.lock().expect("inflight lock").remove(&k);
        }
        self.release_claims(claims);
    }

    /// Index changes for a profile change (`m` before, `next` after): the
    /// new phone or card goes to this member unless another holds it, in
    /// which case both are listed as duplicates and the index keeps the
    /// smaller member id (so every node ends with the same index).
    pub fn reindex_remote(
        &self,
        m: &MemberState,
        next: &Profile,
        effects: &mut Effects,
    ) -> Result<(), StoreError> {
        if next.phone != m.profile.phone {
            let phone = &next.phone;
            if self.store.member_by_phone(&m.profile.phone)?.as_ref() == Some(&m.id) {
                effects.phones.push((m.profile.phone.clone(), None));
            }
            let owner = self.phone_owner(phone)?;
            let winner = self.index_winner(owner, &m.id, &format!("phone:{phone}"), effects);
            effects.phones.push((phone.clone(), Some(winner)));
        }
        if next.card_no != m.profile.card_no {
            let card = &next.card_no;
            if let Some(old) = &m.profile.card_no
                && self.store.member_by_card(old)?.as_ref() == Some(&m.id)
            {
                effects.cards.push((old.clone(), None));
            }
            if let Some(new) = card {
                let owner = self.card_owner(new)?;
                let winner = self.index_winner(owner, &m.id, &format!("card:{new}"), effects);
                effects.cards.push((new.clone(), Some(winner)));
            }
        }
        Ok(())
    }

    /// Who holds phone `phone` in the index: a remote registration not
    /// committed yet, or as committed.
    fn phone_owner(&self, phone: &str) -> Result<Option<MemberId>, StoreError> {
        let pending = self.pending_owner(&format!("phone:{phone}"));
        pending.map_or_else(|| self.store.member_by_phone(phone), |m| Ok(Some(m)))
    }

    /// `phone_owner` for card numbers.
    fn card_owner(&self, card: &str) -> Result<Option<MemberId>, StoreError> {
        let pending = self.pending_owner(&format!("card:{card}"));
        pending.map_or_else(|| self.store.member_by_card(card), |m| Ok(Some(m)))
    }

    fn pending_owner(&self, key: &str) -> Option<MemberId> {
        let pending = self.pending_index.lock().expect("pending index lock");
        pending.get(key).map(|(m, _)| m.clone())
    }

    /// Which member an index entry keeps when `candidate` claims a key that
    /// `owner` may hold; a clash is listed as duplicates.
    fn index_winner(
        &self,
        owner: Option<MemberId>,
        candidate: &MemberId,
        key: &str,
        effects: &mut Effects,
    ) -> MemberId {
        match owner {
            Some(o) if o != *candidate => {
                effects.duplicates.push((key.to_string(), o.clone()));
                effects
                    .duplicates
                    .push((key.to_string(), candidate.clone()));
                o.min(candidate.clone())
            }
            _ => candidate.clone(),
        }
    }

    pub fn release_claims(&self, claims: Vec<String>) {
        if !claims.is_empty() {
            let mut c = self.claims.lock().expect("claims lock");
            for k in claims {
                c.remove(&k);
            }
        }
    }
}

/// The node's engine: a cheap handle shared by all request handlers.
#[derive(Clone)]
pub struct Engine {
    core: Arc<Core>,
    admission: Arc<Semaphore>,
}

/// An admitted request: holds a place among the requests in flight.
pub struct Admitted(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

impl Engine {
    pub fn new(
        store: Store,
        programme: Programme,
        recovered_hlc: Hlc,
        config: EngineConfig,
    ) -> Engine {
        let node = store.node().clone();
        let mut merged = Merged::default();
        // A node that cannot read its merges would answer lookups wrongly;
        // the store was just opened, so a failure here is a broken disk.
        for (a, s) in store.merged().expect("reading the merges at start") {
            merged.add(a, s);
        }
        // The programme the store's document holds; without one, the
        // initial document's (the default programme, `programme`).
        let (programme, programme_doc) = match store
            .programme_doc()
            .expect("reading the programme at start")
        {
            Some(bytes) => {
                let doc = programme_doc::load(&bytes).expect("a stored programme document loads");
                let p = programme_doc::materialise(&doc).expect("a stored programme is valid");
                (p, bytes)
            }
            None => {
                debug_assert_eq!(
                    programme,
                    Programme::default(),
                    "nodes start on the default programme"
                );
                (programme, programme_doc::initial().save())
            }
        };
        // The store writes the initial catalogue document at creation.
        let catalogue_bytes = store
            .catalogue_doc()
            .expect("reading the catalogue at start")
            .unwrap_or_else(|| catalogue_doc::initial().save());
        let catalogue = catalogue_doc::materialise(
            &catalogue_doc::load(&catalogue_bytes).expect("a stored catalogue document loads"),
        )
        .expect("a stored catalogue is valid");
        let core = Arc::new(Core {
            store,
            node,
            programme: std::sync::RwLock::new(Arc::new(programme)),
            programme_doc: Mutex::new(programme_doc),
            catalogue: Mutex::new((catalogue_bytes, catalogue)),
            idle_passivate: config.idle_passivate,
            clock: Mutex::new(HlcClock::starting_at(recovered_hlc)),
            accounts: Mutex::new(HashMap::new()),
            claims: Mutex::new(HashSet::new()),
            pending_index: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashSet::new()),
            broker: Mutex::new(None),
            role: Mutex::new(None),
            merged: Mutex::new(merged),
            merge_lock: tokio::sync::Mutex::new(()),
        });
        Engine {
            core,
            admission: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
        }
    }

    pub fn node(&self) -> &NodeId {
        &self.core.node
    }

    /// This node's role in its chain (`None`, the default: a node of no
    /// chain). Drafts the role may not author are refused
    /// (`authority::may_author`): HQ sells nothing; stores author no
    /// programme or catalogue.
    pub fn set_role(&self, role: Option<OriginRole>) {
        *self.core.role.lock().expect("role lock") = role;
    }

    /// This node's role in its chain, as set by `set_role`.
    pub fn role(&self) -> Option<OriginRole> {
        *self.core.role.lock().expect("role lock")
    }

    /// Let checkouts ask other nodes for shares.
    pub fn set_broker(&self, broker: Arc<dyn EscrowBroker>) {
        *self.core.broker.lock().expect("broker lock") = Some(broker);
    }

    fn broker(&self) -> Option<Arc<dyn EscrowBroker>> {
        self.core.broker.lock().expect("broker lock").clone()
    }

    pub fn store(&self) -> &Store {
        &self.core.store
    }

    /// The programme now (HQ may change it: `change_programme`, or a
    /// `ProgrammeChanged` op from HQ).
    pub fn programme(&self) -> Arc<Programme> {
        self.core.programme()
    }

    /// HQ (or a chain-less node) changes the programme to `asked`: an
    /// automerge change of the programme document, logged as a
    /// `ProgrammeChanged` op. Decisions made after it use it; ops made
    /// before keep what they decided. Answers once durable. Who may ask is
    /// the caller's check (the API: HQ or a node without a chain), and the
    /// engine refuses the draft of a store of a chain (`set_role`).
    pub async fn change_programme(
        &self,
        asked: Programme,
        actor: String,
        idem: Option<Idem>,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let (rx, outcome) = {
                let mut doc_bytes = me.core.programme_doc.lock().expect("programme lock");
                let mut doc = programme_doc::load(&doc_bytes)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                let at = me.core.tick();
                let change = match programme_doc::change(&mut doc, &me.core.node, at, &asked) {
                    Ok(c) => c,
                    Err(programme_doc::ProgrammeDocError::Invalid(e)) => return Err(e.into()),
                    Err(e) => return Err(EngineError::Internal(e.to_string())),
                };
                let now = programme_doc::materialise(&doc)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                let outcome = Outcome::Programme(now.clone());
                let Some(change) = change else {
                    // Nothing differs: nothing to log.
                    me.end_idem(idem.as_ref());
                    return Ok(outcome);
                };
                let body = OpBody::ProgrammeChanged {
                    change,
                    programme: now.clone(),
                };
                let (draft, _) = me.core.draft_at(actor, idem.as_ref(), body, at)?;
                let saved = programme_doc::canonical(&doc)
                    .map_err(|e| EngineError::Internal(e.to_string()))?
                    .save();
                let effects = Effects {
                    programme: Some(saved.clone()),
                    idem: idem.as_ref().map(|i| i.record(&outcome)),
                    ..Default::default()
                };
                let (tx, rx) = tokio::sync::oneshot::channel();
                let core = me.core.clone();
                let key = idem.as_ref().map(|i| i.key.clone());
                me.core.store.submit(
                    tongka_store::Source::Local(draft),
                    effects,
                    Box::new(move |res| {
                        core.finish(key, Vec::new());
                        let _ = tx.send(res);
                    }),
                );
                *doc_bytes = saved;
                *me.core.programme.write().expect("programme lock") = Arc::new(now);
                (rx, outcome)
            };
            match rx.await {
                Ok(Ok(_)) => Ok(outcome),
                Ok(Err(e)) => Err(e.into()),
                Err(_) => Err(EngineError::Internal("the writer stopped".into())),
            }
        })
        .await
    }

    /// Apply HQ's `ProgrammeChanged` op made elsewhere: its change to the
    /// programme document, in its place among the ops handed to the
    /// writer. A change that does not apply is logged as rejected.
    fn apply_programme_remote(&self, op: Op, on_durable: tongka_store::Done) {
        let OpBody::ProgrammeChanged { change, .. } = &op.body else {
            unreachable!("called for programme changes only")
        };
        let mut doc_bytes = self.core.programme_doc.lock().expect("programme lock");
        let mut effects = Effects::default();
        match programme_doc::apply_to(&doc_bytes, op.origin(), change) {
            Ok((bytes, now)) => {
                *doc_bytes = bytes.clone();
                effects.programme = Some(bytes);
                *self.core.programme.write().expect("programme lock") = Arc::new(now);
            }
            Err(e) => effects.rejected = Some(e.to_string()),
        }
        self.core.observe(op.hlc);
        self.core
            .store
            .submit(tongka_store::Source::Remote(op), effects, on_durable);
    }

    /// HQ (or a chain-less node) puts `products` (new ones or new
    /// versions) into the catalogue: an automerge change of the catalogue
    /// document, logged as a `CatalogueChanged` op and materialised in the
    /// same commit. Sales decided after it use the new prices; sales made
    /// before keep theirs. Answers the products as materialised, once
    /// durable. Who may ask is the caller's check (the API: HQ or a node
    /// without a chain), and the engine refuses the draft of a store of a
    /// chain (`set_role`).
    pub async fn change_catalogue(
        &self,
        products: Vec<Product>,
        actor: String,
    ) -> Result<Vec<Product>, EngineError> {
        let rx = {
            let mut held = self.core.catalogue.lock().expect("catalogue lock");
            let mut doc =
                catalogue_doc::load(&held.0).map_err(|e| EngineError::Internal(e.to_string()))?;
            let at = self.core.tick();
            let change = match catalogue_doc::change(&mut doc, &self.core.node, at, &products) {
                Ok(c) => c,
                Err(catalogue_doc::CatalogueDocError::Invalid(e)) => return Err(e.into()),
                Err(e) => return Err(EngineError::Internal(e.to_string())),
            };
            let now = catalogue_doc::materialise(&doc)
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            let answer: Vec<Product> = products
                .iter()
                .filter_map(|p| now.get(&p.sku).cloned())
                .collect();
            let Some(change) = change else {
                return Ok(answer);
            };
            let body = OpBody::CatalogueChanged { change, products };
            let (draft, _) = self.core.draft_at(actor, None, body, at)?;
            let saved = catalogue_doc::canonical(&doc)
                .map_err(|e| EngineError::Internal(e.to_string()))?
                .save();
            let effects = Effects {
                catalogue: Some(CatalogueWrite {
                    doc: saved.clone(),
                    products: changed_products(&held.1, &now),
                }),
                ..Default::default()
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.core.store.submit(
                tongka_store::Source::Local(draft),
                effects,
                Box::new(move |res| {
                    let _ = tx.send(res.map(|_| answer));
                }),
            );
            *held = (saved, now);
            rx
        };
        match rx.await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(EngineError::Internal("the writer stopped".into())),
        }
    }

    /// Apply HQ's `CatalogueChanged` op made elsewhere: its change to the
    /// catalogue document, materialised in the same commit, in its place
    /// among the ops handed to the writer. A change that does not apply is
    /// logged as rejected.
    fn apply_catalogue_remote(&self, op: Op, on_durable: tongka_store::Done) {
        let OpBody::CatalogueChanged { change, .. } = &op.body else {
            unreachable!("called for catalogue changes only")
        };
        let mut held = self.core.catalogue.lock().expect("catalogue lock");
        let mut effects = Effects::default();
        match catalogue_doc::apply_to(&held.0, op.origin(), change) {
            Ok((bytes, now)) => {
                effects.catalogue = Some(CatalogueWrite {
                    doc: bytes.clone(),
                    products: changed_products(&held.1, &now),
                });
                *held = (bytes, now);
            }
            Err(e) => effects.rejected = Some(e.to_string()),
        }
        self.core.observe(op.hlc);
        self.core
            .store
            .submit(tongka_store::Source::Remote(op), effects, on_durable);
    }

    /// Apply a programme or catalogue change made elsewhere.
    fn apply_document_remote(&self, op: Op, on_durable: tongka_store::Done) {
        if matches!(op.body, OpBody::CatalogueChanged { .. }) {
            self.apply_catalogue_remote(op, on_durable);
        } else {
            self.apply_programme_remote(op, on_durable);
        }
    }

    /// How many account actors are alive now.
    pub fn active_accounts(&self) -> usize {
        self.core.accounts.lock().expect("accounts lock").len()
    }

    /// Admission control: a place among the requests in flight, or
    /// `overloaded` at once.
    pub fn admit(&self) -> Result<Admitted, EngineError> {
        self.admission
            .clone()
            .try_acquire_owned()
            .map(Admitted)
            .map_err(|_| EngineError::Overloaded)
    }

    /// Start an idempotent request: `Some(answer)` if the key already
    /// answered this very request; an error if it answered another one or
    /// is still busy. The caller must call the operation next, which frees
    /// the key once committed (or refused).
    fn begin_idem(&self, idem: Option<&Idem>) -> Result<Option<Outcome>, EngineError> {
        let Some(idem) = idem else { return Ok(None) };
        if !self
            .core
            .inflight
            .lock()
            .expect("inflight lock")
            .insert(idem.key.clone())
        {
            return Err(EngineError::IdemInProgress(idem.key.clone()));
        }
        let found = match self.core.store.idem(&idem.key) {
            Ok(f) => f,
            Err(e) => {
                self.end_idem(Some(idem));
                return Err(e.into());
            }
        };
        match found {
            None => Ok(None),
            Some(rec) => {
                self.end_idem(Some(idem));
                if rec.fingerprint != idem.fingerprint {
                    return Err(EngineError::IdemConflict(idem.key.clone()));
                }
                Ok(Some(self.stored_answer(&rec.body)?))
            }
        }
    }

    /// Look up an idempotency key before the request is even parsed: the
    /// first answer if it was this very request, `idempotency_key_reused`
    /// if it was another. Nothing is reserved; the operation checks again.
    pub fn replay(&self, idem: Option<&Idem>) -> Result<Option<Outcome>, EngineError> {
        let Some(idem) = idem else { return Ok(None) };
        match self.core.store.idem(&idem.key)? {
            None => Ok(None),
            Some(rec) if rec.fingerprint != idem.fingerprint => {
                Err(EngineError::IdemConflict(idem.key.clone()))
            }
            Some(rec) => Ok(Some(self.stored_answer(&rec.body)?)),
        }
    }

    /// The first answer from an idempotency record's body.
    fn stored_answer(&self, body: &[u8]) -> Result<Outcome, EngineError> {
        let stored = decode_stored_answer(body)
            .map_err(|e| EngineError::Internal(format!("stored answer: {e}")))?;
        match stored {
            StoredAnswer::Outcome(o) => Ok(o),
            StoredAnswer::CheckedOut { order } => {
                // Committed with the record, in the same transaction.
                let state = self.core.store.order(&order)?.ok_or_else(|| {
                    EngineError::Internal(format!("stored answer: order {order} missing"))
                })?;
                let member = match &state.order.member {
                    Some(m) => self.core.store.member(m)?,
                    None => None,
                };
                Ok(Outcome::CheckedOut {
                    order: OrderState::new(state.order),
                    member,
                })
            }
        }
    }

    fn end_idem(&self, idem: Option<&Idem>) {
        if let Some(i) = idem {
            self.core
                .inflight
                .lock()
                .expect("inflight lock")
                .remove(&i.key);
        }
    }

    /// Run an idempotent operation: replay, or run `f` and free the key if
    /// it was refused before reaching the log.
    ///
    /// The operation runs to its end whatever the caller does (`detach`):
    /// a client that hangs up mid-request drops the caller's future (the
    /// HTTP handler's), but not the operation, which goes on as its own
    /// task, ends as it would have and frees the key (or commits, and its
    /// stored answer then answers for the key). Dropping the operation itself instead would leave the
    /// key in flight, every retry answered `idempotency_key_in_progress`
    /// until a restart (issue 10); and freeing the key on drop would let a
    /// retry run while the first attempt's op may already be on its way to
    /// the writer.
    async fn idempotent<F, Fut>(
        &self,
        idem: Option<Idem>,
        f: F,
    ) -> Result<(Outcome, bool), EngineError>
    where
        F: FnOnce(Engine, Option<Idem>) -> Fut,
        Fut: Future<Output = Result<Outcome, EngineError>> + Send + 'static,
    {
        if let Some(first) = self.begin_idem(idem.as_ref())? {
            return Ok((first, true));
        }
        let key = idem.clone();
        let op = f(self.clone(), idem);
        let me = self.clone();
        let res = detach(async move {
            let res = op.await;
            if res.is_err() {
                // Refused (nothing written) or failed: the key stays unused.
                me.end_idem(key.as_ref());
            }
            res
        })
        .await;
        res.map(|o| (o, false))
    }

    async fn account(&self, key: &AccountKey) -> Result<ActorRef<AccountMsg>, EngineError> {
        self.account_with(key, None).await
    }

    /// The account's actor, activated with `preload` as its state if it is
    /// not alive (else from disk).
    async fn account_with(
        &self,
        key: &AccountKey,
        preload: Option<MemberState>,
    ) -> Result<ActorRef<AccountMsg>, EngineError> {
        if let Some(r) = self.core.accounts.lock().expect("accounts lock").get(key) {
            return Ok(r.clone());
        }
        let spawned = Actor::spawn(
            None,
            AccountActor {
                core: self.core.clone(),
            },
            (key.clone(), preload),
        )
        .await;
        let (actor, _handle) = match spawned {
            Ok(a) => a,
            Err(e) => {
                // pre_start refuses unknown members.
                if let AccountKey::Member(id) = key
                    && self.core.store.member(id)?.is_none()
                {
                    return Err(MemberError::NotFound(id.to_string()).into());
                }
                return Err(EngineError::Internal(format!("activating {key:?}: {e}")));
            }
        };
        let mut map = self.core.accounts.lock().expect("accounts lock");
        match map.get(key) {
            Some(existing) => {
                // Another request activated it meanwhile; ours has done nothing.
                actor.stop(None);
                Ok(existing.clone())
            }
            None => {
                map.insert(key.clone(), actor.clone());
                Ok(actor)
            }
        }
    }

    /// Send to the account actor, activating it, and retrying if it was
    /// just passivating (then it did not see the message).
    async fn call<F>(&self, key: AccountKey, make: F) -> Result<Outcome, EngineError>
    where
        F: Fn(RpcReplyPort<Result<Outcome, EngineError>>) -> AccountMsg,
    {
        for _ in 0..4 {
            let actor = self.account(&key).await?;
            match actor.call(&make, None).await {
                Ok(ractor::rpc::CallResult::Success(res)) => return res,
                Ok(_) | Err(_) => {
                    self.core.forget(&key, actor.get_id());
                }
            }
        }
        Err(EngineError::Internal(format!(
            "account {key:?} kept stopping"
        )))
    }

    pub async fn register(
        &self,
        actor: String,
        idem: Option<Idem>,
        profile: Profile,
    ) -> Result<(Outcome, bool), EngineError> {
        profile.validate().map_err(MemberError::from)?;
        self.idempotent(idem, move |me, idem| async move {
            let core = &me.core;
            let claims = me.claim(&profile.phone, profile.card_no.as_deref(), None)?;
            let member = MemberId::mint(&core.node, core.store.next_entity());
            let made = core
                .draft(
                    actor,
                    idem.as_ref(),
                    OpBody::MemberRegistered {
                        member: member.clone(),
                        profile: profile.clone(),
                    },
                )
                .and_then(|(draft, op)| {
                    MemberState::registered(&op)
                        .map(|state| (draft, state))
                        .map_err(|e| EngineError::Internal(e.to_string()))
                });
            let (draft, state) = match made {
                Ok(m) => m,
                Err(e) => {
                    // Nothing was submitted: the numbers are free again.
                    core.release_claims(claims);
                    return Err(e);
                }
            };
            let outcome = Outcome::Member(state.clone());
            let mut effects = Effects {
                member: Some(state),
                ..Default::default()
            };
            effects
                .phones
                .push((profile.phone.clone(), Some(member.clone())));
            if let Some(c) = &profile.card_no {
                effects.cards.push((c.clone(), Some(member.clone())));
            }
            if let Some(i) = &idem {
                effects.idem = Some(i.record(&outcome));
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            let core2 = core.clone();
            let key = idem.map(|i| i.key);
            core.store.submit(
                Source::Local(draft),
                effects,
                Box::new(move |res| {
                    core2.finish(key, claims);
                    let _ = tx.send(res);
                }),
            );
            rx.await
                .map_err(|_| EngineError::Internal("writer dropped a request".into()))??;
            Ok(outcome)
        })
        .await
    }

    /// Reserve a phone (and card) number for `member` (or a new member).
    fn claim(
        &self,
        phone: &str,
        card: Option<&str>,
        member: Option<&MemberId>,
    ) -> Result<Vec<String>, EngineError> {
        let store = &self.core.store;
        let mut claims = self.core.claims.lock().expect("claims lock");
        let phone_key = format!("phone:{phone}");
        let owner = store.member_by_phone(phone)?;
        if claims.contains(&phone_key) || owner.is_some_and(|o| Some(&o) != member) {
            return Err(MemberError::PhoneTaken(phone.to_string()).into());
        }
        let mut out = vec![phone_key];
        if let Some(card) = card {
            let card_key = format!("card:{card}");
            let owner = store.member_by_card(card)?;
            if claims.contains(&card_key) || owner.is_some_and(|o| Some(&o) != member) {
                return Err(MemberError::CardTaken(card.to_string()).into());
            }
            out.push(card_key);
        }
        for k in &out {
            claims.insert(k.clone());
        }
        Ok(out)
    }

    /// Change a member's profile. Runs to its end whatever the caller
    /// does (`detach`), like `idempotent`: a new phone or card number is claimed until the change
    /// commits or is refused, so a client hanging up must not stop it
    /// halfway (the number would stay claimed, `phone_taken`, until a
    /// restart).
    pub async fn update_profile(
        &self,
        actor: String,
        member: MemberId,
        patch: ProfilePatch,
    ) -> Result<Outcome, EngineError> {
        let me = self.clone();
        detach(async move { me.update_profile_now(actor, member, patch).await }).await
    }

    async fn update_profile_now(
        &self,
        actor: String,
        member: MemberId,
        patch: ProfilePatch,
    ) -> Result<Outcome, EngineError> {
        let member = self.resolve(&member);
        let current = self
            .core
            .store
            .member(&member)?
            .ok_or_else(|| MemberError::NotFound(member.to_string()))?;
        let new_phone = patch.phone.clone().filter(|p| *p != current.profile.phone);
        let new_card = patch
            .card_no
            .clone()
            .flatten()
            .filter(|c| Some(c) != current.profile.card_no.as_ref());
        if let Some(p) = &new_phone {
            tongka_core::member::validate_phone(p).map_err(MemberError::from)?;
        }
        if let Some(c) = &new_card {
            tongka_core::member::validate_card_no(c).map_err(MemberError::from)?;
        }
        let claimed = match (&new_phone, &new_card) {
            (None, None) => Vec::new(),
            (Some(p), card) => self.claim(p, card.as_deref(), Some(&member))?,
            (None, Some(c)) => {
                // Claim only the card: check it the same way.
                let mut claims = self.core.claims.lock().expect("claims lock");
                let key = format!("card:{c}");
                let owner = self.core.store.member_by_card(c)?;
                if claims.contains(&key) || owner.is_some_and(|o| o != member) {
                    return Err(MemberError::CardTaken(c.clone()).into());
                }
                claims.insert(key.clone());
                vec![key]
            }
        };
        self.call(AccountKey::Member(member), move |reply| {
            AccountMsg::UpdateProfile {
                actor: actor.clone(),
                patch: patch.clone(),
                claimed: claimed.clone(),
                reply,
            }
        })
        .await
    }

    pub async fn recharge(
        &self,
        actor: String,
        idem: Option<Idem>,
        member: MemberId,
        amount: Money,
        tender: TenderKind,
    ) -> Result<(Outcome, bool), EngineError> {
        let member = self.resolve(&member);
        self.idempotent(idem, move |me, idem| async move {
            me.call(AccountKey::Member(member), move |reply| {
                AccountMsg::Recharge {
                    actor: actor.clone(),
                    idem: idem.clone(),
                    amount,
                    tender,
                    reply,
                }
            })
            .await
        })
        .await
    }

    /// Resolve lines against the catalogue.
    pub fn resolve_lines(&self, lines: Vec<LineRequest>) -> Result<Vec<LineInput>, EngineError> {
        let store = &self.core.store;
        lines
            .into_iter()
            .map(|l| {
                Ok(match l {
                    LineRequest::Sku { sku, qty } => {
                        let p = store.product(&sku)?.ok_or(ProductError::Unknown(sku))?;
                        LineInput {
                            sku: Some(p.sku),
                            barcode: p.barcode,
                            description: p.name,
                            unit_price: p.price,
                            qty,
                        }
                    }
                    LineRequest::Barcode { barcode, qty } => {
                        let p = store
                            .product_by_barcode(&barcode)?
                            .ok_or(ProductError::Unknown(barcode))?;
                        LineInput {
                            sku: Some(p.sku),
                            barcode: p.barcode,
                            description: p.name,
                            unit_price: p.price,
                            qty,
                        }
                    }
                    LineRequest::Free {
                        description,
                        unit_price,
                        qty,
                    } => LineInput {
                        sku: None,
                        barcode: None,
                        description,
                        unit_price,
                        qty,
                    },
                })
            })
            .collect()
    }

    pub async fn checkout(
        &self,
        actor: String,
        idem: Option<Idem>,
        member: Option<MemberId>,
        lines: Vec<LineRequest>,
        tenders: Vec<TenderInput>,
    ) -> Result<(Outcome, bool), EngineError> {
        self.checkout_with_points(actor, idem, member, lines, tenders, 0)
            .await
    }

    /// `checkout`, paying `points` of the member's points (积分抵现; 0 =
    /// none). Short of balance or of points here, the node asks the
    /// stores that hold the rest (`escrow`), then decides again; at most
    /// once for each (a sale short of both asks for both).
    pub async fn checkout_with_points(
        &self,
        actor: String,
        idem: Option<Idem>,
        member: Option<MemberId>,
        lines: Vec<LineRequest>,
        tenders: Vec<TenderInput>,
        points: i64,
    ) -> Result<(Outcome, bool), EngineError> {
        let member = member.map(|m| self.resolve(&m));
        let paying = member.clone();
        let out = self
            .idempotent(idem, move |me, idem| async move {
                let lines = me.resolve_lines(lines)?;
                let key = match &member {
                    Some(m) => AccountKey::Member(m.clone()),
                    None => AccountKey::WalkIn,
                };
                let msg = |reply| AccountMsg::Checkout {
                    actor: actor.clone(),
                    idem: idem.clone(),
                    lines: lines.clone(),
                    tenders: tenders.clone(),
                    points,
                    reply,
                };
                let mut result = me.call(key.clone(), msg).await;
                let (mut asked_money, mut asked_points) = (false, false);
                // Short here: ask the stores that hold the rest, then try again.
                while let (Err(EngineError::Checkout(short)), Some(m), Some(broker)) =
                    (&result, &member, me.broker())
                {
                    let short = match short {
                        CheckoutError::InsufficientBalance {
                            wanted,
                            available_here,
                        } if !asked_money => {
                            asked_money = true;
                            Want::Money(*wanted - *available_here)
                        }
                        CheckoutError::InsufficientPoints {
                            wanted,
                            available_here,
                        } if !asked_points => {
                            asked_points = true;
                            Want::Points(*wanted - *available_here)
                        }
                        _ => break,
                    };
                    if !me.cover(&broker, m, short).await {
                        break;
                    }
                    result = me.call(key.clone(), msg).await;
                }
                result
            })
            .await?;
        if let Some(m) = &paying
            && !out.1
        {
            self.pull_ahead(m);
        }
        Ok(out)
    }

    /// What `checkout_with_points` would decide now, changing nothing: the
    /// same calculator (`tongka_core::checkout`) on the member as this
    /// node's store holds it and the programme now, with no op, no order
    /// number taken, no clock tick and no escrow ask. Short of balance or
    /// points at this store, it is refused as the sale would be before it
    /// asks the other stores (the sale may still succeed after asking).
    /// The quote's `id` and `at` are placeholders: a sale gets its own.
    pub fn quote_checkout(
        &self,
        member: Option<MemberId>,
        lines: Vec<LineRequest>,
        tenders: Vec<TenderInput>,
        points: i64,
    ) -> Result<tongka_core::checkout::Order, EngineError> {
        let member = member.map(|m| self.member(&m)).transpose()?;
        let lines = self.resolve_lines(lines)?;
        let programme = self.core.programme();
        let buyer = member.as_ref().map(|m| tongka_core::checkout::Buyer {
            member: &m.id,
            level: programme.level_for(m.cumulative_principal),
            wallet: &m.wallet,
        });
        let ctx = tongka_core::checkout::CheckoutContext {
            programme: &programme,
            store: &self.core.node,
            order: OrderId::mint(&self.core.node, 0),
            at: Hlc::default(),
            buyer,
        };
        Ok(tongka_core::checkout::checkout_with_points(
            &ctx, &lines, &tenders, points,
        )?)
    }

    pub async fn refund(
        &self,
        actor: String,
        idem: Option<Idem>,
        order: OrderId,
        lines: Option<Vec<RefundLine>>,
        reason: String,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let state = me
                .core
                .store
                .order(&order)?
                .ok_or_else(|| EngineError::OrderNotFound(order.to_string()))?;
            let key = match &state.order.member {
                Some(m) => AccountKey::Member(m.clone()),
                None => AccountKey::WalkIn,
            };
            let out = me
                .call(key.clone(), move |reply| AccountMsg::Refund {
                    actor: actor.clone(),
                    idem: idem.clone(),
                    order: Box::new(state.clone()),
                    lines: lines.clone(),
                    reason: reason.clone(),
                    reply,
                })
                .await?;
            // A refund to a member merged away since the sale credits this
            // store's share of it: moved on to the survivor.
            if let AccountKey::Member(m) = &key
                && let Err(e) = me.settle(m).await
            {
                tracing::warn!(member = %m, error = %e, "moving a merged member's share failed; retried on its next op");
            }
            Ok(out)
        })
        .await
    }

    /// Apply an op made by another node, delivered in causal order: a batch
    /// of one (`apply_remote_batch`, the one path). Returns once the op is
    /// queued for the writer, so ops handed over one after another are
    /// committed in that order; `on_durable` is called when it is durable.
    /// An op that fails its checks is logged as rejected.
    pub async fn apply_remote(
        &self,
        op: Op,
        on_durable: tongka_store::Done,
    ) -> Result<(), EngineError> {
        self.apply_remote_items(vec![(op, None, Some(on_durable))])
            .await
    }

    /// The member `id` is now: itself, unless merged into another.
    pub fn resolve(&self, id: &MemberId) -> MemberId {
        let merged = self.core.merged.lock().expect("merged lock");
        if merged.is_empty() {
            id.clone()
        } else {
            merged.resolve(id)
        }
    }

    /// If `m` was merged away and this node holds a share of it, move that
    /// share to the survivor (an op of this node's: only a share's owner
    /// decreases it).
    pub async fn settle(&self, m: &MemberId) -> Result<bool, EngineError> {
        let into = self.resolve(m);
        if into == *m {
            return Ok(false);
        }
        let _g = self.core.merge_lock.lock().await;
        self.move_call(m, &into, None).await
    }

    /// Move every merged-away member's share held here (at start: a move
    /// cut short by a crash is made now).
    pub async fn settle_all(&self) -> Result<usize, EngineError> {
        let absorbed: Vec<MemberId> = self
            .core
            .store
            .merged()?
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        let mut moved = 0;
        for m in absorbed {
            // Nothing is in flight at start: what disk says is the share.
            let holds = self
                .core
                .store
                .member(&m)?
                .is_some_and(|s| s.wallet.share(&self.core.node) != Default::default());
            if holds {
                moved += usize::from(self.settle(&m).await?);
            }
        }
        Ok(moved)
    }

    /// Hand a merge move to `m`'s actor, with the survivor `into`'s actor
    /// to credit. The caller holds the merge lock.
    async fn move_call(
        &self,
        m: &MemberId,
        into: &MemberId,
        remote: Option<(Box<Op>, tongka_store::Done)>,
    ) -> Result<bool, EngineError> {
        let survivor = self.account(&AccountKey::Member(into.clone())).await?;
        let actor = self.account(&AccountKey::Member(m.clone())).await?;
        let remote = Mutex::new(remote);
        let sent = actor
            .call(
                |reply| AccountMsg::Move {
                    survivor: survivor.clone(),
                    into: into.clone(),
                    remote: remote.lock().expect("once").take(),
                    reply,
                },
                None,
            )
            .await;
        match sent {
            Ok(ractor::rpc::CallResult::Success(r)) => r,
            _ => Err(EngineError::Internal(format!(
                "account {m} stopped during a merge move"
            ))),
        }
    }

    /// Apply ops made by other nodes, delivered in causal order, as one
    /// batch: each account's ops go to its actor in one message, the actors
    /// work in parallel, and the ops are handed to the writer in the given
    /// order to be committed in one transaction. Returns once they are
    /// handed over, so batches handed over one after another are committed
    /// in that order. An op that fails its checks is logged as rejected.
    ///
    /// Merge ops (`MembersMerged`, `MergeMoved`: they change two accounts)
    /// go one at a time, in their place, between the runs of other ops; after
    /// the batch this node moves its own share of any merged-away member the
    /// batch touched to the survivor.
    pub async fn apply_remote_batch(&self, ops: Vec<Op>) -> Result<(), EngineError> {
        self.apply_remote_items(ops.into_iter().map(|op| (op, None, None)).collect())
            .await
    }

    /// `apply_remote_batch` for ops received with their encoding (verified
    /// against it): each is stored as received, not encoded again.
    pub async fn apply_remote_encoded(&self, ops: Vec<EncodedOp>) -> Result<(), EngineError> {
        self.apply_remote_items(
            ops.into_iter()
                .map(|e| (e.op, Some((e.bytes, e.hash)), None))
                .collect(),
        )
        .await
    }

    async fn apply_remote_items(&self, ops: Vec<RemoteIn>) -> Result<(), EngineError> {
        let any_merged = !self.core.merged.lock().expect("merged lock").is_empty();
        let mut touched: std::collections::BTreeSet<MemberId> = Default::default();
        let mut run = Vec::with_capacity(ops.len());
        for (op, encoded, on_durable) in ops {
            let on_durable = on_durable.unwrap_or_else(|| Box::new(|_| {}));
            match &op.body {
                OpBody::ProgrammeChanged { .. } | OpBody::CatalogueChanged { .. } => {
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    self.apply_document_remote(op, on_durable);
                }
                OpBody::MergeMoved { member, into, .. } => {
                    // It changes two accounts: one at a time, in its place.
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    let (member, into) = (member.clone(), into.clone());
                    let _g = self.core.merge_lock.lock().await;
                    self.move_call(&member, &into, Some((Box::new(op), on_durable)))
                        .await?;
                }
                OpBody::MembersMerged {
                    member, absorbed, ..
                } => {
                    // A batch of one, in its place; then lookups follow the
                    // merge, and this node moves its share of `absorbed`.
                    let (member, absorbed) = (member.clone(), absorbed.clone());
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    self.apply_remote_run(vec![(op, encoded, Some(on_durable))])
                        .await?;
                    self.core
                        .merged
                        .lock()
                        .expect("merged lock")
                        .add(absorbed.clone(), member);
                    touched.insert(absorbed);
                }
                body => {
                    if any_merged && let Some(m) = body.member() {
                        touched.insert(m.clone());
                    }
                    run.push((op, encoded, Some(on_durable)));
                }
            }
        }
        self.apply_remote_run(run).await?;
        for m in touched {
            if let Err(e) = self.settle(&m).await {
                tracing::warn!(member = %m, error = %e, "moving a merged member's share failed; retried on its next op");
            }
        }
        Ok(())
    }

    /// A run of remote ops without merge ops, applied as one batch.
    async fn apply_remote_run(&self, ops: Vec<RemoteIn>) -> Result<(), EngineError> {
        let n = ops.len();
        if n == 0 {
            return Ok(());
        }
        {
            let now = now_ms();
            let mut clock = self.core.clock.lock().expect("clock lock");
            for (op, _, _) in &ops {
                let _ = clock.observe(op.hlc, now);
            }
        }
        // Per account, in order of first appearance: its ops, and its state
        // when a registration in this batch creates it.
        let mut groups: Vec<(AccountKey, Option<MemberState>, Vec<RemoteItem>)> = Vec::new();
        let mut group_of: HashMap<AccountKey, usize> = HashMap::new();
        // Index entries this batch's registrations give, seen by the
        // registrations after them (here and in later batches) until they
        // are committed.
        let mut claimed: Vec<String> = Vec::new();
        let mut claim = |key: String, winner: &MemberId| {
            let mut pending = self.core.pending_index.lock().expect("pending index lock");
            let e = pending.entry(key.clone()).or_insert((winner.clone(), 0));
            e.0 = winner.clone();
            e.1 += 1;
            claimed.push(key);
        };
        for (index, (op, encoded, on_durable)) in ops.into_iter().enumerate() {
            let mut effects = Effects::default();
            if let OpBody::MembersMerged {
                member, absorbed, ..
            } = &op.body
            {
                effects.merged.push((absorbed.clone(), member.clone()));
            }
            let mut preload = None;
            let key = match &op.body {
                OpBody::MemberRegistered { member, profile } => {
                    let state = MemberState::registered(&op)
                        .map_err(|e| EngineError::Internal(e.to_string()))?;
                    let owner = self.core.phone_owner(&profile.phone)?;
                    let key = format!("phone:{}", profile.phone);
                    let winner = self.core.index_winner(owner, member, &key, &mut effects);
                    claim(key, &winner);
                    effects.phones.push((profile.phone.clone(), Some(winner)));
                    if let Some(card) = &profile.card_no {
                        let owner = self.core.card_owner(card)?;
                        let key = format!("card:{card}");
                        let winner = self.core.index_winner(owner, member, &key, &mut effects);
                        claim(key, &winner);
                        effects.cards.push((card.clone(), Some(winner)));
                    }
                    preload = Some(state);
                    AccountKey::Member(member.clone())
                }
                body => match body.member() {
                    Some(m) => AccountKey::Member(m.clone()),
                    None => AccountKey::WalkIn,
                },
            };
            let g = *group_of.entry(key.clone()).or_insert_with(|| {
                groups.push((key, None, Vec::new()));
                groups.len() - 1
            });
            let group = &mut groups[g];
            if group.1.is_none() && group.2.is_empty() {
                group.1 = preload;
            }
            group.2.push(RemoteItem {
                index,
                op,
                encoded,
                effects,
                on_durable,
            });
        }
        let (handed_tx, handed) = tokio::sync::watch::channel(false);
        // Send every account its ops, then collect the answers: the actors
        // work meanwhile.
        let mut waiting = Vec::with_capacity(groups.len());
        for (key, preload, items) in groups {
            let items = Arc::new(Mutex::new(Some(items)));
            let rx = self
                .send_remote(&key, preload.clone(), &items, &handed)
                .await?;
            waiting.push((key, preload, items, rx));
        }
        let mut slots: Vec<Option<tongka_store::Prepared>> = (0..n).map(|_| None).collect();
        for (key, preload, items, mut rx) in waiting {
            let mut tries = 0;
            let applied = loop {
                match rx.await {
                    Ok(a) => break a,
                    // The actor stopped before it took the ops (it was
                    // passivating): a fresh activation takes them.
                    Err(_) if items.lock().expect("remote items lock").is_some() && tries < 4 => {
                        tries += 1;
                        rx = self
                            .send_remote(&key, preload.clone(), &items, &handed)
                            .await?;
                    }
                    Err(_) => {
                        return Err(EngineError::Internal(format!(
                            "account {key:?} stopped while applying remote ops"
                        )));
                    }
                }
            };
            for (index, job) in applied.prepared {
                slots[index] = Some(job);
            }
        }
        let jobs: Vec<tongka_store::Prepared> = slots
            .into_iter()
            .map(|j| j.expect("every op of the batch was applied"))
            .collect();
        let core = self.core.clone();
        self.core.store.submit_all(
            jobs,
            Box::new(move |_| {
                // Committed (or the store failed): lookups read the index.
                let mut pending = core.pending_index.lock().expect("pending index lock");
                for key in claimed {
                    if let Some(e) = pending.get_mut(&key) {
                        e.1 -= 1;
                        if e.1 == 0 {
                            pending.remove(&key);
                        }
                    }
                }
            }),
        );
        let _ = handed_tx.send(true);
        Ok(())
    }

    /// Hand an account its share of a remote batch; the answer to await.
    async fn send_remote(
        &self,
        key: &AccountKey,
        preload: Option<MemberState>,
        items: &Arc<Mutex<Option<Vec<RemoteItem>>>>,
        handed: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<tokio::sync::oneshot::Receiver<account::RemoteApplied>, EngineError> {
        for _ in 0..4 {
            let actor = self.account_with(key, preload.clone()).await?;
            let (reply, rx) = tokio::sync::oneshot::channel();
            let msg = AccountMsg::ApplyRemoteBatch {
                items: items.clone(),
                handed: handed.clone(),
                reply,
            };
            if actor.send_message(msg).is_ok() {
                return Ok(rx);
            }
            self.core.forget(key, actor.get_id());
        }
        Err(EngineError::Internal(format!(
            "account {key:?} kept stopping"
        )))
    }

    /// The member's state as its actor holds it now.
    async fn snapshot(&self, id: &MemberId) -> Result<MemberState, EngineError> {
        let key = AccountKey::Member(id.clone());
        for _ in 0..4 {
            let actor = self.account(&key).await?;
            match actor
                .call(|reply| AccountMsg::Snapshot { reply }, None)
                .await
            {
                Ok(ractor::rpc::CallResult::Success(Some(m))) => return Ok(m),
                Ok(ractor::rpc::CallResult::Success(None)) => break,
                _ => self.core.forget(&key, actor.get_id()),
            }
        }
        Err(EngineError::Internal(format!("account {id} kept stopping")))
    }

    /// Merge `absorbed` into `survivor` (duplicates): the survivor's
    /// profile takes the absorbed member's blank fields and tags and its
    /// cumulative figures; every node moves its own share of the absorbed
    /// member's wallet and points to the survivor (this node at once).
    pub async fn merge_members(
        &self,
        actor: String,
        idem: Option<Idem>,
        survivor: MemberId,
        absorbed: MemberId,
    ) -> Result<(Outcome, bool), EngineError> {
        let gone = absorbed.clone();
        let out = self
            .idempotent(idem, move |me, idem| async move {
                let _g = me.core.merge_lock.lock().await;
                if me.core.store.member(&survivor)?.is_none() {
                    return Err(MemberError::NotFound(survivor.to_string()).into());
                }
                if me.core.store.member(&absorbed)?.is_none() {
                    return Err(MemberError::NotFound(absorbed.to_string()).into());
                }
                let absorbed_state = me.snapshot(&absorbed).await?;
                let merged = me.core.merged.lock().expect("merged lock").clone();
                let out = me
                    .call(AccountKey::Member(survivor.clone()), |reply| {
                        AccountMsg::Merge {
                            actor: actor.clone(),
                            idem: idem.clone(),
                            absorbed: Box::new(absorbed_state.clone()),
                            merged: Box::new(merged.clone()),
                            reply,
                        }
                    })
                    .await?;
                me.core
                    .merged
                    .lock()
                    .expect("merged lock")
                    .add(absorbed.clone(), survivor.clone());
                Ok(out)
            })
            .await?;
        if let Err(e) = self.settle(&gone).await {
            tracing::warn!(member = %gone, error = %e, "moving a merged member's share failed; retried on its next op");
        }
        Ok(out)
    }

    /// A member's history, newest first, with the history of the members
    /// merged into it.
    pub fn history(&self, id: &MemberId, limit: usize) -> Result<Vec<Op>, EngineError> {
        let m = self.member(id)?;
        let mut ops = self.core.store.member_history(&m.id, limit)?;
        for a in &m.absorbed {
            ops.extend(self.core.store.member_history(a, limit)?);
        }
        ops.sort_by(|x, y| (y.hlc, &y.id).cmp(&(x.hlc, &x.id)));
        ops.truncate(limit);
        Ok(ops)
    }

    /// Phone and card numbers held by more than one member.
    /// Merged pairs are no longer listed.
    pub fn duplicates(&self) -> Result<Vec<(String, Vec<MemberId>)>, EngineError> {
        let mut out = self.core.store.duplicates(LIST_MAX)?;
        out.retain(|(_, ids)| {
            let now: HashSet<MemberId> = ids.iter().map(|i| self.resolve(i)).collect();
            now.len() > 1
        });
        Ok(out)
    }

    /// A member's state as committed: reads see what is committed, which is
    /// all that was ever acknowledged.
    /// A member merged into another reads as the survivor.
    pub fn member(&self, id: &MemberId) -> Result<MemberState, EngineError> {
        self.core
            .store
            .member(&self.resolve(id))?
            .ok_or_else(|| MemberError::NotFound(id.to_string()).into())
    }

    pub fn order(&self, id: &OrderId) -> Result<OrderState, EngineError> {
        self.core
            .store
            .order(id)?
            .ok_or_else(|| EngineError::OrderNotFound(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer is read back as written: the whole outcome, or a sale's
    /// reference to its order; anything else is refused.
    #[test]
    fn stored_answers_read_back_as_written() {
        let now = Outcome::Programme(Programme {
            points_deduction: Some(tongka_core::programme::PointsDeduction {
                points_per_yuan: 100,
                cap: rust_decimal::Decimal::ONE,
                min_points: 0,
            }),
            ..Programme::default()
        });
        let body = postcard::to_allocvec(&StoredAnswerRef::Outcome(&now)).unwrap();
        let Ok(StoredAnswer::Outcome(back)) = decode_stored_answer(&body) else {
            panic!("an answer decodes");
        };
        assert_eq!(back, now);
        let order = OrderId::mint(&NodeId::new("s1").unwrap(), 3);
        let body = postcard::to_allocvec(&StoredAnswerRef::CheckedOut { order: &order }).unwrap();
        let Ok(StoredAnswer::CheckedOut { order: back }) = decode_stored_answer(&body) else {
            panic!("a sale's reference decodes");
        };
        assert_eq!(back, order);
        assert!(decode_stored_answer(&[7, 7]).is_err());
    }
}
