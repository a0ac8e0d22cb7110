//! Sales and refunds: lines resolved against the catalogue, checkouts
//! (asking other stores for shares when short here), quotes (a dry run of
//! the same calculator) and refunds.

use tongka_core::card::CardError;
use tongka_core::catalogue::ProductError;
use tongka_core::checkout::{CheckoutError, LineInput, LinePricing, TenderInput};
use tongka_core::clock::Hlc;
use tongka_core::coupon::CouponError;
use tongka_core::escrow::{Counter, Want};
use tongka_core::ids::{CardId, CouponId, MemberId, OrderId};
use tongka_core::money::Money;
use tongka_core::refund::{RefundError, RefundLine};
use tongka_core::staff::RefundAuth;

use crate::account::{AccountKey, AccountMsg};
use crate::{Engine, EngineError, Idem, Outcome};

/// What a member deducts from a sale besides the level discount.
#[derive(Debug, Clone, Default)]
pub struct Deduct {
    /// Points to pay with (积分抵现); 0 = none.
    pub points: i64,
    /// The member's coupons to use, by code.
    pub coupons: Vec<CouponId>,
}

/// What a refusal says this store lacks, as an escrow ask: balance, points
/// or one use of a coupon; `None` for any other refusal.
fn shortfall(member: &MemberId, e: &CheckoutError) -> Option<Want> {
    match e {
        CheckoutError::InsufficientBalance {
            wanted,
            available_here,
        } => Some(Want::money(member.clone(), *wanted - *available_here)),
        CheckoutError::InsufficientPoints {
            wanted,
            available_here,
        } => Some(Want::points(member.clone(), *wanted - *available_here)),
        CheckoutError::Coupon(CouponError::UnavailableHere { code, .. }) => Some(Want {
            counter: Counter::Coupon(member.clone(), CouponId::parse(code)?),
            units: 1,
        }),
        _ => None,
    }
}

/// A sale line as the till sends it: a product by sku or barcode, or a
/// free line with its own description and price.
#[derive(Debug, Clone)]
pub enum LineRequest {
    Sku {
        sku: String,
        qty: rust_decimal::Decimal,
    },
    Barcode {
        barcode: String,
        qty: rust_decimal::Decimal,
    },
    Free {
        description: String,
        unit_price: Money,
        qty: rust_decimal::Decimal,
    },
}

impl Engine {
    /// Resolve lines against the catalogue this node holds: a product by
    /// sku or by any of its barcodes; an inactive one is refused
    /// (`product_inactive`); the unit price is the regular price at this
    /// store (`Product::price_at`), with the member price and points
    /// multiplier for the calculator (`checkout`'s module doc).
    pub fn resolve_lines(&self, lines: Vec<LineRequest>) -> Result<Vec<LineInput>, EngineError> {
        let line = |p: tongka_core::catalogue::Product, qty| -> Result<LineInput, EngineError> {
            p.sellable()?;
            Ok(LineInput {
                unit_price: p.price_at(&self.core.node),
                pricing: LinePricing {
                    member_price: p.member_price,
                    points_multiplier: p.points_multiplier,
                },
                // A name an older HQ wrote may hold what `text`
                // refuses: printed safe, and still sellable.
                description: tongka_core::text::printable(&p.name).into_owned(),
                sku: Some(p.sku),
                barcode: p.barcode,
                qty,
                card: p.card,
            })
        };
        lines
            .into_iter()
            .map(|l| {
                Ok(match l {
                    LineRequest::Sku { sku, qty } => {
                        let p = self
                            .product(Some(&sku), None)
                            .ok_or(ProductError::Unknown(sku))?;
                        line(p, qty)?
                    }
                    LineRequest::Barcode { barcode, qty } => {
                        let p = self
                            .product(None, Some(&barcode))
                            .ok_or(ProductError::Unknown(barcode))?;
                        line(p, qty)?
                    }
                    LineRequest::Free {
                        description,
                        unit_price,
                        qty,
                    } => LineInput {
                        sku: None,
                        barcode: None,
                        description,
                        unit_price,
                        qty,
                        card: None,
                        pricing: Default::default(),
                    },
                })
            })
            .collect()
    }

