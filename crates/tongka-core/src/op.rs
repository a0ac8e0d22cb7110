//! Ops: every change to replicated state is an op with a unique id
//! `(origin, seq)`, a hybrid logical clock reading, the origin's causal
//! dependencies, who made it, its idempotency key, and a place for the
//! origin's signature. The op log is the ledger: append-only, auditable.

use minicbor::Encoder;
use serde::{Deserialize, Serialize};

use crate::authority::NotAuthorised;
use crate::card::Card;
use crate::catalogue::Product;
use crate::checkout::{Order, TenderKind};
use crate::clock::{Hlc, VersionVector};
use crate::codec::{
    FEATURE_CARDS, FEATURE_CLOSE, FEATURE_COUPONS, FEATURE_IMPORT, FEATURE_POINTS,
    FEATURE_SETTLEMENT, FEATURE_STAFF, FEATURE_STOCK, feature_name, first_unknown_feature,
};
use crate::coupon::Coupon;
use crate::day::Day;
use crate::ids::{CardId, CouponId, MemberId, NodeId, OpId, RechargeId, StaffId, WithdrawalId};
use crate::member::{Profile, ProfilePatch};
use crate::money::Money;
use crate::programme::Programme;
use crate::refund::Refund;
use crate::settlement::WithdrawalStep;
use crate::staff::StaffPatch;
use crate::stock::{StockChange, StockQty};

/// The first byte of every encoded op: the format version. A node refuses
/// an op of a format it does not know rather than guess. Format 2 is the
/// minicbor encoding of `codec`.
pub const OP_FORMAT_V2: u8 = 2;
/// The format of before the break (postcard), refused with its reason.
pub const OP_FORMAT_V1: u8 = 1;
/// The fields of an op's array: id, hlc, deps | needs, actor, idem, body |
/// sig (the head is encoded on the log's writer, the tail by the caller).
const OP_FIELDS: u64 = 8;
/// The largest encoded op accepted (a 200-line order is far below this).
pub const OP_BYTES_MAX: usize = 256 * 1024;
/// The longest idempotency key and actor name accepted.
pub const KEY_LEN_MAX: usize = 128;

