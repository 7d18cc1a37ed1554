//! [`read_uke`]: a RECEIPTC.UKE byte stream back into onshi's claims.

use chrono::NaiveDate;
use onshi_core::claim::{ClaimInsurer, InsurerBasis, is_unknown_insurer};
use onshi_core::{Era, InstitutionCode, Payer, Sex};
use onshi_payer::claim::{Claim, ClaimPatient};

use crate::UkeInstitution;
use crate::error::UkeError;
use crate::layout::{self, Layout, codes};
use crate::sjis::{decode_line, is_private_use};

/// One decoded line: its 1-based number and its fields (index 0 is the id).
struct Line {
    no: usize,
    fields: Vec<String>,
}

impl Line {
    fn id(&self) -> &str {
        self.fields.first().map(String::as_str).unwrap_or_default()
    }
    fn get(&self, i: usize) -> &str {
        self.fields.get(i).map(String::as_str).unwrap_or_default()
    }
    fn bad(&self, message: impl Into<String>) -> UkeError {
        UkeError::MalformedRecord {
            line: self.no,
            record: self.id().to_owned(),
            message: message.into(),
        }
    }
    fn check_len(&self, layout: &Layout) -> Result<(), UkeError> {
        if self.fields.len() < layout.min_fields {
            return Err(self.bad(format!(
                "項目が{}個しかありません（{}個以上必要です）",
                self.fields.len(),
                layout.min_fields
            )));
        }
        Ok(())
    }
    fn digits(&self, layout: &Layout, i: usize) -> Result<u64, UkeError> {
        let s = self.get(i);
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad(format!("{}「{s}」は数字ではありません", layout.name(i))));
        }
        s.parse::<u64>()
            .map_err(|_| self.bad(format!("{}「{s}」が大きすぎます", layout.name(i))))
    }
    fn digits_or_zero(&self, layout: &Layout, i: usize) -> Result<u64, UkeError> {
        if self.get(i).is_empty() {
            Ok(0)
        } else {
            self.digits(layout, i)
        }
    }
    fn date(&self, layout: &Layout, i: usize) -> Result<NaiveDate, UkeError> {
        parse_date(self.get(i))
            .map_err(|m| self.bad(format!("{}「{}」: {m}", layout.name(i), self.get(i))))
    }
    fn month(&self, layout: &Layout, i: usize) -> Result<NaiveDate, UkeError> {
        parse_month(self.get(i))
            .map_err(|m| self.bad(format!("{}「{}」: {m}", layout.name(i), self.get(i))))
    }
}

/// A date as `YYYYMMDD` (西暦, the form since 2020-05 請求) or the earlier
/// `GYYMMDD` (和暦, era codes 1 明治 … 5 令和; refused outside its era).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("数字ではありません".into());
    }
    match s.len() {
        8 => NaiveDate::parse_from_str(s, "%Y%m%d").map_err(|_| "存在しない日付です".into()),
        7 => onshi_core::WarekiDate::parse(s)
            .map(onshi_core::WarekiDate::to_gregorian)
            .map_err(|e| e.kind.to_string()),
        _ => Err("日付は西暦8桁（YYYYMMDD）または和暦7桁（GYYMMDD）です".into()),
    }
}

/// A month as `YYYYMM` (西暦) or `GYYMM` (和暦), as the first day of the month.
pub fn parse_month(s: &str) -> Result<NaiveDate, String> {
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("数字ではありません".into());
    }
    let bad_month = || "存在しない年月です".to_string();
    match s.len() {
        6 => {
            let (y, m) = (
                n(0..4).ok_or_else(bad_month)?,
                n(4..6).ok_or_else(bad_month)?,
            );
            NaiveDate::from_ymd_opt(i32::try_from(y).map_err(|_| bad_month())?, m, 1)
                .ok_or_else(bad_month)
        }
        5 => {
            let era = n(0..1)
                .and_then(|c| u8::try_from(c).ok())
                .and_then(Era::from_code)
                .ok_or("元号コードは1（明治）から5（令和）です")?;
            let (yy, m) = (
                n(1..3).ok_or_else(bad_month)?,
                n(3..5).ok_or_else(bad_month)?,
            );
            let start = era.start();
            let gy =
                chrono::Datelike::year(&start) + i32::try_from(yy).map_err(|_| bad_month())? - 1;
            let first = NaiveDate::from_ymd_opt(gy, m, 1).ok_or_else(bad_month)?;
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .ok_or_else(bad_month)?;
            let inside = yy >= 1 && next > start && era.end().is_none_or(|e| first < e);
            if !inside {
                return Err(format!("{}{yy}年{m}月はその元号の期間外です", era.kanji()));
            }
            Ok(first)
        }
        _ => Err("年月は西暦6桁（YYYYMM）または和暦5桁（GYYMM）です".into()),
    }
}

