//! The system-failure mode (緊急時医療情報・資格確認機能 / 資格情報照会（システム
//! 障害時）), notice 別添2 and DOMAIN §4.1.
//!
//! Activation is a workflow: the institution asks (医療機関コード, name, the
//! person in charge); an operator calls back the number on file (保険医療機関届)
//! and records it; the operator enables the mode for that institution for a
//! limited period; afterwards the institution files the usage report
//! (「システム障害時機能の利用報告」), and onshi lists the overdue ones. The
//! disaster variant enables it for every institution of a prefecture.
//!
//! The search runs only while enabled. 生年月日, 性別 and 資格確認日 are
//! required; 氏名 or 氏名（カナ） is required and matched exactly after
//! normalisation (`onshi_core::kana`); 住所 (exact after normalisation) or
//! 保険者名 (contained, after normalisation) is required. One hit answers at
//! once; several are listed (at most [`MAX_CANDIDATES`]) with only what tells
//! them apart, and the clerk picks. Every search and pick is audited and
//! counted against a per-institution rate limit.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use onshi_core::kana::{address_key, kana_key, name_key};
use onshi_core::{InstitutionCode, Sex, parse_date_any, parse_iso_date};
use onshi_store::{CheckQuery, FailureModeRequestRow, PersonSearch, Store};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

use crate::RegistryError;
use crate::check::{self, CheckAnswer, CheckRequest};

/// The most candidates a search lists.
pub const MAX_CANDIDATES: usize = 20;
/// Searches an institution may make per minute (anti-automation).
pub const SEARCHES_PER_MINUTE: u64 = 30;
/// How long a search's candidate list can be picked from.
pub const PICK_WINDOW_MINUTES: i64 = 30;
/// Days after the end of the activation by which the usage report is due.
pub const REPORT_DUE_DAYS: u64 = 7;

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn text(field: &'static str, v: Option<&str>, max: usize) -> Result<Option<String>, RegistryError> {
    Ok(v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| onshi_core::error::clean_text(field, s, max))
        .transpose()?)
}

