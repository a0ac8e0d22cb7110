//! Op signatures: what a node signs verifies, and every kind of tampering
//! is refused (changed byte, another origin's key, a certificate of another
//! chain, an HQ-authored sale, an unsigned op, an unknown origin).

use std::path::Path;

use tongka_config::{ChainManifest, ChainNewOptions, NodeConfig};
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId, RechargeId};
use tongka_core::money::Money;
use tongka_core::op::{EncodedOp, Op, OpBody, OpDraft, OpSigner};
use tongka_net::{CertRole, Identity, OpKey, Trust, TrustError};
use tongka_replication::{ChainSigner, verify_encoded, verify_op};

fn chain(dir: &Path, hq: bool) -> Vec<Identity> {
    let mut opts = ChainNewOptions::new(dir, 2);
    opts.hq = hq;
    tongka_config::chain_new(&opts).unwrap();
    let manifest = ChainManifest::load(dir).unwrap();
    manifest
        .nodes
        .iter()
        .map(|n| {
            let tls = NodeConfig::load(n.config_path(dir)).unwrap().tls().unwrap();
            Identity::load(&tls.ca_cert, &tls.cert, &tls.key).unwrap()
        })
        .collect()
}

fn recharge(origin: &str, seq: u64) -> Op {
    let node = NodeId::new(origin).unwrap();
    OpDraft {
        hlc: Hlc { ms: 1, count: 0 },
        by: "till".into(),
        idem: None,
        body: OpBody::Recharged {
            member: MemberId::mint(&node, 1),
            recharge: RechargeId::mint(&node, seq),
            amount: Money::from_yuan(100),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
    }
    .stamp(OpId { origin: node, seq }, VersionVector::new())
}

fn signed(mut op: Op, id: &Identity) -> Op {
    let signer = ChainSigner(OpKey::from_identity(id).unwrap());
    let unsigned = op.encode();
    let bytes = op.sign_encoded(unsigned, &signer);
    assert_eq!(Op::decode(&bytes).unwrap(), op);
    op
}

#[test]
fn signed_ops_verify_and_tampering_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let ids = chain(&dir, true);
    let (s1, s2, hq) = (&ids[0], &ids[1], &ids[2]);
    assert_eq!(
        (s1.node_name(), s2.node_name(), hq.node_name()),
        ("store-1", "store-2", "hq")
    );
    // store-2's view: it knows its own certificate and learns the others.
    let trust = Trust::new(s2, None).unwrap();
    assert_eq!(trust.role("store-2"), Some(CertRole::Store));
    let op = signed(recharge("store-1", 1), s1);
    assert!(
        matches!(verify_op(&trust, &op), Err(e) if e.contains("no certificate known for origin store-1")),
        "an origin whose certificate is unknown is refused"
    );
    assert_eq!(
        trust.learn(&s1.certificate()).unwrap(),
        Some("store-1".into())
    );
    assert_eq!(trust.learn(&s1.certificate()).unwrap(), None);
    assert_eq!(trust.learn(&hq.certificate()).unwrap(), Some("hq".into()));
    assert_eq!(trust.role("hq"), Some(CertRole::Hq));
    verify_op(&trust, &op).unwrap();

    // A changed byte anywhere in the signed part: the amount, the sequence
    // number, the signature itself.
    let mut amount = op.clone();
    if let OpBody::Recharged { amount: a, .. } = &mut amount.body {
        *a = Money::from_yuan(1000);
    }
    assert!(
        verify_op(&trust, &amount)
            .unwrap_err()
            .contains("does not verify")
    );
    let mut seq = op.clone();
    seq.id.seq = 2;
    assert!(verify_op(&trust, &seq).is_err());
    let mut sig = op.clone();
    sig.sig[10] ^= 1;
    assert!(verify_op(&trust, &sig).is_err());
    // Every byte of the encoding: flipped, the op either fails to decode or
    // fails to verify.
    let bytes = op.encode();
    for i in 1..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x20;
        if let Ok(o) = Op::decode(&b) {
            assert!(
                verify_op(&trust, &o).is_err(),
                "byte {i} changed, still verifies"
            );
        }
    }
    // The same as received bytes (kept and stored as they are): the op as
    // encoded verifies; any byte flipped fails to decode or to verify, and
    // bytes added or removed are refused.
    verify_encoded(&trust, &EncodedOp::decode(bytes.clone()).unwrap()).unwrap();
    for i in 1..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x20;
        if let Ok(o) = EncodedOp::decode(b) {
            assert!(
                verify_encoded(&trust, &o).is_err(),
                "raw byte {i} changed, still verifies"
            );
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    if let Ok(o) = EncodedOp::decode(longer) {
        assert!(verify_encoded(&trust, &o).is_err(), "a byte added");
    }
    for cut in [1, 2, op.sig.len()] {
        if let Ok(o) = EncodedOp::decode(bytes[..bytes.len() - cut].to_vec()) {
            assert!(verify_encoded(&trust, &o).is_err(), "{cut} bytes cut");
        }
    }

    // Unsigned, or signed by another node's key under store-1's name.
    let unsigned = recharge("store-1", 1);
    assert!(verify_op(&trust, &unsigned).is_err());
    let forged = signed(recharge("store-1", 1), s2);
    assert!(
        verify_op(&trust, &forged)
            .unwrap_err()
            .contains("does not verify")
    );

    // HQ sells nothing: its recharge is refused though its signature is good.
    let hq_sale = signed(recharge("hq", 1), hq);
    let e = verify_op(&trust, &hq_sale).unwrap_err();
    assert!(e.contains("HQ sells nothing"), "{e}");

    // Batched verification answers as single verification does.
    let signed: Vec<(Vec<u8>, Vec<u8>)> = [&op, &forged, &op]
        .iter()
        .map(|o| {
            let (m, s) = o.signed_message().unwrap();
            (m, s.to_vec())
        })
        .collect();
    let items: Vec<_> = signed
        .iter()
        .map(|(m, s)| ("store-1", m.as_slice(), s.as_slice()))
        .collect();
    let res = trust.verify_all(&items);
    assert!(res[0].is_ok() && res[1].is_err() && res[2].is_ok());
    let good = [items[0], items[2]];
    assert!(trust.verify_all(&good).iter().all(Result::is_ok));
    assert!(unsigned.signed_message().is_none());

    // Ops committed together share one signature: each verifies alone, and
    // a tampered one among them is refused while the others pass.
    let mut batch: Vec<Op> = (1..=5).map(|seq| recharge("store-1", seq)).collect();
    let items = batch
        .iter_mut()
        .map(|o| {
            let (b, h) = o.encode_and_hash();
            (o, b, h)
        })
        .collect();
    let signer = ChainSigner(OpKey::from_identity(s1).unwrap());
    tongka_core::op::sign_batch(items, &signer);
    for o in &batch {
        verify_op(&trust, o).unwrap();
    }
    if let OpBody::Recharged { amount, .. } = &mut batch[3].body {
        *amount = Money::from_yuan(1);
    }
    assert!(verify_op(&trust, &batch[3]).is_err());
    verify_op(&trust, &batch[4]).unwrap();
}