/// Splits the file into lines on CR LF and decodes them. The file must end
/// with CR LF, optionally followed by one EOF byte (0x1A).
fn lines(bytes: &[u8]) -> Result<Vec<Line>, UkeError> {
    let body = bytes.strip_suffix(&[0x1A]).unwrap_or(bytes);
    if body.is_empty() {
        return Err(UkeError::MissingRecord {
            record: "IR",
            claim_line: None,
        });
    }
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut no = 0usize;
    while start < body.len() {
        no += 1;
        let rest = body.get(start..).unwrap_or_default();
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            let id = String::from_utf8_lossy(rest.get(..2).unwrap_or(rest)).into_owned();
            return Err(UkeError::MalformedRecord {
                line: no,
                record: id,
                message:
                    "レコードが改行（CR LF）で終わっていません（ファイルが途中で切れています）"
                        .into(),
            });
        };
        let raw = rest.get(..end).unwrap_or_default();
        let text = decode_line(raw, no, start)?;
        let id: String = text.chars().take(2).collect();
        if let Some(c) = text.chars().find(|&c| c.is_control()) {
            return Err(UkeError::MalformedRecord {
                line: no,
                record: id,
                message: format!(
                    "制御文字 U+{:04X} があります（改行は CR LF だけです）",
                    u32::from(c)
                ),
            });
        }
        if let Some(c) = text.chars().find(|&c| is_private_use(c)) {
            return Err(UkeError::MalformedRecord {
                line: no,
                record: id,
                message: format!("外字 U+{:04X} があります", u32::from(c)),
            });
        }
        out.push(Line {
            no,
            fields: text.split(',').map(str::to_owned).collect(),
        });
        start = start.saturating_add(end).saturating_add(2);
    }
    Ok(out)
}

fn institution(l: &Line) -> Result<UkeInstitution, UkeError> {
    use layout::ir;
    let lay = &layout::IR;
    l.check_len(lay)?;
    let payer = match l.get(ir::PAYER) {
        "1" => Payer::ShiharaiKikin,
        "2" => Payer::Kokuhoren,
        other => {
            return Err(l.bad(format!(
                "審査支払機関「{other}」は1（支払基金）か2（国保連）です"
            )));
        }
    };
    if l.get(ir::TABLE) != codes::TABLE_MEDICAL {
        return Err(l.bad(format!(
            "点数表「{}」は医科（1）ではありません",
            l.get(ir::TABLE)
        )));
    }
    let (pref, code) = (l.get(ir::PREF), l.get(ir::CODE));
    let all_digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(pref, 2) || !all_digits(code, 7) {
        return Err(l.bad("都道府県は2桁、医療機関コードは7桁の数字です"));
    }
    let full = format!("{pref}{}{code}", codes::TABLE_MEDICAL);
    let institution_code = InstitutionCode::parse(&full)
        .map_err(|e| l.bad(format!("医療機関コード{full}: {}", e.kind)))?
        .to_string();
    let billing_month = l.month(lay, ir::MONTH)?;
    if l.get(ir::VOLUME) != codes::VOLUME_FIRST {
        return Err(l.bad(format!(
            "マルチボリューム識別情報「{}」: 複数ボリュームのファイルには対応していません（00 のみ）",
            l.get(ir::VOLUME)
        )));
    }
    let phone = Some(l.get(ir::PHONE))
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Ok(UkeInstitution {
        payer,
        institution_code,
        name: l.get(ir::NAME).to_owned(),
        phone,
        billing_month,
    })
}

