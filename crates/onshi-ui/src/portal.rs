//! The other roles: the insurer portal (registrations, mismatches, the
//! 無効/なし report, member notices), the payer console (a claims file → the
//! run), the operator (activation requests, overdue usage reports) and the
//! patient's self view.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use maud::{Markup, html};
use onshi_payer::claim::parse_jsonl;
use onshi_payer::run::{Fate, Policy, RunOutcome};
use onshi_registry::insurer::{self as ins};
use onshi_registry::me::self_view;
use onshi_registry::notice::{notice_for, render_text};
use onshi_registry::{Caller, RegistryError};
use serde::Deserialize;

use crate::failure::status_label;
use crate::page::{self, FieldErrors, field, form_errors, layout};
use crate::session::{Posted, Session, UiError, check_multipart, see_other};
use crate::{UiState, blocking};

fn present(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn date_or(v: &Option<String>, field: &'static str, d: NaiveDate) -> Result<NaiveDate, UiError> {
    match present(v) {
        None => Ok(d),
        Some(t) => onshi_core::parse_iso_date(field, &t)
            .map_err(|e| UiError::BadRequest(format!("{}: {}", page::field_label(field), e.kind))),
    }
}

// ---- insurer ----

#[derive(Debug, Default, Deserialize)]
pub struct InsurerQuery {
    view: Option<String>,
    from: Option<String>,
    to: Option<String>,
    offset: Option<u32>,
}

/// `GET /ui/insurer[?view=mismatch|report&from=&to=]`.
pub async fn insurer(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<InsurerQuery>,
) -> Result<Markup, UiError> {
    let Caller::Insurer(number) = s.caller.clone() else {
        return Err(UiError::Forbidden);
    };
    let view = present(&q.view).unwrap_or_else(|| "all".into());
    let today = page::today();
    let from = date_or(&q.from, "from", today - chrono::Days::new(30))?;
    let to = date_or(&q.to, "to", today)?;
    let offset = q.offset.unwrap_or(0);
    let store = state.store.clone();
    let n = number.clone();
    let v = view.clone();
    let (records, report, differences) = blocking(move || {
        let records = ins::records(store.as_ref(), &n, v == "mismatch", 100, offset)?;
        let report = if v == "report" {
            Some(ins::report(store.as_ref(), &n, from, to)?)
        } else {
            None
        };
        let differences = if v == "differences" {
            Some(onshi_payer::memory::ratio_differences(store.as_ref(), &n)?)
        } else {
            None
        };
        Ok::<_, RegistryError>((records, report, differences))
    })
    .await??;
    let tab = |key: &str, label: &str| {
        html! { a.tab.active[view == key] href={ "/ui/insurer?view=" (key) } { (label) } }
    };
    Ok(layout(
        &s,
        "保険者ポータル",
        html! {
            h1 { "保険者ポータル" }
            nav.tabs { (tab("all", "登録一覧")) (tab("mismatch", "要修正（基本4情報の不一致）")) (tab("report", "資格(無効)・資格情報なしの報告")) (tab("differences", "負担割合の差額（70歳以上）")) }
            @if let Some(diffs) = &differences {
                p.hint { "保険証等と異なる負担割合で窓口負担を受けた70歳以上の方の差額です（保発0710第1号 2(2)※）。返戻はせず、保険者が患者と精算します。" }
                @if diffs.is_empty() { p.muted { "差額はありません。" } } @else {
                    table.list #differences {
                        thead { tr { th { "医療機関" } th { "診療年月" } th { "レセプト" } th { "氏名" } th { "窓口" } th { "本来" } th { "差額" } th { "精算" } } }
                        tbody { @for d in diffs {
                            @let diff = d.difference.get("difference_yen").and_then(|v| v.as_i64()).unwrap_or(0);
                            tr {
                                td.num { (d.institution_code) }
                                td { (d.claim_month) }
                                td.num { (d.claim_id) }
                                td { (d.difference.get("patient_name").and_then(|v| v.as_str()).unwrap_or("")) }
                                td.num { (d.difference.get("charged_percent").and_then(|v| v.as_u64()).unwrap_or(0)) "%" }
                                td.num { (d.difference.get("registered_percent").and_then(|v| v.as_u64()).unwrap_or(0)) "%" }
                                td.num { @if diff > 0 { "請求 " (page::yen(diff.unsigned_abs())) } @else { "返還 " (page::yen(diff.unsigned_abs())) } }
                                td {
                                    @if let Some(st) = &d.settlement {
                                        span.(if st.done { "ok" } else { "warn" }) { (if st.kind == "claim" { "請求" } else { "返還" }) " " (page::yen(st.yen))
                                            @if let Some(on) = st.settled_on { "（" (on) "）" } @if st.done { " 済" } @else { " 未了" } }
                                    }
                                    form.inline method="post" action="/ui/insurer/differences/settle" {
                                        (s.csrf_input())
                                        input type="hidden" name="institution_code" value=(d.institution_code);
                                        input type="hidden" name="claim_month" value=(d.claim_month);
                                        input type="hidden" name="claim_id" value=(d.claim_id);
                                        input type="hidden" name="kind" value=(if diff > 0 { "claim" } else { "refund" });
                                        input type="number" name="yen" min="0" value=(diff.unsigned_abs()) aria-label="金額";
                                        input type="date" name="settled_on" aria-label="精算日";
                                        label { input type="checkbox" name="done" value="true"; "済" }
                                        button type="submit" { "記録" }
                                    }
                                }
                            }
                        } }
                    }
                }
            } @else if let Some(r) = &report {
                form.inline method="get" action="/ui/insurer" {
                    input type="hidden" name="view" value="report";
                    label { "期間 " input type="date" name="from" value=(r.from); }
                    label { "〜 " input type="date" name="to" value=(r.to); }
                    button type="submit" { "集計" }
                }
                table.list #report {
                    thead { tr { th { "日付" } th { "カード照会" } th { "資格(無効)" } th { "資格情報なし" } th { "割合" } } }
                    tbody {
                        @for d in &r.days {
                            tr { td { (d.day) } td { (d.checks) } td { (d.invalid) } td { (d.no_information) } td { (format!("{:.1}%", d.failure_rate * 100.0)) } }
                        }
                    }
                }
                @if r.days.is_empty() { p.muted { "この期間の照会はありません。" } }
                h2 { "初診より後に届いた登録（登録の遅れ）" }
                @if r.late_registrations.is_empty() { p.muted { "ありません。" } } @else {
                    table.list {
                        thead { tr { th { "ID" } th { "照会キー" } th { "資格取得日" } th { "初回受診" } th { "登録" } th { "遅れ" } } }
                        tbody {
                            @for l in &r.late_registrations {
                                tr { td { (l.id) } td { (l.person_ref) } td { (l.acquired_on) } td { (page::local_time(&l.first_visit_at)) } td { (page::local_time(&l.registered_at)) } td { (l.lag_days) "日" } }
                            }
                        }
                    }
                }
            } @else {
                @if view == "mismatch" {
                    p.hint { "住民記録と基本4情報（氏名・カナ・生年月日・性別・住所）が一致しない登録です。修正されるまで資格確認にも本人の画面にも表示されません。" }
                }
                @if records.is_empty() { p.muted { "該当する登録はありません。" } } @else {
                    table.list #records {
                        thead { tr { th { "ID" } th { "氏名" } th { "生年月日" } th { "記号・番号・枝番" } th { "資格取得日" } th { "喪失日" } th { "照合" } th {} } }
                        tbody {
                            @for r in &records {
                                tr.mismatch[r.match_status != "matched"] {
                                    td { (r.id) }
                                    td { (r.name) br; small { (r.kana) } }
                                    td { (page::wareki(r.birth_date)) }
                                    td.num { (page::opt(&r.insured_symbol)) " " (r.insured_number) " " (page::opt(&r.insured_branch)) }
                                    td { (r.acquired_on) }
                                    td { @if let Some(l) = r.lost_on { (l) } }
                                    td { @if r.match_status == "matched" { "一致" } @else { "不一致: " (r.mismatch_labels.join("・")) } }
                                    td { a href={ "/ui/insurer/records/" (r.id) } { "詳細・お知らせ" } }
                                }
                            }
                        }
                    }
                    @if records.len() == 100 { p { a href={ "/ui/insurer?view=" (view) "&offset=" (offset + 100) } { "次の100件" } } }
                }
            }
        },
    ))
}

