//! Free text a client sets: the one rule for every name, description,
//! reason, tag and note, and the one way to make stored text safe to print.
//!
//! Why: such text reaches a thermal printer (a sale line's description is
//! printed as is; `ESC p` opens the cash drawer, `GS V` cuts the paper), a
//! document replicated to every store (a product or level name set at HQ),
//! and the console. A character that draws nothing (U+200B) or reorders
//! what follows (U+202E) lets two names look alike, or a name look like
//! something else.
//!
//! **Refused** ([`refused`]), in every field:
//! - control characters (`Cc`): C0 U+0000–U+001F (tab, CR and LF
//!   included), DEL U+007F, C1 U+0080–U+009F (U+0085 NEL included). The
//!   one exception: `\n` in a multi-line field ([`Lines::Many`], a member's
//!   notes only, which are typed in a text area and never printed);
//! - invisible characters: Unicode's `Default_Ignorable_Code_Point` set
//!   (what a renderer draws as nothing): U+00AD soft hyphen, U+034F,
//!   U+061C, U+115F–U+1160, U+17B4–U+17B5, U+180B–U+180F (U+180E
//!   included), U+200B–U+200F (zero widths, ZWJ, LRM, RLM), U+2060–U+206F
//!   (word joiner, invisible operators, isolates U+2066–U+2069), U+3164,
//!   U+FE00–U+FE0F (variation selectors), U+FEFF (BOM), U+FFA0,
//!   U+FFF0–U+FFF8, U+1BCA0–U+1BCA3, U+1D173–U+1D17A, U+E0000–U+E0FFF
//!   (tags, variation selectors supplement);
//! - direction overrides and embeddings U+202A–U+202E (the isolates
//!   U+2066–U+2069 are in the set above, reported as direction too);
//! - line and paragraph separators U+2028, U+2029;
//! - interlinear annotation marks U+FFF9–U+FFFB (reported as invisible);
//! - private use (U+E000–U+F8FF, planes 15 and 16) and noncharacters
//!   (U+FDD0–U+FDEF, and the last two code points of every plane).
//!
//! Everything else passes: letters and digits of any script (Chinese
//! included), punctuation, spaces (U+0020, U+00A0, U+3000), symbols and
//! emoji of one code point (☕). Emoji sequences that need ZWJ or a
//! variation selector (👨‍👩‍👧, ❤️) are refused: they are invisible
//! joiners, and a 58 mm printer prints no emoji anyway. Unassigned code
//! points are not refused: that needs Unicode's tables, and this crate
//! carries none.
//!
//! **Where it applies.** At authoring: the API's requests, through the
//! core's validators (`Profile::validate`, `Product::validate`,
//! `Programme::validate`, `CouponTemplate::validate`, `checkout`,
//! `OrderState::decide`), each refusal with its field's own code (422).
//! Not on what a node receives or holds: an op signed by HQ or by another
//! store, or a document already stored, may carry text an older build let
//! through, and refusing it would stall replication (or, for a stored
//! programme, the node's start). Those are read with the rule each build
//! has always applied (`validate_stored`: length, and the control
//! characters member fields always refused). Instead, what is printed
//! never carries a refused character: [`printable`] replaces each with
//! U+FFFD (the receipt, `tongka-api`'s `render::receipt`).

use std::borrow::Cow;
use std::fmt;

/// Whether a field may hold more than one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Names, descriptions, reasons, tags: no line break of any kind.
    One,
    /// A member's notes: `\n` allowed (typed in a text area, shown in the
    /// console, never printed on a receipt); `\r` and the rest refused.
    Many,
}

/// The class of a refused character, named in the refusal (the character
/// itself is never echoed: it is given by its code point, e.g. `U+001B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    Control,
    Invisible,
    Direction,
    Separator,
    PrivateUse,
}