/// 負担割合 (percent) from the レセプト種別 and 特記事項 when 給付割合 is empty
/// (other systems write it only for 国保): 4th digit 1/2 本人, 5/6 家族, 9/0
/// 7割 → 30; 3/4 未就学者 → 20; 7/8 高齢受給者一般 → 20, but 後期 → 10, or 20
/// with 特記事項 41 区カ \[I\].
fn inferred_burden(kind: &str, tokki: &str) -> Option<u16> {
    let b = kind.as_bytes();
    let kouki = b.get(1) == Some(&b'3');
    let tokki_has = |code: &str| tokki.as_bytes().chunks(2).any(|c| c == code.as_bytes());
    match b.get(3)? {
        b'1' | b'2' | b'5' | b'6' | b'9' | b'0' => Some(30),
        b'3' | b'4' => Some(20),
        b'7' | b'8' if kouki => Some(if tokki_has("41") { 20 } else { 10 }),
        b'7' | b'8' => Some(20),
        _ => None,
    }
}

/// Exactly `n` ASCII digits.
fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Records that belong to a claim (after its RE).
const CLAIM_RECORDS: &[&str] = &["HO", "KO", "SN", "JD", "MF", "SY", "CO"];

/// A claim being assembled from its records.
struct Draft {
    re_line: usize,
    number: String,
    chart: String,
    claim_month: NaiveDate,
    patient: ClaimPatient,
    burden: u16,
    ho: Option<(usize, ClaimInsurer, u64, u64, u64)>,
    branch: Option<String>,
    sn_seen: bool,
    jd: Option<(usize, Vec<NaiveDate>, u64)>,
    mf_seen: bool,
    diagnoses: Vec<String>,
    tekiyo: Vec<String>,
}

fn start_claim(l: &Line) -> Result<Draft, UkeError> {
    use layout::re;
    let lay = &layout::RE;
    l.check_len(lay)?;
    let number = l.digits(lay, re::NUMBER)?.to_string();
    let kind = l.get(re::KIND);
    if !(kind.len() == 4 && kind.starts_with('1') && kind.bytes().all(|b| b.is_ascii_digit())) {
        return Err(l.bad(format!(
            "レセプト種別「{kind}」は医科（1で始まる4桁）ではありません"
        )));
    }
    if matches!(kind.as_bytes().get(1), Some(b'2')) {
        return Err(UkeError::UnsupportedRecord {
            line: l.no,
            record: "RE".into(),
            what: "公費単独のレセプト",
        });
    }
    let claim_month = l.month(lay, re::MONTH)?;
    let sex = match l.get(re::SEX) {
        "1" => Sex::Male,
        "2" => Sex::Female,
        other => return Err(l.bad(format!("男女区分「{other}」は1か2です"))),
    };
    let birth_date = l.date(lay, re::BIRTH)?;
    let burden = if l.get(re::BENEFIT).is_empty() {
        inferred_burden(kind, l.get(re::TOKKI))
            .ok_or_else(|| l.bad("給付割合がなく、レセプト種別からも負担割合が決まりません"))?
    } else {
        let benefit = l.digits(lay, re::BENEFIT)?;
        let burden = 100u64
            .checked_sub(benefit)
            .and_then(|b| u16::try_from(b).ok());
        match burden {
            Some(b @ (10 | 20 | 30 | 100)) => b,
            _ => {
                return Err(l.bad(format!(
                    "給付割合「{benefit}」は90, 80, 70, 0のいずれかです"
                )));
            }
        }
    };
    let kana = Some(l.get(re::KANA))
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Ok(Draft {
        re_line: l.no,
        number,
        chart: l.get(re::CHART).to_owned(),
        claim_month,
        patient: ClaimPatient {
            name: l.get(re::NAME).to_owned(),
            kana,
            sex,
            birth_date,
        },
        burden,
        ho: None,
        branch: None,
        sn_seen: false,
        jd: None,
        mf_seen: false,
        diagnoses: Vec::new(),
        tekiyo: Vec::new(),
    })
}

