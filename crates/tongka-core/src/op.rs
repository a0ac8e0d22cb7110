//! Ops: every change to replicated state is an op with a unique id
//! `(origin, seq)`, a hybrid logical clock reading, the origin's causal
//! dependencies, who made it, its idempotency key, and a place for the
//! origin's signature. The op log is the ledger: append-only, auditable.

use serde::{Deserialize, Serialize};

use crate::checkout::{Order, TenderKind};
use crate::clock::{Hlc, VersionVector};
use crate::ids::{MemberId, NodeId, OpId, RechargeId};
use crate::member::{Profile, ProfilePatch};
use crate::money::Money;
use crate::refund::Refund;

/// The first byte of every encoded op: the format version. A node refuses
/// an op of a format it does not know rather than guess.
pub const OP_FORMAT_V1: u8 = 1;
/// The largest encoded op accepted (a 200-line order is far below this).
pub const OP_BYTES_MAX: usize = 256 * 1024;
/// The longest idempotency key and actor name accepted.
pub const KEY_LEN_MAX: usize = 128;

/// What an op does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpBody {
    MemberRegistered {
        member: MemberId,
        profile: Profile,
    },
    /// A profile edit: the patch as asked (for history) and the automerge
    /// change its origin made of it (`profile_doc`), which is what applies.
    ProfileUpdated {
        member: MemberId,
        patch: ProfilePatch,
        change: Vec<u8>,
    },
    /// Credits the origin's share: `amount` principal plus `bonus`.
    Recharged {
        member: MemberId,
        recharge: RechargeId,
        amount: Money,
        bonus: Money,
        tender: TenderKind,
    },
    /// A sale; debits the origin's share by the order's balance part and
    /// credits it the points earned.
    CheckedOut {
        order: Order,
    },
    /// A refund of a sale made at the origin.
    Refunded {
        refund: Refund,
    },
    /// The origin gives part of its share of a member's wallet to `to`.
    SharesTransferred {
        member: MemberId,
        to: NodeId,
        principal: Money,
        bonus: Money,
        points: i64,
    },
    /// `absorbed` (a duplicate) is merged into `member`: the automerge
    /// change fills `member`'s blank fields from `absorbed`'s profile and
    /// unites the tags; `figures` are `absorbed`'s cumulative figures as
    /// the origin saw them, added to `member`'s. Wallet shares follow by
    /// `MergeMoved` ops of their holders.
    MembersMerged {
        member: MemberId,
        absorbed: MemberId,
        change: Vec<u8>,
        figures: MergedFigures,
    },
    /// The origin moves its own share of merged-away `member` to `into`
    /// (the survivor): debits the one, credits the other, same owner.
    MergeMoved {
        member: MemberId,
        into: MemberId,
        principal: Money,
        bonus: Money,
        points: i64,
    },
}

/// Cumulative figures of an absorbed member, carried by a merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedFigures {
    pub principal: Money,
    pub bonus: Money,
    pub spent: Money,
    pub visits: u64,
}

impl OpBody {
    /// The member whose state the op changes, if any.
    pub fn member(&self) -> Option<&MemberId> {
        match self {
            OpBody::MemberRegistered { member, .. }
            | OpBody::ProfileUpdated { member, .. }
            | OpBody::Recharged { member, .. }
            | OpBody::SharesTransferred { member, .. }
            | OpBody::MembersMerged { member, .. }
            | OpBody::MergeMoved { member, .. } => Some(member),
            OpBody::CheckedOut { order } => order.member.as_ref(),
            OpBody::Refunded { refund } => refund.member.as_ref(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            OpBody::MemberRegistered { .. } => "member_registered",
            OpBody::ProfileUpdated { .. } => "profile_updated",
            OpBody::Recharged { .. } => "recharged",
            OpBody::CheckedOut { .. } => "checked_out",
            OpBody::Refunded { .. } => "refunded",
            OpBody::SharesTransferred { .. } => "shares_transferred",
            OpBody::MembersMerged { .. } => "members_merged",
            OpBody::MergeMoved { .. } => "merge_moved",
        }
    }
}

/// An op before its origin's log gives it a place: what the deciding code
/// produces. The log stamps it with `(origin, seq)` and the causal deps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpDraft {
    pub hlc: Hlc,
    /// Who: the staff member or token that asked for it.
    pub actor: String,
    pub idem: Option<String>,
    pub body: OpBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub id: OpId,
    /// When, by the origin's hybrid logical clock.
    pub hlc: Hlc,
    /// What the origin held of other nodes' logs when it made this op.
    pub deps: VersionVector,
    pub actor: String,
    pub idem: Option<String>,
    pub body: OpBody,
    /// The origin's signature over `signing_bytes()`; empty until the chain
    /// signs ops (replication).
    pub sig: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("empty op")]
    Empty,
    #[error("op of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("unknown op format {0}")]
    Format(u8),
    #[error("malformed op: {0}")]
    Malformed(String),
    #[error("op field out of range: {0}")]
    Invalid(&'static str),
}