impl CharClass {
    /// A stable snake_case name (the `char_class` detail of an error).
    pub fn as_str(self) -> &'static str {
        match self {
            CharClass::Control => "control",
            CharClass::Invisible => "invisible",
            CharClass::Direction => "direction",
            CharClass::Separator => "separator",
            CharClass::PrivateUse => "private_use",
        }
    }

    fn en(self) -> &'static str {
        match self {
            CharClass::Control => "control characters",
            CharClass::Invisible => "invisible characters",
            CharClass::Direction => "text-direction characters",
            CharClass::Separator => "line or paragraph separators",
            CharClass::PrivateUse => "private-use or non-characters",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            CharClass::Control => "控制字符",
            CharClass::Invisible => "不可见字符",
            CharClass::Direction => "文字方向控制字符",
            CharClass::Separator => "行或段落分隔符",
            CharClass::PrivateUse => "私用区字符或非字符",
        }
    }
}

/// Why a text is refused. The bounds are the field's, in characters
/// (Unicode scalar values), counted after trimming where the field trims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// Empty (or blank), or longer than `max`; `min` 0: may be empty.
    Length { min: usize, max: usize },
    /// Starts or ends with whitespace, where the field keeps text as
    /// given (coupon template names).
    Padded,
    /// A refused character, `code` its code point.
    Char { class: CharClass, code: u32 },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TextError::Length { min: 0, max } => write!(f, "must be at most {max} characters"),
            TextError::Length { min, max } => write!(f, "must be {min} to {max} characters"),
            TextError::Padded => f.write_str("must not start or end with spaces"),
            TextError::Char { class, code } => {
                write!(f, "must not contain {} (U+{code:04X} found)", class.en())
            }
        }
    }
}

impl TextError {
    /// The reason in Chinese, to follow the field's name.
    pub fn zh(&self) -> String {
        match *self {
            TextError::Length { min: 0, max } => format!("最多 {max} 个字符"),
            TextError::Length { min, max } => format!("应为 {min} 到 {max} 个字符"),
            TextError::Padded => "首尾不能有空格".into(),
            TextError::Char { class, code } => {
                format!("不能含{}（发现 U+{code:04X}）", class.zh())
            }
        }
    }

    /// The error details of a refused character: its class and code point.
    pub fn details(&self) -> Vec<(&'static str, String)> {
        match *self {
            TextError::Char { class, code } => vec![
                ("char_class", class.as_str().to_string()),
                ("code_point", format!("U+{code:04X}")),
            ],
            _ => Vec::new(),
        }
    }
}

/// The class of `c` if no field may hold it (`\n` included: a multi-line
/// field lets it through in [`check_chars`]).
pub fn refused(c: char) -> Option<CharClass> {
    let u = c as u32;
    if c.is_control() {
        return Some(CharClass::Control);
    }
    match u {
        0x202A..=0x202E | 0x2066..=0x2069 | 0x061C | 0x200E | 0x200F => Some(CharClass::Direction),
        0x2028 | 0x2029 => Some(CharClass::Separator),
        0x00AD
        | 0x034F
        | 0x115F..=0x1160
        | 0x17B4..=0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200D
        | 0x2060..=0x206F
        | 0x3164
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xFFA0
        | 0xFFF0..=0xFFFB
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF => Some(CharClass::Invisible),
        0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFDD0..=0xFDEF => Some(CharClass::PrivateUse),
        _ if u & 0xFFFE == 0xFFFE => Some(CharClass::PrivateUse),
        _ => None,
    }
}

/// The first refused character of `s`, for a field of `lines`.
pub fn check_chars(s: &str, lines: Lines) -> Result<(), TextError> {
    for c in s.chars() {
        if c == '\n' && lines == Lines::Many {
            continue;
        }
        if let Some(class) = refused(c) {
            return Err(TextError::Char {
                class,
                code: c as u32,
            });
        }
    }
    Ok(())
}

