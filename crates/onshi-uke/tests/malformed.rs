//! Malformed input to read_uke: each refused with the documented code; what
//! a real file carries that onshi does not read (SI, IY, a record id onshi
//! has never heard of, the 公費 SN) kept as it is.

mod common;

use common::*;
use onshi_core::Payer;
use onshi_uke::{UkeError, UkeFile, claims_for_run, read_uke, write_uke};

fn valid() -> Vec<u8> {
    write_uke(&institution(Payer::ShiharaiKikin), &shaho_claims()).unwrap()
}

/// The file with line `i` (0-based record index) replaced.
fn with_record(i: usize, new: &str) -> Vec<u8> {
    let mut recs = records(&valid());
    recs[i] = new.to_owned();
    bytes(&(recs.join("\r\n") + "\r\n"))
}

fn with_inserted(i: usize, new: &str) -> Vec<u8> {
    let mut recs = records(&valid());
    recs.insert(i, new.to_owned());
    bytes(&(recs.join("\r\n") + "\r\n"))
}

/// `file` with field `field` of record `rec` (0-based) set to `value`.
fn with_field(file: &[u8], rec: usize, field: usize, value: &str) -> Vec<u8> {
    let mut recs = records(file);
    let mut fields: Vec<String> = recs[rec].split(',').map(String::from).collect();
    fields[field] = value.to_owned();
    recs[rec] = fields.join(",");
    bytes(&(recs.join("\r\n") + "\r\n"))
}

fn malformed_at(e: &UkeError) -> (usize, &str) {
    match e {
        UkeError::MalformedRecord { line, record, .. } => (*line, record.as_str()),
        other => panic!("not malformed_record: {other:?}"),
    }
}

#[test]
fn every_truncation_is_refused() {
    let file = valid();
    for n in 0..file.len() - 1 {
        let r = read_uke(&file[..n]);
        assert!(
            r.is_err(),
            "a file cut at {n} of {} was accepted",
            file.len()
        );
    }
    // Cut inside a record: the line has no CR LF.
    let e = read_uke(&file[..40]).unwrap_err();
    assert_eq!(e.code(), "malformed_record");
    assert!(e.to_string().contains("途中で切れています"), "{e}");
    // Cut after a whole record: no GO.
    let first_line_end = file.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    assert_eq!(
        read_uke(&file[..first_line_end]).unwrap_err(),
        UkeError::MissingRecord {
            record: "GO",
            claim_line: None
        }
    );
    assert_eq!(read_uke(&[]).unwrap_err().code(), "missing_record");
    assert_eq!(read_uke(&[0x1A]).unwrap_err().code(), "missing_record");
}

#[test]
fn too_few_fields() {
    let e = read_uke(&with_record(2, "HO,01130012,1101")).unwrap_err();
    assert_eq!(malformed_at(&e), (3, "HO"));
    assert!(e.to_string().contains("項目が3個しかありません"), "{e}");
    let e = read_uke(&with_record(0, "IR,1,13,1")).unwrap_err();
    assert_eq!(malformed_at(&e), (1, "IR"));
}

#[test]
fn dates_west_and_era() {
    let recs = records(&valid());
    // The older 和暦 form GYYMMDD reads as the same date.
    let showa = recs[1].replace(",19800401,", ",3550401,");
    let (_, back) = read_uke(&with_record(1, &showa)).unwrap();
    assert_eq!(back[0].patient.birth_date, d("1980-04-01"));
    let reiwa_month = recs[1].replace(",202611,", ",50811,");
    let (_, back) = read_uke(&with_record(1, &reiwa_month)).unwrap();
    assert_eq!(back[0].claim_month, "2026-11");
    // 平成31年5月1日 does not exist (that day is 令和元年5月1日).
    let bad_era = recs[1].replace(",19800401,", ",4310501,");
    let e = read_uke(&with_record(1, &bad_era)).unwrap_err();
    assert_eq!(malformed_at(&e), (2, "RE"));
    assert!(e.to_string().contains("生年月日「4310501」"), "{e}");
    // Era code 6, 13th month, 30 February.
    for bad in [",6550401,", ",19801301,", ",19800230,", ",1980041,"] {
        let e = read_uke(&with_record(1, &recs[1].replace(",19800401,", bad))).unwrap_err();
        assert_eq!(e.code(), "malformed_record", "{bad}");
    }
    let e = read_uke(&with_record(1, &recs[1].replace(",202611,", ",63011,"))).unwrap_err();
    assert_eq!(e.code(), "malformed_record");
}

