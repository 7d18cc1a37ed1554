//! Bad input into the JSON bodies of the check, insurer and visit endpoints,
//! through the real HTTP server (issue 10): random JSON values, random bytes,
//! and valid bodies with one field replaced by a random value, dropped, or
//! joined by an unknown one. Every answer is either a success (for a mutated
//! body that is still valid) or a 4xx in the one error shape
//! `{"error":{"code","message","field"}}` with a stable snake_case code;
//! never a 5xx, never a dropped connection; a 400 writes nothing. The
//! documented limits come before parsing: a body over 64 KiB is 413
//! `body_too_large` whatever it holds, an import over 32 MiB likewise;
//! over-long fields are refused naming the field.
//!
//! Cases: 48 per endpoint and input kind by default (a few seconds per
//! backend in CI). For a longer run:
//! `PROPTEST_CASES=2000 cargo test -p onshi-web --test fuzz_api`.

mod common;
mod state;

use common::{Server, send, start};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};

const DAY: &str = "2026-11-25";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// Any JSON value, nested a few levels, with keys that are sometimes the
/// endpoints' own field names.
fn json_value() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "reference",
        "certificate_serial",
        "checked_on",
        "insurer_number",
        "insured_symbol",
        "insured_number",
        "insured_branch",
        "birth_date",
        "visited_on",
        "attempt",
        "failure",
        "kind",
        "person_ref",
        "name",
        "kana",
        "sex",
        "address",
        "relation",
        "acquired_on",
        "lost_on",
        "points",
        "shown",
        "use_declaration",
        "x",
        "",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        prop::sample::select(vec![
            "card",
            "numbers",
            "2026-11-25",
            "昭和55年4月1日",
            "01130012",
            "DEMO-VALID",
            "male",
            "1",
            "",
            &*"9".repeat(70).leak()
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

#[derive(Debug, Clone)]
enum Input {
    Json(Value),
    Bytes(Vec<u8>),
    /// A valid body with one top-level field replaced, dropped or added.
    Mutated(Option<usize>, Option<Value>, bool),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        json_value().prop_map(Input::Json),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Input::Bytes),
        (
            prop::option::of(0usize..32),
            prop::option::of(json_value()),
            any::<bool>()
        )
            .prop_map(|(i, v, add)| Input::Mutated(i, v, add)),
    ]
}

struct Target {
    method: Method,
    path: String,
    token: String,
    key: bool,
    valid: Value,
}

fn body_of(t: &Target, input: &Input) -> Vec<u8> {
    match input {
        Input::Json(v) => v.to_string().into_bytes(),
        Input::Bytes(b) => b.clone(),
        Input::Mutated(at, value, add) => {
            let mut v = t.valid.clone();
            if let Some(obj) = v.as_object_mut() {
                if let Some(i) = at {
                    let keys: Vec<String> = obj.keys().cloned().collect();
                    let k = &keys[i % keys.len()];
                    match value {
                        Some(x) => {
                            obj.insert(k.clone(), x.clone());
                        }
                        None => {
                            obj.remove(k);
                        }
                    }
                }
                if *add {
                    obj.insert("not_a_field".into(), json!(1));
                }
            }
            v.to_string().into_bytes()
        }
    }
}

async fn post(s: &Server, t: &Target, body: Vec<u8>, key: &str) -> (u16, Value) {
    let mut r = s
        .http
        .request(t.method.clone(), format!("{}{}", s.url, t.path))
        .header("content-type", "application/json")
        .body(body);
    if t.key {
        r = r.header("Idempotency-Key", key);
    }
    send(r, &t.token).await
}

/// The one error shape with a stable code.
fn typed_error(v: &Value) -> Result<(), String> {
    let obj = v.as_object().ok_or("not an object")?;
    if obj.len() != 1 {
        return Err("more than `error` at the top".into());
    }
    let e = obj
        .get("error")
        .and_then(Value::as_object)
        .ok_or("no error object")?;
    let code = e.get("code").and_then(Value::as_str).ok_or("no code")?;
    if code.is_empty()
        || !code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!("unstable code {code:?}"));
    }
    if e.get("message")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("no message".into());
    }
    if !e.get("field").is_some_and(|f| f.is_null() || f.is_string()) {
        return Err("field is neither null nor text".into());
    }
    Ok(())
}