    pub async fn checkout(
        &self,
        by: String,
        idem: Option<Idem>,
        member: Option<MemberId>,
        lines: Vec<LineRequest>,
        tenders: Vec<TenderInput>,
    ) -> Result<(Outcome, bool), EngineError> {
        self.checkout_with_points(by, idem, member, lines, tenders, 0)
            .await
    }

    /// `checkout`, paying `points` of the member's points (积分抵现; 0 =
    /// none).
    pub async fn checkout_with_points(
        &self,
        by: String,
        idem: Option<Idem>,
        member: Option<MemberId>,
        lines: Vec<LineRequest>,
        tenders: Vec<TenderInput>,
        points: i64,
    ) -> Result<(Outcome, bool), EngineError> {
        let deduct = Deduct {
            points,
            coupons: Vec::new(),
        };
        self.checkout_with(by, idem, member, lines, tenders, deduct)
            .await
    }

    /// `checkout` with the member's deductions: points (积分抵现) and
    /// coupons. Short of balance, points or a coupon's use here, the node
    /// asks the stores that hold the rest (`escrow`), then decides again;
    /// at most once for each (a sale short of several asks for each).
    pub async fn checkout_with(
        &self,
        by: String,
        idem: Option<Idem>,
        member: Option<MemberId>,
        lines: Vec<LineRequest>,
        tenders: Vec<TenderInput>,
        deduct: Deduct,
    ) -> Result<(Outcome, bool), EngineError> {
        let member = member.map(|m| self.resolve(&m));
        let paying = member.clone();
        let out = self
            .idempotent(idem, move |me, idem| async move {
                let lines = me.resolve_lines(lines)?;
                let key = match &member {
                    Some(m) => AccountKey::Member(m.clone()),
                    None => AccountKey::WalkIn,
                };
                let msg = |reply| AccountMsg::Checkout {
                    by: by.clone(),
                    idem: idem.clone(),
                    lines: lines.clone(),
                    tenders: tenders.clone(),
                    points: deduct.points,
                    coupons: deduct.coupons.clone(),
                    reply,
                };
                let mut result = me.call(key.clone(), msg).await;
                let mut asked: Vec<Counter> = Vec::new();
                let mut how = None;
                // Short here: ask the stores that hold the rest, then try again.
                // (The broker is looked up only for a shortfall: its lock is
                // not on every sale's path.)
                while let (Err(EngineError::Checkout(short)), Some(m)) = (&result, &member) {
                    let Some(short) = shortfall(m, short) else {
                        break;
                    };
                    if asked.contains(&short.counter) {
                        break;
                    }
                    let Some(broker) = me.broker() else { break };
                    asked.push(short.counter.clone());
                    let covered = me.cover(&broker, short).await;
                    how = Some(covered);
                    if !covered.retry() {
                        break;
                    }
                    result = me.call(key.clone(), msg).await;
                }
                if let (Err(e), Some(how)) = (&result, how) {
                    me.note_declined(e, how);
                }
                result
            })
            .await?;
        if let Some(m) = &paying {
            // A sale's points credit this store's share: were the member
            // merged away meanwhile (it was resolved before), they move on.
            self.settle_warn(m).await;
            if !out.1 {
                self.pull_ahead(m);
            }
        }
        Ok(out)
    }

