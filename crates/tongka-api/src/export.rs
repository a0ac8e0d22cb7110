//! Reports as files: every `GET /reports/…` answers JSON, CSV or Excel
//! (`format=json|csv|xlsx`), with Chinese headers by default (`lang=zh|en`).
//!
//! One shape for all: a report's view is turned into a [`Table`] (columns
//! with a Chinese and an English header and a cell type; rows of cells) by
//! the report's own [`Exportable::table`], and one renderer per format
//! writes any table: [`csv`] here, [`xlsx::render`] in `export/xlsx.rs`.
//!
//! **Adding a report** (the plug-in point): give its view `impl Exportable`
//! (a `table` built from the view, so the file says what the JSON says),
//! let its query parser accept [`PARAMS`] (`reports::parse` does, for every
//! report it parses), and answer with [`answer`] instead of `json_answer`.
//! Nothing here changes; the file name, headers, sheet, quoting and money
//! come with it. `reports/tables.rs` holds the five first reports' tables.
//!
//! CSV: UTF-8 with a byte order mark (Excel then reads the Chinese right),
//! RFC 4180 quoting, CRLF line ends. A text cell whose first character
//! would make a spreadsheet read it as a formula (`=`, `+`, `-`, `@`, tab,
//! carriage return) gets a leading `'` (OWASP "CSV injection"); numbers,
//! money and dates are written as they are (`-5.00` stays `-5.00`): they
//! are ours, never a client's text.
//!
//! The .xlsx has a second sheet, how fresh the figures are (数据截至 / As
//! of): per store whose ops the node holds, how many and when the newest
//! was made, as the JSON's `freshness`.
//!
//! Money in .xlsx (decided once, here): a number cell with the format
//! `0.00`, so Excel sums and sorts it. The number written is the `f64`
//! nearest to the amount (its decimal text parsed). Excel shows 15
//! significant digits, and any decimal of at most 15 significant digits
//! survives the round trip through the nearest `f64`, so every amount
//! below 10¹³ yuan (10¹⁵ fen) is shown and read back to the fen. A larger
//! one is written as its decimal text rather than lose a fen (none is
//! expected: one amount is at most 10⁷ yuan, and a chain's sums stay far
//! below 10¹³).

pub(crate) mod xlsx;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tongka_core::day::Day;
use tongka_core::money::Money;

use crate::{ApiError, json_answer};

/// The query parameters every exportable report takes besides its own.
pub(crate) const PARAMS: [&str; 2] = ["format", "lang"];

/// Money cells below this many fen are number cells in .xlsx (15
/// significant digits: what Excel shows); larger ones are text.
pub(crate) const XLSX_MONEY_FEN_MAX: i64 = 1_000_000_000_000_000;

pub(crate) const CSV_TYPE: &str = "text/csv; charset=utf-8";
pub(crate) const XLSX_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A report as a file, for the API document: (schema name, schema).
macro_rules! file_schema {
    ($name:ident, $json:literal) => {
        #[doc = concat!("The `", stringify!($name), "` schema: a report as a file.")]
        pub(crate) struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                serde_json::from_str($json).expect("a schema given as JSON parses")
            }
        }
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}
file_schema!(
    CsvFile,
    r##"{"type": "string", "description": "The report's table as CSV: UTF-8 with a BOM, CRLF, RFC 4180 quoting; a header row in the language asked (报表 CSV)."}"##
);
file_schema!(
    XlsxFile,
    r##"{"type": "string", "format": "binary", "description": "The report's table as an Excel workbook: one sheet, header row bold and frozen, money as numbers shown 0.00 (报表 Excel)."}"##
);

/// What a column holds: it decides how a cell is written (and, in .xlsx,
/// its number format and width).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Integer,
    Money,
    Date,
}

/// One column: its header in each language, and what it holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub zh: &'static str,
    pub en: &'static str,
    pub kind: Kind,
}

impl Column {
    pub const fn new(zh: &'static str, en: &'static str, kind: Kind) -> Column {
        Column { zh, en, kind }
    }

    fn header(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }
}

/// One cell. Text is whatever a report holds (a store's name, one day a
/// member's or product's name: a client's text, hence the CSV guard);
/// a label is our own word in both languages (a totals row's "合计").
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    Text(String),
    Label { zh: &'static str, en: &'static str },
    Int(i64),
    Money(Money),
    Date(Day),
}

