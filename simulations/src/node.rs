//! A simulated node: its durable log and the state it materialises from
//! it, built with the same core rules the real node uses.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::Arc;

use tongka_core::checkout::Order;
use tongka_core::clock::{HlcClock, VersionVector};
use tongka_core::day::Day;
use tongka_core::figures::{self, Figures};
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId, WithdrawalId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody, OriginRole, StateDigest};
use tongka_core::programme::Programme;
use tongka_core::programme_doc;
use tongka_core::refund::OrderState;
use tongka_core::settlement::Withdrawal;
use tongka_core::state::{LedgerTotals, MemberState};
use tongka_core::stock::{NegativeStock, StockChange, StockError, StoreStock, Unit};
use tongka_core::wallet::Share;
use tongka_machine::apply::{self, Admitted, IndexDelta, Key};
use tongka_machine::idem::Answers;
use tongka_machine::stock::{Check, StockBook, Units};
use tongka_sync::{OpLog, OpRef, Replica};

use crate::ids::{Fx, IdMap, Interner, Shared};

/// An op with its encoding and hash, made once by its origin and shared by
/// every log that holds it (the logs hold the same bytes; sharing them
/// keeps a chain-day of ops in memory once, not once per node).
#[derive(Debug)]
pub(crate) struct OpRec {
    pub op: Op,
    pub hash: [u8; 32],
    /// The origin's node index, and the deps by node index: `deps[d]` ops
    /// of node `d` (the checks on every delivery use these, not names).
    pub o: u32,
    pub deps: Box<[u32]>,
    /// The number of the member the op is about and of its order (sale,
    /// refund), numbered once when it is made, so the nodes that apply it
    /// do not look its ids up again.
    pub member: Option<u32>,
    pub order: Option<u32>,
    /// A registration's phone, numbered likewise.
    pub phone: Option<u32>,
    /// Applying this op to a member: the state it was applied to and the
    /// result, so nodes that apply it to the same state (equal by value)
    /// share the result (the rules are pure: same state and op, same
    /// result). Keeps
    /// a day of a large chain's members in memory once, not once per node.
    pub memo: Memo,
}

type MemoSlot = (Arc<MemberState>, Arc<MemberState>, Option<(Share, bool)>);

/// A wallet's total, and whether any of its shares is negative (what the
/// checks after an op and the sweeps look at).
pub(crate) fn wallet_summary(m: &MemberState) -> (Share, bool) {
    let negative = m
        .wallet
        .shares()
        .any(|(_, s)| s.principal.is_negative() || s.bonus.is_negative() || s.points < 0);
    (m.wallet.total(), negative)
}

/// `a == b`, looking first at the fields two states of one member differ
/// in most often (states applied in another order: visits, last seen).
fn same_state(a: &MemberState, b: &MemberState) -> bool {
    a.visits == b.visits
        && a.last_seen == b.last_seen
        && a.cumulative_spent == b.cumulative_spent
        && a == b
}

/// See `OpRec::memo`.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    /// (state applied to, result, the result's wallet summary once a
    /// check asked for it).
    /// (A run is one thread's: no lock.)
    slot: RefCell<Option<MemoSlot>>,
    /// Nodes that applied the op; at `done` nobody will again (but a node
    /// replaying its log at restart), and the memo is dropped.
    uses: Cell<u32>,
}

impl Memo {
    /// The result for `cur`: the same state (by handle, else by value:
    /// nodes that applied a member's ops in another order hold equal
    /// states under different handles; they share the result, and from
    /// then on the state).
    fn get(&self, cur: &Arc<MemberState>) -> Option<Arc<MemberState>> {
        let slot = self.slot.borrow();
        let (prior, next, _) = slot.as_ref()?;
        (Arc::ptr_eq(prior, cur) || same_state(prior, cur)).then(|| next.clone())
    }

    /// The result for an op whose result does not depend on the state it
    /// is applied to (a registration), if a node made it.
    fn made(&self) -> Option<Arc<MemberState>> {
        let slot = self.slot.borrow();
        slot.as_ref().map(|(_, next, _)| next.clone())
    }

    fn put(&self, cur: &Arc<MemberState>, next: &Arc<MemberState>) {
        *self.slot.borrow_mut() = Some((cur.clone(), next.clone(), None));
    }

    /// `wallet_summary(m)`, computed once for the shared result.
    pub fn summary(&self, m: &Arc<MemberState>) -> (Share, bool) {
        let mut slot = self.slot.borrow_mut();
        match slot.as_mut() {
            Some((_, next, sum)) if Arc::ptr_eq(next, m) => {
                *sum.get_or_insert_with(|| wallet_summary(m))
            }
            _ => wallet_summary(m),
        }
    }

    /// One more node applied the op; `nodes` is how many there are.
    pub fn used(&self, nodes: u32) {
        let n = self.uses.get() + 1;
        self.uses.set(n);
        if n >= nodes {
            *self.slot.borrow_mut() = None;
        }
    }
}

/// A shared op as the replica handles it: the simulated network carries
/// these handles, not encoded bytes (the encoding is the real node's and is
/// tested there; here it would only cost time).
#[derive(Debug, Clone)]
pub(crate) struct Rec(pub Rc<OpRec>);

