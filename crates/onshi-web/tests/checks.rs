//! Every case of the foundation issue through HTTP, on a real server on
//! loopback with a real SQLite file: the demo persons (one per case of the
//! notice), dated relative to a fixed day so the answers are exact.

mod common;

use common::{start, today};
use onshi_registry::demo;
use serde_json::{Value, json};

fn numbers(
    insurer: &str,
    symbol: Option<&str>,
    number: &str,
    branch: Option<&str>,
    birth: &str,
) -> Value {
    json!({
        "reference": "numbers", "insurer_number": insurer, "insured_symbol": symbol,
        "insured_number": number, "insured_branch": branch, "birth_date": birth,
        "checked_on": today(),
    })
}

#[onshi_testkit::both]
async fn card_valid_answers_the_qualification_and_ratio() {
    let s = start().await;
    let (status, a) = s.card("DEMO-VALID").await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["validity"], 1);
    assert_eq!(a["validity_label"], "有効");
    assert_eq!(a["burden_ratio_percent"], 30);
    let q = &a["qualification"];
    assert_eq!(q["insurer_number"], "01130012");
    assert_eq!(q["insurer_name"], "全国健康保険協会東京支部");
    assert_eq!(q["insured_symbol"], "1001");
    assert_eq!(q["insured_number"], "2001");
    assert_eq!(q["insured_branch"], "00");
    assert_eq!(q["relation"], "insured");
    assert_eq!(q["insurance_kind"], "kyokai");
    assert_eq!(q["payer"], "shiharai_kikin");
    assert_eq!(q["name"], "山田 太郎");
    assert_eq!(q["employer"], "霞が関商事株式会社");
    assert!(a["processing_note"].is_null());
}

#[onshi_testkit::both]
async fn card_lost_shows_the_lost_numbers() {
    let s = start().await;
    let (status, a) = s.card("DEMO-LOST").await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["validity"], 2);
    assert_eq!(a["validity_label"], "資格(無効)");
    let q = &a["qualification"];
    assert_eq!(
        (
            &q["insurer_number"],
            &q["insured_symbol"],
            &q["insured_number"],
            &q["insured_branch"]
        ),
        (
            &json!("06130017"),
            &json!("77"),
            &json!("3002"),
            &json!("00")
        )
    );
    assert_eq!(q["lost_on"], "2026-10-26");
    assert!(a["burden_ratio_percent"].is_null());
}

#[onshi_testkit::both]
async fn card_never_registered_is_no_information() {
    let s = start().await;
    let (status, a) = s.card("DEMO-NONE").await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["validity"], 4);
    assert_eq!(a["validity_label"], "資格情報なし");
    assert!(a["qualification"].is_null());
    assert_eq!(a["qualifications"], json!([]));
}

#[onshi_testkit::both]
async fn job_change_card_shows_new_and_old_numbers_show_nothing_newer() {
    let s = start().await;
    let (_, a) = s.card("DEMO-CHANGED").await;
    assert_eq!(a["validity"], 1);
    assert_eq!(a["qualification"]["insurer_number"], "06130017");
    assert_eq!(a["qualification"]["insured_number"], "3003");

    let birth = a["qualification"]["birth_date"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, b) = s
        .check(numbers(
            "01130012",
            Some("1002"),
            "2002",
            Some("00"),
            &birth,
        ))
        .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["validity"], 2);
    assert_eq!(b["qualifications"].as_array().unwrap().len(), 1);
    assert_eq!(b["qualification"]["insurer_number"], "01130012");
    // Notice §1(1) ※: a number check never reveals the newer qualification.
    assert!(!b.to_string().contains("06130017"), "{b}");
    assert!(!b.to_string().contains("3003"), "{b}");

    // Before the change, the old numbers were valid.
    let mut before = numbers("01130012", Some("1002"), "2002", Some("00"), &birth);
    before["checked_on"] = json!("2026-10-01");
    assert_eq!(s.check(before).await.1["validity"], 1);
}

#[onshi_testkit::both]
async fn numbers_accept_wareki_birth_dates_and_full_width_digits() {
    let s = start().await;
    let (_, a) = s.card("DEMO-VALID").await;
    let wareki = a["qualification"]["birth_date_wareki"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, b) = s
        .check(numbers(
            "01130012",
            Some("１００１"),
            "2001",
            Some("00"),
            &wareki,
        ))
        .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["validity"], 1);
    assert_eq!(b["qualification"]["name"], "山田 太郎");
    // Wrong birth date: nothing matches.
    let (_, c) = s
        .check(numbers(
            "01130012",
            Some("1001"),
            "2001",
            Some("00"),
            "1999-01-01",
        ))
        .await;
    assert_eq!(c["validity"], 4);
}

