//! Ops: every change to replicated state is an op with a unique id
//! `(origin, seq)`, a hybrid logical clock reading, the origin's causal
//! dependencies, who made it, its idempotency key, and a place for the
//! origin's signature. The op log is the ledger: append-only, auditable.

use serde::{Deserialize, Serialize};

use crate::catalogue::Product;
use crate::checkout::{Order, TenderKind};
use crate::clock::{Hlc, VersionVector};
use crate::ids::{MemberId, NodeId, OpId, RechargeId};
use crate::member::{Profile, ProfilePatch};
use crate::money::Money;
use crate::programme::Programme;
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
    /// credits it the points earned. Using no points (format 1, see
    /// `compat`); a sale using points is `CheckedOutWithPoints`. Make
    /// either with `OpBody::sale`.
    CheckedOut {
        #[serde(with = "crate::compat::order_v1")]
        order: Order,
    },
    /// A refund of a sale made at the origin, returning no points used
    /// (format 1); one that does is `RefundedWithPoints`. Make either with
    /// `OpBody::refund`.
    Refunded {
        #[serde(with = "crate::compat::refund_v1")]
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
    /// the origin saw them, added to `member`'s once per absorbed member
    /// (concurrent merges of a pair: the lowest op id's; see `merge`). Wallet shares follow by
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
    /// HQ edits the chain's programme: the automerge change it made of the
    /// programme document (`programme_doc`), which is what applies, and the
    /// programme as it was at its origin after the change (for history).
    /// Ops made before it keep what they decided.
    ProgrammeChanged {
        change: Vec<u8>,
        /// Format-1 fields only: the points deduction rule is in `change`.
        #[serde(with = "crate::compat::programme_v1")]
        programme: Programme,
    },
    /// HQ edits the chain's catalogue: the automerge change it made of the
    /// catalogue document (`catalogue_doc`), which is what applies, and the
    /// products as asked (for history). Sales made before it keep the
    /// prices they recorded.
    CatalogueChanged {
        change: Vec<u8>,
        products: Vec<Product>,
    },
    /// A sale that pays part with points (`Order::points_used` > 0): as
    /// `CheckedOut`, and debits the origin's points share by the points
    /// used. Appended (see `compat`).
    CheckedOutWithPoints {
        order: Order,
    },
    /// A refund that returns points used by the sale
    /// (`Refund::points_returned` > 0): as `Refunded`, and credits them
    /// back to the origin's share. Appended (see `compat`).
    RefundedWithPoints {
        refund: Refund,
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
    /// The op recording `order`: `CheckedOut` when it uses no points (its
    /// encoding unchanged since format 1), else `CheckedOutWithPoints`.
    pub fn sale(order: Order) -> OpBody {
        if order.points_used == 0 {
            OpBody::CheckedOut { order }
        } else {
            OpBody::CheckedOutWithPoints { order }
        }
    }

    /// The op recording `refund`: `Refunded` when it returns no points,
    /// else `RefundedWithPoints`.
    pub fn refund(refund: Refund) -> OpBody {
        if refund.points_returned == 0 {
            OpBody::Refunded { refund }
        } else {
            OpBody::RefundedWithPoints { refund }
        }
    }

    /// The sale this op records, whichever variant.
    pub fn as_sale(&self) -> Option<&Order> {
        match self {
            OpBody::CheckedOut { order } | OpBody::CheckedOutWithPoints { order } => Some(order),
            _ => None,
        }
    }

    /// The refund this op records, whichever variant.
    pub fn as_refund(&self) -> Option<&Refund> {
        match self {
            OpBody::Refunded { refund } | OpBody::RefundedWithPoints { refund } => Some(refund),
            _ => None,
        }
    }

    /// The member whose state the op changes, if any.
    pub fn member(&self) -> Option<&MemberId> {
        match self {
            OpBody::MemberRegistered { member, .. }
            | OpBody::ProfileUpdated { member, .. }
            | OpBody::Recharged { member, .. }
            | OpBody::SharesTransferred { member, .. }
            | OpBody::MembersMerged { member, .. }
            | OpBody::MergeMoved { member, .. } => Some(member),
            OpBody::CheckedOut { order } | OpBody::CheckedOutWithPoints { order } => {
                order.member.as_ref()
            }
            OpBody::Refunded { refund } | OpBody::RefundedWithPoints { refund } => {
                refund.member.as_ref()
            }
            OpBody::ProgrammeChanged { .. } | OpBody::CatalogueChanged { .. } => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            OpBody::MemberRegistered { .. } => "member_registered",
            OpBody::ProfileUpdated { .. } => "profile_updated",
            OpBody::Recharged { .. } => "recharged",
            OpBody::CheckedOut { .. } | OpBody::CheckedOutWithPoints { .. } => "checked_out",
            OpBody::Refunded { .. } | OpBody::RefundedWithPoints { .. } => "refunded",
            OpBody::SharesTransferred { .. } => "shares_transferred",
            OpBody::MembersMerged { .. } => "members_merged",
            OpBody::MergeMoved { .. } => "merge_moved",
            OpBody::ProgrammeChanged { .. } => "programme_changed",
            OpBody::CatalogueChanged { .. } => "catalogue_changed",
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
    /// The origin's signature of the op (`signing_bytes()`), by the key of
    /// its chain certificate; empty when the origin has no chain identity (a
    /// quick-start node, the simulator), and such an op is refused by every
    /// chain node. Ops committed together are signed together: one Ed25519
    /// signature of the Merkle root of their hashes, and each op carries it
    /// with the path from its own hash to that root (`BatchSig`), so each
    /// op is verified on its own, wherever it travels.
    pub sig: Vec<u8>,
}

/// Signs the ops a node authors. The crypto lives outside the core (in
/// `tongka-net`, with the certificates); the core only says what is signed:
/// `batch_message` of the Merkle root over the ops' hashes (`sign_batch`).
pub trait OpSigner: Send + Sync {
    /// The signature of `message` (64 bytes for Ed25519).
    fn sign(&self, message: &[u8]) -> Vec<u8>;
}

/// What a batch signature signs: this prefix, the number of ops (u32 LE),
/// and the Merkle root of their hashes.
pub const BATCH_SIG_DOMAIN: &[u8] = b"tongka op batch v1\0";
/// The length of a signature proper (Ed25519) in `Op::sig`.
pub const SIGNATURE_LEN: usize = 64;
/// Ops signed together, at most.
pub const BATCH_MAX: usize = 1 << 16;

/// The message a batch signature signs.
pub fn batch_message(count: u32, root: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(BATCH_SIG_DOMAIN.len() + 36);
    m.extend_from_slice(BATCH_SIG_DOMAIN);
    m.extend_from_slice(&count.to_le_bytes());
    m.extend_from_slice(root);
    m
}

fn merkle_parent(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&[1]);
    h.update(l);
    h.update(r);
    *h.finalize().as_bytes()
}

/// The Merkle root of `leaves` and each leaf's path to it (siblings from
/// the leaf up; a node without a sibling at a level is carried up as is).
pub fn merkle_tree(leaves: &[[u8; 32]]) -> ([u8; 32], Vec<Vec<[u8; 32]>>) {
    assert!(!leaves.is_empty(), "a tree of no leaves");
    let mut paths = vec![Vec::new(); leaves.len()];
    let mut pos: Vec<usize> = (0..leaves.len()).collect();
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        for (path, p) in paths.iter_mut().zip(pos.iter_mut()) {
            if let Some(sib) = level.get(*p ^ 1) {
                path.push(*sib);
            }
            *p /= 2;
        }
        level = level
            .chunks(2)
            .map(|c| match c {
                [l, r] => merkle_parent(l, r),
                [x] => *x,
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    (level[0], paths)
}

/// The root reached from `leaf` at `index` of `count` leaves by `path`;
/// `None` if the path does not fit the tree's shape.
pub fn merkle_root_from(
    leaf: [u8; 32],
    count: usize,
    index: usize,
    path: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= count {
        return None;
    }
    let (mut h, mut p, mut len, mut sibs) = (leaf, index, count, path.iter());
    while len > 1 {
        if (p ^ 1) < len {
            let s = sibs.next()?;
            h = if p % 2 == 0 {
                merkle_parent(&h, s)
            } else {
                merkle_parent(s, &h)
            };
        }
        p /= 2;
        len = len.div_ceil(2);
    }
    sibs.next().is_none().then_some(h)
}

/// An op's `sig` read: the signature proper, and where the op sits in the
/// batch signed together. Layout: signature (64 bytes) ‖ count (u32 LE) ‖
/// index (u32 LE) ‖ path (32 bytes each, from the leaf up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSig<'a> {
    pub signature: &'a [u8],
    pub count: u32,
    pub index: u32,
    pub path: Vec<[u8; 32]>,
}

impl<'a> BatchSig<'a> {
    pub fn parse(sig: &'a [u8]) -> Option<BatchSig<'a>> {
        let head = SIGNATURE_LEN + 8;
        if sig.len() < head || !(sig.len() - head).is_multiple_of(32) {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes(sig[i..i + 4].try_into().expect("4 bytes"));
        Some(BatchSig {
            signature: &sig[..SIGNATURE_LEN],
            count: u32_at(SIGNATURE_LEN),
            index: u32_at(SIGNATURE_LEN + 4),
            path: sig[head..]
                .chunks_exact(32)
                .map(|c| c.try_into().expect("32 bytes"))
                .collect(),
        })
    }

    fn encode(signature: &[u8], count: usize, index: usize, path: &[[u8; 32]]) -> Vec<u8> {
        let mut out = Vec::with_capacity(signature.len() + 8 + 32 * path.len());
        out.extend_from_slice(signature);
        out.extend_from_slice(&(count as u32).to_le_bytes());
        out.extend_from_slice(&(index as u32).to_le_bytes());
        for p in path {
            out.extend_from_slice(p);
        }
        out
    }
}

/// Sign unsigned ops together: each item is an op, its unsigned encoding
/// (`encode` or `encode_with_tail`, equal to `signing_bytes()`) and its
/// hash. One signature of the Merkle root of the hashes; each op's `sig`
/// gets it with the op's path. Returns the signed encodings, in order (the
/// hashes do not change: they cover ops without their signatures).
pub fn sign_batch(items: Vec<(&mut Op, Vec<u8>, [u8; 32])>, signer: &dyn OpSigner) -> Vec<Vec<u8>> {
    if items.is_empty() {
        return Vec::new();
    }
    assert!(items.len() <= BATCH_MAX, "batch of {} ops", items.len());
    let leaves: Vec<[u8; 32]> = items.iter().map(|(_, _, h)| *h).collect();
    let (root, paths) = merkle_tree(&leaves);
    let signature = signer.sign(&batch_message(leaves.len() as u32, &root));
    items
        .into_iter()
        .zip(paths)
        .enumerate()
        .map(|(i, ((op, mut unsigned, _), path))| {
            debug_assert!(op.sig.is_empty(), "op signed twice");
            debug_assert_eq!(unsigned, op.signing_bytes(), "encoding of another op");
            op.sig = BatchSig::encode(&signature, leaves.len(), i, &path);
            unsigned.pop(); // the empty signature: its length, 0
            postcard::to_io(&op.sig, &mut unsigned).expect("encoding to memory cannot fail");
            unsigned
        })
        .collect()
}

/// What an origin's chain certificate says the node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OriginRole {
    Store,
    Hq,
}

/// Whether an origin of `role` may author an op doing `body`: HQ sells
/// nothing, so a recharge, sale or refund authored by HQ is refused; HQ
/// alone authors the programme and the catalogue, so a store's
/// `ProgrammeChanged` or `CatalogueChanged` is refused (a chain-less
/// quick-start node has no role and makes no ops another node checks: it
/// may edit its own programme and catalogue). (Who
/// may decrease a share is checked when the op is applied:
/// `MemberState::apply` lets an op debit only its origin's share.)
pub fn check_authority(role: OriginRole, body: &OpBody) -> Result<(), &'static str> {
    match (role, body) {
        (
            OriginRole::Hq,
            OpBody::Recharged { .. }
            | OpBody::CheckedOut { .. }
            | OpBody::Refunded { .. }
            | OpBody::CheckedOutWithPoints { .. }
            | OpBody::RefundedWithPoints { .. },
        ) => Err("HQ sells nothing: a recharge, sale or refund authored by HQ is refused"),
        (OriginRole::Store, OpBody::ProgrammeChanged { .. }) => {
            Err("only HQ authors the programme: a programme change authored by a store is refused")
        }
        (OriginRole::Store, OpBody::CatalogueChanged { .. }) => {
            Err("only HQ authors the catalogue: a catalogue change authored by a store is refused")
        }
        _ => Ok(()),
    }
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

    /// Signs this unsigned op alone (a batch of one; see `sign_batch`),
    /// whose encoding is `unsigned`: sets `sig`, returns the signed
    /// encoding.
    pub fn sign_encoded(&mut self, unsigned: Vec<u8>, signer: &dyn OpSigner) -> Vec<u8> {
        let hash = self.hash();
        sign_batch(vec![(self, unsigned, hash)], signer)
            .pop()
            .expect("one op in, one out")
    }

    /// What the origin's signature must sign for this op to be genuine
    /// (`batch_message` of the root its path leads to), and the signature;
    /// `None` if `sig` is not a well-formed batch signature for this op.
    /// The caller verifies the signature with the origin's key.
    pub fn signed_message(&self) -> Option<(Vec<u8>, &[u8])> {
        self.signed_message_with(self.hash())
    }

    /// `signed_message` for this op whose hash (`hash()`) is `hash`,
    /// known already (an [`EncodedOp`]'s).
    pub fn signed_message_with(&self, hash: [u8; 32]) -> Option<(Vec<u8>, &[u8])> {
        let bs = BatchSig::parse(&self.sig)?;
        if bs.count as usize > BATCH_MAX {
            return None;
        }
        let root = merkle_root_from(hash, bs.count as usize, bs.index as usize, &bs.path)?;
        Some((batch_message(bs.count, &root), bs.signature))
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

/// An op with the bytes it is stored and sent as (`Op::encode`) and its
/// hash (`Op::hash`). Replication passes these along so an op is encoded
/// once, by its origin: a node ships what its log stores and stores the
/// bytes it verified, instead of encoding the op again at each step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedOp {
    pub op: Op,
    pub bytes: Vec<u8>,
    pub hash: [u8; 32],
}

/// postcard's encoding of a length (LEB128).
fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

impl EncodedOp {
    /// Encode `op` (and hash it).
    pub fn new(op: Op) -> EncodedOp {
        let (bytes, hash) = op.encode_and_hash();
        EncodedOp { op, bytes, hash }
    }

    /// Decode an op received from storage or a peer, keeping its bytes;
    /// never panics. The hash is taken of the bytes themselves (the
    /// encoding without its signature is a prefix of them), so a signature
    /// that verifies against it vouches for exactly the bytes kept. Bytes
    /// that decode but are not the op's own encoding where the signature
    /// sits (an overlong length) are refused.
    pub fn decode(bytes: Vec<u8>) -> Result<EncodedOp, DecodeError> {
        let op = Op::decode(&bytes)?;
        let mut tail = Vec::with_capacity(op.sig.len() + 3);
        varint(op.sig.len(), &mut tail);
        tail.extend_from_slice(&op.sig);
        if !bytes.ends_with(&tail) {
            return Err(DecodeError::Invalid("signature encoding"));
        }
        let mut h = blake3::Hasher::new();
        h.update(&bytes[..bytes.len() - tail.len()]);
        h.update(&[0]); // the empty signature: its length, 0
        let hash = *h.finalize().as_bytes();
        Ok(EncodedOp { op, bytes, hash })
    }

    /// What the origin's signature must sign (`Op::signed_message`).
    pub fn signed_message(&self) -> Option<(Vec<u8>, &[u8])> {
        self.op.signed_message_with(self.hash)
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

    /// A stand-in signer: the message's blake3 hash, twice (64 bytes).
    struct Hash2;
    impl OpSigner for Hash2 {
        fn sign(&self, m: &[u8]) -> Vec<u8> {
            blake3::hash(m).as_bytes().repeat(2)
        }
    }

    #[test]
    fn signing_an_encoding_gives_the_signed_op_and_keeps_the_hash() {
        let mut o = op(4);
        let (unsigned, hash) = o.encode_and_hash();
        let signed = o.sign_encoded(unsigned.clone(), &Hash2);
        assert_eq!(signed, o.encode());
        assert_eq!(Op::decode(&signed).unwrap(), o);
        assert_eq!(o.signing_bytes(), unsigned);
        assert_eq!(o.hash(), hash);
        // Alone, the op's root is its hash.
        let (message, sig) = o.signed_message().unwrap();
        assert_eq!(message, batch_message(1, &hash));
        assert_eq!(sig, Hash2.sign(&message).as_slice());
    }

    #[test]
    fn ops_signed_together_each_carry_the_signature_and_their_path() {
        for n in [1usize, 2, 3, 5, 8, 13] {
            let mut ops: Vec<Op> = (1..=n as u64).map(op).collect();
            let items: Vec<_> = ops
                .iter_mut()
                .map(|o| {
                    let (b, h) = o.encode_and_hash();
                    (o, b, h)
                })
                .collect();
            let encoded = sign_batch(items, &Hash2);
            let leaves: Vec<[u8; 32]> = ops.iter().map(Op::hash).collect();
            let (root, _) = merkle_tree(&leaves);
            let expected = batch_message(n as u32, &root);
            for (o, bytes) in ops.iter().zip(&encoded) {
                assert_eq!(Op::decode(bytes).unwrap(), *o);
                let (message, sig) = o.signed_message().unwrap();
                assert_eq!(message, expected, "{n} ops, op {}", o.id);
                assert_eq!(sig, Hash2.sign(&expected).as_slice());
            }
            if n > 1 {
                // Another op's path, or another place, leads elsewhere.
                let mut swapped = ops[0].clone();
                swapped.sig = ops[1].sig.clone();
                assert_ne!(
                    swapped.signed_message().map(|m| m.0),
                    Some(expected.clone())
                );
                let mut bad = ops[0].clone();
                bad.sig.truncate(bad.sig.len() - 32);
                assert_ne!(bad.signed_message().map(|m| m.0), Some(expected.clone()));
            }
        }
        let mut short = op(1);
        short.sig = vec![0; 10];
        assert!(short.signed_message().is_none());
    }

    #[test]
    fn encoded_ops_keep_their_bytes_and_hash() {
        let mut ops: Vec<Op> = (1..=3).map(op).collect();
        let unsigned = EncodedOp::decode(ops[0].encode()).unwrap();
        assert_eq!(unsigned, EncodedOp::new(ops[0].clone()));
        assert_eq!(unsigned.hash, ops[0].hash());
        let items: Vec<_> = ops
            .iter_mut()
            .map(|o| {
                let (b, h) = o.encode_and_hash();
                (o, b, h)
            })
            .collect();
        let encoded = sign_batch(items, &Hash2);
        for (o, bytes) in ops.iter().zip(encoded) {
            let e = EncodedOp::decode(bytes.clone()).unwrap();
            assert_eq!(e.op, *o);
            assert_eq!(e.bytes, bytes);
            assert_eq!(e.hash, o.hash());
            assert_eq!(e.signed_message(), o.signed_message());
            assert_eq!(e, EncodedOp::new(o.clone()));
            // A byte of the op changed: another hash, another message.
            let mut tampered = bytes.clone();
            let at = tampered.len() - o.sig.len() - 10;
            tampered[at] ^= 1;
            if let Ok(t) = EncodedOp::decode(tampered) {
                assert_ne!(t.hash, e.hash);
                assert_ne!(
                    t.signed_message().map(|m| m.0),
                    e.signed_message().map(|m| m.0)
                );
            }
            // The signature's length written overlong: refused.
            let mut overlong = bytes[..bytes.len() - o.sig.len() - 2].to_vec();
            let n = o.sig.len();
            overlong.extend_from_slice(&[(n as u8) | 0x80, ((n >> 7) as u8) | 0x80, 0]);
            overlong.extend_from_slice(&o.sig);
            assert!(EncodedOp::decode(overlong).is_err());
        }
        assert!(EncodedOp::decode(Vec::new()).is_err());
    }

    #[test]
    fn hq_may_not_author_sales_recharges_or_refunds() {
        let body = op(1).body;
        assert!(check_authority(OriginRole::Store, &body).is_ok());
        assert!(check_authority(OriginRole::Hq, &body).is_err());
        let node = NodeId::new("hq").unwrap();
        let transfer = OpBody::SharesTransferred {
            member: MemberId::mint(&node, 1),
            to: NodeId::new("store-1").unwrap(),
            principal: Money::from_yuan(1),
            bonus: Money::ZERO,
            points: 0,
        };
        assert!(check_authority(OriginRole::Hq, &transfer).is_ok());
        let prog = OpBody::ProgrammeChanged {
            change: Vec::new(),
            programme: Programme::default(),
        };
        assert!(check_authority(OriginRole::Hq, &prog).is_ok());
        assert!(check_authority(OriginRole::Store, &prog).is_err());
        let cat = OpBody::CatalogueChanged {
            change: vec![1],
            products: crate::catalogue::sample_catalogue(),
        };
        assert!(check_authority(OriginRole::Hq, &cat).is_ok());
        assert!(check_authority(OriginRole::Store, &cat).is_err());
        assert_eq!(prog.member(), None);
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
