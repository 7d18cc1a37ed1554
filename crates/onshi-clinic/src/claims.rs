//! Building the month's claims at the institution from its visits (notice
//! §3): one claim per patient (by the clinic's patient key; a visit without
//! one is its own patient), insurer fields by `onshi_core::claim::
//! insurer_fields` in the notice's order, 不詳 with the 申立書's 摘要, routed to
//! 支払基金 or 国保連 (`onshi_core::claim::route`).

use chrono::{Datelike, NaiveDate};
use onshi_core::claim::{ClaimEvidence, KnownNumbers, insurer_fields, route, unknown_tekiyo};
use onshi_core::declaration::{Declaration, InsuranceType};
use onshi_core::{InstitutionCode, InsurerNumber, Payer, Sex, parse_date_any};
use onshi_payer::claim::{Claim, ClaimPatient};
use onshi_registry::RegistryError;
use onshi_store::Store;
use serde::Serialize;
use utoipa::ToSchema;

use crate::visit::{ClaimBasis, ClinicError, VisitRecord};

/// Visits that cannot become a claim yet, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NotReady {
    pub visit_ids: Vec<i64>,
    pub code: String,
    pub message: String,
}

/// The month's claims and what is not ready.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MonthClaims {
    #[schema(value_type = Vec<Object>)]
    pub claims: Vec<Claim>,
    pub not_ready: Vec<NotReady>,
}

/// How the institution fills what the notice leaves to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimOptions {
    /// Where a 不詳 claim of unknown type goes (疑義解釈 問1).
    pub unknown_payer: Payer,
    /// The receipt computer enforces the 検証番号 (→ 77777779).
    pub check_digit_enforced: bool,
}

fn known(c: &ClaimBasis) -> Option<KnownNumbers> {
    Some(KnownNumbers {
        insurer_number: InsurerNumber::parse(&c.insurer_number).ok()?,
        symbol: c.insured_symbol.clone(),
        number: c.insured_number.clone(),
        branch: c.insured_branch.clone(),
    })
}

fn not_ready(ids: &[i64], code: &str, message: impl Into<String>) -> NotReady {
    NotReady {
        visit_ids: ids.to_vec(),
        code: code.into(),
        message: message.into(),
    }
}

