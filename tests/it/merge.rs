//! Duplicate members across a partition, merged: the same phone registered
//! at two stores that could not see each other is listed as a duplicate on
//! every node after the heal; a merge at a third store combines profile,
//! wallet, points and history everywhere, each store moving its own share
//! (also one that reaches the chain only after the merge), and the ledger
//! is conserved to the fen.
//!
//! The partitions here are made by stopping processes (SIGTERM) and
//! starting them again: one side runs while the other is down.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Chain, wait_for};

const CONVERGE: Duration = Duration::from_secs(30);
const STOP: Duration = Duration::from_secs(20);

fn fen(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("money string, got {v}"));
    let (y, f) = s.split_once('.').unwrap();
    y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
}

fn sale(member: &str, price: &str) -> Value {
    json!({"member_id": member, "lines": [{"description": "咖啡", "unit_price": price, "qty": "1"}], "tenders": [{"kind": "balance"}]})
}

#[test]
fn duplicates_from_a_partition_are_merged_everywhere_and_money_is_conserved() {
    let mut chain = Chain::new(3);
    let phone = "13955556666";
    let post = |chain: &Chain, i: usize, path: &str, body: Value, key: &str| {
        let (s, v) = chain.nodes[i].post(path, body, Some(key));
        assert_eq!(s, 201, "{path} at node {i}: {v}");
        v
    };

    // Side one: store-1 and store-3, store-2 down.
    chain.nodes[1].terminate(STOP);
    let a = post(
        &chain,
        0,
        "/members",
        json!({"phone": phone, "name": "赵六", "tags": ["vip"]}),
        "ra",
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    post(
        &chain,
        0,
        &format!("/members/{a}/recharges"),
        json!({"amount": "300", "tender": "cash"}),
        "a1",
    );
    post(&chain, 0, "/checkouts", sale(&a, "40.00"), "a2");
    chain.wait_converged(&[0, 2], CONVERGE);
    post(
        &chain,
        2,
        &format!("/members/{a}/recharges"),
        json!({"amount": "50", "tender": "cash"}),
        "a3",
    );
    chain.wait_converged(&[0, 2], CONVERGE);

    // Side two: store-2 alone registers the same phone.
    chain.nodes[0].terminate(STOP);
    chain.nodes[2].terminate(STOP);
    chain.nodes[1].restart();
    let b = post(
        &chain,
        1,
        "/members",
        json!({"phone": phone, "name": "赵六", "card_no": "CARD5566", "birthday": "1988-08-08", "tags": ["tea"]}),
        "rb",
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(a, b);
    post(
        &chain,
        1,
        &format!("/members/{b}/recharges"),
        json!({"amount": "1000", "tender": "cash"}),
        "b1",
    );
    post(&chain, 1, "/checkouts", sale(&b, "80.00"), "b2");

    // Heal: the duplicate is listed on every node.
    chain.nodes[0].restart();
    chain.nodes[2].restart();
    chain.wait_connected();
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    for n in &chain.nodes {
        let (_, d) = n.get("/members/duplicates");
        let listed: Vec<&Value> = d["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["kind"] == "phone")
            .collect();
        assert_eq!(listed.len(), 1, "{d}");
        let ids: Vec<&str> = listed[0]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(
            ids.contains(&a.as_str()) && ids.contains(&b.as_str()),
            "{d}"
        );
    }
    let (_, before_a) = chain.nodes[0].get(&format!("/members/{a}"));
    let (_, before_b) = chain.nodes[0].get(&format!("/members/{b}"));
    let points = before_a["points"].as_i64().unwrap() + before_b["points"].as_i64().unwrap();
    assert!(before_a["points"].as_i64().unwrap() > 0 && before_b["points"].as_i64().unwrap() > 0);

    // Store-1, cut off again, takes a recharge for the duplicate: a share
    // the merging side will not know of.
    chain.nodes[1].terminate(STOP);
    chain.nodes[2].terminate(STOP);
    post(
        &chain,
        0,
        &format!("/members/{b}/recharges"),
        json!({"amount": "20", "tender": "cash"}),
        "b3",
    );
    chain.nodes[0].terminate(STOP);
    chain.nodes[1].restart();
    chain.nodes[2].restart();
    wait_for("store-2 and store-3 connected", CONVERGE, || {
        let (_, s) = chain.nodes[2].get("/sync/status");
        s["peers"].as_array().is_some_and(|p| {
            p.iter()
                .any(|x| x["node"] == "store-2" && x["connected"] == true)
        })
    });
    chain.wait_converged(&[1, 2], CONVERGE);

    // Merge at store-3 (which holds a share of the survivor only).
    let m = post(
        &chain,
        2,
        &format!("/members/{a}/merge"),
        json!({"absorb": b}),
        "merge-1",
    );
    assert_eq!(m["id"], a.as_str());
    assert_eq!(m["card_no"], "CARD5566");
    assert_eq!(m["birthday"], "1988-08-08");
    assert_eq!(m["tags"], json!(["tea", "vip"]));
    // Store-2 moves its share of the duplicate when it has applied the
    // merge (an op of its own, made after it: the two stores can hold the
    // same ops for a moment before it exists): then what this side knows
    // is all on the survivor.
    let want = fen(&before_a["balance"]) + fen(&before_b["balance"]);
    wait_for("store-2 moved its share of the duplicate", CONVERGE, || {
        let (_, w) = chain.nodes[1].get(&format!("/members/{a}/wallet"));
        fen(&w["balance"]) == want
    });
    chain.wait_converged(&[1, 2], CONVERGE);
    let (_, w) = chain.nodes[1].get(&format!("/members/{a}/wallet"));
    assert_eq!(fen(&w["balance"]), want, "{w}");

    // Heal: store-1 learns of the merge and moves its own (late) share.
    chain.nodes[0].restart();
    chain.wait_connected();
    let mut total = 0;
    wait_for("store-1's share of the duplicate moved", CONVERGE, || {
        let (_, w) = chain.nodes[0].get(&format!("/members/{a}/wallet"));
        let (_, l) = chain.nodes[0].get("/ledger/summary");
        total = fen(&l["outstanding_principal"]) + fen(&l["outstanding_bonus"]);
        fen(&w["balance"]) == total
    });
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let ledgers: Vec<Value> = chain
        .nodes
        .iter()
        .map(|n| n.get("/ledger/summary").1)
        .collect();
    assert!(
        ledgers.windows(2).all(|w| w[0] == w[1]),
        "one ledger: {ledgers:?}"
    );
    let l = &ledgers[0];
    // Conservation to the fen: 300 + 50 + 1000 + 20 recharged (+ bonuses),
    // 40 + 80 list price spent (less the level discount).
    assert_eq!(fen(&l["recharged_principal"]), 137_000, "{l}");
    for (i, n) in chain.nodes.iter().enumerate() {
        let (s, via_b) = n.get(&format!("/members/{b}"));
        assert_eq!(
            (s, via_b["id"].as_str()),
            (200, Some(a.as_str())),
            "node {i}"
        );
        assert_eq!(
            fen(&via_b["balance"]),
            total,
            "node {i}: the whole balance on the survivor"
        );
        assert_eq!(
            via_b["points"].as_i64().unwrap(),
            points,
            "node {i}: points combined"
        );
        let shares: i64 = n.get(&format!("/members/{a}/wallet")).1["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| fen(&s["principal"]) + fen(&s["bonus"]))
            .sum();
        assert_eq!(shares, total, "node {i}: shares add up");
        let (_, found) = n.get(&format!("/members?phone={phone}"));
        assert_eq!(
            found["members"][0]["id"],
            a.as_str(),
            "node {i}: the phone leads to the survivor"
        );
        let (_, found) = n.get("/members?card_no=CARD5566");
        assert_eq!(
            found["members"][0]["id"],
            a.as_str(),
            "node {i}: the card too"
        );
        let (_, d) = n.get("/members/duplicates");
        assert_eq!(
            d["duplicates"],
            json!([]),
            "node {i}: merged, no longer listed"
        );
        let (_, h) = n.get(&format!("/members/{a}/history?limit=100"));
        let kinds: Vec<&str> = h["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "registered").count(),
            2,
            "node {i}: {kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "merge_moved").count(),
            2,
            "node {i}: store-2's and store-1's moves: {kinds:?}"
        );
        assert!(kinds.contains(&"members_merged"));
    }
}
