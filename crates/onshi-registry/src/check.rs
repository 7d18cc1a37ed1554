//! Eligibility checks (資格確認) by card or by card numbers, and the check
//! history (資格確認履歴) they leave.
//!
//! The answer rules are `onshi_core::check::{card_selection, numbers_selection}`;
//! this module parses the request, reads the registry, applies the rules,
//! writes the history and shapes the answer the way the 資格確認端末 and the
//! オン資 XML (ResultOfQualificationConfirmation) present it.

use chrono::{DateTime, NaiveDate, Utc};
use onshi_core::burden::ratio_on;
use onshi_core::check::{
    CertificateStatus, Held, Selection, card_selection, certificate_status, numbers_selection,
};
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::{
    BranchNumber, CertificateSerial, InstitutionCode, InsuredNumber, InsuredSymbol, InsurerNumber,
    ParseError, Validity, WarekiDate, parse_date_any, parse_iso_date,
};
use onshi_store::{
    CheckContext, CheckQuery, CheckRow, NewCheck, PersonRow, QualificationRow, RegistryStore,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::RegistryError;

/// A check request as it arrives (JSON body of `POST /api/v1/checks`): every
/// field optional here, so that a missing one is reported by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCheckRequest {
    /// `card` (マイナ保険証: the certificate serial) or `numbers` (被保険者証 /
    /// 資格確認書 の記号・番号).
    #[schema(example = "card")]
    pub reference: Option<String>,
    /// For `card`: the serial of the card's 利用者証明用電子証明書.
    pub certificate_serial: Option<String>,
    /// For `numbers`: 保険者番号 (6 or 8 digits).
    pub insurer_number: Option<String>,
    /// For `numbers`: 記号 (absent for 後期 and number-only cards).
    pub insured_symbol: Option<String>,
    /// For `numbers`: 番号.
    pub insured_number: Option<String>,
    /// For `numbers`: 枝番, 2 digits. Without it every 枝番 matches.
    pub insured_branch: Option<String>,
    /// For `numbers`: 生年月日: YYYY-MM-DD, YYYYMMDD, or 和暦 (昭和55年4月1日, S55.4.1).
    pub birth_date: Option<String>,
    /// 資格確認日, YYYY-MM-DD: the date the check judges on.
    pub checked_on: Option<String>,
    /// For `card`: how identity was confirmed: `face` (顔認証), `pin`
    /// (暗証番号) or `visual` (目視確認モード; needs `staff_id`). Default: what
    /// the reader's mode implies.
    pub identity_confirmed_by: Option<String>,
    /// For `card` with `visual`: the staff member who compared the photo.
    pub staff_id: Option<String>,
}

/// How the patient's identity was confirmed at the reader (notice §2(2) ※,
/// 別添2 目視確認モード).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityMethod {
    Face,
    Pin,
    Visual,
    /// 事後確認: a re-check after the visit; identity was confirmed at the
    /// window then, so the reader's mode does not apply.
    Deferred,
}

impl IdentityMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityMethod::Face => "face",
            IdentityMethod::Pin => "pin",
            IdentityMethod::Visual => "visual",
            IdentityMethod::Deferred => "deferred",
        }
    }
}

/// A parsed check request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequest {
    pub query: CheckQuery,
    pub checked_on: NaiveDate,
    /// For card checks: the method asked for (None: what the reader mode implies).
    pub identity: Option<IdentityMethod>,
    pub staff_id: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn required<'a>(v: &'a Option<String>, field: &'static str) -> Result<&'a str, RegistryError> {
    present(v).ok_or(RegistryError::Missing(field))
}

fn with_field<T>(r: Result<T, ParseError>, field: &'static str) -> Result<T, RegistryError> {
    r.map_err(|e| RegistryError::Invalid(e.for_field(field)))
}

