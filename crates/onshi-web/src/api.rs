//! `/api/v1`: the JSON API and its OpenAPI description.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use onshi_core::parse_iso_date;
use onshi_registry::RegistryError;
use onshi_registry::check::{self, CheckAnswer, CheckRequest, HistoryEntry, RawCheckRequest};
use serde::Deserialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::{AppState, blocking};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onshi API",
        description = "オンライン資格確認: checks by card or card numbers, and the check history (保発0710第1号)."
    ),
    paths(
        post_check,
        get_checks,
        crate::insurer_api::register,
        crate::insurer_api::list,
        crate::insurer_api::get_one,
        crate::insurer_api::correct,
        crate::insurer_api::lose,
        crate::insurer_api::notice,
        crate::insurer_api::import,
        crate::insurer_api::report,
        crate::insurer_api::me,
        crate::clinic_api::open_visit,
        crate::clinic_api::list_visits,
        crate::clinic_api::get_visit,
        crate::clinic_api::decide,
        crate::clinic_api::put_declaration,
        crate::clinic_api::get_declaration,
        crate::clinic_api::declaration_pdf,
        crate::clinic_api::blank_form_pdf,
        crate::clinic_api::claim_paid,
        crate::clinic_api::pending_rechecks,
        crate::clinic_api::run_rechecks,
        crate::clinic_api::set_reader_mode,
        crate::clinic_api::reader_mode_events,
        crate::clinic_api::set_fault,
        crate::clinic_api::clear_fault,
        crate::clinic_api::deletions,
        crate::clinic_api::purge,
        crate::clinic_api::contact,
        crate::clinic_api::month_claims,
        crate::claims_api::month_records,
        crate::claims_api::sync,
        crate::claims_api::confirm,
        crate::claims_api::submit,
        crate::claims_api::receive,
        crate::claims_api::detail,
        crate::claims_api::withdraw,
        crate::claims_api::reclaim,
        crate::claims_api::accept,
        crate::claims_api::dismiss,
        crate::claims_api::submissions,
        crate::claims_api::hearing,
        crate::payer_api::list_runs,
        crate::payer_api::get_run,
        crate::payer_api::list_submissions,
        crate::payer_api::inquiry_answer,
        crate::payer_api::ratio_differences,
        crate::payer_api::settlement,
        crate::failure_mode_api::request,
        crate::failure_mode_api::own_requests,
        crate::failure_mode_api::report,
        crate::failure_mode_api::search,
        crate::failure_mode_api::pick,
        crate::failure_mode_api::operator_requests,
        crate::failure_mode_api::callback,
        crate::failure_mode_api::enable,
        crate::failure_mode_api::overdue,
        crate::failure_mode_api::disaster,
        crate::oqs_api::oqs_xml,
        crate::payer_api::payer_run,
    ),
    components(schemas(
        RawCheckRequest,
        CheckAnswer,
        HistoryEntry,
        ErrorBody,
        onshi_registry::insurer::RawRegistration,
        onshi_registry::insurer::RecordView,
        onshi_registry::insurer::CheckReport,
        onshi_registry::import::ImportReport,
        onshi_registry::notice::RegistrationNotice,
        onshi_registry::me::SelfView,
        onshi_clinic::visit::RawVisit,
        onshi_clinic::visit::VisitView,
        onshi_clinic::visit::RawDecision,
        onshi_clinic::visit::DeclarationView,
        onshi_clinic::visit::RecheckOutcome,
        onshi_registry::failure_mode::RawSearch,
        onshi_registry::failure_mode::SearchResult,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/checks", get(get_checks).post(post_check))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Check a patient's qualification (資格確認) by card or by card numbers.
///
/// The answer's `validity` is the OQSCD006 code: 1 有効, 2 資格(無効) (a card
/// check shows the lost numbers; a number check shows nothing newer), 4 資格情報なし,
/// 5 複数該当. The check is written to the calling institution's history.
#[utoipa::path(
    post,
    path = "/api/v1/checks",
    request_body = RawCheckRequest,
    responses(
        (status = 200, description = "The answer (or a FHIR R4 Bundle with Accept: application/fhir+json)", body = CheckAnswer),
        (status = 400, description = "Bad input (nothing written)", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "Not an institution, or institution unknown", body = ErrorBody),
        (status = 404, description = "certificate_unknown", body = ErrorBody),
        (status = 413, description = "body_too_large", body = ErrorBody),
        (status = 422, description = "certificate_expired / certificate_revoked", body = ErrorBody),
    )
)]
async fn post_check(
    State(state): State<AppState>,
    Auth(caller): Auth,
    slot: Option<axum::Extension<onshi_registry::access::AccessSlot>>,
    headers: HeaderMap,
    ApiJson(raw): ApiJson<RawCheckRequest>,
) -> Result<Response, ApiError> {
    let institution = caller.institution()?.clone();
    let request = CheckRequest::parse(&raw)?;
    let store = state.store.clone();
    let now = Utc::now();
    let answer =
        blocking(move || check::check(store.as_ref(), &institution, &request, now)).await?;
    // The answer is in the check history, the check's own audit.
    if let Some(axum::Extension(slot)) = slot {
        slot.kept_in_check_history();
    }
    let fhir = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/fhir+json"));
    if fhir {
        let created = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = onshi_registry::fhir::bundle(&answer, &created, &created);
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/fhir+json"),
            )],
            Json(body),
        )
            .into_response());
    }
    Ok(Json(answer).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
struct HistoryParams {
    /// 資格確認日, YYYY-MM-DD.
    date: Option<String>,
}

/// The calling institution's check history (資格確認履歴) for one 資格確認日.
#[utoipa::path(
    get,
    path = "/api/v1/checks",
    params(HistoryParams),
    responses(
        (status = 200, description = "Checks of that day, oldest first", body = [HistoryEntry]),
        (status = 400, description = "Missing or bad date", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "Not an institution", body = ErrorBody),
    )
)]
async fn get_checks(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let institution = caller.institution()?.clone();
    let date = params
        .date
        .as_deref()
        .ok_or(RegistryError::Missing("date"))?;
    let on = parse_iso_date("date", date).map_err(RegistryError::from)?;
    let store = state.store.clone();
    let entries = blocking(move || check::history(store.as_ref(), &institution, on)).await?;
    Ok(Json(entries))
}
