//! Opening stock from a CSV file (期初库存导入): `POST /stock/import`.
//! The rows are checked by the core (`tongka_core::stock::import::plan`,
//! against the catalogue held now); a dry run lists every rejected row and
//! the ops a real run would make; a real run with any rejected row changes
//! nothing (`import_rejected`, the rows a JSON array); a good file becomes
//! goods in (`Engine::change_stock`, `StockAsk::In`), one op per supplier
//! and at most `STOCK_LINES_MAX` rows.
//!
//! Why each op's idempotency key is derived, not the client's: a file of
//! 1,200 rows is three ops, and a failure after the first (a restart, full
//! storage) must be safe to retry by sending the same file again. Each op's
//! key is `stock-import:<hash>:<n>`, `hash` the first 32 hex digits of the
//! BLAKE3 hash of the body and the `supplier` parameter, `n` the chunk's
//! number (1-based, in `StockPlan::ops`' order). Sending the same file again
//! replays every op already made (stock unchanged, `replayed` true) and
//! makes those that were not. A different file (one byte) is a new import.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_actors::Idem;
use tongka_core::authority::Act;
use tongka_core::stock::StockError;
use tongka_core::stock::import::{self, StockPlan};
use tongka_machine::stock::{STOCK_LINES_MAX, StockAsk};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::imports;
use crate::products::{RejectedRow, import_rejected};
use crate::*;

/// One goods-in op of an import.
#[derive(Serialize, ToSchema)]
#[schema(as = StockImportOp)]
pub(crate) struct OpView {
    /// 1-based, the order the ops are made in.
    chunk: usize,
    /// The op's idempotency key (module doc of the route).
    #[schema(examples("stock-import:3f2a9c0d1b7e4a5f8c6d2e1f0a9b8c7d:1"))]
    key: String,
    supplier: String,
    /// Rows (lines) of the op.
    lines: usize,
    /// Made earlier by the same file, answered again (a real run only).
    replayed: bool,
}

/// What an opening-stock import did, or in a dry run would do.
#[derive(Serialize, ToSchema)]
#[schema(as = StockImport)]
pub(crate) struct ImportView {
    dry_run: bool,
    /// Rows that are (or would be) taken in.
    accepted: usize,
    /// The goods-in ops, made (or planned, in a dry run).
    ops: Vec<OpView>,
    /// Every rejected row, with its line, code and reasons.
    rejected: Vec<RejectedRow>,
}

/// The file's hash, as the keys carry it.
fn file_hash(body: &[u8], supplier: Option<&str>) -> String {
    imports::hash(&[body, b"\0supplier=", supplier.unwrap_or("").as_bytes()])
}

/// A chunk's key (`imports::chunk_idem`).
fn chunk_idem(hash: &str, n: usize) -> Idem {
    imports::chunk_idem("POST /stock/import", "stock-import", hash, n)
}

