//! # onshi-core
//!
//! The types and rules of オンライン資格確認 and of MHLW notice 保発0710第1号
//! (2023-07-10), as plain values and pure functions. **No I/O**: no files, no
//! network, no clock. Every rule takes the date it judges on.
//!
//! What lives here:
//!
//! | module | holds |
//! | --- | --- |
//! | [`error`] | [`ParseError`], the typed reason a value was refused, with a stable code and Japanese text |
//! | [`ids`] | [`InsurerNumber`] (検証番号, 法別番号), [`InsuredSymbol`], [`InsuredNumber`], [`BranchNumber`], [`InstitutionCode`], [`CertificateSerial`], [`PersonRef`] |
//! | [`wareki`] | [`WarekiDate`] and [`Era`]: 和暦 with exact era boundaries |
//! | [`kana`] | normalisation of kana, names and addresses used for matching |
//! | [`matching`] | the 5-attribute match of a registration against the resident record |
//! | [`person`] | [`Person`], [`Sex`], [`PersonName`], [`KanaName`], [`Address`] |
//! | [`qualification`] | [`Qualification`] (資格) and [`Relation`] (本人/家族) |
//! | [`burden`] | [`BurdenRatio`] and the ratio by age (DOMAIN §5) |
//! | [`reception`] | why a check failed (notice §1) and the window-burden decision (notice §2) |
//! | [`declaration`] | the 被保険者資格申立書 (別添3) as data, partly filled |
//! | [`claim`] | the claim's insurer fields by notice §3, 不詳 numbers and 摘要, payer routing |
//! | [`claim_life`] | a claim's states and transitions at the institution, the rank of the facts its insurer fields rest on, §5(2) |
//! | [`apportion`] | 按分 by largest remainder (notice §4) |
//! | [`check`] | [`Validity`] (OQSCD006), certificate grace, and the answer rules for card and number checks |
//!
//! May depend on: std, serde, chrono, thiserror, unicode-normalization. Nothing
//! else, and never on another onshi crate: a receipt-computer vendor can use this
//! crate alone.

pub mod apportion;
pub mod burden;
pub mod check;
pub mod claim;
pub mod claim_life;
pub mod declaration;
pub mod error;
pub mod ids;
pub mod kana;
pub mod matching;
pub mod person;
pub mod qualification;
pub mod reception;
pub mod wareki;

pub use burden::BurdenRatio;
pub use check::{CertificateStatus, Validity};
pub use error::{ParseError, ParseErrorKind};
pub use ids::{
    BranchNumber, CertificateSerial, InstitutionCode, InsuranceKind, InsuredNumber, InsuredSymbol,
    InsurerNumber, Payer, PersonRef,
};
pub use person::{Address, KanaName, Person, PersonName, Sex};
pub use qualification::{Qualification, Relation};
pub use wareki::{Era, WarekiDate};

/// Parses an ISO date `YYYY-MM-DD` (the wire format of every date in the API).
pub fn parse_iso_date(field: &'static str, s: &str) -> Result<chrono::NaiveDate, ParseError> {
    let t = s.trim();
    let ok_shape = t.len() == 10
        && t.as_bytes()[4] == b'-'
        && t.as_bytes()[7] == b'-'
        && t.bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !ok_shape {
        return Err(ParseErrorKind::DateFormat.at(field));
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| ParseErrorKind::ImpossibleDate.at(field))
}

/// Parses a date as a clerk or a receipt computer writes a birth date: ISO
/// `YYYY-MM-DD`, the オン資 XML `YYYYMMDD`, or any 和暦 form
/// [`WarekiDate::parse`] takes (`昭和55年4月1日`, `S55.4.1`, `3550401`).
/// A 和暦 day outside its era (平成31年5月1日) is refused, not shifted.
pub fn parse_date_any(field: &'static str, s: &str) -> Result<chrono::NaiveDate, ParseError> {
    let t = s.trim();
    let b = t.as_bytes();
    if b.len() == 10 && b[4] == b'-' {
        return parse_iso_date(field, t);
    }
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        return chrono::NaiveDate::parse_from_str(t, "%Y%m%d")
            .map_err(|_| ParseErrorKind::ImpossibleDate.at(field));
    }
    WarekiDate::parse(t)
        .map(WarekiDate::to_gregorian)
        .map_err(|e| e.for_field(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(
            parse_iso_date("d", "2024-02-29").unwrap(),
            chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert_eq!(
            parse_iso_date("d", "2023-02-29"),
            Err(ParseErrorKind::ImpossibleDate.at("d"))
        );
        assert_eq!(
            parse_iso_date("d", "2023-2-1"),
            Err(ParseErrorKind::DateFormat.at("d"))
        );
        assert_eq!(
            parse_iso_date("d", "20230201"),
            Err(ParseErrorKind::DateFormat.at("d"))
        );
    }

    #[test]
    fn any_date_form() {
        let want = chrono::NaiveDate::from_ymd_opt(1980, 4, 1).unwrap();
        for s in [
            "1980-04-01",
            "19800401",
            "昭和55年4月1日",
            "S55.4.1",
            "3550401",
        ] {
            assert_eq!(parse_date_any("birth_date", s).unwrap(), want, "{s}");
        }
        let e = parse_date_any("birth_date", "平成31年5月1日").unwrap_err();
        assert_eq!((e.field, e.code()), ("birth_date", "wareki_out_of_era"));
        assert_eq!(
            parse_date_any("birth_date", "19800231").unwrap_err().code(),
            "impossible_date"
        );
        assert_eq!(
            parse_date_any("birth_date", "1980/04/01")
                .unwrap_err()
                .code(),
            "invalid_wareki"
        );
    }
}
