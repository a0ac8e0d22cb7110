//! Member profiles: the fields, their validation, and phone masking.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

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
    #[error("name must be 1 to {NAME_LEN_MAX} characters")]
    Name,
    #[error("birthday {0:?} is not a date of the form YYYY-MM-DD")]
    Birthday(String),
    #[error("card number {0:?} must be 4 to 32 letters or digits")]
    CardNo(String),
    #[error(
        "at most {TAGS_MAX} tags of 1 to {TAG_LEN_MAX} characters each, without control characters"
    )]
    Tags,
    #[error("notes must be at most {NOTES_LEN_MAX} characters, without control characters")]
    Notes,
    #[error("the patch changes nothing")]
    EmptyPatch,
}

impl DomainError for ProfileError {
    fn code(&self) -> &'static str {
        match self {
            ProfileError::Phone(_) => "invalid_phone",
            ProfileError::Name => "invalid_name",
            ProfileError::Birthday(_) => "invalid_birthday",
            ProfileError::CardNo(_) => "invalid_card_no",
            ProfileError::Tags => "invalid_tags",
            ProfileError::Notes => "invalid_notes",
            ProfileError::EmptyPatch => "empty_patch",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ProfileError::Phone(p) => format!("手机号 {p:?} 无效：应为 13-19 开头的 11 位手机号"),
            ProfileError::Name => format!("姓名长度应为 1 到 {NAME_LEN_MAX} 个字符"),
            ProfileError::Birthday(b) => format!("生日 {b:?} 不是 YYYY-MM-DD 格式的日期"),
            ProfileError::CardNo(c) => format!("卡号 {c:?} 应为 4 到 32 位字母或数字"),
            ProfileError::Tags => format!("标签最多 {TAGS_MAX} 个，每个 1 到 {TAG_LEN_MAX} 个字符"),
            ProfileError::Notes => format!("备注最多 {NOTES_LEN_MAX} 个字符，且不能含控制字符"),
            ProfileError::EmptyPatch => "没有要修改的内容".into(),
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

pub fn validate_name(name: &str) -> Result<(), ProfileError> {
    let n = name.trim().chars().count();
    if n == 0 || n > NAME_LEN_MAX || name.chars().any(char::is_control) {
        return Err(ProfileError::Name);
    }
    Ok(())
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

fn validate_tags(tags: &[String]) -> Result<(), ProfileError> {
    let ok = tags.len() <= TAGS_MAX
        && tags.iter().all(|t| {
            let n = t.trim().chars().count();
            n > 0 && n <= TAG_LEN_MAX && !t.chars().any(char::is_control)
        });
    if ok { Ok(()) } else { Err(ProfileError::Tags) }
}

fn validate_notes(notes: &str) -> Result<(), ProfileError> {
    let control = notes.chars().any(|c| c.is_control() && c != '\n');
    if notes.chars().count() > NOTES_LEN_MAX || control {
        Err(ProfileError::Notes)
    } else {
        Ok(())
    }
}

impl Profile {
    pub fn validate(&self) -> Result<(), ProfileError> {
        validate_phone(&self.phone)?;
        validate_name(&self.name)?;
        if let Some(b) = &self.birthday {
            validate_birthday(b)?;
        }
        if let Some(c) = &self.card_no {
            validate_card_no(c)?;
        }
        validate_tags(&self.tags)?;
        validate_notes(&self.notes)
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
