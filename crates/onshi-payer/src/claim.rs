//! The claim document: what a レセプト carries that the payer side needs, in
//! a JSON Lines format (one claim per line) that other systems and the tests
//! use, with the same content as the electronic claim file (UKE).

use chrono::NaiveDate;
use onshi_core::claim::{ClaimInsurer, InsurerBasis, is_unknown_insurer};
use onshi_core::{InsurerNumber, Payer, Sex};
use serde::{Deserialize, Serialize};

/// One claim (レセプト): one patient at one institution for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Unique within the institution and month (e.g. the receipt number).
    pub claim_id: String,
    /// 医療機関コード (10 digits).
    pub institution_code: String,
    /// 診療年月, YYYY-MM.
    pub claim_month: String,
    /// The organisation the claim is sent to.
    pub payer: Payer,
    pub patient: ClaimPatient,
    pub insurer: ClaimInsurer,
    /// 給付割合 side: the patient's burden ratio in percent as charged.
    pub burden_ratio_percent: u16,
    /// 診療日 (at least one).
    pub visit_dates: Vec<NaiveDate>,
    /// 合計点数.
    pub points: u64,
    /// 一部負担金 received at the window (yen).
    pub patient_paid_yen: u64,
    /// 摘要欄, one entry a line (the 不詳 details for a 不詳 claim).
    #[serde(default)]
    pub tekiyo: Vec<String>,
    /// 傷病名 (SY), free text here.
    #[serde(default)]
    pub diagnoses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimPatient {
    pub name: String,
    #[serde(default)]
    pub kana: Option<String>,
    pub sex: Sex,
    pub birth_date: NaiveDate,
}

/// One claim as the payer run takes it: a source label (file and line) and
/// the parsed, validated claim or why it was refused.
pub type ClaimInput = (String, Result<Claim, ClaimProblem>);

/// Why a claim was refused at intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimProblem {
    pub code: String,
    pub field: String,
    pub message: String,
}

fn problem(code: &str, field: &str, message: &str) -> ClaimProblem {
    ClaimProblem {
        code: code.into(),
        field: field.into(),
        message: message.into(),
    }
}

impl Claim {
    /// The yen the claim asks of the insurer side: points × 10 minus what the
    /// patient paid.
    pub fn claimed_yen(&self) -> u64 {
        self.points
            .saturating_mul(10)
            .saturating_sub(self.patient_paid_yen)
    }

    pub fn is_unknown(&self) -> bool {
        self.insurer.basis == InsurerBasis::Unknown
            || is_unknown_insurer(&self.insurer.insurer_number)
    }

    /// The insurer number as a real one (`None` for 不詳).
    pub fn insurer_number(&self) -> Option<InsurerNumber> {
        InsurerNumber::parse(&self.insurer.insurer_number).ok()
    }

    /// Intake checks (per claim): identifiers, month, dates inside the month,
    /// the insurer fields (a real 保険者番号, or the 不詳 encoding with 摘要
    /// starting 「不詳」), amounts.
    pub fn validate(&self) -> Result<(), ClaimProblem> {
        if self.claim_id.trim().is_empty() || self.claim_id.len() > 64 {
            return Err(problem(
                "invalid_claim_id",
                "claim_id",
                "レセプト番号は1〜64文字です",
            ));
        }
        onshi_core::InstitutionCode::parse(&self.institution_code)
            .map_err(|e| problem(e.code(), "institution_code", &e.kind.to_string()))?;
        let month = NaiveDate::parse_from_str(&format!("{}-01", self.claim_month), "%Y-%m-%d")
            .map_err(|_| problem("invalid_month", "claim_month", "診療年月は YYYY-MM です"))?;
        if self.visit_dates.is_empty() {
            return Err(problem(
                "missing_field",
                "visit_dates",
                "診療日がありません",
            ));
        }
        if let Some(d) = self
            .visit_dates
            .iter()
            .find(|d| d.format("%Y-%m").to_string() != self.claim_month)
        {
            return Err(problem(
                "visit_outside_month",
                "visit_dates",
                &format!("診療日{d}が診療年月{month}の月にありません"),
            ));
        }
        if self.is_unknown() {
            if !is_unknown_insurer(&self.insurer.insurer_number)
                || self.insurer.basis != InsurerBasis::Unknown
            {
                return Err(problem(
                    "invalid_unknown_claim",
                    "insurer",
                    "不詳請求は保険者番号77777777（または77777779）で記載します",
                ));
            }
            if self.tekiyo.first().map(String::as_str) != Some("不詳") {
                return Err(problem(
                    "missing_tekiyo",
                    "tekiyo",
                    "不詳請求の摘要欄は「不詳」から始めます",
                ));
            }
        } else {
            InsurerNumber::parse(&self.insurer.insurer_number)
                .map_err(|e| problem(e.code(), "insurer.insurer_number", &e.kind.to_string()))?;
        }
        if self.insurer.number.trim().is_empty() {
            return Err(problem(
                "missing_field",
                "insurer.number",
                "被保険者番号がありません",
            ));
        }
        if onshi_core::BurdenRatio::from_percent(self.burden_ratio_percent).is_err() {
            return Err(problem(
                "invalid_burden_ratio",
                "burden_ratio_percent",
                "負担割合は10, 20, 30, 100です",
            ));
        }
        if self.patient_paid_yen > self.points.saturating_mul(10) {
            return Err(problem(
                "invalid_amount",
                "patient_paid_yen",
                "一部負担金が総額を超えています",
            ));
        }
        Ok(())
    }
}

/// Parses JSON Lines claims; each line is parsed on its own, so one bad line
/// is reported with its number and does not hide the others.
pub fn parse_jsonl(text: &str) -> Vec<(usize, Result<Claim, ClaimProblem>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let parsed = serde_json::from_str::<Claim>(l)
                .map_err(|e| problem("invalid_json", "line", &format!("{}行目: {e}", i + 1)))
                .and_then(|c| c.validate().map(|_| c));
            (i + 1, parsed)
        })
        .collect()
}

/// Writes claims as JSON Lines.
pub fn to_jsonl(claims: &[Claim]) -> String {
    claims
        .iter()
        .filter_map(|c| serde_json::to_string(c).ok())
        .map(|l| l + "\n")
        .collect()
}
