//! A patient at the window when the card check cannot give the current
//! qualification: the visit record, the window-burden decision, the
//! declaration, and the deferred re-check.

use chrono::{DateTime, NaiveDate, Utc};
use onshi_core::burden::window_amount;
use onshi_core::claim::InsurerBasis;
use onshi_core::claim_life::{FactRank, FactSource, admits};
use onshi_core::declaration::{Declaration, RawDeclaration};
use onshi_core::reception::{
    DeclaredRatio, FailureKind, Shown, WindowDecision, WindowInput, decide_window_burden,
};
use onshi_core::{BurdenRatio, InstitutionCode, parse_date_any, parse_iso_date};
use onshi_registry::RegistryError;
use onshi_registry::check::{
    self, CheckAnswer, CheckRequest, IdentityMethod, QualificationView, RawCheckRequest,
};
use onshi_store::{NewVisit, Store, VisitRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the clinic knows of the patient (from the card face or the patient).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientInfo {
    pub name: Option<String>,
    pub kana: Option<String>,
    /// ISO, YYYYMMDD or 和暦.
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    pub address: Option<String>,
}

/// A failure the clerk reports instead of running a check (the reader is
/// broken, the power is out, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedFailure {
    /// One of `reader_broken`, `card_unreadable`, `certificate_expired`,
    /// `power_outage`, `network_outage`, `qualification_invalid`, `no_information`.
    pub kind: String,
    /// Whether the registry could be reached at all (default: the usual case
    /// for the kind: only power and network outages cut it off).
    pub registry_reachable: Option<bool>,
}

/// `POST /api/v1/visits`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVisit {
    /// 受診日 (the 資格確認日 of the check), YYYY-MM-DD.
    pub visited_on: Option<String>,
    /// The institution's own patient id (診察券番号), to find earlier visits.
    pub patient_key: Option<String>,
    pub patient: Option<PatientInfo>,
    /// The check to run (fields as for `POST /api/v1/checks`, without
    /// `checked_on`); absent: no check was possible.
    pub attempt: Option<RawCheckRequest>,
    /// The failure the clerk saw; when given, no check is run.
    pub failure: Option<ReportedFailure>,
}

/// Why the check failed, as recorded on the visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailureInfo {
    /// `qualification_invalid`, `no_information`, `reader_broken`,
    /// `card_unreadable`, `certificate_expired`, `power_outage`, `network_outage`.
    #[schema(value_type = String)]
    pub kind: FailureKind,
    pub label: String,
    /// 保発0710第1号 1(1) or 1(2).
    pub section: String,
    pub registry_reachable: bool,
    /// The registry's error code, when the failure came from a check.
    pub error_code: Option<String>,
}

impl FailureInfo {
    fn new(kind: FailureKind, registry_reachable: bool, error_code: Option<&str>) -> Self {
        FailureInfo {
            kind,
            label: kind.label().to_owned(),
            section: format!("保発0710第1号 {}", kind.section()),
            registry_reachable,
            error_code: error_code.map(str::to_owned),
        }
    }
}

/// The decision as stored on the visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionInfo {
    pub ratio_percent: u16,
    /// `online_check`, `myna_portal`, `insurance_card`,
    /// `qualification_certificate`, `declaration`, `returning_patient_oral`,
    /// `institution_discretion`, `full_cost`.
    pub basis: String,
    pub section: String,
    pub explanation: String,
    pub points: Option<u64>,
    /// 窓口負担 in yen (points × 10 × ratio, 10円 rounding).
    pub amount_yen: Option<u64>,
}

/// The insurer fields the claim must use, as far as the window knows them
/// (notice §3(1)–(3); the 不詳 case of §3(4) is the claim's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimBasis {
    /// `confirmed` (§3(1)), `told_orally` (§3(2)) or `lost_qualification` (§3(3)).
    #[schema(value_type = String)]
    pub basis: InsurerBasis,
    pub section: String,
    /// How it was learned: `online_check`, `recheck`, `failure_mode`,
    /// `shown`, `previous_visit`, `hearing`.
    #[schema(value_type = String)]
    pub source: FactSource,
    pub insurer_number: String,
    pub insured_symbol: Option<String>,
    pub insured_number: String,
    pub insured_branch: Option<String>,
}

impl ClaimBasis {
    fn from_view(basis: InsurerBasis, source: FactSource, q: &QualificationView) -> Self {
        ClaimBasis {
            basis,
            section: basis.section().to_owned(),
            source,
            insurer_number: q.insurer_number.clone(),
            insured_symbol: q.insured_symbol.clone(),
            insured_number: q.insured_number.clone(),
            insured_branch: q.insured_branch.clone(),
        }
    }

