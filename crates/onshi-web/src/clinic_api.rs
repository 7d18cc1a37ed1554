//! `/api/v1/visits`, `/api/v1/rechecks`, `/api/v1/reader`, `/api/v1/faults`,
//! `/api/v1/forms`: the reception side (role institution), and the
//! declaration purge (role operator).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{Local, SecondsFormat, Utc};
use onshi_clinic::pdf::{Fonts, declaration_pdf as render_pdf};
use onshi_clinic::visit::{
    self, ClinicError, DeclarationView, RawDecision, RawVisit, RecheckOutcome, VisitView,
};
use onshi_core::declaration::RawDeclaration;
use onshi_core::{InstitutionCode, parse_iso_date};
use onshi_registry::{Caller, RegistryError, reader};
use onshi_store::{DeletionRow, ReaderModeEvent};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::{AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/visits", get(list_visits).post(open_visit))
        .route("/api/v1/visits/{id}", get(get_visit))
        .route("/api/v1/visits/{id}/decision", post(decide))
        .route(
            "/api/v1/visits/{id}/declaration",
            get(get_declaration).put(put_declaration),
        )
        .route("/api/v1/visits/{id}/declaration.pdf", get(declaration_pdf))
        .route("/api/v1/visits/{id}/claim-paid", post(claim_paid))
        .route("/api/v1/visits/{id}/contact", post(contact))
        .route("/api/v1/claims", get(month_claims))
        .route("/api/v1/forms/declaration.pdf", get(blank_form_pdf))
        .route("/api/v1/rechecks", get(pending_rechecks))
        .route("/api/v1/rechecks/run", post(run_rechecks))
        .route("/api/v1/reader/mode", put(set_reader_mode))
        .route("/api/v1/reader/mode/events", get(reader_mode_events))
        .route("/api/v1/faults", put(set_fault).delete(clear_fault))
        .route("/api/v1/declarations/deletions", get(deletions))
        .route("/api/v1/operator/declarations/purge", post(purge))
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn clinic_err(e: ClinicError) -> ApiError {
    e.into()
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

/// Open a visit at the window: runs the check (unless a failure is
/// reported), records why it failed (notice §1) and queues the visit for the
/// deferred re-check when no check succeeded.
#[utoipa::path(
    post,
    path = "/api/v1/visits",
    request_body = RawVisit,
    responses((status = 201, description = "The visit", body = VisitView), (status = 400, body = ErrorBody))
)]
pub(crate) async fn open_visit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(raw): ApiJson<RawVisit>,
) -> Result<(StatusCode, Json<VisitView>), ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    let v = blocking(move || {
        visit::open_visit(store.as_ref(), &inst, &raw, Utc::now()).map_err(clinic_err)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct DayParams {
    /// 受診日, YYYY-MM-DD.
    date: Option<String>,
}

/// The institution's visits of one day.
#[utoipa::path(get, path = "/api/v1/visits", params(DayParams), responses((status = 200, body = [VisitView])))]
pub(crate) async fn list_visits(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<DayParams>,
) -> Result<Json<Vec<VisitView>>, ApiError> {
    let inst = caller.institution()?.clone();
    let day = parse_iso_date(
        "date",
        p.date.as_deref().ok_or(RegistryError::Missing("date"))?,
    )
    .map_err(RegistryError::from)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || visit::visits_on(store.as_ref(), &inst, day).map_err(clinic_err)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/visits/{id}", params(("id" = i64, Path)), responses((status = 200, body = VisitView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_visit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<VisitView>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || visit::visit(store.as_ref(), &inst, id).map_err(clinic_err)).await?,
    ))
}

/// Decide the window burden in the order of notice §2 and store it with the
/// amount for the given points.
#[utoipa::path(
    post,
    path = "/api/v1/visits/{id}/decision",
    params(("id" = i64, Path)),
    request_body = RawDecision,
    responses(
        (status = 200, description = "The visit with its decision", body = VisitView),
        (status = 404, description = "not_found / no_declaration", body = ErrorBody),
        (status = 409, description = "no_record_on_file", body = ErrorBody),
    )
)]
pub(crate) async fn decide(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(raw): ApiJson<RawDecision>,
) -> Result<Json<VisitView>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            visit::decide(store.as_ref(), &inst, id, &raw, Utc::now()).map_err(clinic_err)
        })
        .await?,
    ))
}

