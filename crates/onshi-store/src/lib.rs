//! # onshi-store
//!
//! Persistence for onshi behind narrow traits: [`RegistryStore`],
//! [`InsurerStore`], [`ClinicStore`], [`FailureModeStore`], [`ClaimStore`]
//! (the institution's claims: versions, proposed corrections, submissions)
//! and [`PayerStore`] (stored payer runs, their results, the payment record,
//! 照会 answers, ratio settlements), together [`Store`]. Two stores implement
//! all six with the same behaviour:
//! - [`sqlite::SqliteStore`], the embedded default (rusqlite with bundled
//!   SQLite, WAL, migrations in [`migrations::SQLITE`]);
//! - [`postgres::PgStore`], PostgreSQL 15+ (the blocking `postgres` client
//!   pooled by r2d2, migrations in [`migrations::POSTGRES`]), optionally in a
//!   schema of its own and with a read replica for lag-tolerant reads.
//!
//! Invariants:
//! - a write method is one transaction: it is applied whole or not at all;
//! - every value read back is parsed into its `onshi-core` type again, so a
//!   corrupt row surfaces as [`StoreError::Corrupt`], never as a bad value;
//! - no method reads the clock: timestamps come from the caller;
//! - the audit log and the check history are append-only and hash-chained
//!   ([`chain`]); [`chain::verify`] finds an edited, deleted or inserted entry;
//! - a claim's versions are append-only (trigger), and a batch of claim
//!   changes is refused whole when a claim moved past the version it read.
//!
//! May depend on: onshi-core, rusqlite/postgres/r2d2, serde, sha2. Not on any
//! service crate.

pub mod chain;
pub mod migrations;
pub mod postgres;
pub mod records;
pub mod sqlite;

pub use postgres::PgStore;
pub use records::*;
pub use sqlite::SqliteStore;

use chrono::NaiveDate;
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::{CertificateSerial, InstitutionCode, InsurerNumber, Payer, PersonRef};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("connection pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// A uniqueness or reference rule of the schema refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The write would duplicate the registered qualification with this id.
    #[error("duplicate of qualification {0}")]
    Duplicate(i64),
    /// The database was too busy to answer in time (a lock wait or a
    /// statement ran past its limit); nothing was written. Worth a retry.
    #[error("busy: {0}")]
    Busy(String),
    /// A stored value no longer parses as its domain type.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The stored code of a payer.
pub fn payer_code(p: Payer) -> &'static str {
    match p {
        Payer::ShiharaiKikin => "shiharai_kikin",
        Payer::Kokuhoren => "kokuhoren",
    }
}

/// A payer from its stored code.
pub fn payer_parse(s: &str) -> Option<Payer> {
    match s {
        "shiharai_kikin" => Some(Payer::ShiharaiKikin),
        "kokuhoren" => Some(Payer::Kokuhoren),
        _ => None,
    }
}

/// What the central registry needs from storage.
pub trait RegistryStore: Send + Sync {
    /// Writes a batch of insurers, institutions and persons (with their cards
    /// and qualifications) in one transaction. Insurers and institutions are
    /// upserted by their code; persons are always new.
    fn write_batch(&self, batch: &Batch, recorded_at: &str) -> Result<BatchCounts>;

    fn institution(&self, code: &InstitutionCode) -> Result<Option<InstitutionRow>>;
    fn insurer(&self, number: &InsurerNumber) -> Result<Option<InsurerRow>>;
    fn person(&self, id: i64) -> Result<Option<PersonRow>>;
    fn card(&self, serial: &CertificateSerial) -> Result<Option<CardRow>>;

    /// The person's qualifications that checks may see, in acquisition order.
    fn visible_qualifications_of(&self, person_id: i64) -> Result<Vec<QualificationRow>>;

    /// The visible qualifications registered under these numbers for a person
    /// born on `birth_date`. An absent 記号 matches only qualifications without
    /// one; an absent 枝番 matches any 枝番.
    fn visible_qualifications_by_numbers(
        &self,
        numbers: &InsuranceNumbers,
        birth_date: NaiveDate,
    ) -> Result<Vec<QualificationRow>>;

    /// Appends a check to the history, linked into its institution's hash
    /// chain ([`chain`]), and returns its id once committed.
    fn record_check(&self, check: &NewCheck) -> Result<i64>;

    /// Check-history rows of every institution after `after_id`, oldest
    /// first, as stored (for [`chain::verify`] and the audit export).
    fn check_links(&self, after_id: i64, limit: u32) -> Result<Vec<CheckLink>>;

    /// An institution's check history for one 資格確認日, oldest first.
    fn checks_of(&self, institution: &InstitutionCode, on: NaiveDate) -> Result<Vec<CheckRow>>;

