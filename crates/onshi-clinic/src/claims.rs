//! Building the month's claims at the institution from its visits (notice
//! §3): one claim per patient (by the clinic's patient key; a visit without
//! one is its own patient), insurer fields by `onshi_core::claim::
//! insurer_fields` in the notice's order, 不詳 with the 申立書's 摘要, routed to
//! 支払基金 or 国保連 (`onshi_core::claim::route`).
//!
//! [`build_month`] gives the month's [`ClaimRecord`]s as the visits stand
//! now; the stored claims and their life are [`crate::lifecycle`]'s.

use chrono::{Datelike, NaiveDate};
use onshi_core::claim::{
    ClaimEvidence, ClaimInsurer, InsurerBasis, KnownNumbers, insurer_fields, route, unknown_tekiyo,
};
use onshi_core::claim_life::{FactRank, FactSource, unknown_allowed_for};
use onshi_core::declaration::{Declaration, InsuranceType};
use onshi_core::{InstitutionCode, InsurerNumber, Payer, Sex, parse_date_any};
use onshi_payer::claim::{Claim, ClaimPatient};
use onshi_registry::RegistryError;
use onshi_store::Store;
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;

use crate::visit::{ClaimBasis, ClinicError, VisitRecord};

/// Where the claim's 氏名・カナ・生年月日・性別 come from (issue: the confirmed
/// qualification first, the 申立書 only when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    /// The qualification the registry answered with (a check, the re-check,
    /// the failure-mode pick).
    Registry,
    /// The 被保険者資格申立書.
    Declaration,
    /// What the clerk entered for the visit.
    Visit,
}

/// A difference between the identity the claim uses and another source,
/// shown to the clerk and kept on the claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdentityDifference {
    /// `name`, `kana`, `birth_date` or `sex`.
    pub field: String,
    /// The value on the claim.
    pub on_claim: String,
    /// The other value and where it came from.
    pub other: String,
    #[schema(value_type = String)]
    pub other_source: IdentitySource,
}

/// The patient as the claim names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimIdentity {
    pub name: String,
    pub kana: Option<String>,
    #[schema(value_type = String)]
    pub sex: Sex,
    pub birth_date: NaiveDate,
}

/// The institution's claim as its own record (stored, versioned by
/// [`crate::lifecycle`]); [`ClaimRecord::to_claim`] writes the document the
/// payer reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRecord {
    #[schema(value_type = String)]
    pub institution_code: InstitutionCode,
    /// 診療年月, first day.
    pub claim_month: NaiveDate,
    /// The patient grouping key (`key-…` or `visit-…`).
    pub patient_key: String,
    pub visit_ids: Vec<i64>,
    #[schema(value_type = String)]
    pub payer: Payer,
    pub patient: ClaimIdentity,
    #[schema(value_type = String)]
    pub identity_source: IdentitySource,
    pub identity_differences: Vec<IdentityDifference>,
    #[schema(value_type = Object)]
    pub insurer: ClaimInsurer,
    /// The rank of the fact the insurer fields rest on (notice §3 order).
    #[schema(value_type = String)]
    pub insurer_rank: FactRank,
    /// How that fact was learned (`hearing` for 後日の聞き取り); none for 不詳.
    #[schema(value_type = Option<String>)]
    pub insurer_source: Option<FactSource>,
    pub burden_ratio_percent: u16,
    pub visit_dates: Vec<NaiveDate>,
    pub points: u64,
    pub patient_paid_yen: u64,
    pub tekiyo: Vec<String>,
    /// The institution's choices this record was built with.
    #[serde(default)]
    pub options: ClaimOptions,
}

impl ClaimRecord {
    /// 診療年月 as YYYY-MM.
    pub fn month_text(&self) -> String {
        self.claim_month.format("%Y-%m").to_string()
    }

    /// The claim document for the payer, under `claim_id`.
    pub fn to_claim(&self, claim_id: &str) -> Claim {
        Claim {
            claim_id: claim_id.to_owned(),
            institution_code: self.institution_code.to_string(),
            claim_month: self.month_text(),
            payer: self.payer,
            patient: ClaimPatient {
                name: self.patient.name.clone(),
                kana: self.patient.kana.clone(),
                sex: self.patient.sex,
                birth_date: self.patient.birth_date,
            },
            insurer: self.insurer.clone(),
            burden_ratio_percent: self.burden_ratio_percent,
            visit_dates: self.visit_dates.clone(),
            points: self.points,
            patient_paid_yen: self.patient_paid_yen,
            tekiyo: self.tekiyo.clone(),
            diagnoses: vec![],
        }
    }
}

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

impl Default for ClaimOptions {
    /// 不詳 of unknown type to 支払基金; no 検証番号 enforcement.
    fn default() -> Self {
        ClaimOptions {
            unknown_payer: Payer::ShiharaiKikin,
            check_digit_enforced: false,
        }
    }
}

