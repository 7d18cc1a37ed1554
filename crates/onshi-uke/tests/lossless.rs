//! Arbitrary well-formed claim files in the shapes real ones take (every
//! receipt kind, KO, SI/IY/CO/SY/SJ and records onshi has never heard of,
//! with or without JD, MF, a leading UK, the EOF byte; 全角, 半角カナ and
//! kanji text) read whole and come back byte for byte; an insurer edit
//! changes one HO line and only its insurer fields; onshi's own files read
//! by the model give the claims `read_uke` gives.

mod common;

use chrono::NaiveDate;
use common::*;
use onshi_core::{InsurerNumber, Payer};
use onshi_uke::{ReceiptClass, UkeFile, VisitSource, claims_for_run, read_uke, write_uke};
use proptest::prelude::*;

/// Field text: kanji, kana, 全角 and 半角 letters and digits, 半角カナ,
/// symbols; never a comma, a quote or a control character.
const TEXT: &[char] = &[
    '山', '田', '髙', '①', '㈱', 'あ', 'ア', 'ｱ', 'ﾞ', '　', ' ', '１', 'Ａ', 'A', '1', '-', '－',
    '（', '）', '・', '／', '～', 'ー', '疼', '痛', '時',
];

fn text(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TEXT), len).prop_map(|v| v.into_iter().collect())
}

fn digits(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&['0', '1', '5', '7', '9'][..]), len)
        .prop_map(|v| v.into_iter().collect())
}

/// One receipt's records (RE first) and its 主保険 points and 件数.
#[derive(Debug, Clone)]
struct Receipt {
    lines: Vec<String>,
    class: ReceiptClass,
    main_points: u64,
    burdeners: u64,
    visit_days: Vec<u32>,
    from_jd: bool,
}

/// SI/IY/CO/SY/SJ/ZZ records in any order; each SI and IY counts on one of
/// `days`. Also gives the days they mark, sorted.
fn body(days: Vec<u32>) -> impl Strategy<Value = (Vec<String>, Vec<u32>)> {
    let one = (0u8..7, text(0..12), any::<prop::sample::Index>(), 0u8..3);
    prop::collection::vec(one, 0..10).prop_map(move |items| {
        let mut marked = std::collections::BTreeSet::new();
        let lines = items
            .into_iter()
            .map(|(kind, t, pick, n)| {
                let mut day_fields = vec![String::new(); 31];
                if !days.is_empty() && kind < 2 {
                    let d = days[pick.index(days.len())];
                    day_fields[d as usize - 1] = (n + 1).to_string();
                    marked.insert(d);
                }
                let day_fields = day_fields.join(",");
                match kind {
                    0 => format!("SI,11,1,111000110,,288,{},,,,,,,{day_fields}", n + 1),
                    1 => format!("IY,,2,620098801,1,1,{},,,,,,,{day_fields}", n + 1),
                    2 => format!("CO,22,2,810000001,{t}"),
                    3 => format!("CO,,1,820181220,{t}"),
                    4 => format!("SY,8848176,20210914,{},8070,{t},01,", n + 1),
                    5 => format!("SJ,01,{t}"),
                    _ => format!("ZZ,{t},,{n}"),
                }
            })
            .collect();
        (lines, marked.into_iter().collect())
    })
}

