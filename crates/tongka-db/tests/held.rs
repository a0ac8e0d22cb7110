//! What the members hold, kept as a running sum in each commit (`meta`
//! `held-1`): always equal to the sum read member by member, across
//! reopening, and made by one scan for a db written before it.

mod common;

use common::{draft, node, open, submit_wait};
use redb::ReadableDatabase;
use tongka_core::Money;
use tongka_core::ids::NodeId;
use tongka_core::op::OpBody;
use tongka_core::state::MemberState;
use tongka_core::wallet::Share;
use tongka_db::{Db, Effects, Source};

const DAY0_MS: u64 = 1_796_486_400_000;

/// A member registered by a real op, its state as the op leaves it.
fn register(db: &Db, i: u64) -> MemberState {
    common::register(db, DAY0_MS + i, &format!("139{i:08}")).0
}

/// Write `member` (and `also`) as an op's effects would: the db keeps the
/// rows and the running sum; what the op says is not its business here.
fn write(db: &Db, i: u64, member: &MemberState, also: Option<&MemberState>) {
    let d = draft(
        DAY0_MS + 1_000 + i,
        OpBody::ProfileUpdated {
            member: member.id.clone(),
            patch: Default::default(),
            change: vec![],
        },
    );
    submit_wait(
        db,
        Source::Local(d),
        Effects {
            member: Some(member.clone()),
            also: also.cloned(),
            ..Default::default()
        },
    )
    .unwrap();
}

/// A small deterministic generator (no clock, no thread rng: the same
/// cases every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn sum(states: &[MemberState]) -> Share {
    tongka_core::consistency::held(states.iter().map(|m| &m.wallet))
}

#[test]
fn the_running_sum_equals_the_members_read_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.redb");
    let stores = [
        node(),
        NodeId::new("store-2").unwrap(),
        NodeId::new("hq").unwrap(),
    ];
    let mut states: Vec<MemberState>;
    {
        let db = open(&path);
        states = (0..40).map(|i| register(&db, i)).collect();
        let mut rng = Lcg(7);
        for step in 0..400u64 {
            let i = (rng.next() % states.len() as u64) as usize;
            let store = &stores[(rng.next() % 3) as usize];
            let add = Share {
                principal: Money::from_fen((rng.next() % 100_000) as i64),
                bonus: Money::from_fen((rng.next() % 5_000) as i64),
                points: (rng.next() % 900) as i64,
            };
            let m = &mut states[i];
            if rng.next().is_multiple_of(3) {
                // Take out part of what this share holds.
                let have = m.wallet.share(store);
                let take = Share {
                    principal: Money::from_fen(have.principal.fen() / 2),
                    bonus: Money::from_fen(have.bonus.fen() / 3),
                    points: have.points / 2,
                };
                m.wallet.debit(store, take).unwrap();
            } else {
                m.wallet.credit(store, add);
            }
            // Now and then two members in one op (a merge's move).
            let j = (rng.next() % states.len() as u64) as usize;
            if step % 7 == 0 && j != i {
                states[j].wallet.credit(&stores[0], add);
                write(&db, step, &states[i], Some(&states[j]));
            } else {
                write(&db, step, &states[i], None);
            }
        }
        let expected = sum(&states);
        assert_ne!(expected, Share::default(), "the workload moved money");
        let (_, running) = db.ledger_sides().unwrap();
        let (_, running_deep, scanned) = db.ledger_sides_deep().unwrap();
        assert_eq!(running, expected);
        assert_eq!(running_deep, expected);
        assert_eq!(scanned, expected);
        db.close();
    }
    // Reopened: the sum was durable with the rows.
    let db = open(&path);
    assert_eq!(db.ledger_sides().unwrap().1, sum(&states));
    db.close();

    // A db written before the key existed: made by one scan at open.
    {
        let raw = redb::Database::create(&path).unwrap();
        let w = raw.begin_write().unwrap();
        {
            let mut meta = w
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
                .unwrap();
            assert!(meta.remove("held-1").unwrap().is_some(), "the key is kept");
        }
        w.commit().unwrap();
        let r = raw.begin_read().unwrap();
        let meta = r
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
            .unwrap();
        assert!(meta.get("held-1").unwrap().is_none());
    }
    let db = open(&path);
    assert_eq!(db.ledger_sides().unwrap().1, sum(&states));
    let (_, running, scanned) = db.ledger_sides_deep().unwrap();
    assert_eq!(running, scanned);
}
