//! Member profiles: the fields, their validation, and phone masking.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::text::{self, Lines, TextError};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
#[cbor(index_only)]
pub enum Gender {
    #[n(0)]
    Female,
    #[n(1)]
    Male,
    #[n(2)]
    Other,
}

/// What a member is: contact and card fields. Validated on the way in.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Profile {
    #[n(0)]
    pub phone: String,
    #[n(1)]
    pub name: String,
    #[n(2)]
    pub birthday: Option<String>,
    #[n(3)]
    pub gender: Option<Gender>,
    #[n(4)]
    pub card_no: Option<String>,
    /// The invite code of the member who referred this one, if any.
    #[n(5)]
    pub invited_by: Option<String>,
    #[n(6)]
    pub tags: Vec<String>,
    #[n(7)]
    pub notes: String,
}

/// A change to a profile: only the fields present change. For the fields
/// that may be cleared, `Some(None)` clears them.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct ProfilePatch {
    #[n(0)]
    pub phone: Option<String>,
    #[n(1)]
    pub name: Option<String>,
    #[cbor(n(2), with = "crate::codec::patch", has_nil)]
    pub birthday: Option<Option<String>>,
    #[cbor(n(3), with = "crate::codec::patch", has_nil)]
    pub gender: Option<Option<Gender>>,
    #[cbor(n(4), with = "crate::codec::patch", has_nil)]
    pub card_no: Option<Option<String>>,
    #[n(5)]
    pub tags: Option<Vec<String>>,
    #[n(6)]
    pub notes: Option<String>,
}

pub const NAME_LEN_MAX: usize = 40;
pub const NOTES_LEN_MAX: usize = 500;
pub const TAGS_MAX: usize = 20;
pub const TAG_LEN_MAX: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum ProfileError {
    #[error(
        "invalid phone number {0:?}: a mainland mobile number of 11 digits starting with 13-19 is expected"
    )]
    Phone(String),
    #[error("name {0}")]
    Name(TextError),
    #[error("birthday {0:?} is not a date of the form YYYY-MM-DD")]
    Birthday(String),
    #[error("card number {0:?} must be 4 to 32 letters or digits")]
    CardNo(String),
    #[error("at most {TAGS_MAX} tags")]
    TagCount,
    #[error("each tag {0}")]
    Tags(TextError),
    #[error("notes {0}")]
    Notes(TextError),
    #[error("the patch changes nothing")]
    EmptyPatch,
}

impl DomainError for ProfileError {
    fn code(&self) -> &'static str {
        match self {
            ProfileError::Phone(_) => "invalid_phone",
            ProfileError::Name(_) => "invalid_name",
            ProfileError::Birthday(_) => "invalid_birthday",
            ProfileError::CardNo(_) => "invalid_card_no",
            ProfileError::TagCount | ProfileError::Tags(_) => "invalid_tags",
            ProfileError::Notes(_) => "invalid_notes",
            ProfileError::EmptyPatch => "empty_patch",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ProfileError::Phone(p) => format!("手机号 {p:?} 无效：应为 13-19 开头的 11 位手机号"),
            ProfileError::Name(e) => format!("姓名{}", e.zh()),
            ProfileError::Birthday(b) => format!("生日 {b:?} 不是 YYYY-MM-DD 格式的日期"),
            ProfileError::CardNo(c) => format!("卡号 {c:?} 应为 4 到 32 位字母或数字"),
            ProfileError::TagCount => format!("标签最多 {TAGS_MAX} 个"),
            ProfileError::Tags(e) => format!("每个标签{}", e.zh()),
            ProfileError::Notes(e) => format!("备注{}", e.zh()),
            ProfileError::EmptyPatch => "没有要修改的内容".into(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            ProfileError::Name(e) | ProfileError::Tags(e) | ProfileError::Notes(e) => e.details(),
            _ => Vec::new(),
        }
    }
}

pub fn validate_phone(phone: &str) -> Result<(), ProfileError> {
    let b = phone.as_bytes();
    let ok = b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit);
    if ok {
        Ok(())
    } else {
        Err(ProfileError::Phone(phone.to_string()))
    }
}

/// A member's name, as a client may set it: 1 to `NAME_LEN_MAX`
/// characters after trimming, none refused by `text`.
pub fn validate_name(name: &str) -> Result<(), ProfileError> {
    text::check_text(name, 1, NAME_LEN_MAX).map_err(ProfileError::Name)
}

