//! What the API parses out of request bodies and paths, on arbitrary text:
//! amounts (`Money::parse_amount`) and ids (`MemberId::parse` and the other
//! entity ids, `NodeId::new`). The API's request types are private, so the
//! text-level parsers they call are fuzzed directly.
//!
//! Amounts: an accepted amount is exactly the number the text says (no
//! rounding, no lost digits), has two places when shown, is within
//! 0..=10000000.00 (and > 0 when it must be positive), and parses back to
//! itself from its own text. Ids: an accepted id is the text itself, has the
//! kind's prefix and a valid node name, and no other kind accepts it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tongka_core::ids::{MemberId, NodeId, OrderId, RechargeId, RefundId};
use tongka_core::money::Money;

/// The exact value a decimal text denotes, as (negative, integer digits
/// without leading zeros, fraction digits without trailing zeros); zero is
/// never negative. None when the text is not a plain decimal.
fn exact(text: &str) -> Option<(bool, String, String)> {
    let t = text.trim();
    let (neg, t) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0').to_string();
    let frac = frac.trim_end_matches('0').to_string();
    let zero = int.is_empty() && frac.is_empty();
    Some((neg && !zero, int, frac))
}

fn check_amount(text: &str, positive: bool) {
    let Ok(m) = Money::parse_amount(text, positive) else {
        return;
    };
    let shown = m.to_string();
    let (int, frac) = shown.split_once('.').expect("two places");
    assert!(
        frac.len() == 2 && int.bytes().all(|b| b.is_ascii_digit()),
        "{text:?} shown as {shown:?}"
    );
    assert_eq!(
        exact(text),
        exact(&shown),
        "{text:?} was accepted as {shown}: not the number the client sent"
    );
    assert!(!m.is_negative(), "{text:?} accepted as {shown}");
    assert!(!(positive && m.is_zero()), "{text:?} accepted as zero");
    assert!(
        m <= Money::from_yuan(10_000_000),
        "{text:?} above the maximum"
    );
    assert_eq!(Money::parse_amount(&shown, positive), Ok(m), "{shown:?}");
    assert_eq!(Money::from_fen(m.fen()), m);
}

macro_rules! check_id {
    ($kind:ty, $text:expr, $($other:ty),*) => {{
        if let Some(id) = <$kind>::parse($text) {
            assert_eq!(id.as_str(), $text);
            assert_eq!(id.to_string(), $text);
            assert!($text.len() <= tongka_core::ids::ENTITY_ID_LEN_MAX);
            let rest = $text.strip_prefix(<$kind>::PREFIX).expect("the kind's prefix");
            let (node, n) = rest.rsplit_once('-').expect("node-n");
            assert!(NodeId::new(node).is_ok(), "{:?}: node {node:?}", $text);
            assert!(!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(<$kind>::parse(id.as_str()), Some(id.clone()));
            if let Ok(seq) = n.parse::<u64>()
                && seq.to_string() == n
            {
                let node = NodeId::new(node).expect("checked");
                assert_eq!(<$kind>::mint(&node, seq), id);
            }
            $(assert!(<$other>::parse($text).is_none(), "{:?} is two kinds of id", $text);)*
        }
    }};
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    check_amount(text, flags & 1 == 1);
    check_id!(MemberId, text, OrderId, RechargeId, RefundId);
    check_id!(OrderId, text, MemberId, RechargeId, RefundId);
    check_id!(RechargeId, text, MemberId, OrderId, RefundId);
    check_id!(RefundId, text, MemberId, OrderId, RechargeId);
    if let Ok(n) = NodeId::new(text) {
        assert_eq!(n.as_str(), text);
        assert!(!text.is_empty() && text.len() <= 32);
    }
});
