//! Writing (and reading back) result files: the answer to a request (`res`
//! folder), the error file for a request that could not be read, and the
//! card-check result (`face` folder).
//!
//! Every writer builds an [`OqsResponse`] and writes it with
//! [`write_message`]; [`parse_response`] reads any of them back into the same
//! value. The shape (onshi's choices where DOMAIN §3.2 is \[I\]/\[U\]):
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
//! <XmlMsg>
//!   <MessageHeader>
//!     <ProcessExecutionTime>20261125093000</ProcessExecutionTime>
//!     <QualificationConfirmationDate>20261125</QualificationConfirmationDate>
//!     <MedicalInstitutionCode>1311111111</MedicalInstitutionCode>
//!     <ArbitraryFileIdentifier>0001</ArbitraryFileIdentifier>
//!     <ReferenceClassification>2</ReferenceClassification>  <!-- 1 face, 2 numbers -->
//!     <SegmentOfResult>1</SegmentOfResult>                  <!-- 9 + ErrorCode/ErrorMessage -->
//!     <CharacterCodeIdentifier>0</CharacterCodeIdentifier>
//!   </MessageHeader>
//!   <MessageBody>
//!     <!-- single variant: the fields of one query directly here;
//!          batch variant: one <ResultOfQuery> per query, in request order,
//!          holding the same fields -->
//!     <ProcessingResultStatus>1</ProcessingResultStatus>
//!     <ProcessingResultCode>…</ProcessingResultCode>        <!-- errors and notes -->
//!     <ProcessingResultMessage>…</ProcessingResultMessage>
//!     <QualificationValidity>1</QualificationValidity>      <!-- answers only -->
//!     <QualificationConfirmSearchInfo>…</QualificationConfirmSearchInfo>  <!-- echo; not in face files -->
//!     <ResultList>                                          <!-- omitted when empty -->
//!       <ResultOfQualificationConfirmation>…</ResultOfQualificationConfirmation>
//!     </ResultList>
//!   </MessageBody>
//! </XmlMsg>
//! ```
//!
//! - `ResultOfQuery` (the batch wrapper) is **our name**: the official batch
//!   layout is not known \[U\].
//! - An error file (SegmentOfResult 9) has no `MessageBody`.
//! - `ResultOfQualificationConfirmation` holds the fields of [`ResultEntry`];
//!   `InsuredCardClassification` is always 01 (onshi registers no other card
//!   kind), `NameKana` is half-width ([`crate::kana`]), a 6-digit 保険者番号 is
//!   written right-aligned in 8 characters with spaces.
//! - `PreschoolClassification` is `1` when the 資格確認日 is on or before the
//!   end of 未就学 (`onshi_core::burden::preschool_until`, the first 3月31日
//!   after the 6th birthday), otherwise omitted. This is exact, not the
//!   "ratio 20 and under 7" heuristic.
//! - Shift_JIS output never replaces a character: one that cannot be encoded
//!   is [`OqsError::Unencodable`] (E1011), naming its code point.

use chrono::{NaiveDate, NaiveDateTime};
use onshi_registry::check::{CheckAnswer, QualificationView};

use crate::codes::{
    Charset, InsuredCardClassification, PersonalFamilyClassification, ProcessingResultStatus,
    QualificationValidity, ReferenceClassification, SegmentOfResult, SexCode, validity_code,
    validity_from_code,
};
use crate::error::OqsError;
use crate::kana::to_halfwidth_kana;
use crate::request::{
    MAX_DEPTH, OqsRequest, RequestHeader, SearchInfo, Variant, expect_root, parse_charset_code,
};
use crate::xml::{
    Doc, Limits, Node, insurer_field, parse_document, parse_ymd, parse_ymdhms, ymd, ymdhms,
};

/// Largest result file [`parse_response`] reads: 8 MiB (100 queries with
/// several qualifications each stay far below).
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;

