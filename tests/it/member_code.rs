//! The member code (会员码) on a real chain of real processes: a code
//! issued at one store verifies at every other store and at HQ, offline
//! (each node checks it with the chain's key, derived from the chain CA by
//! `tongka chain new`, no round trip); a code older than its window, or
//! made under another key, is refused by every node, and changes nothing.
//!
//! "Older than its window" is made with the core's `issue` at a time more
//! than the window ago, under the chain's key read from a node's
//! directory: the same bytes a member's screen would have shown then, with
//! no sleeping until a fresh code expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tongka_core::MemberId;
use tongka_core::member_code::{self, MemberCodeKey, WINDOW_DEFAULT_S};

use crate::harness::{Chain, Node};

const CONVERGE: Duration = Duration::from_secs(20);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn verify(node: &Node, code: &str) -> (u16, serde_json::Value) {
    node.post("/member-codes/verify", json!({ "code": code }), None)
}

#[test]
fn a_member_code_verifies_at_every_store_and_expires_at_every_store() {
    let chain = Chain::with_hq(2);
    let (s1, s2, hq) = (&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]);
    let id = s1.member("13744445555", "扫码会员");
    chain.wait_converged(&[0, 1, 2], CONVERGE);

    // Issued at store-1, as the member's screen gets it.
    let (s, c) = s1.get(&format!("/members/{id}/code"));
    assert_eq!(s, 200, "{c}");
    let code = c["code"].as_str().unwrap().to_string();
    assert_eq!(c["valid_for_s"], json!(WINDOW_DEFAULT_S));
    for node in [s1, s2, hq] {
        let (s, m) = verify(node, &code);
        assert_eq!((s, m["id"].as_str()), (200, Some(id.as_str())), "{m}");
    }
    // Issued at HQ, verified at the stores.
    let (s, c) = hq.get(&format!("/members/{id}/code"));
    assert_eq!(s, 200, "{c}");
    for node in [s1, s2] {
        let (s, m) = verify(node, c["code"].as_str().unwrap());
        assert_eq!((s, m["id"].as_str()), (200, Some(id.as_str())), "{m}");
    }

    // The chain's key, as every node holds it.
    let key = tongka_config::member_code::read_key(chain.dir.join("store-2/member-code.key"))
        .expect("the chain's member-code key");
    let key = MemberCodeKey::from_bytes(key);
    let member = MemberId::parse(&id).unwrap();
    // The code store-1 issued verifies under it: one key for the chain.
    assert_eq!(
        member_code::verify(&key, &code, now(), WINDOW_DEFAULT_S),
        Ok(member.clone())
    );
    let states: Vec<_> = chain
        .nodes
        .iter()
        .map(|n| n.get("/sync/status").1["state_hash"].clone())
        .collect();
    // A screenshot from just over a minute ago, and from yesterday.
    for age in [WINDOW_DEFAULT_S + 2, 86_400] {
        let old = member_code::issue(&key, &member, now() - age);
        for node in &chain.nodes {
            let (s, e) = verify(node, &old);
            assert_eq!(
                (s, e["error"]["code"].as_str()),
                (422, Some("member_code_expired")),
                "age {age}: {e}"
            );
            assert!(e["error"]["message_zh"].as_str().unwrap().contains("过期"));
        }
    }
    // Another chain's code, and a forged one.
    let other = member_code::issue(&MemberCodeKey::from_bytes([1; 32]), &member, now());
    let forged = format!("{}A", &code[..code.len() - 1]);
    let forged = if forged == code {
        format!("{}B", &code[..code.len() - 1])
    } else {
        forged
    };
    for bad in [other, forged] {
        for node in &chain.nodes {
            let (s, e) = verify(node, &bad);
            assert_eq!(
                (s, e["error"]["code"].as_str()),
                (422, Some("member_code_invalid")),
                "{e}"
            );
        }
    }
    let after: Vec<_> = chain
        .nodes
        .iter()
        .map(|n| n.get("/sync/status").1["state_hash"].clone())
        .collect();
    assert_eq!(states, after, "verifying changed nothing anywhere");
}

/// A store added later (`tongka chain add-store`) gets the chain's key:
/// it verifies codes issued before it existed, and its codes verify at
/// the others.
#[test]
fn a_store_added_later_verifies_the_chains_codes() {
    let mut chain = Chain::new(1);
    let id = chain.nodes[0].member("13755556666", "老会员");
    chain.add_store("store-2");
    chain.wait_connected();
    chain.wait_converged(&[0, 1], CONVERGE);
    let (s, c) = chain.nodes[0].get(&format!("/members/{id}/code"));
    assert_eq!(s, 200, "{c}");
    let (s, m) = verify(&chain.nodes[1], c["code"].as_str().unwrap());
    assert_eq!((s, m["id"].as_str()), (200, Some(id.as_str())), "{m}");
    let (s, c) = chain.nodes[1].get(&format!("/members/{id}/code"));
    assert_eq!(s, 200, "{c}");
    let (s, m) = verify(&chain.nodes[0], c["code"].as_str().unwrap());
    assert_eq!((s, m["id"].as_str()), (200, Some(id.as_str())), "{m}");
}

/// A node of no chain (`tongka up`) draws its own key once and keeps it:
/// a code it issued still verifies after a restart.
#[test]
fn a_node_of_no_chain_keeps_its_key_across_a_restart() {
    let mut node = Node::up();
    let id = node.member("13766667777", "单店会员");
    let (s, c) = node.get(&format!("/members/{id}/code"));
    assert_eq!(s, 200, "{c}");
    let key_file = node.data_dir.join("member-code.key");
    let key = std::fs::read(&key_file).expect("the node's key file");
    node.restart();
    assert_eq!(std::fs::read(&key_file).unwrap(), key, "the same key");
    let (s, m) = verify(&node, c["code"].as_str().unwrap());
    assert_eq!((s, m["id"].as_str()), (200, Some(id.as_str())), "{m}");
}
