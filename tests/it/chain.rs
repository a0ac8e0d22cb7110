//! A chain of real `tongka` processes replicating over QUIC: spend anywhere,
//! keep trading through a partition within the shares each side holds,
//! converge after it heals, and survive kill -9 during replication.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Chain, signal, wait_for};

/// How long a healed chain may take to converge. Peers notice a stopped
/// peer by the QUIC idle timeout (5 s by default) and re-dial with back-off
/// of at most 2 s; catching up the few ops of these tests takes
/// milliseconds, the 2,000 of `kill9_during_catch_up…` seconds. On a CI
/// machine loaded by parallel builds that test once saw a connection time
/// out mid catch-up and come back 30 s later (session 8's note): the bound
/// is generous, a deadline rather than a wait.
const CONVERGE: Duration = Duration::from_secs(60);

fn sale(member: &str, price: &str) -> Value {
    json!({"member_id": member, "lines": [{"description": "咖啡", "unit_price": price, "qty": "1"}], "tenders": [{"kind": "balance"}]})
}

fn fen(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("money string, got {v}"));
    let (y, f) = s.split_once('.').unwrap();
    y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
}

#[test]
fn recharge_here_spend_there_partition_heal() {
    let chain = Chain::new(3);
    let [s1, s2, s3] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];

    // The member's home store is store-2 (registered there); the recharge
    // is made at store-1.
    let id = s2.member("13811112222", "跨店会员");
    wait_for("the member at store-1", Duration::from_secs(10), || {
        s1.get(&format!("/members/{id}")).0 == 200
    });
    let (s, _) = s1.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "1000", "tender": "cash"}),
        Some("r1"),
    );
    assert_eq!(s, 201);
    wait_for("the recharge at store-2", Duration::from_secs(10), || {
        s2.get(&format!("/members/{id}/wallet")).1["balance"] == "1100.00"
    });

    // Spend at store-2 what was recharged at store-1: an escrow transfer.
    let started = Instant::now();
    let (s, o) = s2.post("/checkouts", sale(&id, "100.00"), Some("c1"));
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["payable"], "95.00");
    println!(
        "cross-store spend with escrow transfer: {:?} (debug build)",
        started.elapsed()
    );
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    for n in [s1, s2, s3] {
        let (_, w) = n.get(&format!("/members/{id}/wallet"));
        assert_eq!(w["balance"], "1005.00", "balance equal everywhere");
    }
    // The sale at store-2, the member's home store, pulls the rest of the
    // balance there ahead of need, in the background.
    wait_for("the pull-ahead transfer", Duration::from_secs(10), || {
        s2.get(&format!("/members/{id}/wallet")).1["available_here"] == "1005.00"
    });
    chain.wait_converged(&[0, 1, 2], CONVERGE);

    // A second recharge at store-1 stays there: now both sides hold a share.
    let (s, _) = s1.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "500", "tender": "wechat"}),
        Some("r2"),
    );
    assert_eq!(s, 201);
    chain.wait_converged(&[0, 1, 2], CONVERGE);

    // Partition: store-1 stops answering.
    signal(s1.pid(), libc::SIGSTOP);
    let (s, o) = s2.post("/checkouts", sale(&id, "100.00"), Some("c2"));
    assert_eq!(s, 201, "store-2 trades within its share: {o}");
    let (s, e) = s2.post("/checkouts", sale(&id, "2000.00"), Some("c3"));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("insufficient_balance")),
        "{e}"
    );
    assert_eq!(
        e["error"]["available_here"], "910.00",
        "what store-2 holds; store-1's 500 is unreachable"
    );
    // Store-3 holds nothing, but store-2 is reachable and gives.
    let (s, o) = s3.post("/checkouts", sale(&id, "10.00"), Some("c4"));
    assert_eq!((s, o["payable"].as_str()), (201, Some("9.50")), "{o}");
    chain.wait_converged(&[1, 2], CONVERGE);
    // Nothing of store-1's share moved while it was cut off.
    let (_, w) = s3.get(&format!("/members/{id}/wallet"));
    let at_s1: Vec<&Value> = w["shares"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["node"] == "store-1")
        .collect();
    assert_eq!(at_s1.len(), 1, "{w}");
    assert_eq!(
        fen(&at_s1[0]["principal"]) + fen(&at_s1[0]["bonus"]),
        50_000
    );

    // Heal.
    signal(s1.pid(), libc::SIGCONT);
    let healed = Instant::now();
    let hash = chain.wait_converged(&[0, 1, 2], CONVERGE);
    println!(
        "converged {:?} after the heal, state hash {hash}",
        healed.elapsed()
    );
    let ledgers: Vec<Value> = [s1, s2, s3]
        .iter()
        .map(|n| n.get("/ledger/summary").1)
        .collect();
    assert!(
        ledgers.windows(2).all(|w| w[0] == w[1]),
        "one ledger: {ledgers:?}"
    );
    let l = &ledgers[0];
    // Conservation, to the fen: 1000+100 + 500 recharged, 95 + 95 + 9.50 spent.
    assert_eq!(
        fen(&l["outstanding_principal"]) + fen(&l["outstanding_bonus"]),
        160_000 - 19_950
    );
    let (_, w) = s1.get(&format!("/members/{id}/wallet"));
    assert_eq!(fen(&w["balance"]), 140_050);
    let shares: i64 = w["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| fen(&s["principal"]) + fen(&s["bonus"]))
        .sum();
    assert_eq!(shares, 140_050, "shares add up to the balance");
}

