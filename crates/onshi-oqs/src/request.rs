//! Reading a 資格確認 request file (`OQSsiquc01req_*.xml`, `OQSmuquc01req_*.xml`).
//!
//! ```xml
//! <?xml version="1.0" encoding="Shift_JIS"?>
//! <XmlMsg>
//!   <MessageHeader>
//!     <QualificationConfirmationDate>20261125</QualificationConfirmationDate>
//!     <MedicalInstitutionCode>1311111111</MedicalInstitutionCode>
//!     <ArbitraryFileIdentifier>0001</ArbitraryFileIdentifier>
//!     <CharacterCodeIdentifier>1</CharacterCodeIdentifier>   <!-- optional -->
//!   </MessageHeader>
//!   <MessageBody>
//!     <QualificationConfirmSearchInfo>   <!-- 1 (single) to 100 (batch) -->
//!       <InsurerNumber>  138057</InsurerNumber>
//!       <InsuredCardSymbol>あいう</InsuredCardSymbol>
//!       <InsuredIdentificationNumber>1234</InsuredIdentificationNumber>
//!       <InsuredBranchNumber>01</InsuredBranchNumber>
//!       <Birthdate>19800401</Birthdate>
//!       <LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg>
//!       <ArbitraryIdentifier>patient-42</ArbitraryIdentifier>
//!     </QualificationConfirmSearchInfo>
//!   </MessageBody>
//! </XmlMsg>
//! ```
//!
//! Rules (onshi's choices where the spec is not known, DOMAIN §3.2–3.3 \[I\]):
//!
//! - The encoding is the one the XML declaration names (UTF-8 when there is
//!   none): UTF-8 or Shift_JIS, decoded strictly. A byte sequence that is not
//!   valid is refused (E1006), never replaced.
//! - Limits: at most [`MAX_REQUEST_BYTES`] bytes (E1003), [`MAX_QUERIES`]
//!   queries (E1005), elements nested at most [`MAX_DEPTH`] deep (E1007).
//! - The root must be `XmlMsg` (E1008). `MessageHeader` with
//!   `QualificationConfirmationDate` (YYYYMMDD) and `MedicalInstitutionCode`
//!   (10 digits, the 医療機関コード rules of `onshi_core::InstitutionCode`) is
//!   required; `ArbitraryFileIdentifier` and `CharacterCodeIdentifier` are
//!   optional. `MessageBody` with at least one `QualificationConfirmSearchInfo`
//!   is required (E1004 names what is missing).
//! - Unknown elements are ignored (the real interface has more than these);
//!   a known element given twice is refused (E1010).
//! - Query fields are kept as strings, trimmed (so `"  138057"` becomes
//!   `138057`); absent and empty are the same. Their content is judged by the
//!   registry when the query is run ([`SearchInfo::to_raw_check`]), so a bad
//!   number is an error for that query only, not for the file.
//! - One query makes the single variant, several the batch variant
//!   ([`Variant`]); the folder protocol also takes the variant from the file
//!   name (`OQSmu…` is always batch).

use chrono::NaiveDate;
use onshi_registry::check::RawCheckRequest;

use crate::codes::Charset;
use crate::error::OqsError;
use crate::xml::{Limits, Node, parse_document, parse_ymd};

/// Largest request file accepted: 1 MiB.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Most queries (`QualificationConfirmSearchInfo`) in one request.
pub const MAX_QUERIES: usize = 100;
/// Deepest element nesting accepted (the root is depth 1).
pub const MAX_DEPTH: usize = 16;

/// Single check (`OQSsiquc01`) or batch (`OQSmuquc01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// One query; the answer's fields go directly in `MessageBody`.
    Single,
    /// Several queries; each answer is wrapped in a `ResultOfQuery` element.
    Batch,
}

/// The request's `MessageHeader`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// 資格確認日: the date the checks are for.
    pub qualification_confirmation_date: NaiveDate,
    /// 医療機関コード (10 digits).
    pub medical_institution_code: String,
    /// Free text for the receipt computer's own matching, echoed back.
    pub arbitrary_file_identifier: Option<String>,
    /// The encoding the answer should use (OQSCD005), when given.
    pub character_code: Option<Charset>,
}

