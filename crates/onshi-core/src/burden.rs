//! 一部負担金の割合 (burden ratio) and its age rules.
//!
//! DOMAIN §5 (健康保険法74条, 国民健康保険法42条, 高齢者医療確保法67条):
//! - 未就学児: 2割 up to the first 3月31日 on or after the day the child
//!   reaches 6 (the day before the 6th birthday);
//! - then 3割;
//! - 70–74 (高齢受給者): from the first of the month after the month containing
//!   the day of reaching 70 (so that month itself when born on the 1st), 2割, or
//!   3割 for 現役並み所得者 (the insurer registers which);
//! - 後期高齢者医療: 1割, 2割 or 3割 as the 広域連合 registers.
//!
//! Ages follow 年齢計算ニ関スル法律: an age is reached at the end of the day
//! before the birthday; for 2月29日 births, in common years, on 2月28日.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{ParseError, ParseErrorKind};

/// A burden ratio in tenths: 1割, 2割, 3割, or 10割 (the whole cost, when
/// nothing shows the patient's qualification; notice §2). JSON: the percentage
/// (`30` for 3割), as オン資 writes `InsuredPartialContributionRatio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct BurdenRatio(u8);

impl BurdenRatio {
    pub const ONE: BurdenRatio = BurdenRatio(1);
    pub const TWO: BurdenRatio = BurdenRatio(2);
    pub const THREE: BurdenRatio = BurdenRatio(3);
    pub const FULL: BurdenRatio = BurdenRatio(10);

    pub fn from_tenths(t: u8) -> Result<Self, ParseError> {
        match t {
            1 | 2 | 3 | 10 => Ok(Self(t)),
            _ => Err(ParseErrorKind::BurdenRatio.at("burden_ratio")),
        }
    }

    /// A ratio an insurer may register (1割, 2割, 3割): 10割 is only ever a
    /// window decision, never a member's ratio.
    pub fn registered(self) -> Result<Self, ParseError> {
        if self == Self::FULL {
            Err(ParseErrorKind::BurdenRatio.at("burden_ratio"))
        } else {
            Ok(self)
        }
    }

    /// From a percentage (10, 20, 30, 100).
    pub fn from_percent(p: u16) -> Result<Self, ParseError> {
        if !p.is_multiple_of(10) || p > 100 {
            return Err(ParseErrorKind::BurdenRatio.at("burden_ratio"));
        }
        Self::from_tenths((p / 10) as u8)
    }

    /// Parses `3割`, `３割`, `3` (tenths) or `30%`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseErrorKind::BurdenRatio.at("burden_ratio");
        let t: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                _ => c,
            })
            .collect();
        if let Some(n) = t.strip_suffix('割') {
            return Self::from_tenths(n.parse().map_err(|_| bad())?);
        }
        if let Some(n) = t.strip_suffix('%') {
            return Self::from_percent(n.parse().map_err(|_| bad())?);
        }
        Self::from_tenths(t.parse().map_err(|_| bad())?)
    }

    pub fn tenths(self) -> u8 {
        self.0
    }
    pub fn percent(self) -> u16 {
        u16::from(self.0) * 10
    }
}

impl fmt::Display for BurdenRatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}割", self.0)
    }
}
impl TryFrom<u16> for BurdenRatio {
    type Error = ParseError;
    fn try_from(p: u16) -> Result<Self, Self::Error> {
        Self::from_percent(p)
    }
}
impl From<BurdenRatio> for u16 {
    fn from(r: BurdenRatio) -> u16 {
        r.percent()
    }
}

/// The date of the `n`th birthday anniversary; 2月29日 births have it on 3月1日
/// in common years.
fn anniversary(birth: NaiveDate, n: u32) -> NaiveDate {
    let y = birth.year() + n as i32;
    NaiveDate::from_ymd_opt(y, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, 3, 1))
        .unwrap_or(NaiveDate::MAX)
}

/// The day a person reaches age `n` (年齢計算ニ関スル法律: the day before the
/// anniversary).
pub fn day_reaching_age(birth: NaiveDate, n: u32) -> NaiveDate {
    anniversary(birth, n).pred_opt().unwrap_or(NaiveDate::MIN)
}

/// Age in whole years on `d` (the age reached by the end of `d`).
pub fn age_on(birth: NaiveDate, d: NaiveDate) -> u32 {
    // A person born on 1月1日 reaches the next age on 12月31日 of the year
    // before, so start one above the difference of years and come down.
    let mut age = (d.year() - birth.year() + 1).max(0) as u32;
    while age > 0 && day_reaching_age(birth, age) > d {
        age -= 1;
    }
    age
}

/// The last day of 未就学: the first 3月31日 on or after the day of reaching 6.
pub fn preschool_until(birth: NaiveDate) -> NaiveDate {
    let r = day_reaching_age(birth, 6);
    let march31 = |y| NaiveDate::from_ymd_opt(y, 3, 31).unwrap_or(NaiveDate::MAX);
    if r <= march31(r.year()) {
        march31(r.year())
    } else {
        march31(r.year() + 1)
    }
}

