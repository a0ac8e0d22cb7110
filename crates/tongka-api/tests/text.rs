//! Free text a client sets (`tongka_core::text`): control, invisible and
//! direction characters are refused at every endpoint that takes a name,
//! a description, a reason, tags or notes, each with its field's code
//! (422) and nothing changed; and the receipt never prints a control
//! character, even from an order an older node made.

mod common;

use std::time::Duration;

use common::App;
use serde_json::{Value, json};
use tongka_actors::{Engine, EngineConfig, LineRequest};
use tongka_core::checkout::{TenderInput, TenderKind};
use tongka_core::money::Money;
use tongka_core::{NodeId, Op, OpBody, Programme};
use tongka_db::{Db, DbOptions};

/// Each refused text with what it is: cash drawer, paper cut, a direction
/// override, a zero-width space, a byte-order mark, NUL, DEL, NEL.
const BAD: &[(&str, &str, &str)] = &[
    ("ESC p", "咖啡\u{1b}p\u{0}\u{19}\u{fa}", "control"),
    ("GS V", "咖啡\u{1d}V\u{0}", "control"),
    ("U+202E", "Latte\u{202e}ettaL", "direction"),
    ("U+200B", "拿\u{200b}铁", "invisible"),
    ("U+FEFF", "\u{feff}Latte", "invisible"),
    ("NUL", "a\u{0}b", "control"),
    ("DEL", "a\u{7f}b", "control"),
    ("U+0085", "a\u{85}b", "control"),
];

/// A refusal with `code`: 422, the class named, the character never
/// echoed (only by its code point, e.g. `U+001B`).
fn refused(status: u16, body: &Value, code: &str, class: &str, what: &str, bad: &str) {
    assert_eq!(status, 422, "{what}: {body}");
    let e = &body["error"];
    assert_eq!(e["code"], code, "{what}: {body}");
    assert_eq!(e["char_class"], class, "{what}: {body}");
    assert!(
        e["code_point"]
            .as_str()
            .is_some_and(|c| c.starts_with("U+")),
        "{what}: {body}"
    );
    let first_bad = bad
        .chars()
        .find(|c| tongka_core::text::refused(*c).is_some())
        .unwrap();
    for m in ["message", "message_zh"] {
        let m = e[m].as_str().unwrap();
        assert!(!m.contains(first_bad), "{what}: echoed in {m:?}");
        assert!(
            m.contains(&format!("U+{:04X}", first_bad as u32)),
            "{what}: {m:?}"
        );
    }
}

#[tokio::test]
async fn member_names_tags_and_notes_refuse_them() {
    let app = App::new();
    let seed = app.seed().await;
    let path = format!("/api/v1/members/{}", seed.member);
    let (_, before) = app.get(&path).await;
    let snapshot = app.snapshot().await;
    for (i, (what, bad, class)) in BAD.iter().enumerate() {
        let phone = format!("1390000{:04}", i);
        for (field, value, code) in [
            ("name", json!(bad), "invalid_name"),
            ("tags", json!([bad]), "invalid_tags"),
            ("notes", json!(bad), "invalid_notes"),
        ] {
            let mut body = json!({"phone": phone, "name": "李四"});
            body[field] = value.clone();
            let (s, b) = app.send("POST", "/api/v1/members", &body, None).await;
            refused(s, &b, code, class, &format!("register {field} {what}"), bad);
            let mut patch = json!({});
            patch[field] = value;
            let (s, b) = app.send("PATCH", &path, &patch, None).await;
            refused(s, &b, code, class, &format!("patch {field} {what}"), bad);
        }
    }
    assert_eq!(app.get(&path).await.1, before, "the member is as it was");
    assert_eq!(app.snapshot().await, snapshot, "nothing changed");
    // Notes may hold line breaks (a text area); a name may not.
    let (s, b) = app
        .send("PATCH", &path, &json!({"notes": "燕麦奶\n少糖"}), None)
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .send("PATCH", &path, &json!({"name": "张\n三"}), None)
        .await;
    refused(
        s,
        &b,
        "invalid_name",
        "control",
        "a line break in a name",
        "\n",
    );
}

#[tokio::test]
async fn sale_line_descriptions_refuse_them() {
    let app = App::new();
    let seed = app.seed().await;
    let snapshot = app.snapshot().await;
    for (what, bad, class) in BAD {
        let body = json!({
            "member_id": seed.member,
            "lines": [{"sku": "latte"}, {"description": bad, "unit_price": "1.00"}],
            "tenders": [{"kind": "cash"}],
        });
        for path in ["/api/v1/checkouts", "/api/v1/checkouts/quote"] {
            let key = format!("sale-{}", what.replace(' ', "-"));
            let (s, b) = app.send("POST", path, &body, Some(&key)).await;
            refused(
                s,
                &b,
                "invalid_description",
                class,
                &format!("{path} {what}"),
                bad,
            );
            assert_eq!(b["error"]["line"], "2", "{b}");
        }
    }
    assert_eq!(app.snapshot().await, snapshot, "no order made");
}

