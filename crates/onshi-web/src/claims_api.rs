//! `/api/v1/claim-records`, `/api/v1/claim-submissions` (role institution):
//! the institution's claims as stored records with a life
//! (`onshi_clinic::lifecycle`), and `/api/v1/visits/{id}/hearing` (numbers
//! learned later by 聞き取り).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use onshi_clinic::claims::{ClaimOptions, parse_month};
use onshi_clinic::lifecycle::{
    self, ClaimDetail, MonthView, ReceivedResult, SubmissionFormat, SubmissionView,
};
use onshi_clinic::visit::{self, RawHearing, VisitView};
use onshi_core::Payer;
use onshi_registry::RegistryError;
use onshi_registry::access::actor;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::{AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/claim-records", get(month_records))
        .route("/api/v1/claim-records/sync", post(sync))
        .route("/api/v1/claim-records/confirm", post(confirm))
        .route("/api/v1/claim-records/submit", post(submit))
        .route("/api/v1/claim-records/results/receive", post(receive))
        .route("/api/v1/claim-records/{id}", get(detail))
        .route("/api/v1/claim-records/{id}/withdraw", post(withdraw))
        .route("/api/v1/claim-records/{id}/reclaim", post(reclaim))
        .route("/api/v1/claim-records/{id}/proposal/accept", post(accept))
        .route("/api/v1/claim-records/{id}/proposal/dismiss", post(dismiss))
        .route("/api/v1/claim-submissions", get(submissions))
        .route("/api/v1/visits/{id}/hearing", post(hearing))
}

fn payer_of(field: &'static str, s: Option<&str>) -> Result<Option<Payer>, RegistryError> {
    s.map(|v| {
        onshi_store::payer_parse(v).ok_or_else(|| RegistryError::BadValue {
            field: field.into(),
            message: "shiharai_kikin または kokuhoren です".into(),
        })
    })
    .transpose()
}

