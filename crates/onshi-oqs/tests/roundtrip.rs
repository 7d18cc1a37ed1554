//! Every message written reads back to the same fields; Shift_JIS in and out;
//! the half-width kana table.

mod common;

use common::*;
use onshi_oqs::codes::{
    Charset, InsuredCardClassification, PersonalFamilyClassification, ProcessingResultStatus,
    QualificationValidity, ReferenceClassification, SegmentOfResult, SexCode,
};
use onshi_oqs::kana::to_halfwidth_kana;
use onshi_oqs::response::response_for;
use onshi_oqs::{
    OqsError, QueryResult, Variant, parse_request, parse_response, write_error, write_face,
    write_message, write_response,
};
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

#[test]
fn response_round_trip_single_and_batch() {
    for (req, results) in [
        (
            "OQSsiquc01req_0001.xml",
            vec![QueryResult::Answer(valid_kyokai())],
        ),
        (
            "OQSsiquc01req_0002.xml",
            vec![QueryResult::Answer(preschool_kokuho())],
        ),
        ("OQSmuquc01req_0003.xml", batch_results()),
    ] {
        let r = parse_request(&sample(req)).unwrap();
        for charset in [Charset::Utf8, Charset::ShiftJis] {
            let want = response_for(&r, &results, processed_at(), charset).unwrap();
            let bytes = write_response(&r, &results, processed_at(), charset).unwrap();
            let got = parse_response(&bytes).unwrap();
            assert_eq!(got, want, "{req} {charset}");
            assert_eq!(got.charset, charset);
            assert_eq!(got.variant, r.variant);
            // Every echoed query equals the request's.
            for (q, o) in r.queries.iter().zip(&got.queries) {
                assert_eq!(o.search_info.as_ref(), Some(q));
            }
            // And writing the parsed value again gives the same bytes.
            assert_eq!(write_message(&got).unwrap(), bytes);
        }
    }
}

#[test]
fn response_fields() {
    let r = parse_request(&sample("OQSsiquc01req_0001.xml")).unwrap();
    let bytes = write_response(
        &r,
        &[QueryResult::Answer(valid_kyokai())],
        processed_at(),
        Charset::Utf8,
    )
    .unwrap();
    let got = parse_response(&bytes).unwrap();
    let h = &got.header;
    assert_eq!(h.process_execution_time, Some(processed_at()));
    assert_eq!(h.qualification_confirmation_date, Some(date("2026-11-25")));
    assert_eq!(h.medical_institution_code.as_deref(), Some("1311111111"));
    assert_eq!(h.arbitrary_file_identifier.as_deref(), Some("0001"));
    assert_eq!(
        h.reference_classification,
        Some(ReferenceClassification::InsuredCardInfo)
    );
    assert_eq!(h.segment_of_result, SegmentOfResult::Normal);
    assert_eq!(h.character_code, Some(Charset::Utf8));
    assert_eq!(got.queries.len(), 1);
    let q = &got.queries[0];
    assert_eq!(q.status, ProcessingResultStatus::Normal);
    assert_eq!(q.validity, Some(QualificationValidity::Valid));
    assert_eq!(
        (q.result_code.as_deref(), q.result_message.as_deref()),
        (None, None)
    );
    let e = &q.results[0];
    assert_eq!(
        e.insured_card_classification,
        Some(InsuredCardClassification::General)
    );
    assert_eq!(e.name, "山田 太郎");
    assert_eq!(e.name_kana, "ﾔﾏﾀﾞ ﾀﾛｳ");
    assert_eq!(e.sex1, Some(SexCode::Male));
    assert_eq!(e.birthdate, Some(date("1980-04-01")));
    assert_eq!(e.address, "東京都千代田区霞が関1-2-2");
    assert_eq!(e.insurer_name, "全国健康保険協会東京支部");
    assert_eq!(e.insurer_number, "01130012");
    assert_eq!(e.insured_card_symbol.as_deref(), Some("12345"));
    assert_eq!(e.insured_identification_number, "678");
    assert_eq!(e.insured_branch_number.as_deref(), Some("01"));
    assert_eq!(
        e.personal_family_classification,
        Some(PersonalFamilyClassification::Insured)
    );
    assert_eq!(e.qualification_date, Some(date("2015-04-01")));
    assert_eq!(e.disqualification_date, None);
    assert_eq!(e.insured_partial_contribution_ratio, Some(30));
    assert!(!e.preschool);
}