#[onshi_testkit::both]
async fn twins_without_branch_are_several() {
    let s = start().await;
    let (_, cases) = demo::demo(today()).unwrap();
    let twin = cases
        .iter()
        .find(|c| c.key == "twin_a")
        .unwrap()
        .numbers
        .clone()
        .unwrap();
    let birth = twin.birth_date.to_string();
    let (status, a) = s
        .check(numbers("01130012", Some("1008"), "2008", None, &birth))
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["validity"], 5);
    assert_eq!(a["validity_label"], "複数該当");
    let shown = a["qualifications"].as_array().unwrap();
    let mut names: Vec<&str> = shown.iter().map(|q| q["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["加藤 湊", "加藤 蓮"]);
    assert!(a["qualification"].is_null());
    let (_, one) = s
        .check(numbers(
            "01130012",
            Some("1008"),
            "2008",
            Some("03"),
            &birth,
        ))
        .await;
    assert_eq!(one["validity"], 1);
    assert_eq!(one["qualification"]["name"], "加藤 湊");
}

#[onshi_testkit::both]
async fn burden_ratios_by_age_and_scheme() {
    let s = start().await;
    for (serial, percent) in [
        ("DEMO-PRESCHOOL", 20),
        ("DEMO-ELDERLY", 20),
        ("DEMO-KOUKI", 10),
        ("DEMO-VALID", 30),
    ] {
        let (_, a) = s.card(serial).await;
        assert_eq!(a["burden_ratio_percent"], percent, "{serial}: {a}");
    }
    let (_, k) = s.card("DEMO-KOUKI").await;
    assert!(k["qualification"]["insured_symbol"].is_null());
    assert!(k["qualification"]["insured_branch"].is_null());
    assert_eq!(k["qualification"]["payer"], "kokuhoren");
}

#[onshi_testkit::both]
async fn certificates_grace_expired_revoked_unknown() {
    let s = start().await;
    let (status, g) = s.card("DEMO-GRACE").await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["validity"], 1);
    assert_eq!(g["processing_note"]["code"], "certificate_grace");

    let (status, e) = s.card("DEMO-EXPIRED").await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("certificate_expired"))
    );
    let (status, r) = s.card("DEMO-REVOKED").await;
    assert_eq!(
        (status, r["error"]["code"].as_str()),
        (422, Some("certificate_revoked"))
    );
    // Before the revocation date the same card worked.
    let (_, before) = s
        .check(json!({"reference": "card", "certificate_serial": "DEMO-REVOKED", "checked_on": "2026-11-01"}))
        .await;
    assert_eq!(before["validity"], 1);

    let written = s.checks_written();
    let (status, u) = s.card("NO-SUCH-CARD").await;
    assert_eq!(
        (status, u["error"]["code"].as_str()),
        (404, Some("certificate_unknown"))
    );
    assert_eq!(s.checks_written(), written);
}

#[onshi_testkit::both]
async fn history_is_per_institution_and_keeps_what_was_shown() {
    let s = start().await;
    s.card("DEMO-LOST").await;
    s.card("DEMO-EXPIRED").await;
    let other = s
        .post_raw(
            Some(&s.other_clinic),
            json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": today()})
                .to_string(),
        )
        .await;
    assert_eq!(other.0, 200);

    let (status, h) = s.history(&s.clinic, "2026-11-25").await;
    assert_eq!(status, 200, "{h}");
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[0]["validity"], 2);
    assert_eq!(h[0]["validity_label"], "資格(無効)");
    // The lost numbers can be looked up in the history (notice §3(3)).
    assert_eq!(h[0]["answer"]["qualification"]["insured_number"], "3002");
    assert!(h[1]["validity"].is_null());
    assert_eq!(h[1]["error_code"], "certificate_expired");
    assert!(
        !serde_json::to_string(h).unwrap().contains("山田"),
        "another clinic's check leaked"
    );

    let (_, oh) = s.history(&s.other_clinic, "2026-11-25").await;
    assert_eq!(oh.as_array().unwrap().len(), 1);
    assert_eq!(oh[0]["answer"]["qualification"]["name"], "山田 太郎");

    let (_, empty) = s.history(&s.clinic, "2026-11-24").await;
    assert_eq!(empty, json!([]));
    let (status, bad) = s.history(&s.clinic, "2026-13-01").await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("impossible_date"))
    );
    let resp = s
        .http
        .get(format!("{}/api/v1/checks", s.url))
        .bearer_auth(&s.clinic)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], "date");
}

