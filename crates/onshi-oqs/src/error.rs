//! [`OqsError`]: why a message could not be read or written.
//!
//! The codes are **onshi's own**: the official ErrorCode list of the
//! 外部インターフェイス仕様書 is not known (DOMAIN §3.2, §8 item 5 \[U\]). Each
//! error has a stable code (`E10nn`, what an error file carries in
//! `ErrorCode`) and a stable slug (for logs and JSON):
//!
//! | code | slug | when |
//! | --- | --- | --- |
//! | E1001 | `malformed_xml` | not well-formed XML: truncated, mismatched tags, a DOCTYPE, an unknown entity, text outside the root |
//! | E1002 | `unsupported_encoding` | the declared (or BOM) encoding is neither UTF-8 nor Shift_JIS |
//! | E1003 | `too_large` | the file is over the size limit (1 MiB for a request) |
//! | E1004 | `missing_element` | a required element is absent (the element is named) |
//! | E1005 | `too_many_queries` | more than 100 `QualificationConfirmSearchInfo` in one request |
//! | E1006 | `invalid_bytes` | bytes that are not valid in the declared encoding (never replaced) |
//! | E1007 | `too_deep` | elements nested deeper than 16 |
//! | E1008 | `wrong_root` | the root element is not `XmlMsg` |
//! | E1009 | `invalid_value` | an element holds a value of the wrong shape (a date that is not YYYYMMDD, an unknown code) |
//! | E1010 | `duplicate_element` | an element that may occur once occurs twice |
//! | E1011 | `unencodable_character` | a character cannot be written in the output encoding (or is not allowed in XML) |
//! | E1012 | `result_count_mismatch` | the writer was given a different number of results than the request has queries |
//! | E1099 | `internal_error` | a failure of the writer itself |

use crate::codes::Charset;

/// Why a オン資 XML message could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OqsError {
    #[error("XML として読めません: {0}")]
    Malformed(String),
    #[error("文字コード {0} には対応していません（UTF-8 または Shift_JIS のみ）")]
    UnsupportedEncoding(String),
    #[error("ファイルが大きすぎます（{size} バイト、上限 {limit} バイト）")]
    TooLarge { size: u64, limit: u64 },
    #[error("要素 {0} がありません")]
    MissingElement(String),
    #[error("照会が多すぎます（{count} 件、上限 {limit} 件）")]
    TooManyQueries { count: usize, limit: usize },
    #[error("{charset} として不正なバイト列があります（{offset} バイト目付近）")]
    InvalidBytes { charset: Charset, offset: usize },
    #[error("要素の入れ子が深すぎます（上限 {limit}）")]
    TooDeep { limit: usize },
    #[error("ルート要素が XmlMsg ではありません（{0}）")]
    WrongRoot(String),
    #[error("要素 {element} の値が不正です: {message}")]
    InvalidValue { element: String, message: String },
    #[error("要素 {0} が重複しています")]
    DuplicateElement(String),
    /// Named by code point only, so that the message itself can always be
    /// written in Shift_JIS.
    #[error("文字 U+{code_point:04X} は {charset} の XML に書けません")]
    Unencodable { code_point: u32, charset: Charset },
    #[error("照会 {queries} 件に対して結果が {results} 件です")]
    ResultCountMismatch { queries: usize, results: usize },
    #[error("内部エラー: {0}")]
    Internal(String),
}

impl OqsError {
    /// The stable code (`E10nn`), as written in an error file's `ErrorCode`.
    pub fn code(&self) -> &'static str {
        self.code_and_slug().0
    }

    /// The stable slug, e.g. `malformed_xml`.
    pub fn slug(&self) -> &'static str {
        self.code_and_slug().1
    }

    fn code_and_slug(&self) -> (&'static str, &'static str) {
        match self {
            OqsError::Malformed(_) => ("E1001", "malformed_xml"),
            OqsError::UnsupportedEncoding(_) => ("E1002", "unsupported_encoding"),
            OqsError::TooLarge { .. } => ("E1003", "too_large"),
            OqsError::MissingElement(_) => ("E1004", "missing_element"),
            OqsError::TooManyQueries { .. } => ("E1005", "too_many_queries"),
            OqsError::InvalidBytes { .. } => ("E1006", "invalid_bytes"),
            OqsError::TooDeep { .. } => ("E1007", "too_deep"),
            OqsError::WrongRoot(_) => ("E1008", "wrong_root"),
            OqsError::InvalidValue { .. } => ("E1009", "invalid_value"),
            OqsError::DuplicateElement(_) => ("E1010", "duplicate_element"),
            OqsError::Unencodable { .. } => ("E1011", "unencodable_character"),
            OqsError::ResultCountMismatch { .. } => ("E1012", "result_count_mismatch"),
            OqsError::Internal(_) => ("E1099", "internal_error"),
        }
    }

    pub(crate) fn invalid(element: &str, message: impl Into<String>) -> Self {
        OqsError::InvalidValue {
            element: element.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let all = [
            OqsError::Malformed(String::new()),
            OqsError::UnsupportedEncoding(String::new()),
            OqsError::TooLarge { size: 0, limit: 0 },
            OqsError::MissingElement(String::new()),
            OqsError::TooManyQueries { count: 0, limit: 0 },
            OqsError::InvalidBytes {
                charset: Charset::Utf8,
                offset: 0,
            },
            OqsError::TooDeep { limit: 0 },
            OqsError::WrongRoot(String::new()),
            OqsError::invalid("x", ""),
            OqsError::DuplicateElement(String::new()),
            OqsError::Unencodable {
                code_point: 0x20BB7,
                charset: Charset::ShiftJis,
            },
            OqsError::ResultCountMismatch {
                queries: 0,
                results: 0,
            },
            OqsError::Internal(String::new()),
        ];
        let mut codes: Vec<_> = all.iter().map(OqsError::code).collect();
        let mut slugs: Vec<_> = all.iter().map(OqsError::slug).collect();
        codes.sort_unstable();
        codes.dedup();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(slugs.len(), all.len());
        assert!(
            all[10].to_string().contains("U+20BB7"),
            "{}",
            all[10].to_string()
        );
    }
}
