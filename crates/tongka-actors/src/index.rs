//! The phone and card indexes: numbers claimed by local requests until
//! they commit, entries given by remote registrations not committed yet,
//! and which member keeps an entry two members claim (`index_winner`).

use tongka_core::ids::MemberId;
use tongka_core::member::Profile;
use tongka_core::state::{MemberError, MemberState};
use tongka_store::{Effects, StoreError};

use crate::{Core, Engine, EngineError};

impl Core {
    /// Index changes for a profile change (`m` before, `next` after): the
    /// new phone or card goes to this member unless another holds it, in
    /// which case both are listed as duplicates and the index keeps the
    /// smaller member id (so every node ends with the same index).
    pub fn reindex_remote(
        &self,
        m: &MemberState,
        next: &Profile,
        effects: &mut Effects,
    ) -> Result<(), StoreError> {
        if next.phone != m.profile.phone {
            let phone = &next.phone;
            if self.store.member_by_phone(&m.profile.phone)?.as_ref() == Some(&m.id) {
                effects.phones.push((m.profile.phone.clone(), None));
            }
            let owner = self.phone_owner(phone)?;
            let winner = self.index_winner(owner, &m.id, &format!("phone:{phone}"), effects);
            effects.phones.push((phone.clone(), Some(winner)));
        }
        if next.card_no != m.profile.card_no {
            let card = &next.card_no;
            if let Some(old) = &m.profile.card_no
                && self.store.member_by_card(old)?.as_ref() == Some(&m.id)
            {
                effects.cards.push((old.clone(), None));
            }
            if let Some(new) = card {
                let owner = self.card_owner(new)?;
                let winner = self.index_winner(owner, &m.id, &format!("card:{new}"), effects);
                effects.cards.push((new.clone(), Some(winner)));
            }
        }
        Ok(())
    }

    /// Who holds phone `phone` in the index: a remote registration not
    /// committed yet, or as committed.
    pub(crate) fn phone_owner(&self, phone: &str) -> Result<Option<MemberId>, StoreError> {
        let pending = self.pending_owner(&format!("phone:{phone}"));
        pending.map_or_else(|| self.store.member_by_phone(phone), |m| Ok(Some(m)))
    }

    /// `phone_owner` for card numbers.
    pub(crate) fn card_owner(&self, card: &str) -> Result<Option<MemberId>, StoreError> {
        let pending = self.pending_owner(&format!("card:{card}"));
        pending.map_or_else(|| self.store.member_by_card(card), |m| Ok(Some(m)))
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
    /// Reserve a phone (and card) number for `member` (or a new member).
    pub(crate) fn claim(
        &self,
        phone: &str,
        card: Option<&str>,
        member: Option<&MemberId>,
    ) -> Result<Vec<String>, EngineError> {
        let store = &self.core.store;
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