fn arb_receipt(number: usize) -> impl Strategy<Value = Receipt> {
    (
        0u8..3,
        0u8..3,
        text(1..10),
        prop::collection::btree_set(1u32..=31, 0..4),
        any::<bool>(),
        (0u64..50_000, 0u64..5_000),
        (
            prop::option::of(digits(1..=10)),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            text(0..6),
            digits(1..=8),
            prop::sample::select(vec!["", "70", "080"]),
        ),
    )
        .prop_flat_map(
            move |(
                class,
                n_kouhi,
                name,
                days,
                jd,
                (points, ko_points),
                (chart, sn, mf),
                (symbol, ins_no, benefit),
            )| {
                let days: Vec<u32> = days.into_iter().collect();
                let class = match class {
                    0 => ReceiptClass::Insurance,
                    1 => ReceiptClass::InsuranceWithKouhi,
                    _ => ReceiptClass::KouhiOnly,
                };
                let n_kouhi = match class {
                    ReceiptClass::Insurance => 0,
                    _ => usize::from(n_kouhi) + 1,
                };
                let from_jd = jd && class != ReceiptClass::KouhiOnly && !days.is_empty();
                body(days.clone()).prop_map(move |(rest, marked)| {
                    let kind = match class {
                        ReceiptClass::Insurance => "1112".to_owned(),
                        ReceiptClass::InsuranceWithKouhi => format!("11{}4", n_kouhi + 1),
                        ReceiptClass::KouhiOnly => format!("12{}2", n_kouhi),
                    };
                    let mut re = vec![String::new(); 38];
                    re[0] = "RE".into();
                    re[1] = number.to_string();
                    re[2] = kind;
                    re[3] = "202110".into();
                    re[4] = name.clone();
                    re[5] = "2".into();
                    re[6] = "19911121".into();
                    re[7] = benefit.to_owned();
                    re[11] = "28".into();
                    re[13] = chart.clone().unwrap_or_default();
                    re[36] = "テスト".into();
                    let mut lines = vec![re.join(",")];
                    let mut main_points = 0;
                    if class != ReceiptClass::KouhiOnly {
                        let insurer = InsurerNumber::from_body("0113001").unwrap();
                        lines.push(format!(
                            "HO,{insurer},{},{},{},{points},,,,,,,,,",
                            onshi_uke::width::to_zenkaku(&symbol),
                            onshi_uke::width::to_zenkaku(&ins_no),
                            days.len()
                        ));
                        main_points = points;
                    }
                    for k in 0..n_kouhi {
                        lines.push(format!(
                            "KO,8313601{k},{:07},,{},{ko_points},{},,,,,",
                            number,
                            days.len(),
                            if k == 0 { "1354" } else { "" }
                        ));
                        if k == 0 && class == ReceiptClass::KouhiOnly {
                            main_points = ko_points;
                        }
                    }
                    if sn {
                        lines.push("SN,1,01,,,,00,,".into());
                        lines.push("SN,2,01,,,,,1234567,".into());
                    }
                    if from_jd {
                        let marks: Vec<&str> = (1..=31)
                            .map(|d| if days.contains(&d) { "1" } else { "" })
                            .collect();
                        lines.push(format!("JD,1,{}", marks.join(",")));
                    }
                    if mf {
                        lines.push(format!("MF,00{}", ",".repeat(31)));
                    }
                    lines.extend(rest);
                    Receipt {
                        lines,
                        class,
                        main_points,
                        burdeners: u64::from(class != ReceiptClass::KouhiOnly) + n_kouhi as u64,
                        visit_days: if from_jd { days.clone() } else { marked },
                        from_jd,
                    }
                })
            },
        )
}

