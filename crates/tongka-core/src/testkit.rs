//! Helpers shared by the crate's unit tests: node names and ops made by
//! hand, without a log.

use crate::clock::{Hlc, VersionVector};
use crate::ids::{NodeId, OpId};
use crate::op::{Op, OpBody, OpDraft};

/// A node name; panics on an invalid one (tests only).
pub(crate) fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// Op number `seq` of `origin`, made at `ms`, with no deps.
pub(crate) fn op(origin: &str, seq: u64, ms: u64, body: OpBody) -> Op {
    OpDraft {
        hlc: Hlc { ms, count: 0 },
        actor: "t".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: n(origin),
            seq,
        },
        VersionVector::new(),
    )
}
