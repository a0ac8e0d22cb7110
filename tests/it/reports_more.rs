//! The reports of `reports/more.rs` on a real chain (issue 13: "report
//! figures checked against hand-computed expectations, on a real chain
//! with a partition in the middle"): store-1, store-2 and HQ as real
//! processes; store-2 sells while store-1 and HQ are stopped (SIGSTOP);
//! after the heal every node answers the same top members, top products,
//! store ranking and dormant members, and they are the hand-computed ones.
//!
//! ```text
//! HQ: tea 10.00, cake 25.00
//! store-1  a registered; a buys 2 tea + 1 cake            45.00
//! store-2  b registered; b buys 3 tea                     30.00
//! --- store-1 and HQ stopped ---
//! store-2  b buys 1 cake                                  25.00
//!          a walk-in buys 1 tea                           10.00
//!          a buys 2 cake                                  50.00
//!          b's 3-tea sale: 1 tea refunded                −10.00
//! --- healed ---
//! members:  a 95.00 (2 sales), b 55.00 − 10.00 = 45.00 (2 sales, 1 refund)
//! products: cake 4, 100.00; tea 6 − 1 = 5, 60.00 − 10.00 = 50.00
//! stores:   store-2 115.00, store-1 45.00, hq 0.00
//! ```

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Chain, Node, signal, try_wait_for, wait_for};

const CONVERGE: Duration = Duration::from_secs(30);
const NOTICE: Duration = Duration::from_secs(20);
const REPLICATE: Duration = Duration::from_secs(20);