/// Step 1: the institution asks for the mode.
pub fn request(
    store: &dyn Store,
    inst: &InstitutionCode,
    contact: Option<&str>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<FailureModeRequestRow, RegistryError> {
    if store.institution(inst)?.is_none() {
        return Err(RegistryError::InstitutionUnknown(inst.to_string()));
    }
    let contact =
        text("contact_name", contact, 64)?.ok_or(RegistryError::Missing("contact_name"))?;
    let reason = text("reason", reason, 200)?;
    let id = store.fm_create_request(inst, &contact, reason.as_deref(), &ts(now))?;
    store.fm_request(id)?.ok_or(RegistryError::NotFound)
}

fn digits(s: &str) -> String {
    s.nfkc().filter(char::is_ascii_digit).collect()
}

/// Step 2: the operator called back the number on file. A number that is not
/// the one on file is refused: the call-back is what proves the request came
/// from the institution.
pub fn confirm(
    store: &dyn Store,
    id: i64,
    operator: Option<&str>,
    called_number: Option<&str>,
    now: DateTime<Utc>,
) -> Result<FailureModeRequestRow, RegistryError> {
    let operator = text("operator", operator, 64)?.ok_or(RegistryError::Missing("operator"))?;
    let called =
        text("called_number", called_number, 32)?.ok_or(RegistryError::Missing("called_number"))?;
    let req = store.fm_request(id)?.ok_or(RegistryError::NotFound)?;
    let on_file = req.phone_on_file.clone().unwrap_or_default();
    if on_file.is_empty() || digits(&on_file) != digits(&called) {
        return Err(RegistryError::CallbackMismatch(on_file));
    }
    if !store.fm_confirm(id, &operator, &called, &ts(now))? {
        return Err(RegistryError::InvalidState(req.status));
    }
    store.fm_request(id)?.ok_or(RegistryError::NotFound)
}

/// Step 3: the operator enables the mode for `hours` (1–72) from now.
pub fn enable(
    store: &dyn Store,
    id: i64,
    hours: Option<u32>,
    now: DateTime<Utc>,
) -> Result<FailureModeRequestRow, RegistryError> {
    let hours = hours.unwrap_or(24);
    if !(1..=72).contains(&hours) {
        return Err(RegistryError::BadValue {
            field: "hours".into(),
            message: "1〜72時間で指定してください".into(),
        });
    }
    let req = store.fm_request(id)?.ok_or(RegistryError::NotFound)?;
    let until = now + Duration::hours(i64::from(hours));
    let due = until.date_naive() + chrono::Days::new(REPORT_DUE_DAYS);
    if !store.fm_enable(id, &ts(now), &ts(until), due)? {
        return Err(RegistryError::InvalidState(req.status));
    }
    store.fm_request(id)?.ok_or(RegistryError::NotFound)
}

/// Step 4: the institution files its usage report.
pub fn report(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    body: Option<&str>,
    now: DateTime<Utc>,
) -> Result<FailureModeRequestRow, RegistryError> {
    let body = text("report", body, 4000)?.ok_or(RegistryError::Missing("report"))?;
    let req = store
        .fm_request(id)?
        .filter(|r| r.institution_code == inst.as_str())
        .ok_or(RegistryError::NotFound)?;
    if !store.fm_report(inst, id, &body, &ts(now))? {
        return Err(RegistryError::InvalidState(req.status));
    }
    store.fm_request(id)?.ok_or(RegistryError::NotFound)
}

/// The disaster variant: every institution of the prefecture, for a period.
pub fn disaster(
    store: &dyn Store,
    prefecture: u8,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    reason: Option<&str>,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, RegistryError> {
    if !(1..=47).contains(&prefecture) {
        return Err(onshi_core::ParseErrorKind::Prefecture(prefecture)
            .at("prefecture")
            .into());
    }
    if until <= from {
        return Err(RegistryError::BadValue {
            field: "until".into(),
            message: "開始より後の日時を指定してください".into(),
        });
    }
    let reason = text("reason", reason, 200)?.ok_or(RegistryError::Missing("reason"))?;
    let by = text("operator", by, 64)?.ok_or(RegistryError::Missing("operator"))?;
    Ok(store.fm_add_disaster(prefecture, &ts(from), &ts(until), &reason, &by, &ts(now))?)
}

/// The search form (`POST /api/v1/failure-mode/search`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    /// 生年月日 (required): ISO, YYYYMMDD or 和暦.
    pub birth_date: Option<String>,
    /// 性別 (required): male/female, 1/2, 男/女.
    pub sex: Option<String>,
    /// 資格確認日 (required), YYYY-MM-DD.
    pub checked_on: Option<String>,
    /// 氏名 (this or `kana` required; exact match after normalisation).
    pub name: Option<String>,
    /// 氏名（カナ） (this or `name` required).
    pub kana: Option<String>,
    /// 住所 (this or `insurer_name` required; exact after normalisation).
    pub address: Option<String>,
    /// 保険者名 (this or `address` required; contained in the insurer's name).
    pub insurer_name: Option<String>,
    /// Why the lookup is made (kept in the audit log).
    pub purpose: Option<String>,
    /// A visit to attach the answer to (the deferred re-check).
    pub visit_id: Option<i64>,
}

/// One candidate of a several-hit search: enough to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Candidate {
    /// Pass this number to the pick.
    pub candidate: usize,
    pub name: String,
    pub kana: String,
    /// The municipality of the address, not the street.
    pub area: String,
    pub insurer_name: Option<String>,
}

/// What a search answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResult {
    pub search_id: i64,
    pub hits: usize,
    /// More people matched than are listed: add criteria.
    pub truncated: bool,
    /// With one hit: the 資格情報 directly.
    pub answer: Option<CheckAnswer>,
    /// With several: the list to pick from.
    pub candidates: Vec<Candidate>,
}

