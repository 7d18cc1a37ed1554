//! The insurer side and the patient self view through HTTP on SQLite: the
//! 5-attribute match, mismatches invisible to checks, corrections, losses,
//! idempotency, imports, notices, the report.

mod common;

use common::{Server, send, start, today};
use serde_json::{Value, json};

/// 鈴木 一郎 (R-NONE, card DEMO-NONE): a resident with no qualification yet.
fn suzuki() -> Value {
    json!({
        "person_ref": "R-NONE", "name": "鈴木 一郎", "kana": "スズキ イチロウ",
        "birth_date": "2004-05-09", "sex": "male", "address": "東京都世田谷区三軒茶屋1丁目1番1号",
        "insurer_number": "01130012", "insured_symbol": "5001", "insured_number": "6001",
        "insured_branch": "00", "relation": "insured", "acquired_on": "2026-11-01",
        "employer": "株式会社あおば商事",
    })
}

impl Server {
    async fn register(&self, token: &str, key: Option<&str>, body: &Value) -> (u16, Value, bool) {
        let mut req = self
            .http
            .post(format!("{}/api/v1/insurer/qualifications", self.url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let replayed = resp.headers().get("idempotent-replayed").is_some();
        (status, resp.json().await.unwrap_or(Value::Null), replayed)
    }

    async fn card_validity(&self, serial: &str) -> Value {
        self.card(serial).await.1
    }

    fn qualifications(&self) -> u64 {
        self.db(|st| st.counts()).unwrap().qualifications
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        send(self.http.get(format!("{}{path}", self.url)), token).await
    }

    async fn import(
        &self,
        token: &str,
        key: &str,
        query: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let req = self
            .http
            .post(format!("{}/api/v1/insurer/imports{query}", self.url))
            .header("content-type", content_type)
            .header("Idempotency-Key", key)
            .body(body);
        send(req, token).await
    }
}

/// 鈴木's registration, with the birth date the demo gave him (relative to
/// the demo day).
async fn suzuki_for(s: &Server) -> Value {
    let mut b = suzuki();
    let person = s.person_by_ref_for_test("R-NONE");
    b["birth_date"] = json!(person);
    b
}

impl Server {
    fn person_by_ref_for_test(&self, r: &str) -> String {
        let p = self
            .db(|st| st.person_by_ref(&onshi_core::PersonRef::parse(r).unwrap()))
            .unwrap()
            .unwrap();
        p.person.birth_date.to_string()
    }
}

#[onshi_testkit::both]
async fn matched_registration_becomes_checkable() {
    let s = start().await;
    assert_eq!(s.card_validity("DEMO-NONE").await["validity"], 4);
    let body = suzuki_for(&s).await;
    let (status, rec, _) = s.register(&s.insurer, Some("k1"), &body).await;
    assert_eq!(status, 201, "{rec}");
    assert_eq!(rec["match_status"], "matched");
    assert_eq!(rec["mismatch"], json!([]));
    assert_eq!(rec["insurer_name"], "全国健康保険協会東京支部");
    let a = s.card_validity("DEMO-NONE").await;
    assert_eq!(a["validity"], 1, "{a}");
    assert_eq!(a["qualification"]["insured_number"], "6001");
}

#[onshi_testkit::both]
async fn normalised_forms_still_match() {
    let s = start().await;
    let mut body = suzuki_for(&s).await;
    body["name"] = json!("鈴木　一郎");
    body["kana"] = json!("ｽｽﾞｷ ｲﾁﾛｳ");
    body["address"] = json!("東京都世田谷区三軒茶屋１－１－１");
    let (status, rec, _) = s.register(&s.insurer, Some("k1"), &body).await;
    assert_eq!(
        (status, rec["match_status"].as_str()),
        (201, Some("matched")),
        "{rec}"
    );
}

#[onshi_testkit::both]
async fn mismatch_is_stored_flagged_and_never_answered_then_corrected() {
    let s = start().await;
    let good = suzuki_for(&s).await;
    let mut bad = good.clone();
    bad["name"] = json!("鈴木 一朗");
    bad["address"] = json!("東京都世田谷区三軒茶屋9丁目9番9号");
    let (status, rec, _) = s.register(&s.insurer, Some("k1"), &bad).await;
    assert_eq!(status, 201, "{rec}");
    assert_eq!(rec["match_status"], "mismatch");
    assert_eq!(rec["mismatch"], json!(["name", "address"]));
    assert_eq!(rec["mismatch_labels"], json!(["氏名", "住所"]));
    let id = rec["id"].as_i64().unwrap();

    // Invisible to card checks, number checks and the self view.
    let a = s.card_validity("DEMO-NONE").await;
    assert_eq!(
        a["validity"], 4,
        "a mismatched registration was answered: {a}"
    );
    assert!(!a.to_string().contains("6001"));
    let (_, n) = s
        .check(json!({"reference": "numbers", "insurer_number": "01130012", "insured_symbol": "5001",
            "insured_number": "6001", "insured_branch": "00", "birth_date": good["birth_date"], "checked_on": today()}))
        .await;
    assert_eq!(n["validity"], 4, "{n}");

    // Listed for the insurer to fix; no notice while mismatched.
    let (_, list) = s
        .get(&s.insurer, "/api/v1/insurer/qualifications?status=mismatch")
        .await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);
    let (status, e) = s
        .get(
            &s.insurer,
            &format!("/api/v1/insurer/qualifications/{id}/notice"),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("registration_not_visible"))
    );

