//! Identifiers: 保険者番号, 記号・番号・枝番, 医療機関コード, card certificate serials.
//!
//! Each type exists only in its valid form (parse, don't validate). Sources:
//! DOMAIN §6.1 (保険者番号 layout and 検証番号, MHLW 設定要領) and §6.2
//! (記号・番号・枝番, 記録条件仕様 as quoted by the JAMI FHIR profiles).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::{ParseError, ParseErrorKind};

/// The 検証番号 (check digit) of a 保険者番号 or 公費負担者番号 body.
///
/// DOMAIN §6.1 (MHLW 設定要領): multiply the digits by 2, 1, 2, 1, … starting
/// from the **last** digit; a two-digit product counts as the sum of its digits;
/// the check digit is 10 − (sum mod 10), or 0 when that is 10.
///
/// `body` holds digit values 0–9 (not ASCII).
pub fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let p = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// The scheme a 保険者番号 belongs to, from its 法別番号 (DOMAIN §6.1 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsuranceKind {
    /// 01 全国健康保険協会管掌健康保険 (協会けんぽ)
    Kyokai,
    /// 02 船員保険
    Senin,
    /// 03, 04 日雇特例被保険者
    Hiyatoi,
    /// 06 組合管掌健康保険
    Kumiai,
    /// 07 自衛官等
    Jieikan,
    /// 31–34 共済組合
    Kyosai,
    /// 39 後期高齢者医療
    Kouki,
    /// 63, 72–75 特例退職
    TokureiTaishoku,
    /// 67 退職者医療 (legacy)
    Taishoku,
    /// 6-digit 市町村国保 (保険者別番号 not in the 300s)
    Kokuho,
    /// 6-digit 国保組合 (保険者別番号 in the 300s)
    KokuhoKumiai,
}

impl InsuranceKind {
    /// Which review and payment organisation receives claims for this scheme
    /// (DOMAIN §1.5: 被用者保険 → 支払基金; 国保 and 後期 → 国保連).
    pub fn payer(self) -> Payer {
        match self {
            Self::Kokuho | Self::KokuhoKumiai | Self::Kouki | Self::Taishoku => Payer::Kokuhoren,
            _ => Payer::ShiharaiKikin,
        }
    }

    /// Japanese label, as a reception screen shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kyokai => "協会けんぽ",
            Self::Senin => "船員保険",
            Self::Hiyatoi => "日雇特例",
            Self::Kumiai => "組合健保",
            Self::Jieikan => "自衛官等",
            Self::Kyosai => "共済組合",
            Self::Kouki => "後期高齢者医療",
            Self::TokureiTaishoku => "特例退職",
            Self::Taishoku => "退職者医療",
            Self::Kokuho => "国民健康保険",
            Self::KokuhoKumiai => "国民健康保険組合",
        }
    }
}

/// The review and payment organisation (審査支払機関).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    /// 社会保険診療報酬支払基金
    ShiharaiKikin,
    /// 国民健康保険団体連合会
    Kokuhoren,
}

fn houbetsu_kind(h: &str) -> Option<InsuranceKind> {
    use InsuranceKind::*;
    Some(match h {
        "01" => Kyokai,
        "02" => Senin,
        "03" | "04" => Hiyatoi,
        "06" => Kumiai,
        "07" => Jieikan,
        "31" | "32" | "33" | "34" => Kyosai,
        "39" => Kouki,
        "63" | "72" | "73" | "74" | "75" => TokureiTaishoku,
        "67" => Taishoku,
        _ => return None,
    })
}

fn digits_of(s: &str) -> Option<Vec<u8>> {
    s.bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect()
}

/// A 保険者番号 (insurer number): 8 digits (法別番号 2 + 都道府県 2 + 保険者別 3 +
/// 検証番号 1), or 6 digits for 市町村国保 and 国保組合 (no 法別番号).
///
/// DOMAIN §6.1. Parsing accepts the オン資 XML form, a 6-digit number
/// right-aligned in 8 characters with leading spaces (`"  138057"`), and refuses
/// a wrong 検証番号, a 都道府県番号 outside 01–47, and a 法別番号 that is not a
/// health-insurance scheme (公費 numbers such as 12 生活保護 are not insurers).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InsurerNumber(String);