    /// What `checkout_with_points` would decide now, changing nothing: the
    /// same calculator (`tongka_core::checkout`) on the member as this
    /// node's store holds it and the programme now, with no op, no order
    /// number taken, no clock tick and no escrow ask. Short of balance or
    /// points at this store, it is refused as the sale would be before it
    /// asks the other stores (the sale may still succeed after asking).
    /// The quote's `id` is a placeholder and its `at` the wall clock now
    /// (the day coupons are checked against): a sale gets its own.
    pub fn quote_checkout(
        &self,
        member: Option<MemberId>,
        lines: Vec<LineRequest>,
        tenders: Vec<TenderInput>,
        deduct: Deduct,
    ) -> Result<tongka_core::checkout::Order, EngineError> {
        let member = member.map(|m| self.member(&m)).transpose()?;
        let held = match (&member, deduct.coupons.is_empty()) {
            (_, true) => Vec::new(),
            (None, false) => return Err(CheckoutError::from(CouponError::WithoutMember).into()),
            (Some(m), false) => m
                .coupons_named(&deduct.coupons)
                .map_err(CheckoutError::from)?,
        };
        let lines = self.resolve_lines(lines)?;
        let programme = self.core.programme();
        let buyer = member.as_ref().map(|m| tongka_core::checkout::Buyer {
            member: &m.id,
            level: programme.level_for(m.cumulative_principal),
            wallet: &m.wallet,
        });
        let ctx = tongka_core::checkout::CheckoutContext {
            programme: &programme,
            store: &self.core.node,
            order: OrderId::mint(&self.core.node, 0),
            at: Hlc {
                ms: crate::now_ms(),
                count: 0,
            },
            buyer,
        };
        let deductions = tongka_core::checkout::Deductions {
            points: deduct.points,
            coupons: &held,
        };
        Ok(tongka_core::checkout::checkout_with(
            &ctx,
            &lines,
            &tenders,
            &deductions,
        )?)
    }

    pub async fn refund(
        &self,
        by: String,
        idem: Option<Idem>,
        order: OrderId,
        lines: Option<Vec<RefundLine>>,
        reason: String,
    ) -> Result<(Outcome, bool), EngineError> {
        self.refund_as(by, idem, order, lines, reason, RefundAuth::default())
            .await
    }

    /// `refund`, by a staff member of `auth.role`: a refund above the
    /// programme's limit by a role that may not make one is refused
    /// (`approval_required`) unless `auth.approved_by` names the store
    /// manager the caller verified; the refund records them.
    pub async fn refund_as(
        &self,
        by: String,
        idem: Option<Idem>,
        order: OrderId,
        lines: Option<Vec<RefundLine>>,
        reason: String,
        auth: RefundAuth,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let state = me
                .core
                .db
                .order(&order)?
                .ok_or_else(|| EngineError::OrderNotFound(order.to_string()))?;
            let key = match &state.order.member {
                Some(m) => AccountKey::Member(m.clone()),
                None => AccountKey::WalkIn,
            };
            let msg = move |reply| AccountMsg::Refund {
                by: by.clone(),
                idem: idem.clone(),
                order: Box::new(state.clone()),
                lines: lines.clone(),
                reason: reason.clone(),
                auth: auth.clone(),
                reply,
            };
            let mut result = me.call(key.clone(), &msg).await;
            // A card to take back whose visits are held elsewhere: ask for
            // them (all of them come here), then decide again; once a card.
            let mut asked: Vec<CardId> = Vec::new();
            let mut how = None;
            while let (
                Err(EngineError::Refund(RefundError::Card(CardError::HeldElsewhere {
                    card, ..
                }))),
                AccountKey::Member(m),
            ) = (&result, &key)
            {
                let Some(id) = CardId::parse(card).filter(|id| !asked.contains(id)) else {
                    break;
                };
                let Some(broker) = me.broker() else { break };
                let Some(held) = me.core.db.member(m)?.and_then(|s| s.card(&id).cloned()) else {
                    break;
                };
                let short = Want {
                    counter: Counter::Card(m.clone(), id.clone()),
                    units: held.left() - held.held(me.node()),
                };
                asked.push(id);
                let covered = me.cover(&broker, short).await;
                how = Some(covered);
                if !covered.retry() {
                    break;
                }
                result = me.call(key.clone(), &msg).await;
            }
            if let (Err(e), Some(how)) = (&result, how) {
                me.note_declined(e, how);
            }
            let out = result?;
            // A refund to a member merged away since the sale credits this
            // store's share of it: moved on to the survivor.
            if let AccountKey::Member(m) = &key {
                me.settle_warn(m).await;
            }
            Ok(out)
        })
        .await
    }
}
