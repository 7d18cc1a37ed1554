//! The reception side through HTTP: one scenario per failure kind of notice
//! §1 and per branch of notice §2, visual mode, fault injection, the
//! deferred re-check, the declaration and its PDF, and the deletion schedule.

mod common;

use common::{Server, send, start};
use serde_json::{Value, json};

const DAY: &str = "2026-11-25";

impl Server {
    async fn req(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.req_as(&self.clinic, method, path, body).await
    }

    async fn req_as(
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

    async fn visit(&self, body: Value) -> Value {
        let (status, v) = self
            .req(reqwest::Method::POST, "/api/v1/visits", Some(body))
            .await;
        assert_eq!(status, 201, "{v}");
        v
    }

    async fn card_visit(&self, serial: &str, key: Option<&str>) -> Value {
        self.visit(json!({
            "visited_on": DAY, "patient_key": key,
            "attempt": {"reference": "card", "certificate_serial": serial},
        }))
        .await
    }

    async fn decide(&self, id: i64, body: Value) -> (u16, Value) {
        self.req(
            reqwest::Method::POST,
            &format!("/api/v1/visits/{id}/decision"),
            Some(body),
        )
        .await
    }

    async fn fault(&self, kind: Option<&str>) {
        let (status, _) = match kind {
            Some(k) => {
                self.req(
                    reqwest::Method::PUT,
                    "/api/v1/faults",
                    Some(json!({"kind": k})),
                )
                .await
            }
            None => {
                self.req(reqwest::Method::DELETE, "/api/v1/faults", None)
                    .await
            }
        };
        assert_eq!(status, 204);
    }
}

fn failure(v: &Value) -> (&str, bool) {
    (
        v["failure"]["kind"].as_str().unwrap_or("-"),
        v["failure"]["registry_reachable"].as_bool().unwrap_or(true),
    )
}

#[onshi_testkit::both]
async fn every_failure_kind_of_notice_1() {
    let s = start().await;
    // 1(1): the registry answers, but not with a valid qualification.
    let lost = s.card_visit("DEMO-LOST", None).await;
    assert_eq!(failure(&lost), ("qualification_invalid", true));
    assert_eq!(lost["failure"]["section"], "保発0710第1号 1(1)");
    assert_eq!(lost["claim"]["basis"], "lost_qualification");
    assert_eq!(lost["claim"]["insured_number"], "3002");
    assert_eq!(lost["recheck_state"], "pending");
    let none = s.card_visit("DEMO-NONE", None).await;
    assert_eq!(failure(&none), ("no_information", true));
    assert!(none["claim"].is_null());

    // 1(2): found by the check itself …
    let expired = s.card_visit("DEMO-EXPIRED", None).await;
    assert_eq!(failure(&expired), ("certificate_expired", true));
    assert_eq!(expired["failure"]["error_code"], "certificate_expired");
    s.fault(Some("reader")).await;
    let reader = s.card_visit("DEMO-VALID", None).await;
    assert_eq!(failure(&reader), ("reader_broken", true));
    s.fault(Some("network")).await;
    let net = s.card_visit("DEMO-VALID", None).await;
    assert_eq!(failure(&net), ("network_outage", false));
    s.fault(None).await;

    // … or reported by the clerk, with no check run.
    let before = s.checks_written();
    for (kind, reachable) in [
        ("card_unreadable", true),
        ("power_outage", false),
        ("reader_broken", true),
        ("network_outage", false),
    ] {
        let v = s
            .visit(json!({"visited_on": DAY, "failure": {"kind": kind}}))
            .await;
        assert_eq!(failure(&v), (kind, reachable), "{v}");
        assert_eq!(v["failure"]["section"], "保発0710第1号 1(2)");
        assert_eq!(v["recheck_state"], "pending");
        assert!(
            v["next_steps"][0]
                .as_str()
                .unwrap()
                .contains("マイナポータル")
        );
    }
    let overridden = s.visit(json!({"visited_on": DAY, "failure": {"kind": "reader_broken", "registry_reachable": false}})).await;
    assert_eq!(failure(&overridden), ("reader_broken", false));
    assert_eq!(s.checks_written(), before, "a reported failure ran a check");

    let (status, e) = s
        .req(
            reqwest::Method::POST,
            "/api/v1/visits",
            Some(json!({"visited_on": DAY, "failure": {"kind": "earthquake"}})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("failure.kind"))
    );
    let (status, e) = s
        .req(
            reqwest::Method::POST,
            "/api/v1/visits",
            Some(json!({"failure": {"kind": "power_outage"}})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("visited_on"))
    );
}

#[onshi_testkit::both]
async fn notice_2_1_portal_or_card_shown() {
    let s = start().await;
    let v = s.card_visit("DEMO-NONE", None).await;
    let id = v["id"].as_i64().unwrap();
    let (status, d) = s
        .decide(
            id,
            json!({
                "shown": {"kind": "myna_portal", "ratio_percent": 30, "insurer_number": "01130012",
                          "insured_symbol": "9", "insured_number": "99", "insured_branch": "00"},
                "points": 1234,
            }),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["decision"]["ratio_percent"], 30);
    assert_eq!(d["decision"]["basis"], "myna_portal");
    assert_eq!(d["decision"]["section"], "保発0710第1号 2(1)");
    assert_eq!(d["decision"]["amount_yen"], 3700);
    assert_eq!(d["claim"]["basis"], "confirmed");
    assert_eq!(d["claim"]["source"], "shown");
    assert_eq!(d["claim"]["insured_number"], "99");

    let v = s
        .visit(json!({"visited_on": DAY, "failure": {"kind": "card_unreadable"}}))
        .await;
    let (_, d) = s
        .decide(v["id"].as_i64().unwrap(), json!({"shown": {"kind": "qualification_certificate", "ratio_percent": 20}, "points": 125}))
        .await;
    assert_eq!(
        (
            d["decision"]["basis"].as_str(),
            d["decision"]["amount_yen"].as_u64()
        ),
        (Some("qualification_certificate"), Some(250))
    );
    let (status, e) = s
        .decide(
            v["id"].as_i64().unwrap(),
            json!({"shown": {"kind": "insurance_card", "ratio_percent": 40}}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("shown.ratio_percent"))
    );
}

#[onshi_testkit::both]
async fn online_check_valid_decides_by_its_ratio() {
    let s = start().await;
    let v = s.card_visit("DEMO-PRESCHOOL", None).await;
    assert!(v["failure"].is_null());
    assert_eq!(v["recheck_state"], "done");
    let (_, d) = s
        .decide(v["id"].as_i64().unwrap(), json!({"points": 333}))
        .await;
    assert_eq!(d["decision"]["basis"], "online_check");
    assert_eq!(d["decision"]["ratio_percent"], 20);
    assert_eq!(d["decision"]["amount_yen"], 670);
    assert_eq!(d["claim"]["basis"], "confirmed");
}

#[onshi_testkit::both]
async fn notice_2_2_declaration_and_its_pdf() {
    let s = start().await;
    let v = s.card_visit("DEMO-NONE", None).await;
    let id = v["id"].as_i64().unwrap();
    let (status, e) = s.decide(id, json!({"use_declaration": true})).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("no_declaration"))
    );

    let path = format!("/api/v1/visits/{id}/declaration");
    let (status, e) = s
        .req(
            reqwest::Method::PUT,
            &path,
            Some(json!({"birth_date": "平成31年5月1日"})),
        )
        .await;
    assert_eq!(
        (
            status,
            e["error"]["code"].as_str(),
            e["error"]["field"].as_str()
        ),
        (400, Some("wareki_out_of_era"), Some("birth_date"))
    );
    let form = json!({
        "has_valid_card": true, "insurance_type": "shaho", "insurer_name": "全国健康保険協会東京支部",
        "employer": "株式会社あおば商事", "card_issued": "within_month", "ratio": "3割",
        "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": "平成16年5月9日", "sex": "male",
        "address": "東京都世田谷区三軒茶屋1丁目1番1号", "declared_on": DAY,
        "signature": "鈴木 一郎", "phone": "090-0000-1234",
    });
    let (status, decl) = s.req(reqwest::Method::PUT, &path, Some(form)).await;
    assert_eq!(status, 200, "{decl}");
    assert_eq!(decl["missing"], json!([]));

    let (status, d) = s
        .decide(id, json!({"use_declaration": true, "points": 1000}))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["decision"]["basis"], "declaration");
    assert_eq!(d["decision"]["section"], "保発0710第1号 2(2)");
    assert_eq!(d["decision"]["ratio_percent"], 30);
    assert_eq!(d["decision"]["amount_yen"], 3000);

    // The PDF carries the form's text and the patient's answers.
    let resp = s
        .http
        .get(format!("{}/api/v1/visits/{id}/declaration.pdf", s.url))
        .bearer_auth(&s.clinic)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    for want in [
        "被保険者資格申立書",
        "有効な保険証の交付を受けており",
        "全国健康保険協会東京支部",
        "株式会社あおば商事",
        "スズキ イチロウ",
        "鈴木 一郎",
        "■平成",
        "16年 5月 9日",
        "■社保",
        "■3割",
        "東京都世田谷区三軒茶屋1丁目1番1号",
        "090-0000-1234",
        "令和8年11月25日",
        "被保険者資格申立書に関する説明書",
    ] {
        let squeezed: String = text.split_whitespace().collect();
        let want_sq: String = want.split_whitespace().collect();
        assert!(
            squeezed.contains(&want_sq),
            "PDF text lacks {want:?}:\n{text}"
        );
    }
    assert!(!text.contains("■昭和"), "{text}");
}

