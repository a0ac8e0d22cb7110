//! The engine checks every draft against its node's role: HQ sells
//! nothing, a store of a chain authors no programme, and a refused draft
//! leaves no op behind. The API's early refusals are a courtesy; this is
//! the rule (the same `op::check_authority` every node applies to ops it
//! receives).

use std::time::Duration;

use tongka_actors::{Engine, EngineConfig, EngineError, Outcome};
use tongka_core::checkout::TenderKind;
use tongka_core::error::DomainError;
use tongka_core::ids::NodeId;
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::op::OriginRole;
use tongka_core::programme::Programme;
use tongka_db::{Db, DbOptions};

fn engine(dir: &std::path::Path, node: &str, role: Option<OriginRole>) -> Engine {
    let (db, rec) = Db::open(
        &dir.join(format!("{node}.redb")),
        DbOptions {
            node: NodeId::new(node).unwrap(),
            max_batch: 64,
            queue_max: 1024,
        },
    )
    .unwrap();
    let e = Engine::new(
        db,
        Programme::default(),
        rec.hlc,
        EngineConfig {
            max_in_flight: 64,
            idle_passivate: Duration::from_secs(60),
        },
    );
    e.set_role(role);
    e
}

fn profile() -> Profile {
    Profile {
        phone: "13912345678".into(),
        name: "甲".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    }
}

#[tokio::test]
async fn hq_drafts_no_recharge_and_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hq = engine(dir.path(), "hq", Some(OriginRole::Hq));
    let m = match hq.register("t".into(), None, profile()).await.unwrap().0 {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    };
    let seq = hq.db().summary().seq;
    let err = hq
        .recharge(
            "t".into(),
            None,
            m.clone(),
            Money::from_yuan(100),
            TenderKind::Cash,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotAuthorised(_)), "{err:?}");
    assert_eq!(err.code(), "hq_sells_nothing");
    assert!(!err.message_zh().is_empty());
    assert_eq!(hq.db().summary().seq, seq, "no op was logged");
    assert_eq!(hq.member(&m).unwrap().balance().money(), Money::ZERO);
    // The member's actor is still usable: its state did not move.
    let patch = tongka_core::member::ProfilePatch {
        name: Some("乙".into()),
        ..Default::default()
    };
    hq.update_profile("t".into(), m.clone(), patch)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_store_of_a_chain_drafts_no_programme_and_a_solo_node_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut asked = Programme::default();
    asked.recharge_offers[0].bonus = Money::from_yuan(150);
    let store = engine(dir.path(), "store-1", Some(OriginRole::Store));
    let err = store
        .change_programme(asked.clone(), "t".into(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "programme_hq_only");
    assert_eq!(store.db().summary().seq, 0);
    assert_eq!(*store.programme(), Programme::default());
    let solo = engine(dir.path(), "store-2", None);
    solo.change_programme(asked.clone(), "t".into(), None)
        .await
        .unwrap();
    assert_eq!(*solo.programme(), asked);
}
