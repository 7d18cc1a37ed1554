//! Property tests: generated claims round-trip; no input makes read_uke panic.

mod common;

use chrono::{Datelike, NaiveDate};
use common::*;
use onshi_core::claim::{
    ClaimInsurer, InsurerBasis, UNKNOWN_INSURER, UNKNOWN_INSURER_CHECKED, UNKNOWN_NUMBER,
    UNKNOWN_NUMBER_KOUKI,
};
use onshi_core::{InsurerNumber, Payer, Sex};
use onshi_payer::claim::{Claim, ClaimPatient};
use onshi_uke::{UkeInstitution, read_uke, write_uke};
use proptest::prelude::*;

/// Kanji and kana (including 髙, ①, ㈱, half-width ｱ and the mapped 〜 ‖ −).
const TEXT: &[char] = &[
    '山', '田', '髙', '﨑', '①', '㈱', '鈴', '木', '太', '郎', '花', '子', 'あ', 'い', 'う', 'ア',
    'イ', 'ｱ', 'ｲ', '　', '〜', '‖', '−', '１', 'A', '1', '-', '：', '（', '）',
];
const KANA: &[char] = &[
    'ア', 'イ', 'ウ', 'カ', 'キ', 'ヤ', 'マ', 'ダ', 'ー', 'ン', ' ',
];

fn text(alphabet: &'static [char], len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet), len).prop_map(|v| v.into_iter().collect())
}

