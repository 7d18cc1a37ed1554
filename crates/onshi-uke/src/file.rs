//! [`UkeFile`]: a RECEIPTC.UKE kept whole. Every record is held as the bytes
//! it was read as (without its CR LF), split into fields but never
//! re-encoded, in file order: the records before IR (a UK), IR, anything
//! between IR and the first RE, each receipt (its RE and every record up to
//! the next RE or GO), GO, and whether the file ended with 0x1A.
//! [`UkeFile::to_bytes`] gives back exactly the bytes read; the edits
//! ([`UkeFile::set_insurer`], [`UkeFile::set_patient_paid`]) rewrite only
//! the fields they name.
//!
//! On top of the records, each [`Receipt`] carries typed facts
//! ([`ReceiptFacts`]) from the fields onshi reads: RE (patient, レセプト種別,
//! 給付割合, カルテ番号等), HO, KO, SN and JD of the 医療保険 負担者, MF, SY,
//! and the CO free comments of the whole receipt. Everything else (SI, IY,
//! TO, CO of other codes, SJ, the 公費 SN/JD, records onshi has never heard
//! of) is kept as it is and only located: which receipt, which record it
//! follows ([`Receipt::follows`]), which line item a comment belongs to
//! ([`Receipt::line_item_of`]).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use onshi_core::claim::{ClaimInsurer, InsurerBasis, is_unknown_insurer};
use onshi_core::{BurdenRatio, InstitutionCode, InsurerNumber, Payer, Sex};
use onshi_payer::claim::{Claim, ClaimInput, ClaimPatient, ClaimProblem};

use crate::UkeInstitution;
use crate::error::{FieldAt, UkeError};
use crate::layout::{self, Layout, codes};
use crate::read::{inferred_burden, parse_date, parse_month};
use crate::sjis::{decode_line, encode_field, is_private_use};
use crate::width::{fold_alnum, to_zenkaku};

/// One record as read: its 1-based line number, its bytes (CP932, without
/// CR LF) and its fields decoded (index 0 is the record id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    line: usize,
    bytes: Vec<u8>,
    fields: Vec<String>,
}

impl Record {
    /// The line of the file the record was read from (1-based).
    pub fn line(&self) -> usize {
        self.line
    }
    /// The record id (レコード識別情報), e.g. `SI`.
    pub fn id(&self) -> &str {
        self.get(0)
    }
    /// The record's bytes as read (or as edited), without CR LF.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The fields, decoded; index 0 is the id.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }
    /// Field `i`, decoded (`None` past the last field).
    pub fn field(&self, i: usize) -> Option<&str> {
        self.fields.get(i).map(String::as_str)
    }
    /// Field `i` as its bytes in the file.
    pub fn raw_field(&self, i: usize) -> Option<&[u8]> {
        // 0x2C is never a CP932 trail byte: every b',' is a separator.
        self.bytes.split(|&b| b == b',').nth(i)
    }

    fn get(&self, i: usize) -> &str {
        self.field(i).unwrap_or_default()
    }
    fn bad(&self, message: impl Into<String>) -> UkeError {
        UkeError::MalformedRecord {
            line: self.line,
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
    fn number(&self, name: &str, i: usize) -> Result<u64, UkeError> {
        let s = self.get(i);
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad(format!("{name}「{s}」は数字ではありません")));
        }
        s.parse::<u64>()
            .map_err(|_| self.bad(format!("{name}「{s}」が大きすぎます")))
    }
    fn digits(&self, layout: &Layout, i: usize) -> Result<u64, UkeError> {
        self.number(layout.name(i), i)
    }
    fn digits_or_none(&self, layout: &Layout, i: usize) -> Result<Option<u64>, UkeError> {
        if self.get(i).is_empty() {
            Ok(None)
        } else {
            self.digits(layout, i).map(Some)
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

    /// Replaces field `i` with `encoded` (CP932, no comma), adding empty
    /// fields first if the record is shorter.
    fn set_raw_field(&mut self, i: usize, encoded: &[u8]) -> Result<(), UkeError> {
        let mut parts: Vec<&[u8]> = self.bytes.split(|&b| b == b',').collect();
        while parts.len() <= i {
            parts.push(&[]);
        }
        if let Some(p) = parts.get_mut(i) {
            *p = encoded;
        }
        let bytes = parts.join(&b","[..]);
        let text = decode_line(&bytes, self.line, 0)?;
        self.fields = text.split(',').map(str::to_owned).collect();
        self.bytes = bytes;
        Ok(())
    }
}

/// Splits the file into records on CR LF and decodes them strictly. The file
/// must end with CR LF, optionally followed by one EOF byte (0x1A); the
/// second value says whether it was there.
fn split_records(bytes: &[u8]) -> Result<(Vec<Record>, bool), UkeError> {
    let (body, eof) = match bytes.strip_suffix(&[0x1A]) {
        Some(b) => (b, true),
        None => (bytes, false),
    };
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
        out.push(Record {
            line: no,
            bytes: raw.to_vec(),
            fields: text.split(',').map(str::to_owned).collect(),
        });
        start = start.saturating_add(end).saturating_add(2);
    }
    Ok((out, eof))
}

fn institution(l: &Record) -> Result<UkeInstitution, UkeError> {
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
    if !is_digits(pref, 2) || !is_digits(code, 7) {
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

/// Exactly `n` ASCII digits.
fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// What kind of receipt, from the レセプト種別 (2nd digit 1 医保, 2 公費,
/// 3 後期, 4 退職; 3rd digit 1 単独, 2–5 with that many 負担者) and checked
/// against the HO and KO records present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptClass {
    /// 医保単独 (医保, 後期 or 退職, no 公費): e.g. 1112, 1318.
    Insurance,
    /// 医保 (or 後期, 退職) with one to four 公費 併用: e.g. 1122, 1124.
    InsuranceWithKouhi,
    /// 公費単独: e.g. 1212. Not a claim on an insurer.
    KouhiOnly,
}

/// Where a receipt's visit dates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitSource {
    /// The JD record of the 医療保険 負担者 (負担者種別 1): its day marks.
    Jd,
    /// No such JD: the days on which an SI or IY record counts anything
    /// (its 1日の情報 … 31日の情報) \[D\].
    LineItems,
    /// Neither: no visit date is known.
    None,
}

/// The HO record (保険者レコード) of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insurance {
    /// 保険者番号 without the spaces that right-align a 6-digit 国保 number.
    pub insurer_number: String,
    /// 記号, 全角 forms of ASCII folded back (`１９Ｄ` → `19D`); `None` when
    /// empty.
    pub symbol: Option<String>,
    /// 番号, folded the same way.
    pub number: String,
    /// 診療実日数.
    pub days: u64,
    /// 合計点数.
    pub points: u64,
    /// 負担金額 医療保険, `None` when not recorded.
    pub paid_yen: Option<u64>,
}