    /// An institution's checks recorded after `after_id`, oldest first (the
    /// face-folder writer follows the history with this).
    fn checks_after(
        &self,
        institution: &InstitutionCode,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<CheckRow>>;

    /// The institution with its reader mode and any injected fault; `None`
    /// when the institution is not registered.
    fn check_context(&self, code: &InstitutionCode) -> Result<Option<CheckContext>>;

    /// Switches the reader mode and appends the switch to its audit, in one
    /// transaction.
    fn set_reader_mode(
        &self,
        code: &InstitutionCode,
        mode: &str,
        staff_id: Option<&str>,
        at: &str,
    ) -> Result<()>;

    /// The reader-mode switches of an institution, oldest first.
    fn reader_mode_events(&self, code: &InstitutionCode) -> Result<Vec<ReaderModeEvent>>;

    fn set_fault(
        &self,
        code: &InstitutionCode,
        kind: &str,
        until: Option<&str>,
        at: &str,
    ) -> Result<()>;
    fn clear_fault(&self, code: &InstitutionCode) -> Result<bool>;

    fn insert_token(&self, token: &NewToken) -> Result<i64>;

    /// Persons by id, after `after_id`, at most `limit` (for generators and
    /// batch work).
    fn persons_after(&self, after_id: i64, limit: u32) -> Result<Vec<PersonRow>>;
    /// Every registered institution, by code.
    fn institutions(&self) -> Result<Vec<InstitutionRow>>;
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>>;

    /// Counts of the main tables, for progress and tests.
    fn counts(&self) -> Result<TableCounts>;
}

/// What the insurer side needs: registrations with the 5-attribute match,
/// losses, corrections, idempotency, the insurer's own records and reports.
///
/// Every write is one transaction that also claims its Idempotency-Key (when
/// given) and stores the answer `respond` builds, so a retry can never see a
/// half-applied write or a different answer.
pub trait InsurerStore: Send + Sync {
    fn person_by_ref(&self, person_ref: &PersonRef) -> Result<Option<PersonRow>>;

    /// Registers the rows for `insurer` in one transaction, streaming: each
    /// row is matched (`onshi_core::matching::differing`) against the resident
    /// record and stored, invisible to checks when it differs (or rejected when
    /// `reject_mismatch`). Any reject, or `dry_run`, rolls the whole batch back,
    /// and the remaining rows are still evaluated so the report lists them all.
    #[allow(clippy::too_many_arguments)]
    fn register(
        &self,
        insurer: &InsurerNumber,
        rows: &mut dyn Iterator<Item = RowInput>,
        reject_mismatch: bool,
        dry_run: bool,
        recorded_at: &str,
        claim: Option<&IdemClaim>,
        respond: &dyn Fn(&RegisterOutcome) -> StoredResponse,
    ) -> Result<Idem<RegisterOutcome>>;

    /// Records the 資格喪失日 of one of `insurer`'s qualifications. `None`
    /// when it has no such record.
    fn lose(
        &self,
        insurer: &InsurerNumber,
        id: i64,
        lost_on: NaiveDate,
        recorded_at: &str,
        claim: Option<&IdemClaim>,
        respond: &dyn Fn(&InsurerRecord) -> StoredResponse,
    ) -> Result<Idem<Option<InsurerRecord>>>;

    /// Replaces one of `insurer`'s qualifications by `reg` and re-runs the
    /// match. `None` when it has no such record; a `reg` whose person_ref is
    /// unknown is a [`StoreError::Conflict`].
    fn correct(
        &self,
        insurer: &InsurerNumber,
        id: i64,
        reg: &Registration,
        recorded_at: &str,
        claim: Option<&IdemClaim>,
        respond: &dyn Fn(&InsurerRecord) -> StoredResponse,
    ) -> Result<Idem<Option<InsurerRecord>>>;

    fn insurer_record(&self, insurer: &InsurerNumber, id: i64) -> Result<Option<InsurerRecord>>;

