//! Member import from another system (会员导入), pure: a CSV file read by
//! the shared reader (`crate::csv`), each row checked, and the plan of
//! what a real run makes: one registration with its opening balances per
//! member (`OpBody::MemberRegistered` with `op::Opening`), in chunks of
//! [`CHUNK_ROWS`] rows committed together. The API answers a dry run with
//! [`plan`]'s rejected rows, refuses a real run that has any, and otherwise
//! makes the chunks, each under an idempotency key of the file's hash and
//! the chunk's number (so a chunk is a fixed run of the file's rows: the
//! same file gives the same chunks).
//!
//! Columns ([`COLUMNS`], English or Chinese): `phone` (手机号) and `name`
//! (姓名) required; `birthday` (生日), `card_no` (卡号), `principal` (本金),
//! `bonus` (赠送金额), `points` (积分) and `level` (等级) optional. A row is
//! rejected with its line number, a code and a reason in both languages:
//! - a cell holding a control or invisible character (`invalid_text`);
//! - a phone not a mainland mobile number (`invalid_phone`), one on an
//!   earlier row (`duplicate_phone`) or already a member's (`phone_taken`);
//! - a card number not 4 to 32 letters or digits (`invalid_card_no`), one
//!   on an earlier row (`duplicate_card_no`) or already a member's
//!   (`card_taken`);
//! - a name empty or too long (`invalid_name`), a birthday not a date
//!   (`invalid_birthday`: `YYYY-MM-DD`, or `YYYY/M/D` as spreadsheets
//!   write it);
//! - an amount negative, of more than two decimals, not a number or over
//!   the maximum (`invalid_amount`, with its column);
//! - points not a whole number from 0 to [`POINTS_MAX`] (`invalid_points`);
//! - a level no level of the programme is, by code or by either name
//!   (`unknown_level`);
//! - a wrong number of fields (`invalid_csv`).
//!
//! The level rule: a member's level is the programme's, by cumulative
//! principal (`Programme::level_for`). An imported level is kept by
//! starting the member's cumulative principal at the level's threshold
//! (`Opening::counted`: the opening principal, or the threshold if
//! higher), so the member is at least at that level now and recharges
//! count on from there; a level left blank is what the opening principal
//! reaches. Like every member's, it follows the programme if HQ later
//! moves the thresholds.
//!
//! Rows of a chunk already made by the same file (a re-run, or a run after
//! one that stopped halfway) are checked as the file, not against the
//! index: their phones and cards are their own members' now.

use std::collections::HashMap;

use crate::csv::{self, CsvError, HeaderError};
use crate::error::DomainError;
use crate::member::{self, Profile, ProfileError};
use crate::money::{AmountError, Money};
use crate::op::Opening;
use crate::programme::Programme;
use crate::text::{self, TextError};

/// The most rows of one file.
pub const ROWS_MAX: usize = 100_000;
/// The largest file (bytes): 100,000 rows of about 160 bytes.
pub const FILE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Rows committed together (one writer transaction, one idempotency key).
pub const CHUNK_ROWS: usize = 2_000;
/// The most points one member may bring.
pub const POINTS_MAX: i64 = 1_000_000_000;

/// The columns, each with the names a header may give it.
pub const COLUMNS: &[(Column, &[&str])] = &[
    (
        Column::Phone,
        &["phone", "mobile", "手机号", "手机", "手机号码"],
    ),
    (Column::Name, &["name", "姓名", "会员姓名"]),
    (Column::Birthday, &["birthday", "生日", "出生日期"]),
    (
        Column::CardNo,
        &["card_no", "card", "card_number", "卡号", "会员卡号"],
    ),
    (
        Column::Principal,
        &["principal", "balance", "本金", "余额", "储值余额"],
    ),
    (Column::Bonus, &["bonus", "赠送金额", "赠送", "赠送余额"]),
    (Column::Points, &["points", "积分"]),
    (Column::Level, &["level", "等级", "会员等级"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Phone,
    Name,
    Birthday,
    CardNo,
    Principal,
    Bonus,
    Points,
    Level,
}

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Column::Phone => "phone",
            Column::Name => "name",
            Column::Birthday => "birthday",
            Column::CardNo => "card_no",
            Column::Principal => "principal",
            Column::Bonus => "bonus",
            Column::Points => "points",
            Column::Level => "level",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            Column::Phone => "手机号",
            Column::Name => "姓名",
            Column::Birthday => "生日",
            Column::CardNo => "卡号",
            Column::Principal => "本金",
            Column::Bonus => "赠送金额",
            Column::Points => "积分",
            Column::Level => "等级",
        }
    }
}