impl InsurerNumber {
    const FIELD: &'static str = "insurer_number";

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let field = Self::FIELD;
        let t = s.trim_start_matches(' ').trim_end();
        let digits = digits_of(t).ok_or(ParseErrorKind::InsurerNumberFormat.at(field))?;
        if digits.len() != 6 && digits.len() != 8 {
            return Err(ParseErrorKind::InsurerNumberFormat.at(field));
        }
        let (body, cd) = digits.split_at(digits.len() - 1);
        if check_digit(body) != cd[0] {
            return Err(ParseErrorKind::InsurerNumberCheckDigit.at(field));
        }
        let pref_at = if digits.len() == 8 { 2 } else { 0 };
        let pref = digits[pref_at] * 10 + digits[pref_at + 1];
        if !(1..=47).contains(&pref) {
            return Err(ParseErrorKind::Prefecture(pref).at(field));
        }
        if digits.len() == 8 && houbetsu_kind(&t[..2]).is_none() {
            return Err(ParseErrorKind::InsurerNumberHoubetsu(t[..2].to_owned()).at(field));
        }
        Ok(Self(t.to_owned()))
    }

    /// Builds a valid number from its body (5 or 7 digits) by appending the
    /// 検証番号. Used by generators and tests.
    pub fn from_body(body: &str) -> Result<Self, ParseError> {
        let digits = digits_of(body).ok_or(ParseErrorKind::InsurerNumberFormat.at(Self::FIELD))?;
        Self::parse(&format!("{body}{}", check_digit(&digits)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 法別番号, absent for 6-digit 国保 numbers.
    pub fn houbetsu(&self) -> Option<&str> {
        (self.0.len() == 8).then(|| &self.0[..2])
    }

    /// The 都道府県番号 (01–47, JIS X 0401 order).
    pub fn prefecture(&self) -> u8 {
        let b = self.0.as_bytes();
        let at = if b.len() == 8 { 2 } else { 0 };
        (b[at] - b'0') * 10 + (b[at + 1] - b'0')
    }

    /// The scheme. 6-digit numbers whose 保険者別番号 is in the 300s are 国保組合.
    pub fn kind(&self) -> InsuranceKind {
        match self.houbetsu() {
            Some(h) => houbetsu_kind(h).unwrap_or(InsuranceKind::Kyokai),
            None if self.0.as_bytes()[2] == b'3' => InsuranceKind::KokuhoKumiai,
            None => InsuranceKind::Kokuho,
        }
    }

    /// 後期高齢者医療 (法別番号 39).
    pub fn is_kouki(&self) -> bool {
        self.kind() == InsuranceKind::Kouki
    }

    /// The number as the オン資 XML writes it: 8 characters, a 6-digit 国保 number
    /// left-padded with spaces (DOMAIN §3.2).
    pub fn to_oqs_field(&self) -> String {
        format!("{:>8}", self.0)
    }
}

impl fmt::Display for InsurerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl FromStr for InsurerNumber {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
impl TryFrom<String> for InsurerNumber {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<InsurerNumber> for String {
    fn from(v: InsurerNumber) -> Self {
        v.0
    }
}

/// Width of a character in the 記録条件仕様's byte count: 英数 1 byte, 漢字 2.
fn spec_bytes(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// Parses a 記号 or 番号: NFKC-normalised (full-width digits become ASCII), no
/// whitespace or control characters, at most 38 bytes counting 漢字 as 2
/// (DOMAIN §6.2).
fn parse_insured_code(field: &'static str, s: &str) -> Result<String, ParseError> {
    let t: String = s.trim().nfkc().collect();
    if t.is_empty() {
        return Err(ParseErrorKind::Empty.at(field));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) || spec_bytes(&t) > 38 {
        return Err(ParseErrorKind::InsuredCode.at(field));
    }
    Ok(t)
}

macro_rules! insured_code {
    ($(#[$m:meta])* $name:ident, $field:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                parse_insured_code($field, s).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}

insured_code!(
    /// 被保険者証等の記号 (insured symbol): omitted for 後期 and where the card has
    /// only a number. DOMAIN §6.2.
    InsuredSymbol,
    "insured_symbol"
);
insured_code!(
    /// 被保険者証等の番号 (insured number). DOMAIN §6.2.
    InsuredNumber,
    "insured_number"
);

/// 枝番: 2 digits, zero-padded; omitted for 後期 and 公費 (DOMAIN §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BranchNumber(u8);

impl BranchNumber {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t: String = s.trim().nfkc().collect();
        let b = t.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_digit) {
            return Err(ParseErrorKind::BranchNumber.at("insured_branch"));
        }
        Ok(Self((b[0] - b'0') * 10 + (b[1] - b'0')))
    }
    pub fn new(n: u8) -> Option<Self> {
        (n < 100).then_some(Self(n))
    }
    pub fn value(self) -> u8 {
        self.0
    }
}
impl fmt::Display for BranchNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}
impl TryFrom<String> for BranchNumber {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<BranchNumber> for String {
    fn from(v: BranchNumber) -> Self {
        v.to_string()
    }
}

/// 医療機関コード as オン資 uses it: 10 digits = 都道府県番号 (2) + 点数表番号 (1:
/// 1 医科, 3 歯科, 4 調剤, 6 訪問看護) + the 7-digit 医療機関コード.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstitutionCode(String);

impl InstitutionCode {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let field = "institution_code";
        let t = s.trim();
        let d = digits_of(t).ok_or(ParseErrorKind::InstitutionCode.at(field))?;
        if d.len() != 10 || !matches!(d[2], 1 | 3 | 4 | 6) {
            return Err(ParseErrorKind::InstitutionCode.at(field));
        }
        let pref = d[0] * 10 + d[1];
        if !(1..=47).contains(&pref) {
            return Err(ParseErrorKind::Prefecture(pref).at(field));
        }
        Ok(Self(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn prefecture(&self) -> u8 {
        let b = self.0.as_bytes();
        (b[0] - b'0') * 10 + (b[1] - b'0')
    }
}
impl fmt::Display for InstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for InstitutionCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<InstitutionCode> for String {
    fn from(v: InstitutionCode) -> Self {
        v.0
    }
}

/// The serial number of the card's 利用者証明用電子証明書: what a card check sends
/// instead of the My Number, which onshi never holds (DESIGN principles).
/// 1–64 ASCII letters, digits or hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CertificateSerial(String);

impl CertificateSerial {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        let ok = (1..=64).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(ParseErrorKind::CertificateSerial.at("certificate_serial"));
        }
        Ok(Self(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for CertificateSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for CertificateSerial {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<CertificateSerial> for String {
    fn from(v: CertificateSerial) -> Self {
        v.0
    }
}

/// The registry's link key for a resident: the stand-in for what the real
/// system receives from J-LIS (機関別符号) when an insurer registers a member by
/// My Number. It is never a My Number. 1–32 ASCII letters, digits or hyphens.
/// A patient sees only its last 4 characters (the identity check of the self view).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonRef(String);

impl PersonRef {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        let ok = (1..=32).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(ParseErrorKind::PersonRef.at("person_ref"));
        }
        Ok(Self(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The last 4 characters, for the patient's identity check.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len().saturating_sub(4)..]
    }
}
impl fmt::Display for PersonRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for PersonRef {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<PersonRef> for String {
    fn from(v: PersonRef) -> Self {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> &'static str {
        InsurerNumber::parse(s)
            .map(|_| "ok")
            .unwrap_or_else(|e| e.code())
    }

    #[test]
    fn check_digits_of_known_insurers() {
        // DOMAIN §0: worked examples of the 検証番号.
        assert_eq!(check_digit(&[3, 3, 1, 2, 0, 0, 1]), 5);
        assert_eq!(check_digit(&[0, 1, 1, 3, 0, 0, 1]), 2);
        assert_eq!(check_digit(&[3, 9, 2, 8, 0, 0, 0]), 3);
        assert_eq!(check_digit(&[7, 7, 7, 7, 7, 7, 7]), 9);
    }

    #[test]
    fn insurer_numbers_table() {
        let cases = [
            ("01130012", "ok"),
            ("39280003", "ok"),
            ("33120015", "ok"),
            ("01130013", "insurer_number_check_digit"),
            ("77777777", "insurer_number_check_digit"),
            ("0113001", "invalid_insurer_number"),
            ("011300120", "invalid_insurer_number"),
            ("0113OO12", "invalid_insurer_number"),
            ("", "invalid_insurer_number"),
            ("  138057", "ok"),
            ("138057", "ok"),
            ("12130019", "insurer_number_houbetsu"),
            ("01480011", "invalid_prefecture"),
        ];
        for (input, want) in cases {
            assert_eq!(code(input), want, "{input:?}");
        }
        // "12130019" must fail on the 法別番号, so its check digit has to be right.
        assert_eq!(check_digit(&[1, 2, 1, 3, 0, 0, 1]), 9);
        assert_eq!(check_digit(&[0, 1, 4, 8, 0, 0, 1]), 1);
        assert_eq!(check_digit(&[1, 3, 8, 0, 5]), 7);
    }

    #[test]
    fn insurer_number_kinds() {
        let n = InsurerNumber::parse("39280003").unwrap();
        assert!(n.is_kouki());
        assert_eq!(n.houbetsu(), Some("39"));
        assert_eq!(n.prefecture(), 28);
        assert_eq!(n.kind().payer(), Payer::Kokuhoren);
        let k = InsurerNumber::parse("01130012").unwrap();
        assert_eq!(k.kind(), InsuranceKind::Kyokai);
        assert_eq!(k.kind().payer(), Payer::ShiharaiKikin);
        let kokuho = InsurerNumber::parse("  138057").unwrap();
        assert_eq!(kokuho.as_str(), "138057");
        assert_eq!(kokuho.houbetsu(), None);
        assert_eq!(kokuho.kind(), InsuranceKind::Kokuho);
        assert_eq!(kokuho.to_oqs_field(), "  138057");
        let kumiai = InsurerNumber::from_body("13301").unwrap();
        assert_eq!(kumiai.kind(), InsuranceKind::KokuhoKumiai);
    }

    #[test]
    fn insured_codes() {
        assert_eq!(InsuredSymbol::parse("１２３").unwrap().as_str(), "123");
        assert_eq!(InsuredSymbol::parse("あいう").unwrap().as_str(), "あいう");
        assert_eq!(InsuredNumber::parse(" 45 ").unwrap().as_str(), "45");
        assert_eq!(
            InsuredNumber::parse("4 5").unwrap_err().code(),
            "invalid_insured_code"
        );
        assert_eq!(
            InsuredNumber::parse("").unwrap_err().code(),
            "missing_field"
        );
        assert!(InsuredNumber::parse(&"1".repeat(38)).is_ok());
        assert!(InsuredNumber::parse(&"1".repeat(39)).is_err());
        assert!(InsuredSymbol::parse(&"あ".repeat(19)).is_ok());
        assert!(InsuredSymbol::parse(&"あ".repeat(20)).is_err());
    }

    #[test]
    fn branches_and_institutions() {
        assert_eq!(BranchNumber::parse("01").unwrap().to_string(), "01");
        assert_eq!(BranchNumber::parse("０２").unwrap().value(), 2);
        for bad in ["1", "001", "a1", ""] {
            assert_eq!(
                BranchNumber::parse(bad).unwrap_err().code(),
                "invalid_branch_number"
            );
        }
        assert_eq!(
            InstitutionCode::parse("1312345678").unwrap().prefecture(),
            13
        );
        assert!(InstitutionCode::parse("1322345678").is_err());
        assert!(InstitutionCode::parse("4812345678").is_err());
        assert!(InstitutionCode::parse("131234567").is_err());
        assert!(CertificateSerial::parse("SN-0001").is_ok());
        assert!(CertificateSerial::parse("SN 0001").is_err());
        assert_eq!(PersonRef::parse("P0000001234").unwrap().last4(), "1234");
        assert_eq!(PersonRef::parse("AB").unwrap().last4(), "AB");
        assert!(PersonRef::parse("").is_err());
    }

    proptest! {
        /// Every body completed with its check digit parses; every other last
        /// digit is refused on the check digit.
        #[test]
        fn check_digit_round_trip(body in "(0[1-46-7]|3[1-49]|6[37]|7[2-5])(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{3}", wrong in 1u8..10) {
            let n = InsurerNumber::from_body(&body).unwrap();
            prop_assert_eq!(&n.as_str()[..7], body.as_str());
            let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
            let bad = (check_digit(&digits) + wrong) % 10;
            let e = InsurerNumber::parse(&format!("{body}{bad}")).unwrap_err();
            prop_assert_eq!(e.code(), "insurer_number_check_digit");
        }

        /// Any single-digit typo in a valid number is caught (weights 2,1 make
        /// every substitution change the sum modulo 10).
        #[test]
        fn single_digit_typos_are_caught(body in "01(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{3}", pos in 0usize..8, delta in 1u8..10) {
            let good = InsurerNumber::from_body(&body).unwrap();
            let mut b = good.as_str().as_bytes().to_vec();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(b).unwrap();
            prop_assert!(InsurerNumber::parse(&typo).is_err());
        }

        /// The parser never panics on arbitrary text.
        #[test]
        fn parsers_total(s in "\\PC{0,40}") {
            let _ = InsurerNumber::parse(&s);
            let _ = InsuredSymbol::parse(&s);
            let _ = BranchNumber::parse(&s);
            let _ = InstitutionCode::parse(&s);
            let _ = CertificateSerial::parse(&s);
            let _ = PersonRef::parse(&s);
        }
    }
}
