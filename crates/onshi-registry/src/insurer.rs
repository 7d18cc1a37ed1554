//! The insurer's side of the registry: register a qualification (資格取得),
//! record its loss (資格喪失), correct it, read back its own records, and the
//! report of its members' 資格(無効) / 資格情報なし answers.
//!
//! Every registration is matched on 氏名・カナ氏名・生年月日・性別・住所 against
//! the resident record the `person_ref` names (DOMAIN §7; the rule is
//! `onshi_core::matching::differing`). A mismatch is stored, flagged, invisible
//! to checks and to the self view, and listed for the insurer to fix; a
//! correction re-runs the match. Writes carry an Idempotency-Key.

use chrono::NaiveDate;
use onshi_core::matching::Attribute;
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::{
    Address, BranchNumber, BurdenRatio, InsuredNumber, InsuredSymbol, InsurerNumber, KanaName,
    ParseError, Person, PersonName, PersonRef, Qualification, Relation, Sex, parse_date_any,
    parse_iso_date,
};
use onshi_store::{
    DayCount, Idem, IdemClaim, InsurerRecord, LateRegistration, Registration, RevisionRow,
    RowInput, Store, StoredResponse,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::RegistryError;

/// A registration (or a correction) as it arrives: one JSON object, one CSV
/// row or one JSON Lines line. Every field is optional here so a missing one
/// is reported by name.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegistration {
    /// The resident link key (stand-in for the J-LIS link; never a My Number).
    pub person_ref: Option<String>,
    /// 氏名, as the insurer holds it.
    pub name: Option<String>,
    /// カナ氏名.
    pub kana: Option<String>,
    /// 生年月日: YYYY-MM-DD, YYYYMMDD or 和暦.
    pub birth_date: Option<String>,
    /// `male`/`female` (or 1/2, 男/女).
    pub sex: Option<String>,
    /// 住所.
    pub address: Option<String>,
    /// 保険者番号: must be the caller's own.
    pub insurer_number: Option<String>,
    pub insured_symbol: Option<String>,
    pub insured_number: Option<String>,
    /// 枝番, 2 digits.
    pub insured_branch: Option<String>,
    /// `insured` (本人) or `dependent` (家族).
    pub relation: Option<String>,
    /// 資格取得日, YYYY-MM-DD.
    pub acquired_on: Option<String>,
    /// 資格喪失日 (the first day without it), YYYY-MM-DD.
    pub lost_on: Option<String>,
    /// 負担割合 in percent (10, 20, 30) where the law lets it vary (70–74, 後期).
    pub burden_ratio: Option<String>,
    /// 事業所名.
    pub employer: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn required<'a>(v: &'a Option<String>, field: &'static str) -> Result<&'a str, RegistryError> {
    present(v).ok_or(RegistryError::Missing(field))
}

fn at<T>(r: Result<T, ParseError>, field: &'static str) -> Result<T, RegistryError> {
    r.map_err(|e| RegistryError::Invalid(e.for_field(field)))
}

/// Parses a registration for `insurer`; a row naming another insurer is
/// refused (`other_insurer`).
pub fn parse_registration(
    raw: &RawRegistration,
    insurer: &InsurerNumber,
) -> Result<Registration, RegistryError> {
    let person_ref = at(
        PersonRef::parse(required(&raw.person_ref, "person_ref")?),
        "person_ref",
    )?;
    let declared = Person {
        name: at(PersonName::parse(required(&raw.name, "name")?), "name")?,
        kana: at(KanaName::parse(required(&raw.kana, "kana")?), "kana")?,
        birth_date: parse_date_any("birth_date", required(&raw.birth_date, "birth_date")?)?,
        sex: at(Sex::parse(required(&raw.sex, "sex")?), "sex")?,
        address: at(
            Address::parse(required(&raw.address, "address")?),
            "address",
        )?,
    };
    let insurer_number = at(
        InsurerNumber::parse(required(&raw.insurer_number, "insurer_number")?),
        "insurer_number",
    )?;
    if insurer_number != *insurer {
        return Err(RegistryError::OtherInsurer);
    }
    let symbol = present(&raw.insured_symbol)
        .map(|s| at(InsuredSymbol::parse(s), "insured_symbol"))
        .transpose()?;
    let number = at(
        InsuredNumber::parse(required(&raw.insured_number, "insured_number")?),
        "insured_number",
    )?;
    let branch = present(&raw.insured_branch)
        .map(|s| at(BranchNumber::parse(s), "insured_branch"))
        .transpose()?;
    let numbers = InsuranceNumbers::new(insurer_number, symbol, number, branch)?;
    let relation = at(
        Relation::parse(required(&raw.relation, "relation")?),
        "relation",
    )?;
    let acquired_on = parse_iso_date("acquired_on", required(&raw.acquired_on, "acquired_on")?)?;
    let lost_on = present(&raw.lost_on)
        .map(|s| parse_iso_date("lost_on", s))
        .transpose()?;
    Qualification::validate_dates(acquired_on, lost_on)?;
    if acquired_on < declared.birth_date {
        return Err(RegistryError::BadValue {
            field: "acquired_on".into(),
            message: "資格取得日が生年月日より前です".into(),
        });
    }
    let burden_ratio = present(&raw.burden_ratio)
        .map(|s| {
            s.parse::<u16>()
                .map_err(|_| onshi_core::ParseErrorKind::BurdenRatio.at("burden_ratio"))
                .and_then(BurdenRatio::from_percent)
                .and_then(BurdenRatio::registered)
        })
        .transpose()?;
    let employer = present(&raw.employer)
        .map(|s| onshi_core::error::clean_text("employer", s, 100))
        .transpose()?;
    Ok(Registration {
        person_ref,
        declared,
        qualification: Qualification {
            numbers,
            relation,
            acquired_on,
            lost_on,
            burden_ratio,
            employer,
        },
    })
}

/// A qualification as the insurer API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    pub id: i64,
    pub person_ref: String,
    /// The 5 attributes as the insurer declared them.
    pub name: String,
    pub kana: String,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub address: String,
    pub insurer_number: String,
    pub insurer_name: String,
    pub insured_symbol: Option<String>,
    pub insured_number: String,
    pub insured_branch: Option<String>,
    pub relation: String,
    pub acquired_on: NaiveDate,
    pub lost_on: Option<NaiveDate>,
    pub burden_ratio_percent: Option<u16>,
    pub employer: Option<String>,
    /// `matched` (visible to checks) or `mismatch` (stored, invisible).
    pub match_status: String,
    /// The attributes that differ from the resident record.
    pub mismatch: Vec<String>,
    /// The same, in Japanese (氏名, カナ氏名, 生年月日, 性別, 住所).
    pub mismatch_labels: Vec<String>,
    pub registered_at: String,
}

