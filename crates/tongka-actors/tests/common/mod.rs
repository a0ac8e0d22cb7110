//! Helpers shared by the actor tests.

/// `e` with its op's sequence number (a small integer) re-written in the
/// one-byte-argument CBOR form (`0x18 n`): the same op, other bytes.
pub fn widen_seq(e: tongka_core::op::EncodedOp) -> tongka_core::op::EncodedOp {
    let b = &e.bytes;
    // format byte, op array, id array, origin (a short text string), seq.
    assert_eq!(b[1], 0x88, "an op is an array of 8");
    assert_eq!(b[2], 0x82, "an id is an array of 2");
    let len = usize::from(b[3] - 0x60);
    let at = 4 + len;
    assert!(b[at] < 0x18, "a small sequence number");
    let mut wide = b[..at].to_vec();
    wide.extend_from_slice(&[0x18, b[at]]);
    wide.extend_from_slice(&b[at + 1..]);
    let again = tongka_core::op::EncodedOp::decode(wide).expect("still an op");
    assert_eq!(again.op, e.op, "the same op");
    again
}
