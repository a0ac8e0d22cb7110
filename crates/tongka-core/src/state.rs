//! Materialised state and the rules that change it: `decide_*` turn a
//! request into an op (or a refusal), `apply` folds an op into state. Apply
//! is deterministic and checks the invariants it can see: no share goes
//! negative (no overdraft) and only a share's owner decreases it
//! (authority).

use serde::{Deserialize, Serialize};

use crate::card::{CARDS_PER_MEMBER_MAX, Card, HeldCard, VisitsShort};
use crate::checkout::{Order, TenderKind};
use crate::clock::Hlc;
use crate::coupon::{COUPONS_PER_MEMBER_MAX, CouponError, CouponTemplate, HeldCoupon, UsesShort};
use crate::error::DomainError;
use crate::ids::{CardId, CouponId, MemberId, NodeId, OpId, RechargeId};
use crate::member::{Profile, ProfileError, ProfilePatch};
use crate::money::{AmountError, Money};
use crate::op::{MergedFigures, Op, OpBody, UsesOf};
use crate::profile_doc::{self, DocError};
use crate::programme::Programme;
use crate::refund::OrderState;
use crate::wallet::{Overdraft, Share, Wallet};

/// Everything known about one member: profile, wallet shares, and the
/// cumulative figures levels and reports are derived from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    pub id: MemberId,
    pub profile: Profile,
    pub created: Hlc,
    /// The store where the member registered.
    pub home: NodeId,
    pub wallet: Wallet,
    /// Principal ever recharged (sets the level).
    pub cumulative_principal: Money,
    pub cumulative_bonus: Money,
    /// Net amount paid for sales (after refunds), all tenders.
    pub cumulative_spent: Money,
    pub visits: u64,
    pub last_seen: Hlc,
    /// The profile's automerge document (`profile_doc`), saved compactly;
    /// `None` until the first change, while it is the registration's
    /// document (rebuilt from `profile`, `home` and `created` on demand).
    /// `profile` is materialised from it after every change, so reads never
    /// load it.
    pub profile_doc: Option<Vec<u8>>,
    /// Members merged into this one, sorted (their history shows here).
    pub absorbed: Vec<MemberId>,
    /// Per absorbed member (sorted by it), the merge op whose figures the
    /// cumulative figures above count: one op per absorbed member, the
    /// lowest op id seen (see `merge`'s module doc).
    pub counted: Vec<CountedMerge>,
    /// The coupons issued to the member, by code (used and expired ones
    /// too), each with its uses held per node (`coupon::held`).
    pub coupons: Vec<HeldCoupon>,
    /// The count and period cards sold to the member, by code (refunded
    /// ones too), each with its visits held per node (`card::held`).
    pub cards: Vec<HeldCard>,
}

