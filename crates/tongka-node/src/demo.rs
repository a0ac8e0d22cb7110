//! `tongka demo`: a whole chain on this machine — three stores and HQ, each
//! a full node replicating over QUIC on loopback — with sample members,
//! recharges and sales, so a newcomer can open four consoles and watch a
//! member recharge at one store and pay at another.

use std::path::Path;

use anyhow::Context;
use tokio::sync::watch;
use tongka_actors::{Engine, LineRequest};
use tongka_config::{ChainManifest, ChainNewOptions, NodeConfig};
use tongka_core::checkout::{TenderInput, TenderKind};
use tongka_core::member::Profile;
use tongka_core::money::Money;

use crate::{Running, Started};

/// Sample members per store: (name, recharge in yuan, tender).
const SAMPLE: [(&str, i64, TenderKind); 4] = [
    ("王小明", 1000, TenderKind::Cash),
    ("李华", 2000, TenderKind::Wechat),
    ("张伟", 3000, TenderKind::Alipay),
    ("刘芳", 500, TenderKind::Card),
];

/// Run the demo chain in `dir` (created with `chain new` if it has no
/// chain yet) until `shutdown` completes. `on_ready` gets each node once
/// all are up.
pub async fn demo(
    dir: &Path,
    base_port: u16,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(&[Started]),
) -> anyhow::Result<()> {
    if !ChainManifest::path(dir).exists() {
        // Plain HTTP on loopback: the demo is for this machine's browser.
        tongka_config::chain_new(&ChainNewOptions {
            hq: true,
            base_port,
            ..ChainNewOptions::new(dir, 3)
        })
        .with_context(|| format!("creating the demo chain in {}", dir.display()))?;
    }
    let manifest = ChainManifest::load(dir)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut nodes: Vec<Running> = Vec::new();
    for entry in &manifest.nodes {
        let config = NodeConfig::load(entry.config_path(dir))?;
        let mut rx = stop_rx.clone();
        let running = crate::start(config, async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
        .await
        .with_context(|| format!("starting {}", entry.name))?;
        nodes.push(running);
    }
    for (i, node) in nodes.iter().enumerate() {
        if node.started.node.as_str().starts_with("store-") {
            seed(&node.engine, i as u64 + 1).await?;
        }
    }
    let started: Vec<Started> = nodes.iter().map(|n| n.started.clone()).collect();
    on_ready(&started);
    shutdown.await;
    let _ = stop_tx.send(true);
    for n in nodes {
        n.wait().await?;
    }
    Ok(())
}

/// Sample data for a store that has none: members, recharges, a few sales.
async fn seed(engine: &Engine, store_no: u64) -> anyhow::Result<()> {
    if engine.db().summary().vv.get(engine.node()) > 0 {
        return Ok(());
    }
    let fail = |e: tongka_actors::EngineError| anyhow::anyhow!("seeding demo data: {e}");
    for (i, (name, yuan, tender)) in SAMPLE.iter().enumerate() {
        let profile = Profile {
            phone: format!("1380013{store_no:02}{i:02}"),
            name: (*name).to_string(),
            birthday: Some(format!("199{i}-0{}-1{i}", i + 1)),
            gender: None,
            card_no: Some(format!("C{store_no}{i:04}")),
            invited_by: None,
            tags: vec!["demo".into()],
            notes: String::new(),
        };
        let (out, _) = engine
            .register("demo".into(), None, profile)
            .await
            .map_err(fail)?;
        let tongka_actors::Outcome::Member(m) = out else {
            continue;
        };
        engine
            .recharge(
                "demo".into(),
                None,
                m.id.clone(),
                Money::from_yuan(*yuan),
                *tender,
            )
            .await
            .map_err(fail)?;
        let lines = vec![
            LineRequest::Sku {
                sku: "coffee".into(),
                qty: rust_decimal::Decimal::ONE,
            },
            LineRequest::Sku {
                sku: "bread".into(),
                qty: rust_decimal::Decimal::TWO,
            },
        ];
        let tenders = vec![TenderInput {
            kind: TenderKind::Balance,
            amount: None,
        }];
        engine
            .checkout("demo".into(), None, Some(m.id.clone()), lines, tenders)
            .await
            .map_err(fail)?;
    }
    let walk_in = vec![LineRequest::Sku {
        sku: "latte".into(),
        qty: rust_decimal::Decimal::ONE,
    }];
    engine
        .checkout(
            "demo".into(),
            None,
            None,
            walk_in,
            vec![TenderInput {
                kind: TenderKind::Cash,
                amount: None,
            }],
        )
        .await
        .map_err(fail)?;
    Ok(())
}
