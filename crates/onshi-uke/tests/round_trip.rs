//! write → read round trips and the exact records written.

mod common;

use common::*;
use onshi_core::Payer;
use onshi_core::claim::InsurerBasis;
use onshi_payer::claim::Claim;
use onshi_uke::{UkeInstitution, chart_number, layout, read_uke, receipt_kind, write_uke};

/// The claim with the chart number the file carries in place of its id.
fn with_chart(c: &Claim) -> Claim {
    Claim {
        claim_id: chart_number(c),
        ..c.clone()
    }
}

#[test]
fn shaho_claims_round_trip() {
    let inst = institution(Payer::ShiharaiKikin);
    let claims = shaho_claims();
    for c in &claims {
        c.validate().unwrap();
    }
    let bytes = write_uke(&inst, &claims).unwrap();
    let (inst_back, back) = read_uke(&bytes).unwrap();
    assert_eq!(inst_back, inst);
    let expected: Vec<_> = claims.iter().map(as_carried).collect();
    assert_eq!(back, expected);
    // The carried view changes only what the file cannot hold: the
    // claim_id (the file has its chart number) and the basis.
    assert_ne!(back[0].claim_id, claims[0].claim_id);
    assert_eq!(back[0], with_chart(&claims[0]));
    assert_eq!(
        back[1].insurer.basis,
        InsurerBasis::Confirmed,
        "旧資格 reads as Confirmed"
    );
    assert_eq!(
        back[3].insurer.basis,
        InsurerBasis::Confirmed,
        "口頭 reads as Confirmed"
    );
    // 不詳 comes back whole, its 摘要 in 全角 (a 漢字 field).
    assert_eq!(
        back[5],
        Claim {
            tekiyo: claims[5]
                .tekiyo
                .iter()
                .map(|t| onshi_uke::width::to_zenkaku(t))
                .collect(),
            ..with_chart(&claims[5])
        }
    );
    assert_eq!(back[5].tekiyo[6], "連絡先：０９０－００００－１２３４");
    assert_eq!(back[2].diagnoses.len(), 3);
}

#[test]
fn kokuho_claims_round_trip() {
    let inst = institution(Payer::Kokuhoren);
    let claims = kokuho_claims();
    for c in &claims {
        c.validate().unwrap();
    }
    let bytes = write_uke(&inst, &claims).unwrap();
    let (inst_back, back) = read_uke(&bytes).unwrap();
    assert_eq!(inst_back, inst);
    assert_eq!(back, claims.iter().map(as_carried).collect::<Vec<_>>());
    // Apart from the id, every field of the claims without 摘要 is carried.
    for i in 0..3 {
        assert_eq!(back[i], with_chart(&claims[i]), "{}", claims[i].claim_id);
    }
}

