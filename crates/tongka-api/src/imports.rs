//! What the CSV imports with a dry run share (opening stock:
//! `stock_import`; members: `member_import`): the `dry_run` parameter, the
//! body read as text, and the idempotency keys derived from the file's
//! hash and a chunk's number. (The rejected rows' shape and the refusal of
//! a real run with any, `RejectedRow` and `import_rejected`, are
//! `products`', which the product import answers with too.)

use std::collections::BTreeMap;

use axum::http::StatusCode;
use tongka_actors::Idem;

use crate::ApiError;

pub(crate) fn bad_query(en: &str, zh: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_import_query",
        en.to_string(),
        zh.to_string(),
    )
}

/// The query's parameters, each at most once and among `allowed`
/// (`dry_run` one of them), and whether it asks for a dry run.
pub(crate) fn query<'a>(
    pairs: &'a [(String, String)],
    allowed: &[&str],
) -> Result<(bool, BTreeMap<&'a str, &'a str>), ApiError> {
    let p = crate::stock_read::params(pairs, allowed).map_err(|_| {
        bad_query(
            &format!("the parameters are {}, each once", allowed.join(", ")),
            &format!("参数为 {}，各至多一次", allowed.join("、")),
        )
    })?;
    let dry_run = match p.get("dry_run").copied() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(bad_query(
                "dry_run is true or false",
                "dry_run 应为 true 或 false",
            ));
        }
    };
    Ok((dry_run, p))
}

/// The body as UTF-8 text (`invalid_csv` if it is not).
pub(crate) fn text(body: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_csv",
            "the body is not UTF-8 text",
            "内容不是 UTF-8 文本",
        )
    })
}

/// The first 32 hex digits of the BLAKE3 hash of `parts`, in order: what
/// a file's chunk keys carry.
pub(crate) fn hash(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_hex()[..32].to_string()
}

/// Chunk `n`'s key, `<prefix>:<hash>:<n>`, and the fingerprint it is held
/// with (the route, then the key: a key is never reused for another
/// request).
pub(crate) fn chunk_idem(route: &str, prefix: &str, hash: &str, n: usize) -> Idem {
    let key = format!("{prefix}:{hash}:{n}");
    let mut h = blake3::Hasher::new();
    h.update(route.as_bytes());
    h.update(b"\n");
    h.update(key.as_bytes());
    Idem {
        key,
        fingerprint: *h.finalize().as_bytes(),
    }
}
