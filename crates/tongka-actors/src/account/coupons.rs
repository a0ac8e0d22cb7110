//! The account actor's coupon requests: issuing a coupon to its member.
//! (A coupon is used by the member's checkout, `AccountActor::checkout`,
//! and given back by a refund.)

use tongka_core::coupon::{Coupon, CouponTemplate};
use tongka_core::day::Day;
use tongka_core::ids::{CouponId, NodeId};
use tongka_core::op::OpBody;

use super::{AccountActor, AccountState, Refusal, Reply};
use crate::{Idem, Outcome};

impl AccountActor {
    /// Issue a coupon of `template` to this account's member, its uses
    /// credited to `holder`; refused when the member holds the template's
    /// limit, or a full wallet (`MemberState::may_issue`, in the member's
    /// actor: one decision at a time).
    pub(super) fn issue_coupon(
        &self,
        st: &mut AccountState,
        by: String,
        idem: Option<Idem>,
        template: &CouponTemplate,
        holder: NodeId,
        reply: Reply,
    ) -> Result<(), Refusal> {
        let core = &self.core;
        let m = self.member(st);
        if let Err(e) = m.may_issue(template) {
            return Err((e.into(), reply));
        }
        let id = CouponId::mint(&core.node, core.db.next_entity());
        let at = core.tick();
        let body = OpBody::CouponIssued {
            member: m.id.clone(),
            coupon: Coupon::issue(id.clone(), template, Day::of_ms(at.ms)),
            holder,
        };
        self.commit_member_op(st, by, idem, body, at, reply, |_, member| {
            Outcome::CouponIssued { coupon: id, member }
        })
    }
}
