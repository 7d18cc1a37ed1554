//! The UI's test harness: the whole onshi application (`onshi_web::serve`,
//! into which the UI is merged) on loopback over a real SQLite file, loaded
//! with the demo persons dated on today, one token per role, and an HTTP
//! client that does not follow redirects (so each 303 can be checked).

#![allow(dead_code)]

use std::sync::Arc;

use chrono::{Days, Local, NaiveDate, SecondsFormat, Utc};
use onshi_core::{CertificateSerial, InstitutionCode, InsurerNumber};
use onshi_registry::{Caller, auth, demo, fixture};
use onshi_store::{SqliteStore, Store};
use onshi_ui::session::csrf_token;

pub fn today() -> NaiveDate {
    Local::now().date_naive()
}

pub struct Server {
    pub url: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub clinic: String,
    pub other_clinic: String,
    pub insurer: String,
    pub payer: String,
    pub operator: String,
    pub patient: String,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onshi.sqlite");
    let (store, tokens) = tokio::task::spawn_blocking(move || {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        // Loaded "yesterday", so every check the tests make comes after it.
        let loaded =
            (Utc::now() - chrono::Duration::days(1)).to_rfc3339_opts(SecondsFormat::Millis, true);
        let (fx, _) = demo::demo(today()).unwrap();
        fixture::load(store.as_ref(), &fx, &loaded).unwrap();
        let token = |c: Caller| auth::issue_token(store.as_ref(), &c, "ui-test", &loaded).unwrap();
        let tokens = [
            token(Caller::Institution(
                InstitutionCode::parse(demo::CLINIC_CODE).unwrap(),
            )),
            token(Caller::Institution(
                InstitutionCode::parse(demo::OTHER_CLINIC_CODE).unwrap(),
            )),
            token(Caller::Insurer(
                InsurerNumber::parse(demo::KUMIAI_TOKYO).unwrap(),
            )),
            token(Caller::Payer),
            token(Caller::Operator),
            token(Caller::Patient(
                CertificateSerial::parse("DEMO-VALID").unwrap(),
            )),
        ];
        (store, tokens)
    })
    .await
    .unwrap();
    let [clinic, other_clinic, insurer, payer, operator, patient] = tokens;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = onshi_web::AppState::new(store.clone());
    tokio::spawn(async move { onshi_web::serve(listener, state).await });
    Server {
        url,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        store,
        clinic,
        other_clinic,
        insurer,
        payer,
        operator,
        patient,
        _dir: dir,
    }
}

/// A response: status, `Location`, `Set-Cookie`, body text.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub cache_control: Option<String>,
    pub body: String,
}

impl Page {
    async fn from(resp: reqwest::Response) -> Page {
        let h = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, set_cookie) = (h("location"), h("set-cookie"));
        let cache_control = h("cache-control");
        Page {
            status: resp.status().as_u16(),
            location,
            set_cookie,
            cache_control,
            body: resp.text().await.unwrap_or_default(),
        }
    }

    /// The id at the end of the `Location` of a redirect to a visit.
    pub fn visit_id(&self) -> i64 {
        let loc = self.location.as_deref().unwrap_or_default();
        loc.trim_start_matches("/ui/desk/visits/")
            .split(['#', '/', '?'])
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no visit in {loc:?}"))
    }
}

impl Server {
    pub async fn get(&self, token: Option<&str>, path: &str) -> Page {
        let mut r = self.http.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            r = r.header("cookie", format!("onshi_session={t}"));
        }
        Page::from(r.send().await.unwrap()).await
    }

    /// POSTs a form as the session of `token`, with its CSRF field.
    pub async fn post(&self, token: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, String)> =
            fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        all.push(("_csrf", csrf_token(token)));
        self.post_raw(Some(token), path, &all).await
    }

    /// POSTs exactly these fields (no CSRF field added).
    pub async fn post_raw(
        &self,
        token: Option<&str>,
        path: &str,
        fields: &[(&str, String)],
    ) -> Page {
        let mut r = self.http.post(format!("{}{path}", self.url)).form(fields);
        if let Some(t) = token {
            r = r.header("cookie", format!("onshi_session={t}"));
        }
        Page::from(r.send().await.unwrap()).await
    }

    /// A card check at the window; returns the new visit's id.
    pub async fn card_visit(&self, serial: &str, patient_key: &str) -> i64 {
        let p = self
            .post(
                &self.clinic,
                "/ui/desk/visits",
                &[
                    ("reference", "card"),
                    ("visited_on", &today().to_string()),
                    ("patient_key", patient_key),
                    ("certificate_serial", serial),
                ],
            )
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        p.visit_id()
    }

    /// Calls the (synchronous) store from a test body.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> T + Send + 'static,
    ) -> T {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .unwrap()
    }

    pub async fn checks_written(&self) -> u64 {
        self.db(|st| st.counts().unwrap().checks).await
    }

    pub async fn visits_today(&self) -> usize {
        self.db(|st| {
            st.visits_on(&InstitutionCode::parse(demo::CLINIC_CODE).unwrap(), today())
                .unwrap()
                .len()
        })
        .await
    }

    /// A JSON API call with a bearer token (fault injection, activation).
    pub async fn api(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// The failure mode asked for, called back and enabled, through the JSON
    /// API as its own tests do (別添2 steps 1–3).
    pub async fn activate_failure_mode(&self) {
        use reqwest::Method as M;
        use serde_json::json;
        let (s, r) = self
            .api(
                &self.clinic,
                M::POST,
                "/api/v1/failure-mode/requests",
                Some(json!({"contact_name": "受付 花子", "reason": "通信障害"})),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let id = r["id"].as_i64().unwrap();
        let (s, r) = self
            .api(
                &self.operator,
                M::POST,
                &format!("/api/v1/operator/failure-mode/requests/{id}/callback"),
                Some(json!({"operator": "OP-1", "called_number": "03-0000-1234"})),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let (s, r) = self
            .api(
                &self.operator,
                M::POST,
                &format!("/api/v1/operator/failure-mode/requests/{id}/enable"),
                Some(json!({"hours": 4})),
            )
            .await;
        assert_eq!(s, 200, "{r}");
    }

    /// Makes the clinic's own card checks fail as a broken face reader
    /// (fault injection through the JSON API; the registry stays reachable,
    /// so the failure-mode search works).
    pub async fn reader_outage(&self) {
        let (s, r) = self
            .api(
                &self.clinic,
                reqwest::Method::PUT,
                "/api/v1/faults",
                Some(serde_json::json!({"kind": "reader"})),
            )
            .await;
        assert_eq!(s, 204, "{r}");
    }
}

/// 山田 太郎 (DEMO-VALID)'s birth date as the demo sets it.
pub fn yamada_birth() -> NaiveDate {
    let d = today();
    d.checked_sub_months(chrono::Months::new(12 * 46))
        .unwrap()
        .checked_sub_days(Days::new(10))
        .unwrap()
}
