//! The protocol on an in-memory network: random ops at random nodes, random
//! interleavings of per-link FIFO delivery, links that go down and up in
//! any shape (so ops must travel through third nodes), and the relay
//! policy's promise: in a healthy mesh each op reaches each node once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId, RechargeId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_sync::{Msg, OpLog, Replica, ReplicaConfig};

#[derive(Default)]
struct Log(BTreeMap<(NodeId, u64), Op>);

impl OpLog for Log {
    fn ops_from(&self, origin: &NodeId, from_seq: u64, limit: usize) -> Vec<Op> {
        self.0
            .range((origin.clone(), from_seq)..=(origin.clone(), u64::MAX))
            .take(limit)
            .map(|(_, o)| o.clone())
            .collect()
    }
}

struct Node {
    replica: Replica,
    log: Log,
    applied: Vec<OpId>,
    /// The replica's `links_epoch` when peers were last told.
    told: u64,
    /// Ops received in `Ops` messages, by id (duplicates counted).
    received: BTreeMap<OpId, u32>,
}

fn n(i: usize) -> NodeId {
    NodeId::new(format!("n{i}")).unwrap()
}

const NODES: usize = 4;

/// The links of the full mesh, as (a, b) with a < b.
fn pairs() -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for a in 0..NODES {
        for b in a + 1..NODES {
            v.push((a, b));
        }
    }
    v
}

#[derive(Debug, Clone)]
enum Step {
    Make(usize),
    /// Deliver the next message on a directed link (index into `directed`).
    Deliver(usize),
    Pump(usize),
    Toggle(usize),
}

fn steps(toggles: bool) -> impl Strategy<Value = Vec<Step>> {
    let d = NODES * (NODES - 1);
    let l = pairs().len();
    prop::collection::vec(
        prop_oneof![
            3 => (0..NODES).prop_map(Step::Make),
            6 => (0..d).prop_map(Step::Deliver),
            4 => (0..d).prop_map(Step::Pump),
            (if toggles { 1 } else { 0 }) => (0..l).prop_map(Step::Toggle),
        ],
        1..300,
    )
}

struct Net {
    nodes: Vec<Node>,
    links: Vec<(usize, usize)>,
    queues: BTreeMap<(usize, usize), VecDeque<Msg>>,
    up: Vec<bool>,
    made: usize,
}

impl Net {
    /// Nodes n0 … n3 with the links in `up` (by index into `pairs()`).
    fn new(window: u64, up: &[usize]) -> Net {
        let cfg = ReplicaConfig {
            chain: "t".into(),
            window,
            batch: 3,
        };
        let nodes = (0..NODES)
            .map(|i| Node {
                replica: Replica::new(n(i), VersionVector::new(), cfg.clone()),
                log: Log::default(),
                applied: Vec::new(),
                told: 0,
                received: BTreeMap::new(),
            })
            .collect();
        let links = pairs();
        let mut net = Net {
            nodes,
            up: vec![false; links.len()],
            links,
            queues: BTreeMap::new(),
            made: 0,
        };
        for &l in up {
            net.set_link(l, true);
        }
        net
    }

    fn directed(&self) -> Vec<(usize, usize)> {
        self.links
            .iter()
            .flat_map(|&(a, b)| [(a, b), (b, a)])
            .collect()
    }

    fn link_of(&self, a: usize, b: usize) -> usize {
        let (a, b) = (a.min(b), a.max(b));
        self.links.iter().position(|&x| x == (a, b)).unwrap()
    }

    fn set_link(&mut self, link: usize, up: bool) {
        let (a, b) = self.links[link];
        self.up[link] = up;
        self.queues.remove(&(a, b));
        self.queues.remove(&(b, a));
        if up {
            let ha = self.nodes[a].replica.connected(&n(b));
            let hb = self.nodes[b].replica.connected(&n(a));
            self.queues.entry((a, b)).or_default().push_back(ha);
            self.queues.entry((b, a)).or_default().push_back(hb);
        } else {
            self.nodes[a].replica.disconnected(&n(b));
            self.nodes[b].replica.disconnected(&n(a));
        }
        self.tell_links(a);
        self.tell_links(b);
    }

    /// When the nodes a node is linked to changed, it tells its peers
    /// (as the node's send loop does with `Have`).
    fn tell_links(&mut self, i: usize) {
        let epoch = self.nodes[i].replica.links_epoch();
        if self.nodes[i].told == epoch {
            return;
        }
        self.nodes[i].told = epoch;
        for j in 0..NODES {
            if j != i && self.up[self.link_of(i, j)] {
                let have = self.nodes[i].replica.have();
                self.queues.entry((i, j)).or_default().push_back(have);
            }
        }
    }