/// What an op does. Encoded by minicbor (`codec`): each variant and field
/// has an index number, so a field is added without a new variant; a field
/// that changes what applying does is also a feature (`OpBody::needs`).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub enum OpBody {
    /// A member registered; with `opening`, imported from another system
    /// (会员导入) with its opening balances, credited to the origin's share
    /// in the same op, so an imported member never exists without them.
    /// Feature `FEATURE_IMPORT` when `opening` is set.
    #[n(0)]
    MemberRegistered {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        profile: Profile,
        #[n(2)]
        #[serde(default)]
        opening: Option<Opening>,
    },
    /// A profile edit: the patch as asked (for history) and the automerge
    /// change its origin made of it (`profile_doc`), which is what applies.
    #[n(1)]
    ProfileUpdated {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        patch: ProfilePatch,
        #[cbor(n(2), with = "minicbor::bytes")]
        change: Vec<u8>,
    },
    /// Credits the origin's share: `amount` principal plus `bonus`.
    #[n(2)]
    Recharged {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        recharge: RechargeId,
        #[n(2)]
        amount: Money,
        #[n(3)]
        bonus: Money,
        #[n(4)]
        tender: TenderKind,
    },
    /// A sale; debits the origin's share by the order's balance part and
    /// its points used (`Order::points_used`, feature `FEATURE_POINTS`),
    /// and credits it the points earned.
    #[n(3)]
    CheckedOut {
        #[n(0)]
        order: Order,
        /// The stock the sale takes out of the origin's (stocked products'
        /// lines). Feature `FEATURE_STOCK` when not empty.
        #[cbor(n(1), skip_if = "crate::codec::is_empty_vec")]
        #[serde(default)]
        stock: Vec<StockQty>,
    },
    /// A refund of a sale made at the origin; credits back the points used
    /// it returns (`Refund::points_returned`, feature `FEATURE_POINTS`).
    #[n(4)]
    Refunded {
        #[n(0)]
        refund: Refund,
        /// The stock the refund puts back at the origin. Feature
        /// `FEATURE_STOCK` when not empty.
        #[cbor(n(1), skip_if = "crate::codec::is_empty_vec")]
        #[serde(default)]
        stock: Vec<StockQty>,
    },
    /// The origin gives part of its share of a member's wallet to `to`.
    #[n(5)]
    SharesTransferred {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        to: NodeId,
        #[n(2)]
        principal: Money,
        #[n(3)]
        bonus: Money,
        #[n(4)]
        points: i64,
    },
    /// `absorbed` (a duplicate) is merged into `member`: the automerge
    /// change fills `member`'s blank fields from `absorbed`'s profile and
    /// unites the tags; `figures` are `absorbed`'s cumulative figures as
    /// the origin saw them, added to `member`'s once per absorbed member
    /// (concurrent merges of a pair: the lowest op id's; see `merge`). Wallet shares follow by
    /// `MergeMoved` ops of their holders.
    #[n(6)]
    MembersMerged {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        absorbed: MemberId,
        #[cbor(n(2), with = "minicbor::bytes")]
        change: Vec<u8>,
        #[n(3)]
        figures: MergedFigures,
    },
    /// The origin moves its own share of merged-away `member` to `into`
    /// (the survivor): debits the one, credits the other, same owner.
    #[n(7)]
    MergeMoved {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        into: MemberId,
        #[n(2)]
        principal: Money,
        #[n(3)]
        bonus: Money,
        #[n(4)]
        points: i64,
        /// The origin's uses of the absorbed member's coupons, moved with
        /// the coupons (the survivor may not know them yet). Feature
        /// `FEATURE_COUPONS` when not empty.
        #[cbor(n(5), skip_if = "crate::codec::is_empty_vec")]
        coupons: Vec<MovedUses>,
        /// The origin's visits of the absorbed member's cards, moved with
        /// the cards. Feature `FEATURE_CARDS` when not empty.
        #[cbor(n(6), skip_if = "crate::codec::is_empty_vec")]
        cards: Vec<MovedCard>,
    },
    /// HQ edits the chain's programme: the automerge change it made of the
    /// programme document (`programme_doc`), which is what applies, and the
    /// programme as it was at its origin after the change (for history).
    /// Ops made before it keep what they decided.
    #[n(8)]
    ProgrammeChanged {
        #[cbor(n(0), with = "minicbor::bytes")]
        change: Vec<u8>,
        #[n(1)]
        programme: Programme,
    },
    /// HQ edits the chain's catalogue: the automerge change it made of the
    /// catalogue document (`catalogue_doc`), which is what applies, and the
    /// products as asked (for history). Sales made before it keep the
    /// prices they recorded.
    #[n(9)]
    CatalogueChanged {
        #[cbor(n(0), with = "minicbor::bytes")]
        change: Vec<u8>,
        #[n(1)]
        products: Vec<Product>,
    },
    /// A coupon issued to `member`: its uses credit `holder`'s share (the
    /// origin, or for a coupon HQ issues the member's home store; see
    /// `coupon::held`). Feature `FEATURE_COUPONS`.
    #[n(10)]
    CouponIssued {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        coupon: Coupon,
        #[n(2)]
        holder: NodeId,
    },
    /// The origin gives `uses` of its share of one of `member`'s escrowed
    /// uses (a coupon's) to `to`. Feature `FEATURE_COUPONS`.
    #[n(11)]
    UsesTransferred {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        of: UsesOf,
        #[n(2)]
        to: NodeId,
        #[n(3)]
        uses: u32,
    },
    /// `count` visits of `member`'s card verified (核销) at the origin on
    /// `day`, for `service`: a count card's come out of the origin's share
    /// of its visits. Feature `FEATURE_CARDS`.
    #[n(12)]
    CardVisited {
        #[n(0)]
        member: MemberId,
        #[n(1)]
        card: CardId,
        #[n(2)]
        count: u32,
        #[n(3)]
        service: Option<String>,
        #[n(4)]
        day: Day,
    },
    /// A staff account created (every field) or changed (some), each field
    /// last-writer-wins by the op's clock (`staff::StaffBook`). Feature
    /// `FEATURE_STAFF`.
    #[n(13)]
    StaffChanged {
        #[n(0)]
        staff: StaffId,
        #[n(1)]
        patch: StaffPatch,
    },
    /// A store changes its own stock (`stock`): goods in, a supplier
    /// return, a transfer shipped or received, a stocktake. Feature
    /// `FEATURE_STOCK`.
    #[n(14)]
    StockChanged {
        #[n(0)]
        change: StockChange,
    },
    /// A store closes a shift or a day (交班 / 日结, `close`): the totals
    /// of its own ops the close covers, and the cash counted against the
    /// cash expected. Feature `FEATURE_CLOSE`.
    #[n(15)]
    DayClosed {
        #[n(0)]
        close: crate::close::Close,
    },
    /// A step of a store's withdrawal (提现, `settlement`): its request,
    /// made by the store (the request's origin is the withdrawing store),
    /// or HQ's approval or rejection of it. Who is the op's `by`, when its
    /// clock. Feature `FEATURE_SETTLEMENT`.
    #[n(17)]
    Withdrawal {
        #[n(0)]
        id: WithdrawalId,
        #[n(1)]
        step: WithdrawalStep,
    },
}

