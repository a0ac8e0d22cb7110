//! Staff accounts converge: every node applying the same `StaffChanged`
//! ops, in any causal order, holds the same book; concurrent edits of
//! different fields both stay, of one field the later wins.

use proptest::prelude::*;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{NodeId, OpId, StaffId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_core::staff::{
    Role, StaffBook, StaffError, StaffPatch, Stamp, approval_needed, check_login, check_password,
    may_manage,
};

const HASH_A: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGFoYXNoYQ";
const HASH_B: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$YmJiYmJiYmJiYg";

fn node(n: &str) -> NodeId {
    NodeId::new(n).unwrap()
}

fn op(origin: &str, seq: u64, ms: u64, staff: &StaffId, patch: StaffPatch) -> Op {
    OpDraft {
        hlc: Hlc { ms, count: 0 },
        by: "admin".into(),
        idem: None,
        body: OpBody::StaffChanged {
            staff: staff.clone(),
            patch,
        },
    }
    .stamp(
        OpId {
            origin: node(origin),
            seq,
        },
        VersionVector::default(),
    )
}

fn create(login: &str, role: Role, stores: &[&str]) -> StaffPatch {
    StaffPatch {
        login: Some(login.into()),
        name: Some(format!("{login} 名")),
        role: Some(role),
        stores: Some(stores.iter().map(|s| node(s)).collect()),
        disabled: Some(false),
        password: Some(HASH_A.into()),
    }
}

/// One edit of one field, picked by `k`.
fn edit(k: u8, v: u8) -> StaffPatch {
    match k % 5 {
        0 => StaffPatch {
            name: Some(format!("名字{v}")),
            ..Default::default()
        },
        1 => StaffPatch {
            role: Some(if v.is_multiple_of(2) {
                Role::Cashier
            } else {
                Role::StoreManager
            }),
            ..Default::default()
        },
        2 => StaffPatch {
            stores: Some(vec![node(if v.is_multiple_of(2) {
                "store-1"
            } else {
                "store-2"
            })]),
            ..Default::default()
        },
        3 => StaffPatch {
            disabled: Some(v.is_multiple_of(2)),
            ..Default::default()
        },
        _ => StaffPatch {
            password: Some(if v.is_multiple_of(2) { HASH_A } else { HASH_B }.into()),
            ..Default::default()
        },
    }
}

proptest! {
    /// Edits made at three nodes (each node's in its own order, after the
    /// creation) applied in any interleaving give the same book.
    #[test]
    fn any_order_gives_the_same_book(
        edits in prop::collection::vec((0u8..3, 0u8..5, any::<u8>(), 1u64..50), 1..20),
        seed in any::<u64>(),
    ) {
        let id = StaffId::mint(&node("hq"), 1);
        let first = op("hq", 1, 1, &id, create("li.na", Role::Cashier, &["store-1"]));
        let origins = ["hq", "store-1", "store-2"];
        let mut per: Vec<Vec<Op>> = vec![Vec::new(); 3];
        for (o, k, v, ms) in &edits {
            let o = usize::from(*o);
            let seq = per[o].len() as u64 + 2;
            // A node's own clock rises with its seq.
            let ms = 1 + seq * 100 + ms;
            per[o].push(op(origins[o], seq, ms, &id, edit(*k, *v)));
        }
        let in_order: Vec<Op> = per.iter().flatten().cloned().collect();
        // Another interleaving of the three logs, each kept in its order.
        let mut shuffled = Vec::new();
        let mut heads = [0usize; 3];
        let mut r = seed;
        while shuffled.len() < in_order.len() {
            r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let o = (r >> 33) as usize % 3;
            if heads[o] < per[o].len() {
                shuffled.push(per[o][heads[o]].clone());
                heads[o] += 1;
            }
        }
        let mut a = StaffBook::default();
        let mut b = StaffBook::default();
        a.apply(&first).unwrap();
        b.apply(&first).unwrap();
        for o in &in_order {
            a.apply(o).unwrap();
        }
        for o in &shuffled {
            b.apply(o).unwrap();
        }
        prop_assert_eq!(&a, &b);
        // Each field holds the value of its latest writer.
        let acc = a.get(&id).unwrap();
        let latest_name = in_order
            .iter()
            .filter_map(|o| match &o.body {
                OpBody::StaffChanged { patch, .. } => patch.name.clone().map(|n| ((o.hlc, o.id.origin.clone()), n)),
                _ => None,
            })
            .max()
            .map(|(_, n)| n)
            .unwrap_or_else(|| "li.na 名".into());
        prop_assert_eq!(&acc.name, &latest_name);
    }
}

#[test]
fn concurrent_edits_of_different_fields_both_stay_of_one_field_the_later_wins() {
    let id = StaffId::mint(&node("hq"), 1);
    let first = op(
        "hq",
        1,
        10,
        &id,
        create("wang", Role::Cashier, &["store-1"]),
    );
    // During a partition: store-1 changes the password, store-2 the name
    // and (later by clock) the password too.
    let pw1 = op(
        "store-1",
        1,
        100,
        &id,
        StaffPatch {
            password: Some(HASH_B.into()),
            ..Default::default()
        },
    );
    let name2 = op(
        "store-2",
        1,
        90,
        &id,
        StaffPatch {
            name: Some("王五".into()),
            ..Default::default()
        },
    );
    let pw2 = op(
        "store-2",
        2,
        120,
        &id,
        StaffPatch {
            password: Some(HASH_A.into()),
            ..Default::default()
        },
    );
    let mut at1 = StaffBook::default();
    let mut at2 = StaffBook::default();
    for o in [&first, &pw1, &name2, &pw2] {
        at1.apply(o).unwrap();
    }
    for o in [&first, &name2, &pw2, &pw1] {
        at2.apply(o).unwrap();
    }
    assert_eq!(at1, at2);
    let a = at1.get(&id).unwrap();
    assert_eq!(a.name, "王五");
    assert_eq!(a.password, HASH_A, "the later password (by clock) wins");
    assert_eq!(a.password_stamp(), &Stamp::of(&pw2));
    assert_eq!(a.created, Stamp::of(&first));
    assert_eq!(a.changed(), &Stamp::of(&pw2));
}

#[test]
fn two_accounts_with_one_login_the_lower_id_signs_in() {
    let mut book = StaffBook::default();
    let a = StaffId::mint(&node("store-1"), 7);
    let b = StaffId::mint(&node("hq"), 9);
    book.apply(&op(
        "store-1",
        7,
        5,
        &a,
        create("zhao", Role::Cashier, &["store-1"]),
    ))
    .unwrap();
    book.apply(&op("hq", 9, 6, &b, create("zhao", Role::HqFinance, &[])))
        .unwrap();
    let winner = book.by_login("zhao").unwrap();
    assert_eq!(winner.id, b, "s-hq-9 sorts before s-store-1-7");
    assert!(book.login_conflict(book.get(&a).unwrap()));
    assert!(!book.login_conflict(book.get(&b).unwrap()));
}

#[test]
fn bad_edits_are_refused_and_change_nothing() {
    let id = StaffId::mint(&node("hq"), 1);
    let mut book = StaffBook::default();
    // An edit before the creation: the account is unknown.
    let early = op(
        "store-1",
        1,
        5,
        &id,
        StaffPatch {
            name: Some("x".into()),
            ..Default::default()
        },
    );
    assert_eq!(book.apply(&early), Err(StaffError::NotFound));
    // A cashier without a store.
    let p = create("ok", Role::Cashier, &[]);
    let stamp = Stamp {
        hlc: Hlc { ms: 1, count: 0 },
        origin: node("hq"),
        by: "admin".into(),
    };
    assert_eq!(book.after(&id, &p, &stamp), Err(StaffError::StoresRequired));
    // Incomplete creation, a bad login, a bad name, a plain password.
    let mut p = create("ok", Role::HqAdmin, &[]);
    p.password = None;
    assert_eq!(book.after(&id, &p, &stamp), Err(StaffError::Incomplete));
    for bad in [
        "A",
        "a",
        "-ab",
        "ab cd",
        "ab\u{1b}",
        &"a".repeat(33),
        "张三",
    ] {
        assert_eq!(check_login(bad), Err(StaffError::Login), "{bad:?}");
    }
    let mut p = create("ok", Role::HqAdmin, &[]);
    p.name = Some("a\u{202e}b".into());
    assert!(matches!(
        book.after(&id, &p, &stamp),
        Err(StaffError::Name(_))
    ));
    let mut p = create("ok", Role::HqAdmin, &[]);
    p.password = Some("hunter22".into());
    assert_eq!(book.after(&id, &p, &stamp), Err(StaffError::Hash));
    for bad in ["short", "with\ttab1", &"x".repeat(129)] {
        assert_eq!(check_password(bad), Err(StaffError::Password), "{bad:?}");
    }
    assert!(check_password("correct horse").is_ok());
    assert!(book.is_empty());
}

#[test]
fn a_store_manager_manages_only_store_roles_of_their_stores() {
    let s1 = [node("store-1")];
    let both = [node("store-1"), node("store-2")];
    assert!(may_manage(Role::StoreManager, &s1, Role::Cashier, &s1).is_ok());
    assert!(may_manage(Role::StoreManager, &s1, Role::StoreManager, &s1).is_ok());
    assert!(may_manage(Role::StoreManager, &s1, Role::Cashier, &both).is_err());
    assert!(may_manage(Role::StoreManager, &s1, Role::HqAdmin, &[]).is_err());
    assert!(may_manage(Role::HqAdmin, &[], Role::HqAdmin, &[]).is_ok());
    assert!(may_manage(Role::Owner, &[], Role::Cashier, &s1).is_ok());
    assert!(may_manage(Role::Cashier, &s1, Role::Cashier, &s1).is_err());
    assert!(may_manage(Role::HqFinance, &[], Role::Cashier, &s1).is_err());
}

#[test]
fn only_a_cashiers_refund_above_the_limit_needs_approval() {
    let limit = Some(Money::from_yuan(500));
    assert!(approval_needed(
        Role::Cashier,
        Money::from_fen(50001),
        limit
    ));
    assert!(!approval_needed(
        Role::Cashier,
        Money::from_yuan(500),
        limit
    ));
    assert!(!approval_needed(
        Role::StoreManager,
        Money::from_yuan(9000),
        limit
    ));
    assert!(!approval_needed(
        Role::Cashier,
        Money::from_yuan(9000),
        None
    ));
}
