//! Login, the session cookie, CSRF, and the UI's error pages.
//!
//! The session is the bearer token itself, in an `HttpOnly; SameSite=Strict`
//! cookie scoped to `/ui`: stateless, so replicas behind a load balancer need
//! no shared session store, and every request re-authenticates it with
//! [`onshi_registry::auth::authenticate`] (a revoked or unknown token is
//! logged out at once). The CSRF field of every form is the hex SHA-256 of
//! `"csrf:" + token`: a page of this origin can put it in a form, another site
//! cannot compute it, and it is compared in constant time. A POST whose
//! `Sec-Fetch-Site` or `Origin` says it came from elsewhere is refused too.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use onshi_registry::{Caller, RegistryError, auth};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::page::{self, FieldErrors};
use crate::{UiState, blocking};

/// The session cookie's name.
pub const COOKIE: &str = "onshi_session";
/// The CSRF field's name in every form.
pub const CSRF_FIELD: &str = "_csrf";

/// The CSRF value of a session: hex SHA-256 of `"csrf:" + token`.
pub fn csrf_token(token: &str) -> String {
    hex::encode(Sha256::digest(format!("csrf:{token}").as_bytes()))
}

/// Compares two byte strings in time that depends only on their length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a UI request was refused; rendered as a Japanese page (or, for a
/// missing session, a redirect to the login form).
#[derive(Debug)]
pub enum UiError {
    LoginRequired,
    Forbidden,
    Csrf,
    NotFound,
    BadRequest(String),
    /// A refusal from a service, with its status and Japanese message.
    Message(StatusCode, String),
    Internal,
}

impl From<RegistryError> for UiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound => UiError::NotFound,
            RegistryError::Forbidden => UiError::Forbidden,
            RegistryError::Unauthorized => UiError::LoginRequired,
            RegistryError::Store(inner) => {
                tracing::error!(error = %inner, "store failure");
                UiError::Internal
            }
            other => UiError::Message(StatusCode::BAD_REQUEST, page::error_text(&other)),
        }
    }
}

impl From<onshi_clinic::visit::ClinicError> for UiError {
    fn from(e: onshi_clinic::visit::ClinicError) -> Self {
        use onshi_clinic::visit::ClinicError as C;
        match e {
            C::Registry(r) => r.into(),
            C::NoDeclaration => UiError::NotFound,
            C::Corrupt(m) => {
                tracing::error!(error = %m, "corrupt visit record");
                UiError::Internal
            }
            other => UiError::Message(StatusCode::CONFLICT, other.to_string()),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        // For the audit layer, which logs every refusal by its code.
        let code = onshi_registry::access::RefusalCode(
            match &self {
                UiError::LoginRequired => "login_required",
                UiError::Forbidden => "forbidden",
                UiError::Csrf => "csrf",
                UiError::NotFound => "not_found",
                UiError::BadRequest(_) => "bad_request",
                UiError::Message(..) => "refused",
                UiError::Internal => "internal",
            }
            .to_owned(),
        );
        let (status, title, text) = match self {
            UiError::LoginRequired => {
                let mut r = Redirect::to("/ui/login").into_response();
                *r.status_mut() = StatusCode::SEE_OTHER;
                r.extensions_mut().insert(code);
                return r;
            }
            UiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "権限がありません",
                "この画面・操作はログイン中の役割では使えません。".to_owned(),
            ),
            UiError::Csrf => (
                StatusCode::FORBIDDEN,
                "送信を受け付けられません",
                "フォームの確認用の値が一致しません。画面を開き直してからもう一度送信してください（他のサイトからの送信は受け付けません）。".to_owned(),
            ),
            UiError::NotFound => (
                StatusCode::NOT_FOUND,
                "見つかりません",
                "該当するデータがありません。".to_owned(),
            ),
            UiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "入力を確認してください", m),
            UiError::Message(s, m) => (s, "処理できませんでした", m),
            UiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "内部エラー",
                "内部エラーが発生しました。しばらくしてからもう一度お試しください。".to_owned(),
            ),
        };
        let body = page::bare(
            title,
            html! {
                h1 { (title) }
                p.error-box { (text) }
                p { a href="/ui/" { "トップへ戻る" } }
            },
        );
        let mut r = (status, body).into_response();
        r.extensions_mut().insert(code);
        r
    }
}

/// An authenticated UI session.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub caller: Caller,
    /// The name of the tenant (institution or insurer), for the header.
    pub tenant_name: Option<String>,
}

impl Session {
    pub fn csrf(&self) -> String {
        csrf_token(&self.token)
    }

    fn check_csrf(&self, given: &str) -> Result<(), UiError> {
        if constant_time_eq(self.csrf().as_bytes(), given.as_bytes()) {
            Ok(())
        } else {
            Err(UiError::Csrf)
        }
    }

    pub fn institution(&self) -> Result<onshi_core::InstitutionCode, UiError> {
        match &self.caller {
            Caller::Institution(c) => Ok(c.clone()),
            _ => Err(UiError::Forbidden),
        }
    }

    /// The hidden CSRF input for a form.
    pub fn csrf_input(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf()); }
    }

    async fn load(headers: &HeaderMap, state: &UiState) -> Result<Option<Session>, UiError> {
        let Some(token) = cookie(headers, COOKIE) else {
            return Ok(None);
        };
        let store = state.store.clone();
        blocking(move || {
            let caller = match auth::authenticate(store.as_ref(), &token) {
                Ok(c) => c,
                Err(RegistryError::Unauthorized) => return Ok(None),
                Err(e) => return Err(UiError::from(e)),
            };
            let tenant_name = match &caller {
                Caller::Institution(c) => store.institution(c).ok().flatten().map(|r| r.name),
                Caller::Insurer(n) => store.insurer(n).ok().flatten().map(|r| r.name),
                _ => None,
            };
            Ok(Some(Session {
                token,
                caller,
                tenant_name,
            }))
        })
        .await?
    }
}