#[onshi_testkit::both]
async fn partial_declaration_with_unknown_ratio() {
    let s = start().await;
    let v = s
        .visit(
            json!({"visited_on": DAY, "failure": {"kind": "power_outage"},
        "patient": {"name": "山本 陽翔", "birth_date": "2022-10-01"}}),
        )
        .await;
    let id = v["id"].as_i64().unwrap();
    let (status, decl) = s
        .req(
            reqwest::Method::PUT,
            &format!("/api/v1/visits/{id}/declaration"),
            Some(json!({"name": "山本 陽翔", "ratio": "わからない"})),
        )
        .await;
    assert_eq!(status, 200, "{decl}");
    assert!(
        decl["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("phone"))
    );
    let (_, d) = s.decide(id, json!({"use_declaration": true})).await;
    // 「わからない」 for a preschool child: the statutory 2割.
    assert_eq!(
        (
            d["decision"]["basis"].as_str(),
            d["decision"]["ratio_percent"].as_u64()
        ),
        (Some("declaration"), Some(20))
    );
    let resp = s
        .http
        .get(format!("{}/api/v1/forms/declaration.pdf", s.url))
        .bearer_auth(&s.clinic)
        .send()
        .await
        .unwrap();
    let text = pdf_text(&resp.bytes().await.unwrap());
    assert!(
        text.contains("被保険者資格申立書") && text.contains("□社保"),
        "{text}"
    );
}

#[onshi_testkit::both]
async fn notice_2_2_returning_patient_and_2_3_full_cost_or_discretion() {
    let s = start().await;
    // First visit: the card was shown.
    let first = s.visit(json!({"visited_on": "2026-11-01", "patient_key": "K-7", "failure": {"kind": "reader_broken"}})).await;
    let (_, d1) = s
        .decide(first["id"].as_i64().unwrap(), json!({"shown": {"kind": "insurance_card", "ratio_percent": 20,
            "insurer_number": "01130012", "insured_symbol": "1", "insured_number": "2", "insured_branch": "01"}}))
        .await;
    assert_eq!(d1["decision"]["basis"], "insurance_card");

    // Returning: nothing changed, confirmed orally → treated as a declaration.
    let second = s
        .visit(
            json!({"visited_on": DAY, "patient_key": "K-7", "failure": {"kind": "power_outage"}}),
        )
        .await;
    let (status, d2) = s
        .decide(
            second["id"].as_i64().unwrap(),
            json!({"returning_oral": true, "points": 500}),
        )
        .await;
    assert_eq!(status, 200, "{d2}");
    assert_eq!(d2["decision"]["basis"], "returning_patient_oral");
    assert_eq!(d2["decision"]["section"], "保発0710第1号 2(2)");
    assert_eq!(d2["decision"]["ratio_percent"], 20);
    assert_eq!(d2["claim"]["basis"], "told_orally");
    assert_eq!(d2["claim"]["section"], "保発0710第1号 3(2)");
    assert_eq!(d2["claim"]["insured_number"], "2");

    // Nothing at all: 10割.
    let third = s
        .visit(
            json!({"visited_on": DAY, "patient_key": "K-8", "failure": {"kind": "power_outage"}}),
        )
        .await;
    let id3 = third["id"].as_i64().unwrap();
    let (_, d3) = s.decide(id3, json!({"points": 1234})).await;
    assert_eq!(d3["decision"]["basis"], "full_cost");
    assert_eq!(d3["decision"]["section"], "保発0710第1号 2(3)");
    assert_eq!(
        (
            d3["decision"]["ratio_percent"].as_u64(),
            d3["decision"]["amount_yen"].as_u64()
        ),
        (Some(100), Some(12340))
    );
    // A new patient: no oral confirmation, no discretion.
    let (status, e) = s.decide(id3, json!({"returning_oral": true})).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("no_record_on_file"))
    );
    let (status, _) = s.decide(id3, json!({"discretion_ratio_percent": 30})).await;
    assert_eq!(status, 409);

    // A known returning patient: the institution's discretion.
    let fourth = s
        .visit(
            json!({"visited_on": DAY, "patient_key": "K-7", "failure": {"kind": "power_outage"}}),
        )
        .await;
    let (_, d4) = s
        .decide(
            fourth["id"].as_i64().unwrap(),
            json!({"discretion_ratio_percent": 30, "points": 1000}),
        )
        .await;
    assert_eq!(d4["decision"]["basis"], "institution_discretion");
    assert_eq!(
        (
            d4["decision"]["ratio_percent"].as_u64(),
            d4["decision"]["amount_yen"].as_u64()
        ),
        (Some(30), Some(3000))
    );
}

