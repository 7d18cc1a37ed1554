//! The 被保険者資格申立書 (notice 別添3 別紙様式) and its explanation sheet as
//! a printable A4 PDF, blank or filled from a [`Declaration`].
//!
//! Drawn with krilla; the text is set in IPAex Mincho (body) and IPAex Gothic
//! (headings), embedded as subsets with ToUnicode maps so the PDF's text can
//! be extracted and searched. The fonts come from Debian's
//! `fonts-ipaexfont-mincho` / `fonts-ipaexfont-gothic` (README); another
//! directory holding `ipaexm.ttf` and `ipaexg.ttf` can be named by
//! `ONSHI_FONT_DIR`. Nothing is downloaded at run time.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use onshi_core::declaration::{CardIssued, Declaration, InsuranceType};
use onshi_core::reception::DeclaredRatio;
use onshi_core::{BurdenRatio, Era, Sex, WarekiDate};

/// Why a PDF could not be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PdfError {
    #[error("日本語フォント（IPAexフォント）が見つかりません: {0}")]
    FontUnavailable(String),
    #[error("PDFを作成できません: {0}")]
    Render(String),
}

/// The two faces the form uses.
#[derive(Clone)]
pub struct Fonts {
    mincho: Font,
    gothic: Font,
}

const DEFAULT_DIRS: [&str; 2] = [
    "/usr/share/fonts/opentype/ipaexfont-mincho",
    "/usr/share/fonts/opentype/ipaexfont-gothic",
];

fn load_font(path: &Path) -> Result<Font, PdfError> {
    let data = std::fs::read(path)
        .map_err(|e| PdfError::FontUnavailable(format!("{}: {e}", path.display())))?;
    Font::new(data.into(), 0)
        .ok_or_else(|| PdfError::FontUnavailable(format!("{}: not a font", path.display())))
}

impl Fonts {
    /// Loads IPAex Mincho and Gothic from `dir` (both files in it), or from
    /// `ONSHI_FONT_DIR`, or from Debian's font directories.
    pub fn load(dir: Option<&Path>) -> Result<Self, PdfError> {
        let env = std::env::var_os("ONSHI_FONT_DIR").map(PathBuf::from);
        let (m, g) = match dir.map(Path::to_path_buf).or(env) {
            Some(d) => (d.join("ipaexm.ttf"), d.join("ipaexg.ttf")),
            None => (
                Path::new(DEFAULT_DIRS[0]).join("ipaexm.ttf"),
                Path::new(DEFAULT_DIRS[1]).join("ipaexg.ttf"),
            ),
        };
        Ok(Fonts {
            mincho: load_font(&m)?,
            gothic: load_font(&g)?,
        })
    }

    /// The fonts of [`Fonts::load`]`(None)`, read once per process.
    pub fn shared() -> Result<Fonts, PdfError> {
        static FONTS: OnceLock<Result<Fonts, PdfError>> = OnceLock::new();
        FONTS.get_or_init(|| Fonts::load(None)).clone()
    }
}

const W: f32 = 595.0;
const H: f32 = 842.0;
const LEFT: f32 = 42.0;
const RIGHT: f32 = W - 42.0;
const LABEL_W: f32 = 150.0;

/// Width of text in points, counting full-width characters as 1 em and
/// ASCII as half (IPAex's proportions, close enough for layout).
fn text_width(s: &str, size: f32) -> f32 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum::<f32>()
        * size
}

/// Breaks `s` into lines no wider than `width`.
fn wrap(s: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        let mut next = cur.clone();
        next.push(c);
        if text_width(&next, size) > width && !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

struct Pen<'a, 'b> {
    s: &'a mut Surface<'b>,
    f: &'a Fonts,
    y: f32,
}

impl Pen<'_, '_> {
    fn text(&mut self, x: f32, y: f32, size: f32, gothic: bool, t: &str) {
        if t.is_empty() {
            return;
        }
        let font = if gothic {
            self.f.gothic.clone()
        } else {
            self.f.mincho.clone()
        };
        self.s.draw_text(
            Point::from_xy(x, y),
            font,
            size,
            t,
            false,
            TextDirection::Auto,
        );
    }

    fn centered(&mut self, size: f32, gothic: bool, t: &str) {
        let x = (W - text_width(t, size)) / 2.0;
        let y = self.y;
        self.text(x, y, size, gothic, t);
        self.y += size * 1.6;
    }

    fn paragraph(&mut self, size: f32, t: &str) {
        for line in wrap(t, size, RIGHT - LEFT) {
            let y = self.y;
            self.text(LEFT, y, size, false, &line);
            self.y += size * 1.5;
        }
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(r);
        }
        if let Some(path) = pb.finish() {
            self.s.set_stroke(Some(Stroke {
                width: 0.6,
                ..Default::default()
            }));
            self.s.draw_path(&path);
            self.s.set_stroke(None);
        }
    }

    /// One row of the table: a label cell and a value cell (wrapped).
    fn row(&mut self, label: &str, value: &str, height: f32) {
        let y = self.y;
        self.rect(LEFT, y, LABEL_W, height);
        self.rect(LEFT + LABEL_W, y, RIGHT - LEFT - LABEL_W, height);
        self.text(LEFT + 6.0, y + height / 2.0 + 4.0, 10.0, true, label);
        let lines = wrap(value, 10.5, RIGHT - LEFT - LABEL_W - 12.0);
        let top = y + height / 2.0 + 4.0 - (lines.len().saturating_sub(1) as f32) * 7.0;
        for (i, line) in lines.iter().enumerate() {
            self.text(
                LEFT + LABEL_W + 6.0,
                top + i as f32 * 14.0,
                10.5,
                false,
                line,
            );
        }
        self.y += height;
    }
}

