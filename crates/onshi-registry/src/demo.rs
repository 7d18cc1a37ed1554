//! The demo data: one named person for each case of the notice, dated
//! relative to the day the demo runs, plus a demo clinic.
//!
//! Tests walk exactly these cases through the HTTP API, so the demo and the
//! tests cannot drift apart.

use chrono::{Days, Months, NaiveDate};
use onshi_core::{InstitutionCode, InsurerNumber, ParseError};
use serde::Serialize;

use crate::fixture::{
    Fixture, FixtureInstitution, FixtureInsurer, FixturePerson, FixtureQualification,
};

/// The demo clinic every demo token belongs to.
pub const CLINIC_CODE: &str = "1311234567";
pub const CLINIC_NAME: &str = "霞が関デモクリニック";
/// A second clinic, to show that histories do not cross.
pub const OTHER_CLINIC_CODE: &str = "2711234567";

/// 協会けんぽ東京支部 and 兵庫県後期高齢者医療広域連合 (DOMAIN §0 examples).
pub const KYOKAI_TOKYO: &str = "01130012";
pub const KOUKI_HYOGO: &str = "39280003";
/// A fictitious 健康保険組合 in Tokyo and a 市町村国保 (千代田区).
pub const KUMIAI_TOKYO: &str = "06130017";
pub const KOKUHO_CHIYODA: &str = "131011";

/// One demo case: who, which card, what the check should answer.
#[derive(Debug, Clone, Serialize)]
pub struct DemoCase {
    pub key: &'static str,
    /// What the case shows, in Japanese.
    pub title: &'static str,
    pub name: String,
    pub certificate_serial: Option<String>,
    /// The numbers to check by, where the case is about a number check.
    pub numbers: Option<DemoNumbers>,
    /// The expected OQSCD006 code, or the expected error code.
    pub expect: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoNumbers {
    pub insurer_number: String,
    pub insured_symbol: Option<String>,
    pub insured_number: String,
    pub insured_branch: Option<String>,
    pub birth_date: NaiveDate,
}

fn d_minus(d: NaiveDate, days: u64) -> NaiveDate {
    d.checked_sub_days(Days::new(days)).unwrap_or(d)
}
fn d_plus(d: NaiveDate, days: u64) -> NaiveDate {
    d.checked_add_days(Days::new(days)).unwrap_or(d)
}
fn years_ago(d: NaiveDate, y: u32, extra_days: u64) -> NaiveDate {
    d_minus(
        d.checked_sub_months(Months::new(12 * y)).unwrap_or(d),
        extra_days,
    )
}

struct P<'a> {
    person_ref: &'a str,
    name: &'a str,
    kana: &'a str,
    birth: NaiveDate,
    sex: &'a str,
    address: &'a str,
    card: Option<(&'a str, NaiveDate, Option<NaiveDate>)>,
    quals: Vec<Q<'a>>,
}

struct Q<'a> {
    insurer: &'a str,
    symbol: Option<&'a str>,
    number: &'a str,
    branch: Option<&'a str>,
    relation: &'a str,
    from: NaiveDate,
    to: Option<NaiveDate>,
    ratio: Option<u16>,
    employer: Option<&'a str>,
}

fn q<'a>(
    insurer: &'a str,
    symbol: Option<&'a str>,
    number: &'a str,
    branch: Option<&'a str>,
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> Q<'a> {
    Q {
        insurer,
        symbol,
        number,
        branch,
        relation: "insured",
        from,
        to,
        ratio: None,
        employer: None,
    }
}

fn to_json(p: &P<'_>) -> serde_json::Value {
    serde_json::json!({
        "person_ref": p.person_ref, "name": p.name, "kana": p.kana, "birth_date": p.birth, "sex": p.sex, "address": p.address,
        "cards": p.card.iter().map(|(s, v, r)| serde_json::json!({"serial": s, "valid_to": v, "revoked_on": r})).collect::<Vec<_>>(),
        "qualifications": p.quals.iter().map(|q| serde_json::json!({
            "insurer_number": q.insurer, "symbol": q.symbol, "number": q.number, "branch": q.branch,
            "relation": q.relation, "acquired_on": q.from, "lost_on": q.to,
            "burden_ratio": q.ratio, "employer": q.employer,
        })).collect::<Vec<_>>(),
    })
}