fn digits(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(&['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][..]),
        len,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn insurer_numbers(payer: Payer) -> Vec<String> {
    let bodies: &[&str] = match payer {
        Payer::ShiharaiKikin => &["0113001", "0613001", "3113001", "3413001"],
        Payer::Kokuhoren => &["13800", "13303", "3928000", "27120"],
    };
    bodies
        .iter()
        .map(|b| InsurerNumber::from_body(b).unwrap().to_string())
        .collect()
}

fn arb_insurer(payer: Payer) -> impl Strategy<Value = (ClaimInsurer, bool)> {
    let known = (
        prop::sample::select(insurer_numbers(payer)),
        prop::option::of(text(TEXT, 1..6)),
        digits(1..=9),
        prop::option::of(digits(2..=2)),
    )
        .prop_map(|(n, symbol, number, branch)| {
            (
                ClaimInsurer {
                    insurer_number: n,
                    symbol,
                    number,
                    branch,
                    basis: InsurerBasis::Confirmed,
                },
                false,
            )
        });
    let unknown = (any::<bool>(), any::<bool>()).prop_map(|(checked, kouki)| {
        (
            ClaimInsurer {
                insurer_number: if checked {
                    UNKNOWN_INSURER_CHECKED
                } else {
                    UNKNOWN_INSURER
                }
                .into(),
                symbol: None,
                number: if kouki {
                    UNKNOWN_NUMBER_KOUKI
                } else {
                    UNKNOWN_NUMBER
                }
                .into(),
                branch: None,
                basis: InsurerBasis::Unknown,
            },
            true,
        )
    });
    prop_oneof![3 => known, 1 => unknown]
}

fn arb_claim(payer: Payer, id: usize) -> impl Strategy<Value = Claim> {
    (
        arb_insurer(payer),
        text(TEXT, 1..10),
        prop::option::of(text(KANA, 1..10)),
        any::<bool>(),
        (0i64..(365 * 120)),
        (2019i32..2030, 1u32..=12),
        prop::collection::btree_set(1u32..=28, 1..6),
        prop::sample::select(&[10u16, 20, 30, 100][..]),
        0u64..200_000,
        prop::collection::vec(text(TEXT, 0..20), 0..4),
        prop::collection::vec(text(TEXT, 1..15), 0..4),
    )
        .prop_flat_map(
            move |(
                (insurer, unknown),
                name,
                kana,
                male,
                birth_offset,
                (y, m),
                days,
                burden,
                points,
                mut tekiyo,
                diagnoses,
            )| {
                let birth = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()
                    + chrono::Duration::days(birth_offset);
                let visits: Vec<NaiveDate> = days
                    .iter()
                    .map(|&d| NaiveDate::from_ymd_opt(y, m, d).unwrap())
                    .collect();
                if unknown {
                    tekiyo.insert(0, "不詳".into());
                }
                (0..=points * 10).prop_map(move |paid| Claim {
                    claim_id: format!("P-{id}"),
                    institution_code: INSTITUTION.into(),
                    claim_month: format!("{y:04}-{m:02}"),
                    payer,
                    patient: ClaimPatient {
                        name: name.clone(),
                        kana: kana.clone(),
                        sex: if male { Sex::Male } else { Sex::Female },
                        birth_date: birth,
                    },
                    insurer: insurer.clone(),
                    burden_ratio_percent: burden,
                    visit_dates: visits.clone(),
                    points,
                    patient_paid_yen: paid,
                    tekiyo: tekiyo.clone(),
                    diagnoses: diagnoses.clone(),
                })
            },
        )
}

fn arb_file() -> impl Strategy<Value = (UkeInstitution, Vec<Claim>)> {
    (
        any::<bool>(),
        0usize..5,
        prop::option::of(digits(10..=12)),
        1u32..=12,
    )
        .prop_flat_map(|(shaho, n, phone, month)| {
            let payer = if shaho {
                Payer::ShiharaiKikin
            } else {
                Payer::Kokuhoren
            };
            let claims: Vec<_> = (1..=n).map(|i| arb_claim(payer, i)).collect();
            let inst = UkeInstitution {
                payer,
                institution_code: INSTITUTION.into(),
                name: "テスト医院".into(),
                phone,
                billing_month: NaiveDate::from_ymd_opt(2026, month, 1).unwrap(),
            };
            (Just(inst), claims)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// write → read gives back every field the format carries.
    #[test]
    fn generated_claims_round_trip((inst, claims) in arb_file()) {
        for c in &claims {
            prop_assert!(c.validate().is_ok(), "{:?}", c.validate());
        }
        let bytes = write_uke(&inst, &claims).unwrap();
        let (inst_back, back) = read_uke(&bytes).unwrap();
        prop_assert_eq!(inst_back, inst);
        let expected: Vec<Claim> = claims.iter().map(as_carried).collect();
        prop_assert_eq!(back, expected);
        // Writing what was read gives the same bytes.
        let (i2, c2) = read_uke(&bytes).unwrap();
        prop_assert_eq!(write_uke(&i2, &c2).unwrap(), bytes);
    }

    /// Arbitrary bytes never make the reader panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = read_uke(&bytes);
    }

    /// Arbitrary CSV-looking text (record ids, commas, digits, kana) never
    /// makes the reader panic.
    #[test]
    fn arbitrary_records_never_panic(
        lines in prop::collection::vec(
            (prop::sample::select(&["IR", "RE", "HO", "SN", "JD", "MF", "SY", "CO", "GO", "KO", "SI", "ZZ", ""][..]),
             prop::collection::vec(prop::sample::select(&["", "1", "00", "99", "01130012", "19800401", "202611", "4310501", "山田", "ｱ", "18446744073709551616", "-1"][..]), 0..40)),
            0..12)
    ) {
        let text: String = lines
            .iter()
            .map(|(id, fields)| format!("{id},{}\r\n", fields.join(",")))
            .collect();
        let (b, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        let _ = read_uke(&b);
    }

    /// Mutations of a valid file (byte flips, insertions, deletions,
    /// truncation, duplicated slices) never make the reader panic.
    #[test]
    fn mutated_files_never_panic(
        ops in prop::collection::vec((0u8..5, any::<prop::sample::Index>(), any::<u8>(), 0usize..64), 1..8)
    ) {
        let mut bytes = write_uke(&institution(Payer::ShiharaiKikin), &shaho_claims()).unwrap();
        for (op, at, byte, len) in ops {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                2 => { bytes.remove(i); }
                3 => bytes.truncate(i),
                _ => {
                    let end = (i + len).min(bytes.len());
                    let slice = bytes[i..end].to_vec();
                    let j = at.index(bytes.len());
                    bytes.splice(j..j, slice);
                }
            }
        }
        let _ = read_uke(&bytes);
    }

    /// The same for a 国保 file, mutating field text rather than bytes.
    #[test]
    fn mutated_fields_never_panic(
        record in any::<prop::sample::Index>(),
        field in any::<prop::sample::Index>(),
        value in prop::sample::select(&["", "0", "9", "99999999999999999999", "4310501", "6010101", "20260231", "2026113", "1", "2", "3", "ｱ", "  ", "777777777"][..]),
    ) {
        let file = write_uke(&institution(Payer::Kokuhoren), &kokuho_claims()).unwrap();
        let mut recs = records(&file);
        let r = record.index(recs.len());
        let mut fields: Vec<String> = recs[r].split(',').map(String::from).collect();
        let f = field.index(fields.len());
        fields[f] = value.to_owned();
        recs[r] = fields.join(",");
        let _ = read_uke(&bytes(&(recs.join("\r\n") + "\r\n")));
    }
}

#[test]
fn claim_month_day_helper_is_sane() {
    // Guards the generator: visit days 1..=28 exist in every month.
    for m in 1..=12 {
        assert!(NaiveDate::from_ymd_opt(2026, m, 28).is_some_and(|d| d.day() == 28));
    }
}
