//! 月次請求 (role institution): the month's claims as stored records with a
//! life (`onshi_clinic::lifecycle`): 作成中 / 確定 / 提出 / 返戻 to fix, each
//! claim's history, the proposed corrections to accept or dismiss, 取下げ
//! and 再請求, and the payer's results taken back.
//!
//! Every POST calls one lifecycle service on a blocking thread and redirects
//! (303) to the page that shows its result.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use maud::{Markup, html};
use onshi_clinic::claims::{ClaimOptions, parse_month};
use onshi_clinic::lifecycle::{self, ClaimView, MonthView, SubmissionFormat};
use onshi_core::Payer;
use onshi_core::claim_life::ClaimState;
use onshi_registry::access::actor;
use serde::Deserialize;

use crate::page::{self, layout};
use crate::session::{Posted, Session, UiError, see_other};
use crate::{UiState, blocking};

#[derive(Debug, Default, Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

fn month_of(q: Option<&str>) -> Result<NaiveDate, UiError> {
    match q.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(onshi_clinic::claims::first_of(page::today())),
        Some(m) => parse_month(m).map_err(UiError::from),
    }
}

fn month_text(m: NaiveDate) -> String {
    m.format("%Y-%m").to_string()
}

fn state_class(s: ClaimState) -> &'static str {
    match s {
        ClaimState::Returned | ClaimState::Withdrawn => "bad",
        ClaimState::Held | ClaimState::Resubmission => "warn",
        ClaimState::Paid
        | ClaimState::Transferred
        | ClaimState::Identified
        | ClaimState::Apportioned => "ok",
        _ => "",
    }
}

fn payer_label(p: Payer) -> &'static str {
    match p {
        Payer::ShiharaiKikin => "支払基金",
        Payer::Kokuhoren => "国保連",
    }
}

fn numbers(c: &ClaimView) -> String {
    let i = &c.record.insurer;
    format!(
        "{} {} {} {}",
        i.insurer_number,
        i.symbol.as_deref().unwrap_or("-"),
        i.number,
        i.branch.as_deref().unwrap_or("-")
    )
}

fn claim_rows(claims: &[&ClaimView]) -> Markup {
    html! {
        table.list.claims {
            thead { tr { th { "番号" } th { "状態" } th { "氏名" } th { "生年月日" } th { "保険者・記号・番号・枝番" } th { "根拠" } th { "審査支払機関" } th { "点数" } th { "版" } th { "訂正案" } } }
            tbody {
                @for c in claims {
                    tr data-claim=(c.id) {
                        td { a href={ "/ui/desk/claims/" (c.id) } { (c.id) } }
                        td { span.(state_class(c.state)) { (c.state_label) } }
                        td { (c.record.patient.name) }
                        td { (page::wareki(c.record.patient.birth_date)) }
                        td.num { (numbers(c)) }
                        td { (c.record.insurer_rank.label())
                            @if let Some(s) = c.record.insurer_source { "・" (s.label()) } }
                        td { (payer_label(c.record.payer)) }
                        td.num { (c.record.points) }
                        td.num { (c.version) }
                        td { @if c.open_proposal.is_some() { span.warn { "あり" } } }
                    }
                }
            }
        }
    }
}

