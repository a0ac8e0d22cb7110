//! `PUT /api/v1/programme`: who may change it, what it refuses (each code,
//! nothing changed), and that the next recharge uses the new offer.

mod common;

use common::App;
use serde_json::{Value, json};

async fn programme(app: &App) -> Value {
    let (s, p) = app.get("/api/v1/programme").await;
    assert_eq!(s, 200);
    p
}

#[tokio::test]
async fn a_chainless_node_changes_its_programme_and_recharges_by_it() {
    let app = App::new();
    let mut p = programme(&app).await;
    p["recharge_offers"][0]["bonus"] = json!("150.00");
    p["levels"][1]["rate"] = json!("0.93");
    let (s, got) = app
        .send("PUT", "/api/v1/programme", &p, Some("prog-1"))
        .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got, p);
    assert_eq!(programme(&app).await, p);
    // The same key and body: the first answer, replayed.
    let a = app
        .call(
            "PUT",
            "/api/v1/programme",
            p.to_string().into_bytes(),
            Some("prog-1"),
        )
        .await;
    assert_eq!(a.status.as_u16(), 200);
    assert_eq!(a.headers.get("idempotent-replayed").unwrap(), "true");
    // The same key, another body: refused.
    let mut other = p.clone();
    other["points_per_yuan"] = json!("2");
    let (s, e) = app
        .send("PUT", "/api/v1/programme", &other, Some("prog-1"))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );

    let (s, m) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13812341234", "name": "张三"}),
            Some("m"),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_str().unwrap();
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/members/{id}/recharges"),
            &json!({"amount": "1000.00", "tender": "cash"}),
            Some("r"),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["bonus"], json!("150.00"), "{r}");
}

#[tokio::test]
async fn a_store_of_a_chain_may_not_and_hq_may() {
    let store = App::as_node("store", true);
    let p = programme(&store).await;
    let (s, e) = store.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("programme_hq_only")),
        "{e}"
    );
    assert!(
        e["error"]["message_zh"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    let hq = App::as_node("hq", true);
    let mut p = programme(&hq).await;
    p["points_per_yuan"] = json!("2");
    let (s, got) = hq.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!((s, &got["points_per_yuan"]), (200, &json!("2")), "{got}");
}

#[tokio::test]
async fn bad_programmes_are_refused_with_their_code_and_change_nothing() {
    let app = App::new();
    let good = programme(&app).await;
    let before = app.snapshot().await;
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut p = good.clone();
    p["recharge_offers"] =
        json!([{"threshold": "2000", "bonus": "1"}, {"threshold": "1000", "bonus": "1"}]);
    cases.push(("programme_offers_order", p));
    let mut p = good.clone();
    p["recharge_offers"][0]["bonus"] = json!("1000.00");
    cases.push(("programme_offers_order", p));
    let mut p = good.clone();
    p["recharge_offers"][0]["bonus"] = json!("-1");
    cases.push(("invalid_amount", p));
    let mut p = good.clone();
    p["levels"][0]["min_principal"] = json!("5");
    cases.push(("programme_levels_order", p));
    let mut p = good.clone();
    p["levels"] = json!([]);
    cases.push(("programme_levels_order", p));
    let mut p = good.clone();
    p["levels"][1]["rate"] = json!("1.2");
    cases.push(("programme_level_rate", p));
    let mut p = good.clone();
    p["levels"][1]["rate"] = json!("0");
    cases.push(("programme_level_rate", p));
    let mut p = good.clone();
    p["levels"][1]["rate"] = json!("abc");
    cases.push(("programme_level_rate", p));
    let mut p = good.clone();
    p["points_per_yuan"] = json!("101");
    cases.push(("programme_points_rate", p));
    let mut p = good.clone();
    p["levels"][2]["code"] = json!("regular");
    cases.push(("programme_level_names", p));
    let mut p = good.clone();
    p["recharge_offers"] = json!(
        (1..=21)
            .map(|i| json!({"threshold": format!("{}", i * 100), "bonus": "0"}))
            .collect::<Vec<_>>()
    );
    cases.push(("programme_too_many", p));
    let mut p = good.clone();
    p["extra"] = json!(1);
    cases.push(("invalid_json", p));
    for (code, body) in cases {
        let (s, e) = app.send("PUT", "/api/v1/programme", &body, None).await;
        assert_eq!(e["error"]["code"].as_str(), Some(code), "{body}: {e}");
        assert!(s == 422 || s == 400, "{s}");
        assert!(
            e["error"]["message_zh"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(programme(&app).await, good);
        assert_eq!(app.snapshot().await, before);
    }
}
