//! 受付 (role institution): the check at the window, the failure flow of
//! 保発0710第1号 §1–§3 on the visit, the 被保険者資格申立書, the day's
//! 資格確認履歴, the deferred re-check, the reader mode and fault injection.
//!
//! Every check at the window opens a visit (`onshi_clinic::visit::open_visit`,
//! as `POST /api/v1/visits` does), so the answer, the failure and the decision
//! all live on one record the page shows after the redirect.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use onshi_clinic::pdf::{Fonts, declaration_pdf as render_pdf};
use onshi_clinic::visit::{self, PatientInfo, RawDecision, RawShown, RawVisit, ReportedFailure};
use onshi_core::declaration::{Declaration, RawDeclaration};
use onshi_core::reception::DeclaredRatio;
use onshi_registry::check::{self, RawCheckRequest};
use onshi_registry::{RegistryError, reader};
use serde::Deserialize;

use crate::page::{self, FieldErrors, field, form_errors, layout};
use crate::session::{Posted, Session, UiError, see_other};
use crate::{UiState, blocking};

/// The demo's card serials, offered in a datalist (free entry stays possible).
const DEMO_CARDS: [(&str, &str); 10] = [
    ("DEMO-VALID", "有効：協会けんぽ本人 3割"),
    ("DEMO-LOST", "資格(無効)：退職・新資格未登録"),
    ("DEMO-NONE", "資格情報なし"),
    ("DEMO-CHANGED", "転職済（新資格登録済み）"),
    ("DEMO-GRACE", "電子証明書期限切れ（猶予中）"),
    ("DEMO-EXPIRED", "電子証明書期限切れ（猶予経過）"),
    ("DEMO-REVOKED", "電子証明書失効"),
    ("DEMO-PRESCHOOL", "未就学児 2割"),
    ("DEMO-ELDERLY", "70〜74歳 2割"),
    ("DEMO-KOUKI", "後期高齢者 1割"),
];

const FAILURE_KINDS: [(&str, &str); 5] = [
    ("reader_broken", "顔認証付きカードリーダーの故障"),
    ("card_unreadable", "カードが読み取れない"),
    ("certificate_expired", "電子証明書の期限切れ"),
    ("power_outage", "停電"),
    ("network_outage", "通信障害"),
];