impl OpRef for Rec {
    fn op(&self) -> &Op {
        &self.0.op
    }
}

impl OpRec {
    /// `o`, `deps`: as in the op, by node index. A registration's member
    /// and a sale's order are numbered here (the origin applies the op
    /// next, where they were numbered before: same numbers).
    /// `buf`: room to encode the op in (kept from op to op: no growing).
    pub fn new(op: Op, o: u32, deps: Box<[u32]>, ids: &Ids, buf: &mut Vec<u8>) -> OpRec {
        // `op.encode()`, into `buf`.
        buf.clear();
        op.encode_into(buf);
        debug_assert_eq!(*buf, op.encode());
        // The op is unsigned, so its encoding is its signing bytes and this
        // is `op.hash()` without encoding twice.
        debug_assert!(op.sig.is_empty());
        let hash = *blake3::hash(buf).as_bytes();
        debug_assert_eq!(
            hash,
            op.hash(),
            "an unsigned op's hash is that of its encoding"
        );
        let members = |m: &MemberId| ids.members.borrow().get(m);
        let mut phone = None;
        let (member, order) = match &op.body {
            OpBody::MemberRegistered {
                member, profile, ..
            } => {
                phone = Some(ids.phones.borrow_mut().intern(&profile.phone));
                (Some(ids.members.borrow_mut().intern(member)), None)
            }
            OpBody::ProfileUpdated { member, .. }
            | OpBody::Recharged { member, .. }
            | OpBody::SharesTransferred { member, .. }
            | OpBody::CouponIssued { member, .. }
            | OpBody::UsesTransferred { member, .. }
            | OpBody::CardVisited { member, .. } => (members(member), None),
            OpBody::CheckedOut { order, .. } => (
                order.member.as_ref().and_then(members),
                Some(ids.orders.borrow_mut().intern(&order.id)),
            ),
            OpBody::Refunded { refund, .. } => (
                refund.member.as_ref().and_then(members),
                ids.orders.borrow().get(&refund.order),
            ),
            _ => (None, None),
        };
        OpRec {
            op,
            hash,
            o,
            deps,
            member,
            order,
            phone,
            memo: Memo::default(),
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

pub(crate) fn fail(kind: &'static str, reason: impl Into<String>) -> ApplyFail {
    ApplyFail {
        kind,
        reason: reason.into(),
    }
}

impl From<apply::Rejected> for ApplyFail {
    fn from(r: apply::Rejected) -> ApplyFail {
        fail(r.kind.as_str(), r.reason)
    }
}

/// The member and order numbering of one run, shared by its nodes.
#[derive(Clone, Default)]
pub(crate) struct Ids {
    pub members: Shared<MemberId>,
    pub orders: Shared<OrderId>,
    pub phones: Shared<String>,
}

impl Ids {
    pub fn new() -> Ids {
        Ids {
            members: Rc::new(RefCell::new(Interner::default())),
            orders: Rc::new(RefCell::new(Interner::default())),
            phones: Rc::new(RefCell::new(Interner::default())),
        }
    }
}

/// A node's order: as sold (read from the sale op every node shares), or
/// as its refunds left it. An order as sold is the core's
/// `OrderState::new(order)`, made when asked for (a refund, the state hash).
#[derive(Debug, Clone)]
pub(crate) enum Sale {
    Sold(Rc<OpRec>),
    Changed(Arc<OrderState>),
}

impl Sale {
    /// The order as sold.
    pub fn order(&self) -> &Order {
        match self {
            Sale::Sold(rec) => rec.op.body.as_sale().expect("a sale's op is a checkout"),
            Sale::Changed(o) => &o.order,
        }
    }

    /// The order's state, as the core keeps it.
    pub fn state(&self) -> Cow<'_, OrderState> {
        match self {
            Sale::Sold(_) => Cow::Owned(OrderState::new(self.order().clone())),
            Sale::Changed(o) => Cow::Borrowed(o),
        }
    }
}

impl PartialEq for Sale {
    fn eq(&self, other: &Sale) -> bool {
        match (self, other) {
            (Sale::Sold(a), Sale::Sold(b)) => Rc::ptr_eq(a, b) || self.order() == other.order(),
            (Sale::Changed(a), Sale::Changed(b)) => Arc::ptr_eq(a, b) || **a == **b,
            _ => *self.state() == *other.state(),
        }
    }
}

/// The members holding a phone, by number, in id order (mostly one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Holders(Vec<u32>);

impl Holders {
    pub fn insert(&mut self, i: u32, ids: &Interner<MemberId>) {
        if let Err(at) = self.0.binary_search_by(|x| ids.key(*x).cmp(ids.key(i))) {
            self.0.insert(at, i);
        }
    }

    pub fn remove(&mut self, i: u32) {
        self.0.retain(|x| *x != i);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members' numbers, in id order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }
}

/// The state a node materialises from its log. Nothing here may depend on
/// hashing order (`IdMap`s iterate by number or by id).
#[derive(Debug)]
pub(crate) struct Materialised {
    /// The programme document (saved bytes, as the node's store keeps it)
    /// and the programme it holds: what this node's decisions use.
    pub programme_doc: Vec<u8>,
    pub programme: Arc<Programme>,
    /// Whether a programme change was applied (the state hash covers the
    /// programme only then, so runs without changes hash as before).
    pub programme_changed: bool,
    /// Shared between nodes while equal (see `OpRec::memo`).
    pub members: IdMap<MemberId, Arc<MemberState>>,
    /// Numbered like `members`.
    pub expect: IdMap<MemberId, Expect>,
    pub orders: IdMap<OrderId, Sale>,
    /// Orders a refund was applied to (the others are as sold).
    pub refunded: Vec<u32>,
    /// Phone → members holding it (more than one: a duplicate for the
    /// merge queue).
    pub phones: IdMap<String, Holders>,
    pub totals: LedgerTotals,
    pub digest: StateDigest,
    /// Σ of every wallet's principal and bonus (kept as ops apply).
    pub held: Expect,
    /// Merges applied (`MembersMerged`): the core's view for lookups, and
    /// the (absorbed, survivor) pairs for the state hash. See `merges.rs`.
    pub merged: tongka_core::merge::Merged,
    pub merge_pairs: BTreeSet<(MemberId, MemberId)>,
    /// The `MergeMoveDropsField` mutation: this node (named) credits the
    /// survivor of other nodes' share moves without their principal.
    pub merge_drop: Option<NodeId>,
    /// Per coupon, the uses in the sales applied here and the uses refunds
    /// applied here gave back (the coupon checks; empty without coupons).
    pub coupon_books: crate::coupons::Books,
    /// Per card, the visits applied here and the visits refunds took back,
    /// and visits applied after a refund (the card checks; empty without
    /// cards).
    pub card_books: crate::cards::Books,
    /// The chain's staff accounts (`StaffChanged` ops, the core's
    /// `StaffBook::apply`); the state hash covers it once not empty.
    pub staff: tongka_core::staff::StaffBook,
    /// The `StaffLastArrivedWins` mutation: this node applies each staff
    /// edit's fields whatever their stamps (the last to arrive stays).
    pub staff_last_arrived: bool,
    /// Every store's stock and the chain's transfers (`StockChanged` ops
    /// and the stock lines of sales and refunds, the machine's
    /// `StockBook::apply`); the state hash covers it once not empty.
    pub stock: StockBook,
    /// The `ReceiveTwice` mutation: this node applies a receive of a
    /// transfer it holds as received again instead of refusing it.
    pub stock_receive_twice: bool,
    /// The report figures of every store and day, from the ops applied
    /// here: the core's rule (`figures::touched`, `Figures::apply_as`), as
    /// the db keeps them in each op's commit. Active members (a set per
    /// store and day in the db) are not kept: a set of a million entries
    /// per node would double the memory of a large run.
    pub figures: FiguresMap,
    /// The `FiguresTransferTwice` mutation: this node counts each share
    /// transfer twice in its figures.
    pub figures_transfer_twice: bool,
    /// Settlement (`tongka_core::settlement`): the settlement of the
    /// transfer ops applied here, summed from their bodies; the settlement
    /// check compares it with the one read from `figures`.
    pub settle_ops: tongka_core::settlement::Settlement,
    /// The `SettlementDropsBonus` mutation.
    pub settle_drop_bonus: bool,
    /// Every withdrawal held here as `settlement::apply` makes it (the
    /// db's `withdrawals-1` rows); the state hash covers them once not
    /// empty.
    pub withdrawals: BTreeMap<WithdrawalId, Withdrawal>,
}

/// A node's figures by (store, day): hashed, since 21 nodes each look one
/// up for every op of a large run (the order is imposed where it matters,
/// by the checker).
pub type FiguresMap = HashMap<(NodeId, Day), Figures, BuildHasherDefault<Fx>>;

impl Default for Materialised {
    fn default() -> Self {
        Materialised::new(&Ids::new())
    }
}

impl Materialised {
    /// An empty state numbering ids with the run's `ids`.
    pub fn new(ids: &Ids) -> Self {
        Materialised {
            programme_doc: programme_doc::initial().save(),
            programme: Arc::new(Programme::default()),
            programme_changed: false,
            staff: Default::default(),
            staff_last_arrived: false,
            stock: StockBook::default(),
            stock_receive_twice: false,
            figures: Default::default(),
            figures_transfer_twice: false,
            settle_ops: Default::default(),
            settle_drop_bonus: false,
            withdrawals: BTreeMap::new(),
            members: IdMap::new(ids.members.clone()),
            expect: IdMap::new(ids.members.clone()),
            orders: IdMap::new(ids.orders.clone()),
            refunded: Vec::new(),
            phones: IdMap::new(ids.phones.clone()),
            totals: LedgerTotals::default(),
            digest: StateDigest::default(),
            held: Expect::default(),
            merged: Default::default(),
            merge_pairs: BTreeSet::new(),
            merge_drop: None,
            coupon_books: Default::default(),
            card_books: Default::default(),
        }
    }
}

/// The `StaffLastArrivedWins` mutation: a staff edit that would lose a
/// field it changes to a later stamp the account holds is restamped just
/// above it, so the core's apply takes it: the field keeps the edit that
/// arrived last, whatever the stamps.
fn arrival_restamp(book: &tongka_core::staff::StaffBook, op: &Op) -> Option<Op> {
    let OpBody::StaffChanged { staff, patch } = &op.body else {
        return None;
    };
    let a = book.get(staff)?;
    let mut stores = patch.stores.clone();
    if let Some(s) = stores.as_mut() {
        s.sort();
        s.dedup();
    }
    let changes = [
        patch.name.as_ref().is_some_and(|v| *v != a.name),
        patch.role.is_some_and(|v| v != a.role),
        stores.is_some_and(|v| v != a.stores),
        patch.disabled.is_some_and(|v| v != a.disabled),
        patch.password.as_ref().is_some_and(|v| *v != a.password),
    ];
    let stamp = tongka_core::staff::Stamp::of(op);
    let top = (0..5)
        .filter(|&i| changes[i] && a.written[i] > stamp)
        .map(|i| a.written[i].hlc)
        .max()?;
    let mut o = op.clone();
    o.hlc = tongka_core::clock::Hlc {
        ms: top.ms,
        count: top.count + 1,
    };
    Some(o)
}

/// The role a simulated node's chain certificate would give it.
pub(crate) fn role_of(origin: &tongka_core::ids::NodeId) -> OriginRole {
    if origin.as_str() == "hq" {
        OriginRole::Hq
    } else {
        OriginRole::Store
    }
}

/// A member's expected balance (by number), made on first use.
pub(crate) fn expect_of(map: &mut IdMap<MemberId, Expect>, i: u32) -> &mut Expect {
    if map.at(i).is_none() {
        map.put(i, Expect::default());
    }
    map.at_mut(i).expect("put above")
}

/// What applying one op touched (by number), for the checks that follow it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Touched {
    pub member: Option<u32>,
    pub order: Option<u32>,
}

/// The machine's read view of a node's state for one op: its member and
/// order by the numbers its record carries (the rule only asks about the
/// op's own member and order), else by id.
struct Read<'a> {
    st: &'a Materialised,
    member: Option<u32>,
    order: Option<u32>,
}

impl apply::View for Read<'_> {
    fn member(&self, id: &MemberId) -> Option<&MemberState> {
        let i = self.member.or_else(|| self.st.members.slot(id))?;
        self.st.members.at(i).map(|m| &**m)
    }

