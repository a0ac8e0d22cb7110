//! What a caller hands the db with an op: where the op comes from, the
//! state it changes ([`Effects`]), the answer to call when it is durable,
//! and the refused remote ops it logs.

use serde::{Deserialize, Serialize};
use tongka_core::catalogue::Product;
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::op::{Op, OpDraft};
use tongka_core::refund::OrderState;
use tongka_core::state::MemberState;

use crate::DbError;

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
    /// The staff book after the op (`meta` `staff`, minicbor): a few
    /// hundred accounts, written whole by each rare staff op.
    pub staff: Option<Vec<u8>>,
    /// The op's stock effects (`crate::stock`).
    pub stock: Option<crate::StockWrite>,
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
pub type Done = Box<dyn FnOnce(Result<OpId, DbError>) + Send>;

/// A remote op refused before it reached the log (see `tables::REFUSED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedOp {
    pub id: OpId,
    /// The peer that sent it.
    pub from: NodeId,
    pub reason: String,
}
