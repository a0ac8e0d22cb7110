//! `GET /api/v1/metrics` of a real chain: HQ shows each store's
//! replication lag and connection, and the lag of a store that went away
//! grows while the one still there stays caught up.

use std::time::Duration;

use crate::harness::{Chain, Node, wait_for};

/// The node's metrics, as text.
fn metrics(node: &Node) -> String {
    let (s, v) = node.get("/metrics");
    assert_eq!(s, 200, "{v}");
    v.as_str().expect("the text format, not JSON").to_string()
}

/// The value of the series written `series` (`name{labels}` as the node
/// writes it), if present.
fn value(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap_or_else(|e| panic!("{series} {v}: {e}")))
}

fn lag(text: &str, peer: &str) -> Option<u64> {
    value(
        text,
        &format!("tongka_replication_lag_ops{{peer=\"{peer}\"}}"),
    )
}

fn connected(text: &str, peer: &str) -> Option<u64> {
    value(
        text,
        &format!("tongka_replication_peer_connected{{peer=\"{peer}\"}}"),
    )
}

#[test]
fn hq_metrics_show_each_stores_lag() {
    let mut chain = Chain::with_hq(2);
    let hq = 2;
    let id = chain.nodes[0].member("13855556666", "指标会员");
    wait_for("the member at HQ", Duration::from_secs(10), || {
        chain.nodes[hq].get(&format!("/members/{id}")).0 == 200
    });
    // Both stores connected and caught up, as HQ sees them.
    wait_for("both stores caught up", Duration::from_secs(20), || {
        let t = metrics(&chain.nodes[hq]);
        ["store-1", "store-2"]
            .iter()
            .all(|p| lag(&t, p) == Some(0) && connected(&t, p) == Some(1))
    });

    // store-2 goes away; store-1 registers another member, which HQ gets.
    chain.nodes[1].kill9();
    let other = chain.nodes[0].member("13855557777", "指标会员二");
    wait_for("the second member at HQ", Duration::from_secs(10), || {
        chain.nodes[hq].get(&format!("/members/{other}")).0 == 200
    });
    let mut last = String::new();
    let ok = crate::harness::try_wait_for(Duration::from_secs(30), || {
        last = metrics(&chain.nodes[hq]);
        connected(&last, "store-2") == Some(0)
            && lag(&last, "store-2").is_some_and(|n| n >= 1)
            && lag(&last, "store-1") == Some(0)
    });
    assert!(ok, "HQ's metrics:\n{last}");

    // store-1's group commit: its batch sizes add up to the ops it holds
    // (its own and those it received; nothing was refused).
    let t = metrics(&chain.nodes[0]);
    let ops = value(&t, "tongka_ops").expect("tongka_ops");
    let sum = t
        .lines()
        .find_map(|l| l.strip_prefix("tongka_db_commit_batch_size_sum "))
        .expect("the batch-size sum");
    assert_eq!(sum, format!("{ops}.0"), "{t}");
}
