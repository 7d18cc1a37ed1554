//! The payer run: intake → レセプト振替 → 不詳 identification → 按分 → bills,
//! with a report of every claim's fate.
//!
//! Sources: notice §3(3) ※ and §4; DOMAIN §2.1–2.3 (振替 since 2021-10, no
//! 振替 when the written qualification was valid on the visit date (from
//! 2022-02 claims), 特定 against the registered data, 按分 by payment record).
//!
//! Choices [D], all written into the report:
//! - 振替 is judged per visit date: a date on which the written qualification
//!   was not valid goes to the qualification valid that day, if one is
//!   registered by the run; when the dates fall to different insurers the
//!   claim is split (分割) by days.
//! - A lost qualification with nothing newer registered: `returned`
//!   (返戻, the policy DOMAIN §1.6 reports) or, with
//!   [`Policy::bill_written_when_unregistered`], billed to the written insurer
//!   (確認区分 06).
//! - 不詳 claims are matched on 生年月日 + 性別 + カナ氏名 (or 氏名) and the
//!   qualification valid on the visit date; 住所, 事業所名, 保険者等名称 from
//!   摘要 break ties. One → identified; several → `pending_inquiry` (the payer
//!   asks each candidate; never assigned automatically); none → apportioned.
//! - The payment record (請求実績) that weights 按分 is what this run decides
//!   for the same institution and payer, plus the stored record of earlier
//!   runs (`PayerStore::payment_record`, less the claims of this run's own
//!   input), within `reference_months` months up to the claim's month; when
//!   that window holds nothing, the window widens to 3, 6 and 12 months
//!   (DOMAIN §2.3), and the report names the window used. With no record at
//!   all the claim is held (別添1: a 不詳 claim may be settled later), until
//!   the end of the month after the run's date.
//! - Several candidates: the payer's stored 照会 answers decide. One 該当 →
//!   identified to it; every candidate 非該当 → apportioned; otherwise held
//!   as `pending_inquiry` with the answers so far.
//! - The run itself writes nothing (`crate::memory` stores it): the same
//!   input, registry, payment record and 照会 answers give the same output.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use onshi_core::apportion::largest_remainder;
use onshi_core::burden::{age_on, ratio_on, window_amount};
use onshi_core::kana::{address_key, kana_key, name_key};
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::{BranchNumber, InsuredNumber, InsuredSymbol, Payer};
use onshi_store::{PersonSearch, QualificationRow, Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::claim::{Claim, ClaimInput, ClaimProblem};

/// How the run treats the cases the notice leaves to the payer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Bill the written insurer when a lost qualification has nothing newer
    /// registered (instead of returning the claim).
    pub bill_written_when_unregistered: bool,
    /// Months of payment record (up to and including the claim's month) that
    /// weight the apportionment.
    pub reference_months: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            bill_written_when_unregistered: false,
            reference_months: 1,
        }
    }
}

/// What became of one claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// Refused at intake.
    Rejected { problem: ClaimProblem },
    /// Billed to the written insurer (確認区分 02 変更なし, or 06 by policy).
    Billed {
        insurer: String,
        confirmation: String,
    },
    /// 振替 to the insurer valid on the visit dates (確認区分 04).
    Transferred { from: String, to: String },
    /// 分割 by visit days among insurers (確認区分 05).
    Split { from: String, shares: Vec<Share> },
    /// Returned to the institution (返戻).
    Returned { reason: String },
    /// A 不詳 claim matched to one insurer.
    Identified { insurer: String, person_ref: String },
    /// A 不詳 claim with several candidates: the payer asks each (held
    /// until they answer).
    PendingInquiry {
        candidates: Vec<String>,
        answers: Vec<InquiryAnswer>,
        held_until: String,
    },
    /// A 不詳 claim nobody could be found for: shared out.
    Apportioned {
        shares: Vec<Share>,
        reference: String,
    },
    /// A 不詳 claim with nothing to weight the shares by (no payment record
    /// with the institution in any window): held (別添1).
    Unapportionable { held_until: String, reason: String },
}

/// A candidate insurer's answer to the payer's 照会.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InquiryAnswer {
    pub insurer: String,
    /// true: 該当; false: 非該当.
    pub matches: bool,
    pub by: String,
    pub at: String,
}

