//! Extractors: the bearer-token caller, and JSON bodies whose every failure is
//! an [`ApiError`] with a stable code.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use onshi_registry::{Caller, RegistryError, auth};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller, from `Authorization: Bearer …`.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned())
            .ok_or(RegistryError::Unauthorized)?;
        let store = state.store.clone();
        let caller =
            tokio::task::spawn_blocking(move || auth::authenticate(store.as_ref(), &token))
                .await
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "内部エラーが発生しました",
                    )
                })??;
        Ok(Auth(caller))
    }
}

/// A JSON body. Too large → 413 `body_too_large`; not JSON → 400
/// `invalid_json`; an unknown field → 400 `unknown_field`; a value of the
/// wrong JSON type → 400 `invalid_json` naming the position.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "リクエストが大きすぎます（上限 {} バイト）",
                        crate::MAX_BODY_BYTES
                    ),
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "リクエスト本文を読み取れません",
                )
            }
        })?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            let text = e.to_string();
            if let Some(rest) = text.strip_prefix("unknown field `") {
                let name = rest.split('`').next().unwrap_or_default().to_owned();
                ApiError {
                    status: StatusCode::BAD_REQUEST,
                    code: "unknown_field".into(),
                    message: format!("{name}: この項目は指定できません"),
                    field: Some(name),
                }
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!(
                        "JSONとして読み取れません（{} 行 {} 列）",
                        e.line(),
                        e.column()
                    ),
                )
            }
        })
    }
}
