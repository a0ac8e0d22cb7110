//! Count cards (记次卡) on a chain of real `tongka` processes (issue 11):
//! a card's visits are held per store like a balance, move between stores
//! only by a transfer their holder signs (an escrow ask over QUIC), and so
//! a card is visited at most as often as it has visits, across a partition
//! and a SIGKILL.
//!
//! The partition is real: each node runs in its own network namespace
//! (`netns::NetChain`) and store-2's link to the chain LAN goes down, so
//! store-2 keeps serving its tills while no peer can reach it. Every wait
//! polls a condition with a deadline.

use serde_json::{Value, json};

use crate::harness::{Node, wait_for};
use crate::netns::NetChain;

use std::time::Duration;

/// How long a chain may take to converge (a healed link: QUIC idle
/// timeout 5 s, re-dial back-off at most 2 s; a restarted node: its start).
const CONVERGE: Duration = Duration::from_secs(30);

/// How long a node may take to notice that a peer's link is down (QUIC
/// idle timeout 5 s, plus margin for a loaded machine).
const NOTICE: Duration = Duration::from_secs(20);

/// How long an op may take to reach a connected peer.
const REPLICATE: Duration = Duration::from_secs(20);

/// The card's visits.
const VISITS: i64 = 5;

/// The card `code` of `member` as `node` shows it, if it knows it.
fn card(node: &Node, member: &str, code: &str) -> Option<Value> {
    let (s, l) = node.get(&format!("/members/{member}/cards"));
    if s != 200 {
        return None;
    }
    l["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["code"] == code)
        .cloned()
}

/// One haircut on card `code` of `member` at `node`, under `key`.
fn visit(node: &Node, member: &str, code: &str, key: &str) -> (u16, Value) {
    node.post(
        &format!("/members/{member}/cards/{code}/visits"),
        json!({"service": "haircut"}),
        Some(key),
    )
}

/// Whether `node` sees `peer` connected.
fn connected(node: &Node, peer: &str) -> bool {
    let (_, s) = node.get("/sync/status");
    s["peers"].as_array().is_some_and(|p| {
        p.iter()
            .any(|x| x["node"] == peer && x["connected"] == true)
    })
}

/// What a refused request must leave as it was at a node.
fn snapshot(node: &Node) -> Value {
    let (_, ledger) = node.get("/ledger/summary");
    let (_, sync) = node.get("/sync/status");
    json!({"ledger": ledger, "state_hash": sync["state_hash"],
           "version_vector": sync["version_vector"]})
}

/// The status and error code of an answer.
fn refusal(answer: &(u16, Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["error"]["code"].as_str())
}

/// A visit at `node` refused with `code`, changing nothing there.
fn refused(node: &Node, member: &str, card: &str, key: &str, code: &str) -> Value {
    let before = snapshot(node);
    let a = visit(node, member, card, key);
    assert_eq!(refusal(&a), (409, Some(code)), "{}: {}", node.url, a.1);
    assert_eq!(
        snapshot(node),
        before,
        "{}: the refusal changed nothing",
        node.url
    );
    a.1
}

/// Issue 11's promise for cards: "verified at any store, never used
/// twice". HQ puts a 5-visit card product; a member of store-1 buys one
/// there (its visits held at store-1); store-2, connected, verifies 2
/// (each asks store-1 for the visit over QUIC). Store-2 cut off verifies
/// only what it holds, store-1 the rest (and survives a SIGKILL); after
/// the heal every node shows 5 used, 0 left, and a 6th visit is refused
/// everywhere; the ledgers agree.
#[test]
fn a_count_card_is_visited_at_most_its_visits_across_a_partition() {
    let Some(mut nc) = NetChain::new(2) else {
        return;
    };
    let all = [0, 1, 2];
    let chain = &nc.chain;
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    let (s, p) = hq.put(
        "/products/cut5",
        json!({"name": "理发5次卡", "price": "150.00",
               "card": {"kind": "count", "visits": VISITS, "services": ["haircut"]}}),
    );
    assert_eq!(s, 200, "{p}");
    wait_for("the card product at store-1", REPLICATE, || {
        s1.get("/products/cut5").1["card"]["visits"] == VISITS
    });
    let id = s1.member("13912350001", "次卡会员");
    let (s, o) = s1.post(
        "/checkouts",
        json!({"member_id": id, "lines": [{"sku": "cut5"}], "tenders": [{"kind": "cash"}]}),
        Some("buy"),
    );
    assert_eq!(s, 201, "{o}");
    let cards = o["lines"][0]["card"]["cards"].as_array().expect("cards");
    assert_eq!(cards.len(), 1, "{o}");
    let code = cards[0].as_str().unwrap().to_string();
    assert!(code.starts_with("k-store-1-"), "{code}");
    wait_for("the card at store-2", REPLICATE, || {
        card(s2, &id, &code)
            .is_some_and(|c| c["held_at"] == json!([{"store": "store-1", "visits": VISITS}]))
    });
    assert_eq!(card(s2, &id, &code).unwrap()["held_here"], 0);

    // Store-2, connected, verifies 2: each visit asks store-1 for it.
    for i in 0..2 {
        let (s, v) = visit(s2, &id, &code, &format!("s2-{i}"));
        assert_eq!(s, 201, "store-2 asks store-1 for a visit: {v}");
        assert_eq!(v["card"]["used"], i + 1, "{v}");
    }
    chain.wait_converged(&all, CONVERGE);
    let c = card(s2, &id, &code).unwrap();
    assert_eq!(
        (&c["used"], &c["left"]),
        (&json!(2), &json!(VISITS - 2)),
        "{c}"
    );
    let held_2 = c["held_here"].as_i64().unwrap();
    let held_1 = card(s1, &id, &code).unwrap()["held_here"].as_i64().unwrap();
    assert_eq!(held_1 + held_2, VISITS - 2, "{c}");
    println!("visits held: store-1 {held_1}, store-2 {held_2}");
    for n in &chain.nodes {
        let got = card(n, &id, &code).unwrap();
        assert_eq!(
            (&got["used"], &got["left"], &got["held_at"]),
            (&c["used"], &c["left"], &c["held_at"]),
            "{}: {got}",
            n.url
        );
    }

    // Store-2 is cut off from everyone.
    nc.net.link(2, false);
    let chain = &nc.chain;
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    wait_for("every node to notice the cut", NOTICE, || {
        !connected(s2, "store-1")
            && !connected(s2, "hq")
            && !connected(s1, "store-2")
            && !connected(hq, "store-2")
    });
    // Store-2 verifies what it holds, and no more: the rest is out of reach.
    for i in 0..held_2 {
        let (s, v) = visit(s2, &id, &code, &format!("cut-2-{i}"));
        assert_eq!(s, 201, "{v}");
    }
    let e = refused(s2, &id, &code, "cut-2-more", "card_held_elsewhere");
    assert_eq!(e["error"]["held_at"], "store-1", "{e}");
    // Store-1 verifies the visits it holds; store-2's are out of its
    // reach, or used up when store-2 held none.
    for i in 0..held_1 {
        let (s, v) = visit(s1, &id, &code, &format!("cut-1-{i}"));
        assert_eq!(s, 201, "{v}");
    }
    let more_at_1 = if held_2 > 0 {
        "card_held_elsewhere"
    } else {
        "card_used_up"
    };
    refused(s1, &id, &code, "cut-1-more", more_at_1);
    assert_eq!(
        card(s1, &id, &code).unwrap()["held_here"],
        0,
        "store-1 used all it held"
    );

    // SIGKILL store-1 after its visits, still in the cut, and restart it.
    let s1 = &mut nc.chain.nodes[0];
    s1.restart();
    let c = card(s1, &id, &code).expect("the card after the restart");
    assert_eq!(c["held_here"], 0, "the visits survive SIGKILL: {c}");
    // The till retries with a key of before the kill: the same answer, no
    // second visit.
    if held_1 > 0 {
        let (s, _) = visit(s1, &id, &code, "cut-1-0");
        assert_eq!(s, 201);
        assert_eq!(card(s1, &id, &code).unwrap()["held_here"], 0);
    }

    // Heal: every node shows every visit, and no more.
    nc.net.link(2, true);
    let chain = &nc.chain;
    chain.wait_converged(&all, CONVERGE);
    let ledgers: Vec<Value> = chain
        .nodes
        .iter()
        .map(|n| n.get("/ledger/summary").1)
        .collect();
    for (n, l) in chain.nodes.iter().zip(&ledgers) {
        let c = card(n, &id, &code).expect("every node has the card");
        assert_eq!(
            (
                &c["status"],
                &c["used"],
                &c["left"],
                &c["visited"],
                &c["held_at"]
            ),
            (
                &json!("used_up"),
                &json!(VISITS),
                &json!(0),
                &json!(VISITS),
                &json!([])
            ),
            "{}: {c}",
            n.url
        );
        assert_eq!(
            l["cards"],
            json!({"sold": 1, "visits": VISITS, "refunded": 0, "kept": "0.00"}),
            "one card, visited 5 times: {l}"
        );
    }
    assert!(ledgers.windows(2).all(|w| w[0] == w[1]), "{ledgers:?}");
    // A 6th visit anywhere: used up (HQ sells nothing).
    for (i, n) in chain.nodes[..2].iter().enumerate() {
        let e = refused(n, &id, &code, &format!("sixth-{i}"), "card_used_up");
        assert_eq!(e["error"]["left_total"], "0", "{e}");
    }
    let hq = &chain.nodes[2];
    let a = visit(hq, &id, &code, "sixth-hq");
    assert_eq!(refusal(&a), (403, Some("hq_sells_nothing")), "{}", a.1);
}
