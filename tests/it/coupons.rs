//! Coupons (会员券) on a chain of real `tongka` processes (issue 11): a
//! coupon's uses are held by one store at a time, move between stores
//! only by a transfer its holder signs (an escrow ask over QUIC), and so a
//! coupon is used at most as often as it has uses, across a partition, a
//! SIGKILL and a refund.
//!
//! The partition is real: each node runs in its own network namespace
//! (`netns::NetChain`) and store-2's link to the chain LAN goes down, so
//! store-2 keeps serving its tills while no peer can reach it. Every wait
//! polls a condition with a deadline.
//!
//! A member code older than its window is already refused at every node
//! of a chain, with nothing changed, by
//! `member_code::a_member_code_verifies_at_every_store_and_expires_at_every_store`;
//! it is not repeated here.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Chain, Node, wait_for};
use crate::netns::NetChain;

/// How long a chain may take to converge (a healed link: QUIC idle
/// timeout 5 s, re-dial back-off at most 2 s; a restarted node: its start).
const CONVERGE: Duration = Duration::from_secs(30);

/// How long a node may take to notice that a peer's link is down (QUIC
/// idle timeout 5 s, plus margin for a loaded machine).
const NOTICE: Duration = Duration::from_secs(20);

/// How long an op may take to reach a connected peer.
const REPLICATE: Duration = Duration::from_secs(20);

/// The templates HQ puts in the programme for these tests.
fn templates() -> Value {
    json!([
        {"id": "cash-10", "name": "10元代金券", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "10.00"},
         "validity": {"type": "days_from_issue", "days": 30},
         "uses": 1},
        {"id": "twice-5", "name": "5元券两次", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "5.00"},
         "validity": {"type": "days_from_issue", "days": 30},
         "uses": 2},
        {"id": "old", "name": "过期券", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "5.00"},
         "validity": {"type": "dates", "from": "2020-01-01", "to": "2020-01-31"},
         "uses": 1},
        {"id": "store-2-only", "name": "二店券", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "2.00"},
         "validity": {"type": "days_from_issue", "days": 7},
         "scope": {"stores": ["store-2"]}, "uses": 1}
    ])
}

/// HQ puts the templates in the programme; every node of `chain` has it.
fn put_templates(chain: &Chain, hq: &Node) {
    let (s, mut p) = hq.get("/programme");
    assert_eq!(s, 200, "{p}");
    p["coupon_templates"] = templates();
    let (s, got) = hq.put("/programme", p);
    assert_eq!(s, 200, "{got}");
    for n in &chain.nodes {
        wait_for("the coupon templates at every node", REPLICATE, || {
            n.get("/programme").1 == got
        });
    }
}

/// A sale of one 50.00 cake paid in cash, with `codes`.
fn sale(member: &str, codes: &[&str]) -> Value {
    json!({"member_id": member,
           "lines": [{"description": "蛋糕", "unit_price": "50.00", "qty": "1"}],
           "tenders": [{"kind": "cash"}], "coupon_codes": codes})
}

/// `template` issued to `member` at `node`: the coupon's code.
fn issue(node: &Node, member: &str, template: &str) -> String {
    let (s, c) = node.post(
        &format!("/members/{member}/coupons"),
        json!({ "template": template }),
        Some(&format!("issue-{member}-{template}")),
    );
    assert_eq!(s, 201, "{c}");
    c["code"].as_str().expect("coupon code").to_string()
}

/// The coupon `code` of `member` as `node` shows it, if it knows it.
fn coupon(node: &Node, member: &str, code: &str) -> Option<Value> {
    let (s, l) = node.get(&format!("/members/{member}/coupons"));
    if s != 200 {
        return None;
    }
    l["coupons"]
        .as_array()
        .expect("coupons")
        .iter()
        .find(|c| c["code"] == code)
        .cloned()
}