/// One `QualificationConfirmSearchInfo`: the numbers of a card, as given
/// (trimmed; empty when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchInfo {
    /// 保険者番号 (a 6-digit 国保 number may arrive left-padded with spaces;
    /// kept here without them).
    pub insurer_number: String,
    /// 記号 (may hold kanji and kana, e.g. 「あいう」).
    pub insured_card_symbol: String,
    /// 番号.
    pub insured_identification_number: String,
    /// 枝番 (2 digits).
    pub insured_branch_number: String,
    /// 生年月日, YYYYMMDD.
    pub birthdate: String,
    /// 限度額適用認定証等の提供に係る同意 (0 未同意 / 1 同意), echoed.
    pub limit_application_certificate_related_cons_flg: String,
    /// Free text for the receipt computer's own matching, echoed.
    pub arbitrary_identifier: String,
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl SearchInfo {
    /// The registry's check request for this query, dated `checked_on`
    /// (normally the header's 資格確認日): reference `numbers`, the numbers and
    /// the birth date as given (the registry reads YYYYMMDD), empty fields
    /// absent.
    pub fn to_raw_check(&self, checked_on: NaiveDate) -> RawCheckRequest {
        RawCheckRequest {
            reference: Some("numbers".into()),
            insurer_number: non_empty(&self.insurer_number),
            insured_symbol: non_empty(&self.insured_card_symbol),
            insured_number: non_empty(&self.insured_identification_number),
            insured_branch: non_empty(&self.insured_branch_number),
            birth_date: non_empty(&self.birthdate),
            checked_on: Some(checked_on.format("%Y-%m-%d").to_string()),
            ..RawCheckRequest::default()
        }
    }

    pub(crate) fn from_node(n: &Node) -> Result<Self, OqsError> {
        Ok(Self {
            insurer_number: n.text_or_empty("InsurerNumber")?,
            insured_card_symbol: n.text_or_empty("InsuredCardSymbol")?,
            insured_identification_number: n.text_or_empty("InsuredIdentificationNumber")?,
            insured_branch_number: n.text_or_empty("InsuredBranchNumber")?,
            birthdate: n.text_or_empty("Birthdate")?,
            limit_application_certificate_related_cons_flg: n
                .text_or_empty("LimitApplicationCertificateRelatedConsFlg")?,
            arbitrary_identifier: n.text_or_empty("ArbitraryIdentifier")?,
        })
    }
}

/// A parsed request file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OqsRequest {
    pub header: RequestHeader,
    /// The encoding the file was written in.
    pub charset: Charset,
    pub variant: Variant,
    pub queries: Vec<SearchInfo>,
}

impl OqsRequest {
    /// The encoding to answer in: the header's `CharacterCodeIdentifier`, or
    /// the file's own encoding when it has none.
    pub fn response_charset(&self) -> Charset {
        self.header.character_code.unwrap_or(self.charset)
    }
}

pub(crate) fn parse_charset_code(
    element: &str,
    s: Option<String>,
) -> Result<Option<Charset>, OqsError> {
    s.map(|c| {
        Charset::from_code(&c).ok_or_else(|| {
            OqsError::invalid(element, format!("0 (UTF-8) か 1 (Shift_JIS) です: {c}"))
        })
    })
    .transpose()
}

/// Checks the root is `XmlMsg`.
pub(crate) fn expect_root(root: &Node) -> Result<(), OqsError> {
    if root.name == "XmlMsg" {
        Ok(())
    } else {
        Err(OqsError::WrongRoot(root.name.clone()))
    }
}