#[test]
fn certificates_of_another_chain_are_not_learnt() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = chain(&tmp.path().join("ours"), false);
    let theirs_dir = tmp.path().join("theirs");
    let theirs = chain(&theirs_dir, false);
    let trust = Trust::new(&ours[0], None).unwrap();
    // Their store-2 has the name of one of ours, but another CA.
    let e = trust.learn(&theirs[1].certificate()).unwrap_err();
    assert!(matches!(e, TrustError::NotOfChain(_)), "{e}");
    assert_eq!(trust.role("store-2"), None);
    // So an op signed by their store-2 finds no certificate here.
    let op = signed(recharge("store-2", 1), &theirs[1]);
    assert!(verify_op(&trust, &op).is_err());
    assert!(trust.learn(b"not a certificate").is_err());
}

#[test]
fn learnt_certificates_are_kept_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let ids = chain(&dir, true);
    let kept = tmp.path().join("certs");
    {
        let trust = Trust::new(&ids[0], Some(&kept)).unwrap();
        trust.learn(&ids[2].certificate()).unwrap();
    }
    let trust = Trust::new(&ids[0], Some(&kept)).unwrap();
    assert_eq!(trust.role("hq"), Some(CertRole::Hq));
    assert_eq!(trust.len(), 2);
    let op = OpDraft {
        hlc: Hlc::default(),
        by: "hq".into(),
        idem: None,
        body: OpBody::SharesTransferred {
            member: MemberId::mint(&NodeId::new("hq").unwrap(), 1),
            to: NodeId::new("store-1").unwrap(),
            principal: Money::ZERO,
            bonus: Money::ZERO,
            points: 0,
        },
    }
    .stamp(
        OpId {
            origin: NodeId::new("hq").unwrap(),
            seq: 1,
        },
        VersionVector::new(),
    );
    verify_op(&trust, &signed(op, &ids[2])).unwrap();
    // The signer is the TLS key: a signature is 64 bytes.
    let key = ChainSigner(OpKey::from_identity(&ids[0]).unwrap());
    assert_eq!(key.sign(b"x").len(), 64);
}

/// A chain node's trust store and another node's certificate, made once.
fn fixture() -> &'static (Trust, Vec<u8>) {
    static FIXTURE: std::sync::OnceLock<(Trust, Vec<u8>)> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let ids = chain(&tmp.path().join("chain"), false);
        (Trust::new(&ids[0], None).unwrap(), ids[1].certificate())
    })
}

proptest::proptest! {
    /// Certificates come from peers: arbitrary or damaged bytes are refused
    /// (or, untouched, learnt) without panicking.
    #[test]
    fn learning_arbitrary_or_damaged_certificates_never_panics(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024),
        flips in proptest::collection::vec(
            (proptest::prelude::any::<usize>(), 1..=255u8), 1..6),
    ) {
        let (trust, cert) = fixture();
        let _ = trust.learn(&bytes);
        let mut damaged = cert.clone();
        for (i, x) in flips {
            let n = damaged.len();
            damaged[i % n] ^= x;
        }
        let _ = trust.learn(&damaged);
        proptest::prop_assert!(trust.learn(cert).is_ok());
    }
}