#[test]
fn unknown_and_skipped_records() {
    // A record id onshi does not know is kept, in its place (it used to be
    // refused as unknown_record: real files carry records onshi does not
    // interpret, and a claims reader must pass them through).
    let with_zz = with_inserted(3, "ZZ,1,2");
    let (_, back) = read_uke(&with_zz).unwrap();
    assert_eq!(back, read_uke(&valid()).unwrap().1);
    let file = UkeFile::parse(&with_zz).unwrap();
    assert_eq!(file.to_bytes(), with_zz);
    let zz = &file.receipts()[0].records()[1];
    assert_eq!((zz.line(), zz.id(), zz.bytes()), (4, "ZZ", &b"ZZ,1,2"[..]));
    // What is not a record id at all is still refused.
    for (bad, id) in [("Z1,1", "Z1"), ("zz,1", "zz"), ("", ""), ("Ｚ,1", "Ｚ")] {
        let e = read_uke(&with_inserted(3, bad)).unwrap_err();
        assert_eq!(
            e,
            UkeError::UnknownRecord {
                line: 4,
                record: id.into()
            },
            "{bad}"
        );
    }
    // The SN and JD of a 公費 負担者 are kept, not read, whatever their
    // length.
    for other in ["JD,2,1,,1", "SN,3", "JD,5"] {
        let (_, back) = read_uke(&with_inserted(5, other)).unwrap();
        assert_eq!(back, read_uke(&valid()).unwrap().1, "{other}");
    }
    // SI/IY/TO (line items onshi's Claim does not hold) are kept, not read.
    let si = format!("SI,11,1,111000110,,288,1{}", ",".repeat(37));
    let (_, back) = read_uke(&with_inserted(6, &si)).unwrap();
    assert_eq!(back, read_uke(&valid()).unwrap().1);
    // KO (公費) on a receipt whose レセプト種別 says 医保単独 contradicts it
    // (it used to be refused as unsupported_record, whatever the kind).
    let ko = "KO,21136015,1234567,,2,1234,,,,,,";
    let e = read_uke(&with_inserted(3, ko)).unwrap_err();
    assert_eq!(malformed_at(&e), (2, "RE"));
    assert!(e.to_string().contains("医保単独"), "{e}");
    // As 1122 (医保＋公費 併用) the receipt reads: the claim is its 医保 part
    // and the KO stays in the file.
    let combined = with_field(&with_inserted(3, ko), 1, 2, "1122");
    let (_, back) = read_uke(&combined).unwrap();
    assert_eq!(back, read_uke(&valid()).unwrap().1);
    let parsed = UkeFile::parse(&combined).unwrap();
    assert_eq!(
        parsed.receipts()[0].facts().kouhi[0].burdener_number,
        "21136015"
    );
    // A 併用 kind without KO.
    let e = read_uke(&with_field(&valid(), 1, 2, "1122")).unwrap_err();
    assert_eq!(
        e,
        UkeError::MissingRecord {
            record: "KO",
            claim_line: Some(2)
        }
    );
    // A record before the first RE.
    let e = read_uke(&with_inserted(1, "HO,01130012,1,2,1,1,,,,,,0,,,")).unwrap_err();
    assert_eq!(malformed_at(&e), (2, "HO"));
    // A second IR.
    let e = read_uke(&with_inserted(3, &records(&valid())[0])).unwrap_err();
    assert_eq!(malformed_at(&e), (4, "IR"));
    // Anything after GO.
    let n = records(&valid()).len();
    let e = read_uke(&with_inserted(n, "CO,99,1,810000001,後")).unwrap_err();
    assert_eq!(e.code(), "malformed_record");
}

