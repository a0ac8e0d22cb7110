use super::*;

fn op(seq: u64) -> Op {
    let node = NodeId::new("store-1").unwrap();
    OpDraft {
        hlc: Hlc {
            ms: 1,
            count: seq as u32,
        },
        by: "admin".into(),
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
    assert_eq!(Op::decode(&[1, 1, 2]), Err(DecodeError::FormatRetired(1)));
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
        card: None,
        pricing: Default::default(),
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
    for body in [OpBody::sale(order), OpBody::refund(refund)] {
        let o = OpDraft {
            hlc: Hlc::default(),
            by: "a".into(),
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
    // Trailing bytes after an op: refused, not ignored.
    let mut long = op(1).encode();
    long.push(0);
    assert!(matches!(Op::decode(&long), Err(DecodeError::Malformed(_))));
}

#[test]
fn cheap_encodings_and_hashes_match_the_plain_ones() {
    let mut o = op(7);
    let draft = OpDraft {
        hlc: o.hlc,
        by: o.by.clone(),
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
        // The signature's length written overlong (two length bytes
        // where one does): decodes, but is not the origin's bytes.
        let n = o.sig.len();
        assert!((24..256).contains(&n), "a one-byte length");
        let mut overlong = bytes[..bytes.len() - n - 2].to_vec();
        overlong.extend_from_slice(&[0x59, 0, n as u8]);
        overlong.extend_from_slice(&o.sig);
        assert_eq!(
            EncodedOp::decode(overlong),
            Err(DecodeError::Invalid("signature encoding"))
        );
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
