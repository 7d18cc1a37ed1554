//! The shared harness: a real server on loopback over a real store, loaded
//! with the demo persons (one per case of the notice) dated relative to a
//! fixed day, and one token per role.
//!
//! The store is SQLite (a temporary file) or PostgreSQL (a fresh schema on the
//! server named by `ONSHI_PG_URL`), as chosen by the test's
//! `#[onshi_testkit::both]` wrapper through [`with_backend`].

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDate;
use onshi_core::{CertificateSerial, InstitutionCode, InsurerNumber};
use onshi_registry::{Caller, auth, demo, fixture};
use onshi_store::{PgStore, SqliteStore, Store};
use serde_json::{Value, json};

/// When the fixture was loaded: before any check a test makes (checks use the clock).
pub const NOW: &str = "2026-11-24T00:00:00.000Z";

/// Whether an audit entry is the audit layer's record of a request
/// (`"METHOD /route"`), not one the domain wrote.
pub fn is_request_entry(a: &onshi_store::AuditRow) -> bool {
    a.action
        .split_once(' ')
        .is_some_and(|(m, r)| m.chars().all(|c| c.is_ascii_uppercase()) && r.starts_with('/'))
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// Which store a behaviour test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// Runs a test body with `backend` as the store [`start`] opens.
pub async fn with_backend<F: Future<Output = ()>>(backend: Backend, body: F) {
    BACKEND.scope(backend, body).await
}

pub fn with_backend_sync(backend: Backend, body: impl FnOnce()) {
    assert_eq!(
        backend,
        Backend::Sqlite,
        "synchronous tests here are SQLite-only"
    );
    body()
}

/// The backend of the running test (SQLite outside `#[both]`).
pub fn backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// Opens an empty store of the current backend. The returned directory (a
/// SQLite file lives there) must outlive the store.
pub fn open_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = match backend() {
        Backend::Sqlite => Arc::new(SqliteStore::open(&dir.path().join("onshi.sqlite")).unwrap()),
        Backend::Postgres => {
            let url = std::env::var("ONSHI_PG_URL")
                .expect("ONSHI_PG_URL names the PostgreSQL server for these tests (README, Tests)");
            let schema = format!("t_{:016x}", rand::random::<u64>());
            Arc::new(PgStore::connect_in_schema(&url, &schema).unwrap())
        }
    };
    (store, dir)
}

pub struct Server {
    pub url: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub clinic: String,
    pub other_clinic: String,
    pub insurer: String,
    pub other_insurer: String,
    pub patient: String,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Server {
    let (store, dir) = tokio::task::block_in_place(open_store);
    start_on(store, dir, true).await
}

/// A server over `store`, with the demo fixture loaded first when `load`
/// (a second server over the same database passes false).
pub async fn start_on(store: Arc<dyn Store>, dir: tempfile::TempDir, load: bool) -> Server {
    let tokens = tokio::task::block_in_place(|| {
        if load {
            let (fx, _) = demo::demo(today()).unwrap();
            fixture::load(store.as_ref(), &fx, NOW).unwrap();
        }
        let token = |c: Caller| auth::issue_token(store.as_ref(), &c, "test", NOW).unwrap();
        [
            token(Caller::Institution(
                InstitutionCode::parse(demo::CLINIC_CODE).unwrap(),
            )),
            token(Caller::Institution(
                InstitutionCode::parse(demo::OTHER_CLINIC_CODE).unwrap(),
            )),
            token(Caller::Insurer(
                InsurerNumber::parse(demo::KUMIAI_TOKYO).unwrap(),
            )),
            token(Caller::Insurer(
                InsurerNumber::parse(demo::KYOKAI_TOKYO).unwrap(),
            )),
            token(Caller::Patient(
                CertificateSerial::parse("DEMO-VALID").unwrap(),
            )),
        ]
    });
    let [clinic, other_clinic, other_insurer, insurer, patient] = tokens;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = onshi_web::AppState::new(store.clone());
    tokio::spawn(async move { onshi_web::serve(listener, state).await });
    Server {
        url,
        http: reqwest::Client::new(),
        store,
        clinic,
        other_clinic,
        insurer,
        other_insurer,
        patient,
        _dir: dir,
    }
}

impl Server {
    /// A token for `caller`, issued straight into the store.
    pub fn token(&self, caller: &Caller) -> String {
        self.db(|st| auth::issue_token(st, caller, "test", NOW))
            .unwrap()
    }

    /// Calls the (synchronous) store from a test body.
    pub fn db<T>(&self, f: impl FnOnce(&dyn Store) -> T) -> T {
        tokio::task::block_in_place(|| f(self.store.as_ref()))
    }

    /// The audit entries the domain wrote (not the audit layer's one per
    /// request).
    pub fn domain_audit(&self) -> Vec<onshi_store::AuditRow> {
        self.db(|st| st.audit_entries(0, 1_000_000))
            .unwrap()
            .into_iter()
            .filter(|a| !is_request_entry(a))
            .collect()
    }

    pub async fn post_raw(&self, token: Option<&str>, body: String) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/api/v1/checks", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn check(&self, body: Value) -> (u16, Value) {
        self.post_raw(Some(&self.clinic), body.to_string()).await
    }

    pub async fn card(&self, serial: &str) -> (u16, Value) {
        self.check(
            json!({"reference": "card", "certificate_serial": serial, "checked_on": today()}),
        )
        .await
    }

    pub async fn history(&self, token: &str, date: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}/api/v1/checks?date={date}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    pub fn checks_written(&self) -> u64 {
        self.db(|st| st.counts()).unwrap().checks
    }
}

/// A request with a bearer token, and the status and JSON (or text) back.
pub async fn send(req: reqwest::RequestBuilder, token: &str) -> (u16, Value) {
    let resp = req.bearer_auth(token).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
