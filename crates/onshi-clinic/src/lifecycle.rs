//! The institution's claims as stored records with a life (notice §3–§5,
//! 別添1). A claim is created 作成中 from the month's visits and rebuilt from
//! them while it is editable; 確定 freezes it; 提出 sends the month's
//! confirmed claims to a payer in one recorded submission (a UKE file or
//! JSON Lines); the payer's decision comes back as 支払済 / 返戻 / 振替済 /
//! 特定済 / 按分済 / 保留; after a 返戻 or 取下げ a 再請求 version follows,
//! linked to the old one. The states and their rules are
//! `onshi_core::claim_life`'s; every change is a new version with who, when,
//! why and the rule.
//!
//! A fact that arrives after 確定 (a re-check, a failure-mode pick, numbers
//! learned by 聞き取り) never rewrites the frozen version: [`sync_month`]
//! opens a proposed correction, which the clerk accepts ([`decide_proposal`]:
//! a new version, or 取下げ and 再請求 once submitted) or dismisses, with the
//! reason recorded.
//!
//! Each workflow is one function here and one store transaction
//! (`ClaimStore::apply_claim_changes`, guarded by the version it read, so a
//! concurrent change refuses it whole). The visit changes that bring facts
//! call [`sync_month`] after their own write; a crash between the two is
//! mended by the next sync, which derives everything from the visits again.

use chrono::{DateTime, NaiveDate, Utc};
use onshi_core::claim_life::{
    ClaimEvent, ClaimState, PayerDecision, TransitionRefused, transition,
};
use onshi_core::{InstitutionCode, Payer};
use onshi_registry::RegistryError;
use onshi_store::{
    ChangeMeta, ClaimChange, ClaimRow, NewSubmission, ProposalStatus, Store, StoreError,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::claims::{ClaimOptions, ClaimRecord, NotReady, build_month, first_of};
use crate::visit::ClinicError;

/// A stored claim as the desk sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClaimView {
    pub id: i64,
    /// The レセプト's id in files and at the payer (the stored id).
    pub claim_id: String,
    pub claim_month: String,
    pub patient_key: String,
    pub version: i64,
    #[schema(value_type = String)]
    pub state: ClaimState,
    pub state_label: String,
    pub record: ClaimRecord,
    /// The open proposed correction, if any.
    pub open_proposal: Option<ProposalView>,
    pub updated_at: String,
}

/// One version of a claim.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VersionView {
    pub version: i64,
    #[schema(value_type = String)]
    pub state: ClaimState,
    pub state_label: String,
    pub record: ClaimRecord,
    pub at: String,
    pub actor: String,
    pub reason: String,
    pub rule: String,
    pub submission_id: Option<i64>,
    pub payer_run_id: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub payer_detail: Option<serde_json::Value>,
    pub previous_version: Option<i64>,
}

/// A proposed correction of a frozen claim.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProposalView {
    pub id: i64,
    pub claim_id: i64,
    pub based_on_version: i64,
    pub record: ClaimRecord,
    pub reason: String,
    /// What would change, one line a field, in Japanese.
    pub changes: Vec<String>,
    /// `open`, `accepted` or `dismissed`.
    #[schema(value_type = String)]
    pub status: ProposalStatus,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
}

/// A claim with its whole history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClaimDetail {
    pub claim: ClaimView,
    pub versions: Vec<VersionView>,
    pub proposals: Vec<ProposalView>,
}

/// The month at the desk: its stored claims and the visits not ready.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MonthView {
    pub month: String,
    pub claims: Vec<ClaimView>,
    pub not_ready: Vec<NotReady>,
}

/// A recorded submission.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SubmissionView {
    pub id: i64,
    pub institution_code: String,
    pub claim_month: String,
    #[schema(value_type = String)]
    pub payer: Payer,
    pub format: String,
    pub digest: String,
    pub bytes: i64,
    pub claims: i64,
    pub at: String,
    pub actor: String,
}