    /// Where the fact stands in the notice's order (`onshi_core::claim_life::
    /// FactRank`): a document shown outranks the registry, which outranks what
    /// was said, which outranks the lost qualification.
    pub fn rank(&self) -> FactRank {
        match (self.basis, self.source) {
            (InsurerBasis::Confirmed, FactSource::Shown) => FactRank::Presented,
            (InsurerBasis::Confirmed, _) => FactRank::Registry,
            (InsurerBasis::ToldOrally, _) => FactRank::Oral,
            (InsurerBasis::LostQualification, _) => FactRank::Lost,
            (InsurerBasis::Unknown, _) => FactRank::Unknown,
        }
    }
}

/// One fact about the insurer, as learned (kept in order on the visit; the
/// claim rests on the best of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InsurerFact {
    #[serde(flatten)]
    pub basis: ClaimBasis,
    /// When it was learned (RFC 3339).
    pub learned_at: String,
    /// Whether the claim took it (false: a lower-ranked fact than what the
    /// claim already rests on, kept for the record only).
    pub taken: bool,
}

/// Adds a fact to the visit: it becomes what the claim rests on only when
/// it does not go down the notice's order (`onshi_core::claim_life::admits`,
/// notice §3(1)–(3)); it is kept either way. A 資格(無効) re-check after a
/// shown 資格確認書 therefore adds the lost numbers as a fact and leaves the
/// claim on the document. The same numbers at the same rank again are kept
/// as a fact and change nothing.
pub fn offer(record: &mut VisitRecord, fact: ClaimBasis, at: &str) -> bool {
    // The same numbers at the same rank again (a re-check repeating the
    // answer) confirm what the claim rests on; they do not replace it.
    let same = record.claim.as_ref().is_some_and(|c| {
        c.rank() == fact.rank()
            && c.insurer_number == fact.insurer_number
            && c.insured_symbol == fact.insured_symbol
            && c.insured_number == fact.insured_number
            && c.insured_branch == fact.insured_branch
    });
    let taken = !same && admits(record.claim.as_ref().map(ClaimBasis::rank), fact.rank());
    if record.facts.is_empty()
        && let Some(c) = &record.claim
    {
        // A record stored before facts were kept: its claim is its first fact.
        record.facts.push(InsurerFact {
            basis: c.clone(),
            learned_at: String::new(),
            taken: true,
        });
    }
    record.facts.push(InsurerFact {
        basis: fact.clone(),
        learned_at: at.to_owned(),
        taken,
    });
    if taken {
        record.claim = Some(fact);
    }
    taken
}

/// The deferred re-check state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecheckInfo {
    pub attempts: u32,
    pub last_at: Option<String>,
    /// The last answer: a validity label or an error code.
    pub last_result: Option<String>,
}

/// A visit as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VisitRecord {
    pub visited_on: NaiveDate,
    pub patient_key: Option<String>,
    pub patient: Option<PatientInfo>,
    /// The check as asked (the raw request).
    pub attempt: Option<RawCheckRequest>,
    /// The registry's answer, when a check ran.
    pub check: Option<CheckAnswer>,
    pub failure: Option<FailureInfo>,
    pub decision: Option<DecisionInfo>,
    pub claim: Option<ClaimBasis>,
    pub recheck: RecheckInfo,
    /// The day the clinic contacted the patient for the numbers (notice
    /// §3(4); goes into a 不詳 claim's 摘要).
    #[serde(default)]
    pub contacted_on: Option<NaiveDate>,
    /// Every insurer fact learned for this visit, in order.
    #[serde(default)]
    pub facts: Vec<InsurerFact>,
}

/// A visit with its id and what to do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VisitView {
    pub id: i64,
    /// `none`, `pending` (to be re-checked) or `done`.
    pub recheck_state: String,
    pub has_declaration: bool,
    pub claim_paid_on: Option<NaiveDate>,
    #[serde(flatten)]
    pub record: VisitRecord,
    /// The next steps in the notice's order, in Japanese.
    pub next_steps: Vec<String>,
}

