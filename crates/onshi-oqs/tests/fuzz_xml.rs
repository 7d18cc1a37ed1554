//! Bad input into the オン資 XML readers (issue 10), beyond `malformed.rs`:
//! arbitrary bytes and structured mutations of the sample files (element
//! text replaced, fragments such as DOCTYPE, entities, CDATA, deep nesting
//! and duplicate elements inserted, lines duplicated or dropped, the
//! encoding declaration changed, the file re-encoded in Shift_JIS). For
//! every input: no panic; a refusal is a typed [`OqsError`] with an `E10nn`
//! code (never `E1099`, the internal one) and a slug; an accepted response
//! writes back to a file that reads the same; and the folder protocol answers
//! every unreadable request file with exactly one error file that itself
//! reads, carrying the refusal's code.
//!
//! Cases per property: 128 by default (a few seconds in CI). For a longer
//! run: `PROPTEST_CASES=20000 cargo test -p onshi-oqs --test fuzz_xml`.

mod common;

use common::*;
use onshi_oqs::request::{MAX_DEPTH, MAX_QUERIES, MAX_REQUEST_BYTES};
use onshi_oqs::response::MAX_RESPONSE_BYTES;
use onshi_oqs::{OqsError, parse_request, parse_response, write_message};
use proptest::prelude::*;

const SAMPLES: &[&str] = &[
    "OQSsiquc01req_0001.xml",
    "OQSsiquc01req_0002.xml",
    "OQSmuquc01req_0003.xml",
    "OQSsiquc01res_0001.xml",
    "OQSsiquc01res_0002.xml",
    "OQSmuquc01res_0003.xml",
    "OQSsiquc01res_error.xml",
];

const FRAGMENTS: &[&str] = &[
    "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
    "&e;",
    "&amp;",
    "&#0;",
    "&#x1F600;",
    "&#xD800;",
    "&lt;",
    "<![CDATA[<XmlMsg>]]>",
    "<?pi x?>",
    "<!-- c -->",
    "<MessageHeader></MessageHeader>",
    "<MessageBody/>",
    "<QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber></QualificationConfirmSearchInfo>",
    "<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>",
    "</a>",
    "<XmlMsg>",
    "</XmlMsg>",
    "\u{feff}",
    "\0",
    "ｱｲｳ",
    "髙",
    "𠮷",
    "\u{1}",
    "]]>",
    "<Birthdate>99999999</Birthdate>",
    "<ResultOfQuery>",
];

