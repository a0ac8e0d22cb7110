//! Transfers between stores (调拨): ship, then one receive.
//!
//! # The rule
//! - A transfer has an id ([`TransferId`], minted by the sender), a
//!   sender, a destination and lines. **Ship** is the sender's op: on hand
//!   − at the sender, in transit + ([`Shipment`], each line valued at the
//!   sender's cost). **Receive** is the destination's op: in transit −, on
//!   hand + at the receiver for what arrived ([`Receipt`]).
//! - A transfer is received by **exactly one** receive, whatever arrived:
//!   a line may arrive short (even nothing of it), never more than was
//!   shipped. What was shipped and not received is a **shortage** recorded
//!   on the receipt ([`Receipt::shortages`], with its value), so nothing is
//!   lost silently: every shipped unit is in transit, on hand at the
//!   receiver, or a recorded shortage.
//! - Refused: a destination that is not a known store, the sender itself,
//!   no lines or a sku on two lines, more than on hand at the sender
//!   (`insufficient_stock`); receiving an unknown transfer, at a store that
//!   is not the destination, twice, more than shipped or a sku not
//!   shipped.
//! - **Visible at both ends.** Every node derives the same
//!   [`TransferState`]s from the ship and receive ops ([`Transfers`]).
//!   Under causal delivery a receive (which the destination makes after
//!   holding the ship) always arrives after its ship, and each transfer's
//!   state depends only on its own two ops, so any interleaving of the
//!   ops gives the same states (property-tested). A receive before its
//!   ship is refused (`unknown_transfer`) rather than held: causal
//!   delivery never gives one.
//! - Chain-wide in transit is the shipped lines of transfers not yet
//!   received ([`Transfers::in_transit`]).

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::{Move, MoveKind, Reference, StockError, StoreStock, Unit, check_qty};
use crate::ids::{ENTITY_ID_LEN_MAX, NodeId};
use crate::money::Money;

/// A transfer (`t-store-1-48`), minted by its sender. The same shape as
/// `crate::ids`' entity ids; kept here while stock has no op.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(SmolStr);

impl TransferId {
    /// Every transfer id starts so, as `o-` starts an order's.
    pub const PREFIX: &'static str = "t-";

    /// The id minted by `node` from its transfer counter value `n`.
    pub fn mint(node: &NodeId, n: u64) -> TransferId {
        TransferId(smol_str::format_smolstr!("{}{}-{}", Self::PREFIX, node, n))
    }

    /// Accept an id given by a client, if it has the shape.
    pub fn parse(text: &str) -> Option<TransferId> {
        let rest = text.strip_prefix(Self::PREFIX)?;
        let (node, n) = rest.rsplit_once('-')?;
        let ok = text.len() <= ENTITY_ID_LEN_MAX
            && NodeId::new(node).is_ok()
            && !n.is_empty()
            && n.len() <= 20
            && n.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| TransferId(SmolStr::new(text)))
    }

    /// The id's text, as clients see it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<C> minicbor::Encode<C> for TransferId {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut minicbor::Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.str(&self.0)?;
        Ok(())
    }
}

impl<'b, C> minicbor::Decode<'b, C> for TransferId {
    fn decode(
        d: &mut minicbor::Decoder<'b>,
        _: &mut C,
    ) -> Result<TransferId, minicbor::decode::Error> {
        d.str().map(|t| TransferId(SmolStr::new(t)))
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A shipped line: how much left the sender, and its value at the
/// sender's cost (what the receiver books it at).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct TransferLine {
    #[n(0)]
    pub sku: String,
    #[cbor(n(1), with = "crate::codec::decimal")]
    pub qty: Decimal,
    #[n(2)]
    pub value: Money,
}

/// What a ship op carries: the transfer, whole.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Shipment {
    #[n(0)]
    pub id: TransferId,
    /// The sender (the ship op's author).
    #[n(1)]
    pub from: NodeId,
    /// The destination: the only store that may receive it.
    #[n(2)]
    pub to: NodeId,
    /// One per sku, each quantity checked against its unit.
    #[n(3)]
    pub lines: Vec<TransferLine>,
}

impl Shipment {
    /// The sender's moves (on hand −).
    pub fn moves(&self) -> Vec<Move> {
        self.lines
            .iter()
            .map(|l| Move {
                sku: l.sku.clone(),
                kind: MoveKind::Ship { qty: l.qty },
                reference: Reference::Transfer(self.id.clone()),
            })
            .collect()
    }
}

/// A received line: how much of a shipped sku arrived (0 ≤ qty ≤ shipped).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct ReceivedLine {
    #[n(0)]
    pub sku: String,
    #[cbor(n(1), with = "crate::codec::decimal")]
    pub qty: Decimal,
}

/// What a receive op carries: one line per shipped line, in the
/// shipment's order, so the shortage of each is plain.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Receipt {
    #[n(0)]
    pub id: TransferId,
    /// The receiving store (the receive op's author).
    #[n(1)]
    pub at: NodeId,
    #[n(2)]
    pub lines: Vec<ReceivedLine>,
}

