//! Extractors: the bearer-token caller, and JSON bodies whose every failure is
//! an [`ApiError`] with a stable code.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use onshi_registry::access::{AccessSlot, ClientCertificate};
use onshi_registry::{Caller, RegistryError, auth};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// Refuses an institution's token on a TLS connection whose client
/// certificate names another institution ([`crate::tls`]).
pub(crate) fn client_certificate_admits(parts: &Parts, caller: &Caller) -> Result<(), ApiError> {
    match parts.extensions.get::<Option<ClientCertificate>>() {
        Some(Some(cert)) if !cert.admits(caller) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "client_certificate_mismatch",
            "クライアント証明書の医療機関コードがトークンの医療機関と一致しません",
        )),
        _ => Ok(()),
    }
}

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
        // The shape is checked before anything is hashed or looked up.
        if !auth::well_formed(&token) {
            return Err(RegistryError::Unauthorized.into());
        }
        let hash = auth::token_hash(&token);
        let admit = |caller: Caller| {
            if let Some(slot) = parts.extensions.get::<AccessSlot>() {
                slot.caller(&caller);
            }
            client_certificate_admits(parts, &caller)?;
            Ok(Auth(caller))
        };
        if let Some(caller) = state.tokens.get(&hash) {
            return admit(caller);
        }
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
        state.tokens.put(hash, caller.clone());
        admit(caller)
    }
}

/// The raw request body, with the size refusal as an [`ApiError`]
/// (413 `body_too_large`).
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rej| {
                if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "リクエストが大きすぎます",
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_body",
                        "リクエスト本文を読み取れません",
                    )
                }
            })
    }
}

/// Parses a JSON body: not JSON → 400 `invalid_json` with the position; an
/// unknown field → 400 `unknown_field` naming it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        // "." is the root and "?" an unknown position (a syntax error).
        let path = if path == "." || path == "?" {
            String::new()
        } else {
            path
        };
        let e = err.into_inner();
        let text = e.to_string();
        if let Some(rest) = text.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or_default().to_owned();
            let field = if path.is_empty() { name.clone() } else { path };
            ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "unknown_field".into(),
                message: format!("{name}: この項目は指定できません"),
                field: Some(field),
            }
        } else {
            ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_json".into(),
                message: format!(
                    "JSONとして読み取れません（{} 行 {} 列）",
                    e.line(),
                    e.column()
                ),
                field: (!path.is_empty()).then_some(path),
            }
        }
    })
}

/// Parses the query string of `uri`; a bad one is 400 `invalid_query`.
pub fn parse_query<T: DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("クエリ文字列を読み取れません: {e}"),
            )
        })
}

/// A query string, with its refusal in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(&parts.uri).map(ApiQuery)
    }
}

/// A JSON body (see [`RawBody`] and [`parse_json`] for the refusals).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The `Idempotency-Key` header, if any.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(IdempotencyKey(
            parts
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        ))
    }
}
