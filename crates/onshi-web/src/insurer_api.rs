//! `/api/v1/insurer/…` (role insurer, scoped to its 保険者番号) and
//! `/api/v1/me` (role patient, scoped to one card certificate).

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Local, NaiveDate, SecondsFormat, Utc};
use onshi_core::{InsurerNumber, parse_iso_date};
use onshi_registry::import::{ImportFormat, ImportOptions, ImportReport};
use onshi_registry::insurer::{
    self as ins, CheckReport, RawRegistration, RecordDetail, RecordView, WriteAnswer,
};
use onshi_registry::me::{SelfView, self_view};
use onshi_registry::notice::{RegistrationNotice, notice_for, render_text};
use onshi_registry::{Caller, RegistryError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Auth, IdempotencyKey, RawBody, parse_json};
use crate::{AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/insurer/qualifications", get(list).post(register))
        .route(
            "/api/v1/insurer/qualifications/{id}",
            get(get_one).put(correct),
        )
        .route("/api/v1/insurer/qualifications/{id}/loss", post(lose))
        .route("/api/v1/insurer/qualifications/{id}/notice", get(notice))
        .route(
            "/api/v1/insurer/imports",
            post(import).layer(DefaultBodyLimit::max(crate::MAX_UPLOAD_BYTES)),
        )
        .route("/api/v1/insurer/reports/checks", get(report))
        .route("/api/v1/me", get(me))
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn insurer_of(caller: &Caller) -> Result<InsurerNumber, ApiError> {
    match caller {
        Caller::Insurer(n) => Ok(n.clone()),
        _ => Err(RegistryError::Forbidden.into()),
    }
}

/// The request line an idempotency key is bound to.
fn route(method: &Method, uri: &Uri) -> String {
    format!(
        "{method} {}",
        uri.path_and_query().map_or(uri.path(), |p| p.as_str())
    )
}

fn write_response(a: WriteAnswer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, Json(a.body)).into_response();
    if a.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

/// Register a qualification (資格取得). Requires `Idempotency-Key`. The record
/// is matched on 氏名・カナ氏名・生年月日・性別・住所 against the resident record of
/// `person_ref`: `match_status` is `matched` (visible to checks) or `mismatch`
/// (stored, invisible to checks, listed for correction).
#[utoipa::path(
    post,
    path = "/api/v1/insurer/qualifications",
    request_body = RawRegistration,
    params(("Idempotency-Key" = String, Header, description = "Retry key: same key and body → the first answer")),
    responses(
        (status = 201, description = "Registered (see match_status)", body = RecordView),
        (status = 400, description = "Bad input or missing Idempotency-Key", body = ErrorBody),
        (status = 403, description = "Not an insurer, or another insurer's number", body = ErrorBody),
        (status = 422, description = "person_unknown or idempotency_key_reused", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    Auth(caller): Auth,
    method: Method,
    uri: Uri,
    IdempotencyKey(key): IdempotencyKey,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let insurer = insurer_of(&caller)?;
    let claim = ins::claim(&insurer, key.as_deref(), &route(&method, &uri), &body)?;
    let raw: RawRegistration = parse_json(&body)?;
    let reg = ins::parse_registration(&raw, &insurer)?;
    let store = state.store.clone();
    let a = blocking(move || ins::register(store.as_ref(), &insurer, reg, Some(&claim), &now()))
        .await?;
    Ok(write_response(a))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListParams {
    /// `mismatch` to list only records waiting for a correction.
    status: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// The insurer's own records, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/insurer/qualifications",
    params(ListParams),
    responses((status = 200, description = "Records", body = [RecordView]), (status = 403, body = ErrorBody))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<RecordView>>, ApiError> {
    let insurer = insurer_of(&caller)?;
    let mismatch_only = match p.status.as_deref() {
        None | Some("all") => false,
        Some("mismatch") => true,
        Some(_) => {
            return Err(RegistryError::BadValue {
                field: "status".into(),
                message: "mismatch または all です".into(),
            }
            .into());
        }
    };
    let store = state.store.clone();
    let v = blocking(move || {
        ins::records(
            store.as_ref(),
            &insurer,
            mismatch_only,
            p.limit.unwrap_or(100),
            p.offset.unwrap_or(0),
        )
    })
    .await?;
    Ok(Json(v))
}

/// One record with its revisions. Another insurer's record is `not_found`.
#[utoipa::path(
    get,
    path = "/api/v1/insurer/qualifications/{id}",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The record", body = Object), (status = 404, body = ErrorBody))
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<RecordDetail>, ApiError> {
    let insurer = insurer_of(&caller)?;
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || ins::record(store.as_ref(), &insurer, id)).await?,
    ))
}

/// Correct a record (the whole registration again); re-runs the match.
/// Requires `Idempotency-Key`.
#[utoipa::path(
    put,
    path = "/api/v1/insurer/qualifications/{id}",
    params(("id" = i64, Path), ("Idempotency-Key" = String, Header)),
    request_body = RawRegistration,
    responses((status = 200, description = "The corrected record", body = RecordView), (status = 404, body = ErrorBody))
)]
pub(crate) async fn correct(
    State(state): State<AppState>,
    Auth(caller): Auth,
    method: Method,
    uri: Uri,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let insurer = insurer_of(&caller)?;
    let id = crate::path_id(&id)?;
    let claim = ins::claim(&insurer, key.as_deref(), &route(&method, &uri), &body)?;
    let raw: RawRegistration = parse_json(&body)?;
    let reg = ins::parse_registration(&raw, &insurer)?;
    let store = state.store.clone();
    let a = blocking(move || ins::correct(store.as_ref(), &insurer, id, reg, Some(&claim), &now()))
        .await?;
    Ok(write_response(a))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LossBody {
    /// 資格喪失日: the first day without the qualification.
    lost_on: Option<String>,
}

/// Record a loss (資格喪失). Requires `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/insurer/qualifications/{id}/loss",
    params(("id" = i64, Path), ("Idempotency-Key" = String, Header)),
    request_body = LossBody,
    responses((status = 200, description = "The record", body = RecordView), (status = 404, body = ErrorBody))
)]
pub(crate) async fn lose(
    State(state): State<AppState>,
    Auth(caller): Auth,
    method: Method,
    uri: Uri,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let insurer = insurer_of(&caller)?;
    let id = crate::path_id(&id)?;
    let claim = ins::claim(&insurer, key.as_deref(), &route(&method, &uri), &body)?;
    let b: LossBody = parse_json(&body)?;
    let lost_on = parse_iso_date(
        "lost_on",
        b.lost_on
            .as_deref()
            .ok_or(RegistryError::Missing("lost_on"))?,
    )
    .map_err(RegistryError::from)?;
    let store = state.store.clone();
    let a =
        blocking(move || ins::lose(store.as_ref(), &insurer, id, lost_on, Some(&claim), &now()))
            .await?;
    Ok(write_response(a))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct NoticeParams {
    /// `json` (default) or `text` (printable Japanese).
    format: Option<String>,
}

/// The registration-status notice for the member (notice §5(1)).
#[utoipa::path(
    get,
    path = "/api/v1/insurer/qualifications/{id}/notice",
    params(("id" = i64, Path), NoticeParams),
    responses(
        (status = 200, description = "The notice (JSON, or text/plain with format=text)", body = RegistrationNotice),
        (status = 404, body = ErrorBody),
        (status = 409, description = "registration_not_visible: the record is a mismatch", body = ErrorBody),
    )
)]
pub(crate) async fn notice(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<NoticeParams>,
) -> Result<Response, ApiError> {
    let insurer = insurer_of(&caller)?;
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    let today = Local::now().date_naive();
    let n = blocking(move || {
        let rec = store
            .insurer_record(&insurer, id)?
            .ok_or(RegistryError::NotFound)?;
        notice_for(&rec, today)
    })
    .await?;
    match p.format.as_deref() {
        Some("text") => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            render_text(&n),
        )
            .into_response()),
        None | Some("json") => Ok(Json(n).into_response()),
        Some(_) => Err(RegistryError::BadValue {
            field: "format".into(),
            message: "json または text です".into(),
        }
        .into()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ImportParams {
    /// Reject rows whose 5 attributes differ instead of storing them flagged.
    reject_mismatch: Option<bool>,
    /// Parse and match only; write nothing.
    dry_run: Option<bool>,
}

/// Bulk registration: a CSV (`text/csv`) or JSON Lines
/// (`application/x-ndjson`) body, one batch in one transaction. Requires
/// `Idempotency-Key`. 201 with the report when written; 422 with the report
/// (every rejected row and its line) when any row was rejected, in which case
/// nothing was written.
#[utoipa::path(
    post,
    path = "/api/v1/insurer/imports",
    params(ImportParams, ("Idempotency-Key" = String, Header)),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 201, description = "Written", body = ImportReport),
        (status = 422, description = "Rejected rows; nothing written", body = ImportReport),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
    )
)]
pub(crate) async fn import(
    State(state): State<AppState>,
    Auth(caller): Auth,
    method: Method,
    uri: Uri,
    IdempotencyKey(key): IdempotencyKey,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let insurer = insurer_of(&caller)?;
    let p: ImportParams = crate::extract::parse_query(&uri)?;
    let format = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(ImportFormat::from_content_type)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Content-Type は text/csv または application/x-ndjson を指定してください",
            )
        })?;
    let claim = ins::claim(&insurer, key.as_deref(), &route(&method, &uri), &body)?;
    let options = ImportOptions {
        reject_mismatch: p.reject_mismatch.unwrap_or(false),
        dry_run: p.dry_run.unwrap_or(false),
    };
    let store = state.store.clone();
    let a = blocking(move || {
        onshi_registry::import::import(
            store.as_ref(),
            &insurer,
            &body,
            format,
            options,
            Some(&claim),
            &now(),
        )
    })
    .await?;
    Ok(write_response(a))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ReportParams {
    from: Option<String>,
    to: Option<String>,
}