#[test]
fn kill9_during_replication_loses_nothing_and_applies_nothing_twice() {
    let mut chain = Chain::new(3);
    let members: Vec<String> = (0..3)
        .map(|i| chain.nodes[1].member(&format!("1390000000{i}"), "会员"))
        .collect();
    for (i, m) in members.iter().enumerate() {
        let (s, _) = chain.nodes[1].post(
            &format!("/members/{m}/recharges"),
            json!({"amount": "4000", "tender": "cash"}),
            Some(&format!("r{i}")),
        );
        assert_eq!(s, 201);
    }
    // A stream of sales at store-2 while store-3 is killed and restarted.
    let mut acked = Vec::new();
    for i in 0..150 {
        if i == 50 {
            chain.nodes[2].kill9();
        }
        if i == 100 {
            chain.nodes[2].restart();
        }
        let (s, o) = chain.nodes[1].post(
            "/checkouts",
            sale(&members[i % 3], "1.00"),
            Some(&format!("c{i}")),
        );
        assert_eq!(s, 201, "{o}");
        acked.push(o["id"].as_str().unwrap().to_string());
    }
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    for n in &chain.nodes {
        for order in &acked {
            assert_eq!(n.get(&format!("/orders/{order}")).0, 200, "{order} missing");
        }
        let (_, l) = n.get("/ledger/summary");
        assert_eq!(l["orders"], 150, "each sale applied once");
        assert_eq!(l["recharges"], 3);
    }
}

#[test]
fn a_store_added_later_joins_and_catches_up() {
    let mut chain = Chain::new(2);
    let id = chain.nodes[0].member("13722223333", "老会员");
    let (s, _) = chain.nodes[0].post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "2000", "tender": "card"}),
        Some("r"),
    );
    assert_eq!(s, 201);
    for i in 0..20 {
        let (s, _) = chain.nodes[1].post(
            "/checkouts",
            json!({"lines": [{"sku": "coffee"}], "tenders": [{"kind": "cash"}]}),
            Some(&format!("w{i}")),
        );
        assert_eq!(s, 201);
    }
    // The existing stores' configs do not name store-3: it dials them.
    chain.add_store("store-3");
    chain.wait_connected();
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let s3 = &chain.nodes[2];
    let (s, w) = s3.get(&format!("/members/{id}/wallet"));
    assert_eq!((s, w["balance"].as_str()), (200, Some("2200.00")));
    // And it trades: the member pays at the new store with a transfer.
    let (s, o) = s3.post("/checkouts", sale(&id, "100.00"), Some("c"));
    assert_eq!((s, o["payable"].as_str()), (201, Some("90.00")), "{o}");
}

#[test]
fn kill9_during_catch_up_loses_nothing_and_applies_nothing_twice() {
    const SALES: usize = 2000;
    let mut chain = Chain::new(2);
    let members: Vec<String> = (0..20)
        .map(|i| chain.nodes[0].member(&format!("1370000{i:04}"), "会员"))
        .collect();
    for (i, m) in members.iter().enumerate() {
        let (s, _) = chain.nodes[0].post(
            &format!("/members/{m}/recharges"),
            json!({"amount": "5000", "tender": "cash"}),
            Some(&format!("r{i}")),
        );
        assert_eq!(s, 201);
    }
    chain.wait_converged(&[0, 1], CONVERGE);
    // Store-2 is away while store-1 sells.
    chain.nodes[1].kill9();
    let mut acked = Vec::with_capacity(SALES);
    for i in 0..SALES {
        let (s, o) = chain.nodes[0].post(
            "/checkouts",
            sale(&members[i % members.len()], "1.00"),
            Some(&format!("c{i}")),
        );
        assert_eq!(s, 201, "{o}");
        acked.push(o["id"].as_str().unwrap().to_string());
    }
    let total = chain.nodes[0].get("/sync/status").1["version_vector"]["store-1"]
        .as_u64()
        .unwrap();
    let before = total - SALES as u64;
    // It comes back, and is killed once it holds some of the sales, not all.
    chain.nodes[1].restart();
    let mut at_kill = 0;
    wait_for("store-2 to start catching up", CONVERGE, || {
        at_kill = chain.nodes[1].get("/sync/status").1["version_vector"]["store-1"]
            .as_u64()
            .unwrap_or(0);
        at_kill > before
    });
    chain.nodes[1].kill9();
    assert!(
        at_kill < total,
        "store-2 had caught up ({at_kill} of {total}) before it could be killed"
    );
    println!("store-2 killed holding {at_kill} of store-1's {total} ops");
    chain.nodes[1].restart();
    chain.wait_converged(&[0, 1], CONVERGE);
    let (_, l1) = chain.nodes[0].get("/ledger/summary");
    let (_, l2) = chain.nodes[1].get("/ledger/summary");
    assert_eq!(l1, l2);
    assert_eq!(l2["orders"], SALES, "each sale applied once");
    for order in &acked {
        assert_eq!(
            chain.nodes[1].get(&format!("/orders/{order}")).0,
            200,
            "{order} missing"
        );
    }
    for m in &members {
        let (_, w1) = chain.nodes[0].get(&format!("/members/{m}/wallet"));
        let (_, w2) = chain.nodes[1].get(&format!("/members/{m}/wallet"));
        assert_eq!(w1["balance"], w2["balance"]);
    }
}
