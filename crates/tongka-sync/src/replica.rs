//! The per-node replication state machine.
//!
//! Order of sending: ops are streamed in *rank* order, rank = Σ deps + seq.
//! If op x is in the causal past of op y, every component of y's vector time
//! is at least x's and one is larger, so rank(x) < rank(y); ops of one origin
//! rise in rank with their sequence number. Rank order is therefore a
//! linear extension of causal order that keeps each origin's log in order.
//! A receiver gets each origin's ops in order, but from different senders
//! (the origin itself, or a relay), so an op may arrive before its causal
//! past: it waits in a buffer, bounded by the senders' windows.
//!
//! Relay policy. Every node sends its own ops to every peer it is linked to
//! (connected, and the peer's `Hello` received). Each node tells its peers,
//! in `Hello` and `Have`, which nodes it is linked to. A node relays ops of
//! another origin O to a peer P only when P is not linked to O itself, and
//! then only if, of the nodes P is linked to that are (as far as this node
//! knows) linked to O, this node's name sorts first; when it knows of no
//! such node, it relays. So in a healthy full mesh every op reaches every
//! node once, from its origin; when a link O–P is down exactly one common
//! neighbour relays O's ops to P; and on longer paths (a line, a partition
//! of any shape) ops travel hop by hop. When a link comes back, relaying it
//! stops; when it goes down, the peers' next `Have` says so and relaying
//! resumes from what P holds. Stale knowledge only ever costs duplicates
//! (dropped by the receiver) or a delay until the next `Have`. Nothing is
//! relayed to a peer before its first `Have` after its `Hello`: when a
//! partition heals many links come up at once, and a `Hello` lists only the
//! links its sender had before.
//!
//! Back-pressure is per origin: at most `window` ops of one origin are sent
//! to a peer and not yet held by it. (A window shared by all origins could
//! fill with ops waiting in the peer's buffer for ops of an origin this node
//! only starts relaying later, and never drain.)

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use tongka_core::clock::VersionVector;
use tongka_core::escrow::Want;
use tongka_core::ids::{NodeId, OpId};
use tongka_core::op::Op;

use crate::msg::{DecodeError, Msg};

/// A fast hasher for the name → index map (names are short; the map is
/// only looked up, never iterated, so nothing depends on hash order).
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
}

impl Fx {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type NameIndex = HashMap<NodeId, usize, BuildHasherDefault<Fx>>;

/// An op as the replica handles it: the op itself, a shared handle to one
/// (the simulator shares one copy of each op among all its nodes), or the
/// op with its encoding (`EncodedOp`: a node ships what its log stores).
pub trait OpRef: Clone {
    fn op(&self) -> &Op;
}

impl OpRef for Op {
    fn op(&self) -> &Op {
        self
    }
}

impl OpRef for tongka_core::op::EncodedOp {
    fn op(&self) -> &Op {
        &self.op
    }
}

impl OpRef for std::sync::Arc<Op> {
    fn op(&self) -> &Op {
        self
    }
}

/// Read access to the node's op log.
pub trait OpLog<O = Op> {
    /// Ops of `origin` from sequence number `from_seq` on, at most `limit`,
    /// in sequence order.
    fn ops_from(&self, origin: &NodeId, from_seq: u64, limit: usize) -> Vec<O>;
}

#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    pub chain: String,
    /// Ops of one origin sent to a peer and not yet held by it, at most.
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
    /// What the peer holds durably, as it last said (by node index).
    theirs: Vec<u64>,
    /// What has been sent to the peer on this connection (≥ theirs).
    sent: Vec<u64>,
    connected: bool,
    /// Nothing is sent on a connection before the peer's `Hello` says what
    /// it holds.
    greeted: bool,
    /// The nodes the peer says it is linked to (by node index).
    links: Vec<bool>,
    /// A `Have` came after the peer's `Hello`: its links are as it sees
    /// them once connected (a `Hello` sent while many links come up at
    /// once, after a partition heals, lists few). Until then nothing is
    /// relayed to it, only this node's own ops.
    confirmed: bool,
    /// Origins (by node index) whose ops are not relayed to this peer:
    /// it gets them from the origin or from another relay.
    quiet: Vec<bool>,
    /// How many origins this node holds more of than it sent the peer and
    /// relays to it (`lags`): `wants` without a scan.
    pending: usize,
}

