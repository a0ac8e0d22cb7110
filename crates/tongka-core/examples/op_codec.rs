//! The op codec's cost per op, printed: encoding (whole, and split as the
//! store does: the tail on the caller's thread, the head on the writer's),
//! decoding, and bytes, for a typical sale (3 lines, balance tender, a
//! member) and a recharge. Uses only the op API that did not change with
//! the format, so the same file measures the format before it (postcard)
//! and after (minicbor). Run: `cargo run --release -p tongka-core
//! --example op_codec`.

use std::hint::black_box;
use std::time::Instant;

use rust_decimal::Decimal;
use tongka_core::checkout::{Buyer, CheckoutContext, LineInput, TenderInput, TenderKind, checkout};
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId, RechargeId};
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_core::programme::Programme;
use tongka_core::wallet::{Share, Wallet};
use tongka_core::{Hlc, Money, VersionVector};

fn stamp(body: OpBody, node: &NodeId) -> (OpDraft, Op) {
    let draft = OpDraft {
        hlc: Hlc {
            ms: 1_764_000_000_000,
            count: 3,
        },
        by: "till-1".into(),
        idem: Some("8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b".into()),
        body,
    };
    let mut deps = VersionVector::new();
    for (n, s) in [("hq", 12u64), ("store-2", 4_000), ("store-3", 3_500)] {
        deps.raise(&NodeId::new(n).unwrap(), s);
    }
    let op = draft.clone().stamp(
        OpId {
            origin: node.clone(),
            seq: 123_456,
        },
        deps,
    );
    (draft, op)
}

fn sale(node: &NodeId) -> OpBody {
    let p = Programme::default();
    let member = MemberId::mint(node, 42);
    let mut wallet = Wallet::default();
    wallet.credit(
        node,
        Share {
            principal: Money::from_yuan(1000),
            bonus: Money::from_yuan(100),
            points: 0,
        },
    );
    let ctx = CheckoutContext {
        programme: &p,
        store: node,
        order: OrderId::mint(node, 43),
        at: Hlc::default(),
        buyer: Some(Buyer {
            member: &member,
            level: &p.levels[1],
            wallet: &wallet,
        }),
    };
    let line = |sku: &str, desc: &str, fen: i64, qty: i64| LineInput {
        sku: Some(sku.into()),
        barcode: Some("6900000000017".into()),
        description: desc.into(),
        unit_price: Money::from_fen(fen),
        qty: Decimal::new(qty, 0),
        card: None,
        pricing: Default::default(),
    };
    let order = checkout(
        &ctx,
        &[
            line("latte", "拿铁 Latte", 3200, 2),
            line("tea", "茶 Tea", 1800, 1),
            line("cake", "蛋糕 Cake", 2850, 1),
        ],
        &[TenderInput {
            kind: TenderKind::Balance,
            amount: None,
        }],
    )
    .unwrap();
    OpBody::sale(order)
}

fn recharge(node: &NodeId) -> OpBody {
    OpBody::Recharged {
        member: MemberId::mint(node, 42),
        recharge: RechargeId::mint(node, 44),
        amount: Money::from_yuan(500),
        bonus: Money::from_yuan(50),
        tender: TenderKind::Wechat,
    }
}

/// Nanoseconds per call of `f`: the fastest of 15 rounds of `n / 15`
/// calls (the machine is shared: the fastest round is the one least
/// disturbed).
fn ns(n: u32, f: impl Fn()) -> u128 {
    let per = n / 15;
    for _ in 0..per {
        f();
    }
    (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per {
                f();
            }
            t.elapsed().as_nanos() / u128::from(per)
        })
        .min()
        .expect("15 rounds")
}

fn main() {
    let node = NodeId::new("store-1").unwrap();
    let n = 600_000;
    // writer: the head encoded and the whole hashed (`encode_with_tail`).
    println!("op      bytes  encode_ns  tail_ns  writer_ns  decode_ns");
    for (name, body) in [("sale", sale(&node)), ("recharge", recharge(&node))] {
        let (draft, op) = stamp(body, &node);
        let bytes = op.encode();
        assert_eq!(Op::decode(&bytes).unwrap(), op);
        let tail = draft.encode_tail();
        let encode = ns(n, || {
            black_box(black_box(&op).encode());
        });
        let tail_ns = ns(n, || {
            black_box(black_box(&draft).encode_tail());
        });
        let head_ns = ns(n, || {
            black_box(black_box(&op).encode_with_tail(&tail));
        });
        let decode = ns(n, || {
            black_box(Op::decode(black_box(&bytes)).unwrap());
        });
        println!(
            "{name:<8}{:>5}  {encode:>9}  {tail_ns:>7}  {head_ns:>9}  {decode:>9}",
            bytes.len()
        );
    }
}