impl From<onshi_store::SubmissionRow> for SubmissionView {
    fn from(s: onshi_store::SubmissionRow) -> Self {
        SubmissionView {
            id: s.id,
            institution_code: s.institution.to_string(),
            claim_month: s.claim_month,
            payer: s.payer,
            format: s.format,
            digest: s.digest,
            bytes: s.bytes,
            claims: s.claims,
            at: s.at,
            actor: s.actor,
        }
    }
}

/// The format of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionFormat {
    /// The electronic claim file RECEIPTC.UKE (CP932).
    Uke,
    /// JSON Lines, one claim document a line (the API).
    Jsonl,
}

impl SubmissionFormat {
    pub fn code(self) -> &'static str {
        match self {
            Self::Uke => "uke",
            Self::Jsonl => "jsonl",
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> ClinicError {
    ClinicError::Corrupt(e.to_string())
}

fn record_of(v: &serde_json::Value) -> Result<ClaimRecord, ClinicError> {
    serde_json::from_value(v.clone()).map_err(corrupt)
}

fn json_of(r: &ClaimRecord) -> Result<serde_json::Value, ClinicError> {
    serde_json::to_value(r).map_err(corrupt)
}

fn month_text(month: NaiveDate) -> String {
    first_of(month).format("%Y-%m").to_string()
}

fn meta(now: DateTime<Utc>, actor: &str, reason: &str, rule: &str) -> ChangeMeta {
    ChangeMeta {
        at: now.to_rfc3339(),
        actor: actor.to_owned(),
        reason: reason.to_owned(),
        rule: rule.to_owned(),
        ..ChangeMeta::default()
    }
}

fn refused(e: TransitionRefused) -> ClinicError {
    ClinicError::Transition(e)
}

/// A reason the clerk must give (a decision, a 取下げ): at most 200
/// characters, no control or invisible ones, not empty.
fn required_reason(reason: &str) -> Result<String, ClinicError> {
    let reason = onshi_core::error::clean_text("reason", reason, 200)?;
    if reason.is_empty() {
        return Err(RegistryError::Missing("reason").into());
    }
    Ok(reason)
}

/// The lines that differ between two records, in Japanese.
pub fn changes_between(old: &ClaimRecord, new: &ClaimRecord) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = |label: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{label}: {a} → {b}"));
        }
    };
    let numbers = |r: &ClaimRecord| {
        format!(
            "{} {} {} {}",
            r.insurer.insurer_number,
            r.insurer.symbol.as_deref().unwrap_or("-"),
            r.insurer.number,
            r.insurer.branch.as_deref().unwrap_or("-")
        )
    };
    line("保険者・記号・番号・枝番", numbers(old), numbers(new));
    line(
        "保険者情報の根拠",
        old.insurer_rank.label().to_owned(),
        new.insurer_rank.label().to_owned(),
    );
    line(
        "情報源",
        old.insurer_source.map_or("-", |s| s.label()).to_owned(),
        new.insurer_source.map_or("-", |s| s.label()).to_owned(),
    );
    line("氏名", old.patient.name.clone(), new.patient.name.clone());
    line(
        "カナ氏名",
        old.patient.kana.clone().unwrap_or_default(),
        new.patient.kana.clone().unwrap_or_default(),
    );
    line(
        "生年月日",
        old.patient.birth_date.to_string(),
        new.patient.birth_date.to_string(),
    );
    line(
        "性別",
        old.patient.sex.kanji().to_owned(),
        new.patient.sex.kanji().to_owned(),
    );
    line(
        "審査支払機関",
        format!("{:?}", old.payer),
        format!("{:?}", new.payer),
    );
    line(
        "負担割合",
        format!("{}%", old.burden_ratio_percent),
        format!("{}%", new.burden_ratio_percent),
    );
    line("点数", old.points.to_string(), new.points.to_string());
    line(
        "一部負担金",
        old.patient_paid_yen.to_string(),
        new.patient_paid_yen.to_string(),
    );
    line(
        "診療日",
        format!("{:?}", old.visit_dates),
        format!("{:?}", new.visit_dates),
    );
    line("摘要", old.tekiyo.join("／"), new.tekiyo.join("／"));
    if out.is_empty() && old != new {
        out.push("その他の項目".into());
    }
    out
}