/// The first day of 高齢受給者 (70–74): the first of the month after the month
/// containing the day of reaching 70.
pub fn elderly_from(birth: NaiveDate) -> NaiveDate {
    let r = day_reaching_age(birth, 70);
    let (y, m) = if r.month() == 12 {
        (r.year() + 1, 1)
    } else {
        (r.year(), r.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
}

/// The first day of 後期高齢者医療: the 75th birthday itself (高齢者医療確保法
/// 50条, 52条; DOMAIN §5: 「75歳の誕生日の前日まで」 on the old card). A
/// 2月29日 birth reaches it on 3月1日 in a common year.
pub fn kouki_from(birth: NaiveDate) -> NaiveDate {
    anniversary(birth, 75)
}

/// The age band that decides the ratio on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    /// 未就学児
    Preschool,
    /// 義務教育就学後〜69歳
    General,
    /// 70〜74歳 (高齢受給者)
    Elderly,
}

pub fn age_band(birth: NaiveDate, d: NaiveDate) -> AgeBand {
    if d <= preschool_until(birth) {
        AgeBand::Preschool
    } else if d < elderly_from(birth) {
        AgeBand::General
    } else {
        AgeBand::Elderly
    }
}

/// The burden ratio on `d` for a member of a scheme (DOMAIN §5).
///
/// - 後期高齢者医療 (`kouki`): the registered ratio; `None` if none is registered
///   (the answer then shows no ratio, as the terminal does).
/// - otherwise by age: 未就学 2割, general 3割, 70–74 the registered ratio
///   (2割, or 3割 現役並み), 2割 when none is registered.
///
/// A registered ratio for someone in the preschool or general band is ignored:
/// the statute fixes those ratios.
pub fn ratio_on(
    birth: NaiveDate,
    kouki: bool,
    registered: Option<BurdenRatio>,
    d: NaiveDate,
) -> Option<BurdenRatio> {
    if kouki {
        return registered;
    }
    Some(match age_band(birth, d) {
        AgeBand::Preschool => BurdenRatio::TWO,
        AgeBand::General => BurdenRatio::THREE,
        AgeBand::Elderly => registered
            .filter(|r| *r == BurdenRatio::THREE)
            .unwrap_or(BurdenRatio::TWO),
    })
}

/// The 窓口負担 (window amount) in yen for `points` 点 at `ratio`: points × 10円
/// × ratio, with the 一部負担金 rounding of 健康保険法75条 / 国保法42条の2
/// (DOMAIN §5): under 5円 dropped, 5円 or more rounded up to 10円. Rounded
/// once, on the total (never per line).
pub fn window_amount(points: u64, ratio: BurdenRatio) -> u64 {
    // points × 10 yen × tenths / 10 = points × tenths, exactly.
    let raw = points.saturating_mul(u64::from(ratio.tenths()));
    let rest = raw % 10;
    if rest < 5 {
        raw - rest
    } else {
        (raw - rest).saturating_add(10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn parse_ratios() {
        assert_eq!(BurdenRatio::parse("3割").unwrap(), BurdenRatio::THREE);
        assert_eq!(BurdenRatio::parse("２割").unwrap(), BurdenRatio::TWO);
        assert_eq!(BurdenRatio::parse("10%").unwrap(), BurdenRatio::ONE);
        assert_eq!(BurdenRatio::parse("10割").unwrap(), BurdenRatio::FULL);
        for bad in ["4割", "0", "25%", "", "三割"] {
            assert!(BurdenRatio::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&BurdenRatio::THREE).unwrap(), "30");
        assert!(serde_json::from_str::<BurdenRatio>("40").is_err());
    }

    #[test]
    fn age_boundaries() {
        // Reaching an age is the day before the birthday.
        assert_eq!(age_on(d("2000-05-10"), d("2006-05-08")), 5);
        assert_eq!(age_on(d("2000-05-10"), d("2006-05-09")), 6);
        assert_eq!(age_on(d("2000-02-29"), d("2001-02-27")), 0);
        assert_eq!(age_on(d("2000-02-29"), d("2001-02-28")), 1);
        assert_eq!(age_on(d("1971-01-01"), d("2045-12-31")), 75);
        assert_eq!(age_on(d("1971-01-01"), d("2045-12-30")), 74);
        assert_eq!(age_on(d("2020-01-01"), d("2019-12-31")), 0);
        // 未就学: born 2018-04-02 reaches 6 on 2024-04-01 → until 2025-03-31.
        assert_eq!(preschool_until(d("2018-04-02")), d("2025-03-31"));
        // Born 2018-04-01 reaches 6 on 2024-03-31 → until that very day.
        assert_eq!(preschool_until(d("2018-04-01")), d("2024-03-31"));
        // 70: born 1955-06-15 reaches 70 on 2025-06-14 → from 2025-07-01.
        assert_eq!(elderly_from(d("1955-06-15")), d("2025-07-01"));
        // Born on the 1st: reaches 70 on the last day of the previous month.
        assert_eq!(elderly_from(d("1955-06-01")), d("2025-06-01"));
        assert_eq!(elderly_from(d("1955-12-20")), d("2026-01-01"));
        // 後期: the 75th birthday itself.
        assert_eq!(kouki_from(d("1950-06-15")), d("2025-06-15"));
        assert_eq!(kouki_from(d("1950-06-01")), d("2025-06-01"));
        assert_eq!(kouki_from(d("1948-02-29")), d("2023-03-01"));
        assert_eq!(kouki_from(d("1952-02-29")), d("2027-03-01"));
        assert_eq!(kouki_from(d("1956-02-29")), d("2031-03-01"));
        assert_eq!(day_reaching_age(d("1952-02-29"), 75), d("2027-02-28"));
    }

    #[test]
    fn ratio_table() {
        let cases = [
            ("2020-01-01", false, None, "2024-06-01", Some(2)),
            ("1990-01-01", false, None, "2024-06-01", Some(3)),
            ("1990-01-01", false, Some(1), "2024-06-01", Some(3)),
            ("1954-03-10", false, None, "2024-04-01", Some(2)),
            ("1954-03-10", false, Some(3), "2024-04-01", Some(3)),
            ("1954-03-10", false, Some(3), "2024-03-31", Some(3)),
            ("1954-04-10", false, Some(2), "2024-04-30", Some(3)),
            ("1945-01-01", true, Some(1), "2024-06-01", Some(1)),
            ("1945-01-01", true, None, "2024-06-01", None),
        ];
        for (birth, kouki, reg, on, want) in cases {
            let reg = reg.map(|t| BurdenRatio::from_tenths(t).unwrap());
            let got = ratio_on(d(birth), kouki, reg, d(on)).map(|r| r.tenths());
            assert_eq!(got, want, "{birth} {kouki} {reg:?} {on}");
        }
    }

    #[test]
    fn window_amounts() {
        // DOMAIN §5 example: 1,146円 → 1,150円.
        assert_eq!(window_amount(382, BurdenRatio::THREE), 1150);
        assert_eq!(window_amount(123, BurdenRatio::THREE), 370);
        assert_eq!(window_amount(121, BurdenRatio::THREE), 360);
        assert_eq!(window_amount(125, BurdenRatio::TWO), 250);
        assert_eq!(window_amount(1234, BurdenRatio::FULL), 12340);
        assert_eq!(window_amount(0, BurdenRatio::ONE), 0);
        // Never panics, even far beyond any real claim.
        assert!(window_amount(u64::MAX, BurdenRatio::THREE) >= u64::MAX - 10);
    }

    proptest! {
        /// The amount always ends in 0, is within 5円 of the exact share, and
        /// never decreases with more points.
        #[test]
        fn amount_rounding(points in 0u64..10_000_000, t in prop::sample::select(vec![1u8, 2, 3, 10])) {
            let r = BurdenRatio::from_tenths(t).unwrap();
            let a = window_amount(points, r);
            let exact = points * u64::from(t);
            prop_assert_eq!(a % 10, 0);
            prop_assert!(a.abs_diff(exact) <= 5);
            prop_assert!(window_amount(points + 1, r) >= a);
            if exact % 10 >= 5 { prop_assert!(a > exact) } else { prop_assert!(a <= exact) }
        }

        /// The bands are contiguous: preschool ends exactly one day before
        /// general starts, and general ends the day before 70–74 starts; the
        /// 70 band always starts on the 1st.
        #[test]
        fn band_boundaries(days in 0i64..(365 * 100)) {
            let birth = d("1920-01-01") + chrono::Duration::days(days);
            let p = preschool_until(birth);
            prop_assert_eq!(p.month(), 3);
            prop_assert_eq!(p.day(), 31);
            prop_assert_eq!(age_band(birth, p), AgeBand::Preschool);
            prop_assert_eq!(age_band(birth, p.succ_opt().unwrap()), AgeBand::General);
            let e = elderly_from(birth);
            prop_assert_eq!(e.day(), 1);
            prop_assert_eq!(age_band(birth, e), AgeBand::Elderly);
            prop_assert_eq!(age_band(birth, e.pred_opt().unwrap()), AgeBand::General);
            prop_assert_eq!(age_on(birth, e), 70);
            prop_assert!(age_on(birth, e.pred_opt().unwrap()) >= 69);
            let k = kouki_from(birth);
            prop_assert_eq!(age_on(birth, k), 75);
            prop_assert_eq!(age_on(birth, k.pred_opt().unwrap()), 75);
            prop_assert!(age_on(birth, k.pred_opt().unwrap().pred_opt().unwrap()) == 74);
        }
    }
}