/// What a receipt records as shipped and not arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortage {
    pub sku: String,
    pub qty: Decimal,
    /// The shipped value of what did not arrive.
    pub value: Money,
}

/// The value of `received` of a line: the whole value when all arrived,
/// else `round(value × received ÷ shipped)`; the shortage keeps the rest,
/// so the two add up to the shipped value to the fen.
fn received_value(line: &TransferLine, received: Decimal) -> Money {
    if received == line.qty {
        line.value
    } else {
        Money::round_half_up(line.value.as_decimal() * received / line.qty)
    }
}

impl Receipt {
    /// The receiver's moves (on hand +), at the shipped value; a line that
    /// received nothing moves nothing.
    pub fn moves(&self, shipment: &Shipment) -> Vec<Move> {
        self.lines
            .iter()
            .zip(&shipment.lines)
            .filter(|(r, _)| !r.qty.is_zero())
            .map(|(r, s)| Move {
                sku: r.sku.clone(),
                kind: MoveKind::Receive {
                    qty: r.qty,
                    value: received_value(s, r.qty),
                },
                reference: Reference::Transfer(self.id.clone()),
            })
            .collect()
    }

    /// What was shipped and did not arrive, per line (none when all did).
    pub fn shortages(&self, shipment: &Shipment) -> Vec<Shortage> {
        self.lines
            .iter()
            .zip(&shipment.lines)
            .filter(|(r, s)| r.qty < s.qty)
            .map(|(r, s)| Shortage {
                sku: s.sku.clone(),
                qty: (s.qty - r.qty).normalize(),
                value: s.value - received_value(s, r.qty),
            })
            .collect()
    }
}

/// A transfer as every node sees it once it holds its ops.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub enum TransferState {
    /// Shipped, not yet received: its lines are in transit.
    #[n(0)]
    InTransit(#[n(0)] Shipment),
    /// Received, once; the receipt's shortages were written off.
    #[n(1)]
    Received {
        #[n(0)]
        shipment: Shipment,
        #[n(1)]
        receipt: Receipt,
    },
}

impl TransferState {
    /// What was shipped, in either state (both ends show it).
    pub fn shipment(&self) -> &Shipment {
        match self {
            TransferState::InTransit(s) | TransferState::Received { shipment: s, .. } => s,
        }
    }
}

/// Every transfer a node knows, by id: derived from the ship and receive
/// ops alone, so every node that holds the same ops holds the same book.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfers {
    /// Every transfer shipped, received or not.
    pub by_id: BTreeMap<TransferId, TransferState>,
}

impl Transfers {
    /// A transfer's state, if this node holds its ship op.
    pub fn get(&self, id: &TransferId) -> Option<&TransferState> {
        self.by_id.get(id)
    }

    /// Apply a ship op: refused if the id is already known (a second ship
    /// of one transfer would count its goods twice).
    pub fn ship(&mut self, s: &Shipment) -> Result<(), StockError> {
        if self.by_id.contains_key(&s.id) {
            return Err(StockError::TransferExists { id: s.id.clone() });
        }
        self.by_id
            .insert(s.id.clone(), TransferState::InTransit(s.clone()));
        Ok(())
    }

    /// Apply a receive op, with the same checks as [`decide_receive`] (a
    /// remote op is checked again: a second receive is refused here). A
    /// receipt has one line per shipped line, in order, as
    /// `decide_receive` makes it; one with fewer lines is refused
    /// (`no_stock_lines`), one with another sku or more than shipped
    /// `receive_exceeds_shipped`.
    pub fn receive(&mut self, r: &Receipt) -> Result<(), StockError> {
        let shipment = self.check_receivable(&r.id, &r.at)?.clone();
        if r.lines.len() < shipment.lines.len() {
            return Err(StockError::NoLines);
        }
        if let Some(extra) = r.lines.get(shipment.lines.len()) {
            return Err(exceeds(&r.id, &extra.sku, Decimal::ZERO, extra.qty));
        }
        for (got, sent) in r.lines.iter().zip(&shipment.lines) {
            if got.sku != sent.sku || got.qty > sent.qty || got.qty.is_sign_negative() {
                return Err(exceeds(
                    &r.id,
                    &got.sku,
                    sent_qty(&shipment, &got.sku),
                    got.qty,
                ));
            }
        }
        self.by_id.insert(
            r.id.clone(),
            TransferState::Received {
                shipment,
                receipt: r.clone(),
            },
        );
        Ok(())
    }

