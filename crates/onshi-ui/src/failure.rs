//! 障害時モード (role institution): asking for activation, the usage report,
//! and the search (資格情報照会（システム障害時）) with its required-field
//! rules explained inline, and the pick list (notice 別添2,
//! `onshi_registry::failure_mode`).
//!
//! The search answers on the POST itself (200, no redirect): it is a lookup,
//! audited and rate-limited by the registry, and re-sending it is what the
//! clerk would do anyway. The pick with a visit redirects to that visit.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use onshi_clinic::visit;
use onshi_registry::RegistryError;
use onshi_registry::check::CheckAnswer;
use onshi_registry::failure_mode::{self as fm, RawSearch, SearchResult};
use onshi_store::FailureModeRequestRow;
use serde::Deserialize;

use crate::page::{self, FieldErrors, field, form_errors, layout};
use crate::session::{Posted, Session, UiError, see_other};
use crate::{UiState, blocking};

fn present(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn val(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

pub fn status_label(s: &str) -> &str {
    match s {
        "requested" => "申請中（折り返し待ち）",
        "confirmed" => "折り返し確認済（有効化待ち）",
        "enabled" => "有効化済",
        o => o,
    }
}

/// What enabled the mode, in Japanese (`request:N` or `disaster:N`).
fn enabled_by(by: &str) -> String {
    match by.split_once(':') {
        Some(("request", n)) => format!("申請No.{n}による有効化"),
        Some(("disaster", n)) => format!("災害時の都道府県単位の有効化 No.{n}"),
        _ => by.to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct VisitQuery {
    visit_id: Option<String>,
}

/// The search form as posted.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SearchForm {
    birth_date: Option<String>,
    sex: Option<String>,
    checked_on: Option<String>,
    name: Option<String>,
    kana: Option<String>,
    address: Option<String>,
    insurer_name: Option<String>,
    purpose: Option<String>,
    visit_id: Option<String>,
}

struct PageData {
    active: Option<String>,
    requests: Vec<FailureModeRequestRow>,
}

async fn data(state: &UiState, s: &Session) -> Result<PageData, UiError> {
    let inst = s.institution()?;
    let store = state.store.clone();
    blocking(move || {
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let active = store.fm_active(&inst, &now).map_err(RegistryError::from)?;
        let requests = store
            .fm_requests(Some(&inst), None)
            .map_err(RegistryError::from)?;
        Ok::<_, UiError>(PageData { active, requests })
    })
    .await?
}

fn visit_id(v: &Option<String>) -> Option<i64> {
    present(v).and_then(|v| v.parse().ok())
}

fn fm_page(
    s: &Session,
    d: &PageData,
    which: &str,
    search: &SearchForm,
    errors: &FieldErrors,
    result: Option<Markup>,
) -> Markup {
    let none = FieldErrors::default();
    let err = |name: &str| if which == name { errors } else { &none };
    let e = err("search");
    let vid = visit_id(&search.visit_id);
    let checked_on = present(&search.checked_on).unwrap_or_else(|| page::today().to_string());
    layout(
        s,
        "障害時モード",
        html! {
            h1 { "システム障害時モード（資格情報照会）" }
            @if let Some(by) = &d.active {
                p.banner.ok #fm-status { "障害時モードは利用できます（" (enabled_by(by)) "）。" }
            } @else {
                p.banner.warn #fm-status { "障害時モードは有効になっていません。下のフォームで利用を申請すると、コールセンターから届出の電話番号に折り返しの連絡があり、確認後に有効になります。" }
            }
            @if let Some(r) = result { (r) }
            section.card-form #search {
                h2 { "資格情報の照会" }
                @if let Some(v) = vid { p.note { "受付 No." (v) " の事後確認として照会します。1件に特定できた結果はその受付に反映されます。" } }
                div.rules {
                    p { strong { "入力のきまり" } }
                    ul {
                        li { "生年月日・性別・資格確認日は必須です。" }
                        li { "氏名またはカナ氏名のどちらかが必須です。表記の揺れ（全角半角・ひらがな/カタカナ・空白）を整えた上で完全一致で探します。" }
                        li { "住所または保険者名のどちらかが必須です。住所は整えた上で完全一致、保険者名は2文字以上で名称に含まれるかで探します。" }
                        li { "1人に特定できればすぐに資格情報を表示します。複数の場合は最大20人の候補（氏名・カナ・市区町村・保険者）から30分以内に選びます。" }
                        li { "照会は1分間に30回までです。照会と選択はすべて記録されます。" }
                    }
                }
                form method="post" action="/ui/desk/failure-mode/search" {
                    (s.csrf_input())
                    @if let Some(v) = vid { input type="hidden" name="visit_id" value=(v); }
                    (form_errors(e, &["birth_date", "sex", "checked_on", "name", "kana", "address", "insurer_name", "purpose"]))
                    div.row {
                        (field(e, "birth_date", "生年月日（必須・和暦/西暦）", html! { input #birth_date type="text" name="birth_date" value=(val(&search.birth_date)) placeholder="昭和55年4月1日 / 1980-04-01"; }))
                        (field(e, "sex", "性別（必須）", html! {
                            select #sex name="sex" {
                                option value="" { "選択してください" }
                                option value="male" selected[val(&search.sex) == "male"] { "男" }
                                option value="female" selected[val(&search.sex) == "female"] { "女" }
                            }
                        }))
                        (field(e, "checked_on", "資格確認日（必須）", html! { input #checked_on type="date" name="checked_on" value=(checked_on); }))
                    }
                    div.row {
                        (field(e, "name", "氏名（氏名・カナのどちらか必須）", html! { input #name type="text" name="name" value=(val(&search.name)); }))
                        (field(e, "kana", "カナ氏名", html! { input #kana type="text" name="kana" value=(val(&search.kana)); }))
                    }
                    div.row {
                        (field(e, "address", "住所（住所・保険者名のどちらか必須）", html! { input #address type="text" name="address" value=(val(&search.address)); }))
                        (field(e, "insurer_name", "保険者名（部分一致）", html! { input #insurer_name type="text" name="insurer_name" value=(val(&search.insurer_name)); }))
                    }
                    (field(e, "purpose", "照会の目的（記録されます）", html! { input type="text" name="purpose" value=(val(&search.purpose)) placeholder="資格確認（システム障害時）"; }))
                    button type="submit" { "照会する" }
                }
            }
            section.card-form #request {
                h2 { "利用の申請" }
                form method="post" action="/ui/desk/failure-mode/requests" {
                    (s.csrf_input())
                    (form_errors(err("request"), &["contact_name", "reason"]))
                    div.row {
                        (field(err("request"), "contact_name", "担当者名（必須）", html! { input type="text" name="contact_name" maxlength="64"; }))
                        (field(err("request"), "reason", "理由", html! { input type="text" name="reason" maxlength="200" placeholder="例: 停電のためオンライン資格確認ができない"; }))
                    }
                    button type="submit" { "利用を申請する" }
                }
                @if !d.requests.is_empty() {
                    table.list #requests {
                        thead { tr { th { "申請No." } th { "状態" } th { "申請日時" } th { "有効期限" } th { "利用報告" } } }
                        tbody {
                            @for r in &d.requests {
                                tr {
                                    td { (r.id) }
                                    td { (status_label(&r.status)) }
                                    td { (page::local_time(&r.requested_at)) }
                                    td { @if let Some(u) = &r.enabled_until { (page::local_time(u)) } }
                                    td {
                                        @if let Some(at) = &r.report_received_at { "提出済 " (page::local_time(at)) }
                                        @else if r.status == "enabled" {
                                            form.inline method="post" action={ "/ui/desk/failure-mode/requests/" (r.id) "/report" } {
                                                (s.csrf_input())
                                                (form_errors(err(&format!("report-{}", r.id)), &[]))
                                                input type="text" name="report" placeholder="利用状況（件数・期間など）" required;
                                                button type="submit" { "報告を提出" }
                                            }
                                            @if let Some(due) = r.report_due_on { span.hint { "期限 " (due) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /ui/desk/failure-mode[?visit_id=]`.
pub async fn page(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<VisitQuery>,
) -> Result<Markup, UiError> {
    let d = data(&state, &s).await?;
    let form = SearchForm {
        visit_id: q.visit_id,
        ..SearchForm::default()
    };
    Ok(fm_page(&s, &d, "", &form, &FieldErrors::default(), None))
}

async fn with_errors(
    state: &UiState,
    s: &Session,
    which: &str,
    form: &SearchForm,
    e: &RegistryError,
) -> Result<Response, UiError> {
    let d = data(state, s).await?;
    let status = match e {
        RegistryError::FailureModeNotActive => StatusCode::FORBIDDEN,
        RegistryError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RegistryError::SearchExpired => StatusCode::GONE,
        _ => StatusCode::BAD_REQUEST,
    };
    Ok((
        status,
        fm_page(s, &d, which, form, &FieldErrors::from_registry(e), None),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct RequestForm {
    contact_name: Option<String>,
    reason: Option<String>,
}

/// `POST /ui/desk/failure-mode/requests`: 別添2 step 1.
pub async fn request(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<RequestForm>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let store = state.store.clone();
    let r = blocking(move || {
        fm::request(
            store.as_ref(),
            &inst,
            form.contact_name.as_deref(),
            form.reason.as_deref(),
            Utc::now(),
        )
    })
    .await?;
    match r {
        Ok(_) => Ok(see_other("/ui/desk/failure-mode#request")),
        Err(e @ (RegistryError::Invalid(_) | RegistryError::Missing(_))) => {
            with_errors(&state, &s, "request", &SearchForm::default(), &e).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    report: Option<String>,
}

/// `POST /ui/desk/failure-mode/requests/{id}/report`: 別添2 step 4.
pub async fn report(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<ReportForm>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let store = state.store.clone();
    let r = blocking(move || {
        fm::report(
            store.as_ref(),
            &inst,
            id,
            form.report.as_deref(),
            Utc::now(),
        )
    })
    .await?;
    match r {
        Ok(_) => Ok(see_other("/ui/desk/failure-mode#requests")),
        Err(
            e @ (RegistryError::Invalid(_)
            | RegistryError::Missing(_)
            | RegistryError::InvalidState(_)),
        ) => {
            with_errors(
                &state,
                &s,
                &format!("report-{id}"),
                &SearchForm::default(),
                &e,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn result_markup(s: &Session, r: &SearchResult, visit: Option<i64>) -> Markup {
    html! {
        section.result #result {
            h2 { "照会結果（" (r.hits) "件該当）" }
            @if r.hits == 0 {
                p.banner.warn { "該当する方はいませんでした。入力内容（特にカナ氏名・住所の表記）を確かめてください。" }
            }
            @if let Some(a) = &r.answer {
                (page::answer_panel(a))
                @if let Some(v) = visit { p { a.button href={ "/ui/desk/visits/" (v) } { "受付 No." (v) " に戻る（結果を反映済み）" } } }
            }
            @if r.truncated { p.banner.warn { "該当者が多すぎます。条件を追加してください。" } }
            @if !r.candidates.is_empty() {
                p { "候補から本人を選んでください（30分以内）。" }
                table.list #candidates {
                    thead { tr { th { "番号" } th { "氏名" } th { "カナ" } th { "市区町村" } th { "保険者" } th {} } }
                    tbody {
                        @for c in &r.candidates {
                            tr {
                                td { (c.candidate) }
                                td { (c.name) }
                                td { (c.kana) }
                                td { (c.area) }
                                td { (page::opt(&c.insurer_name)) }
                                td {
                                    form.inline method="post" action="/ui/desk/failure-mode/pick" {
                                        (s.csrf_input())
                                        input type="hidden" name="search_id" value=(r.search_id);
                                        input type="hidden" name="candidate" value=(c.candidate);
                                        @if let Some(v) = visit { input type="hidden" name="visit_id" value=(v); }
                                        button type="submit" { "この方を選ぶ" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A visit id given with a search must be one of the caller's visits.
fn own_visit(
    store: &dyn onshi_store::Store,
    inst: &onshi_core::InstitutionCode,
    id: i64,
) -> Result<(), UiError> {
    match store.visit(inst, id).map_err(RegistryError::from)? {
        Some(_) => Ok(()),
        None => Err(UiError::NotFound),
    }
}

/// `POST /ui/desk/failure-mode/search`.
pub async fn search(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<SearchForm>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let vid = visit_id(&form.visit_id);
    let raw = RawSearch {
        birth_date: present(&form.birth_date),
        sex: present(&form.sex),
        checked_on: present(&form.checked_on),
        name: present(&form.name),
        kana: present(&form.kana),
        address: present(&form.address),
        insurer_name: present(&form.insurer_name),
        purpose: present(&form.purpose),
        visit_id: vid,
    };
    let store = state.store.clone();
    let r = blocking(move || {
        let now = Utc::now();
        if let Some(v) = vid {
            own_visit(store.as_ref(), &inst, v)?;
        }
        let r = match fm::search(store.as_ref(), &inst, &raw, now, fm::SEARCHES_PER_MINUTE) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        if let (Some(v), Some(a)) = (vid, &r.answer) {
            visit::attach_answer(
                store.as_ref(),
                &inst,
                v,
                a,
                onshi_core::claim_life::FactSource::FailureMode,
                now,
            )?;
        }
        Ok::<_, UiError>(Ok(r))
    })
    .await??;
    match r {
        Ok(result) => {
            let d = data(&state, &s).await?;
            let m = result_markup(&s, &result, vid);
            Ok(fm_page(&s, &d, "", &form, &FieldErrors::default(), Some(m)).into_response())
        }
        Err(e) if matches!(e, RegistryError::Store(_)) => Err(e.into()),
        Err(e) => with_errors(&state, &s, "search", &form, &e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PickForm {
    search_id: Option<String>,
    candidate: Option<String>,
    visit_id: Option<String>,
}

/// `POST /ui/desk/failure-mode/pick`.
pub async fn pick(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<PickForm>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let search_id: i64 = present(&form.search_id)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| UiError::BadRequest("検索番号がありません".into()))?;
    let candidate: usize = present(&form.candidate)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| UiError::BadRequest("候補番号がありません".into()))?;
    let vid = visit_id(&form.visit_id);
    let store = state.store.clone();
    let r: Result<CheckAnswer, RegistryError> = blocking(move || {
        let now = Utc::now();
        if let Some(v) = vid {
            own_visit(store.as_ref(), &inst, v)?;
        }
        let a = match fm::pick(store.as_ref(), &inst, search_id, candidate, now) {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(v) = vid {
            visit::attach_answer(
                store.as_ref(),
                &inst,
                v,
                &a,
                onshi_core::claim_life::FactSource::FailureMode,
                now,
            )?;
        }
        Ok::<_, UiError>(Ok(a))
    })
    .await??;
    match (r, vid) {
        (Ok(_), Some(v)) => Ok(see_other(&format!("/ui/desk/visits/{v}"))),
        (Ok(a), None) => {
            let d = data(&state, &s).await?;
            let m = html! { section.result #result { h2 { "照会結果" } (page::answer_panel(&a)) } };
            Ok(fm_page(
                &s,
                &d,
                "",
                &SearchForm::default(),
                &FieldErrors::default(),
                Some(m),
            )
            .into_response())
        }
        (Err(RegistryError::NotFound), _) => Err(UiError::NotFound),
        (Err(e @ RegistryError::Store(_)), _) => Err(e.into()),
        (Err(e), _) => with_errors(&state, &s, "search", &SearchForm::default(), &e).await,
    }
}
