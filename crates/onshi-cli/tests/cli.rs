//! The `onshi` binary as a user runs it: demo, generate, fixture load, token
//! issue, serve.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

mod common;

use common::{db_at, ok, onshi};

struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server command and reads its stdout up to the `ONSHI_URL=` line,
/// returning every `KEY=value` line seen.
fn start(cmd: &mut Command) -> (Running, Vec<(String, String)>) {
    start_until(cmd, "ONSHI_URL")
}

/// As [`start`], up to the line `KEY=…`.
fn start_until(cmd: &mut Command, until: &str) -> (Running, Vec<(String, String)>) {
    spawn_until(cmd, until, Stdio::null())
}

/// As [`start`], with the server's log (stderr) going to `log`.
fn start_logged(cmd: &mut Command, log: std::fs::File) -> (Running, Vec<(String, String)>) {
    spawn_until(cmd, "ONSHI_URL", Stdio::from(log))
}

fn spawn_until(cmd: &mut Command, until: &str, stderr: Stdio) -> (Running, Vec<(String, String)>) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let running = Running(child);
    let mut vars = Vec::new();
    let mut lines = BufReader::new(out).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((k, v)) = line.split_once('=')
            && k.starts_with("ONSHI_")
        {
            let v = v.split_whitespace().next().unwrap_or_default().to_owned();
            vars.push((k.to_owned(), v));
            if k == until {
                break;
            }
        }
    }
    // Keep reading what it prints next, as a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    (running, vars)
}

/// `onshi demo` of `persons` on `db`, dated 2026-11-25, on a free port.
fn demo(db: &std::path::Path, persons: &str) -> Command {
    let mut c = onshi();
    c.args([
        "demo",
        "--persons",
        persons,
        "--today",
        "2026-11-25",
        "--listen",
        "127.0.0.1:0",
        "--db",
    ])
    .arg(db);
    c
}

fn var<'a>(vars: &'a [(String, String)], k: &str) -> &'a str {
    &vars.iter().find(|(key, _)| key == k).unwrap().1
}

