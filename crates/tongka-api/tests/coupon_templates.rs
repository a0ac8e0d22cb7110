//! Coupon templates in `PUT /api/v1/programme`: HQ (or a chain-less node)
//! authors them with the programme, `GET` shows them in the shape `PUT`
//! takes, a programme sent without them keeps them, and every bad template
//! is refused with `invalid_coupon_template` and changes nothing.

mod common;

use common::App;
use serde_json::{Value, json};

async fn programme(app: &App) -> Value {
    let (s, p) = app.get("/api/v1/programme").await;
    assert_eq!(s, 200);
    p
}

fn templates() -> Value {
    json!([
        {
            "id": "spend-100-20", "name": "满100减20", "kind": "spend_off",
            "benefit": {"type": "amount_off", "off": "20.00"},
            "validity": {"type": "dates", "from": "2026-12-01", "to": "2026-12-31"},
            "scope": {"skus": [], "categories": ["drinks"], "stores": ["store-1"], "levels": []},
            "uses": 1, "min_spend": "100.00", "per_member_limit": 2
        },
        {
            "id": "birthday-cake", "name": "生日蛋糕券", "kind": "birthday",
            "benefit": {"type": "free_item", "sku": "cake"},
            "validity": {"type": "days_from_issue", "days": 30},
            "scope": {"skus": [], "categories": [], "stores": [], "levels": []},
            "uses": 1, "min_spend": "0.00", "per_member_limit": 1
        },
        {
            "id": "gold-85", "name": "金卡85折", "kind": "percent",
            "benefit": {"type": "percent", "rate": "0.85", "max_off": "50.00"},
            "validity": {"type": "days_from_issue", "days": 7},
            "scope": {"skus": [], "categories": [], "stores": [], "levels": ["gold"]},
            "uses": 3, "min_spend": "0.00", "per_member_limit": 0
        }
    ])
}

#[tokio::test]
async fn templates_are_authored_with_the_programme_and_shown_as_taken() {
    let app = App::new();
    let mut p = programme(&app).await;
    assert_eq!(p["coupon_templates"], json!([]));
    p["coupon_templates"] = templates();
    let (s, got) = app.send("PUT", "/api/v1/programme", &p, Some("t-1")).await;
    assert_eq!(s, 200, "{got}");
    // Listed by id, each as it was sent.
    let ids: Vec<&str> = got["coupon_templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["birthday-cake", "gold-85", "spend-100-20"]);
    for t in templates().as_array().unwrap() {
        let shown = got["coupon_templates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == t["id"])
            .unwrap();
        assert_eq!(shown, t);
    }
    assert_eq!(programme(&app).await, got);
    // What GET shows goes back unchanged.
    let (s, again) = app
        .send("PUT", "/api/v1/programme", &got, Some("t-2"))
        .await;
    assert_eq!((s, &again), (200, &got));
    // A programme sent without templates (a client of before) keeps them.
    let mut old = got.clone();
    old.as_object_mut().unwrap().remove("coupon_templates");
    old["points_per_yuan"] = json!("2");
    let (s, kept) = app
        .send("PUT", "/api/v1/programme", &old, Some("t-3"))
        .await;
    assert_eq!(s, 200, "{kept}");
    assert_eq!(kept["coupon_templates"], got["coupon_templates"]);
    // An empty list removes them all.
    let mut none = kept.clone();
    none["coupon_templates"] = json!([]);
    let (s, cleared) = app
        .send("PUT", "/api/v1/programme", &none, Some("t-4"))
        .await;
    assert_eq!((s, &cleared["coupon_templates"]), (200, &json!([])));
}

#[tokio::test]
async fn bad_templates_are_refused_with_their_field_and_change_nothing() {
    let app = App::new();
    let mut base = programme(&app).await;
    base["coupon_templates"] = json!([templates()[1].clone()]);
    let (s, before) = app
        .send("PUT", "/api/v1/programme", &base, Some("b-0"))
        .await;
    assert_eq!(s, 200, "{before}");
    let one = templates()[0].clone();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut t = one.clone();
        f(&mut t);
        let mut p = before.clone();
        p["coupon_templates"] = json!([before["coupon_templates"][0].clone(), t]);
        p
    };
    let cases: Vec<(&str, Value)> = vec![
        ("uppercase id", with(&|t| t["id"] = json!("Spend"))),
        ("empty name", with(&|t| t["name"] = json!(""))),
        (
            "ESC p in the name",
            with(&|t| t["name"] = json!("券\u{1b}p")),
        ),
        (
            "direction override",
            with(&|t| t["name"] = json!("券\u{202e}abc")),
        ),
        ("unknown kind", with(&|t| t["kind"] = json!("free_money"))),
        (
            "kind and benefit disagree",
            with(&|t| t["kind"] = json!("exchange")),
        ),
        ("negative off", with(&|t| t["benefit"]["off"] = json!("-5"))),
        (
            "three places",
            with(&|t| t["benefit"]["off"] = json!("1.005")),
        ),
        (
            "minimum below the amount off",
            with(&|t| t["min_spend"] = json!("10.00")),
        ),
        (
            "no such day",
            with(&|t| t["validity"]["to"] = json!("2026-02-30")),
        ),
        (
            "window backwards",
            with(&|t| t["validity"]["from"] = json!("2027-01-01")),
        ),
        ("zero uses", with(&|t| t["uses"] = json!(0))),
        ("too many uses", with(&|t| t["uses"] = json!(1001))),
        (
            "bad store name",
            with(&|t| t["scope"]["stores"] = json!(["store 1!"])),
        ),
        (
            "empty sku in scope",
            with(&|t| t["scope"]["skus"] = json!([""])),
        ),
        ("same id twice", with(&|t| t["id"] = json!("birthday-cake"))),
        (
            "rate of 1",
            with(&|t| {
                t["kind"] = json!("percent");
                t["benefit"] = json!({"type": "percent", "rate": "1"});
            }),
        ),
    ];
    for (what, p) in cases {
        let (s, e) = app.send("PUT", "/api/v1/programme", &p, None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (422, Some("invalid_coupon_template")),
            "{what}: {e}"
        );
        assert!(e["error"]["message_zh"].as_str().is_some(), "{what}: {e}");
        assert!(!e.to_string().contains('\u{1b}'), "{what}: echoed: {e}");
        assert_eq!(programme(&app).await, before, "{what}: changed");
    }
    // The refused template is named.
    let (_, e) = app
        .send(
            "PUT",
            "/api/v1/programme",
            &with(&|t| t["uses"] = json!(0)),
            None,
        )
        .await;
    assert_eq!(e["error"]["field"], "coupon_templates[1]", "{e}");
    // Shapes serde refuses: a field it does not know, a benefit of no type,
    // a number too large.
    for bad in [
        with(&|t| t["colour"] = json!("red")),
        with(&|t| t["benefit"] = json!({"off": "1.00"})),
        with(&|t| t["uses"] = json!(1u64 << 40)),
    ] {
        let (s, e) = app.send("PUT", "/api/v1/programme", &bad, None).await;
        assert_eq!(s / 100, 4, "{e}");
        assert!(e["error"]["code"].is_string(), "{e}");
        assert_eq!(programme(&app).await, before);
    }
    // 201 templates: too many.
    let mut many = before.clone();
    many["coupon_templates"] = Value::Array(
        (0..201)
            .map(|i| {
                let mut t = templates()[1].clone();
                t["id"] = json!(format!("t-{i}"));
                t
            })
            .collect(),
    );
    let (s, e) = app.send("PUT", "/api/v1/programme", &many, None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("invalid_coupon_template"))
    );
}
