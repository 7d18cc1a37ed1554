//! The real-shaped sample (`tests/data/RECEIPTC_GAIRAI_SAMPLE.UKE`, from a
//! published UKE parser): read whole, every record kept, written back byte for
//! byte; an edit of one receipt's insurer changes only those bytes.

use std::collections::BTreeMap;

use onshi_core::Payer;
use onshi_uke::{Place, ReceiptClass, UkeError, UkeFile, VisitSource, claims_for_run, read_uke};

const SAMPLE: &[u8] = include_bytes!("data/RECEIPTC_GAIRAI_SAMPLE.UKE");

fn sample() -> UkeFile {
    UkeFile::parse(SAMPLE).unwrap()
}

/// CP932 bytes of a text, for comparing with raw records.
fn sjis(s: &str) -> Vec<u8> {
    let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!bad);
    b.into_owned()
}

#[test]
fn the_sample_is_read_whole_and_written_back_byte_for_byte() {
    let file = sample();
    assert_eq!(file.to_bytes(), SAMPLE);
    assert!(!file.has_eof(), "the sample has no 0x1A");
    assert_eq!(file.receipts().len(), 75);

    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for r in file.records() {
        *ids.entry(r.id()).or_default() += 1;
    }
    let expected: BTreeMap<&str, usize> = [
        ("CO", 56),
        ("GO", 1),
        ("HO", 69),
        ("IR", 1),
        ("IY", 32),
        ("KO", 71),
        ("RE", 75),
        ("SI", 320),
        ("SN", 2),
        ("SY", 9),
    ]
    .into_iter()
    .collect();
    assert_eq!(ids, expected);
    assert_eq!(file.records().count(), 636, "every line of the file");

    let count = |c: ReceiptClass| file.receipts().iter().filter(|r| r.class() == c).count();
    assert_eq!(count(ReceiptClass::Insurance), 4, "医保単独 1112/1114");
    assert_eq!(
        count(ReceiptClass::InsuranceWithKouhi),
        65,
        "併用 1122/1124/1126"
    );
    assert_eq!(count(ReceiptClass::KouhiOnly), 6, "公費単独 1212");

    // With the EOF byte it reads the same and keeps it.
    let mut with_eof = SAMPLE.to_vec();
    with_eof.push(0x1A);
    let again = UkeFile::parse(&with_eof).unwrap();
    assert!(again.has_eof());
    assert_eq!(again.to_bytes(), with_eof);
    assert_eq!(again.receipts(), file.receipts());
}

