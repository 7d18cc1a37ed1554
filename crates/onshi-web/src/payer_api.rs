//! `POST /api/v1/payer/runs` (role payer): the payer run over HTTP.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use onshi_payer::claim::parse_jsonl;
use onshi_payer::run::{Policy, RunOutcome, run};
use onshi_registry::{Caller, RegistryError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Auth, RawBody};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/payer/runs",
        post(payer_run).layer(DefaultBodyLimit::max(crate::MAX_UPLOAD_BYTES)),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct RunParams {
    /// The day the run judges on (YYYY-MM-DD).
    as_of: Option<String>,
    /// Months of payment record weighting 按分 (default 1).
    reference_months: Option<u32>,
    /// Bill the written insurer instead of returning a lost-qualification claim
    /// with nothing newer registered.
    bill_written_when_unregistered: Option<bool>,
}

/// Run the payer side over claims sent as JSON Lines (one `Claim` a line), or
/// as an electronic claim file (`Content-Type: application/vnd.onshi.uke`):
/// every claim's fate, the bills per insurer, the 70+ ratio differences.
/// Nothing is written; the same input gives the same output.
#[utoipa::path(
    post,
    path = "/api/v1/payer/runs",
    params(RunParams),
    request_body(content = String, content_type = "application/x-ndjson"),
    responses((status = 200, description = "The run", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn payer_run(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<RunParams>,
    headers: axum::http::HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<RunOutcome>, ApiError> {
    if caller != Caller::Payer {
        return Err(RegistryError::Forbidden.into());
    }
    let as_of = onshi_core::parse_iso_date(
        "as_of",
        p.as_of.as_deref().ok_or(RegistryError::Missing("as_of"))?,
    )
    .map_err(RegistryError::from)?;
    let uke = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/vnd.onshi.uke"));
    let input = if uke {
        onshi_uke::claims_for_run(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?
    } else {
        let text = String::from_utf8(body.to_vec()).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "UTF-8 の JSON Lines で送ってください",
            )
        })?;
        parse_jsonl(&text)
            .into_iter()
            .map(|(line, c)| (format!("{line:08}"), c))
            .collect()
    };
    let policy = Policy {
        bill_written_when_unregistered: p.bill_written_when_unregistered.unwrap_or(false),
        reference_months: p.reference_months.unwrap_or(1).clamp(1, 24),
    };
    let store = state.store.clone();
    let outcome = tokio::task::spawn_blocking(move || run(store.as_ref(), as_of, input, policy))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "内部エラーが発生しました",
            )
        })?
        .map_err(RegistryError::from)?;
    Ok(Json(outcome))
}
