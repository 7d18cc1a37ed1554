//! The system-failure mode through HTTP: activation → search → pick →
//! report, refusals outside activation and with missing fields, the rate
//! limit, the disaster variant, the audit.

mod common;

use common::{NOW, Server, send, start};
use serde_json::{Value, json};

const DAY: &str = "2026-11-25";

impl Server {
    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        send(r, token).await
    }

    fn operator(&self) -> String {
        self.token(&onshi_registry::Caller::Operator)
    }

    /// Asks, is called back, and is enabled: the whole of 別添2 steps 1–3.
    async fn activate(&self, op: &str) -> i64 {
        use reqwest::Method as M;
        let (status, r) = self
            .call(
                &self.clinic,
                M::POST,
                "/api/v1/failure-mode/requests",
                Some(json!({"contact_name": "受付 花子", "reason": "停電"})),
            )
            .await;
        assert_eq!(status, 201, "{r}");
        let id = r["id"].as_i64().unwrap();
        let (status, c) = self
            .call(
                op,
                M::POST,
                &format!("/api/v1/operator/failure-mode/requests/{id}/callback"),
                Some(json!({"operator": "OP-1", "called_number": "03-0000-1234"})),
            )
            .await;
        assert_eq!(
            (status, c["status"].as_str()),
            (200, Some("confirmed")),
            "{c}"
        );
        let (status, e) = self
            .call(
                op,
                M::POST,
                &format!("/api/v1/operator/failure-mode/requests/{id}/enable"),
                Some(json!({"hours": 4})),
            )
            .await;
        assert_eq!(
            (status, e["status"].as_str()),
            (200, Some("enabled")),
            "{e}"
        );
        id
    }

    async fn search(&self, body: Value) -> (u16, Value) {
        self.call(
            &self.clinic,
            reqwest::Method::POST,
            "/api/v1/failure-mode/search",
            Some(body),
        )
        .await
    }
}

fn yamada(birth: &str) -> Value {
    json!({"birth_date": birth, "sex": "male", "checked_on": DAY, "kana": "ﾔﾏﾀﾞ ﾀﾛｳ", "address": "東京都千代田区霞が関１－２－３"})
}