    // The correction re-runs the match; then the check answers it.
    let req = s
        .http
        .put(format!("{}/api/v1/insurer/qualifications/{id}", s.url))
        .header("Idempotency-Key", "fix-1")
        .header("content-type", "application/json")
        .body(good.to_string());
    let (status, fixed) = send(req, &s.insurer).await;
    assert_eq!(status, 200, "{fixed}");
    assert_eq!(fixed["match_status"], "matched");
    assert_eq!(s.card_validity("DEMO-NONE").await["validity"], 1);
    let (_, mism) = s
        .get(&s.insurer, "/api/v1/insurer/qualifications?status=mismatch")
        .await;
    assert_eq!(mism, json!([]));
    let (_, detail) = s
        .get(&s.insurer, &format!("/api/v1/insurer/qualifications/{id}"))
        .await;
    let actions: Vec<&str> = detail["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["register", "correct"]);
    assert_eq!(
        detail["revisions"][0]["snapshot"]["mismatch"],
        json!(["name", "address"])
    );
}

#[onshi_testkit::both]
async fn linking_to_the_wrong_twin_is_caught() {
    let s = start().await;
    // The insurer holds 加藤 湊's data but links it to his twin's resident record.
    let (_, cases) = onshi_registry::demo::demo(today()).unwrap();
    let twin = cases
        .iter()
        .find(|c| c.key == "twin_b")
        .unwrap()
        .numbers
        .clone()
        .unwrap();
    let body = json!({
        "person_ref": "R-TWIN-A", "name": "加藤 湊", "kana": "カトウ ミナト",
        "birth_date": twin.birth_date, "sex": "male", "address": "東京都新宿区西新宿3丁目3番3号",
        "insurer_number": "01130012", "insured_symbol": "1008", "insured_number": "2009",
        "insured_branch": "04", "relation": "dependent", "acquired_on": "2026-11-01",
    });
    let (status, rec, _) = s.register(&s.insurer, Some("twin"), &body).await;
    assert_eq!(status, 201);
    assert_eq!(rec["mismatch"], json!(["name", "kana"]), "{rec}");
}

#[onshi_testkit::both]
async fn refusals_are_typed_and_write_nothing() {
    let s = start().await;
    let good = suzuki_for(&s).await;
    let before = s.qualifications();

    let mut unknown = good.clone();
    unknown["person_ref"] = json!("R-NOBODY");
    let (status, e, _) = s.register(&s.insurer, Some("a"), &unknown).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("person_unknown")),
        "{e}"
    );

    let mut other = good.clone();
    other["insurer_number"] = json!("06130017");
    let (status, e, _) = s.register(&s.insurer, Some("b"), &other).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (403, Some("other_insurer"))
    );

    let mut digit = good.clone();
    digit["insurer_number"] = json!("01130013");
    let (status, e, _) = s.register(&s.insurer, Some("c"), &digit).await;
    assert_eq!(
        (
            status,
            e["error"]["code"].as_str(),
            e["error"]["field"].as_str()
        ),
        (
            400,
            Some("insurer_number_check_digit"),
            Some("insurer_number")
        )
    );

    let mut wareki = good.clone();
    wareki["birth_date"] = json!("平成31年5月1日");
    let (status, e, _) = s.register(&s.insurer, Some("d"), &wareki).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("wareki_out_of_era"))
    );

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("kana");
    let (status, e, _) = s.register(&s.insurer, Some("e"), &missing).await;
    assert_eq!(
        (
            status,
            e["error"]["code"].as_str(),
            e["error"]["field"].as_str()
        ),
        (400, Some("missing_field"), Some("kana"))
    );

    let (status, e, _) = s.register(&s.insurer, None, &good).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("missing_idempotency_key"))
    );

    for token in [&s.clinic, &s.patient] {
        let (status, _, _) = s.register(token, Some("f"), &good).await;
        assert_eq!(status, 403);
    }
    assert_eq!(s.qualifications(), before);
}

