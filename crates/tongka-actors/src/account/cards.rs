//! The account actor's card requests: a visit verified (核销) on one of its
//! member's cards. (Cards are sold by the member's checkout and taken
//! back by a refund.)

use tongka_core::card::{self, CardError};
use tongka_core::day::Day;
use tongka_core::ids::CardId;
use tongka_core::op::OpBody;

use super::{AccountActor, AccountState, Refusal, Reply};
use crate::{Idem, Outcome};

impl AccountActor {
    /// Verify `count` visits for `service` on the member's card `id`, by
    /// the core's rule (`card::decide_visit`): a count card's visits come
    /// out of this node's share, in this actor (one decision at a time),
    /// so a visit is never made twice of the same share.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn visit_card(
        &self,
        st: &mut AccountState,
        by: String,
        idem: Option<Idem>,
        id: &CardId,
        count: u32,
        service: Option<String>,
        reply: Reply,
    ) -> Result<(), Refusal> {
        let core = &self.core;
        let m = self.member(st);
        let Some(held) = m.card(id) else {
            let e = CardError::NotFound {
                card: id.to_string(),
            };
            return Err((e.into(), reply));
        };
        if held.refunded {
            let e = CardError::Refunded {
                card: id.to_string(),
            };
            return Err((e.into(), reply));
        }
        let at = core.tick();
        let today = Day::of_ms(at.ms);
        if let Err(e) = card::decide_visit(
            &held.card,
            service.as_deref(),
            today,
            held.held(&core.node),
            held.left(),
            held.visits_on(today),
            count,
        ) {
            return Err((e.into(), reply));
        }
        let body = OpBody::CardVisited {
            member: m.id.clone(),
            card: id.clone(),
            count,
            service,
            day: today,
        };
        self.commit_member_op(st, by, idem, body, at, reply, |op, member| {
            Outcome::CardVisited {
                card: id.clone(),
                count,
                at: op.hlc,
                member,
            }
        })
    }
}