/// The outcome of one query, as the caller computed it.
// Unboxed on purpose: the API hands over the registry's answer as it is, and
// one value lives per query only while a file is written.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryResult {
    /// The registry answered (any validity).
    Answer(CheckAnswer),
    /// The query was refused (e.g. a missing 番号): ProcessingResultStatus 2
    /// with this code and message.
    Error { code: String, message: String },
}

/// A result file's `MessageHeader`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeader {
    pub process_execution_time: Option<NaiveDateTime>,
    pub qualification_confirmation_date: Option<NaiveDate>,
    pub medical_institution_code: Option<String>,
    pub arbitrary_file_identifier: Option<String>,
    pub reference_classification: Option<ReferenceClassification>,
    pub segment_of_result: SegmentOfResult,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub character_code: Option<Charset>,
}

/// One `ResultOfQualificationConfirmation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultEntry {
    pub insured_card_classification: Option<InsuredCardClassification>,
    pub name: String,
    /// Half-width katakana, as the file carries it.
    pub name_kana: String,
    pub sex1: Option<SexCode>,
    pub birthdate: Option<NaiveDate>,
    pub address: String,
    pub insurer_name: String,
    /// 保険者番号 without the padding spaces (6 or 8 digits).
    pub insurer_number: String,
    pub insured_card_symbol: Option<String>,
    pub insured_identification_number: String,
    pub insured_branch_number: Option<String>,
    pub personal_family_classification: Option<PersonalFamilyClassification>,
    /// 資格取得日.
    pub qualification_date: Option<NaiveDate>,
    /// 資格喪失日.
    pub disqualification_date: Option<NaiveDate>,
    /// 一部負担金の割合 in percent (written as 3 digits, `030`).
    pub insured_partial_contribution_ratio: Option<u16>,
    /// PreschoolClassification 1 (未就学).
    pub preschool: bool,
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

impl ResultEntry {
    /// The entry for one qualification of an answer judged on `checked_on`.
    pub fn from_view(v: &QualificationView, checked_on: NaiveDate) -> Self {
        let preschool = v.birth_date <= checked_on
            && checked_on <= onshi_core::burden::preschool_until(v.birth_date);
        Self {
            insured_card_classification: Some(InsuredCardClassification::General),
            name: v.name.trim().to_owned(),
            name_kana: to_halfwidth_kana(v.kana.trim()),
            sex1: Some(SexCode::from_onshi(&v.sex)),
            birthdate: Some(v.birth_date),
            address: v.address.trim().to_owned(),
            insurer_name: v.insurer_name.trim().to_owned(),
            insurer_number: v.insurer_number.trim().to_owned(),
            insured_card_symbol: non_empty(v.insured_symbol.as_deref()),
            insured_identification_number: v.insured_number.trim().to_owned(),
            insured_branch_number: non_empty(v.insured_branch.as_deref()),
            personal_family_classification: PersonalFamilyClassification::from_onshi(&v.relation),
            qualification_date: Some(v.acquired_on),
            disqualification_date: v.lost_on,
            insured_partial_contribution_ratio: v.burden_ratio_percent,
            preschool,
        }
    }

    fn write(&self, d: &mut Doc) -> Result<(), OqsError> {
        d.start("ResultOfQualificationConfirmation")?;
        d.leaf_opt(
            "InsuredCardClassification",
            self.insured_card_classification.map(|c| c.code()),
        )?;
        d.leaf_opt("Name", Some(&self.name))?;
        d.leaf_opt("NameKana", Some(&self.name_kana))?;
        d.leaf_opt("Sex1", self.sex1.map(|s| s.code()))?;
        d.leaf_opt("Birthdate", self.birthdate.map(ymd).as_deref())?;
        d.leaf_opt("Address", Some(&self.address))?;
        d.leaf_opt("InsurerName", Some(&self.insurer_name))?;
        d.leaf_opt(
            "InsurerNumber",
            Some(insurer_field(&self.insurer_number).as_str()),
        )?;
        d.leaf_opt("InsuredCardSymbol", self.insured_card_symbol.as_deref())?;
        d.leaf_opt(
            "InsuredIdentificationNumber",
            Some(&self.insured_identification_number),
        )?;
        d.leaf_opt("InsuredBranchNumber", self.insured_branch_number.as_deref())?;
        d.leaf_opt(
            "PersonalFamilyClassification",
            self.personal_family_classification.map(|c| c.code()),
        )?;
        d.leaf_opt(
            "QualificationDate",
            self.qualification_date.map(ymd).as_deref(),
        )?;
        d.leaf_opt(
            "DisqualificationDate",
            self.disqualification_date.map(ymd).as_deref(),
        )?;
        d.leaf_opt(
            "InsuredPartialContributionRatio",
            self.insured_partial_contribution_ratio
                .map(|p| format!("{p:03}"))
                .as_deref(),
        )?;
        if self.preschool {
            d.leaf("PreschoolClassification", "1")?;
        }
        d.end("ResultOfQualificationConfirmation")
    }