    fn order(&self, id: &OrderId) -> Option<Cow<'_, OrderState>> {
        let i = self.order.or_else(|| self.st.orders.slot(id))?;
        self.st.orders.at(i).map(Sale::state)
    }
}

impl Materialised {
    /// Member `id`'s state after `op`, by the machine's rule (`next`), or
    /// the result another node got applying the same op to the same state
    /// (the memo: a cache around the rule). Returns the member's number
    /// and its state before.
    fn member_op(
        &mut self,
        id: &MemberId,
        num: Option<u32>,
        memo: Option<&Memo>,
        op: &Op,
        next: impl FnOnce(&MemberState) -> Result<MemberState, ApplyFail>,
    ) -> Result<(u32, Arc<MemberState>), ApplyFail> {
        let unknown = || fail("unknown", format!("{} of unknown {id}", op.body.kind()));
        let i = num.or_else(|| self.members.slot(id)).ok_or_else(unknown)?;
        let cur = self.members.at_mut(i).ok_or_else(unknown)?;
        if let Some(next) = memo.and_then(|m| m.get(cur)) {
            return Ok((i, std::mem::replace(cur, next)));
        }
        let next = Arc::new(next(cur)?);
        if let Some(m) = memo {
            m.put(cur, &next);
        }
        Ok((i, std::mem::replace(cur, next)))
    }

