//! # onshi-web
//!
//! onshi's HTTP API: JSON over axum, described by OpenAPI at
//! `/api/v1/openapi.json`. Handlers are thin: authenticate, parse, call the
//! registry on a blocking thread (the stores are synchronous), map the result.
//!
//! Invariants:
//! - every error is one JSON shape, `{"error":{"code","message","field"}}`,
//!   with a stable `code` and a Japanese `message` ([`error::ApiError`]);
//! - a request that fails to parse never reaches the store;
//! - an institution only ever sees its own check history (the tenant comes
//!   from the token, never from the request);
//! - every request that reaches a route leaves one hash-chained audit entry
//!   ([`audit`]), or its row in the check history for a check;
//! - over HTTPS only TLS 1.3 is spoken, and with client certificates an
//!   institution's token works only on its own certificate ([`tls`]).
//!
//! May depend on: onshi-core, onshi-store, onshi-registry, axum, tower-http,
//! utoipa, rustls (ring) and axum-server. Not on the CLI.

pub mod api;
pub mod audit;
pub mod claims_api;
pub mod clinic_api;
pub mod error;
pub mod extract;
pub mod failure_mode_api;
pub mod insurer_api;
pub mod oqs_api;
pub mod payer_api;
pub mod tls;
pub mod token_cache;

use std::sync::Arc;

use axum::Router;
use onshi_store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Bearer tokens resolved lately ([`token_cache`]).
    pub tokens: token_cache::TokenCache,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            tokens: token_cache::TokenCache::default(),
        }
    }
}

/// The largest request body the API accepts (bytes), except uploads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The largest import upload (bytes).
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let ui = onshi_ui::router(state.store.clone());
    api::routes()
        .merge(ui)
        .merge(insurer_api::routes())
        .merge(clinic_api::routes())
        .merge(claims_api::routes())
        .merge(failure_mode_api::routes())
        .merge(oqs_api::routes())
        .merge(payer_api::routes())
        .fallback(|| async {
            error::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "該当するAPIがありません",
            )
        })
        .method_not_allowed_fallback(|| async {
            error::ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "このAPIはそのメソッドを受け付けません",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::layer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Runs blocking store work off the async runtime (the stores are
/// synchronous); its error becomes the API's error.
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, error::ApiError>
where
    T: Send + 'static,
    E: Into<error::ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| {
            error::ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "内部エラーが発生しました",
            )
        })?
        .map_err(Into::into)
}

/// A record id from the path; anything that is not one is simply not found.
pub(crate) fn path_id(raw: &str) -> Result<i64, error::ApiError> {
    raw.parse::<i64>()
        .map_err(|_| onshi_registry::RegistryError::NotFound.into())
}

/// Serves `router` on an already bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}