/// `GET /ui/insurer/records/{id}`: one registration, its revisions and the
/// member notice (notice §5(1)).
pub async fn insurer_record(
    State(state): State<UiState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Markup, UiError> {
    let Caller::Insurer(number) = s.caller.clone() else {
        return Err(UiError::Forbidden);
    };
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let store = state.store.clone();
    let today = page::today();
    let (detail, notice) = blocking(move || {
        let detail = ins::record(store.as_ref(), &number, id)?;
        let rec = store
            .insurer_record(&number, id)?
            .ok_or(RegistryError::NotFound)?;
        let notice = notice_for(&rec, today).map(|n| render_text(&n));
        Ok::<_, RegistryError>((detail, notice))
    })
    .await??;
    let r = &detail.record;
    Ok(layout(
        &s,
        "登録の詳細",
        html! {
            h1 { "登録 ID " (r.id) }
            table.qual {
                tr { th { "氏名" } td { (r.name) "（" (r.kana) "）" } }
                tr { th { "生年月日" } td { (page::wareki(r.birth_date)) } }
                tr { th { "性別" } td { (page::sex(&r.sex)) } }
                tr { th { "住所" } td { (r.address) } }
                tr { th { "保険者番号" } td.num { (r.insurer_number) " " (r.insurer_name) } }
                tr { th { "記号・番号・枝番" } td.num { (page::opt(&r.insured_symbol)) " " (r.insured_number) " " (page::opt(&r.insured_branch)) } }
                tr { th { "資格取得日・喪失日" } td { (r.acquired_on) " 〜 " @if let Some(l) = r.lost_on { (l) } } }
                tr { th { "照合" } td { @if r.match_status == "matched" { "一致" } @else { "不一致: " (r.mismatch_labels.join("・")) } } }
                tr { th { "改訂" } td { (detail.revisions.len()) "件" } }
            }
            h2 { "加入者へのお知らせ（登録状況のお知らせ）" }
            @match &notice {
                Ok(text) => { pre.notice #notice { (text) } }
                Err(e) => { p.error-box { (page::error_text(e)) } }
            }
            p { a href="/ui/insurer" { "一覧に戻る" } }
        },
    ))
}

// ---- payer ----

fn payer_form(s: &Session, errors: &FieldErrors) -> Markup {
    html! {
        section.card-form #upload {
            h2 { "請求ファイルの取り込み" }
            form method="post" action="/ui/payer/runs" enctype="multipart/form-data" {
                (s.csrf_input())
                (form_errors(errors, &["file", "as_of"]))
                (field(errors, "file", "請求ファイル（JSON Lines または RECEIPTC.UKE）", html! { input #file type="file" name="file" accept=".jsonl,.json,.uke,.UKE" required; }))
                div.row {
                    (field(errors, "as_of", "判定日（必須）", html! { input #as_of type="date" name="as_of" value=(page::today()) required; }))
                    (field(errors, "reference_months", "按分の参照月数", html! { input type="number" name="reference_months" min="1" max="24" value="1"; }))
                }
                div.field { label.radio { input type="checkbox" name="bill_written_when_unregistered"; "新しい資格が未登録の旧資格請求は返戻せず記載の保険者に請求する" } }
                button type="submit" { "審査支払を実行" }
            }
        }
    }
}

/// `GET /ui/payer`.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    offset: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SettleForm {
    institution_code: Option<String>,
    claim_month: Option<String>,
    claim_id: Option<String>,
    kind: Option<String>,
    yen: Option<String>,
    settled_on: Option<String>,
    done: Option<String>,
}

/// `POST /ui/insurer/differences/settle`: the insurer's settlement with the
/// patient of one ratio difference (notice §2(2) ※).
pub async fn insurer_settle(
    State(state): State<UiState>,
    Posted { session: s, form }: Posted<SettleForm>,
) -> Result<Response, UiError> {
    let Caller::Insurer(number) = s.caller.clone() else {
        return Err(UiError::Forbidden);
    };
    let yen = match form.yen.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| UiError::BadRequest("金額は0以上の整数で入力してください".into()))?,
        ),
    };
    let raw = onshi_payer::memory::RawSettlement {
        institution_code: form.institution_code,
        claim_month: form.claim_month,
        claim_id: form.claim_id,
        kind: form.kind,
        yen,
        settled_on: form.settled_on.filter(|d| !d.trim().is_empty()),
        done: Some(form.done.as_deref() == Some("true")),
    };
    let who = onshi_registry::access::actor(&s.caller);
    let store = state.store.clone();
    blocking(move || {
        onshi_payer::memory::settle(
            store.as_ref(),
            &number,
            &raw,
            &who,
            &Utc::now().to_rfc3339(),
        )
    })
    .await?
    .map_err(|e| match e {
        onshi_payer::memory::MemoryError::Invalid { message, .. } => UiError::BadRequest(message),
        onshi_payer::memory::MemoryError::Store(e) => RegistryError::from(e).into(),
    })?;
    Ok(see_other("/ui/insurer?view=differences"))
}

/// `GET /ui/payer`: the upload form, the institutions' submissions to run
/// on, and the stored runs, newest first, 20 a page.
pub async fn payer(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<PageQuery>,
) -> Result<Markup, UiError> {
    if s.caller != Caller::Payer {
        return Err(UiError::Forbidden);
    }
    let offset = q.offset.unwrap_or(0);
    let store = state.store.clone();
    let (runs, subs) = blocking(move || {
        let runs = onshi_payer::memory::runs(store.as_ref(), 21, offset)?;
        let subs = store.submissions(None, 20, 0)?;
        Ok::<_, onshi_store::StoreError>((runs, subs))
    })
    .await?
    .map_err(RegistryError::from)?;
    Ok(layout(
        &s,
        "審査支払",
        html! {
            h1 { "審査支払機関　請求の振替・特定・按分" }
            (payer_form(&s, &FieldErrors::default()))
            (submissions_markup(&s, &subs))
            (runs_markup(&runs, offset))
        },
    ))
}

fn submissions_markup(s: &Session, subs: &[onshi_store::SubmissionRow]) -> Markup {
    html! {
        section #submissions {
            h2 { "医療機関からの提出" }
            @if subs.is_empty() { p.muted { "提出はまだありません。" } } @else {
                table.list {
                    thead { tr { th { "提出" } th { "医療機関" } th { "診療年月" } th { "形式" } th { "件数" } th { "日時" } th { "審査" } } }
                    tbody { @for x in subs {
                        tr {
                            td.num { (x.id) }
                            td.num { (x.institution) }
                            td { (x.claim_month) }
                            td { (x.format) }
                            td.num { (x.claims) }
                            td { (page::local_time(&x.at)) }
                            td {
                                form.inline method="post" action={ "/ui/payer/submissions/" (x.id) "/run" } {
                                    (s.csrf_input())
                                    input type="date" name="as_of" value=(page::today()) required;
                                    button type="submit" { "この提出で審査" }
                                }
                            }
                        }
                    } }
                }
            }
        }
    }
}

fn runs_markup(runs: &[onshi_payer::memory::RunSummary], offset: u32) -> Markup {
    let more = runs.len() > 20;
    html! {
        section #runs {
            h2 { "これまでの審査" }
            @if runs.is_empty() { p.muted { "保存された審査はありません。" } } @else {
                table.list {
                    thead { tr { th { "番号" } th { "判定日" } th { "実行日時" } th { "入力" } th { "請求" } th { "振替" } th { "特定" } th { "按分" } th { "保留" } th { "返戻" } } }
                    tbody { @for r in runs.iter().take(20) {
                        @let n = |k: &str| r.summary.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
                        tr {
                            td { a href={ "/ui/payer/runs/" (r.id) } { (r.id) } }
                            td { (r.as_of) }
                            td { (page::local_time(&r.at)) }
                            td { @for i in r.inputs.as_array().into_iter().flatten() {
                                (i.get("label").and_then(|v| v.as_str()).unwrap_or("")) " " } }
                            td.num { (n("claims")) }
                            td.num { (n("transferred") + n("split")) }
                            td.num { (n("identified")) }
                            td.num { (n("apportioned")) }
                            td.num { (n("pending_inquiry") + n("unapportionable")) }
                            td.num { (n("returned")) }
                        }
                    } }
                }
                nav.pages {
                    @if offset > 0 { a #prev href={ "/ui/payer?offset=" (offset.saturating_sub(20)) } { "新しい審査へ" } }
                    @if more { a #next href={ "/ui/payer?offset=" (offset + 20) } { "以前の審査へ" } }
                }
            }
        }
    }
}

/// `GET /ui/payer/runs/{id}`: a stored run, as it was answered.
pub async fn payer_stored_run(
    State(state): State<UiState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Markup, UiError> {
    if s.caller != Caller::Payer {
        return Err(UiError::Forbidden);
    }
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let store = state.store.clone();
    let (summary, text) = blocking(move || onshi_payer::memory::stored_run(store.as_ref(), id))
        .await?
        .map_err(RegistryError::from)?
        .ok_or(UiError::NotFound)?;
    let outcome: RunOutcome = serde_json::from_str(&text).map_err(|_| UiError::Internal)?;
    Ok(layout(
        &s,
        "審査の結果",
        html! {
            h1 { "審査 " (summary.id) "（" (page::local_time(&summary.at)) "）" }
            p.downloads {
                a #download-outcome href={ "/ui/payer/runs/" (id) "/outcome.json" } { "結果（JSON）をダウンロード" }
                " "
                a #download-bills href={ "/ui/payer/runs/" (id) "/bills.csv" } { "請求書（CSV）をダウンロード" }
            }
            (run_markup(&outcome))
            p { a href="/ui/payer" { "審査支払へ戻る" } }
        },
    ))
}

/// `GET /ui/payer/runs/{id}/{outcome.json|bills.csv}`: downloads.
pub async fn payer_download(
    State(state): State<UiState>,
    s: Session,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, UiError> {
    if s.caller != Caller::Payer {
        return Err(UiError::Forbidden);
    }
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let store = state.store.clone();
    let (_, text) = blocking(move || onshi_payer::memory::stored_run(store.as_ref(), id))
        .await?
        .map_err(RegistryError::from)?
        .ok_or(UiError::NotFound)?;
    let (body, kind) = match file.as_str() {
        "outcome.json" => (text.into_bytes(), "application/json"),
        "bills.csv" => {
            let outcome: RunOutcome = serde_json::from_str(&text).map_err(|_| UiError::Internal)?;
            let mut csv = String::from("審査支払機関,保険者番号,件数,請求額,按分額,合計\r\n");
            for b in &outcome.bills {
                csv.push_str(&format!(
                    "{},{},{},{},{},{}\r\n",
                    b.payer, b.insurer, b.claims, b.claimed_yen, b.apportioned_yen, b.total_yen
                ));
            }
            (csv.into_bytes(), "text/csv; charset=utf-8")
        }
        _ => return Err(UiError::NotFound),
    };
    let disposition = format!("attachment; filename=\"run-{id}-{file}\"");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, kind.to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct AsOfForm {
    as_of: Option<String>,
}

/// `POST /ui/payer/submissions/{id}/run`: the run on one stored submission.
pub async fn payer_run_submission(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<AsOfForm>,
) -> Result<Response, UiError> {
    if s.caller != Caller::Payer {
        return Err(UiError::Forbidden);
    }
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let as_of = onshi_core::parse_iso_date("as_of", form.as_of.as_deref().unwrap_or("").trim())
        .map_err(|e| UiError::BadRequest(e.kind.to_string()))?;
    let who = onshi_registry::access::actor(&s.caller);
    let store = state.store.clone();
    let run = blocking(move || {
        let (row, bytes) = store
            .submission(id)
            .map_err(RegistryError::from)?
            .ok_or(RegistryError::NotFound)?;
        let claims = if row.format == "uke" {
            onshi_uke::claims_for_run(&bytes).map_err(|e| UiError::BadRequest(e.to_string()))?
        } else {
            let text = String::from_utf8(bytes).map_err(|_| UiError::Internal)?;
            parse_jsonl(&text)
                .into_iter()
                .map(|(line, c)| (format!("{line:08}"), c))
                .collect()
        };
        let input = onshi_payer::memory::RunInput {
            label: format!("submission {id}"),
            digest: row.digest,
            submission_id: Some(id),
            claims,
        };
        onshi_payer::memory::run_and_store(
            store.as_ref(),
            as_of,
            vec![input],
            Policy::default(),
            &who,
            &chrono::Utc::now().to_rfc3339(),
        )
        .map_err(|e| UiError::from(RegistryError::from(e)))
    })
    .await??;
    Ok(crate::session::see_other(&format!(
        "/ui/payer/runs/{}",
        run.0
    )))
}

fn fate_text(f: &Fate) -> (String, String) {
    match f {
        Fate::Rejected { problem } => (
            "受付不可".into(),
            serde_json::to_string(problem).unwrap_or_default(),
        ),
        Fate::Billed {
            insurer,
            confirmation,
        } => (
            "請求".into(),
            format!("{insurer}（確認区分 {confirmation}）"),
        ),
        Fate::Transferred { from, to } => ("振替".into(), format!("{from} → {to}")),
        Fate::Split { from, shares } => (
            "分割".into(),
            format!(
                "{from} → {}",
                shares
                    .iter()
                    .map(|s| format!("{} {}", s.insurer, page::yen(s.yen)))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        ),
        Fate::Returned { reason } => ("返戻".into(), reason.clone()),
        Fate::Identified {
            insurer,
            person_ref,
        } => ("特定".into(), format!("{insurer}（{person_ref}）")),
        Fate::PendingInquiry {
            candidates,
            held_until,
            ..
        } => (
            "照会中（複数候補）".into(),
            format!("{}（{}まで保留）", candidates.join("、"), held_until),
        ),
        Fate::Apportioned { shares, reference } => (
            "按分".into(),
            format!(
                "{}（{reference}）",
                shares
                    .iter()
                    .map(|s| format!("{} {}", s.insurer, page::yen(s.yen)))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        ),
        Fate::Unapportionable { held_until, .. } => {
            ("按分不能（保留）".into(), format!("{held_until}まで保留"))
        }
    }
}

fn payer_label(p: &str) -> &str {
    match p {
        "shiharai_kikin" => "支払基金",
        "kokuhoren" => "国保連",
        o => o,
    }
}

fn run_markup(o: &RunOutcome) -> Markup {
    let s = &o.summary;
    html! {
        section.result #run {
            h2 { "結果（判定日 " (s.as_of) "）" }
            table.summary #summary {
                tr { th { "請求" } td { (s.claims) "件" } th { "受付不可" } td { (s.rejected) } }
                tr { th { "請求（変更なし）" } td { (s.billed) } th { "振替" } td { (s.transferred) } }
                tr { th { "分割" } td { (s.split) } th { "返戻" } td { (s.returned) } }
                tr { th { "不詳→特定" } td { (s.identified) } th { "照会中（複数候補）" } td { (s.pending_inquiry) } }
                tr { th { "按分" } td { (s.apportioned) } th { "按分不能" } td { (s.unapportionable) } }
                tr { th { "請求額合計" } td { (page::yen(s.total_claimed_yen)) } th { "保険者への請求額" } td { (page::yen(s.total_billed_yen)) } }
            }
            h3 { "保険者ごとの請求" }
            table.list #bills {
                thead { tr { th { "審査支払機関" } th { "保険者" } th { "件数" } th { "請求分" } th { "按分" } th { "合計" } } }
                tbody {
                    @for b in &o.bills {
                        tr { td { (payer_label(&b.payer)) } td.num { (b.insurer) } td { (b.claims) } td { (page::yen(b.claimed_yen)) } td { (page::yen(b.apportioned_yen)) } td { (page::yen(b.total_yen)) } }
                    }
                }
            }
            @if !o.ratio_differences.is_empty() {
                h3 { "70歳以上の負担割合の差額（保険者と患者で精算）" }
                table.list {
                    thead { tr { th { "保険者" } th { "請求" } th { "患者" } th { "窓口" } th { "登録" } th { "差額" } } }
                    tbody {
                        @for d in &o.ratio_differences {
                            tr { td.num { (d.insurer) } td { (d.claim_id) } td { (d.patient_name) } td { (page::ratio(d.charged_percent)) } td { (page::ratio(d.registered_percent)) } td { (d.difference_yen) "円" } }
                        }
                    }
                }
            }
            h3 { "請求ごとの結果" }
            table.list #claims {
                thead { tr { th { "請求ID" } th { "医療機関" } th { "診療月" } th { "請求額" } th { "結果" } th { "内容" } } }
                tbody {
                    @for c in o.report.iter().take(1000) {
                        @let (label, detail) = fate_text(&c.fate);
                        tr { td { (c.claim_id) } td.num { (c.institution_code) } td { (c.claim_month) } td { (page::yen(c.claimed_yen)) } td { (label) } td { (detail) } }
                    }
                }
            }
            @if o.report.len() > 1000 { p.muted { "先頭1,000件を表示しています（全" (o.report.len()) "件）。" } }
        }
    }
}

/// `POST /ui/payer/runs` (multipart): runs the payer side over the uploaded
/// file and stores the run (`onshi_payer::memory::run_and_store`); the
/// answer redirects to the stored run.
pub async fn payer_run(
    State(state): State<UiState>,
    s: Session,
    headers: HeaderMap,
    mut mp: Multipart,
) -> Result<Response, UiError> {
    // Only the payer's upload is read at all (up to 32 MiB).
    if s.caller != Caller::Payer {
        return Err(UiError::Forbidden);
    }
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut as_of = None;
    let mut months = None;
    let mut bill_written = false;
    let bad = |_| UiError::BadRequest("アップロードを読み取れません（32MiBまで）".into());
    while let Some(f) = mp.next_field().await.map_err(bad)? {
        let name = f.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                let fname = f.file_name().unwrap_or_default().to_owned();
                file = Some((fname, f.bytes().await.map_err(bad)?.to_vec()));
            }
            other => {
                let text = f.text().await.map_err(bad)?;
                match other {
                    crate::session::CSRF_FIELD => csrf = text,
                    "as_of" => as_of = Some(text),
                    "reference_months" => months = Some(text),
                    "bill_written_when_unregistered" => bill_written = true,
                    _ => {}
                }
            }
        }
    }
    check_multipart(&headers, &s, &csrf)?;
    let mut errors = FieldErrors::default();
    let as_of = match onshi_core::parse_iso_date("as_of", as_of.as_deref().unwrap_or("").trim()) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.add("as_of", &e.kind.to_string());
            None
        }
    };
    let file = file.filter(|(_, b)| !b.is_empty());
    if file.is_none() {
        errors.add("file", "ファイルを選んでください");
    }
    let (Some(as_of), Some((fname, bytes))) = (as_of, file) else {
        return Ok(payer_error(&s, &errors));
    };
    let uke = fname.to_ascii_lowercase().ends_with(".uke")
        || bytes.starts_with(b"IR,")
        || !bytes.contains(&b'{');
    let digest_of = bytes.clone();
    let fname: String = fname
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    // Parsing up to 32 MiB is CPU work: off the async threads.
    let parsed = blocking(move || {
        if uke {
            onshi_uke::claims_for_run(&bytes).map_err(|e| e.to_string())
        } else {
            match String::from_utf8(bytes) {
                Ok(text) => Ok(parse_jsonl(&text)
                    .into_iter()
                    .map(|(line, c)| (format!("{line:08}"), c))
                    .collect()),
                Err(_) => {
                    Err("UTF-8 の JSON Lines、または RECEIPTC.UKE を選んでください".to_owned())
                }
            }
        }
    })
    .await?;
    let input = match parsed {
        Ok(i) => i,
        Err(message) => {
            errors.add("file", &message);
            return Ok(payer_error(&s, &errors));
        }
    };
    let policy = Policy {
        bill_written_when_unregistered: bill_written,
        reference_months: months
            .and_then(|m| m.trim().parse().ok())
            .unwrap_or(1)
            .clamp(1, 24),
    };
    let store = state.store.clone();
    let who = onshi_registry::access::actor(&s.caller);
    let digest = onshi_payer::memory::digest(&digest_of);
    let (id, _) = blocking(move || {
        onshi_payer::memory::run_and_store(
            store.as_ref(),
            as_of,
            vec![onshi_payer::memory::RunInput {
                label: fname,
                digest,
                submission_id: None,
                claims: input,
            }],
            policy,
            &who,
            &chrono::Utc::now().to_rfc3339(),
        )
    })
    .await?
    .map_err(RegistryError::from)?;
    Ok(crate::session::see_other(&format!("/ui/payer/runs/{id}")))
}

