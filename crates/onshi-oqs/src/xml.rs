//! The shared plumbing: detecting and decoding the file's encoding, reading a
//! document into a small tree with limits, and writing a document in the
//! requested encoding. Private to the crate.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, SHIFT_JIS};
use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::codes::Charset;
use crate::error::OqsError;

/// Limits applied while reading.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
}

/// One element: its local name, its text (character data directly inside it,
/// entities resolved, not trimmed) and its child elements. Attributes are
/// ignored: the interface does not use them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The one child called `name`; two are an error.
    pub fn single(&self, name: &str) -> Result<Option<&Node>, OqsError> {
        let mut it = self.children.iter().filter(|c| c.name == name);
        let first = it.next();
        if it.next().is_some() {
            return Err(OqsError::DuplicateElement(name.to_owned()));
        }
        Ok(first)
    }

    pub fn required(&self, name: &str) -> Result<&Node, OqsError> {
        self.single(name)?
            .ok_or_else(|| OqsError::MissingElement(name.to_owned()))
    }

    /// The trimmed text of the child `name`, `None` when absent or empty.
    pub fn text_of(&self, name: &str) -> Result<Option<String>, OqsError> {
        Ok(self
            .single(name)?
            .map(|n| n.text.trim().to_owned())
            .filter(|t| !t.is_empty()))
    }

    /// Like [`Node::text_of`] but required.
    pub fn required_text(&self, name: &str) -> Result<String, OqsError> {
        self.text_of(name)?
            .ok_or_else(|| OqsError::MissingElement(name.to_owned()))
    }

    /// The trimmed text of the child `name`, empty when absent.
    pub fn text_or_empty(&self, name: &str) -> Result<String, OqsError> {
        Ok(self.text_of(name)?.unwrap_or_default())
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// The encoding named in the XML declaration, if the bytes start with one.
/// `Ok(None)`: no declaration or no `encoding` pseudo-attribute.
fn declared_encoding(bytes: &[u8]) -> Result<Option<String>, OqsError> {
    if !bytes.starts_with(b"<?xml") {
        return Ok(None);
    }
    let window = &bytes[..bytes.len().min(512)];
    let Some(end) = window.windows(2).position(|w| w == b"?>") else {
        return Err(OqsError::Malformed(
            "XML 宣言が閉じていません（?> がありません）".into(),
        ));
    };
    let decl = std::str::from_utf8(&window[..end])
        .ok()
        .filter(|d| d.is_ascii())
        .ok_or_else(|| OqsError::Malformed("XML 宣言に ASCII 以外の文字があります".into()))?;
    let Some(at) = decl.find("encoding") else {
        return Ok(None);
    };
    let rest = decl[at + "encoding".len()..].trim_start();
    let rest = rest
        .strip_prefix('=')
        .map(str::trim_start)
        .ok_or_else(|| OqsError::Malformed("XML 宣言の encoding の書式が不正です".into()))?;
    let quote = rest
        .chars()
        .next()
        .filter(|q| *q == '"' || *q == '\'')
        .ok_or_else(|| OqsError::Malformed("XML 宣言の encoding の書式が不正です".into()))?;
    let value = &rest[1..];
    let close = value
        .find(quote)
        .ok_or_else(|| OqsError::Malformed("XML 宣言の encoding の書式が不正です".into()))?;
    Ok(Some(value[..close].to_owned()))
}

/// The charset an encoding label stands for.
fn charset_of_label(label: &str) -> Option<Charset> {
    match label.trim().to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => Some(Charset::Utf8),
        "shift_jis" | "shift-jis" | "sjis" | "x-sjis" | "ms_kanji" | "csshiftjis"
        | "windows-31j" | "cp932" | "ms932" => Some(Charset::ShiftJis),
        _ => None,
    }
}

/// The charset the file declares (without decoding it). Used to answer an
/// unreadable file in the encoding its sender uses.
pub(crate) fn sniff_charset(bytes: &[u8]) -> Option<Charset> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Some(Charset::Utf8);
    }
    match declared_encoding(bytes) {
        Ok(Some(label)) => charset_of_label(&label),
        Ok(None) => Some(Charset::Utf8),
        Err(_) => None,
    }
}

