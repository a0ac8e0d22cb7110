//! CSV import of opening stock (期初库存导入), pure: the file read by the
//! shared reader (`crate::csv`) and each row checked against the
//! catalogue as it is. The API answers a dry run with `plan`'s rejected
//! rows, refuses a real run that has any, and otherwise makes the goods
//! in of [`StockPlan::ops`], one `StockChanged::In` op per chunk.
//!
//! Columns (`COLUMNS`, English or Chinese): `sku` or `barcode` (one at
//! least; a row gives either, or both of the same product), `qty`,
//! `unit_cost`, and an optional `supplier` (a row's own, else the one
//! given with the file). A row is rejected with its line number, a code
//! and a reason in both languages:
//! - a cell holding a control or invisible character (`invalid_text`);
//! - no product of its sku or barcode, or a sku and a barcode of two
//!   products (`unknown_product`);
//! - a product whose stock is not kept (`product_not_stocked`:
//!   `Product::stock_unit`, not stocked or a card product);
//! - a quantity not a number, not positive, fractional for a product
//!   counted whole, too precise or too large (`invalid_stock_qty`,
//!   `stock::check_qty`);
//! - a cost not an amount of 0 or more with two places (`invalid_unit_cost`);
//! - a product already on an earlier row (`duplicate_sku`: one op may not
//!   name a sku twice, and adding the two silently would hide a typo);
//! - a supplier missing or not a valid name (`invalid_supplier`);
//! - a wrong number of fields (`invalid_csv`).

use std::collections::{BTreeMap, HashMap};

use super::{StockError, StockInLine, check_qty};
use crate::catalogue_doc::Catalogue;
use crate::csv::{self, CsvError, HeaderError};
use crate::error::DomainError;
use crate::money::Money;
use crate::text::{self, TextError};

/// The most rows of one file.
pub const ROWS_MAX: usize = 5000;

/// The longest supplier name (the stock op's rule, checked again there).
pub const SUPPLIER_LEN_MAX: usize = 60;

/// The columns, each with the names a header may give it.
pub const COLUMNS: &[(Column, &[&str])] = &[
    (Column::Sku, &["sku", "编码", "商品编码"]),
    (Column::Barcode, &["barcode", "条码", "条形码"]),
    (Column::Qty, &["qty", "quantity", "数量"]),
    (
        Column::UnitCost,
        &["unit_cost", "cost", "进价", "成本", "单价"],
    ),
    (Column::Supplier, &["supplier", "供应商"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Sku,
    Barcode,
    Qty,
    UnitCost,
    Supplier,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Sku => "sku",
            Column::Barcode => "barcode",
            Column::Qty => "qty",
            Column::UnitCost => "unit_cost",
            Column::Supplier => "supplier",
        }
    }
}

/// Why a file, or one row of it, is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockImportError {
    #[error(
        "the file is empty, a column is named twice, or its header misses sku or barcode, qty or unit_cost"
    )]
    Header,
    #[error("unknown column {0:?}")]
    UnknownColumn(String),
    #[error("more than {ROWS_MAX} rows")]
    Rows,
    #[error("a quoted field is not closed")]
    Quote,
    #[error("{found} fields, the header has {expected}")]
    Fields { found: usize, expected: usize },
    #[error("{column} {error}")]
    Text {
        column: &'static str,
        error: TextError,
    },
    #[error("no product with sku {0:?}")]
    UnknownSku(String),
    #[error("no product with barcode {0:?}")]
    UnknownBarcode(String),
    #[error("neither a sku nor a barcode")]
    NoProduct,
    #[error("barcode {barcode:?} is of {of}, not of {sku}")]
    Mismatch {
        sku: String,
        barcode: String,
        of: String,
    },
    #[error("{sku}: its stock is not kept (not a stocked product)")]
    NotStocked { sku: String },
    #[error("{sku}: quantity {value:?} is not a number (0 or more, at most 3 decimal places)")]
    QtyText { sku: String, value: String },
    #[error("{sku} is on line {first} already")]
    DuplicateSku { sku: String, first: usize },
    #[error("no supplier: give a supplier column or the supplier parameter")]
    NoSupplier,
    #[error(transparent)]
    Stock(#[from] StockError),
}