fn month_of(s: Option<&str>) -> Result<chrono::NaiveDate, RegistryError> {
    parse_month(s.ok_or(RegistryError::Missing("month"))?)
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct MonthParams {
    /// 診療年月, YYYY-MM.
    month: Option<String>,
}

/// The month's stored claims (state, current version, open correction) and
/// the visits not ready to be claimed.
#[utoipa::path(get, path = "/api/v1/claim-records", params(MonthParams), responses((status = 200, body = MonthView), (status = 400, body = ErrorBody)))]
pub(crate) async fn month_records(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<MonthParams>,
) -> Result<Json<MonthView>, ApiError> {
    let inst = caller.institution()?.clone();
    let month = month_of(p.month.as_deref())?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            lifecycle::month_view(store.as_ref(), &inst, month, ClaimOptions::default())
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncBody {
    /// 診療年月, YYYY-MM.
    month: Option<String>,
    /// Where a 不詳 claim of unknown type goes (`shiharai_kikin` or
    /// `kokuhoren`); absent: as the month's claims record it (else 支払基金).
    unknown_payer: Option<String>,
    /// The receipt computer enforces the 検証番号 (→ 77777779); absent: as
    /// recorded (else false).
    check_digit: Option<bool>,
}

/// Builds the month's claims from the visits: new patients get a 作成中
/// claim, editable claims are rebuilt, frozen ones get a proposed
/// correction when a later fact changes them.
#[utoipa::path(post, path = "/api/v1/claim-records/sync", request_body = SyncBody, responses((status = 200, body = MonthView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn sync(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<SyncBody>,
) -> Result<Json<MonthView>, ApiError> {
    let inst = caller.institution()?.clone();
    let month = month_of(b.month.as_deref())?;
    let unknown_payer = payer_of("unknown_payer", b.unknown_payer.as_deref())?;
    let who = actor(&caller);
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            // What the body does not say stays as the month's claims record it.
            let recorded = lifecycle::month_options(store.as_ref(), &inst, month)?;
            let opts = ClaimOptions {
                unknown_payer: unknown_payer.unwrap_or(recorded.unknown_payer),
                check_digit_enforced: b.check_digit.unwrap_or(recorded.check_digit_enforced),
            };
            lifecycle::sync_month(store.as_ref(), &inst, month, opts, &who, Utc::now())
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmBody {
    month: Option<String>,
    /// The claims to confirm; absent or empty: every editable claim of the month.
    ids: Option<Vec<i64>>,
}

/// 確定: freezes claims for submission.
#[utoipa::path(post, path = "/api/v1/claim-records/confirm", request_body = ConfirmBody, responses((status = 200, body = MonthView), (status = 409, body = ErrorBody)))]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<ConfirmBody>,
) -> Result<Json<MonthView>, ApiError> {
    let inst = caller.institution()?.clone();
    let month = month_of(b.month.as_deref())?;
    let ids = b.ids.unwrap_or_default();
    if ids.len() > 10_000 {
        return Err(RegistryError::BadValue {
            field: "ids".into(),
            message: "一度に確定できるのは10,000件までです".into(),
        }
        .into());
    }
    let who = actor(&caller);
    let store = state.store.clone();
    Ok(Json(
        blocking(move || lifecycle::confirm(store.as_ref(), &inst, month, &ids, &who, Utc::now()))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitBody {
    month: Option<String>,
    /// `shiharai_kikin` or `kokuhoren`.
    payer: Option<String>,
    /// `uke` (RECEIPTC.UKE, CP932) or `jsonl`.
    format: Option<String>,
}

/// 提出: the month's 確定 claims for one payer, as one recorded submission.
#[utoipa::path(post, path = "/api/v1/claim-records/submit", request_body = SubmitBody, responses((status = 201, body = SubmissionView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<SubmitBody>,
) -> Result<(StatusCode, Json<SubmissionView>), ApiError> {
    let inst = caller.institution()?.clone();
    let month = month_of(b.month.as_deref())?;
    let payer = payer_of("payer", b.payer.as_deref())?.ok_or(RegistryError::Missing("payer"))?;
    let format = match b.format.as_deref() {
        None | Some("uke") => SubmissionFormat::Uke,
        Some("jsonl") => SubmissionFormat::Jsonl,
        Some(_) => {
            return Err(RegistryError::BadValue {
                field: "format".into(),
                message: "uke または jsonl です".into(),
            }
            .into());
        }
    };
    let who = actor(&caller);
    let store = state.store.clone();
    let s = blocking(move || {
        lifecycle::submit(
            store.as_ref(),
            &inst,
            month,
            payer,
            format,
            &who,
            Utc::now(),
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// Takes the payer's decisions on the institution's submitted claims.
#[utoipa::path(post, path = "/api/v1/claim-records/results/receive", responses((status = 200, body = [ReceivedResult])))]
pub(crate) async fn receive(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<ReceivedResult>>, ApiError> {
    let inst = caller.institution()?.clone();
    let who = actor(&caller);
    let store = state.store.clone();
    Ok(Json(
        blocking(move || lifecycle::receive_results(store.as_ref(), &inst, &who, Utc::now()))
            .await?,
    ))
}

/// One claim with every version (who, when, why, rule) and proposal.
#[utoipa::path(get, path = "/api/v1/claim-records/{id}", params(("id" = i64, Path)), responses((status = 200, body = ClaimDetail), (status = 404, body = ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ClaimDetail>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || lifecycle::claim_detail(store.as_ref(), &inst, id)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    /// Why (kept on the claim's version or proposal).
    reason: Option<String>,
}

/// 取下げ of a submitted claim, to correct it.
#[utoipa::path(post, path = "/api/v1/claim-records/{id}/withdraw", params(("id" = i64, Path)), request_body = ReasonBody, responses((status = 200, body = ClaimDetail), (status = 409, body = ErrorBody)))]
pub(crate) async fn withdraw(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Json<ClaimDetail>, ApiError> {
    let reason = b.reason.unwrap_or_default();
    on_claim(state, caller, id, move |st, inst, id, who| {
        lifecycle::withdraw(st, inst, id, &reason, who, Utc::now())
    })
    .await
}

/// 再請求 after a 返戻 or 取下げ: a new version from the visits as they stand.
#[utoipa::path(post, path = "/api/v1/claim-records/{id}/reclaim", params(("id" = i64, Path)), request_body = ReasonBody, responses((status = 200, body = ClaimDetail), (status = 409, body = ErrorBody)))]
pub(crate) async fn reclaim(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Json<ClaimDetail>, ApiError> {
    let reason = b.reason.unwrap_or_default();
    on_claim(state, caller, id, move |st, inst, id, who| {
        lifecycle::reclaim(st, inst, id, None, &reason, who, Utc::now())
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecideBody {
    /// Why (kept on the proposal, and on the new version when accepted).
    reason: Option<String>,
    /// The proposal the clerk saw; refused (409) when another has replaced it.
    proposal_id: Option<i64>,
}

async fn decide(
    state: AppState,
    caller: onshi_registry::Caller,
    id: String,
    accept: bool,
    b: DecideBody,
) -> Result<Json<ClaimDetail>, ApiError> {
    let reason = b.reason.unwrap_or_default();
    on_claim(state, caller, id, move |st, inst, id, who| {
        lifecycle::decide_proposal(
            st,
            inst,
            id,
            b.proposal_id,
            accept,
            &reason,
            who,
            Utc::now(),
        )
    })
    .await
}

/// One of the institution's claims acted on by `f` (the store, the
/// institution, the claim's id, the actor) on a blocking thread.
async fn on_claim(
    state: AppState,
    caller: onshi_registry::Caller,
    id: String,
    f: impl FnOnce(
        &dyn onshi_store::Store,
        &onshi_core::InstitutionCode,
        i64,
        &str,
    ) -> Result<ClaimDetail, onshi_clinic::visit::ClinicError>
    + Send
    + 'static,
) -> Result<Json<ClaimDetail>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let who = actor(&caller);
    let store = state.store.clone();
    Ok(Json(
        blocking(move || f(store.as_ref(), &inst, id, &who)).await?,
    ))
}

/// Accepts the claim's open proposed correction (a new version; 取下げ and
/// 再請求 once submitted).
#[utoipa::path(post, path = "/api/v1/claim-records/{id}/proposal/accept", params(("id" = i64, Path)), request_body = DecideBody, responses((status = 200, body = ClaimDetail), (status = 409, body = ErrorBody)))]
pub(crate) async fn accept(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DecideBody>,
) -> Result<Json<ClaimDetail>, ApiError> {
    decide(state, caller, id, true, b).await
}

/// Dismisses the claim's open proposed correction, with the reason.
#[utoipa::path(post, path = "/api/v1/claim-records/{id}/proposal/dismiss", params(("id" = i64, Path)), request_body = DecideBody, responses((status = 200, body = ClaimDetail), (status = 409, body = ErrorBody)))]
pub(crate) async fn dismiss(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DecideBody>,
) -> Result<Json<ClaimDetail>, ApiError> {
    decide(state, caller, id, false, b).await
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct PageParams {
    limit: Option<u32>,
    offset: Option<u32>,
}

/// The institution's submissions, newest first.
#[utoipa::path(get, path = "/api/v1/claim-submissions", params(PageParams), responses((status = 200, body = [SubmissionView])))]
pub(crate) async fn submissions(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Vec<SubmissionView>>, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            lifecycle::submissions(
                store.as_ref(),
                &inst,
                p.limit.unwrap_or(50),
                p.offset.unwrap_or(0),
            )
        })
        .await?,
    ))
}

/// Numbers learned later by asking the patient (聞き取り, notice §3(2) and
/// the ※ under §3(4)): their own fact on the visit, labelled on the claim.
#[utoipa::path(post, path = "/api/v1/visits/{id}/hearing", params(("id" = i64, Path)), request_body = RawHearing, responses((status = 200, body = VisitView), (status = 400, body = ErrorBody)))]
pub(crate) async fn hearing(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RawHearing>,
) -> Result<Json<VisitView>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || visit::record_hearing(store.as_ref(), &inst, id, &b, Utc::now())).await?,
    ))
}
