//! [`read_uke`]: a RECEIPTC.UKE byte stream back into onshi's claims, and
//! the date forms of the file.

use chrono::NaiveDate;
use onshi_core::Era;
use onshi_payer::claim::Claim;

use crate::UkeInstitution;
use crate::error::UkeError;
use crate::file::UkeFile;

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

/// 負担割合 (percent) from the レセプト種別 and 特記事項 when 給付割合 is empty
/// (other systems write it only for 国保): 4th digit 1/2 本人, 5/6 家族, 9/0
/// 7割 → 30; 3/4 未就学者 → 20; 7/8 高齢受給者一般 → 20, but 後期 → 10, or 20
/// with 特記事項 41 区カ \[I\].
pub(crate) fn inferred_burden(kind: &str, tokki: &str) -> Option<u16> {
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

/// Reads a RECEIPTC.UKE into onshi's claims, all or nothing: the file is
/// read whole ([`UkeFile::parse`]), then every receipt must be a claim. A
/// 公費単独 receipt is refused (`unsupported_record`), one without visit
/// dates (no JD, no SI/IY day information) as a missing JD
/// (`missing_record`), one whose 給付割合 is not 90/80/70/0 as malformed.
/// [`crate::claims_for_run`] takes such a file and reports those receipts
/// one by one instead. See the crate docs for what each field becomes.
pub fn read_uke(bytes: &[u8]) -> Result<(UkeInstitution, Vec<Claim>), UkeError> {
    let file = UkeFile::parse(bytes)?;
    let claims = file
        .claims()
        .into_iter()
        .map(|c| c.map_err(|p| p.to_uke_error()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((file.institution().clone(), claims))
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
