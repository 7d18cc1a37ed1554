//! The 5-attribute match of an insurer's registration against the person's
//! resident record (基本4情報 + カナ氏名).
//!
//! Source: DOMAIN §7. Since 2023-04 a registration may only link a
//! qualification to a person when 漢字氏名, カナ氏名, 生年月日, 性別 and 住所 all
//! match; since 2024-05 every registration is matched and a mismatch stops
//! viewing until the insurer corrects it. The 2023 mis-linkings came from
//! matching on カナ氏名・性別・生年月日 only (RELIABILITY.md §2).
//!
//! Equality is on normalised keys ([`crate::kana`]): width, kana forms,
//! spacing, the variant kanji of [`crate::kana::name_key`] and the address
//! notation (丁目・番・号 versus hyphens). Nothing else is folded, so two
//! different people never compare equal by normalisation alone.

use serde::{Deserialize, Serialize};

use crate::person::Person;

/// One of the five attributes compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    Name,
    Kana,
    BirthDate,
    Sex,
    Address,
}

impl Attribute {
    pub const ALL: [Attribute; 5] = [
        Attribute::Name,
        Attribute::Kana,
        Attribute::BirthDate,
        Attribute::Sex,
        Attribute::Address,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attribute::Name => "name",
            Attribute::Kana => "kana",
            Attribute::BirthDate => "birth_date",
            Attribute::Sex => "sex",
            Attribute::Address => "address",
        }
    }

    pub fn parse(s: &str) -> Option<Attribute> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn kanji(self) -> &'static str {
        match self {
            Attribute::Name => "氏名",
            Attribute::Kana => "カナ氏名",
            Attribute::BirthDate => "生年月日",
            Attribute::Sex => "性別",
            Attribute::Address => "住所",
        }
    }
}

/// The attributes on which the insurer's `declared` person differs from the
/// `resident` record, in [`Attribute::ALL`] order. Empty means matched.
pub fn differing(declared: &Person, resident: &Person) -> Vec<Attribute> {
    let mut out = Vec::new();
    if declared.name.key() != resident.name.key() {
        out.push(Attribute::Name);
    }
    if declared.kana.key() != resident.kana.key() {
        out.push(Attribute::Kana);
    }
    if declared.birth_date != resident.birth_date {
        out.push(Attribute::BirthDate);
    }
    if declared.sex != resident.sex {
        out.push(Attribute::Sex);
    }
    if declared.address.key() != resident.address.key() {
        out.push(Attribute::Address);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::person::{Address, KanaName, PersonName, Sex};
    use chrono::NaiveDate;

    fn p(name: &str, kana: &str, birth: &str, sex: Sex, addr: &str) -> Person {
        Person {
            name: PersonName::parse(name).unwrap(),
            kana: KanaName::parse(kana).unwrap(),
            birth_date: birth.parse::<NaiveDate>().unwrap(),
            sex,
            address: Address::parse(addr).unwrap(),
        }
    }

    #[test]
    fn normalised_forms_match() {
        let resident = p(
            "髙橋 一郎",
            "タカハシ イチロウ",
            "1980-04-01",
            Sex::Male,
            "東京都千代田区霞が関1丁目2番3号",
        );
        let declared = p(
            "高橋一郎",
            "ﾀｶﾊｼ ｲﾁﾛｳ",
            "1980-04-01",
            Sex::Male,
            "東京都千代田区霞が関１－２－３",
        );
        assert_eq!(differing(&declared, &resident), vec![]);
        let saki = p(
            "山﨑 花子",
            "やまさき はなこ",
            "1990-01-01",
            Sex::Female,
            "大阪府大阪市北区梅田1-1-1",
        );
        let saki2 = p(
            "山崎 花子",
            "ヤマサキ ハナコ",
            "1990-01-01",
            Sex::Female,
            "大阪府大阪市北区梅田1丁目1番1号",
        );
        assert!(differing(&saki, &saki2).is_empty());
    }

    #[test]
    fn each_attribute_is_reported() {
        let r = p(
            "佐藤 花子",
            "サトウ ハナコ",
            "1990-01-01",
            Sex::Female,
            "東京都新宿区西新宿2-8-1",
        );
        let twin = p(
            "佐藤 桃子",
            "サトウ モモコ",
            "1990-01-01",
            Sex::Female,
            "東京都新宿区西新宿2-8-1",
        );
        assert_eq!(differing(&twin, &r), vec![Attribute::Name, Attribute::Kana]);
        let other = p(
            "佐藤 花子",
            "サトウ ハナコ",
            "1990-01-02",
            Sex::Male,
            "東京都新宿区西新宿2-8-2",
        );
        assert_eq!(
            differing(&other, &r),
            vec![Attribute::BirthDate, Attribute::Sex, Attribute::Address]
        );
        // The 3-item match of 2023 would have linked this one: only the 5-item match stops it.
        let same_three = p(
            "佐藤 華子",
            "サトウ ハナコ",
            "1990-01-01",
            Sex::Female,
            "北海道札幌市中央区1-1",
        );
        assert_eq!(
            differing(&same_three, &r),
            vec![Attribute::Name, Attribute::Address]
        );
        // Different characters are never folded together.
        let watanabe = p(
            "渡邊 花子",
            "サトウ ハナコ",
            "1990-01-01",
            Sex::Female,
            "東京都新宿区西新宿2-8-1",
        );
        assert_eq!(differing(&watanabe, &r), vec![Attribute::Name]);
        assert_eq!(
            differing(
                &p(
                    "サトウ ハナコ",
                    "サトウ ハナコ",
                    "1990-01-01",
                    Sex::Female,
                    "東京都新宿区西新宿2-8-1"
                ),
                &r
            ),
            vec![Attribute::Name]
        );
    }
}