    fn make(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let seq = node.replica.held().get(&n(i)) + 1;
        self.made += 1;
        let draft = OpDraft {
            hlc: Hlc {
                ms: self.made as u64,
                count: 0,
            },
            by: "t".into(),
            idem: None,
            body: OpBody::Recharged {
                member: MemberId::mint(&n(i), 1),
                recharge: RechargeId::mint(&n(i), seq),
                amount: Money::from_yuan(1),
                bonus: Money::ZERO,
                tender: TenderKind::Cash,
            },
        };
        let op = draft.stamp(
            OpId { origin: n(i), seq },
            node.replica.held().without(&n(i)),
        );
        node.log.0.insert((n(i), seq), op.clone());
        node.replica.durable(&op.id);
        node.applied.push(op.id);
        // Like the node: what became durable is told to every peer.
        for j in 0..NODES {
            if j != i && self.up[self.link_of(i, j)] {
                let have = self.nodes[i].replica.have();
                self.queues.entry((i, j)).or_default().push_back(have);
            }
        }
    }

    fn deliver(&mut self, (from, to): (usize, usize)) {
        let Some(msg) = self
            .queues
            .get_mut(&(from, to))
            .and_then(VecDeque::pop_front)
        else {
            return;
        };
        let node = &mut self.nodes[to];
        if let Msg::Ops { ops } = &msg {
            for op in Msg::decode_ops(ops).unwrap() {
                *node.received.entry(op.id).or_default() += 1;
            }
        }
        let d = node.replica.receive(&n(from), msg);
        assert_eq!(d.refuse, None);
        let ack = d.ack;
        let applied = !d.apply.is_empty();
        for op in d.apply {
            // Causal delivery: everything the op depends on is already here.
            for (origin, seq) in op.deps.iter() {
                assert!(
                    node.replica.held().get(origin) >= seq,
                    "{} delivered before its deps",
                    op.id
                );
            }
            assert!(!node.applied.contains(&op.id), "{} delivered twice", op.id);
            node.log
                .0
                .insert((op.id.origin.clone(), op.id.seq), op.clone());
            node.replica.durable(&op.id);
            node.applied.push(op.id);
        }
        // Like the node: tell the sender (an acknowledgement), and every
        // other peer when something new is held.
        for j in 0..NODES {
            if j != to && self.up[self.link_of(to, j)] && ((ack && j == from) || applied) {
                let have = self.nodes[to].replica.have();
                self.queues.entry((to, j)).or_default().push_back(have);
            }
        }
        self.tell_links(to);
    }

    fn pump(&mut self, (from, to): (usize, usize)) {
        if !self.up[self.link_of(from, to)] {
            return;
        }
        let node = &mut self.nodes[from];
        let wants = node.replica.wants(&n(to));
        let m = node.replica.poll_send(&n(to), &node.log);
        assert!(
            wants || m.is_none(),
            "next_ops gave ops where wants said none"
        );
        if let Some(m) = m {
            self.queues.entry((from, to)).or_default().push_back(m);
        }
    }

