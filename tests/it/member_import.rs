//! Member import on a real chain (issue 13): members imported at store-1
//! with their opening balances, one of them spent at store-2 (the escrow
//! moves store-1's share), HQ refused, then store-1 cut off (SIGSTOP)
//! while store-2 imports a file of its own and spends within its share;
//! after the heal every node holds the same members, one ledger, balanced
//! to the fen. Real processes, real QUIC, real redb files.
//!
//! Hand-computed expectations:
//!
//! ```text
//! store-1 imports  A 100.00 + 10.00 bonus, 20 points, gold   B 0.00
//! store-2 sells A  30.00 at gold (90%) = 27.00 from the balance:
//!                  store-2 holds nothing, store-1 gives (escrow)
//! store-1 stopped; store-2 imports C 50.00; sells C 5.00 (regular: 5.00)
//! healed:          imported principal 150.00, bonus 10.00, points 20
//!                  A 110.00 − 27.00 = 83.00; C 50.00 − 5.00 = 45.00
//! ```

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Chain, Node, signal, wait_for};

const CONVERGE: Duration = Duration::from_secs(30);
const REPLICATE: Duration = Duration::from_secs(20);

fn import(node: &Node, query: &str, csv: &str) -> (u16, Value) {
    let auth = format!("Bearer {}", node.token);
    node.raw(
        "POST",
        &format!("/members/import{query}"),
        &[("authorization", &auth), ("content-type", "text/csv")],
        csv.as_bytes(),
    )
}

fn member(node: &Node, phone: &str) -> Option<Value> {
    let (s, v) = node.get(&format!("/members?phone={phone}"));
    assert_eq!(s, 200, "{v}");
    v["members"].as_array().and_then(|m| m.first()).cloned()
}

fn sale(member: &str, price: &str) -> Value {
    json!({"member_id": member, "lines": [{"description": "咖啡", "unit_price": price, "qty": "1"}],
        "tenders": [{"kind": "balance"}]})
}

#[test]
fn an_imported_balance_is_spent_elsewhere_and_the_chain_agrees_after_a_partition() {
    let chain = Chain::with_hq(2);
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    let file = "手机号,姓名,本金,赠送金额,积分,等级\n\
        13811110001,甲,100.00,10.00,20,gold\n\
        13811110002,乙,,,,\n";
    let (s, v) = import(s1, "?dry_run=true", file);
    assert_eq!((s, v["accepted"].as_u64()), (200, Some(2)), "{v}");
    let (s, v) = import(s1, "", file);
    assert_eq!((s, v["created"].as_u64()), (201, Some(2)), "{v}");
    // HQ holds no stored value.
    let (s, v) = import(hq, "", file);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("hq_holds_no_balances")),
        "{v}"
    );

    wait_for("the imported member at store-2", REPLICATE, || {
        member(s2, "13811110001").is_some()
    });
    let a = member(s2, "13811110001").unwrap();
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(
        (a["balance"].as_str(), a["available_here"].as_str()),
        (Some("110.00"), Some("0.00")),
        "{a}"
    );
    assert_eq!(a["level"]["code"], "gold");
    // Spent at store-2: store-1's share moves over (escrow), at gold's price.
    let (s, o) = s2.post("/checkouts", sale(&id, "30.00"), Some("c1"));
    assert_eq!((s, o["payable"].as_str()), (201, Some("27.00")), "{o}");
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let (_, h) = s1.get(&format!("/members/{id}/history?limit=50"));
    let kinds: Vec<&str> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"member_imported") && kinds.contains(&"shares_transferred"),
        "{kinds:?}"
    );

    // Partition: store-1 stops answering; store-2 imports and sells.
    signal(s1.pid(), libc::SIGSTOP);
    let (s, v) = import(s2, "", "phone,name,principal\n13811110003,丙,50.00\n");
    assert_eq!((s, v["created"].as_u64()), (201, Some(1)), "{v}");
    let c = member(s2, "13811110003").unwrap();
    let (s, o) = s2.post(
        "/checkouts",
        sale(c["id"].as_str().unwrap(), "5.00"),
        Some("c2"),
    );
    assert_eq!((s, o["payable"].as_str()), (201, Some("5.00")), "{o}");
    signal(s1.pid(), libc::SIGCONT);

    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let ledgers: Vec<Value> = [s1, s2, hq]
        .iter()
        .map(|n| n.get("/ledger/summary").1)
        .collect();
    assert!(
        ledgers.windows(2).all(|w| w[0] == w[1]),
        "one ledger: {ledgers:?}"
    );
    let l = &ledgers[0];
    assert_eq!(l["imports"], 3, "{l}");
    assert_eq!(l["imported_principal"], "150.00");
    assert_eq!(l["imported_bonus"], "10.00");
    assert_eq!(l["imported_points"], 20);
    assert_eq!(l["recharges"], 0);
    for n in [s1, s2, hq] {
        assert_eq!(member(n, "13811110001").unwrap()["balance"], "83.00");
        assert_eq!(member(n, "13811110003").unwrap()["balance"], "45.00");
        let (s, v) = n.get("/consistency");
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["ledger"]["balanced"], true, "{v}");
    }
    // The first file again, at store-1: the same counts, nobody created.
    let (s, v) = import(s1, "", file);
    assert_eq!(
        (s, v["created"].as_u64(), v["replayed"].as_u64()),
        (201, Some(0), Some(2)),
        "{v}"
    );
}
