//! The member code (会员码) over HTTP: a code issued by
//! `GET /members/{id}/code` finds the member through
//! `POST /member-codes/verify`, as a scanner types it; every bad input
//! (forged, another chain's, expired, from the future, control characters,
//! 100 KB, not JSON) is refused with its 4xx and machine code, in both
//! languages, and changes nothing.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{App, CODE_KEY, CODE_WINDOW_S};
use serde_json::{Value, json};
use tongka_core::MemberId;
use tongka_core::member_code::{self, MemberCodeKey};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn key() -> MemberCodeKey {
    MemberCodeKey::from_bytes(CODE_KEY)
}

async fn verify(app: &App, code: &str) -> (u16, Value) {
    app.send(
        "POST",
        "/api/v1/member-codes/verify",
        &json!({ "code": code }),
        None,
    )
    .await
}

/// The answer is a refusal with `code`, a message in each language, and
/// the node is as it was.
async fn refused(app: &App, body: Vec<u8>, status: u16, code: &str) -> Value {
    let before = app.snapshot().await;
    let a = app
        .call("POST", "/api/v1/member-codes/verify", body, None)
        .await;
    let v = a.json().unwrap_or(Value::Null);
    assert_eq!(
        (a.status.as_u16(), a.error_code().as_deref()),
        (status, Some(code)),
        "{v}"
    );
    let e = &v["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty())
            && e["message_zh"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert_eq!(app.snapshot().await, before, "a refusal changed nothing");
    v
}

fn body(code: &str) -> Vec<u8> {
    json!({ "code": code }).to_string().into_bytes()
}

#[tokio::test]
async fn an_issued_code_finds_the_member_as_a_scanner_types_it() {
    let app = App::new();
    let seed = app.seed().await;
    let (s, c) = app
        .get(&format!("/api/v1/members/{}/code", seed.member))
        .await;
    assert_eq!(s, 200, "{c}");
    let code = c["code"].as_str().unwrap();
    assert!(code.starts_with("TK1.M-STORE-1-1."), "{code}");
    assert_eq!(c["member_id"], json!(seed.member));
    assert_eq!(c["valid_for_s"], json!(CODE_WINDOW_S));
    let at = |f: &str| humantime::parse_rfc3339(c[f].as_str().unwrap()).unwrap();
    assert_eq!(
        at("expires_at").duration_since(at("issued_at")).unwrap(),
        std::time::Duration::from_secs(CODE_WINDOW_S)
    );
    let svg = c["svg"].as_str().unwrap();
    assert!(
        svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("<path"),
        "{svg}"
    );
    // The key is in no answer.
    assert!(!c.to_string().contains(&hex::encode(CODE_KEY)));
    // The code is the core's, under the node's key.
    let id = MemberId::parse(&seed.member).unwrap();
    assert_eq!(
        member_code::verify(&key(), code, now(), CODE_WINDOW_S),
        Ok(id)
    );

    let (s, member) = app.get(&format!("/api/v1/members/{}", seed.member)).await;
    assert_eq!(s, 200);
    let before = app.snapshot().await;
    for scanned in [
        code.to_string(),
        // Caps Lock on, and the scanner's Enter and Tab.
        code.to_ascii_lowercase(),
        format!("{code}\r\n"),
        format!("\t{code}"),
    ] {
        let (s, m) = verify(&app, &scanned).await;
        assert_eq!(s, 200, "{scanned:?}: {m}");
        assert_eq!(m, member, "the same view as GET /members/{{id}}");
    }
    assert_eq!(app.snapshot().await, before, "verifying changes nothing");
}

#[tokio::test]
async fn bad_codes_are_refused_with_their_reason_and_change_nothing() {
    let app = App::new();
    let seed = app.seed().await;
    let id = MemberId::parse(&seed.member).unwrap();
    let good = member_code::issue(&key(), &id, now());

    // Forged: one character of the MAC changed, or the member's id.
    let mut forged = good.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    refused(&app, body(&forged), 422, "member_code_invalid").await;
    let other_member = good.replace("M-STORE-1-1.", "M-STORE-1-2.");
    assert_ne!(other_member, good);
    refused(&app, body(&other_member), 422, "member_code_invalid").await;
    // Another chain's key.
    let other_chain = member_code::issue(&MemberCodeKey::from_bytes([0xA5; 32]), &id, now());
    refused(&app, body(&other_chain), 422, "member_code_invalid").await;

    // Expired: a screenshot older than the window; yesterday's.
    let old = member_code::issue(&key(), &id, now() - CODE_WINDOW_S - 5);
    let v = refused(&app, body(&old), 422, "member_code_expired").await;
    assert_eq!(v["error"]["window_s"], json!(CODE_WINDOW_S.to_string()));
    let yesterday = member_code::issue(&key(), &id, now() - 86_400);
    refused(&app, body(&yesterday), 422, "member_code_expired").await;
    // From the future, beyond the 30 s clocks may differ.
    let ahead = member_code::issue(&key(), &id, now() + 600);
    let v = refused(&app, body(&ahead), 422, "member_code_expired").await;
    assert!(v["error"]["ahead_s"].is_string(), "{v}");
    // An old timestamp put on a good code is a forgery, not an expiry.
    let restamped = good.replace(
        &format!(".{}.", now_part(&good)),
        &format!(".{}.", now() - 1000),
    );
    refused(&app, body(&restamped), 422, "member_code_invalid").await;

    // Garbage: control characters, non-ASCII, empty, 100 KB.
    for text in [
        format!("{good}\u{0}"),
        format!("TK1.\u{7}\u{1b}[2J{}", &good[4..]),
        "会员码".to_string(),
        String::new(),
        "13812341234".to_string(),
        "TK1.".repeat(25_000),
        "A".repeat(100 * 1024),
    ] {
        refused(&app, body(&text), 422, "member_code_invalid").await;
    }
    // Not the body this endpoint takes.
    for bad in [
        b"".to_vec(),
        b"TK1.M-STORE-1-1".to_vec(),
        br#"{"code": 5}"#.to_vec(),
        br#"{}"#.to_vec(),
        format!(r#"{{"code": "{good}", "member_id": "m-store-1-1"}}"#).into_bytes(),
        vec![b'{', 0xff, 0xfe, b'}'],
    ] {
        refused(&app, bad, 400, "invalid_json").await;
    }
    // Over the body limit.
    refused(
        &app,
        body(&"A".repeat(300 * 1024)),
        413,
        "payload_too_large",
    )
    .await;
    // A good code of a member this node does not know (yet).
    let stranger = member_code::issue(&key(), &MemberId::parse("m-store-9-9").unwrap(), now());
    refused(&app, body(&stranger), 404, "member_not_found").await;
}

fn now_part(code: &str) -> &str {
    code.split('.').nth(2).unwrap()
}

#[tokio::test]
async fn issuing_needs_a_member_and_the_token() {
    let app = App::new();
    let (s, v) = app.get("/api/v1/members/m-store-1-404/code").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("member_not_found"))
    );
    let (s, v) = app.get("/api/v1/members/nonsense/code").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("member_not_found"))
    );
    let a = app
        .raw("GET", "/api/v1/members/m-store-1-1/code", &[], Vec::new())
        .await;
    assert_eq!(a.error_code().as_deref(), Some("unauthorized"));
    let a = app
        .raw(
            "POST",
            "/api/v1/member-codes/verify",
            &[("content-type", "application/json")],
            body("TK1.X"),
        )
        .await;
    assert_eq!(a.error_code().as_deref(), Some("unauthorized"));
}

/// A node that was given no key (only a test or a benchmark builds one)
/// says so, and issues nothing.
#[tokio::test]
async fn a_node_without_a_key_says_so() {
    let app = App::keyless();
    let seed = app.seed().await;
    let (s, v) = app
        .get(&format!("/api/v1/members/{}/code", seed.member))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (503, Some("member_code_unavailable"))
    );
    let (s, v) = verify(&app, "TK1.M-STORE-1-1.1.AAAA").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (503, Some("member_code_unavailable"))
    );
}