const VALUES: &[&str] = &[
    "",
    " ",
    "0",
    "1",
    "9",
    "-1",
    "20260231",
    "20261125",
    "99999999",
    "01130012",
    "01130013",
    "1311111111",
    "ｱ",
    "山田",
    "&amp;",
    "<",
    "18446744073709551616",
    "1e9",
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

fn typed(e: &OqsError) -> Result<(), TestCaseError> {
    let code = e.code();
    prop_assert!(
        code.starts_with("E10") && code.len() == 5,
        "{code} for {e:?}"
    );
    prop_assert_ne!(code, "E1099", "an internal error for bad input: {:?}", e);
    prop_assert!(!e.slug().is_empty() && !e.to_string().is_empty());
    Ok(())
}

/// Reads `bytes` as a request and as a response, and answers it through the
/// folder protocol; checks every outcome.
fn judge(bytes: &[u8]) -> Result<(), TestCaseError> {
    let request = parse_request(bytes);
    if let Err(e) = &request {
        typed(e)?;
        // One error file, which reads, with the refusal's code.
        let mut never = |_: &onshi_oqs::OqsRequest| Vec::new();
        let (out, _) = onshi_oqs::folder::respond(bytes, false, &mut never, processed_at());
        let answer = parse_response(&out);
        prop_assert!(
            answer.is_ok(),
            "error file does not read: {:?}",
            answer.err()
        );
        let text = String::from_utf8_lossy(&out);
        prop_assert!(text.contains(e.code()), "{} not in {text}", e.code());
    }
    match parse_response(bytes) {
        Err(e) => typed(&e)?,
        Ok(r) => {
            // What was accepted is written back the same way (or refused typed).
            match write_message(&r) {
                Ok(again) => {
                    let reread = parse_response(&again);
                    prop_assert!(reread.is_ok(), "{:?}", reread.err());
                    prop_assert_eq!(reread.unwrap(), r);
                }
                Err(e) => typed(&e)?,
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Op {
    Byte(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Text(prop::sample::Index, String),
    Insert(prop::sample::Index, &'static str),
    DuplicateLine(prop::sample::Index),
    DropLine(prop::sample::Index),
    Encoding(&'static str),
}

fn op() -> impl Strategy<Value = Op> {
    let idx = any::<prop::sample::Index>;
    prop_oneof![
        (idx(), any::<u8>()).prop_map(|(i, b)| Op::Byte(i, b)),
        idx().prop_map(Op::Truncate),
        (
            idx(),
            prop_oneof![
                prop::sample::select(VALUES).prop_map(str::to_owned),
                "[0-9]{0,10}",
                any::<String>()
            ]
        )
            .prop_map(|(i, v)| Op::Text(i, v)),
        (idx(), prop::sample::select(FRAGMENTS)).prop_map(|(i, f)| Op::Insert(i, f)),
        idx().prop_map(Op::DuplicateLine),
        idx().prop_map(Op::DropLine),
        prop::sample::select(&["UTF-8", "Shift_JIS", "EUC-JP", "UTF-16", "", "utf8"][..])
            .prop_map(Op::Encoding),
    ]
}

fn char_boundary(s: &str, i: prop::sample::Index) -> usize {
    let mut at = i.index(s.len() + 1);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: String, ops: &[Op]) -> Vec<u8> {
    let mut text = text;
    let mut raw: Option<Vec<u8>> = None;
    for op in ops {
        match op {
            Op::Byte(i, b) => {
                let mut bytes = raw.take().unwrap_or_else(|| text.clone().into_bytes());
                if !bytes.is_empty() {
                    let at = i.index(bytes.len());
                    bytes[at] = *b;
                }
                raw = Some(bytes);
            }
            Op::Truncate(i) => {
                let mut bytes = raw.take().unwrap_or_else(|| text.clone().into_bytes());
                bytes.truncate(i.index(bytes.len() + 1));
                raw = Some(bytes);
            }
            _ if raw.is_some() => {}
            Op::Text(i, v) => {
                // Replace the text of one element (between a '>' and the next '<').
                let gaps: Vec<(usize, usize)> = text
                    .match_indices('>')
                    .filter_map(|(a, _)| text[a + 1..].find('<').map(|b| (a + 1, a + 1 + b)))
                    .collect();
                if !gaps.is_empty() {
                    let (a, b) = gaps[i.index(gaps.len())];
                    text.replace_range(a..b, v);
                }
            }
            Op::Insert(i, f) => {
                let at = char_boundary(&text, *i);
                text.insert_str(at, f);
            }
            Op::DuplicateLine(i) | Op::DropLine(i) => {
                let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
                if !lines.is_empty() {
                    let at = i.index(lines.len());
                    if matches!(op, Op::DropLine(_)) {
                        lines.remove(at);
                    } else {
                        lines.insert(at, lines[at].clone());
                    }
                }
                text = lines.join("\n");
            }
            Op::Encoding(enc) => {
                text = text.replacen("encoding=\"UTF-8\"", &format!("encoding=\"{enc}\""), 1);
            }
        }
    }
    raw.unwrap_or_else(|| text.into_bytes())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        judge(&bytes)?;
    }

    #[test]
    fn xml_looking_text(
        parts in prop::collection::vec(
            prop_oneof![prop::sample::select(FRAGMENTS), prop::sample::select(VALUES)], 0..30)
    ) {
        let text = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg>{}</XmlMsg>", parts.concat());
        judge(text.as_bytes())?;
    }

    #[test]
    fn mutated_samples(
        name in prop::sample::select(SAMPLES),
        ops in prop::collection::vec(op(), 1..6),
        shift_jis in any::<bool>(),
    ) {
        // The Shift_JIS samples are mutated as text and written back as UTF-8
        // (or as Shift_JIS again below).
        let text = match String::from_utf8(sample(name)) {
            Ok(t) => t,
            Err(e) => encoding_rs::SHIFT_JIS
                .decode(e.as_bytes())
                .0
                .replacen("encoding=\"Shift_JIS\"", "encoding=\"UTF-8\"", 1),
        };
        let bytes = apply(text, &ops);
        let bytes = match (shift_jis, String::from_utf8(bytes.clone())) {
            (true, Ok(t)) => {
                let t = t.replacen("encoding=\"UTF-8\"", "encoding=\"Shift_JIS\"", 1);
                let (b, _, _) = encoding_rs::SHIFT_JIS.encode(&t);
                b.into_owned()
            }
            _ => bytes,
        };
        judge(&bytes)?;
    }
}

/// The documented limits are enforced before parsing: an oversized file of
/// junk is `E1003` (too large), not a syntax error found by reading it.
#[test]
fn limits_come_before_parsing() {
    let junk = vec![b'<'; MAX_REQUEST_BYTES + 1];
    assert_eq!(parse_request(&junk).unwrap_err().code(), "E1003");
    let junk = vec![b'<'; MAX_RESPONSE_BYTES + 1];
    assert_eq!(parse_response(&junk).unwrap_err().code(), "E1003");
    // Exactly at the limit the file is read (and refused for what it is).
    let junk = vec![b'<'; MAX_REQUEST_BYTES];
    assert_ne!(parse_request(&junk).unwrap_err().code(), "E1003");

    let deep = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}{}",
        "<XmlMsg>".repeat(MAX_DEPTH + 2),
        "</XmlMsg>".repeat(MAX_DEPTH + 2)
    );
    assert_eq!(parse_request(deep.as_bytes()).unwrap_err().code(), "E1007");

    let q = "<QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber>\
             <InsuredIdentificationNumber>1</InsuredIdentificationNumber>\
             <Birthdate>19800401</Birthdate></QualificationConfirmSearchInfo>";
    let file = |n: usize| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageHeader>\
             <QualificationConfirmationDate>20261125</QualificationConfirmationDate>\
             <MedicalInstitutionCode>1311111111</MedicalInstitutionCode>\
             </MessageHeader><MessageBody>{}</MessageBody></XmlMsg>",
            q.repeat(n)
        )
    };
    assert!(parse_request(file(MAX_QUERIES).as_bytes()).is_ok());
    assert_eq!(
        parse_request(file(MAX_QUERIES + 1).as_bytes())
            .unwrap_err()
            .code(),
        "E1005"
    );
}
