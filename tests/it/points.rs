//! Paying with points across stores (积分抵现): HQ turns the rule on, a
//! member earns points at store-1 and pays with them at store-2, which holds
//! none of them: store-2 asks store-1 for a points share (escrow, like
//! money), never more than store-1 holds. With store-1 cut off, store-2
//! declines with `insufficient_points` and what it holds. After the heal the
//! chain agrees on one ledger, and the points are conserved: issued −
//! reversed − redeemed + returned = Σ shares.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Chain, signal, wait_for};

const CONVERGE: Duration = Duration::from_secs(30);

fn sale(member: &str, price: &str, points: i64) -> Value {
    json!({"member_id": member, "lines": [{"description": "蛋糕", "unit_price": price, "qty": "1"}], "points": points, "tenders": [{"kind": "wechat"}]})
}

fn points_at(w: &Value, node: &str) -> i64 {
    w["shares"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["node"] == node)
        .map(|s| s["points"].as_i64().unwrap())
        .sum()
}

#[test]
fn points_earned_at_one_store_pay_at_another_by_escrow() {
    let chain = Chain::with_hq(2);
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];

    // HQ turns paying with points on: 100 points = 1.00, at most half.
    let (_, mut p) = hq.get("/programme");
    p["points_deduction"] = json!({"points_per_yuan": 100, "cap": "0.5", "min_points": 0});
    let (s, got) = hq.put("/programme", p.clone());
    assert_eq!(s, 200, "{got}");
    for n in [s1, s2] {
        wait_for("the rule at the stores", CONVERGE, || {
            n.get("/programme").1 == got
        });
    }

    // Earn 800 points at store-1 (800.00 paid, regular level).
    let id = s1.member("13833334444", "积分会员");
    let (s, o) = s1.post("/checkouts", sale(&id, "800.00", 0), Some("earn"));
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["points_earned"], 800);
    wait_for("the member's points at store-2", CONVERGE, || {
        s2.get(&format!("/members/{id}")).1["points"] == 800
    });
    let (_, w) = s2.get(&format!("/members/{id}/wallet"));
    assert_eq!(points_at(&w, "store-2"), 0, "{w}");

    // Pay 300 points at store-2: it holds none, asks store-1 for 300.
    let (s, o) = s2.post("/checkouts", sale(&id, "10.00", 300), Some("redeem"));
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["points_used"], 300);
    assert_eq!(o["points_value"], "3.00");
    assert_eq!(o["payable"], "7.00");
    assert_eq!(o["points_earned"], 7);
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let (_, w) = s1.get(&format!("/members/{id}/wallet"));
    // store-1 gave exactly what was asked; store-2 spent it, earned 7.
    assert_eq!(points_at(&w, "store-1"), 500, "{w}");
    assert_eq!(points_at(&w, "store-2"), 7, "{w}");
    assert_eq!(w["points"], 507, "{w}");

    // store-1 cut off: store-2 has 7 points, cannot get more, declines.
    signal(s1.pid(), libc::SIGSTOP);
    let (s, e) = s2.post("/checkouts", sale(&id, "100.00", 200), Some("short"));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("insufficient_points")),
        "{e}"
    );
    assert_eq!(e["error"]["available_here"], "7", "{e}");
    assert!(
        e["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("积分不足")
    );
    // Within what it holds it still trades.
    let (s, o) = s2.post("/checkouts", sale(&id, "10.00", 7), Some("small"));
    assert_eq!(s, 201, "{o}");
    signal(s1.pid(), libc::SIGCONT);

    // A full refund of the small sale at store-2: its 7 points back there.
    let oid = o["id"].as_str().unwrap().to_string();
    let (s, r) = s2.post(&format!("/orders/{oid}/refunds"), json!({}), Some("ref"));
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["points_returned"], 7);

    let hash = chain.wait_converged(&[0, 1, 2], CONVERGE);
    let ledgers: Vec<Value> = [s1, s2, hq]
        .iter()
        .map(|n| n.get("/ledger/summary").1)
        .collect();
    assert!(
        ledgers.windows(2).all(|w| w[0] == w[1]),
        "one ledger ({hash}): {ledgers:?}"
    );
    let (_, w) = hq.get(&format!("/members/{id}/wallet"));
    let shares: i64 = w["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["points"].as_i64().unwrap())
        .sum();
    let l = &ledgers[0];
    assert_eq!(l["points_redeemed"], 307, "{l}");
    assert_eq!(l["points_returned"], 7, "{l}");
    assert_eq!(l["points_outstanding"].as_i64().unwrap(), shares, "{l} {w}");
    assert!(
        w["shares"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["points"].as_i64().unwrap() >= 0)
    );
}