impl DomainError for StockImportError {
    fn code(&self) -> &'static str {
        use StockImportError as E;
        match self {
            E::Header | E::UnknownColumn(_) => "invalid_csv_header",
            E::Rows => "too_many_rows",
            E::Quote | E::Fields { .. } => "invalid_csv",
            E::Text {
                column: "supplier", ..
            }
            | E::NoSupplier => "invalid_supplier",
            E::Text { .. } => "invalid_text",
            E::UnknownSku(_) | E::UnknownBarcode(_) | E::NoProduct | E::Mismatch { .. } => {
                "unknown_product"
            }
            E::NotStocked { .. } => "product_not_stocked",
            E::QtyText { .. } => "invalid_stock_qty",
            E::DuplicateSku { .. } => "duplicate_sku",
            E::Stock(e) => e.code(),
        }
    }

    fn message_zh(&self) -> String {
        use StockImportError as E;
        match self {
            E::Header => "文件为空、列名重复，或表头缺少编码或条码、数量、进价".into(),
            E::UnknownColumn(c) => format!("未知列 {c:?}"),
            E::Rows => format!("行数超过 {ROWS_MAX}"),
            E::Quote => "引号内的字段没有结束".into(),
            E::Fields { found, expected } => format!("有 {found} 个字段，表头有 {expected} 个"),
            E::Text { column, error } => format!("{column}：{}", error.zh()),
            E::UnknownSku(s) => format!("没有编码为 {s:?} 的商品"),
            E::UnknownBarcode(b) => format!("没有条码为 {b:?} 的商品"),
            E::NoProduct => "既没有编码也没有条码".into(),
            E::Mismatch { sku, barcode, of } => {
                format!("条码 {barcode:?} 属于 {of}，不属于 {sku}")
            }
            E::NotStocked { sku } => format!("{sku}：该商品不管理库存"),
            E::QtyText { sku, value } => {
                format!("{sku}：数量 {value:?} 不是有效数字（不小于 0，最多 3 位小数）")
            }
            E::DuplicateSku { sku, first } => format!("{sku} 已在第 {first} 行"),
            E::NoSupplier => "没有供应商：请给出供应商列或 supplier 参数".into(),
            E::Stock(e) => e.message_zh(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        use StockImportError as E;
        match self {
            E::Text { column, error } => {
                let mut d = vec![("column", (*column).to_string())];
                d.extend(error.details());
                d
            }
            E::UnknownSku(s) | E::NotStocked { sku: s } | E::QtyText { sku: s, .. } => {
                vec![("sku", s.clone())]
            }
            E::UnknownBarcode(b) => vec![("barcode", b.clone())],
            E::Mismatch { sku, barcode, .. } => {
                vec![("sku", sku.clone()), ("barcode", barcode.clone())]
            }
            E::DuplicateSku { sku, first } => {
                vec![("sku", sku.clone()), ("first_line", first.to_string())]
            }
            E::Stock(e) => e.details(),
            _ => Vec::new(),
        }
    }
}

/// A row that would be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub supplier: String,
    pub line_in: StockInLine,
}

/// What an import would do: its rows, and every row it rejects with its
/// line number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockPlan {
    pub rows: Vec<Row>,
    pub rejected: Vec<(usize, StockImportError)>,
}

