mod common;
use common::*;
use serde_json::json;

async fn show(app: &App, m: &str, p: &str, body: &[u8], idem: Option<&str>) {
    let a = app.call(m, p, body.to_vec(), idem).await;
    println!(
        "{m} {p} {} -> {} [{}] {}",
        String::from_utf8_lossy(body),
        a.status,
        a.content_type(),
        String::from_utf8_lossy(&a.body)
    );
}

#[tokio::test]
async fn probe() {
    let app = App::new();
    let seed = app.seed().await;
    let m = &seed.member;
    let o = &seed.order;
    show(
        &app,
        "GET",
        &format!("/api/v1/members/{m}/history?limit=-1"),
        b"",
        None,
    )
    .await;
    show(&app, "GET", "/api/v1/members?phone=1&phone=2", b"", None).await;
    show(&app, "GET", "/api/v1/members/%FF", b"", None).await;
    show(
        &app,
        "PUT",
        "/api/v1/products/neg",
        br#"{"name":"x","price":"-0"}"#,
        None,
    )
    .await;
    show(
        &app,
        "PUT",
        "/api/v1/products/neg2",
        br#"{"name":"x","price":-0.0}"#,
        None,
    )
    .await;
    show(
        &app,
        "POST",
        "/api/v1/checkouts",
        br#"{"lines":[{"description":"x","unit_price":"-0.00"}],"tenders":[]}"#,
        Some("k1"),
    )
    .await;
    show(
        &app,
        "POST",
        "/api/v1/members",
        "{\"phone\":\"13900000000\",\"name\":\"a\",\"invite_code\":\"邀请码码码码\"}".as_bytes(),
        None,
    )
    .await;
    show(&app, "POST", "/api/v1/members", "{\"phone\":\"13900000001\",\"name\":\"a\",\"invite_code\":\"\\u0000\\u0001\\u0002\\u0003\"}".as_bytes(), None).await;
    show(
        &app,
        "POST",
        "/api/v1/members",
        "{\"phone\":\"13900000002\",\"name\":\"a\",\"tags\":[\"\\u0000\"], \"notes\":\"\\u0007\"}"
            .as_bytes(),
        None,
    )
    .await;
    let big = vec![b' '; 300 * 1024];
    show(&app, "POST", "/api/v1/checkouts", &big[..10], Some("k2")).await;
    let a = app.call("POST", "/api/v1/checkouts", big, Some("k3")).await;
    println!(
        "big -> {} {:?} {}",
        a.status,
        a.content_type(),
        String::from_utf8_lossy(&a.body)
    );
    show(&app, "DELETE", "/api/v1/checkouts", b"", None).await;
    let a = app.raw("DELETE", "/api/v1/checkouts", &[], vec![]).await;
    println!(
        "noauth delete -> {} {}",
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    let a = app.raw("POST", "/api/v1/health", &[], vec![]).await;
    println!(
        "post health -> {} {}",
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    show(
        &app,
        "POST",
        &format!("/api/v1/orders/{o}/refunds"),
        br#"{"lines":[{"line":0,"qty":"99999999999999999999999999999"}]}"#,
        Some("k4"),
    )
    .await;
    show(
        &app,
        "POST",
        &format!("/api/v1/members/{m}/recharges"),
        br#"{"amount":1e3,"tender":"cash"}"#,
        Some("k5"),
    )
    .await;
    show(
        &app,
        "POST",
        &format!("/api/v1/members/{m}/recharges"),
        br#"{"amount":100.000000000000000000000000000000000001,"tender":"cash"}"#,
        Some("k6"),
    )
    .await;
    show(
        &app,
        "POST",
        &format!("/api/v1/members/{m}/recharges"),
        br#"{"amount":"+5","tender":"cash"}"#,
        Some("k7"),
    )
    .await;
    show(&app, "POST", "/api/v1/checkouts", br#"{"lines":[{"description":"x","unit_price":"1","qty":"0.0000000000000000000000000000001"}],"tenders":[{"kind":"cash"}]}"#, Some("k8")).await;
    show(&app, "POST", "/api/v1/checkouts", br#"{"lines":[{"description":"x","unit_price":"1","qty":"0.00000000000000000000000000000000000000000001"}],"tenders":[{"kind":"cash"}]}"#, Some("k9")).await;
    show(&app, "POST", "/api/v1/checkouts", br#"{"points":"0.00","lines":[{"description":"x","unit_price":"1"}],"tenders":[{"kind":"cash"}]}"#, Some("k10")).await;
    show(
        &app,
        "PATCH",
        &format!("/api/v1/members/{m}"),
        br#"{"phone":null}"#,
        None,
    )
    .await;
    show(
        &app,
        "PATCH",
        &format!("/api/v1/members/{m}"),
        br#"{"phone":"13812341234"}"#,
        None,
    )
    .await;
    show(&app, "GET", "/api/v1/products/nope", b"", None).await;
    show(
        &app,
        "GET",
        &format!("/api/v1/orders/{o}/receipt"),
        b"",
        None,
    )
    .await;
    show(&app, "GET", "/api/v1/sync/status", b"", None).await;
}