impl Cell {
    /// The cell as text: what CSV writes (before quoting) and what .xlsx
    /// writes for a text cell.
    fn text(&self, lang: Lang) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => guard(s),
            Cell::Label { zh, en } => guard(match lang {
                Lang::Zh => zh,
                Lang::En => en,
            }),
            Cell::Int(n) => n.to_string(),
            Cell::Money(m) => m.to_string(),
            Cell::Date(d) => d.to_string(),
        }
    }
}

/// A report as a table: what every renderer writes.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// The file's name stem, ASCII (`sales`).
    pub name: &'static str,
    /// The sheet's name (at most 31 characters, none of `[]:*?/\`), and
    /// the Chinese file name's stem.
    pub title_zh: &'static str,
    pub title_en: &'static str,
    /// What the file name says after the name: the days covered, say
    /// (`["2026-12-01", "2026-12-06"]`); ASCII.
    pub suffix: Vec<String>,
    pub columns: Vec<Column>,
    /// Each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
    /// How fresh the figures are: per origin held, the ops held and when
    /// the newest was made (the JSON's `freshness.newest`). The .xlsx has
    /// it as a second sheet; CSV holds one table only, the report's.
    pub freshness: Vec<Source>,
}

/// One origin's ops a report holds: (store, ops held, newest op's time).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Source {
    pub store: String,
    pub seq: u64,
    /// RFC 3339, UTC.
    pub at: String,
}

impl Table {
    /// Every row as long as the header, and each cell of its column's
    /// kind (empty anywhere; a label in a text column): checked in debug
    /// builds before a table is written, so a new report's table function
    /// that mixes them up fails its first test.
    pub fn fits(&self) -> bool {
        self.rows.iter().all(|row| {
            row.len() == self.columns.len()
                && row.iter().zip(&self.columns).all(|(cell, col)| {
                    matches!(
                        (cell, col.kind),
                        (Cell::Empty, _)
                            | (Cell::Text(_) | Cell::Label { .. }, Kind::Text)
                            | (Cell::Int(_), Kind::Integer)
                            | (Cell::Money(_), Kind::Money)
                            | (Cell::Date(_), Kind::Date)
                    )
                })
        })
    }

    fn title(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.title_zh,
            Lang::En => self.title_en,
        }
    }

    /// `sales_2026-12-01_2026-12-06.csv`, or with the title in place of
    /// the name.
    fn file_name(&self, stem: &str, ext: &str) -> String {
        let mut s = stem.to_string();
        for part in &self.suffix {
            s.push('_');
            s.push_str(part);
        }
        s.push('.');
        s.push_str(ext);
        s
    }
}

