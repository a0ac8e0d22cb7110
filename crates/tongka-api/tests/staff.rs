//! Staff accounts, sessions and approval over HTTP (issue 12): signing in
//! and out, sessions ended by expiry, sign-out, a disabled account or a new
//! password; who may manage whom; the sign-in limiter; a store manager's
//! approval of a cashier's refund above the programme's limit; the first
//! run; and who the op log says did it (hostile input: `staff_input.rs`). Each refusal with
//! its code, and nothing changed by it.

mod common;

use std::time::{Duration, Instant};

use common::{App, NODE, code, staff_list};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse 1";

async fn current(app: &App, token: &str) -> (u16, Value) {
    app.get_as(token, "/api/v1/sessions/current").await
}

async fn member(app: &App, phone: &str) -> String {
    let (s, m) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": phone, "name": "会员"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "{m}");
    m["id"].as_str().expect("member id").to_string()
}

#[tokio::test]
async fn a_session_shows_who_and_what_they_may_do() {
    let app = App::new();
    let c = app
        .create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    assert_eq!(
        (&c["role"], &c["role_zh"], &c["stores"], &c["disabled"]),
        (
            &json!("cashier"),
            &json!("收银员"),
            &json!([NODE]),
            &json!(false)
        )
    );
    assert!(
        c.get("password").is_none() && !c.to_string().contains("argon2"),
        "{c}"
    );
    // Upper case and spaces around a login are the same login.
    let a = app.try_sign_in("  LI.NA ", PASSWORD).await;
    let v = a.json().expect("JSON");
    assert_eq!(a.status, 201, "{v}");
    let token = v["token"].as_str().expect("token");
    assert_eq!(v["principal"], "staff");
    assert_eq!(v["staff"]["id"], c["id"]);
    assert_eq!(v["node"], NODE);
    assert!(v["expires_at"].is_string(), "{v}");
    assert_eq!(
        v["allowed"],
        json!(["sell", "edit_members", "verify", "refund", "close_shift"]),
        "a cashier's rights, from the core's table"
    );
    let (s, cur) = current(&app, token).await;
    assert_eq!(s, 200, "{cur}");
    assert_eq!(cur["staff"]["id"], c["id"]);
    assert!(
        cur["token"].is_null(),
        "the token only in the sign-in answer: {cur}"
    );
    // The admin token is the integration, with every right.
    let (s, cur) = app.get("/api/v1/sessions/current").await;
    assert_eq!(s, 200);
    assert_eq!(
        (&cur["principal"], &cur["integration"], &cur["staff"]),
        (&json!("integration"), &json!("admin"), &Value::Null)
    );
    assert_eq!(
        cur["allowed"].as_array().map(Vec::len),
        Some(tongka_core::staff::Action::ALL.len()),
        "{cur}"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_login_get_one_answer() {
    let app = App::new();
    app.create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let before = staff_list(&app).await;
    let wrong = app.try_sign_in("li.na", "correct horse 2").await;
    let unknown = app.try_sign_in("nobody", PASSWORD).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.error_code().as_deref(), Some("login_failed"));
    assert_eq!(
        (unknown.status, unknown.json()),
        (wrong.status, wrong.json()),
        "the answer does not tell which was wrong"
    );
    assert!(wrong.json().unwrap()["token"].is_null());
    let e = &wrong.json().unwrap()["error"];
    assert!(
        e["message_zh"].as_str().is_some_and(|m| m.contains("密码")),
        "{e}"
    );
    assert_eq!(staff_list(&app).await, before);
    // A made-up token is no session.
    let (s, v) = current(&app, "0123456789abcdef").await;
    assert_eq!((s, code(&v)), (401, "unauthorized"), "{v}");
}

#[tokio::test]
async fn an_expired_session_is_refused_session_expired() {
    let ttl = Duration::from_millis(1500);
    let app = App::with_session_ttl(ttl);
    app.create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let m = member(&app, "13800000001").await;
    let token = app.sign_in("li.na", PASSWORD).await;
    // After the answer: the node's clock read at sign-in is earlier.
    let signed_in = Instant::now();
    let (s, v) = current(&app, &token).await;
    assert_eq!(s, 200, "{v}");
    while Instant::now() < signed_in + ttl {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = app.snapshot().await;
    let (s, v) = app
        .send_as(
            &token,
            "POST",
            &format!("/api/v1/members/{m}/recharges"),
            &json!({"amount": "10.00", "tender": "cash"}),
            Some("late-1"),
        )
        .await;
    assert_eq!((s, code(&v)), (401, "session_expired"), "{v}");
    assert_eq!(app.snapshot().await, before);
    // And stays so; signing in again works.
    let (s, v) = current(&app, &token).await;
    assert_eq!((s, code(&v)), (401, "session_expired"), "{v}");
    let again = app.sign_in("li.na", PASSWORD).await;
    let (s, _) = current(&app, &again).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_signed_out_session_is_refused_and_others_stay() {
    let app = App::new();
    app.create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let till_1 = app.sign_in("li.na", PASSWORD).await;
    let till_2 = app.sign_in("li.na", PASSWORD).await;
    assert_ne!(till_1, till_2);
    let (s, v) = app
        .send_as(
            &till_1,
            "DELETE",
            "/api/v1/sessions/current",
            &Value::Null,
            None,
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (s, v) = current(&app, &till_1).await;
    assert_eq!((s, code(&v)), (401, "session_expired"), "{v}");
    let (s, v) = app
        .send_as(
            &till_1,
            "DELETE",
            "/api/v1/sessions/current",
            &Value::Null,
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (401, "session_expired"), "{v}");
    let (s, _) = current(&app, &till_2).await;
    assert_eq!(s, 200, "another session of the account stays");
    // The admin token signs nothing out.
    let (s, _) = app
        .send("DELETE", "/api/v1/sessions/current", &Value::Null, None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = app.get("/api/v1/sessions/current").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_disabled_account_is_refused_and_its_sessions_end() {
    let app = App::new();
    let c = app
        .create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let id = c["id"].as_str().unwrap();
    let m = member(&app, "13800000001").await;
    let token = app.sign_in("li.na", PASSWORD).await;
    let (s, v) = app
        .send(
            "PATCH",
            &format!("/api/v1/staff/{id}"),
            &json!({"disabled": true}),
            None,
        )
        .await;
    assert_eq!((s, &v["disabled"]), (200, &json!(true)), "{v}");
    let before = app.snapshot().await;
    let (s, v) = app
        .send_as(
            &token,
            "POST",
            &format!("/api/v1/members/{m}/recharges"),
            &json!({"amount": "10.00", "tender": "cash"}),
            Some("disabled-1"),
        )
        .await;
    assert_eq!((s, code(&v)), (403, "account_disabled"), "{v}");
    assert_eq!(app.snapshot().await, before);
    let a = app.try_sign_in("li.na", PASSWORD).await;
    assert_eq!(
        (a.status.as_u16(), a.error_code().as_deref()),
        (403, Some("account_disabled"))
    );
    // A wrong password is not told the account is disabled.
    let a = app.try_sign_in("li.na", "wrong password").await;
    assert_eq!(a.error_code().as_deref(), Some("login_failed"));
    // Enabled again: new sign-ins work; the old session stays ended.
    let (s, v) = app
        .send(
            "PATCH",
            &format!("/api/v1/staff/{id}"),
            &json!({"disabled": false}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = current(&app, &token).await;
    assert_eq!((s, code(&v)), (401, "session_expired"), "{v}");
    let token = app.sign_in("li.na", PASSWORD).await;
    let (s, _) = current(&app, &token).await;
    assert_eq!(s, 200);
}

/// Disabling ends the account's sessions even when none is used while it
/// is disabled: enabling it again does not bring them back.
#[tokio::test]
async fn disabling_ends_sessions_not_used_meanwhile() {
    let app = App::new();
    let c = app
        .create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let path = format!("/api/v1/staff/{}", c["id"].as_str().unwrap());
    let token = app.sign_in("li.na", PASSWORD).await;
    for disabled in [true, false] {
        let (s, v) = app
            .send("PATCH", &path, &json!({"disabled": disabled}), None)
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = current(&app, &token).await;
    assert_eq!((s, code(&v)), (401, "session_expired"), "{v}");
    // A change of another field (a rename) ends no session, nor does a save
    // of the form with `disabled` unchanged.
    let token = app.sign_in("li.na", PASSWORD).await;
    let (s, v) = app
        .send(
            "PATCH",
            &path,
            &json!({"name": "李娜娜", "disabled": false}),
            None,
        )
        .await;
    assert_eq!((s, &v["name"]), (200, &json!("李娜娜")), "{v}");
    let (s, v) = current(&app, &token).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn a_new_password_ends_the_sessions_and_signs_in() {
    let app = App::new();
    let c = app
        .create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let path = format!("/api/v1/staff/{}", c["id"].as_str().unwrap());
    let till_1 = app.sign_in("li.na", PASSWORD).await;
    let till_2 = app.sign_in("li.na", PASSWORD).await;
    // The current password is needed, and a wrong one changes nothing.
    for current_password in [json!("wrong password"), Value::Null] {
        let (s, v) = app
            .send_as(
                &till_1,
                "PATCH",
                &path,
                &json!({"password": "new secret 2", "current_password": current_password}),
                None,
            )
            .await;
        assert_eq!((s, code(&v)), (401, "login_failed"), "{v}");
    }
    let (s, _) = current(&app, &till_2).await;
    assert_eq!(s, 200, "a refused change ends nothing");
    // A cashier changes nothing else of their own account.
    let (s, v) = app
        .send_as(
            &till_1,
            "PATCH",
            &path,
            &json!({"role": "store_manager"}),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
    let (s, v) = app
        .send_as(
            &till_1,
            "PATCH",
            &path,
            &json!({"password": "new secret 2", "current_password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for t in [&till_1, &till_2] {
        let (s, v) = current(&app, t).await;
        assert_eq!((s, code(&v)), (401, "session_expired"), "{v}");
    }
    let a = app.try_sign_in("li.na", PASSWORD).await;
    assert_eq!(a.error_code().as_deref(), Some("login_failed"));
    let token = app.sign_in("li.na", "new secret 2").await;
    // A password reset by an admin ends them too.
    let (s, v) = app
        .send("PATCH", &path, &json!({"password": "new secret 3"}), None)
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = current(&app, &token).await;
    assert_eq!((s, code(&v)), (401, "session_expired"), "{v}");
    app.sign_in("li.na", "new secret 3").await;
}

#[tokio::test]
async fn a_cashier_may_not_merge() {
    let app = App::new();
    app.create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let token = app.sign_in("li.na", PASSWORD).await;
    let a = member(&app, "13800000001").await;
    let b = member(&app, "13800000002").await;
    let before = (
        app.snapshot().await,
        app.get(&format!("/api/v1/members/{a}")).await,
        app.get(&format!("/api/v1/members/{b}")).await,
    );
    let (s, v) = app
        .send_as(
            &token,
            "POST",
            &format!("/api/v1/members/{a}/merge"),
            &json!({"absorb": b}),
            Some("merge-1"),
        )
        .await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
    assert_eq!(
        (&v["error"]["role"], &v["error"]["action"]),
        (&json!("cashier"), &json!("merge_members"))
    );
    assert_eq!(v["error"]["message_zh"], "收银员无权合并会员");
    let after = (
        app.snapshot().await,
        app.get(&format!("/api/v1/members/{a}")).await,
        app.get(&format!("/api/v1/members/{b}")).await,
    );
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_store_manager_manages_only_their_stores_cashiers_and_managers() {
    let app = App::new();
    app.create_staff("wang.dz", "store_manager", &[NODE], PASSWORD)
        .await;
    let hq = app.create_staff("zhao.hq", "hq_admin", &[], PASSWORD).await;
    let elsewhere = app
        .create_staff("chen.s2", "cashier", &["store-2"], PASSWORD)
        .await;
    let token = app.sign_in("wang.dz", PASSWORD).await;
    let before = staff_list(&app).await;
    for body in [
        json!({"login": "evil", "name": "x", "role": "hq_admin", "password": PASSWORD}),
        json!({"login": "evil", "name": "x", "role": "owner", "password": PASSWORD}),
        json!({"login": "evil", "name": "x", "role": "cashier", "stores": ["store-2"], "password": PASSWORD}),
        json!({"login": "evil", "name": "x", "role": "store_manager", "stores": [NODE, "store-2"], "password": PASSWORD}),
    ] {
        let (s, v) = app
            .send_as(&token, "POST", "/api/v1/staff", &body, None)
            .await;
        assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{body}: {v}");
        assert_eq!(
            (&v["error"]["role"], &v["error"]["action"]),
            (&json!("store_manager"), &json!("manage_staff"))
        );
    }
    // Nor change an account of HQ or of another store, nor make their own
    // cashier an HQ admin.
    for (id, body) in [
        (&hq["id"], json!({"disabled": true})),
        (&hq["id"], json!({"password": "taken over 1"})),
        (&elsewhere["id"], json!({"stores": [NODE]})),
    ] {
        let (s, v) = app
            .send_as(
                &token,
                "PATCH",
                &format!("/api/v1/staff/{}", id.as_str().unwrap()),
                &body,
                None,
            )
            .await;
        assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{body}: {v}");
    }
    assert_eq!(staff_list(&app).await, before);
    // What they may: a cashier of their store, then not promote them.
    let (s, c) = app
        .send_as(
            &token,
            "POST",
            "/api/v1/staff",
            &json!({"login": "li.na", "name": "李娜", "role": "cashier", "stores": [NODE], "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let path = format!("/api/v1/staff/{}", c["id"].as_str().unwrap());
    let (s, v) = app
        .send_as(&token, "PATCH", &path, &json!({"role": "hq_admin"}), None)
        .await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
    // They list their store's staff only.
    let (s, v) = app.get_as(&token, "/api/v1/staff").await;
    assert_eq!(s, 200);
    let logins: Vec<&str> = v["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["li.na", "wang.dz"]);
    // The created account records who made it.
    let (_, me) = current(&app, &token).await;
    let (s, v) = app.get(&path).await;
    assert_eq!(
        (s, &v["created_by"], &v["role"]),
        (200, &me["staff"]["id"], &json!("cashier")),
        "{v}"
    );
}

/// A cashier sees their own account, no other, and lists none.
#[tokio::test]
async fn a_cashier_reads_only_their_own_account() {
    let app = App::new();
    let me = app
        .create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let boss = app
        .create_staff("wang.dz", "store_manager", &[NODE], PASSWORD)
        .await;
    let token = app.sign_in("li.na", PASSWORD).await;
    let (s, v) = app
        .get_as(
            &token,
            &format!("/api/v1/staff/{}", me["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!((s, &v["id"]), (200, &me["id"]), "{v}");
    let (s, v) = app
        .get_as(
            &token,
            &format!("/api/v1/staff/{}", boss["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
    assert_eq!(v["error"]["action"], "manage_staff");
    let (s, v) = app.get_as(&token, "/api/v1/staff").await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
}

#[tokio::test]
async fn staff_of_another_store_do_not_sign_in_here() {
    let app = App::new();
    app.create_staff("chen.s2", "cashier", &["store-2"], PASSWORD)
        .await;
    let a = app.try_sign_in("chen.s2", PASSWORD).await;
    let v = a.json().unwrap();
    assert_eq!(
        (a.status.as_u16(), code(&v)),
        (403, "not_at_this_store"),
        "{v}"
    );
    assert_eq!(v["error"]["store"], NODE);
    // HQ roles work at any node.
    app.create_staff("zhao.fin", "hq_finance", &[], PASSWORD)
        .await;
    app.sign_in("zhao.fin", PASSWORD).await;
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_login() {
    let app = App::new();
    app.create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    app.create_staff("wang.dz", "store_manager", &[NODE], PASSWORD)
        .await;
    for i in 0..5 {
        let a = app
            .try_sign_in("li.na", &format!("wrong password {i}"))
            .await;
        assert_eq!(a.error_code().as_deref(), Some("login_failed"), "try {i}");
    }
    // The sixth, even with the right password.
    let a = app.try_sign_in("li.na", PASSWORD).await;
    let v = a.json().unwrap();
    assert_eq!((a.status.as_u16(), code(&v)), (429, "login_locked"), "{v}");
    let header: u64 = a.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    let detail: u64 = v["error"]["retry_after_s"]
        .as_str()
        .expect("retry_after_s")
        .parse()
        .unwrap();
    assert_eq!(header, detail);
    assert!((800..=900).contains(&detail), "about 15 minutes: {detail}");
    assert!(v["token"].is_null());
    // Upper case is the same login.
    let a = app.try_sign_in("LI.NA", PASSWORD).await;
    assert_eq!(a.error_code().as_deref(), Some("login_locked"));
    // Another login signs in.
    app.sign_in("wang.dz", PASSWORD).await;
}

/// Guessing one's own password on the account page counts as failed
/// sign-ins: a till left signed in cannot try passwords without limit.
#[tokio::test]
async fn guessing_the_current_password_locks_the_login() {
    let app = App::new();
    let c = app
        .create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let path = format!("/api/v1/staff/{}", c["id"].as_str().unwrap());
    let token = app.sign_in("li.na", PASSWORD).await;
    let change = |current: &str| json!({"password": "new secret 2", "current_password": current});
    for i in 0..5 {
        let (s, v) = app
            .send_as(&token, "PATCH", &path, &change(&format!("guess {i}")), None)
            .await;
        assert_eq!((s, code(&v)), (401, "login_failed"), "{v}");
    }
    let (s, v) = app
        .send_as(&token, "PATCH", &path, &change(PASSWORD), None)
        .await;
    assert_eq!((s, code(&v)), (429, "login_locked"), "{v}");
    let a = app.try_sign_in("li.na", PASSWORD).await;
    assert_eq!(a.error_code().as_deref(), Some("login_locked"));
    // Nothing changed: the session stands, the password is the old one.
    let (s, v) = current(&app, &token).await;
    assert_eq!(s, 200, "{v}");
    let (_, after) = app.get(&path).await;
    assert_eq!(after, c);
}

/// The programme with `refund_approval_above` set, the other fields kept.
async fn set_limit(app: &App, limit: Value) {
    let (s, mut p) = app.get("/api/v1/programme").await;
    assert_eq!(s, 200);
    assert_eq!(p["refund_approval_above"], "500.00", "the default limit");
    p["refund_approval_above"] = limit.clone();
    let (s, v) = app.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(s, 200, "{v}");
    let (_, after) = app.get("/api/v1/programme").await;
    assert_eq!(after["refund_approval_above"], limit);
    p["version"] = after["version"].clone();
    p["updated_at"] = after["updated_at"].clone();
    for (k, v) in p.as_object().unwrap() {
        assert_eq!(&after[k], v, "{k} kept");
    }
}

#[tokio::test]
async fn a_cashiers_refund_above_the_limit_needs_a_managers_approval() {
    let app = App::new();
    set_limit(&app, json!("50.00")).await;
    let cashier = app
        .create_staff("li.na", "cashier", &[NODE], PASSWORD)
        .await;
    let manager = app
        .create_staff("wang.dz", "store_manager", &[NODE], "manager pass 1")
        .await;
    let m = member(&app, "13800000001").await;
    let (s, v) = app
        .send(
            "POST",
            &format!("/api/v1/members/{m}/recharges"),
            &json!({"amount": "500.00", "tender": "cash"}),
            Some("rc-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let till = app.sign_in("li.na", PASSWORD).await;
    let (_, session) = current(&app, &till).await;
    assert_eq!(session["refund_approval_above"], "50.00");
    let (s, o) = app
        .send_as(
            &till,
            "POST",
            "/api/v1/checkouts",
            &json!({"member_id": m,
                    "lines": [{"description": "礼盒", "unit_price": "80.00", "qty": 1},
                              {"description": "茶", "unit_price": "20.00", "qty": 1}],
                    "tenders": [{"kind": "balance"}]}),
            Some("sale-1"),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let order = o["id"].as_str().unwrap().to_string();
    let refunds = format!("/api/v1/orders/{order}/refunds");

    // Within the limit: no approval.
    let (s, r) = app
        .send_as(
            &till,
            "POST",
            &refunds,
            &json!({"lines": [{"line": 1, "qty": "1"}], "reason": "茶凉了"}),
            Some("rf-small"),
        )
        .await;
    assert_eq!(
        (s, &r["amount"], &r["approved_by"]),
        (201, &json!("20.00"), &Value::Null),
        "{r}"
    );

    // Above it: refused, and each wrong approval refused, nothing refunded.
    let big = json!({"lines": [{"line": 0, "qty": "1"}], "reason": "礼盒破损"});
    let before = (
        app.snapshot().await,
        app.get(&format!("/api/v1/orders/{order}")).await,
    );
    let (s, v) = app
        .send_as(&till, "POST", &refunds, &big, Some("rf-big-1"))
        .await;
    assert_eq!((s, code(&v)), (403, "approval_required"), "{v}");
    assert_eq!(
        (&v["error"]["limit"], &v["error"]["amount"]),
        (&json!("50.00"), &json!("80.00"))
    );
    for (i, approval) in [
        json!({"login": "li.na", "password": PASSWORD}),
        json!({"login": "wang.dz", "password": "wrong password"}),
        json!({"login": "nobody", "password": "manager pass 1"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = big.clone();
        body["approval"] = approval.clone();
        let (s, v) = app
            .send_as(
                &till,
                "POST",
                &refunds,
                &body,
                Some(&format!("rf-big-bad-{i}")),
            )
            .await;
        assert_eq!((s, code(&v)), (403, "approval_invalid"), "{approval}: {v}");
        assert!(!v.to_string().contains("manager pass"), "{v}");
    }
    let after = (
        app.snapshot().await,
        app.get(&format!("/api/v1/orders/{order}")).await,
    );
    assert_eq!(after, before, "nothing refunded");

    // The manager's login and password at the till.
    let mut body = big.clone();
    body["approval"] = json!({"login": "wang.dz", "password": "manager pass 1"});
    let (s, r) = app
        .send_as(&till, "POST", &refunds, &body, Some("rf-big-2"))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        (&r["amount"], &r["approved_by"]),
        (&json!("80.00"), &manager["id"])
    );
    assert_eq!(r["approved_by_name"], manager["name"], "{r}");
    // The audit trail names both, for any reader of it.
    let (s, a) = app.get("/api/v1/audit?kind=refunded&limit=1").await;
    assert_eq!(s, 200, "{a}");
    let e = &a["entries"][0];
    assert_eq!(
        (&e["by"], &e["approved_by"], &e["approved_by_name"]),
        (&cashier["id"], &manager["id"], &manager["name"]),
        "{e}"
    );
    assert_eq!(e["by_name"], cashier["name"], "{e}");
    let (_, o) = app.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(o["refunds"].as_array().map(Vec::len), Some(2), "{o}");

    // The history says who: the cashier made the sale and the refunds.
    let (s, h) = app.get(&format!("/api/v1/members/{m}/history")).await;
    assert_eq!(s, 200);
    let by_kind = |kind: &str| -> Vec<Value> {
        h["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| e["actor"].clone())
            .collect()
    };
    assert_eq!(by_kind("checked_out"), [cashier["id"].clone()]);
    assert_eq!(
        by_kind("refunded"),
        [cashier["id"].clone(), cashier["id"].clone()]
    );
    assert_eq!(by_kind("recharged"), [json!("admin")]);
}

#[tokio::test]
async fn the_admin_token_and_managers_refund_above_the_limit_without_approval() {
    let app = App::new();
    set_limit(&app, json!("50.00")).await;
    app.create_staff("wang.dz", "store_manager", &[NODE], PASSWORD)
        .await;
    let seed = app.seed().await;
    let (_, o) = app.get(&format!("/api/v1/orders/{}", seed.order)).await;
    assert_eq!(o["total"], "119.50", "{o}");
    let manager = app.sign_in("wang.dz", PASSWORD).await;
    let refunds = format!("/api/v1/orders/{}/refunds", seed.order);
    let (s, r) = app
        .send_as(
            &manager,
            "POST",
            &refunds,
            &json!({"lines": [{"line": 0, "qty": "2"}], "reason": "x"}),
            Some("rf-m"),
        )
        .await;
    assert_eq!((s, &r["approved_by"]), (201, &Value::Null), "{r}");
    let (s, r) = app
        .send("POST", &refunds, &json!({"reason": "all"}), Some("rf-a"))
        .await;
    assert_eq!(s, 201, "{r}");
}

#[tokio::test]
async fn ops_record_the_staff_member_who_made_them() {
    let app = App::new();
    let owner = app.create_staff("boss", "owner", &[], PASSWORD).await;
    let token = app.sign_in("boss", PASSWORD).await;
    let (s, m) = app
        .send_as(
            &token,
            "POST",
            "/api/v1/members",
            &json!({"phone": "13800000001", "name": "会员"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let m = m["id"].as_str().unwrap();
    let (s, v) = app
        .send_as(
            &token,
            "POST",
            &format!("/api/v1/members/{m}/recharges"),
            &json!({"amount": "100.00", "tender": "cash"}),
            Some("rc-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, o) = app
        .send_as(
            &token,
            "POST",
            "/api/v1/checkouts",
            &json!({"member_id": m, "lines": [{"description": "茶", "unit_price": "20.00", "qty": 1}],
                    "tenders": [{"kind": "balance"}]}),
            Some("sale-1"),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let (s, h) = app.get(&format!("/api/v1/members/{m}/history")).await;
    assert_eq!(s, 200);
    let entries = h["entries"].as_array().unwrap();
    assert!(entries.len() >= 3, "{h}");
    for e in entries {
        assert_eq!(e["actor"], owner["id"], "{e}");
    }
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "checked_out" && e["ref"] == o["id"])
    );
}

/// `GET /setup`, open.
async fn open(app: &App) -> Value {
    let a = app.raw("GET", "/api/v1/setup", &[], Vec::new()).await;
    assert_eq!(a.status, 200);
    a.json().expect("JSON")
}

#[tokio::test]
async fn the_first_run_creates_the_owner_once() {
    let app = App::new();
    let v = open(&app).await;
    assert_eq!(
        v,
        json!({"node": NODE, "node_role": null, "first_run": true})
    );
    // Without the token: refused, nothing made.
    let body = json!({"login": "Boss", "name": "王老板", "password": PASSWORD});
    let a = app
        .raw(
            "POST",
            "/api/v1/setup/first-admin",
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(a.error_code().as_deref(), Some("unauthorized"));
    assert_eq!(open(&app).await["first_run"], true);
    let (s, owner) = app
        .send("POST", "/api/v1/setup/first-admin", &body, None)
        .await;
    assert_eq!(s, 201, "{owner}");
    assert_eq!(
        (&owner["login"], &owner["role"], &owner["created_by"]),
        (&json!("boss"), &json!("owner"), &json!("admin"))
    );
    assert_eq!(open(&app).await["first_run"], false);
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/setup/first-admin",
            &json!({"login": "boss2", "name": "二老板", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (409, "first_admin_exists"), "{v}");
    // The owner signs in with every right, but may not use the token's door.
    let token = app.sign_in("boss", PASSWORD).await;
    let (_, cur) = current(&app, &token).await;
    assert_eq!(
        cur["allowed"].as_array().map(Vec::len),
        Some(tongka_core::staff::Action::ALL.len()),
        "{cur}"
    );
    let (s, v) = app
        .send_as(
            &token,
            "POST",
            "/api/v1/setup/first-admin",
            &json!({"login": "boss3", "name": "三老板", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (403, "token_only"), "{v}");
    let list = staff_list(&app).await;
    assert_eq!(list["staff"].as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test]
async fn the_first_admin_of_hq_is_an_hq_admin_and_a_store_of_a_chain_has_none() {
    let hq = App::as_node("hq", true);
    let (s, v) = hq
        .send(
            "POST",
            "/api/v1/setup/first-admin",
            &json!({"login": "zhao", "name": "赵总", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!((s, &v["role"]), (201, &json!("hq_admin")), "{v}");
    let store = App::as_node("store", true);
    let (s, v) = store
        .send(
            "POST",
            "/api/v1/setup/first-admin",
            &json!({"login": "zhao", "name": "赵总", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (409, "first_admin_at_hq"), "{v}");
    let setup = store
        .raw("GET", "/api/v1/setup", &[], Vec::new())
        .await
        .json()
        .expect("JSON");
    assert_eq!(
        (&setup["node_role"], &setup["first_run"]),
        (&json!("store"), &json!(true))
    );
}
