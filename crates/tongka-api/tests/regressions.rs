//! Bugs the fuzzing of the API and of the core parsers found, each kept as a
//! test of what must happen: more digits than a decimal holds are refused,
//! not rounded; no order is so large that it overflows the ledger; every
//! refusal, even the framework's own, is the JSON error object; invite codes
//! are counted in characters and checked; the `Bearer` scheme is matched
//! without regard to case; an idempotency key answers the same whether the
//! API or the engine reads it.

mod common;

use common::App;
use serde_json::{Value, json};

/// Amounts with more digits than rust_decimal holds (28) are rounded by
/// `Decimal::from_str` in `Money::parse_amount` (tongka-core money.rs)
/// instead of being refused as having more than two places: the client's
/// 0.0999…9 becomes a recharge of 0.10.
#[tokio::test]
async fn amounts_with_more_than_28_digits_are_refused() {
    let app = App::new();
    let seed = app.seed().await;
    let path = format!("/api/v1/members/{}/recharges", seed.member);
    for (i, amount) in [
        json!("0.0999999999999999999999999999999"),
        json!("100.000000000000000000000000000000000001"),
        serde_json::from_str::<Value>("100.000000000000000000000000000000000001").expect("number"),
    ]
    .into_iter()
    .enumerate()
    {
        let (s, r) = app
            .send(
                "POST",
                &path,
                &json!({"amount": amount, "tender": "cash"}),
                Some(&format!("long-{i}")),
            )
            .await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (422, Some("invalid_amount")),
            "{amount} → {r}"
        );
    }
}

/// The same for quantities (`DecimalText::qty` in dto.rs): 0.9999…9 (32
/// nines) is sold as a quantity of 1.
#[tokio::test]
async fn quantities_with_more_than_28_digits_are_refused() {
    let app = App::new();
    let (s, r) = app
        .send(
            "POST",
            "/api/v1/checkouts",
            &json!({"lines": [{"description": "x", "unit_price": "10", "qty": "0.99999999999999999999999999999999"}],
                    "tenders": [{"kind": "cash"}]}),
            Some("q"),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("invalid_qty")),
        "{r}"
    );
}

/// Order totals are not bounded (200 lines × 10,000,000.00 × 100,000 =
/// 200,000,000,000,000.00 per order, paid by a cash tender without an
/// amount, which `settle_tenders` does not check against the maximum).
/// After 461 such walk-in sales the ledger's `sales` exceeds i64::MAX fen,
/// `Money::fen()` panics while the store encodes its summary (postcard), the
/// writer thread dies, and the node answers every write `503
/// storage_unavailable` until it is restarted. Slow (about 25 s in debug).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_orders_cannot_kill_the_store() {
    let app = App::new();
    let lines: Vec<Value> = (0..200)
        .map(|_| json!({"description": "x", "unit_price": "10000000.00", "qty": "100000"}))
        .collect();
    let body = json!({"lines": lines, "tenders": [{"kind": "cash"}]});
    for i in 0..470 {
        let (s, r) = app
            .send(
                "POST",
                "/api/v1/checkouts",
                &body,
                Some(&format!("big-{i}")),
            )
            .await;
        assert!(s < 500, "checkout {i}: {s} {r}");
    }
    let (s, r) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13800000000", "name": "x"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "the node still takes writes: {r}");
}

/// Refusals by axum's extractors are plain text, not the API's error
/// object: a bad query string (`Query` in get_history and find_members), a
/// path segment that is not UTF-8 (`Path<String>`), and a body over
/// BODY_BYTES_MAX (`Bytes` with `DefaultBodyLimit`, 413).
#[tokio::test]
async fn every_refusal_is_the_error_object() {
    let app = App::new();
    let seed = app.seed().await;
    let big = vec![b' '; tongka_api::BODY_BYTES_MAX + 1];
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "GET",
            format!("/api/v1/members/{}/history?limit=-1", seed.member),
            vec![],
        ),
        ("GET", "/api/v1/members?phone=1&phone=2".into(), vec![]),
        ("GET", "/api/v1/members/%FF".into(), vec![]),
        ("POST", "/api/v1/checkouts".into(), big),
    ];
    for (method, path, body) in cases {
        let a = app.call(method, &path, body, Some("k")).await;
        assert!(a.status.is_client_error(), "{method} {path}: {}", a.status);
        assert!(
            a.error_code().is_some(),
            "{method} {path}: {} {:?} {}",
            a.status,
            a.content_type(),
            String::from_utf8_lossy(&a.body)
        );
    }
}

/// `invite_code` is checked by its length in bytes (lib.rs, register:
/// `code.len()`), so six Chinese characters are refused as "not 4 to 16
/// characters", and its characters are not checked at all: control
/// characters are stored and shown as `invited_by`.
#[tokio::test]
async fn invite_codes_are_counted_in_characters_and_checked() {
    let app = App::new();
    let (s, r) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13900000000", "name": "a", "invite_code": "邀请码六个字"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "six characters: {r}");
    let (s, r) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13900000001", "name": "a", "invite_code": "\u{0}\u{1}\u{2}\u{3}"}),
            None,
        )
        .await;
    assert_eq!(s, 422, "control characters: {r}");
}