fn once(l: &Line, seen: bool) -> Result<(), UkeError> {
    if seen {
        return Err(l.bad("同じレセプトに2つ目のレコードがあります"));
    }
    Ok(())
}

fn add_to_claim(d: &mut Draft, l: &Line) -> Result<(), UkeError> {
    match l.id() {
        "HO" => {
            use layout::ho;
            let lay = &layout::HO;
            once(l, d.ho.is_some())?;
            l.check_len(lay)?;
            let insurer_number = l.get(ho::INSURER).trim_start_matches(' ').to_owned();
            if insurer_number.is_empty() {
                return Err(l.bad("保険者番号がありません"));
            }
            let basis = if is_unknown_insurer(&insurer_number) {
                InsurerBasis::Unknown
            } else {
                InsurerBasis::Confirmed
            };
            let insurer = ClaimInsurer {
                insurer_number,
                symbol: Some(l.get(ho::SYMBOL))
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                number: l.get(ho::NUMBER).to_owned(),
                branch: None,
                basis,
            };
            let days = l.digits(lay, ho::DAYS)?;
            let points = l.digits(lay, ho::POINTS)?;
            let paid = l.digits_or_zero(lay, ho::PAID)?;
            d.ho = Some((l.no, insurer, days, points, paid));
        }
        "SN" => {
            use layout::sn;
            once(l, d.sn_seen)?;
            l.check_len(&layout::SN)?;
            if l.get(sn::BURDENER) != codes::BURDENER_INSURANCE {
                return Err(UkeError::UnsupportedRecord {
                    line: l.no,
                    record: "SN".into(),
                    what: "公費負担者の資格確認",
                });
            }
            let check = l.get(sn::CHECK);
            if !(check.len() == 2 && check.bytes().all(|b| b.is_ascii_digit())) {
                return Err(l.bad(format!("確認区分「{check}」は2桁の数字です")));
            }
            let branch = l.get(sn::BRANCH);
            if !branch.is_empty() && !is_digits(branch, 2) {
                return Err(l.bad(format!("枝番「{branch}」は2桁の数字です")));
            }
            d.sn_seen = true;
            d.branch = Some(branch).filter(|s| !s.is_empty()).map(str::to_owned);
        }
        "JD" => {
            use layout::jd;
            let lay = &layout::JD;
            once(l, d.jd.is_some())?;
            l.check_len(lay)?;
            if l.get(jd::BURDENER) != codes::BURDENER_INSURANCE {
                return Err(UkeError::UnsupportedRecord {
                    line: l.no,
                    record: "JD".into(),
                    what: "公費負担者の受診日等",
                });
            }
            let mut dates = Vec::new();
            let mut counted = 0u64;
            for day in 1..=31u32 {
                let i = jd::FIRST_DAY + day as usize - 1;
                let mark = l.get(i);
                if mark.is_empty() {
                    continue;
                }
                if mark != "1" && mark != "2" {
                    return Err(l.bad(format!("{}「{mark}」は1、2または空欄です", lay.name(i))));
                }
                let date = chrono::Datelike::with_day(&d.claim_month, day)
                    .ok_or_else(|| l.bad(format!("{}: 診療年月にない日です", lay.name(i))))?;
                dates.push(date);
                if mark == "1" {
                    counted += 1;
                }
            }
            d.jd = Some((l.no, dates, counted));
        }
        "MF" => {
            once(l, d.mf_seen)?;
            l.check_len(&layout::MF)?;
            let kind = l.get(layout::mf::KIND);
            if !matches!(kind, "00" | "01" | "02") {
                return Err(l.bad(format!(
                    "窓口負担額区分「{kind}」は00, 01, 02のいずれかです"
                )));
            }
            d.mf_seen = true;
        }
        "SY" => {
            use layout::sy;
            let lay = &layout::SY;
            l.check_len(lay)?;
            let code = l.get(sy::CODE);
            if !(code.len() == 7 && code.bytes().all(|b| b.is_ascii_digit())) {
                return Err(l.bad(format!("傷病名コード「{code}」は7桁の数字です")));
            }
            l.date(lay, sy::START)?;
            if !matches!(l.get(sy::OUTCOME), "1" | "2" | "3" | "4") {
                return Err(l.bad(format!("転帰区分「{}」は1から4です", l.get(sy::OUTCOME))));
            }
            let name = l.get(sy::NAME);
            d.diagnoses
                .push(if code == codes::UNCODED_DIAGNOSIS || !name.is_empty() {
                    name.to_owned()
                } else {
                    code.to_owned()
                });
        }
        "CO" => {
            use layout::co;
            l.check_len(&layout::CO)?;
            let code = l.get(co::CODE);
            if !(code.len() == 9 && code.bytes().all(|b| b.is_ascii_digit())) {
                return Err(l.bad(format!("コメントコード「{code}」は9桁の数字です")));
            }
            if code == codes::FREE_COMMENT {
                d.tekiyo.push(l.get(co::TEXT).to_owned());
            }
        }
        "KO" => {
            return Err(UkeError::UnsupportedRecord {
                line: l.no,
                record: "KO".into(),
                what: "公費",
            });
        }
        id if layout::SKIPPED.contains(&id) => {}
        "IR" | "RE" | "GO" => return Err(l.bad("このレコードはここには置けません")),
        id => {
            return Err(UkeError::UnknownRecord {
                line: l.no,
                record: id.to_owned(),
            });
        }
    }
    Ok(())
}