fn present(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn val(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

#[derive(Debug, Default, Deserialize)]
pub struct DayQuery {
    date: Option<String>,
}

fn day_of(q: &DayQuery) -> Result<chrono::NaiveDate, UiError> {
    match present(&q.date) {
        None => Ok(page::today()),
        Some(d) => onshi_core::parse_iso_date("date", &d)
            .map_err(|e| UiError::BadRequest(e.kind.to_string())),
    }
}

/// What the desk page shows besides its forms.
struct DeskData {
    day: chrono::NaiveDate,
    reader_mode: String,
    fault: Option<String>,
    visits: Vec<visit::VisitView>,
}

async fn desk_data(
    state: &UiState,
    inst: onshi_core::InstitutionCode,
    day: chrono::NaiveDate,
) -> Result<DeskData, UiError> {
    let store = state.store.clone();
    blocking(move || {
        let ctx = store
            .check_context(&inst)
            .map_err(RegistryError::from)?
            .ok_or(UiError::Forbidden)?;
        let visits = visit::visits_on(store.as_ref(), &inst, day)?;
        Ok::<_, UiError>(DeskData {
            day,
            reader_mode: ctx.reader_mode,
            fault: ctx.fault.map(|f| f.kind),
            visits,
        })
    })
    .await?
}

/// The form at the window (card, numbers, or a failure seen without a check).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct VisitForm {
    reference: Option<String>,
    visited_on: Option<String>,
    patient_key: Option<String>,
    certificate_serial: Option<String>,
    identity: Option<String>,
    staff_id: Option<String>,
    insurer_number: Option<String>,
    insured_symbol: Option<String>,
    insured_number: Option<String>,
    insured_branch: Option<String>,
    birth_date: Option<String>,
    failure_kind: Option<String>,
    name: Option<String>,
    kana: Option<String>,
    patient_birth_date: Option<String>,
    sex: Option<String>,
}

impl VisitForm {
    fn to_raw(&self) -> RawVisit {
        let reference = present(&self.reference).unwrap_or_default();
        let attempt = match reference.as_str() {
            "card" => Some(RawCheckRequest {
                reference: Some("card".into()),
                certificate_serial: present(&self.certificate_serial),
                identity_confirmed_by: present(&self.identity),
                staff_id: present(&self.staff_id),
                ..RawCheckRequest::default()
            }),
            "numbers" => Some(RawCheckRequest {
                reference: Some("numbers".into()),
                insurer_number: present(&self.insurer_number),
                insured_symbol: present(&self.insured_symbol),
                insured_number: present(&self.insured_number),
                insured_branch: present(&self.insured_branch),
                birth_date: present(&self.birth_date),
                ..RawCheckRequest::default()
            }),
            "failure" => present(&self.certificate_serial).map(|s| RawCheckRequest {
                reference: Some("card".into()),
                certificate_serial: Some(s),
                ..RawCheckRequest::default()
            }),
            _ => None,
        };
        let failure = (reference == "failure").then(|| ReportedFailure {
            kind: present(&self.failure_kind).unwrap_or_default(),
            registry_reachable: None,
        });
        let birth = present(&self.patient_birth_date).or_else(|| {
            (reference == "numbers")
                .then(|| present(&self.birth_date))
                .flatten()
        });
        let patient = PatientInfo {
            name: present(&self.name),
            kana: present(&self.kana),
            birth_date: birth,
            sex: present(&self.sex),
            address: None,
        };
        RawVisit {
            visited_on: present(&self.visited_on),
            patient_key: present(&self.patient_key),
            patient: (patient != PatientInfo::default()).then_some(patient),
            attempt,
            failure,
        }
    }
}

fn visited_on_input(form: &VisitForm, errors: &FieldErrors, day: chrono::NaiveDate) -> Markup {
    let v = present(&form.visited_on).unwrap_or_else(|| day.to_string());
    html! {
        (field(errors, "visited_on", "受診日", html! { input type="date" name="visited_on" value=(v) required; }))
        (field(errors, "patient_key", "診察券番号（任意）", html! { input type="text" name="patient_key" value=(val(&form.patient_key)) maxlength="32"; }))
    }
}

fn desk_page(
    s: &Session,
    d: &DeskData,
    which: &str,
    form: &VisitForm,
    errors: &FieldErrors,
) -> Markup {
    let none = FieldErrors::default();
    let err = |name: &str| if which == name { errors } else { &none };
    let f = |name: &str| {
        if which == name {
            form.clone()
        } else {
            VisitForm::default()
        }
    };
    let card = f("card");
    let nums = f("numbers");
    let fail = f("failure");
    let visual = d.reader_mode == "visual";
    layout(
        s,
        "受付",
        html! {
            h1 { "受付　資格確認" }
            @if visual {
                p.banner.warn { "カードリーダーは目視確認モードです。顔写真と本人を目視で確認し、担当者IDを入力してください。" }
            }
            @if let Some(kind) = &d.fault {
                p.banner.warn { "障害の模擬が有効です（" (kind) "）。この医療機関の照会は失敗します。" }
            }
            div.forms {
                section.card-form #form-card {
                    h2 { "マイナ保険証（カード）で確認" }
                    form method="post" action="/ui/desk/visits" {
                        (s.csrf_input())
                        input type="hidden" name="reference" value="card";
                        (form_errors(err("card"), &["visited_on", "patient_key", "certificate_serial", "identity_confirmed_by", "staff_id"]))
                        (visited_on_input(&card, err("card"), d.day))
                        (field(err("card"), "certificate_serial", "電子証明書のシリアル番号", html! {
                            input #certificate_serial type="text" name="certificate_serial" list="demo-cards" value=(val(&card.certificate_serial)) autocomplete="off" required;
                            datalist #demo-cards {
                                @for (serial, label) in DEMO_CARDS { option value=(serial) { (label) } }
                            }
                        }))
                        (field(err("card"), "identity_confirmed_by", "本人確認", html! {
                            select name="identity" {
                                option value="" { "リーダーのモードに従う" }
                                option value="face" selected[val(&card.identity) == "face"] { "顔認証" }
                                option value="pin" selected[val(&card.identity) == "pin"] { "暗証番号" }
                                option value="visual" selected[val(&card.identity) == "visual"] { "目視確認" }
                            }
                        }))
                        (field(err("card"), "staff_id", "目視確認の担当者ID", html! {
                            input type="text" name="staff_id" value=(val(&card.staff_id)) maxlength="32" required[visual];
                        }))
                        button type="submit" { "資格確認" }
                    }
                }
                section.card-form #form-numbers {
                    h2 { "資格確認書・保険証の記号番号で確認" }
                    form method="post" action="/ui/desk/visits" {
                        (s.csrf_input())
                        input type="hidden" name="reference" value="numbers";
                        (form_errors(err("numbers"), &["visited_on", "patient_key", "insurer_number", "insured_symbol", "insured_number", "insured_branch", "birth_date"]))
                        (visited_on_input(&nums, err("numbers"), d.day))
                        (field(err("numbers"), "insurer_number", "保険者番号", html! { input type="text" name="insurer_number" value=(val(&nums.insurer_number)) inputmode="numeric" maxlength="8" required; }))
                        div.row {
                            (field(err("numbers"), "insured_symbol", "記号", html! { input type="text" name="insured_symbol" value=(val(&nums.insured_symbol)); }))
                            (field(err("numbers"), "insured_number", "番号", html! { input type="text" name="insured_number" value=(val(&nums.insured_number)) required; }))
                            (field(err("numbers"), "insured_branch", "枝番", html! { input type="text" name="insured_branch" value=(val(&nums.insured_branch)) inputmode="numeric" maxlength="2" size="3"; }))
                        }
                        (field(err("numbers"), "birth_date", "生年月日（和暦・西暦）", html! { input type="text" name="birth_date" value=(val(&nums.birth_date)) placeholder="昭和55年4月1日 / S55.4.1 / 1980-04-01" required; }))
                        button type="submit" { "資格確認" }
                    }
                }
                section.card-form #form-failure {
                    h2 { "確認できない（障害を記録して受付）" }
                    form method="post" action="/ui/desk/visits" {
                        (s.csrf_input())
                        input type="hidden" name="reference" value="failure";
                        (form_errors(err("failure"), &["visited_on", "patient_key", "kind", "certificate_serial", "name", "kana", "birth_date", "sex"]))
                        (visited_on_input(&fail, err("failure"), d.day))
                        (field(err("failure"), "kind", "確認できない理由", html! {
                            select name="failure_kind" {
                                @for (k, l) in FAILURE_KINDS { option value=(k) selected[val(&fail.failure_kind) == k] { (l) } }
                            }
                        }))
                        (field(err("failure"), "certificate_serial", "カードのシリアル番号（分かれば・事後確認用）", html! { input type="text" name="certificate_serial" list="demo-cards" value=(val(&fail.certificate_serial)); }))
                        div.row {
                            (field(err("failure"), "name", "氏名", html! { input type="text" name="name" value=(val(&fail.name)); }))
                            (field(err("failure"), "kana", "カナ氏名", html! { input type="text" name="kana" value=(val(&fail.kana)); }))
                        }
                        div.row {
                            (field(err("failure"), "birth_date", "生年月日", html! { input type="text" name="patient_birth_date" value=(val(&fail.patient_birth_date)) placeholder="昭和55年4月1日"; }))
                            (field(err("failure"), "sex", "性別", html! {
                                select name="sex" { option value="" { "—" } option value="male" { "男" } option value="female" { "女" } }
                            }))
                        }
                        button type="submit" { "受付（障害を記録）" }
                    }
                }
            }
            section #visits {
                h2 { (d.day) " の受付" }
                @if d.visits.is_empty() {
                    p.muted { "まだ受付はありません。" }
                } @else {
                    table.list {
                        thead { tr { th { "No." } th { "診察券番号" } th { "氏名" } th { "結果" } th { "窓口負担" } th { "事後確認" } } }
                        tbody {
                            @for v in &d.visits {
                                tr {
                                    td { a href={ "/ui/desk/visits/" (v.id) } { (v.id) } }
                                    td { (page::opt(&v.record.patient_key)) }
                                    td { (visit_name(v)) }
                                    td { (visit_result(v)) }
                                    td { @if let Some(dec) = &v.record.decision { (page::ratio(dec.ratio_percent)) @if let Some(y) = dec.amount_yen { " " (page::yen(y)) } } @else { "未決定" } }
                                    td { (recheck_label(&v.recheck_state)) }
                                }
                            }
                        }
                    }
                }
            }
            div.forms {
                section.card-form #reader-mode {
                    h2 { "カードリーダー" }
                    p { "現在のモード: " strong { @if visual { "目視確認モード" } @else { "顔認証" } } }
                    form method="post" action="/ui/desk/reader-mode" {
                        (s.csrf_input())
                        (form_errors(err("mode"), &["staff_id"]))
                        input type="hidden" name="mode" value=(if visual { "face" } else { "visual" });
                        (field(err("mode"), "staff_id", "切り替える担当者ID", html! { input type="text" name="staff_id" maxlength="32" required; }))
                        button type="submit" { @if visual { "顔認証に戻す" } @else { "目視確認モードに切り替える" } }
                    }
                    p.hint { "切り替えは記録されます。" }
                }
                section.card-form #links {
                    h2 { "帳票" }
                    p { a href="/ui/desk/forms/declaration.pdf" { "被保険者資格申立書（白紙・説明書付き）PDF" } }
                    p { a href="/ui/desk/history" { "本日の資格確認履歴" } }
                    p { a href="/ui/desk/rechecks" { "事後確認（再照会）の待ち一覧" } }
                }
                section.card-form #faults {
                    details {
                        summary { "ベンダー向け：障害の模擬" }
                        form method="post" action="/ui/desk/faults" {
                            (s.csrf_input())
                            (form_errors(err("fault"), &[]))
                            select name="kind" {
                                option value="reader" { "カードリーダー障害" }
                                option value="certificate" { "電子証明書エラー" }
                                option value="network" { "通信障害" }
                                option value="registry" { "システム障害" }
                            }
                            button type="submit" name="action" value="set" { "障害を起こす" }
                            button type="submit" name="action" value="clear" { "解除" }
                        }
                    }
                }
            }
        },
    )
}

