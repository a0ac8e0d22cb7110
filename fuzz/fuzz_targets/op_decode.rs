//! `Op::decode` and `EncodedOp::decode` (the codec's edge, op format 2) on
//! arbitrary bytes (what a peer or a damaged disk may hand a node): they
//! never panic, and an op that decodes re-encodes to bytes that decode to
//! the same op, and encode to the same bytes again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tongka_core::op::{EncodedOp, Op};

fuzz_target!(|data: &[u8]| {
    let kept = EncodedOp::decode(data.to_vec());
    let Ok(op) = Op::decode(data) else {
        assert!(kept.is_err(), "EncodedOp decodes what Op refuses");
        return;
    };
    let bytes = op.encode();
    let again = match Op::decode(&bytes) {
        Ok(o) => o,
        Err(e) => panic!("an encoded op does not decode: {e}\n{op:?}"),
    };
    assert_eq!(again, op, "decode(encode(op)) is another op");
    assert_eq!(again.encode(), bytes, "encoding is not canonical");
    // What the store and the digest do with an op must not panic either.
    let _ = op.hash();
    let _ = op.body.member();
    let _ = op.body.kind();
});
