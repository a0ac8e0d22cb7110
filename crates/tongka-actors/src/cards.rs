//! Card requests: a visit verified (核销) on a member's count or period
//! card, asking the stores that hold a count card's visits when this store
//! holds too few. (Cards are sold by checkouts of card products, `sales`,
//! and taken back by refunds.)

use tongka_core::card::CardError;
use tongka_core::escrow::{Counter, Want};
use tongka_core::ids::{CardId, MemberId};

use crate::account::{AccountKey, AccountMsg};
use crate::{Engine, EngineError, Idem, Outcome};

impl Engine {
    /// Verify `count` visits for `service` on `member`'s card `card`. A
    /// count card short here asks the stores holding its visits for the
    /// shortfall (`escrow`), then decides again, once; unanswered, it is
    /// refused `card_held_elsewhere`, naming them.
    pub async fn visit_card(
        &self,
        by: String,
        idem: Option<Idem>,
        member: MemberId,
        card: CardId,
        count: u32,
        service: Option<String>,
    ) -> Result<(Outcome, bool), EngineError> {
        let member = self.resolve(&member);
        self.idempotent(idem, move |me, idem| async move {
            let key = AccountKey::Member(member.clone());
            let msg = |reply| AccountMsg::VisitCard {
                by: by.clone(),
                idem: idem.clone(),
                card: card.clone(),
                count,
                service: service.clone(),
                reply,
            };
            let result = me.call(key.clone(), msg).await;
            let Err(EngineError::Card(e @ CardError::UsedUp { left_here, .. })) = &result else {
                return result;
            };
            if !e.is_short_here() {
                return result;
            }
            let short = Want {
                counter: Counter::Card(member.clone(), card.clone()),
                units: i64::from(count) - *left_here,
            };
            // Not in a chain (no broker): nothing asked, nothing counted.
            let how = match me.broker() {
                Some(broker) => Some(me.cover(&broker, short).await),
                None => None,
            };
            if let Some(how) = how.filter(|h| h.retry()) {
                let again = me.call(key, msg).await;
                if let Err(e) = &again {
                    me.note_declined(e, how);
                }
                return again;
            }
            let held_at = me
                .core
                .db
                .member(&member)?
                .and_then(|m| {
                    m.card(&card)
                        .map(|c| c.holders().filter(|n| *n != me.node()).cloned().collect())
                })
                .unwrap_or_default();
            let e: EngineError = CardError::HeldElsewhere {
                card: card.to_string(),
                held_at,
            }
            .into();
            if let Some(how) = how {
                me.note_declined(&e, how);
            }
            Err(e)
        })
        .await
    }
}
