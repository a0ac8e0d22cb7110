//! What an op does to a node's state, written once: the node
//! (`tongka-actors`, applying received ops) and the simulator
//! (`tongka-sim`, `Materialised::apply`) both apply ops through it.
//!
//! The rule reads the node's state through a small [`View`] (a member, an
//! order) and returns what changes, never changing anything itself:
//! - [`admit`]: the checks that do not depend on the member's state: the
//!   origin's authority (`op::check_authority`), registration twice, a sale
//!   of an order id already sold or whose order is not its origin's (the
//!   walk-in sale of another store included), a refund of an unknown order
//!   and the refund applied to its order, an op about an unknown member;
//! - [`next_member`]: the member's state after the op (the core's
//!   `MemberState::registered` / `MemberState::apply`). A host may cache
//!   it: the simulator shares one result between nodes that apply the same
//!   op to equal states;
//! - [`reindex`]: the phone and card index entries a profile change
//!   releases and claims;
//! - [`apply`]: all three, for hosts that need no cache;
//! - [`move_out`] and [`move_in`]: the two sides of a merge's share move,
//!   each applied to its own member (the node applies them in two account
//!   actors).
//!
//! An op is applied all or nothing: a host applies what [`apply`] (or
//! [`admit`] then [`next_member`]) returns only when both succeed.

use std::borrow::Cow;

use tongka_core::checkout::Order;
use tongka_core::ids::{MemberId, OrderId};
use tongka_core::member::Profile;
use tongka_core::op::{Op, OpBody, OriginRole, check_authority};
use tongka_core::refund::OrderState;
use tongka_core::state::{self, ApplyError, MemberState};

/// What the rule reads of the node's state.
pub trait View {
    /// Member `id`'s state, if it is registered here.
    fn member(&self, id: &MemberId) -> Option<&MemberState>;
    /// Order `id`'s state (as sold, or as its refunds left it), if sold
    /// here.
    fn order(&self, id: &OrderId) -> Option<Cow<'_, OrderState>>;
}

/// Why an op was refused, by kind (the simulator counts them by kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Its origin may not make it (`op::check_authority`, a sale or refund
    /// of another store's order).
    Authority,
    /// It would overdraw a share.
    Overdraft,
    /// It is about a member or order not known here.
    Unknown,
    /// It does not apply to the state here (registration twice, …).
    NotApplicable,
}

impl Kind {
    /// The kind's name: `authority`, `overdraft`, `unknown`,
    /// `not_applicable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Authority => "authority",
            Kind::Overdraft => "overdraft",
            Kind::Unknown => "unknown",
            Kind::NotApplicable => "not_applicable",
        }
    }
}

/// An op refused: nothing of it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub kind: Kind,
    pub reason: String,
}

