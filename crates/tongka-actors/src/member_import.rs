//! Member import (会员导入): many members registered with their opening
//! balances (`OpBody::MemberRegistered` with `Opening`, one op per member)
//! and committed together, one chunk of a file at a time
//! (`tongka_core::member_import`).
//!
//! Why not `register` per row: a file of 100,000 members would be 100,000
//! round trips through the claims, the idempotency keys and the writer's
//! queue. A chunk instead claims every number of its rows under one hold
//! (`claim_all`), stamps its drafts, prepares them on this thread and hands
//! them to the writer in one `submit_all`: one transaction, one batch
//! signature, all or none. The chunk's idempotency record is committed
//! with its last op, so a chunk is made once. No account actor is
//! involved: a new member has none until it is asked for, and its state
//! is written with its op (as `register` writes it). New-member coupons
//! are not issued: an imported member is not a new customer.

use tongka_core::ids::MemberId;
use tongka_core::member::Profile;
use tongka_core::op::{OpBody, Opening};
use tongka_core::state::{MemberError, MemberState};
use tongka_db::{Effects, Source};

use crate::{Engine, EngineError, Idem, Outcome};

/// One member to import: its profile and what it brings.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub profile: Profile,
    pub opening: Opening,
}

impl Engine {
    /// Import `rows` (checked by the caller: `member_import::plan`) as one
    /// commit under `idem`: `(Outcome::Imported, replayed)`. A number taken
    /// meanwhile refuses the whole chunk (`phone_taken`, `card_taken`),
    /// nothing made.
    pub async fn import_members(
        &self,
        by: String,
        idem: Idem,
        rows: Vec<ImportRow>,
    ) -> Result<(Outcome, bool), EngineError> {
        if rows.is_empty() {
            return Err(EngineError::Internal("an import chunk of no rows".into()));
        }
        for r in &rows {
            r.profile.validate().map_err(MemberError::from)?;
        }
        self.idempotent(Some(idem), move |me, idem| async move {
            let core = &me.core;
            let mut claims = me.claim_all(
                rows.iter()
                    .map(|r| (r.profile.phone.as_str(), r.profile.card_no.as_deref())),
            )?;
            let count = rows.len() as u32;
            let mut jobs = Vec::with_capacity(rows.len());
            let mut first: Option<MemberId> = None;
            let last = rows.len() - 1;
            let (tx, rx) = tokio::sync::oneshot::channel();
            let mut tx = Some(tx);
            for (i, row) in rows.into_iter().enumerate() {
                let member = MemberId::mint(&core.node, core.db.next_entity());
                first.get_or_insert_with(|| member.clone());
                let made = core
                    .draft(
                        by.clone(),
                        idem.as_ref(),
                        OpBody::MemberRegistered {
                            member: member.clone(),
                            profile: row.profile,
                            opening: Some(row.opening),
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
                        // Nothing was submitted: the numbers are free again
                        // (drafts made are dropped: their numbers unused).
                        core.release_claims(claims);
                        return Err(e);
                    }
                };
                let mut effects = Effects::default();
                effects
                    .phones
                    .push((state.profile.phone.clone(), Some(member.clone())));
                if let Some(c) = &state.profile.card_no {
                    effects.cards.push((c.clone(), Some(member.clone())));
                }
                effects.member = Some(state);
                let done: tongka_db::Done = if i == last {
                    let outcome = Outcome::Imported {
                        first: first.clone().expect("the first member"),
                        count,
                    };
                    if let Some(i) = &idem {
                        effects.idem = Some(i.record(&outcome));
                    }
                    let tx = tx.take().expect("one last op");
                    let (core2, key) = (core.clone(), idem.as_ref().map(|i| i.key.clone()));
                    let claims = std::mem::take(&mut claims);
                    // Keys and numbers freed before the answer leaves, as
                    // `register` frees them: a re-run replays at once.
                    Box::new(move |res| {
                        core2.finish(key, claims);
                        let _ = tx.send(res.map(|_| outcome));
                    })
                } else {
                    Box::new(|_| {})
                };
                jobs.push(core.db.prepare(Source::Local(draft), effects, done));
            }
            core.db.submit_all(jobs, Box::new(|_| {}));
            let outcome = rx
                .await
                .map_err(|_| EngineError::Internal("writer dropped a request".into()))??;
            Ok(outcome)
        })
        .await
    }
}

impl Engine {
    /// Whether a phone number is a member's in the index (committed, or
    /// given by a remote registration on its way to the writer).
    pub fn phone_taken(&self, phone: &str) -> Result<bool, EngineError> {
        Ok(self.core.phone_owner(phone)?.is_some())
    }

    /// `phone_taken` for card numbers.
    pub fn card_taken(&self, card: &str) -> Result<bool, EngineError> {
        Ok(self.core.card_owner(card)?.is_some())
    }
}
