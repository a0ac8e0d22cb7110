//! A [`Table`] as an .xlsx workbook (`rust_xlsxwriter`): a sheet named
//! after the report, then one of how fresh its figures are; in each the header row bold and frozen, columns as wide as
//! their widest cell (a CJK character counts two), money as numbers with
//! the format `0.00` (why that is exact: the module doc of `export`),
//! integers with `0`, days as Excel dates shown `yyyy-mm-dd`.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use tongka_core::money::Money;

use super::{Cell, Kind, Lang, Table, XLSX_MONEY_FEN_MAX};

/// The second sheet: how fresh the figures are.
pub(crate) const FRESH_ZH: &str = "数据截至";
pub(crate) const FRESH_EN: &str = "As of";
const FRESH_HEADERS: [(&str, &str); 3] = [
    ("门店", "Store"),
    ("已收操作数", "Ops held"),
    ("最新操作时间（UTC）", "Newest op at (UTC)"),
];

/// The widest a column is made, in characters.
const WIDTH_MAX: usize = 40;

/// The number written for an amount of `fen`, or `None` when it is too
/// large to be shown to the fen (then it is written as text). Parsing the
/// decimal text gives the `f64` nearest to it (Rust's float parsing is
/// correctly rounded), with no float arithmetic in between.
pub(crate) fn money_number(fen: i64) -> Option<f64> {
    (fen.unsigned_abs() < XLSX_MONEY_FEN_MAX as u64)
        .then(|| Money::from_fen(fen).to_string().parse::<f64>().ok())
        .flatten()
}

/// Display width: CJK and other wide characters count two.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

pub(crate) fn render(table: &Table, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let head = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let integer = Format::new().set_num_format("0");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let text = Format::new();
    let sheet = book.add_worksheet();
    sheet.set_name(table.title(lang))?;
    let mut widths: Vec<usize> = Vec::with_capacity(table.columns.len());
    for (c, col) in table.columns.iter().enumerate() {
        let h = col.header(lang);
        sheet.write_string_with_format(0, c as u16, h, &head)?;
        widths.push(width(h).max(match col.kind {
            Kind::Date => 10,
            _ => 4,
        }));
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let ci = c as u16;
            let shown = match cell {
                Cell::Empty => continue,
                Cell::Int(n) => {
                    sheet.write_number_with_format(r, ci, *n as f64, &integer)?;
                    n.to_string()
                }
                Cell::Money(m) => {
                    let s = m.to_string();
                    match money_number(m.fen()) {
                        Some(x) => sheet.write_number_with_format(r, ci, x, &money)?,
                        None => sheet.write_string_with_format(r, ci, &s, &text)?,
                    };
                    s
                }
                Cell::Date(d) => {
                    let (y, m, dd) = d.ymd();
                    let when = ExcelDateTime::from_ymd(y as u16, m as u8, dd as u8)?;
                    sheet.write_datetime_with_format(r, ci, &when, &date)?;
                    d.to_string()
                }
                // No formula guard here: a string cell is never a formula
                // in .xlsx (formulas are their own cell type).
                Cell::Text(s) => {
                    sheet.write_string_with_format(r, ci, s, &text)?;
                    s.clone()
                }
                Cell::Label { zh, en } => {
                    let s = match lang {
                        Lang::Zh => *zh,
                        Lang::En => *en,
                    };
                    sheet.write_string_with_format(r, ci, s, &text)?;
                    s.to_string()
                }
            };
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(width(&shown));
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, (w + 2).min(WIDTH_MAX) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let fresh = book.add_worksheet();
    fresh.set_name(match lang {
        Lang::Zh => FRESH_ZH,
        Lang::En => FRESH_EN,
    })?;
    for (c, (zh, en)) in FRESH_HEADERS.iter().enumerate() {
        let h = match lang {
            Lang::Zh => zh,
            Lang::En => en,
        };
        fresh.write_string_with_format(0, c as u16, *h, &head)?;
    }
    for (r, s) in table.freshness.iter().enumerate() {
        let r = r as u32 + 1;
        fresh.write_string_with_format(r, 0, &s.store, &text)?;
        fresh.write_number_with_format(r, 1, s.seq as f64, &integer)?;
        fresh.write_string_with_format(r, 2, &s.at, &text)?;
    }
    for (c, w) in [16, 12, 28].into_iter().enumerate() {
        fresh.set_column_width(c as u16, w)?;
    }
    fresh.set_freeze_panes(1, 0)?;
    book.save_to_buffer()
}
