//! A day close across a partition, end to end (issue 13, 日结): store-2,
//! cut off from store-1 and HQ (both SIGSTOPped), sells and closes its
//! day; after the heal HQ holds the very close store-2 recorded, with the
//! same totals, and refuses to close anything itself. Real processes, real
//! QUIC, real redb files.
//!
//! By hand, store-2's day: a 100.00 cash recharge; a walk-in sale of 10.00
//! paid with 20 in cash (10.00 change) before the cut; a walk-in sale of
//! 5.50 in cash while cut off. Expected cash, with no float: 115.50;
//! counted 115.00: short 0.50.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Chain, Node, signal, try_wait_for};

const CONVERGE: Duration = Duration::from_secs(30);
const NOTICE: Duration = Duration::from_secs(20);

fn any_connected(node: &Node) -> bool {
    let (_, s) = node.get("/sync/status");
    s["peers"]
        .as_array()
        .is_some_and(|p| p.iter().any(|x| x["connected"] == true))
}

fn sale(node: &Node, price: &str, cash: &str, key: &str) {
    let (s, o) = node.post(
        "/checkouts",
        json!({"lines": [{"description": "面包", "unit_price": price, "qty": 1}],
               "tenders": [{"kind": "cash", "amount": cash}]}),
        Some(key),
    );
    assert_eq!(s, 201, "{o}");
}

fn closes_of(node: &Node, store: &str) -> Vec<Value> {
    let (s, v) = node.get(&format!("/closes?store={store}"));
    assert_eq!(s, 200, "{v}");
    v["closes"].as_array().expect("closes").clone()
}

#[test]
fn a_store_cut_off_closes_its_day_and_hq_sees_the_same_close() {
    let chain = Chain::with_hq(2);
    let all = [0, 1, 2];
    let s2 = &chain.nodes[1];
    let member = s2.member("13900000123", "赵六");
    let (s, r) = s2.post(
        &format!("/members/{member}/recharges"),
        json!({"amount": "100.00", "tender": "cash"}),
        Some("e2e-r1"),
    );
    assert_eq!(s, 201, "{r}");
    sale(s2, "10.00", "20", "e2e-o1");
    chain.wait_converged(&all, CONVERGE);

    signal(chain.nodes[0].pid(), libc::SIGSTOP);
    signal(chain.nodes[2].pid(), libc::SIGSTOP);
    assert!(
        try_wait_for(NOTICE, || !any_connected(&chain.nodes[1])),
        "store-2 did not notice the partition within {NOTICE:?}:\n{}",
        chain.report()
    );
    sale(s2, "5.50", "5.50", "e2e-o2");
    let (s, p) = s2.get("/closes/preview?kind=day");
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["expected_cash"], "115.50", "{p}");
    let (s, close) = s2.post(
        "/closes",
        json!({"kind": "day", "counted_cash": "115.00", "note": "断网日结"}),
        Some("e2e-c1"),
    );
    assert_eq!(s, 201, "{close}");
    assert_eq!(close["orders"], 2);
    assert_eq!(close["sales"], "15.50");
    assert_eq!(close["recharged"], "100.00");
    assert_eq!(close["expected_cash"], "115.50");
    assert_eq!(close["difference"], "-0.50");
    assert_eq!(close["result"], "short");
    let id = close["id"].as_str().expect("close id").to_string();

    signal(chain.nodes[0].pid(), libc::SIGCONT);
    signal(chain.nodes[2].pid(), libc::SIGCONT);
    chain.wait_converged(&all, CONVERGE);
    let hq = &chain.nodes[2];
    let (s, seen) = hq.get(&format!("/closes/{id}"));
    assert_eq!(
        (s, &seen),
        (200, &close),
        "HQ holds store-2's close as recorded"
    );
    assert_eq!(closes_of(hq, "store-2"), vec![close.clone()]);
    assert_eq!(closes_of(&chain.nodes[0], "store-2"), vec![close.clone()]);
    assert!(closes_of(hq, "store-1").is_empty());
    // HQ closes nothing, and a second close of store-2's day is refused.
    let (s, v) = hq.post(
        "/closes",
        json!({"kind": "day", "counted_cash": "0"}),
        Some("e2e-hq"),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("hq_closes_nothing")),
        "{v}"
    );
    let (s, v) = chain.nodes[1].post(
        "/closes",
        json!({"kind": "day", "counted_cash": "0"}),
        Some("e2e-c2"),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("already_closed")),
        "{v}"
    );
}