/// Why a visit operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClinicError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("前回の受診記録（負担割合の判断）がありません")]
    NoRecordOnFile,
    #[error("この受診には被保険者資格申立書がありません")]
    NoDeclaration,
    #[error("保存された受診記録を読めません: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Transition(#[from] onshi_core::claim_life::TransitionRefused),
    #[error("請求が他の操作で更新されました。最新の状態を読み込んでからやり直してください")]
    ClaimChanged,
    #[error("請求{0}はこの診療年月の請求ではありません")]
    ClaimNotInMonth(i64),
    #[error("{0}")]
    NothingToDo(&'static str),
    #[error(
        "未決定の訂正案がありません（すでに承認・却下されたか、新しい訂正案に置き換わりました）"
    )]
    ProposalNotOpen,
    #[error("{message}")]
    File { code: &'static str, message: String },
}

impl ClinicError {
    pub fn code(&self) -> &'static str {
        match self {
            ClinicError::Registry(e) => e.code(),
            ClinicError::NoRecordOnFile => "no_record_on_file",
            ClinicError::NoDeclaration => "no_declaration",
            ClinicError::Corrupt(_) => "internal",
            ClinicError::Transition(_) => "claim_transition_refused",
            ClinicError::ClaimChanged => "claim_changed",
            ClinicError::ClaimNotInMonth(_) => "claim_not_in_month",
            ClinicError::NothingToDo(_) => "nothing_to_do",
            ClinicError::ProposalNotOpen => "proposal_not_open",
            ClinicError::File { code, .. } => code,
        }
    }
}