/// Keeps a rebuilt record from going down the notice's order: when the
/// rebuilt insurer fields rest on a lower-ranked fact than the current ones,
/// the current insurer fields stay (notice §3; the invariant).
pub fn never_lower(current: &ClaimRecord, mut built: ClaimRecord) -> ClaimRecord {
    if built.insurer_rank < current.insurer_rank {
        built.insurer = current.insurer.clone();
        built.insurer_rank = current.insurer_rank;
        built.insurer_source = current.insurer_source;
        built.payer = current.payer;
        built.tekiyo = current.tekiyo.clone();
    }
    built
}

/// Why an open proposal of a claim that became editable again is closed.
const STALE_PROPOSAL: &str = "作成中・再請求の請求は受診記録から作り直すため不要";

/// A stored claim as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub id: i64,
    pub version: i64,
    pub state: ClaimState,
    pub record: ClaimRecord,
    /// The open proposal (id and record), if any.
    pub open: Option<(i64, ClaimRecord)>,
    /// What the clerk dismissed on this version (the latest): the same
    /// correction is not proposed again.
    pub dismissed: Option<ClaimRecord>,
}

/// What a sync does, as a pure plan (tested by property in
/// `tests/lifecycle_props.rs`): a new claim for a new patient; a rebuilt
/// version of an editable claim whose record changed; for a frozen claim a
/// proposal (replacing an older open one), never a new version.
pub fn plan_sync(
    current: &[Current],
    built: &[ClaimRecord],
    month: &str,
    m: &ChangeMeta,
) -> Result<Vec<ClaimChange>, ClinicError> {
    let mut out = Vec::new();
    for b in built {
        let Some(c) = current
            .iter()
            .find(|c| c.record.patient_key == b.patient_key)
        else {
            out.push(ClaimChange::Create {
                claim_month: month.to_owned(),
                patient_key: b.patient_key.clone(),
                state: ClaimState::Draft,
                record: json_of(b)?,
                meta: ChangeMeta {
                    reason: "受診記録から作成".into(),
                    rule: "月の受診記録から患者ごとに請求を作成する（保発0710第1号 3）".into(),
                    ..m.clone()
                },
            });
            continue;
        };
        let b = never_lower(&c.record, b.clone());
        if c.state.is_editable() {
            // An editable claim is rebuilt from the facts themselves: a
            // proposal left from its frozen days has nothing left to decide.
            if let Some((pid, _)) = &c.open {
                out.push(ClaimChange::DecideProposal {
                    proposal_id: *pid,
                    accepted: false,
                    by: m.actor.clone(),
                    reason: STALE_PROPOSAL.into(),
                    at: m.at.clone(),
                });
            }
        }
        if b == c.record {
            continue;
        }
        if c.state.is_editable() {
            let t = transition(c.state, ClaimEvent::Rebuild).map_err(refused)?;
            out.push(ClaimChange::Version {
                claim_id: c.id,
                expected_version: c.version,
                state: t.to,
                record: json_of(&b)?,
                meta: ChangeMeta {
                    reason: changes_between(&c.record, &b).join("; "),
                    rule: t.rule.into(),
                    ..m.clone()
                },
                carried_by_submission: false,
            });
        } else {
            if c.open.as_ref().is_some_and(|(_, r)| *r == b) || c.dismissed.as_ref() == Some(&b) {
                continue;
            }
            if let Some((pid, _)) = &c.open {
                out.push(ClaimChange::DecideProposal {
                    proposal_id: *pid,
                    accepted: false,
                    by: m.actor.clone(),
                    reason: "新しい事実による訂正案に置き換え".into(),
                    at: m.at.clone(),
                });
            }
            out.push(ClaimChange::Propose {
                claim_id: c.id,
                based_on_version: c.version,
                record: json_of(&b)?,
                reason: format!(
                    "{}の後に判明した事実: {}",
                    c.state.label(),
                    changes_between(&c.record, &b).join("; ")
                ),
                at: m.at.clone(),
            });
        }
    }
    Ok(out)
}