#[test]
fn missing_records() {
    let recs = records(&valid());
    let without = |id: &str| {
        let kept: Vec<&String> = recs.iter().filter(|r| !r.starts_with(id)).collect();
        bytes(
            &(kept
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\r\n")
                + "\r\n"),
        )
    };
    assert_eq!(
        read_uke(&without("IR")).unwrap_err(),
        UkeError::MissingRecord {
            record: "IR",
            claim_line: None
        }
    );
    assert_eq!(
        read_uke(&without("GO")).unwrap_err(),
        UkeError::MissingRecord {
            record: "GO",
            claim_line: None
        }
    );
    assert_eq!(
        read_uke(&without("HO")).unwrap_err(),
        UkeError::MissingRecord {
            record: "HO",
            claim_line: Some(2)
        }
    );
    let e = read_uke(&without("JD")).unwrap_err();
    assert_eq!(e.to_string(), "2行目のレセプトにJDレコードがありません");
}

#[test]
fn go_totals_must_match() {
    let recs = records(&valid());
    let n = recs.len() - 1;
    let (count, points) = {
        let go: Vec<&str> = recs[n].split(',').collect();
        (go[1].parse::<u64>().unwrap(), go[2].parse::<u64>().unwrap())
    };
    let e = read_uke(&with_record(n, &format!("GO,{},{points},99", count + 1))).unwrap_err();
    assert_eq!(
        e,
        UkeError::CountMismatch {
            line: n + 1,
            what: "GOの総件数",
            recorded: count + 1,
            counted: count
        }
    );
    let e = read_uke(&with_record(n, &format!("GO,{count},{},99", points - 1))).unwrap_err();
    assert_eq!(e.code(), "count_mismatch");
    assert!(e.to_string().contains("総合計点数"), "{e}");
    // A non-final volume.
    let e = read_uke(&with_record(n, &format!("GO,{count},{points},01"))).unwrap_err();
    assert_eq!(e.code(), "malformed_record");
    // HO 診療実日数 against the JD marks.
    let e = read_uke(&with_record(2, "HO,01130012,1101,23,3,1234,,,,,,3700,,,")).unwrap_err();
    assert_eq!(e.code(), "count_mismatch");
}

#[test]
fn bytes_that_are_not_cp932() {
    let file = valid();
    let at = file.windows(2).position(|w| w == b"\r\n").unwrap() + 2 + 10;
    let mut broken = file.clone();
    broken[at] = 0x81;
    broken[at + 1] = 0x20;
    assert_eq!(
        read_uke(&broken).unwrap_err(),
        UkeError::InvalidBytes {
            line: 2,
            offset: at
        }
    );
    let mut ff = file.clone();
    ff[5] = 0xFF;
    assert_eq!(read_uke(&ff).unwrap_err().code(), "invalid_bytes");
}

#[test]
fn line_ends_must_be_crlf() {
    let file = valid();
    let lf_only: Vec<u8> = file.iter().copied().filter(|&b| b != b'\r').collect();
    let e = read_uke(&lf_only).unwrap_err();
    assert_eq!(e.code(), "malformed_record");
    // A stray EOF byte inside the file.
    let mut stray = file.clone();
    stray.insert(5, 0x1A);
    assert_eq!(read_uke(&stray).unwrap_err().code(), "malformed_record");
}

