//! Stored values: the format byte and postcard encoding of the values the
//! tables hold (members, orders, idempotency records, products, the summary,
//! the index watermark), and little-endian numbers in `meta`.

use serde::{Serialize, de::DeserializeOwned};

use crate::DbError;
use crate::tables::VALUE_FORMAT_V1;

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![VALUE_FORMAT_V1];
    postcard::to_io(v, &mut out).expect("encoding to memory cannot fail");
    out
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, DbError> {
    match bytes.split_first() {
        Some((&VALUE_FORMAT_V1, rest)) => {
            postcard::from_bytes(rest).map_err(|e| DbError::Corrupt(format!("{what}: {e}")))
        }
        _ => Err(DbError::Corrupt(format!("{what}: unknown value format"))),
    }
}

pub(crate) fn u64_from(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.get(..8).and_then(|s| s.try_into().ok()).unwrap_or([0; 8]))
}
