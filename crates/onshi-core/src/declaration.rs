//! The 被保険者資格申立書 (notice 別添3 別紙様式) as data.
//!
//! The form is filled 「可能な範囲で」: every field may be empty, and a partly
//! filled form is valid. What is written must still be possible: a real 和暦
//! date inside its era, a known checkbox value, a phone number made of digits.
//! The data is used only for claims and discarded once the claim is paid
//! (the form's own note); see `onshi-clinic` for the deletion schedule.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::burden::{BurdenRatio, age_on};
use crate::error::{ParseError, ParseErrorKind, clean_text};
use crate::person::{KanaName, PersonName, Sex};
use crate::reception::DeclaredRatio;
use crate::wareki::WarekiDate;

/// 保険種別 on the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsuranceType {
    /// 社保 (健康保険組合, 共済組合, 協会けんぽ)
    Shaho,
    /// 国保
    Kokuho,
    /// 後期
    Kouki,
    /// その他 (自衛官, 公費単独)
    Other,
    /// わからない
    Unknown,
}

impl InsuranceType {
    pub fn label(self) -> &'static str {
        match self {
            Self::Shaho => "社保",
            Self::Kokuho => "国保",
            Self::Kouki => "後期",
            Self::Other => "その他",
            Self::Unknown => "わからない",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "shaho" | "社保" => Self::Shaho,
            "kokuho" | "国保" => Self::Kokuho,
            "kouki" | "後期" => Self::Kouki,
            "other" | "その他" => Self::Other,
            "unknown" | "わからない" => Self::Unknown,
            _ => return None,
        })
    }
}

/// 保険証の交付を受けた時期.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardIssued {
    /// 1ヶ月以内
    WithinMonth,
    /// それより前
    Earlier,
    /// わからない
    Unknown,
}

impl CardIssued {
    pub fn label(self) -> &'static str {
        match self {
            Self::WithinMonth => "1ヶ月以内",
            Self::Earlier => "それより前",
            Self::Unknown => "わからない",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "within_month" | "1ヶ月以内" => Self::WithinMonth,
            "earlier" | "それより前" => Self::Earlier,
            "unknown" | "わからない" => Self::Unknown,
            _ => return None,
        })
    }
}

/// The form as it arrives (every field a string, all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeclaration {
    /// 「有効な保険証の交付を受けている」 checked: `true`/`false`.
    pub has_valid_card: Option<bool>,
    /// shaho / kokuho / kouki / other / unknown (or 社保 …).
    pub insurance_type: Option<String>,
    pub insurer_name: Option<String>,
    pub employer: Option<String>,
    /// within_month / earlier / unknown.
    pub card_issued: Option<String>,
    /// 3割 / 2割 / 1割 / わからない (or 30 / 20 / 10 / unknown).
    pub ratio: Option<String>,
    pub name: Option<String>,
    pub kana: Option<String>,
    /// 和暦 (昭和55年4月1日, S55.4.1) or ISO; kept with its era.
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    pub address: Option<String>,
    /// 居所, when different from the address on the card.
    pub residence: Option<String>,
    /// The date written on the form (ISO).
    pub declared_on: Option<String>,
    pub signature: Option<String>,
    /// 患者との関係, when someone else signs.
    pub signer_relation: Option<String>,
    pub phone: Option<String>,
}

/// The form, parsed. Every field may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declaration {
    pub has_valid_card: Option<bool>,
    pub insurance_type: Option<InsuranceType>,
    pub insurer_name: Option<String>,
    pub employer: Option<String>,
    pub card_issued: Option<CardIssued>,
    pub ratio: Option<DeclaredRatio>,
    pub name: Option<PersonName>,
    pub kana: Option<KanaName>,
    pub birth_date: Option<WarekiDate>,
    pub sex: Option<Sex>,
    pub address: Option<String>,
    pub residence: Option<String>,
    pub declared_on: Option<NaiveDate>,
    pub signature: Option<String>,
    pub signer_relation: Option<String>,
    pub phone: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn invalid(field: &'static str) -> ParseError {
    ParseErrorKind::DeclarationValue.at(field)
}

/// A Japanese phone number: digits with optional hyphens or parentheses, 10
/// or 11 digits, starting with 0.
pub fn parse_phone(s: &str) -> Result<String, ParseError> {
    let t: String = s
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            'ー' | '－' | '−' => '-',
            _ => c,
        })
        .collect();
    let ok_chars = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '(' | ')'));
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if !ok_chars || !(10..=11).contains(&digits.len()) || !digits.starts_with('0') {
        return Err(ParseErrorKind::Phone.at("phone"));
    }
    Ok(t)
}

