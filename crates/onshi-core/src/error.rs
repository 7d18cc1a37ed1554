//! The typed reason a value was refused at the edge.
//!
//! A [`ParseError`] names the input field and the [`ParseErrorKind`]; the kind
//! has a stable machine code ([`ParseErrorKind::code`], used by the API) and a
//! Japanese message a reception clerk can act on (its `Display`).

use thiserror::Error;

/// A value of `field` that could not be parsed into a domain type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {kind}")]
pub struct ParseError {
    /// The name of the input field, as the API and the forms spell it.
    pub field: &'static str,
    pub kind: ParseErrorKind,
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseErrorKind {
    #[error("保険者番号は数字6桁（国保）または8桁で入力してください")]
    InsurerNumberFormat,
    #[error("保険者番号の検証番号が正しくありません")]
    InsurerNumberCheckDigit,
    #[error("保険者番号の法別番号「{0}」は医療保険の保険者を表しません")]
    InsurerNumberHoubetsu(String),
    #[error("都道府県番号「{0:02}」は01〜47ではありません")]
    Prefecture(u8),
    #[error("記号・番号は空白を含まない38バイト以内の文字で入力してください")]
    InsuredCode,
    #[error("枝番は数字2桁で入力してください")]
    BranchNumber,
    #[error("後期高齢者医療では{0}を記録しません")]
    NotForKouki(&'static str),
    #[error("後期高齢者医療の被保険者番号は数字8桁です")]
    KoukiNumber,
    #[error("医療機関コードは数字10桁（都道府県2桁＋点数表1桁＋7桁）で入力してください")]
    InstitutionCode,
    #[error("電子証明書のシリアル番号は英数字1〜64文字です")]
    CertificateSerial,
    #[error("個人の照会キーは英数字1〜32文字です")]
    PersonRef,
    #[error("日付は YYYY-MM-DD の形で入力してください")]
    DateFormat,
    #[error("存在しない日付です")]
    ImpossibleDate,
    #[error("和暦の日付を読み取れません（例: 令和元年5月1日、R1.5.1）")]
    WarekiFormat,
    #[error("{era}{year}年{month}月{day}日は{era}の期間にありません")]
    WarekiOutOfEra {
        era: &'static str,
        year: u16,
        month: u8,
        day: u8,
    },
    #[error("性別は男（1）または女（2）で入力してください")]
    Sex,
    #[error("入力してください")]
    Empty,
    #[error("{0}文字以内で入力してください")]
    TooLong(usize),
    #[error("使用できない文字が含まれています")]
    ControlCharacter,
    #[error("カナ氏名はカタカナ（またはひらがな）で入力してください")]
    KanaName,
    #[error("本人・家族の区分は本人（1）または家族（2）です")]
    Relation,
    #[error("負担割合は1割・2割・3割・10割のいずれかです")]
    BurdenRatio,
    #[error("資格喪失日は資格取得日より後の日付です")]
    LossBeforeAcquisition,
    #[error("申立書の選択肢にない値です")]
    DeclarationValue,
    #[error("電話番号は0から始まる10〜11桁の数字で入力してください")]
    Phone,
    #[error("生年月日が記入日より後です")]
    BirthAfterDeclaration,
    #[error("この年齢で1割負担はありません（後期高齢者医療は75歳以上、障害認定は65歳以上）")]
    ImpossibleRatio,
}

impl ParseErrorKind {
    /// The stable machine code of this error, as the API reports it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InsurerNumberFormat => "invalid_insurer_number",
            Self::InsurerNumberCheckDigit => "insurer_number_check_digit",
            Self::InsurerNumberHoubetsu(_) => "insurer_number_houbetsu",
            Self::Prefecture(_) => "invalid_prefecture",
            Self::InsuredCode => "invalid_insured_code",
            Self::BranchNumber => "invalid_branch_number",
            Self::NotForKouki(_) => "not_for_kouki",
            Self::KoukiNumber => "invalid_kouki_number",
            Self::InstitutionCode => "invalid_institution_code",
            Self::CertificateSerial => "invalid_certificate_serial",
            Self::PersonRef => "invalid_person_ref",
            Self::DateFormat => "invalid_date",
            Self::ImpossibleDate => "impossible_date",
            Self::WarekiFormat => "invalid_wareki",
            Self::WarekiOutOfEra { .. } => "wareki_out_of_era",
            Self::Sex => "invalid_sex",
            Self::Empty => "missing_field",
            Self::TooLong(_) => "field_too_long",
            Self::ControlCharacter => "invalid_character",
            Self::KanaName => "invalid_kana",
            Self::Relation => "invalid_relation",
            Self::BurdenRatio => "invalid_burden_ratio",
            Self::LossBeforeAcquisition => "loss_before_acquisition",
            Self::DeclarationValue => "invalid_declaration_value",
            Self::Phone => "invalid_phone",
            Self::BirthAfterDeclaration => "birth_after_declaration",
            Self::ImpossibleRatio => "impossible_ratio",
        }
    }

    /// This kind, about `field`.
    pub fn at(self, field: &'static str) -> ParseError {
        ParseError { field, kind: self }
    }
}

impl ParseError {
    /// The stable machine code (see [`ParseErrorKind::code`]).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The same error about another field, for a parser reused under a new name.
    pub fn for_field(self, field: &'static str) -> Self {
        ParseError { field, ..self }
    }
}

/// Shared checks for free-text fields: trimmed, not empty, at most `max`
/// characters, no control characters.
pub fn clean_text(field: &'static str, s: &str, max: usize) -> Result<String, ParseError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ParseErrorKind::Empty.at(field));
    }
    if t.chars().any(char::is_control) {
        return Err(ParseErrorKind::ControlCharacter.at(field));
    }
    if t.chars().count() > max {
        return Err(ParseErrorKind::TooLong(max).at(field));
    }
    Ok(t.to_owned())
}
