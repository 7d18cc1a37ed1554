//! Bad input into the identifier, text and date parsers (issue 10): arbitrary
//! strings and strings built from the characters the parsers care about
//! (digits in every width, 和暦 era names and letters, separators, kana,
//! control characters). For every input: no panic; a refusal is a typed
//! [`ParseError`] with a stable snake_case code, the field it is about and a
//! message; an acceptance is canonical (its text parses back to itself).
//!
//! Cases per property: 256 by default, so the file runs in a few seconds in
//! CI. For a longer run: `PROPTEST_CASES=100000 cargo test -p onshi-core --test fuzz_parsers`.

use onshi_core::{
    Address, BranchNumber, CertificateSerial, InstitutionCode, InsuredNumber, InsuredSymbol,
    InsurerNumber, KanaName, ParseError, PersonName, PersonRef, WarekiDate, parse_date_any,
    parse_iso_date,
};
use proptest::prelude::*;

/// The characters the parsers branch on.
const PIECES: &[&str] = &[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "０", "１", "９", "٣", "-", "－", "ー", ".",
    "．", "/", "／", " ", "　", "\t", "\n", "\0", "\u{202e}", "\u{feff}", "明治", "大正", "昭和",
    "平成", "令和", "元", "年", "月", "日", "M", "T", "S", "H", "R", "m", "r", "㍻", "㋿", "㍼",
    "ア", "ｱ", "ﾞ", "ﾟ", "ヴ", "ヰ", "あ", "山", "髙", "𠮷", "A", "z", "e", "+", "１２", "99", "00",
    "31", "29", "02", "13", "64", "65",
];

fn pieces(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..max).prop_map(|v| v.concat())
}

/// Arbitrary text, or text made of the pieces above.
fn input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        pieces(14),
        "[0-9]{0,12}",
        "[0-9０-９]{1,10}"
    ]
}

fn config() -> ProptestConfig {
    // PROPTEST_CASES overrides this for longer runs.
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        ..ProptestConfig::default()
    }
}

/// A refusal is typed: a stable code, the field, a message.
fn typed(e: &ParseError, field: &str) -> Result<(), TestCaseError> {
    let code = e.code();
    prop_assert!(
        !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "code {code:?}"
    );
    prop_assert_eq!(e.field, field);
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

/// Parses `s`; an acceptance must parse back to itself from its own text.
macro_rules! canonical {
    ($ty:ty, $field:expr, $s:expr) => {{
        match <$ty>::parse($s) {
            Ok(v) => {
                let again = <$ty>::parse(&v.to_string());
                prop_assert_eq!(
                    again.as_ref(),
                    Ok(&v),
                    "{} {:?} → {:?}",
                    stringify!($ty),
                    $s,
                    v.to_string()
                );
            }
            Err(e) => typed(&e, $field)?,
        }
    }};
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn identifiers(s in input()) {
        canonical!(InsurerNumber, "insurer_number", &s);
        canonical!(InsuredSymbol, "insured_symbol", &s);
        canonical!(InsuredNumber, "insured_number", &s);
        canonical!(BranchNumber, "insured_branch", &s);
        canonical!(InstitutionCode, "institution_code", &s);
        canonical!(CertificateSerial, "certificate_serial", &s);
        canonical!(PersonRef, "person_ref", &s);
    }

    #[test]
    fn insurer_number_bodies(body in "[0-9]{0,9}") {
        // from_body computes the 検証番号: its result is a valid number.
        match InsurerNumber::from_body(&body) {
            Ok(n) => prop_assert_eq!(InsurerNumber::parse(&n.to_string()), Ok(n)),
            Err(e) => typed(&e, "insurer_number")?,
        }
    }

    #[test]
    fn person_texts(s in input(), repeat in 1usize..80) {
        canonical!(PersonName, "name", &s);
        canonical!(KanaName, "kana", &s);
        canonical!(Address, "address", &s);
        // Over the documented lengths: refused, typed.
        let long = s.repeat(repeat);
        canonical!(PersonName, "name", &long);
        canonical!(Address, "address", &long);
        let over = "ア".repeat(KanaName::MAX_CHARS + 1);
        prop_assert!(KanaName::parse(&over).is_err());
        let over = "山".repeat(PersonName::MAX_CHARS + 1);
        prop_assert!(PersonName::parse(&over).is_err());
        let over = "山".repeat(Address::MAX_CHARS + 1);
        prop_assert!(Address::parse(&over).is_err());
    }

    #[test]
    fn wareki(s in input()) {
        match WarekiDate::parse(&s) {
            Ok(w) => {
                // A 和暦 date that parsed is a real day of its era, and the
                // era of that day gives it back.
                let g = w.to_gregorian();
                let back = WarekiDate::from_gregorian(g);
                prop_assert!(back.is_ok(), "{s:?} → {g}");
                prop_assert_eq!(back.unwrap().to_gregorian(), g);
            }
            Err(e) => {
                let code = e.code();
                prop_assert!(!code.is_empty() && code.is_ascii(), "{code:?}");
            }
        }
    }

    #[test]
    fn dates(s in input(), y in 1i32..9999, m in 0u32..14, d in 0u32..33) {
        for f in [parse_iso_date, parse_date_any] {
            match f("birth_date", &s) {
                Ok(date) => {
                    let iso = date.format("%Y-%m-%d").to_string();
                    prop_assert_eq!(parse_iso_date("birth_date", &iso), Ok(date));
                }
                Err(e) => typed(&e, "birth_date")?,
            }
        }
        let iso = format!("{y:04}-{m:02}-{d:02}");
        let real = chrono::NaiveDate::from_ymd_opt(y, m, d);
        prop_assert_eq!(parse_iso_date("d", &iso).ok(), real);
        prop_assert_eq!(parse_date_any("d", &iso).ok(), real);
        let compact = format!("{y:04}{m:02}{d:02}");
        prop_assert_eq!(parse_date_any("d", &compact).ok(), real);
    }
}