#[test]
fn bad_codes() {
    let recs = records(&valid());
    let cases = [
        (1, recs[1].replace(",1112,", ",3112,")), // 歯科 レセプト種別
        (1, recs[1].replace(",1112,", ",1512,")), // 保険種別 5
        (1, recs[1].replace(",1112,", ",1162,")), // 3桁目 6
        (1, recs[1].replacen(",1,19800401", ",3,19800401", 1)), // 男女区分
        (3, "SN,1,1,,,,00,,".to_owned()),         // 確認区分 1 digit
        (3, "SN,1,01,,,,0,,".to_owned()),         // 枝番 1 digit
        (0, recs[0].replacen("IR,1,", "IR,3,", 1)), // 審査支払機関
        (0, recs[0].replacen(",00,", ",01,", 1)), // マルチボリューム
        (6, "SY,999,20261104,1,,高血圧症,,".to_owned()),
    ];
    for (i, line) in cases {
        let e = read_uke(&with_record(i, &line)).unwrap_err();
        assert_eq!(e.code(), "malformed_record", "{line}: {e}");
    }
    for benefit in ["7x", "101"] {
        let e = read_uke(&with_field(&valid(), 1, 7, benefit)).unwrap_err();
        assert_eq!(e.code(), "malformed_record", "給付割合 {benefit}");
    }
    // A 給付割合 that is a percentage but not one onshi's claims hold (75,
    // or 30 as for a 被爆者): read_uke refuses as before; the payer run
    // takes the file and reports that receipt.
    for benefit in ["75", "030"] {
        let file = with_field(&valid(), 1, 7, benefit);
        let e = read_uke(&file).unwrap_err();
        assert_eq!(malformed_at(&e), (2, "RE"), "{benefit}");
        let inputs = claims_for_run(&file).unwrap();
        assert_eq!(
            inputs[0].1.as_ref().unwrap_err().code,
            "unsupported_benefit_ratio"
        );
        assert!(inputs[1..].iter().all(|(_, c)| c.is_ok()));
    }
    // The SN of a 公費 負担者 (負担者種別 2) is kept, not read (it used to be
    // refused as unsupported_record); the 医療保険 枝番 is then unknown.
    let (_, back) = read_uke(&with_record(3, "SN,2,01,,,,00,,")).unwrap();
    assert_eq!(back[0].insurer.branch, None);
    // 1212 is 公費単独: with an HO it contradicts itself.
    let e = read_uke(&with_field(&valid(), 1, 2, "1212")).unwrap_err();
    assert_eq!(malformed_at(&e), (3, "HO"), "公費単独 with HO");
}

#[test]
fn a_kouhi_only_receipt_is_no_insurer_claim() {
    // Receipt 1 made 公費単独: its HO replaced by a KO.
    let mut recs = records(&valid());
    recs[1] = recs[1].replace(",1112,", ",1212,");
    recs[2] = "KO,12136011,1234567,,2,1234,0,,,,,".into();
    let file = bytes(&(recs.join("\r\n") + "\r\n"));
    let e = read_uke(&file).unwrap_err();
    assert_eq!(
        e,
        UkeError::UnsupportedRecord {
            line: 2,
            record: "RE".into(),
            what: "公費単独のレセプト"
        }
    );
    let inputs = claims_for_run(&file).unwrap();
    assert_eq!(inputs.len(), 6);
    let p = inputs[0].1.as_ref().unwrap_err();
    assert_eq!(p.code, "kouhi_only_not_insurer_claim");
    assert_eq!(p.field, "receipt_kind");
    assert_eq!(inputs[0].0, "uke:000001");
    let (_, claims) = read_uke(&valid()).unwrap();
    for (i, (label, c)) in inputs.iter().enumerate().skip(1) {
        assert_eq!(label, &format!("uke:{:06}", i + 1));
        assert_eq!(c.as_ref().unwrap(), &claims[i]);
    }
    // A 公費単独 receipt without KO.
    let e = read_uke(&with_field(
        &with_record(2, "SY,0000999,20261104,1,,x,,"),
        1,
        2,
        "1212",
    ));
    assert_eq!(
        e.unwrap_err(),
        UkeError::MissingRecord {
            record: "KO",
            claim_line: Some(2)
        }
    );
}

