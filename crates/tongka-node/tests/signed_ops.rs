//! A real node (storage, engine, replication over QUIC with mutual TLS on
//! loopback) and an authenticated peer that misbehaves: the peer is a raw
//! `tongka-net` endpoint with a genuine chain certificate (`store-3`) that
//! writes protocol frames by hand. Good ops — its own, and HQ's and
//! store-2's relayed with their certificates — are applied; a tampered op,
//! an op forged under another store's name, and an HQ-authored recharge
//! are refused, logged with the peer that sent them, never applied, and
//! the connection to the peer is closed.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tongka_config::{ChainManifest, ChainNewOptions, NodeConfig};
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId, RechargeId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_core::programme::Programme;
use tongka_core::state::decide_recharge;
use tongka_db::Db;
use tongka_net::{Bytes, Connection, Endpoint, Identity, OpKey, Options};
use tongka_replication::{ChainSigner, Frame};
use tongka_sync::Msg;

fn identity(config: &NodeConfig) -> Identity {
    let tls = config.tls().unwrap();
    Identity::load(&tls.ca_cert, &tls.cert, &tls.key).unwrap()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn op(origin: &str, seq: u64, body: OpBody, signer: &Identity) -> Op {
    let mut op = OpDraft {
        hlc: Hlc {
            ms: now_ms(),
            count: 0,
        },
        by: "till".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: NodeId::new(origin).unwrap(),
            seq,
        },
        VersionVector::new(),
    );
    let unsigned = op.encode();
    op.sign_encoded(
        unsigned,
        &ChainSigner(OpKey::from_identity(signer).unwrap()),
    );
    op
}

fn registration(origin: &str, phone: &str) -> OpBody {
    OpBody::MemberRegistered {
        member: MemberId::mint(&NodeId::new(origin).unwrap(), 1),
        profile: Profile {
            phone: phone.into(),
            name: "会员".into(),
            birthday: None,
            gender: None,
            card_no: None,
            invited_by: None,
            tags: Vec::new(),
            notes: String::new(),
        },
        opening: None,
    }
}

fn recharge(member: &MemberId, origin: &str, n: u64) -> OpBody {
    decide_recharge(
        &Programme::default(),
        member,
        RechargeId::mint(&NodeId::new(origin).unwrap(), 100 + n),
        Money::from_yuan(100),
        TenderKind::Cash,
    )
    .unwrap()
}

/// Open a connection to `store-1` as `store-3`, greet, pass on `certs`,
/// and send `ops` in one `Ops` message.
async fn send_ops(
    ep: &Endpoint,
    addr: SocketAddr,
    chain: &str,
    certs: &[Vec<u8>],
    ops: &[Op],
) -> Connection {
    let conn = ep.connect("store-1", addr).await.unwrap();
    let hello = Msg::Hello {
        chain: chain.into(),
        node: NodeId::new("store-3").unwrap(),
        held: VersionVector::new(),
        links: Vec::new(),
    };
    conn.send(Bytes::from(hello.encode())).await.unwrap();
    conn.send(Bytes::from(Frame::encode_certs(certs)))
        .await
        .unwrap();
    conn.send(Bytes::from(Msg::ops(ops).encode()))
        .await
        .unwrap();
    conn
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The node closes the connection (reading ends).
async fn closed_by_node(conn: &Connection) {
    let end = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(_)) = conn.recv().await {}
    })
    .await;
    assert!(end.is_ok(), "the node kept the connection open");
}

