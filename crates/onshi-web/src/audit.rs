//! The audit layer: one hash-chained audit entry per request that touches
//! data (MHLW 安全管理ガイドライン 6.0 システム運用編 §17①: who, when, which
//! information; ASVS 5.0 16.3: authentication and authorisation events).
//!
//! Around every route the layer puts an [`AccessSlot`] into the request; the
//! bearer-token and session extractors write the caller into it, and after
//! the handler the layer appends `(when, actor, "METHOD /route/{template}",
//! purpose, detail)` with detail `{"path", "status", "code"}` to the audit
//! log ([`onshi_store::chain`]). Which person: the path names the record read
//! or written (a visit, a qualification, a request); where the registry
//! resolves a person itself it logs the person's id, in the check history
//! (every check) and in the failure-mode search and pick entries. A refusal is logged (tracing) by its code, with
//! the route and the actor and nothing of the request's body.
//!
//! Exempt: the health check, the OpenAPI document, the style sheet and the
//! login page (nothing of a person's); requests to no route; a card or number
//! check whose row is in the check history, which is chained itself; and a
//! request refused because nobody authenticated (401): it is logged by
//! tracing like every refusal, but not kept, so that anyone on the network
//! cannot grow the append-only log (or hold its lock) at will.
//!
//! When the entry cannot be written, a read fails closed (503
//! `audit_unavailable`: nothing is shown that is not logged). Reads are GET
//! and HEAD, and the POSTs in [`READ_POSTS`] that only compute an answer. A
//! write has already committed, so its answer stands and the failure is
//! logged as an error, to be reconciled from the tables' own timestamps.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use onshi_registry::access::AccessSlot;

use crate::AppState;
use crate::error::{ApiError, RefusalCode};

/// Routes that are never audited.
const EXEMPT: &[&str] = &[
    "/healthz",
    "/api/v1/openapi.json",
    "/ui/static/style.css",
    "/",
    "/ui",
];

/// POST routes that write nothing and answer with persons' data: they fail
/// closed like a GET.
pub const READ_POSTS: &[&str] = &["/api/v1/payer/runs", "/ui/payer/runs"];

/// Why a route's data is used, as the audit log says it.
pub fn purpose(route: &str) -> &'static str {
    let p = |prefix: &str| route.starts_with(prefix);
    if p("/api/v1/failure-mode") || p("/ui/desk/failure-mode") || p("/api/v1/operator/failure-mode")
    {
        "緊急時資格確認"
    } else if p("/api/v1/checks") || p("/api/v1/oqs") || p("/ui/desk/history") {
        "資格確認"
    } else if p("/api/v1/me") || p("/ui/me") {
        "本人閲覧"
    } else if p("/api/v1/insurer/reports") {
        "保険者報告"
    } else if p("/api/v1/insurer") || p("/ui/insurer") {
        "資格登録"
    } else if p("/api/v1/payer") || p("/ui/payer") {
        "審査支払"
    } else if p("/api/v1/operator") || p("/ui/operator") || p("/api/v1/faults") {
        "運用管理"
    } else if p("/ui/login") || p("/ui/logout") || route == "/ui/" {
        "認証"
    } else {
        "受付・請求"
    }
}

/// The layer (`axum::middleware::from_fn_with_state`).
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    if route.as_deref().is_some_and(|r| EXEMPT.contains(&r))
        || (route.as_deref() == Some("/ui/login") && req.method() == Method::GET)
    {
        return next.run(req).await;
    }
    let slot = AccessSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;

    let note = slot.note();
    if note.in_check_history && response.status().is_success() {
        return response;
    }
    // A path no route matched is answered by the fallback (404), with no
    // caller: not audited.
    let Some(route) = route else {
        return response;
    };
    let status = response.status();
    let code = response
        .extensions()
        .get::<RefusalCode>()
        .map(|c| c.0.clone());
    let actor = note.actor.clone().unwrap_or_else(|| "anonymous".into());
    let action = format!("{method} {route}");
    if status.is_client_error() || status.is_server_error() {
        tracing::info!(
            status = status.as_u16(),
            code = code.as_deref().unwrap_or(""),
            action = %action,
            actor = %actor,
            "request refused"
        );
    }
    if note.actor.is_none() && status == StatusCode::UNAUTHORIZED {
        return response;
    }
    let detail = serde_json::json!({
        "path": path,
        "status": status.as_u16(),
        "code": code,
    });
    let store = state.store.clone();
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let purpose = purpose(&route);
    let written = tokio::task::spawn_blocking(move || {
        store.audit(&at, &actor, &action, None, Some(purpose), &detail)
    })
    .await;
    match written {
        Ok(Ok(())) => response,
        failed => {
            let error = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "audit task failed".to_owned(),
            };
            tracing::error!(error = %error, route = %route, "audit entry not written");
            if method == Method::GET
                || method == Method::HEAD
                || READ_POSTS.contains(&route.as_str())
            {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "audit_unavailable",
                    "監査ログを記録できないため表示できません。しばらくしてから再度お試しください",
                )
                .into_response()
            } else {
                response
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::purpose;

    #[test]
    fn purposes_by_route() {
        assert_eq!(purpose("/api/v1/checks"), "資格確認");
        assert_eq!(purpose("/api/v1/failure-mode/search"), "緊急時資格確認");
        assert_eq!(purpose("/api/v1/me"), "本人閲覧");
        assert_eq!(purpose("/api/v1/insurer/reports/checks"), "保険者報告");
        assert_eq!(purpose("/api/v1/insurer/qualifications/{id}"), "資格登録");
        assert_eq!(purpose("/api/v1/payer/runs"), "審査支払");
        assert_eq!(purpose("/api/v1/visits/{id}/decision"), "受付・請求");
        assert_eq!(purpose("/ui/login"), "認証");
    }
}