#[test]
fn records_as_written() {
    let inst = institution(Payer::ShiharaiKikin);
    let claims = shaho_claims();
    let bytes = write_uke(&inst, &claims).unwrap();
    let recs = records(&bytes);
    assert_eq!(
        recs[0],
        "IR,1,13,1,1234567,,あおば内科クリニック,202612,00,03-1234-5678"
    );
    let ids: Vec<&str> = recs.iter().map(|r| &r[..2]).collect();
    assert_eq!(
        ids[..9],
        ["IR", "RE", "HO", "SN", "JD", "MF", "SY", "RE", "HO"],
        "IR, then RE HO SN JD MF SY… CO… per claim"
    );
    assert_eq!(*ids.last().unwrap(), "GO");

    let re: Vec<&str> = recs[1].split(',').collect();
    assert_eq!(re.len(), layout::RE.field_count());
    // 給付割合 empty: 社保, and 1112 already says 3割.
    assert_eq!(
        re[..8],
        [
            "RE",
            "1",
            "1112",
            "202611",
            "山田　太郎",
            "1",
            "19800401",
            ""
        ]
    );
    let chart = re[layout::re::CHART];
    assert_eq!(chart, chart_number(&claims[0]));
    assert!(chart.len() == 16 && chart.bytes().all(|b| b.is_ascii_digit()));
    // The last all-digit field of RE is the chart number.
    let last_digits = re
        .iter()
        .rev()
        .find(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(last_digits, Some(&chart));
    assert_eq!(re[layout::re::KANA], "ヤマダタロウ");
    assert_eq!(recs[2], "HO,01130012,１１０１,２３,2,1234,,,,,,3700,,,");
    assert_eq!(recs[3], "SN,1,01,,,,00,,");
    let mut jd = vec!["JD", "1"];
    jd.extend((1..=31).map(|d| if d == 4 || d == 18 { "1" } else { "" }));
    assert_eq!(recs[4], jd.join(","));
    assert_eq!(recs[5], format!("MF,00{}", ",".repeat(31)));
    assert_eq!(recs[6], "SY,0000999,20261104,1,,高血圧症,,");

    // 不詳: 77777777, no 記号, 777777777, no 枝番, 摘要 from 「不詳」.
    let unknown_at = recs.iter().position(|r| r.starts_with("RE,6,")).unwrap();
    assert_eq!(
        recs[unknown_at + 1],
        "HO,77777777,,７７７７７７７７７,1,288,,,,,,860,,,"
    );
    assert_eq!(recs[unknown_at + 2], "SN,1,01,,,,,,");
    assert_eq!(recs[unknown_at + 5], "CO,99,1,810000001,不詳");
    assert_eq!(
        recs[unknown_at + 10],
        "CO,99,1,810000001,住所：東京都世田谷区三軒茶屋１－１－１"
    );
    assert_eq!(
        recs[unknown_at + 11],
        "CO,99,1,810000001,連絡先：０９０－００００－１２３４",
        "CO 文字データ is a 漢字 field"
    );

    let total: u64 = claims.iter().map(|c| c.points).sum();
    assert_eq!(recs.last().unwrap(), &format!("GO,6,{total},99"));
}

#[test]
fn kokuho_six_digits_are_right_aligned_and_kouki_has_eight() {
    let bytes = write_uke(&institution(Payer::Kokuhoren), &kokuho_claims()).unwrap();
    let recs = records(&bytes);
    assert!(recs[0].starts_with("IR,2,13,1,"));
    let ho: Vec<&String> = recs.iter().filter(|r| r.starts_with("HO,")).collect();
    let six = kokuho6();
    assert_eq!(six.len(), 6);
    assert_eq!(
        ho[0],
        &format!("HO,  {six},世田,９８７６５,2,1234,,,,,,3700,,,")
    );
    assert_eq!(ho[1], "HO,39280003,,１２３４５６７８,2,1234,,,,,,1230,,,");
    assert_eq!(ho[3], "HO,77777779,,７７７７７７７７,2,1234,,,,,,1230,,,");
}

#[test]
fn receipt_kinds() {
    let kinds: Vec<&str> = shaho_claims().iter().map(receipt_kind).collect();
    // 本人, 本人 (旧資格), 未就学者, 家族 (枝番 01), 高齢受給者一般, 不詳 本人.
    assert_eq!(kinds, ["1112", "1112", "1114", "1116", "1118", "1112"]);
    let kinds: Vec<&str> = kokuho_claims().iter().map(receipt_kind).collect();
    // 国保 本人, 後期 1割, 後期 3割 (7割給付), 不詳 後期 (番号 77777777).
    assert_eq!(kinds, ["1112", "1318", "1310", "1318"]);
    let mut elderly3 = shaho_claims().remove(4);
    elderly3.burden_ratio_percent = 30;
    assert_eq!(receipt_kind(&elderly3), "1110");
}

#[test]
fn crlf_line_ends_and_eof() {
    let bytes = write_uke(&institution(Payer::ShiharaiKikin), &shaho_claims()).unwrap();
    assert_eq!(bytes.last(), Some(&0x1A), "EOF byte at the end");
    assert_eq!(&bytes[bytes.len() - 3..], b"\r\n\x1A");
    let body = &bytes[..bytes.len() - 1];
    for (i, &b) in body.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(body[i - 1], b'\r', "LF at {i} without CR");
        }
        if b == b'\r' {
            assert_eq!(body.get(i + 1), Some(&b'\n'), "CR at {i} without LF");
        }
    }
    // The reader takes the file without the EOF byte too.
    assert_eq!(read_uke(body).unwrap(), read_uke(&bytes).unwrap());
}

#[test]
fn go_totals() {
    let inst = institution(Payer::Kokuhoren);
    let claims = kokuho_claims();
    let bytes = write_uke(&inst, &claims).unwrap();
    let recs = records(&bytes);
    let sum: u64 = claims.iter().map(|c| c.points).sum();
    assert_eq!(
        recs.last().unwrap(),
        &format!("GO,{},{sum},99", claims.len())
    );
    // An empty file is IR and GO only.
    let empty = write_uke(&inst, &[]).unwrap();
    assert_eq!(records(&empty)[1], "GO,0,0,99");
    assert_eq!(read_uke(&empty).unwrap(), (inst, vec![]));
}