/// RFC 7235 section 2.1: the authentication scheme is case-insensitive, so
/// `bearer` and `BEARER` are the `Bearer` scheme; the token itself is not.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = App::new();
    let token = common::TOKEN;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let auth = format!("{scheme} {token}");
        let a = app
            .raw(
                "GET",
                "/api/v1/ledger/summary",
                &[("authorization", &auth)],
                Vec::new(),
            )
            .await;
        assert_eq!(a.status.as_u16(), 200, "{auth}");
    }
    let upper = format!("Bearer {}", token.to_uppercase());
    for auth in [upper.as_str(), "Basic abc", "Bearer", "Bearer ", token] {
        let a = app
            .raw(
                "GET",
                "/api/v1/ledger/summary",
                &[("authorization", auth)],
                Vec::new(),
            )
            .await;
        assert_eq!(
            (a.status.as_u16(), a.error_code().as_deref()),
            (401, Some("unauthorized")),
            "{auth}"
        );
    }
}

/// The key of an accepted request is read once, by the engine; the API
/// reads it only for a request it refuses itself. Every answer stays as
/// it was: a replay is the first answer, a reused key is
/// `idempotency_key_reused` even with a body that does not parse, and a
/// key whose request was refused is still free.
#[tokio::test]
async fn idempotency_answers_whether_or_not_the_body_parses() {
    let app = App::new();
    let seed = app.seed().await;
    let path = format!("/api/v1/members/{}/recharges", seed.member);
    let good = json!({"amount": "10.00", "tender": "cash"}).to_string();
    let first = app
        .call("POST", &path, good.clone().into_bytes(), Some("k1"))
        .await;
    assert_eq!(first.status.as_u16(), 201);
    let again = app
        .call("POST", &path, good.clone().into_bytes(), Some("k1"))
        .await;
    assert_eq!(again.status.as_u16(), 201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    let before = app.snapshot().await;
    for other in [
        b"not json".to_vec(),
        json!({"amount": "-1", "tender": "cash"})
            .to_string()
            .into_bytes(),
        json!({"amount": "11.00", "tender": "cash"})
            .to_string()
            .into_bytes(),
    ] {
        let a = app.call("POST", &path, other.clone(), Some("k1")).await;
        assert_eq!(
            (a.status.as_u16(), a.error_code().as_deref()),
            (409, Some("idempotency_key_reused")),
            "{}",
            String::from_utf8_lossy(&other)
        );
    }
    // The same for a path the API refuses (no such order).
    let a = app
        .call(
            "POST",
            "/api/v1/orders/nonsense/refunds",
            Vec::new(),
            Some("k1"),
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.error_code().as_deref()),
        (409, Some("idempotency_key_reused"))
    );
    assert_eq!(app.snapshot().await, before);
    // Refused by the API, then by the engine: the key is still free.
    let bad = json!({"lines": [], "tenders": [{"kind": "cash"}]}).to_string();
    let a = app
        .call("POST", "/api/v1/checkouts", bad.into_bytes(), Some("k2"))
        .await;
    assert_eq!(a.error_code().as_deref(), Some("invalid_lines"));
    let short = json!({"member_id": seed.member, "lines": [{"description": "x", "unit_price": "9999999"}], "tenders": [{"kind": "balance"}]});
    let a = app
        .call(
            "POST",
            "/api/v1/checkouts",
            short.to_string().into_bytes(),
            Some("k2"),
        )
        .await;
    assert_eq!(a.error_code().as_deref(), Some("insufficient_balance"));
    let ok =
        json!({"lines": [{"description": "x", "unit_price": "1"}], "tenders": [{"kind": "cash"}]});
    let a = app
        .call(
            "POST",
            "/api/v1/checkouts",
            ok.to_string().into_bytes(),
            Some("k2"),
        )
        .await;
    assert_eq!(a.status.as_u16(), 201);
    assert!(a.headers.get("idempotent-replayed").is_none());
}

/// Issue 12 ("answers without a machine code"): every refusal the
/// framework makes before a handler runs (no such route, a method the
/// route does not take, a body that is not JSON, or not an object, or too
/// large; a path or query that does not parse) is the API's error object,
/// with a machine code and both messages.
#[tokio::test]
async fn framework_refusals_have_a_code_and_both_messages() {
    let app = App::new();
    let seed = app.seed().await;
    let member = seed.member.to_string();
    let big = vec![b' '; tongka_api::BODY_BYTES_MAX + 1];
    /// Method, path, headers besides the token, body; status and code.
    type Case<'a> = (
        &'a str,
        String,
        Vec<(&'a str, &'a str)>,
        Vec<u8>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/v1/nowhere".into(),
            vec![],
            vec![],
            404,
            "not_found",
        ),
        ("GET", "/nowhere".into(), vec![], vec![], 404, "not_found"),
        (
            "DELETE",
            "/api/v1/members".into(),
            vec![],
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "PUT",
            "/api/v1/health".into(),
            vec![],
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "POST",
            "/api/v1/members".into(),
            vec![],
            b"{".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/members".into(),
            vec![],
            b"[]".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/members".into(),
            vec![("content-type", "text/plain")],
            b"phone=1".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/members".into(),
            vec![],
            big,
            413,
            "payload_too_large",
        ),
        (
            "GET",
            format!("/api/v1/members/{member}/history?limit=x"),
            vec![],
            vec![],
            400,
            "invalid_request",
        ),
        (
            "GET",
            "/api/v1/members/%FF".into(),
            vec![],
            vec![],
            400,
            "invalid_request",
        ),
    ];
    let auth = format!("Bearer {}", common::TOKEN);
    for (method, path, extra, body, status, code) in cases {
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend(extra);
        let a = app.raw(method, &path, &headers, body).await;
        let e = a.json().unwrap_or_default();
        assert_eq!(
            (a.status.as_u16(), a.error_code().as_deref()),
            (status, Some(code)),
            "{method} {path}: {e}"
        );
        assert!(
            a.content_type().starts_with("application/json"),
            "{method} {path}"
        );
        for m in ["message", "message_zh"] {
            assert!(
                e["error"][m].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}: {m}: {e}"
            );
        }
    }
}