/// What an imported member brings from the system it came from
/// (`member_import`): opening stored value and points, credited to the
/// importing store's share (as a recharge would be, but it is not one: no
/// money was paid in now, so it is no revenue; `LedgerTotals` counts it
/// apart, as liability), and the level it held.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Opening {
    #[n(0)]
    pub principal: Money,
    #[n(1)]
    pub bonus: Money,
    #[n(2)]
    pub points: i64,
    /// The level code it held there, as imported (for history), if any.
    #[n(3)]
    pub level: Option<String>,
    /// The cumulative principal the member starts with, toward levels:
    /// the opening principal, or the imported level's threshold (as the
    /// programme had it at the import) if higher; so the level is kept,
    /// and recharges from then on count on from it.
    #[n(4)]
    pub counted: Money,
}

impl Opening {
    /// Whether every amount is 0 or more (a wallet credits no negative).
    pub fn is_valid(&self) -> bool {
        !self.principal.is_negative()
            && !self.bonus.is_negative()
            && self.points >= 0
            && !self.counted.is_negative()
    }
}

/// A node's visits of one card moved by a merge, with the card.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct MovedCard {
    #[n(0)]
    pub card: Card,
    /// The count card's visits the origin held.
    #[n(1)]
    pub visits: u32,
    /// The card's visits made, and whether it was refunded, as the origin
    /// knew (so the survivor shows them before every holder moved).
    #[n(2)]
    pub visited: u32,
    #[n(3)]
    pub refunded: bool,
}

/// A node's uses of one coupon moved by a merge, with the coupon.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct MovedUses {
    #[n(0)]
    pub coupon: Coupon,
    #[n(1)]
    pub uses: u32,
}