fn today() -> tongka_core::day::Day {
    tongka_core::day::Day::of_ms(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

fn sale(node: &Node, member: Option<&str>, lines: Value, key: &str) -> Value {
    let mut body = json!({"lines": lines, "tenders": [{"kind": "cash"}]});
    if let Some(m) = member {
        body["member_id"] = json!(m);
    }
    let (s, o) = node.post("/checkouts", body, Some(key));
    assert_eq!(s, 201, "{o}");
    o
}

fn any_connected(node: &Node) -> bool {
    let (_, s) = node.get("/sync/status");
    s["peers"]
        .as_array()
        .is_some_and(|p| p.iter().any(|x| x["connected"] == true))
}

/// A report's answer, asserted 200.
fn report(node: &Node, path: &str) -> Value {
    let (s, v) = node.get(path);
    assert_eq!(s, 200, "{path}: {v}");
    v
}

#[test]
fn report_figures_agree_on_every_node_after_a_partition_and_match_the_hand_computed_ones() {
    let chain = Chain::with_hq(2);
    let all = [0, 1, 2];
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    for (sku, price) in [("tea", "10.00"), ("cake", "25.00")] {
        let (s, p) = hq.put(
            &format!("/products/{sku}"),
            json!({"name": sku, "price": price}),
        );
        assert_eq!(s, 200, "{p}");
    }
    for n in [s1, s2] {
        wait_for("the products at the stores", REPLICATE, || {
            n.get("/products/tea").0 == 200 && n.get("/products/cake").0 == 200
        });
    }
    chain.wait_converged(&all, CONVERGE);

    let a = s1.member("13900000001", "甲");
    let o = sale(
        s1,
        Some(&a),
        json!([{"sku": "tea", "qty": "2"}, {"sku": "cake"}]),
        "s1-a",
    );
    assert_eq!(o["payable"], "45.00", "{o}");
    let b = s2.member("13900000002", "乙");
    let teas = sale(s2, Some(&b), json!([{"sku": "tea", "qty": "3"}]), "s2-b");
    assert_eq!(teas["payable"], "30.00", "{teas}");
    chain.wait_converged(&all, CONVERGE);

    // Store-2 cut off: store-1 and HQ stopped.
    signal(s1.pid(), libc::SIGSTOP);
    signal(hq.pid(), libc::SIGSTOP);
    assert!(
        try_wait_for(NOTICE, || !any_connected(s2)),
        "store-2 did not notice the partition:\n{}",
        chain.report()
    );
    let o = sale(s2, Some(&b), json!([{"sku": "cake"}]), "s2-b2");
    assert_eq!(o["payable"], "25.00", "{o}");
    sale(s2, None, json!([{"sku": "tea"}]), "s2-walk-in");
    let o = sale(s2, Some(&a), json!([{"sku": "cake", "qty": "2"}]), "s2-a");
    assert_eq!(o["payable"], "50.00", "{o}");
    let (s, r) = s2.post(
        &format!("/orders/{}/refunds", teas["id"].as_str().unwrap()),
        json!({"lines": [{"line": 0, "qty": "1"}], "reason": "退一杯"}),
        Some("s2-refund"),
    );
    assert_eq!((s, &r["amount"]), (201, &json!("10.00")), "{r}");
    // Store-2 alone ranks its own ops already; the others do not know them.
    let days = format!("from={}&to={}", today().plus(-1), today().plus(1));
    let alone = report(s2, &format!("/reports/rankings?{days}&by=members"));
    assert_eq!(alone["members"][0]["spent"], "95.00", "{alone}");

    signal(s1.pid(), libc::SIGCONT);
    signal(hq.pid(), libc::SIGCONT);
    chain.wait_converged(&all, CONVERGE);

    let as_of = today().plus(3);
    let paths = [
        format!("/reports/rankings?{days}&by=members"),
        format!("/reports/rankings?{days}&by=products"),
        format!("/reports/rankings?{days}"),
        format!("/reports/members?to={as_of}&dormant_days=1"),
        format!("/reports/coupons?{days}"),
        format!("/reports/cards?{days}"),
    ];
    let answers: Vec<Vec<Value>> = [s1, s2, hq]
        .iter()
        .map(|n| paths.iter().map(|p| report(n, p)).collect())
        .collect();
    for (i, p) in paths.iter().enumerate() {
        assert_eq!(answers[0][i], answers[1][i], "store-1 and store-2: {p}");
        assert_eq!(answers[0][i], answers[2][i], "store-1 and HQ: {p}");
    }
    let [members, products, stores, growth, coupons, cards] = &answers[0][..] else {
        unreachable!()
    };
    let rows = |list: &Value, fields: &[&str]| -> Vec<Vec<Value>> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| fields.iter().map(|f| r[*f].clone()).collect())
            .collect()
    };
    assert_eq!(
        rows(
            &members["members"],
            &["rank", "member", "sales", "refunds", "spent"]
        ),
        vec![
            vec![json!(1), json!(a), json!(2), json!(0), json!("95.00")],
            vec![json!(2), json!(b), json!(2), json!(1), json!("45.00")],
        ],
        "{members}"
    );
    assert_eq!(
        rows(
            &products["products"],
            &["rank", "sku", "net_qty", "net", "returned"]
        ),
        vec![
            vec![
                json!(1),
                json!("cake"),
                json!("4"),
                json!("100.00"),
                json!("0.00")
            ],
            vec![
                json!(2),
                json!("tea"),
                json!("5"),
                json!("50.00"),
                json!("10.00")
            ],
        ],
        "{products}"
    );
    assert_eq!(
        rows(&stores["stores"], &["store", "sales_amount", "refunded"]),
        vec![
            vec![json!("store-2"), json!("115.00"), json!("10.00")],
            vec![json!("store-1"), json!("45.00"), json!("0.00")],
            // HQ's days hold its catalogue ops: ranked, with no sales.
            vec![json!("hq"), json!("0.00"), json!("0.00")],
        ],
        "{stores}"
    );
    // Dormant 3 days on after 1 day: a and b chain-wide; a at store-1
    // (registered and bought there), both at store-2.
    assert_eq!(growth["dormant"]["chain"], 2, "{growth}");
    assert_eq!(
        growth["dormant"]["stores"],
        json!([{"store": "store-1", "dormant": 1}, {"store": "store-2", "dormant": 2}]),
        "{growth}"
    );
    assert_eq!(coupons["totals"]["issued"], 0);
    assert_eq!(cards["totals"]["sold"], 0);
}
