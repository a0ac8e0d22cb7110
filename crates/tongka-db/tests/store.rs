//! The store on real redb files: durability across reopen, group commit,
//! schema and node checks.

mod common;

use common::{node, open, profile, submit_wait};
use std::sync::mpsc;

use tongka_core::Money;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::Hlc;
use tongka_core::ids::{MemberId, NodeId, OpId, RechargeId};
use tongka_core::op::{OpBody, OpDraft};
use tongka_db::{Db, DbError, DbOptions, Effects, IdemRecord, Source};

fn register(db: &Db, n: u64) -> (MemberId, OpId) {
    let (state, id) = common::register(db, 1000 + n, &format!("138{n:08}"));
    (state.id, id)
}

#[test]
fn committed_ops_and_state_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    let store = open(&path);
    let (m, id) = register(&store, 1);
    assert_eq!(id.seq, 1);
    let mut state = store.member(&m).unwrap().unwrap();
    let draft = OpDraft {
        hlc: Hlc { ms: 2000, count: 0 },
        by: "t".into(),
        idem: Some("k1".into()),
        body: OpBody::Recharged {
            member: m.clone(),
            recharge: RechargeId::mint(&node(), store.next_entity()),
            amount: Money::from_yuan(1000),
            bonus: Money::from_yuan(100),
            tender: TenderKind::Cash,
        },
    };
    let op = draft.clone().stamp(
        OpId {
            origin: node(),
            seq: 2,
        },
        Default::default(),
    );
    state.apply(&op).unwrap();
    let rec = IdemRecord {
        fingerprint: [7; 32],
        body: b"first answer".to_vec(),
    };
    submit_wait(
        &store,
        Source::Local(draft),
        Effects {
            member: Some(state.clone()),
            idem: Some(("k1".into(), rec.clone())),
            ..Default::default()
        },
    )
    .unwrap();
    let summary = store.summary();
    store.close();

    let store = open(&path);
    assert_eq!(store.member(&m).unwrap().unwrap(), state);
    assert_eq!(
        store.member_by_phone("13800000001").unwrap(),
        Some(m.clone())
    );
    assert_eq!(store.idem("k1").unwrap(), Some(rec));
    let again = store.summary();
    assert_eq!(again.seq, 2);
    assert_eq!(again.digest, summary.digest);
    assert_eq!(again.totals.recharged_principal, Money::from_yuan(1000));
    let history = store.member_history(&m, 10).unwrap();
    assert_eq!(
        history.iter().map(|o| o.body.kind()).collect::<Vec<_>>(),
        ["recharged", "member_registered"]
    );
    assert_eq!(store.ops_from(&node(), 1, 10).unwrap().len(), 2);
    // Entity numbers are never handed out twice, even across a restart.
    assert!(store.next_entity() > 2);
}

#[test]
fn concurrent_requests_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("node.redb"));
    let (tx, rx) = mpsc::channel();
    let n = 500u64;
    for i in 0..n {
        let member = MemberId::mint(&node(), store.next_entity());
        let draft = OpDraft {
            hlc: Hlc { ms: i, count: 0 },
            by: "t".into(),
            idem: None,
            body: OpBody::MemberRegistered {
                member,
                profile: profile(&format!("139{i:08}")),
                opening: None,
            },
        };
        let tx = tx.clone();
        store.submit(
            Source::Local(draft),
            Effects::default(),
            Box::new(move |r| tx.send(r).unwrap()),
        );
    }
    let mut seqs: Vec<u64> = (0..n).map(|_| rx.recv().unwrap().unwrap().seq).collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "sequence numbers without gaps"
    );
    let (commits, requests) = store.stats();
    assert_eq!(requests, n);
    assert!(
        commits < n,
        "group commit folds queued requests: {commits} commits for {n}"
    );
    // The batch-size histogram counts the same commits and requests, and
    // shows a batch larger than one.
    let sizes = store.batch_sizes();
    assert_eq!((sizes.commits(), sizes.requests), (commits, requests));
    assert!(sizes.buckets.iter().skip(1).any(|b| b.1 > 0), "{sizes:?}");
    assert_eq!(sizes.buckets.len(), tongka_db::BATCH_BOUNDS.len() + 1);
}