/// Why a file, or one row of it, is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberImportError {
    #[error("the file is empty, a column is named twice, or its header misses phone or name")]
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
    #[error(transparent)]
    Profile(ProfileError),
    #[error("phone number {phone} is on line {first} already")]
    DuplicatePhone { phone: String, first: usize },
    #[error("card number {card} is on line {first} already")]
    DuplicateCard { card: String, first: usize },
    #[error("phone number {0} is already a member's")]
    PhoneTaken(String),
    #[error("card number {0} is already a member's")]
    CardTaken(String),
    #[error("{} {value:?}: {reason}", column.name())]
    Amount {
        column: Column,
        value: String,
        reason: AmountError,
    },
    #[error("points {0:?} are not a whole number from 0 to {POINTS_MAX}")]
    Points(String),
    #[error("level {0:?} is no level of the programme (by code or name)")]
    UnknownLevel(String),
}

impl DomainError for MemberImportError {
    fn code(&self) -> &'static str {
        use MemberImportError as E;
        match self {
            E::Header | E::UnknownColumn(_) => "invalid_csv_header",
            E::Rows => "too_many_rows",
            E::Quote | E::Fields { .. } => "invalid_csv",
            E::Text { .. } => "invalid_text",
            E::Profile(e) => e.code(),
            E::DuplicatePhone { .. } => "duplicate_phone",
            E::DuplicateCard { .. } => "duplicate_card_no",
            E::PhoneTaken(_) => "phone_taken",
            E::CardTaken(_) => "card_taken",
            E::Amount { .. } => "invalid_amount",
            E::Points(_) => "invalid_points",
            E::UnknownLevel(_) => "unknown_level",
        }
    }

    fn message_zh(&self) -> String {
        use MemberImportError as E;
        match self {
            E::Header => "文件为空、列名重复，或表头缺少手机号或姓名".into(),
            E::UnknownColumn(c) => format!("未知列 {c:?}"),
            E::Rows => format!("行数超过 {ROWS_MAX}"),
            E::Quote => "引号内的字段没有结束".into(),
            E::Fields { found, expected } => format!("有 {found} 个字段，表头有 {expected} 个"),
            E::Text { column, error } => format!("{column}：{}", error.zh()),
            E::Profile(e) => e.message_zh(),
            E::DuplicatePhone { phone, first } => {
                format!("手机号 {} 已在第 {first} 行", member::mask_phone(phone))
            }
            E::DuplicateCard { card, first } => format!("卡号 {card} 已在第 {first} 行"),
            E::PhoneTaken(p) => format!("手机号 {} 已是会员", member::mask_phone(p)),
            E::CardTaken(c) => format!("卡号 {c} 已被其他会员使用"),
            E::Amount {
                column,
                value,
                reason,
            } => format!(
                "{} {value:?} 无效（{}）",
                column.zh(),
                crate::amount_reason_zh(reason)
            ),
            E::Points(v) => format!("积分 {v:?} 应为 0 到 {POINTS_MAX} 的整数"),
            E::UnknownLevel(l) => format!("等级 {l:?} 不是会员方案中的等级（按代码或名称）"),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        use MemberImportError as E;
        match self {
            E::Text { column, error } => {
                let mut d = vec![("column", (*column).to_string())];
                d.extend(error.details());
                d
            }
            E::Profile(e) => e.details(),
            E::DuplicatePhone { first, .. } | E::DuplicateCard { first, .. } => {
                vec![("first_line", first.to_string())]
            }
            E::Amount { column, .. } => vec![("column", column.name().to_string())],
            _ => Vec::new(),
        }
    }
}

