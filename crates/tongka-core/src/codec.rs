//! The op codec (format 2): what an op's bytes are, and the one place
//! where they are checked on the way in.
//!
//! An op is `OP_FORMAT_V2` followed by one CBOR array (minicbor):
//! `[id, hlc, deps, needs, actor, idem, body, sig]`. Every type inside
//! derives minicbor's `Encode`/`Decode` with index-numbered fields, as
//! arrays: a decoder skips fields it does not know, an `Option` left out
//! decodes as `None`, and a field marked `default` decodes as its default.
//! So a field is added to a sale or a refund without a new variant and
//! without a compat shape: an older node reads the op as the op it knows.
//!
//! That is right only for a field an older node may ignore (a note, a
//! staff name). A field that changes what applying the op does (points
//! used now; coupon uses, card visits, stock lines later) is a **feature**:
//! `needs` is the set of features the op needs (bits, `FEATURE_*`), set by
//! its maker from its content (`OpBody::needs`), and a node refuses an op
//! that needs a feature it does not know (`DecodeError::UnknownFeature`)
//! instead of applying less than it says. The decoder also checks that the
//! declared features are the content's, so no op hides a feature.
//!
//! Ops of format 1 (postcard, before the break) are refused: nothing was
//! deployed, so there is no decoding of old shapes anywhere.

use minicbor::data::Type;
use minicbor::decode::{self, Decoder};
use minicbor::encode::{self, Encoder, Write};
use rust_decimal::Decimal;

/// A sale that pays with points or a refund that gives them back: applying
/// it moves the origin's points share (积分抵现).
pub const FEATURE_POINTS: u64 = 1 << 0;
/// Coupons: a coupon issued, a sale that uses coupons, a refund that gives
/// uses back, a transfer of uses (`coupon::held`).
pub const FEATURE_COUPONS: u64 = 1 << 1;
/// Count and period cards: a sale that sells cards, a visit, a refund of a
/// card, a transfer of visits (`card::held`).
pub const FEATURE_CARDS: u64 = 1 << 2;
/// Staff accounts: an account created or changed (`staff`).
pub const FEATURE_STAFF: u64 = 1 << 3;
/// Stock: a store's stock changed (`stock`), a sale or refund that moves
/// stock.
pub const FEATURE_STOCK: u64 = 1 << 4;
/// Day and shift closes (日结 / 交班): a store's close (`close`).
pub const FEATURE_CLOSE: u64 = 1 << 5;
/// Member import: a registration with opening balances (`op::Opening`).
pub const FEATURE_IMPORT: u64 = 1 << 6;
/// Settlement: a store's withdrawal requested, approved or rejected
/// (`settlement`).
pub const FEATURE_SETTLEMENT: u64 = 1 << 7;
/// Every feature this build knows how to apply.
pub const FEATURES_KNOWN: u64 = FEATURE_POINTS
    | FEATURE_COUPONS
    | FEATURE_CARDS
    | FEATURE_STAFF
    | FEATURE_STOCK
    | FEATURE_CLOSE
    | FEATURE_IMPORT
    | FEATURE_SETTLEMENT;

/// The name of feature bit `bit`, if this build knows it.
pub fn feature_name(bit: u32) -> Option<&'static str> {
    match 1u64.checked_shl(bit)? {
        FEATURE_POINTS => Some("points"),
        FEATURE_COUPONS => Some("coupons"),
        FEATURE_CARDS => Some("cards"),
        FEATURE_STAFF => Some("staff"),
        FEATURE_STOCK => Some("stock"),
        FEATURE_CLOSE => Some("close"),
        FEATURE_IMPORT => Some("import"),
        FEATURE_SETTLEMENT => Some("settlement"),
        _ => None,
    }
}

/// The lowest feature bit of `needs` this build does not know.
pub fn first_unknown_feature(needs: u64) -> Option<u32> {
    let unknown = needs & !FEATURES_KNOWN;
    (unknown != 0).then(|| unknown.trailing_zeros())
}

/// A mantissa: a CBOR integer when it fits an `i64` (always, for amounts),
/// else its 16 bytes, big-endian.
fn encode_mantissa<W: Write>(m: i128, e: &mut Encoder<W>) -> Result<(), encode::Error<W::Error>> {
    match i64::try_from(m) {
        Ok(small) => e.i64(small)?,
        Err(_) => e.bytes(&m.to_be_bytes())?,
    };
    Ok(())
}

fn decode_mantissa(d: &mut Decoder<'_>) -> Result<i128, decode::Error> {
    if d.datatype()? == Type::Bytes {
        let b: [u8; 16] = d
            .bytes()?
            .try_into()
            .map_err(|_| decode::Error::message("a mantissa of other than 16 bytes"))?;
        Ok(i128::from_be_bytes(b))
    } else {
        d.i64().map(i128::from)
    }
}

/// `Decimal` as `[mantissa, scale]`: exact, whatever its scale.
pub mod decimal {
    use super::*;

    pub fn encode<C, W: Write>(
        v: &Decimal,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), encode::Error<W::Error>> {
        e.array(2)?;
        encode_mantissa(v.mantissa(), e)?;
        e.u32(v.scale())?;
        Ok(())
    }

