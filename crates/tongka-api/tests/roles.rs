//! Every role against every endpoint behind sign-in, the table of allowed
//! and refused requests generated from the one permission table
//! (`tongka_api::permissions::ROUTES`, each endpoint's need) and the core's
//! (`tongka_core::staff::allows`), and checked against the running API: a
//! role is refused `403 forbidden_for_role` (naming the role and action)
//! exactly where the core's table says no, and is never refused for its role
//! elsewhere. The node is of no chain, so the node's own authority
//! (`authority::may`) refuses nothing and every refusal seen is the role's.

mod common;

use std::collections::BTreeSet;

use common::{App, NODE, Seed};
use serde_json::{Value, json};
use tongka_api::permissions::{Need, ROUTES};
use tongka_core::staff::{Role, allows};

const PASSWORD: &str = "correct horse 1";
const NEW_PASSWORD: &str = "correct horse 2";

/// One signed-in account per role.
struct Member {
    role: Role,
    id: String,
    login: String,
    token: String,
}

/// An account of each role (cashier and store manager working here), each
/// signed in.
async fn crew(app: &App) -> Vec<Member> {
    let mut out = Vec::new();
    for role in Role::ALL {
        let login = role.as_str().replace('_', "-");
        let stores: &[&str] = if role.is_store_role() { &[NODE] } else { &[] };
        let v = app
            .create_staff(&login, role.as_str(), stores, PASSWORD)
            .await;
        assert_eq!(v["role"], role.as_str(), "{v}");
        let token = app.sign_in(&login, PASSWORD).await;
        out.push(Member {
            role,
            id: v["id"].as_str().expect("staff id").to_string(),
            login,
            token,
        });
    }
    out
}

/// What every endpoint works on: the seed (a member with a balance, a
/// latte, an order of 2 lattes and 3 cakes), a second member to merge, and
/// a coupon template to issue.
struct World {
    seed: Seed,
    other: String,
    programme: Value,
}

async fn world(app: &App) -> World {
    let seed = app.seed().await;
    let (s, m) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13900000077", "name": "李四"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let (s, mut p) = app.get("/api/v1/programme").await;
    assert_eq!(s, 200);
    p["coupon_templates"] = json!([{"id": "cash-5", "name": "5元券", "kind": "cash",
        "benefit": {"type": "amount_off", "off": "5.00"},
        "validity": {"type": "days_from_issue", "days": 30}, "uses": 1}]);
    let (s, v) = app.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(s, 200, "{v}");
    let (s, programme) = app.get("/api/v1/programme").await;
    assert_eq!(s, 200);
    World {
        seed,
        other: m["id"].as_str().expect("member id").to_string(),
        programme,
    }
}