/// A plain HTTP/1.1 GET of the node's API; the whole answer as text.
async fn http_get(addr: SocketAddr, token: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn held(db: &Db, origin: &str) -> u64 {
    db.summary().vv.get(&NodeId::new(origin).unwrap())
}

fn refused_from_store3(db: &Db, id: &OpId) -> Option<String> {
    db.refused(100)
        .unwrap()
        .into_iter()
        .find(|r| r.id == *id && r.from.as_str() == "store-3")
        .map(|r| r.reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_ops_from_an_authenticated_peer_are_refused_good_ones_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let mut opts = ChainNewOptions::new(&dir, 3);
    opts.hq = true;
    tongka_config::chain_new(&opts).unwrap();
    let manifest = ChainManifest::load(&dir).unwrap();
    let config = |name: &str| {
        let n = manifest.nodes.iter().find(|n| n.name == name).unwrap();
        NodeConfig::load(n.config_path(&dir)).unwrap()
    };
    let (store2, store3, hq) = (
        identity(&config("store-2")),
        identity(&config("store-3")),
        identity(&config("hq")),
    );

    // store-1, a real node, with no static peers (it only accepts).
    let mut c1 = config("store-1");
    let quic = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap();
    c1.http.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    c1.quic.listen = quic;
    c1.quic.mdns = false;
    c1.quic.peers.clear();
    c1.validate().unwrap();
    let chain = c1.node.chain.clone();
    let data_dir = c1.data_dir();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = tongka_node::start(c1, async move {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    let store = node.engine.db().clone();

    // The misbehaving peer: genuinely store-3 (its TLS certificate).
    let ep = Endpoint::bind(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        &store3,
        Options::new(chain.clone()),
    )
    .unwrap();
    let certs = vec![store3.certificate(), hq.certificate()];

    // Good ops: store-3's own, and one of HQ's relayed by store-3 (with
    // HQ's certificate, which store-1 never got from HQ itself).
    let m3 = MemberId::mint(&NodeId::new("store-3").unwrap(), 1);
    let good = [
        op(
            "store-3",
            1,
            registration("store-3", "13800000003"),
            &store3,
        ),
        op("store-3", 2, recharge(&m3, "store-3", 2), &store3),
        op("hq", 1, registration("hq", "13800000009"), &hq),
    ];
    let conn = send_ops(&ep, quic, &chain, &certs, &good).await;
    wait_for("the good ops applied", || {
        held(&store, "store-3") == 2 && held(&store, "hq") == 1
    })
    .await;
    let principal = |db: &Db| db.member(&m3).unwrap().map(|m| m.wallet.total().principal);
    assert_eq!(principal(&store), Some(Money::from_yuan(100)));
    drop(conn);

    // Tampered: signed for 100.00, sent as 5000.00.
    let mut tampered = op("store-3", 3, recharge(&m3, "store-3", 3), &store3);
    if let OpBody::Recharged { amount, .. } = &mut tampered.body {
        *amount = Money::from_yuan(5000);
    }
    // Forged: store-2's name, store-3's key (store-2's certificate known).
    let mut with_store2 = certs.clone();
    with_store2.push(store2.certificate());
    let forged = op("store-2", 1, recharge(&m3, "store-2", 1), &store3);
    // HQ sells nothing: a recharge by HQ, properly signed by HQ.
    let hq_recharge = op("hq", 2, recharge(&m3, "hq", 2), &hq);
    for (bad, why) in [
        (&tampered, "does not verify"),
        (&forged, "does not verify"),
        (&hq_recharge, "HQ sells nothing"),
    ] {
        let conn = send_ops(&ep, quic, &chain, &with_store2, std::slice::from_ref(bad)).await;
        wait_for("the bad op in the refused log", || {
            refused_from_store3(&store, &bad.id).is_some()
        })
        .await;
        let reason = refused_from_store3(&store, &bad.id).unwrap();
        assert!(reason.contains(why), "{}: {reason}", bad.id);
        closed_by_node(&conn).await;
    }
    assert_eq!(
        held(&store, "store-3"),
        2,
        "the tampered op was not applied"
    );
    assert_eq!(held(&store, "store-2"), 0, "the forged op was not applied");
    assert_eq!(held(&store, "hq"), 1, "HQ's recharge was not applied");
    assert_eq!(principal(&store), Some(Money::from_yuan(100)));
    assert!(store.rejected(10).unwrap().is_empty());
    // The peer is reported to operators: `/sync/status` counts its refused
    // ops.
    let status = http_get(
        node.started.http,
        &node.started.token,
        "/api/v1/sync/status",
    )
    .await;
    assert!(status.contains(r#""node":"store-3""#), "{status}");
    assert!(status.contains(r#""refused_ops":3"#), "{status}");

    // Good ops still flow from the same peer: the genuine store-3 #3 (the
    // tampered op did not take its place), and store-2's genuine #1 relayed
    // by store-3 (nor did the forged one).
    let genuine = [
        op("store-3", 3, recharge(&m3, "store-3", 3), &store3),
        op(
            "store-2",
            1,
            registration("store-2", "13800000002"),
            &store2,
        ),
    ];
    let _conn = send_ops(&ep, quic, &chain, &with_store2, &genuine).await;
    wait_for("the genuine ops applied", || {
        held(&store, "store-3") == 3 && held(&store, "store-2") == 1
    })
    .await;
    assert_eq!(principal(&store), Some(Money::from_yuan(200)));

    // The certificates store-1 learnt are kept for a restart.
    for node in ["store-2", "store-3", "hq"] {
        let kept = data_dir
            .join(tongka_node::CERTS_DIR)
            .join(format!("{node}.pem"));
        assert!(kept.exists(), "{node}'s certificate kept");
    }
    let _ = stop.send(());
    node.wait().await.unwrap();
}