#[test]
fn the_facts_onshi_reads() {
    let file = sample();
    let inst = file.institution();
    assert_eq!(inst.payer, Payer::ShiharaiKikin);
    assert_eq!(inst.institution_code, "1210000000");
    assert_eq!(inst.phone.as_deref(), Some("05012345678"));

    // RE 1: 1122, 特記事項 28, HO in 全角, one KO.
    let r1 = &file.receipts()[0];
    let f = r1.facts();
    assert_eq!(f.kind, "1122");
    assert_eq!(r1.class(), ReceiptClass::InsuranceWithKouhi);
    assert_eq!(f.tokki, "28");
    assert_eq!(f.chart.as_deref(), Some("00697"));
    assert_eq!(f.patient.name, "テスト　汎用");
    assert_eq!(f.benefit, None);
    assert_eq!(f.burden_percent, Some(30), "inferred from 1122");
    let ho = f.insurance.as_ref().unwrap();
    assert_eq!(
        (
            ho.insurer_number.as_str(),
            ho.symbol.as_deref(),
            ho.number.as_str()
        ),
        ("01010016", Some("1"), "1"),
        "１ and １ read as 1"
    );
    assert_eq!((ho.days, ho.points, ho.paid_yen), (1, 13642, None));
    assert_eq!(f.kouhi.len(), 1);
    let ko = &f.kouhi[0];
    assert_eq!(ko.burdener_number, "83136019");
    assert_eq!(ko.recipient_number.as_deref(), Some("1111111"));
    assert_eq!(
        (ko.days, ko.points, ko.patient_burden_yen),
        (1, 677, Some(1354))
    );
    assert_eq!(f.diagnoses.len(), 3);
    assert_eq!(f.window_kind, None, "no MF in the sample");
    assert!(
        f.tekiyo.is_empty(),
        "its 810000001 lines are 用法 under 22/23"
    );

    // RE 6: 記号 １９Ｄ０００１ reads as 19D0001.
    let ho6 = file.receipts()[5].facts().insurance.clone().unwrap();
    assert_eq!(ho6.symbol.as_deref(), Some("19D0001"));
    assert_eq!(ho6.number, "11");
    // RE 2: SN 枝番 00; RE 15: 枝番 03 on a 併用 receipt.
    assert_eq!(file.receipts()[1].facts().branch.as_deref(), Some("00"));
    assert_eq!(file.receipts()[14].facts().branch.as_deref(), Some("03"));
    // RE 72: 特記事項 26, 公費 負担金額 2500.
    let r72 = file.receipts()[71].facts();
    assert_eq!(r72.tokki, "26");
    assert_eq!(r72.kouhi[0].patient_burden_yen, Some(2500));
    // A 6-digit 受給者番号 (RE 13) is kept as written.
    assert_eq!(
        file.receipts()[12].facts().kouhi[0]
            .recipient_number
            .as_deref(),
        Some("000000")
    );

    // No JD anywhere: every receipt's visit days come from SI/IY, and they
    // are as many as its 診療実日数 (HO, or the KO of a 公費単独 receipt).
    for r in file.receipts() {
        let f = r.facts();
        assert_eq!(f.visits_from, VisitSource::LineItems, "RE {}", f.number);
        let days = f
            .insurance
            .as_ref()
            .map(|h| h.days)
            .unwrap_or_else(|| f.kouhi[0].days);
        assert_eq!(f.visit_dates.len() as u64, days, "RE {}", f.number);
        assert!(
            f.visit_dates
                .iter()
                .all(|d| d.format("%Y-%m").to_string() == "2021-10")
        );
    }
}

#[test]
fn uninterpreted_records_stay_in_place_tied_to_what_they_follow() {
    let file = sample();
    // RE 1: SI 112015570, then CO 22 疼痛時, then IY 620098801.
    let r1 = &file.receipts()[0];
    let at = r1
        .records()
        .iter()
        .position(|r| r.bytes() == sjis("CO,22,2,810000001,疼痛時"))
        .unwrap();
    let before = r1.follows(at).unwrap();
    assert_eq!(before.id(), "SI");
    assert_eq!(before.field(3), Some("112015570"));
    assert_eq!(r1.line_item_of(at), Some(at - 1));
    assert_eq!(r1.records()[at + 1].field(3), Some("620098801"));
    // The second comment follows that IY.
    let co2 = r1
        .records()
        .iter()
        .position(|r| r.bytes() == sjis("CO,22,2,810000001,手術前内服"))
        .unwrap();
    assert_eq!(r1.follows(co2).unwrap().field(3), Some("620098801"));

    // SY keeps all 8 fields: RE 2's 修飾語 8070 and 主傷病 01.
    let sy = file.receipts()[1]
        .records()
        .iter()
        .find(|r| r.id() == "SY")
        .unwrap();
    assert_eq!(sy.bytes(), b"SY,8848176,20210914,1,8070,,01,");
    assert_eq!(sy.fields().len(), 8);

    // RE 56: the CO 23 run (and its continuation lines) stays with the SI
    // it follows; only the CO 99 run is the receipt's 摘要.
    let r56 = file.receipts()[55].facts();
    assert_eq!(
        r56.tekiyo,
        [
            "ジクロフェナクナトリウムテープ３０ｍｇ１０ｃｍ×１４ｃｍ",
            "７０枚　１４日処方分",
            "湿布薬　３５日分"
        ]
    );
    // Records keep their lines: the n-th record of the file is line n, and
    // each knows its receipt and its place in it.
    for (n, r) in file.records().enumerate() {
        assert_eq!(r.line(), n + 1);
    }
    let mut in_receipts = 0;
    for (n, (place, r)) in file.places().enumerate() {
        assert_eq!(r.line(), n + 1);
        match place {
            Place::Receipt {
                receipt,
                record: Some(i),
            } => {
                assert!(std::ptr::eq(r, &file.receipts()[receipt].records()[i]));
                in_receipts += 1;
            }
            Place::Receipt {
                receipt,
                record: None,
            } => assert!(std::ptr::eq(r, file.receipts()[receipt].re())),
            Place::Ir => assert_eq!(n, 0),
            Place::Go => assert_eq!(n, 635),
            other => panic!("{other:?}: the sample has no UK and nothing before RE 1"),
        }
    }
    assert_eq!(in_receipts, 636 - 2 - 75);
    // The CO of RE 1 at line 11 is in receipt 0, after the SI on line 10.
    let (place, co) = file.places().nth(10).unwrap();
    assert_eq!(co.bytes(), sjis("CO,22,2,810000001,疼痛時"));
    assert_eq!(
        place,
        Place::Receipt {
            receipt: 0,
            record: Some(at)
        }
    );
}

