//! Fixtures shared by the integration tests.
#![allow(dead_code)]

use chrono::NaiveDate;
use onshi_core::claim::{
    ClaimInsurer, InsurerBasis, UNKNOWN_INSURER, UNKNOWN_INSURER_CHECKED, UNKNOWN_NUMBER,
    UNKNOWN_NUMBER_KOUKI, is_unknown_insurer,
};
use onshi_core::{InsurerNumber, Payer, Sex};
use onshi_payer::claim::{Claim, ClaimPatient};
use onshi_uke::UkeInstitution;

pub const INSTITUTION: &str = "1311234567";

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn institution(payer: Payer) -> UkeInstitution {
    UkeInstitution {
        payer,
        institution_code: INSTITUTION.into(),
        name: "あおば内科クリニック".into(),
        phone: Some("03-1234-5678".into()),
        billing_month: d("2026-12-01"),
    }
}

/// A 6-digit 国保 number (東京都, 保険者別 800) with its 検証番号.
pub fn kokuho6() -> String {
    InsurerNumber::from_body("13800").unwrap().to_string()
}

/// A 共済組合 number (法別 31, 東京都) with its 検証番号.
pub fn kyosai() -> String {
    InsurerNumber::from_body("3113001").unwrap().to_string()
}

pub fn insurer(
    number: &str,
    symbol: Option<&str>,
    no: &str,
    branch: Option<&str>,
    basis: InsurerBasis,
) -> ClaimInsurer {
    ClaimInsurer {
        insurer_number: number.into(),
        symbol: symbol.map(Into::into),
        number: no.into(),
        branch: branch.map(Into::into),
        basis,
    }
}

pub fn claim(id: &str, payer: Payer, ins: ClaimInsurer) -> Claim {
    Claim {
        claim_id: id.into(),
        institution_code: INSTITUTION.into(),
        claim_month: "2026-11".into(),
        payer,
        patient: ClaimPatient {
            name: "山田　太郎".into(),
            kana: Some("ヤマダタロウ".into()),
            sex: Sex::Male,
            birth_date: d("1980-04-01"),
        },
        insurer: ins,
        burden_ratio_percent: 30,
        visit_dates: vec![d("2026-11-04"), d("2026-11-18")],
        points: 1234,
        patient_paid_yen: 3700,
        tekiyo: vec![],
        diagnoses: vec!["高血圧症".into()],
    }
}

pub fn unknown_tekiyo() -> Vec<String> {
    [
        "不詳",
        "カナ氏名：スズキ イチロウ",
        "保険種別：社保",
        "保険者等名称：不明",
        "事業所名：株式会社あおば商事",
        "住所：東京都世田谷区三軒茶屋１－１－１",
        "連絡先：090-0000-1234",
        "患者への連絡を行った日：令和8年12月1日",
    ]
    .map(String::from)
    .to_vec()
}

/// Claims sent to 支払基金: confirmed 本人, lost qualification, a dependant
/// child with several diagnoses, a 70–74 高齢受給者, a 不詳.
pub fn shaho_claims() -> Vec<Claim> {
    let p = Payer::ShiharaiKikin;
    let confirmed = claim(
        "G1-00000001",
        p,
        insurer(
            "01130012",
            Some("1101"),
            "23",
            Some("00"),
            InsurerBasis::Confirmed,
        ),
    );
    let mut lost = claim(
        "G1-00000002",
        p,
        insurer(
            "06130017",
            Some("あいう"),
            "456",
            Some("00"),
            InsurerBasis::LostQualification,
        ),
    );
    lost.patient.name = "髙橋　①子".into();
    lost.patient.sex = Sex::Female;
    lost.patient.kana = Some("タカハシイチコ".into());
    let mut child = claim(
        "G1-00000003",
        p,
        insurer(
            "01130012",
            Some("1101"),
            "23",
            Some("02"),
            InsurerBasis::Confirmed,
        ),
    );
    child.patient.name = "山田　花".into();
    child.patient.kana = None;
    child.patient.sex = Sex::Female;
    child.patient.birth_date = d("2022-05-10");
    child.burden_ratio_percent = 20;
    child.patient_paid_yen = 2470;
    child.diagnoses = vec![
        "急性上気道炎".into(),
        "アトピー性皮膚炎".into(),
        "便秘症".into(),
    ];
    let mut spouse = claim(
        "G1-00000004",
        p,
        insurer(
            "01130012",
            Some("1101"),
            "23",
            Some("01"),
            InsurerBasis::ToldOrally,
        ),
    );
    spouse.patient.name = "山田　花子".into();
    spouse.patient.sex = Sex::Female;
    spouse.patient.birth_date = d("1982-07-07");
    let mut elderly = claim(
        "G1-00000005",
        p,
        insurer(
            &kyosai(),
            Some("12"),
            "345",
            Some("00"),
            InsurerBasis::Confirmed,
        ),
    );
    elderly.patient.birth_date = d("1954-03-15");
    elderly.burden_ratio_percent = 20;
    elderly.patient_paid_yen = 2470;
    let mut unknown = claim(
        "G1-00000006",
        p,
        insurer(
            UNKNOWN_INSURER,
            None,
            UNKNOWN_NUMBER,
            None,
            InsurerBasis::Unknown,
        ),
    );
    unknown.patient.name = "鈴木　一郎".into();
    unknown.patient.kana = Some("スズキイチロウ".into());
    unknown.tekiyo = unknown_tekiyo();
    unknown.diagnoses = vec![];
    unknown.visit_dates = vec![d("2026-11-30")];
    unknown.points = 288;
    unknown.patient_paid_yen = 860;
    vec![confirmed, lost, child, spouse, elderly, unknown]
}