#[onshi_testkit::both]
async fn demo_serves_the_three_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "demo.sqlite");
    let (_server, vars) = start(
        onshi()
            .args([
                "demo",
                "--persons",
                "300",
                "--today",
                "2026-11-25",
                "--listen",
                "127.0.0.1:0",
                "--db",
            ])
            .arg(&db),
    );
    let url = var(&vars, "ONSHI_URL");
    let token = var(&vars, "ONSHI_TOKEN_INSTITUTION");
    let http = reqwest::Client::new();
    for (serial, validity) in [("DEMO-VALID", 1), ("DEMO-LOST", 2), ("DEMO-NONE", 4)] {
        let a: Value = http
            .post(format!("{url}/api/v1/checks"))
            .bearer_auth(token)
            .json(&json!({"reference": "card", "certificate_serial": serial, "checked_on": "2026-11-25"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(a["validity"], validity, "{serial}: {a}");
    }
    // A generated person's card also answers.
    let a: Value = http
        .post(format!("{url}/api/v1/checks"))
        .bearer_auth(token)
        .json(&json!({"reference": "card", "certificate_serial": "S1-0000000001", "checked_on": "2026-11-25"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        a["validity"].is_number() || a["error"]["code"] == "certificate_unknown",
        "{a}"
    );
}

#[onshi_testkit::both]
fn generate_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let counts = |name: &str| {
        let db = db_at(dir.path(), name);
        let out = onshi()
            .args([
                "generate",
                "--persons",
                "2000",
                "--seed",
                "5",
                "--as-of",
                "2026-11-25",
                "--chunk",
                "300",
                "--db",
            ])
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let a = counts("a.sqlite");
    assert!(a.contains("generated 2000 persons"), "{a}");
    assert_eq!(a, counts("b.sqlite"));
}

#[onshi_testkit::both]
fn fixture_load_is_all_or_nothing_and_names_the_bad_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "f.sqlite");
    let good = json!({
        "insurers": [{"number": "01130012", "name": "全国健康保険協会東京支部"}],
        "institutions": [{"code": "1311234567", "name": "テスト医院"}],
        "persons": [{
            "name": "山田 太郎", "kana": "ヤマダ タロウ", "birth_date": "1980-04-01", "sex": "male",
            "address": "東京都千代田区霞が関1-2-3",
            "cards": [{"serial": "F-1", "valid_to": "2030-03-31"}],
            "qualifications": [{"insurer_number": "01130012", "symbol": "1", "number": "2", "branch": "00",
                                 "relation": "insured", "acquired_on": "2015-04-01"}]
        }]
    });
    let mut bad = good.clone();
    bad["persons"][0]["cards"][0]["serial"] = json!("F-2");
    bad["persons"][0]["qualifications"][0]["insurer_number"] = json!("01130013");
    let mut unknown_insurer = good.clone();
    unknown_insurer["persons"][0]["cards"][0]["serial"] = json!("F-3");
    unknown_insurer["persons"][0]["qualifications"][0]["insurer_number"] = json!("39280003");
    unknown_insurer["persons"][0]["qualifications"][0]["symbol"] = Value::Null;
    unknown_insurer["persons"][0]["qualifications"][0]["branch"] = Value::Null;
    unknown_insurer["persons"][0]["qualifications"][0]["number"] = json!("12345678");

    let load = |v: &Value, name: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, v.to_string()).unwrap();
        onshi()
            .args(["fixture", "load", "--db"])
            .arg(&db)
            .arg(&f)
            .output()
            .unwrap()
    };
    let ok = load(&good, "good.json");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("1 persons"));

    let e = load(&bad, "bad.json");
    assert_eq!(e.status.code(), Some(2));
    let err = String::from_utf8_lossy(&e.stderr);
    assert!(
        err.contains("persons[0].qualifications[0].insurer_number"),
        "{err}"
    );
    assert!(err.contains("検証番号"), "{err}");

    let e = load(&unknown_insurer, "unknown.json");
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("39280003"));

    // Loading the good file again collides on the card serial: nothing added.
    let again = load(&good, "good.json");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("conflict"));

    // Only the first load landed: a patient token for F-1 works, F-2 and F-3 do not exist.
    let token = |serial: &str| {
        onshi()
            .args([
                "token", "issue", "--role", "patient", "--serial", serial, "--db",
            ])
            .arg(&db)
            .output()
            .unwrap()
    };
    assert!(token("F-1").status.success());
    assert_eq!(token("F-2").status.code(), Some(2));
    assert_eq!(token("F-3").status.code(), Some(2));
}

