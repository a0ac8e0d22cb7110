//! The closes' part of the walk of `answers_match_the_documented_schemas`,
//! after the reports: a preview, a shift close and a day close of the
//! walk's sales, the list (the closes' schema, as one close answers it),
//! and refused requests.

use super::steps::Step;

fn get(path: &'static str, full: String, status: u16, code: Option<&'static str>) -> Step<'static> {
    ("GET", path, full, Vec::new(), None, status, code)
}

fn post(body: &str, key: &'static str, status: u16, code: Option<&'static str>) -> Step<'static> {
    (
        "POST",
        "/api/v1/closes",
        "/api/v1/closes".to_string(),
        body.as_bytes().to_vec(),
        Some(key),
        status,
        code,
    )
}

pub fn steps() -> Vec<Step<'static>> {
    const PREVIEW: &str = "/api/v1/closes/preview";
    const LIST: &str = "/api/v1/closes";
    vec![
        get(
            PREVIEW,
            format!("{PREVIEW}?kind=day&counted_cash=10"),
            200,
            None,
        ),
        get(
            PREVIEW,
            format!("{PREVIEW}?kind=year"),
            422,
            Some("invalid_close_kind"),
        ),
        post(
            r#"{"kind":"shift","counted_cash":"0"}"#,
            "close-1",
            201,
            None,
        ),
        post(
            r#"{"kind":"day","opening_float":"100","counted_cash":"12.34","note":"日结"}"#,
            "close-2",
            201,
            None,
        ),
        post(
            r#"{"kind":"day","counted_cash":"1"}"#,
            "close-3",
            409,
            Some("already_closed"),
        ),
        post(
            r#"{"kind":"day","counted_cash":"-1"}"#,
            "close-4",
            422,
            Some("invalid_amount"),
        ),
        get(LIST, format!("{LIST}?store=store-1"), 200, None),
        get(
            LIST,
            format!("{LIST}?from=2026-02-30"),
            422,
            Some("invalid_close_query"),
        ),
        get(
            "/api/v1/closes/{id}",
            "/api/v1/closes/store-1.99999".into(),
            404,
            Some("close_not_found"),
        ),
    ]
}