/// The receiving node of each `uses_transferred` entry of `member`'s
/// history at `node`, newest first.
fn transfers(node: &Node, member: &str) -> Vec<Value> {
    let (s, h) = node.get(&format!("/members/{member}/history?limit=200"));
    assert_eq!(s, 200, "{h}");
    h["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "uses_transferred")
        .map(|e| e["ref"].clone())
        .collect()
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

/// Issue 11's promise: "verified at any store, never used twice". A single
/// use coupon issued at HQ is held by the member's home store, store-2;
/// store-2, cut off, uses it; store-1 cannot (the use is out of reach), and
/// after the heal knows it is used. A SIGKILL of store-2 after the use, in
/// the cut, loses nothing.
#[test]
fn a_coupon_used_at_a_cut_off_store_is_not_used_again_elsewhere() {
    let Some(mut nc) = NetChain::new(2) else {
        return;
    };
    let all = [0, 1, 2];
    let chain = &nc.chain;
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    put_templates(chain, hq);
    let id = s2.member("13912340001", "券会员");
    wait_for("the member at HQ", REPLICATE, || {
        hq.get(&format!("/members/{id}")).0 == 200
    });
    let code = issue(hq, &id, "cash-10");
    let c = coupon(hq, &id, &code).expect("HQ shows the coupon it issued");
    assert_eq!(
        (&c["held_here"], &c["held_at"]),
        (&json!(0), &json!([{"store": "store-2", "uses": 1}])),
        "HQ sells nothing: the uses are held at the member's home store: {c}"
    );
    // Every node knows the coupon and who holds its use.
    chain.wait_converged(&all, CONVERGE);
    let c = coupon(s2, &id, &code).expect("store-2 has the coupon");
    assert_eq!(
        (&c["held_here"], &c["status"]),
        (&json!(1), &json!("usable"))
    );
    let c = coupon(s1, &id, &code).expect("store-1 has the coupon");
    assert_eq!(c["held_at"], json!([{"store": "store-2", "uses": 1}]));

    // Store-2 is cut off from everyone.
    nc.net.link(2, false);
    let (s, o) = s2.post("/checkouts", sale(&id, &[&code]), Some("use-at-2"));
    assert_eq!(s, 201, "store-2 holds the use, cut off or not: {o}");
    assert_eq!(
        (&o["coupon_off"], &o["payable"], &o["coupons"][0]["code"]),
        (&json!("10.00"), &json!("40.00"), &json!(code)),
        "50.00 less the coupon (a regular member: no level discount): {o}"
    );
    let order_at_2 = o["id"].as_str().unwrap().to_string();
    // Store-1 never saw that use (the link went down before it): the
    // use it knows of is held at store-2, out of reach. No sale. Tried
    // twice: at once, while store-1 still counts store-2 as connected (its
    // ask for the use goes unanswered until the ask's timeout), and once
    // every node has noticed the cut (no ask: declined at once).
    let refused_at_1 = |key: &str| {
        let before = snapshot(s1);
        let started = Instant::now();
        let a = s1.post("/checkouts", sale(&id, &[&code]), Some(key));
        println!("store-1 refused in {:?}: {}", started.elapsed(), a.1);
        assert_eq!(
            refusal(&a),
            (409, Some("coupon_unavailable_here")),
            "{}",
            a.1
        );
        assert_eq!(a.1["error"]["held_at"], "store-2", "{}", a.1);
        assert_eq!(snapshot(s1), before, "the refusal changed nothing");
    };
    refused_at_1("use-at-1");
    wait_for("every node to notice the cut", NOTICE, || {
        !connected(s2, "store-1")
            && !connected(s2, "hq")
            && !connected(s1, "store-2")
            && !connected(hq, "store-2")
    });
    assert!(connected(s1, "hq"), "store-1 and HQ stay connected");
    refused_at_1("use-at-1-noticed");
    assert_eq!(
        coupon(s1, &id, &code).unwrap()["used"],
        0,
        "the cut is real"
    );
    assert_eq!(
        coupon(hq, &id, &code).unwrap()["used"],
        0,
        "the cut is real"
    );

    // SIGKILL store-2 after the use, still cut off, and restart it.
    let s2 = &mut nc.chain.nodes[1];
    s2.restart();
    let c = coupon(s2, &id, &code).expect("the coupon after the restart");
    assert_eq!(
        (&c["status"], &c["used"], &c["left"]),
        (&json!("used"), &json!(1), &json!(0)),
        "the use survives SIGKILL: {c}"
    );
    let (s, o) = s2.get(&format!("/orders/{order_at_2}"));
    assert_eq!((s, &o["coupon_off"]), (200, &json!("10.00")), "{o}");
    // The till retries with the same key: the same order, no second use.
    let (s, again) = s2.post("/checkouts", sale(&id, &[&code]), Some("use-at-2"));
    assert_eq!((s, &again["id"]), (201, &json!(order_at_2)), "{again}");
    // And a new attempt at store-2 is refused: used.
    let before = snapshot(s2);
    let a = s2.post("/checkouts", sale(&id, &[&code]), Some("use-at-2-again"));
    assert_eq!(refusal(&a), (409, Some("coupon_used")), "{}", a.1);
    assert_eq!(snapshot(s2), before);
    assert_eq!(
        s2.get("/ledger/summary").1["coupons"]["uses"],
        1,
        "one use at store-2"
    );

    // Heal.
    nc.net.link(2, true);
    let chain = &nc.chain;
    chain.wait_converged(&all, CONVERGE);
    let s1 = &chain.nodes[0];
    let before = snapshot(s1);
    let a = s1.post("/checkouts", sale(&id, &[&code]), Some("use-at-1-healed"));
    assert_eq!(refusal(&a), (409, Some("coupon_used")), "{}", a.1);
    assert_eq!(a.1["error"]["coupon"], code.as_str());
    assert_eq!(snapshot(s1), before, "the refusal changed nothing");
    let ledgers: Vec<Value> = chain
        .nodes
        .iter()
        .map(|n| n.get("/ledger/summary").1)
        .collect();
    for (n, l) in chain.nodes.iter().zip(&ledgers) {
        let c = coupon(n, &id, &code).expect("every node has the coupon");
        assert_eq!(
            (&c["status"], &c["used"], &c["left"], &c["held_at"]),
            (&json!("used"), &json!(1), &json!(0), &json!([])),
            "{}: {c}",
            n.url
        );
        assert_eq!(
            (&l["coupons"]["issued"], &l["coupons"]["uses"], &l["orders"]),
            (&json!(1), &json!(1), &json!(1)),
            "one coupon, used once, one sale: {l}"
        );
        assert_eq!(l["coupons"]["off"], "10.00", "{l}");
    }
    assert!(ledgers.windows(2).all(|w| w[0] == w[1]), "{ledgers:?}");
}

/// Two uses held at store-1 (issued there): store-2 uses one (its escrow
/// ask moves exactly one use over QUIC, a `uses_transferred` store-1
/// signs), store-1 the other; a third use is refused at both stores.
#[test]
fn a_two_use_coupon_is_used_once_at_each_store_and_no_more() {
    let chain = Chain::with_hq(2);
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    put_templates(&chain, hq);
    let id = s1.member("13912340002", "两次券会员");
    let code = issue(s1, &id, "twice-5");
    assert!(code.starts_with("c-store-1-"), "{code}");
    wait_for("the coupon at store-2", REPLICATE, || {
        coupon(s2, &id, &code)
            .is_some_and(|c| c["held_at"] == json!([{"store": "store-1", "uses": 2}]))
    });
    assert_eq!(coupon(s2, &id, &code).unwrap()["held_here"], 0);

    let (s, o) = s2.post("/checkouts", sale(&id, &[&code]), Some("use-1"));
    assert_eq!(s, 201, "store-2 asks store-1 for a use: {o}");
    assert_eq!(
        (&o["coupon_off"], &o["payable"]),
        (&json!("5.00"), &json!("45.00"))
    );
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    for n in &chain.nodes {
        // The history index is written off the write path: wait for it.
        wait_for("the transfer in every history", REPLICATE, || {
            !transfers(n, &id).is_empty()
        });
        assert_eq!(
            transfers(n, &id),
            [json!("store-2")],
            "one transfer of uses, to store-2"
        );
        let c = coupon(n, &id, &code).unwrap();
        assert_eq!(
            (&c["status"], &c["used"], &c["left"], &c["held_at"]),
            (
                &json!("usable"),
                &json!(1),
                &json!(1),
                &json!([{"store": "store-1", "uses": 1}])
            ),
            "exactly one use moved and was used: {c}"
        );
    }

    let (s, o) = s1.post("/checkouts", sale(&id, &[&code]), Some("use-2"));
    assert_eq!((s, &o["coupon_off"]), (201, &json!("5.00")), "{o}");
    // Store-1 refuses at once; store-2 once it has store-1's use.
    let before = snapshot(s1);
    let a = s1.post("/checkouts", sale(&id, &[&code]), Some("use-3-at-1"));
    assert_eq!(refusal(&a), (409, Some("coupon_used")), "{}", a.1);
    assert_eq!(snapshot(s1), before);
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let before = snapshot(s2);
    let a = s2.post("/checkouts", sale(&id, &[&code]), Some("use-3-at-2"));
    assert_eq!(refusal(&a), (409, Some("coupon_used")), "{}", a.1);
    assert_eq!(snapshot(s2), before);
    for n in &chain.nodes {
        let c = coupon(n, &id, &code).unwrap();
        assert_eq!(
            (&c["status"], &c["used"], &c["left"]),
            (&json!("used"), &json!(2), &json!(0)),
            "{c}"
        );
        let l = n.get("/ledger/summary").1;
        assert_eq!(
            (&l["coupons"]["uses"], &l["orders"], &l["coupons"]["off"]),
            (&json!(2), &json!(2), &json!("10.00")),
            "{l}"
        );
    }
}

/// A refund gives the coupon's use back; another store sees it usable
/// after replication and can use it (its ask moves the returned use).
#[test]
fn a_refund_gives_the_use_back_and_another_store_sees_it() {
    let chain = Chain::with_hq(2);
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    put_templates(&chain, hq);
    let id = s1.member("13912340003", "退款券会员");
    let code = issue(s1, &id, "cash-10");
    let (s, o) = s1.post("/checkouts", sale(&id, &[&code]), Some("sale"));
    assert_eq!((s, &o["coupon_off"]), (201, &json!("10.00")), "{o}");
    let order = o["id"].as_str().unwrap().to_string();
    wait_for("store-2 to see the coupon used", REPLICATE, || {
        coupon(s2, &id, &code).is_some_and(|c| c["status"] == "used")
    });

    let (s, r) = s1.post(
        &format!("/orders/{order}/refunds"),
        json!({"reason": "退货"}),
        Some("refund"),
    );
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["coupons_returned"], json!([code]), "{r}");
    assert_eq!(r["amount"], "40.00", "{r}");
    let c = coupon(s1, &id, &code).unwrap();
    assert_eq!(
        (&c["status"], &c["left"], &c["held_here"]),
        (&json!("usable"), &json!(1), &json!(1)),
        "{c}"
    );
    wait_for("store-2 to see the use given back", REPLICATE, || {
        coupon(s2, &id, &code).is_some_and(|c| {
            c["status"] == "usable"
                && c["left"] == 1
                && c["held_at"] == json!([{"store": "store-1", "uses": 1}])
        })
    });
    // Used again, at store-2 this time.
    let (s, o) = s2.post("/checkouts", sale(&id, &[&code]), Some("sale-2"));
    assert_eq!((s, &o["coupon_off"]), (201, &json!("10.00")), "{o}");
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    for n in &chain.nodes {
        let c = coupon(n, &id, &code).unwrap();
        assert_eq!(
            (&c["status"], &c["left"]),
            (&json!("used"), &json!(0)),
            "{c}"
        );
        let l = n.get("/ledger/summary").1;
        assert_eq!(
            l["coupons"],
            json!({"issued": 1, "uses_issued": 1, "uses": 2, "uses_returned": 1,
                   "uses_outstanding": 0, "off": "20.00"}),
            "{l}"
        );
    }
}

/// Bad coupons at a real store: each refused with its code and detail,
/// at checkout and in a quote, and nothing changed at any node.
#[test]
fn bad_coupons_are_refused_at_a_real_store_and_change_nothing() {
    let chain = Chain::with_hq(1);
    let [s1, hq] = [&chain.nodes[0], &chain.nodes[1]];
    put_templates(&chain, hq);
    let id = s1.member("13912340004", "坏券会员");
    let old = issue(s1, &id, "old");
    let elsewhere = issue(s1, &id, "store-2-only");
    assert_eq!(coupon(s1, &id, &old).unwrap()["status"], "expired");
    chain.wait_converged(&[0, 1], CONVERGE);
    let cases: [(&str, u16, &str, (&str, &str)); 4] = [
        (
            "c-store-1-999",
            404,
            "coupon_not_found",
            ("coupon", "c-store-1-999"),
        ),
        (
            "A",
            422,
            "invalid_coupon_code",
            ("field", "coupon_codes[0]"),
        ),
        (&old, 422, "coupon_expired", ("valid_to", "2020-01-31")),
        (&elsewhere, 422, "coupon_not_applicable", ("miss", "store")),
    ];
    let before: Vec<Value> = chain.nodes.iter().map(snapshot).collect();
    for (i, (code, status, err, (k, v))) in cases.iter().enumerate() {
        for path in ["/checkouts", "/checkouts/quote"] {
            let a = s1.post(path, sale(&id, &[code]), Some(&format!("bad-{i}")));
            assert_eq!(refusal(&a), (*status, Some(*err)), "{path} {code}: {}", a.1);
            assert_eq!(a.1["error"][*k], *v, "{path} {code}: {}", a.1);
            assert!(
                !a.1["error"]["message_zh"].as_str().unwrap_or("").is_empty(),
                "bilingual: {}",
                a.1
            );
        }
    }
    // No op was made (store-1's version vector is unchanged), so there
    // is nothing for HQ to receive either.
    let after: Vec<Value> = chain.nodes.iter().map(snapshot).collect();
    assert_eq!(after, before, "the refusals changed nothing anywhere");
    for code in [&old, &elsewhere] {
        assert_eq!(coupon(s1, &id, code).unwrap()["used"], 0);
    }
}
