//! Settling merges: when a node must move its own share of a merged-away
//! member to the survivor, written once for the node (`tongka-actors`:
//! `remote.rs` after a batch, `merging.rs` after a local merge and at
//! start) and the simulator (`sim/merges.rs`).
//!
//! The pure rules are `tongka_core::merge`: `decide_merge`, `decide_move`
//! (the move of a holder's whole share), `apply_credit`, `Merged::resolve`.
//! Money and points are shares, and only a share's owner may decrease it,
//! so after a merge every node that holds a share of the absorbed member
//! moves it itself, with a `MergeMoved` op of its own. This module says
//! when:
//!
//! - **after applying an op** (made here or received,
//!   [`Event::Applied`]): the member the op may have credited this node's
//!   share of ([`touches`]), the member of any op about one (a late
//!   recharge from a store that was cut off, a transfer given here, a
//!   refund, a sale's points), noted only if merged away here; and after a
//!   merge, its absorbed member (the merge itself obliges the move) and
//!   every merged-away member whose way to its survivor passes it
//!   (`Merged::through`): the smallest member of a cycle of concurrent
//!   merges owed nothing, and a later merge of a cycle member into a
//!   smaller member leads the cycle out, so it owes now.
//! - **at start** ([`Event::Started`]): every merged-away member this node
//!   holds a share of (a move a crash cut short, or one a failed commit
//!   lost, is made now).
//! - **when the node can write** ([`Settling::due`]): each member noted,
//!   in id order, with the member it resolves to now (a chain of merges
//!   moves straight to its end; the smallest member of a cycle owes
//!   nothing). The driver then decides the move on the member's newest
//!   state with [`move_of`] (nothing when it holds nothing).
//!
//! A `MergeMoved` notes nothing: it debits its origin's share of the
//! absorbed member and credits the origin's share of a member `resolve`
//! gave, which is not merged away (or owes nothing: a cycle's smallest).
//!
//! A note is a reason to look, not a debt: [`Settling::due`] and
//! [`move_of`] check again, so a note too many costs a look and moves
//! nothing. The driver keeps the notes while it cannot write (the
//! simulator, while a node's disk is full; the node keeps them for one
//! batch, and a move that failed is made at its next start).

use std::collections::BTreeSet;

use tongka_core::ids::{MemberId, NodeId};
use tongka_core::merge::{self, Merged};
use tongka_core::op::OpBody;
use tongka_core::state::MemberState;

/// The member whose share at the node that applies an op with this body
/// the op may have credited (were it merged away, the share would have to
/// move): a merge's absorbed member, any other op's member; none for a
/// share move or an op about no member.
pub fn touches(body: &OpBody) -> Option<&MemberId> {
    match body {
        OpBody::MembersMerged { absorbed, .. } => Some(absorbed),
        OpBody::MergeMoved { .. } => None,
        body => body.member(),
    }
}

/// The member `m`'s shares move to: the member it resolves to, if it was
/// merged away; `None` if not merged away, or the smallest member of a
/// cycle of merges (it is the survivor).
pub fn survivor(merged: &Merged, m: &MemberId) -> Option<MemberId> {
    if merged.is_empty() || !merged.contains(m) {
        return None;
    }
    let into = merged.resolve(m);
    (into != *m).then_some(into)
}

/// The move `holder` owes of merged-away `absorbed` (its newest state) to
/// `into`: its whole share, as a `MergeMoved` op of its own; `None` when
/// it holds nothing of it.
pub fn move_of(absorbed: &MemberState, into: &MemberId, holder: &NodeId) -> Option<OpBody> {
    merge::decide_move(absorbed, into, holder)
}

/// What happens at the node, for the rule.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The node applied an op with this body (made here or received),
    /// after its `Merged` learned a merge the op records.
    Applied(&'a OpBody),
    /// The node applied a merge of this absorbed member (as `Applied` of
    /// the `MembersMerged`, for a driver that holds the member, not the op).
    Merged(&'a MemberId),
    /// The node started: a member merged away here, as its state holds
    /// it (one event per merged-away member; twice is harmless).
    Started(&'a MemberState),
}

/// A move to decide now: `holder`'s share of `member`, merged away, goes
/// to `into` ([`move_of`] on `member`'s newest state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub member: MemberId,
    pub into: MemberId,
}

/// One node's merged-away members to look at: the "unsettled" notes.
#[derive(Debug, Clone)]
pub struct Settling {
    holder: NodeId,
    noted: BTreeSet<MemberId>,
}

impl Settling {
    /// The notes of node `holder` (none yet).
    pub fn new(holder: NodeId) -> Settling {
        Settling {
            holder,
            noted: BTreeSet::new(),
        }
    }

    /// The node whose shares these are.
    pub fn holder(&self) -> &NodeId {
        &self.holder
    }

    /// Whether nothing is noted.
    pub fn is_empty(&self) -> bool {
        self.noted.is_empty()
    }

    /// The members noted, in id order.
    pub fn noted(&self) -> impl Iterator<Item = &MemberId> {
        self.noted.iter()
    }

    /// Take an event: note the member whose share here may have to move.
    /// `merged`: what the node knows of merges after the event.
    pub fn handle(&mut self, event: Event<'_>, merged: &Merged) {
        if merged.is_empty() {
            return;
        }
        let m = match event {
            Event::Applied(OpBody::MembersMerged { absorbed, .. }) | Event::Merged(absorbed) => {
                for m in merged.through(absorbed) {
                    if !self.noted.contains(m) {
                        self.noted.insert(m.clone());
                    }
                }
                return;
            }
            Event::Applied(body) => match touches(body) {
                Some(m) => m,
                None => return,
            },
            Event::Started(m) => {
                if !m.held_by(&self.holder) {
                    return;
                }
                &m.id
            }
        };
        if merged.contains(m) && !self.noted.contains(m) {
            self.noted.insert(m.clone());
        }
    }

    /// The moves to decide now that the node can write, in member order,
    /// each with the member it resolves to now; forgets every note (the
    /// moves the driver makes are applied ops like any other: they note
    /// nothing, see [`touches`]).
    pub fn due(&mut self, merged: &Merged) -> Vec<Due> {
        std::mem::take(&mut self.noted)
            .into_iter()
            .filter_map(|member| {
                let into = survivor(merged, &member)?;
                Some(Due { member, into })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