async fn yamada_birth(s: &Server) -> String {
    s.card("DEMO-VALID").await.1["qualification"]["birth_date"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[onshi_testkit::both]
async fn activation_search_pick_report() {
    use reqwest::Method as M;
    let s = start().await;
    let op = s.operator();
    let birth = yamada_birth(&s).await;

    // Outside activation: a typed refusal.
    let (status, e) = s.search(yamada(&birth)).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (403, Some("failure_mode_not_active"))
    );

    // The call-back must reach the number on file.
    let (_, r) = s
        .call(
            &s.clinic,
            M::POST,
            "/api/v1/failure-mode/requests",
            Some(json!({"contact_name": "受付 花子"})),
        )
        .await;
    let id = r["id"].as_i64().unwrap();
    assert_eq!(r["phone_on_file"], "03-0000-1234");
    let (status, e) = s
        .call(
            &op,
            M::POST,
            &format!("/api/v1/operator/failure-mode/requests/{id}/enable"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("invalid_state"))
    );
    let (status, e) = s
        .call(
            &op,
            M::POST,
            &format!("/api/v1/operator/failure-mode/requests/{id}/callback"),
            Some(json!({"operator": "OP-1", "called_number": "03-9999-9999"})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("callback_number_mismatch"))
    );
    // Institutions cannot run the operator's steps.
    let (status, _) = s
        .call(
            &s.clinic,
            M::POST,
            &format!("/api/v1/operator/failure-mode/requests/{id}/callback"),
            Some(json!({"operator": "x", "called_number": "03-0000-1234"})),
        )
        .await;
    assert_eq!(status, 403);
    let id = s.activate(&op).await;

    // One hit: the 資格情報 at once, attached to the visit waiting for a re-check.
    let (_, visit) = s
        .call(
            &s.clinic,
            M::POST,
            "/api/v1/visits",
            Some(json!({"visited_on": DAY, "failure": {"kind": "power_outage"}})),
        )
        .await;
    let mut q = yamada(&birth);
    q["visit_id"] = visit["id"].clone();
    let (status, one) = s.search(q).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["hits"], 1);
    assert_eq!(one["answer"]["validity"], 1);
    assert_eq!(one["answer"]["reference"], "failure_mode");
    assert_eq!(one["answer"]["qualification"]["insured_number"], "2001");
    let (_, v) = s
        .call(
            &s.clinic,
            M::GET,
            &format!("/api/v1/visits/{}", visit["id"]),
            None,
        )
        .await;
    assert_eq!(
        (
            v["claim"]["basis"].as_str(),
            v["claim"]["source"].as_str(),
            v["recheck_state"].as_str()
        ),
        (Some("confirmed"), Some("failure_mode"), Some("done"))
    );

    // Several hits: a list that tells them apart and nothing more; then a pick.
    let extra = json!({
        "persons": [
            {"person_ref": "R-T1", "name": "田中 一郎", "kana": "タナカ イチロウ", "birth_date": "1970-01-01", "sex": "male",
             "address": "東京都新宿区西新宿9丁目9番9号",
             "qualifications": [{"insurer_number": "01130012", "symbol": "71", "number": "1", "branch": "00", "relation": "insured", "acquired_on": "2000-04-01"}]},
            {"person_ref": "R-T2", "name": "田中 一郎", "kana": "タナカ イチロウ", "birth_date": "1970-01-01", "sex": "male",
             "address": "東京都八王子市旭町8丁目8番8号",
             "qualifications": [{"insurer_number": "01130012", "symbol": "72", "number": "2", "branch": "00", "relation": "insured", "acquired_on": "2000-04-01"}]}
        ]
    });
    let f = onshi_registry::fixture::parse_fixture(&extra.to_string()).unwrap();
    s.db(|st| onshi_registry::fixture::load(st, &f, NOW))
        .unwrap();
    let (status, many) = s
        .search(json!({"birth_date": "昭和45年1月1日", "sex": "1", "checked_on": DAY, "name": "田中一郎", "insurer_name": "全国健康保険協会"}))
        .await;
    assert_eq!(status, 200, "{many}");
    assert_eq!(many["hits"], 2);
    assert!(many["answer"].is_null());
    let areas: Vec<&str> = many["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["area"].as_str().unwrap())
        .collect();
    assert_eq!(areas, ["東京都新宿区", "東京都八王子市"]);
    let listed = many["candidates"].to_string();
    for hidden in ["9丁目", "8丁目", "insured_number", "birth_date", "\"71\""] {
        assert!(
            !listed.contains(hidden),
            "the list shows {hidden}: {listed}"
        );
    }
    let (status, picked) = s
        .call(
            &s.clinic,
            M::POST,
            "/api/v1/failure-mode/pick",
            Some(json!({"search_id": many["search_id"], "candidate": 2})),
        )
        .await;
    assert_eq!(status, 200, "{picked}");
    assert_eq!(picked["qualification"]["insured_symbol"], "72");
    let (status, e) = s
        .call(
            &s.clinic,
            M::POST,
            "/api/v1/failure-mode/pick",
            Some(json!({"search_id": many["search_id"], "candidate": 3})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("candidate"))
    );
    // Another institution cannot pick from this search.
    let (status, _) = s
        .call(
            &s.other_clinic,
            M::POST,
            "/api/v1/failure-mode/pick",
            Some(json!({"search_id": many["search_id"], "candidate": 1})),
        )
        .await;
    assert_eq!(status, 403, "the other clinic's mode is not active");

    // Every search and pick is audited; the views are in the check history.
    let audit = s.domain_audit();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "failure_mode_search",
            "failure_mode_view",
            "failure_mode_search",
            "failure_mode_pick"
        ]
    );
    assert!(
        audit
            .iter()
            .all(|a| a.actor == "institution:1311234567" && a.purpose.is_some())
    );
    assert!(audit[3].person_id.is_some());
    assert!(
        !serde_json::to_string(&audit).unwrap().contains("田中"),
        "the audit copies names"
    );
    let (_, history) = s.history(&s.clinic, DAY).await;
    let refs: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["card", "failure_mode", "failure_mode"]);

    // The usage report; overdue until it is filed.
    let (_, overdue) = s
        .call(
            &op,
            M::GET,
            "/api/v1/operator/failure-mode/overdue?today=2027-01-01",
            None,
        )
        .await;
    assert_eq!(
        overdue
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["id"] == id)
            .count(),
        1
    );
    let (status, e) = s
        .call(
            &s.clinic,
            M::POST,
            &format!("/api/v1/failure-mode/requests/{id}/report"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("report"))
    );
    let (status, r) = s
        .call(
            &s.clinic,
            M::POST,
            &format!("/api/v1/failure-mode/requests/{id}/report"),
            Some(json!({"report": "システム障害時機能の利用報告: 停電のため3名を照会"})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert!(r["report_received_at"].is_string());
    let (_, overdue) = s
        .call(
            &op,
            M::GET,
            "/api/v1/operator/failure-mode/overdue?today=2027-01-01",
            None,
        )
        .await;
    assert!(overdue.as_array().unwrap().iter().all(|r| r["id"] != id));
    let (status, _) = s
        .call(
            &s.other_clinic,
            M::POST,
            &format!("/api/v1/failure-mode/requests/{id}/report"),
            Some(json!({"report": "x"})),
        )
        .await;
    assert_eq!(status, 404);
}

#[onshi_testkit::both]
async fn required_fields_are_named() {
    let s = start().await;
    let op = s.operator();
    s.activate(&op).await;
    let birth = yamada_birth(&s).await;
    let full = yamada(&birth);
    let cases: Vec<(&str, Option<Value>, &str)> = vec![
        ("birth_date", None, "birth_date"),
        ("sex", None, "sex"),
        ("checked_on", None, "checked_on"),
        ("kana", None, "name,kana"),
        ("address", None, "address,insurer_name"),
        ("birth_date", Some(json!("平成31年5月1日")), "birth_date"),
        ("sex", Some(json!("x")), "sex"),
    ];
    for (field, value, want) in cases {
        let mut q = full.clone();
        match value {
            None => {
                q.as_object_mut().unwrap().remove(field);
            }
            Some(v) => q[field] = v,
        }
        let (status, e) = s.search(q).await;
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (400, Some(want)),
            "{field}: {e}"
        );
    }
    // A different spelling of the kana is not an exact match: no hit.
    let mut q = full.clone();
    q["kana"] = json!("ヤマダ タロ");
    let (_, none) = s.search(q).await;
    assert_eq!(
        (none["hits"].as_u64(), none["answer"].is_null()),
        (Some(0), true)
    );
    assert_eq!(s.domain_audit().len(), 1, "refused searches were audited");
}