    /// Fold `op` into the state, all or nothing, by the machine's rule
    /// (`tongka_machine::apply`): what it refuses, and what it changes in
    /// members, orders and the phone index; kept here are the simulator's
    /// own books (expected balances, totals) and representations.
    /// `drop_notes` is the `MergeDropsField` mutation, `ignore_programme`
    /// the `IgnoresProgramme` one. `rec`: the op's shared record (its ids'
    /// numbers; a sale keeps it as its order); `memo`: share results
    /// through it.
    pub fn apply(
        &mut self,
        op: &Op,
        rec: Option<&Rc<OpRec>>,
        memo: bool,
        drop_notes: bool,
        ignore_programme: bool,
    ) -> Result<Touched, ApplyFail> {
        self.apply_as(op, rec, memo, drop_notes, ignore_programme, None)
    }

    /// `apply`, with `made`: the op was made here now, checked against the
    /// sim catalogue's units and the programme's negative-stock policy
    /// (`Check::Made`); `None`: made elsewhere or replayed from the log,
    /// applied as recorded (`Check::Received`).
    pub fn apply_as(
        &mut self,
        op: &Op,
        rec: Option<&Rc<OpRec>>,
        memo: bool,
        drop_notes: bool,
        ignore_programme: bool,
        made: Option<Units<'_>>,
    ) -> Result<Touched, ApplyFail> {
        let memo = rec.filter(|_| memo && !drop_notes).map(|r| &r.memo);
        let num_m = rec.and_then(|r| r.member);
        let num_o = rec.and_then(|r| r.order);
        let read = Read {
            st: self,
            member: num_m,
            order: num_o,
        };
        // The origin's authority, as the node checks it on receipt.
        let admitted = apply::admit(&read, op, Some(role_of(op.origin())))?;
        let mut touched = Touched {
            member: None,
            order: None,
        };
        let rule = |m: &MemberState| apply::next_member(Some(m), op).map_err(ApplyFail::from);
        match admitted {
            Admitted::Registered { member } => {
                let i = num_m.unwrap_or_else(|| self.members.intern(member));
                // The registered state is the op's alone: made once, shared.
                let m = match memo.and_then(Memo::made) {
                    Some(m) => m,
                    None => {
                        let m = Arc::new(apply::next_member(None, op)?);
                        if let Some(memo) = memo {
                            memo.put(&m, &m);
                        }
                        m
                    }
                };
                // The registration's index claim (`apply::reindex(None,
                // profile)`: its phone; cards are not simulated), by the
                // number its record carries.
                let p = match rec.and_then(|r| r.phone) {
                    Some(p) => p,
                    None => self.phones.intern(&m.profile.phone),
                };
                // An import's opening balances are what its wallet holds.
                let e = match &op.body {
                    OpBody::MemberRegistered {
                        opening: Some(o), ..
                    } => Expect {
                        principal: o.principal,
                        bonus: o.bonus,
                    },
                    _ => Expect::default(),
                };
                self.held.principal += e.principal;
                self.held.bonus += e.bonus;
                self.members.put(i, m);
                self.expect.put(i, e);
                if self.phones.at(p).is_none() {
                    self.phones.put(p, Holders::default());
                }
                self.phones
                    .at_mut(p)
                    .expect("put above")
                    .insert(i, &self.members.ids());
                touched.member = Some(i);
            }
            Admitted::Member { member } => {
                let (i, old) = self.member_op(member, num_m, memo, op, |m| {
                    let mut next = rule(m)?;
                    if drop_notes
                        && let OpBody::ProfileUpdated { patch, .. } = &op.body
                        && patch.notes.is_some()
                    {
                        // The broken variant: the edit's notes are lost here.
                        next.profile.notes = m.profile.notes.clone();
                    }
                    Ok(next)
                })?;
                match &op.body {
                    OpBody::ProfileUpdated { .. } => {
                        let new = self.members.at(i).expect("applied").clone();
                        self.reindex(i, &old.profile, &new.profile);
                    }
                    OpBody::CardVisited { card, count, .. } => {
                        let m = self.members.at(i).expect("applied");
                        let count_card = m.card(card).is_some_and(|c| c.card.is_count());
                        self.card_books.visited(card, *count, count_card, &op.id);
                    }
                    OpBody::Recharged { amount, bonus, .. } => {
                        let e = expect_of(&mut self.expect, i);
                        e.principal += *amount;
                        e.bonus += *bonus;
                        self.held.principal += *amount;
                        self.held.bonus += *bonus;
                    }
                    _ => {}
                }
                touched.member = Some(i);
            }
            Admitted::Sale { order } => {
                // The sale's stock lines first: a refusal changes nothing.
                self.apply_stock(op, made)?;
                let oi = num_o.unwrap_or_else(|| self.orders.intern(&order.id));
                if let Some(member) = &order.member {
                    let (i, _) = self.member_op(member, num_m, memo, op, rule)?;
                    let e = expect_of(&mut self.expect, i);
                    e.principal -= order.balance_principal;
                    e.bonus -= order.balance_bonus;
                    self.held.principal -= order.balance_principal;
                    self.held.bonus -= order.balance_bonus;
                    touched.member = Some(i);
                }
                for u in &order.coupons {
                    if let Some(id) = tongka_core::ids::CouponId::parse(&u.code) {
                        self.coupon_books.entry(id).or_default().0 += 1;
                    }
                }
                // The simulator keeps the op as the order (`OrderState::new`
                // of it when asked).
                let o = match rec {
                    Some(r) => Sale::Sold(r.clone()),
                    None => Sale::Changed(Arc::new(OrderState::new(order.clone()))),
                };
                self.orders.put(oi, o);
                touched.order = Some(oi);
            }
            Admitted::Refund { order, member } => {
                self.apply_stock(op, made)?;
                let refund = op.body.as_refund().expect("a refund");
                let oi = num_o
                    .or_else(|| self.orders.slot(&refund.order))
                    .expect("admitted: the order is known");
                if let Some(member) = member {
                    let (i, old) = self.member_op(member, num_m, memo, op, rule)?;
                    // The visits each card taken back had left (the apply
                    // took them from the origin's share).
                    for id in &refund.cards_refunded {
                        let left = old.card(id).map_or(0, |c| c.left());
                        self.card_books.refunded(id, left, op.origin());
                    }
                    let e = expect_of(&mut self.expect, i);
                    e.principal += refund.balance_principal;
                    e.bonus += refund.balance_bonus;
                    self.held.principal += refund.balance_principal;
                    self.held.bonus += refund.balance_bonus;
                    touched.member = Some(i);
                }
                for id in &refund.coupons_returned {
                    self.coupon_books.entry(id.clone()).or_default().1 += 1;
                }
                self.orders.put(oi, Sale::Changed(Arc::new(*order)));
                self.refunded.push(oi);
                touched.order = Some(oi);
            }
            Admitted::Merge { .. } => {
                touched = self.apply_merge(op)?;
            }
            Admitted::Staff => {
                let arrived = self
                    .staff_last_arrived
                    .then(|| arrival_restamp(&self.staff, op))
                    .flatten();
                let op = arrived.as_ref().unwrap_or(op);
                self.staff
                    .apply(op)
                    .map_err(|e| fail("not_applicable", e.to_string()))?;
            }
            Admitted::Catalogue => {
                return Err(fail(
                    "not_applicable",
                    "catalogue changes are not simulated yet",
                ));
            }
            Admitted::Stock => self.apply_stock(op, made)?,
            // The withdrawal's row after the op, as the db keeps it: one
            // that does not apply leaves the row as it was (the
            // withdrawal_once check compares the rows with the ops).
            Admitted::Withdrawal => {
                let OpBody::Withdrawal { id, .. } = &op.body else {
                    unreachable!("admitted as a withdrawal")
                };
                if let Ok(w) = tongka_core::settlement::apply(self.withdrawals.get(id), op) {
                    self.withdrawals.insert(id.clone(), w);
                }
            }
            // A close changes no state: it is in the log, where its
            // checker reads it (`sim/closes.rs`).
            Admitted::Close => {}
            Admitted::Programme => {
                // The node's `apply_programme_remote`: the change applied to
                // the document held, the programme it then holds used from
                // now on. The node's own change goes the same way (its
                // document gets the very change it made).
                let OpBody::ProgrammeChanged { change, .. } = &op.body else {
                    unreachable!("admitted as a programme change")
                };
                if !ignore_programme {
                    let (bytes, now) =
                        programme_doc::apply_to(&self.programme_doc, op.origin(), change)
                            .map_err(|e| fail("not_applicable", e.to_string()))?;
                    self.programme_doc = bytes;
                    self.programme = Arc::new(now);
                    self.programme_changed = true;
                }
            }
        }
        self.totals.apply(op);
        let twice =
            self.figures_transfer_twice && matches!(op.body, OpBody::SharesTransferred { .. });
        let day = figures::day_of(op);
        for store in figures::touched(op) {
            let f = self.figures.entry((store.clone(), day)).or_default();
            f.apply_as(&store, op);
            if twice {
                f.apply_as(&store, op);
            }
        }
        self.settle(op);
        Ok(touched)
    }

