//! Coupon requests: issuing a programme template's coupon to a member, to
//! many members at once, and to a member just registered (the programme's
//! new-member templates). A coupon is used at checkout (`sales`) and its
//! use given back by a refund.

use tongka_core::coupon::{CouponError, CouponKind, CouponTemplate};
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::op::OriginRole;
use tongka_core::state::MemberState;

use crate::account::{AccountKey, AccountMsg};
use crate::{Engine, EngineError, Idem, Outcome};

/// The most members one batch issues to.
pub const BATCH_MEMBERS_MAX: usize = 1_000;

impl Engine {
    /// The programme's template `id`.
    pub fn coupon_template(&self, id: &str) -> Result<CouponTemplate, EngineError> {
        self.programme()
            .coupon_templates
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or_else(|| {
                CouponError::TemplateNotFound {
                    template: id.to_string(),
                }
                .into()
            })
    }

    /// Where a coupon issued here to `member` holds its uses: here, at a
    /// store; at the member's home store when HQ (which sells nothing)
    /// issues it, so the member's usual store can use it while cut off.
    fn coupon_holder(&self, member: &MemberState) -> NodeId {
        match self.role() {
            Some(OriginRole::Hq) => member.home.clone(),
            _ => self.core.node.clone(),
        }
    }

    /// Issue a coupon of template `template` to `member`.
    pub async fn issue_coupon(
        &self,
        by: String,
        idem: Option<Idem>,
        member: MemberId,
        template: &str,
    ) -> Result<(Outcome, bool), EngineError> {
        let template = self.coupon_template(template)?;
        let member = self.resolve(&member);
        let holder = self.coupon_holder(&self.member(&member)?);
        self.idempotent(idem, move |me, idem| async move {
            me.call(AccountKey::Member(member.clone()), |reply| {
                AccountMsg::IssueCoupon {
                    by: by.clone(),
                    idem: idem.clone(),
                    template: Box::new(template.clone()),
                    holder: holder.clone(),
                    reply,
                }
            })
            .await
        })
        .await
    }

    /// Issue one coupon of `template` to each of `members`, each under its
    /// own idempotency key derived from `idem`'s (`<key>/<member>`), so a
    /// batch re-sent after a failure issues only what is missing. The
    /// answer per member, in the order given.
    pub async fn issue_coupons(
        &self,
        by: String,
        idem: Option<Idem>,
        members: Vec<MemberId>,
        template: &str,
    ) -> Result<Vec<Result<(Outcome, bool), EngineError>>, EngineError> {
        self.coupon_template(template)?;
        let mut out = Vec::with_capacity(members.len());
        for m in members {
            let each = idem.as_ref().map(|i| Idem {
                key: format!("{}/{m}", i.key),
                fingerprint: i.fingerprint,
            });
            out.push(self.issue_coupon(by.clone(), each, m, template).await);
        }
        Ok(out)
    }

    /// Issue the programme's new-member coupons (templates of kind
    /// `new_member`) to `member`, registered here: each under a key of the
    /// member and template, so each is issued once whatever retries or
    /// restarts do. A template at its per-member limit is skipped.
    pub(crate) async fn welcome(&self, by: &str, member: &MemberId) -> Result<(), EngineError> {
        let programme = self.programme();
        for t in programme
            .coupon_templates
            .iter()
            .filter(|t| t.kind == CouponKind::NewMember)
        {
            let idem = Idem {
                key: format!("new-member/{member}/{}", t.id),
                fingerprint: [0; 32],
            };
            match self
                .issue_coupon(by.to_string(), Some(idem), member.clone(), &t.id)
                .await
            {
                Ok(_) | Err(EngineError::Coupon(CouponError::LimitReached { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
