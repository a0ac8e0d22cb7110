//! CSV import of products: the file parsed and each row checked against
//! the catalogue as it is, pure. The API answers a dry run with `plan`'s
//! rejected rows and makes one catalogue change of its products otherwise.
//!
//! The file is read by the shared reader (`crate::csv`: UTF-8, a BOM
//! skipped, `"` quoting, line numbers); a header row names the columns in
//! English or Chinese (`COLUMNS`); `sku`, `name` and `price` are required. A row sets only the columns the file
//! has and leaves a product's other fields as they are, so importing the
//! same file again changes nothing (idempotent). `barcodes` lists a
//! product's other barcodes separated by `|`; `unit` is `whole`/`件` or
//! `measured`/`称重`; `active` and `stocked` are `true`/`false`, `是`/`否`,
//! `1`/`0`.
//!
//! A row is rejected with its line number (of the file, the header is
//! line 1), a code and a reason in both languages: a bad field
//! (`Product::validate`, `validate_in`), a barcode of another product
//! (`barcode_taken`) or of an earlier row (`duplicate_barcode`), a sku
//! twice (`duplicate_sku`), a wrong number of fields.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{Categories, CategoryId, Product, ProductError};
use crate::catalogue_doc::Catalogue;
use crate::error::DomainError;
use crate::money::Money;
use crate::stock::Unit;

/// The most rows of one file.
pub const ROWS_MAX: usize = 5000;