/// The municipality part of an address (up to the first 市/区/町/村 after the
/// prefecture), so a candidate list tells people apart without the street.
fn area(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    let start = chars
        .iter()
        .position(|&c| matches!(c, '都' | '道' | '府' | '県'))
        .map_or(0, |i| i + 1);
    let end = chars
        .iter()
        .enumerate()
        .skip(start)
        .find(|(_, c)| matches!(c, '市' | '区' | '町' | '村'))
        .map_or(chars.len(), |(i, _)| i + 1);
    chars[..end].iter().collect()
}

fn insurer_key(s: &str) -> String {
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

fn active(
    store: &dyn Store,
    inst: &InstitutionCode,
    now: DateTime<Utc>,
) -> Result<String, RegistryError> {
    store
        .fm_active(inst, &ts(now))?
        .ok_or(RegistryError::FailureModeNotActive)
}

fn actor(inst: &InstitutionCode) -> String {
    format!("institution:{inst}")
}

/// Searches while the mode is active. Required fields are checked first
/// (`missing_field` naming the field, or both alternatives); then the rate
/// limit; then the search, which is recorded and audited.
pub fn search(
    store: &dyn Store,
    inst: &InstitutionCode,
    raw: &RawSearch,
    now: DateTime<Utc>,
    per_minute: u64,
) -> Result<SearchResult, RegistryError> {
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let birth = parse_date_any(
        "birth_date",
        &present(&raw.birth_date).ok_or(RegistryError::Missing("birth_date"))?,
    )?;
    let sex = Sex::parse(&present(&raw.sex).ok_or(RegistryError::Missing("sex"))?)
        .map_err(RegistryError::from)?;
    let on: NaiveDate = parse_iso_date(
        "checked_on",
        &present(&raw.checked_on).ok_or(RegistryError::Missing("checked_on"))?,
    )?;
    // Free text is bounded and free of control characters (a NUL byte cannot
    // even be stored in PostgreSQL), refused by field before anything runs.
    let text = |field: &'static str, v: &Option<String>, max: usize| {
        present(v)
            .map(|s| onshi_core::error::clean_text(field, &s, max))
            .transpose()
            .map_err(RegistryError::from)
    };
    let (name, kana) = (text("name", &raw.name, 100)?, text("kana", &raw.kana, 100)?);
    if name.is_none() && kana.is_none() {
        return Err(RegistryError::MissingOneOf("name", "kana"));
    }
    let (address, insurer) = (
        text("address", &raw.address, 200)?,
        text("insurer_name", &raw.insurer_name, 100)?,
    );
    if address.is_none() && insurer.is_none() {
        return Err(RegistryError::MissingOneOf("address", "insurer_name"));
    }
    if let Some(k) = &kana
        && !onshi_core::kana::is_kana_text(k)
    {
        return Err(onshi_core::ParseErrorKind::KanaName.at("kana").into());
    }
    let purpose =
        text("purpose", &raw.purpose, 200)?.unwrap_or_else(|| "資格確認（システム障害時）".into());
    let by = active(store, inst, now)?;
    if store.fm_searches_since(inst, &ts(now - Duration::seconds(60)))? >= per_minute {
        return Err(RegistryError::RateLimited);
    }
    let q = PersonSearch {
        birth_date: birth,
        sex: sex.code(),
        name_key: name.as_deref().map(name_key),
        kana_key: kana.as_deref().map(kana_key),
        address_key: address.as_deref().map(address_key),
    };
    let mut hits = Vec::new();
    for p in store.fm_search_persons(&q, 200)? {
        let quals = store.visible_qualifications_of(p.id)?;
        let relevant = quals.iter().rfind(|q| q.qualification.acquired_on <= on);
        if let Some(want) = insurer.as_deref().map(insurer_key) {
            let ok = quals
                .iter()
                .filter(|q| q.qualification.acquired_on <= on)
                .any(|q| want.chars().count() >= 2 && insurer_key(&q.insurer_name).contains(&want));
            if !ok {
                continue;
            }
        }
        hits.push((p, relevant.map(|q| q.insurer_name.clone())));
    }
    let truncated = hits.len() > MAX_CANDIDATES;
    hits.truncate(MAX_CANDIDATES);
    let ids: Vec<i64> = hits.iter().map(|(p, _)| p.id).collect();
    let search_id = store.fm_record_search(inst, &ts(now), on, &ids, Some(&purpose))?;
    let given: Vec<&str> = [
        ("name", name.is_some()),
        ("kana", kana.is_some()),
        ("address", address.is_some()),
        ("insurer_name", insurer.is_some()),
    ]
    .iter()
    .filter(|(_, g)| *g)
    .map(|(f, _)| *f)
    .collect();
    store.audit(
        &ts(now),
        &actor(inst),
        "failure_mode_search",
        None,
        Some(&purpose),
        &serde_json::json!({"search_id": search_id, "hits": ids.len(), "truncated": truncated, "criteria": given, "enabled_by": by}),
    )?;
    let answer = match ids.as_slice() {
        [only] => Some(view(
            store,
            inst,
            search_id,
            *only,
            on,
            &purpose,
            now,
            "failure_mode_view",
        )?),
        _ => None,
    };
    let candidates = if ids.len() > 1 {
        hits.iter()
            .enumerate()
            .map(|(i, (p, ins))| Candidate {
                candidate: i + 1,
                name: p.person.name.to_string(),
                kana: p.person.kana.to_string(),
                area: area(p.person.address.as_str()),
                insurer_name: ins.clone(),
            })
            .collect()
    } else {
        vec![]
    };
    Ok(SearchResult {
        search_id,
        hits: ids.len(),
        truncated,
        answer,
        candidates,
    })
}

