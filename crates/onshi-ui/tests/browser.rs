//! The desk walked through in headless Chromium over WebDriver (Debian's
//! chromium + chromium-driver). Without /usr/bin/chromedriver at build time
//! these tests are reported as ignored, by name (build.rs sets
//! `cfg(onshi_browser)`).
//!
//! With `ONSHI_SCREENSHOTS=1` they save the main screens to
//! `docs/screenshots/*.png`.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Server, start, today, yamada_birth};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

struct Browser {
    c: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn browser() -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1366,1100", "--lang=ja",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    Browser {
        c,
        driver,
        _profile: profile,
    }
}

impl Browser {
    async fn go(&self, s: &Server, path: &str) {
        self.c.goto(&format!("{}{path}", s.url)).await.unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.c.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn select(&self, css: &str, value: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Waits (up to 10 s) until the page shows `text`; returns the page source.
    async fn until(&self, text: &str) -> String {
        for _ in 0..100 {
            let src = self.c.source().await.unwrap_or_default();
            if src.contains(text) {
                return src;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{text:?} never appeared on {}:\n{}",
            self.c.current_url().await.unwrap(),
            self.c.source().await.unwrap_or_default()
        );
    }

    async fn shot(&self, name: &str) {
        if std::env::var("ONSHI_SCREENSHOTS").as_deref() != Ok("1") {
            return;
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn login(&self, s: &Server, token: &str) {
        self.go(s, "/ui/login").await;
        self.fill("#token", token).await;
        self.click("form button[type=submit]").await;
        self.until("ログアウト").await;
    }

    async fn card(&self, serial: &str, patient_key: &str) {
        self.fill("#form-card input[name=patient_key]", patient_key)
            .await;
        self.fill("#form-card input[name=certificate_serial]", serial)
            .await;
        self.click("#form-card button[type=submit]").await;
        self.until("受付 No.").await;
    }

    async fn close(self) {
        let c = self.c.clone();
        let _ = c.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(onshi_browser),
    ignore = "Chromium: apt-get install chromium chromium-driver (README)"
)]
async fn desk_valid_and_lost() {
    let s = start().await;
    let b = browser().await;
    b.go(&s, "/").await;
    b.until("トークン").await;
    b.shot("login").await;
    b.login(&s, &s.clinic).await;
    b.until("マイナ保険証（カード）で確認").await;
    // 有効
    b.card("DEMO-VALID", "P-0001").await;
    let page = b.until("負担割合").await;
    assert!(page.contains("山田 太郎") && page.contains("3割") && page.contains("01130012"));
    b.shot("desk-valid").await;
    // 資格(無効) → the old numbers → the claim fields.
    b.go(&s, "/ui/desk").await;
    b.card("DEMO-LOST", "P-0002").await;
    let page = b.until("資格(無効)").await;
    assert!(
        page.contains("06130017") && page.contains("3002"),
        "the lost numbers"
    );
    let claim =
        b.c.find(Locator::Css("#claim"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(
        claim.contains("旧資格") && claim.contains("06130017") && claim.contains("3002"),
        "{claim}"
    );
    b.shot("desk-lost").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(onshi_browser),
    ignore = "Chromium: apt-get install chromium chromium-driver (README)"
)]
async fn desk_none_declaration_and_pdf() {
    let s = start().await;
    let b = browser().await;
    b.login(&s, &s.clinic).await;
    b.card("DEMO-NONE", "P-0003").await;
    b.until("資格情報なし").await;
    b.until("1. 資格情報の提示").await;
    b.click("#step-declaration a.button").await;
    b.until("被保険者資格申立書（受付").await;
    b.click("input[name=insurance_type][value=kokuho]").await;
    b.fill("#insurer_name", "東京都千代田区国民健康保険").await;
    b.click("input[name=card_issued][value=within_month]").await;
    b.click("input[name=ratio][value='30']").await;
    b.fill("#name", "鈴木 一郎").await;
    b.fill("#kana", "スズキ イチロウ").await;
    b.fill("#birth_date", "平成16年5月9日").await;
    b.click("input[name=sex][value=male]").await;
    b.fill("#address", "東京都世田谷区三軒茶屋1丁目1番1号")
        .await;
    b.fill("#phone", "090-1234-5678").await;
    b.shot("declaration").await;
    b.click("form.declaration button[type=submit]").await;
    b.until("保存しました").await;
    // The PDF, fetched by the browser with its own session cookie.
    let href =
        b.c.find(Locator::Css("#pdf-link"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
    let head = b
        .c
        .execute_async(
            "const [url, done] = arguments; fetch(url).then(r => r.text()).then(t => done(t.slice(0, 4))).catch(e => done(String(e)));",
            vec![json!(href)],
        )
        .await
        .unwrap();
    assert_eq!(head, json!("%PDF"));
    // Back to the visit: decide by the declaration, with the points.
    b.click("#saved a[href*='#step-declaration']").await;
    b.until("申立書の負担割合で決定").await;
    b.fill("#step-declaration input[name=points]", "850").await;
    b.click("#step-declaration button[type=submit]").await;
    let page = b.until("窓口負担の決定").await;
    assert!(
        page.contains("2,550円") && page.contains("被保険者資格申立書"),
        "{page}"
    );
    b.shot("decision").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(onshi_browser),
    ignore = "Chromium: apt-get install chromium chromium-driver (README)"
)]
async fn outage_then_failure_mode_search() {
    let s = start().await;
    s.reader_outage().await;
    s.activate_failure_mode().await;
    let b = browser().await;
    b.login(&s, &s.clinic).await;
    b.until("障害の模擬が有効です").await;
    b.card("DEMO-VALID", "P-0004").await;
    let page = b.until("資格確認ができませんでした").await;
    assert!(
        page.contains("顔認証付きカードリーダーが使用できません"),
        "{page}"
    );
    b.click("a[href*='failure-mode?visit_id=']").await;
    b.until("障害時モードは利用できます").await;
    let wareki = onshi_core::WarekiDate::from_gregorian(yamada_birth())
        .unwrap()
        .to_string();
    b.fill("#birth_date", &wareki).await;
    b.select("#sex", "male").await;
    b.fill("#kana", "ヤマダ タロウ").await;
    b.fill("#address", "東京都千代田区霞が関1丁目2番3号").await;
    b.shot("failure-mode-search").await;
    b.click("#search button[type=submit]").await;
    let page = b.until("照会結果（1件該当）").await;
    assert!(page.contains("山田 太郎") && page.contains("有効"));
    b.shot("failure-mode-result").await;
    b.click("#result a.button").await;
    let page = b.until("レセプトに記載する保険者情報").await;
    assert!(page.contains("システム障害時モード") && page.contains("01130012"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(onshi_browser),
    ignore = "Chromium: apt-get install chromium chromium-driver (README)"
)]
async fn insurer_portal_and_payer_console() {
    let s = start().await;
    s.card_visit("DEMO-LOST", "").await;
    let b = browser().await;
    b.login(&s, &s.insurer).await;
    let page = b.until("保険者ポータル").await;
    assert!(page.contains("佐藤 花子"));
    b.click("a.tab[href*='view=report']").await;
    b.until("初診より後に届いた登録").await;
    b.go(&s, "/ui/insurer").await;
    b.until("登録一覧").await;
    b.shot("insurer").await;
    b.click("form.logout button").await;
    b.until("onshi_ で始まる70文字").await;
    // The payer: upload a month of claims with an as-of date.
    let month = today();
    let claims = s
        .db(move |st| onshi_payer::generate::month_of_claims(st, month, 30, 7).unwrap())
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("claims.jsonl");
    std::fs::write(&file, onshi_payer::claim::to_jsonl(&claims)).unwrap();
    b.login(&s, &s.payer).await;
    b.until("請求ファイルの取り込み").await;
    b.c.find(Locator::Css("#file"))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    b.click("#upload button[type=submit]").await;
    let page = b.until("結果（判定日").await;
    assert!(page.contains("保険者ごとの請求") && page.contains("請求ごとの結果"));
    b.shot("payer").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(onshi_browser),
    ignore = "Chromium: apt-get install chromium chromium-driver (README)"
)]
async fn month_claims_submitted_run_by_the_payer_and_paid() {
    let s = start().await;
    let visit = s.card_visit("DEMO-VALID", "P-CLM").await;
    s.post(
        &s.clinic,
        &format!("/ui/desk/visits/{visit}/decision"),
        &[("step", "online"), ("points", "1000")],
    )
    .await;
    let month = today().format("%Y-%m").to_string();
    let b = browser().await;
    b.login(&s, &s.clinic).await;
    // The desk builds, confirms and submits the month.
    b.go(&s, &format!("/ui/desk/claims?month={month}")).await;
    b.until("月次請求").await;
    b.click("#sync").await;
    let page = b.until("作成中・再請求").await;
    assert!(
        page.contains("山田 太郎") && page.contains("作成中"),
        "{page}"
    );
    b.click("#confirm").await;
    b.until("提出待ち").await;
    b.select("#payer", "shiharai_kikin").await;
    b.select("#format", "uke").await;
    b.click("#submit").await;
    let page = b.until("提出済").await;
    assert!(page.contains("01130012"));
    b.shot("claims-month").await;
    b.click("form.logout button").await;
    b.until("onshi_ で始まる70文字").await;
    // The payer runs the submission; the run is stored and listed.
    b.login(&s, &s.payer).await;
    b.until("医療機関からの提出").await;
    b.click("#submissions form button[type=submit]").await;
    let page = b.until("結果（判定日").await;
    assert!(page.contains("ダウンロード") && page.contains("01130012"));
    b.shot("payer-run").await;
    b.go(&s, "/ui/payer").await;
    b.until("これまでの審査").await;
    b.click("form.logout button").await;
    b.until("onshi_ で始まる70文字").await;
    // The desk takes the result: 支払済, with the history.
    b.login(&s, &s.clinic).await;
    b.go(&s, &format!("/ui/desk/claims?month={month}")).await;
    b.click("#receive").await;
    b.until("支払済").await;
    b.click("#sent table a").await;
    let page = b.until("履歴").await;
    for want in ["作成中", "確定", "提出済", "支払済", "審査支払機関の支払"] {
        assert!(page.contains(want), "{want}");
    }
    b.shot("claim-history").await;
    b.close().await;
}
