//! `/api/v1/payer/*` (role payer): the payer run over HTTP, stored and read
//! back, the institutions' submissions, the 照会 answers; and the insurer's
//! 70+ ratio differences with their settlements (role insurer).

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use onshi_payer::claim::{ClaimInput, parse_jsonl};
use onshi_payer::memory::{self, RawInquiryAnswer, RawSettlement, RunInput};
use onshi_payer::run::{Policy, RunOutcome};
use onshi_registry::access::actor;
use onshi_registry::{Caller, RegistryError};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, RawBody};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/payer/runs",
            post(payer_run)
                .layer(DefaultBodyLimit::max(crate::MAX_UPLOAD_BYTES))
                .get(list_runs),
        )
        .route("/api/v1/payer/runs/{id}", get(get_run))
        .route("/api/v1/payer/submissions", get(list_submissions))
        .route("/api/v1/payer/inquiries", post(inquiry_answer))
        .route("/api/v1/insurer/ratio-differences", get(ratio_differences))
        .route(
            "/api/v1/insurer/ratio-differences/settlement",
            put(settlement),
        )
}

fn memory_err(e: memory::MemoryError) -> ApiError {
    match e {
        memory::MemoryError::Invalid { field, message } => RegistryError::BadValue {
            field: field.into(),
            message,
        }
        .into(),
        memory::MemoryError::Store(e) => RegistryError::from(e).into(),
    }
}

/// A stored run's answer: its id and the outcome.
#[derive(Debug, Serialize)]
pub(crate) struct StoredOutcome {
    run_id: i64,
    #[serde(flatten)]
    outcome: RunOutcome,
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
    /// Run on stored submissions instead of the body: ids, comma-separated.
    submissions: Option<String>,
}

/// Run the payer side over claims sent as JSON Lines (one `Claim` a line), as
/// an electronic claim file (`Content-Type: application/vnd.onshi.uke`), or
/// over stored submissions (`?submissions=1,2`): every claim's fate, the
/// bills per insurer, the 70+ ratio differences, the claims held. The run is
/// stored (`run_id`; `GET /api/v1/payer/runs/{id}` gives the same outcome
/// back) with its per-claim results for the institutions and the payment
/// record; the same input on the same registry gives the same outcome.
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
) -> Result<Json<StoredOutcome>, ApiError> {
    if caller != Caller::Payer {
        return Err(RegistryError::Forbidden.into());
    }
    let as_of = onshi_core::parse_iso_date(
        "as_of",
        p.as_of.as_deref().ok_or(RegistryError::Missing("as_of"))?,
    )
    .map_err(RegistryError::from)?;
    let inputs: Vec<RunInput> = match p.submissions.as_deref() {
        Some(list) => {
            if !body.is_empty() {
                return Err(RegistryError::BadValue {
                    field: "submissions".into(),
                    message: "提出を指定するときは本文を送らないでください".into(),
                }
                .into());
            }
            let ids = list
                .split(',')
                .map(|s| s.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| RegistryError::BadValue {
                    field: "submissions".into(),
                    message: "提出の番号をカンマ区切りで指定してください".into(),
                })?;
            if ids.is_empty() || ids.len() > 100 {
                return Err(RegistryError::BadValue {
                    field: "submissions".into(),
                    message: "提出は1〜100件で指定してください".into(),
                }
                .into());
            }
            let store = state.store.clone();
            crate::blocking(move || {
                let mut out = Vec::new();
                for id in ids {
                    let (row, bytes) = store
                        .submission(id)
                        .map_err(RegistryError::from)?
                        .ok_or(RegistryError::NotFound)?;
                    out.push(RunInput {
                        label: format!("submission {id}"),
                        digest: row.digest.clone(),
                        submission_id: Some(id),
                        claims: claims_of(&bytes, row.format == "uke")?,
                    });
                }
                Ok::<_, ApiError>(out)
            })
            .await?
        }
        None => {
            let uke = headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/vnd.onshi.uke"));
            vec![RunInput {
                label: if uke { "body.UKE" } else { "body.jsonl" }.into(),
                digest: memory::digest(&body),
                submission_id: None,
                claims: claims_of(&body, uke)?,
            }]
        }
    };
    let policy = Policy {
        bill_written_when_unregistered: p.bill_written_when_unregistered.unwrap_or(false),
        reference_months: p.reference_months.unwrap_or(1).clamp(1, 24),
    };
    let store = state.store.clone();
    let who = actor(&caller);
    let (run_id, outcome) = crate::blocking(move || {
        memory::run_and_store(
            store.as_ref(),
            as_of,
            inputs,
            policy,
            &who,
            &Utc::now().to_rfc3339(),
        )
        .map_err(RegistryError::from)
    })
    .await?;
    Ok(Json(StoredOutcome { run_id, outcome }))
}

