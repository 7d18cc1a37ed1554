//! Shared test data: check answers shaped like the API's JSON.
#![allow(dead_code)]

use chrono::{NaiveDate, NaiveDateTime};
use onshi_registry::check::CheckAnswer;
use serde_json::{Value, json};

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The fixed time every sample is stamped with.
pub fn processed_at() -> NaiveDateTime {
    date("2026-11-25").and_hms_opt(9, 30, 0).unwrap()
}

pub fn sample_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(sample_path(name)).unwrap()
}

/// A QualificationView as JSON, with `over` merged on top.
pub fn view(over: Value) -> Value {
    let mut v = json!({
        "name": "山田 太郎",
        "kana": "ヤマダ タロウ",
        "birth_date": "1980-04-01",
        "birth_date_wareki": "昭和55年4月1日",
        "sex": "male",
        "address": "東京都千代田区霞が関1-2-2",
        "insurer_number": "01130012",
        "insurer_name": "全国健康保険協会東京支部",
        "insurance_kind": "kyokai",
        "payer": "shiharai_kikin",
        "insured_symbol": "12345",
        "insured_number": "678",
        "insured_branch": "01",
        "relation": "insured",
        "acquired_on": "2015-04-01",
        "lost_on": null,
        "burden_ratio_percent": 30,
        "employer": "株式会社オンシ"
    });
    if let (Some(base), Some(o)) = (v.as_object_mut(), over.as_object()) {
        for (k, x) in o {
            base.insert(k.clone(), x.clone());
        }
    }
    v
}

/// A CheckAnswer as the API returns it.
pub fn answer(
    validity: u8,
    reference: &str,
    views: Vec<Value>,
    note: Option<(&str, &str)>,
) -> CheckAnswer {
    let label = match validity {
        1 => "有効",
        2 => "資格(無効)",
        4 => "資格情報なし",
        5 => "複数該当",
        _ => "無効（新しい資格あり）",
    };
    let single = matches!(validity, 1 | 2);
    let ratio = if validity == 1 {
        views
            .first()
            .and_then(|v| v.get("burden_ratio_percent").cloned())
    } else {
        None
    };
    serde_json::from_value(json!({
        "validity": validity,
        "validity_label": label,
        "reference": reference,
        "checked_on": "2026-11-25",
        "processing_note": note.map(|(c, m)| json!({"code": c, "message": m})),
        "qualification": if single { views.first().cloned() } else { None },
        "qualifications": views,
        "burden_ratio_percent": ratio,
        "identity_confirmed_by": if reference == "card" { Some("face") } else { None },
    }))
    .unwrap()
}

/// A valid 協会けんぽ answer for the first sample request.
pub fn valid_kyokai() -> CheckAnswer {
    answer(1, "numbers", vec![view(json!({}))], None)
}

/// A preschool 国保 dependant with a kana symbol (the Shift_JIS sample).
pub fn preschool_kokuho() -> CheckAnswer {
    answer(
        1,
        "numbers",
        vec![view(json!({
            "name": "高橋 ぱぴぷ",
            "kana": "タカハシ パピプ",
            "birth_date": "2021-05-10",
            "birth_date_wareki": "令和3年5月10日",
            "sex": "female",
            "address": "東京都世田谷区世田谷4-21-27",
            "insurer_number": "138057",
            "insurer_name": "世田谷区",
            "insurance_kind": "kokuho",
            "payer": "kokuhoren",
            "insured_symbol": "あいう",
            "insured_number": "1234",
            "insured_branch": "03",
            "relation": "dependent",
            "acquired_on": "2021-05-10",
            "burden_ratio_percent": 20,
            "employer": null
        }))],
        None,
    )
}

/// The three answers of the batch sample: valid, lost, refused.
pub fn batch_results() -> Vec<onshi_oqs::QueryResult> {
    use onshi_oqs::QueryResult;
    vec![
        QueryResult::Answer(answer(
            1,
            "numbers",
            vec![view(json!({
                "name": "佐藤 花子",
                "kana": "サトウ ハナコ",
                "birth_date": "1975-06-15",
                "sex": "female",
                "insurer_number": "06130017",
                "insurer_name": "オンシ健康保険組合",
                "insurance_kind": "kumiai",
                "insured_symbol": "77",
                "insured_number": "3001",
                "insured_branch": "00",
                "acquired_on": "2020-10-01"
            }))],
            None,
        )),
        QueryResult::Answer(answer(
            2,
            "numbers",
            vec![view(json!({
                "name": "鈴木 次郎",
                "kana": "スズキ ジロウ",
                "birth_date": "1945-03-01",
                "insurer_number": "39280003",
                "insurer_name": "兵庫県後期高齢者医療広域連合",
                "insurance_kind": "kouki",
                "payer": "kokuhoren",
                "insured_symbol": null,
                "insured_number": "12345678",
                "insured_branch": null,
                "acquired_on": "2010-03-01",
                "lost_on": "2026-10-01",
                "burden_ratio_percent": null,
                "employer": null
            }))],
            None,
        )),
        QueryResult::Error {
            code: "missing_field".into(),
            message: "insured_number: 値がありません".into(),
        },
    ]
}

/// A card check in the certificate's grace period (face sample).
pub fn card_in_grace() -> CheckAnswer {
    answer(
        1,
        "card",
        vec![view(json!({}))],
        Some((
            "certificate_grace",
            "電子証明書の有効期限（2026-10-15）が切れています。2027-01-31までは資格確認のみ可能です",
        )),
    )
}
