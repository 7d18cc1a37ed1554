//! Shift_JIS (CP932) specifics: what encodes, what is mapped, what is refused.

mod common;

use common::*;
use onshi_core::Payer;
use onshi_uke::{FieldAt, UkeError, read_uke, write_uke};

fn one(c: onshi_payer::claim::Claim) -> Result<Vec<u8>, UkeError> {
    write_uke(&institution(Payer::ShiharaiKikin), &[c])
}

fn base() -> onshi_payer::claim::Claim {
    shaho_claims().remove(0)
}

#[test]
fn taka_and_circled_one_encode_and_round_trip() {
    let mut c = base();
    c.patient.name = "髙橋　①子".into();
    c.tekiyo = vec!["㈱あおば商事　髙﨑".into()];
    let bytes = one(c.clone()).unwrap();
    // 髙 FB FC (IBM extension), ① 87 40 (NEC row 13).
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(has(&[0xFB, 0xFC]) && has(&[0x87, 0x40]));
    let (_, back) = read_uke(&bytes).unwrap();
    assert_eq!(back[0].patient.name, "髙橋　①子");
    assert_eq!(back[0].tekiyo, c.tekiyo);
}

#[test]
fn wave_dash_is_written_as_fullwidth_tilde_and_reads_back_as_such() {
    let mut c = base();
    c.tekiyo = vec!["不明".into(), "11月4日〜11月18日".into()];
    c.insurer.symbol = Some("‖1".into());
    c.insurer.number = "−23".into();
    let bytes = one(c).unwrap();
    assert!(
        bytes.windows(2).any(|w| w == [0x81, 0x60]),
        "〜 written as 81 60"
    );
    let (_, back) = read_uke(&bytes).unwrap();
    // Read gives U+FF5E ～ (not U+301C) and U+2225 ∥; the 摘要 is a 漢字
    // field, so its digits come back 全角.
    assert_eq!(back[0].tekiyo[1], "１１月４日\u{FF5E}１１月１８日");
    assert_eq!(back[0].insurer.symbol.as_deref(), Some("\u{2225}1"));
    // 記号・番号 fold 全角 ASCII back: U+2212 is written U+FF0D － (81 7C) and
    // reads as the ASCII hyphen, as NFKC (and onshi-core's parsers) take it.
    assert!(bytes.windows(4).any(|w| w == [0x81, 0x7C, 0x82, 0x51]));
    assert_eq!(back[0].insurer.number, "-23");
}

#[test]
fn characters_outside_cp932_are_refused_and_named() {
    let mut c = base();
    c.patient.name = "𠮷田　太郎".into();
    let e = one(c).unwrap_err();
    assert_eq!(e.code(), "unencodable_character");
    assert_eq!(
        e,
        UkeError::UnencodableCharacter {
            ch: '𠮷',
            at: FieldAt {
                record: "RE",
                field: "氏名",
                claim: Some((1, "G1-00000001".into())),
            },
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains("U+20BB7 𠮷") && msg.contains("REレコードの氏名"),
        "{msg}"
    );

    let mut c = base();
    c.diagnoses = vec!["頸椎症".into(), "𩸽アレルギー".into()];
    let e = one(c).unwrap_err();
    assert!(e.to_string().contains("SYレコードの傷病名称"), "{e}");

    // ¥ would come back as a backslash: refused, not folded.
    let mut c = base();
    c.tekiyo = vec!["¥1,000".replace(',', "")];
    let e = one(c).unwrap_err();
    assert!(
        matches!(e, UkeError::UnencodableCharacter { ch: '¥', .. }),
        "{e}"
    );
}

#[test]
fn separators_inside_fields_are_refused() {
    let mut c = base();
    c.tekiyo = vec!["住所：東京都世田谷区1-1-1, 2F".into()];
    let e = one(c).unwrap_err();
    assert_eq!(e.code(), "forbidden_character");
    assert!(
        e.to_string().contains("COレコードの文字データ") && e.to_string().contains("U+002C ,"),
        "{e}"
    );
    let mut c = base();
    c.patient.name = "山田\n太郎".into();
    assert_eq!(one(c).unwrap_err().code(), "forbidden_character");
}

#[test]
fn byte_limits() {
    let mut c = base();
    c.patient.name = "山".repeat(21);
    let e = one(c).unwrap_err();
    assert_eq!(
        e,
        UkeError::FieldTooLong {
            at: FieldAt {
                record: "RE",
                field: "氏名",
                claim: Some((1, "G1-00000001".into())),
            },
            bytes: 42,
            max: 40,
        }
    );
    let mut c = base();
    c.patient.name = "山".repeat(20);
    assert!(one(c).is_ok());
    // Half-width katakana counts one byte.
    let mut c = base();
    c.patient.name = "ｱ".repeat(40);
    assert!(one(c).is_ok());
}
