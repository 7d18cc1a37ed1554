//! Malformed input gives the right error code and never panics.

mod common;

use common::*;
use onshi_oqs::{OqsError, parse_request, parse_response};

fn code(bytes: &[u8]) -> &'static str {
    parse_request(bytes).unwrap_err().code()
}

fn request_with(queries: usize) -> String {
    let q = "<QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber>\
             <InsuredIdentificationNumber>1</InsuredIdentificationNumber>\
             <Birthdate>19800401</Birthdate></QualificationConfirmSearchInfo>\n";
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XmlMsg><MessageHeader>\
         <QualificationConfirmationDate>20261125</QualificationConfirmationDate>\
         <MedicalInstitutionCode>1311111111</MedicalInstitutionCode>\
         </MessageHeader><MessageBody>\n{}</MessageBody></XmlMsg>\n",
        q.repeat(queries)
    )
}

#[test]
fn truncated_file() {
    let full = sample("OQSsiquc01req_0001.xml");
    assert_eq!(code(&full[..full.len() / 2]), "E1001");
    // Every truncation point is an error, never a panic.
    let closing = full.len() - "</XmlMsg>\n".len();
    for cut in 0..closing {
        let e = parse_request(&full[..cut]).unwrap_err();
        assert!(matches!(e.code(), "E1001" | "E1004"), "cut at {cut}: {e}");
    }
}

#[test]
fn truncated_shift_jis_mid_character() {
    let full = sample("OQSsiquc01req_0002.xml");
    let at = full.windows(2).position(|w| w == [0x82, 0xA0]).unwrap(); // あ
    let e = parse_request(&full[..at + 1]).unwrap_err();
    assert_eq!(e.code(), "E1006", "{e}");
}

#[test]
fn invalid_shift_jis_bytes() {
    let mut bytes = sample("OQSsiquc01req_0002.xml");
    let at = bytes.windows(2).position(|w| w == [0x82, 0xA0]).unwrap();
    bytes[at + 1] = 0x20; // lead byte followed by a space
    let e = parse_request(&bytes).unwrap_err();
    assert!(
        matches!(e, OqsError::InvalidBytes { offset, .. } if offset == at),
        "{e:?}"
    );
    assert_eq!(e.code(), "E1006");
    let mut bytes = sample("OQSsiquc01req_0002.xml");
    bytes.insert(at, 0xFF);
    assert_eq!(code(&bytes), "E1006");
}

#[test]
fn shift_jis_bytes_declared_as_utf8() {
    let bytes = sample("OQSsiquc01req_0002.xml");
    let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
    let lying = encoding_rs::SHIFT_JIS
        .encode(&text.replace("Shift_JIS", "UTF-8"))
        .0
        .into_owned();
    assert_eq!(code(&lying), "E1006");
}

#[test]
fn unsupported_encodings() {
    let text = String::from_utf8(sample("OQSsiquc01req_0001.xml")).unwrap();
    assert_eq!(code(text.replace("UTF-8", "EUC-JP").as_bytes()), "E1002");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(code(&utf16), "E1002");
}

#[test]
fn two_mebibyte_file() {
    let mut big = request_with(1).into_bytes();
    big.extend(std::iter::repeat_n(b' ', 2 << 20));
    let e = parse_request(&big).unwrap_err();
    assert_eq!(e.code(), "E1003");
    assert!(matches!(e, OqsError::TooLarge { limit, .. } if limit == 1 << 20));
}

#[test]
fn query_count_limit() {
    assert_eq!(
        parse_request(request_with(100).as_bytes())
            .unwrap()
            .queries
            .len(),
        100
    );
    let e = parse_request(request_with(101).as_bytes()).unwrap_err();
    assert_eq!(e.code(), "E1005");
    assert_eq!(
        e,
        OqsError::TooManyQueries {
            count: 101,
            limit: 100
        }
    );
}

#[test]
fn missing_header_and_body() {
    let text = String::from_utf8(sample("OQSsiquc01req_0001.xml")).unwrap();
    let start = text.find("<MessageHeader>").unwrap();
    let end = text.find("</MessageHeader>").unwrap() + "</MessageHeader>".len();
    let no_header = format!("{}{}", &text[..start], &text[end..]);
    let e = parse_request(no_header.as_bytes()).unwrap_err();
    assert_eq!(e, OqsError::MissingElement("MessageHeader".into()));
    assert_eq!(e.code(), "E1004");
    assert!(e.to_string().contains("MessageHeader"));

    let no_date = text.replace(
        "<QualificationConfirmationDate>20261125</QualificationConfirmationDate>",
        "",
    );
    assert_eq!(
        parse_request(no_date.as_bytes()).unwrap_err(),
        OqsError::MissingElement("QualificationConfirmationDate".into())
    );

    let start = text.find("<MessageBody>").unwrap();
    let end = text.find("</MessageBody>").unwrap() + "</MessageBody>".len();
    let no_body = format!("{}{}", &text[..start], &text[end..]);
    assert_eq!(
        parse_request(no_body.as_bytes()).unwrap_err(),
        OqsError::MissingElement("MessageBody".into())
    );
}

#[test]
fn wrong_root() {
    let text = String::from_utf8(sample("OQSsiquc01req_0001.xml")).unwrap();
    let e = parse_request(text.replace("XmlMsg>", "Message>").as_bytes()).unwrap_err();
    assert_eq!(e, OqsError::WrongRoot("Message".into()));
    assert_eq!(e.code(), "E1008");
}

#[test]
fn too_deep_and_doctype() {
    let deep = request_with(1).replace(
        "<InsurerNumber>01130012</InsurerNumber>",
        &format!("{}{}", "<x>".repeat(20), "</x>".repeat(20)),
    );
    assert_eq!(code(deep.as_bytes()), "E1007");
    let doctype = request_with(1).replace(
        "<XmlMsg>",
        "<!DOCTYPE XmlMsg [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]><XmlMsg>",
    );
    assert_eq!(code(doctype.as_bytes()), "E1001");
}

#[test]
fn garbage_never_panics() {
    // Deterministic byte mutations of every sample, as requests and responses.
    let mut seed: u64 = 0x5EED;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in [
        "OQSsiquc01req_0001.xml",
        "OQSsiquc01req_0002.xml",
        "OQSmuquc01req_0003.xml",
        "OQSsiquc01res_0002.xml",
        "OQSmuquc01res_0003.xml",
    ] {
        let base = sample(name);
        for _ in 0..300 {
            let mut b = base.clone();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            let _ = parse_request(&b);
            let _ = parse_response(&b);
        }
    }
}

#[test]
fn bad_response_values() {
    let text = String::from_utf8(sample("OQSsiquc01res_0001.xml")).unwrap();
    let bad = text.replace("<Sex1>1</Sex1>", "<Sex1>x</Sex1>");
    assert_eq!(parse_response(bad.as_bytes()).unwrap_err().code(), "E1009");
    let bad = text.replace("<SegmentOfResult>1</SegmentOfResult>", "");
    assert_eq!(
        parse_response(bad.as_bytes()).unwrap_err(),
        OqsError::MissingElement("SegmentOfResult".into())
    );
}