/// A KO record (公費レコード): read as facts, never written by onshi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kouhi {
    /// 負担者番号 (8 digits).
    pub burdener_number: String,
    /// 受給者番号 (`None` when empty, e.g. 医療観察法).
    pub recipient_number: Option<String>,
    /// 診療実日数.
    pub days: u64,
    /// 合計点数.
    pub points: u64,
    /// 負担金額 公費 (the patient's share under this 公費), `None` when not
    /// recorded.
    pub patient_burden_yen: Option<u64>,
}

/// The facts onshi reads from one receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFacts {
    /// レセプト番号.
    pub number: u64,
    /// レセプト種別 (4 digits).
    pub kind: String,
    pub class: ReceiptClass,
    /// 診療年月, as its first day.
    pub month: NaiveDate,
    /// 氏名, カタカナ（氏名）, 男女区分, 生年月日.
    pub patient: ClaimPatient,
    /// 給付割合 as recorded (`None` when empty, as the 仕様 asks outside
    /// 国保).
    pub benefit: Option<u64>,
    /// The patient's burden in percent: 100 − 給付割合, or inferred from the
    /// レセプト種別 and 特記事項 when 給付割合 is empty; `None` when the
    /// recorded 給付割合 is not one onshi's claims hold (90, 80, 70, 0).
    pub burden_percent: Option<u16>,
    /// レセプト特記事項 (2-digit codes, run together).
    pub tokki: String,
    /// カルテ番号等, `None` when empty.
    pub chart: Option<String>,
    /// HO, for 医保 receipts.
    pub insurance: Option<Insurance>,
    /// 枝番 from the SN of the 医療保険 負担者.
    pub branch: Option<String>,
    /// KO records in order (第一公費 first).
    pub kouhi: Vec<Kouhi>,
    /// MF 窓口負担額区分 (00 高額療養費の現物給付なし, 01 あり, 02 あり・多数回
    /// 該当), `None` without MF.
    pub window_kind: Option<String>,
    /// Visit dates, sorted, without duplicates.
    pub visit_dates: Vec<NaiveDate>,
    pub visits_from: VisitSource,
    /// SY: the 傷病名称, or the 傷病名コード of a coded diagnosis without one.
    pub diagnoses: Vec<String>,
    /// CO フリーコメント (810000001) of the whole receipt: 診療識別 99, and the
    /// lines with an empty 診療識別 that continue them \[D\]. Comments under
    /// another 診療識別 (用法 under 22/23, …) stay with their line item.
    pub tekiyo: Vec<String>,
}

/// One receipt: its RE, every record up to the next RE or GO, and the facts
/// read from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    re: Record,
    records: Vec<Record>,
    facts: ReceiptFacts,
    /// Index in `records` of the HO, if any.
    ho: Option<usize>,
}

impl Receipt {
    /// The RE record.
    pub fn re(&self) -> &Record {
        &self.re
    }
    /// The records after RE, in file order, every one of them.
    pub fn records(&self) -> &[Record] {
        &self.records
    }
    pub fn facts(&self) -> &ReceiptFacts {
        &self.facts
    }
    pub fn class(&self) -> ReceiptClass {
        self.facts.class
    }
    /// The record right before `records()[i]`: the RE for the first one.
    pub fn follows(&self, i: usize) -> Option<&Record> {
        match i {
            0 => Some(&self.re),
            _ if i < self.records.len() => self.records.get(i - 1),
            _ => None,
        }
    }
    /// For a CO at `records()[i]`, the index of the nearest SI, IY or TO
    /// before it with only CO records in between (the line item the comment
    /// follows); `None` for a CO that follows anything else and for any
    /// other record.
    pub fn line_item_of(&self, i: usize) -> Option<usize> {
        if self.records.get(i)?.id() != "CO" {
            return None;
        }
        let before = self.records.get(..i)?;
        for (j, r) in before.iter().enumerate().rev() {
            if layout::LINE_ITEMS.contains(&r.id()) {
                return Some(j);
            }
            if r.id() != "CO" {
                return None;
            }
        }
        None
    }
    /// Every record of the receipt, RE first.
    pub fn all_records(&self) -> impl Iterator<Item = &Record> {
        std::iter::once(&self.re).chain(self.records.iter())
    }
}

