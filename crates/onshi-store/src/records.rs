//! The rows the store reads and writes, built from `onshi-core` types.

use chrono::NaiveDate;
use onshi_core::Payer;
use onshi_core::claim_life::ClaimState;
use onshi_core::matching::Attribute;
use onshi_core::{
    CertificateSerial, InstitutionCode, InsurerNumber, Person, PersonRef, Qualification,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsurerRow {
    pub number: InsurerNumber,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionRow {
    pub code: InstitutionCode,
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id: i64,
    pub person_ref: PersonRef,
    pub person: Person,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCard {
    pub serial: CertificateSerial,
    pub valid_to: NaiveDate,
    pub revoked_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRow {
    pub serial: CertificateSerial,
    pub person_id: i64,
    pub valid_to: NaiveDate,
    pub revoked_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationRow {
    pub id: i64,
    pub person_id: i64,
    pub insurer_name: String,
    pub qualification: Qualification,
}

/// A person to create, with their cards and qualifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    /// The resident link key; `None` lets the store assign `P` + 16 random
    /// hex digits (not guessable from the row order).
    pub person_ref: Option<PersonRef>,
    pub person: Person,
    pub cards: Vec<NewCard>,
    pub qualifications: Vec<Qualification>,
}

/// One all-or-nothing write of reference data and people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub insurers: Vec<InsurerRow>,
    pub institutions: Vec<InstitutionRow>,
    pub persons: Vec<NewPerson>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    pub insurers: usize,
    pub institutions: usize,
    pub persons: usize,
    pub cards: usize,
    pub qualifications: usize,
    /// The id given to the first person of the batch (ids are consecutive).
    pub first_person_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableCounts {
    pub insurers: u64,
    pub institutions: u64,
    pub persons: u64,
    pub cards: u64,
    pub qualifications: u64,
    pub checks: u64,
    pub tokens: u64,
}

/// How a check identified the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckQuery {
    Card {
        serial: CertificateSerial,
    },
    /// A pick from the system-failure-mode search.
    FailureMode {
        person_id: i64,
    },
    Numbers {
        numbers: onshi_core::qualification::InsuranceNumbers,
        birth_date: NaiveDate,
    },
}

/// A check to append to the history.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCheck {
    pub institution: InstitutionCode,
    pub checked_at: String,
    pub checked_on: NaiveDate,
    pub query: CheckQuery,
    pub person_id: Option<i64>,
    pub validity: Option<u8>,
    pub error_code: Option<String>,
    /// The answer as sent, as JSON.
    pub answer: serde_json::Value,
    /// face | pin | visual, for card checks.
    pub identity_confirmed_by: Option<String>,
    /// The staff member who confirmed identity visually.
    pub staff_id: Option<String>,
}

/// A check as read back from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub id: i64,
    pub checked_at: String,
    pub checked_on: NaiveDate,
    pub reference: String,
    pub validity: Option<u8>,
    pub error_code: Option<String>,
    pub answer: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub hash: String,
    pub role: String,
    pub institution: Option<InstitutionCode>,
    pub insurer: Option<InsurerNumber>,
    pub certificate_serial: Option<CertificateSerial>,
    pub label: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub role: String,
    pub institution: Option<InstitutionCode>,
    pub insurer: Option<InsurerNumber>,
    pub certificate_serial: Option<CertificateSerial>,
    pub label: String,
}

/// What an insurer submits to register (or correct) a member's qualification:
/// the resident it links to, the 5 attributes as the insurer holds them, and
/// the qualification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub person_ref: PersonRef,
    pub declared: Person,
    pub qualification: Qualification,
}

/// An Idempotency-Key claim on a write: who, which key, which body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemClaim {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

/// The answer stored with an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: serde_json::Value,
}

/// The result of an idempotent write.
#[derive(Debug, Clone, PartialEq)]
pub enum Idem<T> {
    /// The write ran now.
    Fresh(T),
    /// The same key and body were seen before: the first answer.
    Replay(StoredResponse),
    /// The key was used before with another body; nothing was written.
    KeyReused,
}

/// One input row of a registration batch.
// Rows stream one at a time through an iterator; boxing the large variant
// would only add an allocation per row.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowInput {
    Row(Registration),
    /// A row the caller could not parse: it counts as a reject (the caller
    /// keeps the reason), so the batch will not commit.
    Invalid,
}

/// Why the store rejected a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StoreReject {
    /// No resident has this person_ref.
    PersonUnknown,
    /// The attributes differ and the batch rejects mismatches.
    Mismatch { mismatch: Vec<Attribute> },
    /// The row names another insurer than the caller.
    OtherInsurer,
    /// The same qualification (person, numbers, 資格取得日) is already registered.
    Duplicate { id: i64 },
    /// The same qualification as an earlier row (0-based) of this batch.
    DuplicateInBatch { row: usize },
}