/// Reads a request file (the whole file's bytes).
pub fn parse_request(bytes: &[u8]) -> Result<OqsRequest, OqsError> {
    let (root, charset) = parse_document(
        bytes,
        Limits {
            max_bytes: MAX_REQUEST_BYTES,
            max_depth: MAX_DEPTH,
        },
    )?;
    expect_root(&root)?;
    let h = root.required("MessageHeader")?;
    let date = h.required_text("QualificationConfirmationDate")?;
    let qualification_confirmation_date = parse_ymd("QualificationConfirmationDate", &date)?;
    let code = h.required_text("MedicalInstitutionCode")?;
    onshi_core::InstitutionCode::parse(&code)
        .map_err(|e| OqsError::invalid("MedicalInstitutionCode", format!("{}: {code}", e.kind)))?;
    let header = RequestHeader {
        qualification_confirmation_date,
        medical_institution_code: code,
        arbitrary_file_identifier: h.text_of("ArbitraryFileIdentifier")?,
        character_code: parse_charset_code(
            "CharacterCodeIdentifier",
            h.text_of("CharacterCodeIdentifier")?,
        )?,
    };
    let body = root.required("MessageBody")?;
    let infos: Vec<&Node> = body
        .children_named("QualificationConfirmSearchInfo")
        .collect();
    if infos.is_empty() {
        return Err(OqsError::MissingElement(
            "QualificationConfirmSearchInfo".into(),
        ));
    }
    if infos.len() > MAX_QUERIES {
        return Err(OqsError::TooManyQueries {
            count: infos.len(),
            limit: MAX_QUERIES,
        });
    }
    let queries = infos
        .into_iter()
        .map(SearchInfo::from_node)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OqsRequest {
        header,
        charset,
        variant: if queries.len() == 1 {
            Variant::Single
        } else {
            Variant::Batch
        },
        queries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageHeader>\
             <QualificationConfirmationDate>20261125</QualificationConfirmationDate>\
             <MedicalInstitutionCode>1311111111</MedicalInstitutionCode>\
             </MessageHeader><MessageBody>{body}</MessageBody></XmlMsg>"
        )
    }

    #[test]
    fn minimal_request() {
        let r = parse_request(
            req("<QualificationConfirmSearchInfo><InsurerNumber>  138057</InsurerNumber>\
                 <Birthdate>19800401</Birthdate><Unknown>x</Unknown></QualificationConfirmSearchInfo>")
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.variant, Variant::Single);
        assert_eq!(r.header.arbitrary_file_identifier, None);
        assert_eq!(r.response_charset(), Charset::Utf8);
        let q = &r.queries[0];
        assert_eq!(q.insurer_number, "138057");
        let raw = q.to_raw_check(r.header.qualification_confirmation_date);
        assert_eq!(raw.reference.as_deref(), Some("numbers"));
        assert_eq!(raw.insurer_number.as_deref(), Some("138057"));
        assert_eq!(raw.insured_symbol, None);
        assert_eq!(raw.birth_date.as_deref(), Some("19800401"));
        assert_eq!(raw.checked_on.as_deref(), Some("2026-11-25"));
        onshi_registry::check::CheckRequest::parse(&raw).unwrap_err(); // number missing
    }

    #[test]
    fn header_values_are_checked() {
        let bad_date = req("<QualificationConfirmSearchInfo/>").replace("20261125", "20261131");
        let e = parse_request(bad_date.as_bytes()).unwrap_err();
        assert_eq!(e.code(), "E1009");
        assert!(
            e.to_string().contains("QualificationConfirmationDate"),
            "{e}"
        );
        let bad_code = req("<QualificationConfirmSearchInfo/>").replace("1311111111", "13111");
        assert_eq!(
            parse_request(bad_code.as_bytes()).unwrap_err().code(),
            "E1009"
        );
        let dup = req(
            "<QualificationConfirmSearchInfo><Birthdate>1</Birthdate><Birthdate>2</Birthdate></QualificationConfirmSearchInfo>",
        );
        assert_eq!(parse_request(dup.as_bytes()).unwrap_err().code(), "E1010");
        let empty = req("");
        let e = parse_request(empty.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            OqsError::MissingElement("QualificationConfirmSearchInfo".into())
        );
    }
}
