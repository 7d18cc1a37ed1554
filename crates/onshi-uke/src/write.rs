//! [`write_uke`]: onshi's claims as a RECEIPTC.UKE byte stream.

use chrono::{Datelike, NaiveDate};
use onshi_core::burden::{AgeBand, age_band};
use onshi_core::claim::UNKNOWN_NUMBER_KOUKI;
use onshi_core::{InstitutionCode, InsuranceKind, InsurerNumber, Payer, Sex};
use onshi_payer::claim::Claim;

use crate::UkeInstitution;
use crate::error::{FieldAt, UkeError};
use crate::layout::{self, Layout, codes};
use crate::read::inferred_burden;
use crate::sjis::encode_field;
use crate::width::to_zenkaku;

/// Most claims one file can number (レセプト番号 is 6 digits \[I\]).
pub const MAX_CLAIMS: usize = 999_999;
/// HO 合計点数 is at most 8 digits, 負担金額 9 digits [I: field widths of the
/// 歯科 記録条件仕様, same record].
const MAX_POINTS: u64 = 99_999_999;
const MAX_YEN: u64 = 999_999_999;

/// Byte limits the writer enforces [I: 記録条件仕様 widths as quoted by a 歯科
/// implementation and the 訪問看護 text; DOMAIN §6.2 for 記号・番号]. Other
/// fields (傷病名称, コメント 文字データ) are not limited here: their 医科
/// widths are \[U\].
mod max {
    pub const INSTITUTION_NAME: usize = 40;
    pub const PHONE: usize = 15;
    pub const NAME: usize = 40;
    pub const KANA: usize = 80;
    pub const SYMBOL: usize = 38;
    pub const NUMBER: usize = 38;
    pub const CHART: usize = 20;
}

/// One field to write: its value and an optional byte limit.
struct Field<'a> {
    value: std::borrow::Cow<'a, str>,
    max: Option<usize>,
}

fn f<'a>(value: impl Into<std::borrow::Cow<'a, str>>) -> Field<'a> {
    Field {
        value: value.into(),
        max: None,
    }
}

fn limited<'a>(value: impl Into<std::borrow::Cow<'a, str>>, max: usize) -> Field<'a> {
    Field {
        value: value.into(),
        max: Some(max),
    }
}

struct Out {
    bytes: Vec<u8>,
}

impl Out {
    /// Writes one record: the id, then `fields` (which must be the layout's
    /// fields 1..), CR LF.
    fn record(
        &mut self,
        layout: &Layout,
        fields: &[Field<'_>],
        claim: Option<(usize, &str)>,
    ) -> Result<(), UkeError> {
        debug_assert_eq!(fields.len() + 1, layout.field_count(), "{}", layout.id);
        self.bytes.extend_from_slice(layout.id.as_bytes());
        for (i, field) in fields.iter().enumerate() {
            self.bytes.push(b',');
            let at = || FieldAt {
                record: layout.id,
                field: layout.name(i + 1),
                claim: claim.map(|(n, id)| (n, id.to_owned())),
            };
            let encoded = encode_field(&field.value, field.max, at)?;
            self.bytes.extend_from_slice(&encoded);
        }
        self.bytes.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// 審査支払機関: 1 社会保険診療報酬支払基金, 2 国民健康保険団体連合会.
pub fn payer_code(p: Payer) -> &'static str {
    match p {
        Payer::ShiharaiKikin => "1",
        Payer::Kokuhoren => "2",
    }
}

fn ym(d: NaiveDate) -> String {
    format!("{:04}{:02}", d.year(), d.month())
}

fn ymd(d: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
}

fn sex_code(s: Sex) -> &'static str {
    match s {
        Sex::Male => "1",
        Sex::Female => "2",
    }
}

/// Whether the claim is a 後期高齢者医療 one: a 法別 39 insurer, or a 不詳
/// claim whose 番号 is the 8-digit 後期 form (DOMAIN §0).
pub fn is_kouki(c: &Claim) -> bool {
    if c.is_unknown() {
        return c.insurer.number == UNKNOWN_NUMBER_KOUKI;
    }
    InsurerNumber::parse(&c.insurer.insurer_number).is_ok_and(|n| n.is_kouki())
}

/// A dependant (家族): the claim has a 枝番 other than 00 [I: insurers number
/// the 被保険者 00 and the 被扶養者 01 onwards; onshi's Claim carries no
/// 本人/家族 flag].
pub fn is_dependant(c: &Claim) -> bool {
    c.insurer.branch.as_deref().is_some_and(|b| b != "00")
}

/// レセプト種別 (医科, 外来, no 公費) [I: code table as in myclinic-ts
/// `codes.ts`]: 1 医科 · 1 医保 or 3 後期 · 1 単独 · the 4th digit 2 本人,
/// 4 未就学者, 6 家族, 8 高齢受給者一般・低所得者, 0 高齢受給者7割.
///
/// - 後期: 1310 when the burden is 3割 (現役並み), else 1318.
/// - otherwise by the age band on the first visit ([`age_band`], DOMAIN §5):
///   未就学 1114; 70–74 1110 (3割) or 1118; else 1112 本人 or 1116 家族
///   ([`is_dependant`]).
pub fn receipt_kind(c: &Claim) -> &'static str {
    let first_visit = c.visit_dates.iter().min().copied();
    let three = c.burden_ratio_percent == 30;
    if is_kouki(c) {
        return if three { "1310" } else { "1318" };
    }
    let band = first_visit.map_or(AgeBand::General, |d| age_band(c.patient.birth_date, d));
    match band {
        AgeBand::Preschool => "1114",
        AgeBand::Elderly if three => "1110",
        AgeBand::Elderly => "1118",
        AgeBand::General if is_dependant(c) => "1116",
        AgeBand::General => "1112",
    }
}

