//! A simulated node: its durable log and the state it materialises from
//! it, built with the same core rules the real node uses.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tongka_core::clock::HlcClock;
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody, StateDigest};
use tongka_core::refund::OrderState;
use tongka_core::state::{self, LedgerTotals, MemberState};
use tongka_sync::{OpLog, Replica};

/// An op with its encoding and hash, made once by its origin and shared by
/// every log that holds it (the logs hold the same bytes; sharing them
/// keeps a chain-day of ops in memory once, not once per node).
#[derive(Debug)]
pub(crate) struct OpRec {
    pub op: Op,
    pub bytes: Vec<u8>,
    pub hash: [u8; 32],
    /// For a sale: the order as every node starts it, shared until a
    /// refund changes a node's copy.
    pub order0: Option<Arc<OrderState>>,
}

impl OpRec {
    pub fn new(op: Op) -> OpRec {
        let bytes = op.encode();
        // The op is unsigned, so its encoding is its signing bytes and this
        // is `op.hash()` without encoding twice.
        debug_assert!(op.sig.is_empty());
        let hash = *blake3::hash(&bytes).as_bytes();
        debug_assert_eq!(
            hash,
            op.hash(),
            "an unsigned op's hash is that of its encoding"
        );
        let order0 = match &op.body {
            OpBody::CheckedOut { order } => Some(Arc::new(OrderState::new(order.clone()))),
            _ => None,
        };
        OpRec {
            op,
            bytes,
            hash,
            order0,
        }
    }
}

/// Per member, what its ops say the balance must be (recharges + bonuses −
/// spends + refunds), kept apart from the wallet's shares (conservation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Expect {
    pub principal: Money,
    pub bonus: Money,
}

/// Why an op could not be applied to state.
#[derive(Debug, Clone)]
pub(crate) struct ApplyFail {
    /// `authority`, `overdraft`, `unknown`, `not_applicable`.
    pub kind: &'static str,
    pub reason: String,
}

fn fail(kind: &'static str, reason: impl Into<String>) -> ApplyFail {
    ApplyFail {
        kind,
        reason: reason.into(),
    }
}

fn from_apply(e: state::ApplyError) -> ApplyFail {
    let kind = match &e {
        state::ApplyError::Overdraft(_) => "overdraft",
        state::ApplyError::Authority { .. } => "authority",
        _ => "not_applicable",
    };
    fail(kind, e.to_string())
}

/// The state a node materialises from its log. Ordered maps only: nothing
/// here may depend on hashing order.
#[derive(Debug, Default)]
pub(crate) struct Materialised {
    pub members: BTreeMap<MemberId, MemberState>,
    pub expect: BTreeMap<MemberId, Expect>,
    pub orders: BTreeMap<OrderId, Arc<OrderState>>,
    /// Phone → members holding it (more than one: a duplicate for the
    /// merge queue).
    pub phones: BTreeMap<String, BTreeSet<MemberId>>,
    pub totals: LedgerTotals,
    pub digest: StateDigest,
    /// Σ of every wallet's principal and bonus (kept as ops apply).
    pub held: Expect,
}

/// What applying one op touched, for the checks that follow it.
pub(crate) struct Touched {
    pub member: Option<MemberId>,
    pub order: Option<OrderId>,
}