/// Why a receipt of a readable file is not a claim onshi's payer run takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptProblem {
    /// A 公費単独 receipt: the 公費 負担者 pays, no insurer is billed.
    KouhiOnly { line: usize, kind: String },
    /// No JD of the 医療保険 負担者 and no SI/IY day information: onshi's
    /// claims need visit dates (the payer run judges qualification on them).
    NoVisitDates { line: usize },
    /// A 給付割合 other than 90, 80, 70, 0 (e.g. 30 for a 被爆者 without a
    /// 国保 card): no burden onshi's claims hold.
    UnsupportedBenefit { line: usize, benefit: u64 },
}

impl ReceiptProblem {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KouhiOnly { .. } => "kouhi_only_not_insurer_claim",
            Self::NoVisitDates { .. } => "no_visit_dates",
            Self::UnsupportedBenefit { .. } => "unsupported_benefit_ratio",
        }
    }
    /// The line of the receipt's RE.
    pub fn line(&self) -> usize {
        match self {
            Self::KouhiOnly { line, .. }
            | Self::NoVisitDates { line }
            | Self::UnsupportedBenefit { line, .. } => *line,
        }
    }
    /// As the payer run reports it.
    pub fn to_claim_problem(&self) -> ClaimProblem {
        let (field, message) = match self {
            Self::KouhiOnly { line, kind } => (
                "receipt_kind",
                format!(
                    "{line}行目のレセプト（レセプト種別{kind}）は公費単独で、保険者への請求ではありません"
                ),
            ),
            Self::NoVisitDates { line } => (
                "visit_dates",
                format!(
                    "{line}行目のレセプトに受診日がありません（JDレコードも、SI・IYの算定日もありません）"
                ),
            ),
            Self::UnsupportedBenefit { line, benefit } => (
                "burden_ratio_percent",
                format!(
                    "{line}行目のレセプトの給付割合「{benefit}」は90, 80, 70, 0のいずれでもなく、負担割合として扱えません"
                ),
            ),
        };
        ClaimProblem {
            code: self.code().into(),
            field: field.into(),
            message,
        }
    }
    /// As [`crate::read_uke`] refuses the file (the errors it gave before
    /// these receipts were read as a whole).
    pub fn to_uke_error(&self) -> UkeError {
        match self {
            Self::KouhiOnly { line, .. } => UkeError::UnsupportedRecord {
                line: *line,
                record: "RE".into(),
                what: "公費単独のレセプト",
            },
            Self::NoVisitDates { line } => UkeError::MissingRecord {
                record: "JD",
                claim_line: Some(*line),
            },
            Self::UnsupportedBenefit { line, benefit } => UkeError::MalformedRecord {
                line: *line,
                record: "RE".into(),
                message: format!("給付割合「{benefit}」は90, 80, 70, 0のいずれかです"),
            },
        }
    }
}

/// Where a record sits in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Before IR (a UK), `n`-th.
    Head(usize),
    Ir,
    /// Between IR and the first RE, `n`-th.
    Preamble(usize),
    /// In receipt `receipt` (0-based): its RE (`record: None`) or
    /// `records()[i]` (`record: Some(i)`).
    Receipt {
        receipt: usize,
        record: Option<usize>,
    },
    Go,
}

/// A RECEIPTC.UKE held whole (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UkeFile {
    head: Vec<Record>,
    ir: Record,
    institution: UkeInstitution,
    preamble: Vec<Record>,
    receipts: Vec<Receipt>,
    go: Record,
    eof: bool,
}

fn missing(record: &'static str, re: &Record) -> UkeError {
    UkeError::MissingRecord {
        record,
        claim_line: Some(re.line),
    }
}

fn once(l: &Record, seen: bool) -> Result<(), UkeError> {
    if seen {
        return Err(l.bad("同じレセプトに2つ目のレコードがあります"));
    }
    Ok(())
}

fn classify(re: &Record, kind: &str) -> Result<ReceiptClass, UkeError> {
    let b = kind.as_bytes();
    let (Some(&scheme), Some(&count)) = (b.get(1), b.get(2)) else {
        return Err(re.bad(format!("レセプト種別「{kind}」が短すぎます")));
    };
    if !(b'1'..=b'5').contains(&count) {
        return Err(re.bad(format!(
            "レセプト種別「{kind}」の3桁目（単独・併用の別）は1から5です"
        )));
    }
    match scheme {
        b'2' => Ok(ReceiptClass::KouhiOnly),
        b'1' | b'3' | b'4' if count == b'1' => Ok(ReceiptClass::Insurance),
        b'1' | b'3' | b'4' => Ok(ReceiptClass::InsuranceWithKouhi),
        _ => Err(re.bad(format!(
            "レセプト種別「{kind}」の2桁目（保険種別）は1（医保）、2（公費）、3（後期）、4（退職）のいずれかです"
        ))),
    }
}

fn read_ho(l: &Record) -> Result<Insurance, UkeError> {
    use layout::ho;
    let lay = &layout::HO;
    l.check_len(lay)?;
    let insurer_number = l.get(ho::INSURER).trim_start_matches(' ').to_owned();
    if insurer_number.is_empty() {
        return Err(l.bad("保険者番号がありません"));
    }
    Ok(Insurance {
        insurer_number,
        symbol: Some(fold_alnum(l.get(ho::SYMBOL))).filter(|s| !s.is_empty()),
        number: fold_alnum(l.get(ho::NUMBER)),
        days: l.digits(lay, ho::DAYS)?,
        points: l.digits(lay, ho::POINTS)?,
        paid_yen: l.digits_or_none(lay, ho::PAID)?,
    })
}