/// Whether the claim is a 国民健康保険 one (市町村国保, 国保組合, 退職者医療):
/// the receipts the 記録条件仕様 records 給付割合 for.
pub fn is_kokuho(c: &Claim) -> bool {
    InsurerNumber::parse(&c.insurer.insurer_number).is_ok_and(|n| {
        matches!(
            n.kind(),
            InsuranceKind::Kokuho | InsuranceKind::KokuhoKumiai | InsuranceKind::Taishoku
        )
    })
}

/// RE 給付割合 as onshi writes it: 100 − the burden for 国保 \[C\], and
/// empty otherwise, as the 記録条件仕様 asks (原則記録を省略する) \[C\] —
/// unless the burden is not the one a reader infers from the レセプト種別
/// (10割, or a declared ratio other than the age rule's), which only
/// 給付割合 can carry \[D\].
pub fn benefit_field(c: &Claim) -> String {
    let burden = c.burden_ratio_percent.min(100);
    if is_kokuho(c) || inferred_burden(receipt_kind(c), "") != Some(burden) {
        (100 - burden).to_string()
    } else {
        String::new()
    }
}

/// FNV-1a, 64 bits: a hash that is the same on every platform and release.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// RE カルテ番号等 for a claim: all digits, because UKE readers take the
/// last all-digit field of RE as the patient number \[I: OpenReceView, see the 2026-12-02 review\].
/// The claim_id itself when it is 1–20 ASCII digits; otherwise 16 digits from
/// a hash (FNV-1a) of the claim_id without a leading `YYYYMM-` of its
/// 診療年月 (onshi's claim ids are `YYYYMM-key-…`, so one patient keeps one
/// number from month to month) \[D\]. A file carries this number, not the
/// claim_id: reading gives it back as the claim_id.
pub fn chart_number(c: &Claim) -> String {
    let id = c.claim_id.as_str();
    if (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) {
        return id.to_owned();
    }
    let prefix = format!("{}-", c.claim_month.replace('-', ""));
    let key = id
        .strip_prefix(prefix.as_str())
        .filter(|k| !k.is_empty())
        .unwrap_or(id);
    format!("{:016}", fnv1a64(key.as_bytes()) % 10_000_000_000_000_000)
}

/// A 漢字 field: ASCII and 半角カナ in their 全角 forms, so that 英数 and 漢字
/// characters are never mixed (記録条件仕様) \[C\].
fn kanji(s: &str) -> String {
    to_zenkaku(s)
}

/// An 英数又は漢字 field (氏名): as is when every character is a 1-byte one
/// (ASCII or 半角カナ: 英数 mode \[I\]), else all 全角 (漢字 mode; the space
/// between 姓 and 名 becomes U+3000) \[C\].
fn alnum_or_kanji(s: &str) -> String {
    if s.chars().all(crate::width::is_one_byte) {
        s.to_owned()
    } else {
        to_zenkaku(s)
    }
}

fn invalid(
    index: usize,
    c: &Claim,
    code: &str,
    field: &str,
    message: impl Into<String>,
) -> UkeError {
    UkeError::InvalidClaim {
        index,
        claim_id: c.claim_id.clone(),
        code: code.into(),
        field: field.into(),
        message: message.into(),
    }
}

fn in_year_range(d: NaiveDate) -> bool {
    (1000..=9999).contains(&d.year())
}