fn month_page(s: &Session, m: &MonthView) -> Markup {
    let month = &m.month;
    let by =
        |f: &dyn Fn(ClaimState) -> bool| m.claims.iter().filter(|c| f(c.state)).collect::<Vec<_>>();
    let editable = by(&|s| s.is_editable());
    let confirmed = by(&|s| s == ClaimState::Confirmed);
    let sent = by(&|s| s.is_sent() && s != ClaimState::Returned);
    let returned = by(&|s| s == ClaimState::Returned || s == ClaimState::Withdrawn);
    let proposals = m
        .claims
        .iter()
        .filter(|c| c.open_proposal.is_some())
        .count();
    layout(
        s,
        "月次請求",
        html! {
            h1 { "月次請求（" (month) "診療分）" }
            form.inline method="get" action="/ui/desk/claims" {
                label for="month" { "診療年月" }
                input #month type="month" name="month" value=(month);
                button type="submit" { "表示" }
            }
            div.actions {
                form.inline method="post" action="/ui/desk/claims/sync" {
                    (s.csrf_input())
                    input type="hidden" name="month" value=(month);
                    button #sync type="submit" { "受診記録から請求を作成・更新" }
                }
                form.inline method="post" action="/ui/desk/claims/receive" {
                    (s.csrf_input())
                    input type="hidden" name="month" value=(month);
                    button #receive type="submit" { "審査支払機関の結果を受け取る" }
                }
            }
            @if proposals > 0 {
                p.warn-box #proposals { "確定後に判明した事実による訂正案が " (proposals) " 件あります。各請求を開いて承認または却下してください。" }
            }
            section #returned {
                h2 { "返戻・取下げ（要修正）" }
                @if returned.is_empty() { p.muted { "ありません。" } } @else { (claim_rows(&returned)) }
            }
            section #drafts {
                h2 { "作成中・再請求" }
                @if editable.is_empty() { p.muted { "ありません。" } } @else {
                    (claim_rows(&editable))
                    form.inline method="post" action="/ui/desk/claims/confirm" {
                        (s.csrf_input())
                        input type="hidden" name="month" value=(month);
                        button #confirm type="submit" { "作成中の請求をすべて確定" }
                    }
                }
            }
            section #confirmed {
                h2 { "確定（提出待ち）" }
                @if confirmed.is_empty() { p.muted { "ありません。" } } @else {
                    (claim_rows(&confirmed))
                    form.inline method="post" action="/ui/desk/claims/submit" {
                        (s.csrf_input())
                        input type="hidden" name="month" value=(month);
                        label for="payer" { "提出先" }
                        select #payer name="payer" {
                            option value="shiharai_kikin" { "支払基金" }
                            option value="kokuhoren" { "国保連" }
                        }
                        label for="format" { "形式" }
                        select #format name="format" {
                            option value="uke" { "RECEIPTC.UKE" }
                            option value="jsonl" { "JSON Lines（API）" }
                        }
                        button #submit type="submit" { "提出" }
                    }
                }
            }
            section #sent {
                h2 { "提出済・審査支払の結果" }
                @if sent.is_empty() { p.muted { "ありません。" } } @else { (claim_rows(&sent)) }
            }
            @if !m.not_ready.is_empty() {
                section #not-ready {
                    h2 { "請求できない受診" }
                    ul { @for n in &m.not_ready {
                        li { "受診 " @for (i, id) in n.visit_ids.iter().enumerate() {
                                @if i > 0 { "、" } a href={ "/ui/desk/visits/" (id) } { (id) } }
                            "：" (n.message) }
                    } }
                }
            }
        },
    )
}

/// `GET /ui/desk/claims?month=YYYY-MM`.
pub async fn month(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<MonthQuery>,
) -> Result<Markup, UiError> {
    let inst = s.institution()?;
    let m = month_of(q.month.as_deref())?;
    let store = state.store.clone();
    let view =
        blocking(move || lifecycle::month_view(store.as_ref(), &inst, m, ClaimOptions::default()))
            .await??;
    Ok(month_page(&s, &view))
}

#[derive(Debug, Default, Deserialize)]
pub struct MonthForm {
    month: Option<String>,
    payer: Option<String>,
    format: Option<String>,
}

fn back(month: NaiveDate) -> Response {
    see_other(&format!("/ui/desk/claims?month={}", month_text(month)))
}

/// A month's workflow run by `f` (the store, the institution, the month,
/// the actor) on a blocking thread; then the month's page.
async fn on_month<T: Send + 'static>(
    state: UiState,
    s: &Session,
    month: Option<&str>,
    f: impl FnOnce(
        &dyn onshi_store::Store,
        &onshi_core::InstitutionCode,
        NaiveDate,
        &str,
    ) -> Result<T, onshi_clinic::visit::ClinicError>
    + Send
    + 'static,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let m = month_of(month)?;
    let who = actor(&s.caller);
    let store = state.store.clone();
    blocking(move || f(store.as_ref(), &inst, m, &who)).await??;
    Ok(back(m))
}

/// `POST /ui/desk/claims/sync`, with the choices the month's claims record.
pub async fn sync(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<MonthForm>,
) -> Result<Response, UiError> {
    on_month(state, &s, form.month.as_deref(), |st, inst, m, who| {
        let opts = lifecycle::month_options(st, inst, m)?;
        lifecycle::sync_month(st, inst, m, opts, who, Utc::now())
    })
    .await
}

/// `POST /ui/desk/claims/confirm`: every editable claim of the month.
pub async fn confirm(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<MonthForm>,
) -> Result<Response, UiError> {
    on_month(state, &s, form.month.as_deref(), |st, inst, m, who| {
        lifecycle::confirm(st, inst, m, &[], who, Utc::now())
    })
    .await
}

