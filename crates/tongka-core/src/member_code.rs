//! The member code (会员码): a short-lived, signed payload the member shows
//! (as a QR code on a phone or a printed slip) and the till scans, so a
//! cashier finds the member without typing a phone number. It is the entry
//! point for 核销 (verifying a coupon or a card visit) at the till. Pure:
//! the key and the time are passed in.
//!
//! # Format
//! `TK1.<MEMBER ID>.<ISSUED>.<MAC>`, e.g.
//! `TK1.M-STORE-1-42.1717000000.MFRGGZDFMZTWQ2LKNNWG23TPOA`:
//! - `TK1`: the prefix and format version (a later format is `TK2`);
//! - the member id (`m-store-1-42`) in capitals;
//! - `ISSUED`: when it was issued, in unix seconds (decimal);
//! - `MAC`: the first [`MAC_BYTES`] bytes of keyed BLAKE3 of everything
//!   before the last `.`, under the chain's member-code key, in base32
//!   (RFC 4648 alphabet, no padding: [`MAC_CHARS`] characters).
//!
//! Why this shape:
//! - **Only `A-Z 0-9 . -`.** Every character is in the QR code's
//!   alphanumeric mode (denser than byte mode: a smaller, easier-to-scan
//!   code), and a keyboard-wedge scanner types it as plain key presses:
//!   capitals and digits are what Chinese input methods let through most
//!   reliably (the till still wants its input method in English mode).
//! - **Case does not matter.** The code is read with its letters in
//!   capitals (`verify` upper-cases it first), so a till with Caps Lock on,
//!   whose scanner types `tk1.m-store-1-42…`, still finds the member. The
//!   MAC is over the capitalised text, so flipping a letter's case is the
//!   same code, and any other change is a different one.
//! - **A keyed hash, not a signature.** Every node of a chain holds the
//!   same 32-byte key (derived from the chain CA by `tongka chain new`, see
//!   `tongka-config`'s `member_code`), so every node verifies offline, with
//!   no round trip to the issuer or HQ. A public-key signature would let a
//!   node verify without being able to issue, which buys nothing here (every
//!   node also issues codes) and would make the code three times longer.
//!   BLAKE3 is already the core's hash; keyed mode is a MAC.
//! - **128 bits of MAC** (`MAC_BYTES` = 16): forging one needs about 2^128
//!   guesses, and each guess costs an HTTP request within a 60 s window.
//!   The comparison is constant-time.
//!
//! # Time
//! A code issued at `issued` verifies at `now` when
//! `issued - SKEW_S <= now <= issued + window`. The window is 60 s by
//! default ([`WINDOW_DEFAULT_S`], configurable per node in
//! [`WINDOW_MIN_S`]`..=`[`WINDOW_MAX_S`]), so a screenshot of yesterday's
//! code, or of one a minute old, is refused (`member_code_expired`). Stores'
//! clocks differ a little: a code from a node whose clock runs up to
//! [`SKEW_S`] (30 s) ahead of the verifier's is accepted; one from further
//! in the future is refused as outside its window too (its clock, or the
//! code, is wrong). A clock behind the verifier's shortens the window by as
//! much; the member's screen asks for a fresh code well before the end.
//! The time is checked only after the MAC: a forged code is
//! `member_code_invalid` whatever time it claims.

use crate::error::DomainError;
use crate::ids::MemberId;

/// The prefix and format version.
pub const PREFIX: &str = "TK1";
/// How long a code verifies after it was issued, by default: 60 s.
pub const WINDOW_DEFAULT_S: u64 = 60;
/// The shortest window a node may be configured with.
pub const WINDOW_MIN_S: u64 = 5;
/// The longest window a node may be configured with (one hour).
pub const WINDOW_MAX_S: u64 = 3_600;
/// How far ahead of the verifier's clock the issuer's may run.
pub const SKEW_S: u64 = 30;
/// The bytes of MAC a code carries.
pub const MAC_BYTES: usize = 16;
/// The MAC in base32: `ceil(16 * 8 / 5)` characters.
pub const MAC_CHARS: usize = (MAC_BYTES * 8).div_ceil(5);
/// The longest text `verify` looks at, after trimming: the prefix, the
/// longest member id (64), 20 digits of time, the MAC and three dots fit.
pub const CODE_LEN_MAX: usize = 128;

