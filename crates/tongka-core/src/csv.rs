//! The CSV reader both imports share (products: `catalogue::import`;
//! opening stock: `stock::import`), pure: a file as the records of its
//! rows with their line numbers, and a header matched against an
//! import's column names (English or Chinese). What a row means is each
//! import's own.
//!
//! The file: UTF-8 (a BOM is skipped), comma-separated, `"` quotes a field
//! (`""` inside one is a quote, a quoted field may hold a line break), CRLF
//! or LF line ends, blank lines skipped. A line number is of the file (the
//! header is line 1), so a row holding a quoted line break moves the next
//! row's number on by two, as a spreadsheet shows it.

/// Why a file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvError {
    /// More than the import's rows (the header not counted).
    Rows,
    /// A quoted field not closed before the end of the file.
    Quote,
}

/// Why a header row does not fit an import's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// A column no name of the import's is (the name cut to 40 characters:
    /// it is the client's text).
    Unknown(String),
    /// A column named twice (by any of its names).
    Repeated,
}

/// The records of `text`, each with the line it starts on (1-based), the
/// header included; refused with [`CsvError::Rows`] as soon as it holds
/// more than `rows_max` rows after the header, so a huge file is not read
/// whole into records.
pub fn records(text: &str, rows_max: usize) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let start = line;
        let mut fields = vec![String::new()];
        let mut quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(CsvError::Quote);
                }
                break;
            };
            let f = fields.last_mut().expect("one field at least");
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    f.push('"');
                }
                '"' if quoted => quoted = false,
                '"' if f.is_empty() => quoted = true,
                ',' if !quoted => fields.push(String::new()),
                '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                '\n' if !quoted => {
                    line += 1;
                    break;
                }
                '\n' => {
                    line += 1;
                    f.push(c);
                }
                _ => f.push(c),
            }
        }
        if !(fields.len() == 1 && fields[0].trim().is_empty()) {
            out.push((start, fields));
        }
        if out.len() > rows_max + 1 {
            return Err(CsvError::Rows);
        }
    }
    Ok(out)
}

/// The column each cell of `header` names, by `table` (each column with
/// the names a header may give it, compared ignoring ASCII case and the
/// spaces around).
pub fn columns<C: Copy + PartialEq>(
    header: &[String],
    table: &[(C, &[&str])],
) -> Result<Vec<C>, HeaderError> {
    let mut out = Vec::with_capacity(header.len());
    for h in header {
        let h = h.trim();
        let c = table
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
            .map(|(c, _)| *c)
            .ok_or_else(|| HeaderError::Unknown(cut(h)))?;
        if out.contains(&c) {
            return Err(HeaderError::Repeated);
        }
        out.push(c);
    }
    Ok(out)
}

/// A client's value as quoted back in a reason: its first 40 characters.
pub fn cut(v: &str) -> String {
    v.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_bom_crlf_blank_lines_and_line_numbers() {
        let text = "\u{feff}a,b\r\n\"x, \"\"y\"\"\",\"two\nlines\"\r\n\n3,4\n";
        let r = records(text, 10).unwrap();
        assert_eq!(
            r,
            vec![
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["x, \"y\"".into(), "two\nlines".into()]),
                (5, vec!["3".into(), "4".into()]),
            ]
        );
        assert_eq!(records("a\n\"b\n", 10), Err(CsvError::Quote));
        assert_eq!(records("a\n1\n2\n3\n", 2), Err(CsvError::Rows));
        assert_eq!(records("a\n1\n2\n", 2).unwrap().len(), 3);
    }

    #[test]
    fn header_names_in_either_language_once_each() {
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum C {
            Sku,
            Qty,
        }
        let table: &[(C, &[&str])] = &[(C::Sku, &["sku", "编码"]), (C::Qty, &["qty", "数量"])];
        let h = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            columns(&h(&[" SKU", "数量"]), table),
            Ok(vec![C::Sku, C::Qty])
        );
        assert_eq!(
            columns(&h(&["sku", "编码"]), table),
            Err(HeaderError::Repeated)
        );
        assert_eq!(
            columns(&h(&["sku", "colour"]), table),
            Err(HeaderError::Unknown("colour".into()))
        );
    }
}