    fn parse(n: &Node) -> Result<Self, OqsError> {
        let date = |name: &str| -> Result<Option<NaiveDate>, OqsError> {
            n.text_of(name)?.map(|t| parse_ymd(name, &t)).transpose()
        };
        let coded = |name: &str| n.text_of(name);
        Ok(Self {
            insured_card_classification: coded("InsuredCardClassification")?
                .map(|c| {
                    InsuredCardClassification::from_code(&c)
                        .ok_or_else(|| OqsError::invalid("InsuredCardClassification", c))
                })
                .transpose()?,
            name: n.text_or_empty("Name")?,
            name_kana: n.text_or_empty("NameKana")?,
            sex1: coded("Sex1")?
                .map(|c| SexCode::from_code(&c).ok_or_else(|| OqsError::invalid("Sex1", c)))
                .transpose()?,
            birthdate: date("Birthdate")?,
            address: n.text_or_empty("Address")?,
            insurer_name: n.text_or_empty("InsurerName")?,
            insurer_number: n.text_or_empty("InsurerNumber")?,
            insured_card_symbol: n.text_of("InsuredCardSymbol")?,
            insured_identification_number: n.text_or_empty("InsuredIdentificationNumber")?,
            insured_branch_number: n.text_of("InsuredBranchNumber")?,
            personal_family_classification: coded("PersonalFamilyClassification")?
                .map(|c| {
                    PersonalFamilyClassification::from_code(&c)
                        .ok_or_else(|| OqsError::invalid("PersonalFamilyClassification", c))
                })
                .transpose()?,
            qualification_date: date("QualificationDate")?,
            disqualification_date: date("DisqualificationDate")?,
            insured_partial_contribution_ratio: coded("InsuredPartialContributionRatio")?
                .map(|c| {
                    c.parse::<u16>()
                        .ok()
                        .filter(|_| c.bytes().all(|b| b.is_ascii_digit()))
                        .ok_or_else(|| OqsError::invalid("InsuredPartialContributionRatio", c))
                })
                .transpose()?,
            preschool: match coded("PreschoolClassification")?.as_deref() {
                None => false,
                Some("1") => true,
                Some(other) => return Err(OqsError::invalid("PreschoolClassification", other)),
            },
        })
    }
}

/// The outcome of one query in a result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOutcome {
    pub status: ProcessingResultStatus,
    pub result_code: Option<String>,
    pub result_message: Option<String>,
    /// OQSCD006; absent for a refused query.
    pub validity: Option<QualificationValidity>,
    /// The echoed query (absent in face files).
    pub search_info: Option<SearchInfo>,
    pub results: Vec<ResultEntry>,
}

impl QueryOutcome {
    /// The outcome for one computed result; `search` is the query to echo.
    pub fn from_result(
        result: &QueryResult,
        search: Option<&SearchInfo>,
    ) -> Result<Self, OqsError> {
        match result {
            QueryResult::Answer(a) => Self::from_answer(a, search),
            QueryResult::Error { code, message } => Ok(Self {
                status: ProcessingResultStatus::Error,
                result_code: Some(code.clone()),
                result_message: Some(message.clone()),
                validity: None,
                search_info: search.cloned(),
                results: Vec::new(),
            }),
        }
    }