#[onshi_testkit::both]
async fn idempotency_keys() {
    let s = start().await;
    let body = suzuki_for(&s).await;
    let (s1, first, replayed1) = s.register(&s.insurer, Some("same"), &body).await;
    let (s2, second, replayed2) = s.register(&s.insurer, Some("same"), &body).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second);
    assert!(!replayed1 && replayed2);
    let count = s.qualifications();

    let mut other = body.clone();
    other["insured_number"] = json!("6002");
    let (status, e, _) = s.register(&s.insurer, Some("same"), &other).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(s.qualifications(), count);

    // Keys are per insurer: another insurer's identical key is its own.
    let mut kumiai = body.clone();
    kumiai["insurer_number"] = json!("06130017");
    let (status, rec, replayed) = s.register(&s.other_insurer, Some("same"), &kumiai).await;
    assert_eq!((status, replayed), (201, false), "{rec}");

    // Losses replay too.
    let id = first["id"].as_i64().unwrap();
    let lose = |key: &'static str, date: &'static str| {
        s.http
            .post(format!("{}/api/v1/insurer/qualifications/{id}/loss", s.url))
            .header("Idempotency-Key", key)
            .header("content-type", "application/json")
            .body(json!({"lost_on": date}).to_string())
    };
    let (st1, l1) = send(lose("loss", "2026-11-20"), &s.insurer).await;
    let (st2, l2) = send(lose("loss", "2026-11-20"), &s.insurer).await;
    assert_eq!((st1, st2), (200, 200), "{l1}");
    assert_eq!(l1, l2);
    let (_, detail) = s
        .get(&s.insurer, &format!("/api/v1/insurer/qualifications/{id}"))
        .await;
    assert_eq!(
        detail["revisions"].as_array().unwrap().len(),
        2,
        "a replay wrote a second revision"
    );
}

#[onshi_testkit::both]
async fn loss_makes_the_card_answer_invalid_with_the_lost_numbers() {
    let s = start().await;
    let (_, rec, _) = s
        .register(&s.insurer, Some("r"), &suzuki_for(&s).await)
        .await;
    let id = rec["id"].as_i64().unwrap();
    let lose = |key: &'static str, date: &'static str| {
        s.http
            .post(format!("{}/api/v1/insurer/qualifications/{id}/loss", s.url))
            .header("Idempotency-Key", key)
            .header("content-type", "application/json")
            .body(json!({"lost_on": date}).to_string())
    };
    let (status, e) = send(lose("l0", "2026-10-01"), &s.insurer).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("loss_before_acquisition"))
    );
    let (status, lost) = send(lose("l1", "2026-11-20"), &s.insurer).await;
    assert_eq!(status, 200, "{lost}");
    assert_eq!(lost["lost_on"], "2026-11-20");
    let a = s.card_validity("DEMO-NONE").await;
    assert_eq!(a["validity"], 2);
    assert_eq!(a["qualification"]["insured_number"], "6001");

    // Another insurer cannot see or touch it.
    let (status, _) = s
        .get(
            &s.other_insurer,
            &format!("/api/v1/insurer/qualifications/{id}"),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = send(lose("x", "2026-11-21"), &s.other_insurer).await;
    assert_eq!(status, 404);
    let (status, _) = s
        .get(&s.insurer, "/api/v1/insurer/qualifications/abc")
        .await;
    assert_eq!(status, 404);
}

#[onshi_testkit::both]
async fn notices_json_text_and_in_the_self_view() {
    let s = start().await;
    let (_, rec, _) = s
        .register(&s.insurer, Some("n"), &suzuki_for(&s).await)
        .await;
    let id = rec["id"].as_i64().unwrap();
    let (status, n) = s
        .get(
            &s.insurer,
            &format!("/api/v1/insurer/qualifications/{id}/notice"),
        )
        .await;
    assert_eq!(status, 200, "{n}");
    assert_eq!(n["member_name"], "鈴木 一郎");
    assert_eq!(n["insured_number"], "6001");
    assert!(n["message"].as_str().unwrap().contains("登録されました"));
    let (status, text) = s
        .get(
            &s.insurer,
            &format!("/api/v1/insurer/qualifications/{id}/notice?format=text"),
        )
        .await;
    assert_eq!(status, 200);
    let text = text.as_str().unwrap();
    assert!(
        text.starts_with("オンライン資格確認等システムへの資格情報登録のお知らせ"),
        "{text}"
    );
    assert!(text.contains("鈴木 一郎（スズキ イチロウ）様"));
    assert!(text.contains("令和8年11月1日"), "{text}");

    // The patient sees the notice in the self view.
    let patient = s.token(&onshi_registry::Caller::Patient(
        onshi_core::CertificateSerial::parse("DEMO-NONE").unwrap(),
    ));
    let (status, me) = s.get(&patient, "/api/v1/me?date=2026-11-25").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["notices"][0]["insured_number"], "6001");
    assert_eq!(me["current"]["insured_number"], "6001");
}