/// The claims of one input: the UKE file or JSON Lines.
fn claims_of(body: &[u8], uke: bool) -> Result<Vec<ClaimInput>, ApiError> {
    if uke {
        return onshi_uke::claims_for_run(body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()));
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "UTF-8 の JSON Lines で送ってください",
        )
    })?;
    Ok(parse_jsonl(text)
        .into_iter()
        .map(|(line, c)| (format!("{line:08}"), c))
        .collect())
}

fn payer_only(caller: &Caller) -> Result<(), ApiError> {
    if *caller != Caller::Payer {
        return Err(RegistryError::Forbidden.into());
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct PageParams {
    /// At most 200 (default 50).
    limit: Option<u32>,
    offset: Option<u32>,
}

/// Stored runs, newest first (without their outcomes).
#[utoipa::path(get, path = "/api/v1/payer/runs", params(PageParams), responses((status = 200, body = [Object]), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_runs(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Vec<memory::RunSummary>>, ApiError> {
    payer_only(&caller)?;
    let store = state.store.clone();
    Ok(Json(
        crate::blocking(move || {
            memory::runs(store.as_ref(), p.limit.unwrap_or(50), p.offset.unwrap_or(0))
                .map_err(RegistryError::from)
        })
        .await?,
    ))
}

/// One stored run's outcome, byte for byte as it was answered.
#[utoipa::path(get, path = "/api/v1/payer/runs/{id}", params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_run(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    payer_only(&caller)?;
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    let (_, outcome) = crate::blocking(move || {
        memory::stored_run(store.as_ref(), id)
            .map_err(RegistryError::from)?
            .ok_or(RegistryError::NotFound)
    })
    .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        outcome,
    )
        .into_response())
}

/// Every institution's submissions, newest first.
#[utoipa::path(get, path = "/api/v1/payer/submissions", params(PageParams), responses((status = 200, body = [onshi_clinic::lifecycle::SubmissionView]), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_submissions(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Vec<onshi_clinic::lifecycle::SubmissionView>>, ApiError> {
    payer_only(&caller)?;
    let store = state.store.clone();
    Ok(Json(
        crate::blocking(move || {
            Ok::<_, RegistryError>(
                store
                    .submissions(
                        None,
                        p.limit.unwrap_or(50).clamp(1, 200),
                        p.offset.unwrap_or(0),
                    )?
                    .into_iter()
                    .map(onshi_clinic::lifecycle::SubmissionView::from)
                    .collect(),
            )
        })
        .await?,
    ))
}

/// A candidate insurer's answer to the 照会 about a 不詳 claim (該当 /
/// 非該当); the next run identifies the claim or, when every candidate said
/// 非該当, apportions it.
#[utoipa::path(post, path = "/api/v1/payer/inquiries", request_body = Object, responses((status = 201, body = Object), (status = 400, body = ErrorBody)))]
pub(crate) async fn inquiry_answer(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<RawInquiryAnswer>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    payer_only(&caller)?;
    let who = actor(&caller);
    let store = state.store.clone();
    let row = crate::blocking(move || {
        memory::answer_inquiry(store.as_ref(), &b, &who, &Utc::now().to_rfc3339())
            .map_err(memory_err)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "institution_code": row.institution_code,
            "claim_month": row.claim_month,
            "claim_id": row.claim_id,
            "insurer": row.insurer,
            "answer": if row.matches { "match" } else { "no_match" },
            "by": row.by,
            "at": row.at,
        })),
    ))
}

fn insurer_of(caller: &Caller) -> Result<onshi_core::InsurerNumber, ApiError> {
    match caller {
        Caller::Insurer(n) => Ok(n.clone()),
        _ => Err(RegistryError::Forbidden.into()),
    }
}

/// The 70+ ratio differences billed to this insurer (notice §2(2) ※), with
/// the settlement recorded for each.
#[utoipa::path(get, path = "/api/v1/insurer/ratio-differences", responses((status = 200, body = [Object]), (status = 403, body = ErrorBody)))]
pub(crate) async fn ratio_differences(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<memory::DifferenceView>>, ApiError> {
    let insurer = insurer_of(&caller)?;
    let store = state.store.clone();
    Ok(Json(
        crate::blocking(move || {
            memory::ratio_differences(store.as_ref(), &insurer).map_err(RegistryError::from)
        })
        .await?,
    ))
}

/// Records the insurer's settlement with the patient (請求 or 返還, amount,
/// date, done) against one of its differences.
#[utoipa::path(put, path = "/api/v1/insurer/ratio-differences/settlement", request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody)))]
pub(crate) async fn settlement(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<RawSettlement>,
) -> Result<Json<memory::DifferenceView>, ApiError> {
    let insurer = insurer_of(&caller)?;
    let who = actor(&caller);
    let store = state.store.clone();
    Ok(Json(
        crate::blocking(move || {
            memory::settle(store.as_ref(), &insurer, &b, &who, &Utc::now().to_rfc3339())
                .map_err(memory_err)
        })
        .await?,
    ))
}