impl CheckRequest {
    /// Parses a raw request; the first problem is reported with its field.
    pub fn parse(raw: &RawCheckRequest) -> Result<Self, RegistryError> {
        let reference = required(&raw.reference, "reference")?;
        let checked_on = parse_iso_date("checked_on", required(&raw.checked_on, "checked_on")?)?;
        let identity = present(&raw.identity_confirmed_by)
            .map(|s| match s {
                "face" => Ok(IdentityMethod::Face),
                "pin" => Ok(IdentityMethod::Pin),
                "visual" => Ok(IdentityMethod::Visual),
                _ => Err(RegistryError::BadValue {
                    field: "identity_confirmed_by".into(),
                    message: "face, pin, visual のいずれかです".into(),
                }),
            })
            .transpose()?;
        let staff_id = present(&raw.staff_id)
            .map(|s| onshi_core::error::clean_text("staff_id", s, 32))
            .transpose()?;
        let query = match reference {
            "card" => {
                for (v, f) in [
                    (&raw.insurer_number, "insurer_number"),
                    (&raw.insured_symbol, "insured_symbol"),
                    (&raw.insured_number, "insured_number"),
                    (&raw.insured_branch, "insured_branch"),
                    (&raw.birth_date, "birth_date"),
                ] {
                    if present(v).is_some() {
                        return Err(RegistryError::NotAllowed(f));
                    }
                }
                let serial = required(&raw.certificate_serial, "certificate_serial")?;
                CheckQuery::Card {
                    serial: CertificateSerial::parse(serial)?,
                }
            }
            "numbers" => {
                for (v, f) in [
                    (&raw.certificate_serial, "certificate_serial"),
                    (&raw.identity_confirmed_by, "identity_confirmed_by"),
                    (&raw.staff_id, "staff_id"),
                ] {
                    if present(v).is_some() {
                        return Err(RegistryError::NotAllowed(f));
                    }
                }
                let insurer = with_field(
                    InsurerNumber::parse(required(&raw.insurer_number, "insurer_number")?),
                    "insurer_number",
                )?;
                let symbol = present(&raw.insured_symbol)
                    .map(|s| with_field(InsuredSymbol::parse(s), "insured_symbol"))
                    .transpose()?;
                let number = with_field(
                    InsuredNumber::parse(required(&raw.insured_number, "insured_number")?),
                    "insured_number",
                )?;
                let branch = present(&raw.insured_branch)
                    .map(|s| with_field(BranchNumber::parse(s), "insured_branch"))
                    .transpose()?;
                let birth_date =
                    parse_date_any("birth_date", required(&raw.birth_date, "birth_date")?)?;
                CheckQuery::Numbers {
                    numbers: InsuranceNumbers::new(insurer, symbol, number, branch)?,
                    birth_date,
                }
            }
            _ => {
                return Err(RegistryError::BadValue {
                    field: "reference".into(),
                    message: "card または numbers を指定してください".into(),
                });
            }
        };
        Ok(Self {
            query,
            checked_on,
            identity,
            staff_id,
        })
    }
}

/// Extra information on a successful answer (オン資 ProcessingResultCode /
/// Message), e.g. that the certificate has expired and is in its grace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProcessingNote {
    pub code: String,
    pub message: String,
}

