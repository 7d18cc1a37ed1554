//! The payer run through HTTP: one scenario per case of notice §3(1)–(4) and
//! §4, the 70+ ratio difference, determinism.

mod common;

use common::{NOW, Server, send, start};
use serde_json::{Value, json};

impl Server {
    fn birth(&self, person_ref: &str) -> String {
        self.db(|st| st.person_by_ref(&onshi_core::PersonRef::parse(person_ref).unwrap()))
            .unwrap()
            .unwrap()
            .person
            .birth_date
            .to_string()
    }

    async fn payer_run(&self, token: &str, query: &str, claims: &[Value]) -> (u16, Value) {
        let body: String = claims.iter().map(|c| c.to_string() + "\n").collect();
        let r = self
            .http
            .post(format!("{}/api/v1/payer/runs?{query}", self.url))
            .header("content-type", "application/x-ndjson")
            .body(body);
        send(r, token).await
    }
}

#[allow(clippy::too_many_arguments)]
fn claim(
    id: &str,
    month: &str,
    payer: &str,
    name: &str,
    sex: &str,
    birth: &str,
    insurer: Value,
    ratio: u16,
    dates: &[&str],
    points: u64,
    tekiyo: &[&str],
) -> Value {
    let paid = onshi_core::burden::window_amount(
        points,
        onshi_core::BurdenRatio::from_percent(ratio).unwrap(),
    );
    json!({
        "claim_id": id, "institution_code": "1311234567", "claim_month": month, "payer": payer,
        "patient": {"name": name, "sex": sex, "birth_date": birth},
        "insurer": insurer, "burden_ratio_percent": ratio, "visit_dates": dates, "points": points,
        "patient_paid_yen": paid, "tekiyo": tekiyo,
    })
}

fn numbers(
    insurer: &str,
    symbol: Option<&str>,
    number: &str,
    branch: Option<&str>,
    basis: &str,
) -> Value {
    json!({"insurer_number": insurer, "symbol": symbol, "number": number, "branch": branch, "basis": basis})
}

fn unknown() -> Value {
    json!({"insurer_number": "77777777", "symbol": null, "number": "777777777", "branch": null, "basis": "unknown"})
}

fn fate<'a>(out: &'a Value, id: &str) -> &'a Value {
    out["report"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["claim_id"] == id)
        .unwrap_or_else(|| panic!("no {id}: {out}"))
}