    /// A share transfer between two stores in the settlement book (the
    /// settlement of its body; its figures, `shares_with` among them, are
    /// kept with the others in `figures`). The `SettlementDropsBonus`
    /// mutant takes the bonus back out of the `shares_with` rows the
    /// transfer just added to.
    fn settle(&mut self, op: &Op) {
        let Some(t) = tongka_core::settlement::transfer_of(op) else {
            return;
        };
        self.settle_ops.add_transfer(&t);
        if self.settle_drop_bonus {
            let day = figures::day_of(op);
            let rows = [(&t.from, &t.to, true), (&t.to, &t.from, false)];
            for (store, other, given) in rows {
                if let Some(ex) = self
                    .figures
                    .get_mut(&(store.clone(), day))
                    .and_then(|f| f.shares_with.get_mut(other))
                {
                    let m = if given {
                        &mut ex.given
                    } else {
                        &mut ex.received
                    };
                    m.bonus -= t.bonus;
                }
            }
        }
    }

    /// `op`'s stock moves by the machine's `StockBook::apply` (a sale or
    /// refund without stock lines moves nothing). The `ReceiveTwice`
    /// mutant applies a second receive of a transfer by moving its goods
    /// in again.
    fn apply_stock(&mut self, op: &Op, made: Option<Units<'_>>) -> Result<(), ApplyFail> {
        let check = match made {
            Some(units) => Check::Made {
                units,
                policy: self.programme.negative_stock,
            },
            None => Check::Received,
        };
        match self.stock.apply(op, check) {
            Ok(_) => Ok(()),
            Err(StockError::AlreadyReceived { id }) if self.stock_receive_twice => {
                let OpBody::StockChanged {
                    change: StockChange::Receive { receipt, .. },
                } = &op.body
                else {
                    unreachable!("only a receive is already received")
                };
                let shipment = self
                    .stock
                    .transfers
                    .get(&id)
                    .expect("received")
                    .shipment()
                    .clone();
                let origin = op.origin();
                self.stock
                    .stores
                    .entry(origin.clone())
                    .or_insert_with(|| StoreStock::new(origin.clone()))
                    .apply(
                        origin,
                        &receipt.moves(&shipment),
                        &|_| Some(Unit::Measured),
                        NegativeStock::Allow,
                    )
                    .map(|_| ())
                    .map_err(|e| fail("not_applicable", e.to_string()))
            }
            Err(e) => Err(fail("not_applicable", e.to_string())),
        }
    }

