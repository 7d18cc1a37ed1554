//! `/api/v1/failure-mode/…` (role institution) and
//! `/api/v1/operator/failure-mode/…` (role operator): the system-failure mode.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Local, Utc};
use onshi_clinic::visit;
use onshi_registry::check::CheckAnswer;
use onshi_registry::failure_mode::{self as fm, RawSearch, SearchResult};
use onshi_registry::{Caller, RegistryError};
use onshi_store::FailureModeRequestRow;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::{AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/failure-mode/requests",
            get(own_requests).post(request),
        )
        .route("/api/v1/failure-mode/requests/{id}/report", post(report))
        .route("/api/v1/failure-mode/search", post(search))
        .route("/api/v1/failure-mode/pick", post(pick))
        .route(
            "/api/v1/operator/failure-mode/requests",
            get(operator_requests),
        )
        .route(
            "/api/v1/operator/failure-mode/requests/{id}/callback",
            post(callback),
        )
        .route(
            "/api/v1/operator/failure-mode/requests/{id}/enable",
            post(enable),
        )
        .route("/api/v1/operator/failure-mode/overdue", get(overdue))
        .route("/api/v1/operator/failure-mode/disasters", post(disaster))
}

/// A `visit_id` must be one of the caller's visits, checked before the
/// search runs so a bad id writes nothing.
fn own_visit(
    store: &dyn onshi_store::Store,
    inst: &onshi_core::InstitutionCode,
    id: i64,
) -> Result<(), ApiError> {
    match store.visit(inst, id).map_err(RegistryError::from)? {
        Some(_) => Ok(()),
        None => Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found".into(),
            message: "visit_id: 該当する受診がありません".into(),
            field: Some("visit_id".into()),
        }),
    }
}

