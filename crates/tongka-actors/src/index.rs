//! The phone and card indexes: numbers claimed by local requests until
//! they commit, entries given by remote registrations not committed yet,
//! and which member keeps an entry two members claim (`index_winner`).

use tongka_core::ids::MemberId;
use tongka_core::state::MemberError;
use tongka_db::{DbError, Effects};
use tongka_machine::apply::{IndexDelta, Key};

use crate::{Core, Engine, EngineError};

impl Core {
    /// Write `deltas` (the index changes `tongka_machine::apply::reindex`
    /// found for member `m`) into `effects`: a released number is dropped
    /// only if the index still gives it to `m`; a claimed number goes to
    /// the winner among its holders (a contested one is listed as a
    /// duplicate).
    pub fn reindex(
        &self,
        m: &MemberId,
        deltas: &[IndexDelta],
        effects: &mut Effects,
    ) -> Result<(), DbError> {
        for d in deltas {
            match d {
                IndexDelta::Release(Key::Phone(p)) => {
                    if self.db.member_by_phone(p)?.as_ref() == Some(m) {
                        effects.phones.push((p.clone(), None));
                    }
                }
                IndexDelta::Release(Key::Card(c)) => {
                    if self.db.member_by_card(c)?.as_ref() == Some(m) {
                        effects.cards.push((c.clone(), None));
                    }
                }
                IndexDelta::Claim(Key::Phone(p)) => {
                    let owner = self.phone_owner(p)?;
                    let winner = self.index_winner(owner, m, &format!("phone:{p}"), effects);
                    effects.phones.push((p.clone(), Some(winner)));
                }
                IndexDelta::Claim(Key::Card(c)) => {
                    let owner = self.card_owner(c)?;
                    let winner = self.index_winner(owner, m, &format!("card:{c}"), effects);
                    effects.cards.push((c.clone(), Some(winner)));
                }
            }
        }
        Ok(())
    }

    /// Who holds phone `phone` in the index: a remote registration not
    /// committed yet, or as committed.
    pub(crate) fn phone_owner(&self, phone: &str) -> Result<Option<MemberId>, DbError> {
        let pending = self.pending_owner(&format!("phone:{phone}"));
        pending.map_or_else(|| self.db.member_by_phone(phone), |m| Ok(Some(m)))
    }

    /// `phone_owner` for card numbers.
    pub(crate) fn card_owner(&self, card: &str) -> Result<Option<MemberId>, DbError> {
        let pending = self.pending_owner(&format!("card:{card}"));
        pending.map_or_else(|| self.db.member_by_card(card), |m| Ok(Some(m)))
    }

    fn pending_owner(&self, key: &str) -> Option<MemberId> {
        let pending = self.pending_index.lock().expect("pending index lock");
        pending.get(key).map(|(m, _)| m.clone())
    }

    /// Which member an index entry keeps when `candidate` claims a key that
    /// `owner` may hold; a clash is listed as duplicates.
    pub(crate) fn index_winner(
        &self,
        owner: Option<MemberId>,
        candidate: &MemberId,
        key: &str,
        effects: &mut Effects,
    ) -> MemberId {
        match owner {
            Some(o) if o != *candidate => {
                effects.duplicates.push((key.to_string(), o.clone()));
                effects
                    .duplicates
                    .push((key.to_string(), candidate.clone()));
                o.min(candidate.clone())
            }
            _ => candidate.clone(),
        }
    }

    pub fn release_claims(&self, claims: Vec<String>) {
        if !claims.is_empty() {
            let mut c = self.claims.lock().expect("claims lock");
            for k in claims {
                c.remove(&k);
            }
        }
    }
}

impl Engine {
    /// Reserve the phone (and card) numbers of many new members at once,
    /// under one hold of the claims: all, or none (the first taken one's
    /// error). A member import's chunk claims its rows so.
    pub(crate) fn claim_all<'a>(
        &self,
        numbers: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Result<Vec<String>, EngineError> {
        let store = &self.core.db;
        let mut claims = self.core.claims.lock().expect("claims lock");
        let mut out: Vec<String> = Vec::new();
        let taken = (|| {
            for (phone, card) in numbers {
                let key = format!("phone:{phone}");
                if claims.contains(&key) || store.member_by_phone(phone)?.is_some() {
                    return Err(MemberError::PhoneTaken(phone.to_string()).into());
                }
                claims.insert(key.clone());
                out.push(key);
                if let Some(card) = card {
                    let key = format!("card:{card}");
                    if claims.contains(&key) || store.member_by_card(card)?.is_some() {
                        return Err(MemberError::CardTaken(card.to_string()).into());
                    }
                    claims.insert(key.clone());
                    out.push(key);
                }
            }
            Ok(())
        })();
        match taken {
            Ok(()) => Ok(out),
            Err(e) => {
                for k in &out {
                    claims.remove(k);
                }
                Err(e)
            }
        }
    }

    /// Reserve a phone (and card) number for `member` (or a new member).
    pub(crate) fn claim(
        &self,
        phone: &str,
        card: Option<&str>,
        member: Option<&MemberId>,
    ) -> Result<Vec<String>, EngineError> {
        let store = &self.core.db;
        let mut claims = self.core.claims.lock().expect("claims lock");
        let phone_key = format!("phone:{phone}");
        let owner = store.member_by_phone(phone)?;
        if claims.contains(&phone_key) || owner.is_some_and(|o| Some(&o) != member) {
            return Err(MemberError::PhoneTaken(phone.to_string()).into());
        }
        let mut out = vec![phone_key];
        if let Some(card) = card {
            let card_key = format!("card:{card}");
            let owner = store.member_by_card(card)?;
            if claims.contains(&card_key) || owner.is_some_and(|o| Some(&o) != member) {
                return Err(MemberError::CardTaken(card.to_string()).into());
            }
            out.push(card_key);
        }
        for k in &out {
            claims.insert(k.clone());
        }
        Ok(out)
    }
}