fn payer_error(s: &Session, errors: &FieldErrors) -> Response {
    (
        StatusCode::BAD_REQUEST,
        layout(
            s,
            "審査支払",
            html! {
                h1 { "審査支払機関　請求の振替・特定・按分" }
                (payer_form(s, errors))
            },
        ),
    )
        .into_response()
}

// ---- operator ----

struct OperatorData {
    requests: Vec<onshi_store::FailureModeRequestRow>,
    overdue: Vec<onshi_store::FailureModeRequestRow>,
    today: NaiveDate,
}

async fn operator_data(state: &UiState, today: NaiveDate) -> Result<OperatorData, UiError> {
    let store = state.store.clone();
    blocking(move || {
        let requests = store.fm_requests(None, None)?;
        let overdue = store.fm_overdue(today)?;
        Ok::<_, onshi_store::StoreError>(OperatorData {
            requests,
            overdue,
            today,
        })
    })
    .await?
    .map_err(|e| RegistryError::from(e).into())
}

fn operator_page(s: &Session, d: &OperatorData, which: &str, errors: &FieldErrors) -> Markup {
    let none = FieldErrors::default();
    html! {
        (layout(s, "コールセンター", html! {
            h1 { "システム障害時モード　利用申請と利用報告" }
            p.hint { "申請を受けたら、届出の電話番号に折り返して本人確認をし、記録してから有効にします（別添2）。" }
            @if d.requests.is_empty() { p.muted { "申請はありません。" } } @else {
                table.list #requests {
                    thead { tr { th { "申請No." } th { "医療機関" } th { "担当者・理由" } th { "状態" } th { "操作" } } }
                    tbody {
                        @for r in &d.requests {
                            @let key = format!("req-{}", r.id);
                            @let e = if which == key { errors } else { &none };
                            tr {
                                td { (r.id) }
                                td { (r.institution_name) br; small.num { (r.institution_code) } br; small { "届出電話 " (page::opt(&r.phone_on_file)) } }
                                td { (r.contact_name) br; small { (page::opt(&r.reason)) } }
                                td { (status_label(&r.status)) @if let Some(u) = &r.enabled_until { br; small { (page::local_time(u)) "まで" } } }
                                td {
                                    (form_errors(e, &[]))
                                    @if r.status == "requested" {
                                        form.inline method="post" action={ "/ui/operator/requests/" (r.id) "/callback" } {
                                            (s.csrf_input())
                                            (field(e, "operator", "オペレーター", html! { input type="text" name="operator" size="8" required; }))
                                            (field(e, "called_number", "折り返した番号", html! { input type="text" name="called_number" size="14" required; }))
                                            button type="submit" { "折り返し確認を記録" }
                                        }
                                    } @else if r.status == "confirmed" {
                                        form.inline method="post" action={ "/ui/operator/requests/" (r.id) "/enable" } {
                                            (s.csrf_input())
                                            (field(e, "hours", "有効時間", html! { input type="number" name="hours" min="1" max="72" value="24" size="4"; }))
                                            button type="submit" { "有効にする" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "期限を過ぎた利用報告（" (d.today) "時点）" }
            @if d.overdue.is_empty() { p.muted #overdue { "ありません。" } } @else {
                table.list #overdue {
                    thead { tr { th { "申請No." } th { "医療機関" } th { "有効期限" } th { "報告期限" } } }
                    tbody {
                        @for r in &d.overdue {
                            tr { td { (r.id) } td { (r.institution_name) "（" (r.institution_code) "）" } td { @if let Some(u) = &r.enabled_until { (page::local_time(u)) } } td { @if let Some(due) = r.report_due_on { (due) } } }
                        }
                    }
                }
            }
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TodayQuery {
    today: Option<String>,
}

/// `GET /ui/operator[?today=]`.
pub async fn operator(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<TodayQuery>,
) -> Result<Markup, UiError> {
    if s.caller != Caller::Operator {
        return Err(UiError::Forbidden);
    }
    let today = date_or(&q.today, "today", page::today())?;
    let d = operator_data(&state, today).await?;
    Ok(operator_page(&s, &d, "", &FieldErrors::default()))
}

#[derive(Debug, Default, Deserialize)]
pub struct CallbackForm {
    operator: Option<String>,
    called_number: Option<String>,
}

async fn operator_result(
    state: &UiState,
    s: &Session,
    id: i64,
    r: Result<onshi_store::FailureModeRequestRow, RegistryError>,
) -> Result<Response, UiError> {
    match r {
        Ok(_) => Ok(see_other("/ui/operator#requests")),
        Err(RegistryError::NotFound) => Err(UiError::NotFound),
        Err(e @ RegistryError::Store(_)) => Err(e.into()),
        Err(e) => {
            let d = operator_data(state, page::today()).await?;
            let mut errors = FieldErrors::from_registry(&e);
            if e.field().is_none() {
                errors = FieldErrors::default();
                errors.add("", &page::error_text(&e));
            }
            Ok((
                StatusCode::CONFLICT,
                operator_page(s, &d, &format!("req-{id}"), &errors),
            )
                .into_response())
        }
    }
}

/// `POST /ui/operator/requests/{id}/callback`: 別添2 step 2.
pub async fn operator_callback(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<CallbackForm>,
) -> Result<Response, UiError> {
    if s.caller != Caller::Operator {
        return Err(UiError::Forbidden);
    }
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let store = state.store.clone();
    let r = blocking(move || {
        onshi_registry::failure_mode::confirm(
            store.as_ref(),
            id,
            form.operator.as_deref(),
            form.called_number.as_deref(),
            Utc::now(),
        )
    })
    .await?;
    operator_result(&state, &s, id, r).await
}

#[derive(Debug, Default, Deserialize)]
pub struct EnableForm {
    hours: Option<String>,
}

/// `POST /ui/operator/requests/{id}/enable`: 別添2 step 3.
pub async fn operator_enable(
    State(state): State<UiState>,
    Path(id): Path<String>,
    Posted { session: s, form }: Posted<EnableForm>,
) -> Result<Response, UiError> {
    if s.caller != Caller::Operator {
        return Err(UiError::Forbidden);
    }
    let id: i64 = id.parse().map_err(|_| UiError::NotFound)?;
    let hours = match present(&form.hours).map(|h| h.parse::<u32>()) {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(_)) => Some(0),
    };
    let store = state.store.clone();
    let r = blocking(move || {
        onshi_registry::failure_mode::enable(store.as_ref(), id, hours, Utc::now())
    })
    .await?;
    operator_result(&state, &s, id, r).await
}

// ---- patient ----

#[derive(Debug, Default, Deserialize)]
pub struct MeQuery {
    date: Option<String>,
}

/// `GET /ui/me[?date=]`: the patient's own record, nothing else.
pub async fn me(
    State(state): State<UiState>,
    s: Session,
    Query(q): Query<MeQuery>,
) -> Result<Markup, UiError> {
    let Caller::Patient(serial) = s.caller.clone() else {
        return Err(UiError::Forbidden);
    };
    let on = date_or(&q.date, "date", page::today())?;
    let store = state.store.clone();
    let v = blocking(move || self_view(store.as_ref(), &serial, on)).await??;
    Ok(layout(
        &s,
        "わたしの資格情報",
        html! {
            h1 { "わたしの資格情報" }
            form.inline method="get" action="/ui/me" {
                label for="date" { "日付" }
                input #date type="date" name="date" value=(v.on);
                button type="submit" { "表示" }
            }
            table.qual {
                tr { th { "氏名" } td { (v.name) "（" (v.kana) "）" } }
                tr { th { "生年月日" } td { (v.birth_date_wareki) } }
                tr { th { "性別" } td { (page::sex(&v.sex)) } }
                tr { th { "住所" } td { (v.address) } }
                tr { th { "本人確認の照会キー（末尾4桁）" } td.num { (v.identity_last4) } }
            }
            section.answer.(page::validity_class(v.validity)) {
                div.verdict { span.label { (v.validity_label) } span.meta { (v.on) " 時点" } }
                @if let Some(q) = &v.current { (page::qualification_table(q, false)) }
            }
            h2 { "登録されている資格の履歴" }
            @if v.history.is_empty() { p.muted { "登録されている資格はありません。" } }
            @for q in &v.history { (page::qualification_table(q, false)) }
            @if !v.notices.is_empty() {
                h2 { "登録状況のお知らせ" }
                @for n in &v.notices { pre.notice { (render_text(n)) } }
            }
        },
    ))
}
