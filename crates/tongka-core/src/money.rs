//! Money: exact decimal amounts in yuan with two places, and the one place
//! where tongka's rounding rules are written down.
//!
//! Rounding rules (the only ones in the product):
//! - Every money amount is held to the fen (0.01 yuan).
//! - A product of money and a quantity, rate or proportion is rounded
//!   **half-up** (away from zero at the midpoint) to the fen, once, at the
//!   step that produces it: line amount = unit price × qty; discounted line
//!   = line amount × level rate; balance principal part = paid × principal ÷
//!   (principal + bonus).
//! - Where a total is split into parts, the last part takes the remainder, so
//!   the parts always add up to the total to the fen.
//! - Where a discount is spread over lines in proportion to what each line
//!   pays (a coupon's amount over the lines it applies to:
//!   [`Money::spread`]), each line first gets its exact share rounded down
//!   to the fen, and the fen left over go one each to the lines with the
//!   largest cut-off remainders (ties: the earlier line). The parts add up
//!   to the discount exactly and no line gets more than it pays.
//! - Points are whole numbers: points earned = ⌊paid × points per yuan⌋.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest single amount accepted from outside: 10,000,000.00 yuan.
pub const AMOUNT_MAX_YUAN: i64 = 10_000_000;

/// An exact amount of money in yuan, always held at two decimal places.
///
/// In JSON it is a string with two places (`"95.00"`); in binary encodings
/// (postcard) it is the whole number of fen.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// Why a money amount given from outside is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("more than two decimal places")]
    TooPrecise,
    #[error("must be greater than zero")]
    NotPositive,
    #[error("must not be negative")]
    Negative,
    #[error("larger than the maximum of 10000000.00")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// An amount from a whole number of fen.
    pub fn from_fen(fen: i64) -> Money {
        Money(Decimal::new(fen, 2))
    }

    /// An amount of whole yuan, for constants (up to 42,949,672 yuan).
    pub const fn yuan_const(yuan: u32) -> Money {
        Money(Decimal::from_parts(yuan * 100, 0, 0, false, 2))
    }

    /// An amount from whole yuan.
    pub fn from_yuan(yuan: i64) -> Money {
        Money::from_fen(yuan * 100)
    }

    /// The whole number of fen (exact: amounts are always held to the fen).
    /// An amount at scale 2 (as decoded) is its mantissa: no arithmetic.
    pub fn fen(self) -> i64 {
        if self.0.scale() == 2
            && let Ok(fen) = i64::try_from(self.0.mantissa())
        {
            return fen;
        }
        (self.0 * Decimal::ONE_HUNDRED)
            .to_i64()
            .expect("money amounts are bounded far below i64::MAX fen")
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// The rounding rule: half-up (away from zero at the midpoint) to the fen.
    pub fn round_half_up(value: Decimal) -> Money {
        let mut d = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        d.rescale(2);
        Money(d)
    }

    /// Parse an amount given by a client: a decimal string (or JSON number
    /// text) with at most two places. `positive` decides whether zero is
    /// allowed.
    pub fn parse_amount(text: &str, positive: bool) -> Result<Money, AmountError> {
        let d = parse_decimal_text(text, 2).map_err(|e| match e {
            DecimalTextError::NotANumber => AmountError::NotANumber,
            DecimalTextError::TooPrecise => AmountError::TooPrecise,
            DecimalTextError::TooLarge => AmountError::TooLarge,
            DecimalTextError::Negative => AmountError::Negative,
        })?;
        Self::check_amount(d, positive)
    }

    /// Validate a decimal given from outside as an amount.
    pub fn check_amount(d: Decimal, positive: bool) -> Result<Money, AmountError> {
        if d.normalize().scale() > 2 {
            return Err(AmountError::TooPrecise);
        }
        if d.is_sign_negative() && !d.is_zero() {
            return Err(AmountError::Negative);
        }
        if positive && d.is_zero() {
            return Err(AmountError::NotPositive);
        }
        if d > Decimal::from(AMOUNT_MAX_YUAN) {
            return Err(AmountError::TooLarge);
        }
        let mut d = d;
        d.rescale(2);
        Ok(Money(d))
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_positive(self) -> bool {
        !self.is_zero() && !self.is_negative()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        let r = self - other;
        if r.is_negative() { None } else { Some(r) }
    }

    pub fn min(self, other: Money) -> Money {
        if self <= other { self } else { other }
    }

    /// Spread `self` (at most `Σ weights`, none negative) over `weights` in
    /// proportion, by the largest-remainder rule of the module doc: parts
    /// that add up to `self` exactly, each at most its weight. `None` when
    /// `self` is negative or more than the weights add up to.
    pub fn spread(self, weights: &[Money]) -> Option<Vec<Money>> {
        let total: i128 = weights.iter().map(|w| i128::from(w.fen())).sum();
        let amount = i128::from(self.fen());
        if amount < 0 || amount > total || weights.iter().any(|w| w.is_negative()) {
            return None;
        }
        if amount == 0 {
            return Some(vec![Money::ZERO; weights.len()]);
        }
        let mut parts: Vec<(i128, i128)> = weights
            .iter()
            .map(|w| {
                let exact = amount * i128::from(w.fen());
                (exact / total, exact % total)
            })
            .collect();
        let mut left = amount - parts.iter().map(|p| p.0).sum::<i128>();
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by(|a, b| parts[*b].1.cmp(&parts[*a].1).then(a.cmp(b)));
        for i in order {
            if left == 0 {
                break;
            }
            if parts[i].1 > 0 {
                parts[i].0 += 1;
                left -= 1;
            }
        }
        debug_assert_eq!(left, 0);
        Some(
            parts
                .into_iter()
                .map(|(fen, _)| Money::from_fen(fen as i64))
                .collect(),
        )
    }

    /// `self × num ÷ den`, rounded by the rule. `den` must not be zero.
    pub fn mul_ratio(self, num: Money, den: Money) -> Money {
        assert!(!den.is_zero(), "ratio with zero denominator");
        Money::round_half_up(self.0 * num.0 / den.0)
    }
}

/// Why a decimal's text is refused by `parse_decimal_text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalTextError {
    NotANumber,
    TooPrecise,
    TooLarge,
    Negative,
}