/// An op's fields by reference, in `Op`'s order: postcard encodes a struct
/// as its fields one after another, so this encodes exactly as the `Op`
/// with these fields, without cloning any of them.
#[derive(Serialize)]
struct OpView<'a> {
    id: &'a OpId,
    hlc: &'a Hlc,
    deps: &'a VersionVector,
    actor: &'a str,
    idem: &'a Option<String>,
    body: &'a OpBody,
    sig: &'a [u8],
}

/// The fields after `deps`, by reference, in `Op`'s order (the part of the
/// encoding that stamping leaves alone).
#[derive(Serialize)]
struct TailView<'a> {
    actor: &'a str,
    idem: &'a Option<String>,
    body: &'a OpBody,
}

impl OpDraft {
    /// The encoding of the fields stamping does not change (actor,
    /// idempotency key, body): the bulk of the op's encoding, which the
    /// caller can do ahead, off the log's writer. Pass it to
    /// `Op::encode_with_tail` of the stamped op.
    pub fn encode_tail(&self) -> Vec<u8> {
        postcard::to_allocvec(&TailView {
            actor: &self.actor,
            idem: &self.idem,
            body: &self.body,
        })
        .expect("encoding to memory cannot fail")
    }

    pub fn stamp(self, id: OpId, deps: VersionVector) -> Op {
        Op {
            id,
            hlc: self.hlc,
            deps,
            actor: self.actor,
            idem: self.idem,
            body: self.body,
            sig: Vec::new(),
        }
    }
}

impl Op {
    /// Where: the node that made the op.
    pub fn origin(&self) -> &NodeId {
        &self.id.origin
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![OP_FORMAT_V1];
        postcard::to_io(self, &mut out).expect("encoding to memory cannot fail");
        out
    }

    /// Decode an op received from storage or a peer; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Op, DecodeError> {
        let (&format, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        if bytes.len() > OP_BYTES_MAX {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        if format != OP_FORMAT_V1 {
            return Err(DecodeError::Format(format));
        }
        let op: Op =
            postcard::from_bytes(rest).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if op.id.seq == 0 {
            return Err(DecodeError::Invalid("seq"));
        }
        if op.actor.len() > KEY_LEN_MAX || op.idem.as_ref().is_some_and(|k| k.len() > KEY_LEN_MAX) {
            return Err(DecodeError::Invalid("actor or idempotency key"));
        }
        Ok(op)
    }

    fn view<'a>(&'a self, sig: &'a [u8]) -> OpView<'a> {
        OpView {
            id: &self.id,
            hlc: &self.hlc,
            deps: &self.deps,
            actor: &self.actor,
            idem: &self.idem,
            body: &self.body,
            sig,
        }
    }

    /// The bytes the origin signs and the digest covers: the op without its
    /// signature.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = vec![OP_FORMAT_V1];
        postcard::to_io(&self.view(&[]), &mut out).expect("encoding to memory cannot fail");
        out
    }

    /// blake3 of `signing_bytes()`, streamed: no copy of the op, no buffer.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&[OP_FORMAT_V1]);
        let h = postcard::to_io(&self.view(&[]), h).expect("hashing cannot fail");
        *h.finalize().as_bytes()
    }

    /// `(self.encode(), self.hash())`, encoding the op once (and hashing
    /// that encoding when the op is unsigned, as ops are until replication
    /// signs them).
    pub fn encode_and_hash(&self) -> (Vec<u8>, [u8; 32]) {
        if self.sig.is_empty() {
            let bytes = self.encode();
            let hash = *blake3::hash(&bytes).as_bytes();
            (bytes, hash)
        } else {
            (self.encode(), self.hash())
        }
    }

    /// `(self.encode(), self.hash())` for an op stamped from a draft whose
    /// `OpDraft::encode_tail` is `tail`: encodes only the id, clock, deps
    /// and signature, and hashes the result once. `tail` must be the
    /// draft's (checked in debug builds).
    pub fn encode_with_tail(&self, tail: &[u8]) -> (Vec<u8>, [u8; 32]) {
        let mut out = Vec::with_capacity(tail.len() + 64);
        out.push(OP_FORMAT_V1);
        postcard::to_io(&(&self.id, &self.hlc, &self.deps), &mut out)
            .expect("encoding to memory cannot fail");
        out.extend_from_slice(tail);
        let hash = if self.sig.is_empty() {
            out.push(0); // the empty signature: its length, 0
            *blake3::hash(&out).as_bytes()
        } else {
            let mut h = blake3::Hasher::new();
            h.update(&out);
            h.update(&[0]);
            postcard::to_io(&self.sig, &mut out).expect("encoding to memory cannot fail");
            *h.finalize().as_bytes()
        };
        debug_assert_eq!(out, self.encode(), "tail of another draft");
        (out, hash)
    }
}

/// An order-independent digest of a set of ops: the sum, lane by lane, of
/// their hashes. Apply is deterministic and ops commute, so two nodes that
/// hold the same ops hold the same replicated state and the same digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StateDigest([u64; 4]);