/// Checks one claim before it is written: the intake rules of
/// [`Claim::validate`], that it belongs to this file, and that every value has
/// a place in the file.
fn check_claim(
    index: usize,
    c: &Claim,
    inst: &UkeInstitution,
    inst_code: &InstitutionCode,
) -> Result<(), UkeError> {
    c.validate()
        .map_err(|p| invalid(index, c, &p.code, &p.field, p.message))?;
    if c.payer != inst.payer {
        return Err(invalid(
            index,
            c,
            "payer_mismatch",
            "payer",
            "審査支払機関がファイル（IR）と異なります",
        ));
    }
    if c.institution_code.trim() != inst_code.as_str() {
        return Err(invalid(
            index,
            c,
            "institution_mismatch",
            "institution_code",
            "医療機関コードがファイル（IR）と異なります",
        ));
    }
    if c.is_unknown() && c.insurer.symbol.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(invalid(
            index,
            c,
            "invalid_unknown_claim",
            "insurer.symbol",
            "不詳請求では被保険者等記号を記録しません",
        ));
    }
    if let Some(b) = &c.insurer.branch
        && !(b.len() == 2 && b.bytes().all(|x| x.is_ascii_digit()))
    {
        return Err(invalid(
            index,
            c,
            "invalid_branch",
            "insurer.branch",
            "枝番は2桁の数字です",
        ));
    }
    if !in_year_range(c.patient.birth_date) || c.visit_dates.iter().any(|d| !in_year_range(*d)) {
        return Err(invalid(
            index,
            c,
            "date_out_of_range",
            "patient.birth_date",
            "日付は西暦1000年から9999年までです",
        ));
    }
    if c.points > MAX_POINTS {
        return Err(invalid(
            index,
            c,
            "amount_too_large",
            "points",
            "合計点数は8桁までです",
        ));
    }
    if c.patient_paid_yen > MAX_YEN {
        return Err(invalid(
            index,
            c,
            "amount_too_large",
            "patient_paid_yen",
            "一部負担金額は9桁までです",
        ));
    }
    Ok(())
}

fn check_institution(inst: &UkeInstitution) -> Result<InstitutionCode, UkeError> {
    let code = InstitutionCode::parse(&inst.institution_code).map_err(|e| {
        UkeError::InvalidInstitution {
            field: "医療機関コード",
            message: e.kind.to_string(),
        }
    })?;
    if code.as_str().get(2..3) != Some(codes::TABLE_MEDICAL) {
        return Err(UkeError::InvalidInstitution {
            field: "点数表",
            message: "医科（点数表1）の医療機関コードではありません".into(),
        });
    }
    if !in_year_range(inst.billing_month) {
        return Err(UkeError::InvalidInstitution {
            field: "請求年月",
            message: "請求年月は西暦1000年から9999年までです".into(),
        });
    }
    Ok(code)
}

/// Writes RECEIPTC.UKE for one institution, one payer and one 請求年月:
/// IR, then per claim RE · HO · SN · JD · MF · SY… · CO…, then GO; Shift_JIS
/// (CP932), CR LF after every record, EOF (0x1A) at the end.
///
/// Every claim must pass [`Claim::validate`], carry the institution's payer
/// and code, and hold only text CP932 can carry (after the three mappings of
/// [`crate::sjis`]). Nothing is replaced or truncated: the first problem is
/// returned as a [`UkeError`].
pub fn write_uke(institution: &UkeInstitution, claims: &[Claim]) -> Result<Vec<u8>, UkeError> {
    let inst_code = check_institution(institution)?;
    if claims.len() > MAX_CLAIMS {
        return Err(UkeError::InvalidInstitution {
            field: "総件数",
            message: format!("1ファイルのレセプトは{MAX_CLAIMS}件までです"),
        });
    }
    let mut charts: std::collections::HashMap<(&str, String), usize> =
        std::collections::HashMap::new();
    for (i, c) in claims.iter().enumerate() {
        check_claim(i + 1, c, institution, &inst_code)?;
        let chart = chart_number(c);
        if let Some(first) = charts.insert((c.claim_month.as_str(), chart.clone()), i + 1) {
            return Err(invalid(
                i + 1,
                c,
                "chart_number_collision",
                "claim_id",
                format!(
                    "カルテ番号等{chart}が{first}件目のレセプトと同じ診療年月で重なります（読み戻すと区別できません）"
                ),
            ));
        }
    }
    let code = inst_code.as_str();
    let mut out = Out {
        bytes: Vec::with_capacity(512 + claims.len() * 1024),
    };
    out.record(
        &layout::IR,
        &[
            f(payer_code(institution.payer)),
            f(code.get(0..2).unwrap_or_default()),
            f(codes::TABLE_MEDICAL),
            f(code.get(3..10).unwrap_or_default()),
            f(""),
            limited(kanji(&institution.name), max::INSTITUTION_NAME),
            f(ym(institution.billing_month)),
            f(codes::VOLUME_FIRST),
            limited(institution.phone.as_deref().unwrap_or_default(), max::PHONE),
        ],
        None,
    )?;
    let mut total_points: u64 = 0;
    for (i, c) in claims.iter().enumerate() {
        write_claim(&mut out, i + 1, c)?;
        total_points = total_points.saturating_add(c.points);
    }
    out.record(
        &layout::GO,
        &[
            f(claims.len().to_string()),
            f(total_points.to_string()),
            f(codes::VOLUME_LAST),
        ],
        None,
    )?;
    out.bytes.push(0x1A);
    Ok(out.bytes)
}