/// The longest decimal text read from outside.
pub const DECIMAL_TEXT_LEN_MAX: usize = 40;

/// Read a non-negative decimal from its text, exactly: `digits[.digits]`,
/// at most `places` significant decimal places and 12 integer digits.
/// Checked on the text itself, because `Decimal::from_str` rounds what it
/// cannot hold (beyond 28 significant digits) instead of refusing it.
pub fn parse_decimal_text(text: &str, places: usize) -> Result<Decimal, DecimalTextError> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if text.len() > DECIMAL_TEXT_LEN_MAX
        || (int.is_empty() && frac.is_empty())
        || !digits(int)
        || !digits(frac)
    {
        return Err(DecimalTextError::NotANumber);
    }
    if frac.trim_end_matches('0').len() > places {
        return Err(DecimalTextError::TooPrecise);
    }
    if int.trim_start_matches('0').len() > 12 {
        return Err(DecimalTextError::TooLarge);
    }
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    let d = if frac.is_empty() {
        Decimal::from_str(int)
    } else {
        Decimal::from_str(&format!("{int}.{frac}"))
    }
    .map_err(|_| DecimalTextError::NotANumber)?;
    if negative && !d.is_zero() {
        return Err(DecimalTextError::Negative);
    }
    Ok(d)
}

impl Money {
    /// `op` on the fen of `a` and `b`, when both are held to the fen (as
    /// every amount is) and the result fits: the same value, scale and
    /// representation `Decimal` arithmetic gives, without its general path.
    #[inline]
    fn fen_op(a: Money, b: Money, op: fn(i128, i128) -> Option<i128>) -> Option<Money> {
        if a.0.scale() != 2 || b.0.scale() != 2 {
            return None;
        }
        let r = op(a.0.mantissa(), b.0.mantissa())?;
        Decimal::try_from_i128_with_scale(r, 2).ok().map(Money)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    #[inline]
    fn add(self, rhs: Money) -> Money {
        if let Some(m) = Money::fen_op(self, rhs, i128::checked_add) {
            return m;
        }
        let mut d = self.0 + rhs.0;
        d.rescale(2);
        Money(d)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    #[inline]
    fn sub(self, rhs: Money) -> Money {
        if let Some(m) = Money::fen_op(self, rhs, i128::checked_sub) {
            return m;
        }
        let mut d = self.0 - rhs.0;
        d.rescale(2);
        Money(d)
    }
}

impl std::ops::AddAssign for Money {
    #[inline]
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl std::ops::SubAssign for Money {
    #[inline]
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = self.0;
        d.rescale(2);
        // `pad` honours width and alignment, for receipts and tables.
        f.pad(&d.to_string())
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{self}")
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            // i128 fen: sums in ledger totals can never overflow it.
            s.serialize_i128(
                (self.0 * Decimal::ONE_HUNDRED)
                    .to_i128()
                    .expect("a Decimal fits in i128"),
            )
        }
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            let dec = Decimal::from_str(text.trim()).map_err(serde::de::Error::custom)?;
            if dec.normalize().scale() > 2 {
                return Err(serde::de::Error::custom("more than two decimal places"));
            }
            let mut dec = dec;
            dec.rescale(2);
            Ok(Money(dec))
        } else {
            let fen = i128::deserialize(d)?;
            Ok(Money(
                Decimal::try_from_i128_with_scale(fen, 2).map_err(serde::de::Error::custom)?,
            ))
        }
    }
}