/// One qualification as the answer shows it, with the person it belongs to
/// (the fields of オン資 ResultOfQualificationConfirmation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QualificationView {
    pub name: String,
    pub kana: String,
    pub birth_date: NaiveDate,
    /// 生年月日 in 和暦, e.g. 昭和55年4月1日.
    pub birth_date_wareki: String,
    /// `male` or `female`.
    pub sex: String,
    pub address: String,
    pub insurer_number: String,
    pub insurer_name: String,
    /// The scheme, from the 法別番号 (e.g. `kyokai`, `kokuho`, `kouki`).
    pub insurance_kind: String,
    /// `shiharai_kikin` (支払基金) or `kokuhoren` (国保連): where claims go.
    pub payer: String,
    pub insured_symbol: Option<String>,
    pub insured_number: String,
    pub insured_branch: Option<String>,
    /// `insured` (本人) or `dependent` (家族).
    pub relation: String,
    pub acquired_on: NaiveDate,
    /// 資格喪失日: the first day without this qualification.
    pub lost_on: Option<NaiveDate>,
    /// The burden ratio on the check date, in percent (30 = 3割).
    pub burden_ratio_percent: Option<u16>,
    pub employer: Option<String>,
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckAnswer {
    /// OQSCD006: 1 有効, 2 資格(無効), 4 資格情報なし, 5 複数該当.
    pub validity: u8,
    pub validity_label: String,
    /// `card` or `numbers`.
    pub reference: String,
    /// 資格確認日.
    pub checked_on: NaiveDate,
    pub processing_note: Option<ProcessingNote>,
    /// The qualification shown (the valid one, or the lost one for 資格(無効));
    /// absent for 資格情報なし and 複数該当.
    pub qualification: Option<QualificationView>,
    /// Every qualification shown (several only for 複数該当).
    pub qualifications: Vec<QualificationView>,
    /// The patient's burden ratio on the check date in percent, when valid.
    pub burden_ratio_percent: Option<u16>,
    /// For card checks: `face`, `pin` or `visual`.
    pub identity_confirmed_by: Option<String>,
}

fn snake<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) fn view(q: &QualificationRow, p: &PersonRow, on: NaiveDate) -> QualificationView {
    let qual = &q.qualification;
    let n = &qual.numbers;
    let person = &p.person;
    let ratio = ratio_on(
        person.birth_date,
        n.insurer_number.is_kouki(),
        qual.burden_ratio,
        on,
    );
    QualificationView {
        name: person.name.to_string(),
        kana: person.kana.to_string(),
        birth_date: person.birth_date,
        birth_date_wareki: WarekiDate::from_gregorian(person.birth_date)
            .map(|w| w.to_string())
            .unwrap_or_default(),
        sex: snake(person.sex),
        address: person.address.to_string(),
        insurer_number: n.insurer_number.to_string(),
        insurer_name: q.insurer_name.clone(),
        insurance_kind: snake(n.insurer_number.kind()),
        payer: snake(n.insurer_number.kind().payer()),
        insured_symbol: n.symbol.as_ref().map(ToString::to_string),
        insured_number: n.number.to_string(),
        insured_branch: n.branch.map(|b| b.to_string()),
        relation: snake(qual.relation),
        acquired_on: qual.acquired_on,
        lost_on: qual.lost_on,
        burden_ratio_percent: ratio.map(|r| r.percent()),
        employer: qual.employer.clone(),
    }
}

fn held(q: &QualificationRow) -> Held {
    Held {
        person: q.person_id,
        acquired_on: q.qualification.acquired_on,
        lost_on: q.qualification.lost_on,
    }
}