impl From<onshi_store::StoreError> for ClinicError {
    fn from(e: onshi_store::StoreError) -> Self {
        ClinicError::Registry(e.into())
    }
}
impl From<onshi_core::ParseError> for ClinicError {
    fn from(e: onshi_core::ParseError) -> Self {
        ClinicError::Registry(e.into())
    }
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_failure(f: &ReportedFailure) -> Result<FailureInfo, RegistryError> {
    let kind = FailureKind::ALL
        .into_iter()
        .find(|k| serde_json::to_value(k).ok().and_then(|v| v.as_str().map(|s| s == f.kind)).unwrap_or(false))
        .ok_or_else(|| RegistryError::BadValue {
            field: "failure.kind".into(),
            message: "reader_broken, card_unreadable, certificate_expired, power_outage, network_outage, \
                      qualification_invalid, no_information のいずれかです"
                .into(),
        })?;
    Ok(FailureInfo::new(
        kind,
        f.registry_reachable
            .unwrap_or(kind.registry_usually_reachable()),
        None,
    ))
}

/// The failure a refused check stands for (notice §1(2)).
fn failure_of(e: &RegistryError) -> Option<FailureInfo> {
    let (kind, reachable) = match e {
        RegistryError::ReaderUnavailable => (FailureKind::ReaderBroken, true),
        RegistryError::CertificateExpired { .. } => (FailureKind::CertificateExpired, true),
        RegistryError::CertificateRevoked | RegistryError::CertificateUnknown => {
            (FailureKind::CardUnreadable, true)
        }
        RegistryError::NetworkUnreachable | RegistryError::RegistryUnavailable => {
            (FailureKind::NetworkOutage, false)
        }
        _ => return None,
    };
    Some(FailureInfo::new(kind, reachable, Some(e.code())))
}

/// The parsed check of an attempt, dated on the visit day.
fn attempt_request(
    attempt: &RawCheckRequest,
    on: NaiveDate,
    deferred: bool,
) -> Result<Option<CheckRequest>, RegistryError> {
    match present(&attempt.reference) {
        None | Some("none") => Ok(None),
        Some(_) => {
            let mut raw = attempt.clone();
            raw.checked_on = Some(on.to_string());
            if deferred && raw.reference.as_deref() == Some("card") {
                raw.identity_confirmed_by = None;
                raw.staff_id = None;
            }
            let mut req = CheckRequest::parse(&raw)?;
            if deferred && matches!(req.query, onshi_store::CheckQuery::Card { .. }) {
                req.identity = Some(IdentityMethod::Deferred);
            }
            Ok(Some(req))
        }
    }
}

/// What an answered check means for the visit: a failure (notice §1(1)) and
/// the claim fields it gives (notice §3(1) or §3(3)).
fn read_answer(
    a: &CheckAnswer,
    source: FactSource,
) -> (Option<FailureInfo>, Option<ClaimBasis>, &'static str) {
    match a.validity {
        1 => (
            None,
            a.qualification
                .as_ref()
                .map(|q| ClaimBasis::from_view(InsurerBasis::Confirmed, source, q)),
            "done",
        ),
        2 => (
            Some(FailureInfo::new(
                FailureKind::QualificationInvalid,
                true,
                None,
            )),
            a.qualification
                .as_ref()
                .map(|q| ClaimBasis::from_view(InsurerBasis::LostQualification, source, q)),
            "pending",
        ),
        4 => (
            Some(FailureInfo::new(FailureKind::NoInformation, true, None)),
            None,
            "pending",
        ),
        _ => (None, None, "pending"),
    }
}

fn next_steps(r: &VisitRecord, has_declaration: bool) -> Vec<String> {
    let mut s = Vec::new();
    if r.decision.is_some() {
        if r.claim.is_none() {
            s.push(
                "資格が確認でき次第、事後確認（再照会）を行ってください（保発0710第1号 3）".into(),
            );
        }
        return s;
    }
    if r.check.as_ref().is_some_and(|c| c.validity == 1) {
        s.push("オンライン資格確認の結果で窓口負担を決定してください".into());
        return s;
    }
    if r.failure.as_ref().is_some_and(|f| {
        f.kind == FailureKind::NoInformation || f.kind == FailureKind::QualificationInvalid
    }) {
        s.push(
            "システム障害時モードでの照会や、後日の再照会で資格を確認できる場合があります".into(),
        );
    }
    s.push(
        "1. マイナポータルの資格情報画面、資格確認書または保険証の提示を求めてください（2(1)）"
            .into(),
    );
    if !has_declaration {
        s.push(
            "2. 提示できない場合は被保険者資格申立書を可能な範囲で記入いただいてください（2(2)）"
                .into(),
        );
    }
    s.push("3. 再診で前回から変更がないと口頭で確認できれば、申立書の提出があったものとして扱えます（2(2)）".into());
    s.push("4. いずれもできない場合は10割を請求します。再診で身元が分かる場合は医療機関の判断で3割等も可能です（2(3)）".into());
    s
}

fn to_view(row: VisitRow) -> Result<VisitView, ClinicError> {
    let record: VisitRecord =
        serde_json::from_value(row.record).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
    let next = next_steps(&record, row.has_declaration);
    Ok(VisitView {
        id: row.id,
        recheck_state: row.recheck_state,
        has_declaration: row.has_declaration,
        claim_paid_on: row.claim_paid_on,
        record,
        next_steps: next,
    })
}

fn save(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    state: &str,
    r: &VisitRecord,
    at: &str,
) -> Result<(), ClinicError> {
    let json = serde_json::to_value(r).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
    if !store.update_visit(inst, id, state, &json, at)? {
        return Err(RegistryError::NotFound.into());
    }
    Ok(())
}

/// Loads one of the institution's visits.
pub fn visit(store: &dyn Store, inst: &InstitutionCode, id: i64) -> Result<VisitView, ClinicError> {
    to_view(store.visit(inst, id)?.ok_or(RegistryError::NotFound)?)
}

/// The institution's visits of one day.
pub fn visits_on(
    store: &dyn Store,
    inst: &InstitutionCode,
    day: NaiveDate,
) -> Result<Vec<VisitView>, ClinicError> {
    store
        .visits_on(inst, day)?
        .into_iter()
        .map(to_view)
        .collect()
}

/// Opens a visit: runs the check unless the clerk reported a failure, and
/// records why it failed (notice §1). A visit without a successful check is
/// queued for the deferred re-check.
pub fn open_visit(
    store: &dyn Store,
    inst: &InstitutionCode,
    raw: &RawVisit,
    now: DateTime<Utc>,
) -> Result<VisitView, ClinicError> {
    let visited_on = parse_iso_date(
        "visited_on",
        present(&raw.visited_on).ok_or(RegistryError::Missing("visited_on"))?,
    )?;
    let patient_key = present(&raw.patient_key)
        .map(|k| onshi_core::error::clean_text("patient_key", k, 32))
        .transpose()?;
    if let Some(b) = raw.patient.as_ref().and_then(|p| present(&p.birth_date)) {
        parse_date_any("patient.birth_date", b)?;
    }
    let reported = raw.failure.as_ref().map(parse_failure).transpose()?;
    let request = raw
        .attempt
        .as_ref()
        .map(|a| attempt_request(a, visited_on, false))
        .transpose()?
        .flatten();
    let mut record = VisitRecord {
        visited_on,
        patient_key: patient_key.clone(),
        patient: raw.patient.clone(),
        attempt: raw.attempt.clone(),
        check: None,
        failure: reported.clone(),
        decision: None,
        claim: None,
        recheck: RecheckInfo::default(),
        contacted_on: None,
        facts: vec![],
    };
    let mut state = "pending";
    if let (None, Some(req)) = (&reported, &request) {
        match check::check(store, inst, req, now) {
            Ok(a) => {
                let (failure, claim, st) = read_answer(&a, FactSource::OnlineCheck);
                record.failure = failure;
                if let Some(c) = claim {
                    offer(&mut record, c, &now.to_rfc3339());
                }
                record.check = Some(a);
                state = st;
            }
            Err(e) => match failure_of(&e) {
                Some(f) => record.failure = Some(f),
                None => return Err(e.into()),
            },
        }
    }
    let at = now.to_rfc3339();
    let id = store.insert_visit(&NewVisit {
        institution: inst.clone(),
        visited_on,
        patient_key,
        recheck_state: state.into(),
        record: serde_json::to_value(&record).map_err(|e| ClinicError::Corrupt(e.to_string()))?,
        at,
    })?;
    visit(store, inst, id)
}

/// The most points one visit can carry (a bound, so amounts cannot overflow).
pub const MAX_POINTS: u64 = 99_999_999;

/// `POST /api/v1/visits/{id}/decision`: what the window knows beyond the check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDecision {
    /// notice §2(1): what the patient showed.
    pub shown: Option<RawShown>,
    /// notice §2(2): use the visit's 被保険者資格申立書.
    pub use_declaration: Option<bool>,
    /// notice §2(2) なお書き: a returning patient confirmed orally that nothing
    /// changed since the previous visit (found by `patient_key`).
    pub returning_oral: Option<bool>,
    /// notice §2(3) ただし書き: the ratio the institution chose for a known
    /// returning patient, in percent.
    pub discretion_ratio_percent: Option<u16>,
    /// 点数 of the visit, for the amount.
    pub points: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawShown {
    /// `myna_portal`, `insurance_card` or `qualification_certificate`.
    pub kind: Option<String>,
    /// The ratio it shows, in percent.
    pub ratio_percent: Option<u16>,
    /// The numbers it shows (for the claim, notice §3(1)).
    pub insurer_number: Option<String>,
    pub insured_symbol: Option<String>,
    pub insured_number: Option<String>,
    pub insured_branch: Option<String>,
}

fn ratio_pct(p: u16, field: &'static str) -> Result<BurdenRatio, RegistryError> {
    BurdenRatio::from_percent(p).map_err(|e| RegistryError::Invalid(e.for_field(field)))
}

fn shown_claim(s: &RawShown) -> Result<Option<ClaimBasis>, RegistryError> {
    let Some(n) = present(&s.insurer_number) else {
        return Ok(None);
    };
    let insurer = onshi_core::InsurerNumber::parse(n)
        .map_err(|e| RegistryError::Invalid(e.for_field("shown.insurer_number")))?;
    let number = onshi_core::InsuredNumber::parse(
        present(&s.insured_number).ok_or(RegistryError::Missing("shown.insured_number"))?,
    )?;
    let symbol = present(&s.insured_symbol)
        .map(onshi_core::InsuredSymbol::parse)
        .transpose()?;
    let branch = present(&s.insured_branch)
        .map(onshi_core::BranchNumber::parse)
        .transpose()?;
    let nums = onshi_core::qualification::InsuranceNumbers::new(insurer, symbol, number, branch)?;
    Ok(Some(ClaimBasis {
        basis: InsurerBasis::Confirmed,
        section: InsurerBasis::Confirmed.section().into(),
        source: FactSource::Shown,
        insurer_number: nums.insurer_number.to_string(),
        insured_symbol: nums.symbol.map(|s| s.to_string()),
        insured_number: nums.number.to_string(),
        insured_branch: nums.branch.map(|b| b.to_string()),
    }))
}

fn patient_birth(r: &VisitRecord, decl: Option<&Declaration>) -> Option<NaiveDate> {
    decl.and_then(|d| d.birth_date.map(|w| w.to_gregorian()))
        .or_else(|| {
            r.patient
                .as_ref()
                .and_then(|p| present(&p.birth_date))
                .and_then(|b| parse_date_any("birth_date", b).ok())
        })
}

/// Decides the window burden for a visit (notice §2; the rule is
/// `onshi_core::reception::decide_window_burden`) and stores it with the
/// amount and, where the evidence gives it, the claim's insurer fields.
pub fn decide(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    raw: &RawDecision,
    now: DateTime<Utc>,
) -> Result<VisitView, ClinicError> {
    let row = store.visit(inst, id)?.ok_or(RegistryError::NotFound)?;
    let state = row.recheck_state.clone();
    let mut record: VisitRecord =
        serde_json::from_value(row.record).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
    let mut input = WindowInput {
        online: record
            .check
            .as_ref()
            .filter(|c| c.validity == 1)
            .and_then(|c| c.burden_ratio_percent)
            .and_then(|p| BurdenRatio::from_percent(p).ok()),
        ..WindowInput::default()
    };
    let mut facts: Vec<ClaimBasis> = Vec::new();
    if let Some(s) = &raw.shown {
        let kind = match present(&s.kind) {
            Some("myna_portal") => Shown::MynaPortal,
            Some("insurance_card") => Shown::InsuranceCard,
            Some("qualification_certificate") => Shown::QualificationCertificate,
            Some(_) => {
                return Err(RegistryError::BadValue {
                    field: "shown.kind".into(),
                    message:
                        "myna_portal, insurance_card, qualification_certificate のいずれかです"
                            .into(),
                }
                .into());
            }
            None => return Err(RegistryError::Missing("shown.kind").into()),
        };
        let ratio = ratio_pct(
            s.ratio_percent
                .ok_or(RegistryError::Missing("shown.ratio_percent"))?,
            "shown.ratio_percent",
        )?;
        input.shown = Some((kind, ratio));
        if let Some(c) = shown_claim(s)? {
            facts.push(c);
        }
    }
    if raw.points.is_some_and(|p| p > MAX_POINTS) {
        return Err(RegistryError::BadValue {
            field: "points".into(),
            message: format!("点数は{MAX_POINTS}点以下です"),
        }
        .into());
    }
    let declaration = if raw.use_declaration == Some(true) {
        let row = store
            .declaration(inst, id)?
            .ok_or(ClinicError::NoDeclaration)?;
        let d: Declaration =
            serde_json::from_value(row.form).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
        input.declaration = Some(d.ratio.unwrap_or(DeclaredRatio::Unknown));
        Some(d)
    } else {
        None
    };
    let previous = match &record.patient_key {
        Some(k) => store
            .previous_visit(inst, k, id)?
            .map(to_view)
            .transpose()?,
        None => None,
    };
    if raw.returning_oral == Some(true) {
        let prev = previous
            .as_ref()
            .and_then(|p| p.record.decision.as_ref().map(|d| (p, d)));
        let (prev, d) = prev
            .filter(|(_, d)| d.basis != "full_cost")
            .ok_or(ClinicError::NoRecordOnFile)?;
        input.returning_oral = Some(ratio_pct(d.ratio_percent, "returning_oral")?);
        if let Some(c) = &prev.record.claim {
            // §3(2) for what the patient confirms is still current; a lost
            // qualification stays the §3(3) 旧資格 it was.
            facts.push(if c.basis == InsurerBasis::LostQualification {
                ClaimBasis {
                    source: FactSource::PreviousVisit,
                    ..c.clone()
                }
            } else {
                ClaimBasis {
                    basis: InsurerBasis::ToldOrally,
                    section: InsurerBasis::ToldOrally.section().into(),
                    source: FactSource::PreviousVisit,
                    ..c.clone()
                }
            });
        }
    }
    if let Some(p) = raw.discretion_ratio_percent {
        if previous.is_none() {
            return Err(ClinicError::NoRecordOnFile);
        }
        input.discretion = Some(ratio_pct(p, "discretion_ratio_percent")?);
    }
    input.birth_date = patient_birth(&record, declaration.as_ref());
    let d: WindowDecision = decide_window_burden(&input, record.visited_on);
    record.decision = Some(DecisionInfo {
        ratio_percent: d.ratio.percent(),
        basis: serde_json::to_value(d.basis)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        section: d.section,
        explanation: d.explanation,
        points: raw.points,
        amount_yen: raw.points.map(|p| window_amount(p, d.ratio)),
    });
    for f in facts {
        offer(&mut record, f, &now.to_rfc3339());
    }
    save(store, inst, id, &state, &record, &now.to_rfc3339())?;
    visit(store, inst, id)
}

/// The declaration with the fields still empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeclarationView {
    pub visit_id: i64,
    #[schema(value_type = Object)]
    pub declaration: Declaration,
    pub missing: Vec<String>,
    pub submitted_at: String,
}

