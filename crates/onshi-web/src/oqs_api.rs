//! `POST /api/v1/oqs`: the オン資 XML interface over HTTP (role institution),
//! answering exactly as the req/res folder does (`onshi_oqs::folder::respond`).

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{Local, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Auth, RawBody};

pub fn routes() -> Router<AppState> {
    // Twice the interface's own 1 MiB limit, so an oversized file still gets
    // the XML error answer (E1003) rather than a bare 413.
    Router::new().route(
        "/api/v1/oqs",
        post(oqs_xml).layer(DefaultBodyLimit::max(2 * 1024 * 1024)),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct OqsParams {
    /// Answer in the batch layout (as for an `OQSmuquc01req_…` file).
    batch: Option<bool>,
}

/// A request file (OQSsiquc01req / OQSmuquc01req XML, UTF-8 or Shift_JIS) in,
/// the response file out (`SegmentOfResult` 9 with an ErrorCode when the
/// request cannot be read). The MedicalInstitutionCode must be the caller's.
#[utoipa::path(
    post,
    path = "/api/v1/oqs",
    params(OqsParams),
    request_body(content = String, content_type = "application/xml"),
    responses((status = 200, description = "The response file", content_type = "application/xml", body = String))
)]
pub(crate) async fn oqs_xml(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<OqsParams>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let now = Utc::now();
        let mut answer = |req: &onshi_oqs::OqsRequest| {
            onshi_oqs::service::answer(store.as_ref(), &inst, req, now)
        };
        onshi_oqs::folder::respond(
            &body,
            p.batch.unwrap_or(false),
            &mut answer,
            Local::now().naive_local(),
        )
        .0
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "内部エラーが発生しました",
        )
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        )],
        bytes,
    )
        .into_response())
}
