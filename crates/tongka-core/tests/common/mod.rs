//! Helpers shared by the core's integration tests (each test binary uses
//! some of them): node names, ops made by hand, a registered member.
#![allow(dead_code)]

use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::member::Profile;
use tongka_core::state::MemberState;
use tongka_core::{Hlc, Op, OpBody, VersionVector};

/// 2026-12-05 12:00 in the chain's time zone (UTC+8), in ms.
pub const NOON: u64 = 1_796_443_200_000;
pub const DAY_MS: u64 = 86_400_000;

pub fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// Op number `seq` of `origin`, made at `ms`, with no deps.
pub fn op(origin: &str, seq: u64, ms: u64, body: OpBody) -> Op {
    tongka_core::op::OpDraft {
        hlc: Hlc { ms, count: 0 },
        by: "t".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: n(origin),
            seq,
        },
        VersionVector::new(),
    )
}

/// A member registered at `s1` at noon.
pub fn member() -> MemberState {
    let profile = Profile {
        phone: "13800000000".into(),
        name: "王芳".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    };
    let reg = op(
        "s1",
        1,
        NOON,
        OpBody::MemberRegistered {
            member: MemberId::mint(&n("s1"), 1),
            profile,
            opening: None,
        },
    );
    MemberState::registered(&reg).unwrap()
}