impl FromRequestParts<UiState> for Session {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        let session = Session::load(&parts.headers, state)
            .await?
            .ok_or(UiError::LoginRequired)?;
        // For the audit layer (onshi_web::audit).
        if let Some(slot) = parts.extensions.get::<onshi_registry::access::AccessSlot>() {
            slot.caller(&session.caller);
        }
        // Over mutual TLS, an institution only on its own certificate.
        if let Some(Some(cert)) = parts
            .extensions
            .get::<Option<onshi_registry::access::ClientCertificate>>()
            && !cert.admits(&session.caller)
        {
            return Err(UiError::Forbidden);
        }
        Ok(session)
    }
}

/// The value of one cookie of the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Refuses a POST that the browser says came from another site.
fn same_origin(headers: &HeaderMap) -> Result<(), UiError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(UiError::Csrf);
    }
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let bare = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if bare != Some(host) {
            return Err(UiError::Csrf);
        }
    }
    Ok(())
}

/// A POSTed form of a session: the session is authenticated, the origin
/// checked, and the CSRF field compared before the form is parsed. Every form
/// field is read as text; parsing is the services'.
pub struct Posted<T> {
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<UiState> for Posted<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, UiError> {
        let (mut parts, body) = req.into_parts();
        same_origin(&parts.headers)?;
        let session = Session::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| UiError::BadRequest("フォームが大きすぎるか、読み取れません".into()))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| UiError::BadRequest("フォームを読み取れません".into()))?;
        let given = pairs
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        session.check_csrf(given)?;
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| UiError::BadRequest("フォームを読み取れません".into()))?;
        Ok(Posted { session, form })
    }
}

/// Checks the CSRF field of a multipart form (the payer upload).
pub fn check_multipart(headers: &HeaderMap, session: &Session, given: &str) -> Result<(), UiError> {
    same_origin(headers)?;
    session.check_csrf(given)
}

/// Where each role starts.
pub fn home_of(caller: &Caller) -> &'static str {
    match caller {
        Caller::Institution(_) => "/ui/desk",
        Caller::Insurer(_) => "/ui/insurer",
        Caller::Payer => "/ui/payer",
        Caller::Operator => "/ui/operator",
        Caller::Patient(_) => "/ui/me",
    }
}

pub(crate) fn see_other(to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    *r.status_mut() = StatusCode::SEE_OTHER;
    r
}

/// `GET /ui/`: the role's start page, or the login form.
pub async fn home(State(state): State<UiState>, headers: HeaderMap) -> Result<Response, UiError> {
    Ok(match Session::load(&headers, &state).await? {
        Some(s) => see_other(home_of(&s.caller)),
        None => see_other("/ui/login"),
    })
}

fn login_form(errors: &FieldErrors) -> Markup {
    page::bare(
        "ログイン",
        html! {
            main.login {
                h1 { "onshi オンライン資格確認" }
                p { "受付（医療機関・薬局）、保険者、審査支払機関、コールセンター、患者の各画面に、発行されたトークンでログインします。" }
                form method="post" action="/ui/login" {
                    (page::field(errors, "token", "トークン", html! {
                        input #token type="password" name="token" autocomplete="off" required
                            placeholder="onshi_ で始まる70文字";
                    }))
                    p.hint { "「onshi demo」が役割ごとに表示するトークン、または「onshi token issue」で発行したトークンを入力してください。" }
                    button type="submit" { "ログイン" }
                }
            }
        },
    )
}

/// `GET /ui/login`.
pub async fn login_page() -> Markup {
    login_form(&FieldErrors::default())
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: Option<String>,
}

fn session_cookie(value: &str, max_age: Option<u32>, headers: &HeaderMap) -> HeaderValue {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let mut c = format!("{COOKIE}={value}; Path=/ui; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static("onshi_session=; Path=/ui"))
}

/// `POST /ui/login`: checks the token and sets the session cookie.
pub async fn login(
    State(state): State<UiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, UiError> {
    same_origin(&headers)?;
    let form: LoginForm = serde_urlencoded::from_bytes(&body)
        .map_err(|_| UiError::BadRequest("フォームを読み取れません".into()))?;
    let token = form.token.unwrap_or_default().trim().to_owned();
    let store = state.store.clone();
    let t = token.clone();
    let caller = blocking(move || auth::authenticate(store.as_ref(), &t)).await?;
    match caller {
        Ok(caller) => {
            let mut r = see_other(home_of(&caller));
            r.headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&token, None, &headers));
            Ok(r)
        }
        Err(RegistryError::Unauthorized) => {
            let mut e = FieldErrors::default();
            e.add(
                "token",
                "トークンが正しくないか、無効になっています。発行されたトークンをそのまま入力してください",
            );
            Ok((StatusCode::UNAUTHORIZED, login_form(&e)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /ui/logout`: clears the cookie.
pub async fn logout(headers: HeaderMap, _: Posted<Empty>) -> Response {
    let mut r = see_other("/ui/login");
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", Some(0), &headers));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_is_bound_to_the_token() {
        let a = csrf_token("onshi_a");
        assert_eq!(a.len(), 64);
        assert_ne!(a, csrf_token("onshi_b"));
        assert!(constant_time_eq(
            a.as_bytes(),
            csrf_token("onshi_a").as_bytes()
        ));
        assert!(!constant_time_eq(a.as_bytes(), &a.as_bytes()[1..]));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; onshi_session=onshi_x; b=2"),
        );
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("onshi_x"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h).is_ok());
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.test"));
        assert!(same_origin(&h).is_err());
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&h).is_err());
    }
}