#[test]
fn wrong_node_and_schema_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    open(&path).close();
    let other = Db::open(
        &path,
        DbOptions {
            node: NodeId::new("store-2").unwrap(),
            max_batch: 1,
            queue_max: 1,
        },
    );
    assert!(matches!(other, Err(DbError::WrongNode { .. })));
    // Rewrite the schema marker as a future version.
    set_schema(&path, 99);
    let res = Db::open(
        &path,
        DbOptions {
            node: node(),
            max_batch: 1,
            queue_max: 1,
        },
    );
    assert!(matches!(
        res,
        Err(DbError::Schema {
            found: 99,
            expected: tongka_db::SCHEMA_VERSION
        })
    ));
}

fn set_schema(path: &std::path::Path, v: u32) {
    let db = redb::Database::create(path).unwrap();
    let w = db.begin_write().unwrap();
    {
        let mut meta = w
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
            .unwrap();
        meta.insert("schema", v.to_le_bytes().as_slice()).unwrap();
    }
    w.commit().unwrap();
}

fn schema_of(path: &std::path::Path) -> u32 {
    use redb::ReadableDatabase;
    let db = redb::Database::create(path).unwrap();
    let r = db.begin_read().unwrap();
    let meta = r
        .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
        .unwrap();
    let v = meta.get("schema").unwrap().unwrap();
    u32::from_le_bytes(v.value()[..4].try_into().unwrap())
}

/// A database of before the format break (schema 1 to 7) is refused at
/// open with a code and a message in Chinese and English saying what to
/// do; it is left as it was.
#[test]
fn a_database_of_an_older_schema_is_refused() {
    use tongka_core::DomainError;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    open(&path).close();
    for old in [3, 7] {
        set_schema(&path, old);
        let Err(e) = Db::open(
            &path,
            DbOptions {
                node: node(),
                max_batch: 1,
                queue_max: 1,
            },
        ) else {
            panic!("schema {old} opened");
        };
        assert!(matches!(e, DbError::FormatTooOld { found } if found == old));
        assert_eq!(e.code(), "storage_format_too_old");
        let en = e.to_string();
        assert!(en.contains("earlier tongka format"), "{en}");
        assert!(en.contains("new data directory"), "{en}");
        assert!(en.contains("tongka chain add-store"), "{en}");
        let zh = e.message_zh();
        assert!(zh.contains("较早的通卡格式"), "{zh}");
        assert!(zh.contains("新的数据目录"), "{zh}");
        assert_eq!(schema_of(&path), old, "left as it was");
    }
    set_schema(&path, tongka_db::SCHEMA_VERSION);
    open(&path).close();
}

/// A programme change this node authored is recorded (a store of a chain
/// may not have made one), and stays recorded across a reopen.
#[test]
fn a_programme_this_node_authored_is_recorded() {
    use tongka_core::programme::Programme;
    use tongka_core::programme_doc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    let store = open(&path);
    assert!(!store.authored_documents().unwrap());
    let mut doc = programme_doc::initial();
    let mut asked = Programme::default();
    asked.recharge_offers[0].bonus = Money::from_yuan(150);
    let at = Hlc { ms: 5, count: 0 };
    let change = programme_doc::change(&mut doc, &node(), at, &asked)
        .unwrap()
        .unwrap();
    let draft = OpDraft {
        hlc: at,
        by: "t".into(),
        idem: None,
        body: OpBody::ProgrammeChanged {
            change,
            programme: asked,
        },
    };
    let effects = Effects {
        programme: Some(doc.save()),
        ..Default::default()
    };
    submit_wait(&store, Source::Local(draft), effects).unwrap();
    assert!(store.authored_documents().unwrap());
    store.close();
    let store = open(&path);
    assert!(store.authored_documents().unwrap());
    store.close();
}