/// Store the visit's 被保険者資格申立書 (partly filled is fine).
#[utoipa::path(
    put,
    path = "/api/v1/visits/{id}/declaration",
    params(("id" = i64, Path)),
    request_body = Object,
    responses((status = 200, body = DeclarationView), (status = 400, body = ErrorBody))
)]
pub(crate) async fn put_declaration(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(raw): ApiJson<RawDeclaration>,
) -> Result<Json<DeclarationView>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            visit::put_declaration(store.as_ref(), &inst, id, &raw, Utc::now()).map_err(clinic_err)
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/visits/{id}/declaration", params(("id" = i64, Path)), responses((status = 200, body = DeclarationView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_declaration(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DeclarationView>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || visit::declaration(store.as_ref(), &inst, id).map_err(clinic_err)).await?,
    ))
}

/// The visit's declaration, filled in, as an A4 PDF with the explanation sheet.
#[utoipa::path(
    get,
    path = "/api/v1/visits/{id}/declaration.pdf",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 503, description = "font_unavailable", body = ErrorBody))
)]
pub(crate) async fn declaration_pdf(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let store = state.store.clone();
    let bytes = blocking(move || {
        let d = visit::declaration(store.as_ref(), &inst, id).map_err(clinic_err)?;
        Ok::<_, ApiError>(render_pdf(Some(&d.declaration), &Fonts::shared()?)?)
    })
    .await?;
    Ok(pdf_response(bytes, &format!("moushitatesho-{id}.pdf")))
}

/// The blank form and the explanation sheet, to print and hand over.
#[utoipa::path(get, path = "/api/v1/forms/declaration.pdf", responses((status = 200, content_type = "application/pdf", body = Vec<u8>)))]
pub(crate) async fn blank_form_pdf(Auth(caller): Auth) -> Result<Response, ApiError> {
    caller.institution()?;
    let bytes = blocking(|| Ok::<_, ApiError>(render_pdf(None, &Fonts::shared()?)?)).await?;
    Ok(pdf_response(bytes, "moushitatesho.pdf"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaidBody {
    /// The day the claim this visit supported was paid.
    paid_on: Option<String>,
}

/// Record that the visit's claim was paid (its declaration becomes due for deletion).
#[utoipa::path(post, path = "/api/v1/visits/{id}/claim-paid", params(("id" = i64, Path)), request_body = PaidBody, responses((status = 200, body = VisitView)))]
pub(crate) async fn claim_paid(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PaidBody>,
) -> Result<Json<VisitView>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let paid_on = parse_iso_date(
        "paid_on",
        b.paid_on
            .as_deref()
            .ok_or(RegistryError::Missing("paid_on"))?,
    )
    .map_err(RegistryError::from)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || visit::mark_paid(store.as_ref(), &inst, id, paid_on).map_err(clinic_err))
            .await?,
    ))
}

/// The visits waiting for the deferred re-check (事後確認).
#[utoipa::path(get, path = "/api/v1/rechecks", responses((status = 200, body = [VisitView])))]
pub(crate) async fn pending_rechecks(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<VisitView>>, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    Ok(Json(
        blocking(move || visit::pending(store.as_ref(), &inst).map_err(clinic_err)).await?,
    ))
}

