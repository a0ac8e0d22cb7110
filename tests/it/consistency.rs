//! The consistency report and the reports, on a real chain (two stores and
//! HQ, real processes) with a partition in the middle (issue 13): every
//! figure is checked against what the scenario did, computed here by hand
//! from the answers the stores gave, and every node holding the same ops
//! answers the same figures.
//!
//! The scenario: store-1 takes a recharge; store-2 sells against it, so
//! the escrow moves a share from store-1 to store-2. Then store-1 and HQ
//! are down: store-2 declines a spend it cannot cover (the share is out of
//! reach) and registers a phone; store-2 goes down and store-1, alone,
//! registers the same phone. Everyone comes back: the duplicate is listed,
//! merged, and the ledger balances to the fen at every node.
//!
//! The partitions are made by stopping processes (SIGTERM) and starting
//! them again, as in `merge.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Chain, Node, wait_for};

const CONVERGE: Duration = Duration::from_secs(30);
const STOP: Duration = Duration::from_secs(20);

fn fen(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("money string, got {v}"));
    let (y, f) = s.split_once('.').unwrap();
    let sign = if y.starts_with('-') { -1 } else { 1 };
    y.parse::<i64>().unwrap() * 100 + sign * f.parse::<i64>().unwrap()
}

fn sale(member: &str, price: &str) -> Value {
    json!({"member_id": member, "lines": [{"description": "咖啡", "unit_price": price, "qty": "1"}], "tenders": [{"kind": "balance"}]})
}

fn post(node: &Node, path: &str, body: Value, key: &str) -> Value {
    let (s, v) = node.post(path, body, Some(key));
    assert_eq!(s, 201, "{path}: {v}");
    v
}

fn consistency(node: &Node) -> Value {
    let (s, c) = node.get("/consistency");
    assert_eq!(s, 200, "{c}");
    c
}

/// A store's entry in the consistency report.
fn store<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report}"))
}

/// What every node must answer alike: the report less what is the
/// answering node's own (its name, its declines counted since it started,
/// and HQ's line: the answering node is always listed, and HQ, which sells
/// nothing, has no figures of its own here).
fn shared_part(report: &Value) -> Value {
    let mut r = report.clone();
    let o = r.as_object_mut().unwrap();
    o.remove("node");
    o["chain"].as_object_mut().unwrap().remove("declined");
    let stores = o["stores"].as_array_mut().unwrap();
    if let Some(i) = stores.iter().position(|s| s["store"] == "hq") {
        let hq = stores.remove(i);
        for (k, v) in hq.as_object().unwrap() {
            let zero = match v {
                Value::Object(m) => m.values().all(|x| x == 0 || x == "0.00"),
                Value::String(_) => true,
                other => other == 0,
            };
            assert!(zero, "HQ's own `{k}` is not zero: {hq}");
        }
    }
    for s in stores {
        s.as_object_mut().unwrap().remove("declined");
    }
    r
}