fn snake<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn view(
    id: i64,
    person_ref: &PersonRef,
    declared: &Person,
    q: &Qualification,
    insurer_name: &str,
    mismatch: &[Attribute],
    registered_at: &str,
) -> RecordView {
    let n = &q.numbers;
    RecordView {
        id,
        person_ref: person_ref.to_string(),
        name: declared.name.to_string(),
        kana: declared.kana.to_string(),
        birth_date: declared.birth_date,
        sex: snake(declared.sex),
        address: declared.address.to_string(),
        insurer_number: n.insurer_number.to_string(),
        insurer_name: insurer_name.to_owned(),
        insured_symbol: n.symbol.as_ref().map(ToString::to_string),
        insured_number: n.number.to_string(),
        insured_branch: n.branch.map(|b| b.to_string()),
        relation: snake(q.relation),
        acquired_on: q.acquired_on,
        lost_on: q.lost_on,
        burden_ratio_percent: q.burden_ratio.map(BurdenRatio::percent),
        employer: q.employer.clone(),
        match_status: if mismatch.is_empty() {
            "matched"
        } else {
            "mismatch"
        }
        .to_owned(),
        mismatch: mismatch.iter().map(|a| a.as_str().to_owned()).collect(),
        mismatch_labels: mismatch.iter().map(|a| a.kanji().to_owned()).collect(),
        registered_at: registered_at.to_owned(),
    }
}

impl From<&InsurerRecord> for RecordView {
    fn from(r: &InsurerRecord) -> Self {
        view(
            r.id,
            &r.person_ref,
            &r.declared,
            &r.qualification,
            &r.insurer_name,
            &r.mismatch,
            &r.registered_at,
        )
    }
}

/// The Idempotency-Key claim of an insurer's write: scoped to the insurer,
/// tied to the SHA-256 of the request line (`route`: method, path and query)
/// and the exact body, so one key cannot replay an answer for another record,
/// another endpoint or other options.
pub fn claim(
    insurer: &InsurerNumber,
    key: Option<&str>,
    route: &str,
    body: &[u8],
) -> Result<IdemClaim, RegistryError> {
    let key = key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(RegistryError::MissingIdempotencyKey)?;
    if key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RegistryError::BadValue {
            field: "Idempotency-Key".into(),
            message: "1〜128文字の英数字記号で指定してください".into(),
        });
    }
    Ok(IdemClaim {
        scope: format!("insurer:{insurer}"),
        key: key.to_owned(),
        request_hash: {
            let mut h = Sha256::new();
            h.update(route.as_bytes());
            h.update(b"\n");
            h.update(body);
            hex::encode(h.finalize())
        },
    })
}