#[test]
fn the_sample_feeds_the_payer_run_receipt_by_receipt() {
    let inputs = claims_for_run(SAMPLE).unwrap();
    assert_eq!(inputs.len(), 75);
    let file = sample();
    let mut kouhi_only = 0;
    for ((label, input), r) in inputs.iter().zip(file.receipts()) {
        assert!(label.starts_with("uke:"), "{label}");
        match (r.class(), input) {
            (ReceiptClass::KouhiOnly, Err(p)) => {
                assert_eq!(p.code, "kouhi_only_not_insurer_claim");
                assert!(p.message.contains("公費単独"), "{}", p.message);
                kouhi_only += 1;
            }
            (ReceiptClass::KouhiOnly, Ok(_)) => panic!("{label}: 公費単独 became a claim"),
            (_, Ok(c)) => {
                let f = r.facts();
                let ho = f.insurance.as_ref().unwrap();
                assert_eq!(c.claim_id, f.chart.clone().unwrap());
                assert_eq!(c.points, ho.points);
                assert_eq!(c.visit_dates, f.visit_dates);
                assert_eq!(c.claim_month, "2021-10");
                // 負担金額 is not recorded: the window amount of the ratio.
                let ratio = onshi_core::BurdenRatio::from_percent(c.burden_ratio_percent).unwrap();
                assert_eq!(
                    c.patient_paid_yen,
                    onshi_core::burden::window_amount(c.points, ratio)
                );
            }
            // Intake may refuse a claim (the sample's test numbers); never
            // for a reason of the file's form.
            (_, Err(p)) => assert!(
                !["kouhi_only_not_insurer_claim", "no_visit_dates"].contains(&p.code.as_str()),
                "{label}: {p:?}"
            ),
        }
    }
    assert_eq!(kouhi_only, 6);
    let accepted = inputs.iter().filter(|(_, c)| c.is_ok()).count();
    assert_eq!(
        accepted, 69,
        "every 医保 receipt (単独 and 併用) is a claim"
    );

    // read_uke (all claims or nothing) refuses the file at its first
    // 公費単独 receipt, RE 4 on line 56.
    assert_eq!(
        read_uke(SAMPLE).unwrap_err(),
        UkeError::UnsupportedRecord {
            line: 56,
            record: "RE".into(),
            what: "公費単独のレセプト"
        }
    );
}

/// Lines of the file as byte slices (without CR LF).
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let body = bytes.strip_suffix(b"\r\n").unwrap();
    body.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