impl Declaration {
    /// Parses a partly filled form. Empty fields stay empty; a written value
    /// that is impossible is refused with its field.
    pub fn parse(raw: &RawDeclaration) -> Result<Self, ParseError> {
        let text = |v: &Option<String>, field: &'static str, max: usize| {
            present(v).map(|s| clean_text(field, s, max)).transpose()
        };
        let ratio = present(&raw.ratio)
            .map(|s| match s {
                "わからない" | "unknown" => Ok(DeclaredRatio::Unknown),
                _ => {
                    let r = BurdenRatio::parse(s).or_else(|_| {
                        s.parse::<u16>()
                            .map_err(|_| invalid("ratio"))
                            .and_then(BurdenRatio::from_percent)
                    });
                    match r {
                        Ok(r) if r != BurdenRatio::FULL => Ok(DeclaredRatio::Ratio(r)),
                        _ => Err(invalid("ratio")),
                    }
                }
            })
            .transpose()?;
        let birth_date = present(&raw.birth_date)
            .map(|s| {
                WarekiDate::parse(s)
                    .or_else(|e| {
                        crate::parse_iso_date("birth_date", s)
                            .map_err(|_| e)
                            .and_then(WarekiDate::from_gregorian)
                    })
                    .map_err(|e| e.for_field("birth_date"))
            })
            .transpose()?;
        let declared_on = present(&raw.declared_on)
            .map(|s| crate::parse_iso_date("declared_on", s))
            .transpose()?;
        if let (Some(b), Some(on)) = (birth_date, declared_on)
            && b.to_gregorian() > on
        {
            return Err(ParseErrorKind::BirthAfterDeclaration.at("birth_date"));
        }
        // 1割 exists only in 後期高齢者医療 (75, or 65 with a disability certification).
        if let (Some(DeclaredRatio::Ratio(r)), Some(b), Some(on)) = (ratio, birth_date, declared_on)
            && r == BurdenRatio::ONE
            && age_on(b.to_gregorian(), on) < 65
        {
            return Err(ParseErrorKind::ImpossibleRatio.at("ratio"));
        }
        Ok(Declaration {
            has_valid_card: raw.has_valid_card,
            insurance_type: present(&raw.insurance_type)
                .map(|s| InsuranceType::parse(s).ok_or(invalid("insurance_type")))
                .transpose()?,
            insurer_name: text(&raw.insurer_name, "insurer_name", 60)?,
            employer: text(&raw.employer, "employer", 60)?,
            card_issued: present(&raw.card_issued)
                .map(|s| CardIssued::parse(s).ok_or(invalid("card_issued")))
                .transpose()?,
            ratio,
            name: present(&raw.name).map(PersonName::parse).transpose()?,
            kana: present(&raw.kana).map(KanaName::parse).transpose()?,
            birth_date,
            sex: present(&raw.sex).map(Sex::parse).transpose()?,
            address: text(&raw.address, "address", 200)?,
            residence: text(&raw.residence, "residence", 200)?,
            declared_on,
            signature: text(&raw.signature, "signature", 64)?,
            signer_relation: text(&raw.signer_relation, "signer_relation", 20)?,
            phone: present(&raw.phone).map(parse_phone).transpose()?,
        })
    }

    /// The fields still empty, by name (what the clerk may ask for).
    /// The items of 別添3 a claim built on this 申立書 needs, by their
    /// Japanese names: ※1 事業所名 when the type is 社保, その他 or わからない
    /// (国保組合 cannot be told from 国保 here); ※2 負担割合 for a patient of
    /// 70 or over on `on`, or in 後期; the date (記入日) and the signature
    /// (署名). The form may still be filled only in part at the window
    /// (notice §2(2) 「可能な範囲で」); these are what the claim cannot do without.
    pub fn missing_for_claim(&self, birth: NaiveDate, on: NaiveDate) -> Vec<&'static str> {
        let mut m = Vec::new();
        if matches!(
            self.insurance_type,
            Some(InsuranceType::Shaho | InsuranceType::Other | InsuranceType::Unknown)
        ) && self.employer.as_deref().is_none_or(|e| e.trim().is_empty())
        {
            m.push("事業所名（※1）");
        }
        let elderly = crate::burden::age_on(birth, on) >= 70
            || self.insurance_type == Some(InsuranceType::Kouki);
        if elderly && self.ratio.is_none() {
            m.push("負担割合（※2）");
        }
        if self.declared_on.is_none() {
            m.push("記入日");
        }
        if self
            .signature
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            m.push("署名");
        }
        m
    }

    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        let mut need = |present: bool, name: &'static str| {
            if !present {
                m.push(name);
            }
        };
        need(self.insurance_type.is_some(), "insurance_type");
        need(self.insurer_name.is_some(), "insurer_name");
        need(self.ratio.is_some(), "ratio");
        need(self.name.is_some(), "name");
        need(self.kana.is_some(), "kana");
        need(self.birth_date.is_some(), "birth_date");
        need(self.sex.is_some(), "sex");
        need(self.address.is_some(), "address");
        need(self.phone.is_some(), "phone");
        // 別添3 ※1: the 事業所名 where the type names an employer's scheme
        // (or is unknown); the date and the signature of the form itself.
        if matches!(
            self.insurance_type,
            Some(InsuranceType::Shaho | InsuranceType::Other | InsuranceType::Unknown)
        ) {
            need(self.employer.is_some(), "employer");
        }
        need(self.declared_on.is_some(), "declared_on");
        need(
            self.signature
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty()),
            "signature",
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partly_filled_is_valid() {
        let d = Declaration::parse(&RawDeclaration {
            name: Some("山田 太郎".into()),
            ratio: Some("わからない".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(d.ratio, Some(DeclaredRatio::Unknown));
        assert!(d.missing().contains(&"phone"));
        assert!(Declaration::parse(&RawDeclaration::default()).is_ok());
    }

    #[test]
    fn full_form() {
        let d = Declaration::parse(&RawDeclaration {
            has_valid_card: Some(true),
            insurance_type: Some("社保".into()),
            insurer_name: Some("全国健康保険協会東京支部".into()),
            employer: Some("株式会社あおば商事".into()),
            card_issued: Some("within_month".into()),
            ratio: Some("3割".into()),
            name: Some("山田 太郎".into()),
            kana: Some("やまだ たろう".into()),
            birth_date: Some("昭和55年4月1日".into()),
            sex: Some("男".into()),
            address: Some("東京都千代田区霞が関1-2-3".into()),
            residence: None,
            declared_on: Some("2026-11-25".into()),
            signature: Some("山田 太郎".into()),
            signer_relation: None,
            phone: Some("０３－１２３４－５６７８".into()),
        })
        .unwrap();
        assert_eq!(d.birth_date.unwrap().to_string(), "昭和55年4月1日");
        assert_eq!(d.kana.as_ref().unwrap().as_str(), "ヤマダ タロウ");
        assert_eq!(d.phone.as_deref(), Some("03-1234-5678"));
        assert!(d.missing().is_empty());
    }

    #[test]
    fn impossible_values_are_refused() {
        let field = |raw: RawDeclaration| Declaration::parse(&raw).unwrap_err();
        let e = field(RawDeclaration {
            birth_date: Some("平成31年5月1日".into()),
            ..Default::default()
        });
        assert_eq!((e.field, e.code()), ("birth_date", "wareki_out_of_era"));
        let e = field(RawDeclaration {
            birth_date: Some("昭和55年2月30日".into()),
            ..Default::default()
        });
        assert_eq!(e.code(), "impossible_date");
        let e = field(RawDeclaration {
            insurance_type: Some("民間".into()),
            ..Default::default()
        });
        assert_eq!(
            (e.field, e.code()),
            ("insurance_type", "invalid_declaration_value")
        );
        let e = field(RawDeclaration {
            ratio: Some("10割".into()),
            ..Default::default()
        });
        assert_eq!(e.field, "ratio");
        let e = field(RawDeclaration {
            phone: Some("03-1234-abcd".into()),
            ..Default::default()
        });
        assert_eq!(e.code(), "invalid_phone");
        let e = field(RawDeclaration {
            phone: Some("12-3456-7890".into()),
            ..Default::default()
        });
        assert_eq!(e.code(), "invalid_phone");
        let e = field(RawDeclaration {
            birth_date: Some("令和8年12月1日".into()),
            declared_on: Some("2026-11-25".into()),
            ..Default::default()
        });
        assert_eq!(e.code(), "birth_after_declaration");
        let e = field(RawDeclaration {
            ratio: Some("1割".into()),
            birth_date: Some("平成2年1月1日".into()),
            declared_on: Some("2026-11-25".into()),
            ..Default::default()
        });
        assert_eq!((e.field, e.code()), ("ratio", "impossible_ratio"));
        let e = field(RawDeclaration {
            kana: Some("山田".into()),
            ..Default::default()
        });
        assert_eq!(e.code(), "invalid_kana");
    }
}