    /// Member `i`'s profile went from `old` to `new`: the phone index
    /// follows the machine's deltas (cards are not simulated).
    pub(crate) fn reindex(&mut self, i: u32, old: &Profile, new: &Profile) {
        if old == new {
            return;
        }
        for d in apply::reindex(Some(old), new) {
            match d {
                IndexDelta::Release(Key::Phone(phone)) => {
                    if let Some(s) = self.phones.get_mut(&phone) {
                        s.remove(i);
                        if s.is_empty() {
                            self.phones.remove(&phone);
                        }
                    }
                }
                IndexDelta::Claim(Key::Phone(phone)) => {
                    self.phones
                        .or_default(&phone)
                        .insert(i, &self.members.ids());
                }
                IndexDelta::Release(Key::Card(_)) | IndexDelta::Claim(Key::Card(_)) => {}
            }
        }
    }

    /// The materialised-state hash: members, orders, the phone index and
    /// the totals, encoded in key order.
    pub fn state_hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        let mut buf = Vec::new();
        self.members.for_each_sorted(|id, m| {
            h.update(id.as_str().as_bytes());
            buf.clear();
            let bytes =
                postcard::to_extend(&**m, std::mem::take(&mut buf)).expect("encoding to memory");
            h.update(&bytes);
            buf = bytes;
        });
        self.orders.for_each_sorted(|id, o| {
            h.update(id.as_str().as_bytes());
            buf.clear();
            let bytes = postcard::to_extend(&*o.state(), std::mem::take(&mut buf))
                .expect("encoding to memory");
            h.update(&bytes);
            buf = bytes;
        });
        let members = self.members.ids();
        self.phones.for_each_sorted(|phone, holders| {
            h.update(phone.as_bytes());
            for i in holders.iter() {
                h.update(members.key(i).as_str().as_bytes());
            }
        });
        drop(members);
        h.update(&postcard::to_allocvec(&self.totals).expect("encoding to memory"));
        if self.programme_changed {
            h.update(b"programme");
            h.update(&postcard::to_allocvec(&*self.programme).expect("encoding to memory"));
        }
        if !self.staff.is_empty() {
            h.update(b"staff");
            h.update(&postcard::to_allocvec(&self.staff).expect("encoding to memory"));
        }
        if self.stock != StockBook::default() {
            h.update(b"stock");
            for (store, stock) in &self.stock.stores {
                h.update(store.as_str().as_bytes());
                h.update(&postcard::to_allocvec(stock).expect("encoding to memory"));
            }
            h.update(&postcard::to_allocvec(&self.stock.minimums).expect("encoding to memory"));
            h.update(&postcard::to_allocvec(&self.stock.transfers).expect("encoding to memory"));
        }
        if !self.withdrawals.is_empty() {
            h.update(b"withdrawals");
            h.update(&postcard::to_allocvec(&self.withdrawals).expect("encoding to memory"));
        }
        // Merges, once any was applied (runs without hash as before).
        for (absorbed, survivor) in &self.merge_pairs {
            h.update(b"merged");
            h.update(absorbed.as_str().as_bytes());
            h.update(survivor.as_str().as_bytes());
        }
        *h.finalize().as_bytes()
    }

    /// Whether every part `state_hash` covers is equal to `other`'s (then
    /// so are the hashes: the encoding is deterministic). Cheap when the
    /// nodes share their members' and orders' states, as converged nodes
    /// mostly do: equal handles are not compared further.
    pub fn same_as(&self, other: &Materialised) -> bool {
        fn same<K: Ord + std::hash::Hash + Clone, V: PartialEq>(
            a: &IdMap<K, Arc<V>>,
            b: &IdMap<K, Arc<V>>,
        ) -> bool {
            a.len() == b.len()
                && a.slots()
                    .all(|(i, x)| b.at(i).is_some_and(|y| Arc::ptr_eq(x, y) || **x == **y))
        }
        same(&self.members, &other.members)
            && self.orders.len() == other.orders.len()
            && self
                .orders
                .slots()
                .all(|(i, x)| other.orders.at(i).is_some_and(|y| x == y))
            && self.phones == other.phones
            && self.totals == other.totals
            && self.programme_changed == other.programme_changed
            && (!self.programme_changed || self.programme == other.programme)
            && self.merge_pairs == other.merge_pairs
            && self.staff == other.staff
            && self.stock == other.stock
            && self.withdrawals == other.withdrawals
    }
}