/// A report that can be answered as a file.
pub(crate) trait Exportable: Serialize {
    /// The report as a table: the JSON's figures, one row per row.
    fn table(&self) -> Table;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Format {
    #[default]
    Json,
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(v: &str) -> Option<Format> {
        match v {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(v: &str) -> Option<Lang> {
        match v {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// What was asked of an export: the format and the headers' language.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Export {
    pub format: Format,
    pub lang: Lang,
}

/// The answer to a report: its JSON, or its table as a file to download.
pub(crate) fn answer(asked: Export, view: &impl Exportable) -> Response {
    let (body, content_type, ext, table) = match asked.format {
        Format::Json => return json_answer(StatusCode::OK, view),
        Format::Csv => {
            let table = view.table();
            debug_assert!(table.fits(), "{table:?}");
            (csv(&table, asked.lang), CSV_TYPE, "csv", table)
        }
        Format::Xlsx => {
            let table = view.table();
            debug_assert!(table.fits(), "{table:?}");
            match xlsx::render(&table, asked.lang) {
                Ok(b) => (b, XLSX_TYPE, "xlsx", table),
                Err(e) => {
                    return ApiError::from(tongka_actors::EngineError::Internal(format!(
                        "writing the .xlsx: {e}"
                    )))
                    .into_response();
                }
            }
        }
    };
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        table.file_name(table.name, ext),
        percent(&table.file_name(table.title(asked.lang), ext)),
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or_else(|_| {
                    // Unreachable: the name is ASCII and the rest
                    // percent-encoded.
                    HeaderValue::from_static("attachment")
                }),
            ),
        ],
        body,
    )
        .into_response()
}

/// RFC 5987 `value-chars`: attr-chars as they are, every other byte of the
/// UTF-8 as `%XX`.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A text cell a spreadsheet would take for a formula gets a leading `'`.
fn guard(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// RFC 4180: a field holding a comma, a quote or a line end is quoted, its
/// quotes doubled.
fn quote(s: &str, out: &mut String) {
    if s.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The table as CSV: BOM, header row, one line per row, CRLF.
pub(crate) fn csv(table: &Table, lang: Lang) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let mut line = |cells: &mut dyn Iterator<Item = String>| {
        for (i, c) in cells.enumerate() {
            if i > 0 {
                out.push(',');
            }
            quote(&c, &mut out);
        }
        out.push_str("\r\n");
    };
    line(&mut table.columns.iter().map(|c| c.header(lang).to_string()));
    for row in &table.rows {
        line(&mut row.iter().map(|c| c.text(lang)));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: Vec<Vec<Cell>>) -> Table {
        Table {
            name: "t",
            title_zh: "测试",
            title_en: "Test",
            suffix: vec!["2026-12-01".into()],
            freshness: vec![],
            columns: vec![
                Column::new("名称", "Name", Kind::Text),
                Column::new("金额", "Amount", Kind::Money),
                Column::new("笔数", "Count", Kind::Integer),
            ],
            rows,
        }
    }

    #[test]
    fn csv_has_a_bom_crlf_quotes_and_guards_formulas_not_numbers() {
        let t = table(vec![
            vec![
                Cell::Text("=HYPERLINK(\"http://x\",\"y\")".into()),
                Cell::Money(Money::from_fen(-500)),
                Cell::Int(-3),
            ],
            vec![
                Cell::Text("+1".into()),
                Cell::Money(Money::from_fen(12345)),
                Cell::Int(0),
            ],
            vec![Cell::Text("-2".into()), Cell::Empty, Cell::Empty],
            vec![Cell::Text("@SUM(A1)".into()), Cell::Empty, Cell::Empty],
            vec![Cell::Text("\tx".into()), Cell::Empty, Cell::Empty],
            vec![Cell::Text("\ry".into()), Cell::Empty, Cell::Empty],
            vec![Cell::Text("甲,乙\n丙".into()), Cell::Empty, Cell::Empty],
            vec![
                Cell::Label {
                    zh: "合计",
                    en: "Total",
                },
                Cell::Empty,
                Cell::Empty,
            ],
        ]);
        let zh = String::from_utf8(csv(&t, Lang::Zh)).unwrap();
        assert_eq!(
            zh,
            "\u{feff}名称,金额,笔数\r\n\
             \"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-5.00,-3\r\n\
             '+1,123.45,0\r\n\
             '-2,,\r\n\
             '@SUM(A1),,\r\n\
             '\tx,,\r\n\
             \"'\ry\",,\r\n\
             \"甲,乙\n丙\",,\r\n\
             合计,,\r\n"
        );
        let en = String::from_utf8(csv(&t, Lang::En)).unwrap();
        assert!(en.starts_with("\u{feff}Name,Amount,Count\r\n"), "{en}");
        assert!(en.ends_with("Total,,\r\n"), "{en}");
    }

    #[test]
    fn file_names_are_ascii_with_the_title_percent_encoded() {
        let t = table(vec![]);
        assert_eq!(t.file_name(t.name, "csv"), "t_2026-12-01.csv");
        assert_eq!(
            percent(&t.file_name(t.title_zh, "xlsx")),
            "%E6%B5%8B%E8%AF%95_2026-12-01.xlsx"
        );
    }

    #[test]
    fn money_up_to_the_bound_survives_f64_and_15_digits() {
        // The largest amount written as a number, and a few awkward ones:
        // the f64 written, shown to the fen, is the amount again.
        for fen in [
            XLSX_MONEY_FEN_MAX - 1,
            -(XLSX_MONEY_FEN_MAX - 1),
            1,
            -1,
            10,
            999_999_999_999_999,
            123_456_789_012_345,
            1_000_000_000 + 7,
        ] {
            let x = xlsx::money_number(fen).unwrap();
            assert_eq!(format!("{x:.2}"), Money::from_fen(fen).to_string());
        }
        assert_eq!(xlsx::money_number(XLSX_MONEY_FEN_MAX), None);
    }
}