/// Stores (or replaces) the visit's 被保険者資格申立書, partly filled or whole.
pub fn put_declaration(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    raw: &RawDeclaration,
    now: DateTime<Utc>,
) -> Result<DeclarationView, ClinicError> {
    let d = Declaration::parse(raw)?;
    let json = serde_json::to_value(&d).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
    if !store.put_declaration(inst, id, &json, &now.to_rfc3339())? {
        return Err(RegistryError::NotFound.into());
    }
    declaration(store, inst, id)
}

pub fn declaration(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
) -> Result<DeclarationView, ClinicError> {
    let row = store
        .declaration(inst, id)?
        .ok_or(ClinicError::NoDeclaration)?;
    let d: Declaration =
        serde_json::from_value(row.form).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
    Ok(DeclarationView {
        visit_id: id,
        missing: d.missing().into_iter().map(str::to_owned).collect(),
        declaration: d,
        submitted_at: row.submitted_at,
    })
}

/// One visit's re-check outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecheckOutcome {
    pub visit_id: i64,
    /// A validity label, or an error code (`no_identifiers` when the visit
    /// has neither a card nor numbers to check by).
    pub result: String,
    pub recheck_state: String,
    #[schema(value_type = Option<String>)]
    pub claim_basis: Option<InsurerBasis>,
}

