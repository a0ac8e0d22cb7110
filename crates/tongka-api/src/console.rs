//! The web console's static files: the page at `/`, and under `/console/`
//! its native ES modules (`app.js` the entry, which imports one module per
//! screen and a few shared ones) and its style sheet. All of them are
//! compiled into the binary: no build step, nothing from a CDN, no file
//! system at run time.

use axum::http::{Uri, header};
use axum::response::{Html, IntoResponse, Response};

use crate::ApiError;

const CONSOLE_HTML: &str = include_str!("../console/index.html");

/// A module must be served with a JavaScript MIME type, or the browser
/// refuses to run it.
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file served under `/console/`: (name, content type, content).
/// Fixed when the node is built; `tests/console_files.rs` checks that it
/// holds every file of `console/` but the page.
const FILES: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("../console/app.js")),
    ("catalogue.js", JS, include_str!("../console/catalogue.js")),
    (
        "categories.js",
        JS,
        include_str!("../console/categories.js"),
    ),
    (
        "i18n_catalogue.js",
        JS,
        include_str!("../console/i18n_catalogue.js"),
    ),
    ("state.js", JS, include_str!("../console/state.js")),
    ("i18n.js", JS, include_str!("../console/i18n.js")),
    ("dom.js", JS, include_str!("../console/dom.js")),
    ("format.js", JS, include_str!("../console/format.js")),
    ("api.js", JS, include_str!("../console/api.js")),
    ("feedback.js", JS, include_str!("../console/feedback.js")),
    ("nav.js", JS, include_str!("../console/nav.js")),
    ("auth.js", JS, include_str!("../console/auth.js")),
    ("stock.js", JS, include_str!("../console/stock.js")),
    ("dayclose.js", JS, include_str!("../console/dayclose.js")),
    (
        "i18n_dayclose.js",
        JS,
        include_str!("../console/i18n_dayclose.js"),
    ),
    (
        "member_import.js",
        JS,
        include_str!("../console/member_import.js"),
    ),
    (
        "i18n_member_import.js",
        JS,
        include_str!("../console/i18n_member_import.js"),
    ),
    (
        "i18n_stock.js",
        JS,
        include_str!("../console/i18n_stock.js"),
    ),
    ("members.js", JS, include_str!("../console/members.js")),
    ("receipt.js", JS, include_str!("../console/receipt.js")),
    ("checkout.js", JS, include_str!("../console/checkout.js")),
    (
        "checkout_lines.js",
        JS,
        include_str!("../console/checkout_lines.js"),
    ),
    ("tenders.js", JS, include_str!("../console/tenders.js")),
    ("orders.js", JS, include_str!("../console/orders.js")),
    (
        "duplicates.js",
        JS,
        include_str!("../console/duplicates.js"),
    ),
    ("programme.js", JS, include_str!("../console/programme.js")),
    (
        "coupons_admin.js",
        JS,
        include_str!("../console/coupons_admin.js"),
    ),
    ("overview.js", JS, include_str!("../console/overview.js")),
    (
        "i18n_coupons.js",
        JS,
        include_str!("../console/i18n_coupons.js"),
    ),
    (
        "coupon_text.js",
        JS,
        include_str!("../console/coupon_text.js"),
    ),
    ("coupons.js", JS, include_str!("../console/coupons.js")),
    (
        "coupon_batch.js",
        JS,
        include_str!("../console/coupon_batch.js"),
    ),
    (
        "checkout_coupons.js",
        JS,
        include_str!("../console/checkout_coupons.js"),
    ),
    ("verify.js", JS, include_str!("../console/verify.js")),
    (
        "i18n_cards.js",
        JS,
        include_str!("../console/i18n_cards.js"),
    ),
    ("card_text.js", JS, include_str!("../console/card_text.js")),
    ("cards.js", JS, include_str!("../console/cards.js")),
    (
        "verify_cards.js",
        JS,
        include_str!("../console/verify_cards.js"),
    ),
    (
        "i18n_staff.js",
        JS,
        include_str!("../console/i18n_staff.js"),
    ),
    ("perms.js", JS, include_str!("../console/perms.js")),
    ("signin.js", JS, include_str!("../console/signin.js")),
    ("nodes.js", JS, include_str!("../console/nodes.js")),
    ("staff.js", JS, include_str!("../console/staff.js")),
    ("account.js", JS, include_str!("../console/account.js")),
    ("audit.js", JS, include_str!("../console/audit.js")),
    // settlement
    (
        "settlement.js",
        JS,
        include_str!("../console/settlement.js"),
    ),
    (
        "i18n_settlement.js",
        JS,
        include_str!("../console/i18n_settlement.js"),
    ),
    (
        "consistency.js",
        JS,
        include_str!("../console/consistency.js"),
    ),
    (
        "i18n_consistency.js",
        JS,
        include_str!("../console/i18n_consistency.js"),
    ),
    (
        "refund_approval.js",
        JS,
        include_str!("../console/refund_approval.js"),
    ),
    ("reports.js", JS, include_str!("../console/reports.js")),
    (
        "i18n_reports.js",
        JS,
        include_str!("../console/i18n_reports.js"),
    ),
    // The dashboard (数据大屏) and ECharts, vendored: a classic script the
    // dashboard loads when first shown (`console/vendor/README.md`).
    ("dashboard.js", JS, include_str!("../console/dashboard.js")),
    (
        "i18n_dashboard.js",
        JS,
        include_str!("../console/i18n_dashboard.js"),
    ),
    (
        "echarts.min.js",
        JS,
        include_str!("../console/vendor/echarts.min.js"),
    ),
    ("app.css", CSS, include_str!("../console/app.css")),
    (
        "dashboard.css",
        CSS,
        include_str!("../console/dashboard.css"),
    ),
];

