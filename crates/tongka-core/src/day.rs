//! Calendar days: a coupon's validity window, a card's period, a member's
//! birthday are days of the chain's calendar, not instants. A [`Day`] is a
//! whole number of days since 1970-01-01 in the chain's time zone, written
//! `YYYY-MM-DD`; the day of an instant is taken at a fixed UTC offset
//! ([`CHAIN_UTC_OFFSET_MINUTES`], China Standard Time, which has no
//! daylight saving). Pure arithmetic (the civil-from-days algorithm of
//! Howard Hinnant), no clock: the caller passes the instant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The chain's calendar: UTC+8 (中国标准时间).
pub const CHAIN_UTC_OFFSET_MINUTES: i64 = 8 * 60;

/// The first and last days accepted from outside (as birthdays are).
pub const YEAR_MIN: i32 = 1900;
pub const YEAR_MAX: i32 = 2100;

/// A calendar day: days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Day(pub i32);

/// A day given from outside that is not `YYYY-MM-DD` of a real date
/// between 1900 and 2100.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date of the form YYYY-MM-DD between 1900 and 2100")]
pub struct BadDay(pub String);

impl Day {
    /// The day of `y-m-d`, `None` when it is no date.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Day> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        // days_from_civil (H. Hinnant).
        let y = if m <= 2 { y - 1 } else { y } as i64;
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = m as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        i32::try_from(era * 146_097 + doe - 719_468).ok().map(Day)
    }

    /// Year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
        (y, m, d)
    }

    /// The chain's day at instant `ms` (milliseconds since the Unix epoch,
    /// as an HLC's wall time).
    pub fn of_ms(ms: u64) -> Day {
        let local = ms as i64 / 60_000 + CHAIN_UTC_OFFSET_MINUTES;
        Day(local.div_euclid(24 * 60) as i32)
    }

    /// The instant this day starts in the chain's time zone, in
    /// milliseconds since the Unix epoch (negative before 1970-01-01 08:00
    /// China time): the first instant `of_ms` calls this day. A day's
    /// instants are `start_ms()` up to `plus(1).start_ms()`, excluded.
    pub fn start_ms(self) -> i64 {
        (self.0 as i64 * 24 * 60 - CHAIN_UTC_OFFSET_MINUTES) * 60_000
    }

    /// `n` days later (earlier when negative).
    pub fn plus(self, n: i32) -> Day {
        Day(self.0.saturating_add(n))
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        _ => 28,
    }
}

impl FromStr for Day {
    type Err = BadDay;

    /// Exactly `YYYY-MM-DD`, a real date between 1900 and 2100.
    fn from_str(s: &str) -> Result<Day, BadDay> {
        let bad = || BadDay(s.chars().take(40).collect());
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) {
            return Err(bad());
        }
        if !digits(8..10) {
            return Err(bad());
        }
        let y: i32 = s[0..4].parse().map_err(|_| bad())?;
        let m: u32 = s[5..7].parse().map_err(|_| bad())?;
        let d: u32 = s[8..10].parse().map_err(|_| bad())?;
        if !(YEAR_MIN..=YEAR_MAX).contains(&y) {
            return Err(bad());
        }
        Day::from_ymd(y, m, d).ok_or_else(bad)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            i32::deserialize(d).map(Day)
        }
    }
}

impl<C> minicbor::Encode<C> for Day {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut minicbor::Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.i32(self.0)?;
        Ok(())
    }
}

impl<'b, C> minicbor::Decode<'b, C> for Day {
    fn decode(d: &mut minicbor::Decoder<'b>, _: &mut C) -> Result<Day, minicbor::decode::Error> {
        d.i32().map(Day)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_days() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Some(Day(0)));
        assert_eq!(Day::from_ymd(2000, 3, 1), Some(Day(11_017)));
        assert_eq!(
            "2026-12-05".parse::<Day>().unwrap().to_string(),
            "2026-12-05"
        );
        assert_eq!(
            Day::from_ymd(2024, 2, 29).unwrap().plus(1).to_string(),
            "2024-03-01"
        );
        assert!(Day::from_ymd(2026, 2, 29).is_none());
        // 2026-12-05 15:59:59.999 UTC is still the 5th in China, 16:00 the 6th.
        let fifth = "2026-12-05".parse::<Day>().unwrap();
        let ms = |h: u64, m: u64| (fifth.0 as u64 * 86_400 + h * 3600 + m * 60) * 1000;
        assert_eq!(Day::of_ms(ms(15, 59) + 59_999), fifth);
        assert_eq!(Day::of_ms(ms(16, 0)), fifth.plus(1));
        // The 6th starts at 16:00 UTC of the 5th.
        assert_eq!(fifth.plus(1).start_ms(), ms(16, 0) as i64);
    }

    #[test]
    fn bad_days_are_refused() {
        for s in [
            "",
            "2026-1-05",
            "2026-13-01",
            "2026-02-30",
            "1899-12-31",
            "2101-01-01",
            "2026/12/05",
            "２０２６-12-05",
            "2026-12-05\n",
            "+026-12-05",
            "2026-12-0x",
        ] {
            assert!(s.parse::<Day>().is_err(), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn days_round_trip(n in -25_567i32..47_482) {
            let day = Day(n);
            let (y, m, d) = day.ymd();
            prop_assert_eq!(Day::from_ymd(y, m, d), Some(day));
            prop_assert_eq!(day.to_string().parse::<Day>(), Ok(day));
            prop_assert_eq!(day.plus(1).ymd() > (y, m, d), true);
        }

        #[test]
        fn a_day_starts_where_of_ms_begins_it(n in 1i32..47_482) {
            let day = Day(n);
            let start = day.start_ms();
            prop_assert!(start > 0);
            prop_assert_eq!(Day::of_ms(start as u64), day);
            prop_assert_eq!(Day::of_ms(start as u64 - 1), day.plus(-1));
            prop_assert_eq!(day.plus(1).start_ms() - start, 86_400_000);
        }
    }
}