/// A row stored (or, in a batch that did not commit, that would have been
/// stored) with attributes that differ from the resident record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowMismatch {
    /// 0-based index of the row in the batch.
    pub row: usize,
    pub id: Option<i64>,
    pub mismatch: Vec<Attribute>,
}

/// The outcome of a registration batch. When anything was rejected (or on a
/// dry run) `committed` is false and nothing at all was written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegisterOutcome {
    pub committed: bool,
    pub rows: u64,
    /// Rows stored (0 when not committed).
    pub registered: u64,
    pub first_id: Option<i64>,
    pub mismatched: Vec<RowMismatch>,
    /// (row index, reason); rows that were `RowInput::Invalid` are listed by
    /// the caller, not here.
    pub rejected: Vec<(usize, StoreReject)>,
    pub invalid_rows: u64,
}

/// A qualification as its insurer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InsurerRecord {
    pub id: i64,
    pub person_ref: PersonRef,
    /// The 5 attributes as the insurer declared them (the resident record's
    /// for rows loaded as reference data).
    pub declared: Person,
    pub qualification: Qualification,
    pub insurer_name: String,
    /// Visible to checks (matched).
    pub visible: bool,
    pub mismatch: Vec<Attribute>,
    pub registered_at: String,
}

/// One change to a qualification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionRow {
    pub recorded_at: String,
    pub action: String,
    pub snapshot: serde_json::Value,
}

/// Checks of an insurer's members on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub day: NaiveDate,
    /// Card checks of people who were members that day.
    pub checks: u64,
    /// …answered 資格(無効).
    pub invalid: u64,
    /// …answered 資格情報なし.
    pub no_information: u64,
}

/// A registration that arrived after the member had already been checked at
/// a clinic within its validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateRegistration {
    pub id: i64,
    pub person_ref: PersonRef,
    pub acquired_on: NaiveDate,
    pub registered_at: String,
    pub first_visit_at: String,
    pub first_visit_on: NaiveDate,
}

/// A fault injected for an institution (vendor rehearsal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultRow {
    /// reader | certificate | network | registry
    pub kind: String,
    pub set_at: String,
    pub until: Option<String>,
}

/// What a check needs to know about the asking institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckContext {
    pub institution: InstitutionRow,
    /// face | visual (default face).
    pub reader_mode: String,
    pub fault: Option<FaultRow>,
}

/// One switch of the reader mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderModeEvent {
    pub mode: String,
    pub staff_id: Option<String>,
    pub changed_at: String,
}

/// A visit to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVisit {
    pub institution: InstitutionCode,
    pub visited_on: NaiveDate,
    pub patient_key: Option<String>,
    /// none | pending | done
    pub recheck_state: String,
    pub record: serde_json::Value,
    pub at: String,
}

/// A visit as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub id: i64,
    pub institution: InstitutionCode,
    pub visited_on: NaiveDate,
    pub patient_key: Option<String>,
    pub recheck_state: String,
    pub claim_paid_on: Option<NaiveDate>,
    pub record: serde_json::Value,
    pub has_declaration: bool,
    pub created_at: String,
}

/// A declaration as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclarationRow {
    pub visit_id: i64,
    pub form: serde_json::Value,
    pub submitted_at: String,
}

/// One logged deletion of a declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletionRow {
    pub visit_id: i64,
    pub institution_code: String,
    pub claim_paid_on: NaiveDate,
    pub deleted_at: String,
    pub reason: String,
}

/// An activation request of the system-failure mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureModeRequestRow {
    pub id: i64,
    pub institution_code: String,
    pub institution_name: String,
    /// The number on file (保険医療機関届), for the call-back.
    pub phone_on_file: Option<String>,
    pub contact_name: String,
    pub reason: Option<String>,
    /// requested | confirmed | enabled
    pub status: String,
    pub requested_at: String,
    pub confirmed_at: Option<String>,
    pub confirmed_by: Option<String>,
    pub called_number: Option<String>,
    pub enabled_from: Option<String>,
    pub enabled_until: Option<String>,
    pub report_due_on: Option<NaiveDate>,
    pub report_received_at: Option<String>,
}

/// A disaster activation for a whole prefecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisasterRow {
    pub id: i64,
    pub prefecture: u8,
    pub enabled_from: String,
    pub enabled_until: String,
    pub reason: String,
    pub created_by: String,
}