#[test]
fn multiple_and_not_found_answers() {
    let r = parse_request(&sample("OQSsiquc01req_0001.xml")).unwrap();
    let two = answer(
        5,
        "numbers",
        vec![
            view(json!({})),
            view(json!({"name": "山田 花子", "kana": "ヤマダ ハナコ"})),
        ],
        None,
    );
    let bytes = write_response(
        &r,
        &[QueryResult::Answer(two)],
        processed_at(),
        Charset::Utf8,
    )
    .unwrap();
    let got = parse_response(&bytes).unwrap();
    assert_eq!(
        got.queries[0].validity,
        Some(QualificationValidity::Multiple)
    );
    assert_eq!(got.queries[0].results.len(), 2);
    assert_eq!(got.queries[0].results[1].name_kana, "ﾔﾏﾀﾞ ﾊﾅｺ");

    let none = answer(4, "numbers", vec![], None);
    let bytes = write_response(
        &r,
        &[QueryResult::Answer(none)],
        processed_at(),
        Charset::Utf8,
    )
    .unwrap();
    let got = parse_response(&bytes).unwrap();
    assert_eq!(
        got.queries[0].validity,
        Some(QualificationValidity::NotFound)
    );
    assert!(got.queries[0].results.is_empty());
    assert!(!String::from_utf8(bytes).unwrap().contains("ResultList"));
}

#[test]
fn result_count_must_match() {
    let r = parse_request(&sample("OQSmuquc01req_0003.xml")).unwrap();
    let e = write_response(
        &r,
        &[QueryResult::Answer(valid_kyokai())],
        processed_at(),
        Charset::Utf8,
    )
    .unwrap_err();
    assert_eq!(e.code(), "E1012");
}

#[test]
fn face_round_trip() {
    let a = card_in_grace();
    for charset in [Charset::Utf8, Charset::ShiftJis] {
        let bytes = write_face(&a, "1311111111", processed_at(), charset).unwrap();
        let got = parse_response(&bytes).unwrap();
        assert_eq!(
            got.header.reference_classification,
            Some(ReferenceClassification::MyNumberCard)
        );
        assert_eq!(got.header.segment_of_result, SegmentOfResult::Normal);
        assert_eq!(
            got.header.qualification_confirmation_date,
            Some(a.checked_on)
        );
        assert_eq!(got.header.arbitrary_file_identifier, None);
        assert_eq!(got.variant, Variant::Single);
        let q = &got.queries[0];
        assert_eq!(q.search_info, None);
        assert_eq!(q.result_code.as_deref(), Some("certificate_grace"));
        assert_eq!(
            q.result_message.as_deref(),
            a.processing_note.as_ref().map(|n| n.message.as_str())
        );
        assert_eq!(q.validity, Some(QualificationValidity::Valid));
        assert_eq!(
            q.results,
            vec![onshi_oqs::ResultEntry::from_view(
                &a.qualifications[0],
                a.checked_on
            )]
        );
    }
}

#[test]
fn error_round_trip() {
    let r = parse_request(&sample("OQSsiquc01req_0002.xml")).unwrap();
    for (header, charset) in [
        (None, Charset::Utf8),
        (Some(&r.header), Charset::ShiftJis),
        (Some(&r.header), Charset::Utf8),
    ] {
        let bytes = write_error(
            "E1004",
            "要素 MessageHeader がありません",
            header,
            charset,
            processed_at(),
        )
        .unwrap();
        let got = parse_response(&bytes).unwrap();
        let h = &got.header;
        assert_eq!(h.segment_of_result, SegmentOfResult::Abnormal);
        assert_eq!(h.error_code.as_deref(), Some("E1004"));
        assert_eq!(
            h.error_message.as_deref(),
            Some("要素 MessageHeader がありません")
        );
        assert_eq!(h.character_code, Some(charset));
        assert_eq!(h.process_execution_time, Some(processed_at()));
        assert_eq!(
            h.arbitrary_file_identifier.as_deref(),
            header.and(Some("受付0002"))
        );
        assert_eq!(
            h.qualification_confirmation_date,
            header.map(|h| h.qualification_confirmation_date)
        );
        assert!(got.queries.is_empty());
    }
}