/// Runs one check for `institution` and records it in the history.
///
/// - The institution must be registered (`institution_unknown` otherwise).
/// - Card: an unknown serial is `certificate_unknown` (not recorded: there is
///   no card to show in the history); a revoked certificate or one past the
///   3-month grace is refused with `certificate_revoked` / `certificate_expired`
///   and the refusal **is** recorded, as the terminal's history keeps it; in the
///   grace the check proceeds with a processing note.
/// - Every answered check is recorded with the answer as sent.
pub fn check(
    store: &dyn RegistryStore,
    institution: &InstitutionCode,
    request: &CheckRequest,
    checked_at: DateTime<Utc>,
) -> Result<CheckAnswer, RegistryError> {
    let ctx = store
        .check_context(institution)?
        .ok_or_else(|| RegistryError::InstitutionUnknown(institution.to_string()))?;
    let is_card = matches!(request.query, CheckQuery::Card { .. });
    if let Some(f) = active_fault(&ctx, checked_at) {
        // The registry is not reached: nothing is recorded.
        match (f.kind.as_str(), is_card) {
            ("network", _) => return Err(RegistryError::NetworkUnreachable),
            ("registry", _) => return Err(RegistryError::RegistryUnavailable),
            ("reader", true) => return Err(RegistryError::ReaderUnavailable),
            ("certificate", true) => {
                // Simulated: as if the grace had ended the day before.
                let ended = request.checked_on.pred_opt().unwrap_or(request.checked_on);
                return Err(RegistryError::CertificateExpired {
                    grace_ended_on: ended,
                });
            }
            _ => {}
        }
    }
    let identity = if is_card {
        Some(identity_for(&ctx, request)?)
    } else {
        None
    };
    let on = request.checked_on;
    let record = |person_id: Option<i64>, answer: &Result<CheckAnswer, RegistryError>| {
        let (validity, error_code, json) = match answer {
            Ok(a) => (
                Some(a.validity),
                None,
                serde_json::to_value(a).unwrap_or_default(),
            ),
            Err(e) => (
                None,
                Some(e.code().to_owned()),
                serde_json::json!({ "error": { "code": e.code(), "message": e.to_string() } }),
            ),
        };
        store.record_check(&NewCheck {
            institution: institution.clone(),
            checked_at: checked_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            checked_on: on,
            query: request.query.clone(),
            person_id,
            validity,
            error_code,
            answer: json,
            identity_confirmed_by: identity.map(|i| i.as_str().to_owned()),
            staff_id: request.staff_id.clone(),
        })
    };

    let (person_id, answer) = match &request.query {
        CheckQuery::FailureMode { person_id } => (
            Some(*person_id),
            Ok(person_answer(store, *person_id, on, "failure_mode", None)?),
        ),
        CheckQuery::Card { serial } => {
            let card = store
                .card(serial)?
                .ok_or(RegistryError::CertificateUnknown)?;
            let mut note = None;
            let refusal = match certificate_status(card.valid_to, card.revoked_on, on) {
                CertificateStatus::Valid => None,
                CertificateStatus::Grace { until } => {
                    note = Some(ProcessingNote {
                        code: "certificate_grace".into(),
                        message: format!(
                            "電子証明書の有効期限（{}）が切れています。{}までは資格確認のみ可能です",
                            card.valid_to, until
                        ),
                    });
                    None
                }
                CertificateStatus::Expired { grace_ended_on } => {
                    Some(RegistryError::CertificateExpired { grace_ended_on })
                }
                CertificateStatus::Revoked => Some(RegistryError::CertificateRevoked),
            };
            let answer = match refusal {
                Some(e) => Err(e),
                None => {
                    let mut a = person_answer(store, card.person_id, on, "card", note)?;
                    a.identity_confirmed_by = identity.map(|i| i.as_str().to_owned());
                    Ok(a)
                }
            };
            (Some(card.person_id), answer)
        }
        CheckQuery::Numbers {
            numbers,
            birth_date,
        } => {
            let quals = store.visible_qualifications_by_numbers(numbers, *birth_date)?;
            let held: Vec<Held> = quals.iter().map(held).collect();
            let sel = numbers_selection(&held, on);
            let mut persons: Vec<PersonRow> = Vec::new();
            for i in &sel.shown {
                let pid = quals[*i].person_id;
                if !persons.iter().any(|p| p.id == pid) {
                    persons.extend(store.person(pid)?);
                }
            }
            let single = (persons.len() == 1).then(|| persons[0].id);
            (
                single,
                Ok(build_answer("numbers", on, &sel, &quals, &persons, None)),
            )
        }
    };
    record(person_id, &answer)?;
    answer
}

/// What a card check shows for a person on `on`: all their visible
/// qualifications through `card_selection` (also used by the failure-mode
/// pick, which identifies the person without the card).
pub(crate) fn person_answer(
    store: &dyn RegistryStore,
    person_id: i64,
    on: NaiveDate,
    reference: &str,
    note: Option<ProcessingNote>,
) -> Result<CheckAnswer, RegistryError> {
    let person = store.person(person_id)?;
    let quals = store.visible_qualifications_of(person_id)?;
    let held: Vec<Held> = quals.iter().map(held).collect();
    let sel = card_selection(&held, on);
    let persons = person.into_iter().collect::<Vec<_>>();
    Ok(build_answer(reference, on, &sel, &quals, &persons, note))
}