fn read_ko(l: &Record) -> Result<Kouhi, UkeError> {
    use layout::ko;
    let lay = &layout::KO;
    l.check_len(lay)?;
    let burdener = l.get(ko::BURDENER);
    if !is_digits(burdener, 8) {
        return Err(l.bad(format!("負担者番号「{burdener}」は8桁の数字です")));
    }
    let recipient = l.get(ko::RECIPIENT);
    if !(recipient.len() <= 7 && recipient.bytes().all(|b| b.is_ascii_digit())) {
        return Err(l.bad(format!("受給者番号「{recipient}」は7桁までの数字です")));
    }
    Ok(Kouhi {
        burdener_number: burdener.to_owned(),
        recipient_number: Some(recipient).filter(|s| !s.is_empty()).map(str::to_owned),
        days: l.digits(lay, ko::DAYS)?,
        points: l.digits(lay, ko::POINTS)?,
        patient_burden_yen: l.digits_or_none(lay, ko::PAID)?,
    })
}

/// The JD day marks of the 医療保険 負担者: the dates and how many count in
/// 診療実日数 (mark 1; mark 2 is a visit that does not count).
fn read_jd(l: &Record, month: NaiveDate) -> Result<(Vec<NaiveDate>, u64), UkeError> {
    use layout::jd;
    let lay = &layout::JD;
    l.check_len(lay)?;
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
        let date = month
            .with_day(day)
            .ok_or_else(|| l.bad(format!("{}: 診療年月にない日です", lay.name(i))))?;
        dates.push(date);
        if mark == "1" {
            counted += 1;
        }
    }
    Ok((dates, counted))
}

/// The days an SI or IY record counts anything on.
fn line_item_days(l: &Record, month: NaiveDate, out: &mut Vec<NaiveDate>) -> Result<(), UkeError> {
    use layout::line_item;
    for day in 1..=31usize {
        let i = line_item::FIRST_DAY + day - 1;
        let v = l.get(i);
        if v.is_empty() {
            continue;
        }
        let n = l.number(line_item::day_name(day), i)?;
        if n == 0 {
            continue;
        }
        let date = u32::try_from(day)
            .ok()
            .and_then(|d| month.with_day(d))
            .ok_or_else(|| {
                l.bad(format!(
                    "{}: 診療年月にない日です",
                    line_item::day_name(day)
                ))
            })?;
        out.push(date);
    }
    Ok(())
}