#[test]
fn setting_one_receipts_insurer_changes_only_those_fields() {
    let mut file = sample();
    let kyokai = onshi_core::InsurerNumber::from_body("0613001").unwrap();
    // RE 2 (1112): HO,01130012,６４４４０７１８,７,…
    file.set_insurer(1, kyokai.as_str(), Some("12-A"), "345")
        .unwrap();
    let out = file.to_bytes();
    let (old, new) = (lines(SAMPLE), lines(&out));
    assert_eq!(old.len(), new.len());
    let changed: Vec<usize> = (0..old.len()).filter(|&i| old[i] != new[i]).collect();
    assert_eq!(changed, [32], "only line 33, the HO of RE 2");
    let split =
        |l: &[u8]| -> Vec<Vec<u8>> { l.split(|&b| b == b',').map(<[u8]>::to_vec).collect() };
    let (a, b) = (split(old[32]), split(new[32]));
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() {
        if (1..=3).contains(&i) {
            continue;
        }
        assert_eq!(a[i], b[i], "HO field {i}");
    }
    assert_eq!(b[1], kyokai.as_str().as_bytes());
    assert_eq!(b[2], sjis("１２－Ａ"), "記号 in 全角");
    assert_eq!(b[3], sjis("３４５"));
    // The bytes around the edit are the sample's own.
    let pos = SAMPLE
        .windows(old[32].len())
        .position(|w| w == old[32])
        .unwrap();
    assert_eq!(&out[..pos], &SAMPLE[..pos]);
    let tail = SAMPLE.len() - pos - old[32].len();
    assert_eq!(&out[out.len() - tail..], &SAMPLE[SAMPLE.len() - tail..]);

    // The edited file reads as such, and the edit is what the claim carries.
    let back = UkeFile::parse(&out).unwrap();
    let ho = back.receipts()[1].facts().insurance.clone().unwrap();
    assert_eq!(ho.insurer_number, kyokai.as_str());
    assert_eq!(ho.symbol.as_deref(), Some("12-A"));
    assert_eq!(ho.number, "345");
    assert_eq!(back.receipts()[1].facts(), file.receipts()[1].facts());
    let claim = back.claims()[1].clone().unwrap();
    assert_eq!(claim.insurer.insurer_number, kyokai.as_str());

    // 負担金額: field 11 only.
    let mut paid = sample();
    paid.set_patient_paid(1, 830).unwrap();
    let out = paid.to_bytes();
    let new = lines(&out);
    assert_eq!(
        new[32],
        sjis("HO,01130012,６４４４０７１８,７,1,276,,,,,,830,,,")
    );
    assert_eq!(paid.claims()[1].clone().unwrap().patient_paid_yen, 830);
}

#[test]
fn edits_that_cannot_be_made_change_nothing() {
    let mut file = sample();
    // A 公費単独 receipt has no HO.
    let e = file.set_insurer(3, "01130012", None, "1").unwrap_err();
    assert_eq!(
        e,
        UkeError::MissingRecord {
            record: "HO",
            claim_line: Some(56)
        }
    );
    assert_eq!(
        file.set_insurer(75, "01130012", None, "1").unwrap_err(),
        UkeError::NoSuchReceipt {
            index: 75,
            count: 75
        }
    );
    // A wrong 検証番号, an empty 番号, a 記号 on 不詳, a comma.
    for (n, s, no) in [
        ("01130013", None, "1"),
        ("01130012", None, " "),
        ("77777777", Some("1"), "777777777"),
    ] {
        let e = file.set_insurer(1, n, s, no).unwrap_err();
        assert_eq!(e.code(), "invalid_edit", "{n} {s:?} {no}");
    }
    let e = file
        .set_insurer(1, "01130012", Some("1,2"), "1")
        .unwrap_err();
    assert_eq!(e.code(), "forbidden_character");
    assert!(
        e.to_string().contains("2件目のレセプト 00698"),
        "names the receipt by its カルテ番号: {e}"
    );
    assert_eq!(
        file.set_patient_paid(1, 1_000_000_000).unwrap_err().code(),
        "invalid_edit"
    );
    assert_eq!(file.to_bytes(), SAMPLE);
    // 不詳 without a 記号 is a valid edit.
    file.set_insurer(1, "77777777", None, "777777777").unwrap();
    let claim = file.claims()[1].clone().unwrap();
    assert!(claim.is_unknown());
    assert_eq!(claim.insurer.number, "777777777");
}
