//! Staff accounts: the changes this node makes (`change_staff`) and those
//! made elsewhere (`apply_staff_remote`), both through the core's
//! `StaffBook` (`tongka_core::staff`), persisted whole in the op's commit.
//! Passwords arrive here hashed (the API hashes what is typed); who may
//! change which account is the caller's check (`staff::may_manage`).

use std::sync::Arc;

use tongka_core::ids::StaffId;
use tongka_core::op::{Op, OpBody};
use tongka_core::staff::{StaffAccount, StaffBook, StaffError, StaffPatch, Stamp};
use tongka_db::Effects;

use crate::account::Encoding;
use crate::core::durable;
use crate::{Engine, EngineError, Idem, Outcome};

impl Engine {
    /// The chain's staff accounts as this node holds them now.
    pub fn staff(&self) -> Arc<StaffBook> {
        self.core.staff.lock().expect("staff lock").clone()
    }

    /// Create an account (`staff: None`; the patch carries every field and
    /// its login is free in this node's view) or change one. Answers the
    /// account after the change, once durable.
    pub async fn change_staff(
        &self,
        staff: Option<StaffId>,
        patch: StaffPatch,
        by: String,
        idem: Option<Idem>,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let (rx, outcome) = {
                let mut held = me.core.staff.lock().expect("staff lock");
                let id = match staff {
                    Some(id) => id,
                    None => {
                        let login = patch.login.as_deref().unwrap_or_default();
                        if held.by_login(login).is_some() {
                            return Err(StaffError::LoginTaken(login.to_string()).into());
                        }
                        StaffId::mint(&me.core.node, me.core.db.next_entity())
                    }
                };
                if staff_is_noop(&held, &id, &patch) {
                    me.end_idem(idem.as_ref());
                    let a = held.get(&id).cloned().ok_or(StaffError::NotFound)?;
                    return Ok(Outcome::Staff(a));
                }
                let at = me.core.tick();
                let body = OpBody::StaffChanged {
                    staff: id.clone(),
                    patch: patch.clone(),
                };
                let (draft, op) = me.core.draft_at(by, idem.as_ref(), body, at)?;
                // Checked as authored (the role-and-stores rule too), then
                // applied by the rule every node applies.
                let account = held.after(&id, &patch, &Stamp::of(&op))?;
                let mut next = (**held).clone();
                next.apply(&op).map_err(EngineError::from)?;
                let outcome = Outcome::Staff(account);
                let effects = Effects {
                    staff: Some(next.to_bytes()),
                    idem: idem.as_ref().map(|i| i.record(&outcome)),
                    ..Default::default()
                };
                let key = idem.as_ref().map(|i| i.key.clone());
                let rx = me.core.submit_local(draft, effects, key);
                *held = Arc::new(next);
                (rx, outcome)
            };
            durable(rx, outcome).await
        })
        .await
    }

    /// Apply a `StaffChanged` op made elsewhere, in its place among the
    /// ops handed to the writer. One that does not apply is logged as
    /// rejected.
    pub(crate) fn apply_staff_remote(
        &self,
        op: Op,
        encoded: Encoding,
        on_durable: tongka_db::Done,
    ) {
        let mut held = self.core.staff.lock().expect("staff lock");
        let mut effects = Effects::default();
        let mut next = (**held).clone();
        match next.apply(&op) {
            Ok(()) => {
                effects.staff = Some(next.to_bytes());
                *held = Arc::new(next);
            }
            Err(e) => effects.rejected = Some(e.to_string()),
        }
        self.core.observe(op.hlc);
        self.core.submit_remote(op, encoded, effects, on_durable);
    }
}

/// Whether `patch` of an existing account changes nothing (a save of an
/// unchanged form): no op is made for it.
fn staff_is_noop(book: &StaffBook, id: &StaffId, patch: &StaffPatch) -> bool {
    let Some(a) = book.get(id) else {
        return false;
    };
    let same = |a: &StaffAccount| {
        patch.login.is_none()
            && patch.name.as_ref().is_none_or(|n| *n == a.name)
            && patch.role.is_none_or(|r| r == a.role)
            && patch.stores.as_ref().is_none_or(|s| {
                let mut s = s.clone();
                s.sort();
                s.dedup();
                s == a.stores
            })
            && patch.disabled.is_none_or(|d| d == a.disabled)
            && patch.password.is_none()
    };
    same(a)
}
