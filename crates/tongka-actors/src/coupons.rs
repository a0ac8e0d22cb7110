//! Coupon requests: issuing a programme template's coupon to a member, to
//! many members at once, and to a member just registered (the programme's
//! new-member templates). A coupon is used at checkout (`sales`) and its
//! use given back by a refund.

use tongka_core::coupon::{CouponError, CouponKind, CouponTemplate};
use tongka_core::day::Day;
use tongka_core::ids::{MemberId, NodeId, RechargeId};
use tongka_core::money::Money;
use tongka_core::op::OriginRole;
use tongka_core::state::MemberState;

use crate::account::{AccountKey, AccountMsg};
use crate::{Engine, EngineError, Idem, Outcome};

/// The most members one batch issues to.
pub const BATCH_MEMBERS_MAX: usize = 1_000;

/// A batch member's idempotency key: `<key>/<member>`, or, when that
/// would pass the longest key an op may carry, the key's BLAKE3 hash (32
/// hex digits) in place of the key: the same for every retry of the batch.
fn member_key(key: &str, member: &MemberId) -> String {
    let plain = format!("{key}/{member}");
    if plain.len() <= tongka_core::op::KEY_LEN_MAX {
        return plain;
    }
    let hash = blake3::hash(key.as_bytes()).to_hex();
    format!("batch-{}/{member}", &hash[..32])
}

/// Whether a birthday `born` (YYYY-MM-DD) falls on `today`; one on 29
/// February falls on 28 February in a year without a 29th.
fn birthday_on(born: &str, today: Day) -> bool {
    let Ok(b) = born.parse::<Day>() else {
        return false;
    };
    let (_, bm, bd) = b.ymd();
    let (y, m, d) = today.ymd();
    (bm, bd) == (m, d)
        || ((bm, bd) == (2, 29) && (m, d) == (2, 28) && Day::from_ymd(y, 2, 29).is_none())
}

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
    /// own idempotency key derived from `idem`'s (`member_key`), so a
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
                key: member_key(&i.key, &m),
                fingerprint: i.fingerprint,
            });
            out.push(self.issue_coupon(by.clone(), each, m, template).await);
        }
        Ok(out)
    }

    /// Issue a coupon a rule gives (new member, recharge offer, birthday)
    /// under the rule's own `key`, so it is issued once whatever retries
    /// and restarts do. `true` when issued now; `false` when it was before
    /// (a replay), or the rule gives nothing after all: the member at the
    /// template's limit or with a full wallet, the template gone from the
    /// programme, the member not here. Any other refusal is an error.
    async fn issue_by_rule(
        &self,
        by: &str,
        key: String,
        member: &MemberId,
        template: &str,
    ) -> Result<bool, EngineError> {
        let idem = Idem {
            key,
            fingerprint: [0; 32],
        };
        match self
            .issue_coupon(by.to_string(), Some(idem), member.clone(), template)
            .await
        {
            Ok((_, replay)) => Ok(!replay),
            Err(EngineError::Coupon(
                CouponError::LimitReached { .. }
                | CouponError::WalletFull
                | CouponError::TemplateNotFound { .. },
            ))
            | Err(EngineError::Member(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Issue the coupons of the recharge offer `amount` reached (seed 002:
    /// tiers that give coupons), on a first answer and on a replay alike:
    /// each under a key of the recharge, template and place, so each is
    /// issued once whatever retries or restarts do. A template at its
    /// per-member limit is skipped.
    pub(crate) async fn offer_coupons(
        &self,
        by: &str,
        member: &MemberId,
        recharge: &RechargeId,
        amount: Money,
    ) -> Result<(), EngineError> {
        let programme = self.programme();
        for (i, t) in programme.coupons_for(amount).iter().enumerate() {
            let key = format!("offer/{recharge}/{i}/{t}");
            self.issue_by_rule(by, key, member, t).await?;
        }
        Ok(())
    }

    /// Issue the programme's birthday coupons (templates of kind
    /// `birthday`) to the members whose home is this store and whose
    /// birthday is `today` (a 29 February birthday on 28 February of a
    /// year without one): each under a key of the year, member and
    /// template, so running again the same day, at a restart or on the
    /// next tick, issues nothing twice. Answers how many it issued.
    pub async fn birthday_coupons(&self, today: Day) -> Result<usize, EngineError> {
        let programme = self.programme();
        let templates: Vec<&CouponTemplate> = programme
            .coupon_templates
            .iter()
            .filter(|t| t.kind == CouponKind::Birthday)
            .collect();
        if templates.is_empty() {
            return Ok(0);
        }
        let (year, _, _) = today.ymd();
        let mut issued = 0;
        let mut after: Option<MemberId> = None;
        loop {
            let page = self.core.db.members_after(after.as_ref(), 512)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            // Members merged away are skipped: their survivor has its own
            // birthday (and home).
            for m in page
                .iter()
                .filter(|m| m.home == self.core.node && self.resolve(&m.id) == m.id)
            {
                let Some(born) = m.profile.birthday.as_deref() else {
                    continue;
                };
                if !birthday_on(born, today) {
                    continue;
                }
                for t in &templates {
                    let key = format!("birthday/{year}/{}/{}", m.id, t.id);
                    if self.issue_by_rule("birthday", key, &m.id, &t.id).await? {
                        issued += 1;
                    }
                }
            }
        }
        Ok(issued)
    }

    /// Issue the programme's new-member coupons (templates of kind
    /// `new_member`) to `member`, registered here: each under a key of the
    /// member and template, so each is issued once whatever retries or
    /// restarts do. A template at its per-member limit is skipped. Answers
    /// how many new-member templates there are (0: nothing was asked).
    pub(crate) async fn welcome(&self, by: &str, member: &MemberId) -> Result<usize, EngineError> {
        let programme = self.programme();
        let mut templates = 0;
        for t in programme
            .coupon_templates
            .iter()
            .filter(|t| t.kind == CouponKind::NewMember)
        {
            let key = format!("new-member/{member}/{}", t.id);
            // Counted on a replay too: the answer shows the member with it.
            self.issue_by_rule(by, key, member, &t.id).await?;
            templates += 1;
        }
        Ok(templates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::ids::NodeId;

    #[test]
    fn birthdays_fall_on_their_day_and_the_29th_of_february_on_the_28th() {
        let d = |s: &str| s.parse::<Day>().unwrap();
        assert!(birthday_on("1990-12-05", d("2026-12-05")));
        assert!(!birthday_on("1990-12-05", d("2026-12-06")));
        assert!(birthday_on("2000-02-29", d("2026-02-28")));
        assert!(!birthday_on("2000-02-29", d("2028-02-28")));
        assert!(birthday_on("2000-02-29", d("2028-02-29")));
        assert!(!birthday_on("not a day", d("2026-12-05")));
    }

    #[test]
    fn a_member_key_never_passes_the_limit_and_is_stable() {
        let m = MemberId::mint(&NodeId::new("store-1").unwrap(), 12);
        assert_eq!(member_key("k", &m), "k/m-store-1-12");
        let long = "x".repeat(tongka_core::op::KEY_LEN_MAX);
        let k = member_key(&long, &m);
        assert!(k.len() <= tongka_core::op::KEY_LEN_MAX, "{k}");
        assert_eq!(k, member_key(&long, &m));
        assert_ne!(k, member_key(&"y".repeat(128), &m));
    }
}