    /// The outcome for an answer: status 1, the processing note as
    /// ProcessingResultCode/Message, the validity and one entry per
    /// qualification shown.
    pub fn from_answer(a: &CheckAnswer, search: Option<&SearchInfo>) -> Result<Self, OqsError> {
        let validity = QualificationValidity::try_from(a.validity)
            .map_err(|e| OqsError::invalid("QualificationValidity", e))?;
        Ok(Self {
            status: ProcessingResultStatus::Normal,
            result_code: a.processing_note.as_ref().map(|n| n.code.clone()),
            result_message: a.processing_note.as_ref().map(|n| n.message.clone()),
            validity: Some(validity),
            search_info: search.cloned(),
            results: a
                .qualifications
                .iter()
                .map(|v| ResultEntry::from_view(v, a.checked_on))
                .collect(),
        })
    }

    fn write(&self, d: &mut Doc) -> Result<(), OqsError> {
        d.leaf("ProcessingResultStatus", self.status.code())?;
        d.leaf_opt("ProcessingResultCode", self.result_code.as_deref())?;
        d.leaf_opt("ProcessingResultMessage", self.result_message.as_deref())?;
        d.leaf_opt("QualificationValidity", self.validity.map(validity_code))?;
        if let Some(s) = &self.search_info {
            d.start("QualificationConfirmSearchInfo")?;
            d.leaf("InsurerNumber", &insurer_field(&s.insurer_number))?;
            d.leaf("InsuredCardSymbol", &s.insured_card_symbol)?;
            d.leaf(
                "InsuredIdentificationNumber",
                &s.insured_identification_number,
            )?;
            d.leaf("InsuredBranchNumber", &s.insured_branch_number)?;
            d.leaf("Birthdate", &s.birthdate)?;
            d.leaf(
                "LimitApplicationCertificateRelatedConsFlg",
                &s.limit_application_certificate_related_cons_flg,
            )?;
            d.leaf("ArbitraryIdentifier", &s.arbitrary_identifier)?;
            d.end("QualificationConfirmSearchInfo")?;
        }
        if !self.results.is_empty() {
            d.start("ResultList")?;
            for r in &self.results {
                r.write(d)?;
            }
            d.end("ResultList")?;
        }
        Ok(())
    }

    fn parse(n: &Node) -> Result<Self, OqsError> {
        let status = n.required_text("ProcessingResultStatus")?;
        Ok(Self {
            status: ProcessingResultStatus::from_code(&status)
                .ok_or_else(|| OqsError::invalid("ProcessingResultStatus", status))?,
            result_code: n.text_of("ProcessingResultCode")?,
            result_message: n.text_of("ProcessingResultMessage")?,
            validity: n
                .text_of("QualificationValidity")?
                .map(|c| {
                    validity_from_code(&c)
                        .ok_or_else(|| OqsError::invalid("QualificationValidity", c))
                })
                .transpose()?,
            search_info: n
                .single("QualificationConfirmSearchInfo")?
                .map(SearchInfo::from_node)
                .transpose()?,
            results: match n.single("ResultList")? {
                Some(list) => list
                    .children_named("ResultOfQualificationConfirmation")
                    .map(ResultEntry::parse)
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
        })
    }
}

/// A whole result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OqsResponse {
    pub header: ResponseHeader,
    /// The encoding the file is (to be) written in.
    pub charset: Charset,
    /// Single: the fields of the one query directly in `MessageBody` (or no
    /// body at all for an error file); Batch: one `ResultOfQuery` per query.
    pub variant: Variant,
    pub queries: Vec<QueryOutcome>,
}

