//! `Outcome`, the answer to a request that changed something, and how it
//! is kept with its idempotency key (`StoredAnswerRef`) and read back
//! (`Engine::stored_answer`).

use serde::{Deserialize, Serialize};
use tongka_core::checkout::TenderKind;
use tongka_core::clock::Hlc;
use tongka_core::ids::{CardId, CouponId, MemberId, OrderId, RechargeId};
use tongka_core::money::Money;
use tongka_core::programme::Programme;
use tongka_core::refund::{OrderState, Refund};
use tongka_core::state::MemberState;

use crate::{Engine, EngineError};

/// The answer to a request that changed something; stored with its
/// idempotency key so a replay gets exactly the first answer (see
/// `StoredAnswer` for how a sale's is kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // one per request, moved a few times
pub enum Outcome {
    /// A member registered or changed.
    Member(MemberState),
    Recharged {
        recharge: RechargeId,
        amount: Money,
        bonus: Money,
        tender: TenderKind,
        at: Hlc,
        member: MemberState,
    },
    CheckedOut {
        order: OrderState,
        /// The member after the sale. On a replay, the member as committed
        /// now: the answer to a sale shows only the order.
        member: Option<MemberState>,
    },
    Refunded {
        refund: Refund,
        order: OrderState,
        member: Option<MemberState>,
    },
    /// The programme after a change.
    Programme(Programme),
    /// A coupon issued to `member` (its state after).
    CouponIssued {
        coupon: CouponId,
        member: MemberState,
    },
    /// `count` visits verified on `member`'s card (its state after).
    CardVisited {
        card: CardId,
        count: u32,
        at: Hlc,
        member: MemberState,
    },
    /// A staff account after a change (last: stored answers are postcard,
    /// numbered by variant).
    Staff(tongka_core::staff::StaffAccount),
    /// A store's stock changed (after `Staff`: stored answers are postcard,
    /// numbered by variant).
    Stock(Box<crate::stock::StockOutcome>),
    /// A shift or day closed (after `Stock`: stored answers are postcard,
    /// numbered by variant).
    Close(Box<crate::closes::CloseOutcome>),
    /// Members imported together (one chunk of a file: `member_import`),
    /// in the order made (after `Stock`: stored answers are postcard,
    /// numbered by variant).
    Imported { first: MemberId, count: u32 },
    /// A withdrawal after a step (settlement; after `Stock`: stored
    /// answers are postcard, numbered by variant).
    Withdrawal(Box<tongka_core::settlement::Withdrawal>),
}

/// What the body of an idempotency record holds (postcard), as written.
/// The first answer, except for a sale: there, a reference to the order,
/// whose first answer is `OrderState::new` of the sale's order (refunds
/// change the order's state, never its `order`). Sales are by far the most
/// common request, and the order and the member are their bulk: a small
/// record keeps the writer's page writes small. A recharge, refund or
/// registration keeps its whole answer: it shows the wallet or the order
/// as they were then.
///
#[derive(Serialize)]
pub(crate) enum StoredAnswerRef<'a> {
    CheckedOut { order: &'a OrderId },
    Outcome(&'a Outcome),
}

/// `StoredAnswerRef` as read back (same variants, same order).
#[allow(clippy::large_enum_variant)] // read once per replay
#[derive(Deserialize)]
enum StoredAnswer {
    CheckedOut { order: OrderId },
    Outcome(Outcome),
}

/// An idempotency record's body as `StoredAnswer`.
fn decode_stored_answer(body: &[u8]) -> Result<StoredAnswer, postcard::Error> {
    postcard::from_bytes::<StoredAnswer>(body)
}

impl Engine {
    /// The first answer from an idempotency record's body.
    pub(crate) fn stored_answer(&self, body: &[u8]) -> Result<Outcome, EngineError> {
        let stored = decode_stored_answer(body)
            .map_err(|e| EngineError::Internal(format!("stored answer: {e}")))?;
        match stored {
            StoredAnswer::Outcome(o) => Ok(o),
            StoredAnswer::CheckedOut { order, .. } => {
                // Committed with the record, in the same transaction.
                let state = self.core.db.order(&order)?.ok_or_else(|| {
                    EngineError::Internal(format!("stored answer: order {order} missing"))
                })?;
                let member = match &state.order.member {
                    Some(m) => self.core.db.member(m)?,
                    None => None,
                };
                Ok(Outcome::CheckedOut {
                    order: OrderState::new(state.order),
                    member,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::ids::NodeId;

    /// An answer is read back as written: the whole outcome, or a sale's
    /// reference to its order; anything else is refused.
    #[test]
    fn stored_answers_read_back_as_written() {
        let now = Outcome::Programme(Programme {
            points_deduction: Some(tongka_core::programme::PointsDeduction {
                points_per_yuan: 100,
                cap: rust_decimal::Decimal::ONE,
                min_points: 0,
            }),
            ..Programme::default()
        });
        let body = postcard::to_allocvec(&StoredAnswerRef::Outcome(&now)).unwrap();
        let Ok(StoredAnswer::Outcome(back)) = decode_stored_answer(&body) else {
            panic!("an answer decodes");
        };
        assert_eq!(back, now);
        let order = OrderId::mint(&NodeId::new("s1").unwrap(), 3);
        let body = postcard::to_allocvec(&StoredAnswerRef::CheckedOut { order: &order }).unwrap();
        let Ok(StoredAnswer::CheckedOut { order: back }) = decode_stored_answer(&body) else {
            panic!("a sale's reference decodes");
        };
        assert_eq!(back, order);
        assert!(decode_stored_answer(&[7, 7]).is_err());
    }
}
