//! HQ authors the programme for the chain: a store may not change it, HQ's
//! change reaches every store by replication, and a store's next recharge
//! uses the new offer (the one made before keeps its bonus), across a
//! SIGKILL and restart.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Chain, wait_for};

#[test]
fn hq_changes_an_offer_and_a_store_next_recharge_uses_it() {
    let mut chain = Chain::with_hq(2);
    let id = chain.nodes[0].member("13822223333", "方案会员");
    let recharge = |chain: &Chain, key: &str| {
        let (s, r) = chain.nodes[0].post(
            &format!("/members/{id}/recharges"),
            json!({"amount": "1000", "tender": "cash"}),
            Some(key),
        );
        assert_eq!(s, 201, "{r}");
        r["bonus"].clone()
    };
    assert_eq!(recharge(&chain, "r1"), "100.00");

    // A store of the chain may not change the programme.
    let (_, p) = chain.nodes[0].get("/programme");
    let (s, e) = chain.nodes[0].put("/programme", p.clone());
    assert_eq!(
        (s, &e["error"]["code"]),
        (403, &json!("programme_hq_only")),
        "{e}"
    );

    // HQ does.
    let hq = &chain.nodes[2];
    let mut changed = p.clone();
    changed["recharge_offers"][0]["bonus"] = json!("150.00");
    let (s, got) = hq.put("/programme", changed.clone());
    assert_eq!(s, 200, "{got}");
    assert_eq!(got, changed);
    for i in [0, 1] {
        wait_for(
            "the programme change at the stores",
            Duration::from_secs(20),
            || chain.nodes[i].get("/programme").1 == changed,
        );
    }
    assert_eq!(recharge(&chain, "r2"), "150.00");
    let (_, w) = chain.nodes[0].get(&format!("/members/{id}/wallet"));
    assert_eq!(w["balance"], "2250.00", "{w}");

    // Durable: after SIGKILL and restart the store still has it.
    chain.nodes[0].restart();
    assert_eq!(chain.nodes[0].get("/programme").1, changed);
    chain.wait_connected();
    chain.wait_converged(&[0, 1, 2], Duration::from_secs(30));
    assert_eq!(recharge(&chain, "r3"), "150.00");
}
