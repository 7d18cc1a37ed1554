//! # onshi-ui
//!
//! The server-rendered web UI in Japanese, for the people who will never send
//! JSON: the reception desk (受付: the check, the failure flow of 保発0710第1号,
//! the 被保険者資格申立書, the deferred re-check, the 目視確認モード), the
//! system-failure mode (障害時モード), the insurer portal, the payer console,
//! the operator (call centre) and the patient's self view.
//!
//! Served under `/ui/` by `onshi serve` / `onshi demo` (merged into
//! `onshi_web::router`); `/` redirects there. HTML comes from maud templates
//! (escaped by default), the CSS is one embedded file, every form is a plain
//! HTML form (POST → 303 → GET) that works without JavaScript.
//!
//! Invariants:
//! - every page re-authenticates the session token with
//!   `onshi_registry::auth::authenticate`; the tenant (institution, insurer,
//!   card) always comes from the token, never from the request;
//! - every POST carries the CSRF field derived from the session
//!   ([`session::csrf_token`]) and is refused with 403 before anything runs
//!   when it is missing or wrong;
//! - the store is only ever called on a blocking thread;
//! - the rules are the services' (onshi-registry, onshi-clinic, onshi-payer),
//!   called exactly as the JSON API calls them; nothing here decides anything.
//!
//! May depend on: onshi-core, onshi-store, onshi-registry, onshi-clinic,
//! onshi-payer, onshi-uke, axum, maud. Not on onshi-web (which depends on this
//! crate) nor on the CLI.

mod claims;
mod desk;
mod failure;
mod page;
mod portal;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use onshi_store::Store;

/// What every UI handler shares.
#[derive(Clone)]
pub struct UiState {
    pub store: Arc<dyn Store>,
}

/// The largest claims file the payer console takes (bytes).
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;
/// The largest ordinary form (bytes).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The stylesheet, embedded in the binary.
pub const STYLE_CSS: &str = include_str!("../assets/style.css");

/// The UI's routes, under `/ui/`, plus `/` redirecting there. Generic over the
/// state of the router it is merged into (the UI keeps its own).
pub fn router<S: Clone + Send + Sync + 'static>(store: Arc<dyn Store>) -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(session::home))
        .route("/ui/static/style.css", get(style))
        .route("/ui/login", get(session::login_page).post(session::login))
        .route("/ui/logout", post(session::logout))
        // 受付 (role institution)
        .route("/ui/desk", get(desk::desk))
        .route("/ui/desk/visits", post(desk::open_visit))
        .route("/ui/desk/visits/{id}", get(desk::visit_page))
        .route("/ui/desk/visits/{id}/decision", post(desk::decide))
        .route(
            "/ui/desk/visits/{id}/declaration",
            get(desk::declaration_page).post(desk::save_declaration),
        )
        .route(
            "/ui/desk/visits/{id}/declaration.pdf",
            get(desk::declaration_pdf),
        )
        .route("/ui/desk/visits/{id}/contact", post(desk::contact))
        .route("/ui/desk/forms/declaration.pdf", get(desk::blank_pdf))
        .route("/ui/desk/history", get(desk::history))
        .route("/ui/desk/claims", get(claims::month))
        .route("/ui/desk/claims/sync", post(claims::sync))
        .route("/ui/desk/claims/confirm", post(claims::confirm))
        .route("/ui/desk/claims/submit", post(claims::submit))
        .route("/ui/desk/claims/receive", post(claims::receive))
        .route("/ui/desk/claims/{id}", get(claims::claim_page))
        .route("/ui/desk/claims/{id}/proposal/{what}", post(claims::decide))
        .route("/ui/desk/claims/{id}/withdraw", post(claims::withdraw))
        .route("/ui/desk/claims/{id}/reclaim", post(claims::reclaim))
        .route("/ui/desk/rechecks", get(desk::rechecks))
        .route("/ui/desk/rechecks/run", post(desk::run_rechecks))
        .route("/ui/desk/reader-mode", post(desk::reader_mode))
        .route("/ui/desk/faults", post(desk::faults))
        // 障害時モード (role institution)
        .route("/ui/desk/failure-mode", get(failure::page))
        .route("/ui/desk/failure-mode/requests", post(failure::request))
        .route(
            "/ui/desk/failure-mode/requests/{id}/report",
            post(failure::report),
        )
        .route("/ui/desk/failure-mode/search", post(failure::search))
        .route("/ui/desk/failure-mode/pick", post(failure::pick))
        // the other roles
        .route("/ui/insurer", get(portal::insurer))
        .route("/ui/insurer/records/{id}", get(portal::insurer_record))
        .route(
            "/ui/insurer/differences/settle",
            post(portal::insurer_settle),
        )
        .route("/ui/payer", get(portal::payer))
        .route("/ui/payer/runs/{id}", get(portal::payer_stored_run))
        .route("/ui/payer/runs/{id}/{file}", get(portal::payer_download))
        .route(
            "/ui/payer/submissions/{id}/run",
            post(portal::payer_run_submission),
        )
        .route(
            "/ui/payer/runs",
            post(portal::payer_run).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/ui/operator", get(portal::operator))
        .route(
            "/ui/operator/requests/{id}/callback",
            post(portal::operator_callback),
        )
        .route(
            "/ui/operator/requests/{id}/enable",
            post(portal::operator_enable),
        )
        .route("/ui/me", get(portal::me))
        .layer(axum::middleware::map_response(no_store))
        .with_state(UiState { store })
}

/// Pages and PDFs hold patients' data: no browser or proxy may keep them (a
/// shared reception PC's Back button must not show the last patient after
/// logout). Only responses that set their own policy (the stylesheet) keep it.
async fn no_store(mut res: axum::response::Response) -> axum::response::Response {
    let h = res.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    res
}

async fn style() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLE_CSS,
    )
}

/// Runs store work on a blocking thread (the stores are synchronous; the
/// PostgreSQL one refuses to run on an async thread).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, session::UiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| session::UiError::Internal)
}
