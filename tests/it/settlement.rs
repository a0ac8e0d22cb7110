//! Settlement between stores on a real chain (store-1, store-2, HQ) with
//! a partition in the middle, and a withdrawal asked at the store cut off
//! and approved by HQ after the heal (issue 13).
//!
//! By hand (the default programme: no bonus below 1000.00, regular level
//! at 100%): member a, of store-1, recharges 200.00 there and spends 80.00
//! at store-2, which holds none of it: store-2 asks store-1, which gives
//! 80.00 (a share transfer store-1 → store-2). Member b, of store-2,
//! recharges 100.00 there. Store-2 is cut off (its link down, or store-1 and HQ stopped):
//! b spends 30.00 there from its own share (no transfer), a's 50.00 there
//! is declined (its share is out of reach), and store-2 asks to withdraw
//! 50.00 of the 80.00 it is owed. Healed: b spends 20.00 at store-1,
//! which asks store-2 for it (a transfer back, store-2 → store-1). So
//! store-1 owes store-2 80.00 − 20.00 = 60.00, the positions are −60.00
//! and +60.00, the chain's 0.00, on every node; HQ approves the 50.00 and
//! store-2 may then withdraw 10.00 more.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Chain, Node, signal, try_wait_for, wait_for};

/// How long store-2 may take to notice it is cut off (QUIC idle timeout
/// 5 s, and margin), and a chain to converge after the heal.
const NOTICE: Duration = Duration::from_secs(30);
const CONVERGE: Duration = Duration::from_secs(40);

fn sale(member: &str, price: &str) -> Value {
    json!({"member_id": member, "lines": [{"description": "咖啡", "unit_price": price, "qty": "1"}],
           "tenders": [{"kind": "balance"}]})
}

fn any_connected(node: &Node) -> bool {
    let (_, s) = node.get("/sync/status");
    s["peers"]
        .as_array()
        .is_some_and(|p| p.iter().any(|x| x["connected"] == true))
}

fn recharge(node: &Node, id: &str, amount: &str, key: &str) {
    let (s, r) = node.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": amount, "tender": "cash"}),
        Some(key),
    );
    assert_eq!((s, &r["bonus"]), (201, &json!("0.00")), "{r}");
}

fn spend(node: &Node, id: &str, price: &str, key: &str) -> (u16, Value) {
    node.post("/checkouts", sale(id, price), Some(key))
}

/// The settlement a node answers over the 30 days to today.
fn settlement(node: &Node) -> Value {
    let (s, v) = node.get("/settlement");
    assert_eq!(s, 200, "{v}");
    v
}

fn expected(amount: &str, transfers: u64) -> (Value, Value) {
    let neg = format!("-{amount}");
    (
        json!([{"debtor": "store-1", "creditor": "store-2", "amount": amount,
                "principal": amount, "bonus": "0.00", "points": 0, "transfers": transfers}]),
        json!([
            {"store": "store-1", "amount": neg, "principal": neg, "bonus": "0.00", "points": 0, "transfers": transfers},
            {"store": "store-2", "amount": amount, "principal": amount, "bonus": "0.00", "points": 0, "transfers": transfers},
        ]),
    )
}

/// How store-2 is cut off from store-1 and HQ.
enum Cut<'a> {
    /// Its link to the chain LAN down (`netns`; root and iproute2).
    Link(&'a crate::netns::Net),
    /// Store-1 and HQ stopped (SIGSTOP) and continued: no root needed.
    Stop,
}

#[test]
fn settlement_across_a_partition_of_stopped_peers() {
    let chain = Chain::with_hq(2);
    scenario(&chain, Cut::Stop);
}

#[test]
fn settlement_across_a_link_down_partition() {
    let Some(nc) = crate::netns::NetChain::new(2) else {
        return;
    };
    scenario(&nc.chain, Cut::Link(&nc.net));
}