/// The month's claim records as the visits stand, and what is not ready.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MonthBuild {
    pub records: Vec<ClaimRecord>,
    pub not_ready: Vec<NotReady>,
}

/// How the institution fills what the notice leaves to it. Recorded on each
/// claim it built, so a later rebuild (a re-check's refresh) makes the same
/// choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimOptions {
    #[schema(value_type = String)]
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

/// Builds the claims of `month` (any day in it) for the institution, as
/// documents under the claim ids `YYYYMM-key` (a preview: the stored claims
/// and their ids are [`crate::lifecycle`]'s).
pub fn month_claims(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
    opts: ClaimOptions,
) -> Result<MonthClaims, ClinicError> {
    let b = build_month(store, inst, month, opts)?;
    Ok(MonthClaims {
        claims: b
            .records
            .iter()
            .map(|r| {
                r.to_claim(&format!(
                    "{}-{}",
                    r.claim_month.format("%Y%m"),
                    r.patient_key
                ))
            })
            .collect(),
        not_ready: b.not_ready,
    })
}

/// The first day of a month given by any day in it.
pub fn first_of(month: NaiveDate) -> NaiveDate {
    month.with_day(1).unwrap_or(month)
}

/// Builds the month's claim records from the visits (notice §3 order for
/// the insurer, the registry's identity before the 申立書's).
pub fn build_month(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
    opts: ClaimOptions,
) -> Result<MonthBuild, ClinicError> {
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
    let mut out = MonthBuild {
        records: vec![],
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
        // The best fact of the month's visits (notice §3 order; the latest
        // among equals): its numbers are what the claim writes for its
        // basis, so the numbers and their label always agree.
        let best: Option<&ClaimBasis> = visits.iter().filter_map(|v| v.1.claim.as_ref()).fold(
            None,
            |acc: Option<&ClaimBasis>, c| match acc {
                Some(a) if a.rank() > c.rank() => Some(a),
                _ => Some(c),
            },
        );
        let basis_of = |b: InsurerBasis| {
            best.filter(|c| c.basis == b).and_then(known).or_else(|| {
                visits
                    .iter()
                    .rev()
                    .find_map(|v| v.1.claim.as_ref().filter(|c| c.basis == b).and_then(known))
            })
        };
        let oral = visits.iter().any(|v| {
            v.1.decision
                .as_ref()
                .is_some_and(|d| d.basis == "returning_patient_oral")
        });
        let contacted_on = visits.iter().filter_map(|v| v.1.contacted_on).max();
        // The registry's identity: a valid answer first (a check, the
        // re-check, the failure-mode pick), else the lost qualification's.
        let registry = visits
            .iter()
            .rev()
            .filter_map(|v| v.1.check.as_ref())
            .filter(|c| c.validity == 1)
            .find_map(|c| c.qualification.clone())
            .or_else(|| {
                visits
                    .iter()
                    .rev()
                    .find_map(|v| v.1.check.as_ref().and_then(|c| c.qualification.clone()))
            });
        let patient_info = visits.iter().rev().find_map(|v| v.1.patient.clone());
        let declared = declaration.as_ref().map(|d| ClaimIdentityParts {
            name: d.name.as_ref().map(|n| n.to_string()),
            kana: d.kana.as_ref().map(|k| k.to_string()),
            birth: d.birth_date.map(|w| w.to_gregorian()),
            sex: d.sex,
        });
        let entered = patient_info.as_ref().map(|p| ClaimIdentityParts {
            name: p.name.clone(),
            kana: p.kana.clone(),
            birth: p
                .birth_date
                .as_deref()
                .and_then(|b| parse_date_any("birth_date", b).ok()),
            sex: p.sex.as_deref().and_then(|s| Sex::parse(s).ok()),
        });
        let from_registry = registry.as_ref().map(|q| ClaimIdentityParts {
            name: Some(q.name.clone()),
            kana: Some(q.kana.clone()),
            birth: Some(q.birth_date),
            sex: Sex::parse(&q.sex).ok(),
        });
        let mut sources: Vec<(IdentitySource, ClaimIdentityParts)> = Vec::new();
        if let Some(r) = from_registry {
            sources.push((IdentitySource::Registry, r));
        }
        if let Some(d) = declared {
            sources.push((IdentitySource::Declaration, d));
        }
        if let Some(e) = entered {
            sources.push((IdentitySource::Visit, e));
        }
        let Some((identity, identity_source, identity_differences)) = identity_of(&sources) else {
            out.not_ready.push(not_ready(
                &ids,
                "no_patient",
                "氏名・性別・生年月日が分かりません",
            ));
            continue;
        };
        let birth = identity.birth_date;
        let visit_day = visits[0].1.visited_on;
        let declared_type = declaration.as_ref().and_then(|d| d.insurance_type);
        let kouki = declared_type == Some(InsuranceType::Kouki)
            || onshi_core::burden::age_on(birth, visit_day) >= 75;
        let evidence = ClaimEvidence {
            confirmed: basis_of(InsurerBasis::Confirmed),
            told: basis_of(InsurerBasis::ToldOrally),
            lost: basis_of(InsurerBasis::LostQualification),
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
        if insurer.basis == InsurerBasis::Unknown {
            // Notice §5(2): the §3(4) handling from 令和5年9月請求 only.
            if !unknown_allowed_for(first) {
                out.not_ready.push(not_ready(
                    &ids,
                    "unknown_claim_before_reiwa5_9",
                    "不詳による請求は令和5年9月請求分（令和5年8月診療分）からです（保発0710第1号 5(2)）",
                ));
                continue;
            }
            // §3(3)/(4): 「有効な保険証が発行されている場合であって」.
            let card_presented = visits.iter().any(|v| {
                v.1.attempt
                    .as_ref()
                    .is_some_and(|a| a.reference.as_deref() == Some("card"))
            });
            let holds_valid = declaration.as_ref().and_then(|d| d.has_valid_card);
            if holds_valid == Some(false) || (holds_valid.is_none() && !card_presented) {
                out.not_ready.push(not_ready(
                    &ids,
                    "unknown_claim_needs_valid_card",
                    "不詳による請求は、有効な保険証・資格確認書またはマイナ保険証が提示された場合に限られます（保発0710第1号 3(3)(4)）。申立書で有効な保険証等の有無を確認してください",
                ));
                continue;
            }
            if let Some(d) = &declaration {
                let missing = d.missing_for_claim(birth, visits[0].1.visited_on);
                if !missing.is_empty() {
                    out.not_ready.push(not_ready(
                        &ids,
                        "declaration_incomplete",
                        format!(
                            "不詳請求の申立書に必要な項目がありません: {}",
                            missing.join("、")
                        ),
                    ));
                    continue;
                }
            }
        }
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
        out.records.push(ClaimRecord {
            institution_code: inst.clone(),
            claim_month: first,
            patient_key: key,
            visit_ids: ids.clone(),
            payer: route(real.as_ref(), declared_type, opts.unknown_payer),
            patient: identity,
            identity_source,
            identity_differences,
            insurer_rank: if insurer.basis == InsurerBasis::Unknown {
                FactRank::Unknown
            } else {
                best.map_or(FactRank::Unknown, ClaimBasis::rank)
            },
            insurer_source: if insurer.basis == InsurerBasis::Unknown {
                None
            } else {
                best.map(|b| b.source)
            },
            insurer,
            burden_ratio_percent: ratio,
            visit_dates: dates,
            points,
            patient_paid_yen: paid,
            tekiyo,
            options: opts,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
struct ClaimIdentityParts {
    name: Option<String>,
    kana: Option<String>,
    birth: Option<NaiveDate>,
    sex: Option<Sex>,
}

/// The claim's identity: each field from the first source that has it
/// (registry, then 申立書, then the visit), with every other source's
/// differing value recorded.
fn identity_of(
    sources: &[(IdentitySource, ClaimIdentityParts)],
) -> Option<(ClaimIdentity, IdentitySource, Vec<IdentityDifference>)> {
    let pick = |f: &dyn Fn(&ClaimIdentityParts) -> Option<String>| {
        sources.iter().find_map(|(src, p)| f(p).map(|v| (*src, v)))
    };
    let name = pick(&|p| p.name.clone().filter(|n| !n.trim().is_empty()))?;
    let kana = pick(&|p| p.kana.clone().filter(|n| !n.trim().is_empty()));
    let birth = sources.iter().find_map(|(s, p)| p.birth.map(|b| (*s, b)))?;
    let sex = sources.iter().find_map(|(s, p)| p.sex.map(|x| (*s, x)))?;
    let mut diffs = Vec::new();
    for (src, p) in sources {
        let mut diff = |field: &str,
                        on_claim: String,
                        other: Option<String>,
                        norm: &dyn Fn(&str) -> String| {
            if let Some(o) = other
                && norm(&o) != norm(&on_claim)
            {
                diffs.push(IdentityDifference {
                    field: field.into(),
                    on_claim: on_claim.clone(),
                    other: o,
                    other_source: *src,
                });
            }
        };
        let plain = |s: &str| s.to_owned();
        diff("name", name.1.clone(), p.name.clone(), &|s| {
            onshi_core::kana::name_key(s)
        });
        if let Some(k) = &kana {
            diff("kana", k.1.clone(), p.kana.clone(), &|s| {
                onshi_core::kana::kana_key(s)
            });
        }
        diff(
            "birth_date",
            birth.1.to_string(),
            p.birth.map(|b| b.to_string()),
            &plain,
        );
        diff(
            "sex",
            sex.1.code().to_string(),
            p.sex.map(|x| x.code().to_string()),
            &plain,
        );
    }
    Some((
        ClaimIdentity {
            name: name.1,
            kana: kana.map(|k| k.1),
            sex: sex.1,
            birth_date: birth.1,
        },
        birth.0,
        diffs,
    ))
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
