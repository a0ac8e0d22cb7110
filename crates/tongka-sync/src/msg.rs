//! The messages peers exchange, and their encoding. Decoding never panics
//! and checks every op inside (it is the decoder of network input).

use serde::{Deserialize, Serialize};
use tongka_core::clock::VersionVector;
use tongka_core::escrow::Want;
use tongka_core::ids::NodeId;
use tongka_core::op::{self, EncodedOp, Op};

/// The first byte of every encoded message. Format 2: one `Ask` for
/// every escrowed counter (format 1 had `Ask` for money and `AskPoints`);
/// a node of format 1 and one of format 2 refuse each other's messages as
/// of an unknown format, and do not replicate (upgrade every node).
pub const MSG_FORMAT: u8 = 2;
/// The largest message accepted.
pub const MSG_BYTES_MAX: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// First message on a connection: who I am, what I hold, and the nodes
    /// I am linked to (the relay policy, see `Replica`).
    Hello {
        chain: String,
        node: NodeId,
        held: VersionVector,
        links: Vec<NodeId>,
    },
    /// What I hold now (after applying what you sent), and the nodes I am
    /// linked to now.
    Have {
        held: VersionVector,
        links: Vec<NodeId>,
    },
    /// Ops you lack, in rank order, each encoded as `Op::encode`.
    Ops { ops: Vec<Vec<u8>> },
    /// Escrow: give me up to `want` of a counter you hold a share of (a
    /// member's balance or points; `tongka_core::escrow::Counter`), one
    /// message for every escrowed counter.
    Ask { req: u64, want: Want },
    /// Escrow: the answer to `Ask` `req`: the transfer op(s) made for it
    /// (none if nothing was held). They are also streamed as usual.
    Gave { req: u64, ops: Vec<Vec<u8>> },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("empty message")]
    Empty,
    #[error("message of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("unknown message format {0}")]
    Format(u8),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("op {index} in the message: {error}")]
    Op {
        index: usize,
        error: op::DecodeError,
    },
}

impl Msg {
    pub fn ops(ops: &[Op]) -> Msg {
        Msg::Ops {
            ops: ops.iter().map(Op::encode).collect(),
        }
    }

    /// An `Ops` message of ops as they were encoded (no encoding again).
    pub fn encoded_ops(ops: Vec<EncodedOp>) -> Msg {
        Msg::Ops {
            ops: ops.into_iter().map(|o| o.bytes).collect(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![MSG_FORMAT];
        postcard::to_io(self, &mut out).expect("encoding to memory cannot fail");
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Msg, DecodeError> {
        let (&format, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        if bytes.len() > MSG_BYTES_MAX {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        if format != MSG_FORMAT {
            return Err(DecodeError::Format(format));
        }
        postcard::from_bytes(rest).map_err(|e| DecodeError::Malformed(e.to_string()))
    }

    /// The ops of an `Ops` message, decoded and checked, each kept with its
    /// bytes and their hash (`EncodedOp::decode`).
    pub fn decode_encoded_ops(encoded: Vec<Vec<u8>>) -> Result<Vec<EncodedOp>, DecodeError> {
        encoded
            .into_iter()
            .enumerate()
            .map(|(index, b)| {
                EncodedOp::decode(b).map_err(|error| DecodeError::Op { index, error })
            })
            .collect()
    }

    /// The ops of an `Ops` message, decoded and checked.
    pub fn decode_ops(encoded: &[Vec<u8>]) -> Result<Vec<Op>, DecodeError> {
        encoded
            .iter()
            .enumerate()
            .map(|(index, b)| Op::decode(b).map_err(|error| DecodeError::Op { index, error }))
            .collect()
    }
}
