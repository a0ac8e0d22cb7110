//! Stamping: how a draft made here becomes an op of this node's log,
//! written once for the store's writer and the simulator.
//!
//! The rule: the op's id is this node's next sequence number (one more
//! than the length of its own log it holds, so its log has no gap), and
//! its deps are what it holds of every *other* node's log (its own earlier
//! ops are implied by its sequence number). Everything else comes from the
//! draft as decided (clock reading, actor, idempotency key, body). The op
//! comes out unsigned (`sig` empty): signing needs the node's key and is
//! the store's (`op::sign_batch`), and the simulator does not sign.
//!
//! The rule reads what the node holds through [`Holdings`]: the writer's
//! version vector ([`Held`]), or a host's own view, such as the
//! simulator's dense counts with a cache of the last deps made (cheaper
//! than building the vector anew per op).

use tongka_core::clock::VersionVector;
use tongka_core::ids::{NodeId, OpId};
use tongka_core::op::{Op, OpDraft};

/// What a node holds of the chain's logs, as stamping reads it. Each log
/// is held as a prefix (ops are delivered in order), so a count per origin
/// says it all.
pub trait Holdings {
    /// The node that makes the op.
    fn origin(&self) -> &NodeId;
    /// How many of its own ops it holds: its log's length.
    fn own(&self) -> u64;
    /// What it holds of every other node's log (no entry for its own).
    /// `&mut`: a host may keep a cache here.
    fn others(&mut self) -> VersionVector;
}

/// [`Holdings`] read off a version vector of everything held, the node's
/// own log included (the store's summary).
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    pub origin: &'a NodeId,
    pub held: &'a VersionVector,
}

impl Holdings for Held<'_> {
    fn origin(&self) -> &NodeId {
        self.origin
    }

    fn own(&self) -> u64 {
        self.held.get(self.origin)
    }

    fn others(&mut self) -> VersionVector {
        self.held.without(self.origin)
    }
}

/// The op `draft` becomes when its origin makes it now: the next of its
/// log, depending on what it holds of others, unsigned. The caller logs
/// it (and holds it) before stamping the next one.
pub fn stamp(draft: OpDraft, holdings: &mut impl Holdings) -> Op {
    let id = OpId {
        origin: holdings.origin().clone(),
        seq: holdings.own() + 1,
    };
    let deps = holdings.others();
    debug_assert_eq!(
        deps.get(&id.origin),
        0,
        "an op's deps leave out its own origin"
    );
    draft.stamp(id, deps)
}

/// The sequence number of a provisional op: one the node applies to its
/// state before the writer numbers it (see [`provisional`]).
pub const PROVISIONAL_SEQ: u64 = u64::MAX;

/// The op `draft` will become, before the writer stamps it: for deciding
/// and applying to state ahead of the log, which read neither its number
/// nor its deps. Never logged, never sent.
pub fn provisional(draft: OpDraft, origin: &NodeId) -> Op {
    draft.stamp(
        OpId {
            origin: origin.clone(),
            seq: PROVISIONAL_SEQ,
        },
        VersionVector::new(),
    )
}

#[cfg(test)]
mod tests;
