//! The per-node replication state machine.
//!
//! Order of sending: ops are streamed in *rank* order, rank = Σ deps + seq.
//! If op x is in the causal past of op y, every component of y's vector time
//! is at least x's and one is larger, so rank(x) < rank(y); ops of one origin
//! rise in rank with their sequence number. Rank order is therefore a
//! linear extension of causal order that keeps each origin's log in order,
//! and a receiver that applies what one peer sends, in order, never waits.
//! Ops that arrive early (the same op range from two peers, interleaved) wait
//! in a buffer bounded by the peers' windows.

use std::collections::BTreeMap;

use tongka_core::clock::VersionVector;
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::money::Money;
use tongka_core::op::Op;

use crate::msg::Msg;

/// Read access to the node's op log.
pub trait OpLog {
    /// Ops of `origin` from sequence number `from_seq` on, at most `limit`,
    /// in sequence order.
    fn ops_from(&self, origin: &NodeId, from_seq: u64, limit: usize) -> Vec<Op>;
}

#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    pub chain: String,
    /// Ops sent to a peer and not yet held by it, at most.
    pub window: u64,
    /// Ops in one `Ops` message, at most.
    pub batch: usize,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            chain: "tongka".into(),
            window: 8192,
            batch: 512,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Peer {
    /// What the peer holds durably, as it last said.
    theirs: VersionVector,
    /// What has been sent to the peer on this connection (≥ theirs).
    sent: VersionVector,
    connected: bool,
    /// Nothing is sent on a connection before the peer's `Hello` says what
    /// it holds.
    greeted: bool,
}

/// What a received message asks of the node.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Ops to apply now, in this order (each causally ready after the
    /// previous ones), each delivered once.
    pub apply: Vec<Op>,
    /// Answer with `have()` once the ops are applied: every `Ops` message is
    /// acknowledged, even when it held nothing new, so the sender learns.
    pub ack: bool,
    /// The peer is of another chain or broke the protocol: disconnect it.
    pub refuse: Option<String>,
    /// The peer asks for shares: `(req, member, want)`.
    pub ask: Option<(u64, MemberId, Money)>,
    /// The peer answered our ask `req` (its ops are in `apply` if new).
    pub gave: Option<u64>,
}

#[derive(Debug)]
pub struct Replica {
    me: NodeId,
    config: ReplicaConfig,
    /// Ops held durably by this node.
    held: VersionVector,
    /// Ops delivered to the node for applying (⊇ held).
    admitted: VersionVector,
    /// Ops received before their causal past, by id.
    early: BTreeMap<OpId, Op>,
    peers: BTreeMap<NodeId, Peer>,
}

fn rank(op: &Op) -> u64 {
    op.deps.total() + op.id.seq
}

fn ready(vv: &VersionVector, op: &Op) -> bool {
    vv.is_next(&op.id) && vv.dominates(&op.deps)
}

impl Replica {
    /// A replica for node `me` that holds `held` (from storage at start).
    pub fn new(me: NodeId, held: VersionVector, config: ReplicaConfig) -> Replica {
        Replica {
            me,
            config,
            admitted: held.clone(),
            held,
            early: BTreeMap::new(),
            peers: BTreeMap::new(),
        }
    }

    pub fn me(&self) -> &NodeId {
        &self.me
    }

    pub fn held(&self) -> &VersionVector {
        &self.held
    }

    /// A connection to `peer` is up: the first message to send it.
    pub fn connected(&mut self, peer: &NodeId) -> Msg {
        let p = self.peers.entry(peer.clone()).or_default();
        p.connected = true;
        p.greeted = false;
        Msg::Hello {
            chain: self.config.chain.clone(),
            node: self.me.clone(),
            held: self.held.clone(),
        }
    }