#[onshi_testkit::both]
async fn tokens_and_roles() {
    let s = start().await;
    let body =
        json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": today()})
            .to_string();
    let (status, e) = s.post_raw(None, body.clone()).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let forged = format!("onshi_{}", "0".repeat(64));
    assert_eq!(s.post_raw(Some(&forged), body.clone()).await.0, 401);
    assert_eq!(s.post_raw(Some("garbage"), body.clone()).await.0, 401);
    for t in [&s.insurer, &s.patient] {
        let (status, e) = s.post_raw(Some(t), body.clone()).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (403, Some("forbidden"))
        );
        assert_eq!(s.history(t, "2026-11-25").await.0, 403);
    }
    assert_eq!(s.checks_written(), 0);
}

#[onshi_testkit::both]
async fn bad_input_is_typed_and_writes_nothing() {
    let s = start().await;
    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        (numbers("01130013", Some("1001"), "2001", Some("00"), "1980-01-01").to_string(), 400, "insurer_number_check_digit", Some("insurer_number")),
        (numbers("0113001", Some("1001"), "2001", Some("00"), "1980-01-01").to_string(), 400, "invalid_insurer_number", Some("insurer_number")),
        (numbers("01130012", Some("1001"), "2001", Some("00"), "平成31年5月1日").to_string(), 400, "wareki_out_of_era", Some("birth_date")),
        (numbers("01130012", Some("1001"), "2001", Some("0"), "1980-01-01").to_string(), 400, "invalid_branch_number", Some("insured_branch")),
        (numbers("01130012", Some("1001"), "", Some("00"), "1980-01-01").to_string(), 400, "missing_field", Some("insured_number")),
        (numbers("39280003", Some("1"), "12345678", None, "1940-01-01").to_string(), 400, "not_for_kouki", Some("insured_symbol")),
        (json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": "2026-02-30"}).to_string(), 400, "impossible_date", Some("checked_on")),
        (json!({"reference": "card", "certificate_serial": "DEMO-VALID"}).to_string(), 400, "missing_field", Some("checked_on")),
        (json!({"certificate_serial": "DEMO-VALID", "checked_on": today()}).to_string(), 400, "missing_field", Some("reference")),
        (json!({"reference": "card", "checked_on": today()}).to_string(), 400, "missing_field", Some("certificate_serial")),
        (json!({"reference": "face", "checked_on": today()}).to_string(), 400, "invalid_value", Some("reference")),
        (json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": today(), "insurer_number": "01130012"}).to_string(), 400, "field_not_allowed", Some("insurer_number")),
        (json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": today(), "my_number": "123456789012"}).to_string(), 400, "unknown_field", Some("my_number")),
        (json!({"reference": "card", "certificate_serial": "DEMO VALID", "checked_on": today()}).to_string(), 400, "invalid_certificate_serial", Some("certificate_serial")),
        ("{\"reference\": \"card\",".to_owned(), 400, "invalid_json", None),
        (json!({"reference": 1}).to_string(), 400, "invalid_json", Some("reference")),
        (format!("{{\"reference\":\"card\",\"pad\":\"{}\"}}", "x".repeat(70 * 1024)), 413, "body_too_large", None),
    ];
    for (body, want_status, want_code, want_field) in cases {
        let (status, e) = s.post_raw(Some(&s.clinic), body.clone()).await;
        let short: String = body.chars().take(120).collect();
        assert_eq!(status, want_status, "{short}: {e}");
        assert_eq!(e["error"]["code"], want_code, "{short}: {e}");
        assert_eq!(e["error"]["field"].as_str(), want_field, "{short}: {e}");
        assert!(
            !e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
    }
    assert_eq!(
        s.checks_written(),
        0,
        "a refused request wrote to the history"
    );
}

#[onshi_testkit::both]
async fn openapi_describes_the_checks() {
    let s = start().await;
    let resp = s
        .http
        .get(format!("{}/api/v1/openapi.json", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/checks"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/checks"]["get"].is_object());
    for schema in [
        "RawCheckRequest",
        "CheckAnswer",
        "HistoryEntry",
        "ErrorBody",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[onshi_testkit::both]
async fn fhir_rendering_of_the_answers() {
    let s = start().await;
    let fhir = |serial: &'static str| {
        s.http
            .post(format!("{}/api/v1/checks", s.url))
            .bearer_auth(&s.clinic)
            .header("accept", "application/fhir+json")
            .json(
                &json!({"reference": "card", "certificate_serial": serial, "checked_on": today()}),
            )
            .send()
    };
    let resp = fhir("DEMO-VALID").await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/fhir+json");
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["resourceType"], "Bundle");
    let res = |t: &str| -> Vec<Value> {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"].clone())
            .filter(|r| r["resourceType"] == t)
            .collect()
    };
    let cer = &res("CoverageEligibilityResponse")[0];
    assert_eq!(cer["outcome"], "complete");
    assert_eq!(cer["disposition"], "有効");
    assert_eq!(cer["extension"][0]["valueCode"], "1");
    assert_eq!(cer["insurance"][0]["inforce"], true);
    let cov = &res("Coverage")[0];
    assert_eq!(cov["status"], "active");
    let ext: Vec<(String, String)> = cov["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["url"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                e["valueString"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ext,
        [
            (
                "JP_Coverage_InsuredPersonSymbol".to_owned(),
                "1001".to_owned()
            ),
            (
                "JP_Coverage_InsuredPersonNumber".to_owned(),
                "2001".to_owned()
            ),
            (
                "JP_Coverage_InsuredPersonSubNumber".to_owned(),
                "00".to_owned()
            )
        ]
    );
    assert_eq!(cov["costToBeneficiary"][0]["valueQuantity"]["value"], 30);
    assert_eq!(cov["relationship"]["coding"][0]["code"], "self");
    let org = &res("Organization")[0];
    assert_eq!(org["identifier"][0]["value"], "01130012");
    assert_eq!(res("Patient")[0]["name"][0]["text"], "山田 太郎");
    assert_eq!(res("Patient")[0]["name"][1]["text"], "ヤマダ タロウ");

    let lost: Value = fhir("DEMO-LOST").await.unwrap().json().await.unwrap();
    let cov = lost["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Coverage")
        .unwrap();
    assert_eq!(cov["resource"]["status"], "cancelled");
    assert_eq!(cov["resource"]["period"]["end"], "2026-10-25");

    let none: Value = fhir("DEMO-NONE").await.unwrap().json().await.unwrap();
    assert_eq!(none["entry"].as_array().unwrap().len(), 1);
    assert_eq!(none["entry"][0]["resource"]["disposition"], "資格情報なし");
    assert_eq!(none["entry"][0]["resource"]["insurance"], json!([]));
}

#[onshi_testkit::both]
async fn oqs_xml_over_http() {
    let s = start().await;
    let birth = s.card("DEMO-VALID").await.1["qualification"]["birth_date"]
        .as_str()
        .unwrap()
        .replace('-', "");
    let xml = |inst: &str, birth: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageHeader><QualificationConfirmationDate>20261125</QualificationConfirmationDate>\
             <MedicalInstitutionCode>{inst}</MedicalInstitutionCode></MessageHeader><MessageBody><QualificationConfirmSearchInfo>\
             <InsurerNumber>01130012</InsurerNumber><InsuredCardSymbol>1001</InsuredCardSymbol><InsuredIdentificationNumber>2001</InsuredIdentificationNumber>\
             <InsuredBranchNumber>00</InsuredBranchNumber><Birthdate>{birth}</Birthdate></QualificationConfirmSearchInfo></MessageBody></XmlMsg>"
        )
    };
    let post = |body: String| {
        s.http
            .post(format!("{}/api/v1/oqs", s.url))
            .bearer_auth(&s.clinic)
            .header("content-type", "application/xml")
            .body(body)
            .send()
    };
    let resp = post(xml(demo::CLINIC_CODE, &birth)).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/xml");
    let r = onshi_oqs::parse_response(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(r.header.segment_of_result.code(), "1");
    assert_eq!(r.queries[0].validity.map(|v| v.code()), Some(1));
    assert_eq!(r.queries[0].results[0].insurer_number, "01130012");
    // The check is in the institution's history like any other.
    let (_, h) = s.history(&s.clinic, "2026-11-25").await;
    assert_eq!(
        h.as_array().unwrap().last().unwrap()["reference"],
        "numbers"
    );

    // Another institution's code: refused per query.
    let r = onshi_oqs::parse_response(
        &post(xml(demo::OTHER_CLINIC_CODE, &birth))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        r.queries[0].result_code.as_deref(),
        Some("institution_mismatch")
    );
    // An impossible birth date: the registry's typed error in the file.
    let r = onshi_oqs::parse_response(
        &post(xml(demo::CLINIC_CODE, "19800231"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(r.queries[0].result_code.as_deref(), Some("impossible_date"));
    // Garbage: an error file (SegmentOfResult 9), not a crash.
    let r = onshi_oqs::parse_response(
        &post("<XmlMsg><MessageHead".into())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(r.header.segment_of_result.code(), "9");
    assert_eq!(r.header.error_code.as_deref(), Some("E1001"));
}