impl Peer {
    /// Whether this node holds ops of origin `o` not sent to the peer, and
    /// sends it `o`'s ops.
    #[inline]
    fn lags(&self, held: &[u64], o: usize) -> bool {
        at(held, o) > at(&self.sent, o) && !flag(&self.quiet, o)
    }

    fn recount(&mut self, held: &[u64]) {
        self.pending = (0..held.len()).filter(|&o| self.lags(held, o)).count();
    }

    /// Record that ops of `o` up to `s` were sent (or are held by the peer).
    #[inline]
    fn sent_up_to(&mut self, held: &[u64], o: usize, s: u64) {
        if s > at(&self.sent, o) {
            let was = self.lags(held, o);
            put(&mut self.sent, o, s);
            if was && !self.lags(held, o) {
                self.pending -= 1;
            }
        }
    }
}

/// The peers by node index (a chain has tens of nodes: a vector indexed
/// by node, not a tree), iterated in index order.
#[derive(Default)]
struct Peers {
    by_ix: Vec<Option<Peer>>,
    len: usize,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Peers {
    #[inline]
    fn get(&self, i: &usize) -> Option<&Peer> {
        self.by_ix.get(*i).and_then(Option::as_ref)
    }

    #[inline]
    fn get_mut(&mut self, i: &usize) -> Option<&mut Peer> {
        self.by_ix.get_mut(*i).and_then(Option::as_mut)
    }

    /// The peer `i`, made on first sight (this node holding `held`).
    fn entry(&mut self, i: usize, held: &[u64]) -> &mut Peer {
        if self.by_ix.len() <= i {
            self.by_ix.resize_with(i + 1, || None);
        }
        let slot = &mut self.by_ix[i];
        if slot.is_none() {
            self.len += 1;
            let mut p = Peer::default();
            p.recount(held);
            *slot = Some(p);
        }
        slot.as_mut().expect("made above")
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Peer> {
        self.by_ix.iter_mut().filter_map(Option::as_mut)
    }

    fn iter(&self) -> impl Iterator<Item = (usize, &Peer)> {
        self.by_ix
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// What a received message asks of the node.
#[derive(Debug, PartialEq, Eq)]
pub struct Delivery<O = Op> {
    /// Ops to apply now, in this order (each causally ready after the
    /// previous ones), each delivered once.
    pub apply: Vec<O>,
    /// Answer with `have()` once the ops are applied: every `Ops` message is
    /// acknowledged, even when it held nothing new, so the sender learns.
    pub ack: bool,
    /// The peer is of another chain or broke the protocol: disconnect it.
    pub refuse: Option<String>,
    /// The peer asks for shares: `(req, want)`.
    pub ask: Option<(u64, Want)>,
    /// The peer answered our ask `req` (its ops are in `apply` if new).
    pub gave: Option<u64>,
}

impl<O> Default for Delivery<O> {
    fn default() -> Self {
        Delivery {
            apply: Vec::new(),
            ack: false,
            refuse: None,
            ask: None,
            gave: None,
        }
    }
}

#[derive(Debug)]
pub struct Replica<O = Op> {
    me: NodeId,
    config: ReplicaConfig,
    /// Every node name seen, by index; `order` lists indices by name.
    names: Vec<NodeId>,
    index: NameIndex,
    order: Vec<usize>,
    /// The names in name order (`names[order[k]]`), for walking.
    sorted: Vec<NodeId>,
    /// Ops held durably by this node, by node index and as a vector.
    held: Vec<u64>,
    /// `held` as a vector (the nodes held of, in name order), made when
    /// asked for and forgotten when `held` changes.
    held_vv: std::cell::OnceCell<VersionVector>,
    /// Ops delivered to the node for applying (≥ held).
    admitted: Vec<u64>,
    /// Ops received before their causal past, by origin index and seq.
    early: Vec<BTreeMap<u64, O>>,
    early_len: usize,
    peers: Peers,
    /// Bumped whenever the nodes this node is linked to change.
    links_epoch: u64,
    /// Reused for each `Have`: the node indices of its names, and its
    /// links as flags (no allocation per message).
    scratch_ix: Vec<usize>,
    scratch_links: Vec<bool>,
    /// The index `ix` found last.
    last_ix: usize,
}

#[inline]
fn at(v: &[u64], i: usize) -> u64 {
    v.get(i).copied().unwrap_or(0)
}

#[inline]
fn put(v: &mut Vec<u64>, i: usize, x: u64) {
    if v.len() <= i {
        v.resize(i + 1, 0);
    }
    v[i] = x;
}

#[inline]
fn flag(v: &[bool], i: usize) -> bool {
    v.get(i).copied().unwrap_or(false)
}

fn rank(op: &Op) -> u64 {
    op.deps.total() + op.id.seq
}

impl<O: OpRef> Replica<O> {
    /// A replica for node `me` that holds `held` (from storage at start).
    pub fn new(me: NodeId, held: VersionVector, config: ReplicaConfig) -> Replica<O> {
        let mut r = Replica {
            me: me.clone(),
            config,
            names: Vec::new(),
            index: NameIndex::default(),
            order: Vec::new(),
            sorted: Vec::new(),
            held: Vec::new(),
            held_vv: std::cell::OnceCell::new(),
            admitted: Vec::new(),
            early: Vec::new(),
            early_len: 0,
            peers: Peers::default(),
            links_epoch: 0,
            scratch_ix: Vec::new(),
            scratch_links: Vec::new(),
            last_ix: 0,
        };
        r.ix(&me);
        r.durable_up_to(&held);
        r
    }

    pub fn me(&self) -> &NodeId {
        &self.me
    }

    pub fn held(&self) -> &VersionVector {
        self.held_vv.get_or_init(|| {
            let mut v = VersionVector::new();
            // `order` is name order: each raise appends.
            for (&i, n) in self.order.iter().zip(&self.sorted) {
                let s = at(&self.held, i);
                if s > 0 {
                    v.raise(n, s);
                }
            }
            v
        })
    }

    /// The index of a node name, made on first sight.
    #[inline]
    fn ix(&mut self, n: &NodeId) -> usize {
        // Ops come in runs of one origin: the last name looked up first.
        if let Some(m) = self.names.get(self.last_ix)
            && m == n
        {
            return self.last_ix;
        }
        if let Some(&i) = self.index.get(n) {
            self.last_ix = i;
            return i;
        }
        let i = self.names.len();
        self.names.push(n.clone());
        self.index.insert(n.clone(), i);
        let pos = self
            .order
            .partition_point(|&j| self.names[j] < self.names[i]);
        self.order.insert(pos, i);
        self.sorted.insert(pos, n.clone());
        self.early.push(BTreeMap::new());
        i
    }

    /// The index of a known name, looked for by walking `order` from
    /// `*k` on: names given in name order (a vector's, a `links` list) are
    /// found without hashing. Any other name: by the map (`None`: unknown).
    #[inline(always)]
    fn ix_walk(&self, n: &NodeId, k: &mut usize) -> Option<usize> {
        // Most often the name is the very next one.
        if let Some(m) = self.sorted.get(*k)
            && m == n
        {
            let i = self.order[*k];
            *k += 1;
            return Some(i);
        }
        self.ix_walk_on(n, k)
    }

    fn ix_walk_on(&self, n: &NodeId, k: &mut usize) -> Option<usize> {
        while let Some(m) = self.sorted.get(*k) {
            let i = self.order[*k];
            match m.cmp(n) {
                std::cmp::Ordering::Less => *k += 1,
                std::cmp::Ordering::Equal => {
                    *k += 1;
                    return Some(i);
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        self.index.get(n).copied()
    }

    /// `ix` for names given in name order (see `ix_walk`).
    fn ix_sorted(&mut self, n: &NodeId, k: &mut usize) -> usize {
        match self.ix_walk(n, k) {
            Some(i) => i,
            None => self.ix(n),
        }
    }

    fn vec_of(&mut self, vv: &VersionVector) -> Vec<u64> {
        let mut v = Vec::new();
        let mut k = 0;
        for (n, s) in vv.iter() {
            let i = self.ix_sorted(n, &mut k);
            put(&mut v, i, s);
        }
        v
    }

    fn flags_of(&mut self, nodes: &[NodeId]) -> Vec<bool> {
        let mut v = Vec::new();
        let mut k = 0;
        for n in nodes {
            let i = self.ix_sorted(n, &mut k);
            if v.len() <= i {
                v.resize(i + 1, false);
            }
            v[i] = true;
        }
        v
    }

    /// Whether this node is linked to node `i`: connected, `Hello` heard.
    fn linked(&self, i: usize) -> bool {
        self.peers.get(&i).is_some_and(|p| p.connected && p.greeted)
    }

    /// The nodes this node is linked to, by name.
    pub fn links(&self) -> Vec<NodeId> {
        self.order
            .iter()
            .filter(|&&i| self.linked(i))
            .map(|&i| self.names[i].clone())
            .collect()
    }

    /// Changes whenever `links()` changes: a driver that tells peers what
    /// it holds only when that changed must also tell them then.
    pub fn links_epoch(&self) -> u64 {
        self.links_epoch
    }

    /// Work out again, for every peer, which origins not to relay to it.
    fn relays_changed(&mut self) {
        let me = self.index[&self.me];
        let n = self.names.len();
        let keys: Vec<usize> = self.peers.iter().map(|(i, _)| i).collect();
        for pi in keys {
            let mut quiet = vec![false; n];
            let p = self.peers.get(&pi).expect("listed above");
            for (o, q) in quiet.iter_mut().enumerate() {
                if o == me {
                    continue;
                }
                if !p.confirmed {
                    *q = true;
                    continue;
                }
                // A peer holds its own ops; and one linked to o gets o's
                // ops from o.
                if o == pi || flag(&p.links, o) {
                    *q = true;
                    continue;
                }
                // The first node (by name) linked to both the peer and o.
                let first = self.order.iter().copied().find(|&k| {
                    k != o
                        && flag(&p.links, k)
                        && if k == me {
                            self.linked(o)
                        } else {
                            self.peers
                                .get(&k)
                                .is_some_and(|x| x.connected && x.greeted && flag(&x.links, o))
                        }
                });
                *q = first.is_some_and(|k| k != me);
            }
            let p = self.peers.get_mut(&pi).expect("listed above");
            p.quiet = quiet;
            p.recount(&self.held);
        }
    }

    fn own_links_changed(&mut self) {
        self.links_epoch += 1;
        self.relays_changed();
    }

    /// A connection to `peer` is up: the first message to send it.
    pub fn connected(&mut self, peer: &NodeId) -> Msg {
        let pi = self.ix(peer);
        let p = self.peers.entry(pi, &self.held);
        let was = p.connected && p.greeted;
        p.connected = true;
        p.greeted = false;
        p.confirmed = false;
        if was {
            self.own_links_changed();
        }
        Msg::Hello {
            chain: self.config.chain.clone(),
            node: self.me.clone(),
            held: self.held().clone(),
            links: self.links(),
        }
    }

    pub fn disconnected(&mut self, peer: &NodeId) {
        let pi = self.ix(peer);
        if let Some(p) = self.peers.get_mut(&pi) {
            let was = p.connected && p.greeted;
            p.connected = false;
            p.greeted = false;
            if was {
                self.own_links_changed();
            }
        }
    }

    pub fn is_connected(&self, peer: &NodeId) -> bool {
        self.index
            .get(peer)
            .and_then(|i| self.peers.get(i))
            .is_some_and(|p| p.connected)
    }

    /// Handle a message from `peer` that carries no ops (`Hello`, `Have`,
    /// `Ask`). `Ops` and `Gave` go to `receive_ops`.
    pub fn receive_control(&mut self, peer: &NodeId, msg: &Msg) -> Delivery<O> {
        let mut out = Delivery::default();
        let pi = self.ix(peer);
        match msg {
            Msg::Hello {
                chain,
                node,
                held,
                links,
            } => {
                if *chain != self.config.chain {
                    out.refuse = Some(format!(
                        "peer is of chain {chain:?}, not {:?}",
                        self.config.chain
                    ));
                } else if node != peer {
                    out.refuse = Some(format!("peer authenticated as {peer} says it is {node}"));
                } else {
                    let held = self.vec_of(held);
                    let links = self.flags_of(links);
                    let p = self.peers.entry(pi, &self.held);
                    p.theirs = held.clone();
                    p.sent = held;
                    p.recount(&self.held);
                    p.links = links;
                    let was = p.greeted;
                    p.greeted = true;
                    if !was && p.connected {
                        self.own_links_changed();
                    } else {
                        self.relays_changed();
                    }
                }
            }
            Msg::Have { held, links } => {
                // Names to indices first (new names get theirs in the order
                // they come: the vector's, then the links'), into reused
                // buffers.
                let mut ix = std::mem::take(&mut self.scratch_ix);
                ix.clear();
                let mut k = 0;
                for (n, _) in held.iter() {
                    ix.push(self.ix_sorted(n, &mut k));
                }
                let mut new_links = std::mem::take(&mut self.scratch_links);
                new_links.clear();
                let mut k = 0;
                for n in links {
                    let i = self.ix_sorted(n, &mut k);
                    if new_links.len() <= i {
                        new_links.resize(i + 1, false);
                    }
                    new_links[i] = true;
                }
                let p = self.peers.entry(pi, &self.held);
                for (&i, (_, s)) in ix.iter().zip(held.iter()) {
                    if s > at(&p.theirs, i) {
                        put(&mut p.theirs, i, s);
                    }
                    p.sent_up_to(&self.held, i, s);
                }
                let same = new_links.len().max(p.links.len());
                let changed = (0..same).any(|i| flag(&new_links, i) != flag(&p.links, i));
                let confirms = p.greeted && !p.confirmed;
                if confirms {
                    p.confirmed = true;
                }
                let relays = changed || confirms;
                if relays {
                    std::mem::swap(&mut p.links, &mut new_links);
                }
                self.scratch_ix = ix;
                self.scratch_links = new_links;
                if relays {
                    self.relays_changed();
                }
            }
            Msg::Ask { req, want } => out.ask = Some((*req, want.clone())),
            Msg::Ops { .. } | Msg::Gave { .. } => {
                out.refuse = Some("ops must be handed to receive_ops".into());
            }
        }
        out
    }

    /// Ops from `peer`: an `Ops` message (`gave` none: acknowledged), or the
    /// answer `gave` to an escrow ask.
    pub fn receive_ops(&mut self, peer: &NodeId, ops: Vec<O>, gave: Option<u64>) -> Delivery<O> {
        let mut out = Delivery {
            apply: Vec::with_capacity(ops.len()),
            ack: gave.is_none(),
            gave,
            ..Delivery::default()
        };
        let _ = self.ix(peer);
        let limit = (self.peers.len() as u64 + 1)
            .saturating_mul(self.names.len() as u64 + 1)
            .saturating_mul(self.config.window) as usize;
        for op in ops {
            let o = self.ix(&op.op().id.origin);
            let seq = op.op().id.seq;
            if at(&self.admitted, o) >= seq || self.early[o].contains_key(&seq) {
                continue;
            }
            if self.ready(o, op.op()) {
                self.admit(o, seq);
                out.apply.push(op);
                if self.early_len > 0 {
                    self.drain_early(&mut out.apply);
                }
            } else if self.early_len < limit {
                self.early[o].insert(seq, op);
                self.early_len += 1;
            } else {
                out.refuse = Some(format!("more than {limit} ops out of causal order"));
                break;
            }
        }
        out
    }

    /// Whether op `id` was delivered already (nothing to check or apply).
    pub fn has_admitted(&self, id: &OpId) -> bool {
        self.index
            .get(&id.origin)
            .is_some_and(|&o| at(&self.admitted, o) >= id.seq)
    }

    fn ready(&mut self, o: usize, op: &Op) -> bool {
        if at(&self.admitted, o) + 1 != op.id.seq {
            return false;
        }
        // Deps come in name order: found by walking `order`, not hashed.
        let mut k = 0;
        op.deps.iter().all(|(n, s)| match self.ix_walk(n, &mut k) {
            Some(i) => at(&self.admitted, i) >= s,
            None => s == 0,
        })
    }

    fn admit(&mut self, o: usize, seq: u64) {
        put(&mut self.admitted, o, seq);
    }

    fn drain_early(&mut self, apply: &mut Vec<O>) {
        loop {
            let mut progress = false;
            for o in 0..self.early.len() {
                while let Some((&seq, op)) = self.early[o].first_key_value() {
                    if seq <= at(&self.admitted, o) {
                        self.early[o].pop_first();
                        self.early_len -= 1;
                        continue;
                    }
                    let op = op.clone();
                    if !self.ready(o, op.op()) {
                        break;
                    }
                    self.early[o].pop_first();
                    self.early_len -= 1;
                    self.admit(o, seq);
                    apply.push(op);
                    progress = true;
                }
            }
            if !progress || self.early_len == 0 {
                break;
            }
        }
    }

    /// Op `id` is durable here (made here, or delivered by `receive` and
    /// applied). Ops become durable in log order; telling twice is harmless.
    pub fn durable(&mut self, id: &OpId) {
        let o = self.ix(&id.origin);
        if at(&self.held, o) < id.seq {
            self.hold(o, id.seq);
        }
        if at(&self.admitted, o) < id.seq {
            put(&mut self.admitted, o, id.seq);
        }
    }

    /// Ops of origin `o` up to `s` (more than before) are held.
    fn hold(&mut self, o: usize, s: u64) {
        let before = at(&self.held, o);
        for p in self.peers.iter_mut() {
            let sent = at(&p.sent, o);
            if before <= sent && sent < s && !flag(&p.quiet, o) {
                p.pending += 1;
            }
        }
        put(&mut self.held, o, s);
        self.held_vv.take();
    }

    /// Catch up with what storage holds (everything in `vv` is durable).
    pub fn durable_up_to(&mut self, vv: &VersionVector) {
        for (n, s) in vv.iter() {
            let o = self.ix(n);
            if at(&self.held, o) < s {
                self.hold(o, s);
            }
            if at(&self.admitted, o) < s {
                put(&mut self.admitted, o, s);
            }
        }
    }

    /// Tell a peer what we hold (after applying what it sent), and whom we
    /// are linked to.
    pub fn have(&self) -> Msg {
        Msg::Have {
            held: self.held().clone(),
            links: self.links(),
        }
    }

    /// Ops this node holds that `peer` is not known to hold.
    pub fn lag(&self, peer: &NodeId) -> u64 {
        let theirs = self
            .index
            .get(peer)
            .and_then(|i| self.peers.get(i))
            .map(|p| p.theirs.as_slice())
            .unwrap_or(&[]);
        self.held
            .iter()
            .enumerate()
            .map(|(o, s)| s.saturating_sub(at(theirs, o)))
            .sum()
    }

    /// Whether `next_ops` would give something for `peer` now, if the
    /// window allows (cheap: no log read).
    pub fn wants(&self, peer: &NodeId) -> bool {
        let Some(p) = self.index.get(peer).and_then(|i| self.peers.get(i)) else {
            return false;
        };
        debug_assert_eq!(
            p.pending,
            (0..self.held.len())
                .filter(|&o| p.lags(&self.held, o))
                .count(),
            "pending origins counted right"
        );
        p.connected && p.greeted && p.pending > 0
    }

    /// The next ops for `peer` (at most one message's worth), if it lacks
    /// something this node sends it and the window allows.
    pub fn next_ops(&mut self, peer: &NodeId, log: &dyn OpLog<O>) -> Vec<O> {
        let Some(&pi) = self.index.get(peer) else {
            return Vec::new();
        };
        let Some(p) = self.peers.get(&pi) else {
            return Vec::new();
        };
        if !p.connected || !p.greeted {
            return Vec::new();
        }
        let batch = self.config.batch;
        // Per origin, the next ops the peer lacks, within its window.
        let mut heads: Vec<(Vec<O>, bool)> = Vec::new();
        for (o, &held) in self.held.iter().enumerate() {
            let sent = at(&p.sent, o);
            if sent >= held || flag(&p.quiet, o) {
                continue;
            }
            let in_flight = sent.saturating_sub(at(&p.theirs, o));
            let budget = self.config.window.saturating_sub(in_flight);
            let want = budget.min(held - sent).min(batch as u64) as usize;
            if want == 0 {
                continue;
            }
            let ops = log.ops_from(&self.names[o], sent + 1, want);
            let more = sent + (ops.len() as u64) < held;
            if !ops.is_empty() {
                heads.push((ops, more));
            }
        }
        let out = if heads.len() == 1 {
            heads.pop().map(|(ops, _)| ops).unwrap_or_default()
        } else {
            merge_by_rank(heads, batch)
        };
        let p = self.peers.get_mut(&pi).expect("checked above");
        for op in &out {
            // Ops of an origin go out in order, so `sent` moves by prefixes.
            let o = self.index[&op.op().id.origin];
            p.sent_up_to(&self.held, o, op.op().id.seq);
        }
        out
    }
}

/// Merge per-origin runs by rank, up to `batch`; stop where an origin's
/// fetched run ends while it has more, since its next op could rank lower.
fn merge_by_rank<O: OpRef>(mut heads: Vec<(Vec<O>, bool)>, batch: usize) -> Vec<O> {
    let ranks: Vec<Vec<u64>> = heads
        .iter()
        .map(|(ops, _)| ops.iter().map(|o| rank(o.op())).collect())
        .collect();
    let mut taken: Vec<Vec<Option<O>>> = heads
        .iter_mut()
        .map(|(ops, _)| std::mem::take(ops).into_iter().map(Some).collect())
        .collect();
    let mut out = Vec::new();
    let mut idx = vec![0usize; heads.len()];
    while out.len() < batch {
        let mut best: Option<(u64, usize)> = None;
        for h in 0..heads.len() {
            if let Some(&r) = ranks[h].get(idx[h])
                && best.is_none_or(|(br, bh)| (r, h) < (br, bh))
            {
                best = Some((r, h));
            }
        }
        let Some((_, h)) = best else { break };
        out.push(taken[h][idx[h]].take().expect("taken once"));
        idx[h] += 1;
        if idx[h] == ranks[h].len() && heads[h].1 {
            break;
        }
    }
    out
}

impl Replica<Op> {
    /// Handle a message from `peer` (already decoded).
    pub fn receive(&mut self, peer: &NodeId, msg: Msg) -> Delivery {
        match msg {
            Msg::Ops { ops } => match Msg::decode_ops(&ops) {
                Ok(ops) => self.receive_ops(peer, ops, None),
                Err(e) => refused(e),
            },
            Msg::Gave { req, ops } => match Msg::decode_ops(&ops) {
                Ok(ops) => self.receive_ops(peer, ops, Some(req)),
                Err(e) => {
                    let mut d = refused(e);
                    d.gave = Some(req);
                    d
                }
            },
            other => self.receive_control(peer, &other),
        }
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
}

fn refused(e: DecodeError) -> Delivery {
    Delivery {
        refuse: Some(e.to_string()),
        ..Delivery::default()
    }
}
