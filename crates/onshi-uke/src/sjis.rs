//! Shift_JIS (CP932) for UKE fields: encode without replacement, decode
//! without replacement.
//!
//! `encoding_rs::SHIFT_JIS` is the WHATWG Shift_JIS, in effect CP932 (NEC
//! 13区 and IBM extensions included; STACK.md §3). Before encoding, three
//! characters that Unicode-to-CP932 tables commonly disagree on are mapped to
//! their CP932 forms (STACK.md §3 \[D\]):
//!
//! | input | written as | bytes |
//! | --- | --- | --- |
//! | U+301C 〜 WAVE DASH | U+FF5E ～ | 81 60 |
//! | U+2016 ‖ DOUBLE VERTICAL LINE | U+2225 ∥ | 81 61 |
//! | U+2212 − MINUS SIGN | U+FF0D － | 81 7C |
//!
//! Reading gives back the mapped character (U+FF5E, not U+301C). Every other
//! character must encode **and decode back to itself**; if not, it is refused
//! with [`UkeError::UnencodableCharacter`]. That also refuses characters the
//! WHATWG encoder folds silently (U+00A5 ¥ → 0x5C, which reads back as `\`;
//! U+203E ‾ → 0x7E) and 外字 (private use area, which the encoder would put in
//! the user-defined rows F040–F9FC).

use encoding_rs::{DecoderResult, EncoderResult, SHIFT_JIS};

use crate::error::{FieldAt, UkeError};

/// The CP932 form of the three characters STACK.md §3 maps before encoding.
pub fn premap(c: char) -> char {
    match c {
        '\u{301C}' => '\u{FF5E}',
        '\u{2016}' => '\u{2225}',
        '\u{2212}' => '\u{FF0D}',
        c => c,
    }
}

/// Characters that may never appear inside a field.
pub fn is_forbidden(c: char) -> bool {
    c == ',' || c == '"' || c.is_control()
}

/// 外字: the private use area (CP932 rows F040–F9FC decode to U+E000–U+E757).
pub fn is_private_use(c: char) -> bool {
    ('\u{E000}'..='\u{F8FF}').contains(&c)
}

/// The CP932 bytes of one character, if it has some and they decode back to
/// the same character.
fn encode_char(c: char) -> Option<Vec<u8>> {
    if is_private_use(c) {
        return None;
    }
    let mut utf8 = [0u8; 4];
    let s: &str = c.encode_utf8(&mut utf8);
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(8);
    let (result, _) = encoder.encode_from_utf8_to_vec_without_replacement(s, &mut out, true);
    if result != EncoderResult::InputEmpty || out.is_empty() {
        return None;
    }
    let (back, had_errors) = SHIFT_JIS.decode_without_bom_handling(&out);
    let mut chars = back.chars();
    (!had_errors && chars.next() == Some(c) && chars.next().is_none()).then_some(out)
}

/// Encodes one field value: premap, refuse forbidden and unencodable
/// characters, then check the byte length against `max_bytes`.
pub fn encode_field(
    value: &str,
    max_bytes: Option<usize>,
    at: impl Fn() -> FieldAt,
) -> Result<Vec<u8>, UkeError> {
    let mut out = Vec::with_capacity(value.len());
    for c in value.chars().map(premap) {
        if is_forbidden(c) {
            return Err(UkeError::ForbiddenCharacter { ch: c, at: at() });
        }
        let bytes =
            encode_char(c).ok_or_else(|| UkeError::UnencodableCharacter { ch: c, at: at() })?;
        out.extend_from_slice(&bytes);
    }
    if let Some(max) = max_bytes
        && out.len() > max
    {
        return Err(UkeError::FieldTooLong {
            at: at(),
            bytes: out.len(),
            max,
        });
    }
    Ok(out)
}

/// Decodes one line (without its CR LF) strictly. `line_start` is the byte
/// offset of the line in the file, for the error.
pub fn decode_line(bytes: &[u8], line: usize, line_start: usize) -> Result<String, UkeError> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    // Every Shift_JIS byte yields at most 3 UTF-8 bytes.
    let mut out = String::with_capacity(bytes.len().saturating_mul(3).saturating_add(4));
    let mut src = bytes;
    let mut consumed = 0usize;
    loop {
        let (result, read) = decoder.decode_to_string_without_replacement(src, &mut out, true);
        match result {
            DecoderResult::InputEmpty => return Ok(out),
            DecoderResult::OutputFull => {
                src = src.get(read..).unwrap_or_default();
                consumed = consumed.saturating_add(read);
                out.reserve(src.len().saturating_mul(3).saturating_add(16));
            }
            DecoderResult::Malformed(bad, extra) => {
                let at = consumed
                    .saturating_add(read)
                    .saturating_sub(usize::from(bad))
                    .saturating_sub(usize::from(extra));
                return Err(UkeError::InvalidBytes {
                    line,
                    offset: line_start.saturating_add(at),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> FieldAt {
        FieldAt {
            record: "RE",
            field: "氏名",
            claim: None,
        }
    }

    #[test]
    fn cp932_bytes_as_measured_in_stack_md() {
        assert_eq!(
            encode_field("髙﨑①㈱～－", None, at).unwrap(),
            [
                0xFB, 0xFC, 0xFA, 0xB1, 0x87, 0x40, 0x87, 0x8A, 0x81, 0x60, 0x81, 0x7C
            ]
        );
        assert_eq!(encode_field("〜", None, at).unwrap(), [0x81, 0x60]);
        assert_eq!(encode_field("‖", None, at).unwrap(), [0x81, 0x61]);
        assert_eq!(encode_field("−", None, at).unwrap(), [0x81, 0x7C]);
        assert_eq!(encode_field("ｱ", None, at).unwrap(), [0xB1]);
    }

    #[test]
    fn refuses_rather_than_folds() {
        for c in ['𠮷', '¥', '‾', '\u{E000}', '—'] {
            let e = encode_field(&format!("山{c}"), None, at).unwrap_err();
            assert_eq!(e, UkeError::UnencodableCharacter { ch: c, at: at() }, "{c}");
        }
        for c in [',', '"', '\r', '\n', '\t', '\u{1A}'] {
            assert_eq!(
                encode_field(&format!("a{c}"), None, at).unwrap_err().code(),
                "forbidden_character"
            );
        }
        assert_eq!(
            encode_field("あいう", Some(5), at).unwrap_err(),
            UkeError::FieldTooLong {
                at: at(),
                bytes: 6,
                max: 5
            }
        );
    }

    #[test]
    fn decoding_reports_the_offset() {
        assert_eq!(decode_line(&[0x82, 0xA0], 1, 0).unwrap(), "あ");
        assert_eq!(
            decode_line(b"RE,\x81\x20", 3, 100).unwrap_err(),
            UkeError::InvalidBytes {
                line: 3,
                offset: 103
            }
        );
        assert_eq!(
            decode_line(b"\xFF", 1, 0).unwrap_err().code(),
            "invalid_bytes"
        );
    }
}
