//! Persons and their 基本4情報 (name, birth date, sex, address) plus kana.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{ParseError, ParseErrorKind, clean_text};
use crate::kana;

/// Sex as オン資 codes it (OQSCD007: 1 男, 2 女). JSON: `"male"` / `"female"`;
/// parsing also takes `1`/`2` and `男`/`女`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn code(self) -> u8 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
        }
    }
    pub fn kanji(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "1" | "male" | "男" | "M" | "m" => Ok(Sex::Male),
            "2" | "female" | "女" | "F" | "f" => Ok(Sex::Female),
            _ => Err(ParseErrorKind::Sex.at("sex")),
        }
    }
}
impl FromStr for Sex {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

macro_rules! text_type {
    ($(#[$m:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
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

text_type!(
    /// 氏名 as registered (kept as written; match through [`kana::name_key`]).
    PersonName,
    "name",
    64
);
text_type!(
    /// 氏名（カナ）, stored as full-width katakana with single spaces.
    KanaName,
    "kana",
    64
);
text_type!(
    /// 住所 as registered.
    Address,
    "address",
    200
);

impl PersonName {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        clean_text("name", s, Self::MAX_CHARS).map(Self)
    }
    /// The matching key (see [`kana::name_key`]).
    pub fn key(&self) -> String {
        kana::name_key(&self.0)
    }
}

impl KanaName {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = clean_text("kana", s, Self::MAX_CHARS)?;
        if !kana::is_kana_text(&t) {
            return Err(ParseErrorKind::KanaName.at("kana"));
        }
        Ok(Self(kana::kana_display(&t)))
    }
    /// The matching key (see [`kana::kana_key`]).
    pub fn key(&self) -> String {
        kana::kana_key(&self.0)
    }
}

impl Address {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        clean_text("address", s, Self::MAX_CHARS).map(Self)
    }
    /// The matching key (see [`kana::address_key`]).
    pub fn key(&self) -> String {
        kana::address_key(&self.0)
    }
}

/// A person as the registry knows them: the 基本4情報 and kana (DOMAIN §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: PersonName,
    pub kana: KanaName,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub address: Address,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_person_fields() {
        assert_eq!(
            KanaName::parse("やまだ　たろう").unwrap().as_str(),
            "ヤマダ タロウ"
        );
        assert_eq!(KanaName::parse("ﾔﾏﾀﾞ ﾀﾛｳ").unwrap().key(), "ヤマダタロウ");
        assert_eq!(KanaName::parse("山田").unwrap_err().code(), "invalid_kana");
        assert_eq!(PersonName::parse("  ").unwrap_err().code(), "missing_field");
        assert_eq!(
            PersonName::parse("山田\u{0}").unwrap_err().code(),
            "invalid_character"
        );
        assert_eq!(
            PersonName::parse(&"あ".repeat(65)).unwrap_err().code(),
            "field_too_long"
        );
        assert_eq!(Sex::parse("女").unwrap(), Sex::Female);
        assert_eq!(Sex::parse("3").unwrap_err().code(), "invalid_sex");
        let json = serde_json::to_string(&Sex::Male).unwrap();
        assert_eq!(json, "\"male\"");
    }
}