/// A row of checkboxes: ■ for the chosen option, □ for the others.
fn boxes<T: PartialEq + Copy>(options: &[(T, &str)], chosen: Option<T>) -> String {
    options
        .iter()
        .map(|(v, l)| format!("{}{l}", if Some(*v) == chosen { "■" } else { "□" }))
        .collect::<Vec<_>>()
        .join("　")
}

fn or_blank(v: Option<&str>) -> String {
    v.unwrap_or("").to_owned()
}

fn wareki_parts(w: Option<WarekiDate>) -> String {
    let eras = [
        (Era::Meiji, "明治"),
        (Era::Taisho, "大正"),
        (Era::Showa, "昭和"),
        (Era::Heisei, "平成"),
        (Era::Reiwa, "令和"),
    ];
    let chosen = w.map(|w| w.era());
    let era_boxes = boxes(&eras, chosen);
    match w {
        Some(w) => format!("{era_boxes}　{}年 {}月 {}日", w.year(), w.month(), w.day()),
        None => format!("{era_boxes}　　　年　　月　　日"),
    }
}

/// The form (page 1) and the explanation sheet (page 2) as PDF bytes; blank
/// when `d` is `None`.
pub fn declaration_pdf(d: Option<&Declaration>, fonts: &Fonts) -> Result<Vec<u8>, PdfError> {
    let empty = Declaration::default();
    let d = d.unwrap_or(&empty);
    let mut doc = Document::new();
    let settings =
        PageSettings::from_wh(W, H).ok_or_else(|| PdfError::Render("page size".into()))?;
    {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut p = Pen {
            s: &mut surface,
            f: fonts,
            y: 56.0,
        };
        p.text(RIGHT - 50.0, 40.0, 9.0, false, "別紙様式");
        p.centered(18.0, true, "被保険者資格申立書");
        p.paragraph(10.0, "有効な保険証の交付を受けており、医療保険等の被保険者資格について、下記の通り申し立てます。");
        p.paragraph(
            8.0,
            "※ 以下の各項目に可能な範囲で記入いただき、□には、あてはまる場合に「✓」を記入してください。なお、本申立書に記入いただいた情報は、\
             医療機関等の診療報酬請求等に必要な範囲でのみ使用し、診療報酬請求等の請求・支払等に係る必要な事務を終えた段階で、速やかに廃棄します。",
        );
        p.y += 6.0;
        let y = p.y;
        p.text(LEFT, y, 11.0, true, "1 保険証等に関する事項");
        p.y += 8.0;
        p.row(
            "保険証の有無",
            &boxes(
                &[(true, "有効な保険証の交付を受けている")],
                d.has_valid_card,
            ),
            24.0,
        );
        let types = [
            (InsuranceType::Shaho, "社保"),
            (InsuranceType::Kokuho, "国保"),
            (InsuranceType::Kouki, "後期"),
            (InsuranceType::Other, "その他"),
            (InsuranceType::Unknown, "わからない"),
        ];
        p.row("保険種別", &boxes(&types, d.insurance_type), 24.0);
        p.row("保険者等名称", &or_blank(d.insurer_name.as_deref()), 24.0);
        p.row("事業所名※1", &or_blank(d.employer.as_deref()), 24.0);
        let issued = [
            (CardIssued::WithinMonth, "1ヶ月以内"),
            (CardIssued::Earlier, "それより前"),
            (CardIssued::Unknown, "わからない"),
        ];
        p.row(
            "保険証の交付を受けた時期",
            &boxes(&issued, d.card_issued),
            24.0,
        );
        let ratios = [
            (Some(BurdenRatio::THREE), "3割"),
            (Some(BurdenRatio::TWO), "2割"),
            (Some(BurdenRatio::ONE), "1割"),
            (None, "わからない"),
        ];
        let chosen_ratio = d.ratio.map(|r| match r {
            DeclaredRatio::Ratio(r) => Some(r),
            DeclaredRatio::Unknown => None,
        });
        p.row("一部負担金の割合※2", &boxes(&ratios, chosen_ratio), 24.0);
        p.y += 12.0;
        p.paragraph(
            7.5,
            "※1 保険種別で社保（保険者が健康保険組合、共済組合、全国健康保険協会の場合）、国保（保険者が国民健康保険組合の場合のみ）、\
             その他（自衛官・公費単独医療の場合）、わからないの□に「✓」を記入された場合は、事業所名（お勤め先の会社名等）の記入をお願いします。",
        );
        p.paragraph(
            7.5,
            "※2 70歳以上の方、または後期高齢者医療の被保険者の方は、一部負担金の割合についてもご記入ください。なお、ご記入いただいた\
             一部負担金の割合が実際と異なっていた場合、後日、保険者から差額を請求等させていただく場合があります。",
        );
        p.y += 8.0;
        let y = p.y;
        p.text(LEFT, y, 11.0, true, "2 マイナンバーカードの券面事項等");
        p.y += 8.0;
        let name = format!(
            "（フリガナ）{}　　{}",
            d.kana.as_ref().map(|k| k.as_str()).unwrap_or(""),
            d.name.as_ref().map(|n| n.as_str()).unwrap_or("")
        );
        p.row("氏名", &name, 30.0);
        p.row("生年月日", &wareki_parts(d.birth_date), 24.0);
        p.row(
            "性別",
            &boxes(&[(Sex::Male, "男"), (Sex::Female, "女")], d.sex),
            24.0,
        );
        let address = match &d.residence {
            Some(r) => format!("{}　（居所※3）{r}", or_blank(d.address.as_deref())),
            None => or_blank(d.address.as_deref()),
        };
        p.row("住所※4", &address, 36.0);
        p.y += 12.0;
        p.paragraph(7.5, "※3 マイナンバーカードの券面に記載された住所以外の居所がある場合はこちらにご記入ください。");
        p.paragraph(
            7.5,
            "※4 マイナンバーカードの券面に記載された氏名、生年月日、性別、住所をそのまま記入いただくとともに、氏名のフリガナも併せてご記入ください。",
        );
        p.y += 14.0;
        let date = match d
            .declared_on
            .and_then(|x| WarekiDate::from_gregorian(x).ok())
        {
            Some(w) => w.to_string(),
            None => "　　　　年　　月　　日".into(),
        };
        let y = p.y;
        p.text(RIGHT - text_width(&date, 10.5), y, 10.5, false, &date);
        p.y += 24.0;
        let sign = format!(
            "署名　{}　　（患者との関係※5：{}）",
            or_blank(d.signature.as_deref()),
            or_blank(d.signer_relation.as_deref())
        );
        let y = p.y;
        p.text(LEFT + 180.0, y, 10.5, false, &sign);
        p.y += 22.0;
        let phone = format!("連絡先電話番号　{}", or_blank(d.phone.as_deref()));
        let y = p.y;
        p.text(LEFT + 180.0, y, 10.5, false, &phone);
        p.y += 20.0;
        p.paragraph(
            7.5,
            "※5 （患者との関係）欄は、保護者の方等が署名された場合にご記入ください。",
        );
        surface.finish();
        page.finish();
    }
    {
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        let mut p = Pen {
            s: &mut surface,
            f: fonts,
            y: 70.0,
        };
        p.centered(11.0, true, "患者の皆様へのお願い");
        p.centered(16.0, true, "被保険者資格申立書に関する説明書");
        p.y += 10.0;
        p.paragraph(
            10.5,
            "本申立書は、有効な保険証が発行されているにもかかわらず、マイナンバーカードにより資格確認を行った場合に、以下のような理由で\
             オンライン資格確認ができない患者さんに、本来の自己負担額での保険診療を行うためにご記載をお願いする文書になります。",
        );
        p.y += 6.0;
        p.paragraph(10.5, "本申立書をご記載いただくことにより、3割負担（未就学児は2割負担。70歳以上等の方は1～3割）により自己負担額を計算します。");
        p.y += 6.0;
        p.paragraph(10.5, "※ 被保険者番号等の情報（保険証のコピーや写真を含む。）がわかり次第、必ず受診された医療機関等にお伝えください。");
        p.y += 12.0;
        let y = p.y;
        p.text(LEFT, y, 11.0, true, "【ご記載が必要になる場合（例）】");
        p.y += 20.0;
        p.paragraph(10.5, "・転職等により保険証が発行されているものの、データ登録中のためオンライン資格確認ができない場合");
        p.paragraph(
            10.5,
            "・機器のトラブル等により、マイナンバーカードでオンライン資格確認ができない場合",
        );
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Render(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_respects_width() {
        let lines = wrap(&"あ".repeat(100), 10.0, 200.0);
        assert!(lines.iter().all(|l| text_width(l, 10.0) <= 200.0));
        assert_eq!(lines.concat().chars().count(), 100);
        assert_eq!(boxes(&[(1, "a"), (2, "b")], Some(2)), "□a　■b");
    }
}