/// Builds the claims of `month` (any day in it) for the institution.
pub fn month_claims(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
    opts: ClaimOptions,
) -> Result<MonthClaims, ClinicError> {
    let first = month.with_day(1).unwrap_or(month);
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first);
    let rows = store.visits_between(inst, first, last)?;
    // Group by patient: the clinic's key, else the visit alone.
    let mut groups: std::collections::BTreeMap<String, Vec<(i64, VisitRecord)>> =
        std::collections::BTreeMap::new();
    for r in rows {
        let rec: VisitRecord =
            serde_json::from_value(r.record).map_err(|e| ClinicError::Corrupt(e.to_string()))?;
        let key = r
            .patient_key
            .clone()
            .map_or_else(|| format!("visit-{:010}", r.id), |k| format!("key-{k}"));
        groups.entry(key).or_default().push((r.id, rec));
    }
    let mut out = MonthClaims {
        claims: vec![],
        not_ready: vec![],
    };
    for (key, visits) in groups {
        let ids: Vec<i64> = visits.iter().map(|v| v.0).collect();
        if visits.iter().any(|v| v.1.decision.is_none()) {
            out.not_ready.push(not_ready(
                &ids,
                "no_decision",
                "窓口負担が決定されていない受診があります",
            ));
            continue;
        }
        let mut declaration: Option<Declaration> = None;
        for (id, _) in &visits {
            if let Some(d) = store.declaration(inst, *id)? {
                declaration = serde_json::from_value(d.form).ok();
            }
        }
        let basis_of = |b: &str| {
            visits
                .iter()
                .rev()
                .find_map(|v| v.1.claim.as_ref().filter(|c| c.basis == b).and_then(known))
        };
        let oral = visits.iter().any(|v| {
            v.1.decision
                .as_ref()
                .is_some_and(|d| d.basis == "returning_patient_oral")
        });
        let contacted_on = visits.iter().filter_map(|v| v.1.contacted_on).max();
        let last_check = visits
            .iter()
            .rev()
            .find_map(|v| v.1.check.as_ref().and_then(|c| c.qualification.clone()));
        let patient_info = visits.iter().rev().find_map(|v| v.1.patient.clone());
        let birth = declaration
            .as_ref()
            .and_then(|d| d.birth_date.map(|w| w.to_gregorian()))
            .or_else(|| last_check.as_ref().map(|q| q.birth_date))
            .or_else(|| {
                patient_info
                    .as_ref()
                    .and_then(|p| p.birth_date.as_deref())
                    .and_then(|b| parse_date_any("birth_date", b).ok())
            });
        let name = declaration
            .as_ref()
            .and_then(|d| d.name.as_ref().map(|n| n.to_string()))
            .or_else(|| last_check.as_ref().map(|q| q.name.clone()))
            .or_else(|| patient_info.as_ref().and_then(|p| p.name.clone()));
        let sex = declaration
            .as_ref()
            .and_then(|d| d.sex)
            .or_else(|| last_check.as_ref().and_then(|q| Sex::parse(&q.sex).ok()))
            .or_else(|| {
                patient_info
                    .as_ref()
                    .and_then(|p| p.sex.as_deref())
                    .and_then(|s| Sex::parse(s).ok())
            });
        let (Some(birth), Some(name), Some(sex)) = (birth, name, sex) else {
            out.not_ready.push(not_ready(
                &ids,
                "no_patient",
                "氏名・性別・生年月日が分かりません",
            ));
            continue;
        };
        let visit_day = visits[0].1.visited_on;
        let declared_type = declaration.as_ref().and_then(|d| d.insurance_type);
        let kouki = declared_type == Some(InsuranceType::Kouki)
            || onshi_core::burden::age_on(birth, visit_day) >= 75;
        let evidence = ClaimEvidence {
            confirmed: basis_of("confirmed"),
            told: basis_of("told_orally"),
            lost: basis_of("lost_qualification"),
            declaration_submitted: declaration.is_some() || oral,
            contacted_on,
            check_digit_enforced: opts.check_digit_enforced,
            kouki,
        };
        let insurer = match insurer_fields(&evidence) {
            Ok(i) => i,
            Err(e) => {
                out.not_ready.push(not_ready(&ids, e.code(), e.to_string()));
                continue;
            }
        };
        let real = InsurerNumber::parse(&insurer.insurer_number).ok();
        let tekiyo = if real.is_none() {
            unknown_tekiyo(
                declaration.as_ref().unwrap_or(&Declaration::default()),
                contacted_on,
            )
        } else {
            vec![]
        };
        let decisions: Vec<_> = visits
            .iter()
            .filter_map(|v| v.1.decision.as_ref())
            .collect();
        let ratio = decisions.last().map_or(30, |d| d.ratio_percent);
        let points: u64 = decisions.iter().filter_map(|d| d.points).sum();
        let paid: u64 = decisions.iter().filter_map(|d| d.amount_yen).sum();
        let mut dates: Vec<NaiveDate> = visits.iter().map(|v| v.1.visited_on).collect();
        dates.dedup();
        out.claims.push(Claim {
            claim_id: format!("{}-{}", first.format("%Y%m"), key),
            institution_code: inst.to_string(),
            claim_month: first.format("%Y-%m").to_string(),
            payer: route(real.as_ref(), declared_type, opts.unknown_payer),
            patient: ClaimPatient {
                name,
                kana: declaration
                    .as_ref()
                    .and_then(|d| d.kana.as_ref().map(|k| k.to_string()))
                    .or_else(|| last_check.as_ref().map(|q| q.kana.clone())),
                sex,
                birth_date: birth,
            },
            insurer,
            burden_ratio_percent: ratio,
            visit_dates: dates,
            points,
            patient_paid_yen: paid,
            tekiyo,
            diagnoses: vec![],
        });
    }
    Ok(out)
}

/// A month given as YYYY-MM.
pub fn parse_month(s: &str) -> Result<NaiveDate, RegistryError> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d").map_err(|_| {
        RegistryError::BadValue {
            field: "month".into(),
            message: "YYYY-MM で指定してください".into(),
        }
    })
}