/// 事後確認: re-checks the institution's pending visits against the registry,
/// dated on each visit day (notice §3(1): "その場で又は事後的に"). A valid
/// answer stores the confirmed qualification as what the claim must use and
/// closes the visit; 資格(無効) stores the lost qualification (§3(3)) and keeps
/// the visit pending in case the new registration arrives; failures keep it
/// pending.
pub fn run_rechecks(
    store: &dyn Store,
    inst: &InstitutionCode,
    now: DateTime<Utc>,
) -> Result<Vec<RecheckOutcome>, ClinicError> {
    let mut out = Vec::new();
    let mut months = std::collections::BTreeSet::new();
    for row in store.pending_rechecks(inst, 200)? {
        let id = row.id;
        let mut record: VisitRecord =
            serde_json::from_value(row.record).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
        let req = record
            .attempt
            .as_ref()
            .map(|a| attempt_request(a, record.visited_on, true))
            .transpose()?
            .flatten();
        let (result, state) = match req {
            None => ("no_identifiers".to_owned(), "pending"),
            Some(req) => match check::check(store, inst, &req, now) {
                Ok(a) => {
                    let (_, claim, st) = read_answer(&a, FactSource::Recheck);
                    let label = a.validity_label.clone();
                    if let Some(c) = claim {
                        offer(&mut record, c, &now.to_rfc3339());
                    }
                    record.check = Some(a);
                    (label, st)
                }
                Err(e) if failure_of(&e).is_some() => (e.code().to_owned(), "pending"),
                Err(e) => return Err(e.into()),
            },
        };
        record.recheck.attempts += 1;
        record.recheck.last_at = Some(now.to_rfc3339());
        record.recheck.last_result = Some(result.clone());
        save(store, inst, id, state, &record, &now.to_rfc3339())?;
        months.insert(crate::claims::first_of(record.visited_on));
        out.push(RecheckOutcome {
            visit_id: id,
            result,
            recheck_state: state.into(),
            claim_basis: record.claim.as_ref().map(|c| c.basis),
        });
    }
    // Each month the re-checks touched is brought up to date once.
    for month in months {
        refresh_claims(store, inst, month, "onshi（事後確認）", now)?;
    }
    Ok(out)
}