/// The chain's member-code key: 32 bytes every node of a chain holds.
/// Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct MemberCodeKey([u8; 32]);

impl MemberCodeKey {
    pub fn from_bytes(bytes: [u8; 32]) -> MemberCodeKey {
        MemberCodeKey(bytes)
    }
}

impl std::fmt::Debug for MemberCodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberCodeKey(…)")
    }
}

/// Why a scanned text is not a member's code now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberCodeError {
    /// Not a member code of this chain: malformed (wrong prefix, shape,
    /// characters, length) or forged (the MAC does not match: tampered
    /// with, or made under another chain's key).
    #[error("not a valid member code of this chain (scan it again, or find the member by phone)")]
    Invalid,
    /// Authentic, but older than the window.
    #[error(
        "the member code has expired (it is valid for {window_s} s): ask the member to show a fresh one"
    )]
    Expired { window_s: u64 },
    /// Authentic, but issued further in the future than clocks may differ.
    #[error(
        "the member code is dated {ahead_s} s in the future (the issuing device's clock is wrong): ask the member to show a fresh one"
    )]
    FromTheFuture { ahead_s: u64 },
}

impl DomainError for MemberCodeError {
    fn code(&self) -> &'static str {
        match self {
            MemberCodeError::Invalid => "member_code_invalid",
            MemberCodeError::Expired { .. } | MemberCodeError::FromTheFuture { .. } => {
                "member_code_expired"
            }
        }
    }

    fn message_zh(&self) -> String {
        match self {
            MemberCodeError::Invalid => {
                "不是本连锁的有效会员码（请重新扫描，或按手机号查找会员）".to_string()
            }
            MemberCodeError::Expired { window_s } => {
                format!("会员码已过期（有效期 {window_s} 秒）：请会员刷新后重新出示")
            }
            MemberCodeError::FromTheFuture { ahead_s } => {
                format!(
                    "会员码的时间比本机快 {ahead_s} 秒（出码设备时钟有误）：请会员刷新后重新出示"
                )
            }
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            MemberCodeError::Invalid => Vec::new(),
            MemberCodeError::Expired { window_s } => vec![("window_s", window_s.to_string())],
            MemberCodeError::FromTheFuture { ahead_s } => vec![("ahead_s", ahead_s.to_string())],
        }
    }
}

/// The code of `member`, issued at `now` (unix seconds) under `key`.
pub fn issue(key: &MemberCodeKey, member: &MemberId, now: u64) -> String {
    let signed = format!("{PREFIX}.{}.{now}", member.as_str().to_ascii_uppercase());
    let mac = mac(key, &signed);
    format!("{signed}.{mac}")
}

/// The member whose code `text` is, if it was issued under `key` at most
/// `window` seconds before `now` (and at most [`SKEW_S`] after it).
/// Whitespace around it (a scanner's Enter or Tab) is ignored; letters may
/// be in either case.
pub fn verify(
    key: &MemberCodeKey,
    text: &str,
    now: u64,
    window: u64,
) -> Result<MemberId, MemberCodeError> {
    let (member, issued) = authentic(key, text)?;
    if issued > now.saturating_add(SKEW_S) {
        return Err(MemberCodeError::FromTheFuture {
            ahead_s: issued - now,
        });
    }
    if now > issued.saturating_add(window) {
        return Err(MemberCodeError::Expired { window_s: window });
    }
    Ok(member)
}

/// Whether `text` looks like a member code at all (its prefix, in either
/// case): what a search box uses to tell a scanned code from a phone or
/// card number.
pub fn looks_like_code(text: &str) -> bool {
    let t = text.trim_ascii();
    t.len() > PREFIX.len()
        && t.as_bytes()[..PREFIX.len()].eq_ignore_ascii_case(PREFIX.as_bytes())
        && t.as_bytes()[PREFIX.len()] == b'.'
}

