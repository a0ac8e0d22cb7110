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
        by: "t".into(),
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

/// Document changes made by several authors, each on its own copy (author
/// index, change; each author's in the order made), delivered to one
/// replica in a random causal order drawn from `seed`: each author's own
/// changes in order, the authors' interleaved (they never saw each
/// other's). `apply` applies one change of an author to the saved
/// document and returns the new save.
pub(crate) fn deliver_in_causal_order(
    mut bytes: Vec<u8>,
    authors: usize,
    made: &[(usize, Vec<u8>)],
    seed: u64,
    mut apply: impl FnMut(&[u8], usize, &[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let mut queues: Vec<Vec<&[u8]>> = vec![Vec::new(); authors];
    for (a, ch) in made {
        queues[*a].push(ch);
    }
    for q in &mut queues {
        q.reverse();
    }
    let mut x = seed | 1; // xorshift: never 0
    while queues.iter().any(|q| !q.is_empty()) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let live: Vec<usize> = (0..authors).filter(|&i| !queues[i].is_empty()).collect();
        let a = live[(x % live.len() as u64) as usize];
        let ch = queues[a].pop().expect("a live queue");
        bytes = apply(&bytes, a, ch);
    }
    bytes
}
