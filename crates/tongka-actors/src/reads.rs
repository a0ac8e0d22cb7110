//! Reads of what is committed: members (merged ones read as their
//! survivor), orders, histories and duplicate numbers.

use std::collections::HashSet;

use tongka_core::ids::{MemberId, OrderId};
use tongka_core::op::Op;
use tongka_core::refund::OrderState;
use tongka_core::state::{MemberError, MemberState};

use crate::{Engine, EngineError};

/// The most entries a list answer holds.
pub const LIST_MAX: usize = 1000;

impl Engine {
    /// A member's history, newest first, with the history of the members
    /// merged into it.
    pub fn history(&self, id: &MemberId, limit: usize) -> Result<Vec<Op>, EngineError> {
        let m = self.member(id)?;
        let mut ops = self.core.db.member_history(&m.id, limit)?;
        for a in &m.absorbed {
            ops.extend(self.core.db.member_history(a, limit)?);
        }
        ops.sort_by(|x, y| (y.hlc, &y.id).cmp(&(x.hlc, &x.id)));
        ops.truncate(limit);
        Ok(ops)
    }

    /// Phone and card numbers held by more than one member.
    /// Merged pairs are no longer listed.
    pub fn duplicates(&self) -> Result<Vec<(String, Vec<MemberId>)>, EngineError> {
        let mut out = self.core.db.duplicates(LIST_MAX)?;
        out.retain(|(_, ids)| {
            let now: HashSet<MemberId> = ids.iter().map(|i| self.resolve(i)).collect();
            now.len() > 1
        });
        Ok(out)
    }

    /// A member's state as committed: reads see what is committed, which is
    /// all that was ever acknowledged.
    /// A member merged into another reads as the survivor.
    pub fn member(&self, id: &MemberId) -> Result<MemberState, EngineError> {
        self.core
            .db
            .member(&self.resolve(id))?
            .ok_or_else(|| MemberError::NotFound(id.to_string()).into())
    }

    pub fn order(&self, id: &OrderId) -> Result<OrderState, EngineError> {
        self.core
            .db
            .order(id)?
            .ok_or_else(|| EngineError::OrderNotFound(id.to_string()))
    }
}