    /// The insurer's records, newest first; only mismatches when asked.
    fn insurer_records(
        &self,
        insurer: &InsurerNumber,
        mismatch_only: bool,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<InsurerRecord>>;

    fn revisions(&self, insurer: &InsurerNumber, id: i64) -> Result<Vec<RevisionRow>>;

    /// Per day in `[from, to]`: card checks of people who were this insurer's
    /// members that day, and how many answered 資格(無効) or 資格情報なし.
    fn check_report(
        &self,
        insurer: &InsurerNumber,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayCount>>;

    /// Registrations made in `[from, to]` (by registration time) that arrived
    /// after the member's first check within the qualification's validity.
    fn late_registrations(
        &self,
        insurer: &InsurerNumber,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LateRegistration>>;
}

/// What the reception side needs: visits, declarations (with their
/// deletion log), the deferred re-check queue.
pub trait ClinicStore: Send + Sync {
    fn insert_visit(&self, v: &NewVisit) -> Result<i64>;
    /// One of the institution's visits (another institution's is `None`).
    fn visit(&self, institution: &InstitutionCode, id: i64) -> Result<Option<VisitRow>>;
    /// Replaces a visit's record and re-check state.
    fn update_visit(
        &self,
        institution: &InstitutionCode,
        id: i64,
        recheck_state: &str,
        record: &serde_json::Value,
        at: &str,
    ) -> Result<bool>;
    /// The institution's visits on one day.
    fn visits_on(&self, institution: &InstitutionCode, day: NaiveDate) -> Result<Vec<VisitRow>>;
    /// The institution's visits from `from` to `to` inclusive, by day then id.
    fn visits_between(
        &self,
        institution: &InstitutionCode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<VisitRow>>;
    /// The latest earlier visit of the same patient (by the institution's
    /// patient key), for a returning patient.
    fn previous_visit(
        &self,
        institution: &InstitutionCode,
        patient_key: &str,
        before_id: i64,
    ) -> Result<Option<VisitRow>>;
    fn pending_rechecks(&self, institution: &InstitutionCode, limit: u32) -> Result<Vec<VisitRow>>;
    fn put_declaration(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
        form: &serde_json::Value,
        at: &str,
    ) -> Result<bool>;
    fn declaration(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
    ) -> Result<Option<DeclarationRow>>;
    fn mark_claim_paid(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
        paid_on: NaiveDate,
    ) -> Result<bool>;
    /// Deletes every declaration whose claim was paid on or before
    /// `paid_on_or_before`, logging each deletion, in one transaction.
    fn purge_declarations(
        &self,
        paid_on_or_before: NaiveDate,
        at: &str,
    ) -> Result<Vec<DeletionRow>>;
    fn deletions(&self, institution: &InstitutionCode) -> Result<Vec<DeletionRow>>;
}

/// What the system-failure mode needs: the activation workflow, disaster
/// activations, the person search, stored searches and the audit log.
pub trait FailureModeStore: Send + Sync {
    fn fm_create_request(
        &self,
        institution: &InstitutionCode,
        contact: &str,
        reason: Option<&str>,
        at: &str,
    ) -> Result<i64>;
    fn fm_request(&self, id: i64) -> Result<Option<FailureModeRequestRow>>;
    /// Requests, newest first, optionally of one institution and one status.
    fn fm_requests(
        &self,
        institution: Option<&InstitutionCode>,
        status: Option<&str>,
    ) -> Result<Vec<FailureModeRequestRow>>;
    /// requested → confirmed (the call-back); false when not in `requested`.
    fn fm_confirm(&self, id: i64, operator: &str, called_number: &str, at: &str) -> Result<bool>;
    /// confirmed → enabled for `[from, until)`; false when not `confirmed`.
    fn fm_enable(&self, id: i64, from: &str, until: &str, report_due_on: NaiveDate)
    -> Result<bool>;
    /// Records the usage report of an enabled request of the institution.
    fn fm_report(
        &self,
        institution: &InstitutionCode,
        id: i64,
        text: &str,
        at: &str,
    ) -> Result<bool>;
    /// Enabled requests whose report is due before `today` and not received.
    fn fm_overdue(&self, today: NaiveDate) -> Result<Vec<FailureModeRequestRow>>;
    fn fm_add_disaster(
        &self,
        prefecture: u8,
        from: &str,
        until: &str,
        reason: &str,
        by: &str,
        at: &str,
    ) -> Result<i64>;
    fn fm_disasters(&self) -> Result<Vec<DisasterRow>>;
    /// Whether the mode is on for the institution at `now` (RFC 3339, UTC,
    /// milliseconds): by its own enabled request or by a disaster activation
    /// of its prefecture. Returns what enabled it.
    fn fm_active(&self, institution: &InstitutionCode, now: &str) -> Result<Option<String>>;
    /// Persons matching the search, at most `limit`.
    fn fm_search_persons(&self, q: &PersonSearch, limit: u32) -> Result<Vec<PersonRow>>;
    fn fm_record_search(
        &self,
        institution: &InstitutionCode,
        at: &str,
        checked_on: NaiveDate,
        candidates: &[i64],
        purpose: Option<&str>,
    ) -> Result<i64>;
    fn fm_search(&self, institution: &InstitutionCode, id: i64) -> Result<Option<SearchRow>>;
    /// How many searches the institution made at or after `since`.
    fn fm_searches_since(&self, institution: &InstitutionCode, since: &str) -> Result<u64>;
    /// Appends an entry to the audit log, linked into its hash chain
    /// ([`chain`]).
    fn audit(
        &self,
        at: &str,
        actor: &str,
        action: &str,
        person_id: Option<i64>,
        purpose: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<()>;
    /// Where the hash chains begin ([`chain`]).
    fn chain_start(&self) -> Result<ChainStart>;
    /// Audit entries after `after_id`, oldest first, at most `limit`.
    fn audit_entries(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRow>>;
}

/// The institution's claims with their versions, proposed corrections and
/// submissions (the clinic's records; `onshi_clinic::claims` decides).
pub trait ClaimStore: Send + Sync {
    /// The institution's claims of one 診療年月 (YYYY-MM), by id.
    fn claims_of_month(&self, institution: &InstitutionCode, month: &str) -> Result<Vec<ClaimRow>>;
    /// One of the institution's claims (another institution's is `None`).
    fn claim(&self, institution: &InstitutionCode, id: i64) -> Result<Option<ClaimRow>>;
    /// Every version of one of the institution's claims, oldest first.
    fn claim_versions(
        &self,
        institution: &InstitutionCode,
        id: i64,
    ) -> Result<Vec<ClaimVersionRow>>;
    /// The proposed corrections of the institution's claims of one month
    /// (open and decided), oldest first.
    fn claim_proposals(
        &self,
        institution: &InstitutionCode,
        month: &str,
    ) -> Result<Vec<ProposalRow>>;
    /// Applies a batch of claim changes, and the submission that carries
    /// them when given, in one transaction: all or nothing. A change whose
    /// claim is not at `expected_version` (or a proposal not open) refuses
    /// the batch with [`StoreError::Conflict`]. Returns the ids of created
    /// claims in order and the submission's id.
    fn apply_claim_changes(
        &self,
        institution: &InstitutionCode,
        submission: Option<&NewSubmission>,
        changes: &[ClaimChange],
    ) -> Result<(Vec<i64>, Option<i64>)>;
    /// Submissions, newest first; of one institution when given.
    fn submissions(
        &self,
        institution: Option<&InstitutionCode>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<SubmissionRow>>;
    /// One submission with its body.
    fn submission(&self, id: i64) -> Result<Option<(SubmissionRow, Vec<u8>)>>;
}

/// The payer's memory: stored runs, the per-claim results addressed to the
/// institutions, the payment record (請求実績), 照会 answers and the 70+
/// ratio settlements.
pub trait PayerStore: Send + Sync {
    /// Stores a run with its per-claim results, and replaces the payment
    /// record of every claim the run decided, in one transaction.
    fn save_payer_run(
        &self,
        run: &NewPayerRun,
        results: &[PayerResultRow],
        payments: &[PaymentRow],
        differences: &[RatioDifferenceRow],
    ) -> Result<i64>;
    /// The 70+ ratio differences billed to `insurer`, the latest run's for
    /// each claim, by month.
    fn ratio_differences(&self, insurer: &str) -> Result<Vec<RatioDifferenceRow>>;
    /// Runs, newest first, without their outcome.
    fn payer_runs(&self, limit: u32, offset: u32) -> Result<Vec<PayerRunRow>>;
    /// One run whole.
    fn payer_run(&self, id: i64) -> Result<Option<PayerRunRow>>;
    /// The latest result of each of the institution's claims from runs
    /// after `after_run`, oldest run first.
    fn payer_results_for(&self, institution: &str, after_run: i64) -> Result<Vec<PayerResultRow>>;
    /// The payment record of one institution with one payer for 診療年月
    /// `from..=to` (YYYY-MM).
    fn payment_record(
        &self,
        institution: &str,
        payer: Payer,
        from: &str,
        to: &str,
    ) -> Result<Vec<PaymentRow>>;
    /// Records (or replaces) a candidate insurer's 照会 answer.
    fn put_inquiry_answer(&self, a: &InquiryAnswerRow) -> Result<()>;
    /// The 照会 answers about one claim, by insurer.
    fn inquiry_answers(
        &self,
        institution: &str,
        month: &str,
        claim_id: &str,
    ) -> Result<Vec<InquiryAnswerRow>>;
    /// Records (or replaces) the insurer's settlement of one difference.
    fn put_settlement(&self, s: &SettlementRow) -> Result<()>;
    fn settlements(&self, insurer: &str) -> Result<Vec<SettlementRow>>;
}

/// Everything onshi stores, behind one object.
pub trait Store:
    RegistryStore + InsurerStore + ClinicStore + FailureModeStore + ClaimStore + PayerStore
{
}
impl<T: RegistryStore + InsurerStore + ClinicStore + FailureModeStore + ClaimStore + PayerStore>
    Store for T
{
}
