//! Member codes (会员码): issue a member's dynamic QR code, and find the
//! member a scanned code names. The rule (format, MAC, window) is
//! `tongka_core::member_code`; this module holds the node's key, reads the
//! clock, draws the QR image and renders.
//!
//! - `GET /members/{id}/code`: what the member's screen (or the till,
//!   turned towards the member) shows: the code's text, when it expires,
//!   and the QR code as SVG. Each call issues a fresh code; nothing is
//!   stored (a code is checked by its MAC and its time, never looked up).
//! - `POST /member-codes/verify`: what the till does with a scanned code
//!   (a keyboard-wedge scanner types the text and Enter): the member, as
//!   `GET /members/{id}` shows them, or a refusal (`member_code_invalid`,
//!   `member_code_expired`) that changes nothing. It is the entry point of
//!   核销 (verifying a coupon or a card visit) at the till. A POST keeps the
//!   code out of URLs and access logs.
//!
//! The QR image is drawn with the `qrcode` crate (MIT OR Apache-2.0), its
//! SVG renderer only: no image crate, no raster. Error correction level M
//! (15%), the usual choice for codes shown on a phone screen; the code's
//! characters are all in QR's alphanumeric mode, so it stays small (about
//! 33×33 modules for a 60-character code).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::parse_json;
use crate::render::{self, Text};
use crate::*;
use tongka_core::member_code::{self, MemberCodeKey};

/// A node's member-code settings: the chain's key and the window.
#[derive(Clone, Debug)]
pub struct MemberCodes {
    pub key: MemberCodeKey,
    pub window_s: u64,
}

/// The body of `POST /member-codes/verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MemberCodeVerifyRequest)]
pub(crate) struct VerifyReq {
    /// The scanned text, as the scanner typed it (whitespace around it and
    /// the letters' case do not matter).
    #[schema(
        max_length = 128,
        examples("TK1.M-STORE-1-1.1717000000.MFRGGZDFMZTWQ2LKNNWG23TPOA")
    )]
    code: String,
}

/// A member's code (`GET /members/{id}/code`).
#[derive(Serialize, ToSchema)]
#[schema(as = MemberCode)]
pub(crate) struct MemberCodeView {
    /// The code's text (what the QR code holds, and what a scanner types):
    /// `TK1.<MEMBER ID>.<issued, unix seconds>.<MAC>`.
    #[schema(examples("TK1.M-STORE-1-1.1717000000.MFRGGZDFMZTWQ2LKNNWG23TPOA"))]
    code: String,
    #[schema(value_type = crate::openapi::MemberId)]
    member_id: String,
    /// When it was issued (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    issued_at: Text<humantime::Rfc3339Timestamp>,
    /// After this it is refused (`member_code_expired`): show a fresh one
    /// before (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    expires_at: Text<humantime::Rfc3339Timestamp>,
    /// The window, in seconds (60 unless the node is configured otherwise).
    valid_for_s: u64,
    /// The QR code as an SVG document (`<svg …>…</svg>`), black on white
    /// with its quiet zone.
    svg: String,
}

fn settings(s: &AppState) -> Result<&MemberCodes, ApiError> {
    s.inner.member_codes.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "member_code_unavailable",
            "this node has no member-code key configured",
            "本节点未配置会员码密钥",
        )
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn rfc3339(unix_s: u64) -> Text<humantime::Rfc3339Timestamp> {
    Text(humantime::format_rfc3339_seconds(
        UNIX_EPOCH + Duration::from_secs(unix_s),
    ))
}

/// The QR code of `text` as SVG, without the XML declaration.
fn qr_svg(text: &str) -> Result<String, ApiError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| {
            ApiError::from(tongka_actors::EngineError::Internal(format!(
                "drawing the QR code: {e}"
            )))
        })?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(match image.find("<svg") {
        Some(i) => image[i..].to_string(),
        None => image,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/code",
    operation_id = "getMemberCode",
    tag = "members",
    summary = r#"A member's dynamic code (QR) / 会员码"#,
    description = r#"Issues a fresh member code: signed with the chain's member-code key (every node of the chain holds it, so every store verifies the code offline) and valid for a short window (`valid_for_s`, 60 s by default). Show the `svg` to be scanned, and fetch a fresh one before `expires_at`. Nothing is stored; issuing changes nothing."#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`. A merged member's id gives the survivor's code."#, example = "m-store-1-1")
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "member_not_found", "internal", "storage_unavailable",
        "invalid_request", "member_code_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The code."#, body = crate::member_codes::MemberCodeView, content_type = "application/json")
    )
)]
pub(crate) async fn get_code(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let codes = settings(&s)?;
    let m = s.engine().member(&member_id(&id)?)?;
    let now = unix_now();
    let code = member_code::issue(&codes.key, &m.id, now);
    let svg = qr_svg(&code)?;
    Ok(Json(MemberCodeView {
        member_id: m.id.to_string(),
        code,
        issued_at: rfc3339(now),
        expires_at: rfc3339(now.saturating_add(codes.window_s)),
        valid_for_s: codes.window_s,
        svg,
    })
    .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/member-codes/verify",
    operation_id = "verifyMemberCode",
    tag = "members",
    summary = r#"Find the member of a scanned member code / 扫会员码查会员"#,
    description = r#"Checks a scanned member code offline (its MAC under the chain's key, and its age against this node's window, with 30 s allowed for clocks that differ) and answers the member, as `GET /members/{id}` does. This is the entry point of 核销 (verifying a coupon or a card visit) at the till. A keyboard-wedge scanner's text is accepted as typed: whitespace around it and the letters' case do not matter. A forged, tampered, malformed or other chain's code is `member_code_invalid`; an authentic code past its window (a screenshot) is `member_code_expired`. Nothing changes either way."#,
    // No request example: a code is valid for a minute, so any example
    // written here would be refused (`member_code_expired`).
    request_body(content = crate::member_codes::VerifyReq),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_json", "unauthorized", "member_code_invalid", "member_code_expired",
        "member_not_found", "internal", "storage_unavailable", "payload_too_large",
        "member_code_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The member the code names."#, body = crate::render::MemberView, content_type = "application/json")
    )
)]
pub(crate) async fn verify(State(s): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let codes = settings(&s)?;
    let req: VerifyReq = parse_json(&body)?;
    let id = member_code::verify(&codes.key, &req.code, unix_now(), codes.window_s)?;
    let e = s.engine();
    let m = e.member(&id)?;
    Ok(Json(render::member(&m, &e.programme(), e.node())).into_response())
}