/// The file `name`, or `404 not_found` as for any unknown path. The name
/// is compared as it arrives, never decoded nor joined to a directory, so
/// no name (`..`, `%2e%2e`, a control character) reaches anything but the
/// list.
fn serve(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some(&(_, content_type, body)) => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => ApiError::not_found_route().into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/",
    operation_id = "console",
    tag = "console",
    summary = r#"Web console / 网页控制台"#,
    description = r#"The web console's page (served when the node's console is on). The page asks for the token and calls the API with it."#,
    responses(
        (status = 200, description = r#"The console page."#, body = String, content_type = "text/html")
    )
)]
pub(crate) async fn page() -> Html<&'static str> {
    Html(CONSOLE_HTML)
}

#[utoipa::path(
    get,
    path = "/console/app.js",
    operation_id = "consoleScript",
    tag = "console",
    summary = r#"Web console script"#,
    description = r#"The console's entry module (a native ES module): it imports the others from `/console/{file}`."#,
    responses(
        (status = 200, description = r#"JavaScript."#, body = String, content_type = "text/javascript")
    )
)]
pub(crate) async fn script() -> Response {
    serve("app.js")
}

#[utoipa::path(
    get,
    path = "/console/app.css",
    operation_id = "consoleStyle",
    tag = "console",
    summary = r#"Web console style sheet"#,
    responses(
        (status = 200, description = r#"CSS."#, body = String, content_type = "text/css")
    )
)]
pub(crate) async fn style() -> Response {
    serve("app.css")
}

#[utoipa::path(
    get,
    path = "/console/{file}",
    operation_id = "consoleFile",
    tag = "console",
    summary = r#"Web console module"#,
    description = r#"One of the console's files by name: its native ES modules (one per screen, `members.js`, `checkout.js`, …, and the shared ones they import) and its style sheet. The list is fixed when the node is built; any other name is `404 not_found`."#,
    params(
        ("file" = String, Path, description = r#"A file name, e.g. `members.js`."#, example = "members.js")
    ),
    extensions(("x-codes" = json!(["not_found"]))),
    responses(
        (status = 200, description = r#"JavaScript (a `.js` module) or CSS (`app.css`)."#, content(
            (String = "text/javascript"),
            (String = "text/css")
        ))
    )
)]
pub(crate) async fn file(uri: Uri) -> Response {
    serve(uri.path().strip_prefix("/console/").unwrap_or_default())
}