/// In ops (`codec`): the whole number of fen as a CBOR integer (1–9
/// bytes), which every amount is; anything else (not held to the fen, or
/// beyond an `i64` of fen) as an exact `[mantissa, scale]`.
impl<C> minicbor::Encode<C> for Money {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut minicbor::Encoder<W>,
        ctx: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        // Held to the fen (`Money::ZERO` has scale 0): decodes at scale 2,
        // the same value, as every amount is held.
        if self.0.scale() <= 2
            && let Some(fen) = 10i128
                .checked_pow(2 - self.0.scale())
                .and_then(|k| self.0.mantissa().checked_mul(k))
                .and_then(|f| i64::try_from(f).ok())
        {
            e.i64(fen)?;
            return Ok(());
        }
        crate::codec::decimal::encode(&self.0, e, ctx)
    }
}

impl<'b, C> minicbor::Decode<'b, C> for Money {
    fn decode(
        d: &mut minicbor::Decoder<'b>,
        ctx: &mut C,
    ) -> Result<Money, minicbor::decode::Error> {
        if d.datatype()? == minicbor::data::Type::Array {
            crate::codec::decimal::decode(d, ctx).map(Money)
        } else {
            d.i64().map(Money::from_fen)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn half_up_to_the_fen() {
        assert_eq!(Money::round_half_up(dec!(1.005)).to_string(), "1.01");
        assert_eq!(Money::round_half_up(dec!(1.004999)).to_string(), "1.00");
        assert_eq!(Money::round_half_up(dec!(94.05)).to_string(), "94.05");
        assert_eq!(Money::round_half_up(dec!(0.125)).to_string(), "0.13");
        assert_eq!(Money::round_half_up(dec!(2)).to_string(), "2.00");
    }

    #[test]
    fn spread_by_largest_remainder() {
        let y = Money::from_fen;
        // 0.10 over 3 equal lines: 0.03 each, the fen left to the first.
        assert_eq!(
            y(10).spread(&[y(100), y(100), y(100)]),
            Some(vec![y(4), y(3), y(3)])
        );
        assert_eq!(y(0).spread(&[y(5)]), Some(vec![y(0)]));
        assert_eq!(y(6).spread(&[y(5)]), None);
        assert_eq!(y(-1).spread(&[y(5)]), None);
        assert_eq!(y(5).spread(&[y(0), y(5)]), Some(vec![y(0), y(5)]));
    }

    proptest::proptest! {
        #[test]
        fn spread_parts_add_up_and_never_exceed_their_line(
            weights in proptest::collection::vec(0i64..1_000_000, 1..12),
            frac in 0u32..=1000,
        ) {
            let w: Vec<Money> = weights.iter().map(|f| Money::from_fen(*f)).collect();
            let total: i64 = weights.iter().sum();
            let amount = Money::from_fen(total * i64::from(frac) / 1000);
            let parts = amount.spread(&w).unwrap();
            proptest::prop_assert_eq!(parts.iter().copied().sum::<Money>(), amount);
            for (p, w) in parts.iter().zip(&w) {
                proptest::prop_assert!(!p.is_negative() && p <= w);
            }
        }
    }

    #[test]
    fn parse_rejects_bad_amounts() {
        assert_eq!(
            Money::parse_amount("100", true).unwrap().to_string(),
            "100.00"
        );
        assert_eq!(Money::parse_amount("0.1", true).unwrap().fen(), 10);
        assert_eq!(
            Money::parse_amount("1.001", true),
            Err(AmountError::TooPrecise)
        );
        assert_eq!(
            Money::parse_amount("1.0010", true),
            Err(AmountError::TooPrecise)
        );
        assert_eq!(Money::parse_amount("1.000", true).unwrap().fen(), 100);
        assert_eq!(Money::parse_amount("-5", true), Err(AmountError::Negative));
        assert_eq!(
            Money::parse_amount("0", true),
            Err(AmountError::NotPositive)
        );
        assert!(Money::parse_amount("0", false).unwrap().is_zero());
        assert_eq!(
            Money::parse_amount("1e3", true),
            Err(AmountError::NotANumber)
        );
        assert_eq!(
            Money::parse_amount("abc", true),
            Err(AmountError::NotANumber)
        );
        assert_eq!(Money::parse_amount("", true), Err(AmountError::NotANumber));
        assert_eq!(
            Money::parse_amount("10000000.01", true),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn digits_beyond_what_a_decimal_holds_are_refused_not_rounded() {
        let p = |t| Money::parse_amount(t, true);
        assert_eq!(
            p("0.0999999999999999999999999999999"),
            Err(AmountError::TooPrecise)
        );
        assert_eq!(
            p("100.000000000000000000000000000000001"),
            Err(AmountError::TooPrecise)
        );
        assert_eq!(p("88.400000000000000000000000").unwrap().fen(), 8840);
        assert_eq!(p("99999999999999999999999"), Err(AmountError::TooLarge));
        assert_eq!(p(".5").unwrap().fen(), 50);
        assert_eq!(p("5.").unwrap().fen(), 500);
        assert_eq!(p("."), Err(AmountError::NotANumber));
        assert_eq!(p("1.2.3"), Err(AmountError::NotANumber));
        assert_eq!(p("+7").unwrap().fen(), 700);
        assert_eq!(Money::parse_amount("-0", false).unwrap().fen(), 0);
        assert_eq!(
            parse_decimal_text("0.99999999999999999999999999999999", 3),
            Err(DecimalTextError::TooPrecise)
        );
        assert_eq!(parse_decimal_text("1.500", 3).unwrap().to_string(), "1.5");
    }

    #[test]
    fn encodings_round_trip() {
        let m = Money::from_fen(12345);
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"123.45\"");
        let back: Money = serde_json::from_str("\"123.45\"").unwrap();
        assert_eq!(back, m);
        let bytes = postcard::to_allocvec(&m).unwrap();
        assert_eq!(postcard::from_bytes::<Money>(&bytes).unwrap(), m);
    }

    proptest::proptest! {
        #[test]
        fn fen_round_trip(fen in -1_000_000_000i64..1_000_000_000) {
            let m = Money::from_fen(fen);
            proptest::prop_assert_eq!(m.fen(), fen);
            // At any scale the same amount is the same number of fen.
            proptest::prop_assert_eq!(Money(Decimal::new(fen, 0)).fen(), fen * 100);
            proptest::prop_assert_eq!(Money(Decimal::new(fen * 10, 1)).fen(), fen * 100);
            proptest::prop_assert_eq!(Money(Decimal::new(fen * 10, 3)).fen(), fen);
            let text = m.to_string();
            proptest::prop_assert_eq!(Money::round_half_up(Decimal::from_str(&text).unwrap()), m);
        }

        /// Adding and subtracting by fen gives what `Decimal` arithmetic
        /// (then rescaled to the fen) gives, to the representation.
        #[test]
        fn fen_arithmetic_is_decimal_arithmetic(a in -1_000_000_000_000i64..1_000_000_000_000, b in -1_000_000_000_000i64..1_000_000_000_000, same in proptest::bool::ANY) {
            let (x, y) = (Money::from_fen(a), Money::from_fen(if same { a } else { b }));
            let slow = |d: Decimal| {
                let mut d = d;
                d.rescale(2);
                d.serialize()
            };
            proptest::prop_assert_eq!((x + y).0.serialize(), slow(x.0 + y.0));
            proptest::prop_assert_eq!((x - y).0.serialize(), slow(x.0 - y.0));
            proptest::prop_assert_eq!((y - x).0.serialize(), slow(y.0 - x.0));
        }

        #[test]
        fn ratio_parts_never_exceed_whole(paid in 1i64..10_000_000, p in 0i64..10_000_000, b in 0i64..10_000_000) {
            proptest::prop_assume!(p + b > 0);
            let paid = Money::from_fen(paid);
            let part = paid.mul_ratio(Money::from_fen(p), Money::from_fen(p + b));
            proptest::prop_assert!(part <= paid);
            proptest::prop_assert!(!part.is_negative());
        }
    }
}