impl Materialised {
    /// Fold `op` into the state, all or nothing. `drop_notes` is the
    /// `MergeDropsField` mutation.
    pub fn apply(
        &mut self,
        op: &Op,
        order0: Option<&Arc<OrderState>>,
        drop_notes: bool,
    ) -> Result<Touched, ApplyFail> {
        let mut touched = Touched {
            member: None,
            order: None,
        };
        match &op.body {
            OpBody::MemberRegistered { member, profile } => {
                if self.members.contains_key(member) {
                    return Err(fail("not_applicable", format!("{member} registered twice")));
                }
                let m = MemberState::registered(op).map_err(from_apply)?;
                self.members.insert(member.clone(), m);
                self.expect.insert(member.clone(), Expect::default());
                self.phones
                    .entry(profile.phone.clone())
                    .or_default()
                    .insert(member.clone());
                touched.member = Some(member.clone());
            }
            OpBody::ProfileUpdated { member, patch, .. } => {
                let m = self
                    .members
                    .get_mut(member)
                    .ok_or_else(|| fail("unknown", format!("profile of unknown {member}")))?;
                let old_phone = m.profile.phone.clone();
                let old_notes = m.profile.notes.clone();
                m.apply(op).map_err(from_apply)?;
                if drop_notes && patch.notes.is_some() {
                    // The broken variant: the edit's notes are lost here.
                    m.profile.notes = old_notes;
                }
                if m.profile.phone != old_phone {
                    let new_phone = m.profile.phone.clone();
                    if let Some(s) = self.phones.get_mut(&old_phone) {
                        s.remove(member);
                        if s.is_empty() {
                            self.phones.remove(&old_phone);
                        }
                    }
                    self.phones
                        .entry(new_phone)
                        .or_default()
                        .insert(member.clone());
                }
                touched.member = Some(member.clone());
            }
            OpBody::Recharged {
                member,
                amount,
                bonus,
                ..
            } => {
                let m = self
                    .members
                    .get_mut(member)
                    .ok_or_else(|| fail("unknown", format!("recharge of unknown {member}")))?;
                m.apply(op).map_err(from_apply)?;
                let e = self.expect.entry(member.clone()).or_default();
                e.principal += *amount;
                e.bonus += *bonus;
                self.held.principal += *amount;
                self.held.bonus += *bonus;
                touched.member = Some(member.clone());
            }
            OpBody::CheckedOut { order } => {
                if self.orders.contains_key(&order.id) {
                    return Err(fail("not_applicable", format!("order {} twice", order.id)));
                }
                if let Some(member) = &order.member {
                    let m = self
                        .members
                        .get_mut(member)
                        .ok_or_else(|| fail("unknown", format!("sale to unknown {member}")))?;
                    m.apply(op).map_err(from_apply)?;
                    let e = self.expect.entry(member.clone()).or_default();
                    e.principal -= order.balance_principal;
                    e.bonus -= order.balance_bonus;
                    self.held.principal -= order.balance_principal;
                    self.held.bonus -= order.balance_bonus;
                    touched.member = Some(member.clone());
                } else if order.store != *op.origin() {
                    return Err(fail("authority", "a walk-in sale of another store"));
                }
                let o = order0
                    .cloned()
                    .unwrap_or_else(|| Arc::new(OrderState::new(order.clone())));
                self.orders.insert(order.id.clone(), o);
                touched.order = Some(order.id.clone());
            }
            OpBody::Refunded { refund } => {
                let o = self.orders.get(&refund.order).ok_or_else(|| {
                    fail(
                        "unknown",
                        format!("refund of unknown order {}", refund.order),
                    )
                })?;
                let mut next_order = OrderState::clone(o);
                state::apply_refund(&mut next_order, op).map_err(from_apply)?;
                if let Some(member) = &refund.member {
                    let m = self
                        .members
                        .get_mut(member)
                        .ok_or_else(|| fail("unknown", format!("refund to unknown {member}")))?;
                    m.apply(op).map_err(from_apply)?;
                    let e = self.expect.entry(member.clone()).or_default();
                    e.principal += refund.balance_principal;
                    e.bonus += refund.balance_bonus;
                    self.held.principal += refund.balance_principal;
                    self.held.bonus += refund.balance_bonus;
                    touched.member = Some(member.clone());
                }
                self.orders
                    .insert(refund.order.clone(), Arc::new(next_order));
                touched.order = Some(refund.order.clone());
            }
            OpBody::SharesTransferred { member, .. } => {
                let m = self
                    .members
                    .get_mut(member)
                    .ok_or_else(|| fail("unknown", format!("transfer of unknown {member}")))?;
                m.apply(op).map_err(from_apply)?;
                touched.member = Some(member.clone());
            }
            OpBody::MembersMerged { .. } | OpBody::MergeMoved { .. } => {
                return Err(fail("not_applicable", "merges are not simulated yet"));
            }
        }
        self.totals.apply(op);
        Ok(touched)
    }

