//! Normalisation of names, kana and addresses for matching.
//!
//! These functions make *search keys*; stored legal names are kept as given.
//! NFKC turns half-width katakana into full width (ｶﾞ → ガ) and full-width
//! letters and digits into ASCII; then hiragana become katakana and all
//! whitespace (including U+3000) goes. Source of the need: the 5-information
//! match of DOMAIN §7 and the exact-match rule of the failure-mode search
//! (DOMAIN §4.1), both of which must not fail on width or spacing alone.

use unicode_normalization::UnicodeNormalization;

/// Hiragana (ぁ–ゖ, ゝ, ゞ) to the katakana at the same place (+0x60).
fn hira_to_kata(c: char) -> char {
    match c {
        'ぁ'..='ゖ' | 'ゝ' | 'ゞ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => c,
    }
}

/// The kana search key: NFKC, hiragana → katakana, whitespace removed.
///
/// `ﾔﾏﾀﾞ ﾀﾛｳ`, `やまだ　たろう` and `ヤマダタロウ` all give `ヤマダタロウ`.
/// Small kana stay small (ッ ≠ ツ): a registry must not equate them.
pub fn kana_key(s: &str) -> String {
    s.nfkc()
        .filter(|c| !c.is_whitespace())
        .map(hira_to_kata)
        .collect()
}

/// Kana as stored and shown: NFKC and hiragana → katakana, runs of whitespace
/// collapsed to one ASCII space, trimmed (`やまだ　　たろう` → `ヤマダ タロウ`).
pub fn kana_display(s: &str) -> String {
    let converted: String = s.nfkc().map(hira_to_kata).collect();
    converted.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when `s` (after [`kana_display`]) is katakana, the long-vowel mark,
/// the middle dot or spaces only: what a フリガナ field may hold.
pub fn is_kana_text(s: &str) -> bool {
    let t = kana_display(s);
    !t.is_empty()
        && t.chars()
            .all(|c| matches!(c, 'ァ'..='ヺ' | 'ー' | '・' | 'ヽ' | 'ヾ' | ' '))
}

/// Variant kanji that the registries treat as the same character in names
/// (異体字). Kept deliberately short: only forms that are the same character in
/// everyday use, never different characters (DOMAIN §7; issue 3 asks for
/// 髙/高 and 﨑/崎 and forbids silently equating different people).
const VARIANT_KANJI: &[(char, char)] = &[('髙', '高'), ('﨑', '崎'), ('𠮷', '吉')];

/// The name search key: NFKC, whitespace removed, variant kanji folded, and
/// kana folded as in [`kana_key`].
pub fn name_key(s: &str) -> String {
    s.nfkc()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            VARIANT_KANJI
                .iter()
                .find(|(v, _)| *v == c)
                .map_or(c, |(_, base)| *base)
        })
        .map(hira_to_kata)
        .collect()
}

/// The address search key: NFKC, whitespace removed, every dash-like mark
/// (‐ - – — − ー after a digit, －) made an ASCII hyphen, and 丁目/番地/番/号
/// written as hyphens, so `1丁目2番3号` and `１－２－３` agree.
pub fn address_key(s: &str) -> String {
    let t: String = s.nfkc().filter(|c| !c.is_whitespace()).collect();
    let mut out = String::with_capacity(t.len());
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_digit = out.chars().last().is_some_and(|p: char| p.is_ascii_digit());
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if prev_digit && (rest == "丁目" || rest == "番地") {
            out.push('-');
            i += 2;
            continue;
        }
        match c {
            '‐' | '‑' | '–' | '—' | '−' | '―' => out.push('-'),
            'ー' | '番' | '号' if prev_digit => out.push('-'),
            _ => out.push(c),
        }
        i += 1;
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kana_forms_agree() {
        let want = "ヤマダタロウ";
        for s in [
            "ﾔﾏﾀﾞ ﾀﾛｳ",
            "やまだ　たろう",
            "ヤマダ タロウ",
            " ヤマダタロウ ",
        ] {
            assert_eq!(kana_key(s), want, "{s}");
        }
        assert_eq!(kana_key("ｶﾞｯｺｳ"), "ガッコウ");
        assert_ne!(kana_key("サトウ"), kana_key("サドウ"));
        assert_ne!(kana_key("ミツコ"), kana_key("ミッコ"));
        assert_eq!(kana_display("やまだ　　たろう"), "ヤマダ タロウ");
        assert!(is_kana_text("ﾔﾏﾀﾞ ﾀﾛｳ"));
        assert!(is_kana_text("スズキ・ジョーンズ"));
        assert!(!is_kana_text("山田"));
        assert!(!is_kana_text("  "));
    }

    #[test]
    fn names_fold_variants_not_people() {
        assert_eq!(name_key("髙橋 一郎"), name_key("高橋一郎"));
        assert_eq!(name_key("山﨑　花子"), name_key("山崎花子"));
        assert_ne!(name_key("高橋一郎"), name_key("高橋二郎"));
        assert_ne!(name_key("渡辺"), name_key("渡邊"));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address_key("東京都千代田区霞が関1丁目2番3号"),
            "東京都千代田区霞が関1-2-3"
        );
        assert_eq!(
            address_key("東京都千代田区霞が関１－２－３"),
            "東京都千代田区霞が関1-2-3"
        );
        assert_eq!(
            address_key("東京都千代田区霞が関1ー2ー3"),
            "東京都千代田区霞が関1-2-3"
        );
        assert_eq!(address_key("大阪市 北区 梅田 2番地"), "大阪市北区梅田2");
    }

    proptest! {
        /// Hiragana and katakana spellings of the same word give one key, and
        /// keys are fixed points.
        #[test]
        fn hiragana_and_katakana_agree(s in "[ぁ-ゖ]{1,12}") {
            let kata: String = s.chars().map(hira_to_kata).collect();
            prop_assert_eq!(kana_key(&s), kana_key(&kata));
            prop_assert_eq!(kana_key(&kana_key(&s)), kana_key(&s));
            prop_assert!(is_kana_text(&s));
        }
    }
}
