//! Durability with a real process killed by SIGKILL in the middle of a
//! stream of checkouts: after restart every acknowledged checkout is there,
//! and retrying every request with its key creates none twice.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::harness::{Node, wait_for};

const CLIENTS: usize = 8;

#[test]
fn kill9_during_checkouts_loses_nothing_acknowledged() {
    let mut n = Node::up();
    let members: Vec<String> = (0..4)
        .map(|i| n.member(&format!("1880000000{i}"), &format!("会员{i}")))
        .collect();
    for (i, m) in members.iter().enumerate() {
        let (s, _) = n.post(
            &format!("/members/{m}/recharges"),
            json!({"amount": "4000", "tender": "cash"}),
            Some(&format!("r{i}")),
        );
        assert_eq!(s, 201);
    }
    // (idempotency key, member, body) of every checkout attempted, and the
    // order id of every one acknowledged.
    let attempted = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let url = n.url.clone();
    let token = n.token.clone();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (attempted, acked, stop, count, url, token, members) =
                (attempted.clone(), acked.clone(), stop.clone(), count.clone(), url.clone(), token.clone(), members.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(10))).build().into();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let key = format!("c{c}-{i}");
                    let member = &members[i % members.len()];
                    let body = json!({"member_id": member, "lines": [{"description": "咖啡", "unit_price": "1.00", "qty": "1"}], "tenders": [{"kind": "balance"}]});
                    attempted.lock().unwrap().push((key.clone(), body.clone()));
                    let resp = agent
                        .post(&format!("{url}/api/v1/checkouts"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .header("Idempotency-Key", &key)
                        .send_json(&body);
                    match resp {
                        Ok(mut r) if r.status() == 201 => {
                            let v: serde_json::Value = r.body_mut().read_json().expect("order json");
                            acked.lock().unwrap().push((key, v["id"].as_str().unwrap().to_string()));
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => panic!("checkout refused: {}", r.status()),
                        // The node died under us: this request may or may not be in.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    wait_for(
        "300 acknowledged checkouts",
        Duration::from_secs(60),
        || count.load(Ordering::Relaxed) >= 300,
    );
    n.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client thread");
    }
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    n.restart();
    for (key, order) in &acked {
        let (s, o) = n.get(&format!("/orders/{order}"));
        assert_eq!(s, 200, "acknowledged order {order} (key {key}) lost");
        assert_eq!(o["payable"], "0.80");
    }
    // Retry everything attempted, acknowledged or not, with its key.
    let mut orders = std::collections::HashSet::new();
    for (key, body) in &attempted {
        let (s, o) = n.post("/checkouts", body.clone(), Some(key));
        assert_eq!(s, 201, "{key}: {o}");
        assert!(
            orders.insert(o["id"].as_str().unwrap().to_string()),
            "two keys answered with one order"
        );
    }
    for (key, order) in &acked {
        let (_, o) = n.post(
            "/checkouts",
            attempted.iter().find(|(k, _)| k == key).unwrap().1.clone(),
            Some(key),
        );
        assert_eq!(
            o["id"].as_str(),
            Some(order.as_str()),
            "replay of {key} answers with its first order"
        );
    }
    let (_, l) = n.get("/ledger/summary");
    assert_eq!(
        l["orders"].as_u64(),
        Some(attempted.len() as u64),
        "each request made exactly one order"
    );
    // Conservation: what members hold is what the ledger says is outstanding.
    let mut held = 0i64;
    for m in &members {
        let (_, w) = n.get(&format!("/members/{m}/wallet"));
        held += fen(w["balance"].as_str().unwrap());
    }
    let outstanding = fen(l["outstanding_principal"].as_str().unwrap())
        + fen(l["outstanding_bonus"].as_str().unwrap());
    assert_eq!(held, outstanding);
    assert_eq!(held, 4 * 440_000 - 80 * attempted.len() as i64);
}

fn fen(s: &str) -> i64 {
    let (y, f) = s.split_once('.').unwrap();
    y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
}
