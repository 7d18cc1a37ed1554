//! The payer with memory (notice §4, 別添1): every run is stored with the
//! digests of what it read, the policy, its whole outcome and each claim's
//! fate addressed to the institution; the payment record (請求実績) it
//! decided weights the 按分 of later runs; the 照会 answers of candidate
//! insurers; the insurers' settlements of the 70+ ratio differences.
//!
//! [`run_and_store`] is one service call: the run (`crate::run::run`, which
//! reads the registry, the stored payment record and the 照会 answers) and
//! then one store transaction (`PayerStore::save_payer_run`). The stored
//! outcome is the exact JSON the run answered, so reading a run back gives
//! the same bytes; running the same input again on the same registry gives
//! the same outcome, because the payment record of the input's own claims is
//! replaced, not added to.

use chrono::NaiveDate;
use onshi_store::{
    InquiryAnswerRow, NewPayerRun, PayerResultRow, PaymentRow, RatioDifferenceRow, SettlementRow,
    Store, StoreError,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::claim::ClaimInput;
use crate::run::{ClaimReport, Fate, Policy, RunOutcome, run};

/// One input of a run: a file or a stored submission.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// A file name, or `submission N`.
    pub label: String,
    /// SHA-256 of the bytes read, hex.
    pub digest: String,
    pub submission_id: Option<i64>,
    pub claims: Vec<ClaimInput>,
}

/// SHA-256, hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, Clone, Serialize)]
struct InputMeta<'a> {
    label: &'a str,
    digest: &'a str,
    submission_id: Option<i64>,
    claims: usize,
}

/// A stored run as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub as_of: NaiveDate,
    pub at: String,
    pub actor: String,
    pub inputs: serde_json::Value,
    pub policy: serde_json::Value,
    pub summary: serde_json::Value,
}

impl From<onshi_store::PayerRunRow> for RunSummary {
    fn from(r: onshi_store::PayerRunRow) -> Self {
        RunSummary {
            id: r.id,
            as_of: r.as_of,
            at: r.at,
            actor: r.actor,
            inputs: r.inputs,
            policy: r.policy,
            summary: r.summary,
        }
    }
}

fn json<T: Serialize>(v: &T) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// What a report line adds to the payment record (請求実績): what was billed
/// to a real insurer (whole, transferred, split, identified). Apportioned
/// shares are not a record of the insurer's own members and weight nothing
/// later [D].
fn payments_of(r: &ClaimReport, payer: onshi_core::Payer) -> Vec<PaymentRow> {
    let row = |insurer: &str, yen: u64| PaymentRow {
        institution_code: r.institution_code.clone(),
        payer,
        claim_month: r.claim_month.clone(),
        claim_id: r.claim_id.clone(),
        insurer: insurer.to_owned(),
        yen,
    };
    match &r.fate {
        Fate::Billed { insurer, .. } | Fate::Identified { insurer, .. } => {
            vec![row(insurer, r.claimed_yen)]
        }
        Fate::Transferred { to, .. } => vec![row(to, r.claimed_yen)],
        Fate::Split { shares, .. } => shares.iter().map(|s| row(&s.insurer, s.yen)).collect(),
        _ => vec![],
    }
}