    pub fn decode<Ctx>(d: &mut Decoder<'_>, _: &mut Ctx) -> Result<Decimal, decode::Error> {
        if d.array()? != Some(2) {
            return Err(decode::Error::message("a decimal is [mantissa, scale]"));
        }
        let m = decode_mantissa(d)?;
        let scale = d.u32()?;
        Decimal::try_from_i128_with_scale(m, scale)
            .map_err(|_| decode::Error::message("decimal out of range"))
    }
}

/// `Decimal`s, each as `decimal` encodes it.
pub mod decimals {
    use super::*;

    pub fn encode<C, W: Write>(
        v: &[Decimal],
        e: &mut Encoder<W>,
        ctx: &mut C,
    ) -> Result<(), encode::Error<W::Error>> {
        e.array(v.len() as u64)?;
        for x in v {
            decimal::encode(x, e, ctx)?;
        }
        Ok(())
    }

    pub fn decode<Ctx>(d: &mut Decoder<'_>, ctx: &mut Ctx) -> Result<Vec<Decimal>, decode::Error> {
        let mut out = Vec::new();
        match d.array()? {
            Some(n) => {
                for _ in 0..n {
                    out.push(decimal::decode(d, ctx)?);
                }
            }
            None => {
                while d.datatype()? != Type::Break {
                    out.push(decimal::decode(d, ctx)?);
                }
                d.skip()?;
            }
        }
        Ok(out)
    }
}

/// A patch field that may also clear (`Option<Option<T>>`): left out =
/// unchanged, `[]` = cleared, `[v]` = set to `v`. (A plain `Option` of an
/// `Option` would encode both `None`s as null.)
pub mod patch {
    use super::*;
    use minicbor::{Decode, Encode};

    pub fn encode<C, T: Encode<C>, W: Write>(
        v: &Option<Option<T>>,
        e: &mut Encoder<W>,
        ctx: &mut C,
    ) -> Result<(), encode::Error<W::Error>> {
        match v {
            None => {
                e.null()?;
            }
            Some(None) => {
                e.array(0)?;
            }
            Some(Some(x)) => {
                e.array(1)?;
                x.encode(e, ctx)?;
            }
        }
        Ok(())
    }

    pub fn decode<'b, Ctx, T: Decode<'b, Ctx>>(
        d: &mut Decoder<'b>,
        ctx: &mut Ctx,
    ) -> Result<Option<Option<T>>, decode::Error> {
        match d.datatype()? {
            Type::Null | Type::Undefined => {
                d.skip()?;
                Ok(None)
            }
            _ => match d.array()? {
                Some(0) => Ok(Some(None)),
                Some(1) => Ok(Some(Some(T::decode(d, ctx)?))),
                _ => Err(decode::Error::message("a patch field is [] or [value]")),
            },
        }
    }

    pub fn nil<T>() -> Option<Option<Option<T>>> {
        Some(None)
    }

    pub fn is_nil<T>(v: &Option<Option<T>>) -> bool {
        v.is_none()
    }
}

/// For `skip_if`: a counter that is 0 is left out (and decodes as 0).
pub fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// For `skip_if`: an empty list is left out (and decodes as empty).
pub fn is_empty_vec<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// For `skip_if`: an amount that is 0 is left out (and decodes as 0).
pub fn is_zero_money(m: &crate::money::Money) -> bool {
    m.is_zero()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round<T>(
        v: &T,
        enc: impl Fn(
            &T,
            &mut Encoder<&mut Vec<u8>>,
        ) -> Result<(), encode::Error<std::convert::Infallible>>,
        dec: impl Fn(&mut Decoder<'_>) -> Result<T, decode::Error>,
    ) -> T {
        let mut out = Vec::new();
        enc(v, &mut Encoder::new(&mut out)).unwrap();
        let mut d = Decoder::new(&out);
        let back = dec(&mut d).unwrap();
        assert_eq!(d.position(), out.len(), "all bytes read");
        back
    }

    proptest! {
        #[test]
        fn decimals_round_trip(m in any::<i128>(), scale in 0u32..=28) {
            let m = m >> 32; // 96 bits, what a Decimal holds
            let v = Decimal::from_i128_with_scale(m, scale);
            let back = round(&v, |v, e| decimal::encode(v, e, &mut ()), |d| decimal::decode(d, &mut ()));
            prop_assert_eq!(back, v);
            prop_assert_eq!(back.scale(), v.scale());
            prop_assert_eq!(back.mantissa(), v.mantissa());
        }
    }

    #[test]
    fn a_patch_tells_unchanged_from_cleared() {
        for v in [None, Some(None), Some(Some("x".to_string()))] {
            let back = round(
                &v,
                |v, e| patch::encode(v, e, &mut ()),
                |d| patch::decode(d, &mut ()),
            );
            assert_eq!(back, v);
        }
    }

    #[test]
    fn features_are_named_and_unknown_ones_found() {
        assert_eq!(feature_name(0), Some("points"));
        assert_eq!(feature_name(1), Some("coupons"));
        assert_eq!(feature_name(2), Some("cards"));
        assert_eq!(feature_name(4), Some("stock"));
        assert_eq!(feature_name(5), Some("close"));
        assert_eq!(feature_name(6), Some("import"));
        assert_eq!(feature_name(7), Some("settlement"));
        assert_eq!(feature_name(8), None);
        assert_eq!(feature_name(99), None);
        assert_eq!(
            first_unknown_feature(FEATURE_POINTS | FEATURE_COUPONS),
            None
        );
        assert_eq!(
            first_unknown_feature(FEATURE_POINTS | 1 << 8 | 1 << 9),
            Some(8)
        );
    }
}
