//! Registry services against a real SQLite file.

use chrono::{NaiveDate, TimeZone, Utc};
use onshi_core::{CertificateSerial, InstitutionCode};
use onshi_registry::check::{CheckRequest, RawCheckRequest, check};
use onshi_registry::{Caller, RegistryError, auth, demo, fixture};
use onshi_store::{RegistryStore, SqliteStore};

fn setup() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("r.sqlite")).unwrap();
    let (fx, _) = demo::demo(NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()).unwrap();
    fixture::load(&store, &fx, "t").unwrap();
    (dir, store)
}

fn card_request(serial: &str) -> CheckRequest {
    CheckRequest::parse(&RawCheckRequest {
        reference: Some("card".into()),
        certificate_serial: Some(serial.into()),
        checked_on: Some("2026-11-25".into()),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn unknown_institution_is_refused_and_writes_nothing() {
    let (_d, store) = setup();
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
    let nowhere = InstitutionCode::parse("1319999999").unwrap();
    let e = check(&store, &nowhere, &card_request("DEMO-VALID"), at).unwrap_err();
    assert!(matches!(e, RegistryError::InstitutionUnknown(_)), "{e}");
    assert_eq!(e.code(), "institution_unknown");
    assert_eq!(store.counts().unwrap().checks, 0);

    let clinic = InstitutionCode::parse(demo::CLINIC_CODE).unwrap();
    let a = check(&store, &clinic, &card_request("DEMO-VALID"), at).unwrap();
    assert_eq!(a.validity, 1);
    assert_eq!(store.counts().unwrap().checks, 1);
}

#[test]
fn tokens_are_stored_hashed_and_resolve_to_their_tenant() {
    let (_d, store) = setup();
    let caller = Caller::Patient(CertificateSerial::parse("DEMO-LOST").unwrap());
    let token = auth::issue_token(&store, &caller, "t", "t").unwrap();
    assert!(
        store.token_by_hash(&token).unwrap().is_none(),
        "the raw token must not be a key"
    );
    assert!(
        store
            .token_by_hash(&auth::token_hash(&token))
            .unwrap()
            .is_some()
    );
    assert_eq!(auth::authenticate(&store, &token).unwrap(), caller);
    let mut wrong = token.clone();
    wrong.replace_range(10..11, if &token[10..11] == "0" { "1" } else { "0" });
    assert!(matches!(
        auth::authenticate(&store, &wrong),
        Err(RegistryError::Unauthorized)
    ));
    let unknown = Caller::Patient(CertificateSerial::parse("NOPE").unwrap());
    assert_eq!(
        auth::issue_token(&store, &unknown, "t", "t")
            .unwrap_err()
            .code(),
        "certificate_unknown"
    );
}
