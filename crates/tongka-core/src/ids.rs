//! Identifiers: node names, op ids and the ids of members, orders,
//! recharges and refunds. Entity ids embed the node that created them, so
//! nodes mint ids without asking anyone and ids never collide chain-wide.

use std::fmt;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// The longest node name.
pub const NODE_NAME_LEN_MAX: usize = 32;

/// A node's name, as in its certificate (`store-1`, `hq`): 1–32 characters
/// of `a-z`, `0-9`, `-`, starting with a letter.
///
/// Held inline (no allocation), padded with zero bytes: a name never holds
/// a zero byte, so comparing the padded bytes orders names as their text
/// (a prefix first), and equal bytes are equal names. Encoded as its text
/// (a string), as it always was.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeId([u8; NODE_NAME_LEN_MAX]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node name {0:?}: 1-32 characters of a-z, 0-9 and '-', starting with a letter")]
pub struct BadNodeId(pub String);

impl NodeId {
    pub fn new(name: impl Into<String>) -> Result<NodeId, BadNodeId> {
        let name = name.into();
        NodeId::parse(&name).ok_or(BadNodeId(name))
    }

    /// The name, if `name` is a valid one.
    fn parse(name: &str) -> Option<NodeId> {
        let b = name.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= NODE_NAME_LEN_MAX
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
        ok.then(|| {
            let mut a = [0u8; NODE_NAME_LEN_MAX];
            a[..b.len()].copy_from_slice(b);
            NodeId(a)
        })
    }

    pub fn as_str(&self) -> &str {
        let len = self
            .0
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(NODE_NAME_LEN_MAX);
        std::str::from_utf8(&self.0[..len]).expect("node names are ASCII")
    }

    /// Half `h` (0 or 1) of the padded name as a big-endian word: the
    /// halves compare as the text.
    #[inline]
    fn half(&self, h: usize) -> u128 {
        u128::from_be_bytes(self.0[h * 16..h * 16 + 16].try_into().expect("16 bytes"))
    }
}

impl std::hash::Hash for NodeId {
    /// One word, folded from the padded name (equal names, equal words).
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let w = |i: usize| u64::from_le_bytes(self.0[i..i + 8].try_into().expect("8 bytes"));
        state
            .write_u64(w(0) ^ w(8).rotate_left(16) ^ w(16).rotate_left(32) ^ w(24).rotate_left(48));
    }
}

impl PartialOrd for NodeId {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NodeId {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match self.half(0).cmp(&other.half(0)) {
            std::cmp::Ordering::Equal => self.half(1).cmp(&other.half(1)),
            o => o,
        }
    }
}

/// In ops (`codec`): its text.
impl<C> minicbor::Encode<C> for NodeId {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut minicbor::Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.str(self.as_str())?;
        Ok(())
    }
}

impl<'b, C> minicbor::Decode<'b, C> for NodeId {
    fn decode(d: &mut minicbor::Decoder<'b>, _: &mut C) -> Result<NodeId, minicbor::decode::Error> {
        NodeId::parse(d.str()?).ok_or_else(|| minicbor::decode::Error::message("invalid node name"))
    }
}

impl TryFrom<String> for NodeId {
    type Error = BadNodeId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        NodeId::new(s)
    }
}

impl From<NodeId> for String {
    fn from(n: NodeId) -> String {
        n.as_str().to_string()
    }
}

impl Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NodeId, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = NodeId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NodeId, E> {
                NodeId::parse(v).ok_or_else(|| E::custom(BadNodeId(v.to_string())))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<NodeId, E> {
                match std::str::from_utf8(v) {
                    Ok(s) => self.visit_str(s),
                    Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
                }
            }
        }
        d.deserialize_str(Name)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unique id of an op: the node that made it and its place in that
/// node's log (1, 2, 3, … without gaps).
#[derive(
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
pub struct OpId {
    #[n(0)]
    pub origin: NodeId,
    #[n(1)]
    pub seq: u64,
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.origin, self.seq)
    }
}

impl fmt::Debug for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The longest entity id accepted from a client.
pub const ENTITY_ID_LEN_MAX: usize = 64;

macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        ///
        /// Held inline when short (every id a node of a short name mints),
        /// without allocating; ordered, compared and encoded as its text.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SmolStr);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// The id minted by `node` from its entity counter value `n`.
            pub fn mint(node: &NodeId, n: u64) -> $name {
                $name(smol_str::format_smolstr!("{}{}-{}", $prefix, node, n))
            }

            /// Accept an id given by a client, if it has this kind's shape.
            pub fn parse(text: &str) -> Option<$name> {
                let rest = text.strip_prefix($prefix)?;
                let (node, n) = rest.rsplit_once('-')?;
                let ok = text.len() <= ENTITY_ID_LEN_MAX
                    && NodeId::new(node).is_ok()
                    && !n.is_empty()
                    && n.len() <= 20
                    && n.bytes().all(|b| b.is_ascii_digit());
                ok.then(|| $name(SmolStr::new(text)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The minting node's counter value in the id (its order of
            /// minting at that node; the text orders `-10` before `-9`).
            pub fn number(&self) -> u64 {
                self.0
                    .rsplit_once('-')
                    .and_then(|(_, n)| n.parse().ok())
                    .unwrap_or(0)
            }
        }

        /// In ops (`codec`): its text.
        impl<C> minicbor::Encode<C> for $name {
            fn encode<W: minicbor::encode::Write>(
                &self,
                e: &mut minicbor::Encoder<W>,
                _: &mut C,
            ) -> Result<(), minicbor::encode::Error<W::Error>> {
                e.str(&self.0)?;
                Ok(())
            }
        }

        impl<'b, C> minicbor::Decode<'b, C> for $name {
            fn decode(
                d: &mut minicbor::Decoder<'b>,
                _: &mut C,
            ) -> Result<$name, minicbor::decode::Error> {
                d.str().map(|t| $name(SmolStr::new(t)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

entity_id!(
    /// A member (`m-store-1-42`).
    MemberId,
    "m-"
);
entity_id!(
    /// A sale (`o-store-1-43`).
    OrderId,
    "o-"
);
entity_id!(
    /// A recharge (`r-store-1-44`).
    RechargeId,
    "r-"
);
entity_id!(
    /// A refund of (part of) an order (`f-store-1-45`).
    RefundId,
    "f-"
);
entity_id!(
    /// A coupon issued to a member, its code (`c-store-1-46`).
    CouponId,
    "c-"
);
entity_id!(
    /// A count or period card sold to a member, its code (`k-store-1-47`).
    CardId,
    "k-"
);
entity_id!(
    /// A staff account (`s-hq-3`).
    StaffId,
    "s-"
);
entity_id!(
    /// A store's withdrawal request (提现, `w-store-1-48`): `settlement`.
    WithdrawalId,
    "w-"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names() {
        assert!(NodeId::new("store-1").is_ok());
        assert!(NodeId::new("hq").is_ok());
        for bad in ["", "1store", "Store", "a b", "x".repeat(33).as_str(), "-a"] {
            assert!(NodeId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn entity_ids_parse_what_they_mint() {
        let n = NodeId::new("store-12").unwrap();
        let m = MemberId::mint(&n, 7);
        assert_eq!(m.as_str(), "m-store-12-7");
        assert_eq!(MemberId::parse("m-store-12-7"), Some(m));
        assert_eq!(MemberId::parse("o-store-12-7"), None);
        assert_eq!(MemberId::parse("m-store-12-"), None);
        assert_eq!(MemberId::parse("m-Store-1-2"), None);
        assert_eq!(MemberId::parse("m-store-1-2x"), None);
        assert_eq!(OrderId::parse("o-hq-1").unwrap().as_str(), "o-hq-1");
    }

    fn name() -> impl proptest::strategy::Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,31}"
    }

    proptest::proptest! {
        /// Inline names order, compare and print as their text did, and
        /// encode as the text (a `String`'s encoding), both ways.
        #[test]
        fn names_behave_as_their_text(a in name(), b in name()) {
            let (x, y) = (NodeId::new(a.clone()).unwrap(), NodeId::new(b.clone()).unwrap());
            proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            proptest::prop_assert_eq!(x == y, a == b);
            proptest::prop_assert_eq!(x.as_str(), a.as_str());
            proptest::prop_assert_eq!(format!("{x} {x:?}"), format!("{a} {a}"));
            let bytes = postcard::to_allocvec(&x).unwrap();
            proptest::prop_assert_eq!(&bytes, &postcard::to_allocvec(&a).unwrap());
            proptest::prop_assert_eq!(postcard::from_bytes::<NodeId>(&bytes).unwrap(), x.clone());
            let json = serde_json::to_string(&x).unwrap();
            proptest::prop_assert_eq!(&json, &serde_json::to_string(&a).unwrap());
            proptest::prop_assert_eq!(serde_json::from_str::<NodeId>(&json).unwrap(), x);
        }
    }

    #[test]
    fn bad_names_are_refused_when_decoded() {
        for bad in [
            "",
            "1store",
            "Store",
            "a b",
            "x".repeat(33).as_str(),
            "-a",
            "a\0",
        ] {
            let bytes = postcard::to_allocvec(&bad.to_string()).unwrap();
            assert!(postcard::from_bytes::<NodeId>(&bytes).is_err(), "{bad:?}");
        }
        let e = serde_json::from_str::<NodeId>("\"Store\"").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid node name \"Store\""),
            "{e}"
        );
        let e = serde_json::from_str::<NodeId>("7").unwrap_err();
        assert!(e.to_string().contains("expected a string"), "{e}");
    }

    proptest::proptest! {
        /// Entity ids (inline when short, on the heap when long) order,
        /// compare, print and encode as their text, both ways.
        #[test]
        fn entity_ids_behave_as_their_text(a in name(), b in name(), n in 0u64..u64::MAX, m in 0u64..100) {
            let (x, y) = (MemberId::mint(&NodeId::new(a).unwrap(), n), MemberId::mint(&NodeId::new(b).unwrap(), m));
            let (tx, ty) = (x.as_str().to_string(), y.as_str().to_string());
            proptest::prop_assert_eq!(MemberId::parse(&tx), Some(x.clone()));
            proptest::prop_assert_eq!(x.cmp(&y), tx.cmp(&ty));
            proptest::prop_assert_eq!(x == y, tx == ty);
            proptest::prop_assert_eq!(format!("{x} {x:?}"), format!("{tx} {tx}"));
            let bytes = postcard::to_allocvec(&x).unwrap();
            proptest::prop_assert_eq!(&bytes, &postcard::to_allocvec(&tx).unwrap());
            proptest::prop_assert_eq!(postcard::from_bytes::<MemberId>(&bytes).unwrap(), x.clone());
            let json = serde_json::to_string(&x).unwrap();
            proptest::prop_assert_eq!(&json, &serde_json::to_string(&tx).unwrap());
            proptest::prop_assert_eq!(serde_json::from_str::<MemberId>(&json).unwrap(), x);
        }
    }
}