    /// Deliver and pump until nothing moves (links as they are).
    fn quiesce(&mut self) {
        for _ in 0..100_000 {
            let mut moved = false;
            for d in self.directed() {
                let before = self.queues.get(&d).map_or(0, VecDeque::len);
                self.pump(d);
                moved |= self.queues.get(&d).map_or(0, VecDeque::len) > before;
                if self.queues.get(&d).is_some_and(|q| !q.is_empty()) {
                    self.deliver(d);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("did not settle");
    }

    fn run(&mut self, steps: Vec<Step>) {
        let directed = self.directed();
        for s in steps {
            match s {
                Step::Make(i) => self.make(i),
                Step::Deliver(d) => self.deliver(directed[d]),
                Step::Pump(d) => self.pump(directed[d]),
                Step::Toggle(l) => {
                    let up = !self.up[l];
                    self.set_link(l, up);
                }
            }
        }
    }

    /// Every node holds every op, each applied once.
    fn converged(&self) -> Result<(), TestCaseError> {
        let all: BTreeSet<OpId> = self
            .nodes
            .iter()
            .flat_map(|x| x.applied.iter().cloned())
            .collect();
        prop_assert_eq!(all.len(), self.made);
        for node in &self.nodes {
            let mine: BTreeSet<OpId> = node.applied.iter().cloned().collect();
            prop_assert_eq!(mine.len(), node.applied.len(), "no op applied twice");
            prop_assert_eq!(&mine, &all, "every node holds every op");
            prop_assert_eq!(node.replica.held().total() as usize, self.made);
        }
        for (l, &(a, b)) in self.links.iter().enumerate() {
            if self.up[l] {
                prop_assert_eq!(self.nodes[a].replica.lag(&n(b)), 0);
                prop_assert_eq!(self.nodes[b].replica.lag(&n(a)), 0);
            }
        }
        Ok(())
    }

    /// Copies of ops received, beyond the one each node needs.
    fn extra_copies(&self) -> u32 {
        self.nodes
            .iter()
            .flat_map(|x| x.received.values())
            .map(|c| c - 1)
            .sum::<u32>()
    }

    fn received_total(&self) -> usize {
        self.nodes.iter().map(|x| x.received.len()).sum()
    }
}

/// Links as indices into `pairs()`: the line n0 — n1 — n2 — n3.
const LINE: [usize; 3] = [0, 3, 5];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Links of any shape go down and up while ops are made; once the
    /// links form a connected graph (here: at least the line), every op
    /// reaches every node once, in causal order.
    #[test]
    fn every_op_reaches_every_node_once_in_causal_order(
        steps in steps(true),
        window in 1u64..8,
        start in prop::collection::vec(any::<bool>(), 6),
    ) {
        let up: Vec<usize> = (0..6).filter(|&l| start[l]).collect();
        let mut net = Net::new(window, &up);
        net.run(steps);
        for l in LINE {
            if !net.up[l] {
                net.set_link(l, true);
            }
        }
        net.quiesce();
        net.converged()?;
    }

    /// A healthy full mesh: each op reaches each other node exactly once,
    /// from its origin (no relays); with one link down, exactly once too,
    /// through one relay.
    #[test]
    fn in_a_stable_mesh_each_op_is_delivered_once(
        steps in steps(false),
        window in 1u64..8,
        down in prop::option::of(0usize..6),
    ) {
        let up: Vec<usize> = (0..6).filter(|&l| Some(l) != down).collect();
        let mut net = Net::new(window, &up);
        net.quiesce();
        net.run(steps);
        net.quiesce();
        net.converged()?;
        prop_assert_eq!(net.extra_copies(), 0);
        prop_assert_eq!(net.received_total(), net.made * (NODES - 1));
    }
}

/// The line n0 — n1 — n2 — n3, stable: n3's ops reach n0 through two relays.
#[test]
fn ops_travel_hop_by_hop_along_a_line() {
    let mut net = Net::new(4, &LINE);
    net.quiesce();
    for _ in 0..10 {
        net.make(3);
        net.make(0);
    }
    net.quiesce();
    net.converged().unwrap();
    assert_eq!(net.extra_copies(), 0);
}

#[test]
fn a_peer_of_another_chain_or_name_is_refused() {
    let mut r = Replica::new(
        n(0),
        VersionVector::new(),
        ReplicaConfig {
            chain: "a".into(),
            ..Default::default()
        },
    );
    let d = r.receive(
        &n(1),
        Msg::Hello {
            chain: "b".into(),
            node: n(1),
            held: VersionVector::new(),
            links: vec![],
        },
    );
    assert!(d.refuse.unwrap().contains("chain"));
    let d = r.receive(
        &n(1),
        Msg::Hello {
            chain: "a".into(),
            node: n(2),
            held: VersionVector::new(),
            links: vec![],
        },
    );
    assert!(d.refuse.unwrap().contains("says it is"));
    let d = r.receive(
        &n(1),
        Msg::Ops {
            ops: vec![vec![1, 2, 3]],
        },
    );
    assert!(d.refuse.is_some());
}

#[test]
fn messages_round_trip_and_garbage_is_refused() {
    let m = Msg::Hello {
        chain: "tongka".into(),
        node: n(3),
        held: VersionVector::new(),
        links: vec![n(1), n(2)],
    };
    assert_eq!(Msg::decode(&m.encode()).unwrap(), m);
    assert!(Msg::decode(&[]).is_err());
    assert!(Msg::decode(&[7]).is_err());
}

/// One ask for every escrowed counter: it names the counter and the units
/// and round-trips; a message of format 1 (which had a money `Ask` and an
/// `AskPoints`) is refused as of an unknown format, not misread.
#[test]
fn one_ask_names_its_counter_and_format_1_is_refused() {
    use tongka_core::escrow::{Counter, Want};
    let member = MemberId::mint(&n(1), 4);
    for want in [
        Want::money(member.clone(), Money::from_fen(1_234)),
        Want::points(member.clone(), 300),
    ] {
        let m = Msg::Ask {
            req: 9,
            want: want.clone(),
        };
        let bytes = m.encode();
        assert_eq!(bytes[0], tongka_sync::MSG_FORMAT);
        assert_eq!(Msg::decode(&bytes).unwrap(), m);
        let mut old = bytes.clone();
        old[0] = 1;
        assert!(matches!(
            Msg::decode(&old),
            Err(tongka_sync::DecodeError::Format(1))
        ));
    }
    assert_eq!(
        Want::money(member.clone(), Money::from_fen(1_234)),
        Want {
            counter: Counter::Balance(member),
            units: 1_234
        }
    );
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(Msg::Ops { ops }) = Msg::decode(&bytes) {
            let _ = Msg::decode_ops(&ops);
        }
    }
}
