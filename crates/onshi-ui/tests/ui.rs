//! The web UI over a real server and a real SQLite store: login and logout,
//! CSRF, tenancy, each screen's Japanese content, escaping.

mod common;

use common::{Server, start, today, yamada_birth};
use onshi_ui::session::csrf_token;

fn day() -> String {
    today().to_string()
}

async fn login(s: &Server, token: &str) -> common::Page {
    s.post_raw(None, "/ui/login", &[("token", token.to_owned())])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_logout() {
    let s = start().await;
    let root = s.get(None, "/").await;
    assert_eq!((root.status, root.location.as_deref()), (303, Some("/ui/")));
    let home = s.get(None, "/ui/").await;
    assert_eq!(
        (home.status, home.location.as_deref()),
        (303, Some("/ui/login"))
    );
    let desk = s.get(None, "/ui/desk").await;
    assert_eq!(
        (desk.status, desk.location.as_deref()),
        (303, Some("/ui/login"))
    );
    let form = s.get(None, "/ui/login").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("ログイン") && form.body.contains("トークン"));
    let css = s.get(None, "/ui/static/style.css").await;
    assert!(css.status == 200 && css.body.contains("section.answer"));

    let bad = login(&s, "onshi_nope").await;
    assert_eq!(bad.status, 401);
    assert!(bad.body.contains("トークンが正しくない"), "{}", bad.body);
    assert!(bad.set_cookie.is_none());

    for (token, home) in [
        (&s.clinic, "/ui/desk"),
        (&s.insurer, "/ui/insurer"),
        (&s.payer, "/ui/payer"),
        (&s.operator, "/ui/operator"),
        (&s.patient, "/ui/me"),
    ] {
        let ok = login(&s, token).await;
        assert_eq!((ok.status, ok.location.as_deref()), (303, Some(home)));
        let cookie = ok.set_cookie.unwrap();
        assert!(
            cookie.starts_with(&format!("onshi_session={token}")),
            "{cookie}"
        );
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let again = s.get(Some(token), "/ui/").await;
        assert_eq!(again.location.as_deref(), Some(home));
    }
    let page = s.get(Some(&s.clinic), "/ui/desk").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("霞が関デモクリニック") && page.body.contains("ログアウト"));
    // Pages with patients' data are never cached (the Back button after
    // logout on a shared reception PC); the stylesheet may be.
    assert_eq!(page.cache_control.as_deref(), Some("no-store"));
    assert_eq!(
        s.get(Some(&s.patient), "/ui/me")
            .await
            .cache_control
            .as_deref(),
        Some("no-store")
    );
    assert!(css.cache_control.unwrap().contains("max-age"));

    // Logout needs the CSRF field too, and clears the cookie.
    let refused = s.post_raw(Some(&s.clinic), "/ui/logout", &[]).await;
    assert_eq!(refused.status, 403);
    let out = s.post(&s.clinic, "/ui/logout", &[]).await;
    assert_eq!(
        (out.status, out.location.as_deref()),
        (303, Some("/ui/login"))
    );
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_csrf_field_changes_nothing() {
    let s = start().await;
    let fields = |csrf: Option<String>| {
        let mut f = vec![
            ("reference", "card".to_owned()),
            ("visited_on", day()),
            ("certificate_serial", "DEMO-VALID".to_owned()),
        ];
        if let Some(c) = csrf {
            f.push(("_csrf", c));
        }
        f
    };
    let checks = s.checks_written().await;
    for csrf in [
        None,
        Some(String::new()),
        Some(csrf_token(&s.other_clinic)),
        Some(csrf_token(&s.clinic)[1..].to_owned()),
    ] {
        let p = s
            .post_raw(Some(&s.clinic), "/ui/desk/visits", &fields(csrf))
            .await;
        assert_eq!(p.status, 403, "{}", p.body);
        assert!(p.body.contains("送信を受け付けられません"));
    }
    // A cross-site POST with the right field is refused as well.
    let p = s
        .http
        .post(format!("{}/ui/desk/visits", s.url))
        .header("cookie", format!("onshi_session={}", s.clinic))
        .header("origin", "http://evil.example")
        .form(&fields(Some(csrf_token(&s.clinic))))
        .send()
        .await
        .unwrap();
    assert_eq!(p.status().as_u16(), 403);
    // Other forms too: reader mode, faults, failure-mode request.
    for path in [
        "/ui/desk/reader-mode",
        "/ui/desk/faults",
        "/ui/desk/failure-mode/requests",
        "/ui/desk/rechecks/run",
    ] {
        let p = s
            .post_raw(
                Some(&s.clinic),
                path,
                &[
                    ("mode", "visual".into()),
                    ("staff_id", "S1".into()),
                    ("kind", "network".into()),
                    ("contact_name", "x".into()),
                ],
            )
            .await;
        assert_eq!(p.status, 403, "{path}");
    }
    assert_eq!(s.checks_written().await, checks);
    assert_eq!(s.visits_today().await, 0);
    // Each refusal is audited with its caller and its code.
    let refused: Vec<_> = s
        .db(|st| st.audit_entries(0, 1_000).unwrap())
        .await
        .into_iter()
        .filter(|a| a.action == "POST /ui/desk/visits")
        .collect();
    assert_eq!(refused.len(), 5, "{refused:?}");
    for (i, a) in refused.iter().enumerate() {
        // The cross-site POST is refused before its session is read.
        let actor = if i < 4 {
            "institution:1311234567"
        } else {
            "anonymous"
        };
        assert_eq!(a.actor, actor, "{a:?}");
        assert_eq!(
            (a.detail["status"].as_u64(), a.detail["code"].as_str()),
            (Some(403), Some("csrf")),
            "{a:?}"
        );
    }
    let desk = s.get(Some(&s.clinic), "/ui/desk").await;
    assert!(
        !desk.body.contains("目視確認モードです"),
        "the reader mode did not change"
    );
    assert!(!desk.body.contains("障害の模擬が有効です"));
    // Not logged in: redirected to the login, nothing written.
    let p = s.post_raw(None, "/ui/desk/visits", &fields(None)).await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/ui/login")));
    // With the field, the same POST works.
    let id = s.card_visit("DEMO-VALID", "").await;
    assert!(id > 0);
    assert_eq!(s.visits_today().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_institutions_visit_is_not_found() {
    let s = start().await;
    let id = s.card_visit("DEMO-NONE", "K-1").await;
    let own = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert_eq!(own.status, 200);
    for path in [
        format!("/ui/desk/visits/{id}"),
        format!("/ui/desk/visits/{id}/declaration"),
        format!("/ui/desk/visits/{id}/declaration.pdf"),
        "/ui/desk/visits/not-a-number".to_owned(),
    ] {
        let p = s.get(Some(&s.other_clinic), &path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(!p.body.contains("鈴木"), "{path}");
    }
    let p = s
        .post(
            &s.other_clinic,
            &format!("/ui/desk/visits/{id}/decision"),
            &[("step", "full")],
        )
        .await;
    assert_eq!(p.status, 404);
    let p = s
        .post(
            &s.other_clinic,
            &format!("/ui/desk/visits/{id}/declaration"),
            &[("name", "乗っ取り 太郎")],
        )
        .await;
    assert_eq!(p.status, 404);
    let still = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert!(still.body.contains("窓口負担の判断") && !still.body.contains("窓口負担の決定"));
    // The other clinic's own lists do not show it.
    let desk = s.get(Some(&s.other_clinic), "/ui/desk").await;
    assert!(desk.body.contains("梅田デモ薬局") && !desk.body.contains("鈴木 一郎"));
    let hist = s.get(Some(&s.other_clinic), "/ui/desk/history").await;
    assert!(!hist.body.contains("鈴木 一郎"));
    // Roles: other roles cannot use the desk, the desk cannot use theirs.
    for (token, path) in [
        (&s.insurer, "/ui/desk"),
        (&s.patient, "/ui/desk/history"),
        (&s.clinic, "/ui/insurer"),
        (&s.clinic, "/ui/payer"),
        (&s.clinic, "/ui/operator"),
        (&s.clinic, "/ui/me"),
    ] {
        assert_eq!(s.get(Some(token), path).await.status, 403, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_shows_each_answer_as_the_terminal_does() {
    let s = start().await;
    let desk = s.get(Some(&s.clinic), "/ui/desk").await;
    for want in [
        "マイナ保険証（カード）で確認",
        "記号番号で確認",
        "DEMO-LOST",
        "目視確認モードに切り替える",
        "被保険者資格申立書",
    ] {
        assert!(desk.body.contains(want), "{want}");
    }
    // 有効
    let id = s.card_visit("DEMO-VALID", "K-VALID").await;
    let p = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    for want in [
        "有効",
        "負担割合",
        "3割",
        "山田 太郎",
        "01130012",
        "全国健康保険協会東京支部",
        "オンライン資格確認の結果で決定",
    ] {
        assert!(p.body.contains(want), "valid: {want}");
    }
    let d = s
        .post(
            &s.clinic,
            &format!("/ui/desk/visits/{id}/decision"),
            &[("step", "online"), ("points", "1234")],
        )
        .await;
    assert_eq!(d.status, 303, "{}", d.body);
    let p = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert!(
        p.body.contains("3,700円"),
        "1234点 × 10円 × 3割 = 3,702 → 3,700円"
    );
    // 資格(無効): the old numbers, and they go on the claim (3(3)).
    let id = s.card_visit("DEMO-LOST", "K-LOST").await;
    let p = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    for want in [
        "資格(無効)",
        "佐藤 花子",
        "06130017",
        "みなと運輸健康保険組合",
        "3002",
        "資格喪失日",
        "レセプトに記載する保険者情報",
        "旧資格（資格(無効)の記号番号）",
        "保発0710第1号 3(3)",
    ] {
        assert!(p.body.contains(want), "lost: {want}");
    }
    // 資格情報なし → the guided flow in the notice's order.
    let id = s.card_visit("DEMO-NONE", "K-NONE").await;
    let p = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    let order = [
        "資格情報なし",
        "1. 資格情報の提示",
        "2. 被保険者資格申立書",
        "3. 再診で前回から変更がない",
        "4. いずれもできない",
        "システム障害時モードでの照会",
    ];
    let mut at = 0;
    for want in order {
        let i = p.body[at..]
            .find(want)
            .unwrap_or_else(|| panic!("none: {want} in order"));
        at += i;
    }
    // 証明書の失効 / 期限切れ: refusals with their Japanese messages.
    let id = s.card_visit("DEMO-REVOKED", "").await;
    let p = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert!(p.body.contains("電子証明書は失効しています"), "{}", p.body);
    let id = s.card_visit("DEMO-EXPIRED", "").await;
    let p = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert!(p.body.contains("電子証明書の有効期限が切れています"));
    let id = s.card_visit("DEMO-GRACE", "").await;
    let p = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert!(p.body.contains("資格確認のみ可能です"));
    for (serial, want) in [
        ("DEMO-PRESCHOOL", "2割"),
        ("DEMO-ELDERLY", "2割"),
        ("DEMO-KOUKI", "1割"),
    ] {
        let id = s.card_visit(serial, "").await;
        let p = s
            .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
            .await;
        assert!(
            p.body.contains(&format!("<strong>{want}</strong>")),
            "{serial}"
        );
    }
    // By numbers, with the birth date in 和暦: twins without 枝番 are 複数該当.
    let (_, cases) = onshi_registry::demo::demo(today()).unwrap();
    let twins = cases.iter().find(|c| c.key == "twin_a").unwrap();
    let n = twins.numbers.as_ref().unwrap();
    let wareki = onshi_core::WarekiDate::from_gregorian(n.birth_date)
        .unwrap()
        .to_string();
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/visits",
            &[
                ("reference", "numbers"),
                ("visited_on", &day()),
                ("insurer_number", &n.insurer_number),
                ("insured_symbol", n.insured_symbol.as_deref().unwrap_or("")),
                ("insured_number", &n.insured_number),
                ("birth_date", &wareki),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let v = s.get(Some(&s.clinic), p.location.as_deref().unwrap()).await;
    assert!(
        v.body.contains("複数該当") && v.body.contains("加藤 蓮") && v.body.contains("加藤 湊")
    );
    // A bad number is shown in Japanese next to its field, nothing written.
    let before = s.visits_today().await;
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/visits",
            &[
                ("reference", "numbers"),
                ("visited_on", &day()),
                ("insurer_number", "01130013"),
                ("insured_number", "1"),
                ("birth_date", "昭和55年2月3日"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(
        p.body.contains("保険者番号の検証番号が正しくありません"),
        "{}",
        p.body
    );
    assert!(p.body.contains("field has-error"));
    assert_eq!(s.visits_today().await, before);
    // The day's history and visit list.
    let h = s.get(Some(&s.clinic), "/ui/desk/history").await;
    for want in [
        "資格確認履歴",
        "山田 太郎",
        "資格(無効)",
        "資格情報なし",
        "電子証明書は失効しています",
        "複数該当",
    ] {
        assert!(h.body.contains(want), "history: {want}");
    }
    let desk = s.get(Some(&s.clinic), "/ui/desk").await;
    assert!(desk.body.contains("K-LOST") && desk.body.contains("3,700円"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failure_flow_ends_in_a_decision_and_a_declaration() {
    let s = start().await;
    let id = s.card_visit("DEMO-NONE", "K-NONE").await;
    let path = format!("/ui/desk/visits/{id}");
    // The declaration: a bad phone is refused next to its field.
    let decl = format!("{path}/declaration");
    let form = s.get(Some(&s.clinic), &decl).await;
    assert!(form.body.contains("被保険者資格申立書") && form.body.contains("一部負担金の割合"));
    let bad = s
        .post(
            &s.clinic,
            &decl,
            &[("phone", "03-1234-abcd"), ("name", "鈴木 一郎")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains("電話番号は0から始まる10〜11桁の数字で入力してください")
    );
    assert!(
        bad.body.contains("value=\"鈴木 一郎\""),
        "what was typed is kept"
    );
    let ok = s
        .post(
            &s.clinic,
            &decl,
            &[
                ("has_valid_card", "on"),
                ("insurance_type", "shaho"),
                ("insurer_name", "みなと運輸健康保険組合"),
                ("ratio", "30"),
                ("name", "鈴木 一郎"),
                ("kana", "すずき いちろう"),
                ("birth_date", "平成16年5月9日"),
                ("sex", "male"),
                ("declared_on", &day()),
                ("phone", "090-1234-5678"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let saved = s
        .get(Some(&s.clinic), ok.location.as_deref().unwrap())
        .await;
    assert!(
        saved.body.contains("保存しました")
            && saved.body.contains("未記入")
            && saved.body.contains("住所")
    );
    assert!(
        saved.body.contains("value=\"スズキ イチロウ\""),
        "kana normalised"
    );
    let pdf = s
        .http
        .get(format!("{}{path}/declaration.pdf", s.url))
        .header("cookie", format!("onshi_session={}", s.clinic))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status().as_u16(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    // Decide: the declaration's ratio, the amount for the points.
    let no_points = s
        .post(
            &s.clinic,
            &format!("{path}/decision"),
            &[("step", "declaration"), ("points", "abc")],
        )
        .await;
    assert_eq!(no_points.status, 400);
    assert!(
        no_points
            .body
            .contains("点数は0以上の整数で入力してください")
    );
    let d = s
        .post(
            &s.clinic,
            &format!("{path}/decision"),
            &[("step", "declaration"), ("points", "850")],
        )
        .await;
    assert_eq!(d.status, 303, "{}", d.body);
    let v = s.get(Some(&s.clinic), &path).await;
    for want in [
        "窓口負担の決定",
        "被保険者資格申立書",
        "2,550円",
        "3割",
        "保発0710第1号 2(2)",
    ] {
        assert!(v.body.contains(want), "decision: {want}\n{}", v.body);
    }
    // The oral confirmation of a returning patient needs a previous decision.
    let id2 = s.card_visit("DEMO-NONE", "K-NONE").await;
    let d = s
        .post(
            &s.clinic,
            &format!("/ui/desk/visits/{id2}/decision"),
            &[("step", "oral"), ("points", "100")],
        )
        .await;
    assert_eq!(d.status, 303, "{}", d.body);
    let id3 = s.card_visit("DEMO-NONE", "K-NEW").await;
    let d = s
        .post(
            &s.clinic,
            &format!("/ui/desk/visits/{id3}/decision"),
            &[("step", "oral")],
        )
        .await;
    assert_eq!(d.status, 400);
    assert!(
        d.body
            .contains("前回の受診記録（負担割合の判断）がありません")
    );
    // Nothing at all: 10割.
    let d = s
        .post(
            &s.clinic,
            &format!("/ui/desk/visits/{id3}/decision"),
            &[("step", "full"), ("points", "100")],
        )
        .await;
    assert_eq!(d.status, 303);
    let v = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id3}"))
        .await;
    assert!(v.body.contains("10割") && v.body.contains("1,000円"));
    // Shown numbers become the claim's (3(1)).
    let id4 = s.card_visit("DEMO-LOST", "").await;
    let d = s
        .post(
            &s.clinic,
            &format!("/ui/desk/visits/{id4}/decision"),
            &[
                ("step", "shown"),
                ("shown_kind", "qualification_certificate"),
                ("ratio_percent", "30"),
                ("insurer_number", "01130012"),
                ("insured_symbol", "9"),
                ("insured_number", "99"),
                ("points", "10"),
            ],
        )
        .await;
    assert_eq!(d.status, 303, "{}", d.body);
    let v = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id4}"))
        .await;
    assert!(
        v.body.contains("確認できた資格")
            && v.body.contains("提示された資格情報")
            && v.body.contains("資格確認書")
    );
    // The contact date.
    let c = s
        .post(
            &s.clinic,
            &format!("{path}/contact"),
            &[("contacted_on", &day())],
        )
        .await;
    assert_eq!(c.status, 303);
    assert!(
        s.get(Some(&s.clinic), &path)
            .await
            .body
            .contains(&format!("連絡日: {}", day()))
    );
    // The blank form.
    let blank = s
        .http
        .get(format!("{}/ui/desk/forms/declaration.pdf", s.url))
        .header("cookie", format!("onshi_session={}", s.clinic))
        .send()
        .await
        .unwrap();
    assert!(blank.bytes().await.unwrap().starts_with(b"%PDF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_mode_rechecks_and_outages() {
    let s = start().await;
    // 目視確認モード: a card check then needs the staff id.
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/reader-mode",
            &[("mode", "visual"), ("staff_id", "")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("入力してください"));
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/reader-mode",
            &[("mode", "visual"), ("staff_id", "S-01")],
        )
        .await;
    assert_eq!(p.status, 303);
    let desk = s.get(Some(&s.clinic), "/ui/desk").await;
    assert!(desk.body.contains("目視確認モードです") && desk.body.contains("顔認証に戻す"));
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/visits",
            &[
                ("reference", "card"),
                ("visited_on", &day()),
                ("certificate_serial", "DEMO-VALID"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/visits",
            &[
                ("reference", "card"),
                ("visited_on", &day()),
                ("certificate_serial", "DEMO-VALID"),
                ("staff_id", "S-01"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let v = s.get(Some(&s.clinic), p.location.as_deref().unwrap()).await;
    assert!(v.body.contains("本人確認: 目視確認"));
    s.post(
        &s.clinic,
        "/ui/desk/reader-mode",
        &[("mode", "face"), ("staff_id", "S-01")],
    )
    .await;
    // An outage (fault injection through the UI): the check fails 1(2) and the visit waits.
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/faults",
            &[("kind", "network"), ("action", "set")],
        )
        .await;
    assert_eq!(p.status, 303);
    let id = s.card_visit("DEMO-VALID", "").await;
    let v = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert!(
        v.body
            .contains("オンライン資格確認等システムに接続できません"),
        "{}",
        v.body
    );
    let q = s.get(Some(&s.clinic), "/ui/desk/rechecks").await;
    assert!(q.body.contains(&format!("/ui/desk/visits/{id}")));
    // Still down: the re-check keeps it pending.
    let r = s.post(&s.clinic, "/ui/desk/rechecks/run", &[]).await;
    assert_eq!(
        r.location.as_deref(),
        Some("/ui/desk/rechecks?ran=1&done=0")
    );
    s.post(&s.clinic, "/ui/desk/faults", &[("action", "clear")])
        .await;
    let r = s.post(&s.clinic, "/ui/desk/rechecks/run", &[]).await;
    assert_eq!(
        r.location.as_deref(),
        Some("/ui/desk/rechecks?ran=1&done=1")
    );
    let q = s.get(Some(&s.clinic), r.location.as_deref().unwrap()).await;
    assert!(
        q.body.contains("1件を再照会しました") && q.body.contains("事後確認待ちの受診はありません")
    );
    let v = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert!(v.body.contains("事後確認（再照会）") && v.body.contains("確認できた資格"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_mode_request_search_and_pick() {
    let s = start().await;
    let birth = yamada_birth().to_string();
    let search = |extra: &[(&'static str, String)]| {
        let mut f: Vec<(&'static str, String)> = vec![
            ("birth_date", birth.clone()),
            ("sex", "male".into()),
            ("checked_on", day()),
            ("kana", "ヤマダ タロウ".into()),
            ("address", "東京都千代田区霞が関1丁目2番3号".into()),
        ];
        for (k, v) in extra {
            f.retain(|(kk, _)| kk != k);
            if !v.is_empty() {
                f.push((k, v.clone()));
            }
        }
        f.push(("_csrf", csrf_token(&s.clinic)));
        f
    };
    let page = s.get(Some(&s.clinic), "/ui/desk/failure-mode").await;
    for want in [
        "障害時モードは有効になっていません",
        "生年月日・性別・資格確認日は必須です",
        "氏名またはカナ氏名のどちらかが必須",
        "住所または保険者名のどちらかが必須",
        "最大20人",
    ] {
        assert!(page.body.contains(want), "{want}");
    }
    let p = s
        .post_raw(
            Some(&s.clinic),
            "/ui/desk/failure-mode/search",
            &search(&[]),
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(
        p.body
            .contains("システム障害時モードが有効になっていません")
    );
    // Ask through the UI; the operator calls back (a wrong number is refused) and enables.
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/failure-mode/requests",
            &[("contact_name", ""), ("reason", "停電")],
        )
        .await;
    assert_eq!(p.status, 400);
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/failure-mode/requests",
            &[("contact_name", "受付 花子"), ("reason", "停電")],
        )
        .await;
    assert_eq!(p.status, 303);
    let op = s.get(Some(&s.operator), "/ui/operator").await;
    assert!(
        op.body.contains("霞が関デモクリニック")
            && op.body.contains("申請中（折り返し待ち）")
            && op.body.contains("03-0000-1234")
    );
    let rid = s.db(|st| st.fm_requests(None, None).unwrap()[0].id).await;
    let p = s
        .post(
            &s.operator,
            &format!("/ui/operator/requests/{rid}/callback"),
            &[("operator", "OP-1"), ("called_number", "03-9999-9999")],
        )
        .await;
    assert_eq!(p.status, 409);
    assert!(p.body.contains("折り返しの電話番号が届出の番号"));
    let p = s
        .post(
            &s.operator,
            &format!("/ui/operator/requests/{rid}/callback"),
            &[("operator", "OP-1"), ("called_number", "03-0000-1234")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = s
        .post(
            &s.operator,
            &format!("/ui/operator/requests/{rid}/enable"),
            &[("hours", "99")],
        )
        .await;
    assert_eq!(p.status, 409);
    assert!(p.body.contains("1〜72時間"));
    let p = s
        .post(
            &s.operator,
            &format!("/ui/operator/requests/{rid}/enable"),
            &[("hours", "4")],
        )
        .await;
    assert_eq!(p.status, 303);
    let op = s.get(Some(&s.operator), "/ui/operator").await;
    assert!(op.body.contains("有効化済"));
    // Required fields, named next to the field.
    let p = s
        .post_raw(
            Some(&s.clinic),
            "/ui/desk/failure-mode/search",
            &search(&[("kana", String::new())]),
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(
        p.body
            .contains("氏名またはカナ氏名のどちらかを入力してください")
    );
    let p = s
        .post_raw(
            Some(&s.clinic),
            "/ui/desk/failure-mode/search",
            &search(&[("birth_date", "平成31年5月1日".into())]),
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(
        p.body.contains("平成31年5月1日は平成の期間にありません"),
        "{}",
        p.body
    );
    // One hit, attached to a visit whose check failed.
    s.reader_outage().await;
    let id = s.card_visit("DEMO-VALID", "").await;
    let p = s
        .post_raw(
            Some(&s.clinic),
            "/ui/desk/failure-mode/search",
            &search(&[("visit_id", id.to_string())]),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("照会結果（1件該当）")
            && p.body.contains("山田 太郎")
            && p.body.contains("有効")
    );
    let v = s
        .get(Some(&s.clinic), &format!("/ui/desk/visits/{id}"))
        .await;
    assert!(
        v.body.contains("システム障害時モード") && v.body.contains("確認できた資格"),
        "{}",
        v.body
    );
    // Another clinic's visit id is refused before the search runs.
    let mut f = search(&[("visit_id", id.to_string())]);
    f.retain(|(k, _)| *k != "_csrf");
    f.push(("_csrf", csrf_token(&s.other_clinic)));
    let p = s
        .post_raw(Some(&s.other_clinic), "/ui/desk/failure-mode/search", &f)
        .await;
    assert_eq!(p.status, 404);
    // Several hits: the twins by 保険者名 → the pick list → pick.
    let (_, cases) = onshi_registry::demo::demo(today()).unwrap();
    let twin = cases.iter().find(|c| c.key == "twin_a").unwrap();
    let tb = twin.numbers.as_ref().unwrap().birth_date.to_string();
    let mut f: Vec<(&str, String)> = vec![
        ("birth_date", tb),
        ("sex", "male".into()),
        ("checked_on", day()),
        ("kana", "カトウ レン".into()),
        ("insurer_name", "協会".into()),
    ];
    f.push(("_csrf", csrf_token(&s.clinic)));
    let p = s
        .post_raw(Some(&s.clinic), "/ui/desk/failure-mode/search", &f)
        .await;
    assert!(p.body.contains("1件該当"), "{}", p.body);
    let fields = [
        ("birth_date", "1900-01-01".to_owned()),
        ("sex", "female".into()),
        ("checked_on", day()),
        ("name", "<script>alert(1)</script>".into()),
        ("address", "どこにもない".into()),
        ("_csrf", csrf_token(&s.clinic)),
    ];
    let p = s
        .post_raw(Some(&s.clinic), "/ui/desk/failure-mode/search", &fields)
        .await;
    assert!(p.body.contains("0件該当"));
    assert!(
        !p.body.contains("<script>alert(1)</script>")
            && p.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_escaped() {
    let s = start().await;
    let evil = "<script>alert(1)</script>";
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/visits",
            &[
                ("reference", "failure"),
                ("visited_on", &day()),
                ("failure_kind", "power_outage"),
                ("patient_key", "\"><b>x"),
                ("name", "山田 <img src=x onerror=alert(1)>"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let id = p.visit_id();
    for path in [format!("/ui/desk/visits/{id}"), "/ui/desk".to_owned()] {
        let v = s.get(Some(&s.clinic), &path).await;
        assert!(!v.body.contains("<img src=x"), "{path}");
        assert!(!v.body.contains("\"><b>x"), "{path}");
        assert!(
            v.body.contains("&lt;img src=x onerror=alert(1)&gt;") || path == "/ui/desk",
            "{path}"
        );
    }
    let decl = format!("/ui/desk/visits/{id}/declaration");
    let p = s
        .post(
            &s.clinic,
            &decl,
            &[
                ("insurer_name", evil),
                ("address", "\" autofocus onfocus=\"alert(1)"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let v = s.get(Some(&s.clinic), &decl).await;
    assert!(!v.body.contains(evil) && v.body.contains("&lt;script&gt;"));
    assert!(!v.body.contains("\" autofocus onfocus=\"") && v.body.contains("&quot; autofocus"));
    // Errors echo the input escaped too.
    let p = s
        .post(
            &s.clinic,
            "/ui/desk/visits",
            &[
                ("reference", "card"),
                ("visited_on", &day()),
                ("certificate_serial", evil),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(!p.body.contains(evil) && p.body.contains("英数字1〜64文字"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insurer_payer_operator_and_patient_screens() {
    let s = start().await;
    s.card_visit("DEMO-LOST", "").await;
    // Insurer (みなと運輸健康保険組合): its own registrations only.
    let p = s.get(Some(&s.insurer), "/ui/insurer").await;
    assert_eq!(p.status, 200);
    assert!(
        p.body.contains("みなと運輸健康保険組合")
            && p.body.contains("佐藤 花子")
            && p.body.contains("高橋 健")
    );
    assert!(!p.body.contains("山田 太郎"), "another insurer's member");
    let p = s.get(Some(&s.insurer), "/ui/insurer?view=mismatch").await;
    assert!(p.body.contains("該当する登録はありません"));
    let p = s.get(Some(&s.insurer), "/ui/insurer?view=report").await;
    assert!(
        p.body.contains("資格(無効)") && p.body.contains(&day()),
        "{}",
        p.body
    );
    let rid = s
        .db(|st| {
            let n = onshi_core::InsurerNumber::parse(onshi_registry::demo::KUMIAI_TOKYO).unwrap();
            st.insurer_records(&n, false, 10, 0).unwrap()[0].id
        })
        .await;
    let p = s
        .get(Some(&s.insurer), &format!("/ui/insurer/records/{rid}"))
        .await;
    assert!(p.body.contains("加入者へのお知らせ"), "{}", p.body);
    let other = s
        .db(|st| {
            let n = onshi_core::InsurerNumber::parse(onshi_registry::demo::KYOKAI_TOKYO).unwrap();
            st.insurer_records(&n, false, 10, 0).unwrap()[0].id
        })
        .await;
    assert_eq!(
        s.get(Some(&s.insurer), &format!("/ui/insurer/records/{other}"))
            .await
            .status,
        404
    );
    // Payer: a claims file → the run.
    let month = today();
    let claims = s
        .db(move |st| onshi_payer::generate::month_of_claims(st, month, 20, 1).unwrap())
        .await;
    assert!(!claims.is_empty());
    let body = onshi_payer::claim::to_jsonl(&claims);
    let p = s.get(Some(&s.payer), "/ui/payer").await;
    assert!(p.body.contains("請求ファイルの取り込み"));
    let upload = |csrf: String, as_of: &str| {
        reqwest::multipart::Form::new()
            .text("_csrf", csrf)
            .text("as_of", as_of.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(body.clone().into_bytes())
                    .file_name("claims.jsonl"),
            )
    };
    let post = |form| {
        s.http
            .post(format!("{}/ui/payer/runs", s.url))
            .header("cookie", format!("onshi_session={}", s.payer))
            .multipart(form)
            .send()
    };
    let r = post(upload(String::new(), &day())).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = post(upload(csrf_token(&s.payer), "2026-02-30"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("存在しない日付です"));
    let r = post(upload(csrf_token(&s.payer), &day())).await.unwrap();
    // The run is stored: POST-redirect-GET to it.
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/ui/payer/runs/"), "{to}");
    let text = s.get(Some(&s.payer), &to).await.body;
    for want in [
        "結果（判定日",
        "保険者ごとの請求",
        "請求ごとの結果",
        "振替",
        "ダウンロード",
    ] {
        assert!(text.contains(want), "payer: {want}");
    }
    // Listed on the console, readable again, downloadable.
    let p = s.get(Some(&s.payer), "/ui/payer").await;
    assert!(
        p.body.contains("これまでの審査") && p.body.contains(&to),
        "{}",
        p.body
    );
    let csv = s.get(Some(&s.payer), &format!("{to}/bills.csv")).await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with("審査支払機関,保険者番号"),
        "{}",
        csv.body
    );
    let json = s.get(Some(&s.payer), &format!("{to}/outcome.json")).await;
    assert!(json.body.contains("\"summary\""));
    // Other roles see none of it.
    assert_eq!(s.get(Some(&s.clinic), &to).await.status, 403);
    // Operator: overdue reports.
    let p = s.get(Some(&s.operator), "/ui/operator").await;
    assert!(p.body.contains("期限を過ぎた利用報告"));
    // Patient: the self view of DEMO-VALID, nobody else.
    let p = s.get(Some(&s.patient), "/ui/me").await;
    assert!(
        p.body.contains("わたしの資格情報")
            && p.body.contains("山田 太郎")
            && p.body.contains("有効")
    );
    assert!(!p.body.contains("佐藤 花子"));
}

/// The insurer's tab of 70+ ratio differences (notice §2(2) ※): the
/// difference a stored payer run found, and the settlement recorded through
/// the form; a 請求 against a refund is refused and records nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_insurer_records_a_ratio_settlement() {
    let s = start().await;
    let (p, n) = s
        .db(|st| {
            let p = st
                .person_by_ref(&onshi_core::PersonRef::parse("R-ELDERLY").unwrap())
                .unwrap()
                .unwrap();
            let q = st.visible_qualifications_of(p.id).unwrap();
            (p, q[0].qualification.numbers.clone())
        })
        .await;
    let claim = serde_json::json!({"claim_id": "e1", "institution_code": onshi_registry::demo::CLINIC_CODE,
        "claim_month": "2026-11", "payer": "shiharai_kikin",
        "patient": {"name": p.person.name.to_string(), "kana": p.person.kana.to_string(), "sex": "male",
                    "birth_date": p.person.birth_date},
        "insurer": {"insurer_number": n.insurer_number.to_string(), "symbol": n.symbol.as_ref().map(|s| s.to_string()),
                    "number": n.number.to_string(), "branch": n.branch.as_ref().map(|b| b.to_string()), "basis": "confirmed"},
        "burden_ratio_percent": 30, "visit_dates": ["2026-11-10"], "points": 1000, "patient_paid_yen": 3000});
    s.db(move |st| {
        let claims = onshi_payer::claim::parse_jsonl(&format!("{claim}\n"))
            .into_iter()
            .map(|(l, c)| (l.to_string(), c))
            .collect();
        onshi_payer::memory::run_and_store(
            st,
            "2026-11-25".parse().unwrap(),
            vec![onshi_payer::memory::RunInput {
                label: "t".into(),
                digest: "0".repeat(64),
                submission_id: None,
                claims,
            }],
            onshi_payer::run::Policy::default(),
            "payer",
            "2026-11-25T00:00:00Z",
        )
        .unwrap();
    })
    .await;
    let insurer = s
        .db(move |st| {
            onshi_registry::auth::issue_token(
                st,
                &onshi_registry::Caller::Insurer(n.insurer_number.clone()),
                "t",
                "2026-11-25T00:00:00Z",
            )
            .unwrap()
        })
        .await;
    let page = s.get(Some(&insurer), "/ui/insurer?view=differences").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("負担割合の差額") && page.body.contains("返還 1,000円"),
        "{}",
        page.body
    );
    let fields = |kind: &'static str| {
        vec![
            ("institution_code", onshi_registry::demo::CLINIC_CODE),
            ("claim_month", "2026-11"),
            ("claim_id", "e1"),
            ("kind", kind),
            ("yen", "1000"),
            ("settled_on", "2026-12-15"),
            ("done", "true"),
        ]
    };
    let bad = s
        .post(&insurer, "/ui/insurer/differences/settle", &fields("claim"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        !s.get(Some(&insurer), "/ui/insurer?view=differences")
            .await
            .body
            .contains(" 済")
    );
    let ok = s
        .post(
            &insurer,
            "/ui/insurer/differences/settle",
            &fields("refund"),
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let page = s.get(Some(&insurer), "/ui/insurer?view=differences").await;
    assert!(page.body.contains("（2026-12-15） 済"), "{}", page.body);
    // Another insurer's portal does not show it.
    let other = s
        .get(Some(&s.insurer), "/ui/insurer?view=differences")
        .await;
    assert!(other.body.contains("差額はありません"), "{}", other.body);
}