#[onshi_testkit::both]
async fn searches_are_rate_limited_per_institution() {
    let s = start().await;
    let op = s.operator();
    s.activate(&op).await;
    let q = json!({"birth_date": "2000-01-01", "sex": "female", "checked_on": DAY, "kana": "ナイ", "address": "どこにもない"});
    for i in 0..onshi_registry::failure_mode::SEARCHES_PER_MINUTE {
        assert_eq!(s.search(q.clone()).await.0, 200, "search {i}");
    }
    let (status, e) = s.search(q.clone()).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
}

#[onshi_testkit::both]
async fn disaster_activation_covers_a_prefecture() {
    use reqwest::Method as M;
    let s = start().await;
    let op = s.operator();
    let now = chrono::Utc::now();
    let body = json!({"prefecture": 27, "from": (now - chrono::Duration::hours(1)).to_rfc3339(), "until": (now + chrono::Duration::days(7)).to_rfc3339(),
                      "reason": "災害救助法の適用", "operator": "OP-2"});
    let (status, d) = s
        .call(
            &op,
            M::POST,
            "/api/v1/operator/failure-mode/disasters",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    let birth = yamada_birth(&s).await;
    // The Osaka pharmacy may search; the Tokyo clinic may not.
    let (status, r) = s
        .call(
            &s.other_clinic,
            M::POST,
            "/api/v1/failure-mode/search",
            Some(yamada(&birth)),
        )
        .await;
    assert_eq!((status, r["hits"].as_u64()), (200, Some(1)), "{r}");
    assert_eq!(s.search(yamada(&birth)).await.0, 403);
    let mut bad = body.clone();
    bad["prefecture"] = json!(48);
    assert_eq!(
        s.call(
            &op,
            M::POST,
            "/api/v1/operator/failure-mode/disasters",
            Some(bad)
        )
        .await
        .0,
        400
    );
    assert_eq!(
        s.call(
            &s.clinic,
            M::POST,
            "/api/v1/operator/failure-mode/disasters",
            Some(body)
        )
        .await
        .0,
        403
    );
}