/// Writes any result file. A single-variant response holds at most one query.
pub fn write_message(r: &OqsResponse) -> Result<Vec<u8>, OqsError> {
    if r.variant == Variant::Single && r.queries.len() > 1 {
        return Err(OqsError::Internal(
            "単一照会の結果に複数の照会結果は書けません".into(),
        ));
    }
    let h = &r.header;
    let mut d = Doc::new(r.charset)?;
    d.start("XmlMsg")?;
    d.start("MessageHeader")?;
    d.leaf_opt(
        "ProcessExecutionTime",
        h.process_execution_time.map(ymdhms).as_deref(),
    )?;
    d.leaf_opt(
        "QualificationConfirmationDate",
        h.qualification_confirmation_date.map(ymd).as_deref(),
    )?;
    d.leaf_opt(
        "MedicalInstitutionCode",
        h.medical_institution_code.as_deref(),
    )?;
    d.leaf_opt(
        "ArbitraryFileIdentifier",
        h.arbitrary_file_identifier.as_deref(),
    )?;
    d.leaf_opt(
        "ReferenceClassification",
        h.reference_classification.map(|c| c.code()),
    )?;
    d.leaf("SegmentOfResult", h.segment_of_result.code())?;
    d.leaf_opt("ErrorCode", h.error_code.as_deref())?;
    d.leaf_opt("ErrorMessage", h.error_message.as_deref())?;
    d.leaf_opt(
        "CharacterCodeIdentifier",
        h.character_code.map(|c| c.code()),
    )?;
    d.end("MessageHeader")?;
    match r.variant {
        Variant::Single => {
            if let Some(q) = r.queries.first() {
                d.start("MessageBody")?;
                q.write(&mut d)?;
                d.end("MessageBody")?;
            }
        }
        Variant::Batch => {
            d.start("MessageBody")?;
            for q in &r.queries {
                d.start("ResultOfQuery")?;
                q.write(&mut d)?;
                d.end("ResultOfQuery")?;
            }
            d.end("MessageBody")?;
        }
    }
    d.end("XmlMsg")?;
    d.finish()
}

/// The answer to a request: one result per query, in request order, written
/// in `charset` (normally [`OqsRequest::response_charset`]).
/// ReferenceClassification 2, SegmentOfResult 1.
pub fn write_response(
    req: &OqsRequest,
    results: &[QueryResult],
    processed_at: NaiveDateTime,
    charset: Charset,
) -> Result<Vec<u8>, OqsError> {
    write_message(&response_for(req, results, processed_at, charset)?)
}