/// Re-check every pending visit now, each dated on its visit day.
#[utoipa::path(post, path = "/api/v1/rechecks/run", responses((status = 200, body = [RecheckOutcome])))]
pub(crate) async fn run_rechecks(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<RecheckOutcome>>, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            visit::run_rechecks(store.as_ref(), &inst, Utc::now()).map_err(clinic_err)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModeBody {
    /// `face` or `visual` (目視確認モード).
    mode: Option<String>,
    /// Who switched it.
    staff_id: Option<String>,
}

/// Switch the face reader between face recognition and 目視確認モード (audited).
#[utoipa::path(put, path = "/api/v1/reader/mode", request_body = ModeBody, responses((status = 204), (status = 400, body = ErrorBody)))]
pub(crate) async fn set_reader_mode(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<ModeBody>,
) -> Result<StatusCode, ApiError> {
    let inst: InstitutionCode = caller.institution()?.clone();
    let mode = b.mode.ok_or(RegistryError::Missing("mode"))?;
    let store = state.store.clone();
    blocking(move || {
        Ok::<_, ApiError>(reader::set_mode(
            store.as_ref(),
            &inst,
            &mode,
            b.staff_id.as_deref(),
            &now_text(),
        )?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit of reader-mode switches.
#[utoipa::path(get, path = "/api/v1/reader/mode/events", responses((status = 200, body = [Object])))]
pub(crate) async fn reader_mode_events(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<ReaderModeEvent>>, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    Ok(Json(
        blocking(move || Ok::<_, ApiError>(reader::mode_events(store.as_ref(), &inst)?)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultBody {
    /// `reader`, `certificate`, `network` or `registry`.
    kind: Option<String>,
    /// When the fault ends (RFC 3339); absent: until cleared.
    until: Option<String>,
}

/// Make this institution's own checks fail as if the reader, the
/// certificate, the network or the registry had failed (vendor rehearsal).
#[utoipa::path(put, path = "/api/v1/faults", request_body = FaultBody, responses((status = 204), (status = 400, body = ErrorBody)))]
pub(crate) async fn set_fault(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<FaultBody>,
) -> Result<StatusCode, ApiError> {
    let inst = caller.institution()?.clone();
    let kind = b.kind.ok_or(RegistryError::Missing("kind"))?;
    let store = state.store.clone();
    blocking(move || {
        Ok::<_, ApiError>(reader::set_fault(
            store.as_ref(),
            &inst,
            &kind,
            b.until.as_deref(),
            &now_text(),
        )?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clear the injected fault.
#[utoipa::path(delete, path = "/api/v1/faults", responses((status = 204)))]
pub(crate) async fn clear_fault(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<StatusCode, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    blocking(move || Ok::<_, ApiError>(reader::clear_fault(store.as_ref(), &inst)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The log of this institution's deleted declarations.
#[utoipa::path(get, path = "/api/v1/declarations/deletions", responses((status = 200, body = [Object])))]
pub(crate) async fn deletions(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<DeletionRow>>, ApiError> {
    let inst = caller.institution()?.clone();
    let store = state.store.clone();
    Ok(Json(
        blocking(move || Ok::<_, ApiError>(store.deletions(&inst).map_err(RegistryError::from)?))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PurgeBody {
    /// The day the purge judges on (default: today).
    today: Option<String>,
    /// Days to keep a declaration after its claim was paid (default 0).
    grace_days: Option<u32>,
}

/// Delete every declaration whose claim was paid (role operator; the server
/// also runs this daily).
#[utoipa::path(post, path = "/api/v1/operator/declarations/purge", request_body = PurgeBody, responses((status = 200, body = [Object])))]
pub(crate) async fn purge(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<PurgeBody>,
) -> Result<Json<Vec<DeletionRow>>, ApiError> {
    if caller != Caller::Operator {
        return Err(RegistryError::Forbidden.into());
    }
    let today = match b.today {
        Some(t) => parse_iso_date("today", &t).map_err(RegistryError::from)?,
        None => Local::now().date_naive(),
    };
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            visit::purge_declarations(store.as_ref(), today, b.grace_days.unwrap_or(0), Utc::now())
                .map_err(clinic_err)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactBody {
    /// The day the clinic contacted the patient for the numbers.
    contacted_on: Option<String>,
}

/// Record the clinic's contact with the patient (notice §3(4), before 不詳).
#[utoipa::path(post, path = "/api/v1/visits/{id}/contact", params(("id" = i64, Path)), request_body = ContactBody, responses((status = 200, body = VisitView)))]
pub(crate) async fn contact(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ContactBody>,
) -> Result<Json<VisitView>, ApiError> {
    let inst = caller.institution()?.clone();
    let id = crate::path_id(&id)?;
    let on = parse_iso_date(
        "contacted_on",
        b.contacted_on
            .as_deref()
            .ok_or(RegistryError::Missing("contacted_on"))?,
    )
    .map_err(RegistryError::from)?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            visit::record_contact(store.as_ref(), &inst, id, on, Utc::now()).map_err(clinic_err)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ClaimParams {
    /// 診療年月, YYYY-MM.
    month: Option<String>,
    /// Where a 不詳 claim of unknown type goes: `shiharai_kikin` (default) or `kokuhoren`.
    unknown_payer: Option<String>,
    /// The receipt computer enforces the 検証番号 (→ 77777779).
    check_digit: Option<bool>,
    /// `json` (default) or `uke` (the electronic claim file RECEIPTC.UKE for
    /// one `payer`).
    format: Option<String>,
    /// With `format=uke`: `shiharai_kikin` or `kokuhoren`.
    payer: Option<String>,
}

/// The month's claims built from the visits (notice §3), and the visits not
/// ready to be claimed with why.
#[utoipa::path(get, path = "/api/v1/claims", params(ClaimParams), responses((status = 200, body = onshi_clinic::claims::MonthClaims), (status = 400, body = ErrorBody)))]
pub(crate) async fn month_claims(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(p): ApiQuery<ClaimParams>,
) -> Result<Response, ApiError> {
    let inst = caller.institution()?.clone();
    let month = onshi_clinic::claims::parse_month(
        p.month.as_deref().ok_or(RegistryError::Missing("month"))?,
    )?;
    let unknown_payer = match p.unknown_payer.as_deref() {
        None | Some("shiharai_kikin") => onshi_core::Payer::ShiharaiKikin,
        Some("kokuhoren") => onshi_core::Payer::Kokuhoren,
        Some(_) => {
            return Err(RegistryError::BadValue {
                field: "unknown_payer".into(),
                message: "shiharai_kikin または kokuhoren です".into(),
            }
            .into());
        }
    };
    let opts = onshi_clinic::claims::ClaimOptions {
        unknown_payer,
        check_digit_enforced: p.check_digit.unwrap_or(false),
    };
    let uke_payer = match (p.format.as_deref(), p.payer.as_deref()) {
        (None | Some("json"), _) => None,
        (Some("uke"), Some("shiharai_kikin")) => Some(onshi_core::Payer::ShiharaiKikin),
        (Some("uke"), Some("kokuhoren")) => Some(onshi_core::Payer::Kokuhoren),
        (Some("uke"), None) => return Err(RegistryError::Missing("payer").into()),
        (Some("uke"), Some(_)) => {
            return Err(RegistryError::BadValue {
                field: "payer".into(),
                message: "shiharai_kikin または kokuhoren です".into(),
            }
            .into());
        }
        (Some(_), _) => {
            return Err(RegistryError::BadValue {
                field: "format".into(),
                message: "json または uke です".into(),
            }
            .into());
        }
    };
    let store = state.store.clone();
    let built = blocking(move || {
        let m = onshi_clinic::claims::month_claims(store.as_ref(), &inst, month, opts)
            .map_err(clinic_err)?;
        let file = match uke_payer {
            None => None,
            Some(payer) => {
                let row = store
                    .institution(&inst)
                    .map_err(RegistryError::from)?
                    .ok_or(RegistryError::NotFound)?;
                let claims: Vec<_> = m
                    .claims
                    .iter()
                    .filter(|c| c.payer == payer)
                    .cloned()
                    .collect();
                let billing = month
                    .checked_add_months(chrono::Months::new(1))
                    .unwrap_or(month);
                let institution = onshi_uke::UkeInstitution {
                    payer,
                    institution_code: inst.to_string(),
                    name: row.name,
                    phone: row.phone,
                    billing_month: billing,
                };
                let bytes = onshi_uke::write_uke(&institution, &claims).map_err(|e| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
                })?;
                Some(bytes)
            }
        };
        Ok::<_, ApiError>((m, file))
    })
    .await?;
    match built {
        (_, Some(bytes)) => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.onshi.uke"),
            )],
            bytes,
        )
            .into_response()),
        (m, None) => Ok(Json(m).into_response()),
    }
}
