//! The files in `samples/`: the request samples parse as expected, and the
//! response samples are exactly what the writers produce for them.
//! `ONSHI_OQS_WRITE_SAMPLES=1 cargo test -p onshi-oqs --test samples`
//! regenerates the response samples.

mod common;

use common::*;
use onshi_oqs::codes::{Charset, PersonalFamilyClassification, SegmentOfResult, SexCode};
use onshi_oqs::{
    OqsError, QueryResult, Variant, parse_request, parse_response, write_error, write_face,
    write_response,
};

fn check_or_write(name: &str, bytes: &[u8]) {
    let path = sample_path(name);
    if std::env::var_os("ONSHI_OQS_WRITE_SAMPLES").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == bytes,
        "{name} differs from what the writer produces; regenerate with ONSHI_OQS_WRITE_SAMPLES=1\n{}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn single_utf8_request() {
    let r = parse_request(&sample("OQSsiquc01req_0001.xml")).unwrap();
    assert_eq!(r.charset, Charset::Utf8);
    assert_eq!(r.variant, Variant::Single);
    assert_eq!(r.header.qualification_confirmation_date, date("2026-11-25"));
    assert_eq!(r.header.medical_institution_code, "1311111111");
    assert_eq!(r.header.arbitrary_file_identifier.as_deref(), Some("0001"));
    assert_eq!(r.header.character_code, Some(Charset::Utf8));
    let q = &r.queries[0];
    assert_eq!(
        (
            q.insurer_number.as_str(),
            q.insured_card_symbol.as_str(),
            q.insured_identification_number.as_str(),
            q.insured_branch_number.as_str(),
            q.birthdate.as_str(),
            q.limit_application_certificate_related_cons_flg.as_str(),
            q.arbitrary_identifier.as_str()
        ),
        (
            "01130012",
            "12345",
            "678",
            "01",
            "19800401",
            "0",
            "patient-0001"
        )
    );
    // The registry accepts what we hand it.
    let raw = q.to_raw_check(r.header.qualification_confirmation_date);
    onshi_registry::check::CheckRequest::parse(&raw).unwrap();
}

#[test]
fn single_shift_jis_request() {
    let bytes = sample("OQSsiquc01req_0002.xml");
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the sample is really Shift_JIS"
    );
    let r = parse_request(&bytes).unwrap();
    assert_eq!(r.charset, Charset::ShiftJis);
    assert_eq!(r.response_charset(), Charset::ShiftJis);
    assert_eq!(
        r.header.arbitrary_file_identifier.as_deref(),
        Some("受付0002")
    );
    let q = &r.queries[0];
    assert_eq!(q.insurer_number, "138057");
    assert_eq!(q.insured_card_symbol, "あいう");
    assert_eq!(q.arbitrary_identifier, "患者0002");
    let raw = q.to_raw_check(r.header.qualification_confirmation_date);
    assert_eq!(raw.insured_symbol.as_deref(), Some("あいう"));
    onshi_registry::check::CheckRequest::parse(&raw).unwrap();
}

#[test]
fn batch_request() {
    let r = parse_request(&sample("OQSmuquc01req_0003.xml")).unwrap();
    assert_eq!(r.variant, Variant::Batch);
    assert_eq!(r.queries.len(), 3);
    assert_eq!(r.header.character_code, None);
    assert_eq!(r.response_charset(), Charset::Utf8);
    assert_eq!(r.queries[1].insured_card_symbol, "");
    assert_eq!(r.queries[2].insured_identification_number, "");
    let raws: Vec<_> = r
        .queries
        .iter()
        .map(|q| q.to_raw_check(r.header.qualification_confirmation_date))
        .collect();
    assert_eq!(raws[1].insured_symbol, None);
    assert_eq!(raws[1].insured_branch, None);
    assert!(onshi_registry::check::CheckRequest::parse(&raws[0]).is_ok());
    assert!(onshi_registry::check::CheckRequest::parse(&raws[1]).is_ok());
    assert!(onshi_registry::check::CheckRequest::parse(&raws[2]).is_err());
}

#[test]
fn response_samples() {
    let r1 = parse_request(&sample("OQSsiquc01req_0001.xml")).unwrap();
    let out = write_response(
        &r1,
        &[QueryResult::Answer(valid_kyokai())],
        processed_at(),
        r1.response_charset(),
    )
    .unwrap();
    check_or_write("OQSsiquc01res_0001.xml", &out);

    let r2 = parse_request(&sample("OQSsiquc01req_0002.xml")).unwrap();
    let out = write_response(
        &r2,
        &[QueryResult::Answer(preschool_kokuho())],
        processed_at(),
        r2.response_charset(),
    )
    .unwrap();
    check_or_write("OQSsiquc01res_0002.xml", &out);
    let back = parse_response(&out).unwrap();
    assert_eq!(back.charset, Charset::ShiftJis);
    let e = &back.queries[0].results[0];
    assert_eq!(e.name, "高橋 ぱぴぷ");
    assert_eq!(e.name_kana, "ﾀｶﾊｼ ﾊﾟﾋﾟﾌﾟ");
    assert_eq!(e.insurer_number, "138057");
    assert_eq!(e.insured_card_symbol.as_deref(), Some("あいう"));
    assert_eq!(e.sex1, Some(SexCode::Female));
    assert_eq!(
        e.personal_family_classification,
        Some(PersonalFamilyClassification::Family)
    );
    assert_eq!(e.insured_partial_contribution_ratio, Some(20));
    assert!(e.preschool);
    let text = encoding_rs::SHIFT_JIS.decode(&out).0.into_owned();
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"Shift_JIS\""),
        "{text}"
    );
    assert!(
        text.contains("<InsurerNumber>  138057</InsurerNumber>"),
        "{text}"
    );
    assert!(
        text.contains("<InsuredPartialContributionRatio>020</InsuredPartialContributionRatio>")
    );
    assert!(text.contains("<PreschoolClassification>1</PreschoolClassification>"));

    let r3 = parse_request(&sample("OQSmuquc01req_0003.xml")).unwrap();
    let out = write_response(&r3, &batch_results(), processed_at(), r3.response_charset()).unwrap();
    check_or_write("OQSmuquc01res_0003.xml", &out);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("<ResultOfQuery>").count(), 3);
    assert!(text.contains("<DisqualificationDate>20261001</DisqualificationDate>"));

    let face = write_face(
        &card_in_grace(),
        "1311111111",
        processed_at(),
        Charset::Utf8,
    )
    .unwrap();
    check_or_write("face_0001.xml", &face);

    let truncated = &sample("OQSsiquc01req_0001.xml")[..200];
    let e: OqsError = parse_request(truncated).unwrap_err();
    let err = write_error(
        e.code(),
        &e.to_string(),
        None,
        Charset::Utf8,
        processed_at(),
    )
    .unwrap();
    check_or_write("OQSsiquc01res_error.xml", &err);
    let back = parse_response(&err).unwrap();
    assert_eq!(back.header.segment_of_result, SegmentOfResult::Abnormal);
    assert_eq!(back.header.error_code.as_deref(), Some("E1001"));
}

#[test]
fn every_response_sample_parses() {
    for name in [
        "OQSsiquc01res_0001.xml",
        "OQSsiquc01res_0002.xml",
        "OQSmuquc01res_0003.xml",
        "face_0001.xml",
        "OQSsiquc01res_error.xml",
    ] {
        let r = parse_response(&sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.header.character_code, Some(r.charset), "{name}");
    }
}
