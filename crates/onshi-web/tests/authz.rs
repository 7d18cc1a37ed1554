//! The authorisation matrix (issue 10): every endpoint of the JSON API, called
//! as every role, on SQLite and PostgreSQL.
//!
//! For each endpoint the table names the one role it is for. That role gets
//! its 2xx; no token and a bad token get 401 (one body for both); every other
//! role gets 403 `forbidden`; a tenant's resource called by the *other*
//! tenant of the same role (another institution's visit, another insurer's
//! record, another institution's failure-mode request or search) is
//! indistinguishable from a missing id: same status, same body (ASVS 6.3.8,
//! 8.2.2, 8.4.1). After every refused call the store's observable state (the
//! table counts, the audit log, visits, declarations, deletions, reader
//! events, faults, failure-mode requests, searches and disasters, every
//! insurer's records and revisions) is unchanged.
//!
//! The table is checked against the router twice over: every `.route(…)`
//! method in `src/*.rs` and every operation of `/api/v1/openapi.json` must be
//! a row, so a new route without a row fails this test.

mod common;
mod state;

use std::collections::BTreeSet;

use common::{NOW, Server, send, start};
use onshi_core::CertificateSerial;
use onshi_registry::{Caller, demo};
use reqwest::Method;
use serde_json::{Value, json};

const DAY: &str = "2026-11-25";
const MISSING_ID: i64 = 987_654_321;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    NoToken,
    BadToken,
    Institution,
    OtherInstitution,
    Insurer,
    OtherInsurer,
    Payer,
    Operator,
    Patient,
    OtherPatient,
}

const ROLES: [Role; 10] = [
    Role::NoToken,
    Role::BadToken,
    Role::Institution,
    Role::OtherInstitution,
    Role::Insurer,
    Role::OtherInsurer,
    Role::Payer,
    Role::Operator,
    Role::Patient,
    Role::OtherPatient,
];

impl Role {
    /// The other tenant of the same role, if the role has tenants.
    fn peer(self) -> Option<Role> {
        match self {
            Role::Institution => Some(Role::OtherInstitution),
            Role::Insurer => Some(Role::OtherInsurer),
            Role::Patient => Some(Role::OtherPatient),
            _ => None,
        }
    }
}

/// Who an endpoint is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Allow {
    Public,
    Only(Role),
}

#[derive(Clone, Debug)]
enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

/// One row: the route as the router spells it, and the call the allowed role
/// makes. `{id}` in `template` is replaced by `id` (when the route has one).
#[derive(Clone, Debug)]
struct Ep {
    method: Method,
    template: &'static str,
    query: &'static str,
    id: Option<i64>,
    allow: Allow,
    ok: u16,
    body: Body,
    /// The body the other tenant sends (its own insurer number, say), where
    /// the allowed body would be refused before the resource is looked up.
    peer_body: Option<Body>,
    idempotent: bool,
}

impl Ep {
    fn new(method: Method, template: &'static str, allow: Allow, ok: u16) -> Self {
        Ep {
            method,
            template,
            query: "",
            id: None,
            allow,
            ok,
            body: Body::None,
            peer_body: None,
            idempotent: false,
        }
    }
    fn q(mut self, query: &'static str) -> Self {
        self.query = query;
        self
    }
    fn id(mut self, id: i64) -> Self {
        self.id = Some(id);
        self
    }
    fn json(mut self, v: Value) -> Self {
        self.body = Body::Json(v);
        self
    }
    fn raw(mut self, content_type: &'static str, bytes: &[u8]) -> Self {
        self.body = Body::Raw(content_type, bytes.to_vec());
        self
    }
    fn peer_json(mut self, v: Value) -> Self {
        self.peer_body = Some(Body::Json(v));
        self
    }
    fn key(mut self) -> Self {
        self.idempotent = true;
        self
    }
    fn path_with(&self, id: Option<&str>) -> String {
        let path = match (id, self.id) {
            (Some(i), _) => self.template.replace("{id}", i),
            (None, Some(i)) => self.template.replace("{id}", &i.to_string()),
            (None, None) => self.template.to_owned(),
        };
        format!("{path}{}", self.query)
    }
    fn scoped(&self) -> bool {
        self.template.contains("{id}")
    }
}

struct Tokens {
    institution: String,
    other_institution: String,
    insurer: String,
    other_insurer: String,
    payer: String,
    operator: String,
    patient: String,
    other_patient: String,
}