fn currents(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: &str,
) -> Result<Vec<Current>, ClinicError> {
    let proposals = store.claim_proposals(inst, month)?;
    store
        .claims_of_month(inst, month)?
        .into_iter()
        .map(|row| {
            let open = proposals
                .iter()
                .rev()
                .find(|p| p.claim_id == row.id && p.status == ProposalStatus::Open)
                .map(|p| Ok::<_, ClinicError>((p.id, record_of(&p.record)?)))
                .transpose()?;
            let dismissed = proposals
                .iter()
                .rev()
                .find(|p| {
                    p.claim_id == row.id
                        && p.status == ProposalStatus::Dismissed
                        && p.based_on_version == row.version
                        && p.reason != STALE_PROPOSAL
                })
                .map(|p| record_of(&p.record))
                .transpose()?;
            Ok(Current {
                id: row.id,
                version: row.version,
                state: row.state,
                record: record_of(&row.record)?,
                open,
                dismissed,
            })
        })
        .collect()
}

fn apply(
    store: &dyn Store,
    inst: &InstitutionCode,
    submission: Option<&NewSubmission>,
    changes: &[ClaimChange],
) -> Result<Option<i64>, ClinicError> {
    if changes.is_empty() && submission.is_none() {
        return Ok(None);
    }
    match store.apply_claim_changes(inst, submission, changes) {
        Ok((_, s)) => Ok(s),
        Err(StoreError::Conflict(_)) => Err(ClinicError::ClaimChanged),
        Err(e) => Err(e.into()),
    }
}

/// The choices the month's stored claims were built with (the defaults when
/// it has none): a rebuild that does not name its options keeps them.
pub fn month_options(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
) -> Result<ClaimOptions, ClinicError> {
    Ok(store
        .claims_of_month(inst, &month_text(month))?
        .first()
        .map(|r| record_of(&r.record))
        .transpose()?
        .map(|r| r.options)
        .unwrap_or_default())
}

/// Creates and rebuilds the month's claims from its visits and opens
/// proposed corrections on the frozen ones (see [`plan_sync`]).
pub fn sync_month(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
    opts: ClaimOptions,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<MonthView, ClinicError> {
    let text = month_text(month);
    let built = build_month(store, inst, month, opts)?;
    let current = currents(store, inst, &text)?;
    let plan = plan_sync(&current, &built.records, &text, &meta(now, actor, "", ""))?;
    apply(store, inst, None, &plan)?;
    month_view_with(store, inst, month, built.not_ready)
}

fn proposal_view(
    p: &onshi_store::ProposalRow,
    base: Option<&ClaimRecord>,
) -> Result<ProposalView, ClinicError> {
    let record = record_of(&p.record)?;
    Ok(ProposalView {
        id: p.id,
        claim_id: p.claim_id,
        based_on_version: p.based_on_version,
        changes: base
            .map(|b| changes_between(b, &record))
            .unwrap_or_default(),
        record,
        reason: p.reason.clone(),
        status: p.status,
        created_at: p.created_at.clone(),
        decided_at: p.decided_at.clone(),
        decided_by: p.decided_by.clone(),
        decision_reason: p.decision_reason.clone(),
    })
}

fn claim_view(
    row: ClaimRow,
    proposals: &[onshi_store::ProposalRow],
) -> Result<ClaimView, ClinicError> {
    let record = record_of(&row.record)?;
    let open = proposals
        .iter()
        .rev()
        .find(|p| p.claim_id == row.id && p.status == ProposalStatus::Open)
        .map(|p| proposal_view(p, Some(&record)))
        .transpose()?;
    Ok(ClaimView {
        id: row.id,
        claim_id: row.id.to_string(),
        claim_month: row.claim_month,
        patient_key: row.patient_key,
        version: row.version,
        state: row.state,
        state_label: row.state.label().into(),
        record,
        open_proposal: open,
        updated_at: row.updated_at,
    })
}

fn month_view_with(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
    not_ready: Vec<NotReady>,
) -> Result<MonthView, ClinicError> {
    let text = month_text(month);
    let proposals = store.claim_proposals(inst, &text)?;
    let claims = store
        .claims_of_month(inst, &text)?
        .into_iter()
        .map(|r| claim_view(r, &proposals))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MonthView {
        month: text,
        claims,
        not_ready,
    })
}