/// The member and issue time of an authentic code, whatever its age.
fn authentic(key: &MemberCodeKey, text: &str) -> Result<(MemberId, u64), MemberCodeError> {
    use MemberCodeError::Invalid;
    let t = text.trim_ascii();
    if t.is_empty() || t.len() > CODE_LEN_MAX || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Invalid);
    }
    let upper = t.to_ascii_uppercase();
    let (signed, given_mac) = upper.rsplit_once('.').ok_or(Invalid)?;
    let mut parts = signed.split('.');
    let (Some(prefix), Some(id), Some(issued), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid);
    };
    if prefix != PREFIX
        || issued.is_empty()
        || issued.len() > 20
        || !issued.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Invalid);
    }
    let issued: u64 = issued.parse().map_err(|_| Invalid)?;
    let member = MemberId::parse(&id.to_ascii_lowercase()).ok_or(Invalid)?;
    let expected = mac(key, signed);
    if !constant_time_eq(expected.as_bytes(), given_mac.as_bytes()) {
        return Err(Invalid);
    }
    Ok((member, issued))
}

/// The MAC of `signed`, in base32.
fn mac(key: &MemberCodeKey, signed: &str) -> String {
    let hash = blake3::keyed_hash(&key.0, signed.as_bytes());
    base32(&hash.as_bytes()[..MAC_BYTES])
}

/// RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(5));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Equal lengths and bytes, in time that depends on the length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: u64 = 1_717_000_000;

    fn key(b: u8) -> MemberCodeKey {
        MemberCodeKey::from_bytes([b; 32])
    }

    fn member(text: &str) -> MemberId {
        MemberId::parse(text).unwrap()
    }

    #[test]
    fn a_code_has_the_documented_shape() {
        let code = issue(&key(1), &member("m-store-1-42"), NOW);
        let parts: Vec<&str> = code.split('.').collect();
        assert_eq!(parts[..3], ["TK1", "M-STORE-1-42", "1717000000"]);
        assert_eq!(parts[3].len(), MAC_CHARS);
        assert_eq!(MAC_CHARS, 26);
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-.".contains(&b)),
            "{code}"
        );
        assert!(looks_like_code(&code));
        assert!(looks_like_code(&code.to_ascii_lowercase()));
        assert!(!looks_like_code("13812341234"));
        assert!(!looks_like_code("TK1"));
        assert!(!looks_like_code("TK10001"));
    }

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        // RFC 4648 section 10, without the padding.
        for (input, output) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), output);
        }
    }

    #[test]
    fn the_window_is_inclusive_and_the_skew_allowance_is_30_seconds() {
        let k = key(7);
        let m = member("m-hq-1");
        let code = issue(&k, &m, NOW);
        assert_eq!(verify(&k, &code, NOW, 60), Ok(m.clone()));
        assert_eq!(verify(&k, &code, NOW + 60, 60), Ok(m.clone()));
        assert_eq!(
            verify(&k, &code, NOW + 61, 60),
            Err(MemberCodeError::Expired { window_s: 60 })
        );
        assert_eq!(verify(&k, &code, NOW - SKEW_S, 60), Ok(m.clone()));
        assert_eq!(
            verify(&k, &code, NOW - SKEW_S - 1, 60),
            Err(MemberCodeError::FromTheFuture { ahead_s: 31 })
        );
        // Yesterday's screenshot.
        assert!(matches!(
            verify(&k, &code, NOW + 86_400, 60),
            Err(MemberCodeError::Expired { .. })
        ));
        assert_eq!(
            MemberCodeError::FromTheFuture { ahead_s: 31 }.code(),
            "member_code_expired"
        );
    }

    #[test]
    fn a_forged_code_is_invalid_whatever_time_it_claims() {
        let code = issue(&key(1), &member("m-store-1-1"), NOW);
        assert_eq!(
            verify(&key(2), &code, NOW, 60),
            Err(MemberCodeError::Invalid)
        );
        // An old timestamp, re-signed by nobody: invalid, not expired.
        let old = code.replace(".1717000000.", ".1716000000.");
        assert_eq!(
            verify(&key(1), &old, NOW + 1_000_000, 60),
            Err(MemberCodeError::Invalid)
        );
    }

    #[test]
    fn garbage_is_invalid() {
        let k = key(1);
        let code = issue(&k, &member("m-store-1-1"), NOW);
        let huge = "A".repeat(100_000);
        for text in [
            "",
            "   ",
            "TK1",
            "TK1...",
            "TK1.M-STORE-1-1.1717000000",
            "TK2.M-STORE-1-1.1717000000.AAAAAAAAAAAAAAAAAAAAAAAAAA",
            "TK1.X-STORE-1-1.1717000000.AAAAAAAAAAAAAAAAAAAAAAAAAA",
            "TK1.M-STORE-1-1.-1.AAAAAAAAAAAAAAAAAAAAAAAAAA",
            "TK1.M-STORE-1-1.99999999999999999999999.AAAAAAAAAAAAAAAAAAAAAAAAAA",
            "\u{0}\u{1}\u{7f}",
            "会员码",
            huge.as_str(),
            &format!("{code}\u{0}"),
            &format!("{code}\u{7f}"),
            &format!("{code}.X"),
            &format!("{code}X"),
            &code.replace('.', ". "),
        ] {
            assert_eq!(
                verify(&k, text, NOW, 60),
                Err(MemberCodeError::Invalid),
                "{text:?}"
            );
        }
        // A scanner's Enter, Tab or carriage return around it is fine.
        assert!(verify(&k, &format!("\t{code}\r\n"), NOW, 60).is_ok());
    }

    fn members() -> impl Strategy<Value = MemberId> {
        ("[a-z][a-z0-9-]{0,30}[a-z0-9]", 1u64..u64::MAX)
            .prop_map(|(node, n)| MemberId::parse(&format!("m-{node}-{n}")).unwrap())
    }

    proptest! {
        #[test]
        fn a_code_verifies_within_its_window_and_not_after(
            k in any::<[u8; 32]>(),
            m in members(),
            issued in 0u64..=4_102_444_800,
            window in WINDOW_MIN_S..=WINDOW_MAX_S,
            age in 0u64..=WINDOW_MAX_S,
            late in 1u64..=10_000_000,
        ) {
            let k = MemberCodeKey::from_bytes(k);
            let code = issue(&k, &m, issued);
            prop_assert!(code.len() <= CODE_LEN_MAX);
            prop_assert_eq!(verify(&k, &code, issued + age.min(window), window), Ok(m.clone()));
            prop_assert_eq!(verify(&k, &code.to_ascii_lowercase(), issued, window), Ok(m.clone()));
            prop_assert_eq!(
                verify(&k, &code, issued + window + late, window),
                Err(MemberCodeError::Expired { window_s: window })
            );
        }

        /// Any change of any byte, other than a letter's case, to any
        /// printable character is refused as invalid; so are truncation and
        /// extension.
        #[test]
        fn any_tampering_is_refused(
            m in members(),
            i in any::<prop::sample::Index>(),
            b in 0x21u8..0x7f,
            cut in any::<prop::sample::Index>(),
        ) {
            let k = key(9);
            let code = issue(&k, &m, NOW);
            let i = i.index(code.len());
            let original = code.as_bytes()[i];
            prop_assume!(!original.eq_ignore_ascii_case(&b));
            let mut bytes = code.clone().into_bytes();
            bytes[i] = b;
            let tampered = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(verify(&k, &tampered, NOW, 60), Err(MemberCodeError::Invalid));
            let cut = cut.index(code.len());
            prop_assert_eq!(verify(&k, &code[..cut], NOW, 60), Err(MemberCodeError::Invalid));
            let longer = format!("{code}{}", b as char);
            prop_assert_eq!(verify(&k, &longer, NOW, 60), Err(MemberCodeError::Invalid));
        }

        #[test]
        fn any_text_is_refused_without_panicking(text in ".{0,300}", now in any::<u64>()) {
            prop_assert_eq!(verify(&key(3), &text, now, 60), Err(MemberCodeError::Invalid));
        }
    }
}