#[onshi_testkit::both]
async fn every_case_of_notice_3_and_4() {
    let s = start().await;
    let payer = s.token(&onshi_registry::Caller::Payer);
    // Two residents the 摘要 cannot tell apart, under different insurers.
    let twins = json!({"persons": [
        {"person_ref": "R-T1", "name": "田中 一郎", "kana": "タナカ イチロウ", "birth_date": "1970-01-01", "sex": "male", "address": "東京都新宿区1-1",
         "qualifications": [{"insurer_number": "01130012", "symbol": "71", "number": "1", "branch": "00", "relation": "insured", "acquired_on": "2000-04-01"}]},
        {"person_ref": "R-T2", "name": "田中 一郎", "kana": "タナカ イチロウ", "birth_date": "1970-01-01", "sex": "male", "address": "東京都八王子市2-2",
         "qualifications": [{"insurer_number": "131011", "symbol": "72", "number": "2", "branch": "00", "relation": "insured", "acquired_on": "2000-04-01"}]}
    ]});
    s.db(|st| {
        onshi_registry::fixture::load(
            st,
            &onshi_registry::fixture::parse_fixture(&twins.to_string()).unwrap(),
            NOW,
        )
    })
    .unwrap();

    let (yamada, takahashi, sato, nakamura) = (
        s.birth("R-VALID"),
        s.birth("R-CHANGED"),
        s.birth("R-LOST"),
        s.birth("R-ELDERLY"),
    );
    let old = numbers(
        "01130012",
        Some("1002"),
        "2002",
        Some("00"),
        "lost_qualification",
    );
    let claims = vec![
        // 3(1): the confirmed qualification.
        claim(
            "c1",
            "2026-11",
            "shiharai_kikin",
            "山田 太郎",
            "male",
            &yamada,
            numbers("01130012", Some("1001"), "2001", Some("00"), "confirmed"),
            30,
            &["2026-11-10"],
            1000,
            &[],
        ),
        // 3(3): the lost qualification; the new one is registered → 振替.
        claim(
            "c2",
            "2026-11",
            "shiharai_kikin",
            "高橋 健",
            "male",
            &takahashi,
            old.clone(),
            30,
            &["2026-11-05"],
            2000,
            &[],
        ),
        // 3(3) across the change: 分割 by days.
        claim(
            "c3",
            "2026-10",
            "shiharai_kikin",
            "高橋 健",
            "male",
            &takahashi,
            old,
            30,
            &["2026-10-10", "2026-10-20"],
            1000,
            &[],
        ),
        // 3(3) with nothing newer registered → 返戻 (policy).
        claim(
            "c4",
            "2026-11",
            "shiharai_kikin",
            "佐藤 花子",
            "female",
            &sato,
            numbers(
                "06130017",
                Some("77"),
                "3002",
                Some("00"),
                "lost_qualification",
            ),
            30,
            &["2026-11-10"],
            500,
            &[],
        ),
        // 3(4) 不詳, identifiable from the 摘要.
        claim(
            "c5",
            "2026-11",
            "shiharai_kikin",
            "山田 太郎",
            "male",
            &yamada,
            unknown(),
            30,
            &["2026-11-12"],
            700,
            &[
                "不詳",
                "カナ氏名：ヤマダ タロウ",
                "保険種別：社保",
                "保険者等名称：不明",
                "事業所名：霞が関商事株式会社",
                "住所：東京都千代田区霞が関1-2-3",
                "連絡先：不明",
                "患者への連絡を行った日：令和8年11月20日",
            ],
        ),
        // 3(4) 不詳 with two candidates under two insurers → inquiry.
        claim(
            "c6",
            "2026-11",
            "shiharai_kikin",
            "田中 一郎",
            "male",
            "1970-01-01",
            unknown(),
            30,
            &["2026-11-12"],
            300,
            &["不詳", "カナ氏名：タナカ イチロウ", "住所：不明"],
        ),
        // §4: nobody found → 按分 by this month's payments to the clinic.
        claim(
            "c7",
            "2026-11",
            "shiharai_kikin",
            "誰か",
            "female",
            "1999-09-09",
            unknown(),
            30,
            &["2026-11-13"],
            1234,
            &["不詳", "カナ氏名：ダレカ"],
        ),
        // notice 2(2) ※: 70+ charged 3割, registered 2割: billed, difference listed.
        claim(
            "c8",
            "2026-11",
            "kokuhoren",
            "中村 修",
            "male",
            &nakamura,
            numbers("131011", Some("千代田"), "4007", Some("00"), "confirmed"),
            30,
            &["2026-11-14"],
            1000,
            &[],
        ),
    ];
    let mut lines = claims.clone();
    lines.push(json!({"claim_id": "bad", "institution_code": "1311234567", "claim_month": "2026-11", "payer": "kokuhoren",
        "patient": {"name": "x", "sex": "male", "birth_date": "1980-01-01"}, "insurer": numbers("01130013", None, "1", None, "confirmed"),
        "burden_ratio_percent": 30, "visit_dates": ["2026-11-01"], "points": 1, "patient_paid_yen": 0}));

    let (status, out) = s.payer_run(&payer, "as_of=2026-11-25", &lines).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        (
            fate(&out, "c1")["fate"].as_str(),
            fate(&out, "c1")["confirmation"].as_str()
        ),
        (Some("billed"), Some("02"))
    );
    let c2 = fate(&out, "c2");
    assert_eq!(
        (c2["fate"].as_str(), c2["from"].as_str(), c2["to"].as_str()),
        (Some("transferred"), Some("01130012"), Some("06130017"))
    );
    let c3 = fate(&out, "c3");
    assert_eq!(c3["fate"], "split", "{c3}");
    let shares: Vec<(&str, u64)> = c3["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["insurer"].as_str().unwrap(), x["yen"].as_u64().unwrap()))
        .collect();
    assert_eq!(shares, vec![("01130012", 3500), ("06130017", 3500)]);
    assert_eq!(fate(&out, "c4")["fate"], "returned");
    let c5 = fate(&out, "c5");
    assert_eq!(
        (
            c5["fate"].as_str(),
            c5["insurer"].as_str(),
            c5["person_ref"].as_str()
        ),
        (Some("identified"), Some("01130012"), Some("R-VALID"))
    );
    let c6 = fate(&out, "c6");
    assert_eq!(
        (c6["fate"].as_str(), c6["candidates"].clone()),
        (Some("pending_inquiry"), json!(["01130012", "131011"]))
    );
    let c7 = fate(&out, "c7");
    assert_eq!(c7["fate"], "apportioned", "{c7}");
    let total: u64 = c7["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["yen"].as_u64().unwrap())
        .sum();
    assert_eq!(total, c7["claimed_yen"].as_u64().unwrap());
    // Weighted by c1 (7000) + c5 (4900) to 01130012 and c2 (14000) to 06130017 in 2026-11 via 支払基金.
    let shares: Vec<(&str, u64)> = c7["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["insurer"].as_str().unwrap(), x["yen"].as_u64().unwrap()))
        .collect();
    let claimed = c7["claimed_yen"].as_u64().unwrap();
    let exact = |w: u64| claimed as f64 * w as f64 / 25900.0;
    assert_eq!(shares.len(), 2);
    assert!(
        (shares[0].1 as f64 - exact(11900)).abs() < 1.0
            && (shares[1].1 as f64 - exact(14000)).abs() < 1.0,
        "{shares:?}"
    );
    let c8 = fate(&out, "c8");
    assert_eq!(c8["fate"], "billed");
    let diff = &out["ratio_differences"][0];
    assert_eq!(
        (
            diff["claim_id"].as_str(),
            diff["charged_percent"].as_u64(),
            diff["registered_percent"].as_u64()
        ),
        (Some("c8"), Some(30), Some(20))
    );
    assert_eq!(
        (
            diff["paid_yen"].as_u64(),
            diff["due_yen"].as_u64(),
            diff["difference_yen"].as_i64()
        ),
        (Some(3000), Some(2000), Some(-1000))
    );
    let bad = out["report"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["fate"] == "rejected")
        .unwrap();
    assert_eq!(bad["problem"]["code"], "insurer_number_check_digit");
    assert_eq!(out["summary"]["claims"], 9);

    // Bills: per payer and insurer, apportioned shares apart.
    let bill = out["bills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["payer"] == "shiharai_kikin" && b["insurer"] == "01130012")
        .unwrap();
    assert_eq!(bill["claims"], 2);
    assert_eq!(
        bill["total_yen"].as_u64().unwrap(),
        bill["claimed_yen"].as_u64().unwrap() + bill["apportioned_yen"].as_u64().unwrap()
    );

    // Policy: bill the written insurer when nothing newer is registered (確認区分 06).
    let (_, billed) = s
        .payer_run(
            &payer,
            "as_of=2026-11-25&bill_written_when_unregistered=true",
            &claims,
        )
        .await;
    assert_eq!(
        (
            fate(&billed, "c4")["fate"].as_str(),
            fate(&billed, "c4")["confirmation"].as_str()
        ),
        (Some("billed"), Some("06"))
    );

    // Deterministic: the same input in another order gives the same output.
    let mut shuffled = lines.clone();
    shuffled.reverse();
    let (_, again) = s.payer_run(&payer, "as_of=2026-11-25", &shuffled).await;
    let strip = |v: &Value| {
        let mut v = v.clone();
        for r in v["report"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("source");
        }
        v.as_object_mut().unwrap().remove("run_id");
        v
    };
    assert_eq!(strip(&out), strip(&again));
    // Each run is stored and read back as it was answered; the same input
    // again gives the stored outcome byte for byte (issue 15 item 6).
    let (_, same) = s.payer_run(&payer, "as_of=2026-11-25", &lines).await;
    let stored = |id: &Value| {
        let id = id.as_i64().unwrap();
        let payer = payer.clone();
        let s = &s;
        async move {
            s.http
                .get(format!("{}/api/v1/payer/runs/{id}", s.url))
                .bearer_auth(&payer)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let (first, third) = (stored(&out["run_id"]).await, stored(&same["run_id"]).await);
    assert_ne!(out["run_id"], same["run_id"]);
    assert_eq!(
        first, third,
        "the same input on the same registry, byte for byte"
    );
    let back: Value = serde_json::from_str(&first).unwrap();
    let mut answered = out.clone();
    answered.as_object_mut().unwrap().remove("run_id");
    assert_eq!(back, answered, "the stored outcome is the answered one");

    // Only the payer runs it.
    assert_eq!(
        s.payer_run(&s.clinic, "as_of=2026-11-25", &claims).await.0,
        403
    );
    let (status, e) = s.payer_run(&payer, "", &claims).await;
    assert_eq!((status, e["error"]["field"].as_str()), (400, Some("as_of")));
}

#[onshi_testkit::both]
async fn claims_built_at_the_window_then_run_by_the_payer() {
    use reqwest::Method as M;
    let s = start().await;
    let call = |m: M, path: String, body: Option<Value>| {
        let mut r = s.http.request(m, format!("{}{path}", s.url));
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        send(r, &s.clinic)
    };
    let visit = |body: Value| call(M::POST, "/api/v1/visits".into(), Some(body));
    // 3(1): confirmed by the card.
    let (_, v1) = visit(json!({"visited_on": "2026-11-10", "patient_key": "A", "attempt": {"reference": "card", "certificate_serial": "DEMO-VALID"}})).await;
    call(
        M::POST,
        format!("/api/v1/visits/{}/decision", v1["id"]),
        Some(json!({"points": 1000})),
    )
    .await;
    // 3(3): 資格(無効) shows the lost numbers.
    let (_, v2) = visit(json!({"visited_on": "2026-11-11", "patient_key": "B", "attempt": {"reference": "card", "certificate_serial": "DEMO-LOST"}})).await;
    call(
        M::POST,
        format!("/api/v1/visits/{}/decision", v2["id"]),
        Some(json!({"shown": {"kind": "myna_portal", "ratio_percent": 30}, "points": 500})),
    )
    .await;
    // 3(4): 資格情報なし, a declaration, a contact → 不詳.
    let (_, v3) = visit(json!({"visited_on": "2026-11-12", "patient_key": "C", "attempt": {"reference": "card", "certificate_serial": "DEMO-NONE"}})).await;
    call(M::PUT, format!("/api/v1/visits/{}/declaration", v3["id"]), Some(json!({
        "insurance_type": "kokuho", "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": "2004-05-09", "sex": "male",
        "address": "東京都世田谷区三軒茶屋1丁目1番1号", "ratio": "3割", "phone": "090-0000-1234",
        "declared_on": "2026-11-12", "signature": "鈴木 一郎"}))).await;
    call(
        M::POST,
        format!("/api/v1/visits/{}/decision", v3["id"]),
        Some(json!({"use_declaration": true, "points": 800})),
    )
    .await;

    // Before the contact, the 不詳 claim is not ready.
    let (_, early) = call(M::GET, "/api/v1/claims?month=2026-11".into(), None).await;
    assert_eq!(early["claims"].as_array().unwrap().len(), 2, "{early}");
    assert_eq!(early["not_ready"][0]["code"], "unknown_claim_needs_contact");
    call(
        M::POST,
        format!("/api/v1/visits/{}/contact", v3["id"]),
        Some(json!({"contacted_on": "2026-11-20"})),
    )
    .await;
    let (status, month) = call(
        M::GET,
        "/api/v1/claims?month=2026-11&check_digit=true".into(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{month}");
    let claims = month["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 3, "{month}");
    let by_key = |k: &str| {
        claims
            .iter()
            .find(|c| c["claim_id"].as_str().unwrap().ends_with(k))
            .unwrap()
    };
    let a = by_key("key-A");
    assert_eq!(
        (
            a["insurer"]["insurer_number"].as_str(),
            a["insurer"]["basis"].as_str(),
            a["payer"].as_str()
        ),
        (Some("01130012"), Some("confirmed"), Some("shiharai_kikin"))
    );
    assert_eq!(
        (a["points"].as_u64(), a["patient_paid_yen"].as_u64()),
        (Some(1000), Some(3000))
    );
    let b = by_key("key-B");
    assert_eq!(
        (
            b["insurer"]["insurer_number"].as_str(),
            b["insurer"]["number"].as_str(),
            b["insurer"]["basis"].as_str()
        ),
        (Some("06130017"), Some("3002"), Some("lost_qualification"))
    );
    let c = by_key("key-C");
    assert_eq!(
        c["insurer"],
        json!({"insurer_number": "77777779", "symbol": null, "number": "777777777", "branch": null, "basis": "unknown"})
    );
    assert_eq!(c["payer"], "kokuhoren", "declared 国保 goes to the 国保連");
    let tekiyo: Vec<&str> = c["tekiyo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tekiyo[0], "不詳");
    assert_eq!(tekiyo[1], "カナ氏名：スズキ イチロウ");
    assert_eq!(tekiyo[7], "患者への連絡を行った日：令和8年11月20日");

    // The payer side takes them as they are.
    let payer = s.token(&onshi_registry::Caller::Payer);
    let (status, out) = s.payer_run(&payer, "as_of=2026-11-25", claims).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["summary"]["rejected"], 0, "{out}");
    assert_eq!(
        fate(&out, claims[0]["claim_id"].as_str().unwrap())["fate"],
        "billed"
    );
    assert_eq!(
        fate(&out, c["claim_id"].as_str().unwrap())["fate"],
        "unapportionable",
        "no 国保連 payment record with the clinic this month"
    );
}