/// The month's stored claims, and (from the visits as they stand) what is
/// not ready to be claimed. Reads only.
pub fn month_view(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
    opts: ClaimOptions,
) -> Result<MonthView, ClinicError> {
    let built = build_month(store, inst, month, opts)?;
    month_view_with(store, inst, month, built.not_ready)
}

/// One claim with every version and proposal.
pub fn claim_detail(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
) -> Result<ClaimDetail, ClinicError> {
    let row = store.claim(inst, id)?.ok_or(RegistryError::NotFound)?;
    let proposals = store.claim_proposals(inst, &row.claim_month)?;
    let versions = store
        .claim_versions(inst, id)?
        .into_iter()
        .map(|v| {
            Ok(VersionView {
                version: v.version,
                state: v.state,
                state_label: v.state.label().into(),
                record: record_of(&v.record)?,
                at: v.meta.at,
                actor: v.meta.actor,
                reason: v.meta.reason,
                rule: v.meta.rule,
                submission_id: v.meta.submission_id,
                payer_run_id: v.meta.payer_run_id,
                payer_detail: v.meta.payer_detail,
                previous_version: v.meta.previous_version,
            })
        })
        .collect::<Result<Vec<_>, ClinicError>>()?;
    let mine: Vec<_> = proposals
        .iter()
        .filter(|p| p.claim_id == id)
        .cloned()
        .collect();
    let claim = claim_view(row, &mine)?;
    let proposals = mine
        .iter()
        .map(|p| {
            let base = versions
                .iter()
                .find(|v| v.version == p.based_on_version)
                .map(|v| &v.record);
            proposal_view(p, base)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ClaimDetail {
        claim,
        versions,
        proposals,
    })
}

fn one_step(
    row: &ClaimRow,
    event: ClaimEvent,
    record: &ClaimRecord,
    m: &ChangeMeta,
    version_offset: i64,
) -> Result<ClaimChange, ClinicError> {
    let state = if version_offset == 0 {
        row.state
    } else {
        // A second step in the same batch starts from the first's state.
        match event {
            ClaimEvent::Reclaim => ClaimState::Withdrawn,
            _ => row.state,
        }
    };
    let t = transition(state, event).map_err(refused)?;
    Ok(ClaimChange::Version {
        claim_id: row.id,
        expected_version: row.version + version_offset,
        state: t.to,
        record: json_of(record)?,
        meta: ChangeMeta {
            rule: t.rule.into(),
            ..m.clone()
        },
        carried_by_submission: event == ClaimEvent::Submit,
    })
}

/// 確定: freezes the given claims (all editable claims of the month when
/// `ids` is empty). A claim not editable is refused and nothing changes.
pub fn confirm(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
    ids: &[i64],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<MonthView, ClinicError> {
    let text = month_text(month);
    let rows = store.claims_of_month(inst, &text)?;
    let m = meta(now, actor, "請求内容を確定", "");
    let mut changes = Vec::new();
    for row in &rows {
        let chosen = if ids.is_empty() {
            row.state.is_editable()
        } else {
            ids.contains(&row.id)
        };
        if chosen {
            changes.push(one_step(
                row,
                ClaimEvent::Confirm,
                &record_of(&row.record)?,
                &m,
                0,
            )?);
        }
    }
    if let Some(missing) = ids.iter().find(|i| !rows.iter().any(|r| r.id == **i)) {
        return Err(ClinicError::ClaimNotInMonth(*missing));
    }
    if changes.is_empty() {
        return Err(ClinicError::NothingToDo(
            "確定できる作成中の請求がありません",
        ));
    }
    apply(store, inst, None, &changes)?;
    month_view(store, inst, month, ClaimOptions::default())
}

/// 提出: the month's 確定 claims for `payer` go out in one submission (the
/// UKE file or JSON Lines, stored with its digest), each claim a 提出済
/// version linked to it, in one transaction.
#[allow(clippy::too_many_arguments)]
pub fn submit(
    store: &dyn Store,
    inst: &InstitutionCode,
    month: NaiveDate,
    payer: Payer,
    format: SubmissionFormat,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<SubmissionView, ClinicError> {
    let text = month_text(month);
    let rows: Vec<ClaimRow> = store
        .claims_of_month(inst, &text)?
        .into_iter()
        .filter(|r| r.state == ClaimState::Confirmed)
        .collect();
    let mut chosen = Vec::new();
    for r in rows {
        let rec = record_of(&r.record)?;
        if rec.payer == payer {
            chosen.push((r, rec));
        }
    }
    if chosen.is_empty() {
        return Err(ClinicError::NothingToDo(
            "提出できる確定済の請求がありません",
        ));
    }
    let docs: Vec<_> = chosen
        .iter()
        .map(|(r, rec)| rec.to_claim(&r.id.to_string()))
        .collect();
    let body = match format {
        SubmissionFormat::Jsonl => {
            let mut b = Vec::new();
            for d in &docs {
                b.extend(serde_json::to_vec(d).map_err(corrupt)?);
                b.push(b'\n');
            }
            b
        }
        SubmissionFormat::Uke => {
            let row = store.institution(inst)?.ok_or(RegistryError::NotFound)?;
            let billing = first_of(month)
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(month);
            onshi_uke::write_uke(
                &onshi_uke::UkeInstitution {
                    payer,
                    institution_code: inst.to_string(),
                    name: row.name,
                    phone: row.phone,
                    billing_month: billing,
                },
                &docs,
            )
            .map_err(|e| ClinicError::File {
                code: e.code(),
                message: e.to_string(),
            })?
        }
    };
    let m = meta(now, actor, "審査支払機関へ提出", "");
    let changes = chosen
        .iter()
        .map(|(r, rec)| one_step(r, ClaimEvent::Submit, rec, &m, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let sub = NewSubmission {
        claim_month: text,
        payer,
        format: format.code().into(),
        body,
        claims: docs.len() as i64,
        at: now.to_rfc3339(),
        actor: actor.into(),
    };
    let id = apply(store, inst, Some(&sub), &changes)?.ok_or(ClinicError::ClaimChanged)?;
    let (row, _) = store.submission(id)?.ok_or(RegistryError::NotFound)?;
    Ok(row.into())
}

/// Accepts or dismisses the claim's open proposed correction (a claim has at
/// most one: a newer fact replaces the older proposal), with the reason;
/// `proposal_id`, when given, must be that open one (the clerk decides what
/// they saw, not a proposal that replaced it meanwhile). Accepting
/// makes the proposal the claim's next version: in place while 確定; as
/// 取下げ then 再請求 once submitted (提出済, 保留); as 再請求 after a 返戻 or
/// 取下げ. A claim the payer has decided (支払済, 振替済, 特定済, 按分済) takes no
/// correction: the proposal can only be dismissed.
#[allow(clippy::too_many_arguments)]
pub fn decide_proposal(
    store: &dyn Store,
    inst: &InstitutionCode,
    claim_id: i64,
    proposal_id: Option<i64>,
    accept: bool,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ClaimDetail, ClinicError> {
    let reason = required_reason(reason)?;
    let row = store
        .claim(inst, claim_id)?
        .ok_or(RegistryError::NotFound)?;
    let p = store
        .claim_proposals(inst, &row.claim_month)?
        .into_iter()
        .rev()
        .find(|p| p.claim_id == claim_id && p.status == ProposalStatus::Open)
        .ok_or(ClinicError::ProposalNotOpen)?;
    if proposal_id.is_some_and(|id| id != p.id) {
        return Err(ClinicError::ProposalNotOpen);
    }
    let proposal_id = p.id;
    let mut changes = vec![ClaimChange::DecideProposal {
        proposal_id,
        accepted: accept,
        by: actor.into(),
        reason: reason.clone(),
        at: now.to_rfc3339(),
    }];
    if accept {
        let proposed = record_of(&p.record)?;
        let current = record_of(&row.record)?;
        let proposed = never_lower(&current, proposed);
        let m = meta(
            now,
            actor,
            &format!("訂正案{proposal_id}を承認: {reason}"),
            "",
        );
        match row.state {
            ClaimState::Confirmed => {
                changes.push(one_step(
                    &row,
                    ClaimEvent::AcceptCorrection,
                    &proposed,
                    &m,
                    0,
                )?);
            }
            ClaimState::Submitted | ClaimState::Held => {
                changes.push(one_step(&row, ClaimEvent::Withdraw, &current, &m, 0)?);
                let mut second = one_step(&row, ClaimEvent::Reclaim, &proposed, &m, 1)?;
                if let ClaimChange::Version { meta, .. } = &mut second {
                    meta.previous_version = Some(row.version);
                }
                changes.push(second);
            }
            ClaimState::Returned | ClaimState::Withdrawn => {
                let mut c = one_step(&row, ClaimEvent::Reclaim, &proposed, &m, 0)?;
                if let ClaimChange::Version { meta, .. } = &mut c {
                    meta.previous_version = Some(row.version);
                }
                changes.push(c);
            }
            s => {
                return Err(refused(TransitionRefused {
                    from: s,
                    event: ClaimEvent::AcceptCorrection,
                }));
            }
        }
    }
    apply(store, inst, None, &changes)?;
    claim_detail(store, inst, claim_id)
}

/// 取下げ: the institution withdraws a submitted claim to correct it.
pub fn withdraw(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ClaimDetail, ClinicError> {
    let reason = required_reason(reason)?;
    let row = store.claim(inst, id)?.ok_or(RegistryError::NotFound)?;
    let rec = record_of(&row.record)?;
    let c = one_step(
        &row,
        ClaimEvent::Withdraw,
        &rec,
        &meta(now, actor, &reason, ""),
        0,
    )?;
    apply(store, inst, None, &[c])?;
    claim_detail(store, inst, id)
}

/// 再請求: after a 返戻 or 取下げ, a new version rebuilt from the visits as
/// they stand now (never lower in the notice's order than the old one),
/// linked to the old version, editable until 確定. Without `opts`, the
/// claim's recorded options.
pub fn reclaim(
    store: &dyn Store,
    inst: &InstitutionCode,
    id: i64,
    opts: Option<ClaimOptions>,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ClaimDetail, ClinicError> {
    let reason = onshi_core::error::clean_text("reason", reason, 200)?;
    let row = store.claim(inst, id)?.ok_or(RegistryError::NotFound)?;
    let current = record_of(&row.record)?;
    let month = first_of(current.claim_month);
    let opts = opts.unwrap_or(current.options);
    let built = build_month(store, inst, month, opts)?
        .records
        .into_iter()
        .find(|r| r.patient_key == current.patient_key)
        .map(|b| never_lower(&current, b))
        .unwrap_or_else(|| current.clone());
    let mut c = one_step(
        &row,
        ClaimEvent::Reclaim,
        &built,
        &meta(
            now,
            actor,
            if reason.is_empty() {
                "再請求"
            } else {
                &reason
            },
            "",
        ),
        0,
    )?;
    if let ClaimChange::Version { meta, .. } = &mut c {
        meta.previous_version = Some(row.version);
    }
    let mut changes = vec![c];
    if let Some(open) = store
        .claim_proposals(inst, &row.claim_month)?
        .into_iter()
        .find(|p| p.claim_id == id && p.status == ProposalStatus::Open)
    {
        // The new version is built from the visits, facts of the proposal
        // included: it is decided by the 再請求.
        changes.push(ClaimChange::DecideProposal {
            proposal_id: open.id,
            accepted: false,
            by: actor.into(),
            reason: STALE_PROPOSAL.into(),
            at: now.to_rfc3339(),
        });
    }
    apply(store, inst, None, &changes)?;
    claim_detail(store, inst, id)
}

/// One payer result as the institution took it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReceivedResult {
    pub claim: i64,
    pub run_id: i64,
    #[schema(value_type = String)]
    pub state: ClaimState,
    pub state_label: String,
    /// The 返戻 reason, the new insurer, the shares, as the payer wrote it.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The payer's decision a stored fate stands for (the payer's `Fate` tag).
/// `billed` is 支払済: onshi's payer bills the insurer and pays the
/// institution in the same run [D].
pub fn decision_of(fate: &str) -> Option<PayerDecision> {
    Some(match fate {
        "billed" => PayerDecision::Paid,
        "returned" | "rejected" => PayerDecision::Returned,
        "transferred" | "split" => PayerDecision::Transferred,
        "identified" => PayerDecision::Identified,
        "apportioned" => PayerDecision::Apportioned,
        "pending_inquiry" | "unapportionable" => PayerDecision::Held,
        _ => return None,
    })
}

/// Takes the payer's stored results for the institution's submitted claims
/// (notice §4, 別添1): each new decision becomes a version of its claim
/// (支払済, 返戻 with its reason, 振替済 / 特定済 with the new insurer, 按分済,
/// 保留). A result is taken once, and only when the payer ran it on the
/// claim's latest submission (a run on another file, or on an earlier
/// submission before a 再請求, is not this claim's decision).
pub fn receive_results(
    store: &dyn Store,
    inst: &InstitutionCode,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ReceivedResult>, ClinicError> {
    let results = store.payer_results_for(inst.as_str(), 0)?;
    let mut taken = Vec::new();
    let mut changes = Vec::new();
    let mut versions_seen: std::collections::BTreeMap<i64, (ClaimRow, i64)> =
        std::collections::BTreeMap::new();
    for r in results {
        let Ok(id) = r.claim_id.parse::<i64>() else {
            continue;
        };
        let Some(decision) = decision_of(&r.fate) else {
            continue;
        };
        let (row, offset) = match versions_seen.get(&id) {
            Some(v) => v.clone(),
            None => match store.claim(inst, id)? {
                Some(row) if row.claim_month == r.claim_month => (row, 0),
                _ => continue,
            },
        };
        let versions = store.claim_versions(inst, id)?;
        if versions
            .iter()
            .any(|v| v.meta.payer_run_id == Some(r.run_id))
        {
            continue;
        }
        // Only a decision on the claim's own latest submission: a file the
        // payer read from elsewhere may reuse the number as a カルテ番号.
        let last_submission = versions.iter().rev().find_map(|v| v.meta.submission_id);
        let for_submission = r.detail.get("submission_id").and_then(|s| s.as_i64());
        if for_submission.is_none() || for_submission != last_submission {
            continue;
        }
        let state = match offset {
            0 => row.state,
            _ => taken
                .iter()
                .rev()
                .find_map(|t: &ReceivedResult| (t.claim == id).then_some(t.state))
                .unwrap_or(row.state),
        };
        let Ok(t) = transition(state, ClaimEvent::Decided(decision)) else {
            continue;
        };
        let reason = r
            .detail
            .get("reason")
            .and_then(|v| v.as_str())
            .or_else(|| {
                r.detail
                    .get("problem")
                    .and_then(|p| p.get("message"))
                    .and_then(|v| v.as_str())
            })
            .unwrap_or(t.to.label())
            .to_owned();
        changes.push(ClaimChange::Version {
            claim_id: id,
            expected_version: row.version + offset,
            state: t.to,
            record: row.record.clone(),
            meta: ChangeMeta {
                at: now.to_rfc3339(),
                actor: actor.into(),
                reason,
                rule: t.rule.into(),
                payer_run_id: Some(r.run_id),
                payer_detail: Some(r.detail.clone()),
                ..ChangeMeta::default()
            },
            carried_by_submission: false,
        });
        taken.push(ReceivedResult {
            claim: id,
            run_id: r.run_id,
            state: t.to,
            state_label: t.to.label().into(),
            detail: r.detail,
        });
        versions_seen.insert(id, (row, offset + 1));
    }
    apply(store, inst, None, &changes)?;
    Ok(taken)
}

/// The institution's submissions, newest first.
pub fn submissions(
    store: &dyn Store,
    inst: &InstitutionCode,
    limit: u32,
    offset: u32,
) -> Result<Vec<SubmissionView>, ClinicError> {
    Ok(store
        .submissions(Some(inst), limit.min(500), offset)?
        .into_iter()
        .map(SubmissionView::from)
        .collect())
}