#[utoipa::path(
    post,
    path = "/api/v1/stock/import",
    operation_id = "importStock",
    tag = "stock",
    summary = r#"Import opening stock from CSV / 期初库存导入 (CSV)"#,
    description = r#"Store manager or owner, at a store. A `text/csv` body: a header row and one product per row; columns `sku` (编码/商品编码) or `barcode` (条码), `qty` (数量), `unit_cost` (进价/成本), and optionally `supplier` (供应商; else the `supplier` parameter). `?dry_run=true` checks every row (an unknown sku or barcode, a product whose stock is not kept, a quantity invalid for its unit, a bad cost, a sku twice, a control character) and lists the rejected ones with line, code and reasons, and the ops it would make; nothing changes. A real run with any rejected row is refused whole (`import_rejected`, `rejected` the rows as an array). Otherwise the rows are goods in: one op per supplier and 500 rows, each under an idempotency key derived from the file's content hash and the chunk's number (`stock-import:<hash>:<n>`), so sending the same file again replays them and changes nothing. No `Idempotency-Key` header is needed. 期初库存导入：先试运行查看被拒绝的行；同一文件重复导入不会重复入库。"#,
    params(
        ("dry_run" = Option<bool>, Query, description = r#"true: check only."#),
        ("supplier" = Option<String>, Query, description = r#"The supplier of rows without their own."#),
    ),
    request_body(content = String, content_type = "text/csv"),
    extensions(("x-codes" = json!([
        "unauthorized", "hq_holds_no_stock", "invalid_csv", "invalid_csv_header",
        "too_many_rows", "import_rejected", "invalid_import_query", "invalid_supplier",
        "no_stock_lines", "idempotency_key_in_progress", "stock_not_owner", "internal",
        "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"A dry run: what would be imported, and the rows rejected."#, body = crate::stock_import::ImportView, content_type = "application/json"),
        (status = 201, description = r#"Imported (or replayed): the ops made."#, body = crate::stock_import::ImportView, content_type = "application/json"),
    )
)]
pub(crate) async fn import_stock(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authorised(&s, Act::Stock)?;
    let (dry_run, p) = imports::query(&pairs, &["dry_run", "supplier"])?;
    let supplier = p.get("supplier").copied();
    let text = imports::text(&body)?;
    let (current, _) = s.engine().catalogue()?;
    let plan: StockPlan = import::plan(text, &current, supplier)
        .map_err(|e| ApiError::from_domain(StatusCode::UNPROCESSABLE_ENTITY, &e))?;
    let rejected: Vec<RejectedRow> = plan
        .rejected
        .iter()
        .map(|(line, e)| RejectedRow::of(*line, e))
        .collect();
    let hash = file_hash(&body, supplier);
    let ops = plan.ops(STOCK_LINES_MAX);
    let mut view = ImportView {
        dry_run,
        accepted: plan.rows.len(),
        ops: ops
            .iter()
            .enumerate()
            .map(|(i, (supplier, lines))| OpView {
                chunk: i + 1,
                key: chunk_idem(&hash, i + 1).key,
                supplier: supplier.clone(),
                lines: lines.len(),
                replayed: false,
            })
            .collect(),
        rejected,
    };
    if dry_run {
        return Ok(json_answer(StatusCode::OK, &view));
    }
    if !view.rejected.is_empty() {
        return Err(import_rejected(&view.rejected, "库存"));
    }
    if ops.is_empty() {
        return Err(ApiError::from(tongka_actors::EngineError::Stock(
            StockError::NoLines,
        )));
    }
    let total = ops.len();
    for (i, (supplier, lines)) in ops.into_iter().enumerate() {
        let n = i + 1;
        let ask = StockAsk::In {
            supplier,
            note: format!("CSV 导入 {} {n}/{total}", &hash[..8]),
            lines,
        };
        let (_, replayed) = s
            .engine()
            .change_stock(actor(&who), Some(chunk_idem(&hash, n)), ask)
            .await
            // The ops before this one are made: the same file again makes
            // the rest (module doc).
            .map_err(|e| ApiError::from(e).with("chunk", n).with("chunks", total))?;
        view.ops[i].replayed = replayed;
    }
    Ok(json_answer(StatusCode::CREATED, &view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supplier_rule_is_the_stock_ops() {
        assert_eq!(
            import::SUPPLIER_LEN_MAX,
            tongka_machine::stock::SUPPLIER_LEN_MAX
        );
    }

    #[test]
    fn keys_are_of_the_file_and_the_chunk() {
        let a = file_hash(b"sku,qty,unit_cost\nlatte,1,1\n", Some("x"));
        assert_eq!(a, file_hash(b"sku,qty,unit_cost\nlatte,1,1\n", Some("x")));
        assert_ne!(a, file_hash(b"sku,qty,unit_cost\nlatte,2,1\n", Some("x")));
        assert_ne!(a, file_hash(b"sku,qty,unit_cost\nlatte,1,1\n", Some("y")));
        let (k1, k2) = (chunk_idem(&a, 1), chunk_idem(&a, 2));
        assert_ne!(k1.key, k2.key);
        assert_ne!(k1.fingerprint, k2.fingerprint);
        assert!(k1.key.len() <= tongka_core::op::KEY_LEN_MAX);
    }
}