#[allow(clippy::too_many_arguments)]
fn view(
    store: &dyn Store,
    inst: &InstitutionCode,
    search_id: i64,
    person_id: i64,
    on: NaiveDate,
    purpose: &str,
    now: DateTime<Utc>,
    action: &str,
) -> Result<CheckAnswer, RegistryError> {
    let req = CheckRequest {
        query: CheckQuery::FailureMode { person_id },
        checked_on: on,
        identity: None,
        staff_id: None,
    };
    let answer = check::check(store, inst, &req, now)?;
    store.audit(
        &ts(now),
        &actor(inst),
        action,
        Some(person_id),
        Some(purpose),
        &serde_json::json!({"search_id": search_id, "validity": answer.validity}),
    )?;
    Ok(answer)
}

/// Picks candidate `candidate` (1-based) of a recent search of the same
/// institution while the mode is still active.
pub fn pick(
    store: &dyn Store,
    inst: &InstitutionCode,
    search_id: i64,
    candidate: usize,
    now: DateTime<Utc>,
) -> Result<CheckAnswer, RegistryError> {
    active(store, inst, now)?;
    let s = store
        .fm_search(inst, search_id)?
        .ok_or(RegistryError::NotFound)?;
    let at =
        DateTime::parse_from_rfc3339(&s.searched_at).map_err(|_| RegistryError::SearchExpired)?;
    if now.signed_duration_since(at) > Duration::minutes(PICK_WINDOW_MINUTES) {
        return Err(RegistryError::SearchExpired);
    }
    let person = candidate
        .checked_sub(1)
        .and_then(|i| s.candidates.get(i))
        .copied()
        .ok_or_else(|| RegistryError::BadValue {
            field: "candidate".into(),
            message: "検索結果にない番号です".into(),
        })?;
    view(
        store,
        inst,
        search_id,
        person,
        s.checked_on,
        "資格確認（システム障害時）",
        now,
        "failure_mode_pick",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_hide_the_street() {
        assert_eq!(area("東京都千代田区霞が関1丁目2番3号"), "東京都千代田区");
        assert_eq!(area("北海道札幌市中央区北一条西1丁目"), "北海道札幌市");
        assert_eq!(area("大阪府豊中市中桜塚1-1"), "大阪府豊中市");
        assert_eq!(area("どこか"), "どこか");
    }
}