/// Decodes the whole file strictly in the encoding it declares.
pub(crate) fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, Charset), OqsError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(OqsError::UnsupportedEncoding("UTF-16".into()));
    }
    let (body, bom) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let charset = match declared_encoding(body)? {
        None => Charset::Utf8,
        Some(label) => {
            charset_of_label(&label).ok_or_else(|| OqsError::UnsupportedEncoding(label.clone()))?
        }
    };
    if bom && charset != Charset::Utf8 {
        return Err(OqsError::UnsupportedEncoding(
            "UTF-8 の BOM と XML 宣言の encoding が食い違っています".into(),
        ));
    }
    match charset {
        Charset::Utf8 => match std::str::from_utf8(body) {
            Ok(s) => Ok((Cow::Borrowed(s), charset)),
            Err(e) => Err(OqsError::InvalidBytes {
                charset,
                offset: e.valid_up_to() + usize::from(bom) * 3,
            }),
        },
        Charset::ShiftJis => decode_sjis_strict(body).map(|s| (Cow::Owned(s), charset)),
    }
}

/// Shift_JIS without replacement: the first malformed sequence is an error.
fn decode_sjis_strict(bytes: &[u8]) -> Result<String, OqsError> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let cap = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .ok_or_else(|| OqsError::Internal("decode buffer overflow".into()))?;
    let mut out = String::with_capacity(cap);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        DecoderResult::Malformed(bad, _) => Err(OqsError::InvalidBytes {
            charset: Charset::ShiftJis,
            offset: read.saturating_sub(usize::from(bad)),
        }),
        DecoderResult::OutputFull => Err(OqsError::Internal("decode buffer too small".into())),
    }
}

fn name_of(raw: &str) -> String {
    raw.to_owned()
}