/// What every build has held a stored or received member field to: its
/// length, and no control character (`\n` allowed in notes). Weaker than
/// `text`'s rule, which refuses invisible and direction characters too
/// since a later build: an op made before must still apply everywhere.
fn stored_text(s: &str, min: usize, max: usize, lines: Lines) -> Result<(), TextError> {
    let n = match lines {
        Lines::One => s.trim().chars().count(),
        Lines::Many => s.chars().count(),
    };
    if n < min || n > max {
        return Err(TextError::Length { min, max });
    }
    match s
        .chars()
        .find(|c| c.is_control() && !(lines == Lines::Many && *c == '\n'))
    {
        Some(c) => Err(TextError::Char {
            class: text::CharClass::Control,
            code: c as u32,
        }),
        None => Ok(()),
    }
}

pub fn validate_birthday(day: &str) -> Result<(), ProfileError> {
    let bad = || ProfileError::Birthday(day.to_string());
    let parts: Vec<&str> = day.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (y, m, d) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1900..=2100).contains(&y) || d == 0 || d > days {
        return Err(bad());
    }
    Ok(())
}

pub fn validate_card_no(card: &str) -> Result<(), ProfileError> {
    let ok = (4..=32).contains(&card.len()) && card.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ProfileError::CardNo(card.to_string()))
    }
}

impl Profile {
    /// Check a profile a client sets (registration, patch): every text
    /// field held to `text`'s rule.
    pub fn validate(&self) -> Result<(), ProfileError> {
        self.check(|s, min, max, lines| match lines {
            Lines::One => text::check_text(s, min, max),
            Lines::Many => text::check_lines(s, max),
        })
    }

    /// Check a profile as stored or received (a remote profile change):
    /// the text fields held only to what every build refused
    /// (`stored_text`), so an op an older node made applies here as it did
    /// there. Text is made safe where it is printed (`text::printable`).
    pub fn validate_stored(&self) -> Result<(), ProfileError> {
        self.check(stored_text)
    }

    fn check(
        &self,
        text: impl Fn(&str, usize, usize, Lines) -> Result<(), TextError>,
    ) -> Result<(), ProfileError> {
        validate_phone(&self.phone)?;
        text(&self.name, 1, NAME_LEN_MAX, Lines::One).map_err(ProfileError::Name)?;
        if let Some(b) = &self.birthday {
            validate_birthday(b)?;
        }
        if let Some(c) = &self.card_no {
            validate_card_no(c)?;
        }
        if self.tags.len() > TAGS_MAX {
            return Err(ProfileError::TagCount);
        }
        self.tags
            .iter()
            .try_for_each(|t| text(t, 1, TAG_LEN_MAX, Lines::One))
            .map_err(ProfileError::Tags)?;
        text(&self.notes, 0, NOTES_LEN_MAX, Lines::Many).map_err(ProfileError::Notes)
    }

    /// The profile with `patch` applied (not validated: call `validate`).
    pub fn patched(&self, patch: &ProfilePatch) -> Profile {
        let mut p = self.clone();
        if let Some(v) = &patch.phone {
            p.phone = v.clone();
        }
        if let Some(v) = &patch.name {
            p.name = v.trim().to_string();
        }
        if let Some(v) = &patch.birthday {
            p.birthday = v.clone();
        }
        if let Some(v) = &patch.gender {
            p.gender = *v;
        }
        if let Some(v) = &patch.card_no {
            p.card_no = v.clone();
        }
        if let Some(v) = &patch.tags {
            p.tags = v.clone();
        }
        if let Some(v) = &patch.notes {
            p.notes = v.clone();
        }
        p
    }
}

impl ProfilePatch {
    pub fn is_empty(&self) -> bool {
        *self == ProfilePatch::default()
    }
}

/// A phone number for lists and receipts: `138****1234`.
pub fn mask_phone(phone: &str) -> String {
    if phone.len() == 11 && phone.is_ascii() {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        "****".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        validate_phone("13812341234").unwrap();
        for bad in [
            "1381234123",
            "23812341234",
            "12812341234",
            "1381234123a",
            "+8613812341234",
            "",
        ] {
            assert!(validate_phone(bad).is_err(), "{bad}");
        }
        assert_eq!(mask_phone("13812341234"), "138****1234");
    }

    #[test]
    fn birthdays() {
        validate_birthday("2000-02-29").unwrap();
        for bad in [
            "1900-02-29",
            "2001-02-29",
            "2001-13-01",
            "2001-1-01",
            "20010101",
            "2001-04-31",
        ] {
            assert!(validate_birthday(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patch_applies_only_given_fields() {
        let p = Profile {
            phone: "13812341234".into(),
            name: "张三".into(),
            birthday: Some("1990-01-02".into()),
            gender: None,
            card_no: None,
            invited_by: None,
            tags: vec![],
            notes: String::new(),
        };
        let q = p.patched(&ProfilePatch {
            name: Some(" 李四 ".into()),
            birthday: Some(None),
            ..Default::default()
        });
        assert_eq!(q.name, "李四");
        assert_eq!(q.birthday, None);
        assert_eq!(q.phone, p.phone);
        q.validate().unwrap();
    }
}
