//! Member requests: registering, changing a profile (its phone or card
//! claimed until the change commits) and recharging a wallet.

use tongka_core::checkout::TenderKind;
use tongka_core::ids::MemberId;
use tongka_core::member::{Profile, ProfilePatch};
use tongka_core::money::Money;
use tongka_core::op::OpBody;
use tongka_core::state::{MemberError, MemberState};
use tongka_db::{Effects, Source};

use crate::account::{AccountKey, AccountMsg};
use crate::detach::detach;
use crate::{Engine, EngineError, Idem, Outcome};

impl Engine {
    pub async fn register(
        &self,
        by: String,
        idem: Option<Idem>,
        profile: Profile,
    ) -> Result<(Outcome, bool), EngineError> {
        profile.validate().map_err(MemberError::from)?;
        let by_welcome = by.clone();
        let registered = self
            .idempotent(idem, move |me, idem| async move {
                let core = &me.core;
                let claims = me.claim(&profile.phone, profile.card_no.as_deref(), None)?;
                let member = MemberId::mint(&core.node, core.db.next_entity());
                let made = core
                    .draft(
                        by,
                        idem.as_ref(),
                        OpBody::MemberRegistered {
                            member: member.clone(),
                            profile: profile.clone(),
                            opening: None,
                        },
                    )
                    .and_then(|(draft, op)| {
                        MemberState::registered(&op)
                            .map(|state| (draft, state))
                            .map_err(|e| EngineError::Internal(e.to_string()))
                    });
                let (draft, state) = match made {
                    Ok(m) => m,
                    Err(e) => {
                        // Nothing was submitted: the numbers are free again.
                        core.release_claims(claims);
                        return Err(e);
                    }
                };
                let outcome = Outcome::Member(state.clone());
                let mut effects = Effects {
                    member: Some(state),
                    ..Default::default()
                };
                effects
                    .phones
                    .push((profile.phone.clone(), Some(member.clone())));
                if let Some(c) = &profile.card_no {
                    effects.cards.push((c.clone(), Some(member.clone())));
                }
                if let Some(i) = &idem {
                    effects.idem = Some(i.record(&outcome));
                }
                let (tx, rx) = tokio::sync::oneshot::channel();
                let core2 = core.clone();
                let key = idem.map(|i| i.key);
                core.db.submit(
                    Source::Local(draft),
                    effects,
                    Box::new(move |res| {
                        core2.finish(key, claims);
                        let _ = tx.send(res);
                    }),
                );
                rx.await
                    .map_err(|_| EngineError::Internal("writer dropped a request".into()))??;
                Ok(outcome)
            })
            .await?;
        // The programme's new-member coupons, on a first answer and on a
        // replay alike (each is issued once: its own key), then the member
        // as it holds them.
        let (Outcome::Member(state), replay) = registered else {
            return Ok(registered);
        };
        // Nothing to issue (the usual case): no second read of the member.
        if self.welcome(&by_welcome, &state.id).await? == 0 {
            return Ok((Outcome::Member(state), replay));
        }
        let now = self.member(&state.id)?;
        Ok((Outcome::Member(now), replay))
    }

    /// Change a member's profile. Runs to its end whatever the caller
    /// does (`detach`), like `idempotent`: a new phone or card number is claimed until the change
    /// commits or is refused, so a client hanging up must not stop it
    /// halfway (the number would stay claimed, `phone_taken`, until a
    /// restart).
    pub async fn update_profile(
        &self,
        by: String,
        member: MemberId,
        patch: ProfilePatch,
    ) -> Result<Outcome, EngineError> {
        let me = self.clone();
        detach(async move { me.update_profile_now(by, member, patch).await }).await
    }

    async fn update_profile_now(
        &self,
        by: String,
        member: MemberId,
        patch: ProfilePatch,
    ) -> Result<Outcome, EngineError> {
        let member = self.resolve(&member);
        let current = self
            .core
            .db
            .member(&member)?
            .ok_or_else(|| MemberError::NotFound(member.to_string()))?;
        let new_phone = patch.phone.clone().filter(|p| *p != current.profile.phone);
        let new_card = patch
            .card_no
            .clone()
            .flatten()
            .filter(|c| Some(c) != current.profile.card_no.as_ref());
        if let Some(p) = &new_phone {
            tongka_core::member::validate_phone(p).map_err(MemberError::from)?;
        }
        if let Some(c) = &new_card {
            tongka_core::member::validate_card_no(c).map_err(MemberError::from)?;
        }
        let claimed = match (&new_phone, &new_card) {
            (None, None) => Vec::new(),
            (Some(p), card) => self.claim(p, card.as_deref(), Some(&member))?,
            (None, Some(c)) => {
                // Claim only the card: check it the same way.
                let mut claims = self.core.claims.lock().expect("claims lock");
                let key = format!("card:{c}");
                let owner = self.core.db.member_by_card(c)?;
                if claims.contains(&key) || owner.is_some_and(|o| o != member) {
                    return Err(MemberError::CardTaken(c.clone()).into());
                }
                claims.insert(key.clone());
                vec![key]
            }
        };
        self.call(AccountKey::Member(member), move |reply| {
            AccountMsg::UpdateProfile {
                by: by.clone(),
                patch: patch.clone(),
                claimed: claimed.clone(),
                reply,
            }
        })
        .await
    }

    pub async fn recharge(
        &self,
        by: String,
        idem: Option<Idem>,
        member: MemberId,
        amount: Money,
        tender: TenderKind,
    ) -> Result<(Outcome, bool), EngineError> {
        let member = self.resolve(&member);
        let touched = member.clone();
        let by_offer = by.clone();
        let out = self
            .idempotent(idem, move |me, idem| async move {
                me.call(AccountKey::Member(member), move |reply| {
                    AccountMsg::Recharge {
                        by: by.clone(),
                        idem: idem.clone(),
                        amount,
                        tender,
                        reply,
                    }
                })
                .await
            })
            .await?;
        // The member was resolved before: were it merged away meanwhile,
        // the recharge credited a share that now moves on (`settle`).
        self.settle_warn(&touched).await;
        if let Outcome::Recharged {
            recharge, amount, ..
        } = &out.0
        {
            self.offer_coupons(&by_offer, &touched, recharge, *amount)
                .await?;
        }
        Ok(out)
    }
}
