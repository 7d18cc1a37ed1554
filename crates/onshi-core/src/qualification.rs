//! 資格: a person's membership of one insurer for a period.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::burden::BurdenRatio;
use crate::error::{ParseError, ParseErrorKind};
use crate::ids::{BranchNumber, InsuredNumber, InsuredSymbol, InsurerNumber};

/// 本人・家族の区分 (OQSCD009: 1 本人, 2 家族).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// 本人 (被保険者)
    Insured,
    /// 家族 (被扶養者)
    Dependent,
}

impl Relation {
    pub fn code(self) -> u8 {
        match self {
            Relation::Insured => 1,
            Relation::Dependent => 2,
        }
    }
    pub fn kanji(self) -> &'static str {
        match self {
            Relation::Insured => "本人",
            Relation::Dependent => "家族",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "1" | "insured" | "本人" => Ok(Relation::Insured),
            "2" | "dependent" | "家族" => Ok(Relation::Dependent),
            _ => Err(ParseErrorKind::Relation.at("relation")),
        }
    }
}

/// The card numbers of a qualification: 保険者番号, 記号, 番号, 枝番.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InsuranceNumbers {
    pub insurer_number: InsurerNumber,
    pub symbol: Option<InsuredSymbol>,
    pub number: InsuredNumber,
    pub branch: Option<BranchNumber>,
}

impl InsuranceNumbers {
    /// Builds the numbers, applying the 後期高齢者医療 rules of DOMAIN §6.2: no
    /// 記号, no 枝番, and an 8-digit 被保険者番号.
    pub fn new(
        insurer_number: InsurerNumber,
        symbol: Option<InsuredSymbol>,
        number: InsuredNumber,
        branch: Option<BranchNumber>,
    ) -> Result<Self, ParseError> {
        if insurer_number.is_kouki() {
            if symbol.is_some() {
                return Err(ParseErrorKind::NotForKouki("記号").at("insured_symbol"));
            }
            if branch.is_some() {
                return Err(ParseErrorKind::NotForKouki("枝番").at("insured_branch"));
            }
            let n = number.as_str();
            if n.len() != 8 || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseErrorKind::KoukiNumber.at("insured_number"));
            }
        }
        Ok(Self {
            insurer_number,
            symbol,
            number,
            branch,
        })
    }
}

/// A qualification (資格) as an insurer registers it.
///
/// `lost_on` is the 資格喪失日: the first day **without** the qualification
/// (the day after leaving a job, the day of death, the 75th birthday for the
/// old scheme). So the qualification is valid on `d` when
/// `acquired_on <= d < lost_on`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualification {
    #[serde(flatten)]
    pub numbers: InsuranceNumbers,
    pub relation: Relation,
    pub acquired_on: NaiveDate,
    pub lost_on: Option<NaiveDate>,
    /// The ratio the insurer registered, where it varies by income (70–74 and
    /// 後期); `None` where the age rule decides (see [`crate::burden`]).
    pub burden_ratio: Option<BurdenRatio>,
    /// 事業所名, for employee insurance.
    pub employer: Option<String>,
}

impl Qualification {
    /// Checks the date order (a qualification lost on or before the day it was
    /// acquired never existed).
    pub fn validate_dates(
        acquired_on: NaiveDate,
        lost_on: Option<NaiveDate>,
    ) -> Result<(), ParseError> {
        match lost_on {
            Some(l) if l <= acquired_on => Err(ParseErrorKind::LossBeforeAcquisition.at("lost_on")),
            _ => Ok(()),
        }
    }

    /// Valid on `d`: `acquired_on <= d < lost_on`.
    pub fn is_valid_on(&self, d: NaiveDate) -> bool {
        valid_between(self.acquired_on, self.lost_on, d)
    }
}

/// The validity window rule shared by every qualification-like record:
/// valid from the acquisition day up to the day before the loss day.
pub fn valid_between(acquired_on: NaiveDate, lost_on: Option<NaiveDate>, d: NaiveDate) -> bool {
    acquired_on <= d && lost_on.is_none_or(|l| d < l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn validity_window() {
        assert!(valid_between(
            d("2024-04-01"),
            Some(d("2024-10-01")),
            d("2024-04-01")
        ));
        assert!(valid_between(
            d("2024-04-01"),
            Some(d("2024-10-01")),
            d("2024-09-30")
        ));
        assert!(!valid_between(
            d("2024-04-01"),
            Some(d("2024-10-01")),
            d("2024-10-01")
        ));
        assert!(!valid_between(d("2024-04-01"), None, d("2024-03-31")));
        assert!(Qualification::validate_dates(d("2024-04-01"), Some(d("2024-04-01"))).is_err());
    }

    #[test]
    fn kouki_numbers() {
        let kouki = InsurerNumber::parse("39280003").unwrap();
        let n8 = InsuredNumber::parse("12345678").unwrap();
        assert!(InsuranceNumbers::new(kouki.clone(), None, n8.clone(), None).is_ok());
        let e = InsuranceNumbers::new(kouki.clone(), None, n8.clone(), BranchNumber::new(1))
            .unwrap_err();
        assert_eq!(e.code(), "not_for_kouki");
        let sym = InsuredSymbol::parse("1").ok();
        assert_eq!(
            InsuranceNumbers::new(kouki.clone(), sym, n8, None)
                .unwrap_err()
                .field,
            "insured_symbol"
        );
        let short = InsuredNumber::parse("1234").unwrap();
        assert_eq!(
            InsuranceNumbers::new(kouki, None, short, None)
                .unwrap_err()
                .code(),
            "invalid_kouki_number"
        );
        assert_eq!(Relation::parse("家族").unwrap(), Relation::Dependent);
    }
}