fn visit_name(v: &visit::VisitView) -> String {
    v.record
        .check
        .as_ref()
        .and_then(|c| c.qualification.as_ref().or(c.qualifications.first()))
        .map(|q| q.name.clone())
        .or_else(|| v.record.patient.as_ref().and_then(|p| p.name.clone()))
        .unwrap_or_else(|| "—".into())
}

fn visit_result(v: &visit::VisitView) -> String {
    match (&v.record.check, &v.record.failure) {
        (Some(c), _) => c.validity_label.clone(),
        (None, Some(f)) => format!("確認不可（{}）", f.label),
        _ => "—".into(),
    }
}

fn recheck_label(s: &str) -> &str {
    match s {
        "pending" => "事後確認待ち",
        "done" => "確認済",
        "none" => "不要",
        o => o,
    }
}

/// `GET /ui/desk`.
pub async fn desk(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<DayQuery>,
) -> Result<Markup, UiError> {
    let inst = s.institution()?;
    let d = desk_data(&state, inst, day_of(&q)?).await?;
    Ok(desk_page(
        &s,
        &d,
        "",
        &VisitForm::default(),
        &FieldErrors::default(),
    ))
}

async fn desk_with_errors(
    state: &UiState,
    s: &Session,
    which: &str,
    form: &VisitForm,
    errors: FieldErrors,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let d = desk_data(state, inst, page::today()).await?;
    Ok((
        StatusCode::BAD_REQUEST,
        desk_page(s, &d, which, form, &errors),
    )
        .into_response())
}