/// A whole file: its bytes and its receipts.
fn arb_file() -> impl Strategy<Value = (Vec<u8>, Vec<Receipt>)> {
    (
        1usize..6,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        text(0..8),
    )
        .prop_flat_map(|(n, eof, uk, per_burdener, inst_name)| {
            let receipts: Vec<_> = (1..=n).map(arb_receipt).collect();
            (receipts, Just((eof, uk, per_burdener, inst_name)))
        })
        .prop_map(|(receipts, (eof, uk, per_burdener, inst_name))| {
            let mut lines = Vec::new();
            if uk {
                lines.push("UK,1,13,1,1234567,,,202111,,00".to_owned());
            }
            lines.push(format!(
                "IR,1,13,1,1234567,,{},202111,00,05012345678",
                inst_name.replace(' ', "　")
            ));
            for r in &receipts {
                lines.extend(r.lines.iter().cloned());
            }
            let count: u64 = if per_burdener {
                receipts.iter().map(|r| r.burdeners).sum()
            } else {
                receipts.len() as u64
            };
            let points: u64 = receipts.iter().map(|r| r.main_points).sum();
            lines.push(format!("GO,{count},{points},99"));
            let text = lines.join("\r\n") + "\r\n";
            let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
            assert!(!bad, "{text}");
            let mut bytes = b.into_owned();
            if eof {
                bytes.push(0x1A);
            }
            (bytes, receipts)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Read whole and written back byte for byte; each receipt is classified
    /// and keeps its records, in order.
    #[test]
    fn well_formed_files_come_back_byte_for_byte((bytes, receipts) in arb_file()) {
        let file = UkeFile::parse(&bytes);
        prop_assert!(file.is_ok(), "{:?}", file.err());
        let file = file.unwrap();
        prop_assert_eq!(file.to_bytes(), bytes.clone());
        prop_assert_eq!(file.has_eof(), bytes.last() == Some(&0x1A));
        prop_assert_eq!(file.receipts().len(), receipts.len());
        for (got, want) in file.receipts().iter().zip(&receipts) {
            prop_assert_eq!(got.class(), want.class);
            prop_assert_eq!(got.records().len() + 1, want.lines.len());
            let f = got.facts();
            let days: Vec<u32> = f.visit_dates.iter().map(chrono::Datelike::day).collect();
            prop_assert_eq!(&days, &want.visit_days);
            // With JD the days are its marks; without, the SI/IY days.
            let from = match (want.from_jd, want.visit_days.is_empty()) {
                (true, _) => VisitSource::Jd,
                (false, true) => VisitSource::None,
                (false, false) => VisitSource::LineItems,
            };
            prop_assert_eq!(f.visits_from, from);
        }
        // The run takes the file, one entry per receipt; 公費単独 reported.
        let inputs = claims_for_run(&bytes).unwrap();
        prop_assert_eq!(inputs.len(), receipts.len());
        for ((_, input), want) in inputs.iter().zip(&receipts) {
            if want.class == ReceiptClass::KouhiOnly {
                prop_assert_eq!(
                    input.as_ref().err().map(|p| p.code.as_str()),
                    Some("kouhi_only_not_insurer_claim")
                );
            }
        }
    }

    /// An insurer edit rewrites one HO line, and in it only 保険者番号, 記号
    /// and 番号.
    #[test]
    fn an_insurer_edit_changes_only_its_fields(
        (bytes, receipts) in arb_file(),
        pick in any::<prop::sample::Index>(),
        symbol in prop::option::of(text(1..5)),
    ) {
        let mut file = UkeFile::parse(&bytes).unwrap();
        let insured: Vec<usize> = receipts
            .iter()
            .enumerate()
            .filter(|(_, r)| r.class != ReceiptClass::KouhiOnly)
            .map(|(i, _)| i)
            .collect();
        prop_assume!(!insured.is_empty());
        let i = insured[pick.index(insured.len())];
        let symbol = symbol.map(|s| s.replace(' ', "x"));
        let to = InsurerNumber::from_body("3113001").unwrap();
        file.set_insurer(i, to.as_str(), symbol.as_deref(), "42").unwrap();
        let out = file.to_bytes();
        let split = |b: &[u8]| -> Vec<Vec<u8>> {
            b.split(|&x| x == b'\n').map(<[u8]>::to_vec).collect()
        };
        let (old, new) = (split(&bytes), split(&out));
        prop_assert_eq!(old.len(), new.len());
        let changed: Vec<usize> = (0..old.len()).filter(|&k| old[k] != new[k]).collect();
        prop_assert!(changed.len() <= 1);
        for k in changed {
            prop_assert!(old[k].starts_with(b"HO,"));
            let f = |l: &[u8]| -> Vec<Vec<u8>> { l.split(|&x| x == b',').map(<[u8]>::to_vec).collect() };
            let (a, b) = (f(&old[k]), f(&new[k]));
            prop_assert_eq!(a.len(), b.len());
            for j in (0..a.len()).filter(|j| !(1..=3).contains(j)) {
                prop_assert_eq!(&a[j], &b[j]);
            }
        }
        let back = UkeFile::parse(&out).unwrap();
        let ho = back.receipts()[i].facts().insurance.clone().unwrap();
        prop_assert_eq!(ho.insurer_number, to.as_str());
        prop_assert_eq!(ho.number, "42");
        let expected_symbol = symbol.map(|s| onshi_uke::width::fold_alnum(&onshi_uke::width::to_zenkaku(&s)));
        prop_assert_eq!(ho.symbol, expected_symbol);
    }
}

#[test]
fn onshis_own_files_read_by_the_model() {
    for (payer, claims) in [
        (Payer::ShiharaiKikin, shaho_claims()),
        (Payer::Kokuhoren, kokuho_claims()),
    ] {
        let inst = institution(payer);
        let bytes = write_uke(&inst, &claims).unwrap();
        let file = UkeFile::parse(&bytes).unwrap();
        assert_eq!(file.to_bytes(), bytes);
        assert!(file.has_eof());
        assert_eq!(file.institution(), &inst);
        let (_, read) = read_uke(&bytes).unwrap();
        let from_model: Vec<_> = file.claims().into_iter().map(Result::unwrap).collect();
        assert_eq!(from_model, read);
        for (r, c) in file.receipts().iter().zip(&claims) {
            let f = r.facts();
            assert_eq!(r.class(), ReceiptClass::Insurance);
            assert_eq!(f.visits_from, VisitSource::Jd);
            assert_eq!(
                f.chart.as_deref(),
                Some(onshi_uke::chart_number(c).as_str())
            );
            assert!(f.kouhi.is_empty());
            assert_eq!(f.window_kind.as_deref(), Some("00"), "MF");
            assert_eq!(f.burden_percent, Some(c.burden_ratio_percent));
            // Each of onshi's records is one the model reads.
            let ids: Vec<&str> = r.all_records().map(|x| x.id()).collect();
            assert!(
                ids.iter()
                    .all(|id| ["RE", "HO", "SN", "JD", "MF", "SY", "CO"].contains(id))
            );
        }
        // The edit onshi's payer side makes (振替) on its own file.
        let mut edited = file.clone();
        let to = InsurerNumber::from_body("0613001").unwrap();
        edited.set_insurer(0, to.as_str(), Some("1"), "2").unwrap();
        let back = read_uke(&edited.to_bytes()).unwrap().1;
        assert_eq!(back[0].insurer.insurer_number, to.as_str());
        assert_eq!(back[1..], read[1..]);
    }
}

#[test]
fn a_receipt_with_no_day_information_is_reported_not_invented() {
    // No JD, no SI/IY: no visit date is made up.
    let text = "IR,1,13,1,1234567,,,202111,00,\r\n\
        RE,1,1112,202110,テスト,1,19911121,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,,\r\n\
        HO,01130012,１,１,1,100,,,,,,,,,\r\n\
        CO,99,1,810000001,テスト\r\n\
        GO,1,100,99\r\n";
    let bytes = text_bytes(text);
    let file = UkeFile::parse(&bytes).unwrap();
    assert_eq!(file.receipts()[0].facts().visits_from, VisitSource::None);
    let inputs = claims_for_run(&bytes).unwrap();
    assert_eq!(inputs[0].1.as_ref().unwrap_err().code, "no_visit_dates");
    assert_eq!(
        read_uke(&bytes).unwrap_err(),
        onshi_uke::UkeError::MissingRecord {
            record: "JD",
            claim_line: Some(2)
        }
    );
    // An SI on the 5th and 19th gives the dates.
    let si = format!("SI,11,1,111000110,,100,2,,,,,,,{}", {
        let mut d = vec![""; 31];
        d[4] = "1";
        d[18] = "1";
        d.join(",")
    });
    let with_si = text.replace("CO,99", &format!("{si}\r\nCO,99"));
    let claim = read_uke(&text_bytes(&with_si)).unwrap().1.remove(0);
    assert_eq!(
        claim.visit_dates,
        [
            NaiveDate::from_ymd_opt(2021, 10, 5).unwrap(),
            NaiveDate::from_ymd_opt(2021, 10, 19).unwrap()
        ]
    );
    assert_eq!(claim.tekiyo, ["テスト"]);
    // 負担金額 not recorded: the 3割 window amount of 100 点.
    assert_eq!(claim.patient_paid_yen, 300);
    // A day that is not in the month, or not a number, is refused.
    let mut d = vec![""; 31];
    d[30] = "1";
    let nov31 = text.replace("202110", "202111").replace(
        "CO,99",
        &format!("SI,11,1,111000110,,100,1,,,,,,,{}\r\nCO,99", d.join(",")),
    );
    let e = UkeFile::parse(&text_bytes(&nov31)).unwrap_err();
    assert_eq!(e.code(), "malformed_record");
    assert!(e.to_string().contains("31日の情報"), "{e}");
    d[30] = "x";
    let not_number = text.replace(
        "CO,99",
        &format!("SI,11,1,111000110,,100,1,,,,,,,{}\r\nCO,99", d.join(",")),
    );
    assert_eq!(
        UkeFile::parse(&text_bytes(&not_number)).unwrap_err().code(),
        "malformed_record"
    );
}

fn text_bytes(s: &str) -> Vec<u8> {
    let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!bad);
    b.into_owned()
}