#[test]
fn what_the_file_does_not_carry() {
    let mut inst = institution(Payer::ShiharaiKikin);
    inst.billing_month = d("2026-12-15");
    inst.phone = None;
    let mut c = shaho_claims().remove(0);
    c.patient.kana = Some("ヤマダ タロウ".into());
    c.visit_dates = vec![d("2026-11-18"), d("2026-11-04"), d("2026-11-18")];
    let bytes = write_uke(&inst, std::slice::from_ref(&c)).unwrap();
    let (i, back) = read_uke(&bytes).unwrap();
    assert_eq!(
        i,
        UkeInstitution {
            billing_month: d("2026-12-01"),
            ..inst
        }
    );
    assert_eq!(back[0].patient.kana.as_deref(), Some("ヤマダタロウ"));
    assert_eq!(back[0].visit_dates, [d("2026-11-04"), d("2026-11-18")]);
    assert_eq!(
        records(&bytes)[2],
        "HO,01130012,１１０１,２３,2,1234,,,,,,3700,,,",
        "実日数 counts days"
    );
    assert_eq!(back[0], as_carried(&c));
}

#[test]
fn through_a_file_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RECEIPTC.UKE");
    let inst = institution(Payer::ShiharaiKikin);
    let claims = shaho_claims();
    std::fs::write(&path, write_uke(&inst, &claims).unwrap()).unwrap();
    let (i, back) = read_uke(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(i, inst);
    assert_eq!(back, claims.iter().map(as_carried).collect::<Vec<_>>());
}

#[test]
fn write_refuses_claims_that_do_not_belong() {
    let inst = institution(Payer::ShiharaiKikin);
    let kokuho = kokuho_claims().remove(0);
    let e = write_uke(&inst, &[kokuho]).unwrap_err();
    assert_eq!(e.code(), "invalid_claim");
    assert!(
        matches!(&e, onshi_uke::UkeError::InvalidClaim { code, index: 1, .. } if code == "payer_mismatch")
    );

    let mut other = shaho_claims().remove(0);
    other.institution_code = "1311234568".into();
    let e = write_uke(&inst, &[other]).unwrap_err();
    assert!(
        matches!(&e, onshi_uke::UkeError::InvalidClaim { code, .. } if code == "institution_mismatch")
    );

    let mut no_visit = shaho_claims().remove(0);
    no_visit.visit_dates.clear();
    let e = write_uke(&inst, &[shaho_claims().remove(0), no_visit]).unwrap_err();
    assert!(
        matches!(&e, onshi_uke::UkeError::InvalidClaim { code, index: 2, .. } if code == "missing_field")
    );
    assert!(
        e.to_string().contains("2件目のレセプト（G1-00000001）"),
        "{e}"
    );

    let mut unknown_with_symbol = shaho_claims().remove(5);
    unknown_with_symbol.insurer.symbol = Some("1".into());
    let e = write_uke(&inst, &[unknown_with_symbol]).unwrap_err();
    assert!(
        matches!(&e, onshi_uke::UkeError::InvalidClaim { code, .. } if code == "invalid_unknown_claim")
    );

    // Two claims of one month whose chart numbers are the same would read
    // back as one id: refused.
    let twice = vec![shaho_claims().remove(0), shaho_claims().remove(0)];
    let e = write_uke(&inst, &twice).unwrap_err();
    assert!(
        matches!(&e, onshi_uke::UkeError::InvalidClaim { code, index: 2, .. } if code == "chart_number_collision"),
        "{e:?}"
    );

    let mut branch = shaho_claims().remove(0);
    branch.insurer.branch = Some("1".into());
    let e = write_uke(&inst, &[branch]).unwrap_err();
    assert!(
        matches!(&e, onshi_uke::UkeError::InvalidClaim { code, .. } if code == "invalid_branch")
    );
}

#[test]
fn write_refuses_a_bad_institution() {
    let mut inst = institution(Payer::ShiharaiKikin);
    inst.institution_code = "1331234567".into();
    let e = write_uke(&inst, &[]).unwrap_err();
    assert_eq!(e.code(), "invalid_institution");
    assert!(e.to_string().contains("点数表"), "{e}");
    inst.institution_code = "13123".into();
    assert_eq!(
        write_uke(&inst, &[]).unwrap_err().code(),
        "invalid_institution"
    );
    let mut long = institution(Payer::ShiharaiKikin);
    long.name = "あ".repeat(21);
    let e = write_uke(&long, &[]).unwrap_err();
    assert_eq!(e.code(), "field_too_long");
    assert!(e.to_string().contains("IRレコードの医療機関名称"), "{e}");
}