/// The columns, each with the names a header may give it.
pub const COLUMNS: &[(Column, &[&str])] = &[
    (Column::Sku, &["sku", "编码", "商品编码"]),
    (Column::Name, &["name", "名称", "商品名称", "品名"]),
    (Column::Price, &["price", "价格", "售价", "零售价"]),
    (Column::Barcode, &["barcode", "条码", "主条码"]),
    (Column::Barcodes, &["barcodes", "其他条码", "副条码"]),
    (Column::Unit, &["unit", "计量方式"]),
    (Column::UnitLabel, &["unit_label", "单位"]),
    (Column::MemberPrice, &["member_price", "会员价"]),
    (Column::Multiplier, &["points_multiplier", "积分倍数"]),
    (Column::Active, &["active", "在售"]),
    (Column::Category, &["category", "分类"]),
    (Column::Stocked, &["stocked", "管理库存"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Sku,
    Name,
    Price,
    Barcode,
    Barcodes,
    Unit,
    UnitLabel,
    MemberPrice,
    Multiplier,
    Active,
    Category,
    Stocked,
}

/// Why a file, or one row of it, is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty or its header misses sku, name or price")]
    Header,
    #[error("unknown column {0:?}")]
    UnknownColumn(String),
    #[error("more than {ROWS_MAX} rows")]
    Rows,
    #[error("a quoted field is not closed")]
    Quote,
    #[error("{found} fields, the header has {expected}")]
    Fields { found: usize, expected: usize },
    #[error("{column}: {value:?} is not a valid value")]
    Value { column: &'static str, value: String },
    #[error("sku {sku} is on line {first} already")]
    DuplicateSku { sku: String, first: usize },
    #[error("barcode {barcode} is on line {first} already")]
    DuplicateBarcode { barcode: String, first: usize },
    #[error(transparent)]
    Product(#[from] ProductError),
}

impl DomainError for ImportError {
    fn code(&self) -> &'static str {
        match self {
            ImportError::Header | ImportError::UnknownColumn(_) => "invalid_csv_header",
            ImportError::Rows => "too_many_rows",
            ImportError::Quote | ImportError::Fields { .. } => "invalid_csv",
            ImportError::Value { .. } => "invalid_value",
            ImportError::DuplicateSku { .. } => "duplicate_sku",
            ImportError::DuplicateBarcode { .. } => "duplicate_barcode",
            ImportError::Product(e) => e.code(),
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ImportError::Header => "文件为空，或表头缺少编码、名称或价格".into(),
            ImportError::UnknownColumn(c) => format!("未知列 {c:?}"),
            ImportError::Rows => format!("行数超过 {ROWS_MAX}"),
            ImportError::Quote => "引号内的字段没有结束".into(),
            ImportError::Fields { found, expected } => {
                format!("有 {found} 个字段，表头有 {expected} 个")
            }
            ImportError::Value { column, value } => format!("{column}：{value:?} 不是有效的值"),
            ImportError::DuplicateSku { sku, first } => format!("编码 {sku} 已在第 {first} 行"),
            ImportError::DuplicateBarcode { barcode, first } => {
                format!("条码 {barcode} 已在第 {first} 行")
            }
            ImportError::Product(e) => e.message_zh(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            ImportError::Product(e) => e.details(),
            ImportError::DuplicateBarcode { barcode, first } => {
                vec![
                    ("barcode", barcode.clone()),
                    ("first_line", first.to_string()),
                ]
            }
            ImportError::DuplicateSku { sku, first } => {
                vec![("sku", sku.clone()), ("first_line", first.to_string())]
            }
            ImportError::Value { column, .. } => vec![("column", (*column).to_string())],
            _ => Vec::new(),
        }
    }
}

/// What an import would do: the products it puts (each whole, as it would
/// be), and every row it rejects with its line number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub products: Vec<(usize, Product)>,
    pub rejected: Vec<(usize, ImportError)>,
}

fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
    crate::csv::records(text, ROWS_MAX).map_err(|e| match e {
        crate::csv::CsvError::Rows => ImportError::Rows,
        crate::csv::CsvError::Quote => ImportError::Quote,
    })
}

fn flag(column: &'static str, v: &str) -> Result<bool, ImportError> {
    match v {
        "true" | "1" | "是" | "yes" => Ok(true),
        "false" | "0" | "否" | "no" => Ok(false),
        _ => Err(value(column, v)),
    }
}

fn value(column: &'static str, v: &str) -> ImportError {
    // A hostile value is not echoed whole.
    ImportError::Value {
        column,
        value: crate::csv::cut(v),
    }
}

fn money(
    column: &'static str,
    v: &str,
    bad: impl Fn() -> ProductError,
) -> Result<Money, ImportError> {
    let _ = column;
    Money::parse_amount(v, false).map_err(|_| bad().into())
}

/// The product a row makes of `base` (the product as it is, or a new one).
fn row(
    columns: &[Column],
    cells: &[String],
    base: Option<&Product>,
    sku: &str,
) -> Result<Product, ImportError> {
    let mut p = base
        .cloned()
        .unwrap_or_else(|| Product::new(sku, None, "", Money::ZERO));
    for (c, raw) in columns.iter().zip(cells) {
        let v = raw.trim();
        let keep = matches!(c, Column::Unit | Column::Active | Column::Stocked);
        if keep && v.is_empty() {
            continue;
        }
        match c {
            Column::Sku => {}
            Column::Name => p.name = v.to_string(),
            Column::Price => p.price = money("price", v, || ProductError::Price)?,
            Column::Barcode => p.barcode = (!v.is_empty()).then(|| v.to_string()),
            Column::Barcodes => {
                p.barcodes = v
                    .split('|')
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .map(Into::into)
                    .collect();
            }
            Column::Unit => {
                p.unit = match v {
                    "whole" | "件" | "计件" => Unit::Whole,
                    "measured" | "称重" => Unit::Measured,
                    _ => return Err(value("unit", v)),
                }
            }
            Column::UnitLabel => p.unit_label = v.to_string(),
            Column::MemberPrice => {
                p.member_price = if v.is_empty() {
                    None
                } else {
                    Some(money("member_price", v, || ProductError::MemberPrice)?)
                }
            }
            Column::Multiplier => {
                p.points_multiplier = if v.is_empty() {
                    Decimal::ONE
                } else {
                    v.parse::<Decimal>()
                        .map_err(|_| ProductError::PointsMultiplier)?
                        .normalize()
                }
            }
            Column::Active => p.active = flag("active", v)?,
            Column::Stocked => p.stocked = flag("stocked", v)?,
            Column::Category => {
                p.category = (!v.is_empty()).then(|| CategoryId(v.to_string()));
            }
        }
    }
    Ok(p)
}

/// Parse `text` and check every row against `current` and `cats`. The
/// error is the file's (its header, its size, a quote not closed); a
/// row's is in `Plan::rejected`.
pub fn plan(text: &str, current: &Catalogue, cats: &Categories) -> Result<Plan, ImportError> {
    let mut recs = records(text)?.into_iter();
    let (_, header) = recs.next().ok_or(ImportError::Header)?;
    let columns = crate::csv::columns(&header, COLUMNS).map_err(|e| match e {
        crate::csv::HeaderError::Unknown(c) => ImportError::UnknownColumn(c),
        crate::csv::HeaderError::Repeated => ImportError::Header,
    })?;
    let sku_at = columns.iter().position(|c| *c == Column::Sku);
    let has = |c: Column| columns.contains(&c);
    let Some(sku_at) = sku_at.filter(|_| has(Column::Name) && has(Column::Price)) else {
        return Err(ImportError::Header);
    };
    let mut out = Plan::default();
    let mut skus: BTreeMap<String, usize> = BTreeMap::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for (line, cells) in recs {
        let checked = (|| {
            if cells.len() != columns.len() {
                return Err(ImportError::Fields {
                    found: cells.len(),
                    expected: columns.len(),
                });
            }
            let sku = cells[sku_at].trim();
            super::validate_sku(sku)?;
            if let Some(first) = skus.get(sku) {
                return Err(ImportError::DuplicateSku {
                    sku: sku.into(),
                    first: *first,
                });
            }
            let p = row(&columns, &cells, current.get(sku), sku)?;
            p.validate()?;
            p.validate_in(cats)?;
            for b in p.all_barcodes() {
                if let Some(first) = codes.get(b) {
                    return Err(ImportError::DuplicateBarcode {
                        barcode: b.clone(),
                        first: *first,
                    });
                }
                let other = current
                    .values()
                    .any(|o| o.sku != p.sku && o.all_barcodes().any(|x| x == b));
                if other {
                    return Err(ProductError::BarcodeTaken(b.clone()).into());
                }
            }
            Ok(p)
        })();
        match checked {
            Ok(p) => {
                skus.insert(p.sku.clone(), line);
                for b in p.all_barcodes() {
                    codes.insert(b.clone(), line);
                }
                out.products.push((line, p));
            }
            Err(e) => out.rejected.push((line, e)),
        }
    }
    if out.products.len() + out.rejected.len() > ROWS_MAX {
        return Err(ImportError::Rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Category, sample_catalogue};

    fn current() -> Catalogue {
        sample_catalogue()
            .into_iter()
            .map(|p| (p.sku.clone(), p))
            .collect()
    }

    fn cats() -> Categories {
        let c = Category {
            id: CategoryId("fruit".into()),
            name: "水果".into(),
            parent: None,
            attributes: vec!["产地".into()],
        };
        [(c.id.clone(), c)].into_iter().collect()
    }

    #[test]
    fn chinese_headers_quotes_and_every_rejected_row_with_its_line() {
        let csv = "\u{feff}编码,名称,价格,条码,其他条码,会员价,积分倍数,分类,计量方式,单位\n\
            apple,\"红富士, 苹果\",12.50,6900000000101,6900000000118|6900000000125,9.90,2,fruit,称重,kg\n\
            bad sku,x,1,,,,,,,\n\
            pear,梨,-1,,,,,,,\n\
            kiwi,猕猴桃,3,6900000000118,,,,,,\n\
            thief,贼,3,6901234567892,,,,,,\n\
            \n\
            plum,李子,3,,,,11,,,\n\
            fig,无花果,3,,,,,nope,,\n\
            ctl,a\u{7}b,3,,,,,,,\n\
            huge,大,99999999999,,,,,,,\n\
            apple,again,1,,,,,,,\n\
            short,1\n";
        let plan = plan(csv, &current(), &cats()).unwrap();
        assert_eq!(plan.products.len(), 1);
        let (line, apple) = &plan.products[0];
        assert_eq!(*line, 2);
        assert_eq!(apple.name, "红富士, 苹果");
        assert_eq!(apple.unit, Unit::Measured);
        assert_eq!(apple.points_multiplier, Decimal::from(2));
        assert_eq!(apple.barcodes.len(), 2);
        let codes: Vec<(usize, &str)> = plan.rejected.iter().map(|(l, e)| (*l, e.code())).collect();
        assert_eq!(
            codes,
            vec![
                (3, "invalid_sku"),
                (4, "invalid_amount"),
                (5, "duplicate_barcode"),
                (6, "barcode_taken"),
                (8, "invalid_points_multiplier"),
                (9, "unknown_category"),
                (10, "invalid_name"),
                (11, "invalid_amount"),
                (12, "duplicate_sku"),
                (13, "invalid_csv"),
            ]
        );
        for (_, e) in &plan.rejected {
            assert!(!e.message_zh().is_empty() && !e.to_string().is_empty());
        }
    }

    #[test]
    fn a_row_keeps_the_fields_the_file_does_not_have() {
        let mut cur = current();
        cur.get_mut("latte").unwrap().member_price = Some(Money::from_fen(3000));
        let plan = plan("sku,name,price\nlatte,拿铁,33\n", &cur, &cats()).unwrap();
        let p = &plan.products[0].1;
        assert_eq!(p.member_price, Some(Money::from_fen(3000)));
        assert_eq!(p.barcode.as_deref(), Some("6901234567908"));
        assert_eq!(p.price, Money::from_fen(3300));
    }

    #[test]
    fn bad_files_are_refused_whole() {
        let c = current();
        assert_eq!(plan("", &c, &cats()), Err(ImportError::Header));
        assert_eq!(plan("sku,name\n", &c, &cats()), Err(ImportError::Header));
        assert!(matches!(
            plan("sku,name,price,colour\n", &c, &cats()),
            Err(ImportError::UnknownColumn(_))
        ));
        assert_eq!(
            plan("sku,name,price\na,\"b,1\n", &c, &cats()),
            Err(ImportError::Quote)
        );
        let many = format!("sku,name,price\n{}", "a,b,1\n".repeat(ROWS_MAX + 2));
        assert_eq!(plan(&many, &c, &cats()), Err(ImportError::Rows));
    }
}
