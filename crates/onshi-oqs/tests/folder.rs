//! The req/res/face folder protocol on a temporary directory.

mod common;

use common::*;
use onshi_oqs::codes::{Charset, SegmentOfResult};
use onshi_oqs::folder::{Outcome, process_once, write_face_file};
use onshi_oqs::{OqsRequest, QueryResult, Variant, parse_response, write_face};

fn answer_all(req: &OqsRequest) -> Vec<QueryResult> {
    req.queries
        .iter()
        .map(|q| {
            if q.insured_identification_number.is_empty() {
                QueryResult::Error {
                    code: "missing_field".into(),
                    message: "insured_number: 値がありません".into(),
                }
            } else {
                QueryResult::Answer(valid_kyokai())
            }
        })
        .collect()
}

#[test]
fn requests_are_answered_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The first pass creates the folders.
    assert!(
        process_once(dir, &mut answer_all, processed_at)
            .unwrap()
            .is_empty()
    );
    for f in ["req", "res", "face"] {
        assert!(dir.join(f).is_dir(), "{f}");
    }
    let req = dir.join("req");
    std::fs::copy(
        sample_path("OQSsiquc01req_0001.xml"),
        req.join("OQSsiquc01req_0001.xml"),
    )
    .unwrap();
    std::fs::copy(
        sample_path("OQSsiquc01req_0002.xml"),
        req.join("OQSsiquc01req_0002.xml"),
    )
    .unwrap();
    std::fs::copy(
        sample_path("OQSmuquc01req_0003.xml"),
        req.join("OQSmuquc01req_0003.xml"),
    )
    .unwrap();
    let full = sample("OQSsiquc01req_0001.xml");
    std::fs::write(req.join("OQSsiquc01req_0004.xml"), &full[..full.len() / 2]).unwrap();
    // A batch file with one query is still answered in the batch layout.
    std::fs::copy(
        sample_path("OQSsiquc01req_0001.xml"),
        req.join("OQSmuquc01req_0005.xml"),
    )
    .unwrap();
    // Not taken: still being written (.tmp), or not a request name.
    std::fs::write(req.join("OQSsiquc01req_0006.xml.tmp"), b"<XmlMsg>").unwrap();
    std::fs::write(req.join("readme.txt"), b"x").unwrap();

    let mut calls = 0;
    let mut answer = |r: &OqsRequest| {
        calls += 1;
        answer_all(r)
    };
    let done = process_once(dir, &mut answer, processed_at).unwrap();
    assert_eq!(calls, 4);
    let names: Vec<&str> = done.iter().map(|p| p.request.as_str()).collect();
    assert_eq!(
        names,
        [
            "OQSmuquc01req_0003.xml",
            "OQSmuquc01req_0005.xml",
            "OQSsiquc01req_0001.xml",
            "OQSsiquc01req_0002.xml",
            "OQSsiquc01req_0004.xml",
        ]
    );
    assert_eq!(done[0].outcome, Outcome::Answered { queries: 3 });
    assert!(matches!(&done[4].outcome, Outcome::Rejected { code, .. } if code == "E1001"));

    let mut res: Vec<String> = std::fs::read_dir(dir.join("res"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    res.sort();
    assert_eq!(
        res,
        [
            "OQSmuquc01res_0003.xml",
            "OQSmuquc01res_0005.xml",
            "OQSsiquc01res_0001.xml",
            "OQSsiquc01res_0002.xml",
            "OQSsiquc01res_0004.xml",
        ]
    );
    let mut left: Vec<String> = std::fs::read_dir(&req)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["OQSsiquc01req_0006.xml.tmp", "readme.txt"]);

    let read = |n: &str| parse_response(&std::fs::read(dir.join("res").join(n)).unwrap()).unwrap();
    let one = read("OQSsiquc01res_0001.xml");
    assert_eq!(one.header.segment_of_result, SegmentOfResult::Normal);
    assert_eq!(one.variant, Variant::Single);
    let sjis = read("OQSsiquc01res_0002.xml");
    assert_eq!(sjis.charset, Charset::ShiftJis);
    let batch = read("OQSmuquc01res_0003.xml");
    assert_eq!(batch.queries.len(), 3);
    assert_eq!(
        batch.queries[2].result_code.as_deref(),
        Some("missing_field")
    );
    assert_eq!(read("OQSmuquc01res_0005.xml").variant, Variant::Batch);
    let err = read("OQSsiquc01res_0004.xml");
    assert_eq!(err.header.segment_of_result, SegmentOfResult::Abnormal);
    assert_eq!(err.header.error_code.as_deref(), Some("E1001"));
    assert_eq!(
        done[4].response.as_deref(),
        Some(dir.join("res/OQSsiquc01res_0004.xml").as_path())
    );

    // Nothing left to do: the next pass is empty (no retry loop).
    assert!(
        process_once(dir, &mut answer_all, processed_at)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn unreadable_requests_get_error_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let req = dir.join("req");
    std::fs::create_dir_all(&req).unwrap();
    // Invalid Shift_JIS: the error file is in Shift_JIS, as the request declares.
    let mut bad = sample("OQSsiquc01req_0002.xml");
    let at = bad.windows(2).position(|w| w == [0x82, 0xA0]).unwrap();
    bad[at + 1] = 0x20;
    std::fs::write(req.join("OQSsiquc01req_sjis.xml"), &bad).unwrap();
    // Over 1 MiB.
    let mut big = sample("OQSsiquc01req_0001.xml");
    big.extend(std::iter::repeat_n(b' ', 2 << 20));
    std::fs::write(req.join("OQSsiquc01req_big.xml"), &big).unwrap();
    // Asking for Shift_JIS while the answer holds a character it lacks.
    std::fs::copy(
        sample_path("OQSsiquc01req_0002.xml"),
        req.join("OQSsiquc01req_kanji.xml"),
    )
    .unwrap();

    let mut answer = |r: &OqsRequest| {
        r.queries
            .iter()
            .map(|_| {
                QueryResult::Answer(answer(
                    1,
                    "numbers",
                    vec![view(serde_json::json!({"name": "𠮷野 家"}))],
                    None,
                ))
            })
            .collect()
    };
    let done = process_once(dir, &mut answer, processed_at).unwrap();
    let codes: Vec<(&str, &str)> = done
        .iter()
        .map(|p| match &p.outcome {
            Outcome::Rejected { code, .. } => (p.request.as_str(), code.as_str()),
            o => panic!("{o:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("OQSsiquc01req_big.xml", "E1003"),
            ("OQSsiquc01req_kanji.xml", "E1011"),
            ("OQSsiquc01req_sjis.xml", "E1006"),
        ]
    );
    let read = |n: &str| parse_response(&std::fs::read(dir.join("res").join(n)).unwrap()).unwrap();
    let sjis = read("OQSsiquc01res_sjis.xml");
    assert_eq!(sjis.charset, Charset::ShiftJis);
    assert_eq!(sjis.header.error_code.as_deref(), Some("E1006"));
    let kanji = read("OQSsiquc01res_kanji.xml");
    assert_eq!(kanji.charset, Charset::ShiftJis);
    assert_eq!(
        kanji.header.arbitrary_file_identifier.as_deref(),
        Some("受付0002")
    );
    assert!(kanji.header.error_message.unwrap().contains("U+20BB7"));
    assert_eq!(
        read("OQSsiquc01res_big.xml").header.error_code.as_deref(),
        Some("E1003")
    );
    assert_eq!(std::fs::read_dir(&req).unwrap().count(), 0);
}

#[test]
fn face_files_are_written_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = write_face(
        &card_in_grace(),
        "1311111111",
        processed_at(),
        Charset::Utf8,
    )
    .unwrap();
    let path = write_face_file(tmp.path(), "OQSface_0001", &bytes).unwrap();
    assert_eq!(path, tmp.path().join("face/OQSface_0001.xml"));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let files: Vec<_> = std::fs::read_dir(tmp.path().join("face"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1, "no .tmp left behind");
    for bad in ["", "../x", "a/b", ".."] {
        assert_eq!(
            write_face_file(tmp.path(), bad, &bytes).unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}