/// Reads a whole document: checks the size, decodes, and builds the tree
/// under the depth limit. Returns the root element and the file's charset.
pub(crate) fn parse_document(bytes: &[u8], limits: Limits) -> Result<(Node, Charset), OqsError> {
    if bytes.len() > limits.max_bytes {
        return Err(OqsError::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_bytes as u64,
        });
    }
    let (text, charset) = decode(bytes)?;
    let mut reader = Reader::from_str(&text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let malformed = |reader: &Reader<&[u8]>, what: String| {
        OqsError::Malformed(format!(
            "{what}（{} バイト目付近）",
            reader.buffer_position()
        ))
    };
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                return Err(OqsError::Malformed(format!(
                    "{e}（{} バイト目付近）",
                    reader.error_position()
                )));
            }
        };
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let name = name_of(e.local_name().as_ref());
                return Err(OqsError::Malformed(format!(
                    "ルート要素の後に要素 {name} があります"
                )));
            }
            Event::Start(e) => {
                if stack.len() >= limits.max_depth {
                    return Err(OqsError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                stack.push(Node {
                    name: name_of(e.local_name().as_ref()),
                    ..Node::default()
                });
            }
            Event::Empty(e) => {
                if stack.len() >= limits.max_depth {
                    return Err(OqsError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                let node = Node {
                    name: name_of(e.local_name().as_ref()),
                    ..Node::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| malformed(&reader, "対応する開始タグがありません".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => match stack.last_mut() {
                Some(n) => n.text.push_str(&t.xml10_content()),
                None if t.trim().is_empty() => {}
                None => {
                    return Err(malformed(&reader, "ルート要素の外に文字があります".into()));
                }
            },
            Event::CData(t) => match stack.last_mut() {
                Some(n) => n.text.push_str(&t.xml10_content()),
                None => {
                    return Err(malformed(
                        &reader,
                        "ルート要素の外に CDATA があります".into(),
                    ));
                }
            },
            Event::GeneralRef(r) => {
                let resolved: String = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match resolve_predefined_entity(&r) {
                        Some(s) => s.to_owned(),
                        None => {
                            return Err(malformed(
                                &reader,
                                format!("未定義の実体参照 &{}; があります", &*r),
                            ));
                        }
                    },
                    Err(e) => return Err(malformed(&reader, format!("文字参照が不正です: {e}"))),
                };
                match stack.last_mut() {
                    Some(n) => n.text.push_str(&resolved),
                    None => {
                        return Err(malformed(&reader, "ルート要素の外に参照があります".into()));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(malformed(&reader, "DOCTYPE は受け付けません".into()));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(OqsError::Malformed(format!(
            "ファイルが途中で終わっています（要素 {} が閉じていません）",
            open.name
        )));
    }
    let root = root.ok_or_else(|| OqsError::Malformed("要素がありません".into()))?;
    Ok((root, charset))
}

/// True for the characters XML 1.0 allows in a document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether `c` can be written in `charset` (and in XML at all).
pub(crate) fn encodable(c: char, charset: Charset) -> bool {
    if !is_xml_char(c) {
        return false;
    }
    match charset {
        Charset::Utf8 => true,
        Charset::ShiftJis => {
            let mut buf = [0u8; 4];
            !SHIFT_JIS.encode(c.encode_utf8(&mut buf)).2
        }
    }
}

/// Encodes a finished document. Nothing is ever replaced: the first character
/// that cannot be written is an error naming its code point.
pub(crate) fn encode(doc: &str, charset: Charset) -> Result<Vec<u8>, OqsError> {
    let unencodable = |c: char| OqsError::Unencodable {
        code_point: c as u32,
        charset,
    };
    if let Some(c) = doc.chars().find(|c| !is_xml_char(*c)) {
        return Err(unencodable(c));
    }
    match charset {
        Charset::Utf8 => Ok(doc.as_bytes().to_vec()),
        Charset::ShiftJis => {
            let (out, _, had_errors) = SHIFT_JIS.encode(doc);
            if had_errors {
                let c = doc
                    .chars()
                    .find(|c| !encodable(*c, charset))
                    .unwrap_or('\u{FFFD}');
                return Err(unencodable(c));
            }
            Ok(out.into_owned())
        }
    }
}

/// A document being written (UTF-8 in memory; encoded at the end).
pub(crate) struct Doc {
    w: Writer<Vec<u8>>,
    charset: Charset,
}

fn io_err(e: std::io::Error) -> OqsError {
    OqsError::Internal(format!("XML の書き出しに失敗しました: {e}"))
}

impl Doc {
    pub fn new(charset: Charset) -> Result<Self, OqsError> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new(
            "1.0",
            Some(charset.xml_name()),
            Some("yes"),
        )))
        .map_err(io_err)?;
        Ok(Self { w, charset })
    }

    pub fn start(&mut self, name: &str) -> Result<(), OqsError> {
        self.w
            .write_event(Event::Start(BytesStart::new(name)))
            .map_err(io_err)
    }

    pub fn end(&mut self, name: &str) -> Result<(), OqsError> {
        self.w
            .write_event(Event::End(BytesEnd::new(name)))
            .map_err(io_err)
    }

    /// `<name>text</name>`, text escaped and kept as given (leading spaces of a
    /// 6-digit 保険者番号 included).
    pub fn leaf(&mut self, name: &str, text: &str) -> Result<(), OqsError> {
        if let Some(c) = text.chars().find(|c| !encodable(*c, self.charset)) {
            return Err(OqsError::Unencodable {
                code_point: c as u32,
                charset: self.charset,
            });
        }
        self.w
            .create_element(name)
            .write_text_content(BytesText::new(text))
            .map(|_| ())
            .map_err(io_err)
    }

    /// A leaf only when there is a non-empty value.
    pub fn leaf_opt(&mut self, name: &str, text: Option<&str>) -> Result<(), OqsError> {
        match text.filter(|t| !t.is_empty()) {
            Some(t) => self.leaf(name, t),
            None => Ok(()),
        }
    }

    pub fn finish(self) -> Result<Vec<u8>, OqsError> {
        let charset = self.charset;
        let mut bytes = self.w.into_inner();
        bytes.push(b'\n');
        let s = String::from_utf8(bytes)
            .map_err(|_| OqsError::Internal("書き出した XML が UTF-8 ではありません".into()))?;
        encode(&s, charset)
    }
}

/// A 保険者番号 as the interface writes it: 8 characters, a 6-digit 国保 number
/// right-aligned with leading spaces (DOMAIN §3.2, §6.1). Other values are
/// written as given.
pub(crate) fn insurer_field(s: &str) -> String {
    if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{s:>8}")
    } else {
        s.to_owned()
    }
}

/// Parses `YYYYMMDD` strictly.
pub(crate) fn parse_ymd(element: &str, s: &str) -> Result<chrono::NaiveDate, OqsError> {
    let t = s.trim();
    if t.len() != 8 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OqsError::invalid(
            element,
            format!("YYYYMMDD ではありません: {t}"),
        ));
    }
    chrono::NaiveDate::parse_from_str(t, "%Y%m%d")
        .map_err(|_| OqsError::invalid(element, format!("存在しない日付です: {t}")))
}

/// Parses `YYYYMMDDHHMMSS` strictly.
pub(crate) fn parse_ymdhms(element: &str, s: &str) -> Result<chrono::NaiveDateTime, OqsError> {
    let t = s.trim();
    if t.len() != 14 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OqsError::invalid(
            element,
            format!("YYYYMMDDHHMMSS ではありません: {t}"),
        ));
    }
    chrono::NaiveDateTime::parse_from_str(t, "%Y%m%d%H%M%S")
        .map_err(|_| OqsError::invalid(element, format!("存在しない日時です: {t}")))
}