/// What the failure-mode search matches on (already normalised keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSearch {
    pub birth_date: NaiveDate,
    pub sex: u8,
    pub name_key: Option<String>,
    pub kana_key: Option<String>,
    pub address_key: Option<String>,
}

impl PersonSearch {
    /// The key columns this search compares, with their values: only the
    /// present ones, so that each store's query names them as plain
    /// equalities and the (name_key, birth_date) or (kana_key, birth_date)
    /// index answers it (`$n IS NULL OR col = $n` made both stores scan
    /// every person).
    pub fn keys(&self) -> Vec<(&'static str, &str)> {
        [
            ("name_key", &self.name_key),
            ("kana_key", &self.kana_key),
            ("address_key", &self.address_key),
        ]
        .into_iter()
        .filter_map(|(col, v)| v.as_deref().map(|v| (col, v)))
        .collect()
    }
}

/// A stored search, for the pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRow {
    pub id: i64,
    pub searched_at: String,
    pub checked_on: NaiveDate,
    pub candidates: Vec<i64>,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub person_id: Option<i64>,
    pub purpose: Option<String>,
    pub detail: serde_json::Value,
    /// The hash chain ([`crate::chain`]); `None` on rows from before it.
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// Where the hash chains begin: the last id of each table when the chain
/// was introduced (rows up to it carry no hash).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainStart {
    pub audit_log: i64,
    pub check_history: i64,
}

/// A check-history row as stored, for its hash chain ([`crate::chain`]):
/// every column, dates as `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckLink {
    pub id: i64,
    pub institution_code: String,
    pub checked_at: String,
    pub checked_on: String,
    pub reference: String,
    pub certificate_serial: Option<String>,
    pub insurer_number: Option<String>,
    pub symbol: Option<String>,
    pub number: Option<String>,
    pub branch: Option<String>,
    pub birth_date: Option<String>,
    pub person_id: Option<i64>,
    pub validity: Option<i64>,
    pub error_code: Option<String>,
    /// The answer as sent, as stored (JSON text).
    pub answer: String,
    pub identity_confirmed_by: Option<String>,
    pub staff_id: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl CheckLink {
    /// The row `check` becomes, before its id and hashes are known.
    pub fn of(check: &NewCheck) -> CheckLink {
        let mut l = CheckLink {
            id: 0,
            institution_code: check.institution.to_string(),
            checked_at: check.checked_at.clone(),
            checked_on: check.checked_on.to_string(),
            reference: String::new(),
            certificate_serial: None,
            insurer_number: None,
            symbol: None,
            number: None,
            branch: None,
            birth_date: None,
            person_id: check.person_id,
            validity: check.validity.map(i64::from),
            error_code: check.error_code.clone(),
            answer: check.answer.to_string(),
            identity_confirmed_by: check.identity_confirmed_by.clone(),
            staff_id: check.staff_id.clone(),
            prev_hash: None,
            hash: None,
        };
        match &check.query {
            CheckQuery::FailureMode { .. } => l.reference = "failure_mode".into(),
            CheckQuery::Card { serial } => {
                l.reference = "card".into();
                l.certificate_serial = Some(serial.to_string());
            }
            CheckQuery::Numbers {
                numbers: n,
                birth_date,
            } => {
                l.reference = "numbers".into();
                l.insurer_number = Some(n.insurer_number.to_string());
                l.symbol = n.symbol.as_ref().map(ToString::to_string);
                l.number = Some(n.number.to_string());
                l.branch = n.branch.map(|b| b.to_string());
                l.birth_date = Some(birth_date.to_string());
            }
        }
        l
    }
}

/// A claim as stored at the institution: its current version and state. The
/// record is the clinic's own typed claim (`onshi_clinic::claims::ClaimRecord`)
/// as JSON; the clinic parses it back.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    pub id: i64,
    pub institution: InstitutionCode,
    /// 診療年月, YYYY-MM.
    pub claim_month: String,
    pub patient_key: String,
    pub version: i64,
    pub state: ClaimState,
    pub record: serde_json::Value,
    pub updated_at: String,
}

/// One version of a claim, never rewritten.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimVersionRow {
    pub claim_id: i64,
    pub version: i64,
    pub state: ClaimState,
    pub record: serde_json::Value,
    pub meta: ChangeMeta,
}

/// Who changed a claim, when, why and by which rule; what carried it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeMeta {
    pub at: String,
    pub actor: String,
    pub reason: String,
    pub rule: String,
    /// The submission that carried this version to the payer.
    #[serde(default)]
    pub submission_id: Option<i64>,
    /// The payer run whose decision this version records.
    #[serde(default)]
    pub payer_run_id: Option<i64>,
    /// The payer's decision as received (返戻 reason, new insurer, shares).
    #[serde(default)]
    pub payer_detail: Option<serde_json::Value>,
    /// The version this one replaces after a 返戻 or 取下げ (再請求).
    #[serde(default)]
    pub previous_version: Option<i64>,
}

