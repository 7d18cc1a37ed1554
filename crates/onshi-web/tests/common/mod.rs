//! The shared harness: a real server on loopback over a real SQLite file,
//! loaded with the demo persons (one per case of the notice) dated relative to
//! a fixed day, and one token per role.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::NaiveDate;
use onshi_core::{CertificateSerial, InstitutionCode, InsurerNumber};
use onshi_registry::{Caller, auth, demo, fixture};
use onshi_store::{RegistryStore, SqliteStore};
use serde_json::{Value, json};

/// When the fixture was loaded: before any check a test makes (checks use the clock).
pub const NOW: &str = "2026-11-24T00:00:00.000Z";

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

pub struct Server {
    pub url: String,
    pub http: reqwest::Client,
    pub store: Arc<SqliteStore>,
    pub clinic: String,
    pub other_clinic: String,
    pub insurer: String,
    pub other_insurer: String,
    pub patient: String,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("onshi.sqlite")).unwrap());
    let (fx, _) = demo::demo(today()).unwrap();
    fixture::load(store.as_ref(), &fx, NOW).unwrap();
    let token = |c: Caller| auth::issue_token(store.as_ref(), &c, "test", NOW).unwrap();
    let clinic = token(Caller::Institution(
        InstitutionCode::parse(demo::CLINIC_CODE).unwrap(),
    ));
    let other_clinic = token(Caller::Institution(
        InstitutionCode::parse(demo::OTHER_CLINIC_CODE).unwrap(),
    ));
    let other_insurer = token(Caller::Insurer(
        InsurerNumber::parse(demo::KUMIAI_TOKYO).unwrap(),
    ));
    let insurer = token(Caller::Insurer(
        InsurerNumber::parse(demo::KYOKAI_TOKYO).unwrap(),
    ));
    let patient = token(Caller::Patient(
        CertificateSerial::parse("DEMO-VALID").unwrap(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = onshi_web::AppState {
        store: store.clone(),
    };
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
        self.store.counts().unwrap().checks
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
