//! The one error shape of the API.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onshi_registry::RegistryError;
use serde::Serialize;
use utoipa::ToSchema;

/// An API error: status, stable code, Japanese message, and the field it is
/// about where there is one.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `insurer_number_check_digit`, `missing_field`,
    /// `certificate_expired`.
    pub code: String,
    /// Japanese text for the clerk.
    pub message: String,
    /// The request field the error is about.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            field: None,
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        use RegistryError as E;
        let status = match &e {
            E::Invalid(_)
            | E::Missing(_)
            | E::MissingOneOf(..)
            | E::NotAllowed(_)
            | E::BadValue { .. } => StatusCode::BAD_REQUEST,
            E::CertificateUnknown | E::InsurerUnknown(_) | E::NotFound => StatusCode::NOT_FOUND,
            E::MissingIdempotencyKey => StatusCode::BAD_REQUEST,
            E::PersonUnknown(_) | E::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            E::OtherInsurer => StatusCode::FORBIDDEN,
            E::NotVisible | E::Duplicate(_) | E::VisualModeOff | E::ReaderInVisualMode => {
                StatusCode::CONFLICT
            }
            E::ReaderUnavailable | E::NetworkUnreachable | E::RegistryUnavailable | E::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            E::CertificateExpired { .. } | E::CertificateRevoked => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            E::InstitutionUnknown(_) | E::Forbidden => StatusCode::FORBIDDEN,
            E::Unauthorized => StatusCode::UNAUTHORIZED,
            E::FailureModeNotActive => StatusCode::FORBIDDEN,
            E::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            E::SearchExpired => StatusCode::GONE,
            E::CallbackMismatch(_) | E::InvalidState(_) => StatusCode::CONFLICT,
            E::Conflict(_) => StatusCode::CONFLICT,
            E::Store(inner) => {
                tracing::error!(error = %inner, "store failure");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self {
            status,
            code: e.code().to_owned(),
            message: e.to_string(),
            field: e.field(),
        }
    }
}

pub use onshi_registry::access::RefusalCode;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let code = RefusalCode(self.code.clone());
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        // For the audit layer, which logs every refusal by its code.
        resp.extensions_mut().insert(code);
        if unauthorized {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<onshi_clinic::visit::ClinicError> for ApiError {
    fn from(e: onshi_clinic::visit::ClinicError) -> Self {
        use onshi_clinic::visit::ClinicError as C;
        match e {
            C::Registry(r) => r.into(),
            C::NoRecordOnFile => ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string()),
            C::NoDeclaration => ApiError::new(StatusCode::NOT_FOUND, e.code(), e.to_string()),
            C::Transition(_) | C::ClaimChanged | C::ProposalNotOpen | C::NothingToDo(_) => {
                ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string())
            }
            C::ClaimNotInMonth(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string())
            }
            C::File { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
            }
            C::Corrupt(ref m) => {
                tracing::error!(error = %m, "corrupt visit record");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "内部エラーが発生しました",
                )
            }
        }
    }
}

impl From<onshi_clinic::pdf::PdfError> for ApiError {
    fn from(e: onshi_clinic::pdf::PdfError) -> Self {
        use onshi_clinic::pdf::PdfError as P;
        match e {
            P::FontUnavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "font_unavailable",
                e.to_string(),
            ),
            P::Render(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "pdf_failed",
                e.to_string(),
            ),
        }
    }
}