/// What an escrow conversation at a node is for (the escrow machine's
/// payload): the request to try again, and whether the checker found the
/// spend known short when it began (`sim::escrow`).
#[derive(Debug)]
pub(crate) enum Purpose {
    Checkout(Box<crate::sim::Request>, bool),
    PullAhead,
    /// A checkout paying with points short of points here.
    Redeem(Box<crate::sim::Request>, bool),
    /// A checkout presenting a coupon whose use is not held here.
    Coupon(Box<crate::sim::Request>, bool),
    /// A card visit or card refund short of a count card's visits here.
    Card(Box<crate::sim::Request>, bool),
}

pub(crate) struct Node {
    pub name: NodeId,
    // Durable: survives a crash.
    /// The log: for each origin (by index) its ops 1..=n.
    pub log: Vec<Vec<Rc<OpRec>>>,
    /// The order ops were committed in (origin index, seq).
    pub commit_order: Vec<(u32, u32)>,
    pub rejected: BTreeSet<OpId>,
    /// Entity counter high-water mark, committed with every op.
    pub entity_hwm: u64,
    // Volatile.
    pub up: bool,
    /// Bumped at each crash: timers of an earlier life are ignored.
    pub life: u64,
    pub disk_full: bool,
    pub skew: i64,
    pub replica: Replica<Rec>,
    pub clock: HlcClock,
    /// `vv` by origin index.
    pub held: Vec<u64>,
    pub st: Materialised,
    pub entity: u64,
    /// The records of the idempotency keys of the ops made here (the
    /// machine's rule, `tongka_machine::idem`). One fingerprint, `()`: a
    /// retry sends the very request it retries, and a new request takes a
    /// new key. No answer is kept (`()`): the client needs none. No key is
    /// ever in flight twice (a client retries only once answered), so the
    /// node keeps no `Idempotency` of keys in flight.
    pub idem: Answers<(), (), BuildHasherDefault<Fx>>,
    /// The node's escrow conversations (the node machine's).
    pub escrow: tongka_machine::escrow::Escrow<Purpose>,
    /// Per peer, (ops held, links epoch) when last told with `Have`.
    pub have_told: Vec<(u64, u64)>,
    pub have_due: bool,
    pub push_due: bool,
    /// Ops applied to state outside the log (mutations only).
    pub side_applied: BTreeSet<OpId>,
    /// Group commit: entries of `commit_order` that are durable (a crash
    /// loses the rest), whether a commit is scheduled, and what waits for
    /// it: acknowledgements to clients (own seqs) and escrow answers.
    pub synced: usize,
    pub sync_due: bool,
    pub pending_acks: Vec<u64>,
    pub pending_gaves: Vec<(usize, u64, Vec<Rec>)>,
    /// The deps of the last op made here, by origin index and as stamped
    /// (the next op's are these raised where more is held: cheaper than
    /// making them anew).
    pub deps_made: Option<(Vec<u64>, VersionVector)>,
}