#[test]
fn the_consistency_report_and_the_reports_agree_across_a_partition() {
    let mut chain = Chain::with_hq(2);

    // store-1 registers A and takes 100.00 in cash.
    let a = post(
        &chain.nodes[0],
        "/members",
        json!({"phone": "13966660001", "name": "一致甲"}),
        "reg-a",
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        &chain.nodes[0],
        &format!("/members/{a}/recharges"),
        json!({"amount": "100.00", "tender": "cash"}),
        "rch-a",
    );
    let bonus = fen(&r["bonus"]);
    wait_for("A's balance at store-2", CONVERGE, || {
        let (s, w) = chain.nodes[1].get(&format!("/members/{a}/wallet"));
        s == 200 && fen(&w["balance"]) == 10_000 + bonus
    });

    // store-2 sells 30.00 against it: the escrow moves what is missing.
    let o = post(&chain.nodes[1], "/checkouts", sale(&a, "30.00"), "sale-1");
    let paid = fen(&o["payable"]);
    assert!(paid > 0 && paid <= 3_000, "{o}");
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let (_, w) = chain.nodes[1].get(&format!("/members/{a}/wallet"));
    assert_eq!(
        fen(&w["available_here"]),
        0,
        "store-2 asked for the shortfall only: {w}"
    );

    // store-1 and HQ down: store-2 cannot reach the share, declines.
    chain.nodes[0].terminate(STOP);
    chain.nodes[2].terminate(STOP);
    wait_for("store-2 sees store-1 gone", CONVERGE, || {
        let (_, s) = chain.nodes[1].get("/sync/status");
        s["peers"]
            .as_array()
            .is_some_and(|p| p.iter().all(|x| x["connected"] == false))
    });
    let (s, e) = chain.nodes[1].post("/checkouts", sale(&a, "10.00"), Some("sale-2"));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("insufficient_balance")),
        "{e}"
    );
    let b2 = post(
        &chain.nodes[1],
        "/members",
        json!({"phone": "13966660002", "name": "一致乙"}),
        "reg-b2",
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c2 = consistency(&chain.nodes[1]);
    assert_eq!(
        c2["chain"]["declined"],
        json!([{"code": "insufficient_balance", "cause": "unreachable",
                "cause_zh": c2["chain"]["declined"][0]["cause_zh"], "count": 1}]),
        "{c2}"
    );
    assert_eq!(store(&c2, "store-2")["declined"], 1, "{c2}");

    // store-2 down, store-1 alone registers the same phone.
    chain.nodes[1].terminate(STOP);
    chain.nodes[0].restart();
    let b1 = post(
        &chain.nodes[0],
        "/members",
        json!({"phone": "13966660002", "name": "一致乙"}),
        "reg-b1",
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(b1, b2);

    // Heal.
    chain.nodes[1].restart();
    chain.nodes[2].restart();
    chain.wait_connected();
    chain.wait_converged(&[0, 1, 2], CONVERGE);

    let reports: Vec<Value> = chain.nodes.iter().map(consistency).collect();
    for r in &reports {
        assert_eq!(r["ledger"]["balanced"], true, "{r}");
        assert_eq!(r["transfers_scan"]["complete"], true, "{r}");
        let t = &r["chain"]["transfers"];
        assert_eq!(
            (t["count"].as_u64(), fen(&t["principal"]) + fen(&t["bonus"])),
            (Some(1), paid),
            "one transfer, of what store-2 was short: {r}"
        );
        assert_eq!(store(r, "store-1")["given"]["count"], 1, "{r}");
        assert_eq!(store(r, "store-2")["received"]["count"], 1, "{r}");
        assert_eq!(
            (
                r["chain"]["duplicates"].as_u64(),
                r["chain"]["duplicates_open"].as_u64()
            ),
            (Some(1), Some(1)),
            "{r}"
        );
        let owed = &r["ledger"]["owed"];
        assert_eq!(
            fen(&owed["principal"]) + fen(&owed["bonus"]),
            10_000 + bonus - paid,
            "{r}"
        );
    }
    for (r, node) in reports.iter().zip(&chain.nodes).skip(1) {
        let (one, other) = (shared_part(&reports[0]), shared_part(r));
        for (key, v) in one.as_object().unwrap() {
            assert_eq!(
                Some(v),
                other.get(key),
                "`{key}` differs between store-1 and {}",
                node.url
            );
        }
    }

    // The reports, from the figures: the same at every node, and what the
    // scenario did.
    // (The default range: the 30 chain days up to today.)
    let sales: Vec<Value> = chain
        .nodes
        .iter()
        .map(|n| n.get("/reports/sales").1)
        .collect();
    for s in &sales {
        let t = &s["totals"];
        assert_eq!(
            (
                t["sales"].as_u64(),
                fen(&t["sales_amount"]),
                t["recharges"].as_u64(),
                fen(&t["recharged_principal"]),
            ),
            (Some(1), paid, Some(1), 10_000),
            "{s}"
        );
        assert_eq!(
            fen(&t["balance_spent_principal"]) + fen(&t["balance_spent_bonus"]),
            paid,
            "{s}"
        );
    }
    let figures = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("freshness");
        v
    };
    assert!(
        sales.windows(2).all(|w| figures(&w[0]) == figures(&w[1])),
        "{sales:#?}"
    );
    let (_, l) = chain.nodes[2].get("/reports/liability");
    let per_store: BTreeMapFen = l["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["store"].as_str().unwrap().to_string(),
                fen(&s["principal"]) + fen(&s["bonus"]),
            )
        })
        .collect();
    // store-1 took 100.00 (+ bonus) and gave what store-2 spent; store-2
    // received it and spent it.
    assert_eq!(
        per_store.get("store-1").copied(),
        Some(10_000 + bonus - paid),
        "{l}"
    );
    assert_eq!(per_store.get("store-2").copied().unwrap_or(0), 0, "{l}");
    let (_, m) = chain.nodes[2].get("/reports/members");
    assert_eq!(m["new"], 3, "A, and the phone twice: {m}");

    // The duplicate merged at HQ's side of the chain (store-1): none open,
    // one merge, the ledger still balanced everywhere.
    let merged = post(
        &chain.nodes[0],
        &format!("/members/{b1}/merge"),
        json!({"absorb": b2}),
        "merge-b",
    );
    assert_eq!(merged["id"], b1.as_str());
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    for node in &chain.nodes {
        wait_for("the merge everywhere", CONVERGE, || {
            let r = consistency(node);
            r["chain"]["duplicates_open"] == 0 && r["chain"]["merged"] == 1
        });
        let r = consistency(node);
        assert_eq!(r["ledger"]["balanced"], true, "{r}");
        assert_eq!(
            r["chain"]["merged_listed"],
            json!([{"absorbed": b2, "survivor": b1}]),
            "{r}"
        );
    }
}

type BTreeMapFen = std::collections::BTreeMap<String, i64>;