/// Whose uses an op moves: a coupon's of the member.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
pub enum UsesOf {
    #[n(0)]
    Coupon(#[n(0)] CouponId),
    #[n(1)]
    Card(#[n(0)] CardId),
}

/// Cumulative figures of an absorbed member, carried by a merge.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
pub struct MergedFigures {
    #[n(0)]
    pub principal: Money,
    #[n(1)]
    pub bonus: Money,
    #[n(2)]
    pub spent: Money,
    #[n(3)]
    pub visits: u64,
}

impl OpBody {
    /// The op recording `order`.
    pub fn sale(order: Order) -> OpBody {
        OpBody::CheckedOut {
            order,
            stock: Vec::new(),
        }
    }

    /// The op recording `refund`.
    pub fn refund(refund: Refund) -> OpBody {
        OpBody::Refunded {
            refund,
            stock: Vec::new(),
        }
    }

    /// The sale this op records.
    pub fn as_sale(&self) -> Option<&Order> {
        match self {
            OpBody::CheckedOut { order, .. } => Some(order),
            _ => None,
        }
    }

    /// The refund this op records.
    pub fn as_refund(&self) -> Option<&Refund> {
        match self {
            OpBody::Refunded { refund, .. } => Some(refund),
            _ => None,
        }
    }

    /// The features (`codec::FEATURE_*`) applying this op needs, from its
    /// content: the one place that says which content is a feature. The
    /// op's maker declares them, and the decoder checks them.
    pub fn needs(&self) -> u64 {
        match self {
            OpBody::CheckedOut { order, stock } => {
                let mut f = 0;
                if !stock.is_empty() {
                    f |= FEATURE_STOCK;
                }
                if order.points_used != 0 {
                    f |= FEATURE_POINTS;
                }
                if !order.coupons.is_empty() {
                    f |= FEATURE_COUPONS;
                }
                if order.lines.iter().any(|l| l.card.is_some()) {
                    f |= FEATURE_CARDS;
                }
                f
            }
            OpBody::Refunded { refund, stock } => {
                let mut f = 0;
                if !stock.is_empty() {
                    f |= FEATURE_STOCK;
                }
                if refund.points_returned != 0 {
                    f |= FEATURE_POINTS;
                }
                if !refund.coupons_returned.is_empty() {
                    f |= FEATURE_COUPONS;
                }
                if !refund.cards_refunded.is_empty() {
                    f |= FEATURE_CARDS;
                }
                f
            }
            OpBody::CouponIssued { .. } => FEATURE_COUPONS,
            OpBody::MemberRegistered {
                opening: Some(_), ..
            } => FEATURE_IMPORT,
            OpBody::UsesTransferred { of, .. } => match of {
                UsesOf::Coupon(_) => FEATURE_COUPONS,
                UsesOf::Card(_) => FEATURE_CARDS,
            },
            OpBody::CardVisited { .. } => FEATURE_CARDS,
            OpBody::StaffChanged { .. } => FEATURE_STAFF,
            OpBody::StockChanged { .. } => FEATURE_STOCK,
            OpBody::DayClosed { .. } => FEATURE_CLOSE,
            OpBody::Withdrawal { .. } => FEATURE_SETTLEMENT,
            OpBody::MergeMoved { coupons, cards, .. } => {
                let mut f = 0;
                if !coupons.is_empty() {
                    f |= FEATURE_COUPONS;
                }
                if !cards.is_empty() {
                    f |= FEATURE_CARDS;
                }
                f
            }
            _ => 0,
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
            | OpBody::MergeMoved { member, .. }
            | OpBody::CouponIssued { member, .. }
            | OpBody::UsesTransferred { member, .. }
            | OpBody::CardVisited { member, .. } => Some(member),
            OpBody::CheckedOut { order, .. } => order.member.as_ref(),
            OpBody::Refunded { refund, .. } => refund.member.as_ref(),
            OpBody::ProgrammeChanged { .. }
            | OpBody::CatalogueChanged { .. }
            | OpBody::StaffChanged { .. }
            | OpBody::StockChanged { .. } => None,
            OpBody::DayClosed { .. } => None,
            OpBody::Withdrawal { .. } => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            OpBody::MemberRegistered {
                opening: Some(_), ..
            } => "member_imported",
            OpBody::MemberRegistered { .. } => "member_registered",
            OpBody::ProfileUpdated { .. } => "profile_updated",
            OpBody::Recharged { .. } => "recharged",
            OpBody::CheckedOut { .. } => "checked_out",
            OpBody::Refunded { .. } => "refunded",
            OpBody::SharesTransferred { .. } => "shares_transferred",
            OpBody::MembersMerged { .. } => "members_merged",
            OpBody::MergeMoved { .. } => "merge_moved",
            OpBody::ProgrammeChanged { .. } => "programme_changed",
            OpBody::CatalogueChanged { .. } => "catalogue_changed",
            OpBody::CouponIssued { .. } => "coupon_issued",
            OpBody::UsesTransferred { .. } => "uses_transferred",
            OpBody::CardVisited { .. } => "card_visited",
            OpBody::StaffChanged { .. } => "staff_changed",
            OpBody::StockChanged { change } => change.kind(),
            OpBody::DayClosed { close } => match close.kind {
                crate::close::CloseKind::Shift => "shift_closed",
                crate::close::CloseKind::Day => "day_closed",
            },
            OpBody::Withdrawal { step, .. } => step.kind(),
        }
    }
}

/// An op before its origin's log gives it a place: what the deciding code
/// produces. The log stamps it with `(origin, seq)` and the causal deps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpDraft {
    pub hlc: Hlc,
    /// Who: the staff member or token that asked for it.
    pub by: String,
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
    pub by: String,
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
            unsigned.pop(); // the empty signature, `EMPTY_SIG`
            encode_sig(&op.sig, &mut unsigned);
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
pub fn check_authority(role: OriginRole, body: &OpBody) -> Result<(), NotAuthorised> {
    crate::authority::may_author(Some(role), body)
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
    #[error(
        "op of format {0}, written before tongka's format break: this build reads format 2 only"
    )]
    FormatRetired(u8),
    #[error("the op needs feature {0}, which this build does not know: upgrade tongka to apply it")]
    UnknownFeature(u32),
    #[error("malformed op: {0}")]
    Malformed(String),
    #[error("op field out of range: {0}")]
    Invalid(&'static str),
}

impl crate::error::DomainError for DecodeError {
    fn code(&self) -> &'static str {
        match self {
            DecodeError::Empty | DecodeError::Malformed(_) => "op_malformed",
            DecodeError::TooLarge(_) => "op_too_large",
            DecodeError::Format(_) => "op_format_unknown",
            DecodeError::FormatRetired(_) => "op_format_too_old",
            DecodeError::UnknownFeature(_) => "unknown_feature",
            DecodeError::Invalid(_) => "op_invalid",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            DecodeError::Empty => "操作为空".into(),
            DecodeError::TooLarge(n) => format!("操作长 {n} 字节，超过上限"),
            DecodeError::Format(f) => format!("未知的操作格式 {f}"),
            DecodeError::FormatRetired(f) => {
                format!("操作格式 {f} 是通卡格式变更之前写的：本版本只读格式 2")
            }
            DecodeError::UnknownFeature(bit) => {
                format!("该操作需要本版本不认识的功能 {bit}：请升级通卡后再应用")
            }
            DecodeError::Malformed(e) => format!("操作格式错误：{e}"),
            DecodeError::Invalid(what) => format!("操作字段超出范围：{what}"),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            DecodeError::UnknownFeature(bit) => vec![("feature", bit.to_string())],
            _ => Vec::new(),
        }
    }
}