/// `POST /ui/desk/visits`: a patient at the window; the check runs (or the
/// failure is recorded) and the visit page shows the answer.
pub async fn open_visit(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<VisitForm>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let which = match present(&form.reference).as_deref() {
        Some("numbers") => "numbers",
        Some("failure") => "failure",
        _ => "card",
    };
    let raw = form.to_raw();
    let store = state.store.clone();
    let r = blocking(move || visit::open_visit(store.as_ref(), &inst, &raw, Utc::now())).await?;
    match r {
        Ok(v) => Ok(see_other(&format!("/ui/desk/visits/{}", v.id))),
        Err(visit::ClinicError::Registry(e)) if e.field().is_some() || is_input(&e) => {
            desk_with_errors(&state, &s, which, &form, FieldErrors::from_registry(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

fn is_input(e: &RegistryError) -> bool {
    matches!(
        e,
        RegistryError::Invalid(_)
            | RegistryError::Missing(_)
            | RegistryError::BadValue { .. }
            | RegistryError::NotAllowed(_)
            | RegistryError::MissingOneOf(..)
            | RegistryError::VisualModeOff
            | RegistryError::ReaderInVisualMode
    )
}

async fn load_visit(
    state: &UiState,
    s: &Session,
    id: &str,
) -> Result<(i64, visit::VisitView), UiError> {
    let inst = s.institution()?;
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let store = state.store.clone();
    let v = blocking(move || visit::visit(store.as_ref(), &inst, id)).await??;
    Ok((id, v))
}

fn basis_label(b: &str) -> &str {
    match b {
        "online_check" => "オンライン資格確認",
        "myna_portal" => "マイナポータルの資格情報画面",
        "insurance_card" => "保険証",
        "qualification_certificate" => "資格確認書",
        "declaration" => "被保険者資格申立書",
        "returning_patient_oral" => "再診患者の口頭確認",
        "institution_discretion" => "医療機関の判断（再診）",
        "full_cost" => "10割（確認できず）",
        o => o,
    }
}

fn claim_basis_label(b: onshi_core::claim::InsurerBasis) -> &'static str {
    use onshi_core::claim::InsurerBasis as B;
    match b {
        B::Confirmed => "確認できた資格",
        B::ToldOrally => "患者から聞き取った資格",
        B::LostQualification => "旧資格（資格(無効)の記号番号）",
        B::Unknown => "不詳",
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct DecisionForm {
    step: Option<String>,
    points: Option<String>,
    shown_kind: Option<String>,
    ratio_percent: Option<String>,
    insurer_number: Option<String>,
    insured_symbol: Option<String>,
    insured_number: Option<String>,
    insured_branch: Option<String>,
    discretion_ratio_percent: Option<String>,
}

fn points_input(errors: &FieldErrors) -> Markup {
    field(
        errors,
        "points",
        "点数（任意）",
        html! { input type="number" name="points" min="0" max="99999999" step="1" placeholder="例: 1234"; },
    )
}

fn ratio_select(name: &str) -> Markup {
    html! {
        select name=(name) {
            option value="30" { "3割" }
            option value="20" { "2割" }
            option value="10" { "1割" }
        }
    }
}

fn visit_markup(s: &Session, v: &visit::VisitView, step: &str, errors: &FieldErrors) -> Markup {
    let none = FieldErrors::default();
    let err = |name: &str| if step == name { errors } else { &none };
    let r = &v.record;
    let id = v.id;
    let action = format!("/ui/desk/visits/{id}/decision");
    let valid = r.check.as_ref().is_some_and(|c| c.validity == 1);
    let decide_form = |step_name: &str, button: &str, extra: Markup| {
        html! {
            form.step-form method="post" action=(action) {
                (s.csrf_input())
                input type="hidden" name="step" value=(step_name);
                (form_errors(err(step_name), &["points", "ratio_percent", "kind", "insurer_number", "insured_symbol", "insured_number", "insured_branch", "discretion_ratio_percent"]))
                (extra)
                (points_input(err(step_name)))
                button type="submit" { (button) }
            }
        }
    };
    let flow = html! {
        @if valid {
            div.step #step-online {
                h3 { "オンライン資格確認の結果で決定（2(1)）" }
                (decide_form("online", "窓口負担を決定", html! {}))
            }
        } @else {
            ol.next-steps { @for n in &v.next_steps { li { (n) } } }
            div.step #step-shown {
                h3 { "1. 資格情報の提示（保発0710第1号 2(1)）" }
                p.hint { "マイナポータルの資格情報画面、資格確認書または保険証を見せてもらえた場合。記号番号を入れると請求に使います。" }
                (decide_form("shown", "提示された負担割合で決定", html! {
                    div.row {
                        (field(err("shown"), "kind", "提示されたもの", html! {
                            select name="shown_kind" {
                                option value="myna_portal" { "マイナポータルの資格情報画面" }
                                option value="qualification_certificate" { "資格確認書" }
                                option value="insurance_card" { "保険証" }
                            }
                        }))
                        (field(err("shown"), "ratio_percent", "負担割合", ratio_select("ratio_percent")))
                    }
                    div.row {
                        (field(err("shown"), "insurer_number", "保険者番号", html! { input type="text" name="insurer_number" inputmode="numeric" maxlength="8"; }))
                        (field(err("shown"), "insured_symbol", "記号", html! { input type="text" name="insured_symbol"; }))
                        (field(err("shown"), "insured_number", "番号", html! { input type="text" name="insured_number"; }))
                        (field(err("shown"), "insured_branch", "枝番", html! { input type="text" name="insured_branch" size="3" maxlength="2"; }))
                    }
                }))
            }
            div.step #step-declaration {
                h3 { "2. 被保険者資格申立書（2(2)）" }
                p { a.button href={ "/ui/desk/visits/" (id) "/declaration" } { @if v.has_declaration { "申立書を確認・修正する" } @else { "申立書を記入する" } } }
                @if v.has_declaration {
                    p { a href={ "/ui/desk/visits/" (id) "/declaration.pdf" } { "申立書を印刷（PDF）" } }
                    (decide_form("declaration", "申立書の負担割合で決定", html! {}))
                }
            }
            div.step #step-oral {
                h3 { "3. 再診で前回から変更がないと口頭確認できた（2(2)なお書き）" }
                @if r.patient_key.is_some() {
                    (decide_form("oral", "前回の負担割合で決定", html! {}))
                } @else {
                    p.muted { "診察券番号のない受付では前回の記録を探せません。" }
                }
            }
            div.step #step-full {
                h3 { "4. いずれもできない（2(3)）" }
                (decide_form("full", "10割で決定", html! {}))
                @if r.patient_key.is_some() {
                    details {
                        summary { "再診で身元が分かる患者に医療機関の判断で割合を決める" }
                        (decide_form("discretion", "この割合で決定", html! {
                            (field(err("discretion"), "discretion_ratio_percent", "負担割合", ratio_select("discretion_ratio_percent")))
                        }))
                    }
                }
            }
            div.step #step-failure-mode {
                h3 { "システム障害時モードでの照会" }
                p { a href={ "/ui/desk/failure-mode?visit_id=" (id) } { "障害時モードで資格を照会する（結果はこの受付に反映されます）" } }
            }
        }
    };
    layout(
        s,
        &format!("受付 No.{id}"),
        html! {
            h1 { "受付 No." (id) }
            p.meta {
                "受診日 " (r.visited_on)
                @if let Some(k) = &r.patient_key { "　診察券番号 " (k) }
                @if let Some(p) = &r.patient {
                    @if let Some(n) = &p.name { "　患者 " (n) }
                    @if let Some(k) = &p.kana { "（" (k) "）" }
                    @if let Some(b) = &p.birth_date { "　生年月日 " (b) }
                }
                "　事後確認: " (recheck_label(&v.recheck_state))
                @if r.recheck.attempts > 0 {
                    "（" (r.recheck.attempts) "回目: " (r.recheck.last_result.as_deref().map(page::refusal_text).unwrap_or_default()) "）"
                }
            }
            (form_errors(err("top"), &[]))
            @if let Some(c) = &r.check { (page::answer_panel(c)) }
            @if let Some(f) = &r.failure {
                section.failure #failure {
                    h2 { "資格確認ができませんでした：" (f.label) }
                    p { "根拠: " (f.section) @if !f.registry_reachable { "　（オンライン資格確認等システムに接続できない状態）" } }
                    @if let Some(code) = &f.error_code { p.error-box { (page::refusal_text(code)) } }
                }
            }
            @if let Some(c) = &r.claim {
                section.claim #claim {
                    h2 { "レセプトに記載する保険者情報" }
                    table.qual {
                        tr { th { "区分" } td { (claim_basis_label(c.basis)) "（" (c.section) "）" } }
                        tr { th { "情報源" } td { (c.source.label()) } }
                        tr.numbers { th { "保険者番号" } td.num { (c.insurer_number) } }
                        tr.numbers { th { "記号" } td.num { (page::opt(&c.insured_symbol)) } }
                        tr.numbers { th { "番号" } td.num { (c.insured_number) } }
                        tr.numbers { th { "枝番" } td.num { (page::opt(&c.insured_branch)) } }
                    }
                }
            }
            @if let Some(d) = &r.decision {
                section.decision #decision {
                    h2 { "窓口負担の決定" }
                    p.big { "負担割合 " strong { (page::ratio(d.ratio_percent)) }
                        @if let Some(y) = d.amount_yen { "　窓口負担額 " strong.amount { (page::yen(y)) } }
                    }
                    table.qual {
                        tr { th { "根拠" } td { (basis_label(&d.basis)) } }
                        tr { th { "条項" } td { (d.section) } }
                        tr { th { "説明" } td { (d.explanation) } }
                        @if let Some(p) = d.points { tr { th { "点数" } td { (p) "点（1点10円）" } } }
                    }
                }
                @for n in &v.next_steps { p.note { (n) } }
                details.redo {
                    summary { "判断をやり直す" }
                    section.flow { (flow) }
                }
            } @else {
                section.flow #flow {
                    h2 { "窓口負担の判断（保発0710第1号 2 の順）" }
                    (flow)
                }
            }
            @if r.check.as_ref().is_none_or(|c| c.validity != 1) {
                section.contact #contact {
                    h2 { "患者への連絡（不詳請求の前に必要：3(4)）" }
                    @if let Some(d) = r.contacted_on { p { "連絡日: " (d) } }
                    form method="post" action={ "/ui/desk/visits/" (id) "/contact" } {
                        (s.csrf_input())
                        (form_errors(err("contact"), &["contacted_on"]))
                        (field(err("contact"), "contacted_on", "連絡した日", html! { input type="date" name="contacted_on" value=(page::today()); }))
                        button type="submit" { "連絡日を記録" }
                    }
                }
            }
            p { a href="/ui/desk" { "受付に戻る" } }
        },
    )
}