/// A write's answer: the HTTP status and JSON body, whether fresh or replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteAnswer {
    pub status: u16,
    pub body: serde_json::Value,
    pub replayed: bool,
}

fn answer<T>(
    idem: Idem<T>,
    fresh: impl FnOnce(T) -> Result<WriteAnswer, RegistryError>,
) -> Result<WriteAnswer, RegistryError> {
    match idem {
        Idem::Fresh(v) => fresh(v),
        Idem::Replay(r) => Ok(WriteAnswer {
            status: r.status,
            body: r.body,
            replayed: true,
        }),
        Idem::KeyReused => Err(RegistryError::IdempotencyKeyReused),
    }
}

fn insurer_name(store: &dyn Store, insurer: &InsurerNumber) -> Result<String, RegistryError> {
    Ok(store
        .insurer(insurer)?
        .ok_or_else(|| RegistryError::InsurerUnknown(insurer.to_string()))?
        .name)
}

fn stored(status: u16, v: &RecordView) -> StoredResponse {
    StoredResponse {
        status,
        body: serde_json::to_value(v).unwrap_or_default(),
    }
}

/// 資格取得: registers one qualification; 201 with the record, whose
/// `match_status` says whether checks can see it.
pub fn register(
    store: &dyn Store,
    insurer: &InsurerNumber,
    reg: Registration,
    claim: Option<&IdemClaim>,
    now: &str,
) -> Result<WriteAnswer, RegistryError> {
    let name = insurer_name(store, insurer)?;
    let respond = |o: &onshi_store::RegisterOutcome| {
        let id = o.first_id.unwrap_or_default();
        let mismatch = o
            .mismatched
            .first()
            .map(|m| m.mismatch.clone())
            .unwrap_or_default();
        stored(
            201,
            &view(
                id,
                &reg.person_ref,
                &reg.declared,
                &reg.qualification,
                &name,
                &mismatch,
                now,
            ),
        )
    };
    let mut rows = std::iter::once(RowInput::Row(reg.clone()));
    let idem = store.register(insurer, &mut rows, false, false, now, claim, &respond)?;
    answer(idem, |o| {
        if let Some((_, reject)) = o.rejected.first() {
            return Err(reject_error(reject, &reg.person_ref.to_string()));
        }
        let r = respond(&o);
        Ok(WriteAnswer {
            status: r.status,
            body: r.body,
            replayed: false,
        })
    })
}

/// The error a store reject stands for.
pub(crate) fn reject_error(r: &onshi_store::StoreReject, person_ref: &str) -> RegistryError {
    use onshi_store::StoreReject as R;
    match r {
        R::PersonUnknown => RegistryError::PersonUnknown(person_ref.to_owned()),
        R::OtherInsurer => RegistryError::OtherInsurer,
        R::Duplicate { id } => RegistryError::Duplicate(*id),
        R::DuplicateInBatch { row } => RegistryError::BadValue {
            field: "row".into(),
            message: format!("同じファイルの{}件目と同じ資格です", row + 1),
        },
        R::Mismatch { mismatch } => RegistryError::BadValue {
            field: mismatch
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(","),
            message: format!(
                "住民記録と一致しません（{}）",
                mismatch
                    .iter()
                    .map(|a| a.kanji())
                    .collect::<Vec<_>>()
                    .join("・")
            ),
        },
    }
}

/// 資格喪失: records the loss date of one of the insurer's qualifications.
pub fn lose(
    store: &dyn Store,
    insurer: &InsurerNumber,
    id: i64,
    lost_on: NaiveDate,
    claim: Option<&IdemClaim>,
    now: &str,
) -> Result<WriteAnswer, RegistryError> {
    let rec = store
        .insurer_record(insurer, id)?
        .ok_or(RegistryError::NotFound)?;
    Qualification::validate_dates(rec.qualification.acquired_on, Some(lost_on))?;
    let respond = |r: &InsurerRecord| stored(200, &RecordView::from(r));
    let idem = store.lose(insurer, id, lost_on, now, claim, &respond)?;
    answer(idem, |r| {
        let r = r.ok_or(RegistryError::NotFound)?;
        let s = respond(&r);
        Ok(WriteAnswer {
            status: s.status,
            body: s.body,
            replayed: false,
        })
    })
}