/// Runs the payer side over the inputs and stores the run, its per-claim
/// results, the payment record and the ratio differences in one
/// transaction. Returns the run's id and its outcome.
pub fn run_and_store(
    store: &dyn Store,
    as_of: NaiveDate,
    inputs: Vec<RunInput>,
    policy: Policy,
    actor: &str,
    at: &str,
) -> Result<(i64, RunOutcome), StoreError> {
    let metas: Vec<serde_json::Value> = inputs
        .iter()
        .map(|i| {
            json(&InputMeta {
                label: &i.label,
                digest: &i.digest,
                submission_id: i.submission_id,
                claims: i.claims.len(),
            })
        })
        .collect::<Result<_, _>>()?;
    let mut submission_of: std::collections::BTreeMap<String, i64> = Default::default();
    let mut claims = Vec::new();
    for (n, input) in inputs.into_iter().enumerate() {
        for (source, c) in input.claims {
            let source = format!("{n}:{source}");
            if let Some(s) = input.submission_id {
                submission_of.insert(source.clone(), s);
            }
            claims.push((source, c));
        }
    }
    let outcome = run(store, as_of, claims, policy)?;
    let mut results = Vec::new();
    let mut payments = Vec::new();
    // One result a claim: a duplicate of a claim in the same run (refused
    // at intake as `duplicate_claim`) leaves the first one's result.
    let mut seen = std::collections::BTreeSet::new();
    for r in outcome.report.iter().filter(|r| !r.claim_id.is_empty()) {
        if !seen.insert((&r.institution_code, &r.claim_month, &r.claim_id)) {
            continue;
        }
        let mut detail = json(r)?;
        if let (Some(s), Some(obj)) = (submission_of.get(&r.source), detail.as_object_mut()) {
            obj.insert("submission_id".into(), (*s).into());
        }
        results.push(PayerResultRow {
            run_id: 0,
            institution_code: r.institution_code.clone(),
            claim_month: r.claim_month.clone(),
            claim_id: r.claim_id.clone(),
            fate: detail
                .get("fate")
                .and_then(|f| f.as_str())
                .unwrap_or_default()
                .to_owned(),
            detail,
        });
        if let Some(p) = onshi_store::payer_parse(&r.payer) {
            payments.extend(payments_of(r, p));
        }
    }
    let differences = outcome
        .ratio_differences
        .iter()
        .map(|d| {
            Ok(RatioDifferenceRow {
                run_id: 0,
                insurer: d.insurer.clone(),
                institution_code: d.institution_code.clone(),
                claim_month: d.claim_month.clone(),
                claim_id: d.claim_id.clone(),
                detail: json(d)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let text = serde_json::to_string(&outcome).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id = store.save_payer_run(
        &NewPayerRun {
            as_of,
            at: at.to_owned(),
            actor: actor.to_owned(),
            inputs: serde_json::Value::Array(metas),
            policy: json(&policy)?,
            summary: json(&outcome.summary)?,
            outcome: text,
        },
        &results,
        &payments,
        &differences,
    )?;
    Ok((id, outcome))
}

/// Stored runs, newest first.
pub fn runs(store: &dyn Store, limit: u32, offset: u32) -> Result<Vec<RunSummary>, StoreError> {
    Ok(store
        .payer_runs(limit.clamp(1, 200), offset)?
        .into_iter()
        .map(RunSummary::from)
        .collect())
}

/// One stored run: its summary and its outcome as it was answered (JSON text).
pub fn stored_run(store: &dyn Store, id: i64) -> Result<Option<(RunSummary, String)>, StoreError> {
    Ok(store.payer_run(id)?.map(|mut r| {
        let outcome = r.outcome.take().unwrap_or_default();
        (RunSummary::from(r), outcome)
    }))
}

/// `POST /api/v1/payer/inquiries`: a candidate insurer's answer to the 照会
/// about a 不詳 claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInquiryAnswer {
    pub institution_code: Option<String>,
    /// YYYY-MM.
    pub claim_month: Option<String>,
    pub claim_id: Option<String>,
    pub insurer: Option<String>,
    /// `match` (該当) or `no_match` (非該当).
    pub answer: Option<String>,
}

/// Why a payer record was refused.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: &str) -> MemoryError {
    MemoryError::Invalid {
        field,
        message: message.into(),
    }
}

fn month(field: &'static str, s: Option<&str>) -> Result<String, MemoryError> {
    let s = s.map(str::trim).unwrap_or_default();
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m").to_string())
        .map_err(|_| invalid(field, "YYYY-MM で指定してください"))
}

fn claim_id(s: Option<&str>) -> Result<String, MemoryError> {
    let s = s.map(str::trim).unwrap_or_default();
    if s.is_empty() || s.len() > 64 || s.chars().any(|c| c.is_control()) {
        return Err(invalid("claim_id", "レセプト番号は1〜64文字です"));
    }
    Ok(s.to_owned())
}

/// Records a candidate insurer's answer (該当 / 非該当, who, when); the next
/// run decides the claim from the answers (`crate::run`).
pub fn answer_inquiry(
    store: &dyn Store,
    raw: &RawInquiryAnswer,
    by: &str,
    at: &str,
) -> Result<InquiryAnswerRow, MemoryError> {
    let inst = onshi_core::InstitutionCode::parse(raw.institution_code.as_deref().unwrap_or(""))
        .map_err(|e| invalid("institution_code", &e.kind.to_string()))?;
    let insurer = onshi_core::InsurerNumber::parse(raw.insurer.as_deref().unwrap_or(""))
        .map_err(|e| invalid("insurer", &e.kind.to_string()))?;
    let matches = match raw.answer.as_deref() {
        Some("match") => true,
        Some("no_match") => false,
        _ => {
            return Err(invalid(
                "answer",
                "match（該当）または no_match（非該当）です",
            ));
        }
    };
    let row = InquiryAnswerRow {
        institution_code: inst.to_string(),
        claim_month: month("claim_month", raw.claim_month.as_deref())?,
        claim_id: claim_id(raw.claim_id.as_deref())?,
        insurer: insurer.to_string(),
        matches,
        by: by.to_owned(),
        at: at.to_owned(),
    };
    store.put_inquiry_answer(&row)?;
    Ok(row)
}

/// A 70+ ratio difference with the insurer's settlement, if recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DifferenceView {
    pub run_id: i64,
    pub institution_code: String,
    pub claim_month: String,
    pub claim_id: String,
    pub difference: serde_json::Value,
    pub settlement: Option<SettlementView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementView {
    /// `claim` (請求) or `refund` (返還).
    pub kind: String,
    pub yen: u64,
    pub settled_on: Option<NaiveDate>,
    pub done: bool,
    pub by: String,
    pub at: String,
}

/// The ratio differences billed to the insurer, with their settlements
/// (notice §2(2) ※: no 返戻; the insurer settles with the patient).
pub fn ratio_differences(
    store: &dyn Store,
    insurer: &onshi_core::InsurerNumber,
) -> Result<Vec<DifferenceView>, StoreError> {
    let settled = store.settlements(insurer.as_str())?;
    Ok(store
        .ratio_differences(insurer.as_str())?
        .into_iter()
        .map(|d| {
            let settlement = settled
                .iter()
                .find(|s| {
                    s.institution_code == d.institution_code
                        && s.claim_month == d.claim_month
                        && s.claim_id == d.claim_id
                })
                .map(|s| SettlementView {
                    kind: s.kind.clone(),
                    yen: s.yen,
                    settled_on: s.settled_on,
                    done: s.done,
                    by: s.by.clone(),
                    at: s.at.clone(),
                });
            DifferenceView {
                run_id: d.run_id,
                institution_code: d.institution_code,
                claim_month: d.claim_month,
                claim_id: d.claim_id,
                difference: d.detail,
                settlement,
            }
        })
        .collect())
}

/// `PUT /api/v1/insurer/ratio-differences/settlement`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettlement {
    pub institution_code: Option<String>,
    pub claim_month: Option<String>,
    pub claim_id: Option<String>,
    /// `claim` (請求) or `refund` (返還).
    pub kind: Option<String>,
    pub yen: Option<u64>,
    /// YYYY-MM-DD.
    pub settled_on: Option<String>,
    pub done: Option<bool>,
}

/// The most one settlement can be (a bound, as for window amounts).
pub const MAX_SETTLEMENT_YEN: u64 = 999_999_990;

/// Records the insurer's settlement of one of its differences: the
/// difference must be one billed to this insurer, and a 請求 must be for a
/// positive difference, a 返還 for a negative one.
pub fn settle(
    store: &dyn Store,
    insurer: &onshi_core::InsurerNumber,
    raw: &RawSettlement,
    by: &str,
    at: &str,
) -> Result<DifferenceView, MemoryError> {
    let inst = raw
        .institution_code
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_owned();
    let claim_month = month("claim_month", raw.claim_month.as_deref())?;
    let cid = claim_id(raw.claim_id.as_deref())?;
    let Some(d) = store
        .ratio_differences(insurer.as_str())?
        .into_iter()
        .find(|d| d.institution_code == inst && d.claim_month == claim_month && d.claim_id == cid)
    else {
        return Err(invalid(
            "claim_id",
            "この保険者の負担割合の差額にありません",
        ));
    };
    let diff = d
        .detail
        .get("difference_yen")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    let kind = match raw.kind.as_deref() {
        Some("claim") if diff > 0 => "claim",
        Some("refund") if diff < 0 => "refund",
        Some("claim") | Some("refund") => {
            return Err(invalid(
                "kind",
                "差額が正なら請求（claim）、負なら返還（refund）です",
            ));
        }
        _ => return Err(invalid("kind", "claim（請求）または refund（返還）です")),
    };
    let yen = raw.yen.unwrap_or(diff.unsigned_abs());
    if yen > MAX_SETTLEMENT_YEN {
        return Err(invalid("yen", "金額が大きすぎます"));
    }
    let settled_on = raw
        .settled_on
        .as_deref()
        .map(|s| onshi_core::parse_iso_date("settled_on", s))
        .transpose()
        .map_err(|e| invalid("settled_on", &e.kind.to_string()))?;
    store.put_settlement(&SettlementRow {
        insurer: insurer.to_string(),
        institution_code: d.institution_code.clone(),
        claim_month: d.claim_month.clone(),
        claim_id: d.claim_id.clone(),
        kind: kind.into(),
        yen,
        settled_on,
        done: raw.done.unwrap_or(false),
        by: by.into(),
        at: at.into(),
    })?;
    ratio_differences(store, insurer)?
        .into_iter()
        .find(|v| v.institution_code == inst && v.claim_month == claim_month && v.claim_id == cid)
        .ok_or_else(|| invalid("claim_id", "この保険者の負担割合の差額にありません"))
}