    pub fn disconnected(&mut self, peer: &NodeId) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.connected = false;
            p.greeted = false;
        }
    }

    pub fn is_connected(&self, peer: &NodeId) -> bool {
        self.peers.get(peer).is_some_and(|p| p.connected)
    }

    /// Handle a message from `peer` (already decoded).
    pub fn receive(&mut self, peer: &NodeId, msg: Msg) -> Delivery {
        let mut out = Delivery::default();
        match msg {
            Msg::Hello { chain, node, held } => {
                if chain != self.config.chain {
                    out.refuse = Some(format!(
                        "peer is of chain {chain:?}, not {:?}",
                        self.config.chain
                    ));
                } else if node != *peer {
                    out.refuse = Some(format!("peer authenticated as {peer} says it is {node}"));
                } else {
                    let p = self.peers.entry(peer.clone()).or_default();
                    p.theirs = held.clone();
                    p.sent = held;
                    p.greeted = true;
                }
            }
            Msg::Have { held } => {
                let p = self.peers.entry(peer.clone()).or_default();
                p.theirs.merge(&held);
                p.sent.merge(&held);
            }
            Msg::Ask { req, member, want } => out.ask = Some((req, member, want)),
            Msg::Gave { req, ops } => {
                out.gave = Some(req);
                self.take_ops(&ops, &mut out);
            }
            Msg::Ops { ops } => {
                out.ack = true;
                self.take_ops(&ops, &mut out);
            }
        }
        out
    }

    fn take_ops(&mut self, ops: &[Vec<u8>], out: &mut Delivery) {
        match Msg::decode_ops(ops) {
            Err(e) => out.refuse = Some(e.to_string()),
            Ok(ops) => self.admit(ops, out),
        }
    }

    /// Handle the ops of an `Ops` message (`gave: None`) or of a `Gave`
    /// answer to ask `req` (`gave: Some(req)`) that the caller has decoded
    /// itself, and checked (the node verifies each op's origin signature
    /// before the replica sees it). Otherwise as `receive`.
    pub fn receive_ops(&mut self, ops: Vec<Op>, gave: Option<u64>) -> Delivery {
        let mut out = Delivery {
            ack: gave.is_none(),
            gave,
            ..Delivery::default()
        };
        self.admit(ops, &mut out);
        out
    }

    /// Whether op `id` was delivered already (nothing to check or apply).
    pub fn has_admitted(&self, id: &OpId) -> bool {
        self.admitted.contains(id)
    }

    fn admit(&mut self, ops: Vec<Op>, out: &mut Delivery) {
        let limit = (self.peers.len().max(1) as u64 * self.config.window * 2) as usize;
        for op in ops {
            if self.admitted.contains(&op.id) || self.early.contains_key(&op.id) {
                continue;
            }
            if ready(&self.admitted, &op) {
                self.admitted.advance(&op.id);
                out.apply.push(op);
                self.drain_early(&mut out.apply);
            } else if self.early.len() < limit {
                self.early.insert(op.id.clone(), op);
            } else {
                out.refuse = Some(format!("more than {limit} ops out of causal order"));
                break;
            }
        }
    }

    fn drain_early(&mut self, apply: &mut Vec<Op>) {
        loop {
            let next = self
                .early
                .values()
                .find(|op| ready(&self.admitted, op))
                .map(|op| op.id.clone());
            let Some(id) = next else { break };
            let op = self.early.remove(&id).expect("found above");
            self.admitted.advance(&op.id);
            apply.push(op);
        }
    }

    /// Op `id` is durable here (made here, or delivered by `receive` and
    /// applied). Ops become durable in log order; telling twice is harmless.
    pub fn durable(&mut self, id: &OpId) {
        if !self.held.contains(id) {
            self.held.advance(id);
        }
        if !self.admitted.contains(id) {
            self.admitted.advance(id);
        }
    }

    /// Catch up with what storage holds (everything in `vv` is durable).
    pub fn durable_up_to(&mut self, vv: &VersionVector) {
        self.held.merge(vv);
        self.admitted.merge(vv);
    }

    /// Tell a peer what we hold (after applying what it sent).
    pub fn have(&self) -> Msg {
        Msg::Have {
            held: self.held.clone(),
        }
    }

    /// Ops this node holds that `peer` is not known to hold.
    pub fn lag(&self, peer: &NodeId) -> u64 {
        let theirs = self
            .peers
            .get(peer)
            .map(|p| p.theirs.clone())
            .unwrap_or_default();
        self.held
            .iter()
            .map(|(o, s)| s.saturating_sub(theirs.get(o)))
            .sum()
    }

    /// The next `Ops` message for `peer`, if it lacks something and the
    /// window allows.
    pub fn poll_send(&mut self, peer: &NodeId, log: &dyn OpLog) -> Option<Msg> {
        let ops = self.next_ops(peer, log);
        if ops.is_empty() {
            None
        } else {
            Some(Msg::ops(&ops))
        }
    }

    /// Like `poll_send`, but the ops themselves (for an in-memory transport).
    pub fn next_ops(&mut self, peer: &NodeId, log: &dyn OpLog) -> Vec<Op> {
        let Some(p) = self.peers.get(peer) else {
            return Vec::new();
        };
        if !p.connected || !p.greeted {
            return Vec::new();
        }
        let in_flight: u64 = p
            .sent
            .iter()
            .map(|(o, s)| s.saturating_sub(p.theirs.get(o)))
            .sum();
        let budget = self
            .config
            .window
            .saturating_sub(in_flight)
            .min(self.config.batch as u64) as usize;
        if budget == 0 {
            return Vec::new();
        }
        // Per origin, the next ops the peer lacks.
        let mut heads: Vec<(Vec<Op>, bool)> = Vec::new();
        for (origin, held) in self.held.iter() {
            let next = p.sent.get(origin) + 1;
            if next > held {
                continue;
            }
            let want = budget.min((held - next + 1) as usize);
            let ops = log.ops_from(origin, next, want);
            let more = (next + ops.len() as u64) <= held;
            if !ops.is_empty() {
                heads.push((ops, more));
            }
        }
        // Merge by rank; stop where an origin's fetched prefix runs out
        // while it has more, since its next op could rank lower.
        let mut out = Vec::with_capacity(budget);
        let mut idx = vec![0usize; heads.len()];
        while out.len() < budget {
            let mut best: Option<(u64, usize)> = None;
            for (h, (ops, _)) in heads.iter().enumerate() {
                if let Some(op) = ops.get(idx[h]) {
                    let r = rank(op);
                    if best.is_none_or(|(br, bh)| (r, h) < (br, bh)) {
                        best = Some((r, h));
                    }
                }
            }
            let Some((_, h)) = best else { break };
            out.push(heads[h].0[idx[h]].clone());
            idx[h] += 1;
            if idx[h] == heads[h].0.len() && heads[h].1 {
                break;
            }
        }
        let p = self.peers.get_mut(peer).expect("checked above");
        for op in &out {
            // Ops of an origin go out in order, so `sent` moves by prefixes.
            p.sent.raise(&op.id.origin, op.id.seq);
        }
        out
    }
}