impl Tokens {
    fn of(&self, role: Role) -> Option<String> {
        Some(match role {
            Role::NoToken => return None,
            // Shaped like a real token (prefix and length), so the lookup runs.
            Role::BadToken => format!("onshi_{}", "0f".repeat(32)),
            Role::Institution => self.institution.clone(),
            Role::OtherInstitution => self.other_institution.clone(),
            Role::Insurer => self.insurer.clone(),
            Role::OtherInsurer => self.other_insurer.clone(),
            Role::Payer => self.payer.clone(),
            Role::Operator => self.operator.clone(),
            Role::Patient => self.patient.clone(),
            Role::OtherPatient => self.other_patient.clone(),
        })
    }
}

/// A GET with no body and no Idempotency-Key.
async fn get(s: &Server, token: Option<&str>, path: &str) -> (u16, Value) {
    call(s, token, &Method::GET, path, &Body::None, None).await
}

async fn call(
    s: &Server,
    token: Option<&str>,
    method: &Method,
    path: &str,
    body: &Body,
    key: Option<&str>,
) -> (u16, Value) {
    let mut r = s.http.request(method.clone(), format!("{}{path}", s.url));
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    match body {
        Body::None => {}
        Body::Json(v) => {
            r = r
                .header("content-type", "application/json")
                .body(v.to_string())
        }
        Body::Raw(ct, bytes) => r = r.header("content-type", *ct).body(bytes.clone()),
    }
    match token {
        Some(t) => send(r, t).await,
        None => {
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
    }
}

fn fingerprint(s: &Server) -> String {
    s.db(state::fingerprint)
}

/// The id of the audit log's last entry.
fn audit_mark(s: &Server) -> i64 {
    s.db(|st| st.audit_entries(0, 1_000_000))
        .unwrap()
        .last()
        .map_or(0, |a| a.id)
}

/// The call made after `mark` left exactly one request entry, naming the
/// caller (as its token authenticates), the route and the status; or, for a
/// check answered from the check history, none.
fn assert_audited(
    s: &Server,
    mark: i64,
    token: Option<&str>,
    method: &Method,
    template: &str,
    status: u16,
) {
    let entries: Vec<_> = s
        .db(|st| st.audit_entries(mark, 1_000))
        .unwrap()
        .into_iter()
        .filter(state::is_request_entry)
        .collect();
    let what = format!("{method} {template} → {status}");
    if *method == Method::POST && template == "/api/v1/checks" && status == 200 {
        assert!(
            entries.is_empty(),
            "{what}: a check is audited by its history row: {entries:?}"
        );
        return;
    }
    let actor = match token {
        Some(t) => s
            .db(|st| onshi_registry::auth::authenticate(st, t))
            .map_or_else(
                |_| "anonymous".to_owned(),
                |c| onshi_registry::access::actor(&c),
            ),
        None => "anonymous".to_owned(),
    };
    if actor == "anonymous" && status == 401 {
        assert!(
            entries.is_empty(),
            "{what}: nobody authenticated, nothing kept: {entries:?}"
        );
        return;
    }
    assert_eq!(entries.len(), 1, "{what}: {entries:?}");
    let e = &entries[0];
    assert_eq!(e.actor, actor, "{what}");
    assert_eq!(e.action, format!("{method} {template}"), "{what}");
    assert_eq!(e.detail["status"], status, "{what}: {e:?}");
    assert!(e.purpose.is_some(), "{what}");
    if status >= 400 {
        assert!(
            e.detail["code"].is_string(),
            "{what}: a refusal is logged by its code: {e:?}"
        );
    }
}

fn suzuki(s: &Server, insurer_number: &str, number: &str) -> Value {
    let birth = s
        .db(|st| st.person_by_ref(&onshi_core::PersonRef::parse("R-NONE").unwrap()))
        .unwrap()
        .unwrap()
        .person
        .birth_date
        .to_string();
    json!({
        "person_ref": "R-NONE", "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": birth,
        "sex": "male", "address": "東京都世田谷区三軒茶屋1丁目1番1号", "insurer_number": insurer_number,
        "insured_symbol": "5001", "insured_number": number, "insured_branch": "00", "relation": "insured",
        "acquired_on": "2026-11-01",
    })
}

async fn ok(s: &Server, token: &str, method: Method, path: &str, body: Value) -> Value {
    let (status, v) = call(s, Some(token), &method, path, &Body::Json(body), None).await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {v}"
    );
    v
}

