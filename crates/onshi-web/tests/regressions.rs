//! Regressions found in review: each test pins a hole that was open.

mod common;

use common::{Server, send, start};
use serde_json::{Value, json};

const DAY: &str = "2026-11-25";

impl Server {
    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.url));
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        send(r, token).await
    }

    fn birth_of(&self, person_ref: &str) -> String {
        self.db(|st| st.person_by_ref(&onshi_core::PersonRef::parse(person_ref).unwrap()))
            .unwrap()
            .unwrap()
            .person
            .birth_date
            .to_string()
    }

    fn suzuki(&self, number: &str) -> Value {
        json!({
            "person_ref": "R-NONE", "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": self.birth_of("R-NONE"),
            "sex": "male", "address": "東京都世田谷区三軒茶屋1丁目1番1号", "insurer_number": "01130012",
            "insured_symbol": "5001", "insured_number": number, "insured_branch": "00", "relation": "insured",
            "acquired_on": "2026-11-01",
        })
    }
}

#[onshi_testkit::both]
async fn an_idempotency_key_cannot_replay_another_records_loss() {
    use reqwest::Method as M;
    let s = start().await;
    let (_, a) = s
        .call(
            &s.insurer,
            M::POST,
            "/api/v1/insurer/qualifications",
            Some("a"),
            Some(s.suzuki("1")),
        )
        .await;
    let (_, b) = s
        .call(
            &s.insurer,
            M::POST,
            "/api/v1/insurer/qualifications",
            Some("b"),
            Some(s.suzuki("2")),
        )
        .await;
    let loss = json!({"lost_on": "2026-11-20"});
    let (st, _) = s
        .call(
            &s.insurer,
            M::POST,
            &format!("/api/v1/insurer/qualifications/{}/loss", a["id"]),
            Some("L"),
            Some(loss.clone()),
        )
        .await;
    assert_eq!(st, 200);
    let (st, e) = s
        .call(
            &s.insurer,
            M::POST,
            &format!("/api/v1/insurer/qualifications/{}/loss", b["id"]),
            Some("L"),
            Some(loss),
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    let (_, rec) = s
        .call(
            &s.insurer,
            M::GET,
            &format!("/api/v1/insurer/qualifications/{}", b["id"]),
            None,
            None,
        )
        .await;
    assert!(rec["record"]["lost_on"].is_null());
}

#[onshi_testkit::both]
async fn a_mismatched_registration_does_not_open_another_insurers_members_visits() {
    use reqwest::Method as M;
    let s = start().await;
    assert_eq!(s.card("DEMO-VALID").await.1["validity"], 1);
    // The other insurer links junk to 山田's resident record.
    let junk = json!({
        "person_ref": "R-VALID", "name": "誰 か", "kana": "ダレ カ", "birth_date": "1990-01-01", "sex": "female",
        "address": "北海道札幌市中央区1-1", "insurer_number": "06130017", "insured_number": "9", "insured_symbol": "9",
        "insured_branch": "00", "relation": "insured", "acquired_on": "1990-01-01",
    });
    let (st, r) = s
        .call(
            &s.other_insurer,
            M::POST,
            "/api/v1/insurer/qualifications",
            Some("j"),
            Some(junk),
        )
        .await;
    assert_eq!((st, r["match_status"].as_str()), (201, Some("mismatch")));
    let (_, report) = s
        .call(
            &s.other_insurer,
            M::GET,
            "/api/v1/insurer/reports/checks?from=2026-01-01&to=2027-12-31",
            None,
            None,
        )
        .await;
    assert_eq!(report["days"], json!([]), "{report}");
    assert_eq!(report["late_registrations"], json!([]));
}

#[onshi_testkit::both]
async fn registered_ratios_exclude_10wari_and_corrections_cannot_duplicate() {
    use reqwest::Method as M;
    let s = start().await;
    let mut full = s.suzuki("1");
    full["burden_ratio"] = json!("100");
    let (st, e) = s
        .call(
            &s.insurer,
            M::POST,
            "/api/v1/insurer/qualifications",
            Some("x"),
            Some(full),
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (400, Some("invalid_burden_ratio"))
    );
    let (_, a) = s
        .call(
            &s.insurer,
            M::POST,
            "/api/v1/insurer/qualifications",
            Some("a"),
            Some(s.suzuki("1")),
        )
        .await;
    let (_, b) = s
        .call(
            &s.insurer,
            M::POST,
            "/api/v1/insurer/qualifications",
            Some("b"),
            Some(s.suzuki("2")),
        )
        .await;
    assert!(a["id"].is_i64() && b["id"].is_i64());
    let (st, e) = s
        .call(
            &s.insurer,
            M::PUT,
            &format!("/api/v1/insurer/qualifications/{}", b["id"]),
            Some("c"),
            Some(s.suzuki("1")),
        )
        .await;
    assert_eq!((st, e["error"]["code"].as_str()), (409, Some("duplicate")));
    assert_eq!(
        s.card("DEMO-NONE").await.1["validity"],
        5,
        "both registrations are valid, none duplicated"
    );
}

#[onshi_testkit::both]
async fn imports_catch_in_file_duplicates_on_dry_runs_and_report_file_lines() {
    use reqwest::Method as M;
    let s = start().await;
    let header = "person_ref,name,kana,birth_date,sex,address,insurer_number,insured_symbol,insured_number,insured_branch,relation,acquired_on";
    let row = format!(
        "R-NONE,鈴木 一郎,スズキ イチロウ,{},male,東京都世田谷区三軒茶屋1-1-1,01130012,5001,7,00,insured,2026-11-01",
        s.birth_of("R-NONE")
    );
    let bad = row.replace(",insured,", ",boss,");
    // Blank lines shift nothing: the bad row is on file line 5.
    let csv = format!("{header}\n{row}\n\n{row}\n{bad}\n");
    let r = s
        .http
        .post(format!("{}/api/v1/insurer/imports?dry_run=true", s.url))
        .header("Idempotency-Key", "d")
        .header("content-type", "text/csv")
        .body(csv);
    let (st, report) = send(r, &s.insurer).await;
    assert_eq!(st, 422, "{report}");
    let rejected: Vec<(u64, &str)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(rejected, vec![(4, "duplicate"), (5, "invalid_relation")]);
    let (st, e) = s
        .call(
            &s.insurer,
            M::GET,
            "/api/v1/insurer/qualifications?limit=abc",
            None,
            None,
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (400, Some("invalid_query"))
    );
}

#[onshi_testkit::both]
async fn failure_mode_search_with_a_foreign_visit_writes_nothing() {
    use reqwest::Method as M;
    let s = start().await;
    let op = s.token(&onshi_registry::Caller::Operator);
    let (_, r) = s
        .call(
            &s.clinic,
            M::POST,
            "/api/v1/failure-mode/requests",
            None,
            Some(json!({"contact_name": "A"})),
        )
        .await;
    let id = r["id"].as_i64().unwrap();
    s.call(
        &op,
        M::POST,
        &format!("/api/v1/operator/failure-mode/requests/{id}/callback"),
        None,
        Some(json!({"operator": "O", "called_number": "0300001234"})),
    )
    .await;
    let (st, _) = s
        .call(
            &op,
            M::POST,
            &format!("/api/v1/operator/failure-mode/requests/{id}/enable"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(st, 200);
    let before = s.db(|st| st.counts()).unwrap().checks;
    let q = json!({"birth_date": s.birth_of("R-VALID"), "sex": "male", "checked_on": DAY, "kana": "ヤマダ タロウ",
                   "address": "東京都千代田区霞が関1丁目2番3号", "visit_id": 999999});
    let (st, e) = s
        .call(
            &s.clinic,
            M::POST,
            "/api/v1/failure-mode/search",
            None,
            Some(q),
        )
        .await;
    assert_eq!((st, e["error"]["field"].as_str()), (404, Some("visit_id")));
    assert_eq!(s.db(|st| st.counts()).unwrap().checks, before);
    assert!(s.domain_audit().is_empty());
}

#[onshi_testkit::both]
async fn oral_confirmation_keeps_a_lost_qualification_as_such() {
    use reqwest::Method as M;
    let s = start().await;
    let (_, v1) = s.call(&s.clinic, M::POST, "/api/v1/visits", None, Some(json!({"visited_on": DAY, "patient_key": "P1", "attempt": {"reference": "card", "certificate_serial": "DEMO-LOST"}}))).await;
    assert_eq!(v1["claim"]["basis"], "lost_qualification");
    s.call(
        &s.clinic,
        M::POST,
        &format!("/api/v1/visits/{}/decision", v1["id"]),
        None,
        Some(json!({"shown": {"kind": "myna_portal", "ratio_percent": 30}})),
    )
    .await;
    let (_, v2) = s.call(&s.clinic, M::POST, "/api/v1/visits", None, Some(json!({"visited_on": DAY, "patient_key": "P1", "failure": {"kind": "power_outage"}}))).await;
    let (_, d) = s
        .call(
            &s.clinic,
            M::POST,
            &format!("/api/v1/visits/{}/decision", v2["id"]),
            None,
            Some(json!({"returning_oral": true})),
        )
        .await;
    assert_eq!(
        (d["claim"]["basis"].as_str(), d["claim"]["section"].as_str()),
        (Some("lost_qualification"), Some("保発0710第1号 3(3)")),
        "{d}"
    );
}

#[onshi_testkit::both]
async fn huge_numbers_are_refused_not_overflowed() {
    use reqwest::Method as M;
    let s = start().await;
    let (_, v) = s
        .call(
            &s.clinic,
            M::POST,
            "/api/v1/visits",
            None,
            Some(json!({"visited_on": DAY, "failure": {"kind": "power_outage"}})),
        )
        .await;
    let (st, e) = s
        .call(
            &s.clinic,
            M::POST,
            &format!("/api/v1/visits/{}/decision", v["id"]),
            None,
            Some(json!({"points": u64::MAX})),
        )
        .await;
    assert_eq!((st, e["error"]["field"].as_str()), (400, Some("points")));
    let op = s.token(&onshi_registry::Caller::Operator);
    let (st, e) = s
        .call(
            &op,
            M::POST,
            "/api/v1/operator/declarations/purge",
            None,
            Some(json!({"grace_days": u32::MAX})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (400, Some("grace_days"))
    );
    let (st, e) = s
        .call(&s.clinic, M::GET, "/api/v1/nowhere", None, None)
        .await;
    assert_eq!((st, e["error"]["code"].as_str()), (404, Some("not_found")));
    let (st, e) = s
        .call(&s.clinic, M::DELETE, "/api/v1/checks", None, None)
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[onshi_testkit::both]
async fn a_revoked_card_cannot_use_the_self_view() {
    let s = start().await;
    let t = s.token(&onshi_registry::Caller::Patient(
        onshi_core::CertificateSerial::parse("DEMO-REVOKED").unwrap(),
    ));
    let (st, e) = s
        .call(
            &t,
            reqwest::Method::GET,
            "/api/v1/me?date=2026-11-25",
            None,
            None,
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (422, Some("certificate_revoked"))
    );
    let _ = s.db(|st| st.counts());
}