/// The name of the features in `needs`, for people (`points`, or the bit
/// of a feature this build does not know).
pub fn features_text(needs: u64) -> String {
    (0..64)
        .filter(|b| needs & (1 << b) != 0)
        .map(|b| feature_name(b).map_or_else(|| format!("#{b}"), str::to_string))
        .collect::<Vec<_>>()
        .join(",")
}

fn encoding_to_memory<T>(r: Result<T, minicbor::encode::Error<std::convert::Infallible>>) -> T {
    r.expect("encoding to memory cannot fail")
}

/// The op's format byte and the start of its array: id, clock, deps.
fn encode_head(id: &OpId, hlc: &Hlc, deps: &VersionVector, out: &mut Vec<u8>) {
    out.push(OP_FORMAT_V2);
    let mut e = Encoder::new(out);
    // `OpId` and `Hlc` written out as their derived encodings are (arrays
    // of two): this runs on the log's writer, once per op.
    encoding_to_memory(
        e.array(OP_FIELDS)
            .and_then(|e| e.array(2))
            .and_then(|e| e.str(id.origin.as_str()))
            .and_then(|e| e.u64(id.seq))
            .and_then(|e| e.array(2))
            .and_then(|e| e.u64(hlc.ms))
            .and_then(|e| e.u32(hlc.count))
            .and_then(|e| e.encode(deps))
            .map(|_| ()),
    );
}

/// The fields after the head, before the signature: the features the
/// body needs, actor, idempotency key, body.
fn encode_tail(by: &str, idem: &Option<String>, body: &OpBody, out: &mut Vec<u8>) {
    let mut e = Encoder::new(out);
    encoding_to_memory(
        e.u64(body.needs())
            .and_then(|e| e.str(by))
            .and_then(|e| e.encode(idem))
            .and_then(|e| e.encode(body))
            .map(|_| ()),
    );
}

/// The signature field (CBOR bytes); the empty signature is one byte,
/// `EMPTY_SIG`.
fn encode_sig(sig: &[u8], out: &mut Vec<u8>) {
    encoding_to_memory(Encoder::new(out).bytes(sig).map(|_| ()));
}

/// The encoding of the empty signature: bytes of length 0.
const EMPTY_SIG: u8 = 0x40;

impl OpDraft {
    /// The encoding of the fields stamping does not change (actor,
    /// idempotency key, body): the bulk of the op's encoding, which the
    /// caller can do ahead, off the log's writer. Pass it to
    /// `Op::encode_with_tail` of the stamped op.
    pub fn encode_tail(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        encode_tail(&self.by, &self.idem, &self.body, &mut out);
        out
    }

