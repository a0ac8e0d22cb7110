//! mDNS discovery between nodes in this process, then a QUIC connection to
//! the address found. Needs working IPv4 multicast: the test first checks
//! that a multicast datagram sent here comes back, and if it does not,
//! says why it could not run instead of failing. When multicast works,
//! discovery must work.

mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{identity, make_chain};
use tokio::sync::mpsc;
use tongka_net::{Discovery, Endpoint, Found, Options};

/// Whether an IPv4 multicast datagram sent from here is received here, on
/// the mDNS group; `Err` says why not.
fn multicast_works() -> Result<(), String> {
    let group = Ipv4Addr::new(224, 0, 0, 251);
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|e| format!("bind: {e}"))?;
    let port = socket.local_addr().map_err(|e| e.to_string())?.port();
    socket
        .join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)
        .map_err(|e| format!("cannot join {group}: {e}"))?;
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|e| e.to_string())?;
    let sender = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|e| e.to_string())?;
    sender
        .set_multicast_loop_v4(true)
        .map_err(|e| e.to_string())?;
    sender
        .send_to(b"tongka multicast probe", (group, port))
        .map_err(|e| format!("cannot send to {group}: {e}"))?;
    let mut buf = [0u8; 64];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) if &buf[..n] == b"tongka multicast probe" => return Ok(()),
            Ok(_) => continue,
            Err(e) => return Err(format!("the probe sent to {group} did not come back: {e}")),
        }
    }
}

/// Collects events until `want` is found (or `deadline`), then for
/// `linger` more, so stray events (other chains, itself) show.
async fn collect(
    rx: &mut mpsc::Receiver<Found>,
    want: &str,
    deadline: Duration,
    linger: Duration,
) -> Vec<Found> {
    let mut got = Vec::new();
    let end = Instant::now() + deadline;
    let mut linger_end: Option<Instant> = None;
    loop {
        let until = linger_end.unwrap_or(end);
        let now = Instant::now();
        if now >= until {
            return got;
        }
        match tokio::time::timeout(until - now, rx.recv()).await {
            Ok(Some(found)) => {
                if found.node == want && linger_end.is_none() {
                    linger_end = Some(Instant::now() + linger);
                }
                got.push(found);
            }
            Ok(None) => return got,
            Err(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_of_the_same_chain_find_each_other() {
    if let Err(why) = multicast_works() {
        println!(
            "SKIPPED: mDNS discovery cannot be tested here: IPv4 multicast does not work ({why})"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let options = Options::new("alpha");
    let a = Endpoint::bind(any, &identity(dir.path(), "store-1"), options.clone()).unwrap();
    let b = Endpoint::bind(any, &identity(dir.path(), "store-2"), options).unwrap();
    let a_port = a.local_addr().unwrap().port();
    let b_port = b.local_addr().unwrap().port();

    let mut da = Discovery::start("alpha", "store-1", a_port).expect("discovery store-1");
    let mut db = Discovery::start("alpha", "store-2", b_port).expect("discovery store-2");
    // Another chain on the same network, with a clashing node name.
    let mut other = Discovery::start("beta", "store-2", 9).expect("discovery of chain beta");
    let mut a_events = da.events().expect("events");
    assert!(da.events().is_none(), "the receiver is handed out once");
    let mut b_events = db.events().expect("events");
    let mut other_events = other.events().expect("events");

    let start = Instant::now();
    let (seen_by_a, seen_by_b) = tokio::join!(
        collect(
            &mut a_events,
            "store-2",
            Duration::from_secs(15),
            Duration::from_secs(2)
        ),
        collect(
            &mut b_events,
            "store-1",
            Duration::from_secs(15),
            Duration::from_secs(2)
        ),
    );
    println!(
        "after {:?}: store-1 saw {seen_by_a:?}; store-2 saw {seen_by_b:?}",
        start.elapsed()
    );

    for (me, peer, peer_port, seen) in [
        ("store-1", "store-2", b_port, &seen_by_a),
        ("store-2", "store-1", a_port, &seen_by_b),
    ] {
        let found = seen
            .iter()
            .find(|f| f.node == peer)
            .unwrap_or_else(|| panic!("{me} did not discover {peer}: {seen:?}"));
        assert!(!found.addrs.is_empty());
        assert!(
            found.addrs.iter().all(|a| a.port() == peer_port),
            "{found:?}"
        );
        for f in seen {
            assert_ne!(f.node, me, "{me} reported itself");
            assert!(
                f.addrs.iter().all(|a| a.port() != 9),
                "{me} reported a node of another chain: {f:?}"
            );
        }
    }
    // Chain beta's node sees nobody of its own chain.
    let stray = collect(&mut other_events, "-", Duration::ZERO, Duration::ZERO).await;
    assert!(
        stray.is_empty(),
        "chain beta saw nodes of chain alpha: {stray:?}"
    );

    // The address found is good for a real connection.
    let found = seen_by_a.iter().find(|f| f.node == "store-2").unwrap();
    let addr = found
        .addrs
        .iter()
        .find(|a| a.is_ipv4())
        .copied()
        .unwrap_or(found.addrs[0]);
    let (dialled, accepted) = tokio::join!(a.connect(&found.node, addr), b.accept());
    let dialled = dialled.expect("connect to the discovered address");
    let accepted = accepted.unwrap().unwrap();
    assert_eq!(dialled.peer(), "store-2");
    assert_eq!(accepted.peer(), "store-1");
    dialled
        .send(bytes::Bytes::from_static(b"found you"))
        .await
        .unwrap();
    assert_eq!(accepted.recv().await.unwrap().unwrap(), "found you");

    // Dropping a discovery stops it: its event stream ends.
    drop(da);
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while a_events.recv().await.is_some() {}
    })
    .await;
    assert!(
        end.is_ok(),
        "the event stream of a dropped discovery must end"
    );
}
