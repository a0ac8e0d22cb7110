//! Helpers shared by the actor tests. Each test binary uses some of them.
#![allow(dead_code)]

use std::time::Duration;

use tongka_actors::{Engine, EngineConfig};
use tongka_core::ids::NodeId;
use tongka_core::programme::Programme;
use tongka_db::{Db, DbOptions};

/// An engine over `db` (the default programme), as a test node runs it.
pub fn engine_on(db: Db, hlc: tongka_core::clock::Hlc) -> Engine {
    Engine::new(
        db,
        Programme::default(),
        hlc,
        EngineConfig {
            max_in_flight: 64,
            idle_passivate: Duration::from_secs(60),
        },
    )
}

/// A fresh node `node` with its db in `dir`.
pub fn engine(dir: &std::path::Path, node: &str) -> Engine {
    let (db, rec) = Db::open(
        &dir.join(format!("{node}.redb")),
        DbOptions {
            node: NodeId::new(node).unwrap(),
            max_batch: 64,
            queue_max: 1024,
        },
    )
    .unwrap();
    engine_on(db, rec.hlc)
}

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