fn finish_claim(d: Draft, inst: &UkeInstitution) -> Result<Claim, UkeError> {
    let missing = |record| UkeError::MissingRecord {
        record,
        claim_line: Some(d.re_line),
    };
    let (ho_line, mut insurer, days, points, paid) = d.ho.ok_or_else(|| missing("HO"))?;
    let (_, visit_dates, counted) = d.jd.ok_or_else(|| missing("JD"))?;
    if visit_dates.is_empty() {
        return Err(missing("JD"));
    }
    if counted != days {
        return Err(UkeError::CountMismatch {
            line: ho_line,
            what: "HOの診療実日数とJDの受診日",
            recorded: days,
            counted,
        });
    }
    insurer.branch = d.branch;
    let claim_id = if d.chart.is_empty() {
        d.number
    } else {
        d.chart
    };
    Ok(Claim {
        claim_id,
        institution_code: inst.institution_code.clone(),
        claim_month: d.claim_month.format("%Y-%m").to_string(),
        payer: inst.payer,
        patient: d.patient,
        insurer,
        burden_ratio_percent: d.burden,
        visit_dates,
        points,
        patient_paid_yen: paid,
        tekiyo: d.tekiyo,
        diagnoses: d.diagnoses,
    })
}

fn check_go(l: &Line, claims: &[Claim]) -> Result<(), UkeError> {
    use layout::go;
    let lay = &layout::GO;
    l.check_len(lay)?;
    let count = l.digits(lay, go::COUNT)?;
    let points = l.digits(lay, go::POINTS)?;
    if l.get(go::VOLUME) != codes::VOLUME_LAST {
        return Err(l.bad(format!(
            "マルチボリューム識別情報「{}」: 最終ボリューム（99）ではありません",
            l.get(go::VOLUME)
        )));
    }
    let n = claims.len() as u64;
    if count != n {
        return Err(UkeError::CountMismatch {
            line: l.no,
            what: "GOの総件数",
            recorded: count,
            counted: n,
        });
    }
    let sum = claims.iter().fold(0u64, |a, c| a.saturating_add(c.points));
    if points != sum {
        return Err(UkeError::CountMismatch {
            line: l.no,
            what: "GOの総合計点数",
            recorded: points,
            counted: sum,
        });
    }
    Ok(())
}