#[onshi_testkit::both]
async fn self_view_shows_only_the_patient() {
    let s = start().await;
    let (status, me) = s.get(&s.patient, "/api/v1/me?date=2026-11-25").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["identity_last4"], "ALID");
    assert_eq!(me["name"], "山田 太郎");
    assert_eq!(me["validity"], 1);
    assert_eq!(me["current"]["insurer_number"], "01130012");
    assert_eq!(me["notices"].as_array().unwrap().len(), 1);
    let text = me.to_string();
    for other in ["佐藤", "鈴木", "加藤", "R-VALID"] {
        assert!(!text.contains(other), "{other} leaked into the self view");
    }
    for token in [&s.clinic, &s.insurer] {
        assert_eq!(s.get(token, "/api/v1/me").await.0, 403);
    }
}

fn csv_row(v: &Value) -> String {
    let f = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    [
        "person_ref",
        "name",
        "kana",
        "birth_date",
        "sex",
        "address",
        "insurer_number",
        "insured_symbol",
        "insured_number",
        "insured_branch",
        "relation",
        "acquired_on",
        "lost_on",
        "burden_ratio",
        "employer",
    ]
    .iter()
    .map(|k| f(k))
    .collect::<Vec<_>>()
    .join(",")
}

const HEADER: &str = "person_ref,name,kana,birth_date,sex,address,insurer_number,insured_symbol,insured_number,insured_branch,relation,acquired_on,lost_on,burden_ratio,employer";

async fn import_rows(s: &Server) -> Vec<Value> {
    let suzuki = suzuki_for(s).await;
    let mut a = suzuki.clone();
    a["insured_number"] = json!("7001");
    let mut b = suzuki.clone();
    b["person_ref"] = json!("R-GRACE");
    b["name"] = json!("田中 美咲");
    b["kana"] = json!("タナカ ミサキ");
    b["sex"] = json!("female");
    b["address"] = json!("東京都千代田区霞が関3丁目1番1号");
    b["birth_date"] = json!(s.person_by_ref_for_test("R-GRACE"));
    b["insured_number"] = json!("7002");
    let mut c = b.clone();
    c["person_ref"] = json!("R-LOST");
    c["name"] = json!("佐藤 花子");
    c["kana"] = json!("サトウ ハナコ");
    c["address"] = json!("東京都新宿区西新宿2丁目8番1号");
    c["birth_date"] = json!(s.person_by_ref_for_test("R-LOST"));
    c["insured_number"] = json!("7003");
    vec![a, b, c]
}

#[onshi_testkit::both]
async fn import_with_a_bad_row_in_the_middle_changes_nothing() {
    let s = start().await;
    let rows = import_rows(&s).await;
    let mut bad = rows[1].clone();
    bad["insurer_number"] = json!("01130013");
    let mut impossible = rows[1].clone();
    impossible["acquired_on"] = json!("2026-02-30");
    let csv = format!(
        "{HEADER}\n{}\n{}\n{}\n{}\n{}\n",
        csv_row(&rows[0]),
        csv_row(&bad),
        csv_row(&impossible),
        csv_row(&rows[1]),
        csv_row(&rows[2])
    );
    let before = s.db(|st| st.counts()).unwrap();
    let (status, report) = s
        .import(
            &s.insurer,
            "imp-1",
            "",
            "text/csv",
            csv.clone().into_bytes(),
        )
        .await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["committed"], false);
    assert_eq!(report["rows"], 5);
    assert_eq!(report["registered"], 0);
    let rejected: Vec<(u64, &str)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rejected,
        vec![(3, "insurer_number_check_digit"), (4, "impossible_date")]
    );
    assert_eq!(
        s.db(|st| st.counts()).unwrap(),
        before,
        "a rejected import wrote something"
    );
    assert_eq!(s.card_validity("DEMO-NONE").await["validity"], 4);

    // The same file without the bad rows goes in whole.
    let good = format!(
        "{HEADER}\n{}\n{}\n{}\n",
        csv_row(&rows[0]),
        csv_row(&rows[1]),
        csv_row(&rows[2])
    );
    let (status, report) = s
        .import(&s.insurer, "imp-2", "", "text/csv", good.into_bytes())
        .await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(
        (report["committed"].as_bool(), report["registered"].as_u64()),
        (Some(true), Some(3))
    );
    assert_eq!(
        s.db(|st| st.counts()).unwrap().qualifications,
        before.qualifications + 3
    );
    assert_eq!(s.card_validity("DEMO-NONE").await["validity"], 1);
}