/// A proposed correction of a frozen claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalRow {
    pub id: i64,
    pub claim_id: i64,
    pub based_on_version: i64,
    pub record: serde_json::Value,
    pub reason: String,
    pub created_at: String,
    pub status: ProposalStatus,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
}

/// Where a proposed correction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Open,
    Accepted,
    Dismissed,
}

impl ProposalStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Accepted, Self::Dismissed]
            .into_iter()
            .find(|x| x.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "未決定",
            Self::Accepted => "承認",
            Self::Dismissed => "却下",
        }
    }
}

/// One step of a claim workflow, applied with the others of its batch in one
/// transaction. `expected_version` guards against a concurrent change: a
/// batch whose claim moved on is refused whole ([`crate::StoreError::Conflict`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimChange {
    Create {
        claim_month: String,
        patient_key: String,
        state: ClaimState,
        record: serde_json::Value,
        meta: ChangeMeta,
    },
    Version {
        claim_id: i64,
        expected_version: i64,
        state: ClaimState,
        record: serde_json::Value,
        meta: ChangeMeta,
        /// Link the version to the submission of the same batch.
        carried_by_submission: bool,
    },
    Propose {
        claim_id: i64,
        based_on_version: i64,
        record: serde_json::Value,
        reason: String,
        at: String,
    },
    DecideProposal {
        proposal_id: i64,
        accepted: bool,
        by: String,
        reason: String,
        at: String,
    },
}

/// A file or request that carried claims to a payer.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubmission {
    pub claim_month: String,
    pub payer: Payer,
    /// `uke` or `jsonl`.
    pub format: String,
    pub body: Vec<u8>,
    pub claims: i64,
    pub at: String,
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionRow {
    pub id: i64,
    pub institution: InstitutionCode,
    pub claim_month: String,
    pub payer: Payer,
    pub format: String,
    /// SHA-256 of the body, hex.
    pub digest: String,
    pub bytes: i64,
    pub claims: i64,
    pub at: String,
    pub actor: String,
}

/// A stored payer run: what it read and everything it decided.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPayerRun {
    pub as_of: NaiveDate,
    pub at: String,
    pub actor: String,
    /// The inputs: names, digests, submission ids (JSON).
    pub inputs: serde_json::Value,
    pub policy: serde_json::Value,
    pub summary: serde_json::Value,
    /// The whole outcome (report, bills, ratio differences, holds), as sent.
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PayerRunRow {
    pub id: i64,
    pub as_of: NaiveDate,
    pub at: String,
    pub actor: String,
    pub inputs: serde_json::Value,
    pub policy: serde_json::Value,
    pub summary: serde_json::Value,
    /// Present when one run is read whole.
    pub outcome: Option<String>,
}

/// One claim's fate in a stored run, addressed to its institution.
#[derive(Debug, Clone, PartialEq)]
pub struct PayerResultRow {
    pub run_id: i64,
    pub institution_code: String,
    pub claim_month: String,
    pub claim_id: String,
    pub fate: String,
    pub detail: serde_json::Value,
}

/// 請求実績: what one claim was decided to one insurer (weights 按分).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub institution_code: String,
    pub payer: Payer,
    pub claim_month: String,
    pub claim_id: String,
    pub insurer: String,
    pub yen: u64,
}

/// A candidate insurer's answer to the payer's 照会 about a 不詳 claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InquiryAnswerRow {
    pub institution_code: String,
    pub claim_month: String,
    pub claim_id: String,
    pub insurer: String,
    /// true: 該当; false: 非該当.
    pub matches: bool,
    pub by: String,
    pub at: String,
}

/// The insurer's settlement with a 70+ patient of a ratio difference
/// (notice §2(2) ※).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    pub insurer: String,
    pub institution_code: String,
    pub claim_month: String,
    pub claim_id: String,
    /// `claim` (請求: the patient pays the insurer) or `refund` (返還).
    pub kind: String,
    pub yen: u64,
    pub settled_on: Option<NaiveDate>,
    pub done: bool,
    pub by: String,
    pub at: String,
}

/// A 70+ ratio difference found by a stored run (notice §2(2) ※).
#[derive(Debug, Clone, PartialEq)]
pub struct RatioDifferenceRow {
    pub run_id: i64,
    pub insurer: String,
    pub institution_code: String,
    pub claim_month: String,
    pub claim_id: String,
    pub detail: serde_json::Value,
}