pub(crate) fn ymd(d: chrono::NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

pub(crate) fn ymdhms(t: chrono::NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_bytes: 1 << 20,
        max_depth: 16,
    };

    #[test]
    fn declaration_sniffing() {
        assert_eq!(
            declared_encoding(b"<?xml version=\"1.0\" encoding='Shift_JIS'?><a/>").unwrap(),
            Some("Shift_JIS".into())
        );
        assert_eq!(declared_encoding(b"<a/>").unwrap(), None);
        assert_eq!(
            declared_encoding(b"<?xml version=\"1.0\"?><a/>").unwrap(),
            None
        );
        assert!(declared_encoding(b"<?xml version=\"1.0\" encoding=\"UTF-8\"").is_err());
        assert_eq!(
            sniff_charset(b"<?xml encoding=\"sjis\"?>"),
            Some(Charset::ShiftJis)
        );
        assert_eq!(sniff_charset(b"<?xml encoding=\"EUC-JP\"?>"), None);
    }

    #[test]
    fn tree_and_entities() {
        let (root, cs) =
            parse_document(b"<r><a> x &amp; &#x41;<![CDATA[<y>]]></a><b/></r>", LIMITS).unwrap();
        assert_eq!(cs, Charset::Utf8);
        assert_eq!(root.name, "r");
        assert_eq!(root.children[0].text, " x & A<y>");
        assert_eq!(root.children[1].name, "b");
    }

    #[test]
    fn refusals() {
        let code = |b: &[u8]| parse_document(b, LIMITS).unwrap_err().code();
        assert_eq!(code(b"<r><a></r>"), "E1001");
        assert_eq!(code(b"<r><a>"), "E1001");
        assert_eq!(code(b"<r/><s/>"), "E1001");
        assert_eq!(code(b""), "E1001");
        assert_eq!(code(b"<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>"), "E1001");
        assert_eq!(code(b"<r>&e;</r>"), "E1001");
        assert_eq!(
            code(b"<?xml version=\"1.0\" encoding=\"EUC-JP\"?><r/>"),
            "E1002"
        );
        assert_eq!(code(b"\xFF\xFE<\0r\0/\0>\0"), "E1002");
        assert_eq!(code(b"<r>\xFF</r>"), "E1006");
        let deep = "<a>".repeat(17) + &"</a>".repeat(17);
        assert_eq!(code(deep.as_bytes()), "E1007");
        let ok = "<a>".repeat(16) + &"</a>".repeat(16);
        assert!(parse_document(ok.as_bytes(), LIMITS).is_ok());
    }

    #[test]
    fn shift_jis_strict() {
        let (bytes, _, _) =
            SHIFT_JIS.encode("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><r>あいう</r>");
        let (root, cs) = parse_document(&bytes, LIMITS).unwrap();
        assert_eq!((root.text.as_str(), cs), ("あいう", Charset::ShiftJis));
        let mut bad = bytes.into_owned();
        let at = bad.len() - 5;
        bad.insert(at, 0x82); // lead byte followed by '<' is malformed
        bad.insert(at + 1, 0xFF);
        let e = parse_document(&bad, LIMITS).unwrap_err();
        assert_eq!(e.code(), "E1006", "{e}");
    }

    #[test]
    fn encoding_refuses_unmappable() {
        assert!(encode("髙橋ｶﾞ①", Charset::ShiftJis).is_ok());
        let e = encode("𠮷野", Charset::ShiftJis).unwrap_err();
        assert_eq!(
            e,
            OqsError::Unencodable {
                code_point: 0x20BB7,
                charset: Charset::ShiftJis
            }
        );
        assert!(encode("𠮷野", Charset::Utf8).is_ok());
        assert_eq!(encode("a\u{1}", Charset::Utf8).unwrap_err().code(), "E1011");
    }

    #[test]
    fn insurer_padding() {
        assert_eq!(insurer_field("138057"), "  138057");
        assert_eq!(insurer_field("06130017"), "06130017");
    }
}
