//! The web console's static files (`/`, `/console/app.js`,
//! `/console/app.css`), served when the node's console is on.

use axum::http::header;
use axum::response::{Html, IntoResponse};

const CONSOLE_HTML: &str = include_str!("../console/index.html");
const CONSOLE_JS: &str = include_str!("../console/app.js");
const CONSOLE_CSS: &str = include_str!("../console/app.css");

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
    responses(
        (status = 200, description = r#"JavaScript."#, body = String, content_type = "text/javascript")
    )
)]
pub(crate) async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        CONSOLE_JS,
    )
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
pub(crate) async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        CONSOLE_CSS,
    )
}