fn operator(caller: &Caller) -> Result<(), ApiError> {
    if *caller == Caller::Operator {
        Ok(())
    } else {
        Err(RegistryError::Forbidden.into())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestBody {
    /// 担当者名.
    contact_name: Option<String>,
    reason: Option<String>,
}

/// Ask for the system-failure mode (別添2 step 1).
#[utoipa::path(post, path = "/api/v1/failure-mode/requests", request_body = RequestBody, responses((status = 201, body = Object), (status = 400, body = ErrorBody)))]
pub(crate) async fn request(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<RequestBody>,
) -> Result<(StatusCode, Json<FailureModeRequestRow>), ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    let r = blocking(move || {
        Ok::<_, ApiError>(fm::request(
            store.as_ref(),
            &inst,
            b.contact_name.as_deref(),
            b.reason.as_deref(),
            Utc::now(),
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// The institution's own requests.
#[utoipa::path(get, path = "/api/v1/failure-mode/requests", responses((status = 200, body = [Object])))]
pub(crate) async fn own_requests(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<FailureModeRequestRow>>, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            Ok::<_, ApiError>(
                store
                    .fm_requests(Some(&inst), None)
                    .map_err(RegistryError::from)?,
            )
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportBody {
    /// The usage report 「システム障害時機能の利用報告」.
    report: Option<String>,
}

/// File the usage report after using the mode (別添2 step 4).
#[utoipa::path(post, path = "/api/v1/failure-mode/requests/{id}/report", params(("id" = i64, Path)), request_body = ReportBody, responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReportBody>,
) -> Result<Json<FailureModeRequestRow>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            Ok::<_, ApiError>(fm::report(
                store.as_ref(),
                &inst,
                id,
                b.report.as_deref(),
                Utc::now(),
            )?)
        })
        .await?,
    ))
}

/// Search (資格情報照会（システム障害時）). 生年月日・性別・資格確認日 required;
/// 氏名 or カナ (exact); 住所 or 保険者名. One hit → the answer; several → the
/// candidates to pick from. With `visit_id`, a single hit is attached to the
/// visit (deferred re-check).
#[utoipa::path(
    post,
    path = "/api/v1/failure-mode/search",
    request_body = RawSearch,
    responses(
        (status = 200, body = SearchResult),
        (status = 400, description = "missing_field naming the field(s)", body = ErrorBody),
        (status = 403, description = "failure_mode_not_active", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(raw): ApiJson<RawSearch>,
) -> Result<Json<SearchResult>, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            let now = Utc::now();
            if let Some(v) = raw.visit_id {
                own_visit(store.as_ref(), &inst, v)?;
            }
            let r = fm::search(store.as_ref(), &inst, &raw, now, fm::SEARCHES_PER_MINUTE)?;
            if let (Some(v), Some(a)) = (raw.visit_id, &r.answer) {
                visit::attach_answer(
                    store.as_ref(),
                    &inst,
                    v,
                    a,
                    onshi_core::claim_life::FactSource::FailureMode,
                    now,
                )?;
            }
            Ok::<_, ApiError>(r)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PickBody {
    search_id: Option<i64>,
    /// The candidate number from the search (1-based).
    candidate: Option<usize>,
    /// A visit to attach the answer to.
    visit_id: Option<i64>,
}

/// Pick one candidate of a several-hit search.
#[utoipa::path(post, path = "/api/v1/failure-mode/pick", request_body = PickBody, responses((status = 200, body = CheckAnswer), (status = 410, description = "search_expired", body = ErrorBody)))]
pub(crate) async fn pick(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<PickBody>,
) -> Result<Json<CheckAnswer>, ApiError> {
    let inst = caller.institution()?.clone();
    let search_id = b.search_id.ok_or(RegistryError::Missing("search_id"))?;
    let candidate = b.candidate.ok_or(RegistryError::Missing("candidate"))?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            let now = Utc::now();
            if let Some(v) = b.visit_id {
                own_visit(store.as_ref(), &inst, v)?;
            }
            let a = fm::pick(store.as_ref(), &inst, search_id, candidate, now)?;
            if let Some(v) = b.visit_id {
                visit::attach_answer(
                    store.as_ref(),
                    &inst,
                    v,
                    &a,
                    onshi_core::claim_life::FactSource::FailureMode,
                    now,
                )?;
            }
            Ok::<_, ApiError>(a)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct StatusParams {
    /// requested | confirmed | enabled
    status: Option<String>,
}

/// All activation requests (operator).
#[utoipa::path(get, path = "/api/v1/operator/failure-mode/requests", params(StatusParams), responses((status = 200, body = [Object])))]
pub(crate) async fn operator_requests(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<StatusParams>,
) -> Result<Json<Vec<FailureModeRequestRow>>, ApiError> {
    operator(&caller)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            Ok::<_, ApiError>(
                store
                    .fm_requests(None, p.status.as_deref())
                    .map_err(RegistryError::from)?,
            )
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallbackBody {
    /// Who called back.
    operator: Option<String>,
    /// The number dialled: must be the one on file.
    called_number: Option<String>,
}

/// Record the call-back to the number on file (別添2 step 2).
#[utoipa::path(post, path = "/api/v1/operator/failure-mode/requests/{id}/callback", params(("id" = i64, Path)), request_body = CallbackBody, responses((status = 200, body = Object), (status = 409, description = "callback_number_mismatch / invalid_state", body = ErrorBody)))]
pub(crate) async fn callback(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CallbackBody>,
) -> Result<Json<FailureModeRequestRow>, ApiError> {
    operator(&caller)?;
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            Ok::<_, ApiError>(fm::confirm(
                store.as_ref(),
                id,
                b.operator.as_deref(),
                b.called_number.as_deref(),
                Utc::now(),
            )?)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnableBody {
    /// How long the mode stays on (1–72 hours, default 24).
    hours: Option<u32>,
}

/// Enable the mode for that institution only (別添2 step 3).
#[utoipa::path(post, path = "/api/v1/operator/failure-mode/requests/{id}/enable", params(("id" = i64, Path)), request_body = EnableBody, responses((status = 200, body = Object), (status = 409, body = ErrorBody)))]
pub(crate) async fn enable(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EnableBody>,
) -> Result<Json<FailureModeRequestRow>, ApiError> {
    operator(&caller)?;
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || Ok::<_, ApiError>(fm::enable(store.as_ref(), id, b.hours, Utc::now())?))
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct TodayParams {
    /// The day to judge on (default: today).
    today: Option<String>,
}

/// Institutions whose usage report is overdue.
#[utoipa::path(get, path = "/api/v1/operator/failure-mode/overdue", params(TodayParams), responses((status = 200, body = [Object])))]
pub(crate) async fn overdue(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<TodayParams>,
) -> Result<Json<Vec<FailureModeRequestRow>>, ApiError> {
    operator(&caller)?;
    let today = match p.today {
        Some(t) => onshi_core::parse_iso_date("today", &t).map_err(RegistryError::from)?,
        None => Local::now().date_naive(),
    };
    let store = state.store.clone();
    Ok(Json(
        blocking(move || Ok::<_, ApiError>(store.fm_overdue(today).map_err(RegistryError::from)?))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisasterBody {
    /// 都道府県番号 1–47.
    prefecture: Option<u8>,
    /// RFC 3339.
    from: Option<String>,
    until: Option<String>,
    reason: Option<String>,
    operator: Option<String>,
}

/// The disaster variant: every institution of a prefecture, for a period.
#[utoipa::path(post, path = "/api/v1/operator/failure-mode/disasters", request_body = DisasterBody, responses((status = 201, body = Object), (status = 400, body = ErrorBody)))]
pub(crate) async fn disaster(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<DisasterBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    operator(&caller)?;
    let time = |v: Option<String>, f: &'static str| -> Result<DateTime<Utc>, ApiError> {
        let v = v.ok_or(RegistryError::Missing(f))?;
        Ok(DateTime::parse_from_rfc3339(&v)
            .map_err(|_| RegistryError::BadValue {
                field: f.into(),
                message: "RFC 3339 の日時で指定してください".into(),
            })?
            .with_timezone(&Utc))
    };
    let prefecture = b.prefecture.ok_or(RegistryError::Missing("prefecture"))?;
    let (from, until) = (time(b.from, "from")?, time(b.until, "until")?);
    let store = state.store.clone();
    let id = blocking(move || {
        Ok::<_, ApiError>(fm::disaster(
            store.as_ref(),
            prefecture,
            from,
            until,
            b.reason.as_deref(),
            b.operator.as_deref(),
            Utc::now(),
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": id}))))
}
