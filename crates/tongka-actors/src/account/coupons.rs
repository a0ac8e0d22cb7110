//! The account actor's coupon requests: issuing a coupon to its member.
//! (A coupon is used by the member's checkout, `AccountActor::checkout`,
//! and given back by a refund.)

use tongka_core::coupon::{Coupon, CouponTemplate};
use tongka_core::day::Day;
use tongka_core::ids::{CouponId, NodeId};
use tongka_core::op::OpBody;
use tongka_db::Effects;
use tongka_machine::apply;

use super::{AccountActor, AccountState, AccountView, Refusal, Reply};
use crate::{EngineError, Idem, Outcome};

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
        let (draft, op) = match core.draft_at(by, idem.as_ref(), body, at) {
            Ok(d) => d,
            Err(e) => return Err((e, reply)),
        };
        // Applied by the machine's rule like a received one.
        let view = AccountView {
            member: Some(m),
            order: None,
        };
        let next = match apply::apply(&view, &op, None) {
            Ok(a) => a.member.expect("a coupon issued changes its member"),
            Err(e) => return Err((EngineError::Internal(e.reason), reply)),
        };
        let outcome = Outcome::CouponIssued {
            coupon: id,
            member: next.clone(),
        };
        let effects = Effects {
            member: Some(next.clone()),
            ..Default::default()
        };
        st.member = Some(next);
        self.commit(st, draft, effects, idem, outcome, reply, Vec::new());
        Ok(())
    }
}