/// A row that would be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub profile: Profile,
    pub opening: Opening,
}

/// What an import would do: its rows (in file order), and every row it
/// rejects with its line number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberPlan {
    pub rows: Vec<Row>,
    pub rejected: Vec<(usize, MemberImportError)>,
    /// The chunks of the file's data rows (the `n`-th holds its rows
    /// `(n-1)·CHUNK_ROWS ..`), 1-based, that the index was not asked about
    /// (made already: `Lookups::done`).
    pub done: Vec<usize>,
}

impl MemberPlan {
    /// The chunks of a plan with no rejected row: runs of at most
    /// [`CHUNK_ROWS`] rows, numbered from 1 (a file's chunk always holds
    /// the same rows).
    pub fn chunks(&self) -> impl Iterator<Item = (usize, &[Row])> {
        self.rows
            .chunks(CHUNK_ROWS)
            .enumerate()
            .map(|(i, c)| (i + 1, c))
    }

    /// Σ of the rows' openings: principal, bonus, points.
    pub fn totals(&self) -> (Money, Money, i64) {
        self.rows
            .iter()
            .fold((Money::ZERO, Money::ZERO, 0), |acc, r| {
                (
                    acc.0 + r.opening.principal,
                    acc.1 + r.opening.bonus,
                    acc.2 + r.opening.points,
                )
            })
    }
}

/// What a plan asks of the node: whether a phone or card number is a
/// member's already, and whether the file's chunk `n` was made already.
pub trait Lookups {
    fn phone_taken(&self, phone: &str) -> bool;
    fn card_taken(&self, card: &str) -> bool;
    fn done(&self, chunk: usize) -> bool;
}

/// The chunk (1-based) of the file's data row `i` (0-based).
pub fn chunk_of(i: usize) -> usize {
    i / CHUNK_ROWS + 1
}

/// A birthday as written in a file: `YYYY-MM-DD`, or with `/` and
/// without leading zeros (`1990/3/7`), as `YYYY-MM-DD`.
fn birthday(v: &str) -> Result<String, ProfileError> {
    let parts: Vec<&str> = v.split(['-', '/']).collect();
    let norm = match parts.as_slice() {
        [y, m, d]
            if y.len() == 4
                && (1..=2).contains(&m.len())
                && (1..=2).contains(&d.len())
                && [y, m, d]
                    .iter()
                    .all(|p| p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            format!("{y}-{m:0>2}-{d:0>2}")
        }
        _ => return Err(ProfileError::Birthday(csv::cut(v))),
    };
    member::validate_birthday(&norm).map_err(|_| ProfileError::Birthday(csv::cut(v)))?;
    Ok(norm)
}