#[onshi_testkit::both]
async fn import_json_lines_shift_jis_mismatches_and_dry_runs() {
    let s = start().await;
    let rows = import_rows(&s).await;
    let mut mism = rows[2].clone();
    mism["address"] = json!("北海道札幌市中央区北一条西1丁目1番1号");
    let jsonl = format!("{}\n\n{}\n", rows[0], mism);
    let before = s.qualifications();

    let (status, dry) = s
        .import(
            &s.insurer,
            "dry",
            "?dry_run=true",
            "application/x-ndjson",
            jsonl.clone().into_bytes(),
        )
        .await;
    assert_eq!(
        (status, dry["committed"].as_bool(), dry["dry_run"].as_bool()),
        (200, Some(false), Some(true)),
        "{dry}"
    );
    assert_eq!(dry["mismatched"][0]["line"], 3);
    assert_eq!(s.qualifications(), before);

    let (status, strict) = s
        .import(
            &s.insurer,
            "strict",
            "?reject_mismatch=true",
            "application/x-ndjson",
            jsonl.clone().into_bytes(),
        )
        .await;
    assert_eq!(status, 422, "{strict}");
    assert_eq!(strict["rejected"][0]["code"], "mismatch");
    assert_eq!(strict["rejected"][0]["line"], 3);
    assert_eq!(s.qualifications(), before);

    let (status, ok) = s
        .import(
            &s.insurer,
            "jl",
            "",
            "application/x-ndjson",
            jsonl.into_bytes(),
        )
        .await;
    assert_eq!(status, 201, "{ok}");
    assert_eq!(ok["registered"], 2);
    assert_eq!(ok["mismatched"][0]["mismatch"], json!(["address"]));
    assert!(ok["mismatched"][0]["id"].is_i64());

    // Shift_JIS CSV (what many insurer systems write).
    let csv = format!("{HEADER}\n{}\n", csv_row(&rows[1]));
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&csv);
    assert!(!unmappable);
    let (status, r) = s
        .import(
            &s.insurer,
            "sjis",
            "",
            "text/csv; charset=shift_jis",
            sjis.into_owned(),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(
        s.card_validity("DEMO-GRACE").await["qualifications"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (status, e) = s
        .import(&s.insurer, "xml", "", "application/xml", b"<x/>".to_vec())
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
}

#[onshi_testkit::both]
async fn report_counts_failed_answers_and_late_registrations() {
    let s = start().await;
    // 鈴木 comes to the clinic before his insurer has registered him.
    assert_eq!(s.card_validity("DEMO-NONE").await["validity"], 4);
    assert_eq!(s.card_validity("DEMO-VALID").await["validity"], 1);
    let (_, rec, _) = s
        .register(&s.insurer, Some("late"), &suzuki_for(&s).await)
        .await;
    let id = rec["id"].as_i64().unwrap();

    let (status, r) = s
        .get(
            &s.insurer,
            "/api/v1/insurer/reports/checks?from=2026-01-01&to=2027-12-31",
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let day = &r["days"][0];
    assert_eq!(day["day"], "2026-11-25");
    assert_eq!(
        (
            day["checks"].as_u64(),
            day["no_information"].as_u64(),
            day["invalid"].as_u64()
        ),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(day["failure_rate"], 0.5);
    let late = r["late_registrations"].as_array().unwrap();
    assert_eq!(late.len(), 1, "{r}");
    assert_eq!(late[0]["id"], id);
    assert_eq!(late[0]["person_ref"], "R-NONE");

    // Another insurer's report does not count these members.
    let (_, other) = s
        .get(
            &s.other_insurer,
            "/api/v1/insurer/reports/checks?from=2026-01-01&to=2027-12-31",
        )
        .await;
    assert_eq!(other["days"], json!([]));
    assert_eq!(other["late_registrations"], json!([]));
    let (status, e) = s
        .get(
            &s.insurer,
            "/api/v1/insurer/reports/checks?from=2026-12-01&to=2026-01-01",
        )
        .await;
    assert_eq!((status, e["error"]["field"].as_str()), (400, Some("to")));
}
