//! The code lists (コード表) of the オン資 XML interface, as far as the material
//! shows them (DOMAIN §3.2, inferred \[I\] from vendor code that parses real
//! responses).
//!
//! | list | element | here |
//! | --- | --- | --- |
//! | OQSCD002 | ReferenceClassification | [`ReferenceClassification`] |
//! | OQSCD003 | SegmentOfResult | [`SegmentOfResult`] |
//! | OQSCD004 | ProcessingResultStatus | [`ProcessingResultStatus`] |
//! | OQSCD005 | CharacterCodeIdentifier | [`Charset`] |
//! | OQSCD006 | QualificationValidity | [`QualificationValidity`] (= `onshi_core::Validity`) |
//! | OQSCD007 | Sex1 / Sex2 | [`SexCode`] |
//! | OQSCD009 | PersonalFamilyClassification | [`PersonalFamilyClassification`] |
//! | OQSCD010 | InsuredCardClassification | [`InsuredCardClassification`] |
//! | OQSCD011 | LimitApplicationCertificateClassification | [`LimitApplicationCertificateClassification`] |
//! | OQSCD012 | LimitApplicationCertificateClassificationFlag | [`LimitApplicationCertificateClassificationFlag`] |
//!
//! **Not implemented:** OQSCD001, OQSCD008 and OQSCD013. Their contents are not
//! known from the material we could read (\[U\] in DOMAIN §3.2).
//!
//! Every list has `code()` (the string written in the XML), `label()` (the
//! Japanese wording of the list), `from_code()` and `ALL`.

pub use onshi_core::Validity as QualificationValidity;