/// Reads the facts of one receipt and checks what onshi reads.
fn read_receipt(
    re: &Record,
    records: &[Record],
) -> Result<(ReceiptFacts, Option<usize>), UkeError> {
    use layout::re as f;
    let lay = &layout::RE;
    re.check_len(lay)?;
    let number = re.digits(lay, f::NUMBER)?;
    let kind = re.get(f::KIND);
    if !(is_digits(kind, 4) && kind.starts_with('1')) {
        return Err(re.bad(format!(
            "レセプト種別「{kind}」は医科（1で始まる4桁）ではありません"
        )));
    }
    let class = classify(re, kind)?;
    let month = re.month(lay, f::MONTH)?;
    let sex = match re.get(f::SEX) {
        "1" => Sex::Male,
        "2" => Sex::Female,
        other => return Err(re.bad(format!("男女区分「{other}」は1か2です"))),
    };
    let birth_date = re.date(lay, f::BIRTH)?;
    let tokki = re.get(f::TOKKI).to_owned();
    let benefit = re.digits_or_none(lay, f::BENEFIT)?;
    let burden_percent =
        match benefit {
            None => Some(inferred_burden(kind, &tokki).ok_or_else(|| {
                re.bad("給付割合がなく、レセプト種別からも負担割合が決まりません")
            })?),
            Some(b) => match 100u64.checked_sub(b).and_then(|x| u16::try_from(x).ok()) {
                Some(x @ (10 | 20 | 30 | 100)) => Some(x),
                Some(_) => None,
                None => {
                    return Err(re.bad(format!("給付割合「{b}」は100以下の百分率です")));
                }
            },
        };
    let chart = Some(re.get(f::CHART))
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let kana = Some(re.get(f::KANA))
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let patient = ClaimPatient {
        name: re.get(f::NAME).to_owned(),
        kana,
        sex,
        birth_date,
    };

    let mut insurance: Option<(usize, Insurance)> = None;
    let mut kouhi = Vec::new();
    let mut branch: Option<Option<String>> = None;
    let mut jd: Option<(usize, Vec<NaiveDate>, u64)> = None;
    let mut window_kind: Option<String> = None;
    let mut diagnoses = Vec::new();
    let mut tekiyo = Vec::new();
    // 診療識別 of the CO run being read (an empty one continues it).
    let mut co_treatment: Option<String> = None;
    for (i, l) in records.iter().enumerate() {
        let id = l.id();
        if id != "CO" {
            co_treatment = None;
        }
        match id {
            "HO" => {
                once(l, insurance.is_some())?;
                insurance = Some((i, read_ho(l)?));
            }
            "KO" => {
                if kouhi.len() >= 4 {
                    return Err(l.bad("公費は4つまでです"));
                }
                kouhi.push(read_ko(l)?);
            }
            "SN" => {
                use layout::sn;
                // The 公費 負担者' SN (負担者種別 2–5) is kept as it is.
                if l.get(sn::BURDENER) != codes::BURDENER_INSURANCE {
                    continue;
                }
                l.check_len(&layout::SN)?;
                once(l, branch.is_some())?;
                let check = l.get(sn::CHECK);
                if !is_digits(check, 2) {
                    return Err(l.bad(format!("確認区分「{check}」は2桁の数字です")));
                }
                let b = l.get(sn::BRANCH);
                if !b.is_empty() && !is_digits(b, 2) {
                    return Err(l.bad(format!("枝番「{b}」は2桁の数字です")));
                }
                branch = Some(Some(b).filter(|s| !s.is_empty()).map(str::to_owned));
            }
            "JD" => {
                // A 公費 負担者's JD is kept as it is.
                if l.get(layout::jd::BURDENER) != codes::BURDENER_INSURANCE {
                    continue;
                }
                once(l, jd.is_some())?;
                let (dates, counted) = read_jd(l, month)?;
                jd = Some((l.line, dates, counted));
            }
            "MF" => {
                once(l, window_kind.is_some())?;
                l.check_len(&layout::MF)?;
                let k = l.get(layout::mf::KIND);
                if !matches!(k, "00" | "01" | "02") {
                    return Err(l.bad(format!("窓口負担額区分「{k}」は00, 01, 02のいずれかです")));
                }
                window_kind = Some(k.to_owned());
            }
            "SY" => {
                use layout::sy;
                let lay = &layout::SY;
                l.check_len(lay)?;
                let code = l.get(sy::CODE);
                if !is_digits(code, 7) {
                    return Err(l.bad(format!("傷病名コード「{code}」は7桁の数字です")));
                }
                l.date(lay, sy::START)?;
                if !matches!(l.get(sy::OUTCOME), "1" | "2" | "3" | "4") {
                    return Err(l.bad(format!("転帰区分「{}」は1から4です", l.get(sy::OUTCOME))));
                }
                let name = l.get(sy::NAME);
                diagnoses.push(if code == codes::UNCODED_DIAGNOSIS || !name.is_empty() {
                    name.to_owned()
                } else {
                    code.to_owned()
                });
            }
            "CO" => {
                use layout::co;
                l.check_len(&layout::CO)?;
                let code = l.get(co::CODE);
                if !is_digits(code, 9) {
                    return Err(l.bad(format!("コメントコード「{code}」は9桁の数字です")));
                }
                let treatment = l.get(co::TREATMENT);
                if !treatment.is_empty() {
                    co_treatment = Some(treatment.to_owned());
                }
                if code == codes::FREE_COMMENT
                    && co_treatment.as_deref() == Some(codes::WHOLE_CLAIM)
                {
                    tekiyo.push(l.get(co::TEXT).to_owned());
                }
            }
            "IR" | "RE" | "GO" => return Err(l.bad("このレコードはここには置けません")),
            other if layout::is_record_id(other) => {}
            other => {
                return Err(UkeError::UnknownRecord {
                    line: l.line,
                    record: other.to_owned(),
                });
            }
        }
    }

    match class {
        ReceiptClass::KouhiOnly => {
            if let Some((i, _)) = &insurance {
                let at = records.get(*i).unwrap_or(re);
                return Err(at.bad(format!(
                    "公費単独のレセプト（レセプト種別{kind}）にHOレコードがあります"
                )));
            }
            if kouhi.is_empty() {
                return Err(missing("KO", re));
            }
        }
        ReceiptClass::Insurance | ReceiptClass::InsuranceWithKouhi => {
            if insurance.is_none() {
                return Err(missing("HO", re));
            }
            if class == ReceiptClass::InsuranceWithKouhi && kouhi.is_empty() {
                return Err(missing("KO", re));
            }
            if class == ReceiptClass::Insurance && !kouhi.is_empty() {
                return Err(re.bad(format!(
                    "レセプト種別{kind}は医保単独ですが、KOレコードがあります"
                )));
            }
        }
    }

    let (visit_dates, visits_from) = match jd {
        Some((_, dates, counted)) if !dates.is_empty() => {
            if let Some((hi, ho)) = &insurance
                && ho.days != counted
            {
                return Err(UkeError::CountMismatch {
                    line: records.get(*hi).map_or(re.line, |r| r.line),
                    what: "HOの診療実日数とJDの受診日",
                    recorded: ho.days,
                    counted,
                });
            }
            (dates, VisitSource::Jd)
        }
        _ => {
            let mut dates = Vec::new();
            for l in records
                .iter()
                .filter(|l| layout::line_item::IDS.contains(&l.id()))
            {
                line_item_days(l, month, &mut dates)?;
            }
            dates.sort_unstable();
            dates.dedup();
            let from = if dates.is_empty() {
                VisitSource::None
            } else {
                VisitSource::LineItems
            };
            (dates, from)
        }
    };

    let ho_index = insurance.as_ref().map(|(i, _)| *i);
    Ok((
        ReceiptFacts {
            number,
            kind: kind.to_owned(),
            class,
            month,
            patient,
            benefit,
            burden_percent,
            tokki,
            chart,
            insurance: insurance.map(|(_, h)| h),
            branch: branch.flatten(),
            kouhi,
            window_kind,
            visit_dates,
            visits_from,
            diagnoses,
            tekiyo,
        },
        ho_index,
    ))
}