/// The figures of one absorbed member counted in its survivor's
/// cumulative figures, and the `MembersMerged` op they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountedMerge {
    pub absorbed: MemberId,
    /// The op; `None` for a merge applied before schema 6 recorded it
    /// (sorts before every op: never replaced).
    pub op: Option<OpId>,
    pub figures: MergedFigures,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    #[error("op is not about member {0}")]
    WrongMember(MemberId),
    #[error("op would overdraw a share: {0}")]
    Overdraft(#[from] Overdraft),
    #[error("op would take a coupon use not held: {0}")]
    UsesShort(#[from] UsesShort),
    #[error("op would take a card visit not held: {0}")]
    VisitsShort(#[from] VisitsShort),
    #[error("{origin} may not change {what}")]
    Authority { origin: NodeId, what: String },
    #[error("op does not apply here: {0}")]
    NotApplicable(&'static str),
    #[error(transparent)]
    Doc(#[from] DocError),
}

/// Refusals about members as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum MemberError {
    #[error("member {0} not found")]
    NotFound(String),
    #[error("phone number {0} is already registered to another member")]
    PhoneTaken(String),
    #[error("card number {0} is already registered to another member")]
    CardTaken(String),
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

impl DomainError for MemberError {
    fn code(&self) -> &'static str {
        match self {
            MemberError::NotFound(_) => "member_not_found",
            MemberError::PhoneTaken(_) => "phone_taken",
            MemberError::CardTaken(_) => "card_taken",
            MemberError::Profile(e) => e.code(),
        }
    }

    fn message_zh(&self) -> String {
        match self {
            MemberError::NotFound(id) => format!("会员 {id} 不存在"),
            MemberError::PhoneTaken(p) => {
                format!("手机号 {} 已被其他会员注册", crate::member::mask_phone(p))
            }
            MemberError::CardTaken(c) => format!("卡号 {c} 已被其他会员使用"),
            MemberError::Profile(e) => e.message_zh(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            MemberError::Profile(e) => e.details(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum RechargeError {
    #[error("recharge amount {0}")]
    Amount(AmountError),
    #[error("a recharge cannot be paid from the balance")]
    Tender,
}

impl DomainError for RechargeError {
    fn code(&self) -> &'static str {
        match self {
            RechargeError::Amount(_) => "invalid_amount",
            RechargeError::Tender => "invalid_tender",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            RechargeError::Amount(r) => format!("充值金额无效（{}）", crate::amount_reason_zh(r)),
            RechargeError::Tender => "充值不能用余额支付".into(),
        }
    }
}

/// Decide a recharge: principal `amount` plus the programme's bonus.
pub fn decide_recharge(
    programme: &Programme,
    member: &MemberId,
    recharge: RechargeId,
    amount: Money,
    tender: TenderKind,
) -> Result<OpBody, RechargeError> {
    Money::check_amount(amount.as_decimal(), true).map_err(RechargeError::Amount)?;
    if tender == TenderKind::Balance {
        return Err(RechargeError::Tender);
    }
    let bonus = programme.bonus_for(amount);
    Ok(OpBody::Recharged {
        member: member.clone(),
        recharge,
        amount,
        bonus,
        tender,
    })
}

impl MemberState {
    /// The state a registration op creates.
    pub fn registered(op: &Op) -> Result<MemberState, ApplyError> {
        let OpBody::MemberRegistered {
            member,
            profile,
            opening,
        } = &op.body
        else {
            return Err(ApplyError::NotApplicable("not a registration"));
        };
        // An import's opening balances: the origin's share, as a recharge
        // credits it; `counted` toward levels (`op::Opening`).
        let mut wallet = Wallet::default();
        let (mut cumulative_principal, mut cumulative_bonus) = (Money::ZERO, Money::ZERO);
        if let Some(o) = opening {
            if !o.is_valid() {
                return Err(ApplyError::NotApplicable("negative amount"));
            }
            wallet.credit(
                op.origin(),
                Share {
                    principal: o.principal,
                    bonus: o.bonus,
                    points: o.points,
                },
            );
            cumulative_principal = o.counted;
            cumulative_bonus = o.bonus;
        }
        Ok(MemberState {
            id: member.clone(),
            profile: profile.clone(),
            created: op.hlc,
            home: op.origin().clone(),
            wallet,
            cumulative_principal,
            cumulative_bonus,
            cumulative_spent: Money::ZERO,
            visits: 0,
            last_seen: op.hlc,
            profile_doc: None,
            absorbed: Vec::new(),
            counted: Vec::new(),
            coupons: Vec::new(),
            cards: Vec::new(),
        })
    }

    /// The card of code `id` the member holds.
    pub fn card(&self, id: &CardId) -> Option<&HeldCard> {
        self.cards
            .binary_search_by(|c| c.id().cmp(id))
            .ok()
            .map(|i| &self.cards[i])
    }

    fn card_mut(&mut self, id: &CardId) -> Result<&mut HeldCard, ApplyError> {
        match self.cards.binary_search_by(|c| c.id().cmp(id)) {
            Ok(i) => Ok(&mut self.cards[i]),
            Err(_) => Err(ApplyError::NotApplicable("no such card")),
        }
    }

    /// Add the cards `order`'s lines sell, their visits held by `origin`;
    /// each card's price is its line's paid amount split evenly (the
    /// largest-remainder rule of `money`).
    fn add_cards(&mut self, order: &Order, origin: &NodeId) -> Result<(), ApplyError> {
        let today = crate::day::Day::of_ms(order.at.ms);
        for line in &order.lines {
            let Some(sale) = &line.card else { continue };
            if sale.cards.is_empty() {
                return Err(ApplyError::NotApplicable("a card line with no card codes"));
            }
            sale.plan
                .validate()
                .map_err(|_| ApplyError::NotApplicable("a card of an invalid plan"))?;
            // Equal weights (each the line's paid, so they hold it).
            let weights = vec![line.paid(); sale.cards.len()];
            let prices = line
                .paid()
                .spread(&weights)
                .ok_or(ApplyError::NotApplicable("a card line's price"))?;
            for (id, price) in sale.cards.iter().zip(prices) {
                let at = match self.cards.binary_search_by(|c| c.id().cmp(id)) {
                    Ok(_) => return Err(ApplyError::NotApplicable("card sold twice")),
                    Err(at) => at,
                };
                if self.cards.len() >= CARDS_PER_MEMBER_MAX {
                    return Err(ApplyError::NotApplicable("the member's cards are full"));
                }
                let card = Card::sold(
                    id.clone(),
                    line.description.clone(),
                    sale.plan.clone(),
                    price,
                    today,
                );
                self.cards.insert(at, HeldCard::sold(card, origin));
            }
        }
        Ok(())
    }

    /// The coupon of code `id` the member holds.
    pub fn coupon(&self, id: &CouponId) -> Option<&HeldCoupon> {
        self.coupons
            .binary_search_by(|c| c.id().cmp(id))
            .ok()
            .map(|i| &self.coupons[i])
    }

    fn coupon_mut(&mut self, id: &CouponId) -> Result<&mut HeldCoupon, ApplyError> {
        match self.coupons.binary_search_by(|c| c.id().cmp(id)) {
            Ok(i) => Ok(&mut self.coupons[i]),
            Err(_) => Err(ApplyError::NotApplicable("no such coupon")),
        }
    }

    /// Whether `node` holds anything of this member: a wallet share, uses
    /// of a coupon or visits of a card (what a merge moves).
    pub fn held_by(&self, node: &NodeId) -> bool {
        self.wallet.share(node) != Share::default()
            || self.coupons.iter().any(|c| c.held(node) > 0)
            || self.cards.iter().any(|c| c.held(node) > 0)
    }

    /// Whether a coupon of `template` may be issued to the member: not at
    /// the template's per-member limit, and the member's coupons not full.
    /// Checked against the coupons this node knows of (two stores cut off
    /// from each other may each issue the last one: a stated limit).
    pub fn may_issue(&self, template: &CouponTemplate) -> Result<(), CouponError> {
        let limit = template.per_member_limit;
        if limit > 0 && self.coupons_of(&template.id) >= limit as usize {
            return Err(CouponError::LimitReached {
                template: template.id.clone(),
                limit,
            });
        }
        if self.coupons.len() >= COUPONS_PER_MEMBER_MAX {
            return Err(CouponError::WalletFull);
        }
        Ok(())
    }

    /// The coupons `ids` as the member holds them, in the order named;
    /// `coupon_not_found` for the first it does not hold.
    pub fn coupons_named(&self, ids: &[CouponId]) -> Result<Vec<&HeldCoupon>, CouponError> {
        ids.iter()
            .map(|id| {
                self.coupon(id).ok_or_else(|| CouponError::NotFound {
                    code: id.to_string(),
                })
            })
            .collect()
    }

    /// How many coupons of template `template` the member holds.
    pub fn coupons_of(&self, template: &str) -> usize {
        self.coupons
            .iter()
            .filter(|c| c.coupon.template.id == template)
            .count()
    }

    /// Count `figures` of `absorbed`, merged by op `by`, in the cumulative
    /// figures: the first merge of `absorbed` seen is counted; a later one
    /// replaces it (its figures out, the new ones in) only if its op id
    /// sorts lower. So concurrent merges of one pair count once, the same
    /// on every node whatever order they arrive in.
    fn count_merge(&mut self, absorbed: &MemberId, by: &OpId, figures: &MergedFigures) {
        let by = Some(by.clone());
        let old = match self.counted.binary_search_by(|c| c.absorbed.cmp(absorbed)) {
            Ok(at) => {
                let c = &mut self.counted[at];
                if by >= c.op {
                    return;
                }
                c.op = by;
                std::mem::replace(&mut c.figures, *figures)
            }
            Err(at) => {
                self.counted.insert(
                    at,
                    CountedMerge {
                        absorbed: absorbed.clone(),
                        op: by,
                        figures: *figures,
                    },
                );
                MergedFigures::default()
            }
        };
        self.cumulative_principal += figures.principal - old.principal;
        self.cumulative_bonus += figures.bonus - old.bonus;
        self.cumulative_spent += figures.spent - old.spent;
        self.visits = self.visits.saturating_sub(old.visits) + figures.visits;
    }

    /// The profile's automerge document, loaded (or rebuilt, before the
    /// first change). Callers drop it when done: documents are not kept.
    pub fn profile_document(&self) -> Result<automerge::Automerge, DocError> {
        match &self.profile_doc {
            Some(bytes) => profile_doc::load(bytes),
            None => Ok(profile_doc::initial(
                &self.profile,
                &self.home,
                self.created,
            )),
        }
    }

    /// Apply an automerge change of `origin` to the profile: load the
    /// document, apply, materialise, save. The profile it yields must be
    /// valid (each field is a value some valid edit wrote, so only a
    /// forged change can fail here).
    fn apply_profile_change(&mut self, origin: &NodeId, change: &[u8]) -> Result<(), ApplyError> {
        let mut doc = self.profile_document()?;
        profile_doc::apply(&mut doc, origin, change)?;
        let profile = profile_doc::materialise(&doc);
        // As stored: a change an older node made applies as it did there.
        profile
            .validate_stored()
            .map_err(|_| ApplyError::NotApplicable("profile change makes an invalid profile"))?;
        self.profile = profile;
        self.profile_doc = Some(doc.save());
        Ok(())
    }

    /// The op for a (validated) profile patch made by `origin` at `at`:
    /// the patch and the automerge change it makes of this member's
    /// document. `None` when the patch writes nothing.
    pub fn decide_profile_update(
        &self,
        origin: &NodeId,
        at: Hlc,
        patch: ProfilePatch,
    ) -> Result<Option<OpBody>, ApplyError> {
        let mut doc = self.profile_document()?;
        Ok(
            profile_doc::change(&mut doc, origin, at, &patch).map(|change| {
                OpBody::ProfileUpdated {
                    member: self.id.clone(),
                    patch,
                    change,
                }
            }),
        )
    }

    pub fn balance(&self) -> Share {
        self.wallet.total()
    }

    /// Fold an op about this member into its state. All or nothing: on
    /// error the state is unchanged.
    pub fn apply(&mut self, op: &Op) -> Result<(), ApplyError> {
        if op.body.member() != Some(&self.id) {
            return Err(ApplyError::WrongMember(self.id.clone()));
        }
        if moves_negative(&op.body) {
            return Err(ApplyError::NotApplicable("negative amount"));
        }
        let origin = op.origin();
        let mut next = self.clone();
        match &op.body {
            OpBody::MemberRegistered { .. } => {
                return Err(ApplyError::NotApplicable("member already registered"));
            }
            OpBody::ProgrammeChanged { .. }
            | OpBody::CatalogueChanged { .. }
            | OpBody::StaffChanged { .. }
            | OpBody::StockChanged { .. }
            | OpBody::Withdrawal { .. }
            | OpBody::DayClosed { .. } => {
                return Err(ApplyError::NotApplicable(
                    "a programme, catalogue or staff change is not a member's",
                ));
            }
            OpBody::ProfileUpdated { change, .. } => {
                next.apply_profile_change(origin, change)?;
            }
            OpBody::MembersMerged {
                absorbed,
                change,
                figures,
                ..
            } => {
                if *absorbed == self.id {
                    return Err(ApplyError::NotApplicable("member merged into itself"));
                }
                if !change.is_empty() {
                    next.apply_profile_change(origin, change)?;
                }
                if let Err(at) = next.absorbed.binary_search(absorbed) {
                    next.absorbed.insert(at, absorbed.clone());
                }
                next.count_merge(absorbed, &op.id, figures);
            }
            OpBody::MergeMoved {
                into,
                principal,
                bonus,
                points,
                coupons,
                cards,
                ..
            } => {
                if *into == self.id {
                    return Err(ApplyError::NotApplicable("share moved to the same member"));
                }
                for moved in coupons {
                    next.coupon_mut(&moved.coupon.id)?
                        .debit(origin, i64::from(moved.uses))?;
                }
                for moved in cards {
                    next.card_mut(&moved.card.id)?
                        .debit(origin, i64::from(moved.visits))?;
                }
                // The origin takes from its own share only (authority).
                next.wallet.debit(
                    origin,
                    Share {
                        principal: *principal,
                        bonus: *bonus,
                        points: *points,
                    },
                )?;
            }
            OpBody::Recharged { amount, bonus, .. } => {
                next.wallet.credit(
                    origin,
                    Share {
                        principal: *amount,
                        bonus: *bonus,
                        points: 0,
                    },
                );
                next.cumulative_principal += *amount;
                next.cumulative_bonus += *bonus;
            }
            OpBody::CheckedOut { order, .. } => {
                if order.store != *origin {
                    return Err(ApplyError::Authority {
                        origin: origin.clone(),
                        what: format!("a sale of {}", order.store),
                    });
                }
                if order.points_used < 0 {
                    return Err(ApplyError::NotApplicable("negative points used"));
                }
                // Points used come out of the origin's own share, all or
                // nothing with the balance part (at most once: the op is
                // applied once, and a share never goes below zero).
                next.wallet.debit(
                    origin,
                    Share {
                        principal: order.balance_principal,
                        bonus: order.balance_bonus,
                        points: order.points_used,
                    },
                )?;
                // Each coupon takes one use from the origin's share (never
                // below zero: a coupon is used at most as often as it has
                // uses).
                for u in &order.coupons {
                    let id = CouponId::parse(&u.code)
                        .ok_or(ApplyError::NotApplicable("a coupon code of no coupon"))?;
                    let c = next.coupon_mut(&id)?;
                    c.debit(origin, 1)?;
                }
                next.add_cards(order, origin)?;
                next.wallet.credit(
                    origin,
                    Share {
                        points: order.points_earned,
                        ..Share::default()
                    },
                );
                next.cumulative_spent += order.payable;
                next.visits += 1;
            }
            OpBody::Refunded { refund, .. } => {
                if refund.store != *origin {
                    return Err(ApplyError::Authority {
                        origin: origin.clone(),
                        what: format!("a refund of {}", refund.store),
                    });
                }
                if refund.points_returned < 0 {
                    return Err(ApplyError::NotApplicable("negative points returned"));
                }
                // Points used given back first, then points earned taken
                // back (see `refund`); with none given back, as before.
                next.wallet.credit(
                    origin,
                    Share {
                        principal: refund.balance_principal,
                        bonus: refund.balance_bonus,
                        points: refund.points_returned,
                    },
                );
                next.wallet.debit(
                    origin,
                    Share {
                        points: refund.points_reversed,
                        ..Share::default()
                    },
                )?;
                for id in &refund.coupons_returned {
                    let c = next.coupon_mut(id)?;
                    c.credit(origin, 1);
                }
                // A card taken back: its visits left leave the origin's
                // share (the refund was decided holding them all).
                for id in &refund.cards_refunded {
                    let c = next.card_mut(id)?;
                    let left = c.left();
                    c.debit(origin, left)?;
                    c.refunded = true;
                }
                next.cumulative_spent -= refund.amount;
            }
            OpBody::SharesTransferred {
                to,
                principal,
                bonus,
                points,
                ..
            } => {
                if to == origin {
                    return Err(ApplyError::NotApplicable("transfer to itself"));
                }
                let moved = Share {
                    principal: *principal,
                    bonus: *bonus,
                    points: *points,
                };
                next.wallet.debit(origin, moved)?;
                next.wallet.credit(to, moved);
            }
            OpBody::CouponIssued { coupon, holder, .. } => {
                coupon
                    .check()
                    .map_err(|_| ApplyError::NotApplicable("a coupon of an invalid template"))?;
                let at = match next.coupons.binary_search_by(|c| c.id().cmp(&coupon.id)) {
                    Ok(_) => return Err(ApplyError::NotApplicable("coupon issued twice")),
                    Err(at) => at,
                };
                if next.coupons.len() >= COUPONS_PER_MEMBER_MAX {
                    return Err(ApplyError::NotApplicable("the member's coupons are full"));
                }
                next.coupons
                    .insert(at, HeldCoupon::issued(coupon.clone(), holder));
            }
            OpBody::UsesTransferred { of, to, uses, .. } => {
                if to == origin {
                    return Err(ApplyError::NotApplicable("transfer to itself"));
                }
                match of {
                    UsesOf::Coupon(id) => {
                        let c = next.coupon_mut(id)?;
                        c.debit(origin, i64::from(*uses))?;
                        c.credit(to, i64::from(*uses));
                    }
                    UsesOf::Card(id) => {
                        let c = next.card_mut(id)?;
                        c.debit(origin, i64::from(*uses))?;
                        c.credit(to, i64::from(*uses));
                    }
                }
            }
            OpBody::CardVisited {
                card, count, day, ..
            } => {
                if *count == 0 {
                    return Err(ApplyError::NotApplicable("a visit of no visits"));
                }
                let c = next.card_mut(card)?;
                // A count card's visits come out of the origin's share
                // (never below zero: visited at most as often as it has
                // visits). A period card counts the day's visits; one made
                // at a store that had not seen its refund still counts.
                if c.card.is_count() {
                    if c.refunded {
                        return Err(ApplyError::NotApplicable("a visit of a refunded card"));
                    }
                    c.debit(origin, i64::from(*count))?;
                }
                c.record(*day, *count);
            }
        }
        next.last_seen = next.last_seen.max(op.hlc);
        *self = next;
        Ok(())
    }
}

/// Whether an op would credit or debit a negative amount to a share. A
/// wallet moves only amounts that are not negative (it asserts so), so a
/// signed op carrying one is refused here rather than panic the node that
/// applies it. (Points used and returned have their own refusals.)
fn moves_negative(body: &OpBody) -> bool {
    let neg = |p: &Money, b: &Money, points: i64| p.is_negative() || b.is_negative() || points < 0;
    match body {
        OpBody::Recharged { amount, bonus, .. } => neg(amount, bonus, 0),
        OpBody::SharesTransferred {
            principal,
            bonus,
            points,
            ..
        }
        | OpBody::MergeMoved {
            principal,
            bonus,
            points,
            ..
        } => neg(principal, bonus, *points),
        OpBody::CheckedOut { order, .. } => neg(
            &order.balance_principal,
            &order.balance_bonus,
            order.points_earned,
        ),
        OpBody::Refunded { refund, .. } => neg(
            &refund.balance_principal,
            &refund.balance_bonus,
            refund.points_reversed,
        ),
        OpBody::MemberRegistered { .. }
        | OpBody::ProfileUpdated { .. }
        | OpBody::MembersMerged { .. }
        | OpBody::ProgrammeChanged { .. }
        | OpBody::CatalogueChanged { .. }
        | OpBody::CouponIssued { .. }
        | OpBody::UsesTransferred { .. }
        | OpBody::CardVisited { .. }
        | OpBody::StaffChanged { .. }
        | OpBody::StockChanged { .. }
        | OpBody::Withdrawal { .. }
        | OpBody::DayClosed { .. } => false,
    }
}

/// Decide how many of `member`'s points held by `from` to give to `to` when
/// `to` asks for `want` points: as many as `from` holds, up to `want`.
/// `None` when there is nothing to give.
pub fn decide_points_transfer(
    member: &MemberState,
    from: &NodeId,
    to: &NodeId,
    want: i64,
) -> Option<OpBody> {
    if from == to || want <= 0 {
        return None;
    }
    let give = want.min(member.wallet.share(from).points);
    if give <= 0 {
        return None;
    }
    Some(OpBody::SharesTransferred {
        member: member.id.clone(),
        to: to.clone(),
        principal: Money::ZERO,
        bonus: Money::ZERO,
        points: give,
    })
}

/// Decide how much of `member`'s share held by `from` to give to `to` when
/// `to` asks for `want`: as much as `from` holds, up to `want`, principal
/// and bonus in the share's proportion. `None` when there is nothing to give.
pub fn decide_transfer(
    member: &MemberState,
    from: &NodeId,
    to: &NodeId,
    want: Money,
) -> Option<OpBody> {
    if from == to || !want.is_positive() {
        return None;
    }
    let give = want.min(member.wallet.share(from).money());
    let (principal, bonus) = member.wallet.split_spend(from, give)?;
    if give.is_zero() {
        return None;
    }
    Some(OpBody::SharesTransferred {
        member: member.id.clone(),
        to: to.clone(),
        principal,
        bonus,
        points: 0,
    })
}

/// The order a sale op makes. A store records only its own sales: a sale
/// whose order names another store than the op's origin is refused, with a
/// member (`MemberState::apply` refuses it too) or without (a walk-in sale).
/// The node and the simulator both take a sale's order from here.
pub fn sold(op: &Op) -> Result<OrderState, ApplyError> {
    check_sale(op).map(|order| OrderState::new(order.clone()))
}

/// `sold`'s checks alone: the sale's order, if the op may make it.
pub fn check_sale(op: &Op) -> Result<&Order, ApplyError> {
    let Some(order) = op.body.as_sale() else {
        return Err(ApplyError::NotApplicable("not a sale"));
    };
    if order.store != *op.origin() {
        return Err(ApplyError::Authority {
            origin: op.origin().clone(),
            what: format!("order {} of {}", order.id, order.store),
        });
    }
    Ok(order)
}

/// Apply a refund op to the sale it refunds.
pub fn apply_refund(order: &mut OrderState, op: &Op) -> Result<(), ApplyError> {
    let Some(refund) = op.body.as_refund() else {
        return Err(ApplyError::NotApplicable("not a refund"));
    };
    if order.order.store != *op.origin() {
        return Err(ApplyError::Authority {
            origin: op.origin().clone(),
            what: format!("order {}", order.order.id),
        });
    }
    order.apply(refund);
    Ok(())
}

/// Check a registration or profile patch against the rules.
pub fn validate_patch(current: &Profile, patch: &ProfilePatch) -> Result<Profile, ProfileError> {
    if patch.is_empty() {
        return Err(ProfileError::EmptyPatch);
    }
    let next = current.patched(patch);
    next.validate()?;
    Ok(next)
}

pub use crate::totals::LedgerTotals;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::Gender;

    use crate::testkit::{n, op};

    #[test]
    fn concurrent_profile_edits_converge_whatever_the_order() {
        let m = MemberId::mint(&n("a"), 1);
        let profile = Profile {
            phone: "13800000000".into(),
            name: "原名".into(),
            birthday: None,
            gender: None,
            card_no: None,
            invited_by: None,
            tags: vec![],
            notes: String::new(),
        };
        let reg = op(
            "a",
            1,
            1,
            OpBody::MemberRegistered {
                member: m.clone(),
                profile,
                opening: None,
            },
        );
        let base = MemberState::registered(&reg).unwrap();
        // Each store edits the registration's profile concurrently: the
        // op carries the automerge change its origin made.
        let edit = |origin: &str, ms: u64, name: &str, notes: Option<&str>| {
            let patch = ProfilePatch {
                name: Some(name.into()),
                notes: notes.map(Into::into),
                ..Default::default()
            };
            let body = base
                .decide_profile_update(&n(origin), Hlc { ms, count: 0 }, patch)
                .unwrap()
                .unwrap();
            op(origin, 2, ms, body)
        };
        let x = edit("a", 10, "甲", Some("from a"));
        let y = edit("b", 20, "乙", None);
        let z = edit("c", 20, "丙", None);
        let mut states = Vec::new();
        for order in [[&x, &y, &z], [&z, &y, &x], [&y, &x, &z], [&z, &x, &y]] {
            let mut s = base.clone();
            for o in order {
                s.apply(o).unwrap();
            }
            states.push(s);
        }
        assert!(
            states.windows(2).all(|w| w[0] == w[1]),
            "one state, document bytes included, whatever the order"
        );
        // Concurrent writes of one field: automerge keeps the one of the
        // greatest (counter, actor), here actor "c"; notes only a set.
        assert_eq!(states[0].profile.name, "丙");
        assert_eq!(states[0].profile.notes, "from a");
        // Materialised from the document alone.
        let doc = states[0].profile_document().unwrap();
        assert_eq!(crate::profile_doc::materialise(&doc), states[0].profile);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Three stores edit one profile, syncing now and then; then every
        /// op is delivered to fresh replicas in random causal orders: all
        /// end in one state, document bytes included, equal to the stores'
        /// own once they have synced everything.
        #[test]
        fn profile_edits_converge_in_any_causal_delivery_order(
            steps in proptest::collection::vec((0usize..3, 0usize..3, 0u8..6, 0u8..4), 1..14),
            picks in proptest::collection::vec(0usize..64, 3 * 14),
        ) {
            let nodes = ["a", "b", "c"];
            let m = MemberId::mint(&n("a"), 1);
            let profile = Profile {
                phone: "13800000000".into(),
                name: "原名".into(),
                birthday: None,
                gender: None,
                card_no: None,
                invited_by: None,
                tags: vec!["t0".into()],
                notes: String::new(),
            };
            let reg = op("a", 1, 1, OpBody::MemberRegistered { member: m, profile, opening: None });
            let base = MemberState::registered(&reg).unwrap();
            // ops made so far, with the indices of the ops their maker held.
            let mut ops: Vec<(Op, Vec<usize>)> = Vec::new();
            let mut held: Vec<(MemberState, Vec<usize>)> = vec![(base.clone(), vec![]); 3];
            let mut seqs = [1u64; 3];
            for (k, (who, other, what, v)) in steps.iter().enumerate() {
                if what % 3 == 0 {
                    // `who` learns every op `other` holds, in making order.
                    let mut learn: Vec<usize> = held[*other].1.clone();
                    learn.sort_unstable();
                    for i in learn {
                        if !held[*who].1.contains(&i) {
                            held[*who].0.apply(&ops[i].0).unwrap();
                            held[*who].1.push(i);
                        }
                    }
                    continue;
                }
                let patch = match what {
                    1 => ProfilePatch { name: Some(format!("名{k}")), ..Default::default() },
                    2 => ProfilePatch { tags: Some(vec![format!("t{v}"), format!("t{}", k % 3)]), ..Default::default() },
                    4 => ProfilePatch { notes: Some(format!("n{k}")), birthday: Some(Some(format!("199{v}-01-0{}", 1 + k % 9))), ..Default::default() },
                    _ => ProfilePatch { gender: Some(if *v % 2 == 0 { Some(Gender::Male) } else { None }), card_no: Some(Some(format!("CARD{v}"))), ..Default::default() },
                };
                seqs[*who] += 1;
                let at = Hlc { ms: 10 + k as u64, count: 0 };
                let Some(body) = held[*who].0.decide_profile_update(&n(nodes[*who]), at, patch).unwrap() else { continue };
                let o = op(nodes[*who], seqs[*who], at.ms, body);
                held[*who].0.apply(&o).unwrap();
                let deps = held[*who].1.clone();
                ops.push((o, deps));
                held[*who].1.push(ops.len() - 1);
            }
            let mut finals = Vec::new();
            for round in 0..3 {
                let mut s = base.clone();
                let mut done: Vec<usize> = Vec::new();
                let mut p = round * 14;
                while done.len() < ops.len() {
                    let ready: Vec<usize> = (0..ops.len())
                        .filter(|i| !done.contains(i) && ops[*i].1.iter().all(|d| done.contains(d)))
                        .collect();
                    let i = ready[picks[p % picks.len()] % ready.len()];
                    p += 1;
                    s.apply(&ops[i].0).unwrap();
                    done.push(i);
                }
                finals.push(s);
            }
            for h in &mut held {
                for (i, (o, _)) in ops.iter().enumerate() {
                    if !h.1.contains(&i) {
                        h.0.apply(o).unwrap();
                        h.1.push(i);
                    }
                }
                finals.push(h.0.clone());
            }
            for f in &finals[1..] {
                proptest::prop_assert_eq!(f, &finals[0]);
            }
            let doc = finals[0].profile_document().unwrap();
            proptest::prop_assert_eq!(crate::profile_doc::materialise(&doc), finals[0].profile.clone());
        }
    }

    proptest::proptest! {
        /// Conservation of points through sales that earn and pay with
        /// points at two stores, escrow transfers of points shares between
        /// them, and refunds in parts: after every op Σ shares = issued −
        /// reversed − redeemed + returned (the ledger), every share ≥ 0,
        /// and an op debiting more points than its origin holds is refused
        /// and changes nothing.
        #[test]
        fn points_are_conserved_across_stores(
            steps in proptest::collection::vec((0u8..4, 0usize..2, 1i64..30_000, 0i64..5_000), 1..25),
        ) {
            use crate::checkout::{Buyer, CheckoutContext, LineInput, TenderInput, TenderKind, checkout_with_points};
            use crate::ids::{OrderId, RefundId};
            use crate::programme::{PointsDeduction, Programme};
            use crate::refund::OrderState;
            use rust_decimal::Decimal;
            let stores = [n("a"), n("b")];
            let p = Programme {
                points_deduction: Some(PointsDeduction { points_per_yuan: 100, cap: Decimal::ONE, min_points: 0 }),
                ..Programme::default()
            };
            let member = MemberId::mint(&stores[0], 1);
            let profile = Profile {
                phone: "13800000000".into(), name: "x".into(), birthday: None, gender: None,
                card_no: None, invited_by: None, tags: vec![], notes: String::new(),
            };
            let reg = op("a", 1, 1, OpBody::MemberRegistered { member: member.clone(), profile, opening: None });
            let mut m = MemberState::registered(&reg).unwrap();
            let mut totals = LedgerTotals::default();
            totals.apply(&reg);
            let mut seqs = [1u64, 0];
            let mut orders: Vec<OrderState> = Vec::new();
            for (k, (what, at, price, points)) in steps.into_iter().enumerate() {
                let here = &stores[at];
                seqs[at] += 1;
                let seq = seqs[at];
                let ms = k as u64 + 2;
                let body = match what {
                    // A sale, with points or not.
                    0 | 1 => {
                        let level = p.level_for(m.cumulative_principal);
                        let ctx = CheckoutContext {
                            programme: &p, store: here, order: OrderId::mint(here, seq), at: Hlc { ms, count: 0 },
                            buyer: Some(Buyer { member: &member, level, wallet: &m.wallet }),
                        };
                        let line = LineInput { sku: None, barcode: None, description: "x".into(), unit_price: Money::from_fen(price), qty: Decimal::from(2), card: None, pricing: Default::default() };
                        let use_points = if what == 1 { points } else { 0 };
                        match checkout_with_points(&ctx, &[line], &[TenderInput { kind: TenderKind::Card, amount: None }], use_points) {
                            Ok(o) => OpBody::sale(o),
                            Err(_) => continue,
                        }
                    }
                    // The other store gives points (escrow).
                    2 => {
                        let from = &stores[1 - at];
                        match decide_points_transfer(&m, from, here, points) {
                            Some(b) => {
                                seqs[at] -= 1;
                                let o = if from == &stores[0] { 0 } else { 1 };
                                seqs[o] += 1;
                                let t = op(from.as_str(), seqs[o], ms, b);
                                m.apply(&t).unwrap();
                                totals.apply(&t);
                                continue;
                            }
                            None => continue,
                        }
                    }
                    // A refund of the oldest order made here, one unit.
                    _ => {
                        let Some(st) = orders.iter_mut().find(|o| o.order.store == *here && !o.fully_refunded()) else { continue };
                        let lines = [crate::refund::RefundLine { line: 0, qty: Decimal::ONE }];
                        let r = st.decide(RefundId::mint(here, seq), here, Hlc { ms, count: 0 }, Some(&lines), "", m.wallet.share(here).points).unwrap();
                        st.apply(&r);
                        OpBody::refund(r)
                    }
                };
                if let Some(o) = body.as_sale() {
                    orders.push(OrderState::new(o.clone()));
                }
                let o = op(here.as_str(), seq, ms, body);
                m.apply(&o).unwrap();
                totals.apply(&o);
                proptest::prop_assert_eq!(m.wallet.total().points, totals.points_outstanding());
                proptest::prop_assert!(m.wallet.shares().all(|(_, s)| s.points >= 0));
            }
            // A sale debiting more points than its store holds is refused.
            let here = &stores[1];
            let held = m.wallet.share(here).points;
            let level = p.level_for(m.cumulative_principal);
            let rich = {
                let mut w = m.wallet.clone();
                w.credit(here, Share { points: 1_000_000, ..Share::default() });
                w
            };
            let ctx = CheckoutContext {
                programme: &p, store: here, order: OrderId::mint(here, 999), at: Hlc { ms: 999, count: 0 },
                buyer: Some(Buyer { member: &member, level, wallet: &rich }),
            };
            let line = LineInput { sku: None, barcode: None, description: "x".into(), unit_price: Money::from_yuan(100_000), qty: Decimal::ONE, card: None, pricing: Default::default() };
            let o = checkout_with_points(&ctx, &[line], &[TenderInput { kind: TenderKind::Card, amount: None }], held + 1).unwrap();
            let before = m.clone();
            let bad = op(here.as_str(), 999, 999, OpBody::sale(o));
            proptest::prop_assert!(m.apply(&bad).is_err());
            proptest::prop_assert_eq!(&m, &before);
        }
    }
}