/// `GET /ui/desk/visits/{id}`: another institution's visit is 404.
async fn visit_page_handler(state: &UiState, s: &Session, id: &str) -> Result<Markup, UiError> {
    let (_, v) = load_visit(state, s, id).await?;
    Ok(visit_markup(s, &v, "", &FieldErrors::default()))
}

pub async fn visit_page(
    State(state): State<UiState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Markup, UiError> {
    visit_page_handler(&state, &s, &id).await
}

fn parse_u16(v: &Option<String>, field: &'static str) -> Result<Option<u16>, RegistryError> {
    present(v)
        .map(|t| {
            t.parse::<u16>().map_err(|_| RegistryError::BadValue {
                field: field.into(),
                message: "数字で選択してください".into(),
            })
        })
        .transpose()
}

impl DecisionForm {
    fn to_raw(&self) -> Result<RawDecision, RegistryError> {
        let points = present(&self.points)
            .map(|p| {
                p.parse::<u64>().map_err(|_| RegistryError::BadValue {
                    field: "points".into(),
                    message: "点数は0以上の整数で入力してください".into(),
                })
            })
            .transpose()?;
        let mut raw = RawDecision {
            points,
            ..RawDecision::default()
        };
        match present(&self.step).as_deref() {
            Some("online") | Some("full") => {}
            Some("shown") => {
                raw.shown = Some(RawShown {
                    kind: present(&self.shown_kind),
                    ratio_percent: parse_u16(&self.ratio_percent, "ratio_percent")?,
                    insurer_number: present(&self.insurer_number),
                    insured_symbol: present(&self.insured_symbol),
                    insured_number: present(&self.insured_number),
                    insured_branch: present(&self.insured_branch),
                })
            }
            Some("declaration") => raw.use_declaration = Some(true),
            Some("oral") => raw.returning_oral = Some(true),
            Some("discretion") => {
                raw.discretion_ratio_percent =
                    parse_u16(&self.discretion_ratio_percent, "discretion_ratio_percent")?
            }
            _ => {
                return Err(RegistryError::BadValue {
                    field: "step".into(),
                    message: "判断の手順を選んでください".into(),
                });
            }
        }
        Ok(raw)
    }
}

/// `POST /ui/desk/visits/{id}/decision`: the window burden (notice §2).
pub async fn decide(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<DecisionForm>,
) -> Result<Response, UiError> {
    let (id, _) = load_visit(&state, &s, &id).await?;
    let inst = s.institution()?;
    let step = present(&form.step).unwrap_or_default();
    let raw = match form.to_raw() {
        Ok(r) => r,
        Err(e) => return visit_error(&state, &s, id, &step, &e.into()).await,
    };
    let store = state.store.clone();
    let r = blocking(move || visit::decide(store.as_ref(), &inst, id, &raw, Utc::now())).await?;
    match r {
        Ok(_) => Ok(see_other(&format!("/ui/desk/visits/{id}#decision"))),
        Err(e) => visit_error(&state, &s, id, &step, &e).await,
    }
}

async fn visit_error(
    state: &UiState,
    s: &Session,
    id: i64,
    step: &str,
    e: &visit::ClinicError,
) -> Result<Response, UiError> {
    let errors = match e {
        visit::ClinicError::Registry(RegistryError::NotFound) => return Err(UiError::NotFound),
        visit::ClinicError::Registry(r) if is_input(r) => FieldErrors::from_registry(r),
        visit::ClinicError::Registry(r) => {
            let mut f = FieldErrors::default();
            f.add("", &page::error_text(r));
            f
        }
        visit::ClinicError::Corrupt(_) => return Err(UiError::Internal),
        _ => {
            let mut f = FieldErrors::default();
            f.add("", &e.to_string());
            f
        }
    };
    let (_, v) = load_visit(state, s, &id.to_string()).await?;
    Ok((StatusCode::BAD_REQUEST, visit_markup(s, &v, step, &errors)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ContactForm {
    contacted_on: Option<String>,
}

/// `POST /ui/desk/visits/{id}/contact`.
pub async fn contact(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<ContactForm>,
) -> Result<Response, UiError> {
    let (id, _) = load_visit(&state, &s, &id).await?;
    let inst = s.institution()?;
    let on = match onshi_core::parse_iso_date(
        "contacted_on",
        &present(&form.contacted_on).unwrap_or_default(),
    ) {
        Ok(d) => d,
        Err(e) => {
            return visit_error(&state, &s, id, "contact", &RegistryError::from(e).into()).await;
        }
    };
    let store = state.store.clone();
    match blocking(move || visit::record_contact(store.as_ref(), &inst, id, on, Utc::now())).await?
    {
        Ok(_) => Ok(see_other(&format!("/ui/desk/visits/{id}#contact"))),
        Err(e) => visit_error(&state, &s, id, "contact", &e).await,
    }
}

// ---- 被保険者資格申立書 ----

const DECL_FIELDS: [(&str, &str); 12] = [
    ("insurance_type", "保険種別"),
    ("insurer_name", "保険者等名称"),
    ("ratio", "一部負担金の割合"),
    ("name", "氏名"),
    ("kana", "フリガナ"),
    ("birth_date", "生年月日"),
    ("sex", "性別"),
    ("address", "住所"),
    ("phone", "連絡先電話番号"),
    ("employer", "事業所名（※1）"),
    ("declared_on", "記入日"),
    ("signature", "署名"),
];

/// The form as posted (every field text; the checkbox is "on").
#[derive(Debug, Default, Clone, Deserialize)]
pub struct DeclForm {
    has_valid_card: Option<String>,
    insurance_type: Option<String>,
    insurer_name: Option<String>,
    employer: Option<String>,
    card_issued: Option<String>,
    ratio: Option<String>,
    name: Option<String>,
    kana: Option<String>,
    birth_date: Option<String>,
    sex: Option<String>,
    address: Option<String>,
    residence: Option<String>,
    declared_on: Option<String>,
    signature: Option<String>,
    signer_relation: Option<String>,
    phone: Option<String>,
}

fn snake<T: serde::Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

impl DeclForm {
    fn to_raw(&self) -> RawDeclaration {
        RawDeclaration {
            has_valid_card: Some(self.has_valid_card.as_deref() == Some("on")),
            insurance_type: present(&self.insurance_type),
            insurer_name: present(&self.insurer_name),
            employer: present(&self.employer),
            card_issued: present(&self.card_issued),
            ratio: present(&self.ratio),
            name: present(&self.name),
            kana: present(&self.kana),
            birth_date: present(&self.birth_date),
            sex: present(&self.sex),
            address: present(&self.address),
            residence: present(&self.residence),
            declared_on: present(&self.declared_on),
            signature: present(&self.signature),
            signer_relation: present(&self.signer_relation),
            phone: present(&self.phone),
        }
    }

    fn from_declaration(d: &Declaration) -> Self {
        DeclForm {
            has_valid_card: (d.has_valid_card == Some(true)).then(|| "on".into()),
            insurance_type: d.insurance_type.as_ref().and_then(snake),
            insurer_name: d.insurer_name.clone(),
            employer: d.employer.clone(),
            card_issued: d.card_issued.as_ref().and_then(snake),
            ratio: d.ratio.map(|r| match r {
                DeclaredRatio::Ratio(r) => r.percent().to_string(),
                DeclaredRatio::Unknown => "unknown".into(),
            }),
            name: d.name.as_ref().map(ToString::to_string),
            kana: d.kana.as_ref().map(ToString::to_string),
            birth_date: d.birth_date.map(|b| b.to_string()),
            sex: d.sex.as_ref().and_then(snake),
            address: d.address.clone(),
            residence: d.residence.clone(),
            declared_on: d.declared_on.map(|d| d.to_string()),
            signature: d.signature.clone(),
            signer_relation: d.signer_relation.clone(),
            phone: d.phone.clone(),
        }
    }

    fn from_visit(v: &visit::VisitView) -> Self {
        let p = v.record.patient.clone().unwrap_or_default();
        let q = v
            .record
            .check
            .as_ref()
            .and_then(|c| c.qualification.clone());
        DeclForm {
            name: p.name.or_else(|| q.as_ref().map(|q| q.name.clone())),
            kana: p.kana.or_else(|| q.as_ref().map(|q| q.kana.clone())),
            birth_date: p
                .birth_date
                .or_else(|| q.as_ref().map(|q| q.birth_date_wareki.clone())),
            sex: p.sex.or_else(|| q.as_ref().map(|q| q.sex.clone())),
            address: p.address.or_else(|| q.as_ref().map(|q| q.address.clone())),
            declared_on: Some(v.record.visited_on.to_string()),
            has_valid_card: Some("on".into()),
            ..DeclForm::default()
        }
    }
}

fn radios(name: &str, current: &Option<String>, options: &[(&str, &str)]) -> Markup {
    html! {
        span.radios {
            @for (v, l) in options {
                label.radio {
                    input type="radio" name=(name) value=(v) checked[current.as_deref() == Some(*v)];
                    (l)
                }
            }
        }
    }
}

fn declaration_page_markup(
    s: &Session,
    id: i64,
    f: &DeclForm,
    errors: &FieldErrors,
    saved: Option<&[String]>,
) -> Markup {
    let e = errors;
    let text = |name: &str, label: &str, v: &Option<String>, ph: &str| {
        field(
            e,
            name,
            label,
            html! { input type="text" id=(name) name=(name) value=(val(v)) placeholder=(ph); },
        )
    };
    layout(
        s,
        "被保険者資格申立書",
        html! {
            h1 { "被保険者資格申立書（受付 No." (id) "）" }
            p.hint { "患者さんに聞き取りながら、分かる範囲で記入してください（すべての項目が空欄でも保存できます）。記入内容は請求にのみ使用し、支払後に削除されます。" }
            @if let Some(missing) = saved {
                div.ok-box #saved {
                    p { "保存しました。" a href={ "/ui/desk/visits/" (id) "/declaration.pdf" } #pdf-link { "申立書を印刷（PDF）" } "　" a href={ "/ui/desk/visits/" (id) "#step-declaration" } { "受付に戻って負担割合を決める" } }
                    @if !missing.is_empty() {
                        p { "未記入: "
                            @for m in missing { span.tag { (DECL_FIELDS.iter().find(|(k, _)| k == m).map_or(m.as_str(), |(_, l)| l)) } }
                        }
                    }
                }
            }
            (form_errors(e, &["insurance_type", "insurer_name", "employer", "card_issued", "ratio", "name", "kana", "birth_date", "sex", "address", "residence", "declared_on", "signature", "signer_relation", "phone"]))
            form.declaration method="post" action={ "/ui/desk/visits/" (id) "/declaration" } {
                (s.csrf_input())
                fieldset {
                    legend { "保険の資格" }
                    div.field {
                        label.radio { input type="checkbox" name="has_valid_card" checked[f.has_valid_card.is_some()]; "有効な保険証（資格確認書）の交付を受けている" }
                    }
                    (field(e, "insurance_type", "保険種別", radios("insurance_type", &f.insurance_type, &[("shaho", "社保"), ("kokuho", "国保"), ("kouki", "後期"), ("other", "その他"), ("unknown", "わからない")])))
                    (text("insurer_name", "保険者等名称", &f.insurer_name, "例: 全国健康保険協会東京支部"))
                    (text("employer", "事業所名（社保・国保組合・その他・わからないの場合）", &f.employer, ""))
                    (field(e, "card_issued", "保険証の交付を受けた時期", radios("card_issued", &f.card_issued, &[("within_month", "1ヶ月以内"), ("earlier", "それより前"), ("unknown", "わからない")])))
                    (field(e, "ratio", "一部負担金の割合（70歳以上・後期は必須）", radios("ratio", &f.ratio, &[("30", "3割"), ("20", "2割"), ("10", "1割"), ("unknown", "わからない")])))
                }
                fieldset {
                    legend { "患者" }
                    div.row {
                        (text("name", "氏名", &f.name, "山田 太郎"))
                        (text("kana", "フリガナ", &f.kana, "ヤマダ タロウ"))
                    }
                    div.row {
                        (text("birth_date", "生年月日（和暦）", &f.birth_date, "昭和55年4月1日"))
                        (field(e, "sex", "性別", radios("sex", &f.sex, &[("male", "男"), ("female", "女")])))
                    }
                    (text("address", "住所（保険証等に記載の住所）", &f.address, ""))
                    (text("residence", "居所（住所と異なる場合）", &f.residence, ""))
                }
                fieldset {
                    legend { "記入" }
                    div.row {
                        (field(e, "declared_on", "記入日", html! { input type="date" name="declared_on" value=(val(&f.declared_on)); }))
                        (text("signature", "署名", &f.signature, ""))
                        (text("signer_relation", "患者との関係（代筆の場合）", &f.signer_relation, ""))
                    }
                    (text("phone", "連絡先電話番号", &f.phone, "03-1234-5678"))
                }
                button type="submit" { "申立書を保存" }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /ui/desk/visits/{id}/declaration`.
pub async fn declaration_page(
    State(state): State<UiState>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Result<Markup, UiError> {
    let (id, v) = load_visit(&state, &s, &id).await?;
    let inst = s.institution()?;
    let store = state.store.clone();
    let d = blocking(move || visit::declaration(store.as_ref(), &inst, id)).await?;
    let (form, missing) = match d {
        Ok(d) => (DeclForm::from_declaration(&d.declaration), Some(d.missing)),
        Err(visit::ClinicError::NoDeclaration) => (DeclForm::from_visit(&v), None),
        Err(e) => return Err(e.into()),
    };
    let saved = q.saved.is_some().then_some(missing).flatten();
    Ok(declaration_page_markup(
        &s,
        id,
        &form,
        &FieldErrors::default(),
        saved.as_deref(),
    ))
}

/// `POST /ui/desk/visits/{id}/declaration`: stores it (partly filled is fine).
pub async fn save_declaration(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<DeclForm>,
) -> Result<Response, UiError> {
    let (id, _) = load_visit(&state, &s, &id).await?;
    let inst = s.institution()?;
    let raw = form.to_raw();
    let store = state.store.clone();
    let r = blocking(move || visit::put_declaration(store.as_ref(), &inst, id, &raw, Utc::now()))
        .await?;
    match r {
        Ok(_) => Ok(see_other(&format!(
            "/ui/desk/visits/{id}/declaration?saved=1#saved"
        ))),
        Err(visit::ClinicError::Registry(e)) if is_input(&e) => Ok((
            StatusCode::BAD_REQUEST,
            declaration_page_markup(&s, id, &form, &FieldErrors::from_registry(&e), None),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

fn pdf_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("inline; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("inline")),
            ),
        ],
        bytes,
    )
        .into_response()
}

fn pdf_error(e: onshi_clinic::pdf::PdfError) -> UiError {
    match e {
        onshi_clinic::pdf::PdfError::FontUnavailable(_) => {
            UiError::Message(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        onshi_clinic::pdf::PdfError::Render(_) => {
            tracing::error!(error = %e, "pdf rendering failed");
            UiError::Internal
        }
    }
}

/// `GET /ui/desk/visits/{id}/declaration.pdf`.
pub async fn declaration_pdf(
    State(state): State<UiState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let store = state.store.clone();
    let bytes = blocking(move || {
        let d = visit::declaration(store.as_ref(), &inst, id)?;
        let fonts = Fonts::shared().map_err(pdf_error)?;
        render_pdf(Some(&d.declaration), &fonts).map_err(pdf_error)
    })
    .await??;
    Ok(pdf_response(bytes, &format!("moushitatesho-{id}.pdf")))
}

/// `GET /ui/desk/forms/declaration.pdf`: the blank form.
pub async fn blank_pdf(s: Session) -> Result<Response, UiError> {
    s.institution()?;
    let bytes = blocking(|| {
        let fonts = Fonts::shared().map_err(pdf_error)?;
        render_pdf(None, &fonts).map_err(pdf_error)
    })
    .await??;
    Ok(pdf_response(bytes, "moushitatesho.pdf"))
}

// ---- 資格確認履歴, 事後確認, reader mode, faults ----

/// `GET /ui/desk/history?date=`: the day's 資格確認履歴.
pub async fn history(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<DayQuery>,
) -> Result<Markup, UiError> {
    let inst = s.institution()?;
    let day = day_of(&q)?;
    let store = state.store.clone();
    let entries = blocking(move || check::history(store.as_ref(), &inst, day)).await??;
    let text = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    Ok(layout(
        &s,
        "資格確認履歴",
        html! {
            h1 { "資格確認履歴" }
            form.inline method="get" action="/ui/desk/history" {
                label for="date" { "資格確認日" }
                input #date type="date" name="date" value=(day);
                button type="submit" { "表示" }
            }
            @if entries.is_empty() {
                p.muted { (day) " の照会はありません。" }
            } @else {
                table.list #history {
                    thead { tr { th { "時刻" } th { "照会" } th { "結果" } th { "氏名" } th { "保険者番号" } th { "記号・番号・枝番" } } }
                    tbody {
                        @for h in &entries {
                            @let q = h.answer.get("qualification").filter(|q| !q.is_null());
                            tr {
                                td { (page::local_time(&h.checked_at)) }
                                td { (match h.reference.as_str() { "card" => "カード", "numbers" => "記号番号", "failure_mode" => "障害時モード", o => o }) }
                                td {
                                    @if let Some(l) = &h.validity_label { span.(page::validity_class(h.validity.unwrap_or(0))) { (l) } }
                                    @else if let Some(c) = &h.error_code { span.refused { (page::refusal_text(c)) } }
                                }
                                td { @if let Some(q) = q { (text(q, "name")) } }
                                td.num { @if let Some(q) = q { (text(q, "insurer_number")) } }
                                td.num { @if let Some(q) = q { (text(q, "insured_symbol")) " " (text(q, "insured_number")) " " (text(q, "insured_branch")) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct RanQuery {
    ran: Option<u32>,
    done: Option<u32>,
}

/// `GET /ui/desk/rechecks`: the visits waiting for the deferred re-check.
pub async fn rechecks(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<RanQuery>,
) -> Result<Markup, UiError> {
    let inst = s.institution()?;
    let store = state.store.clone();
    let pending = blocking(move || visit::pending(store.as_ref(), &inst)).await??;
    Ok(layout(
        &s,
        "事後確認",
        html! {
            h1 { "事後確認（再照会）" }
            p.hint { "受付で資格が確認できなかった受診を、システムが使えるようになった後に受診日付で照会し直します（保発0710第1号 3(1)）。有効と確認できた受診はレセプトにその資格を使います。" }
            @if let Some(n) = q.ran {
                p.ok-box #ran { (n) "件を再照会しました（うち確認済 " (q.done.unwrap_or(0)) "件）。" }
            }
            form method="post" action="/ui/desk/rechecks/run" {
                (s.csrf_input())
                button type="submit" { "待ちの受診をすべて再照会する" }
            }
            @if pending.is_empty() {
                p.muted { "事後確認待ちの受診はありません。" }
            } @else {
                table.list #pending {
                    thead { tr { th { "No." } th { "受診日" } th { "氏名" } th { "受付時の結果" } th { "再照会" } } }
                    tbody {
                        @for v in &pending {
                            tr {
                                td { a href={ "/ui/desk/visits/" (v.id) } { (v.id) } }
                                td { (v.record.visited_on) }
                                td { (visit_name(v)) }
                                td { (visit_result(v)) }
                                td { @if v.record.recheck.attempts > 0 { (v.record.recheck.attempts) "回 " (v.record.recheck.last_result.as_deref().map(page::refusal_text).unwrap_or_default()) } @else { "未実施" } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `POST /ui/desk/rechecks/run`.
pub async fn run_rechecks(
    State(state): State<UiState>,
    Posted { session: s, .. }: Posted<crate::session::Empty>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let store = state.store.clone();
    let out = blocking(move || visit::run_rechecks(store.as_ref(), &inst, Utc::now())).await??;
    let done = out.iter().filter(|o| o.recheck_state == "done").count();
    Ok(see_other(&format!(
        "/ui/desk/rechecks?ran={}&done={done}",
        out.len()
    )))
}

#[derive(Debug, Default, Deserialize)]
pub struct ModeForm {
    mode: Option<String>,
    staff_id: Option<String>,
}

/// `POST /ui/desk/reader-mode`: 目視確認モード on or off (audited).
pub async fn reader_mode(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<ModeForm>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let store = state.store.clone();
    let mode = present(&form.mode).unwrap_or_default();
    let staff = present(&form.staff_id);
    let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let r = blocking(move || reader::set_mode(store.as_ref(), &inst, &mode, staff.as_deref(), &at))
        .await?;
    match r {
        Ok(()) => Ok(see_other("/ui/desk#reader-mode")),
        Err(e) if is_input(&e) => {
            desk_with_errors(
                &state,
                &s,
                "mode",
                &VisitForm::default(),
                FieldErrors::from_registry(&e),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct FaultForm {
    kind: Option<String>,
    action: Option<String>,
}

/// `POST /ui/desk/faults`: fault injection for rehearsals (this institution only).
pub async fn faults(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<FaultForm>,
) -> Result<Response, UiError> {
    let inst = s.institution()?;
    let store = state.store.clone();
    let clear = form.action.as_deref() == Some("clear");
    let kind = present(&form.kind).unwrap_or_default();
    let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let r = blocking(move || {
        if clear {
            reader::clear_fault(store.as_ref(), &inst).map(|_| ())
        } else {
            reader::set_fault(store.as_ref(), &inst, &kind, None, &at)
        }
    })
    .await?;
    match r {
        Ok(()) => Ok(see_other("/ui/desk")),
        Err(e) if is_input(&e) => {
            desk_with_errors(
                &state,
                &s,
                "fault",
                &VisitForm::default(),
                FieldErrors::from_registry(&e),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