    pub fn stamp(self, id: OpId, deps: VersionVector) -> Op {
        Op {
            id,
            hlc: self.hlc,
            deps,
            by: self.by,
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
        let mut out = Vec::with_capacity(256 + self.sig.len());
        self.encode_into(&mut out);
        out
    }

    /// `encode()`, appended to `out` (a buffer kept from op to op).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.encode_unsigned_into(out);
        out.pop();
        encode_sig(&self.sig, out);
    }

    /// The op as if unsigned (its signing bytes), appended to `out`.
    fn encode_unsigned_into(&self, out: &mut Vec<u8>) {
        encode_head(&self.id, &self.hlc, &self.deps, out);
        encode_tail(&self.by, &self.idem, &self.body, out);
        out.push(EMPTY_SIG);
    }

    /// Decode an op received from storage or a peer; never panics. The
    /// codec's edge: the format, the features and the limits are checked
    /// here, once, before any rule sees the op.
    pub fn decode(bytes: &[u8]) -> Result<Op, DecodeError> {
        let (&format, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        if bytes.len() > OP_BYTES_MAX {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        match format {
            OP_FORMAT_V2 => {}
            OP_FORMAT_V1 => return Err(DecodeError::FormatRetired(format)),
            _ => return Err(DecodeError::Format(format)),
        }
        let bad = |e: minicbor::decode::Error| DecodeError::Malformed(e.to_string());
        let mut d = minicbor::Decoder::new(rest);
        if d.array().map_err(bad)? != Some(OP_FIELDS) {
            return Err(DecodeError::Malformed(
                "an op is an array of 8 fields".into(),
            ));
        }
        let id: OpId = d.decode().map_err(bad)?;
        let hlc: Hlc = d.decode().map_err(bad)?;
        let deps: VersionVector = d.decode().map_err(bad)?;
        let needs = d.u64().map_err(bad)?;
        // Before the body: a body needing a feature unknown here may not
        // even decode as the body this build knows.
        if let Some(bit) = first_unknown_feature(needs) {
            return Err(DecodeError::UnknownFeature(bit));
        }
        let actor = d.str().map_err(bad)?;
        if actor.len() > KEY_LEN_MAX {
            return Err(DecodeError::Invalid("actor or idempotency key"));
        }
        let actor = actor.to_string();
        let idem: Option<String> = d.decode().map_err(bad)?;
        let body: OpBody = d.decode().map_err(bad)?;
        let sig = d.bytes().map_err(bad)?.to_vec();
        if d.position() != rest.len() {
            return Err(DecodeError::Malformed("bytes after the op".into()));
        }
        if body.needs() != needs {
            return Err(DecodeError::Invalid(
                "declared features differ from the op's content",
            ));
        }
        if id.seq == 0 {
            return Err(DecodeError::Invalid("seq"));
        }
        if idem.as_ref().is_some_and(|k| k.len() > KEY_LEN_MAX) {
            return Err(DecodeError::Invalid("actor or idempotency key"));
        }
        Ok(Op {
            id,
            hlc,
            deps,
            by: actor,
            idem,
            body,
            sig,
        })
    }

    /// The bytes the origin signs and the digest covers: the op without its
    /// signature.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.encode_unsigned_into(&mut out);
        out
    }

    /// blake3 of `signing_bytes()`.
    pub fn hash(&self) -> [u8; 32] {
        *blake3::hash(&self.signing_bytes()).as_bytes()
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
        let mut out = Vec::with_capacity(tail.len() + 64 + self.sig.len());
        encode_head(&self.id, &self.hlc, &self.deps, &mut out);
        out.extend_from_slice(tail);
        let hash = if self.sig.is_empty() {
            out.push(EMPTY_SIG);
            *blake3::hash(&out).as_bytes()
        } else {
            let mut h = blake3::Hasher::new();
            h.update(&out);
            h.update(&[EMPTY_SIG]);
            encode_sig(&self.sig, &mut out);
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
        encode_sig(&op.sig, &mut tail);
        if !bytes.ends_with(&tail) {
            return Err(DecodeError::Invalid("signature encoding"));
        }
        let mut h = blake3::Hasher::new();
        h.update(&bytes[..bytes.len() - tail.len()]);
        h.update(&[EMPTY_SIG]);
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
mod tests;