/// A plausible request for the endpoint `method path` (as routed under
/// `/api/v1`) by `who`: the concrete path and the body. `n` makes what
/// must be unique (a phone, a login) differ between requests.
fn request(w: &World, who: &Member, method: &str, path: &str, n: usize) -> (String, Value) {
    let m = &w.seed.member;
    let body = match (method, path) {
        ("POST", "/members") => json!({"phone": format!("1370000{n:04}"), "name": "新会员"}),
        ("PATCH", "/members/{id}") => json!({"notes": format!("note {n}")}),
        ("POST", "/members/{id}/recharges") => json!({"amount": "10.00", "tender": "cash"}),
        ("POST", "/members/{id}/merge") => json!({"absorb": w.other}),
        ("POST", "/members/{id}/coupons") => json!({"template": "cash-5"}),
        ("POST", "/coupon-batches") => json!({"template": "cash-5", "member_ids": [m]}),
        ("POST", "/members/{id}/cards/{code}/visits") => json!({}),
        ("POST", "/member-codes/verify") => {
            json!({"code": "TK1.M-STORE-1-1.1717000000.MFRGGZDFMZTWQ2LKNNWG23TPOA"})
        }
        ("POST", "/checkouts") | ("POST", "/checkouts/quote") => json!({
            "member_id": m,
            "lines": [{"description": "茶", "unit_price": "5.00", "qty": 1}],
            "tenders": [{"kind": "cash", "amount": "5.00"}],
        }),
        // One cake each (the seed's order has three).
        ("POST", "/orders/{id}/refunds") => {
            json!({"lines": [{"line": 1, "qty": "1"}], "reason": "退一块"})
        }
        ("PUT", "/programme") => w.programme.clone(),
        ("PUT", "/products/{sku}") => json!({"name": "拿铁 Latte", "price": "32.00"}),
        ("PUT", "/categories/{id}") => json!({"name": "水果"}),
        // Sent as JSON text, so not a CSV header: refused as such (422),
        // never for the role when the role may author the catalogue.
        ("POST", "/products/import") => json!("sku,name,price\nlatte,拿铁 Latte,32.00\n"),
        // Only a cashier of this store: what a store manager may make too.
        ("POST", "/staff") => json!({"login": format!("new-{n}"), "name": "新员工",
            "role": "cashier", "stores": [NODE], "password": PASSWORD}),
        // One's own password: anyone may.
        ("PATCH", "/staff/{id}") => {
            json!({"password": NEW_PASSWORD, "current_password": PASSWORD})
        }
        ("POST", "/setup/first-admin") => {
            json!({"login": "boss", "name": "老板", "password": PASSWORD})
        }
        ("POST", "/stock/in") => {
            json!({"supplier": "供应商", "lines": [{"sku": "latte", "qty": "1", "unit_cost": "10.00"}]})
        }
        // Sent as JSON text: one quoted field, an unknown column (422),
        // never refused for a role that may change stock.
        ("POST", "/stock/import") => json!("sku,qty,unit_cost\nlatte,1,10.00\n"),
        ("POST", "/stock/returns") => {
            json!({"supplier": "供应商", "lines": [{"sku": "latte", "qty": "1"}]})
        }
        ("PUT", "/stock/minimums") => json!({"lines": [{"sku": "latte", "min": "2"}]}),
        ("POST", "/stocktakes") => json!({"counts": [{"sku": "latte", "counted": "3"}]}),
        // No chain: no store to ship to (unknown_store), no transfer to
        // receive (unknown_transfer); refused for the role or not.
        ("POST", "/transfers") => json!({"to": "store-2", "lines": [{"sku": "latte", "qty": "1"}]}),
        ("POST", "/transfers/{id}/receive") => json!({"lines": [{"sku": "latte", "qty": "1"}]}),
        // Settlement: nothing owed here (withdrawal_exceeds_owed), no such
        // withdrawal (withdrawal_not_found); refused for the role or not.
        ("POST", "/withdrawals") => json!({"amount": "1.00"}),
        ("POST", "/withdrawals/{id}/approve") => json!({}),
        ("POST", "/withdrawals/{id}/reject") => json!({"note": "不符"}),
        // A shift close: a day close needs `close_day` too (closes.rs).
        ("POST", "/closes") => json!({"kind": "shift", "counted_cash": "0"}),
        // Sent as JSON text: one quoted field, an unknown column (422).
        ("POST", "/members/import") => json!("phone,name\n13800000001,a\n"),
        (_, _) if method == "GET" || method == "DELETE" => Value::Null,
        _ => panic!("{method} {path}: give it a plausible body here"),
    };
    let id = if path.starts_with("/orders/") {
        w.seed.order.as_str()
    } else if path.starts_with("/staff/") {
        // Their own account: reading or changing another's is the
        // handler's manage_staff check, tested in staff.rs.
        who.id.as_str()
    } else {
        m.as_str()
    };
    let concrete = path
        .replace("{id}", id)
        .replace("{sku}", "latte")
        .replace("{code}", "k-store-1-1");
    // A member search needs something to search by.
    let query = if (method, path) == ("GET", "/members") {
        "?phone=13812341234"
    } else {
        ""
    };
    (format!("/api/v1{concrete}{query}"), body)
}