fn targets(s: &Server, visit: i64, record: i64) -> Vec<Target> {
    let birth = s
        .db(|st| st.person_by_ref(&onshi_core::PersonRef::parse("R-NONE").unwrap()))
        .unwrap()
        .unwrap()
        .person
        .birth_date
        .to_string();
    let suzuki = json!({
        "person_ref": "R-NONE", "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": birth,
        "sex": "male", "address": "東京都世田谷区三軒茶屋1丁目1番1号", "insurer_number": "01130012",
        "insured_symbol": "5001", "insured_number": "6001", "insured_branch": "00", "relation": "insured",
        "acquired_on": "2026-11-01",
    });
    let t = |method: Method, path: String, token: &String, key: bool, valid: Value| Target {
        method,
        path,
        token: token.clone(),
        key,
        valid,
    };
    vec![
        t(
            Method::POST,
            "/api/v1/checks".into(),
            &s.clinic,
            false,
            json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": DAY}),
        ),
        t(
            Method::POST,
            "/api/v1/checks".into(),
            &s.clinic,
            false,
            json!({"reference": "numbers", "insurer_number": "01130012", "insured_symbol": "2",
                   "insured_number": "2001", "insured_branch": "00", "birth_date": "1980-04-01", "checked_on": DAY}),
        ),
        t(
            Method::POST,
            "/api/v1/insurer/qualifications".into(),
            &s.insurer,
            true,
            suzuki.clone(),
        ),
        t(
            Method::PUT,
            format!("/api/v1/insurer/qualifications/{record}"),
            &s.insurer,
            true,
            suzuki,
        ),
        t(
            Method::POST,
            format!("/api/v1/insurer/qualifications/{record}/loss"),
            &s.insurer,
            true,
            json!({"lost_on": "2026-11-20"}),
        ),
        t(
            Method::POST,
            "/api/v1/visits".into(),
            &s.clinic,
            false,
            json!({"visited_on": DAY, "patient_key": "P-1",
                   "attempt": {"reference": "card", "certificate_serial": "DEMO-LOST"}}),
        ),
        t(
            Method::POST,
            format!("/api/v1/visits/{visit}/decision"),
            &s.clinic,
            false,
            json!({"shown": {"kind": "insurance_card", "ratio_percent": 30}, "points": 120}),
        ),
        t(
            Method::PUT,
            format!("/api/v1/visits/{visit}/declaration"),
            &s.clinic,
            false,
            json!({"name": "佐藤 花子", "kana": "サトウ ハナコ", "birth_date": "平成16年5月9日",
                   "sex": "female", "declared_on": DAY, "ratio": "3割"}),
        ),
        t(
            Method::POST,
            format!("/api/v1/visits/{visit}/contact"),
            &s.clinic,
            false,
            json!({"contacted_on": DAY}),
        ),
    ]
}