/// The demo fixture and its cases, for a demo run on `today`.
pub fn demo(today: NaiveDate) -> Result<(Fixture, Vec<DemoCase>), ParseError> {
    let far = d_plus(today, 365 * 4);
    let day = |n| d_minus(today, n);
    let job_change = day(40);
    let twins_birth = years_ago(today, 8, 30);
    let people = vec![
        (
            "valid",
            "有効：協会けんぽ本人 3割",
            "1",
            P {
                person_ref: "R-VALID",
                name: "山田 太郎",
                kana: "ヤマダ タロウ",
                birth: years_ago(today, 46, 10),
                sex: "male",
                address: "東京都千代田区霞が関1丁目2番3号",
                card: Some(("DEMO-VALID", far, None)),
                quals: vec![Q {
                    employer: Some("霞が関商事株式会社"),
                    ..q(
                        KYOKAI_TOKYO,
                        Some("1001"),
                        "2001",
                        Some("00"),
                        years_ago(today, 10, 0),
                        None,
                    )
                }],
            },
        ),
        (
            "lost",
            "資格(無効)：退職して新しい資格が未登録（旧記号番号が表示される）",
            "2",
            P {
                person_ref: "R-LOST",
                name: "佐藤 花子",
                kana: "サトウ ハナコ",
                birth: years_ago(today, 34, 100),
                sex: "female",
                address: "東京都新宿区西新宿2丁目8番1号",
                card: Some(("DEMO-LOST", far, None)),
                quals: vec![Q {
                    employer: Some("みなと運輸株式会社"),
                    ..q(
                        KUMIAI_TOKYO,
                        Some("77"),
                        "3002",
                        Some("00"),
                        years_ago(today, 6, 0),
                        Some(day(30)),
                    )
                }],
            },
        ),
        (
            "none",
            "資格情報なし：保険者の登録がまだない",
            "4",
            P {
                person_ref: "R-NONE",
                name: "鈴木 一郎",
                kana: "スズキ イチロウ",
                birth: years_ago(today, 22, 200),
                sex: "male",
                address: "東京都世田谷区三軒茶屋1丁目1番1号",
                card: Some(("DEMO-NONE", far, None)),
                quals: vec![],
            },
        ),
        (
            "changed",
            "転職済：新しい資格が登録済み（カードでは新資格が有効、旧記号番号では資格(無効)）",
            "1",
            P {
                person_ref: "R-CHANGED",
                name: "高橋 健",
                kana: "タカハシ ケン",
                birth: years_ago(today, 39, 50),
                sex: "male",
                address: "東京都八王子市旭町3丁目4番5号",
                card: Some(("DEMO-CHANGED", far, None)),
                quals: vec![
                    Q {
                        employer: Some("さくら精機株式会社"),
                        ..q(
                            KYOKAI_TOKYO,
                            Some("1002"),
                            "2002",
                            Some("00"),
                            years_ago(today, 9, 0),
                            Some(job_change),
                        )
                    },
                    Q {
                        employer: Some("みなと運輸株式会社"),
                        ..q(
                            KUMIAI_TOKYO,
                            Some("77"),
                            "3003",
                            Some("00"),
                            job_change,
                            None,
                        )
                    },
                ],
            },
        ),
        (
            "grace",
            "電子証明書の期限切れ（3か月の猶予中：資格確認のみ可）",
            "1",
            P {
                person_ref: "R-GRACE",
                name: "田中 美咲",
                kana: "タナカ ミサキ",
                birth: years_ago(today, 28, 5),
                sex: "female",
                address: "東京都千代田区霞が関3丁目1番1号",
                card: Some(("DEMO-GRACE", day(20), None)),
                quals: vec![q(
                    KYOKAI_TOKYO,
                    Some("1003"),
                    "2003",
                    Some("00"),
                    years_ago(today, 5, 0),
                    None,
                )],
            },
        ),
        (
            "expired",
            "電子証明書の期限切れ（猶予も経過）",
            "certificate_expired",
            P {
                person_ref: "R-EXPIRED",
                name: "伊藤 誠",
                kana: "イトウ マコト",
                birth: years_ago(today, 55, 80),
                sex: "male",
                address: "東京都新宿区西新宿1丁目1番1号",
                card: Some(("DEMO-EXPIRED", day(200), None)),
                quals: vec![q(
                    KYOKAI_TOKYO,
                    Some("1004"),
                    "2004",
                    Some("00"),
                    years_ago(today, 20, 0),
                    None,
                )],
            },
        ),
        (
            "revoked",
            "電子証明書の失効",
            "certificate_revoked",
            P {
                person_ref: "R-REVOKED",
                name: "渡辺 由美",
                kana: "ワタナベ ユミ",
                birth: years_ago(today, 41, 3),
                sex: "female",
                address: "東京都世田谷区三軒茶屋2丁目2番2号",
                card: Some(("DEMO-REVOKED", far, Some(day(10)))),
                quals: vec![q(
                    KYOKAI_TOKYO,
                    Some("1005"),
                    "2005",
                    Some("00"),
                    years_ago(today, 12, 0),
                    None,
                )],
            },
        ),
        (
            "preschool",
            "未就学児：家族 2割",
            "1",
            P {
                person_ref: "R-PRESCHOOL",
                name: "山本 陽翔",
                kana: "ヤマモト ハルト",
                birth: years_ago(today, 4, 20),
                sex: "male",
                address: "東京都千代田区霞が関1丁目2番3号",
                card: Some(("DEMO-PRESCHOOL", far, None)),
                quals: vec![Q {
                    relation: "dependent",
                    employer: Some("霞が関商事株式会社"),
                    ..q(
                        KYOKAI_TOKYO,
                        Some("1006"),
                        "2006",
                        Some("01"),
                        years_ago(today, 4, 19),
                        None,
                    )
                }],
            },
        ),
        (
            "elderly",
            "70〜74歳：高齢受給者 2割",
            "1",
            P {
                person_ref: "R-ELDERLY",
                name: "中村 修",
                kana: "ナカムラ オサム",
                birth: years_ago(today, 72, 40),
                sex: "male",
                address: "東京都千代田区一番町5番",
                card: Some(("DEMO-ELDERLY", far, None)),
                quals: vec![Q {
                    ratio: Some(20),
                    ..q(
                        KOKUHO_CHIYODA,
                        Some("千代田"),
                        "4007",
                        Some("00"),
                        years_ago(today, 10, 0),
                        None,
                    )
                }],
            },
        ),
        (
            "kouki",
            "後期高齢者医療 1割",
            "1",
            P {
                person_ref: "R-KOUKI",
                name: "小林 茂",
                kana: "コバヤシ シゲル",
                birth: years_ago(today, 81, 60),
                sex: "male",
                address: "兵庫県神戸市中央区加納町6丁目5番1号",
                card: Some(("DEMO-KOUKI", far, None)),
                quals: vec![Q {
                    ratio: Some(10),
                    ..q(
                        KOUKI_HYOGO,
                        None,
                        "50000008",
                        None,
                        years_ago(today, 6, 60),
                        None,
                    )
                }],
            },
        ),
        (
            "twin_a",
            "双子：枝番なしの記号番号照会は複数該当",
            "5",
            P {
                person_ref: "R-TWIN-A",
                name: "加藤 蓮",
                kana: "カトウ レン",
                birth: twins_birth,
                sex: "male",
                address: "東京都新宿区西新宿3丁目3番3号",
                card: None,
                quals: vec![Q {
                    relation: "dependent",
                    ..q(
                        KYOKAI_TOKYO,
                        Some("1008"),
                        "2008",
                        Some("02"),
                        twins_birth,
                        None,
                    )
                }],
            },
        ),
        (
            "twin_b",
            "双子のもう一人",
            "1",
            P {
                person_ref: "R-TWIN-B",
                name: "加藤 湊",
                kana: "カトウ ミナト",
                birth: twins_birth,
                sex: "male",
                address: "東京都新宿区西新宿3丁目3番3号",
                card: None,
                quals: vec![Q {
                    relation: "dependent",
                    ..q(
                        KYOKAI_TOKYO,
                        Some("1008"),
                        "2008",
                        Some("03"),
                        twins_birth,
                        None,
                    )
                }],
            },
        ),
    ];
    let mut persons = Vec::new();
    let mut cases = Vec::new();
    for (key, title, expect, p) in &people {
        let fp: FixturePerson = serde_json::from_value(to_json(p))
            .map_err(|_| onshi_core::ParseErrorKind::Empty.at("demo"))?;
        let numbers = match *key {
            "changed" | "twin_a" | "twin_b" => {
                let first: &FixtureQualification = &fp.qualifications[0];
                Some(DemoNumbers {
                    insurer_number: first.insurer_number.to_string(),
                    insured_symbol: first.symbol.as_ref().map(ToString::to_string),
                    insured_number: first.number.to_string(),
                    insured_branch: if *key == "twin_a" {
                        None
                    } else {
                        first.branch.map(|b| b.to_string())
                    },
                    birth_date: p.birth,
                })
            }
            _ => None,
        };
        cases.push(DemoCase {
            key,
            title,
            name: p.name.to_owned(),
            certificate_serial: p.card.map(|(s, _, _)| s.to_owned()),
            numbers,
            expect,
        });
        persons.push(fp);
    }
    let insurer = |n: &str, name: &str| -> Result<FixtureInsurer, ParseError> {
        Ok(FixtureInsurer {
            number: InsurerNumber::parse(n)?,
            name: name.to_owned(),
        })
    };
    let fixture = Fixture {
        insurers: vec![
            insurer(KYOKAI_TOKYO, "全国健康保険協会東京支部")?,
            insurer(KOUKI_HYOGO, "兵庫県後期高齢者医療広域連合")?,
            insurer(KUMIAI_TOKYO, "みなと運輸健康保険組合")?,
            insurer(KOKUHO_CHIYODA, "東京都千代田区国民健康保険")?,
        ],
        institutions: vec![
            FixtureInstitution {
                code: InstitutionCode::parse(CLINIC_CODE)?,
                name: CLINIC_NAME.into(),
                phone: Some("03-0000-1234".into()),
            },
            FixtureInstitution {
                code: InstitutionCode::parse(OTHER_CLINIC_CODE)?,
                name: "梅田デモ薬局".into(),
                phone: Some("06-0000-5678".into()),
            },
        ],
        persons,
    };
    Ok((fixture, cases))
}