fn recharge(db: &Db, m: &MemberId, ms: u64) -> OpId {
    let draft = OpDraft {
        hlc: Hlc { ms, count: 0 },
        by: "t".into(),
        idem: None,
        body: OpBody::Recharged {
            member: m.clone(),
            recharge: RechargeId::mint(&node(), db.next_entity()),
            amount: Money::from_yuan(10),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
    };
    submit_wait(db, Source::Local(draft), Effects::default()).unwrap()
}

fn history_seqs(db: &Db, m: &MemberId, limit: usize) -> Vec<u64> {
    db.member_history(m, limit)
        .unwrap()
        .iter()
        .map(|o| o.id.seq)
        .collect()
}

/// The history index is written behind the writer: a history read right
/// after a commit, before the index has it, after it has it, and after a
/// reopen that had to catch it up from the log, is complete and newest
/// first, with the limit applied across index and log.
#[test]
fn member_history_is_complete_while_the_index_trails_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    let store = open(&path);
    let (a, _) = register(&store, 1);
    let (b, _) = register(&store, 2);
    // Clock readings out of commit order: history follows the clock.
    for (i, ms) in [5000u64, 3000, 4000, 6000].into_iter().enumerate() {
        let id = recharge(&store, &a, ms);
        recharge(&store, &b, ms);
        assert_eq!(id.seq, 3 + 2 * i as u64);
    }
    // By clock, newest first: 6000 (seq 9), 5000 (3), 4000 (7), 3000 (5), 1001 (1).
    let want = vec![9, 3, 7, 5, 1];
    assert_eq!(history_seqs(&store, &a, 10), want, "right after commit");
    assert_eq!(history_seqs(&store, &a, 2), want[..2]);
    // Let the index catch up, then commit more: part indexed, part not.
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert_eq!(history_seqs(&store, &a, 10), want);
    let late = recharge(&store, &a, 4500);
    let want = vec![9, 3, late.seq, 7, 5, 1];
    assert_eq!(history_seqs(&store, &a, 10), want, "index and log merged");
    assert_eq!(history_seqs(&store, &a, 3), want[..3]);
    assert_eq!(history_seqs(&store, &b, 10), vec![10, 4, 8, 6, 2]);
    store.close();
    let store = open(&path);
    assert_eq!(history_seqs(&store, &a, 10), want, "after a clean close");
    let more = recharge(&store, &a, 7000);
    store.close();
    // As after a crash before the index caught up: the watermark and the
    // newest entries lost. Open catches the index up from the log.
    {
        let db = redb::Database::create(tongka_db::history_path(&path)).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut meta = w
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("history-meta-1"))
                .unwrap();
            meta.remove("indexed").unwrap();
            let mut idx = w
                .open_table(
                    redb::TableDefinition::<(&str, u64, u32, &str, u64), ()>::new("member-ops-2"),
                )
                .unwrap();
            idx.retain(|(_, ms, _, _, _), _| ms < 4000).unwrap();
        }
        w.commit().unwrap();
    }
    let store = open(&path);
    let mut want2 = vec![more.seq];
    want2.extend(&want);
    assert_eq!(history_seqs(&store, &a, 10), want2, "after catching up");
    assert_eq!(history_seqs(&store, &b, 10), vec![10, 4, 8, 6, 2]);
    store.close();
    // Lost altogether, or another database's: rebuilt from the log.
    std::fs::remove_file(tongka_db::history_path(&path)).unwrap();
    let store = open(&path);
    assert_eq!(history_seqs(&store, &a, 10), want2, "after rebuilding");
    store.close();
    let other = dir.path().join("other.redb");
    let o = open(&other);
    register(&o, 9);
    o.close();
    std::fs::copy(
        tongka_db::history_path(&other),
        tongka_db::history_path(&path),
    )
    .unwrap();
    let store = open(&path);
    assert_eq!(history_seqs(&store, &a, 10), want2, "after replacing");
    store.close();
}