    /// The materialised-state hash: members, orders, the phone index and
    /// the totals, encoded in key order.
    pub fn state_hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        for (id, m) in &self.members {
            h.update(id.as_str().as_bytes());
            h.update(&postcard::to_allocvec(m).expect("encoding to memory"));
        }
        for (id, o) in &self.orders {
            h.update(id.as_str().as_bytes());
            h.update(&postcard::to_allocvec(&**o).expect("encoding to memory"));
        }
        for (phone, ids) in &self.phones {
            h.update(phone.as_bytes());
            for id in ids {
                h.update(id.as_str().as_bytes());
            }
        }
        h.update(&postcard::to_allocvec(&self.totals).expect("encoding to memory"));
        *h.finalize().as_bytes()
    }
}

/// An escrow conversation in progress at a node: asks made one after
/// another, then (for a checkout) one more try.
#[derive(Debug)]
pub(crate) struct EscrowJob {
    pub member: MemberId,
    pub asks: std::collections::VecDeque<(usize, Money)>,
    /// The ask being waited for: request number, and the transfer ops its
    /// answer carried (waited for until held here).
    pub waiting: Option<(u64, Option<Vec<OpId>>)>,
    pub purpose: Purpose,
    pub timed_out: bool,
    pub asked: bool,
}

#[derive(Debug)]
pub(crate) enum Purpose {
    Checkout(Box<crate::sim::Request>),
    PullAhead,
}

/// Replication bookkeeping mirrored outside the `Replica` (which does not
/// expose it) so the driver asks it for ops only when a peer may lack some:
/// the same rules as `Replica`'s per-peer `sent` and `greeted`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shadow {
    pub sent: Vec<u64>,
    pub greeted: bool,
}

pub(crate) struct Node {
    pub name: NodeId,
    // Durable: survives a crash.
    /// The log: for each origin (by index) its ops 1..=n.
    pub log: Vec<Vec<Arc<OpRec>>>,
    /// The order ops were committed in (origin index, seq).
    pub commit_order: Vec<(u32, u64)>,
    pub rejected: BTreeSet<OpId>,
    /// Entity counter high-water mark, committed with every op.
    pub entity_hwm: u64,
    // Volatile.
    pub up: bool,
    /// Bumped at each crash: timers of an earlier life are ignored.
    pub life: u64,
    pub disk_full: bool,
    pub skew: i64,
    pub replica: Replica,
    pub clock: HlcClock,
    /// `vv` by origin index.
    pub held: Vec<u64>,
    /// Per origin, the ops old enough to relay (own ops: all).
    pub visible: Vec<u64>,
    /// Remote ops not yet old enough to relay: (origin, seq, arrival).
    pub recent: std::collections::VecDeque<(usize, u64, u64)>,
    pub st: Materialised,
    pub entity: u64,
    pub idem: BTreeMap<String, OpId>,
    pub next_req: u64,
    pub asks: BTreeMap<u64, u64>,
    pub jobs: BTreeMap<u64, EscrowJob>,
    pub next_job: u64,
    pub pulling: BTreeSet<MemberId>,
    pub shadow: Vec<Shadow>,
    pub have_told: Vec<u64>,
    pub have_due: bool,
    pub push_due: bool,
    pub relay_due: bool,
    /// Ops applied to state outside the log (mutations only).
    pub side_applied: BTreeSet<OpId>,
}

/// The node's log as the protocol reads it.
pub(crate) struct LogView<'a> {
    pub log: &'a [Vec<Arc<OpRec>>],
    pub index: &'a BTreeMap<NodeId, usize>,
    /// What may be relayed yet, per origin (the driver's relay policy).
    pub visible: &'a [u64],
    pub me: usize,
}

impl OpLog for LogView<'_> {
    fn ops_from(&self, origin: &NodeId, from_seq: u64, limit: usize) -> Vec<Op> {
        let Some(&i) = self.index.get(origin) else {
            return Vec::new();
        };
        let ops = &self.log[i];
        let upto = if i == self.me {
            ops.len()
        } else {
            (self.visible[i] as usize).min(ops.len())
        };
        let start = (from_seq.max(1) - 1) as usize;
        ops[..upto]
            .iter()
            .skip(start)
            .take(limit)
            .map(|r| r.op.clone())
            .collect()
    }
}