/// `POST /ui/desk/claims/submit`.
pub async fn submit(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<MonthForm>,
) -> Result<Response, UiError> {
    let payer = form
        .payer
        .as_deref()
        .and_then(onshi_store::payer_parse)
        .ok_or_else(|| UiError::BadRequest("提出先を選んでください".into()))?;
    let format = match form.format.as_deref() {
        Some("jsonl") => SubmissionFormat::Jsonl,
        _ => SubmissionFormat::Uke,
    };
    on_month(state, &s, form.month.as_deref(), move |st, inst, m, who| {
        lifecycle::submit(st, inst, m, payer, format, who, Utc::now())
    })
    .await
}

/// `POST /ui/desk/claims/receive`.
pub async fn receive(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<MonthForm>,
) -> Result<Response, UiError> {
    on_month(state, &s, form.month.as_deref(), |st, inst, _, who| {
        lifecycle::receive_results(st, inst, who, Utc::now())
    })
    .await
}

/// `GET /ui/desk/claims/{id}`: the claim, its open correction, its history.
pub async fn claim_page(
    State(state): State<UiState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Markup, UiError> {
    let inst = s.institution()?;
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let store = state.store.clone();
    let d = blocking(move || lifecycle::claim_detail(store.as_ref(), &inst, id)).await??;
    let c = &d.claim;
    Ok(layout(
        &s,
        "請求",
        html! {
            h1 { "請求 " (c.id) "（" (c.claim_month) "診療分）" }
            p { a href={ "/ui/desk/claims?month=" (c.claim_month) } { "月次請求へ戻る" } }
            table.qual #claim {
                tr { th { "状態" } td { span.(state_class(c.state)) #state { (c.state_label) } "（第" (c.version) "版）" } }
                tr { th { "氏名" } td { (c.record.patient.name) @if let Some(k) = &c.record.patient.kana { "（" (k) "）" } } }
                tr { th { "生年月日・性別" } td { (page::wareki(c.record.patient.birth_date)) "・" (c.record.patient.sex.kanji()) } }
                tr { th { "氏名等の出典" } td { (match c.record.identity_source {
                    onshi_clinic::claims::IdentitySource::Registry => "オンライン資格確認の資格情報",
                    onshi_clinic::claims::IdentitySource::Declaration => "被保険者資格申立書",
                    onshi_clinic::claims::IdentitySource::Visit => "受付での入力",
                }) } }
                tr.numbers { th { "保険者・記号・番号・枝番" } td.num #numbers { (numbers(c)) } }
                tr { th { "根拠" } td #rank { (c.record.insurer_rank.label())
                    @if let Some(src) = c.record.insurer_source { "・" (src.label()) } } }
                tr { th { "点数・一部負担金" } td { (c.record.points) "点・" (page::yen(c.record.patient_paid_yen)) } }
            }
            @if !c.record.identity_differences.is_empty() {
                section #differences {
                    h2 { "氏名等の相違（請求には資格情報を使用）" }
                    ul { @for x in &c.record.identity_differences {
                        li { (x.field) "：請求 " (x.on_claim) "／" (match x.other_source {
                            onshi_clinic::claims::IdentitySource::Registry => "資格情報",
                            onshi_clinic::claims::IdentitySource::Declaration => "申立書",
                            onshi_clinic::claims::IdentitySource::Visit => "受付入力",
                        }) " " (x.other) }
                    } }
                }
            }
            @if let Some(p) = &c.open_proposal {
                section.warn-box #proposal {
                    h2 { "訂正案（" (page::local_time(&p.created_at)) "）" }
                    p { (p.reason) }
                    ul { @for line in &p.changes { li { (line) } } }
                    form.inline method="post" action={ "/ui/desk/claims/" (c.id) "/proposal/accept" } {
                        (s.csrf_input())
                        input type="hidden" name="proposal_id" value=(p.id);
                        label for="accept-reason" { "理由" }
                        input #accept-reason type="text" name="reason" required maxlength="200";
                        button #accept type="submit" { "承認" }
                    }
                    form.inline method="post" action={ "/ui/desk/claims/" (c.id) "/proposal/dismiss" } {
                        (s.csrf_input())
                        input type="hidden" name="proposal_id" value=(p.id);
                        label for="dismiss-reason" { "理由" }
                        input #dismiss-reason type="text" name="reason" required maxlength="200";
                        button #dismiss type="submit" { "却下" }
                    }
                }
            }
            @if matches!(c.state, ClaimState::Submitted | ClaimState::Held) {
                form.inline method="post" action={ "/ui/desk/claims/" (c.id) "/withdraw" } {
                    (s.csrf_input())
                    label for="withdraw-reason" { "取下げの理由" }
                    input #withdraw-reason type="text" name="reason" required maxlength="200";
                    button #withdraw type="submit" { "取下げ" }
                }
            }
            @if matches!(c.state, ClaimState::Returned | ClaimState::Withdrawn) {
                form.inline method="post" action={ "/ui/desk/claims/" (c.id) "/reclaim" } {
                    (s.csrf_input())
                    label for="reclaim-reason" { "再請求の理由" }
                    input #reclaim-reason type="text" name="reason" maxlength="200";
                    button #reclaim type="submit" { "受診記録から作り直して再請求" }
                }
            }
            section #history {
                h2 { "履歴" }
                table.list {
                    thead { tr { th { "版" } th { "状態" } th { "日時" } th { "操作者" } th { "理由" } th { "規則" } th { "保険者・番号" } } }
                    tbody { @for v in &d.versions {
                        tr {
                            td.num { (v.version) }
                            td { (v.state_label) }
                            td { (page::local_time(&v.at)) }
                            td { (v.actor) }
                            td { (v.reason) }
                            td { (v.rule) }
                            td.num { (v.record.insurer.insurer_number) " " (v.record.insurer.number) }
                        }
                    } }
                }
                @if !d.proposals.is_empty() {
                    h3 { "訂正案の記録" }
                    ul { @for p in &d.proposals {
                        li { (page::local_time(&p.created_at)) "：" (p.reason) "（" (p.status.label())
                            @if let Some(r) = &p.decision_reason { "・" (r) } "）" }
                    } }
                }
            }
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReasonForm {
    reason: Option<String>,
    proposal_id: Option<String>,
}

fn claim_id(raw: &str) -> Result<i64, UiError> {
    raw.parse().map_err(|_| UiError::NotFound)
}

/// One of the institution's claims acted on by `f` (the store, the
/// institution, the claim's id, the actor) on a blocking thread; then the
/// claim's page.
async fn on_claim(
    state: UiState,
    s: &Session,
    id: &str,
    f: impl FnOnce(
        &dyn onshi_store::Store,
        &onshi_core::InstitutionCode,
        i64,
        &str,
    ) -> Result<lifecycle::ClaimDetail, onshi_clinic::visit::ClinicError>
    + Send
    + 'static,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let id = claim_id(id)?;
    let who = actor(&s.caller);
    let store = state.store.clone();
    blocking(move || f(store.as_ref(), &inst, id, &who)).await??;
    Ok(see_other(&format!("/ui/desk/claims/{id}")))
}

/// `POST /ui/desk/claims/{id}/proposal/{accept|dismiss}`.
pub async fn decide(
    State(state): State<UiState>,
    Path((id, what)): Path<(String, String)>,
    Posted { session: s, form }: Posted<ReasonForm>,
) -> Result<Response, UiError> {
    let accept = match what.as_str() {
        "accept" => true,
        "dismiss" => false,
        _ => return Err(UiError::NotFound),
    };
    let proposal = form
        .proposal_id
        .as_deref()
        .map(|p| {
            p.parse::<i64>()
                .map_err(|_| UiError::BadRequest("訂正案の番号が正しくありません".into()))
        })
        .transpose()?;
    let reason = form.reason.unwrap_or_default();
    on_claim(state, &s, &id, move |st, inst, id, who| {
        lifecycle::decide_proposal(st, inst, id, proposal, accept, &reason, who, Utc::now())
    })
    .await
}

/// `POST /ui/desk/claims/{id}/withdraw`.
pub async fn withdraw(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<ReasonForm>,
) -> Result<Response, UiError> {
    let reason = form.reason.unwrap_or_default();
    on_claim(state, &s, &id, move |st, inst, id, who| {
        lifecycle::withdraw(st, inst, id, &reason, who, Utc::now())
    })
    .await
}

/// `POST /ui/desk/claims/{id}/reclaim`.
pub async fn reclaim(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<ReasonForm>,
) -> Result<Response, UiError> {
    let reason = form.reason.unwrap_or_default();
    on_claim(state, &s, &id, move |st, inst, id, who| {
        lifecycle::reclaim(st, inst, id, None, &reason, who, Utc::now())
    })
    .await
}
