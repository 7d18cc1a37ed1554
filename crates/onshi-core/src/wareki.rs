//! 和暦 (Japanese era) dates, 明治 to 令和, with exact era boundaries.
//!
//! Boundaries (first day of each era, Gregorian): 明治 1868-10-23 (改元の詔;
//! the era was applied back to 明治元年1月1日 in the lunar calendar, which no
//! living person's date needs), 大正 1912-07-30, 昭和 1926-12-25, 平成 1989-01-08,
//! 令和 2019-05-01. Checked against icu_calendar in STACK.md §3. Era codes 1–5
//! are the ones the receipt formats use (1 明治 … 5 令和; DOMAIN §5, STACK §3).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::{ParseError, ParseErrorKind};

/// A Japanese era.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Era {
    Meiji,
    Taisho,
    Showa,
    Heisei,
    Reiwa,
}

impl Era {
    pub const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    /// The first day of the era.
    pub fn start(self) -> NaiveDate {
        let (y, m, d) = match self {
            Era::Meiji => (1868, 10, 23),
            Era::Taisho => (1912, 7, 30),
            Era::Showa => (1926, 12, 25),
            Era::Heisei => (1989, 1, 8),
            Era::Reiwa => (2019, 5, 1),
        };
        // The table holds real dates; `from_ymd_opt` cannot fail on them.
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    /// The day after the era's last day, if it has ended.
    pub fn end(self) -> Option<NaiveDate> {
        self.next().map(Era::start)
    }

    pub fn next(self) -> Option<Era> {
        match self {
            Era::Meiji => Some(Era::Taisho),
            Era::Taisho => Some(Era::Showa),
            Era::Showa => Some(Era::Heisei),
            Era::Heisei => Some(Era::Reiwa),
            Era::Reiwa => None,
        }
    }

    /// The code used in receipt files: 1 明治 … 5 令和.
    pub fn code(self) -> u8 {
        self as u8 + 1
    }

    pub fn from_code(c: u8) -> Option<Era> {
        Self::ALL.get(usize::from(c).checked_sub(1)?).copied()
    }

    pub fn kanji(self) -> &'static str {
        ["明治", "大正", "昭和", "平成", "令和"][self as usize]
    }

    /// The one-letter abbreviation (M, T, S, H, R).
    pub fn letter(self) -> char {
        ['M', 'T', 'S', 'H', 'R'][self as usize]
    }

    fn from_letter(c: char) -> Option<Era> {
        let i = "MTSHR".find(c.to_ascii_uppercase())?;
        Self::ALL.get(i).copied()
    }

    fn from_kanji_prefix(s: &str) -> Option<(Era, &str)> {
        Self::ALL
            .iter()
            .find_map(|&e| s.strip_prefix(e.kanji()).map(|rest| (e, rest)))
    }

    /// The era a Gregorian date falls in, if it is not before 明治.
    pub fn of(date: NaiveDate) -> Option<Era> {
        Self::ALL.iter().rev().copied().find(|e| e.start() <= date)
    }
}

/// A date in 和暦, always a real day inside its era: 平成31年4月30日 exists,
/// 平成31年5月1日 does not (that day is 令和元年5月1日).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WarekiDate {
    era: Era,
    year: u16,
    month: u8,
    day: u8,
}

impl WarekiDate {
    /// Builds a date from its parts, refusing days that do not exist or lie
    /// outside the era.
    pub fn new(era: Era, year: u16, month: u8, day: u8) -> Result<Self, ParseError> {
        let field = "wareki";
        let out = ParseErrorKind::WarekiOutOfEra {
            era: era.kanji(),
            year,
            month,
            day,
        }
        .at(field);
        if year == 0 {
            return Err(out);
        }
        let gy = era.start().year() + i32::from(year) - 1;
        let g = NaiveDate::from_ymd_opt(gy, u32::from(month), u32::from(day))
            .ok_or(ParseErrorKind::ImpossibleDate.at(field))?;
        if g < era.start() || era.end().is_some_and(|end| g >= end) {
            return Err(out);
        }
        Ok(Self {
            era,
            year,
            month,
            day,
        })
    }

    /// The 和暦 of a Gregorian date (refused before 明治).
    pub fn from_gregorian(date: NaiveDate) -> Result<Self, ParseError> {
        let era = Era::of(date).ok_or(ParseErrorKind::WarekiFormat.at("wareki"))?;
        let year = (date.year() - era.start().year() + 1) as u16;
        Ok(Self {
            era,
            year,
            month: date.month() as u8,
            day: date.day() as u8,
        })
    }

    pub fn to_gregorian(self) -> NaiveDate {
        let gy = self.era.start().year() + i32::from(self.year) - 1;
        // Construction guarantees the day exists.
        NaiveDate::from_ymd_opt(gy, u32::from(self.month), u32::from(self.day))
            .unwrap_or(NaiveDate::MIN)
    }

    pub fn era(self) -> Era {
        self.era
    }
    pub fn year(self) -> u16 {
        self.year
    }
    pub fn month(self) -> u8 {
        self.month
    }
    pub fn day(self) -> u8 {
        self.day
    }

    /// The receipt form `GYYMMDD` (era code + 2-digit year, month, day).
    pub fn to_code(self) -> String {
        format!(
            "{}{:02}{:02}{:02}",
            self.era.code(),
            self.year,
            self.month,
            self.day
        )
    }