/// Asks for the failure mode as `inst`, and has the operator call back and
/// enable it (別添2 steps 1–3); returns the request's id.
async fn activate(s: &Server, inst: &str, op: &str) -> i64 {
    let r = ok(
        s,
        inst,
        Method::POST,
        "/api/v1/failure-mode/requests",
        json!({"contact_name": "受付 花子", "reason": "停電"}),
    )
    .await;
    let id = r["id"].as_i64().unwrap();
    let phone = r["phone_on_file"].as_str().unwrap().to_owned();
    ok(
        s,
        op,
        Method::POST,
        &format!("/api/v1/operator/failure-mode/requests/{id}/callback"),
        json!({"operator": "OP-1", "called_number": phone}),
    )
    .await;
    ok(
        s,
        op,
        Method::POST,
        &format!("/api/v1/operator/failure-mode/requests/{id}/enable"),
        json!({"hours": 4}),
    )
    .await;
    id
}

/// Every `(METHOD, path)` the router of this crate declares, read from the
/// `.route("…", get(…).post(…))` calls of `src/*.rs`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The arguments up to the matching parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let args = &rest[..end];
            let open = args.find('"').unwrap();
            let close = open + 1 + args[open + 1..].find('"').unwrap();
            let route = &args[open + 1..close];
            let handlers = &args[close + 1..];
            for m in ["get", "post", "put", "delete", "patch"] {
                let needle = format!("{m}(");
                let found = handlers.match_indices(&needle).any(|(i, _)| {
                    i == 0 || {
                        let before = handlers.as_bytes()[i - 1];
                        !(before.is_ascii_alphanumeric() || before == b'_' || before == b':')
                    }
                });
                if found {
                    out.insert((m.to_uppercase(), route.to_owned()));
                }
            }
        }
    }
    out
}