impl StockPlan {
    /// The goods-in ops of the rows: by supplier (in the order each first
    /// appears in the file), then in chunks of at most `max` lines, in
    /// file order. The same file gives the same ops, in the same order:
    /// a chunk's number is what its idempotency key is made of.
    pub fn ops(&self, max: usize) -> Vec<(String, Vec<StockInLine>)> {
        let mut by: Vec<(String, Vec<StockInLine>)> = Vec::new();
        for r in &self.rows {
            match by.iter_mut().find(|(s, _)| *s == r.supplier) {
                Some((_, lines)) => lines.push(r.line_in.clone()),
                None => by.push((r.supplier.clone(), vec![r.line_in.clone()])),
            }
        }
        by.into_iter()
            .flat_map(|(s, lines)| {
                lines
                    .chunks(max.max(1))
                    .map(|c| (s.clone(), c.to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// Parse `text` and check every row against `current`; `supplier` is the
/// file's (a row's own supplier cell, when the file has the column and
/// the cell is not empty, wins). The error is the file's (its header, its
/// size, a quote not closed); a row's is in `StockPlan::rejected`.
pub fn plan(
    text: &str,
    current: &Catalogue,
    supplier: Option<&str>,
) -> Result<StockPlan, StockImportError> {
    let mut recs = csv::records(text, ROWS_MAX)
        .map_err(|e| match e {
            CsvError::Rows => StockImportError::Rows,
            CsvError::Quote => StockImportError::Quote,
        })?
        .into_iter();
    let (_, header) = recs.next().ok_or(StockImportError::Header)?;
    let columns = csv::columns(&header, COLUMNS).map_err(|e| match e {
        HeaderError::Unknown(c) => StockImportError::UnknownColumn(c),
        HeaderError::Repeated => StockImportError::Header,
    })?;
    let at = |c: Column| columns.iter().position(|x| *x == c);
    let (sku_at, code_at) = (at(Column::Sku), at(Column::Barcode));
    let (Some(qty_at), Some(cost_at)) = (at(Column::Qty), at(Column::UnitCost)) else {
        return Err(StockImportError::Header);
    };
    if sku_at.is_none() && code_at.is_none() {
        return Err(StockImportError::Header);
    }
    let supplier_at = at(Column::Supplier);
    let supplier = supplier.map(str::trim).filter(|s| !s.is_empty());
    if supplier_at.is_none() && supplier.is_none() {
        return Err(StockImportError::NoSupplier);
    }
    let by_code: HashMap<&str, &str> = current
        .values()
        .flat_map(|p| p.all_barcodes().map(|b| (b.as_str(), p.sku.as_str())))
        .collect();
    let mut out = StockPlan::default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, cells) in recs {
        let checked = (|| {
            if cells.len() != columns.len() {
                return Err(StockImportError::Fields {
                    found: cells.len(),
                    expected: columns.len(),
                });
            }
            for (c, v) in columns.iter().zip(&cells) {
                text::check_chars(v, text::Lines::One).map_err(|error| StockImportError::Text {
                    column: c.name(),
                    error,
                })?;
            }
            let cell = |i: Option<usize>| i.map(|i| cells[i].trim()).filter(|v| !v.is_empty());
            let by_barcode = |b: &str| {
                by_code
                    .get(b)
                    .map(|s| s.to_string())
                    .ok_or_else(|| StockImportError::UnknownBarcode(csv::cut(b)))
            };
            let sku = match (cell(sku_at), cell(code_at)) {
                (Some(s), None) => s.to_string(),
                (None, Some(b)) => by_barcode(b)?,
                (Some(s), Some(b)) => {
                    let of = by_barcode(b)?;
                    if of != s {
                        return Err(StockImportError::Mismatch {
                            sku: csv::cut(s),
                            barcode: b.to_string(),
                            of,
                        });
                    }
                    of
                }
                (None, None) => return Err(StockImportError::NoProduct),
            };
            let p = current
                .get(&sku)
                .ok_or_else(|| StockImportError::UnknownSku(csv::cut(&sku)))?;
            let unit = p
                .stock_unit()
                .ok_or_else(|| StockImportError::NotStocked { sku: sku.clone() })?;
            let raw = cells[qty_at].trim();
            let qty = crate::money::parse_decimal_text(raw, super::MEASURED_PLACES as usize)
                .map_err(|_| StockImportError::QtyText {
                    sku: sku.clone(),
                    value: csv::cut(raw),
                })?;
            let qty = check_qty(&sku, unit, qty, false)?;
            let unit_cost = Money::parse_amount(cells[cost_at].trim(), false)
                .map_err(|_| StockError::UnitCost { sku: sku.clone() })?;
            let supplier = cell(supplier_at)
                .or(supplier)
                .ok_or(StockImportError::NoSupplier)?;
            text::check_text(supplier, 1, SUPPLIER_LEN_MAX).map_err(|error| {
                StockImportError::Text {
                    column: "supplier",
                    error,
                }
            })?;
            if let Some(first) = seen.get(&sku) {
                return Err(StockImportError::DuplicateSku { sku, first: *first });
            }
            Ok(Row {
                line,
                supplier: supplier.to_string(),
                line_in: StockInLine {
                    sku,
                    qty,
                    unit_cost,
                },
            })
        })();
        match checked {
            Ok(r) => {
                seen.insert(r.line_in.sku.clone(), line);
                out.rows.push(r);
            }
            Err(e) => out.rejected.push((line, e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Product, sample_catalogue};
    use crate::stock::Unit;
    use rust_decimal::Decimal;

    fn current() -> Catalogue {
        let mut c: Catalogue = sample_catalogue()
            .into_iter()
            .map(|p| (p.sku.clone(), p))
            .collect();
        let mut rice = Product::new("rice", Some("6900000000200"), "大米", Money::ZERO);
        rice.unit = Unit::Measured;
        rice.stocked = true;
        c.insert(rice.sku.clone(), rice);
        let mut svc = Product::new("wash", None, "洗车", Money::ZERO);
        svc.stocked = false;
        c.insert(svc.sku.clone(), svc);
        for p in c.values_mut().filter(|p| p.sku != "wash") {
            p.stocked = true;
        }
        c
    }

    #[test]
    fn every_rejected_row_with_its_line_and_reason() {
        let csv = "\u{feff}商品编码,条码,数量,进价\n\
            latte,,10,18.50\n\
            ,6900000000200,2.125,4\n\
            nope,,1,1\n\
            ,123,1,1\n\
            wash,,1,1\n\
            latte,,2,1\n\
            rice,,1.2345,1\n\
            \"a\u{7}b\",,1,1\n\
            bread,,-1,1\n\
            bread,,1.5,1\n\
            bread,,99999999,1\n\
            bread,,abc,1\n\
            bread,,1,-3\n\
            bread,6900000000200,1,1\n\
            bread,1\n";
        let p = plan(csv, &current(), Some("华东")).unwrap();
        let ok: Vec<(usize, &str, Decimal)> = p
            .rows
            .iter()
            .map(|r| (r.line, r.line_in.sku.as_str(), r.line_in.qty))
            .collect();
        assert_eq!(
            ok,
            vec![
                (2, "latte", Decimal::from(10)),
                (3, "rice", Decimal::new(2125, 3))
            ]
        );
        assert_eq!(p.rows[0].line_in.unit_cost, Money::from_fen(1850));
        assert_eq!(p.rows[0].supplier, "华东");
        let codes: Vec<(usize, &str)> = p.rejected.iter().map(|(l, e)| (*l, e.code())).collect();
        assert_eq!(
            codes,
            vec![
                (4, "unknown_product"),
                (5, "unknown_product"),
                (6, "product_not_stocked"),
                (7, "duplicate_sku"),
                (8, "invalid_stock_qty"),
                (9, "invalid_text"),
                (10, "invalid_stock_qty"),
                (11, "invalid_stock_qty"),
                (12, "invalid_stock_qty"),
                (13, "invalid_stock_qty"),
                (14, "invalid_unit_cost"),
                (15, "unknown_product"),
                (16, "invalid_csv"),
            ]
        );
        for (_, e) in &p.rejected {
            assert!(!e.message_zh().is_empty() && !e.to_string().is_empty());
        }
    }

    #[test]
    fn suppliers_from_the_file_and_chunks_of_at_most_max() {
        let mut csv = String::from("sku,qty,unit_cost,supplier\n");
        let c = current();
        let skus: Vec<&String> = c
            .values()
            .filter(|p| p.stock_unit().is_some())
            .map(|p| &p.sku)
            .collect();
        for (i, s) in skus.iter().enumerate() {
            let sup = if i % 2 == 0 { "" } else { "乙" };
            csv.push_str(&format!("{s},1,1,{sup}\n"));
        }
        let p = plan(&csv, &c, Some("甲")).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let ops = p.ops(1);
        assert_eq!(ops.len(), skus.len());
        assert!(ops.iter().all(|(_, l)| l.len() == 1));
        let ops = p.ops(500);
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].0, "甲");
        assert_eq!(ops[1].0, "乙");
        let total: Decimal = p.rows.iter().map(|r| r.line_in.qty).sum();
        assert_eq!(total, Decimal::from(skus.len() as i64));
        // No supplier anywhere: the file is refused.
        assert_eq!(
            plan("sku,qty,unit_cost\nlatte,1,1\n", &c, None),
            Err(StockImportError::NoSupplier)
        );
        // The column without a value, and no parameter: the row is.
        let p = plan("sku,qty,unit_cost,supplier\nlatte,1,1,\n", &c, None).unwrap();
        assert_eq!(p.rejected[0].1.code(), "invalid_supplier");
    }

    #[test]
    fn bad_headers_are_refused_whole() {
        let c = current();
        let s = Some("x");
        assert_eq!(plan("", &c, s), Err(StockImportError::Header));
        assert_eq!(plan("sku,qty\n", &c, s), Err(StockImportError::Header));
        assert_eq!(plan("qty,进价\n", &c, s), Err(StockImportError::Header));
        assert!(matches!(
            plan("sku,qty,cost,colour\n", &c, s),
            Err(StockImportError::UnknownColumn(_))
        ));
        let many = format!("sku,qty,cost\n{}", "a,1,1\n".repeat(ROWS_MAX + 1));
        assert_eq!(plan(&many, &c, s), Err(StockImportError::Rows));
    }
}
