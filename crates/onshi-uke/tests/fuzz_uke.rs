//! Bad input into the claim-file reader (issue 10), beyond `proptests.rs`
//! (which shows no panic): every refusal of `read_uke` and `claims_for_run`
//! is a typed [`UkeError`] with a stable code and a message; the two agree
//! on what they refuse; what is accepted after a mutation is a file onshi
//! would write the same way again (write → read gives the same claims), so
//! a mutated file never half-reads.
//!
//! Cases per property: 128 by default (a few seconds in CI). For a longer
//! run: `PROPTEST_CASES=20000 cargo test -p onshi-uke --test fuzz_uke`.

mod common;

use common::*;
use onshi_core::Payer;
use onshi_uke::{UkeError, claims_for_run, read_uke, write_uke};
use proptest::prelude::*;

const CODES: &[&str] = &[
    "unencodable_character",
    "forbidden_character",
    "field_too_long",
    "invalid_institution",
    "invalid_claim",
    "invalid_bytes",
    "malformed_record",
    "missing_record",
    "count_mismatch",
    "unknown_record",
    "unsupported_record",
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(128),
        ..ProptestConfig::default()
    }
}

fn typed(e: &UkeError) -> Result<(), TestCaseError> {
    prop_assert!(CODES.contains(&e.code()), "{:?}", e.code());
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

/// Reads `bytes` both ways and checks the answers are typed and agree.
fn judge(bytes: &[u8]) -> Result<(), TestCaseError> {
    let read = read_uke(bytes);
    let run = claims_for_run(bytes);
    match (&read, &run) {
        (Err(a), Err(b)) => {
            typed(a)?;
            prop_assert_eq!(a.code(), b.code());
        }
        (Ok((inst, claims)), Ok(inputs)) => {
            prop_assert_eq!(claims.len(), inputs.len());
            // Every claim the run gets is the one read, or refused with a
            // typed intake error.
            for (c, (label, input)) in claims.iter().zip(inputs) {
                prop_assert!(label.starts_with("uke:"));
                match input {
                    Ok(got) => prop_assert_eq!(got, c),
                    Err(e) => prop_assert!(!e.code.is_empty() && !e.message.is_empty(), "{:?}", e),
                }
            }
            // What was accepted writes back to a file that reads the same.
            if let Ok(again) = write_uke(inst, claims) {
                let reread = read_uke(&again);
                prop_assert!(reread.is_ok(), "{:?}", reread.err());
                let (inst2, claims2) = reread.unwrap();
                prop_assert_eq!(&inst2, inst);
                prop_assert_eq!(&claims2, claims);
            }
        }
        _ => prop_assert!(
            false,
            "read_uke and claims_for_run disagree: {:?} / {:?}",
            read.as_ref().err(),
            run.as_ref().err()
        ),
    }
    Ok(())
}

fn mutate(mut bytes: Vec<u8>, ops: &[(u8, prop::sample::Index, u8, usize)]) -> Vec<u8> {
    for (op, at, byte, len) in ops {
        if bytes.is_empty() {
            break;
        }
        let i = at.index(bytes.len());
        match op {
            0 => bytes[i] = *byte,
            1 => bytes.insert(i, *byte),
            2 => {
                bytes.remove(i);
            }
            3 => bytes.truncate(i),
            4 => {
                // A comma or a record break in the middle of a field.
                bytes.insert(i, if byte % 2 == 0 { b',' } else { b'\n' });
            }
            _ => {
                let end = (i + len).min(bytes.len());
                let slice = bytes[i..end].to_vec();
                let j = at.index(bytes.len());
                bytes.splice(j..j, slice);
            }
        }
    }
    bytes
}

fn ops() -> impl Strategy<Value = Vec<(u8, prop::sample::Index, u8, usize)>> {
    prop::collection::vec(
        (
            0u8..6,
            any::<prop::sample::Index>(),
            any::<u8>(),
            0usize..200,
        ),
        1..6,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..800)) {
        judge(&bytes)?;
    }

    #[test]
    fn mutated_shaho_files(ops in ops()) {
        let file = write_uke(&institution(Payer::ShiharaiKikin), &shaho_claims()).unwrap();
        judge(&mutate(file, &ops))?;
    }

    #[test]
    fn mutated_kokuho_files(ops in ops()) {
        let file = write_uke(&institution(Payer::Kokuhoren), &kokuho_claims()).unwrap();
        judge(&mutate(file, &ops))?;
    }

    /// Whole records swapped, dropped or repeated.
    #[test]
    fn shuffled_records(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let file = write_uke(&institution(Payer::Kokuhoren), &kokuho_claims()).unwrap();
        let recs = records(&file);
        let text: String = picks.iter().map(|p| format!("{}\r\n", recs[p.index(recs.len())])).collect();
        judge(&bytes(&text))?;
    }

    /// One field replaced by a value from the edges of its layout.
    #[test]
    fn mutated_fields(
        record in any::<prop::sample::Index>(),
        field in any::<prop::sample::Index>(),
        value in prop_oneof![
            prop::sample::select(&["", "0", "-1", "+1", "1e3", "99999999999999999999", "18446744073709551616",
                "4310501", "5010101", "6010101", "20260231", "00000000", "ｱ", "①", "髙", "　", "\"", "777777777"][..])
                .prop_map(str::to_owned),
            "[0-9]{0,12}",
            "[ｱ-ﾝ]{0,50}",
        ],
    ) {
        let file = write_uke(&institution(Payer::ShiharaiKikin), &shaho_claims()).unwrap();
        let mut recs = records(&file);
        let r = record.index(recs.len());
        let mut fields: Vec<String> = recs[r].split(',').map(String::from).collect();
        let f = field.index(fields.len());
        fields[f] = value;
        recs[r] = fields.join(",");
        let text = recs.join("\r\n") + "\r\n";
        let (b, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
        prop_assume!(!unmappable);
        judge(&b)?;
    }
}

/// The reader holds a whole file in memory, so its size is bounded where it
/// is taken in: the API refuses an upload over 32 MiB with 413 before this
/// reader runs (onshi-web `MAX_UPLOAD_BYTES`). A large file of only padding
/// is refused typed and quickly here too.
#[test]
fn a_large_file_of_junk_is_refused_typed() {
    let junk = vec![b'9'; 4 << 20];
    let started = std::time::Instant::now();
    let e = read_uke(&junk).unwrap_err();
    assert!(CODES.contains(&e.code()), "{e:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let lines = "IR,1\r\n".repeat(200_000);
    let e = read_uke(lines.as_bytes()).unwrap_err();
    assert!(CODES.contains(&e.code()), "{e:?}");
}