/// The scenario of the module doc, store-2 cut off by `cut`.
fn scenario(chain: &Chain, cut: Cut<'_>) {
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];

    // a of store-1: 200.00 there, 80.00 spent at store-2 (a transfer).
    let a = s1.member("13811112222", "结算甲");
    recharge(s1, &a, "200.00", "ra");
    wait_for("a's recharge at store-2", Duration::from_secs(15), || {
        s2.get(&format!("/members/{a}/wallet")).1["balance"] == "200.00"
    });
    let (s, o) = spend(s2, &a, "80.00", "oa1");
    assert_eq!((s, &o["payable"]), (201, &json!("80.00")), "{o}");
    // b of store-2: 100.00 there.
    let b = s2.member("13811113333", "结算乙");
    recharge(s2, &b, "100.00", "rb");
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let (pairs, stores) = expected("80.00", 1);
    for node in [s1, s2, hq] {
        let v = settlement(node);
        assert_eq!((&v["pairs"], &v["stores"]), (&pairs, &stores), "{v}");
    }

    // Store-2 cut off.
    let heal = || match &cut {
        Cut::Link(net) => net.link(2, true),
        Cut::Stop => {
            signal(s1.pid(), libc::SIGCONT);
            signal(hq.pid(), libc::SIGCONT);
        }
    };
    match &cut {
        Cut::Link(net) => net.link(2, false),
        Cut::Stop => {
            signal(s1.pid(), libc::SIGSTOP);
            signal(hq.pid(), libc::SIGSTOP);
        }
    }
    let cut_at = Instant::now();
    if !try_wait_for(NOTICE, || !any_connected(s2)) {
        heal();
        panic!("store-2 did not notice the partition within {NOTICE:?}");
    }
    println!("partition noticed by store-2 after {:?}", cut_at.elapsed());
    // b spends from store-2's own share; a's spend there is declined.
    let (s, o) = spend(s2, &b, "30.00", "ob1");
    assert_eq!(s, 201, "{o}");
    let (s, o) = spend(s2, &a, "50.00", "oa2");
    assert_ne!(s, 201, "a's share is out of reach: {o}");
    // Store-2 asks to withdraw 50.00 of the 80.00 it is owed; not 81.00.
    let (s, v) = s2.post("/withdrawals", json!({"amount": "81.00"}), Some("w-big"));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("withdrawal_exceeds_owed")),
        "{v}"
    );
    let (s, w) = s2.post(
        "/withdrawals",
        json!({"amount": "50.00", "note": "跨店结算"}),
        Some("w1"),
    );
    assert_eq!((s, &w["status"]), (201, &json!("pending")), "{w}");
    let id = w["id"].as_str().unwrap().to_string();
    // The cut-off store still answers its own settlement.
    let v = settlement(s2);
    assert_eq!((&v["pairs"], &v["stores"]), (&pairs, &stores), "{v}");

    if let Cut::Link(_) = cut {
        // The other side still sees only what it had: the cut is real.
        let (_, l) = hq.get("/withdrawals");
        assert_eq!(l["withdrawals"], json!([]), "{l}");
    }
    heal();
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    // HQ holds the request now.
    let (s, l) = hq.get("/withdrawals?status=pending");
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["withdrawals"][0]["id"], id.as_str(), "{l}");
    // b spends 20.00 at store-1, which asks store-2 (connected again: the
    // ops may have converged through HQ before): store-2 gives it back (a
    // transfer back).
    chain.wait_connected();
    let (s, o) = spend(s1, &b, "20.00", "ob2");
    assert_eq!(s, 201, "{o}");
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let (pairs, stores) = expected("60.00", 2);
    for node in [s1, s2, hq] {
        let v = settlement(node);
        assert_eq!((&v["pairs"], &v["stores"]), (&pairs, &stores), "{v}");
        assert_eq!(v["chain_total"]["amount"], "0.00", "{v}");
        assert_eq!(
            v["freshness"]["version_vector"],
            settlement(s1)["freshness"]["version_vector"]
        );
    }

    // HQ approves the withdrawal asked while cut off, once.
    let (s, v) = hq.post(
        &format!("/withdrawals/{id}/approve"),
        json!({"note": "已转账"}),
        Some("a1"),
    );
    assert_eq!((s, &v["status"]), (200, &json!("approved")), "{v}");
    let (s, v) = hq.post(&format!("/withdrawals/{id}/approve"), json!({}), Some("a2"));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("withdrawal_decided")),
        "{v}"
    );
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let (_, l) = s2.get("/withdrawals");
    assert_eq!(l["withdrawals"][0]["status"], "approved", "{l}");
    assert_eq!(
        l["balances"],
        json!([{"store": "store-2", "owed": "60.00", "approved": "50.00", "pending": "0.00", "available": "10.00"}]),
        "{l}"
    );
    let (s, v) = s2.post("/withdrawals", json!({"amount": "10.01"}), Some("w2"));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("withdrawal_exceeds_owed")),
        "{v}"
    );
}