/// Parse `text` and check every row; levels are `programme`'s. The error
/// is the file's (its header, its size, a quote not closed); a row's is in
/// `MemberPlan::rejected`.
pub fn plan(
    text: &str,
    programme: &Programme,
    lookups: &dyn Lookups,
) -> Result<MemberPlan, MemberImportError> {
    let mut recs = csv::records(text, ROWS_MAX)
        .map_err(|e| match e {
            CsvError::Rows => MemberImportError::Rows,
            CsvError::Quote => MemberImportError::Quote,
        })?
        .into_iter();
    let (_, header) = recs.next().ok_or(MemberImportError::Header)?;
    let columns = csv::columns(&header, COLUMNS).map_err(|e| match e {
        HeaderError::Unknown(c) => MemberImportError::UnknownColumn(c),
        HeaderError::Repeated => MemberImportError::Header,
    })?;
    let at = |c: Column| columns.iter().position(|x| *x == c);
    let (Some(phone_at), Some(name_at)) = (at(Column::Phone), at(Column::Name)) else {
        return Err(MemberImportError::Header);
    };
    let [
        birthday_at,
        card_at,
        principal_at,
        bonus_at,
        points_at,
        level_at,
    ] = [
        Column::Birthday,
        Column::CardNo,
        Column::Principal,
        Column::Bonus,
        Column::Points,
        Column::Level,
    ]
    .map(at);
    let mut out = MemberPlan::default();
    let mut phones: HashMap<String, usize> = HashMap::new();
    let mut cards: HashMap<String, usize> = HashMap::new();
    for (i, (line, cells)) in recs.enumerate() {
        let chunk = chunk_of(i);
        let done = lookups.done(chunk);
        if done && out.done.last() != Some(&chunk) {
            out.done.push(chunk);
        }
        let checked = (|| {
            if cells.len() != columns.len() {
                return Err(MemberImportError::Fields {
                    found: cells.len(),
                    expected: columns.len(),
                });
            }
            for (c, v) in columns.iter().zip(&cells) {
                text::check_chars(v, text::Lines::One).map_err(|error| {
                    MemberImportError::Text {
                        column: c.name(),
                        error,
                    }
                })?;
            }
            let cell = |i: Option<usize>| i.map(|i| cells[i].trim()).filter(|v| !v.is_empty());
            let phone = cells[phone_at].trim();
            member::validate_phone(phone)
                .map_err(|_| MemberImportError::Profile(ProfileError::Phone(csv::cut(phone))))?;
            if let Some(first) = phones.get(phone) {
                return Err(MemberImportError::DuplicatePhone {
                    phone: phone.to_string(),
                    first: *first,
                });
            }
            let card = cell(card_at);
            if let Some(c) = card {
                member::validate_card_no(c)
                    .map_err(|_| MemberImportError::Profile(ProfileError::CardNo(csv::cut(c))))?;
                if let Some(first) = cards.get(c) {
                    return Err(MemberImportError::DuplicateCard {
                        card: c.to_string(),
                        first: *first,
                    });
                }
            }
            if !done {
                if lookups.phone_taken(phone) {
                    return Err(MemberImportError::PhoneTaken(phone.to_string()));
                }
                if let Some(c) = card.filter(|c| lookups.card_taken(c)) {
                    return Err(MemberImportError::CardTaken(c.to_string()));
                }
            }
            let name = cells[name_at].trim();
            member::validate_name(name).map_err(MemberImportError::Profile)?;
            let birthday = cell(birthday_at)
                .map(birthday)
                .transpose()
                .map_err(MemberImportError::Profile)?;
            let amount = |col: Column, at: Option<usize>| match cell(at) {
                None => Ok(Money::ZERO),
                Some(v) => {
                    Money::parse_amount(v, false).map_err(|reason| MemberImportError::Amount {
                        column: col,
                        value: csv::cut(v),
                        reason,
                    })
                }
            };
            let principal = amount(Column::Principal, principal_at)?;
            let bonus = amount(Column::Bonus, bonus_at)?;
            let points = match cell(points_at) {
                None => 0,
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|p| (0..=POINTS_MAX).contains(p))
                    .ok_or_else(|| MemberImportError::Points(csv::cut(v)))?,
            };
            let level = match cell(level_at) {
                None => None,
                Some(v) => Some(
                    programme
                        .levels
                        .iter()
                        .find(|l| {
                            l.code.eq_ignore_ascii_case(v)
                                || l.name_zh == v
                                || l.name_en.eq_ignore_ascii_case(v)
                        })
                        .ok_or_else(|| MemberImportError::UnknownLevel(csv::cut(v)))?,
                ),
            };
            let counted = level.map_or(principal, |l| std::cmp::max(principal, l.min_principal));
            Ok(Row {
                line,
                profile: Profile {
                    phone: phone.to_string(),
                    name: name.to_string(),
                    birthday,
                    gender: None,
                    card_no: card.map(str::to_string),
                    invited_by: None,
                    tags: Vec::new(),
                    notes: String::new(),
                },
                opening: Opening {
                    principal,
                    bonus,
                    points,
                    level: level.map(|l| l.code.clone()),
                    counted,
                },
            })
        })();
        match checked {
            Ok(r) => {
                phones.insert(r.profile.phone.clone(), line);
                if let Some(c) = &r.profile.card_no {
                    cards.insert(c.clone(), line);
                }
                out.rows.push(r);
            }
            Err(e) => out.rejected.push((line, e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
