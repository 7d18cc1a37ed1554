//! Bad input into the claim-file reader (issue 10), beyond `proptests.rs`
//! (which shows no panic): every refusal of `UkeFile::parse`, `read_uke` and
//! `claims_for_run` is a typed [`UkeError`] with a stable code and a
//! message, and the three agree: a file the model refuses, both refuse the
//! same way; a file the model takes, it gives back byte for byte, the run
//! takes receipt by receipt, and `read_uke` takes exactly when every receipt
//! is a claim (else it refuses with the first receipt's problem). What is
//! accepted writes back (by `write_uke`) to a file that reads as the same
//! claims in the form the writer gives them, and writing that again gives
//! the same bytes, so a mutated file never half-reads.
//!
//! Cases per property: 128 by default (a few seconds in CI). For a longer
//! run: `PROPTEST_CASES=20000 cargo test -p onshi-uke --test fuzz_uke`.

mod common;

use common::*;
use onshi_core::Payer;
use onshi_uke::{UkeError, UkeFile, claims_for_run, read_uke, write_uke};
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
    "no_such_receipt",
    "invalid_edit",
];

const RECEIPT_PROBLEMS: &[&str] = &[
    "kouhi_only_not_insurer_claim",
    "no_visit_dates",
    "unsupported_benefit_ratio",
];

const SAMPLE: &[u8] = include_bytes!("data/RECEIPTC_GAIRAI_SAMPLE.UKE");

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

/// Reads `bytes` the three ways and checks the answers are typed and agree.
fn judge(bytes: &[u8]) -> Result<(), TestCaseError> {
    let parsed = UkeFile::parse(bytes);
    let read = read_uke(bytes);
    let run = claims_for_run(bytes);
    let file = match parsed {
        Err(e) => {
            typed(&e)?;
            prop_assert_eq!(read.as_ref().err().map(UkeError::code), Some(e.code()));
            prop_assert_eq!(run.as_ref().err().map(UkeError::code), Some(e.code()));
            return Ok(());
        }
        Ok(f) => f,
    };
    // Taken whole: exactly the bytes read come back.
    prop_assert_eq!(file.to_bytes(), bytes);
    let inputs = match run {
        Ok(i) => i,
        Err(e) => return Err(TestCaseError::fail(format!("run refused: {e:?}"))),
    };
    let claims = file.claims();
    prop_assert_eq!(inputs.len(), file.receipts().len());
    prop_assert_eq!(claims.len(), inputs.len());
    for (i, (c, (label, input))) in claims.iter().zip(&inputs).enumerate() {
        prop_assert_eq!(label, &format!("uke:{:06}", i + 1));
        match (c, input) {
            (Ok(c), Ok(got)) => prop_assert_eq!(got, c),
            // Intake refuses: the claim's own validate() says why.
            (Ok(c), Err(p)) => prop_assert_eq!(c.validate().err(), Some(p.clone())),
            (Err(rp), Err(p)) => {
                prop_assert!(RECEIPT_PROBLEMS.contains(&rp.code()));
                prop_assert_eq!(&p.code, rp.code());
                prop_assert!(!p.message.is_empty());
            }
            (Err(rp), Ok(_)) => prop_assert!(false, "{:?} became a claim", rp),
        }
    }
    let first_problem = claims.iter().find_map(|c| c.as_ref().err());
    match (first_problem, &read) {
        (None, Ok((inst, read_claims))) => {
            prop_assert_eq!(inst, file.institution());
            let all: Vec<_> = claims.iter().filter_map(|c| c.clone().ok()).collect();
            prop_assert_eq!(read_claims, &all);
        }
        (Some(p), Err(e)) => {
            typed(e)?;
            prop_assert_eq!(e, &p.to_uke_error());
        }
        (p, r) => prop_assert!(false, "read_uke {:?} but receipt problem {:?}", r, p),
    }
    // What was accepted writes back to a file that reads the same, in the
    // writer's form, and is a fixed point of write → read → write.
    if let Ok((inst, read_claims)) = &read
        && let Ok(again) = write_uke(inst, read_claims)
    {
        let reread = read_uke(&again);
        prop_assert!(reread.is_ok(), "{:?}", reread.err());
        let (inst2, claims2) = reread.unwrap();
        prop_assert_eq!(&inst2, &inst_as_carried(inst));
        let expected: Vec<_> = read_claims.iter().map(as_carried).collect();
        prop_assert_eq!(&claims2, &expected);
        prop_assert_eq!(write_uke(&inst2, &claims2).unwrap(), again);
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

    /// The real sample (KO, SI, IY, 公費単独, no JD) mutated.
    #[test]
    fn mutated_real_sample(ops in ops()) {
        judge(&mutate(SAMPLE.to_vec(), &ops))?;
    }

    /// The real sample's records swapped, dropped or repeated, behind its IR.
    #[test]
    fn shuffled_sample_records(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..60),
    ) {
        let recs = records(SAMPLE);
        let text: String = std::iter::once(recs[0].clone())
            .chain(picks.iter().map(|p| recs[p.index(recs.len())].clone()))
            .map(|r| r + "\r\n")
            .collect();
        judge(&bytes(&text))?;
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