    fn check_receivable(&self, id: &TransferId, at: &NodeId) -> Result<&Shipment, StockError> {
        match self.by_id.get(id) {
            None => Err(StockError::UnknownTransfer { id: id.clone() }),
            Some(TransferState::Received { .. }) => {
                Err(StockError::AlreadyReceived { id: id.clone() })
            }
            Some(TransferState::InTransit(s)) if &s.to != at => Err(StockError::NotDestination {
                id: id.clone(),
                to: s.to.clone(),
                store: at.clone(),
            }),
            Some(TransferState::InTransit(s)) => Ok(s),
        }
    }

    /// Every line in transit, with its transfer (chain-wide).
    pub fn in_transit(&self) -> impl Iterator<Item = (&Shipment, &TransferLine)> {
        self.by_id.values().flat_map(|t| match t {
            TransferState::InTransit(s) => s.lines.iter().map(move |l| (s, l)).collect(),
            TransferState::Received { .. } => Vec::new(),
        })
    }

    /// The first transfer in transit that `sku` is on, from or to `store`:
    /// what "under transfer" means for a stocktake.
    pub fn under_transfer(&self, store: &NodeId, sku: &str) -> Option<&TransferId> {
        self.in_transit()
            .find(|(s, l)| (&s.from == store || &s.to == store) && l.sku == sku)
            .map(|(s, _)| &s.id)
    }
}

fn sent_qty(s: &Shipment, sku: &str) -> Decimal {
    s.lines
        .iter()
        .find(|l| l.sku == sku)
        .map_or(Decimal::ZERO, |l| l.qty)
}

fn exceeds(id: &TransferId, sku: &str, shipped: Decimal, received: Decimal) -> StockError {
    StockError::ReceiveExceedsShipped {
        id: id.clone(),
        sku: sku.into(),
        shipped,
        received,
    }
}

/// Decide a ship at `stock`'s store: `lines` (sku, qty) to `to`, one of
/// `known` stores (the caller passes the chain's stores, role `store`:
/// HQ holds no stock, so it is not one). Each line is valued at the sender's cost as the earlier
/// lines leave it (its ledger's `out_value`). The shipment's `moves()`
/// then apply to the sender's stock, and `Transfers::ship` to every book.
pub fn decide_ship(
    id: TransferId,
    stock: &StoreStock,
    to: &NodeId,
    known: &[NodeId],
    lines: &[(String, Decimal)],
    units: &dyn Fn(&str) -> Option<Unit>,
) -> Result<Shipment, StockError> {
    if to == &stock.store {
        return Err(StockError::TransferToSelf);
    }
    if !known.contains(to) {
        return Err(StockError::UnknownStore {
            store: to.to_string(),
        });
    }
    if lines.is_empty() {
        return Err(StockError::NoLines);
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, (sku, qty)) in lines.iter().enumerate() {
        if lines[..i].iter().any(|(s, _)| s == sku) {
            return Err(StockError::DuplicateLine { sku: sku.clone() });
        }
        let unit = units(sku).ok_or_else(|| StockError::UnknownProduct { sku: sku.clone() })?;
        let q = check_qty(sku, unit, *qty, false)?;
        let l = stock.ledger(sku);
        if q > l.on_hand {
            return Err(StockError::Insufficient {
                sku: sku.clone(),
                on_hand: l.on_hand,
                wanted: q,
            });
        }
        out.push(TransferLine {
            sku: sku.clone(),
            qty: q,
            value: l.out_value(q),
        });
    }
    Ok(Shipment {
        id,
        from: stock.store.clone(),
        to: to.clone(),
        lines: out,
    })
}

/// Decide a receive of transfer `id` at `at`: `lines` (sku, qty arrived);
/// a shipped sku not named arrived as nothing. Refused: unknown transfer,
/// not the destination, already received, a sku named twice, not shipped,
/// or more than shipped.
pub fn decide_receive(
    transfers: &Transfers,
    id: &TransferId,
    at: &NodeId,
    lines: &[(String, Decimal)],
    units: &dyn Fn(&str) -> Option<Unit>,
) -> Result<Receipt, StockError> {
    let shipment = transfers.check_receivable(id, at)?;
    for (i, (sku, qty)) in lines.iter().enumerate() {
        if lines[..i].iter().any(|(s, _)| s == sku) {
            return Err(StockError::DuplicateLine { sku: sku.clone() });
        }
        let unit = units(sku).ok_or_else(|| StockError::UnknownProduct { sku: sku.clone() })?;
        let q = check_qty(sku, unit, *qty, true)?;
        let shipped = sent_qty(shipment, sku);
        if q > shipped || !shipment.lines.iter().any(|l| &l.sku == sku) {
            return Err(exceeds(id, sku, shipped, q));
        }
    }
    let got = |sku: &str| {
        lines
            .iter()
            .find(|(s, _)| s == sku)
            .map_or(Decimal::ZERO, |(_, q)| q.normalize())
    };
    Ok(Receipt {
        id: id.clone(),
        at: at.clone(),
        lines: shipment
            .lines
            .iter()
            .map(|l| ReceivedLine {
                sku: l.sku.clone(),
                qty: got(&l.sku),
            })
            .collect(),
    })
}