#[onshi_testkit::both]
async fn token_issue_refuses_unknown_tenants_and_serve_accepts_issued_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "t.sqlite");
    let generated = onshi()
        .args([
            "generate",
            "--persons",
            "50",
            "--as-of",
            "2026-11-25",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(generated.status.success());

    let issue = |args: &[&str]| {
        onshi()
            .args(["token", "issue", "--db"])
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    let unknown = issue(&["--role", "institution", "--institution", "1319999999"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("institution_unknown"));
    let bad = issue(&["--role", "institution", "--institution", "13"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid_institution_code"));
    let missing = issue(&["--role", "insurer"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing_field"));

    // Generated institutions: 1311000000 is the first Tokyo clinic.
    let ok = issue(&["--role", "institution", "--institution", "1311000000"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let token = String::from_utf8(ok.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("onshi_"));

    let (_server, vars) = start(
        onshi()
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(&db),
    );
    let url = var(&vars, "ONSHI_URL");
    let resp = reqwest::Client::new()
        .get(format!("{url}/api/v1/checks?date=2026-11-25"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!([]));
}

#[onshi_testkit::both]
fn registry_import_is_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "i.sqlite");
    let fixture = json!({
        "insurers": [{"number": "01130012", "name": "全国健康保険協会東京支部"}],
        "persons": [
            {"person_ref": "R-1", "name": "山田 太郎", "kana": "ヤマダ タロウ", "birth_date": "1980-04-01",
             "sex": "male", "address": "東京都千代田区霞が関1-2-3", "cards": [{"serial": "C-1", "valid_to": "2030-01-01"}]},
            {"person_ref": "R-2", "name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "1982-06-01",
             "sex": "female", "address": "東京都千代田区霞が関1-2-3"}
        ]
    });
    let f = dir.path().join("f.json");
    std::fs::write(&f, fixture.to_string()).unwrap();
    assert!(
        onshi()
            .args(["fixture", "load", "--db"])
            .arg(&db)
            .arg(&f)
            .status()
            .unwrap()
            .success()
    );

    let header = "person_ref,name,kana,birth_date,sex,address,insurer_number,insured_symbol,insured_number,insured_branch,relation,acquired_on";
    let row1 = "R-1,山田 太郎,ヤマダ タロウ,1980-04-01,male,東京都千代田区霞が関1丁目2番3号,01130012,10,20,00,insured,2020-04-01";
    let bad = "R-2,山田 花子,ヤマダ ハナコ,1982-06-01,female,東京都千代田区霞が関1-2-3,01130012,10,20,01,spouse,2020-04-01";
    let row2 = "R-2,山田 花子,ヤマダ ハナコ,1982-06-01,female,東京都千代田区霞が関1-2-3,01130012,10,20,01,dependent,2020-04-01";
    let import = |name: &str, body: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        onshi()
            .args(["registry", "import", "--insurer", "01130012", "--db"])
            .arg(&db)
            .arg(&p)
            .output()
            .unwrap()
    };
    let out = import("bad.csv", format!("{header}\n{row1}\n{bad}\n{row2}\n"));
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["committed"], false);
    assert_eq!(report["rejected"][0]["line"], 3);
    assert_eq!(report["rejected"][0]["code"], "invalid_relation");

    let token = String::from_utf8(
        onshi()
            .args([
                "token", "issue", "--role", "patient", "--serial", "C-1", "--db",
            ])
            .arg(&db)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(token.trim().starts_with("onshi_"));

    let out = import("good.csv", format!("{header}\n{row1}\n{row2}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["committed"].as_bool(), report["registered"].as_u64()),
        (Some(true), Some(2))
    );

    // Sending the same registration again is refused as a duplicate.
    let again = import("again.csv", format!("{header}\n{row1}\n"));
    assert_eq!(again.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["rejected"][0]["code"], "duplicate");
    let other = onshi()
        .args(["registry", "import", "--insurer", "39280003", "--db"])
        .arg(&db)
        .arg(dir.path().join("good.csv"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&other.stderr).contains("insurer_unknown"));
}

#[test]
fn clinic_decide_and_blank_form() {
    let out = onshi()
        .args([
            "clinic",
            "decide",
            "--visit-date",
            "2026-11-25",
            "--shown",
            "insurance_card:20",
            "--declared",
            "30",
            "--points",
            "125",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            d["basis"].as_str(),
            d["ratio_percent"].as_u64(),
            d["amount_yen"].as_u64()
        ),
        (Some("insurance_card"), Some(20), Some(250))
    );
    let none: Value = serde_json::from_slice(
        &onshi()
            .args(["clinic", "decide", "--visit-date", "2026-11-25"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        (none["basis"].as_str(), none["section"].as_str()),
        (Some("full_cost"), Some("保発0710第1号 2(3)"))
    );
    let bad = onshi()
        .args([
            "clinic",
            "decide",
            "--visit-date",
            "2026-11-25",
            "--shown",
            "passport:30",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("form.pdf");
    let out = onshi()
        .args(["clinic", "form", "--out"])
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("被保険者資格申立書に関する説明書"), "{text}");
}

/// Drops `bytes` into DIR/req the way a receipt computer should (write a
/// .tmp name, then rename) and waits for DIR/res/<res name>.
fn drop_and_wait(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Vec<u8> {
    let req = dir.join("req");
    std::fs::create_dir_all(&req).unwrap();
    let tmp = req.join(format!("{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, req.join(name)).unwrap();
    let res = dir.join("res").join(onshi_oqs::res_name(name).unwrap());
    for _ in 0..200 {
        if let Ok(b) = std::fs::read(&res) {
            assert!(!req.join(name).exists(), "the request file was left behind");
            return b;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no answer for {name} in res");
}

#[onshi_testkit::both]
async fn oqs_folder_watcher_answers_req_and_writes_face() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "oqs.sqlite");
    let terminal = dir.path().join("terminal");
    let (_server, vars) = start(
        onshi()
            .args([
                "demo",
                "--persons",
                "50",
                "--today",
                "2026-11-25",
                "--listen",
                "127.0.0.1:0",
                "--db",
            ])
            .arg(&db),
    );
    let url = var(&vars, "ONSHI_URL").to_owned();
    let token = var(&vars, "ONSHI_TOKEN_INSTITUTION").to_owned();
    let (_watcher, _) = start_until(
        onshi()
            .args([
                "oqs",
                "watch",
                "--institution",
                "1311234567",
                "--interval-ms",
                "50",
                "--db",
            ])
            .arg(&db)
            .arg("--dir")
            .arg(&terminal),
        "ONSHI_OQS_WATCHING",
    );

    // 山田 太郎 of the demo, by his card numbers (Shift_JIS file).
    let http = reqwest::Client::new();
    let a: Value = http
        .post(format!("{url}/api/v1/checks"))
        .bearer_auth(&token)
        .json(&json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": "2026-11-25"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let birth = a["qualification"]["birth_date"]
        .as_str()
        .unwrap()
        .replace('-', "");
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg><MessageHeader><QualificationConfirmationDate>20261125</QualificationConfirmationDate>\
         <MedicalInstitutionCode>1311234567</MedicalInstitutionCode><ArbitraryFileIdentifier>T1</ArbitraryFileIdentifier></MessageHeader>\
         <MessageBody><QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber><InsuredCardSymbol>1001</InsuredCardSymbol>\
         <InsuredIdentificationNumber>2001</InsuredIdentificationNumber><InsuredBranchNumber>00</InsuredBranchNumber>\
         <Birthdate>{birth}</Birthdate></QualificationConfirmSearchInfo></MessageBody></XmlMsg>"
    );
    let (sjis, _, bad) = encoding_rs::SHIFT_JIS.encode(&xml);
    assert!(!bad);
    let res = onshi_oqs::parse_response(&drop_and_wait(&terminal, "OQSsiquc01req_0001.xml", &sjis))
        .unwrap();
    assert_eq!(res.charset, onshi_oqs::Charset::ShiftJis);
    let q = &res.queries[0];
    assert_eq!(q.validity.map(|v| v.code()), Some(1));
    assert_eq!(q.results[0].name, "山田 太郎");
    assert_eq!(q.results[0].name_kana, "ﾔﾏﾀﾞ ﾀﾛｳ");

    // A truncated file gets an error file, never a crash; the watcher keeps going.
    let err = onshi_oqs::parse_response(&drop_and_wait(
        &terminal,
        "OQSsiquc01req_0002.xml",
        &sjis[..sjis.len() / 2],
    ))
    .unwrap();
    assert_eq!(err.header.segment_of_result.code(), "9");
    assert!(err.header.error_code.is_some());

    // Card checks at the clinic appear in face: the one above, and this one.
    http.post(format!("{url}/api/v1/checks"))
        .bearer_auth(&token)
        .json(&json!({"reference": "card", "certificate_serial": "DEMO-LOST", "checked_on": "2026-11-25"}))
        .send()
        .await
        .unwrap();
    let face_dir = terminal.join("face");
    let mut faces = Vec::new();
    for _ in 0..200 {
        faces = std::fs::read_dir(&face_dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        if !faces.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for _ in 0..200 {
        faces = std::fs::read_dir(&face_dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        if faces.len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    faces.sort();
    assert_eq!(faces.len(), 2, "{faces:?}");
    let first = onshi_oqs::parse_response(&std::fs::read(&faces[0]).unwrap()).unwrap();
    assert_eq!(first.queries[0].validity.map(|v| v.code()), Some(1));
    let face = onshi_oqs::parse_response(&std::fs::read(&faces[1]).unwrap()).unwrap();
    assert_eq!(
        face.header
            .reference_classification
            .map(|r| r.code().to_owned()),
        Some("1".to_owned())
    );
    assert_eq!(face.queries[0].validity.map(|v| v.code()), Some(2));
}

#[onshi_testkit::both]
fn payer_run_over_a_generated_month() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "m.sqlite");
    ok(onshi()
        .args([
            "generate",
            "--persons",
            "3000",
            "--as-of",
            "2026-11-25",
            "--db",
        ])
        .arg(&db));
    let claims = dir.path().join("claims.jsonl");
    let wrote = ok(onshi()
        .args([
            "payer", "generate", "--month", "2026-10", "--claims", "1500", "--db",
        ])
        .arg(&db)
        .arg("--out")
        .arg(&claims));
    assert!(wrote.contains("wrote 1500 claims"), "{wrote}");
    let run = |out: &str| {
        let summary = ok(onshi()
            .args(["payer", "run", "--as-of", "2026-11-25", "--db"])
            .arg(&db)
            .arg("--claims")
            .arg(&claims)
            .arg("--out")
            .arg(dir.path().join(out)));
        serde_json::from_str::<Value>(&summary).unwrap()
    };
    let s = run("a");
    assert_eq!(s["claims"], 1500);
    for fate in [
        "billed",
        "transferred",
        "identified",
        "apportioned",
        "ratio_differences",
    ] {
        assert!(s[fate].as_u64().unwrap() > 0, "no {fate}: {s}");
    }
    let settled: u64 = [
        "rejected",
        "billed",
        "transferred",
        "split",
        "returned",
        "identified",
        "pending_inquiry",
        "apportioned",
        "unapportionable",
    ]
    .iter()
    .map(|k| s[*k].as_u64().unwrap())
    .sum();
    assert_eq!(settled, 1500, "every claim has exactly one fate");
    run("b");
    for f in [
        "report.jsonl",
        "bills.json",
        "summary.json",
        "ratio_differences.json",
    ] {
        let a = std::fs::read(dir.path().join("a").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(f)).unwrap();
        assert_eq!(a, b, "{f} differs between two runs of the same input");
    }
}

#[onshi_testkit::both]
fn clinic_claims_writes_the_month() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "c.sqlite");
    let out = onshi()
        .args([
            "generate",
            "--persons",
            "10",
            "--as-of",
            "2026-11-25",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let file = dir.path().join("claims.jsonl");
    let out = onshi()
        .args([
            "clinic",
            "claims",
            "--institution",
            "1311000000",
            "--month",
            "2026-11",
            "--db",
        ])
        .arg(&db)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote 0 claims"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "");
    let bad = onshi()
        .args([
            "clinic",
            "claims",
            "--institution",
            "1311000000",
            "--month",
            "2026-13",
            "--out",
            "x",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A server whose output nobody reads keeps serving: its stdout is closed
/// before it writes a line, and a `println!` there would panic and end it.
#[tokio::test]
async fn serve_survives_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.sqlite");
    let generated = onshi()
        .args(["generate", "--persons", "10", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = onshi()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let _server = Running(child);
    let http = reqwest::Client::new();
    let mut answered = None;
    for _ in 0..200 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            answered = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(answered, Some(200), "the server ended on its closed stdout");
}

/// `onshi audit verify` and `export` (issue 10, item 2) on what a served day
/// leaves: intact, the chains verify and the export ends with their heads;
/// with the database's append-only guards dropped, a cut tail is found only
/// against the heads kept from before, and an edited check row always.
#[tokio::test]
async fn audit_verify_finds_what_was_cut_or_edited() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite");
    {
        let (_server, vars) = start(&mut demo(&db, "200"));
        let url = var(&vars, "ONSHI_URL");
        let token = var(&vars, "ONSHI_TOKEN_INSTITUTION");
        let http = reqwest::Client::new();
        for serial in ["DEMO-VALID", "DEMO-LOST", "DEMO-NONE"] {
            let status = http
                .post(format!("{url}/api/v1/checks"))
                .bearer_auth(token)
                .json(&json!({"reference": "card", "certificate_serial": serial, "checked_on": "2026-11-25"}))
                .send()
                .await
                .unwrap()
                .status();
            assert!(
                status.is_success() || status.is_client_error(),
                "{serial}: {status}"
            );
        }
        for t in [Some(token), None] {
            let mut r = http.get(format!("{url}/api/v1/visits?date=2026-11-25"));
            if let Some(t) = t {
                r = r.bearer_auth(t);
            }
            r.send().await.unwrap();
        }
    }
    let verify = |extra: &[&str]| {
        let out = onshi()
            .args(["audit", "verify", "--db"])
            .arg(&db)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, report, err) = verify(&[]);
    assert_eq!(code, Some(0), "{report}{err}");
    let report_json: Value = serde_json::from_str(&report).unwrap();
    assert!(report_json["verified"].as_u64().unwrap() >= 4, "{report}");
    let chains: Vec<&str> = report_json["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["chain"].as_str().unwrap())
        .collect();
    assert!(chains.contains(&"audit_log"), "{chains:?}");
    assert!(
        chains.iter().any(|c| c.starts_with("check_history:")),
        "{chains:?}"
    );
    let kept = dir.path().join("report.json");
    std::fs::write(&kept, &report).unwrap();

    let export = dir.path().join("export.jsonl");
    let out = onshi()
        .args(["audit", "export", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds = |k: &str| lines.iter().filter(|l| l["kind"] == k).count();
    assert!(kinds("audit") >= 1 && kinds("check") >= 3, "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), &last["heads"]),
        (Some("heads"), &report_json["heads"])
    );
    // Both the report and the export serve as the kept heads.
    assert_eq!(verify(&["--expect", export.to_str().unwrap()]).0, Some(0));

    // The guards refuse; then someone drops them and cuts the last entry.
    let raw = rusqlite::Connection::open(&db).unwrap();
    let refused = raw.execute_batch("DELETE FROM audit_log").unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    raw.execute_batch(
        "DROP TRIGGER audit_log_no_delete; DROP TRIGGER check_history_no_update; \
         DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log);",
    )
    .unwrap();
    assert_eq!(verify(&[]).0, Some(0), "a cut tail breaks no link");
    let (code, out, err) = verify(&["--expect", kept.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        err.contains("error[audit_chain_broken]") && out.contains("head_missing"),
        "{err}{out}"
    );

    raw.execute_batch(
        "UPDATE check_history SET answer = '{}' WHERE id = (SELECT min(id) FROM check_history)",
    )
    .unwrap();
    let (code, out, err) = verify(&[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("hash_mismatch") && err.contains("check_history:"),
        "{err}{out}"
    );
}

/// `serve --tls-cert` with files that are not a certificate and key fails
/// before it listens, naming the file (the handshake itself: onshi-web's
/// tests/tls.rs).
#[test]
fn serve_refuses_unreadable_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("server.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let out = onshi()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("s.sqlite"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(dir.path().join("missing.key"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[tls]") && err.contains("server.pem"),
        "{err}"
    );
}

/// Whether 12 digits are a valid 個人番号 (My Number): the check digit of
/// 行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 §8.
fn my_number_valid(d: &[u8; 12]) -> bool {
    let sum: u32 = (1..=11)
        .map(|n| {
            let p = u32::from(d[11 - n] - b'0');
            let q = if n <= 6 { n as u32 + 1 } else { n as u32 - 5 };
            p * q
        })
        .sum();
    let r = sum % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    u32::from(d[11] - b'0') == check
}

/// Every run of exactly 12 digits in `text` that is a valid My Number.
fn my_numbers_in(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 12 {
            let run: [u8; 12] = b[start..i].try_into().unwrap();
            if my_number_valid(&run) {
                found.push(text[start..i].to_owned());
            }
        }
    }
    found
}

#[test]
fn the_my_number_scanner_finds_valid_numbers_only() {
    // 12345678901 + its check digit 8; a wrong check digit, 11 and 13 digits.
    assert!(my_number_valid(b"123456789018"));
    assert_eq!(my_numbers_in("x 123456789018 y"), vec!["123456789018"]);
    assert!(my_numbers_in("123456789019 12345678901 1234567890180").is_empty());
}

/// Privacy (issue 10, item 7): a served day that carries names, kana,
/// addresses and dates of birth in requests and answers, logged at debug
/// level, leaves none of them in the log, and no My Number anywhere (the log,
/// the answers, the schema). The audit log holds ids, routes and codes only.
#[tokio::test]
async fn logs_hold_no_names_addresses_or_my_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("privacy.sqlite");
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (server, vars) = start_logged(demo(&db, "200").env("RUST_LOG", "debug"), log);
    let url = var(&vars, "ONSHI_URL").to_owned();
    let http = reqwest::Client::new();
    let mut answers = String::new();
    let mut call = async |method: reqwest::Method,
                          path: &str,
                          token: &str,
                          body: Option<Value>,
                          key: Option<&str>| {
        let mut r = http
            .request(method, format!("{url}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        if let Some(k) = key {
            r = r.header("idempotency-key", k);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        answers.push_str(&text);
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };
    let clinic = var(&vars, "ONSHI_TOKEN_INSTITUTION").to_owned();
    let insurer = var(&vars, "ONSHI_TOKEN_INSURER").to_owned();
    let patient = var(&vars, "ONSHI_TOKEN_PATIENT").to_owned();
    use reqwest::Method;

    let (status, check) = call(Method::POST, "/api/v1/checks", &clinic,
        Some(json!({"reference": "card", "certificate_serial": "DEMO-VALID", "checked_on": "2026-11-25"})), None).await;
    assert_eq!(status, 200, "{check}");
    let (status, me) = call(
        Method::GET,
        "/api/v1/me?date=2026-11-25",
        &patient,
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    let (status, visit) = call(Method::POST, "/api/v1/visits", &clinic,
        Some(json!({"visited_on": "2026-11-25", "patient_key": "P-PRIV", "failure": {"kind": "power_outage"}})), None).await;
    assert_eq!(status, 201, "{visit}");
    let declaration = json!({
        "has_valid_card": true, "insurance_type": "shaho", "insurer_name": "全国健康保険協会東京支部",
        "employer": "株式会社みどり商事", "card_issued": "within_month", "ratio": "3割",
        "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": "平成16年5月9日", "sex": "male",
        "address": "東京都世田谷区三軒茶屋1丁目1番1号", "declared_on": "2026-11-25",
        "signature": "鈴木 一郎", "phone": "090-0000-1234",
    });
    let path = format!("/api/v1/visits/{}/declaration", visit["id"]);
    let (status, d) = call(Method::PUT, &path, &clinic, Some(declaration.clone()), None).await;
    assert_eq!(status, 200, "{d}");
    // Refusals that carry the same data: a bad date of birth, a bad kana.
    let mut bad = declaration.clone();
    bad["birth_date"] = json!("平成99年13月1日");
    call(Method::PUT, &path, &clinic, Some(bad), None).await;
    let registration = json!({
        "person_ref": "R-NONE", "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": "1990-01-01",
        "sex": "male", "address": "東京都世田谷区三軒茶屋1丁目1番1号", "insurer_number": "01130012",
        "insured_symbol": "5001", "insured_number": "77001", "insured_branch": "00", "relation": "insured",
        "acquired_on": "2026-11-01",
    });
    call(
        Method::POST,
        "/api/v1/insurer/qualifications",
        &insurer,
        Some(registration.clone()),
        Some("priv-1"),
    )
    .await;
    let mut bad = registration;
    bad["kana"] = json!("suzuki 一郎");
    let (status, e) = call(
        Method::POST,
        "/api/v1/insurer/qualifications",
        &insurer,
        Some(bad),
        Some("priv-2"),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    drop(server);

    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("request refused"),
        "the refusals are logged: {text}"
    );
    let mut personal: Vec<String> = vec![
        "鈴木".into(),
        "一郎".into(),
        "スズキ".into(),
        "イチロウ".into(),
        "三軒茶屋".into(),
        "世田谷".into(),
        "みどり商事".into(),
        "090-0000-1234".into(),
        "平成16年5月9日".into(),
        "suzuki".into(),
    ];
    for field in ["name", "kana", "address"] {
        if let Some(v) = me[field].as_str() {
            personal.push(v.to_owned());
            personal.extend(v.split_whitespace().map(str::to_owned));
        }
    }
    assert!(personal.len() > 10, "{me}");
    for p in &personal {
        assert!(!text.contains(p.as_str()), "the log holds {p:?}");
    }
    assert_eq!(my_numbers_in(&text), Vec::<String>::new(), "the log");
    assert_eq!(my_numbers_in(&answers), Vec::<String>::new(), "the answers");

    // The audit log: who, what, which record; no names or addresses.
    let c = rusqlite::Connection::open(&db).unwrap();
    let audit: Vec<String> = c
        .prepare("SELECT actor || ' ' || action || ' ' || coalesce(detail, '') FROM audit_log")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(audit.len() >= 5, "{audit:?}");
    for p in &personal {
        assert!(
            !audit.iter().any(|a| a.contains(p.as_str())),
            "the audit log holds {p:?}"
        );
    }
    // No column anywhere is named for a My Number.
    let columns: Vec<String> = c
        .prepare("SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(columns.len() > 50, "{columns:?}");
    for col in &columns {
        let l = col.to_lowercase();
        assert!(
            !["my_number", "mynumber", "individual_number", "kojin"]
                .iter()
                .any(|k| l.contains(k)),
            "{col}"
        );
    }
}

/// tokio-postgres logs each statement's parameters at debug level; no
/// RUST_LOG, however specific, gets a person's name into onshi's log (on
/// SQLite there is nothing to clamp, and the same holds).
#[onshi_testkit::both]
fn database_parameters_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "log.sqlite");
    let fixture = dir.path().join("f.json");
    std::fs::write(
        &fixture,
        json!({"persons": [{"person_ref": "R-LOG", "name": "記録 花子", "kana": "キロク ハナコ",
               "birth_date": "1980-04-01", "sex": "female", "address": "東京都港区芝公園4-2-8"}]})
        .to_string(),
    )
    .unwrap();
    let out = onshi()
        .args(["fixture", "load", "--db"])
        .arg(&db)
        .arg(&fixture)
        .env(
            "RUST_LOG",
            "trace,tokio_postgres::query=trace,postgres=trace",
        )
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("with parameters"), "{log}");
    for p in ["記録", "花子", "キロク", "芝公園"] {
        assert!(!log.contains(p), "the log holds {p}: {log}");
    }
}