/// Reads a RECEIPTC.UKE written by [`crate::write_uke`] (and, as far as the
/// records onshi knows go, by other systems). See the crate docs for what
/// each field becomes and what the file cannot carry.
pub fn read_uke(bytes: &[u8]) -> Result<(UkeInstitution, Vec<Claim>), UkeError> {
    let lines = lines(bytes)?;
    let mut it = lines.iter().peekable();
    // A leading UK (受付情報) record, seen in 歯科 files and mentioned for
    // online submissions by one parser [U], is skipped.
    it.next_if(|l| l.id() == "UK");
    let first = it.next().ok_or(UkeError::MissingRecord {
        record: "IR",
        claim_line: None,
    })?;
    if first.id() != "IR" {
        return Err(UkeError::MissingRecord {
            record: "IR",
            claim_line: None,
        });
    }
    let inst = institution(first)?;
    let mut claims = Vec::new();
    let mut draft: Option<Draft> = None;
    let mut go: Option<&Line> = None;
    for l in it {
        if let Some(g) = go {
            return Err(l.bad(format!(
                "{}行目のGO（最後のレコード）の後にレコードがあります",
                g.no
            )));
        }
        match l.id() {
            "RE" => {
                if let Some(d) = draft.take() {
                    claims.push(finish_claim(d, &inst)?);
                }
                draft = Some(start_claim(l)?);
            }
            "GO" => {
                if let Some(d) = draft.take() {
                    claims.push(finish_claim(d, &inst)?);
                }
                go = Some(l);
            }
            "IR" => return Err(l.bad("IRはファイルの先頭に1つだけです")),
            _ => match draft.as_mut() {
                Some(d) => add_to_claim(d, l)?,
                None if layout::SKIPPED.contains(&l.id()) => {}
                None if CLAIM_RECORDS.contains(&l.id()) => {
                    return Err(l.bad("REより前に置かれています"));
                }
                None => {
                    return Err(UkeError::UnknownRecord {
                        line: l.no,
                        record: l.id().to_owned(),
                    });
                }
            },
        }
    }
    let go = go.ok_or(UkeError::MissingRecord {
        record: "GO",
        claim_line: None,
    })?;
    check_go(go, &claims)?;
    Ok((inst, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn months_in_both_calendars() {
        assert_eq!(parse_month("202611"), Ok(ymd(2026, 11, 1)));
        assert_eq!(parse_month("50811"), Ok(ymd(2026, 11, 1)));
        // 昭和64年1月 and 平成元年1月 are both January 1989; 昭和64年2月 is not.
        assert_eq!(parse_month("36401"), Ok(ymd(1989, 1, 1)));
        assert_eq!(parse_month("40101"), Ok(ymd(1989, 1, 1)));
        assert!(parse_month("36402").is_err());
        assert_eq!(parse_month("43104"), Ok(ymd(2019, 4, 1)));
        assert!(
            parse_month("43105").is_err(),
            "平成31年5月 does not exist: 5月1日 is 令和"
        );
        assert!(parse_month("50104").is_err(), "令和元年4月 is before 令和");
        for bad in [
            "",
            "2026",
            "202613",
            "202600",
            "60101",
            "00101",
            "50001",
            "2026-1",
            "５０８１１",
        ] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_in_both_calendars() {
        assert_eq!(parse_date("19800401"), Ok(ymd(1980, 4, 1)));
        assert_eq!(parse_date("3550401"), Ok(ymd(1980, 4, 1)));
        assert!(parse_date("4310501").is_err());
        assert_eq!(parse_date("5010501"), Ok(ymd(2019, 5, 1)));
        for bad in ["", "1980041", "198004011", "19800230", "x9800401"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn burden_from_receipt_kind() {
        assert_eq!(inferred_burden("1112", ""), Some(30));
        assert_eq!(inferred_burden("1116", ""), Some(30));
        assert_eq!(inferred_burden("1114", ""), Some(20));
        assert_eq!(inferred_burden("1118", ""), Some(20));
        assert_eq!(inferred_burden("1110", ""), Some(30));
        assert_eq!(inferred_burden("1318", ""), Some(10));
        assert_eq!(inferred_burden("1318", "2641"), Some(20));
        assert_eq!(inferred_burden("1318", "4142"), Some(20));
        assert_eq!(
            inferred_burden("1318", "1410"),
            Some(10),
            "only whole 2-digit codes count"
        );
        assert_eq!(inferred_burden("131", ""), None);
    }
}