fn write_claim(out: &mut Out, index: usize, c: &Claim) -> Result<(), UkeError> {
    let ctx = Some((index, c.claim_id.as_str()));
    let mut days: Vec<NaiveDate> = c.visit_dates.clone();
    days.sort_unstable();
    days.dedup();
    let first_visit = days.first().copied().unwrap_or(c.patient.birth_date);
    // The month of the claim: validate() put every visit inside it.
    let month = ym(first_visit);
    let kana: String = c
        .patient
        .kana
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(|&ch| ch != ' ' && ch != '\u{3000}')
        .collect();

    let mut re: Vec<Field<'_>> = vec![
        f(index.to_string()),
        f(receipt_kind(c)),
        f(month),
        limited(alnum_or_kanji(&c.patient.name), max::NAME),
        f(sex_code(c.patient.sex)),
        f(ymd(c.patient.birth_date)),
        f(benefit_field(c)),
    ];
    // 入院年月日 … カルテ番号等 (chart_number) … 患者の状態.
    re.extend((8..layout::re::CHART).map(|_| f("")));
    re.push(limited(chart_number(c), max::CHART));
    re.extend((layout::re::CHART + 1..layout::re::KANA).map(|_| f("")));
    re.push(limited(kana, max::KANA));
    re.push(f(""));
    out.record(&layout::RE, &re, ctx)?;

    let mut ho: Vec<Field<'_>> = vec![
        f(format!("{:>8}", c.insurer.insurer_number)),
        limited(
            kanji(c.insurer.symbol.as_deref().unwrap_or_default()),
            max::SYMBOL,
        ),
        limited(kanji(&c.insurer.number), max::NUMBER),
        f(days.len().to_string()),
        f(c.points.to_string()),
    ];
    ho.extend((6..layout::ho::PAID).map(|_| f("")));
    ho.push(f(c.patient_paid_yen.to_string()));
    ho.extend((layout::ho::PAID + 1..layout::HO.field_count()).map(|_| f("")));
    out.record(&layout::HO, &ho, ctx)?;

    out.record(
        &layout::SN,
        &[
            f(codes::BURDENER_INSURANCE),
            f(codes::CHECKED_AT_WINDOW),
            f(""),
            f(""),
            f(""),
            f(c.insurer.branch.as_deref().unwrap_or_default()),
            f(""),
            f(""),
        ],
        ctx,
    )?;

    let mut jd: Vec<Field<'_>> = vec![f(codes::BURDENER_INSURANCE)];
    jd.extend((1..=31u32).map(|d| {
        f(if days.iter().any(|v| v.day() == d) {
            "1"
        } else {
            ""
        })
    }));
    out.record(&layout::JD, &jd, ctx)?;

    let mut mf: Vec<Field<'_>> = vec![f(codes::NO_HIGH_COST)];
    mf.extend((0..31).map(|_| f("")));
    out.record(&layout::MF, &mf, ctx)?;

    for name in &c.diagnoses {
        out.record(
            &layout::SY,
            &[
                f(codes::UNCODED_DIAGNOSIS),
                f(ymd(first_visit)),
                f(codes::OUTCOME_CONTINUING),
                f(""),
                f(kanji(name)),
                f(""),
                f(""),
            ],
            ctx,
        )?;
    }
    for line in &c.tekiyo {
        out.record(
            &layout::CO,
            &[
                f(codes::WHOLE_CLAIM),
                f(codes::BURDEN_INSURANCE),
                f(codes::FREE_COMMENT),
                f(kanji(line)),
            ],
            ctx,
        )?;
    }
    Ok(())
}