/// A claim the run holds, and until when (別添1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub institution_code: String,
    pub claim_month: String,
    pub claim_id: String,
    pub reason: String,
    pub held_until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub insurer: String,
    pub yen: u64,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimReport {
    /// shiharai_kikin or kokuhoren (empty for a claim refused at intake).
    pub payer: String,
    pub institution_code: String,
    pub claim_month: String,
    pub claim_id: String,
    /// The source line (file index and line), for the sender.
    pub source: String,
    pub claimed_yen: u64,
    #[serde(flatten)]
    pub fate: Fate,
}

/// What one insurer is billed by one payer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    pub payer: String,
    pub insurer: String,
    pub claims: u64,
    /// Whole claims billed, transferred, split shares and identified (yen).
    pub claimed_yen: u64,
    /// Shares of apportioned 不詳 claims (yen).
    pub apportioned_yen: u64,
    pub total_yen: u64,
}

/// A 70+ patient charged at another ratio than the registered one (notice
/// §2(2) ※): no return; the insurer settles with the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatioDifference {
    pub insurer: String,
    pub institution_code: String,
    pub claim_month: String,
    pub claim_id: String,
    pub patient_name: String,
    pub charged_percent: u16,
    pub registered_percent: u16,
    pub paid_yen: u64,
    /// What the patient should have paid at the registered ratio.
    pub due_yen: u64,
    /// Positive: the insurer claims this from the patient; negative: refunds it.
    pub difference_yen: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub as_of: String,
    pub claims: u64,
    pub rejected: u64,
    pub billed: u64,
    pub transferred: u64,
    pub split: u64,
    pub returned: u64,
    pub identified: u64,
    pub pending_inquiry: u64,
    pub apportioned: u64,
    pub unapportionable: u64,
    pub ratio_differences: u64,
    pub total_claimed_yen: u64,
    pub total_billed_yen: u64,
}

/// The whole outcome of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub summary: Summary,
    pub report: Vec<ClaimReport>,
    pub bills: Vec<Bill>,
    pub ratio_differences: Vec<RatioDifference>,
    /// The claims held (照会中, or no payment record to weight 按分).
    pub holds: Vec<Hold>,
}

fn payer_name(p: Payer) -> &'static str {
    match p {
        Payer::ShiharaiKikin => "shiharai_kikin",
        Payer::Kokuhoren => "kokuhoren",
    }
}

/// The registered qualifications the claim's numbers point at.
fn written_rows(store: &dyn Store, c: &Claim) -> Result<Vec<QualificationRow>, StoreError> {
    let (Some(insurer), Ok(number)) = (c.insurer_number(), InsuredNumber::parse(&c.insurer.number))
    else {
        return Ok(vec![]);
    };
    let symbol = c
        .insurer
        .symbol
        .as_deref()
        .and_then(|s| InsuredSymbol::parse(s).ok());
    let branch = c
        .insurer
        .branch
        .as_deref()
        .and_then(|b| BranchNumber::parse(b).ok());
    let Ok(numbers) = InsuranceNumbers::new(insurer, symbol, number, branch) else {
        return Ok(vec![]);
    };
    store.visible_qualifications_by_numbers(&numbers, c.patient.birth_date)
}

fn valid_on(rows: &[QualificationRow], d: NaiveDate) -> Option<&QualificationRow> {
    rows.iter().find(|q| q.qualification.is_valid_on(d))
}

/// A field of the 不詳 摘要 (`ラベル：値`), unless 「不明」.
fn tekiyo_field<'a>(c: &'a Claim, label: &str) -> Option<&'a str> {
    c.tekiyo
        .iter()
        .find_map(|l| l.strip_prefix(label).and_then(|r| r.strip_prefix('：')))
        .filter(|v| *v != "不明" && !v.is_empty())
}

enum Identification {
    One { insurer: String, person_ref: String },
    Several(Vec<String>),
    None,
}