#[test]
fn foreign_files_without_benefit_ratio() {
    // 給付割合 is empty outside 国保 (as onshi now writes it too): the ratio
    // follows the レセプト種別 (and 特記事項 41 区カ for 後期 2割).
    let recs = records(&valid());
    let child_re = recs.iter().position(|r| r.starts_with("RE,3,")).unwrap();
    assert_eq!(recs[child_re].split(',').nth(7), Some(""));
    let (_, back) = read_uke(&valid()).unwrap();
    assert_eq!(back[2].burden_ratio_percent, 20, "1114");

    let kokuho = write_uke(&institution(Payer::Kokuhoren), &kokuho_claims()).unwrap();
    // A 国保 receipt whose system left 給付割合 out reads as its 1112.
    assert_eq!(records(&kokuho)[1].split(',').nth(7), Some("70"));
    let (_, back) = read_uke(&with_field(&kokuho, 1, 7, "")).unwrap();
    assert_eq!(back[0].burden_ratio_percent, 30);
    // 後期 (1318): 1割, or 2割 with 特記事項 41 among others.
    let re = records(&kokuho)
        .iter()
        .position(|r| r.starts_with("RE,2,"))
        .unwrap();
    assert_eq!(records(&kokuho)[re].split(',').nth(7), Some(""));
    for (tokki, burden) in [("", 10), ("41", 20), ("2641", 20), ("1410", 10)] {
        let (_, back) = read_uke(&with_field(&kokuho, re, 11, tokki)).unwrap();
        assert_eq!(back[1].burden_ratio_percent, burden, "特記事項 {tokki}");
    }
}

#[test]
fn a_leading_uk_record_is_skipped() {
    let file = valid();
    let uk = "UK,1,13,1,1234567,,あおば内科クリニック,202612,,00\r\n";
    let mut with_uk = bytes(uk);
    with_uk.pop();
    with_uk.extend_from_slice(&file);
    assert_eq!(read_uke(&with_uk).unwrap(), read_uke(&file).unwrap());
}

#[test]
fn chart_number_fallback_and_foreign_records() {
    let recs = records(&valid());
    // Without カルテ番号等 the claim_id is the レセプト番号.
    let (_, back) = read_uke(&with_field(&valid(), 1, 13, "")).unwrap();
    assert_eq!(back[0].claim_id, "1");
    // Two 医保 receipts of one month with one カルテ番号等 (an insurance
    // changed within the month): each id gets its レセプト番号, so the payer
    // run does not take the second for a duplicate.
    let chart = recs[1].split(',').nth(13).unwrap().to_owned();
    let re2 = recs.iter().position(|r| r.starts_with("RE,2,")).unwrap();
    let (_, back) = read_uke(&with_field(&valid(), re2, 13, &chart)).unwrap();
    assert_eq!(back[0].claim_id, format!("{chart}-1"));
    assert_eq!(back[1].claim_id, format!("{chart}-2"));
    let re3 = recs.iter().position(|r| r.starts_with("RE,3,")).unwrap();
    assert_eq!(
        Some(back[2].claim_id.as_str()),
        recs[re3].split(',').nth(13)
    );
    // A coded diagnosis reads as its name, or as its code without one; a
    // comment with another code is skipped.
    let coded = with_record(6, "SY,8833421,20261104,1,,,01,");
    assert_eq!(read_uke(&coded).unwrap().1[0].diagnoses, ["8833421"]);
    let other_comment = with_inserted(7, "CO,99,1,820100001,");
    assert_eq!(
        read_uke(&other_comment).unwrap().1[0].tekiyo,
        Vec::<String>::new()
    );
}