#[onshi_testkit::both]
async fn every_endpoint_as_every_role() {
    let s = start().await;
    let op = s.token(&Caller::Operator);
    let tokens = Tokens {
        institution: s.clinic.clone(),
        other_institution: s.other_clinic.clone(),
        insurer: s.insurer.clone(),
        other_insurer: s.other_insurer.clone(),
        payer: s.token(&Caller::Payer),
        operator: op.clone(),
        patient: s.patient.clone(),
        other_patient: s.token(&Caller::Patient(
            CertificateSerial::parse("DEMO-LOST").unwrap(),
        )),
    };

    // --- The resources the table acts on, made by their owners. ---
    let visit = ok(
        &s,
        &s.clinic,
        Method::POST,
        "/api/v1/visits",
        json!({"visited_on": DAY, "patient_key": "AUTHZ-A",
               "attempt": {"reference": "card", "certificate_serial": "DEMO-VALID"}}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // Both clinics in the failure mode, so a pick reaches the search lookup.
    let enabled = activate(&s, &s.clinic, &op).await;
    activate(&s, &s.other_clinic, &op).await;
    // A fresh request for the operator's call-back and enable rows.
    let requested = ok(
        &s,
        &s.clinic,
        Method::POST,
        "/api/v1/failure-mode/requests",
        json!({"contact_name": "受付 次郎"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // A several-hit search to pick from.
    let twins = json!({"persons": [
        {"person_ref": "R-AZ1", "name": "田中 一郎", "kana": "タナカ イチロウ", "birth_date": "1970-01-01", "sex": "male",
         "address": "東京都新宿区西新宿9丁目9番9号",
         "qualifications": [{"insurer_number": "01130012", "symbol": "71", "number": "1", "branch": "00", "relation": "insured", "acquired_on": "2000-04-01"}]},
        {"person_ref": "R-AZ2", "name": "田中 一郎", "kana": "タナカ イチロウ", "birth_date": "1970-01-01", "sex": "male",
         "address": "東京都八王子市旭町8丁目8番8号",
         "qualifications": [{"insurer_number": "01130012", "symbol": "72", "number": "2", "branch": "00", "relation": "insured", "acquired_on": "2000-04-01"}]}
    ]});
    let f = onshi_registry::fixture::parse_fixture(&twins.to_string()).unwrap();
    s.db(|st| onshi_registry::fixture::load(st, &f, NOW))
        .unwrap();
    let tanaka = json!({"birth_date": "1970-01-01", "sex": "male", "checked_on": DAY,
                        "name": "田中 一郎", "insurer_name": "全国健康保険協会"});
    let many = ok(
        &s,
        &s.clinic,
        Method::POST,
        "/api/v1/failure-mode/search",
        tanaka.clone(),
    )
    .await;
    assert_eq!(many["hits"], 2, "{many}");
    let search_id = many["search_id"].as_i64().unwrap();
    // The insurer's record.
    let (status, rec) = call(
        &s,
        Some(&s.insurer),
        &Method::POST,
        "/api/v1/insurer/qualifications",
        &Body::Json(suzuki(&s, demo::KYOKAI_TOKYO, "6001")),
        Some("authz-setup"),
    )
    .await;
    assert_eq!(status, 201, "{rec}");
    let record = rec["id"].as_i64().unwrap();
    // The institution's claims: one draft (the card visit), one confirmed
    // with an open proposed correction (資格(無効), then numbers by 聞き取り).
    ok(
        &s,
        &s.clinic,
        Method::POST,
        &format!("/api/v1/visits/{visit}/decision"),
        json!({"points": 120}),
    )
    .await;
    let lost_visit = ok(
        &s,
        &s.clinic,
        Method::POST,
        "/api/v1/visits",
        json!({"visited_on": DAY, "patient_key": "AUTHZ-B",
               "attempt": {"reference": "card", "certificate_serial": "DEMO-LOST"}}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    ok(
        &s,
        &s.clinic,
        Method::POST,
        &format!("/api/v1/visits/{lost_visit}/decision"),
        json!({"points": 100}),
    )
    .await;
    let month = ok(
        &s,
        &s.clinic,
        Method::POST,
        "/api/v1/claim-records/sync",
        json!({"month": "2026-11"}),
    )
    .await;
    let claim_of = |key: &str| {
        month["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["patient_key"] == format!("key-{key}"))
            .unwrap_or_else(|| panic!("no claim for {key}: {month}"))["id"]
            .as_i64()
            .unwrap()
    };
    let claim = claim_of("AUTHZ-A");
    let lost_claim = claim_of("AUTHZ-B");
    ok(
        &s,
        &s.clinic,
        Method::POST,
        "/api/v1/claim-records/confirm",
        json!({"month": "2026-11", "ids": [lost_claim]}),
    )
    .await;
    ok(
        &s,
        &s.clinic,
        Method::POST,
        &format!("/api/v1/visits/{lost_visit}/hearing"),
        json!({"insurer_number": "06130017", "insured_symbol": "5", "insured_number": "77"}),
    )
    .await;

    // --- The table: one row per route and method, in an order that works. ---
    use Allow::{Only, Public};
    use Role::{Institution as I, Insurer as N, Operator as O, Patient as P, Payer as Y};
    let oqs = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Message>broken".as_bytes();
    let ndjson = format!("{}\n", suzuki(&s, demo::KYOKAI_TOKYO, "6002"));
    let table = vec![
        Ep::new(Method::GET, "/healthz", Public, 200),
        Ep::new(Method::GET, "/api/v1/openapi.json", Public, 200),
        // Checks.
        Ep::new(Method::POST, "/api/v1/checks", Only(I), 200).json(
            json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": DAY}),
        ),
        Ep::new(Method::GET, "/api/v1/checks", Only(I), 200).q("?date=2026-11-25"),
        // Reception.
        Ep::new(Method::POST, "/api/v1/visits", Only(I), 201).json(
            json!({"visited_on": DAY, "attempt": {"reference": "card", "certificate_serial": "DEMO-VALID"}}),
        ),
        Ep::new(Method::GET, "/api/v1/visits", Only(I), 200).q("?date=2026-11-25"),
        Ep::new(Method::GET, "/api/v1/visits/{id}", Only(I), 200).id(visit),
        Ep::new(Method::POST, "/api/v1/visits/{id}/decision", Only(I), 200)
            .id(visit)
            .json(json!({"points": 333})),
        Ep::new(Method::PUT, "/api/v1/visits/{id}/declaration", Only(I), 200)
            .id(visit)
            .json(json!({"name": "山田 太郎", "declared_on": DAY})),
        Ep::new(Method::GET, "/api/v1/visits/{id}/declaration", Only(I), 200).id(visit),
        Ep::new(Method::GET, "/api/v1/visits/{id}/declaration.pdf", Only(I), 200).id(visit),
        Ep::new(Method::POST, "/api/v1/visits/{id}/contact", Only(I), 200)
            .id(visit)
            .json(json!({"contacted_on": DAY})),
        Ep::new(Method::POST, "/api/v1/visits/{id}/claim-paid", Only(I), 200)
            .id(visit)
            .json(json!({"paid_on": DAY})),
        Ep::new(Method::GET, "/api/v1/claims", Only(I), 200).q("?month=2026-11"),
        // Claims with a life.
        Ep::new(Method::GET, "/api/v1/claim-records", Only(I), 200).q("?month=2026-11"),
        Ep::new(Method::POST, "/api/v1/claim-records/sync", Only(I), 200)
            .json(json!({"month": "2026-11"})),
        Ep::new(Method::GET, "/api/v1/claim-records/{id}", Only(I), 200).id(claim),
        Ep::new(
            Method::POST,
            "/api/v1/claim-records/{id}/proposal/dismiss",
            Only(I),
            200,
        )
        .id(lost_claim)
        .json(json!({"reason": "確認中"})),
        Ep::new(Method::POST, "/api/v1/visits/{id}/hearing", Only(I), 200)
            .id(lost_visit)
            .json(json!({"insurer_number": "06130017", "insured_symbol": "5", "insured_number": "78"})),
        Ep::new(
            Method::POST,
            "/api/v1/claim-records/{id}/proposal/accept",
            Only(I),
            200,
        )
        .id(lost_claim)
        .json(json!({"reason": "患者に確認済み"})),
        Ep::new(Method::POST, "/api/v1/claim-records/confirm", Only(I), 200)
            .json(json!({"month": "2026-11", "ids": [claim]})),
        Ep::new(Method::POST, "/api/v1/claim-records/submit", Only(I), 201)
            .json(json!({"month": "2026-11", "payer": "shiharai_kikin", "format": "jsonl"})),
        Ep::new(Method::GET, "/api/v1/claim-submissions", Only(I), 200),
        Ep::new(Method::POST, "/api/v1/claim-records/{id}/withdraw", Only(I), 200)
            .id(claim)
            .json(json!({"reason": "点数の訂正"})),
        Ep::new(Method::POST, "/api/v1/claim-records/{id}/reclaim", Only(I), 200)
            .id(claim)
            .json(json!({"reason": "点数を訂正して再請求"})),
        Ep::new(
            Method::POST,
            "/api/v1/claim-records/results/receive",
            Only(I),
            200,
        ),
        Ep::new(Method::GET, "/api/v1/forms/declaration.pdf", Only(I), 200),
        Ep::new(Method::GET, "/api/v1/rechecks", Only(I), 200),
        Ep::new(Method::POST, "/api/v1/rechecks/run", Only(I), 200),
        Ep::new(Method::PUT, "/api/v1/reader/mode", Only(I), 204)
            .json(json!({"mode": "face", "staff_id": "S-1"})),
        Ep::new(Method::GET, "/api/v1/reader/mode/events", Only(I), 200),
        Ep::new(Method::PUT, "/api/v1/faults", Only(I), 204).json(json!({"kind": "reader"})),
        Ep::new(Method::DELETE, "/api/v1/faults", Only(I), 204),
        Ep::new(Method::GET, "/api/v1/declarations/deletions", Only(I), 200),
        Ep::new(Method::POST, "/api/v1/operator/declarations/purge", Only(O), 200)
            .json(json!({"today": "2026-12-25", "grace_days": 0})),
        // The failure mode.
        Ep::new(Method::POST, "/api/v1/failure-mode/requests", Only(I), 201)
            .json(json!({"contact_name": "受付 三郎"})),
        Ep::new(Method::GET, "/api/v1/failure-mode/requests", Only(I), 200),
        Ep::new(
            Method::POST,
            "/api/v1/failure-mode/requests/{id}/report",
            Only(I),
            200,
        )
        .id(enabled)
        .json(json!({"report": "停電のため利用しました"})),
        Ep::new(Method::POST, "/api/v1/failure-mode/search", Only(I), 200).json(tanaka),
        Ep::new(Method::POST, "/api/v1/failure-mode/pick", Only(I), 200)
            .json(json!({"search_id": search_id, "candidate": 1})),
        Ep::new(
            Method::GET,
            "/api/v1/operator/failure-mode/requests",
            Only(O),
            200,
        ),
        Ep::new(
            Method::POST,
            "/api/v1/operator/failure-mode/requests/{id}/callback",
            Only(O),
            200,
        )
        .id(requested)
        .json(json!({"operator": "OP-2", "called_number": "03-0000-1234"})),
        Ep::new(
            Method::POST,
            "/api/v1/operator/failure-mode/requests/{id}/enable",
            Only(O),
            200,
        )
        .id(requested)
        .json(json!({"hours": 2})),
        Ep::new(
            Method::GET,
            "/api/v1/operator/failure-mode/overdue",
            Only(O),
            200,
        ),
        Ep::new(
            Method::POST,
            "/api/v1/operator/failure-mode/disasters",
            Only(O),
            201,
        )
        .json(json!({"prefecture": 47, "from": "2026-11-25T00:00:00Z", "until": "2026-11-26T00:00:00Z",
                     "reason": "台風", "operator": "OP-1"})),
        // The XML interface (an unreadable file still gets its XML answer).
        Ep::new(Method::POST, "/api/v1/oqs", Only(I), 200).raw("application/xml", oqs),
        // The insurer side.
        Ep::new(Method::POST, "/api/v1/insurer/qualifications", Only(N), 201)
            .json(suzuki(&s, demo::KYOKAI_TOKYO, "6003"))
            .key(),
        Ep::new(Method::GET, "/api/v1/insurer/qualifications", Only(N), 200),
        Ep::new(
            Method::GET,
            "/api/v1/insurer/qualifications/{id}",
            Only(N),
            200,
        )
        .id(record),
        Ep::new(
            Method::GET,
            "/api/v1/insurer/qualifications/{id}/notice",
            Only(N),
            200,
        )
        .id(record),
        Ep::new(
            Method::PUT,
            "/api/v1/insurer/qualifications/{id}",
            Only(N),
            200,
        )
        .id(record)
        .json(suzuki(&s, demo::KYOKAI_TOKYO, "6001"))
        .peer_json(suzuki(&s, demo::KUMIAI_TOKYO, "6001"))
        .key(),
        Ep::new(
            Method::POST,
            "/api/v1/insurer/qualifications/{id}/loss",
            Only(N),
            200,
        )
        .id(record)
        .json(json!({"lost_on": "2026-11-20"}))
        .key(),
        Ep::new(Method::POST, "/api/v1/insurer/imports", Only(N), 200)
            .q("?dry_run=true")
            .raw("application/x-ndjson", ndjson.as_bytes())
            .key(),
        Ep::new(Method::GET, "/api/v1/insurer/reports/checks", Only(N), 200)
            .q("?from=2026-11-01&to=2026-11-30"),
        // The payer and the patient.
        Ep::new(Method::POST, "/api/v1/payer/runs", Only(Y), 200)
            .q("?as_of=2026-11-25")
            .raw("application/x-ndjson", b""),
        Ep::new(Method::GET, "/api/v1/payer/runs", Only(Y), 200),
        Ep::new(Method::GET, "/api/v1/payer/runs/{id}", Only(Y), 200).id(1),
        Ep::new(Method::GET, "/api/v1/payer/submissions", Only(Y), 200),
        Ep::new(Method::POST, "/api/v1/payer/inquiries", Only(Y), 201).json(
            json!({"institution_code": demo::CLINIC_CODE, "claim_month": "2026-11", "claim_id": "1",
                   "insurer": "01130012", "answer": "no_match"}),
        ),
        Ep::new(Method::GET, "/api/v1/insurer/ratio-differences", Only(N), 200),
        Ep::new(
            Method::PUT,
            "/api/v1/insurer/ratio-differences/settlement",
            Only(N),
            400,
        )
        .json(json!({"institution_code": demo::CLINIC_CODE, "claim_month": "2026-11", "claim_id": "1",
                     "kind": "claim"})),
        Ep::new(Method::GET, "/api/v1/me", Only(P), 200).q("?date=2026-11-25"),
    ];

    // --- The table covers the router and the OpenAPI document, exactly. ---
    let rows: BTreeSet<(String, String)> = table
        .iter()
        .map(|e| (e.method.to_string(), e.template.to_owned()))
        .collect();
    assert_eq!(rows.len(), table.len(), "a route is in the table twice");
    let in_source = routes_in_source();
    assert!(in_source.len() > 40, "the route scan broke: {in_source:?}");
    assert_eq!(
        in_source.difference(&rows).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes without a row in the authorisation table"
    );
    assert_eq!(
        rows.difference(&in_source).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "rows for routes the router does not have"
    );
    let (_, doc) = get(&s, None, "/api/v1/openapi.json").await;
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let undocumented: BTreeSet<_> = rows.difference(&documented).cloned().collect();
    assert_eq!(
        undocumented,
        BTreeSet::from([
            ("GET".to_owned(), "/api/v1/openapi.json".to_owned()),
            ("GET".to_owned(), "/healthz".to_owned())
        ]),
        "every API route is documented"
    );
    assert!(
        documented.is_subset(&rows),
        "documented but not in the table"
    );

    // --- The matrix. ---
    let mut unauthorized_bodies = BTreeSet::new();
    for (n, ep) in table.iter().enumerate() {
        let path = ep.path_with(None);
        let what = format!("{} {}", ep.method, path);
        let key = |role: Role| ep.idempotent.then(|| format!("authz-{n}-{role:?}"));
        let before = fingerprint(&s);
        for role in ROLES {
            let token = tokens.of(role);
            let allowed = match ep.allow {
                Public => true,
                Only(r) => r == role,
            };
            if allowed {
                continue;
            }
            let Only(owner) = ep.allow else {
                unreachable!()
            };
            if owner.peer() == Some(role) {
                if !ep.scoped() {
                    // Another tenant of the same role, on its own data: allowed.
                    continue;
                }
                // Another tenant's resource must look exactly like a missing one.
                let body = ep.peer_body.as_ref().unwrap_or(&ep.body);
                let mut answers = Vec::new();
                for id in [None, Some(MISSING_ID.to_string()), Some("x1".to_owned())] {
                    let p = ep.path_with(id.as_deref());
                    let mark = audit_mark(&s);
                    let a = call(
                        &s,
                        token.as_deref(),
                        &ep.method,
                        &p,
                        body,
                        key(role).as_deref(),
                    )
                    .await;
                    assert_audited(&s, mark, token.as_deref(), &ep.method, ep.template, a.0);
                    assert_eq!(fingerprint(&s), before, "{role:?} {p} wrote");
                    answers.push((p, a));
                }
                let (p0, first) = &answers[0];
                assert_eq!(
                    first.0, 404,
                    "{role:?} {} {p0}: another tenant's resource: {:?}",
                    ep.method, first
                );
                let (p1, missing) = &answers[1];
                assert_eq!(
                    first, missing,
                    "{role:?} {} tells {p0} (another tenant's) from {p1} (missing)",
                    ep.method
                );
                // Not an id at all: also just not found, in the one shape.
                let (p2, junk) = &answers[2];
                assert_eq!(junk.0, 404, "{p2}: {:?}", junk);
                assert!(junk.1["error"]["code"].is_string(), "{p2}: {:?}", junk);
                continue;
            }
            let mark = audit_mark(&s);
            let (status, body) = call(
                &s,
                token.as_deref(),
                &ep.method,
                &path,
                &ep.body,
                key(role).as_deref(),
            )
            .await;
            assert_audited(&s, mark, token.as_deref(), &ep.method, ep.template, status);
            let expected = match role {
                Role::NoToken | Role::BadToken => 401,
                _ => 403,
            };
            assert_eq!(status, expected, "{role:?} {what}: {body}");
            let code = body["error"]["code"].as_str();
            if expected == 401 {
                assert_eq!(code, Some("unauthorized"), "{role:?} {what}: {body}");
                unauthorized_bodies.insert(body.to_string());
            } else {
                assert_eq!(code, Some("forbidden"), "{role:?} {what}: {body}");
            }
            assert_eq!(fingerprint(&s), before, "{role:?} {what} wrote");
        }
        // The allowed role (and, for a public route, everyone).
        let who: Vec<Role> = match ep.allow {
            Public => ROLES.to_vec(),
            Only(r) => vec![r],
        };
        for role in who {
            let mark = audit_mark(&s);
            let (status, body) = call(
                &s,
                tokens.of(role).as_deref(),
                &ep.method,
                &path,
                &ep.body,
                key(role).as_deref(),
            )
            .await;
            assert_eq!(status, ep.ok, "{role:?} {what}: {body}");
            let exempt = ["/healthz", "/api/v1/openapi.json"].contains(&ep.template);
            if !exempt {
                assert_audited(
                    &s,
                    mark,
                    tokens.of(role).as_deref(),
                    &ep.method,
                    ep.template,
                    status,
                );
            }
        }
    }
    // No token and a bad token cannot be told apart.
    assert_eq!(unauthorized_bodies.len(), 1, "{unauthorized_bodies:?}");
    // Every entry written on the way, audit log and check history, is chained.
    let report = s.db(|st| onshi_store::chain::verify(st, &[])).unwrap();
    assert!(report.ok(), "{:?}", report.breaks);
    let rows = s.db(|st| {
        st.audit_entries(0, 1_000_000).unwrap().len() + st.check_links(0, 1_000_000).unwrap().len()
    });
    assert_eq!(report.verified as usize, rows, "{report:?}");
    assert!(rows > 300, "the matrix made {rows} entries");

    // Ids in bodies: the other clinic picking from this clinic's search, or
    // attaching a search to this clinic's visit, sees a missing one.
    let cross = [
        (
            "/api/v1/failure-mode/pick",
            json!({"search_id": search_id, "candidate": 1}),
            json!({"search_id": MISSING_ID, "candidate": 1}),
        ),
        (
            "/api/v1/failure-mode/pick",
            json!({"search_id": search_id, "candidate": 1, "visit_id": visit}),
            json!({"search_id": search_id, "candidate": 1, "visit_id": MISSING_ID}),
        ),
        (
            "/api/v1/failure-mode/search",
            json!({"birth_date": "1970-01-01", "sex": "male", "checked_on": DAY,
                   "name": "田中 一郎", "address": "東京都新宿区西新宿9丁目9番9号", "visit_id": visit}),
            json!({"birth_date": "1970-01-01", "sex": "male", "checked_on": DAY,
                   "name": "田中 一郎", "address": "東京都新宿区西新宿9丁目9番9号", "visit_id": MISSING_ID}),
        ),
    ];
    for (path, theirs, missing) in cross {
        let before = fingerprint(&s);
        let a = call(
            &s,
            Some(&s.other_clinic),
            &Method::POST,
            path,
            &Body::Json(theirs.clone()),
            None,
        )
        .await;
        let b = call(
            &s,
            Some(&s.other_clinic),
            &Method::POST,
            path,
            &Body::Json(missing),
            None,
        )
        .await;
        assert_eq!(a.0, 404, "{path} {theirs}: {a:?}");
        assert_eq!(
            a, b,
            "{path}: another clinic's id differs from a missing one"
        );
        assert_eq!(fingerprint(&s), before, "{path} {theirs} wrote");
    }

    // A refused cross-tenant write stored no idempotency key: the other
    // insurer can use the same key for a write of its own.
    let (status, r) = call(
        &s,
        Some(&s.other_insurer),
        &Method::POST,
        "/api/v1/insurer/qualifications",
        &Body::Json(suzuki(&s, demo::KUMIAI_TOKYO, "8001")),
        Some(&format!(
            "authz-{}-OtherInsurer",
            table
                .iter()
                .position(|e| e.method == Method::PUT && e.scoped())
                .unwrap()
        )),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    assert!(r.get("id").is_some(), "{r}");
}

/// Lists never carry another tenant's rows: the other clinic's lists do not
/// hold this clinic's visit, history or requests; the other insurer's do not
/// hold this insurer's record; each patient sees only themself.
#[onshi_testkit::both]
async fn lists_stay_in_their_tenant() {
    let s = start().await;
    ok(
        &s,
        &s.clinic,
        Method::POST,
        "/api/v1/visits",
        json!({"visited_on": DAY, "patient_key": "AUTHZ-MARK", "failure": {"kind": "power_outage"}}),
    )
    .await;
    assert_eq!(s.card("DEMO-VALID").await.0, 200);
    ok(
        &s,
        &s.clinic,
        Method::POST,
        "/api/v1/failure-mode/requests",
        json!({"contact_name": "受付 MARK花子"}),
    )
    .await;
    ok(
        &s,
        &s.clinic,
        Method::PUT,
        "/api/v1/reader/mode",
        json!({"mode": "visual", "staff_id": "MARK-STAFF"}),
    )
    .await;
    let (status, _) = call(
        &s,
        Some(&s.insurer),
        &Method::POST,
        "/api/v1/insurer/qualifications",
        &Body::Json(suzuki(&s, demo::KYOKAI_TOKYO, "975310")),
        Some("mark"),
    )
    .await;
    assert_eq!(status, 201);

    for path in [
        "/api/v1/visits?date=2026-11-25",
        "/api/v1/checks?date=2026-11-25",
        "/api/v1/rechecks",
        "/api/v1/failure-mode/requests",
        "/api/v1/reader/mode/events",
        "/api/v1/declarations/deletions",
        "/api/v1/claims?month=2026-11",
    ] {
        let (status, mine) = get(&s, Some(&s.clinic), path).await;
        assert_eq!(status, 200, "{path}: {mine}");
        let (status, theirs) = get(&s, Some(&s.other_clinic), path).await;
        assert_eq!(status, 200, "{path}: {theirs}");
        let theirs = theirs.to_string();
        for mark in ["AUTHZ-MARK", "MARK", "山田", "DEMO-VALID"] {
            assert!(!theirs.contains(mark), "{path} shows {mark}: {theirs}");
        }
    }
    let (status, list) = get(&s, Some(&s.insurer), "/api/v1/insurer/qualifications").await;
    assert_eq!(status, 200);
    assert!(list.to_string().contains("975310"));
    let (status, list) = get(&s, Some(&s.other_insurer), "/api/v1/insurer/qualifications").await;
    assert_eq!(status, 200);
    assert!(!list.to_string().contains("975310"), "{list}");
    let (status, report) = get(
        &s,
        Some(&s.other_insurer),
        "/api/v1/insurer/reports/checks?from=2026-11-01&to=2026-11-30",
    )
    .await;
    assert_eq!(status, 200);
    assert!(!report.to_string().contains("975310"), "{report}");

    let other_patient = s.token(&Caller::Patient(
        CertificateSerial::parse("DEMO-LOST").unwrap(),
    ));
    let (_, me) = get(&s, Some(&s.patient), "/api/v1/me?date=2026-11-25").await;
    let (_, them) = get(&s, Some(&other_patient), "/api/v1/me?date=2026-11-25").await;
    assert_eq!(me["name"], "山田 太郎");
    assert_eq!(them["name"], "佐藤 花子");
    assert!(!them.to_string().contains("山田"), "{them}");
    assert!(!me.to_string().contains("佐藤"), "{me}");
}