impl StateDigest {
    pub fn add(&mut self, op_hash: &[u8; 32]) {
        for (i, lane) in self.0.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&op_hash[i * 8..i * 8 + 8]);
            *lane = lane.wrapping_add(u64::from_le_bytes(b));
        }
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|l| format!("{l:016x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(seq: u64) -> Op {
        let node = NodeId::new("store-1").unwrap();
        OpDraft {
            hlc: Hlc {
                ms: 1,
                count: seq as u32,
            },
            actor: "admin".into(),
            idem: Some(format!("k{seq}")),
            body: OpBody::Recharged {
                member: MemberId::mint(&node, 1),
                recharge: RechargeId::mint(&node, seq),
                amount: Money::from_yuan(1000),
                bonus: Money::from_yuan(100),
                tender: TenderKind::Cash,
            },
        }
        .stamp(OpId { origin: node, seq }, VersionVector::new())
    }

    #[test]
    fn encode_decode_round_trip() {
        let o = op(3);
        assert_eq!(Op::decode(&o.encode()).unwrap(), o);
        assert_eq!(Op::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(Op::decode(&[9, 1, 2]), Err(DecodeError::Format(9)));
        let mut bytes = o.encode();
        bytes.truncate(bytes.len() / 2);
        assert!(matches!(Op::decode(&bytes), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn sales_and_refunds_round_trip() {
        use crate::checkout::{Buyer, CheckoutContext, LineInput, TenderInput, checkout};
        use crate::refund::OrderState;
        use crate::wallet::{Share, Wallet};
        let node = NodeId::new("store-1").unwrap();
        let p = crate::programme::Programme::default();
        let m = MemberId::mint(&node, 1);
        let mut w = Wallet::default();
        w.credit(
            &node,
            Share {
                principal: Money::from_yuan(1000),
                bonus: Money::from_yuan(100),
                points: 0,
            },
        );
        let ctx = CheckoutContext {
            programme: &p,
            store: &node,
            order: crate::ids::OrderId::mint(&node, 2),
            at: Hlc::default(),
            buyer: Some(Buyer {
                member: &m,
                level: &p.levels[1],
                wallet: &w,
            }),
        };
        let line = LineInput {
            sku: None,
            barcode: None,
            description: "茶".into(),
            unit_price: Money::from_fen(1234),
            qty: rust_decimal::Decimal::new(15, 1),
        };
        let order = checkout(
            &ctx,
            &[line],
            &[TenderInput {
                kind: TenderKind::Balance,
                amount: None,
            }],
        )
        .unwrap();
        let state = OrderState::new(order.clone());
        let refund = state
            .decide(
                crate::ids::RefundId::mint(&node, 3),
                &node,
                Hlc::default(),
                None,
                "退货",
                100,
            )
            .unwrap();
        for body in [OpBody::CheckedOut { order }, OpBody::Refunded { refund }] {
            let o = OpDraft {
                hlc: Hlc::default(),
                actor: "a".into(),
                idem: None,
                body,
            }
            .stamp(
                OpId {
                    origin: node.clone(),
                    seq: 1,
                },
                VersionVector::new(),
            );
            assert_eq!(Op::decode(&o.encode()).unwrap(), o);
        }
        let bytes = postcard::to_allocvec(&state).unwrap();
        assert_eq!(postcard::from_bytes::<OrderState>(&bytes).unwrap(), state);
    }

    #[test]
    fn cheap_encodings_and_hashes_match_the_plain_ones() {
        let mut o = op(7);
        let draft = OpDraft {
            hlc: o.hlc,
            actor: o.actor.clone(),
            idem: o.idem.clone(),
            body: o.body.clone(),
        };
        let mut deps = VersionVector::new();
        deps.advance(&OpId {
            origin: NodeId::new("store-2").unwrap(),
            seq: 1,
        });
        o.deps = deps;
        let plain_hash = *blake3::hash(&o.encode()).as_bytes();
        assert_eq!(o.hash(), plain_hash);
        assert_eq!(o.signing_bytes(), o.encode());
        assert_eq!(o.encode_and_hash(), (o.encode(), plain_hash));
        let tail = draft.encode_tail();
        assert_eq!(o.encode_with_tail(&tail), (o.encode(), plain_hash));
        // Signed: the hash still covers the op without its signature.
        o.sig = vec![9; 64];
        let unsigned = Op {
            sig: Vec::new(),
            ..o.clone()
        };
        let unsigned_hash = *blake3::hash(&unsigned.encode()).as_bytes();
        assert_eq!(o.signing_bytes(), unsigned.encode());
        assert_eq!(o.hash(), unsigned_hash);
        assert_eq!(o.encode_and_hash(), (o.encode(), unsigned_hash));
        assert_eq!(o.encode_with_tail(&tail), (o.encode(), unsigned_hash));
    }

    #[test]
    fn digest_is_order_independent() {
        let (a, b, c) = (op(1).hash(), op(2).hash(), op(3).hash());
        let mut x = StateDigest::default();
        let mut y = StateDigest::default();
        for h in [&a, &b, &c] {
            x.add(h);
        }
        for h in [&c, &a, &b] {
            y.add(h);
        }
        assert_eq!(x, y);
        let mut z = StateDigest::default();
        z.add(&a);
        z.add(&b);
        assert_ne!(x, z);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = Op::decode(&bytes);
        }
    }
}