/// A single-line text of `min` to `max` characters after trimming (a
/// name: `min` 1; a reason: `min` 0), with no refused character. Length
/// is checked first, so a text both too long and bad is refused as too
/// long.
pub fn check_text(s: &str, min: usize, max: usize) -> Result<(), TextError> {
    check_len(s, min, max)?;
    check_chars(s, Lines::One)
}

/// A multi-line text (notes) of at most `max` characters: `\n` allowed.
pub fn check_lines(s: &str, max: usize) -> Result<(), TextError> {
    if s.chars().count() > max {
        return Err(TextError::Length { min: 0, max });
    }
    check_chars(s, Lines::Many)
}

/// Only the length: `min` to `max` characters after trimming. The rule
/// held against stored and received text, besides what each field
/// always refused.
pub fn check_len(s: &str, min: usize, max: usize) -> Result<(), TextError> {
    let n = s.trim().chars().count();
    if n < min || n > max {
        return Err(TextError::Length { min, max });
    }
    Ok(())
}

/// `s` safe to print on one line: every refused character (and `\n`)
/// replaced by U+FFFD. Borrowed when there is none, the usual case.
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| refused(c).is_none()) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if refused(c).is_some() {
                    char::REPLACEMENT_CHARACTER
                } else {
                    c
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every code point the module doc names, one of each range's ends.
    const REFUSED: &[u32] = &[
        0x00, 0x07, 0x09, 0x0A, 0x0D, 0x1B, 0x1D, 0x1F, 0x7F, 0x80, 0x85, 0x9F, 0xAD, 0x34F, 0x61C,
        0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180E, 0x180F, 0x200B, 0x200C, 0x200D, 0x200E,
        0x200F, 0x2028, 0x2029, 0x202A, 0x202E, 0x2060, 0x2064, 0x2066, 0x2069, 0x206F, 0x3164,
        0xFE00, 0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0, 0xFFF9, 0xFFFB, 0x1BCA0, 0x1BCA3, 0x1D173, 0x1D17A,
        0xE0000, 0xE0001, 0xE007F, 0xE0FFF, 0xE000, 0xF8FF, 0xF0000, 0x10FFFD, 0xFDD0, 0xFDEF,
        0xFFFE, 0xFFFF, 0x1FFFE, 0x10FFFF,
    ];

    #[test]
    fn the_listed_characters_are_refused() {
        for &u in REFUSED {
            let c = char::from_u32(u).unwrap();
            assert!(refused(c).is_some(), "U+{u:04X}");
            let s = format!("a{c}b");
            assert!(
                matches!(check_text(&s, 1, 80), Err(TextError::Char { code, .. }) if code == u),
                "U+{u:04X}"
            );
            assert!(!printable(&s).contains(c), "U+{u:04X}");
        }
    }

    #[test]
    fn classes_and_messages() {
        let e = check_text("咖啡\u{1b}p\u{0}", 1, 80).unwrap_err();
        assert_eq!(
            e,
            TextError::Char {
                class: CharClass::Control,
                code: 0x1B
            }
        );
        assert_eq!(
            e.to_string(),
            "must not contain control characters (U+001B found)"
        );
        assert_eq!(e.zh(), "不能含控制字符（发现 U+001B）");
        assert!(!e.to_string().contains('\u{1b}') && !e.zh().contains('\u{1b}'));
        let class = |s: &str| match check_text(s, 1, 80) {
            Err(TextError::Char { class, .. }) => class,
            other => panic!("{s:?}: {other:?}"),
        };
        assert_eq!(class("a\u{202e}b"), CharClass::Direction);
        assert_eq!(class("a\u{2067}b"), CharClass::Direction);
        assert_eq!(class("a\u{200b}b"), CharClass::Invisible);
        assert_eq!(class("a\u{feff}b"), CharClass::Invisible);
        assert_eq!(class("a\u{2028}b"), CharClass::Separator);
        assert_eq!(class("a\u{e000}b"), CharClass::PrivateUse);
        assert_eq!(class("a\u{85}b"), CharClass::Control);
    }

    #[test]
    fn lengths_and_lines() {
        assert_eq!(
            check_text("  ", 1, 5),
            Err(TextError::Length { min: 1, max: 5 })
        );
        assert_eq!(check_text("", 0, 5), Ok(()));
        assert_eq!(check_text(" 六个中文字符 ", 1, 6), Ok(()));
        assert_eq!(
            check_text("七个中文字符啊", 1, 6),
            Err(TextError::Length { min: 1, max: 6 })
        );
        assert_eq!(check_lines("第一行\n第二行", 20), Ok(()));
        assert!(check_lines("a\r\nb", 20).is_err());
        assert!(check_text("a\nb", 0, 20).is_err());
        assert_eq!(
            TextError::Length { min: 0, max: 200 }.to_string(),
            "must be at most 200 characters"
        );
    }

    #[test]
    fn printable_replaces_and_borrows() {
        assert!(matches!(printable("拿铁 Latte ☕"), Cow::Borrowed(_)));
        assert_eq!(
            printable("\u{1b}p\u{0}咖啡\u{1d}V"),
            "\u{fffd}p\u{fffd}咖啡\u{fffd}V"
        );
        assert_eq!(printable("a\nb"), "a\u{fffd}b");
    }

    /// Characters every field takes: printable ASCII, CJK, some Latin,
    /// full-width and ideographic space, one-code-point emoji.
    fn allowed_char() -> impl Strategy<Value = char> {
        prop_oneof![
            (0x20u32..0x7F).prop_map(|u| char::from_u32(u).unwrap()),
            (0x4E00u32..=0x9FFF).prop_map(|u| char::from_u32(u).unwrap()),
            (0xC0u32..=0x17F).prop_map(|u| char::from_u32(u).unwrap()),
            (0xFF01u32..=0xFF5E).prop_map(|u| char::from_u32(u).unwrap()),
            (0x1F300u32..=0x1F5FF).prop_map(|u| char::from_u32(u).unwrap()),
            Just('\u{3000}'),
            Just('\u{a0}'),
        ]
    }

    fn refused_char() -> impl Strategy<Value = char> {
        prop_oneof![
            proptest::sample::select(REFUSED).prop_map(|u| char::from_u32(u).unwrap()),
            (0u32..0x20).prop_map(|u| char::from_u32(u).unwrap()),
            (0x7Fu32..=0x9F).prop_map(|u| char::from_u32(u).unwrap()),
            (0x2060u32..=0x206F).prop_map(|u| char::from_u32(u).unwrap()),
            (0xE000u32..=0xF8FF).prop_map(|u| char::from_u32(u).unwrap()),
            (0xE0000u32..=0xE0FFF).prop_map(|u| char::from_u32(u).unwrap()),
        ]
    }

    proptest! {
        #[test]
        fn allowed_text_passes(s in proptest::collection::vec(allowed_char(), 1..40)) {
            let s: String = s.into_iter().collect();
            prop_assert_eq!(check_chars(&s, Lines::One), Ok(()));
            prop_assert_eq!(check_lines(&s, 40), Ok(()));
            prop_assert!(matches!(printable(&s), Cow::Borrowed(_)));
        }

        #[test]
        fn any_refused_character_is_refused(
            a in proptest::collection::vec(allowed_char(), 0..20),
            bad in refused_char(),
            b in proptest::collection::vec(allowed_char(), 0..20),
        ) {
            let s: String = a.into_iter().chain([bad]).chain(b).collect();
            let single = check_text(&s, 0, 80);
            prop_assert!(
                matches!(single, Err(TextError::Char { code, .. }) if code == bad as u32),
                "{:?}", single
            );
            if bad != '\n' {
                prop_assert!(check_lines(&s, 80).is_err());
            }
            let shown = printable(&s);
            prop_assert!(shown.chars().all(|c| refused(c).is_none()));
            prop_assert_eq!(shown.chars().count(), s.chars().count());
        }
    }
}