/// Correction: replaces the record by `reg` and re-runs the match.
pub fn correct(
    store: &dyn Store,
    insurer: &InsurerNumber,
    id: i64,
    reg: Registration,
    claim: Option<&IdemClaim>,
    now: &str,
) -> Result<WriteAnswer, RegistryError> {
    store
        .insurer_record(insurer, id)?
        .ok_or(RegistryError::NotFound)?;
    if store.person_by_ref(&reg.person_ref)?.is_none() {
        return Err(RegistryError::PersonUnknown(reg.person_ref.to_string()));
    }
    let respond = |r: &InsurerRecord| stored(200, &RecordView::from(r));
    let idem = store.correct(insurer, id, &reg, now, claim, &respond)?;
    answer(idem, |r| {
        let r = r.ok_or(RegistryError::NotFound)?;
        let s = respond(&r);
        Ok(WriteAnswer {
            status: s.status,
            body: s.body,
            replayed: false,
        })
    })
}

/// One of the insurer's records with its revision history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RecordDetail {
    pub record: RecordView,
    #[schema(value_type = Vec<Object>)]
    pub revisions: Vec<RevisionRow>,
}

pub fn record(
    store: &dyn Store,
    insurer: &InsurerNumber,
    id: i64,
) -> Result<RecordDetail, RegistryError> {
    let rec = store
        .insurer_record(insurer, id)?
        .ok_or(RegistryError::NotFound)?;
    Ok(RecordDetail {
        record: RecordView::from(&rec),
        revisions: store.revisions(insurer, id)?,
    })
}

/// The insurer's records, newest first (at most 500 a page).
pub fn records(
    store: &dyn Store,
    insurer: &InsurerNumber,
    mismatch_only: bool,
    limit: u32,
    offset: u32,
) -> Result<Vec<RecordView>, RegistryError> {
    Ok(store
        .insurer_records(insurer, mismatch_only, limit.clamp(1, 500), offset)?
        .iter()
        .map(RecordView::from)
        .collect())
}

/// One day of the report, with the share of failed answers.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportDay {
    pub day: NaiveDate,
    pub checks: u64,
    /// 資格(無効) answers.
    pub invalid: u64,
    /// 資格情報なし answers.
    pub no_information: u64,
    /// (invalid + no_information) / checks.
    pub failure_rate: f64,
}

/// A registration that arrived after the member's first visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LateView {
    pub id: i64,
    pub person_ref: String,
    pub acquired_on: NaiveDate,
    pub registered_at: String,
    pub first_visit_at: String,
    /// Days from the first visit to the registration.
    pub lag_days: i64,
}

/// The insurer's report (notice §5(1): the lag the notice wants cut).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CheckReport {
    pub insurer_number: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Card checks of people who were members on the day, by day.
    pub days: Vec<ReportDay>,
    pub late_registrations: Vec<LateView>,
}

/// How often the insurer's members got 資格(無効) or 資格情報なし at clinics, by
/// day, and the registrations that arrived after the member's first visit.
/// A member is anyone with a qualification of this insurer valid on the
/// day of the check, registered or not yet (that is the point: those answers
/// come from late or mismatched registrations). Number checks that matched
/// nobody cannot be attributed and are not counted.
pub fn report(
    store: &dyn Store,
    insurer: &InsurerNumber,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<CheckReport, RegistryError> {
    if to < from {
        return Err(RegistryError::BadValue {
            field: "to".into(),
            message: "from 以降の日付を指定してください".into(),
        });
    }
    let days = store
        .check_report(insurer, from, to)?
        .into_iter()
        .map(|d: DayCount| ReportDay {
            day: d.day,
            checks: d.checks,
            invalid: d.invalid,
            no_information: d.no_information,
            failure_rate: if d.checks == 0 {
                0.0
            } else {
                (d.invalid + d.no_information) as f64 / d.checks as f64
            },
        })
        .collect();
    let late = store
        .late_registrations(insurer, from, to)?
        .into_iter()
        .map(|l: LateRegistration| {
            let reg_day = l
                .registered_at
                .get(..10)
                .and_then(|s| s.parse::<NaiveDate>().ok())
                .unwrap_or(l.first_visit_on);
            LateView {
                id: l.id,
                person_ref: l.person_ref.to_string(),
                acquired_on: l.acquired_on,
                lag_days: (reg_day - l.first_visit_on).num_days(),
                registered_at: l.registered_at,
                first_visit_at: l.first_visit_at,
            }
        })
        .collect();
    Ok(CheckReport {
        insurer_number: insurer.to_string(),
        from,
        to,
        days,
        late_registrations: late,
    })
}