/// Attaches an answer obtained another way (the system-failure-mode search,
/// notice §2(2) ※) to a visit, as the re-check would: a valid answer becomes
/// the claim's confirmed qualification (notice §3(1)) and closes the visit.
pub fn attach_answer(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    answer: &CheckAnswer,
    source: FactSource,
    now: DateTime<Utc>,
) -> Result<VisitView, ClinicError> {
    let row = store.visit(inst, id)?.ok_or(RegistryError::NotFound)?;
    let mut record: VisitRecord =
        serde_json::from_value(row.record).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
    let (_, claim, state) = read_answer(answer, source);
    if let Some(c) = claim {
        offer(&mut record, c, &now.to_rfc3339());
    }
    record.check = Some(answer.clone());
    record.recheck.last_at = Some(now.to_rfc3339());
    record.recheck.last_result = Some(answer.validity_label.clone());
    save(store, inst, id, state, &record, &now.to_rfc3339())?;
    refresh_claims(
        store,
        inst,
        record.visited_on,
        "onshi（システム障害時モード）",
        now,
    )?;
    visit(store, inst, id)
}

/// Records that the clinic contacted the patient for the numbers (notice
/// §3(4): required before a 不詳 claim).
pub fn record_contact(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<VisitView, ClinicError> {
    let row = store.visit(inst, id)?.ok_or(RegistryError::NotFound)?;
    let state = row.recheck_state.clone();
    let mut record: VisitRecord =
        serde_json::from_value(row.record).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
    record.contacted_on = Some(on);
    save(store, inst, id, &state, &record, &now.to_rfc3339())?;
    visit(store, inst, id)
}

/// `POST /api/v1/visits/{id}/hearing`: numbers the clinic learned later by
/// asking the patient (聞き取り).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHearing {
    pub insurer_number: Option<String>,
    pub insured_symbol: Option<String>,
    pub insured_number: Option<String>,
    pub insured_branch: Option<String>,
}

