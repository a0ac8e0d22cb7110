//! What the db's tests share: a node's db on a real redb file, a request
//! submitted and waited for, and a member registered by a real op.
#![allow(dead_code)] // each test file uses its part

use std::sync::mpsc;

use tongka_core::clock::Hlc;
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::member::Profile;
use tongka_core::op::{OpBody, OpDraft};
use tongka_core::state::MemberState;
use tongka_db::{Db, DbError, DbOptions, Effects, Source};

/// The node the tests' dbs belong to.
pub fn node() -> NodeId {
    NodeId::new("store-1").unwrap()
}

pub fn open(path: &std::path::Path) -> Db {
    Db::open(
        path,
        DbOptions {
            node: node(),
            max_batch: 64,
            queue_max: 1024,
        },
    )
    .unwrap()
    .0
}

/// Submit and wait for the answer (after the commit).
pub fn submit_wait(db: &Db, source: Source, effects: Effects) -> Result<OpId, DbError> {
    let (tx, rx) = mpsc::channel();
    db.submit(source, effects, Box::new(move |r| tx.send(r).unwrap()));
    rx.recv().unwrap()
}

/// A draft made at `ms` by `t`, without an idempotency key.
pub fn draft(ms: u64, body: OpBody) -> OpDraft {
    OpDraft {
        hlc: Hlc { ms, count: 0 },
        by: "t".into(),
        idem: None,
        body,
    }
}

pub fn profile(phone: &str) -> Profile {
    Profile {
        phone: phone.into(),
        name: "测试".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    }
}

/// Register a member at `ms` with `phone` (claimed in the index): the
/// member's state as the op leaves it, and the op's id.
pub fn register(db: &Db, ms: u64, phone: &str) -> (MemberState, OpId) {
    let member = MemberId::mint(&node(), db.next_entity());
    let d = draft(
        ms,
        OpBody::MemberRegistered {
            member: member.clone(),
            profile: profile(phone),
            opening: None,
        },
    );
    let op = d.clone().stamp(
        OpId {
            origin: node(),
            seq: 0,
        },
        Default::default(),
    );
    let state = MemberState::registered(&op).unwrap();
    let id = submit_wait(
        db,
        Source::Local(d),
        Effects {
            member: Some(state.clone()),
            phones: vec![(phone.into(), Some(member))],
            ..Default::default()
        },
    )
    .unwrap();
    (state, id)
}