/// The fault injected for the institution, if it is still in force at `now`.
fn active_fault(ctx: &CheckContext, now: DateTime<Utc>) -> Option<&onshi_store::FaultRow> {
    ctx.fault.as_ref().filter(|f| {
        f.until
            .as_deref()
            .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
            .is_none_or(|u| now < u)
    })
}

/// How identity is confirmed on a card check, given the reader's mode:
/// 目視確認 only in visual mode and only with the staff member named; face
/// recognition only outside it; the PIN always (notice §2(2) ※, 別添2).
fn identity_for(ctx: &CheckContext, req: &CheckRequest) -> Result<IdentityMethod, RegistryError> {
    let visual_mode = ctx.reader_mode == "visual";
    let method = req.identity.unwrap_or(if visual_mode {
        IdentityMethod::Visual
    } else {
        IdentityMethod::Face
    });
    match method {
        IdentityMethod::Visual if !visual_mode => Err(RegistryError::VisualModeOff),
        IdentityMethod::Visual if req.staff_id.is_none() => Err(RegistryError::Missing("staff_id")),
        IdentityMethod::Face if visual_mode => Err(RegistryError::ReaderInVisualMode),
        m => Ok(m),
    }
}

fn build_answer(
    reference: &str,
    on: NaiveDate,
    sel: &Selection,
    quals: &[QualificationRow],
    persons: &[PersonRow],
    processing_note: Option<ProcessingNote>,
) -> CheckAnswer {
    let views: Vec<QualificationView> = sel
        .shown
        .iter()
        .filter_map(|&i| {
            let q = &quals[i];
            persons
                .iter()
                .find(|p| p.id == q.person_id)
                .map(|p| view(q, p, on))
        })
        .collect();
    let single = matches!(sel.validity, Validity::Valid | Validity::Invalid);
    let qualification = if single { views.first().cloned() } else { None };
    let burden_ratio_percent = match sel.validity {
        Validity::Valid => qualification.as_ref().and_then(|q| q.burden_ratio_percent),
        _ => None,
    };
    CheckAnswer {
        validity: sel.validity.code(),
        validity_label: sel.validity.label().to_owned(),
        reference: reference.to_owned(),
        checked_on: on,
        processing_note,
        qualification,
        qualifications: views,
        burden_ratio_percent,
        identity_confirmed_by: None,
    }
}

/// One entry of an institution's check history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    /// When the check ran (UTC).
    pub checked_at: String,
    pub checked_on: NaiveDate,
    pub reference: String,
    pub validity: Option<u8>,
    pub validity_label: Option<String>,
    pub error_code: Option<String>,
    /// The answer (or the refusal) exactly as it was sent.
    #[schema(value_type = Object)]
    pub answer: serde_json::Value,
}

impl From<CheckRow> for HistoryEntry {
    fn from(r: CheckRow) -> Self {
        HistoryEntry {
            id: r.id,
            checked_at: r.checked_at,
            checked_on: r.checked_on,
            reference: r.reference,
            validity_label: r
                .validity
                .and_then(|v| Validity::try_from(v).ok())
                .map(|v| v.label().to_owned()),
            validity: r.validity,
            error_code: r.error_code,
            answer: r.answer,
        }
    }
}

/// The 資格確認履歴 of one institution for one 資格確認日 (notice §3(3): where a
/// clinic looks up the lost numbers of a 資格(無効) answer).
pub fn history(
    store: &dyn RegistryStore,
    institution: &InstitutionCode,
    on: NaiveDate,
) -> Result<Vec<HistoryEntry>, RegistryError> {
    Ok(store
        .checks_of(institution, on)?
        .into_iter()
        .map(HistoryEntry::from)
        .collect())
}