#[test]
fn any_claim_id_is_written_as_a_stable_all_digit_chart_number() {
    let inst = institution(Payer::ShiharaiKikin);
    let mut c = shaho_claims().remove(0);
    // Longer than the field and not ASCII: written as its chart number.
    c.claim_id = "202611-key-患者0123456789-0123456789".into();
    let bytes = write_uke(&inst, std::slice::from_ref(&c)).unwrap();
    let (_, back) = read_uke(&bytes).unwrap();
    let chart = chart_number(&c);
    assert_eq!(back[0].claim_id, chart);
    assert_eq!(chart.len(), 16);
    // The same patient key in another month keeps its number; an all-digit
    // id is its own number; another key gets another number.
    let mut next = c.clone();
    next.claim_month = "2026-12".into();
    next.claim_id = "202612-key-患者0123456789-0123456789".into();
    assert_eq!(chart_number(&next), chart);
    let mut digits = c.clone();
    digits.claim_id = "00697".into();
    assert_eq!(chart_number(&digits), "00697");
    let mut other = c.clone();
    other.claim_id = "202611-key-B".into();
    assert_ne!(chart_number(&other), chart);
    // Fixed values: the number does not depend on the platform or release.
    let mut g1 = c.clone();
    g1.claim_id = "G1-00000001".into();
    // FNV-1a of "G1-00000001" is 0xe96f9d8fcb90a4bb; its last 16 digits.
    assert_eq!(chart_number(&g1), "0836374173230267");
}

#[test]
fn names_and_benefit_ratios_as_the_layout_asks() {
    let inst = institution(Payer::ShiharaiKikin);
    let re_of = |c: &Claim, inst: &UkeInstitution| -> Vec<String> {
        let recs = records(&write_uke(inst, std::slice::from_ref(c)).unwrap());
        recs[1].split(',').map(String::from).collect()
    };
    // 氏名: an ASCII space between 姓 and 名 becomes 全角 in a 漢字 name; a
    // name of 1-byte characters only stays 英数.
    let mut c = shaho_claims().remove(0);
    c.patient.name = "山田 太郎".into();
    assert_eq!(re_of(&c, &inst)[4], "山田　太郎");
    c.patient.name = "SMITH JOHN".into();
    assert_eq!(re_of(&c, &inst)[4], "SMITH JOHN");
    c.patient.name = "ｽﾐｽ ｼﾞｮﾝ".into();
    assert_eq!(
        re_of(&c, &inst)[4],
        "ｽﾐｽ ｼﾞｮﾝ",
        "半角カナ is 1-byte 英数 too"
    );
    c.patient.name = "山田 ﾀﾛｳ".into();
    assert_eq!(re_of(&c, &inst)[4], "山田　タロウ", "never mixed");

    // 給付割合: empty for 社保 and 後期 when the レセプト種別 says it; written
    // for 国保, and where only it can say the burden.
    let benefit = |c: &Claim, inst: &UkeInstitution| re_of(c, inst)[7].clone();
    let shaho = shaho_claims();
    for c in &shaho {
        assert_eq!(benefit(c, &inst), "", "{}", c.claim_id);
    }
    let mut full = shaho[0].clone();
    full.burden_ratio_percent = 100;
    full.patient_paid_yen = 12340;
    assert_eq!(benefit(&full, &inst), "0", "10割");
    let mut preschool30 = shaho[2].clone();
    preschool30.burden_ratio_percent = 30;
    assert_eq!(benefit(&preschool30, &inst), "70", "1114 would read as 2割");

    let kinst = institution(Payer::Kokuhoren);
    let kokuho = kokuho_claims();
    assert_eq!(benefit(&kokuho[0], &kinst), "70", "国保");
    assert_eq!(benefit(&kokuho[1], &kinst), "", "後期 1割 (1318)");
    assert_eq!(benefit(&kokuho[2], &kinst), "", "後期 3割 (1310)");
    assert_eq!(benefit(&kokuho[3], &kinst), "", "不詳 後期 1割");
    let mut kouki2 = kokuho[1].clone();
    kouki2.burden_ratio_percent = 20;
    assert_eq!(
        benefit(&kouki2, &kinst),
        "80",
        "後期 2割: 1318 alone reads as 1割"
    );
    let mut kokuho_child = kokuho[0].clone();
    kokuho_child.patient.birth_date = d("2022-05-10");
    kokuho_child.burden_ratio_percent = 20;
    assert_eq!(benefit(&kokuho_child, &kinst), "80");
    // Each reads back as the burden it was written with.
    for (c, i) in [
        (&full, &inst),
        (&preschool30, &inst),
        (&kouki2, &kinst),
        (&kokuho_child, &kinst),
    ] {
        let (_, back) = read_uke(&write_uke(i, std::slice::from_ref(c)).unwrap()).unwrap();
        assert_eq!(back[0].burden_ratio_percent, c.burden_ratio_percent);
    }
}