macro_rules! code_list {
    (
        $(#[$m:meta])*
        $name:ident, $list:literal {
            $( $(#[$vm:meta])* $variant:ident = $code:literal, $label:literal; )+
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vm])* $variant, )+
        }

        impl $name {
            /// The identifier of the code list.
            pub const LIST: &'static str = $list;
            /// Every code of the list, in list order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code as written in the XML.
            pub fn code(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }

            /// The wording of the code list.
            pub fn label(self) -> &'static str {
                match self {
                    $( $name::$variant => $label, )+
                }
            }

            /// The value for a code (surrounding whitespace ignored).
            pub fn from_code(s: &str) -> Option<Self> {
                match s.trim() {
                    $( $code => Some($name::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

code_list! {
    /// OQSCD002 照会区分 (`ReferenceClassification`): what the check was made with.
    ReferenceClassification, "OQSCD002" {
        /// 1 マイナンバーカード: a card check at the face reader.
        MyNumberCard = "1", "マイナンバーカード";
        /// 2 被保険者証情報: a check by the numbers of a card.
        InsuredCardInfo = "2", "被保険者証情報";
    }
}

code_list! {
    /// OQSCD003 処理結果区分 (`SegmentOfResult`): the outcome for the whole file.
    SegmentOfResult, "OQSCD003" {
        /// 1 正常終了: the file was processed (each query has its own status).
        Normal = "1", "正常終了";
        /// 2 処理中.
        Processing = "2", "処理中";
        /// 9 異常終了: the file could not be processed; `ErrorCode` says why.
        Abnormal = "9", "異常終了";
    }
}

code_list! {
    /// OQSCD004 処理結果状況 (`ProcessingResultStatus`): the outcome of one query.
    ProcessingResultStatus, "OQSCD004" {
        /// 1 正常終了.
        Normal = "1", "正常終了";
        /// 2 エラー: `ProcessingResultCode` / `ProcessingResultMessage` say why.
        Error = "2", "エラー";
    }
}

code_list! {
    /// OQSCD005 文字コード識別 (`CharacterCodeIdentifier`): the encoding of a file.
    /// In a request it names the encoding the answer should use.
    Charset, "OQSCD005" {
        /// 0 UTF-8.
        Utf8 = "0", "UTF-8";
        /// 1 Shift_JIS (read and written as WHATWG Shift_JIS, i.e. Windows-31J).
        ShiftJis = "1", "Shift_JIS";
    }
}

/// OQSCD005 under the element's own name.
pub type CharacterCodeIdentifier = Charset;

impl Charset {
    /// The name written in the XML declaration.
    pub fn xml_name(self) -> &'static str {
        self.label()
    }
}

impl std::fmt::Display for Charset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// OQSCD006 資格有効性 as written in the XML (`1`–`5`).
pub fn validity_code(v: QualificationValidity) -> &'static str {
    match v {
        QualificationValidity::Valid => "1",
        QualificationValidity::Invalid => "2",
        QualificationValidity::InvalidNewerExists => "3",
        QualificationValidity::NotFound => "4",
        QualificationValidity::Multiple => "5",
    }
}

/// OQSCD006 from the XML.
pub fn validity_from_code(s: &str) -> Option<QualificationValidity> {
    s.trim()
        .parse::<u8>()
        .ok()
        .and_then(|n| QualificationValidity::try_from(n).ok())
}

code_list! {
    /// OQSCD007 性別 (`Sex1` as printed on the card, `Sex2` the actual one).
    SexCode, "OQSCD007" {
        /// 1 男.
        Male = "1", "男";
        /// 2 女.
        Female = "2", "女";
        /// 3 未設定.
        Unset = "3", "未設定";
    }
}

impl SexCode {
    /// From onshi's JSON spelling (`male` / `female`); anything else is 未設定.
    pub fn from_onshi(s: &str) -> Self {
        match s {
            "male" => SexCode::Male,
            "female" => SexCode::Female,
            _ => SexCode::Unset,
        }
    }
}

code_list! {
    /// OQSCD009 本人・家族の別 (`PersonalFamilyClassification`).
    PersonalFamilyClassification, "OQSCD009" {
        /// 1 本人 (被保険者).
        Insured = "1", "本人";
        /// 2 家族 (被扶養者).
        Family = "2", "家族";
    }
}

impl PersonalFamilyClassification {
    /// From onshi's relation (`insured` / `dependent`).
    pub fn from_onshi(relation: &str) -> Option<Self> {
        match relation {
            "insured" => Some(Self::Insured),
            "dependent" => Some(Self::Family),
            _ => None,
        }
    }
}

impl From<onshi_core::Relation> for PersonalFamilyClassification {
    fn from(r: onshi_core::Relation) -> Self {
        match r {
            onshi_core::Relation::Insured => Self::Insured,
            onshi_core::Relation::Dependent => Self::Family,
        }
    }
}

code_list! {
    /// OQSCD010 被保険者証区分 (`InsuredCardClassification`).
    InsuredCardClassification, "OQSCD010" {
        /// 01 被保険者証（一般）. onshi answers this for every qualification.
        General = "01", "被保険者証（一般）";
        /// 02 被保険者証（退職）.
        Retired = "02", "被保険者証（退職）";
        /// 03 短期被保険者証（一般）.
        ShortTermGeneral = "03", "短期被保険者証（一般）";
        /// 04 短期被保険者証（退職）.
        ShortTermRetired = "04", "短期被保険者証（退職）";
        /// 05 被保険者資格証明書.
        QualificationCertificate = "05", "被保険者資格証明書";
        /// 06 特例退職被保険者証.
        SpecialRetired = "06", "特例退職被保険者証";
        /// 07 自衛官診療証.
        SelfDefenseForces = "07", "自衛官診療証";
    }
}

code_list! {
    /// OQSCD011 限度額適用認定証区分 (`LimitApplicationCertificateClassification`).
    LimitApplicationCertificateClassification, "OQSCD011" {
        /// 01 限度額適用認定証.
        Limit = "01", "限度額適用認定証";
        /// 02 限度額適用・標準負担額減額認定証.
        LimitAndReduction = "02", "限度額適用・標準負担額減額認定証";
        /// 03 標準負担額減額認定証.
        Reduction = "03", "標準負担額減額認定証";
    }
}

code_list! {
    /// OQSCD012 限度額適用認定証適用区分 (`LimitApplicationCertificateClassificationFlag`):
    /// A01–A06 the under-70 bands ア–オ(境), B01–B10 the 70-and-over bands.
    LimitApplicationCertificateClassificationFlag, "OQSCD012" {
        A01 = "A01", "ア";
        A02 = "A02", "イ";
        A03 = "A03", "ウ";
        A04 = "A04", "エ";
        A05 = "A05", "オ";
        A06 = "A06", "オ（境）";
        B01 = "B01", "現役並みⅢ";
        B02 = "B02", "現役並みⅡ";
        B03 = "B03", "現役並みⅠ";
        B04 = "B04", "一般";
        B05 = "B05", "低所得Ⅱ";
        B06 = "B06", "低所得Ⅰ";
        B07 = "B07", "低所得Ⅰ（老福）";
        B08 = "B08", "低所得Ⅰ（境）";
        B09 = "B09", "一般Ⅱ";
        B10 = "B10", "一般Ⅰ";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            code: fn(T) -> &'static str,
            from: fn(&str) -> Option<T>,
        ) {
            for &v in all {
                assert_eq!(from(code(v)), Some(v));
            }
            assert_eq!(from("zz"), None);
        }
        check(
            ReferenceClassification::ALL,
            ReferenceClassification::code,
            ReferenceClassification::from_code,
        );
        check(
            SegmentOfResult::ALL,
            SegmentOfResult::code,
            SegmentOfResult::from_code,
        );
        check(
            ProcessingResultStatus::ALL,
            ProcessingResultStatus::code,
            ProcessingResultStatus::from_code,
        );
        check(Charset::ALL, Charset::code, Charset::from_code);
        check(SexCode::ALL, SexCode::code, SexCode::from_code);
        check(
            PersonalFamilyClassification::ALL,
            PersonalFamilyClassification::code,
            PersonalFamilyClassification::from_code,
        );
        check(
            InsuredCardClassification::ALL,
            InsuredCardClassification::code,
            InsuredCardClassification::from_code,
        );
        check(
            LimitApplicationCertificateClassification::ALL,
            LimitApplicationCertificateClassification::code,
            LimitApplicationCertificateClassification::from_code,
        );
        check(
            LimitApplicationCertificateClassificationFlag::ALL,
            LimitApplicationCertificateClassificationFlag::code,
            LimitApplicationCertificateClassificationFlag::from_code,
        );
        assert_eq!(LimitApplicationCertificateClassificationFlag::ALL.len(), 16);
        assert_eq!(SegmentOfResult::Abnormal.code(), "9");
        assert_eq!(Charset::ShiftJis.xml_name(), "Shift_JIS");
        for n in 1..=5u8 {
            let v = QualificationValidity::try_from(n).unwrap();
            assert_eq!(validity_from_code(validity_code(v)), Some(v));
        }
        assert_eq!(validity_from_code("6"), None);
        assert_eq!(SexCode::from_onshi("female"), SexCode::Female);
        assert_eq!(SexCode::from_onshi(""), SexCode::Unset);
        assert_eq!(
            PersonalFamilyClassification::from(onshi_core::Relation::Dependent),
            PersonalFamilyClassification::Family
        );
    }
}