fn identify(store: &dyn Store, c: &Claim) -> Result<Identification, StoreError> {
    let on = c.visit_dates[0];
    let kana = tekiyo_field(c, "カナ氏名")
        .map(str::to_owned)
        .or_else(|| c.patient.kana.clone());
    let q = PersonSearch {
        birth_date: c.patient.birth_date,
        sex: c.patient.sex.code(),
        name_key: kana.is_none().then(|| name_key(&c.patient.name)),
        kana_key: kana.as_deref().map(kana_key),
        address_key: None,
    };
    let mut found: Vec<(String, String, u32)> = Vec::new();
    for p in store.fm_search_persons(&q, 50)? {
        let quals = store.visible_qualifications_of(p.id)?;
        let Some(valid) = valid_on(&quals, on) else {
            continue;
        };
        // Tie-breaking score from the other 摘要 details.
        let mut score = 0;
        if tekiyo_field(c, "住所").is_some_and(|a| address_key(a) == p.person.address.key()) {
            score += 4;
        }
        if tekiyo_field(c, "事業所名")
            .is_some_and(|e| valid.qualification.employer.as_deref() == Some(e))
        {
            score += 2;
        }
        if tekiyo_field(c, "保険者等名称")
            .is_some_and(|n| valid.insurer_name.contains(n) || n.contains(&valid.insurer_name))
        {
            score += 1;
        }
        found.push((
            valid.qualification.numbers.insurer_number.to_string(),
            p.person_ref.to_string(),
            score,
        ));
    }
    let best = found.iter().map(|f| f.2).max().unwrap_or(0);
    let top: Vec<&(String, String, u32)> = found.iter().filter(|f| f.2 == best).collect();
    Ok(match top.as_slice() {
        [] => Identification::None,
        [one] => Identification::One {
            insurer: one.0.clone(),
            person_ref: one.1.clone(),
        },
        many => {
            let mut insurers: Vec<String> = many.iter().map(|f| f.0.clone()).collect();
            insurers.sort();
            insurers.dedup();
            if insurers.len() == 1 {
                // Several people, one insurer: the insurer is what pays.
                let mut refs: Vec<String> = many.iter().map(|f| f.1.clone()).collect();
                refs.sort();
                Identification::One {
                    insurer: insurers.remove(0),
                    person_ref: refs.join(","),
                }
            } else {
                Identification::Several(insurers)
            }
        }
    })
}

/// The registered ratio on the claim's first day differs from what was
/// charged, for a patient of 70 or over or in 後期 (notice §2(2) ※).
fn ratio_difference(c: &Claim, q: &QualificationRow) -> Option<RatioDifference> {
    let on = c.visit_dates[0];
    let kouki = q.qualification.numbers.insurer_number.is_kouki();
    if !kouki && age_on(c.patient.birth_date, on) < 70 {
        return None;
    }
    let registered = ratio_on(
        c.patient.birth_date,
        kouki,
        q.qualification.burden_ratio,
        on,
    )?;
    if registered.percent() == c.burden_ratio_percent {
        return None;
    }
    let due = window_amount(c.points, registered);
    Some(RatioDifference {
        insurer: q.qualification.numbers.insurer_number.to_string(),
        institution_code: c.institution_code.clone(),
        claim_month: c.claim_month.clone(),
        claim_id: c.claim_id.clone(),
        patient_name: c.patient.name.clone(),
        charged_percent: c.burden_ratio_percent,
        registered_percent: registered.percent(),
        paid_yen: c.patient_paid_yen,
        due_yen: due,
        difference_yen: due as i64 - c.patient_paid_yen as i64,
    })
}