#[onshi_testkit::both]
async fn visual_mode_and_pin() {
    let s = start().await;
    let card = |identity: Option<&str>, staff: Option<&str>| {
        json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": DAY,
               "identity_confirmed_by": identity, "staff_id": staff})
    };
    let (status, e) = s.check(card(Some("visual"), Some("S-1"))).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("visual_mode_off"))
    );
    let (status, e) = s
        .req(
            reqwest::Method::PUT,
            "/api/v1/reader/mode",
            Some(json!({"mode": "visual"})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("staff_id"))
    );
    assert_eq!(
        s.req(
            reqwest::Method::PUT,
            "/api/v1/reader/mode",
            Some(json!({"mode": "visual", "staff_id": "S-1"}))
        )
        .await
        .0,
        204
    );

    let (status, e) = s.check(card(None, None)).await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("staff_id"))
    );
    let (status, a) = s.check(card(None, Some("S-1"))).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["identity_confirmed_by"], "visual");
    let (status, e) = s.check(card(Some("face"), None)).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("reader_in_visual_mode"))
    );
    let (_, pin) = s.check(card(Some("pin"), None)).await;
    assert_eq!(pin["identity_confirmed_by"], "pin");

    assert_eq!(
        s.req(
            reqwest::Method::PUT,
            "/api/v1/reader/mode",
            Some(json!({"mode": "face", "staff_id": "S-2"}))
        )
        .await
        .0,
        204
    );
    let (_, face) = s.check(card(None, None)).await;
    assert_eq!(face["identity_confirmed_by"], "face");

    let (_, events) = s
        .req(reqwest::Method::GET, "/api/v1/reader/mode/events", None)
        .await;
    let ev: Vec<(&str, &str)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["mode"].as_str().unwrap(), e["staff_id"].as_str().unwrap()))
        .collect();
    assert_eq!(ev, vec![("visual", "S-1"), ("face", "S-2")]);
    let (_, h) = s.history(&s.clinic, DAY).await;
    let who: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["answer"]["identity_confirmed_by"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["visual", "pin", "face"]);
    // Another institution's reader is untouched.
    let (_, other) = s
        .post_raw(Some(&s.other_clinic), card(None, None).to_string())
        .await;
    assert_eq!(other["identity_confirmed_by"], "face");
}

