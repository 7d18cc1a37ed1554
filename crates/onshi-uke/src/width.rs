//! 全角 and 半角: the 記録条件仕様 records some fields in 漢字 mode (2 bytes a
//! character) and forbids mixing 英数 (1 byte) and 漢字 characters within a
//! field. [`to_zenkaku`] turns the 1-byte characters of a value into their
//! 2-byte forms; [`fold_alnum`] takes the 全角 forms of ASCII back (what the
//! reader does for 記号 and 番号, so `１９Ｄ０００１` and `19D0001` read as the
//! same value).
//!
//! | input | written as |
//! | --- | --- |
//! | ASCII U+0021–U+007E (digits, letters, `-`, `/`, …) | U+FF01–U+FF5E (`１`, `Ａ`, `－`, `／`, …) |
//! | ASCII space | U+3000 (全角 space) |
//! | 半角カナ U+FF61–U+FF9F | 全角カタカナ and punctuation; `ｶﾞ` → `ガ`, `ﾊﾟ` → `パ` |
//! | anything else | unchanged |
//!
//! A comma, a double quote and control characters are left as they are, so
//! the encoder refuses them by name ([`crate::UkeError::ForbiddenCharacter`])
//! instead of writing `，` for a comma the caller did not mean to send.

/// 全角 forms of U+FF61..=U+FF9F (｡ ｢ ｣ ､ ･ ｦ ｧ … ﾝ ﾞ ﾟ).
const HALFWIDTH_KANA: [char; 63] = [
    '。', '「', '」', '、', '・', 'ヲ', 'ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ャ', 'ュ', 'ョ', 'ッ', 'ー',
    'ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ', 'サ', 'シ', 'ス', 'セ', 'ソ', 'タ',
    'チ', 'ツ', 'テ', 'ト', 'ナ', 'ニ', 'ヌ', 'ネ', 'ノ', 'ハ', 'ヒ', 'フ', 'ヘ', 'ホ', 'マ', 'ミ',
    'ム', 'メ', 'モ', 'ヤ', 'ユ', 'ヨ', 'ラ', 'リ', 'ル', 'レ', 'ロ', 'ワ', 'ン', '゛', '゜',
];

const VOICED_MARK: char = '\u{FF9E}';
const SEMI_VOICED_MARK: char = '\u{FF9F}';

/// The 全角 form of one 半角カナ character, if it is one.
fn kana(c: char) -> Option<char> {
    let i = u32::from(c).checked_sub(0xFF61)?;
    HALFWIDTH_KANA.get(usize::try_from(i).ok()?).copied()
}

/// カ + ゛ → ガ and the like, for the pairs CP932 has a character for.
fn voiced(base: char) -> Option<char> {
    let composed = match base {
        'ウ' => 'ヴ',
        'カ' | 'キ' | 'ク' | 'ケ' | 'コ' | 'サ' | 'シ' | 'ス' | 'セ' | 'ソ' | 'タ' | 'チ'
        | 'ツ' | 'テ' | 'ト' | 'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => {
            char::from_u32(u32::from(base) + 1)?
        }
        _ => return None,
    };
    Some(composed)
}

/// ハ + ゜ → パ and the like.
fn semi_voiced(base: char) -> Option<char> {
    match base {
        'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => char::from_u32(u32::from(base) + 2),
        _ => None,
    }
}

/// A character CP932 writes in one byte: ASCII or 半角カナ (the 記録条件仕様's
/// 英数 mode, JIS X 0201 \[I\]).
pub fn is_one_byte(c: char) -> bool {
    c.is_ascii() || ('\u{FF61}'..='\u{FF9F}').contains(&c)
}

/// The value with every 1-byte character in its 全角 form (see the module
/// table). Idempotent: a value already in 全角 comes back unchanged.
pub fn to_zenkaku(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(full) = kana(c) {
            let composed = match chars.peek() {
                Some(&VOICED_MARK) => voiced(full),
                Some(&SEMI_VOICED_MARK) => semi_voiced(full),
                _ => None,
            };
            if let Some(composed) = composed {
                chars.next();
                out.push(composed);
            } else {
                out.push(full);
            }
            continue;
        }
        out.push(match c {
            ' ' => '\u{3000}',
            ',' | '"' => c,
            '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            _ => c,
        });
    }
    out
}

/// The value with the 全角 forms of ASCII (U+FF01–U+FF5E) taken back to
/// ASCII; everything else (kanji, kana, the 全角 space) unchanged. This is
/// what NFKC does to those characters, so the result compares equal to what
/// `onshi_core`'s 記号・番号 parsers make of either form.
pub fn fold_alnum(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_space_and_halfwidth_kana_become_zenkaku() {
        assert_eq!(to_zenkaku("19D0001"), "１９Ｄ０００１");
        assert_eq!(to_zenkaku("山田 太郎"), "山田　太郎");
        assert_eq!(to_zenkaku("090-0000-1234"), "０９０－００００－１２３４");
        assert_eq!(to_zenkaku("ｶﾞｯｺｳ ﾊﾟﾝ"), "ガッコウ　パン");
        assert_eq!(to_zenkaku("ｳﾞｧｲｵﾘﾝ"), "ヴァイオリン");
        // No composed form in CP932: the mark stays a 全角 mark.
        assert_eq!(to_zenkaku("ﾜﾞｱﾟﾞ"), "ワ゛ア゜゛");
        assert_eq!(to_zenkaku("~\\"), "～＼");
        // Separators are left for the encoder to refuse by name.
        assert_eq!(to_zenkaku("a,\"b"), "ａ,\"ｂ");
        assert_eq!(to_zenkaku("髙橋①"), "髙橋①");
    }

    #[test]
    fn zenkaku_is_idempotent_and_folds_back() {
        for s in ["19D0001", "あいう 12", "ｱｲｳ", "A-1/2", "７７７７７７７７７"] {
            let z = to_zenkaku(s);
            assert_eq!(to_zenkaku(&z), z, "{s}");
        }
        assert_eq!(fold_alnum("１９Ｄ０００１"), "19D0001");
        assert_eq!(fold_alnum("６４４４０７１８"), "64440718");
        assert_eq!(fold_alnum("世田　１"), "世田　1");
        assert_eq!(fold_alnum(&to_zenkaku("A-1/2")), "A-1/2");
    }
}