#[tokio::test]
async fn product_names_refuse_them() {
    let app = App::new();
    app.seed().await;
    let (_, before) = app.get("/api/v1/products/latte").await;
    for (what, bad, class) in BAD {
        for sku in ["latte", "newone"] {
            let (s, b) = app
                .send(
                    "PUT",
                    &format!("/api/v1/products/{sku}"),
                    &json!({"name": bad, "price": "30.00"}),
                    None,
                )
                .await;
            refused(s, &b, "invalid_name", class, &format!("{sku} {what}"), bad);
        }
    }
    assert_eq!(app.get("/api/v1/products/latte").await.1, before);
    assert_eq!(app.get("/api/v1/products/newone").await.0, 404);
}

#[tokio::test]
async fn level_names_refuse_them() {
    let app = App::new();
    let (_, before) = app.get("/api/v1/programme").await;
    for (what, bad, class) in BAD {
        for field in ["name_zh", "name_en"] {
            let mut p = before.clone();
            p["levels"][1][field] = json!(bad);
            let (s, b) = app.send("PUT", "/api/v1/programme", &p, None).await;
            refused(
                s,
                &b,
                "programme_level_names",
                class,
                &format!("{field} {what}"),
                bad,
            );
            assert_eq!(b["error"]["field"], format!("levels[1].{field}"), "{b}");
        }
    }
    assert_eq!(app.get("/api/v1/programme").await.1, before);
}

#[tokio::test]
async fn refund_reasons_refuse_them() {
    let app = App::new();
    let seed = app.seed().await;
    let path = format!("/api/v1/orders/{}", seed.order);
    let (_, before) = app.get(&path).await;
    let snapshot = app.snapshot().await;
    for (what, bad, class) in BAD {
        let (s, b) = app
            .send(
                "POST",
                &format!("{path}/refunds"),
                &json!({"reason": bad}),
                Some(&format!("refund-{}", what.replace(' ', "-"))),
            )
            .await;
        refused(
            s,
            &b,
            "invalid_reason",
            class,
            &format!("reason {what}"),
            bad,
        );
    }
    assert_eq!(app.get(&path).await.1, before, "nothing refunded");
    assert_eq!(app.snapshot().await, snapshot);
}

/// A sale made at `store-2` by a build that let anything through: made
/// there, then its description changed as an older node would have
/// written it, and the op encoded and decoded as it travels.
async fn sale_of_an_older_node(dir: &std::path::Path, description: &str) -> Op {
    let (db, recovered) = Db::open(
        &dir.join("store-2.redb"),
        DbOptions {
            node: NodeId::new("store-2").unwrap(),
            max_batch: 64,
            queue_max: 1024,
        },
    )
    .unwrap();
    let other = Engine::new(
        db,
        Programme::default(),
        recovered.hlc,
        EngineConfig {
            max_in_flight: 8,
            idle_passivate: Duration::from_secs(60),
        },
    );
    other
        .checkout(
            "by-test".into(),
            None,
            None,
            vec![LineRequest::Free {
                description: "placeholder".into(),
                unit_price: Money::from_fen(1000),
                qty: 1.into(),
            }],
            vec![TenderInput {
                kind: TenderKind::Cash,
                amount: None,
            }],
        )
        .await
        .unwrap();
    let mut op = other.db().ops_from(other.node(), 1, 10).unwrap().remove(0);
    let OpBody::CheckedOut { order, .. } = &mut op.body else {
        panic!("{op:?}")
    };
    order.lines[0].description = description.into();
    Op::decode(&op.encode()).unwrap()
}

#[tokio::test]
async fn the_receipt_prints_no_control_character_of_an_older_nodes_order() {
    let app = App::new();
    let dir = tempfile::tempdir().unwrap();
    let description = "咖啡\u{1b}p\u{0}\u{19}\u{fa} 蛋糕\u{1d}V\u{0} \u{202e}\u{200b}\n\u{85}";
    let op = sale_of_an_older_node(dir.path(), description).await;
    let id = op.body.as_sale().unwrap().id.to_string();
    let origin = op.id.origin.clone();
    app.engine.apply_remote_batch(vec![op]).await.unwrap();
    // Applied, then committed: wait for the commit (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.engine.db().summary().vv.get(&origin) < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "not applied: {:?}",
            app.engine.db().rejected(10)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(app.engine.db().rejected(10).unwrap(), vec![]);
    // The order is held as it was made (its JSON escapes nothing away)...
    let (s, o) = app.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["lines"][0]["description"], description);
    // ...and printed safe: no control character but the line breaks, no
    // direction or invisible character, each replaced by U+FFFD.
    let a = app
        .call("GET", &format!("/api/v1/orders/{id}/receipt"), vec![], None)
        .await;
    assert_eq!(a.status.as_u16(), 200);
    let text = String::from_utf8(a.body).unwrap();
    assert!(
        text.chars()
            .all(|c| c == '\n' || tongka_core::text::refused(c).is_none()),
        "{text:?}"
    );
    assert!(
        text.contains("咖啡\u{fffd}p\u{fffd}\u{fffd}\u{fa} 蛋糕\u{fffd}V\u{fffd} \u{fffd}\u{fffd}\u{fffd}\u{fffd}\n"),
        "{text:?}"
    );
}
