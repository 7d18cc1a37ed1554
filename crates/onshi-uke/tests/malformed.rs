//! Malformed input to read_uke: each refused with the documented code, or
//! (SI/IY/TO…) skipped.

mod common;

use common::*;
use onshi_core::Payer;
use onshi_uke::{UkeError, read_uke, write_uke};

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
    let e = read_uke(&with_inserted(3, "ZZ,1,2")).unwrap_err();
    assert_eq!(
        e,
        UkeError::UnknownRecord {
            line: 4,
            record: "ZZ".into()
        }
    );
    // SI/IY/TO (line items onshi's Claim does not hold) are skipped.
    let si = format!("SI,11,1,111000110,,288,1{}", ",".repeat(37));
    let (_, back) = read_uke(&with_inserted(6, &si)).unwrap();
    assert_eq!(back, read_uke(&valid()).unwrap().1);
    // KO (公費) is refused rather than dropped.
    let e = read_uke(&with_inserted(3, "KO,21136015,1234567,,2,1234,,,,,,")).unwrap_err();
    assert_eq!(e.code(), "unsupported_record");
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
        (1, recs[1].replace(",19800401,70,", ",19800401,75,")), // 給付割合
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
    let e = read_uke(&with_record(3, "SN,2,01,,,,00,,")).unwrap_err();
    assert_eq!(e.code(), "unsupported_record");
    let e = read_uke(&with_record(1, &recs[1].replace(",1112,", ",1212,"))).unwrap_err();
    assert_eq!(e.code(), "unsupported_record", "公費単独");
}

#[test]
fn foreign_files_without_benefit_ratio() {
    // Another system leaves 給付割合 empty for 社保: the ratio follows the
    // レセプト種別 (and 特記事項 41 区カ for 後期 2割).
    let recs = records(&valid());
    let (_, back) = read_uke(&with_record(
        1,
        &recs[1].replace(",19800401,70,", ",19800401,,"),
    ))
    .unwrap();
    assert_eq!(back[0].burden_ratio_percent, 30);
    let child_re = recs.iter().position(|r| r.starts_with("RE,3,")).unwrap();
    let (_, back) = read_uke(&with_record(
        child_re,
        &recs[child_re].replace(",80,", ",,"),
    ))
    .unwrap();
    assert_eq!(back[2].burden_ratio_percent, 20);

    let kouki = write_uke(&institution(Payer::Kokuhoren), &kokuho_claims()).unwrap();
    let recs = records(&kouki);
    let re = recs.iter().position(|r| r.starts_with("RE,2,")).unwrap();
    let no_ratio = recs[re].replace(",90,", ",,");
    let with = |line: &str| {
        let mut r = recs.clone();
        r[re] = line.to_owned();
        bytes(&(r.join("\r\n") + "\r\n"))
    };
    assert_eq!(
        read_uke(&with(&no_ratio)).unwrap().1[1].burden_ratio_percent,
        10
    );
    let kubun_ka = no_ratio.replacen(",,,,,,", ",,,,,41,", 1);
    assert_eq!(
        read_uke(&with(&kubun_ka)).unwrap().1[1].burden_ratio_percent,
        20
    );
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
    let (_, back) = read_uke(&with_record(1, &recs[1].replace(",G1-00000001,", ",,"))).unwrap();
    assert_eq!(back[0].claim_id, "1");
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
