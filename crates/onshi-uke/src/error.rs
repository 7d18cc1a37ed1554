//! [`UkeError`]: why a claim file could not be written or read, with a stable
//! [`UkeError::code`] and a Japanese message (the `Display` text).

use std::fmt;

/// Where in the file a field sits: record id, field name (the 記録条件仕様's
/// name), and on write the claim it belongs to (1-based position and
/// `claim_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAt {
    pub record: &'static str,
    pub field: &'static str,
    /// 1-based position of the claim in the input slice and its `claim_id`;
    /// `None` for the IR and GO records.
    pub claim: Option<(usize, String)>,
}

impl fmt::Display for FieldAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}レコードの{}", self.record, self.field)?;
        if let Some((i, id)) = &self.claim {
            write!(f, "（{i}件目のレセプト {id}）")?;
        }
        Ok(())
    }
}

/// `U+301C 〜`: the code point and the character itself, as the messages
/// name it.
pub fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("U+{:04X} {c}", u32::from(c))
    }
}

/// Why [`crate::write_uke`] or [`crate::read_uke`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UkeError {
    /// A character Shift_JIS (CP932) cannot hold, or one that would not read
    /// back as itself (e.g. U+00A5 ¥ would come back as a backslash), or a
    /// 外字 (private use area). Never replaced: the caller must fix the text.
    #[error("{at}に Shift_JIS（CP932）で記録できない文字「{}」があります", describe_char(*ch))]
    UnencodableCharacter { ch: char, at: FieldAt },

    /// A comma, a double quote, CR, LF or another control character inside a
    /// field: UKE fields are never quoted, so these would break the record.
    #[error("{at}に記録できない文字「{}」があります（カンマ・引用符・改行・制御文字は項目に使えません）", describe_char(*ch))]
    ForbiddenCharacter { ch: char, at: FieldAt },

    /// A field longer than the 記録条件仕様 allows (in Shift_JIS bytes).
    #[error("{at}が{bytes}バイトあり、上限の{max}バイトを超えています")]
    FieldTooLong {
        at: FieldAt,
        bytes: usize,
        max: usize,
    },

    /// The [`crate::UkeInstitution`] cannot be written (code, 点数表).
    #[error("医療機関情報の{field}: {message}")]
    InvalidInstitution {
        field: &'static str,
        message: String,
    },

    /// A claim fails the intake checks of
    /// [`onshi_payer::claim::Claim::validate`], does not belong in this file
    /// (other payer or institution), or holds a value the file cannot carry.
    /// `code` is the claim-level reason (e.g. `invalid_burden_ratio`,
    /// `payer_mismatch`).
    #[error("{index}件目のレセプト（{claim_id}）の{field}: {message}")]
    InvalidClaim {
        index: usize,
        claim_id: String,
        code: String,
        field: String,
        message: String,
    },

    /// Bytes that are not Shift_JIS (CP932).
    #[error(
        "{line}行目（ファイルの{offset}バイト目）: Shift_JIS（CP932）として読めないバイト列があります"
    )]
    InvalidBytes { line: usize, offset: usize },

    /// A record that is not as the 記録条件仕様 lays it out: too few fields,
    /// a bad number or date, a bad code, a record in the wrong place, a file
    /// cut short.
    #[error("{line}行目（{record}）: {message}")]
    MalformedRecord {
        line: usize,
        record: String,
        message: String,
    },

    /// A required record is absent: IR or GO for the file; HO for a
    /// 医保 receipt or KO for a 公費 one, starting at `claim_line`; JD (or any
    /// day information) for a receipt [`crate::read_uke`] must turn into a
    /// claim.
    #[error("{}{record}レコードがありません", claim_line.map(|l| format!("{l}行目のレセプトに")).unwrap_or_default())]
    MissingRecord {
        record: &'static str,
        claim_line: Option<usize>,
    },

    /// A recorded total disagrees with the records it sums (GO 総件数 /
    /// 総合計点数, HO 診療実日数 against JD).
    #[error("{line}行目: {what}が一致しません（記録値 {recorded}、集計値 {counted}）")]
    CountMismatch {
        line: usize,
        what: &'static str,
        recorded: u64,
        counted: u64,
    },

    /// A record id that is not one: not two capital ASCII letters (an empty
    /// line, a cut record). Records with a well-formed id onshi does not
    /// interpret are kept, not refused.
    #[error("{line}行目: 不明なレコード識別情報「{record}」です")]
    UnknownRecord { line: usize, record: String },

    /// A receipt [`crate::read_uke`] cannot turn into a `Claim` (a 公費単独
    /// receipt). [`crate::claims_for_run`] and [`crate::UkeFile`] take such a
    /// file and report the receipt instead.
    #[error("{line}行目: {record}レコード（{what}）は onshi の Claim で表せないため読み込めません")]
    UnsupportedRecord {
        line: usize,
        record: String,
        what: &'static str,
    },

    /// An edit of a read file ([`crate::UkeFile::set_insurer`] and the
    /// like) names a receipt the file does not have (`index` is 0-based,
    /// `count` the receipts in the file).
    #[error("{}件目のレセプトはありません（このファイルのレセプトは{count}件です）", index + 1)]
    NoSuchReceipt { index: usize, count: usize },

    /// An edit of a read file would write a value the field cannot hold (a
    /// 保険者番号 with a wrong 検証番号, an empty 番号, a 記号 on a 不詳
    /// receipt, an amount too large), or a record that no longer reads.
    #[error("{receipt}件目のレセプトの{field}: {message}")]
    InvalidEdit {
        receipt: usize,
        field: &'static str,
        message: String,
    },
}

impl UkeError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnencodableCharacter { .. } => "unencodable_character",
            Self::ForbiddenCharacter { .. } => "forbidden_character",
            Self::FieldTooLong { .. } => "field_too_long",
            Self::InvalidInstitution { .. } => "invalid_institution",
            Self::InvalidClaim { .. } => "invalid_claim",
            Self::InvalidBytes { .. } => "invalid_bytes",
            Self::MalformedRecord { .. } => "malformed_record",
            Self::MissingRecord { .. } => "missing_record",
            Self::CountMismatch { .. } => "count_mismatch",
            Self::UnknownRecord { .. } => "unknown_record",
            Self::UnsupportedRecord { .. } => "unsupported_record",
            Self::NoSuchReceipt { .. } => "no_such_receipt",
            Self::InvalidEdit { .. } => "invalid_edit",
        }
    }
}