/// Records numbers learned later by asking the patient (notice §3(2); the ※
/// under §3(4): 「わかり次第」 the claim uses them instead of 不詳). They are
/// their own fact, labelled 後日の聞き取り on the claim, and rank as §3(2):
/// they replace a lost qualification or 不詳 but never what a document or
/// the registry confirmed.
pub fn record_hearing(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    raw: &RawHearing,
    now: DateTime<Utc>,
) -> Result<VisitView, ClinicError> {
    let shown = RawShown {
        kind: None,
        ratio_percent: None,
        insurer_number: Some(
            present(&raw.insurer_number)
                .ok_or(RegistryError::Missing("insurer_number"))?
                .to_owned(),
        ),
        insured_symbol: raw.insured_symbol.clone(),
        insured_number: raw.insured_number.clone(),
        insured_branch: raw.insured_branch.clone(),
    };
    let Some(numbers) = shown_claim(&shown)? else {
        return Err(RegistryError::Missing("insurer_number").into());
    };
    let fact = ClaimBasis {
        basis: InsurerBasis::ToldOrally,
        section: InsurerBasis::ToldOrally.section().into(),
        source: FactSource::Hearing,
        ..numbers
    };
    let row = store.visit(inst, id)?.ok_or(RegistryError::NotFound)?;
    let state = row.recheck_state.clone();
    let mut record: VisitRecord =
        serde_json::from_value(row.record).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
    offer(&mut record, fact, &now.to_rfc3339());
    save(store, inst, id, &state, &record, &now.to_rfc3339())?;
    refresh_claims(
        store,
        inst,
        record.visited_on,
        "onshi（後日の聞き取り）",
        now,
    )?;
    visit(store, inst, id)
}

/// After a visit gained a fact, brings the stored claims of its month up to
/// date (a draft is rebuilt, a frozen claim gets a proposed correction:
/// `crate::lifecycle::sync_month`). Months with no stored claim are left
/// alone: their claims are made when the desk builds the month.
fn refresh_claims(
    store: &dyn Store,
    inst: &InstitutionCode,
    visited_on: NaiveDate,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), ClinicError> {
    let month = crate::claims::first_of(visited_on);
    if store
        .claims_of_month(inst, &month.format("%Y-%m").to_string())?
        .is_empty()
    {
        return Ok(());
    }
    let opts = crate::lifecycle::month_options(store, inst, month)?;
    crate::lifecycle::sync_month(store, inst, month, opts, actor, now)?;
    Ok(())
}

/// The visits waiting for a re-check.
pub fn pending(store: &dyn Store, inst: &InstitutionCode) -> Result<Vec<VisitView>, ClinicError> {
    store
        .pending_rechecks(inst, 200)?
        .into_iter()
        .map(to_view)
        .collect()
}

/// Records that the claim the visit supported has been paid (from then on
/// its declaration is due for deletion).
pub fn mark_paid(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    paid_on: NaiveDate,
) -> Result<VisitView, ClinicError> {
    if !store.mark_claim_paid(inst, id, paid_on)? {
        return Err(RegistryError::NotFound.into());
    }
    visit(store, inst, id)
}

/// Deletes the declarations whose claims were paid at least `grace_days`
/// before `today` (別添3: used only for claims and discarded once the
/// payment work is done), logging each deletion in the store and in the log.
pub fn purge_declarations(
    store: &dyn Store,
    today: NaiveDate,
    grace_days: u32,
    now: DateTime<Utc>,
) -> Result<Vec<onshi_store::DeletionRow>, ClinicError> {
    if grace_days > 3650 {
        return Err(RegistryError::BadValue {
            field: "grace_days".into(),
            message: "0〜3650日で指定してください".into(),
        }
        .into());
    }
    let cutoff = today
        .checked_sub_days(chrono::Days::new(u64::from(grace_days)))
        .unwrap_or(NaiveDate::MIN);
    let deleted = store.purge_declarations(cutoff, &now.to_rfc3339())?;
    for d in &deleted {
        tracing::info!(visit_id = d.visit_id, institution = %d.institution_code, paid_on = %d.claim_paid_on, "deleted 被保険者資格申立書");
    }
    Ok(deleted)
}
