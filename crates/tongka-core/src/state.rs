//! Materialised state and the rules that change it: `decide_*` turn a
//! request into an op (or a refusal), `apply` folds an op into state. Apply
//! is deterministic and checks the invariants it can see: no share goes
//! negative (no overdraft) and only a share's owner decreases it
//! (authority).

use serde::{Deserialize, Serialize};

use crate::checkout::TenderKind;
use crate::clock::Hlc;
use crate::error::DomainError;
use crate::ids::{MemberId, NodeId, RechargeId};
use crate::member::{Profile, ProfileError, ProfilePatch};
use crate::money::{AmountError, Money};
use crate::op::{Op, OpBody};
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
    /// For each profile field, the (clock, origin) of the edit that set it:
    /// concurrent edits of one field resolve to the later stamp on every
    /// node, whatever the order they arrive in (a last-writer-wins register
    /// per field).
    pub profile_stamps: std::collections::BTreeMap<String, (Hlc, NodeId)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    #[error("op is not about member {0}")]
    WrongMember(MemberId),
    #[error("op would overdraw a share: {0}")]
    Overdraft(#[from] Overdraft),
    #[error("{origin} may not change {what}")]
    Authority { origin: NodeId, what: String },
    #[error("op does not apply here: {0}")]
    NotApplicable(&'static str),
}

/// Refusals about members as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
        let OpBody::MemberRegistered { member, profile } = &op.body else {
            return Err(ApplyError::NotApplicable("not a registration"));
        };
        Ok(MemberState {
            id: member.clone(),
            profile: profile.clone(),
            created: op.hlc,
            home: op.origin().clone(),
            wallet: Wallet::default(),
            cumulative_principal: Money::ZERO,
            cumulative_bonus: Money::ZERO,
            cumulative_spent: Money::ZERO,
            visits: 0,
            last_seen: op.hlc,
            profile_stamps: Default::default(),
        })
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
        let origin = op.origin();
        let mut next = self.clone();
        match &op.body {
            OpBody::MemberRegistered { .. } => {
                return Err(ApplyError::NotApplicable("member already registered"));
            }
            OpBody::ProfileUpdated { patch, .. } => {
                let stamp = (op.hlc, origin.clone());
                let winning = |field: &str, stamps: &mut std::collections::BTreeMap<String, (Hlc, NodeId)>| {
                    let wins = stamps.get(field).is_none_or(|s| stamp > *s);
                    if wins {
                        stamps.insert(field.to_string(), stamp.clone());
                    }
                    wins
                };
                let mut take = ProfilePatch::default();
                let st = &mut next.profile_stamps;
                if patch.phone.is_some() && winning("phone", st) {
                    take.phone.clone_from(&patch.phone);
                }
                if patch.name.is_some() && winning("name", st) {
                    take.name.clone_from(&patch.name);
                }
                if patch.birthday.is_some() && winning("birthday", st) {
                    take.birthday.clone_from(&patch.birthday);
                }
                if patch.gender.is_some() && winning("gender", st) {
                    take.gender = patch.gender;
                }
                if patch.card_no.is_some() && winning("card_no", st) {
                    take.card_no.clone_from(&patch.card_no);
                }
                if patch.tags.is_some() && winning("tags", st) {
                    take.tags.clone_from(&patch.tags);
                }
                if patch.notes.is_some() && winning("notes", st) {
                    take.notes.clone_from(&patch.notes);
                }
                next.profile = next.profile.patched(&take);
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
            OpBody::CheckedOut { order } => {
                if order.store != *origin {
                    return Err(ApplyError::Authority {
                        origin: origin.clone(),
                        what: format!("a sale of {}", order.store),
                    });
                }
                next.wallet.debit(
                    origin,
                    Share {
                        principal: order.balance_principal,
                        bonus: order.balance_bonus,
                        points: 0,
                    },
                )?;
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
            OpBody::Refunded { refund } => {
                if refund.store != *origin {
                    return Err(ApplyError::Authority {
                        origin: origin.clone(),
                        what: format!("a refund of {}", refund.store),
                    });
                }
                next.wallet.debit(
                    origin,
                    Share {
                        points: refund.points_reversed,
                        ..Share::default()
                    },
                )?;
                next.wallet.credit(
                    origin,
                    Share {
                        principal: refund.balance_principal,
                        bonus: refund.balance_bonus,
                        points: 0,
                    },
                );
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
        }
        next.last_seen = next.last_seen.max(op.hlc);
        *self = next;
        Ok(())
    }
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

/// Apply a refund op to the sale it refunds.
pub fn apply_refund(order: &mut OrderState, op: &Op) -> Result<(), ApplyError> {
    let OpBody::Refunded { refund } = &op.body else {
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

/// Chain-wide money totals, as far as this node's ops tell (api.md
/// `/ledger/summary`). Derived from ops alone, so equal on nodes holding the
/// same ops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerTotals {
    pub members: u64,
    pub recharges: u64,
    pub recharged_principal: Money,
    pub recharged_bonus: Money,
    pub orders: u64,
    pub sales: Money,
    pub spent_principal: Money,
    pub spent_bonus: Money,
    pub refunds: u64,
    pub refunded: Money,
    pub refunded_principal: Money,
    pub refunded_bonus: Money,
    pub points_issued: i64,
    pub points_reversed: i64,
}

impl LedgerTotals {
    pub fn apply(&mut self, op: &Op) {
        match &op.body {
            OpBody::MemberRegistered { .. } => self.members += 1,
            OpBody::ProfileUpdated { .. } | OpBody::SharesTransferred { .. } => {}
            OpBody::Recharged { amount, bonus, .. } => {
                self.recharges += 1;
                self.recharged_principal += *amount;
                self.recharged_bonus += *bonus;
            }
            OpBody::CheckedOut { order } => {
                self.orders += 1;
                self.sales += order.payable;
                self.spent_principal += order.balance_principal;
                self.spent_bonus += order.balance_bonus;
                self.points_issued += order.points_earned;
            }
            OpBody::Refunded { refund } => {
                self.refunds += 1;
                self.refunded += refund.amount;
                self.refunded_principal += refund.balance_principal;
                self.refunded_bonus += refund.balance_bonus;
                self.points_reversed += refund.points_reversed;
            }
        }
    }

    /// Stored value still owed to members (invariant 1, conservation):
    /// recharged − spent + refunded.
    pub fn outstanding(&self) -> (Money, Money) {
        (
            self.recharged_principal - self.spent_principal + self.refunded_principal,
            self.recharged_bonus - self.spent_bonus + self.refunded_bonus,
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VersionVector;
    use crate::ids::OpId;
    use crate::op::OpDraft;

    fn n(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn op(origin: &str, seq: u64, ms: u64, body: OpBody) -> Op {
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
            },
        );
        let edit = |origin: &str, ms: u64, name: &str, notes: Option<&str>| {
            op(
                origin,
                2,
                ms,
                OpBody::ProfileUpdated {
                    member: m.clone(),
                    patch: ProfilePatch {
                        name: Some(name.into()),
                        notes: notes.map(Into::into),
                        ..Default::default()
                    },
                },
            )
        };
        let x = edit("a", 10, "甲", Some("from a"));
        let y = edit("b", 20, "乙", None);
        let z = edit("c", 20, "丙", None);
        let mut states = Vec::new();
        for order in [[&x, &y, &z], [&z, &y, &x], [&y, &x, &z], [&z, &x, &y]] {
            let mut s = MemberState::registered(&reg).unwrap();
            for o in order {
                s.apply(o).unwrap();
            }
            states.push(s);
        }
        assert!(
            states.windows(2).all(|w| w[0] == w[1]),
            "one state whatever the order"
        );
        // The latest stamp wins the name ((20, c) > (20, b)); notes only a set.
        assert_eq!(states[0].profile.name, "丙");
        assert_eq!(states[0].profile.notes, "from a");
    }
}