/// A stand-in for the node's Ed25519 key (the store only calls it):
/// deterministic, so the test can say what each op's signature must be.
struct KeyedHash;

impl tongka_core::op::OpSigner for KeyedHash {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        // FNV-1a over every byte, then the length.
        let h = message.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        [h.to_le_bytes(), (message.len() as u64).to_le_bytes()]
            .concat()
            .repeat(4)
    }
}

#[test]
fn ops_made_here_are_signed_together_over_their_encodings_without_signatures() {
    use tongka_core::op::OpSigner;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    let store = open(&path);
    // Before a signer is set, ops go unsigned (a node without a chain
    // identity).
    let (_, first) = register(&store, 1);
    assert!(store.op(&first).unwrap().unwrap().sig.is_empty());
    assert!(store.set_signer(std::sync::Arc::new(KeyedHash)));
    assert!(!store.set_signer(std::sync::Arc::new(KeyedHash)));
    // Many at once, so that batches are signed on several threads, with a
    // remote op in between (the deps of later local ops include it).
    let (tx, rx) = mpsc::channel();
    let n = 200u64;
    for i in 0..n {
        let member = MemberId::mint(&node(), store.next_entity());
        let draft = OpDraft {
            hlc: Hlc {
                ms: 5000 + i,
                count: 0,
            },
            by: "t".into(),
            idem: None,
            body: OpBody::MemberRegistered {
                member: member.clone(),
                profile: profile(&format!("139{i:08}")),
                opening: None,
            },
        };
        let tx = tx.clone();
        store.submit(
            Source::Local(draft),
            Effects::default(),
            Box::new(move |r| tx.send(r).unwrap()),
        );
    }
    let remote = OpDraft {
        hlc: Hlc { ms: 9000, count: 0 },
        by: "t".into(),
        idem: None,
        body: OpBody::MemberRegistered {
            member: MemberId::mint(&NodeId::new("store-2").unwrap(), 1),
            profile: profile("13700000001"),
            opening: None,
        },
    }
    .stamp(
        OpId {
            origin: NodeId::new("store-2").unwrap(),
            seq: 1,
        },
        Default::default(),
    );
    let tx2 = tx.clone();
    store.submit(
        Source::Remote(remote),
        Effects::default(),
        Box::new(move |r| tx2.send(r).unwrap()),
    );
    let (_, last) = register(&store, 2);
    for _ in 0..=n {
        rx.recv().unwrap().unwrap();
    }
    let ops = store.ops_from(&node(), 2, 1000).unwrap();
    assert_eq!(ops.len() as u64, n + 1);
    assert_eq!(ops.last().unwrap().id, last);
    let mut digest = tongka_core::op::StateDigest::default();
    let mut signatures = std::collections::BTreeSet::new();
    for op in &ops {
        let (message, sig) = op.signed_message().expect("a well-formed batch signature");
        assert_eq!(sig, KeyedHash.sign(&message).as_slice(), "op {}", op.id);
        signatures.insert(sig.to_vec());
    }
    // Ops committed together share one signature.
    assert!(
        signatures.len() < ops.len(),
        "{} signatures",
        signatures.len()
    );
    // The last op was made after the remote one: its deps name it.
    assert_eq!(
        ops.last()
            .unwrap()
            .deps
            .get(&NodeId::new("store-2").unwrap()),
        1
    );
    // The state digest covers ops without their signatures.
    for op in store.ops_from(&node(), 1, 1000).unwrap() {
        digest.add(&op.hash());
    }
    for op in store
        .ops_from(&NodeId::new("store-2").unwrap(), 1, 10)
        .unwrap()
    {
        digest.add(&op.hash());
    }
    assert_eq!(store.summary().digest, digest);
    store.close();
}