fn check_go(l: &Record, receipts: &[Receipt]) -> Result<(), UkeError> {
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
    let n = receipts.len() as u64;
    // 総件数: the receipts, or (as the real sample counts them) one 件 for
    // each 医療保険 and each 公費 負担者 of every receipt [I].
    let per_burdener = receipts.iter().fold(0u64, |a, r| {
        let f = &r.facts;
        a.saturating_add(u64::from(f.insurance.is_some()))
            .saturating_add(f.kouhi.len() as u64)
    });
    if count != n && count != per_burdener {
        return Err(UkeError::CountMismatch {
            line: l.line,
            what: "GOの総件数",
            recorded: count,
            counted: n,
        });
    }
    // 総合計点数: the points of each receipt's 主保険 (HO, else the first KO).
    let sum = receipts.iter().fold(0u64, |a, r| {
        let f = &r.facts;
        let main = f
            .insurance
            .as_ref()
            .map(|h| h.points)
            .or_else(|| f.kouhi.first().map(|k| k.points))
            .unwrap_or(0);
        a.saturating_add(main)
    });
    if points != sum {
        return Err(UkeError::CountMismatch {
            line: l.line,
            what: "GOの総合計点数",
            recorded: points,
            counted: sum,
        });
    }
    Ok(())
}

/// The claim_id a receipt reads as: its カルテ番号等, else its レセプト番号;
/// when two 医保 receipts of one 診療年月 share a カルテ番号等 (a patient whose
/// insurance changed within the month), each gets `-` and its レセプト番号
/// after it \[D\], so the payer run does not take the second for a duplicate.
fn claim_ids(receipts: &[Receipt]) -> Vec<String> {
    let base = |r: &Receipt| {
        r.facts
            .chart
            .clone()
            .unwrap_or_else(|| r.facts.number.to_string())
    };
    let mut seen: HashMap<(NaiveDate, String), usize> = HashMap::new();
    for r in receipts
        .iter()
        .filter(|r| r.facts.class != ReceiptClass::KouhiOnly)
    {
        *seen.entry((r.facts.month, base(r))).or_default() += 1;
    }
    receipts
        .iter()
        .map(|r| {
            let id = base(r);
            let shared = r.facts.class != ReceiptClass::KouhiOnly
                && seen.get(&(r.facts.month, id.clone())).copied().unwrap_or(0) > 1;
            if shared {
                format!("{id}-{}", r.facts.number)
            } else {
                id
            }
        })
        .collect()
}

impl UkeFile {
    /// Reads a RECEIPTC.UKE whole: every receipt kind (医保単独, 併用,
    /// 公費単独), with or without JD, MF, a leading UK or the EOF byte.
    /// Refuses, with a typed error, what is not a 医科 claim file: bytes that
    /// are not CP932, a record not ended by CR LF, a malformed record id, no
    /// IR or GO, a record after GO, a field onshi reads that does not hold
    /// what the 記録条件仕様 puts there, HO/KO that disagree with the
    /// レセプト種別, totals that disagree (GO, HO against JD).
    pub fn parse(bytes: &[u8]) -> Result<UkeFile, UkeError> {
        let (records, eof) = split_records(bytes)?;
        let mut it = records.into_iter().peekable();
        let mut head = Vec::new();
        // A leading UK (受付情報) record, seen in 歯科 files and mentioned for
        // online submissions by one parser [U], is kept.
        if let Some(uk) = it.next_if(|l| l.id() == "UK") {
            head.push(uk);
        }
        let ir = match it.next() {
            Some(l) if l.id() == "IR" => l,
            _ => {
                return Err(UkeError::MissingRecord {
                    record: "IR",
                    claim_line: None,
                });
            }
        };
        let institution = institution(&ir)?;
        let mut preamble = Vec::new();
        let mut open: Vec<(Record, Vec<Record>)> = Vec::new();
        let mut go: Option<Record> = None;
        for l in it {
            if let Some(g) = &go {
                return Err(l.bad(format!(
                    "{}行目のGO（最後のレコード）の後にレコードがあります",
                    g.line
                )));
            }
            match l.id() {
                "RE" => open.push((l, Vec::new())),
                "GO" => go = Some(l),
                "IR" => return Err(l.bad("IRはファイルの先頭に1つだけです")),
                id => match open.last_mut() {
                    Some((_, recs)) => recs.push(l),
                    None if layout::RECEIPT_RECORDS.contains(&id) => {
                        return Err(l.bad("REより前に置かれています"));
                    }
                    None if layout::is_record_id(id) => preamble.push(l),
                    None => {
                        return Err(UkeError::UnknownRecord {
                            line: l.line,
                            record: id.to_owned(),
                        });
                    }
                },
            }
        }
        let go = go.ok_or(UkeError::MissingRecord {
            record: "GO",
            claim_line: None,
        })?;
        let mut receipts = Vec::with_capacity(open.len());
        for (re, records) in open {
            let (facts, ho) = read_receipt(&re, &records)?;
            receipts.push(Receipt {
                re,
                records,
                facts,
                ho,
            });
        }
        check_go(&go, &receipts)?;
        Ok(UkeFile {
            head,
            ir,
            institution,
            preamble,
            receipts,
            go,
            eof,
        })
    }

    /// The file's bytes: every record as read (or edited) with CR LF, and
    /// the EOF byte if the file had one. Unedited, exactly the bytes read.
    pub fn to_bytes(&self) -> Vec<u8> {
        let size = self
            .records()
            .map(|r| r.bytes.len() + 2)
            .sum::<usize>()
            .saturating_add(1);
        let mut out = Vec::with_capacity(size);
        for r in self.records() {
            out.extend_from_slice(&r.bytes);
            out.extend_from_slice(b"\r\n");
        }
        if self.eof {
            out.push(0x1A);
        }
        out
    }