/// The [`OqsResponse`] that [`write_response`] writes.
pub fn response_for(
    req: &OqsRequest,
    results: &[QueryResult],
    processed_at: NaiveDateTime,
    charset: Charset,
) -> Result<OqsResponse, OqsError> {
    if results.len() != req.queries.len() {
        return Err(OqsError::ResultCountMismatch {
            queries: req.queries.len(),
            results: results.len(),
        });
    }
    let queries = results
        .iter()
        .zip(&req.queries)
        .map(|(r, q)| QueryOutcome::from_result(r, Some(q)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OqsResponse {
        header: ResponseHeader {
            process_execution_time: Some(processed_at),
            qualification_confirmation_date: Some(req.header.qualification_confirmation_date),
            medical_institution_code: Some(req.header.medical_institution_code.clone()),
            arbitrary_file_identifier: req.header.arbitrary_file_identifier.clone(),
            reference_classification: Some(ReferenceClassification::InsuredCardInfo),
            segment_of_result: SegmentOfResult::Normal,
            error_code: None,
            error_message: None,
            character_code: Some(charset),
        },
        charset,
        variant: req.variant,
        queries,
    })
}

/// The error file for a request that could not be processed: SegmentOfResult 9
/// with ErrorCode / ErrorMessage, no body. With the request's header (when it
/// could be read) its date, institution and file identifier are echoed.
pub fn write_error(
    code: &str,
    message: &str,
    header: Option<&RequestHeader>,
    charset: Charset,
    processed_at: NaiveDateTime,
) -> Result<Vec<u8>, OqsError> {
    write_message(&OqsResponse {
        header: ResponseHeader {
            process_execution_time: Some(processed_at),
            qualification_confirmation_date: header.map(|h| h.qualification_confirmation_date),
            medical_institution_code: header.map(|h| h.medical_institution_code.clone()),
            arbitrary_file_identifier: header.and_then(|h| h.arbitrary_file_identifier.clone()),
            reference_classification: header.map(|_| ReferenceClassification::InsuredCardInfo),
            segment_of_result: SegmentOfResult::Abnormal,
            error_code: Some(code.to_owned()),
            error_message: Some(message.to_owned()),
            character_code: Some(charset),
        },
        charset,
        variant: Variant::Single,
        queries: Vec::new(),
    })
}

/// The card-check result file for the `face` folder: ReferenceClassification 1,
/// the answer's 資格確認日, no echoed query.
pub fn write_face(
    answer: &CheckAnswer,
    institution_code: &str,
    processed_at: NaiveDateTime,
    charset: Charset,
) -> Result<Vec<u8>, OqsError> {
    write_message(&OqsResponse {
        header: ResponseHeader {
            process_execution_time: Some(processed_at),
            qualification_confirmation_date: Some(answer.checked_on),
            medical_institution_code: Some(institution_code.to_owned()),
            arbitrary_file_identifier: None,
            reference_classification: Some(ReferenceClassification::MyNumberCard),
            segment_of_result: SegmentOfResult::Normal,
            error_code: None,
            error_message: None,
            character_code: Some(charset),
        },
        charset,
        variant: Variant::Single,
        queries: vec![QueryOutcome::from_answer(answer, None)?],
    })
}

/// Reads a result file written by any of the writers (or by a terminal in the
/// same shape). Unknown elements are ignored; known ones are checked.
pub fn parse_response(bytes: &[u8]) -> Result<OqsResponse, OqsError> {
    let (root, charset) = parse_document(
        bytes,
        Limits {
            max_bytes: MAX_RESPONSE_BYTES,
            max_depth: MAX_DEPTH,
        },
    )?;
    expect_root(&root)?;
    let h = root.required("MessageHeader")?;
    let segment = h.required_text("SegmentOfResult")?;
    let header = ResponseHeader {
        process_execution_time: h
            .text_of("ProcessExecutionTime")?
            .map(|t| parse_ymdhms("ProcessExecutionTime", &t))
            .transpose()?,
        qualification_confirmation_date: h
            .text_of("QualificationConfirmationDate")?
            .map(|t| parse_ymd("QualificationConfirmationDate", &t))
            .transpose()?,
        medical_institution_code: h.text_of("MedicalInstitutionCode")?,
        arbitrary_file_identifier: h.text_of("ArbitraryFileIdentifier")?,
        reference_classification: h
            .text_of("ReferenceClassification")?
            .map(|c| {
                ReferenceClassification::from_code(&c)
                    .ok_or_else(|| OqsError::invalid("ReferenceClassification", c))
            })
            .transpose()?,
        segment_of_result: SegmentOfResult::from_code(&segment)
            .ok_or_else(|| OqsError::invalid("SegmentOfResult", segment))?,
        error_code: h.text_of("ErrorCode")?,
        error_message: h.text_of("ErrorMessage")?,
        character_code: parse_charset_code(
            "CharacterCodeIdentifier",
            h.text_of("CharacterCodeIdentifier")?,
        )?,
    };
    let (variant, queries) = match root.single("MessageBody")? {
        None => (Variant::Single, Vec::new()),
        Some(body) => {
            let wrapped: Vec<&Node> = body.children_named("ResultOfQuery").collect();
            if !wrapped.is_empty() {
                let qs = wrapped
                    .into_iter()
                    .map(QueryOutcome::parse)
                    .collect::<Result<Vec<_>, _>>()?;
                (Variant::Batch, qs)
            } else if body.single("ProcessingResultStatus")?.is_some() {
                (Variant::Single, vec![QueryOutcome::parse(body)?])
            } else {
                (Variant::Batch, Vec::new())
            }
        }
    };
    Ok(OqsResponse {
        header,
        charset,
        variant,
        queries,
    })
}