/// The refusals that say the session itself failed: never right for a
/// signed-in staff member of this store.
const SESSION_REFUSALS: &[&str] = &[
    "unauthorized",
    "session_expired",
    "account_disabled",
    "not_at_this_store",
    "token_only",
];

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// Whether the router serves `method path`, asked without a token (so
/// nothing is done): a served endpoint behind sign-in is `401
/// unauthorized`, one not served the router's `not_found` or
/// `method_not_allowed`.
async fn routed(app: &App, method: &str, path: &str) -> bool {
    let concrete = path
        .replace("{id}", "x")
        .replace("{sku}", "x")
        .replace("{code}", "x");
    let a = app
        .raw(method, &format!("/api/v1{concrete}"), &[], Vec::new())
        .await;
    let code = a.error_code();
    !(a.status == 405 || (a.status == 404 && code.as_deref() == Some("not_found")))
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    let app = App::new();
    let w = world(&app).await;
    let mut crew = crew(&app).await;
    let mut n = 0;
    let mut refused_seen = 0;
    let mut allowed_seen = 0;
    let mut table = String::new();
    for (method, path, need) in ROUTES {
        if !routed(&app, method, path).await {
            // In the table ahead of its handler (held to the document
            // below, so it cannot stay unrouted once served).
            table.push_str(&format!("{method} {path}: not served yet\n"));
            continue;
        }
        // Sign-out and one's own password end the session: last.
        if matches!(
            (*method, *path),
            ("DELETE", "/sessions/current") | ("PATCH", "/staff/{id}")
        ) {
            continue;
        }
        for who in &crew {
            n += 1;
            let (concrete, body) = request(&w, who, method, path, n);
            let key = format!("roles-{n}");
            let bytes = if body.is_null() {
                Vec::new()
            } else {
                body.to_string().into_bytes()
            };
            let a = app
                .call_as(&who.token, method, &concrete, bytes, Some(&key))
                .await;
            let v = a.json().unwrap_or(Value::Null);
            let what = format!(
                "{} {method} {concrete}: {} {v}",
                who.role.as_str(),
                a.status
            );
            match need {
                Need::Act(action) if !allows(who.role, *action) => {
                    assert_eq!(a.status, 403, "{what}");
                    assert_eq!(code(&v), "forbidden_for_role", "{what}");
                    assert_eq!(v["error"]["role"], who.role.as_str(), "{what}");
                    assert_eq!(v["error"]["action"], action.as_str(), "{what}");
                    assert!(
                        v["error"]["message_zh"]
                            .as_str()
                            .is_some_and(|m| !m.is_empty())
                    );
                    refused_seen += 1;
                }
                Need::Act(_) | Need::Signed => {
                    assert_ne!(code(&v), "forbidden_for_role", "{what}");
                    assert!(!SESSION_REFUSALS.contains(&code(&v)), "{what}");
                    assert!(a.status.as_u16() < 500, "{what}");
                    allowed_seen += 1;
                }
                Need::Token => {
                    assert_eq!((a.status.as_u16(), code(&v)), (403, "token_only"), "{what}");
                    refused_seen += 1;
                }
            }
            table.push_str(&format!(
                "{method} {path} as {}: {} {}\n",
                who.role.as_str(),
                a.status.as_u16(),
                code(&v)
            ));
        }
    }
    // One's own password, then signing out: for every role, never refused
    // for the role.
    for who in &mut crew {
        n += 1;
        let (concrete, body) = request(&w, who, "PATCH", "/staff/{id}", n);
        let (s, v) = app
            .send_as(&who.token, "PATCH", &concrete, &body, None)
            .await;
        assert_eq!(
            s,
            200,
            "{} changing their own password: {v}",
            who.role.as_str()
        );
        who.token = app.sign_in(&who.login, NEW_PASSWORD).await;
        let (s, v) = app
            .send_as(
                &who.token,
                "DELETE",
                "/api/v1/sessions/current",
                &Value::Null,
                None,
            )
            .await;
        assert_eq!(s, 204, "{} signing out: {v}", who.role.as_str());
        allowed_seen += 2;
    }
    // The walk did meet both answers, for every role.
    assert!(refused_seen > 20 && allowed_seen > 60, "{table}");
    for who in &crew {
        assert!(
            table.contains(&format!("as {}: 403 forbidden_for_role", who.role.as_str()))
                || who.role == Role::Owner,
            "{} was never refused:\n{table}",
            who.role.as_str()
        );
    }
}

