//! What travels on a replication connection: the protocol's messages
//! (`tongka_sync::Msg`) and, beside them, the node certificates peers pass
//! on so that every node can verify the signature of an op whose origin it
//! never connected to. The first byte tells them apart: `Msg` frames start
//! with `tongka_sync`'s format byte (1), certificate frames with
//! [`CERTS_FORMAT_V1`]. Decoding never panics (network input).

use tongka_sync::{DecodeError, Msg};

/// The first byte of a certificates frame.
pub const CERTS_FORMAT_V1: u8 = 0xC1;
/// Certificates in one frame, at most.
pub const CERTS_MAX: usize = 4096;
/// The largest certificate accepted (DER).
pub const CERT_BYTES_MAX: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Msg(Msg),
    /// Node certificates (DER) the sender knows, each to be checked against
    /// the chain CA before it is believed.
    Certs(Vec<Vec<u8>>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    #[error(transparent)]
    Msg(#[from] DecodeError),
    #[error("malformed certificates frame: {0}")]
    Certs(String),
}

impl Frame {
    pub fn encode_certs(certs: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![CERTS_FORMAT_V1];
        postcard::to_io(certs, &mut out).expect("encoding to memory cannot fail");
        out
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Frame::Msg(m) => m.encode(),
            Frame::Certs(c) => Frame::encode_certs(c),
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        match bytes.split_first() {
            Some((&CERTS_FORMAT_V1, rest)) => {
                if bytes.len() > tongka_sync::MSG_BYTES_MAX {
                    return Err(FrameError::Certs(format!("{} bytes", bytes.len())));
                }
                let certs: Vec<Vec<u8>> =
                    postcard::from_bytes(rest).map_err(|e| FrameError::Certs(e.to_string()))?;
                if certs.len() > CERTS_MAX {
                    return Err(FrameError::Certs(format!("{} certificates", certs.len())));
                }
                if let Some(c) = certs.iter().find(|c| c.len() > CERT_BYTES_MAX) {
                    return Err(FrameError::Certs(format!(
                        "a certificate of {} bytes",
                        c.len()
                    )));
                }
                Ok(Frame::Certs(certs))
            }
            _ => Ok(Frame::Msg(Msg::decode(bytes)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::clock::VersionVector;

    #[test]
    fn frames_round_trip() {
        let certs = Frame::Certs(vec![vec![0x30, 1, 2], vec![]]);
        assert_eq!(Frame::decode(&certs.encode()).unwrap(), certs);
        let have = Frame::Msg(Msg::Have {
            held: VersionVector::new(),
            links: vec![tongka_core::ids::NodeId::new("store-2").unwrap()],
        });
        assert_eq!(Frame::decode(&have.encode()).unwrap(), have);
        assert!(Frame::decode(&[]).is_err());
        assert!(Frame::decode(&[CERTS_FORMAT_V1, 5, 1]).is_err());
        let big = Frame::Certs(vec![vec![0; CERT_BYTES_MAX + 1]]);
        assert!(Frame::decode(&big.encode()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = Frame::decode(&bytes);
            let mut certs = bytes.clone();
            certs.insert(0, CERTS_FORMAT_V1);
            let _ = Frame::decode(&certs);
        }
    }
}