#[onshi_testkit::both]
async fn faults_are_scoped_and_expire() {
    let s = start().await;
    s.fault(Some("registry")).await;
    let (status, e) = s.card("DEMO-VALID").await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (503, Some("registry_unavailable"))
    );
    let (status, _) = s
        .post_raw(
            Some(&s.other_clinic),
            json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": DAY})
                .to_string(),
        )
        .await;
    assert_eq!(status, 200, "a fault leaked to another institution");
    s.fault(Some("certificate")).await;
    assert_eq!(
        s.card("DEMO-VALID").await.1["error"]["code"],
        "certificate_expired"
    );
    let (status, _) = s
        .req(
            reqwest::Method::PUT,
            "/api/v1/faults",
            Some(json!({"kind": "reader", "until": "2000-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        s.card("DEMO-VALID").await.0,
        200,
        "an expired fault still applied"
    );
    let (status, e) = s
        .req(
            reqwest::Method::PUT,
            "/api/v1/faults",
            Some(json!({"kind": "meteor"})),
        )
        .await;
    assert_eq!((status, e["error"]["field"].as_str()), (400, Some("kind")));
}

#[onshi_testkit::both]
async fn deferred_recheck_confirms_later() {
    let s = start().await;
    s.fault(Some("network")).await;
    let v = s.card_visit("DEMO-VALID", None).await;
    assert_eq!(failure(&v), ("network_outage", false));
    let none = s.card_visit("DEMO-NONE", None).await;
    let nothing = s
        .visit(json!({"visited_on": DAY, "failure": {"kind": "power_outage"}}))
        .await;

    // Still down: everything stays queued.
    let (_, out) = s
        .req(reqwest::Method::POST, "/api/v1/rechecks/run", None)
        .await;
    assert!(
        out.as_array()
            .unwrap()
            .iter()
            .all(|o| o["recheck_state"] == "pending"),
        "{out}"
    );
    s.fault(None).await;

    // The insurer registers 鈴木 meanwhile.
    let birth = {
        s.db(|st| st.person_by_ref(&onshi_core::PersonRef::parse("R-NONE").unwrap()))
            .unwrap()
            .unwrap()
            .person
            .birth_date
    };
    let reg = json!({
        "person_ref": "R-NONE", "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": birth,
        "sex": "male", "address": "東京都世田谷区三軒茶屋1丁目1番1号", "insurer_number": "01130012",
        "insured_symbol": "5001", "insured_number": "6001", "insured_branch": "00", "relation": "insured",
        "acquired_on": "2026-11-01",
    });
    let r = s
        .http
        .post(format!("{}/api/v1/insurer/qualifications", s.url))
        .header("Idempotency-Key", "k")
        .header("content-type", "application/json")
        .body(reg.to_string());
    assert_eq!(send(r, &s.insurer).await.0, 201);

    let (status, out) = s
        .req(reqwest::Method::POST, "/api/v1/rechecks/run", None)
        .await;
    assert_eq!(status, 200);
    let by_id = |id: &Value| {
        out.as_array()
            .unwrap()
            .iter()
            .find(|o| &o["visit_id"] == id)
            .cloned()
            .unwrap()
    };
    let a = by_id(&v["id"]);
    assert_eq!(
        (
            a["result"].as_str(),
            a["recheck_state"].as_str(),
            a["claim_basis"].as_str()
        ),
        (Some("有効"), Some("done"), Some("confirmed"))
    );
    let b = by_id(&none["id"]);
    assert_eq!(
        (b["recheck_state"].as_str(), b["claim_basis"].as_str()),
        (Some("done"), Some("confirmed"))
    );
    let c = by_id(&nothing["id"]);
    assert_eq!(
        (c["result"].as_str(), c["recheck_state"].as_str()),
        (Some("no_identifiers"), Some("pending"))
    );

    let (_, visit) = s
        .req(
            reqwest::Method::GET,
            &format!("/api/v1/visits/{}", none["id"]),
            None,
        )
        .await;
    assert_eq!(visit["claim"]["source"], "recheck");
    assert_eq!(visit["claim"]["insured_number"], "6001");
    assert_eq!(visit["check"]["checked_on"], DAY);
    let (_, pending) = s.req(reqwest::Method::GET, "/api/v1/rechecks", None).await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
    // Another institution sees none of this clinic's visits.
    let (status, _) = s
        .req_as(
            &s.other_clinic,
            reqwest::Method::GET,
            &format!("/api/v1/visits/{}", none["id"]),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[onshi_testkit::both]
async fn declarations_are_deleted_once_the_claim_is_paid() {
    let s = start().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let v = s
            .visit(json!({"visited_on": DAY, "failure": {"kind": "power_outage"}}))
            .await;
        let id = v["id"].as_i64().unwrap();
        let (status, _) = s
            .req(
                reqwest::Method::PUT,
                &format!("/api/v1/visits/{id}/declaration"),
                Some(json!({"name": "山田 太郎"})),
            )
            .await;
        assert_eq!(status, 200);
        ids.push(id);
    }
    let (status, v) = s
        .req(
            reqwest::Method::POST,
            &format!("/api/v1/visits/{}/claim-paid", ids[0]),
            Some(json!({"paid_on": "2026-12-20"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    // Only the operator may run the purge by hand.
    assert_eq!(
        s.req(
            reqwest::Method::POST,
            "/api/v1/operator/declarations/purge",
            Some(json!({}))
        )
        .await
        .0,
        403
    );
    let operator = s.token(&onshi_registry::Caller::Operator);
    let (_, early) = s
        .req_as(
            &operator,
            reqwest::Method::POST,
            "/api/v1/operator/declarations/purge",
            Some(json!({"today": "2026-12-25", "grace_days": 30})),
        )
        .await;
    assert_eq!(early, json!([]));
    let (status, deleted) = s
        .req_as(
            &operator,
            reqwest::Method::POST,
            "/api/v1/operator/declarations/purge",
            Some(json!({"today": "2027-01-19", "grace_days": 30})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(deleted.as_array().unwrap().len(), 1, "{deleted}");
    assert_eq!(deleted[0]["visit_id"], ids[0]);

    let (status, e) = s
        .req(
            reqwest::Method::GET,
            &format!("/api/v1/visits/{}/declaration", ids[0]),
            None,
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("no_declaration"))
    );
    assert_eq!(
        s.req(
            reqwest::Method::GET,
            &format!("/api/v1/visits/{}/declaration", ids[1]),
            None
        )
        .await
        .0,
        200
    );
    let (_, log) = s
        .req(reqwest::Method::GET, "/api/v1/declarations/deletions", None)
        .await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["claim_paid_on"], "2026-12-20");
    let (_, other_log) = s
        .req_as(
            &s.other_clinic,
            reqwest::Method::GET,
            "/api/v1/declarations/deletions",
            None,
        )
        .await;
    assert_eq!(other_log, json!([]));
}

/// The text of a PDF, by poppler's pdftotext (installed by `.ci/run`, see README).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is needed for the PDF tests; see README");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