    /// The institution (IR).
    pub fn institution(&self) -> &UkeInstitution {
        &self.institution
    }
    pub fn ir(&self) -> &Record {
        &self.ir
    }
    pub fn go(&self) -> &Record {
        &self.go
    }
    /// Records before IR (a UK 受付情報 record).
    pub fn head(&self) -> &[Record] {
        &self.head
    }
    /// Records between IR and the first RE.
    pub fn preamble(&self) -> &[Record] {
        &self.preamble
    }
    pub fn receipts(&self) -> &[Receipt] {
        &self.receipts
    }
    /// Whether the file ended with the EOF byte 0x1A.
    pub fn has_eof(&self) -> bool {
        self.eof
    }
    /// Every record in file order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.head
            .iter()
            .chain(std::iter::once(&self.ir))
            .chain(self.preamble.iter())
            .chain(self.receipts.iter().flat_map(Receipt::all_records))
            .chain(std::iter::once(&self.go))
    }

    /// Every record in file order with its place: which receipt it belongs
    /// to and where in it ([`Receipt::follows`] gives the record before).
    pub fn places(&self) -> impl Iterator<Item = (Place, &Record)> {
        let head = self
            .head
            .iter()
            .enumerate()
            .map(|(i, r)| (Place::Head(i), r));
        let pre = self
            .preamble
            .iter()
            .enumerate()
            .map(|(i, r)| (Place::Preamble(i), r));
        let receipts = self.receipts.iter().enumerate().flat_map(|(n, rc)| {
            let re = std::iter::once((
                Place::Receipt {
                    receipt: n,
                    record: None,
                },
                &rc.re,
            ));
            re.chain(rc.records.iter().enumerate().map(move |(i, r)| {
                (
                    Place::Receipt {
                        receipt: n,
                        record: Some(i),
                    },
                    r,
                )
            }))
        });
        head.chain(std::iter::once((Place::Ir, &self.ir)))
            .chain(pre)
            .chain(receipts)
            .chain(std::iter::once((Place::Go, &self.go)))
    }

    /// Each receipt as a claim, in file order, or why it is not one
    /// ([`ReceiptProblem`]). Intake validation ([`Claim::validate`]) is not
    /// run here; [`UkeFile::claim_inputs`] runs it.
    pub fn claims(&self) -> Vec<Result<Claim, ReceiptProblem>> {
        let ids = claim_ids(&self.receipts);
        self.receipts
            .iter()
            .zip(ids)
            .map(|(r, id)| self.claim_of(r, id))
            .collect()
    }

    /// The receipts as input to the payer run: label `uke:<position>` (1-based,
    /// 6 digits) and the validated claim, or the problem (a 公費単独 receipt
    /// is `kouhi_only_not_insurer_claim`, one without visit dates
    /// `no_visit_dates`, an intake failure its [`Claim::validate`] code).
    pub fn claim_inputs(&self) -> Vec<ClaimInput> {
        self.claims()
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let parsed = c
                    .map_err(|p| p.to_claim_problem())
                    .and_then(|c| c.validate().map(|_| c));
                (format!("uke:{:06}", i + 1), parsed)
            })
            .collect()
    }

    fn claim_of(&self, r: &Receipt, claim_id: String) -> Result<Claim, ReceiptProblem> {
        let f = &r.facts;
        let line = r.re.line;
        let ho = match (&f.insurance, f.class) {
            (Some(ho), ReceiptClass::Insurance | ReceiptClass::InsuranceWithKouhi) => ho,
            _ => {
                return Err(ReceiptProblem::KouhiOnly {
                    line,
                    kind: f.kind.clone(),
                });
            }
        };
        let burden = f.burden_percent.ok_or(ReceiptProblem::UnsupportedBenefit {
            line,
            benefit: f.benefit.unwrap_or_default(),
        })?;
        if f.visit_dates.is_empty() {
            return Err(ReceiptProblem::NoVisitDates { line });
        }
        let basis = if is_unknown_insurer(&ho.insurer_number) {
            InsurerBasis::Unknown
        } else {
            InsurerBasis::Confirmed
        };
        // 負担金額 is recorded only where needed: when it is not, the
        // patient paid the window amount of the burden ratio [D].
        let paid = ho.paid_yen.unwrap_or_else(|| {
            BurdenRatio::from_percent(burden)
                .map(|b| onshi_core::burden::window_amount(ho.points, b))
                .unwrap_or(0)
        });
        Ok(Claim {
            claim_id,
            institution_code: self.institution.institution_code.clone(),
            claim_month: f.month.format("%Y-%m").to_string(),
            payer: self.institution.payer,
            patient: f.patient.clone(),
            insurer: ClaimInsurer {
                insurer_number: ho.insurer_number.clone(),
                symbol: ho.symbol.clone(),
                number: ho.number.clone(),
                branch: f.branch.clone(),
                basis,
            },
            burden_ratio_percent: burden,
            visit_dates: f.visit_dates.clone(),
            points: ho.points,
            patient_paid_yen: paid,
            tekiyo: f.tekiyo.clone(),
            diagnoses: f.diagnoses.clone(),
        })
    }

    fn receipt_mut(&mut self, index: usize) -> Result<&mut Receipt, UkeError> {
        let count = self.receipts.len();
        self.receipts
            .get_mut(index)
            .ok_or(UkeError::NoSuchReceipt { index, count })
    }

    /// Rewrites fields of receipt `index`'s HO with `edit`, then reads the
    /// receipt again; if it no longer reads, nothing is changed and the error
    /// is returned.
    fn edit_ho(
        &mut self,
        index: usize,
        edit: impl FnOnce(&mut Record) -> Result<(), UkeError>,
    ) -> Result<(), UkeError> {
        let r = self.receipt_mut(index)?;
        let Some(hi) = r.ho else {
            return Err(missing("HO", &r.re));
        };
        let before = r.clone();
        let result = match r.records.get_mut(hi) {
            Some(ho) => edit(ho),
            None => Err(missing("HO", &before.re)),
        }
        .and_then(|()| read_receipt(&r.re, &r.records));
        match result {
            Ok((facts, ho)) => {
                r.facts = facts;
                r.ho = ho;
                Ok(())
            }
            Err(e) => {
                *r = before;
                Err(e)
            }
        }
    }

    /// Sets the insurer of receipt `index` (0-based): HO 保険者番号 (a valid
    /// number, right-aligned in 8; or the 不詳 77777777 / 77777779), 記号
    /// and 番号 (全角, as onshi writes them). This is what a 振替 or the
    /// identification of a 不詳 claim changes; every other byte of the file
    /// stays as it was. The レセプト種別, 給付割合, SN 枝番 and the 摘要 are
    /// not touched.
    pub fn set_insurer(
        &mut self,
        index: usize,
        insurer_number: &str,
        symbol: Option<&str>,
        number: &str,
    ) -> Result<(), UkeError> {
        let receipt = index + 1;
        let label = {
            let count = self.receipts.len();
            let f = &self
                .receipts
                .get(index)
                .ok_or(UkeError::NoSuchReceipt { index, count })?
                .facts;
            f.chart.clone().unwrap_or_else(|| f.number.to_string())
        };
        let invalid = |field, message: String| UkeError::InvalidEdit {
            receipt,
            field,
            message,
        };
        let n = insurer_number.trim();
        let unknown = is_unknown_insurer(n);
        if !unknown {
            InsurerNumber::parse(n).map_err(|e| invalid("保険者番号", e.kind.to_string()))?;
        }
        let symbol = symbol.unwrap_or_default();
        if unknown && !symbol.is_empty() {
            return Err(invalid(
                "被保険者証等の記号",
                "不詳請求では被保険者等記号を記録しません".into(),
            ));
        }
        if number.trim().is_empty() {
            return Err(invalid("被保険者証等の番号", "番号がありません".into()));
        }
        let at = |field| FieldAt {
            record: "HO",
            field,
            claim: Some((receipt, label.clone())),
        };
        use layout::ho;
        let name = |i| layout::HO.name(i);
        let insurer = encode_field(&format!("{n:>8}"), Some(8), || at(name(ho::INSURER)))?;
        let symbol = encode_field(&to_zenkaku(symbol), Some(38), || at(name(ho::SYMBOL)))?;
        let number = encode_field(&to_zenkaku(number), Some(38), || at(name(ho::NUMBER)))?;
        self.edit_ho(index, |rec| {
            rec.set_raw_field(ho::INSURER, &insurer)?;
            rec.set_raw_field(ho::SYMBOL, &symbol)?;
            rec.set_raw_field(ho::NUMBER, &number)
        })
    }

    /// Sets HO 負担金額 医療保険 of receipt `index` (0-based).
    pub fn set_patient_paid(&mut self, index: usize, yen: u64) -> Result<(), UkeError> {
        if yen > 999_999_999 {
            return Err(UkeError::InvalidEdit {
                receipt: index + 1,
                field: "負担金額 医療保険",
                message: "負担金額は9桁までです".into(),
            });
        }
        let value = yen.to_string();
        self.edit_ho(index, |rec| {
            rec.set_raw_field(layout::ho::PAID, value.as_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str) -> Record {
        Record {
            line: 1,
            bytes: text.as_bytes().to_vec(),
            fields: text.split(',').map(str::to_owned).collect(),
        }
    }

    #[test]
    fn setting_a_field_keeps_the_others_and_pads_a_short_record() {
        let mut r = rec("HO,01130012,1,2,1,100");
        r.set_raw_field(1, b"39280003").unwrap();
        assert_eq!(r.bytes(), b"HO,39280003,1,2,1,100");
        r.set_raw_field(11, b"300").unwrap();
        assert_eq!(r.bytes(), b"HO,39280003,1,2,1,100,,,,,,300");
        assert_eq!(r.field(11), Some("300"));
        assert_eq!(r.raw_field(3), Some(&b"2"[..]));
    }

    #[test]
    fn line_item_of_walks_back_over_comments_only() {
        let re = rec("RE");
        let records: Vec<Record> = ["SY", "SI", "CO", "CO", "IY", "CO", "SY", "CO"]
            .iter()
            .map(|s| rec(s))
            .collect();
        let r = Receipt {
            re,
            records,
            facts: ReceiptFacts {
                number: 1,
                kind: "1112".into(),
                class: ReceiptClass::Insurance,
                month: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                patient: ClaimPatient {
                    name: String::new(),
                    kana: None,
                    sex: Sex::Male,
                    birth_date: NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
                },
                benefit: None,
                burden_percent: Some(30),
                tokki: String::new(),
                chart: None,
                insurance: None,
                branch: None,
                kouhi: vec![],
                window_kind: None,
                visit_dates: vec![],
                visits_from: VisitSource::None,
                diagnoses: vec![],
                tekiyo: vec![],
            },
            ho: None,
        };
        let items: Vec<Option<usize>> = (0..8).map(|i| r.line_item_of(i)).collect();
        assert_eq!(
            items,
            [None, None, Some(1), Some(1), None, Some(4), None, None]
        );
        assert_eq!(r.follows(0).map(Record::id), Some("RE"));
        assert_eq!(r.follows(3).map(Record::id), Some("CO"));
        assert!(r.follows(8).is_none());
    }
}