impl Rejected {
    fn new(kind: Kind, reason: impl Into<String>) -> Rejected {
        Rejected {
            kind,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Rejected {}

impl From<ApplyError> for Rejected {
    fn from(e: ApplyError) -> Rejected {
        let kind = match &e {
            ApplyError::Overdraft(_) | ApplyError::UsesShort(_) | ApplyError::VisitsShort(_) => {
                Kind::Overdraft
            }
            ApplyError::Authority { .. } => Kind::Authority,
            _ => Kind::NotApplicable,
        };
        Rejected::new(kind, e.to_string())
    }
}

/// An op that passed [`admit`], by what it changes.
#[derive(Debug)]
pub enum Admitted<'a> {
    /// A new member (its state: [`next_member`] over none).
    Registered { member: &'a MemberId },
    /// A profile change, a recharge, a coupon issued or a transfer of
    /// shares or uses: the member's state changes ([`next_member`]).
    Member { member: &'a MemberId },
    /// A sale: the order it makes is `order` as sold; a member's sale
    /// changes the member too.
    Sale { order: &'a Order },
    /// A refund: its order becomes `order`; a member's refund changes the
    /// member too.
    Refund {
        order: Box<OrderState>,
        member: Option<&'a MemberId>,
    },
    /// A merge or a merge's share move (`MembersMerged`, `MergeMoved`):
    /// about two members; its effect on the member it names is
    /// [`next_member`], the host settles the pair.
    Merge { member: &'a MemberId },
    /// A programme change: the host applies it to its programme document.
    Programme,
    /// A catalogue change: the host applies it to its catalogue document.
    Catalogue,
    /// A staff account created or changed: the host applies it to its
    /// staff book (`tongka_core::staff::StaffBook::apply`).
    Staff,
    /// A store's stock changed: the host applies it to its stock book
    /// (`stock::StockBook::apply`).
    Stock,
    /// A withdrawal's step (settlement): the host keeps the withdrawal
    /// (`tongka_core::settlement::apply`).
    Withdrawal,
    /// A store's shift or day close (`tongka_core::close`), its figures
    /// consistent (`Close::check`): the host keeps it.
    Close,
}

impl Admitted<'_> {
    /// The member whose state the op changes, if one.
    pub fn member(&self) -> Option<&MemberId> {
        match self {
            Admitted::Registered { member }
            | Admitted::Member { member }
            | Admitted::Merge { member } => Some(member),
            Admitted::Sale { order } => order.member.as_ref(),
            Admitted::Refund { member, .. } => *member,
            Admitted::Programme
            | Admitted::Catalogue
            | Admitted::Staff
            | Admitted::Stock
            | Admitted::Withdrawal
            | Admitted::Close => None,
        }
    }
}

/// The checks of `op` that do not depend on its member's state, in the
/// order they are made (the first failing one is the reason). `role`: the
/// origin's role, or `None` where it was checked on receipt (the node's
/// replication checks it against the origin's certificate).
pub fn admit<'a>(
    view: &impl View,
    op: &'a Op,
    role: Option<OriginRole>,
) -> Result<Admitted<'a>, Rejected> {
    if let Some(role) = role {
        check_authority(role, &op.body)
            .map_err(|e| Rejected::new(Kind::Authority, e.to_string()))?;
    }
    let known = |member: &MemberId, what: &str| {
        if view.member(member).is_some() {
            Ok(())
        } else {
            Err(Rejected::new(
                Kind::Unknown,
                format!("{what} of unknown {member}"),
            ))
        }
    };
    Ok(match &op.body {
        OpBody::MemberRegistered { member, .. } => {
            if view.member(member).is_some() {
                return Err(Rejected::new(
                    Kind::NotApplicable,
                    format!("{member} registered twice"),
                ));
            }
            Admitted::Registered { member }
        }
        OpBody::ProfileUpdated { member, .. } => {
            known(member, "profile")?;
            Admitted::Member { member }
        }
        OpBody::Recharged { member, .. } => {
            known(member, "recharge")?;
            Admitted::Member { member }
        }
        OpBody::SharesTransferred { member, .. } => {
            known(member, "transfer")?;
            Admitted::Member { member }
        }
        OpBody::CouponIssued { member, .. } => {
            known(member, "coupon")?;
            Admitted::Member { member }
        }
        OpBody::UsesTransferred { member, .. } => {
            known(member, "transfer")?;
            Admitted::Member { member }
        }
        OpBody::CardVisited { member, .. } => {
            known(member, "card visit")?;
            Admitted::Member { member }
        }
        OpBody::CheckedOut { order, .. } => {
            if view.order(&order.id).is_some() {
                return Err(Rejected::new(
                    Kind::NotApplicable,
                    format!("order {} twice", order.id),
                ));
            }
            // The order a sale makes is its origin's (a walk-in sale too).
            let order = state::check_sale(op)?;
            if let Some(member) = &order.member {
                known(member, "sale")?;
            }
            Admitted::Sale { order }
        }
        OpBody::Refunded { refund, .. } => {
            let mut order = view
                .order(&refund.order)
                .ok_or_else(|| {
                    Rejected::new(
                        Kind::Unknown,
                        format!("refund of unknown order {}", refund.order),
                    )
                })?
                .into_owned();
            state::apply_refund(&mut order, op)?;
            if let Some(member) = &refund.member {
                known(member, "refund")?;
            }
            Admitted::Refund {
                order: Box::new(order),
                member: refund.member.as_ref(),
            }
        }
        OpBody::MembersMerged { member, .. } | OpBody::MergeMoved { member, .. } => {
            Admitted::Merge { member }
        }
        OpBody::ProgrammeChanged { .. } => Admitted::Programme,
        OpBody::CatalogueChanged { .. } => Admitted::Catalogue,
        OpBody::StaffChanged { .. } => Admitted::Staff,
        OpBody::StockChanged { .. } => Admitted::Stock,
        OpBody::Withdrawal { .. } => Admitted::Withdrawal,
        OpBody::DayClosed { close } => {
            close
                .check()
                .map_err(|e| Rejected::new(Kind::NotApplicable, e.to_string()))?;
            Admitted::Close
        }
    })
}

/// The member's state after `op`: a registration's over no state, any
/// other op's over `cur`, the member's state before it.
pub fn next_member(cur: Option<&MemberState>, op: &Op) -> Result<MemberState, Rejected> {
    match (cur, &op.body) {
        (None, OpBody::MemberRegistered { .. }) => Ok(MemberState::registered(op)?),
        (Some(m), _) => {
            let mut next = m.clone();
            next.apply(op)?;
            Ok(next)
        }
        (None, _) => Err(Rejected::new(
            Kind::Unknown,
            match op.body.member() {
                Some(member) => format!("{} of unknown {member}", op.body.kind()),
                None => format!("{} is about no member", op.body.kind()),
            },
        )),
    }
}

/// The absorbed side of a merge's share move (`MergeMoved`): its state
/// after the origin's share leaves it. Refused (authority) unless the
/// member is merged away at the node applying it (`merged`: whether
/// `Merged` knows it): an honest origin moves a share only after applying
/// the merge, which is then in the move's causal past. The node's account
/// actor and the simulator both apply the debit through here.
pub fn move_out(gone: &MemberState, merged: bool, op: &Op) -> Result<MemberState, Rejected> {
    let OpBody::MergeMoved { member, .. } = &op.body else {
        return Err(Rejected::new(Kind::NotApplicable, "not a share move"));
    };
    if !merged {
        return Err(Rejected::new(
            Kind::Authority,
            format!("a share of {member} moved, but it was not merged"),
        ));
    }
    let mut next = gone.clone();
    next.apply(op)?;
    Ok(next)
}

/// The survivor's side of a merge's share move: its state after the
/// moved share is credited to the origin's share of it
/// (`merge::apply_credit`).
pub fn move_in(survivor: &MemberState, op: &Op) -> Result<MemberState, Rejected> {
    let mut next = survivor.clone();
    tongka_core::merge::apply_credit(&mut next, op)?;
    Ok(next)
}

/// An index key: a phone number or a card number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Phone(String),
    Card(String),
}

/// A change to the phone or card index, by the op's member. A release is
/// of a key the member held (the host drops it only if the member is
/// still its holder); a claim may meet another holder (the host keeps
/// both, or settles who wins: a duplicate for the merge queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexDelta {
    Release(Key),
    Claim(Key),
}

/// The index changes of a member's profile going from `old` (none: a
/// registration) to `new`: releases before claims.
pub fn reindex(old: Option<&Profile>, new: &Profile) -> Vec<IndexDelta> {
    let mut out = Vec::new();
    let old_phone = old.map(|p| &p.phone);
    if old_phone != Some(&new.phone) {
        if let Some(p) = old_phone {
            out.push(IndexDelta::Release(Key::Phone(p.clone())));
        }
        out.push(IndexDelta::Claim(Key::Phone(new.phone.clone())));
    }
    let old_card = old.and_then(|p| p.card_no.as_ref());
    if old_card != new.card_no.as_ref() {
        if let Some(c) = old_card {
            out.push(IndexDelta::Release(Key::Card(c.clone())));
        }
        if let Some(c) = &new.card_no {
            out.push(IndexDelta::Claim(Key::Card(c.clone())));
        }
    }
    out
}

/// What applying an op changes, for the host to write.
#[derive(Debug, Default)]
pub struct Applied {
    /// The member the op is about, as it becomes (registered or changed).
    pub member: Option<MemberState>,
    /// The order the op makes (a sale) or changes (a refund).
    pub order: Option<OrderState>,
    /// The phone and card index changes, by `member`.
    pub index: Vec<IndexDelta>,
    /// A merge or a merge's share move: the host settles the pair.
    pub merge: bool,
    /// A programme, catalogue or staff change: the host applies it to its
    /// document (or staff book).
    pub document: bool,
}

/// [`admit`], [`next_member`] and [`reindex`] together: what `op` changes
/// in the state `view` shows, or why it is refused.
pub fn apply(view: &impl View, op: &Op, role: Option<OriginRole>) -> Result<Applied, Rejected> {
    let admitted = admit(view, op, role)?;
    let mut out = Applied::default();
    if let Some(id) = admitted.member() {
        let cur = view.member(id);
        let next = match &admitted {
            Admitted::Registered { .. } => next_member(None, op)?,
            _ => next_member(
                Some(cur.ok_or_else(|| {
                    Rejected::new(Kind::Unknown, format!("{} of unknown {id}", op.body.kind()))
                })?),
                op,
            )?,
        };
        if cur.is_none_or(|c| c.profile != next.profile) {
            out.index = reindex(cur.map(|c| &c.profile), &next.profile);
        }
        out.member = Some(next);
    }
    match admitted {
        Admitted::Sale { order } => out.order = Some(OrderState::new(order.clone())),
        Admitted::Refund { order, .. } => out.order = Some(*order),
        Admitted::Merge { .. } => out.merge = true,
        Admitted::Programme
        | Admitted::Catalogue
        | Admitted::Staff
        | Admitted::Stock
        | Admitted::Withdrawal => out.document = true,
        // A close changes no state the machine holds: the host keeps it.
        Admitted::Registered { .. } | Admitted::Member { .. } | Admitted::Close => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