fn months_between(a: &str, b: &str) -> Option<i32> {
    let p = |s: &str| NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok();
    let (a, b) = (p(a)?, p(b)?);
    Some((b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32)
}

/// The end of the month after `as_of`: how long the run holds a 不詳 claim
/// it cannot settle yet [D] (the next month's run takes it up again).
pub fn held_until(as_of: NaiveDate) -> NaiveDate {
    let first = as_of.with_day(1).unwrap_or(as_of);
    first
        .checked_add_months(chrono::Months::new(2))
        .and_then(|d| d.pred_opt())
        .unwrap_or(as_of)
}

/// The month `back` months before `month` (YYYY-MM).
fn month_back(month: &str, back: u32) -> Option<String> {
    let d = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    Some(
        d.checked_sub_months(chrono::Months::new(back))?
            .format("%Y-%m")
            .to_string(),
    )
}

/// Runs the payer side over `claims` (each with its source label) against
/// the registry, the stored payment record and the 照会 answers as they
/// stand.
pub fn run(
    store: &dyn Store,
    as_of: NaiveDate,
    claims: Vec<ClaimInput>,
    policy: Policy,
) -> Result<RunOutcome, StoreError> {
    let mut out = RunOutcome::default();
    out.summary.as_of = as_of.to_string();
    // Deterministic order: by institution, month, claim id, then source.
    let mut claims = claims;
    claims.sort_by(|a, b| {
        let key = |x: &ClaimInput| match &x.1 {
            Ok(c) => (
                c.institution_code.clone(),
                c.claim_month.clone(),
                c.claim_id.clone(),
                x.0.clone(),
            ),
            Err(_) => (String::new(), String::new(), String::new(), x.0.clone()),
        };
        key(a).cmp(&key(b))
    });
    // (institution, payer, month, insurer) → yen decided to that insurer.
    let mut paid: BTreeMap<(String, Payer, String, String), u64> = BTreeMap::new();
    let mut unknown: Vec<(usize, Claim)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    // The claims of this input: their stored record (an earlier run of the
    // same claims) is replaced by what this run decides, not added to it.
    let input_keys: std::collections::BTreeSet<(String, String, String)> = claims
        .iter()
        .filter_map(|c| c.1.as_ref().ok())
        .map(|c| {
            (
                c.institution_code.clone(),
                c.claim_month.clone(),
                c.claim_id.clone(),
            )
        })
        .collect();
    let until = held_until(as_of).to_string();
    for (source, parsed) in claims {
        out.summary.claims += 1;
        let claim = match parsed {
            Ok(c) => c,
            Err(problem) => {
                out.report.push(ClaimReport {
                    payer: String::new(),
                    institution_code: String::new(),
                    claim_month: String::new(),
                    claim_id: String::new(),
                    source,
                    claimed_yen: 0,
                    fate: Fate::Rejected { problem },
                });
                continue;
            }
        };
        let key = (
            claim.institution_code.clone(),
            claim.claim_month.clone(),
            claim.claim_id.clone(),
        );
        let fate = if !seen.insert(key) {
            Some(Fate::Rejected {
                problem: ClaimProblem {
                    code: "duplicate_claim".into(),
                    field: "claim_id".into(),
                    message: "同じ医療機関・診療年月・レセプト番号の請求が重複しています".into(),
                },
            })
        } else if claim.is_unknown() {
            None
        } else {
            Some(transfer(
                store,
                &claim,
                policy,
                &mut paid,
                &mut out.ratio_differences,
            )?)
        };
        let claimed = claim.claimed_yen();
        out.report.push(ClaimReport {
            payer: payer_name(claim.payer).to_owned(),
            institution_code: claim.institution_code.clone(),
            claim_month: claim.claim_month.clone(),
            claim_id: claim.claim_id.clone(),
            source,
            claimed_yen: claimed,
            fate: fate.clone().unwrap_or(Fate::Unapportionable {
                held_until: until.clone(),
                reason: String::new(),
            }),
        });
        if fate.is_none() {
            unknown.push((out.report.len() - 1, claim));
        }
    }
    // 不詳: identify, else apportion against the payment record.
    let mut to_share: Vec<(usize, Claim)> = Vec::new();
    for (i, c) in unknown {
        let fate = match identify(store, &c)? {
            Identification::One {
                insurer,
                person_ref,
            } => {
                *paid
                    .entry((
                        c.institution_code.clone(),
                        c.payer,
                        c.claim_month.clone(),
                        insurer.clone(),
                    ))
                    .or_default() += c.claimed_yen();
                Fate::Identified {
                    insurer,
                    person_ref,
                }
            }
            Identification::Several(candidates) => {
                let answers: Vec<InquiryAnswer> = store
                    .inquiry_answers(&c.institution_code, &c.claim_month, &c.claim_id)?
                    .into_iter()
                    .filter(|a| candidates.contains(&a.insurer))
                    .map(|a| InquiryAnswer {
                        insurer: a.insurer,
                        matches: a.matches,
                        by: a.by,
                        at: a.at,
                    })
                    .collect();
                let yes: Vec<&InquiryAnswer> = answers.iter().filter(|a| a.matches).collect();
                if let [one] = yes.as_slice() {
                    let insurer = one.insurer.clone();
                    *paid
                        .entry((
                            c.institution_code.clone(),
                            c.payer,
                            c.claim_month.clone(),
                            insurer.clone(),
                        ))
                        .or_default() += c.claimed_yen();
                    Fate::Identified {
                        insurer,
                        person_ref: String::new(),
                    }
                } else if yes.is_empty()
                    && candidates
                        .iter()
                        .all(|k| answers.iter().any(|a| &a.insurer == k && !a.matches))
                {
                    // Every candidate answered 非該当: nobody is found.
                    to_share.push((i, c));
                    continue;
                } else {
                    Fate::PendingInquiry {
                        candidates,
                        answers,
                        held_until: until.clone(),
                    }
                }
            }
            Identification::None => {
                to_share.push((i, c));
                continue;
            }
        };
        out.report[i].fate = fate;
    }
    // The stored record read once per institution, payer and claim month,
    // over the widest window used.
    let widest = policy.reference_months.max(12);
    let mut stored: BTreeMap<(String, Payer, String), Vec<onshi_store::PaymentRow>> =
        BTreeMap::new();
    for (i, c) in to_share {
        let key = (c.institution_code.clone(), c.payer, c.claim_month.clone());
        if !stored.contains_key(&key) {
            let from = month_back(&c.claim_month, widest - 1).unwrap_or_default();
            let rows = store
                .payment_record(&c.institution_code, c.payer, &from, &c.claim_month)?
                .into_iter()
                .filter(|r| {
                    !input_keys.contains(&(
                        r.institution_code.clone(),
                        r.claim_month.clone(),
                        r.claim_id.clone(),
                    ))
                })
                .collect();
            stored.insert(key.clone(), rows);
        }
        let mut windows = vec![policy.reference_months.max(1)];
        windows.extend(
            [3, 6, 12]
                .into_iter()
                .filter(|w| *w > policy.reference_months.max(1)),
        );
        let mut decided = None;
        for months in windows {
            let mut weights: BTreeMap<String, u64> = BTreeMap::new();
            // This run's decisions: a range of `paid`, not a pass over every
            // institution's for each claim.
            let from = (
                c.institution_code.clone(),
                c.payer,
                String::new(),
                String::new(),
            );
            for ((inst, payer, month, insurer), yen) in paid.range(from..) {
                if *inst != c.institution_code || *payer != c.payer {
                    break;
                }
                let back = months_between(month, &c.claim_month);
                if back.is_some_and(|b| (0..months as i32).contains(&b)) {
                    *weights.entry(insurer.clone()).or_default() += yen;
                }
            }
            for r in stored.get(&key).into_iter().flatten() {
                let back = months_between(&r.claim_month, &c.claim_month);
                if back.is_some_and(|b| (0..months as i32).contains(&b)) {
                    let w = weights.entry(r.insurer.clone()).or_default();
                    *w = w.saturating_add(r.yen);
                }
            }
            let w: Vec<(String, u64)> = weights.into_iter().collect();
            if let Some(shares) = largest_remainder(c.claimed_yen(), &w) {
                decided = Some(Fate::Apportioned {
                    shares: shares
                        .into_iter()
                        .filter(|s| s.1 > 0)
                        .map(|(insurer, yen)| Share { insurer, yen })
                        .collect(),
                    reference: format!(
                        "{}まで{}か月の{}への支払実績",
                        c.claim_month, months, c.institution_code
                    ),
                });
                break;
            }
        }
        out.report[i].fate = decided.unwrap_or(Fate::Unapportionable {
            held_until: until.clone(),
            reason: format!(
                "{}の{}か月以内に{}と保険者との支払実績がないため按分できません",
                c.claim_month, widest, c.institution_code
            ),
        });
    }
    for r in &out.report {
        let reason = match &r.fate {
            Fate::PendingInquiry { held_until, .. } => {
                Some(("照会中（複数の候補保険者）", held_until))
            }
            Fate::Unapportionable { held_until, .. } => {
                Some(("按分の基礎となる支払実績なし", held_until))
            }
            _ => None,
        };
        if let Some((why, until)) = reason {
            out.holds.push(Hold {
                institution_code: r.institution_code.clone(),
                claim_month: r.claim_month.clone(),
                claim_id: r.claim_id.clone(),
                reason: why.into(),
                held_until: until.clone(),
            });
        }
    }
    tally(&mut out);
    Ok(out)
}

/// 振替: the written qualification, per visit date.
fn transfer(
    store: &dyn Store,
    c: &Claim,
    policy: Policy,
    paid: &mut BTreeMap<(String, Payer, String, String), u64>,
    diffs: &mut Vec<RatioDifference>,
) -> Result<Fate, StoreError> {
    let written = c.insurer.insurer_number.clone();
    let rows = written_rows(store, c)?;
    let mut credit = |insurer: &str, yen: u64| {
        *paid
            .entry((
                c.institution_code.clone(),
                c.payer,
                c.claim_month.clone(),
                insurer.to_owned(),
            ))
            .or_default() += yen;
    };
    if rows.is_empty() {
        return Ok(Fate::Returned {
            reason: "記載の記号・番号・生年月日に該当する資格が登録されていません".into(),
        });
    }
    if c.visit_dates.iter().all(|d| valid_on(&rows, *d).is_some()) {
        if let Some(q) = valid_on(&rows, c.visit_dates[0]) {
            diffs.extend(ratio_difference(c, q));
        }
        credit(&written, c.claimed_yen());
        return Ok(Fate::Billed {
            insurer: written,
            confirmation: "02".into(),
        });
    }
    let person = rows[0].person_id;
    let all = store.visible_qualifications_of(person)?;
    let mut days: BTreeMap<String, u64> = BTreeMap::new();
    for d in &c.visit_dates {
        match valid_on(&all, *d) {
            Some(q) => {
                *days
                    .entry(q.qualification.numbers.insurer_number.to_string())
                    .or_default() += 1
            }
            None if policy.bill_written_when_unregistered => {
                *days.entry(written.clone()).or_default() += 1
            }
            None => {
                return Ok(Fate::Returned {
                    reason: format!("{d}に有効な資格が登録されていません（記載の資格は喪失済み）"),
                });
            }
        }
    }
    if let Some(q) = valid_on(&all, c.visit_dates[0]) {
        diffs.extend(ratio_difference(c, q));
    }
    if days.len() == 1 {
        let to = days.keys().next().cloned().unwrap_or_default();
        credit(&to, c.claimed_yen());
        if to == written {
            return Ok(Fate::Billed {
                insurer: written,
                confirmation: "06".into(),
            });
        }
        return Ok(Fate::Transferred { from: written, to });
    }
    let w: Vec<(String, u64)> = days.into_iter().collect();
    let shares = largest_remainder(c.claimed_yen(), &w).unwrap_or_default();
    for (insurer, yen) in &shares {
        credit(insurer, *yen);
    }
    Ok(Fate::Split {
        from: written,
        shares: shares
            .into_iter()
            .map(|(insurer, yen)| Share { insurer, yen })
            .collect(),
    })
}

fn tally(out: &mut RunOutcome) {
    let mut bills: BTreeMap<(String, String), Bill> = BTreeMap::new();
    let mut add = |payer: &str, insurer: &str, yen: u64, apportioned: bool, whole: bool| {
        let b = bills
            .entry((payer.to_owned(), insurer.to_owned()))
            .or_insert_with(|| Bill {
                payer: payer.to_owned(),
                insurer: insurer.to_owned(),
                ..Bill::default()
            });
        if whole {
            b.claims += 1;
        }
        if apportioned {
            b.apportioned_yen += yen
        } else {
            b.claimed_yen += yen
        }
        b.total_yen += yen;
    };
    let s = &mut out.summary;
    for r in &out.report {
        s.total_claimed_yen += r.claimed_yen;
        match &r.fate {
            Fate::Rejected { .. } => s.rejected += 1,
            Fate::Billed { insurer, .. } => {
                s.billed += 1;
                add(&r.payer, insurer, r.claimed_yen, false, true);
            }
            Fate::Transferred { to, .. } => {
                s.transferred += 1;
                add(&r.payer, to, r.claimed_yen, false, true);
            }
            Fate::Split { shares, .. } => {
                s.split += 1;
                for sh in shares {
                    add(&r.payer, &sh.insurer, sh.yen, false, false);
                }
            }
            Fate::Returned { .. } => s.returned += 1,
            Fate::Identified { insurer, .. } => {
                s.identified += 1;
                add(&r.payer, insurer, r.claimed_yen, false, true);
            }
            Fate::PendingInquiry { .. } => s.pending_inquiry += 1,
            Fate::Apportioned { shares, .. } => {
                s.apportioned += 1;
                for sh in shares {
                    add(&r.payer, &sh.insurer, sh.yen, true, false);
                }
            }
            Fate::Unapportionable { .. } => s.unapportionable += 1,
        }
    }
    s.ratio_differences = out.ratio_differences.len() as u64;
    out.bills = bills.into_values().collect();
    s.total_billed_yen = out.bills.iter().map(|b| b.total_yen).sum();
}
