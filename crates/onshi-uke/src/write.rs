//! [`write_uke`]: onshi's claims as a RECEIPTC.UKE byte stream.

use chrono::{Datelike, NaiveDate};
use onshi_core::burden::{AgeBand, age_band};
use onshi_core::claim::UNKNOWN_NUMBER_KOUKI;
use onshi_core::{InstitutionCode, InsurerNumber, Payer, Sex};
use onshi_payer::claim::Claim;

use crate::UkeInstitution;
use crate::error::{FieldAt, UkeError};
use crate::layout::{self, Layout, codes};
use crate::sjis::encode_field;

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
    let id_ok = !c.claim_id.is_empty()
        && c.claim_id.len() <= max::CHART
        && c.claim_id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b',' && b != b'"');
    if !id_ok {
        return Err(invalid(
            index,
            c,
            "claim_id_not_representable",
            "claim_id",
            "レセプト番号（claim_id）はカルテ番号等欄に記録するため、カンマ・引用符を除く半角英数記号20文字以内です",
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
    for (i, c) in claims.iter().enumerate() {
        check_claim(i + 1, c, institution, &inst_code)?;
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
            limited(institution.name.as_str(), max::INSTITUTION_NAME),
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
        limited(c.patient.name.as_str(), max::NAME),
        f(sex_code(c.patient.sex)),
        f(ymd(c.patient.birth_date)),
        f((100 - c.burden_ratio_percent.min(100)).to_string()),
    ];
    // 入院年月日 … カルテ番号等 (the claim_id) … 患者の状態.
    re.extend((8..layout::re::CHART).map(|_| f("")));
    re.push(f(c.claim_id.as_str()));
    re.extend((layout::re::CHART + 1..layout::re::KANA).map(|_| f("")));
    re.push(limited(kana, max::KANA));
    re.push(f(""));
    out.record(&layout::RE, &re, ctx)?;

    let mut ho: Vec<Field<'_>> = vec![
        f(format!("{:>8}", c.insurer.insurer_number)),
        limited(c.insurer.symbol.as_deref().unwrap_or_default(), max::SYMBOL),
        limited(c.insurer.number.as_str(), max::NUMBER),
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
                f(name.as_str()),
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
                f(line.as_str()),
            ],
            ctx,
        )?;
    }
    Ok(())
}
