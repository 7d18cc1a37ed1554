//! write → read round trips and the exact records written.

mod common;

use common::*;
use onshi_core::Payer;
use onshi_core::claim::InsurerBasis;
use onshi_uke::{UkeInstitution, layout, read_uke, receipt_kind, write_uke};

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
    // The carried view changes only what the file cannot hold: the basis.
    assert_eq!(back[0], claims[0]);
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
    assert_eq!(back[5], claims[5], "不詳 comes back whole");
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
    assert_eq!(back, claims, "every field of these claims is carried");
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
            "70"
        ]
    );
    assert_eq!(re[layout::re::CHART], "G1-00000001");
    assert_eq!(re[layout::re::KANA], "ヤマダタロウ");
    assert_eq!(recs[2], "HO,01130012,1101,23,2,1234,,,,,,3700,,,");
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
        "HO,77777777,,777777777,1,288,,,,,,860,,,"
    );
    assert_eq!(recs[unknown_at + 2], "SN,1,01,,,,,,");
    assert_eq!(recs[unknown_at + 5], "CO,99,1,810000001,不詳");
    assert_eq!(
        recs[unknown_at + 10],
        "CO,99,1,810000001,住所：東京都世田谷区三軒茶屋１－１－１"
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
    assert_eq!(ho[0], &format!("HO,  {six},世田,98765,2,1234,,,,,,3700,,,"));
    assert_eq!(ho[1], "HO,39280003,,12345678,2,1234,,,,,,1230,,,");
    assert_eq!(ho[3], "HO,77777779,,77777777,2,1234,,,,,,1230,,,");
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
        "HO,01130012,1101,23,2,1234,,,,,,3700,,,",
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

    let mut long_id = shaho_claims().remove(0);
    long_id.claim_id = "0123456789-0123456789".into();
    let e = write_uke(&inst, &[long_id]).unwrap_err();
    assert!(
        matches!(&e, onshi_uke::UkeError::InvalidClaim { code, .. } if code == "claim_id_not_representable")
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