/// Claims sent to 国保連: a 6-digit 国保, a 後期 (8-digit 番号, 1割), a 後期
/// 3割, a 不詳 後期 with 77777779.
pub fn kokuho_claims() -> Vec<Claim> {
    let p = Payer::Kokuhoren;
    let kokuho = claim(
        "K-1",
        p,
        insurer(
            &kokuho6(),
            Some("世田"),
            "98765",
            Some("00"),
            InsurerBasis::Confirmed,
        ),
    );
    let mut kouki = claim(
        "K-2",
        p,
        insurer("39280003", None, "12345678", None, InsurerBasis::Confirmed),
    );
    kouki.patient.birth_date = d("1940-01-01");
    kouki.burden_ratio_percent = 10;
    kouki.patient_paid_yen = 1230;
    let mut kouki3 = kouki.clone();
    kouki3.claim_id = "K-3".into();
    kouki3.burden_ratio_percent = 30;
    kouki3.patient_paid_yen = 3700;
    let mut unknown_kouki = claim(
        "K-4",
        p,
        insurer(
            UNKNOWN_INSURER_CHECKED,
            None,
            UNKNOWN_NUMBER_KOUKI,
            None,
            InsurerBasis::Unknown,
        ),
    );
    unknown_kouki.patient.birth_date = d("1945-02-03");
    unknown_kouki.burden_ratio_percent = 10;
    unknown_kouki.patient_paid_yen = 1230;
    unknown_kouki.tekiyo = unknown_tekiyo();
    vec![kokuho, kouki, kouki3, unknown_kouki]
}

/// What a claim reads back as. The file does not carry the basis (7s →
/// Unknown, else Confirmed), the number's padding, empty optionals, the kana
/// space or the order of visit dates; it carries the [`chart_number`], not
/// the claim_id; text comes back after the three CP932 mappings and in the
/// form the writer gives it: 全角 in the 漢字 fields (摘要, 傷病名), 全角 in a
/// 氏名 that is not all 1-byte characters, and 記号・番号 folded back from 全角 (so
/// ASCII stays ASCII and 半角カナ comes back 全角).
///
/// [`chart_number`]: onshi_uke::chart_number
pub fn as_carried(c: &Claim) -> Claim {
    use onshi_uke::width::{fold_alnum, to_zenkaku};
    let map = |s: &str| s.chars().map(onshi_uke::sjis::premap).collect::<String>();
    let kanji = |s: &str| to_zenkaku(&map(s));
    let mut c = c.clone();
    c.claim_id = onshi_uke::chart_number(&c);
    c.insurer.insurer_number = c.insurer.insurer_number.trim_start().to_owned();
    c.insurer.basis = if is_unknown_insurer(&c.insurer.insurer_number) {
        InsurerBasis::Unknown
    } else {
        InsurerBasis::Confirmed
    };
    c.insurer.symbol = c
        .insurer
        .symbol
        .as_deref()
        .map(|s| fold_alnum(&kanji(s)))
        .filter(|s| !s.is_empty());
    c.insurer.number = fold_alnum(&kanji(&c.insurer.number));
    c.patient.name = if c.patient.name.chars().all(onshi_uke::width::is_one_byte) {
        c.patient.name.clone()
    } else {
        kanji(&c.patient.name)
    };
    c.patient.kana = c
        .patient
        .kana
        .as_deref()
        .map(|k| {
            map(k)
                .chars()
                .filter(|&ch| ch != ' ' && ch != '\u{3000}')
                .collect::<String>()
        })
        .filter(|s| !s.is_empty());
    c.visit_dates.sort();
    c.visit_dates.dedup();
    c.tekiyo = c.tekiyo.iter().map(|s| kanji(s)).collect();
    c.diagnoses = c.diagnoses.iter().map(|s| kanji(s)).collect();
    c
}

/// The institution as read back: the name in 全角 (a 漢字 field), the
/// billing month as its first day.
pub fn inst_as_carried(i: &UkeInstitution) -> UkeInstitution {
    use chrono::Datelike;
    UkeInstitution {
        name: onshi_uke::width::to_zenkaku(&i.name),
        billing_month: i.billing_month.with_day(1).unwrap(),
        ..i.clone()
    }
}

/// The file as text (without the EOF byte), for assertions and edits.
pub fn text(bytes: &[u8]) -> String {
    let body = bytes.strip_suffix(&[0x1A]).unwrap_or(bytes);
    let (s, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(body);
    assert!(!had_errors);
    s.into_owned()
}

/// Text back to file bytes (with the EOF byte).
pub fn bytes(text: &str) -> Vec<u8> {
    let (b, _, had_errors) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!had_errors);
    let mut v = b.into_owned();
    v.push(0x1A);
    v
}

/// The file's records as lines (without CR LF).
pub fn records(bytes: &[u8]) -> Vec<String> {
    text(bytes)
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}