/// The table covers every operation of the OpenAPI document behind
/// sign-in, and nothing else: a new endpoint cannot miss its entry (it would
/// be refused to every staff member). The open operations are answered
/// without a token.
#[tokio::test]
async fn the_table_covers_every_operation_behind_sign_in() {
    let app = App::new();
    let doc = tongka_api::openapi::document();
    let mut behind = BTreeSet::new();
    let mut open = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let m = method.to_uppercase();
            if op["security"] == json!([]) {
                open.insert((m, path.clone()));
            } else {
                let p = path.strip_prefix("/api/v1").expect("under /api/v1");
                behind.insert((m, p.to_string()));
            }
        }
    }
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(table.len(), ROUTES.len(), "an endpoint twice in ROUTES");
    let missing: Vec<_> = behind.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "behind sign-in but not in ROUTES: {missing:?}"
    );
    // An entry the document lacks must not be served yet (else it is an
    // undocumented endpoint).
    for (m, p) in table.difference(&behind) {
        assert!(
            !routed(&app, m, p).await,
            "{m} {p} is in ROUTES and served, but not in the OpenAPI document"
        );
    }
    // The open ones really are open; the others refuse no token.
    assert!(open.contains(&("POST".to_string(), "/api/v1/sessions".to_string())));
    assert!(open.contains(&("GET".to_string(), "/api/v1/setup".to_string())));
    for (m, p) in &open {
        if p.contains('{') {
            continue;
        }
        let a = app
            .raw(
                m,
                p,
                &[("content-type", "application/json")],
                b"{}".to_vec(),
            )
            .await;
        assert_ne!(a.status, 401, "{m} {p} is documented open but asks a token");
    }
    for (m, p) in &behind {
        let path = format!(
            "/api/v1{}",
            p.replace("{id}", "x")
                .replace("{sku}", "x")
                .replace("{code}", "x")
        );
        let a = app
            .raw(
                m,
                &path,
                &[("content-type", "application/json")],
                b"{}".to_vec(),
            )
            .await;
        assert_eq!(
            (a.status.as_u16(), a.error_code().as_deref()),
            (401, Some("unauthorized")),
            "{m} {p} without a token"
        );
    }
}

/// What a refusal must leave as it was.
async fn look(app: &App, w: &World) -> Value {
    let (a, b) = (&w.seed.member, &w.other);
    json!({
        "snapshot": app.snapshot().await,
        "a": app.get(&format!("/api/v1/members/{a}")).await.1,
        "b": app.get(&format!("/api/v1/members/{b}")).await.1,
        "programme": app.get("/api/v1/programme").await.1,
    })
}

/// A refused request changes nothing: a cashier's programme change and
/// merge leave the ledger, the log, both members and the programme as they
/// were.
#[tokio::test]
async fn a_refused_request_changes_nothing() {
    let app = App::new();
    let w = world(&app).await;
    let crew = crew(&app).await;
    let cashier = crew
        .iter()
        .find(|m| m.role == Role::Cashier)
        .expect("a cashier");
    let before = look(&app, &w).await;
    let mut p = w.programme.clone();
    p["refund_approval_above"] = json!("1.00");
    p["coupon_templates"] = json!([]);
    for (method, path, body, action) in [
        ("PUT", "/api/v1/programme".to_string(), p, "author_rules"),
        (
            "POST",
            format!("/api/v1/members/{}/merge", w.seed.member),
            json!({"absorb": w.other}),
            "merge_members",
        ),
        (
            "PUT",
            "/api/v1/products/latte".to_string(),
            json!({"name": "拿铁", "price": "1.00"}),
            "author_rules",
        ),
    ] {
        let (s, v) = app
            .send_as(&cashier.token, method, &path, &body, Some("refused-1"))
            .await;
        assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{path}: {v}");
        assert_eq!(v["error"]["action"], action, "{v}");
    }
    assert_eq!(look(&app, &w).await, before);
    // The key the refusals carried stays unused: the admin may use it.
    let (s, v) = app
        .send(
            "POST",
            &format!("/api/v1/members/{}/merge", w.seed.member),
            &json!({"absorb": w.other}),
            Some("refused-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
}