    /// Parses the forms a clerk or a receipt file writes:
    /// `令和元年5月1日`, `令和1年5月1日`, `R1.5.1`, `R01/05/01`, `R1-5-1`, and the
    /// 7-digit code `5010501`. Full-width digits are accepted.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseErrorKind::WarekiFormat.at("wareki");
        let t: String = s.nfkc().filter(|c| !c.is_whitespace()).collect();
        if t.len() == 7 && t.bytes().all(|b| b.is_ascii_digit()) {
            let n = |r: std::ops::Range<usize>| t[r].parse::<u16>().map_err(|_| bad());
            let era = Era::from_code(n(0..1)? as u8).ok_or_else(bad)?;
            return Self::new(era, n(1..3)?, n(3..5)? as u8, n(5..7)? as u8);
        }
        let (era, rest) = if let Some((e, rest)) = Era::from_kanji_prefix(&t) {
            (e, rest)
        } else {
            let c = t.chars().next().ok_or_else(bad)?;
            (Era::from_letter(c).ok_or_else(bad)?, &t[c.len_utf8()..])
        };
        let rest = rest.replacen("元", "1", 1);
        let parts: Vec<&str> = rest
            .split(['年', '月', '日', '.', '/', '-'])
            .filter(|p| !p.is_empty())
            .collect();
        let well_formed = parts.len() == 3
            && parts
                .iter()
                .all(|p| p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()));
        if !well_formed {
            return Err(bad());
        }
        let n = |i: usize| parts[i].parse::<u16>().map_err(|_| bad());
        Self::new(era, n(0)?, n(1)? as u8, n(2)? as u8)
    }
}

impl fmt::Display for WarekiDate {
    /// `令和元年5月1日` (元年 for year 1, as on the forms).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.era.kanji())?;
        if self.year == 1 {
            f.write_str("元")?;
        } else {
            write!(f, "{}", self.year)?;
        }
        write!(f, "年{}月{}日", self.month, self.day)
    }
}
impl TryFrom<String> for WarekiDate {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<WarekiDate> for String {
    fn from(v: WarekiDate) -> Self {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn era_boundaries_are_exact() {
        assert_eq!(
            WarekiDate::parse("平成31年4月30日").unwrap().to_gregorian(),
            d(2019, 4, 30)
        );
        assert_eq!(
            WarekiDate::parse("平成31年5月1日").unwrap_err().code(),
            "wareki_out_of_era"
        );
        assert_eq!(
            WarekiDate::parse("令和元年5月1日").unwrap().to_gregorian(),
            d(2019, 5, 1)
        );
        assert_eq!(
            WarekiDate::parse("令和1年4月30日").unwrap_err().code(),
            "wareki_out_of_era"
        );
        assert_eq!(
            WarekiDate::parse("昭和64年1月7日").unwrap().to_gregorian(),
            d(1989, 1, 7)
        );
        assert!(WarekiDate::parse("昭和64年1月8日").is_err());
        assert_eq!(
            WarekiDate::parse("平成元年1月8日").unwrap().to_gregorian(),
            d(1989, 1, 8)
        );
        assert_eq!(
            WarekiDate::parse("大正15年12月24日")
                .unwrap()
                .to_gregorian(),
            d(1926, 12, 24)
        );
        assert!(WarekiDate::parse("大正15年12月25日").is_err());
        assert_eq!(
            WarekiDate::parse("昭和元年12月25日")
                .unwrap()
                .to_gregorian(),
            d(1926, 12, 25)
        );
        assert_eq!(
            WarekiDate::parse("明治45年7月29日").unwrap().to_gregorian(),
            d(1912, 7, 29)
        );
        assert!(WarekiDate::parse("明治45年7月30日").is_err());
        assert_eq!(
            WarekiDate::parse("大正元年7月30日").unwrap().to_gregorian(),
            d(1912, 7, 30)
        );
    }

    #[test]
    fn forms_and_impossible_dates() {
        let r1 = WarekiDate::parse("令和元年5月1日").unwrap();
        for form in [
            "R1.5.1",
            "r01/05/01",
            "R1-5-1",
            "令和１年５月１日",
            "5010501",
            "令和 元年 5月 1日",
        ] {
            assert_eq!(WarekiDate::parse(form).unwrap(), r1, "{form}");
        }
        assert_eq!(r1.to_string(), "令和元年5月1日");
        assert_eq!(r1.to_code(), "5010501");
        assert_eq!(
            WarekiDate::parse("令和5年2月29日").unwrap_err().code(),
            "impossible_date"
        );
        assert!(WarekiDate::parse("令和6年2月29日").is_ok());
        assert_eq!(
            WarekiDate::parse("令和0年1月1日").unwrap_err().code(),
            "wareki_out_of_era"
        );
        assert_eq!(
            WarekiDate::parse("令和5年13月1日").unwrap_err().code(),
            "impossible_date"
        );
        for bad in [
            "",
            "X1.5.1",
            "令和",
            "令和5年5月",
            "2019-05-01",
            "令和123年1月1日",
            "6010101",
        ] {
            assert!(WarekiDate::parse(bad).is_err(), "{bad}");
        }
        assert!(WarekiDate::from_gregorian(d(1868, 10, 22)).is_err());
        assert_eq!(Era::from_code(5), Some(Era::Reiwa));
        assert_eq!(Era::from_code(0), None);
    }

    proptest! {
        /// Gregorian → 和暦 → text → 和暦 → Gregorian is the identity.
        #[test]
        fn round_trip(days in 0i64..(365 * 160)) {
            let g = d(1868, 10, 23) + chrono::Duration::days(days);
            let w = WarekiDate::from_gregorian(g).unwrap();
            prop_assert_eq!(WarekiDate::parse(&w.to_string()).unwrap(), w);
            prop_assert_eq!(WarekiDate::parse(&w.to_code()).unwrap(), w);
            prop_assert_eq!(w.to_gregorian(), g);
        }

        /// Never panics, whatever the input.
        #[test]
        fn parse_total(s in "\\PC{0,20}") {
            let _ = WarekiDate::parse(&s);
        }
    }
}
