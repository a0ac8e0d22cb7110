//! The console with staff accounts, in a real browser against a real node:
//! the first admin created from the sign-in page; a node owner adding a
//! cashier and a store manager on the staff page; the cashier's refund
//! above the limit approved by the manager's login and password at the
//! same till, and both names in the manager's audit log; what a cashier
//! does not see or may not press. Each test asks the API what the page
//! really did.

use fantoccini::Client;
use serde_json::{Value, json};

use crate::console::{attr, click, dt, fill, screenshot, select, text, wait_for, with_browser};
use crate::harness::Node;

/// The node's name (a node of no chain: its only store).
fn node_name(node: &Node) -> String {
    let (status, h) = node.get("/health");
    assert_eq!(status, 200, "health: {h}");
    h["node"].as_str().expect("node name").to_string()
}

/// A request with another token than the node's admin token.
fn call_as(
    node: &Node,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let key = format!("console-staff {method} {path}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
        headers.push(("Idempotency-Key", key.as_str()));
    }
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    node.raw(method, path, &headers, &bytes)
}

/// Signs `login` in at the API and returns the session's token.
fn session(node: &Node, login: &str, password: &str) -> String {
    let body = json!({"login": login, "password": password}).to_string();
    let (status, s) = node.raw(
        "POST",
        "/sessions",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(status, 201, "sign in {login}: {s}");
    s["token"].as_str().expect("session token").to_string()
}

fn first_admin(node: &Node, login: &str, name: &str, password: &str) -> Value {
    let (status, v) = node.post(
        "/setup/first-admin",
        json!({"login": login, "name": name, "password": password}),
        None,
    );
    assert_eq!(status, 201, "first admin: {v}");
    v
}

fn staff_by_login(node: &Node, login: &str) -> Value {
    let (status, list) = node.get("/staff");
    assert_eq!(status, 200, "staff: {list}");
    list["staff"]
        .as_array()
        .expect("staff array")
        .iter()
        .find(|s| s["login"] == login)
        .unwrap_or_else(|| panic!("no account {login}: {list}"))
        .clone()
}

/// Signs in on the page's staff tab and waits for the app.
async fn sign_in(c: &Client, login: &str, password: &str) {
    wait_for(c, r#"body[data-auth="login"]"#).await;
    click(c, "login-tab-staff").await;
    fill(c, "staff-login", login).await;
    fill(c, "staff-password", password).await;
    click(c, "staff-login-submit").await;
    wait_for(c, r#"body[data-auth="app"]"#).await;
}

async fn sign_out(c: &Client) {
    click(c, "logout").await;
    wait_for(c, r#"body[data-auth="login"]"#).await;
}

/// The token the page keeps (localStorage), to ask the API who it is.
async fn page_token(c: &Client) -> String {
    let v = c
        .execute(
            "return localStorage.getItem('tongka.console.token')",
            vec![],
        )
        .await
        .expect("read the kept token");
    v.as_str().expect("a token kept").to_string()
}

/// (a) A fresh node: the sign-in page offers to create the first admin
/// with the admin token; the new owner is signed in, signs out and in
/// again with the password, and the header names them.
#[test]
fn console_first_admin_from_the_sign_in_page() {
    let node = Node::up();
    with_browser("console-first-admin", async |c| {
        c.goto(&node.url).await.expect("open the console");
        wait_for(c, r#"body[data-auth="login"]"#).await;
        wait_for(c, &format!("{}:not([hidden])", dt("first-run"))).await;
        click(c, "first-run-open").await;
        wait_for(c, &format!("{}:not([hidden])", dt("first-admin-form"))).await;
        // A wrong admin token is refused next to the form.
        fill(c, "first-token", "not-the-token").await;
        fill(c, "first-login", "boss").await;
        fill(c, "first-name", "王老板").await;
        fill(c, "first-password", "boss-pass-123").await;
        fill(c, "first-password2", "boss-pass-123").await;
        screenshot(c, "console-staff-first-admin").await;
        click(c, "first-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="unauthorized"]:not([hidden])"#,
                dt("first-error")
            ),
        )
        .await;
        assert_eq!(
            node.get("/setup").1["first_run"],
            true,
            "nothing created yet"
        );

        fill(c, "first-token", &node.token).await;
        click(c, "first-submit").await;
        wait_for(c, r#"body[data-auth="app"]"#).await;
        let who = text(c, &format!(r#"{}[data-principal="staff"]"#, dt("who"))).await;
        assert!(
            who.contains("王老板") && who.contains("店主"),
            "header: {who:?}"
        );
        let badge = text(c, &dt("node-badge")).await;
        assert!(badge.contains(&node_name(&node)), "node badge: {badge:?}");

        // The API agrees: an owner exists, and the page holds their session.
        let (status, setup) = node.get("/setup");
        assert_eq!(status, 200, "setup: {setup}");
        assert_eq!(setup["first_run"], false, "{setup}");
        let boss = staff_by_login(&node, "boss");
        assert_eq!(boss["role"], "owner", "{boss}");
        let tok = page_token(c).await;
        assert_ne!(tok, node.token, "the admin token kept instead of a session");
        let (status, s) = call_as(&node, &tok, "GET", "/sessions/current", None);
        assert_eq!(status, 200, "current session: {s}");
        assert_eq!(s["principal"], "staff");
        assert_eq!(s["staff"]["login"], "boss");

        // Signing out ends the session at the node.
        sign_out(c).await;
        let (status, s) = call_as(&node, &tok, "GET", "/sessions/current", None);
        assert_eq!(status, 401, "the session outlived sign-out: {s}");

        // A wrong password is refused on the page; the right one signs in.
        click(c, "login-tab-staff").await;
        fill(c, "staff-login", "boss").await;
        fill(c, "staff-password", "wrong-password").await;
        click(c, "staff-login-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="login_failed"]:not([hidden])"#,
                dt("login-message")
            ),
        )
        .await;
        fill(c, "staff-password", "boss-pass-123").await;
        click(c, "staff-login-submit").await;
        wait_for(c, r#"body[data-auth="app"]"#).await;
        let who = text(c, &dt("who")).await;
        assert!(who.contains("王老板"), "header after signing in: {who:?}");
    });
}

/// (b) The issue's scenario at a node of no chain: the owner adds a
/// cashier and a store manager on the staff page; the cashier sells, then
/// refunds above the programme's limit (500.00): the page asks a manager's
/// approval, the manager types their login and password at the same till
/// and the refund is made; the manager's audit log names both.
#[test]
fn console_cashier_refund_approved_by_the_manager() {
    let node = Node::up();
    let here = node_name(&node);
    first_admin(&node, "owner", "店主老王", "owner-pass-1");
    let phone = "13811112222";
    let member = node.member(phone, "赵六");
    let (status, r) = node.post(
        &format!("/members/{member}/recharges"),
        json!({"amount": "1000.00", "tender": "cash"}),
        Some("cs-recharge"),
    );
    assert_eq!(status, 201, "recharge: {r}");

    with_browser("console-staff-approval", async |c| {
        c.goto(&node.url).await.expect("open the console");
        sign_in(c, "owner", "owner-pass-1").await;

        // The owner adds a cashier and a store manager of this store.
        click(c, "tab-staff").await;
        wait_for(c, &format!("{}:not([hidden])", dt("panel-staff"))).await;
        for (login, name, role) in [
            ("cashier1", "李小红", "cashier"),
            ("manager1", "店长老张", "store_manager"),
        ] {
            fill(c, "staff-f-login", login).await;
            fill(c, "staff-f-name", name).await;
            select(c, "staff-f-role", role).await;
            click(c, &format!("staff-store-{here}")).await;
            fill(c, "staff-f-password", &format!("{login}-pass")).await;
            click(c, "staff-submit").await;
            wait_for(c, &format!(r#"{}[data-login="{login}"]"#, dt("staff-row"))).await;
        }
        let cashier = staff_by_login(&node, "cashier1");
        assert_eq!(cashier["role"], "cashier", "{cashier}");
        assert_eq!(cashier["stores"], json!([here]), "{cashier}");
        let manager = staff_by_login(&node, "manager1");
        assert_eq!(manager["role"], "store_manager", "{manager}");
        assert_eq!(manager["name"], "店长老张");
        screenshot(c, "console-staff-page").await;
        sign_out(c).await;

        // The cashier sells 600.00 to the member (silver: 570.00 payable).
        sign_in(c, "cashier1", "cashier1-pass").await;
        let who = text(c, &dt("who")).await;
        assert!(
            who.contains("李小红") && who.contains("收银员"),
            "header: {who:?}"
        );
        click(c, "tab-checkout").await;
        fill(c, "checkout-member-q", phone).await;
        click(c, "checkout-member-find").await;
        wait_for(
            c,
            &format!(r#"{}[data-id="{member}"]"#, dt("checkout-member")),
        )
        .await;
        fill(c, "checkout-desc-0", "蛋糕").await;
        fill(c, "checkout-price-0", "600.00").await;
        select(c, "checkout-tender-kind-0", "balance").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="570.00"]"#, dt("checkout-quote-payable")),
        )
        .await;
        click(c, "checkout-submit").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="570.00"]"#, dt("receipt-payable")),
        )
        .await;
        let order_id = text(c, &dt("receipt-id")).await;

        // The whole refund is above the limit: the page asks an approval.
        click(c, "receipt-to-order").await;
        wait_for(c, &format!("{}:not([hidden])", dt("refund-form"))).await;
        click(c, "refund-all").await;
        click(c, "refund-all").await;
        wait_for(c, &format!("{}:not([hidden])", dt("refund-approval"))).await;
        let ask = text(c, &dt("refund-approval-text")).await;
        assert!(
            ask.contains("¥500.00") && ask.contains("¥570.00"),
            "approval text: {ask:?}"
        );
        screenshot(c, "console-staff-approval").await;
        let (_, o) = node.get(&format!("/orders/{order_id}"));
        assert_eq!(o["status"], "paid", "refunded before the approval: {o}");

        // A wrong password is refused in the box; the manager's signs it.
        fill(c, "approval-login", "manager1").await;
        fill(c, "approval-password", "not-the-password").await;
        click(c, "approval-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="approval_invalid"]:not([hidden])"#,
                dt("approval-error")
            ),
        )
        .await;
        fill(c, "approval-password", "manager1-pass").await;
        click(c, "approval-submit").await;
        // The manager's name: the refund's approved_by_name.
        let shown = text(c, &dt("refund-approved-by")).await;
        assert_eq!(shown, "店长老张", "approver shown");
        assert_eq!(
            attr(c, &dt("refund-approved-by"), "data-value")
                .await
                .as_deref(),
            manager["id"].as_str(),
            "the refund's approver"
        );
        wait_for(c, &format!("{}[hidden]", dt("refund-approval"))).await;

        let (status, o) = node.get(&format!("/orders/{order_id}"));
        assert_eq!(status, 200, "order: {o}");
        assert_eq!(o["status"], "refunded", "{o}");
        assert_eq!(
            o["refunds"].as_array().map(Vec::len),
            Some(1),
            "one refund: {o}"
        );
        let (status, audit) = node.get("/audit?kind=refunded");
        assert_eq!(status, 200, "audit: {audit}");
        let entry = &audit["entries"][0];
        assert_eq!(entry["by"], cashier["id"], "{audit}");
        assert_eq!(entry["approved_by"], manager["id"], "{audit}");
        sign_out(c).await;

        // The manager's audit log: the refund, by the cashier, approved by
        // the manager.
        sign_in(c, "manager1", "manager1-pass").await;
        click(c, "tab-audit").await;
        let row = format!(r#"{}[data-kind="refunded"]"#, dt("audit-row"));
        wait_for(c, &row).await;
        assert_eq!(
            text(c, &format!("{row} {}", dt("audit-by"))).await,
            "李小红"
        );
        let approved = text(c, &format!("{row} {}", dt("audit-approved"))).await;
        assert!(approved.contains("店长老张"), "approved by: {approved:?}");
        screenshot(c, "console-staff-audit").await;
    });
}

/// (c) A cashier sees neither the staff page nor the programme, and the
/// merge button is disabled with its reason (the API refuses it too).
#[test]
fn console_cashier_sees_what_a_cashier_may_do() {
    let node = Node::up();
    let here = node_name(&node);
    first_admin(&node, "owner", "店主", "owner-pass-1");
    let (status, v) = node.post(
        "/staff",
        json!({"login": "cash2", "name": "收银员小周", "role": "cashier", "stores": [here], "password": "cash2-pass"}),
        None,
    );
    assert_eq!(status, 201, "cashier: {v}");
    let a = node.member("13822223333", "钱八");
    let b = node.member("13822224444", "钱八");
    // A duplicate pair, as a partition would have made it (one node cannot
    // register a phone twice): the page is handed it by its fetch.
    let pair = json!({"duplicates": [{"kind": "phone", "value": "138****3333",
        "members": [node.get(&format!("/members/{a}")).1, node.get(&format!("/members/{b}")).1]}]});

    with_browser("console-cashier-rights", async |c| {
        c.goto(&node.url).await.expect("open the console");
        sign_in(c, "cash2", "cash2-pass").await;
        for hidden in ["tab-staff", "tab-programme", "tab-audit", "tab-overview"] {
            let tab = wait_for(c, &dt(hidden)).await;
            assert!(
                !tab.is_displayed().await.unwrap(),
                "{hidden} shown to a cashier"
            );
        }
        for shown in [
            "tab-members",
            "tab-checkout",
            "tab-orders",
            "tab-duplicates",
        ] {
            let tab = wait_for(c, &dt(shown)).await;
            assert!(
                tab.is_displayed().await.unwrap(),
                "{shown} hidden from a cashier"
            );
        }
        c.execute(
            r#"
            const pair = arguments[0];
            const orig = window.fetch;
            window.fetch = async function (input, init) {
              if (String(input).endsWith('/api/v1/members/duplicates')) {
                return new Response(JSON.stringify(pair), { status: 200, headers: { 'Content-Type': 'application/json' } });
              }
              return orig.call(this, input, init);
            };"#,
            vec![pair],
        )
        .await
        .expect("install the fetch stub");
        click(c, "tab-duplicates").await;
        wait_for(c, &dt("dup-group")).await;
        let merge = format!(
            r#"{}[disabled][data-denied="merge_members"]"#,
            dt("dup-merge")
        );
        assert_eq!(
            attr(c, &merge, "title").await.as_deref(),
            Some("收银员无权合并会员")
        );
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="en"]"#).await;
        let merge = wait_for(
            c,
            &format!(
                r#"{}[title="a cashier may not merge members"]"#,
                dt("dup-merge")
            ),
        )
        .await;
        assert!(
            !merge.is_enabled().await.unwrap(),
            "merge enabled for a cashier"
        );
    });

    // The API says the same.
    let tok = session(&node, "cash2", "cash2-pass");
    let (status, v) = call_as(
        &node,
        &tok,
        "POST",
        &format!("/members/{a}/merge"),
        Some(json!({"absorb": b})),
    );
    assert_eq!(status, 403, "a cashier merged: {v}");
    assert_eq!(v["error"]["code"], "forbidden_for_role", "{v}");
}