/// How often the insurer's members got 資格(無効) or 資格情報なし, by day, and
/// the registrations that arrived after the member's first visit.
#[utoipa::path(
    get,
    path = "/api/v1/insurer/reports/checks",
    params(ReportParams),
    responses((status = 200, description = "The report", body = CheckReport), (status = 400, body = ErrorBody))
)]
pub(crate) async fn report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Json<CheckReport>, ApiError> {
    let insurer = insurer_of(&caller)?;
    let date = |v: Option<String>, f: &'static str| -> Result<NaiveDate, ApiError> {
        Ok(
            parse_iso_date(f, v.as_deref().ok_or(RegistryError::Missing(f))?)
                .map_err(RegistryError::from)?,
        )
    };
    let (from, to) = (date(p.from, "from")?, date(p.to, "to")?);
    let store = state.store.clone();
    Ok(Json(
        blocking(move || ins::report(store.as_ref(), &insurer, from, to)).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct MeParams {
    /// The date to show the qualification for (default: today).
    date: Option<String>,
}

/// The patient's own view: the qualification on the date, the registration
/// notices, and the last 4 characters of the identity on file.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    params(MeParams),
    responses((status = 200, description = "Self view", body = SelfView), (status = 403, body = ErrorBody))
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<MeParams>,
) -> Result<Json<SelfView>, ApiError> {
    let Caller::Patient(serial) = caller else {
        return Err(RegistryError::Forbidden.into());
    };
    let on = match p.date {
        Some(d) => parse_iso_date("date", &d).map_err(RegistryError::from)?,
        None => Local::now().date_naive(),
    };
    let store = state.store.clone();
    Ok(Json(
        blocking(move || self_view(store.as_ref(), &serial, on)).await?,
    ))
}
