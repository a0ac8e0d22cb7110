//! tongka-actors: the node's live layer. Account actors (ractor) own members
//! and wallets, activated on demand and passivated when idle, so memory
//! follows the active set. In front of their unbounded mailboxes sits
//! admission control: at most `max_in_flight` requests are inside the node
//! at once; the rest are refused at the door with `overloaded`.
//!
//! The `Engine` is the API the edges (HTTP, benchmarks) use. It owns
//! idempotency: a key is checked before, and its answer stored in the same
//! commit as, the op it made.
//!
//! Modules, one job each: `core` (what the actors share; drafts),
//! `routing` (reaching an account's actor), `account` (the actor),
//! `idem` and `outcome` (idempotency and stored answers), `index` (phone
//! and card claims and index entries), `members` and `sales` (requests),
//! `documents` (programme and catalogue), `remote` (ops made elsewhere),
//! `merging` (merges and settling), `escrow` (shares asked of other
//! stores), `reads`, `error`, `detach`.

mod account;
mod cards;
pub mod closes;
mod core;
mod coupons;
mod detach;
mod documents;
mod error;
mod escrow;
mod idem;
mod index;
mod member_import;
mod members;
mod merging;
mod outcome;
mod reads;
mod remote;
mod routing;
mod sales;
mod settlement;
mod staff;
pub mod stock;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tongka_core::catalogue_doc;
use tongka_core::clock::{Hlc, HlcClock};
use tongka_core::ids::NodeId;
use tongka_core::merge::Merged;
use tongka_core::op::OriginRole;
use tongka_core::programme::Programme;
use tongka_core::programme_doc;
use tongka_db::Db;
use tongka_machine::idem::Idempotency;

pub(crate) use self::core::{Core, now_ms};
pub use account::AccountKey;
pub use coupons::BATCH_MEMBERS_MAX;
pub use error::EngineError;
pub use escrow::EscrowBroker;
pub use idem::Idem;
pub use member_import::ImportRow;
pub use outcome::Outcome;
pub use reads::LIST_MAX;
pub use sales::{Deduct, LineRequest};

pub struct EngineConfig {
    pub max_in_flight: usize,
    pub idle_passivate: Duration,
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
    pub fn new(db: Db, programme: Programme, recovered_hlc: Hlc, config: EngineConfig) -> Engine {
        let node = db.node().clone();
        let mut merged = Merged::default();
        // A node that cannot read its merges would answer lookups wrongly;
        // the store was just opened, so a failure here is a broken disk.
        for (a, s) in db.merged().expect("reading the merges at start") {
            merged.add(a, s);
        }
        // The programme the store's document holds; without one, the
        // initial document's (the default programme, `programme`).
        let (programme, programme_doc) =
            match db.programme_doc().expect("reading the programme at start") {
                Some(bytes) => {
                    let doc =
                        programme_doc::load(&bytes).expect("a stored programme document loads");
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
        let catalogue_bytes = db
            .catalogue_doc()
            .expect("reading the catalogue at start")
            .unwrap_or_else(|| catalogue_doc::initial().save());
        let catalogue = catalogue_doc::materialise(
            &catalogue_doc::load(&catalogue_bytes).expect("a stored catalogue document loads"),
        )
        .expect("a stored catalogue is valid");
        let staff = match db.staff_book().expect("reading the staff at start") {
            Some(bytes) => tongka_core::staff::StaffBook::from_bytes(&bytes)
                .expect("a stored staff book decodes"),
            None => Default::default(),
        };
        let stock = crate::stock::load_book(&db).expect("reading the stock at start");
        let core = Arc::new(Core {
            db,
            node,
            staff: Mutex::new(Arc::new(staff)),
            stock: Mutex::new(stock),
            stores: Mutex::new(None),
            programme: std::sync::RwLock::new(Arc::new(programme)),
            programme_doc: Mutex::new(programme_doc),
            catalogue: Mutex::new({
                let barcodes = catalogue_doc::barcodes(&catalogue);
                (catalogue_bytes, catalogue, barcodes)
            }),
            idle_passivate: config.idle_passivate,
            clock: Mutex::new(HlcClock::starting_at(recovered_hlc)),
            accounts: Mutex::new(HashMap::new()),
            claims: Mutex::new(HashSet::new()),
            pending_index: Mutex::new(HashMap::new()),
            inflight: Mutex::new(Idempotency::new()),
            broker: Mutex::new(None),
            asks: Default::default(),
            role: Mutex::new(None),
            merged: Mutex::new(merged),
            merge_lock: tokio::sync::Mutex::new(()),
            withdrawal_lock: tokio::sync::Mutex::new(()),
            close_lock: tokio::sync::Mutex::new(()),
            declines: Mutex::new(Default::default()),
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

    pub fn db(&self) -> &Db {
        &self.core.db
    }

    /// The programme now (HQ may change it: `change_programme`, or a
    /// `ProgrammeChanged` op from HQ).
    pub fn programme(&self) -> Arc<Programme> {
        self.core.programme()
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
}