#[test]
fn shift_jis_out_refuses_unmappable_characters() {
    let r = parse_request(&sample("OQSsiquc01req_0001.xml")).unwrap();
    let a = answer(1, "numbers", vec![view(json!({"name": "𠮷野 家"}))], None);
    let e = write_response(
        &r,
        &[QueryResult::Answer(a.clone())],
        processed_at(),
        Charset::ShiftJis,
    )
    .unwrap_err();
    assert_eq!(
        e,
        OqsError::Unencodable {
            code_point: 0x20BB7,
            charset: Charset::ShiftJis
        }
    );
    assert!(e.to_string().contains("U+20BB7"));
    // UTF-8 can carry it.
    let bytes =
        write_response(&r, &[QueryResult::Answer(a)], processed_at(), Charset::Utf8).unwrap();
    assert_eq!(
        parse_response(&bytes).unwrap().queries[0].results[0].name,
        "𠮷野 家"
    );
    // Windows-31J extension characters are writable and read back.
    let a = answer(1, "numbers", vec![view(json!({"name": "髙橋 ①"}))], None);
    let bytes = write_response(
        &r,
        &[QueryResult::Answer(a)],
        processed_at(),
        Charset::ShiftJis,
    )
    .unwrap();
    assert_eq!(
        parse_response(&bytes).unwrap().queries[0].results[0].name,
        "髙橋 ①"
    );
}

#[test]
fn shift_jis_request_answered_in_utf8_when_asked() {
    let bytes = sample("OQSsiquc01req_0002.xml");
    let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.replace(
        "<CharacterCodeIdentifier>1</CharacterCodeIdentifier>",
        "<CharacterCodeIdentifier>0</CharacterCodeIdentifier>",
    );
    let sjis = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
    let r = parse_request(&sjis).unwrap();
    assert_eq!(r.charset, Charset::ShiftJis);
    assert_eq!(r.response_charset(), Charset::Utf8);
}

/// Every full-width katakana that names use converts to half-width only, and
/// NFKC of the result gives the input back.
#[test]
fn halfwidth_kana_table() {
    let no_halfwidth = ['ヮ', 'ヰ', 'ヱ', 'ヵ', 'ヶ', 'ヸ', 'ヹ'];
    let mut all: Vec<char> = ('ァ'..='ヺ').collect();
    all.extend(['ー', '・', ' ']);
    for c in all {
        let input = c.to_string();
        let half = to_halfwidth_kana(&input);
        if no_halfwidth.contains(&c) {
            assert_eq!(half, input, "{c} passes through");
        } else {
            assert!(
                half.chars()
                    .all(|h| h == ' ' || ('\u{FF61}'..='\u{FF9F}').contains(&h)),
                "{c} → {half}"
            );
        }
        let back: String = half.nfkc().collect();
        assert_eq!(back, input, "{c} → {half} → {back}");
    }
    for name in [
        "ヤマダ タロウ",
        "ガッコウ パン",
        "ヴィヴァルディ",
        "キョウコ ジュンペイ",
    ] {
        let back: String = to_halfwidth_kana(name).nfkc().collect();
        assert_eq!(back, name);
    }
    assert_eq!(to_halfwidth_kana("ガ"), "ｶﾞ");
    assert_eq!(to_halfwidth_kana("パ"), "ﾊﾟ");
    assert_eq!(to_halfwidth_kana("ー"), "ｰ");
    assert_eq!(to_halfwidth_kana(" "), " ");
}