#[onshi_testkit::both]
async fn random_bodies_get_typed_refusals() {
    let s = start().await;
    let (status, v) = send(
        s.http
            .post(format!("{}/api/v1/visits", s.url))
            .header("content-type", "application/json")
            .body(json!({"visited_on": DAY, "attempt": {"reference": "card", "certificate_serial": "DEMO-LOST"}}).to_string()),
        &s.clinic,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let visit = v["id"].as_i64().unwrap();
    let mut reg = targets(&s, visit, 0).remove(2).valid;
    reg["insured_number"] = json!("6999");
    let (status, r) = send(
        s.http
            .post(format!("{}/api/v1/insurer/qualifications", s.url))
            .header("content-type", "application/json")
            .header("Idempotency-Key", "fuzz-setup")
            .body(reg.to_string()),
        &s.insurer,
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let record = r["id"].as_i64().unwrap();

    let handle = tokio::runtime::Handle::current();
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<(String, u16), u32>::new());
    for (n, target) in targets(&s, visit, record).iter().enumerate() {
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        });
        let i = std::cell::Cell::new(0u64);
        let result = tokio::task::block_in_place(|| {
            runner.run(&input(), |inp| {
                i.set(i.get() + 1);
                let body = body_of(target, &inp);
                let before = state::fingerprint(s.store.as_ref());
                let (status, v) =
                    handle.block_on(post(&s, target, body, &format!("fz-{n}-{}", i.get())));
                prop_assert!(
                    status < 500,
                    "{} {}: {status} {v} for {inp:?}",
                    target.method,
                    target.path
                );
                if status >= 400 {
                    prop_assert!(
                        typed_error(&v).is_ok(),
                        "{} {}: {status} {v}: {:?} for {inp:?}",
                        target.method,
                        target.path,
                        typed_error(&v)
                    );
                    *seen
                        .borrow_mut()
                        .entry((v["error"]["code"].as_str().unwrap_or("").to_owned(), status))
                        .or_default() += 1;
                }
                if status == 400 || status == 413 || status == 415 {
                    prop_assert_eq!(
                        state::fingerprint(s.store.as_ref()),
                        before,
                        "{} {} refused {} but wrote, for {:?}",
                        target.method,
                        target.path,
                        status,
                        inp
                    );
                }
                Ok(())
            })
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
    // The inputs reached more than one kind of refusal.
    for code in ["invalid_json", "unknown_field", "missing_field"] {
        assert!(
            seen.borrow().keys().any(|(c, _)| c == code),
            "no {code} among {seen:?}"
        );
    }
}

#[onshi_testkit::both]
async fn limits_are_checked_before_parsing() {
    let s = start().await;
    let before = s.db(state::fingerprint);
    let limit = onshi_web::MAX_BODY_BYTES;
    for (path, token) in [
        ("/api/v1/checks", &s.clinic),
        ("/api/v1/visits", &s.clinic),
        ("/api/v1/insurer/qualifications", &s.insurer),
        ("/api/v1/failure-mode/search", &s.clinic),
    ] {
        // Over the limit: 413 whatever the bytes are (here: not even JSON).
        let (status, v) = send(
            s.http
                .post(format!("{}{path}", s.url))
                .header("content-type", "application/json")
                .header("Idempotency-Key", "big")
                .body(vec![b'{'; limit + 1]),
            token,
        )
        .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (413, Some("body_too_large")),
            "{path}: {v}"
        );
        typed_error(&v).unwrap();
        // At the limit the body is read, and refused for what it is.
        let (status, v) = send(
            s.http
                .post(format!("{}{path}", s.url))
                .header("content-type", "application/json")
                .header("Idempotency-Key", "at-limit")
                .body(vec![b'{'; limit]),
            token,
        )
        .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("invalid_json")),
            "{path}: {v}"
        );
    }
    // Over-long fields are refused naming the field.
    let long = "山".repeat(onshi_core::PersonName::MAX_CHARS + 1);
    let (status, v) = send(
        s.http
            .put(format!("{}/api/v1/visits/1/declaration", s.url))
            .header("content-type", "application/json")
            .body(json!({"name": long}).to_string()),
        &s.clinic,
    )
    .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("name")),
        "{v}"
    );
    let (status, v) = send(
        s.http
            .post(format!("{}/api/v1/checks", s.url))
            .header("content-type", "application/json")
            .body(
                json!({"reference": "card", "certificate_serial": "X".repeat(5000), "checked_on": DAY})
                    .to_string(),
            ),
        &s.clinic,
    )
    .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("certificate_serial")),
        "{v}"
    );
    // An import over 32 MiB is refused before it is read.
    let (status, v) = send(
        s.http
            .post(format!("{}/api/v1/insurer/imports", s.url))
            .header("content-type", "text/csv")
            .header("Idempotency-Key", "huge")
            .body(vec![b'x'; onshi_web::MAX_UPLOAD_BYTES + 1]),
        &s.insurer,
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (413, Some("body_too_large")),
        "{v}"
    );
    assert_eq!(s.db(state::fingerprint), before);
}