/// The node's log as the protocol reads it.
pub(crate) struct LogView<'a> {
    pub log: &'a [Vec<Rc<OpRec>>],
    pub stores: usize,
    pub index: &'a BTreeMap<NodeId, usize>,
}

impl OpLog<Rec> for LogView<'_> {
    fn ops_from(&self, origin: &NodeId, from_seq: u64, limit: usize) -> Vec<Rec> {
        let i = crate::sim::node_ix(self.stores, self.index, origin);
        let ops = &self.log[i];
        let start = (from_seq.max(1) - 1) as usize;
        ops.iter()
            .skip(start)
            .take(limit)
            .map(|r| Rec(r.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::op::OpDraft;

    fn programme_op(origin: &str, asked: &Programme) -> Op {
        let node = NodeId::new(origin).unwrap();
        let at = Hlc { ms: 10, count: 0 };
        let mut doc = programme_doc::initial();
        let change = programme_doc::change(&mut doc, &node, at, asked)
            .unwrap()
            .unwrap();
        OpDraft {
            hlc: at,
            by: "admin".into(),
            idem: None,
            body: OpBody::ProgrammeChanged {
                change,
                programme: asked.clone(),
            },
        }
        .stamp(
            OpId {
                origin: node,
                seq: 1,
            },
            VersionVector::new(),
        )
    }

    fn edited() -> Programme {
        Programme {
            points_per_yuan: rust_decimal::Decimal::from(3),
            ..Programme::default()
        }
    }

    #[test]
    fn hq_programme_change_applies_and_enters_the_state_hash() {
        let mut st = Materialised::default();
        let before = st.state_hash();
        assert_eq!(before, Materialised::default().state_hash());
        st.apply(&programme_op("hq", &edited()), None, false, false, false)
            .unwrap();
        assert_eq!(*st.programme, edited());
        assert_ne!(st.state_hash(), before);
        // The mutation: the change is taken (logged) but not applied.
        let mut ignoring = Materialised::default();
        ignoring
            .apply(&programme_op("hq", &edited()), None, false, false, true)
            .unwrap();
        assert_eq!(*ignoring.programme, Programme::default());
        assert_ne!(ignoring.state_hash(), st.state_hash());
    }

    #[test]
    fn a_store_programme_change_is_refused_and_changes_nothing() {
        let mut st = Materialised::default();
        let before = st.state_hash();
        let e = st
            .apply(
                &programme_op("store-1", &edited()),
                None,
                false,
                false,
                false,
            )
            .unwrap_err();
        assert_eq!(e.kind, "authority", "{}", e.reason);
        assert_eq!(*st.programme, Programme::default());
        assert_eq!(st.state_hash(), before);
    }
}
