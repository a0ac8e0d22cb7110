//! Identifiers: node names, op ids and the ids of members, orders,
//! recharges and refunds. Entity ids embed the node that created them, so
//! nodes mint ids without asking anyone and ids never collide chain-wide.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node's name, as in its certificate (`store-1`, `hq`): 1–32 characters
/// of `a-z`, `0-9`, `-`, starting with a letter.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node name {0:?}: 1-32 characters of a-z, 0-9 and '-', starting with a letter")]
pub struct BadNodeId(pub String);

impl NodeId {
    pub fn new(name: impl Into<String>) -> Result<NodeId, BadNodeId> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= 32
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(NodeId(name))
        } else {
            Err(BadNodeId(name))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
        n.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The unique id of an op: the node that made it and its place in that
/// node's log (1, 2, 3, … without gaps).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId {
    pub origin: NodeId,
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
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// The id minted by `node` from its entity counter value `n`.
            pub fn mint(node: &NodeId, n: u64) -> $name {
                $name(format!("{}{}-{}", $prefix, node, n))
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
                ok.then(|| $name(text.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
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
}
