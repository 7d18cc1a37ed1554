//! Claims (レセプト) when the card check failed: the insurer fields by the
//! notice's order, the 不詳 encoding and its 摘要, and where the claim goes.
//!
//! Sources: notice §3(1)–(4); DOMAIN §1.2–1.5 (請求事務連絡 2023-07-19 and its
//! 2023-09-15 revision, 疑義解釈 問1, the 2025-10 MHLW slide on 摘要).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::declaration::{Declaration, InsuranceType};
use crate::ids::{InsuranceKind, InsurerNumber, Payer};
use crate::wareki::WarekiDate;

/// 不詳 保険者等番号 (DOMAIN §0).
pub const UNKNOWN_INSURER: &str = "77777777";
/// 不詳 保険者等番号 where the receipt computer enforces the 検証番号
/// (7777777 + its check digit 9; 2023-09-15 revision).
pub const UNKNOWN_INSURER_CHECKED: &str = "77777779";
/// 不詳 被保険者等番号 (9 digits).
pub const UNKNOWN_NUMBER: &str = "777777777";
/// 不詳 被保険者番号 for 後期高齢者医療 (8 digits).
pub const UNKNOWN_NUMBER_KOUKI: &str = "77777777";

/// On what the claim's insurer fields rest, in the notice's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsurerBasis {
    /// §3(1): confirmed at the window, by マイナポータル / card, the failure
    /// mode, or the deferred re-check.
    Confirmed,
    /// §3(2): learned from the patient, or a returning patient's unchanged data.
    ToldOrally,
    /// §3(3): the lost qualification of a 資格(無効) answer or the check history.
    LostQualification,
    /// §3(4): 不詳.
    Unknown,
}

impl InsurerBasis {
    pub fn section(self) -> &'static str {
        match self {
            Self::Confirmed => "保発0710第1号 3(1)",
            Self::ToldOrally => "保発0710第1号 3(2)",
            Self::LostQualification => "保発0710第1号 3(3)",
            Self::Unknown => "保発0710第1号 3(4)",
        }
    }
}

/// The insurer fields as written on a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimInsurer {
    /// 8 characters: a real 保険者番号 (6-digit 国保 numbers as they are), or
    /// 77777777 / 77777779 for 不詳.
    pub insurer_number: String,
    pub symbol: Option<String>,
    pub number: String,
    pub branch: Option<String>,
    pub basis: InsurerBasis,
}

/// Known numbers, as evidence for a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownNumbers {
    pub insurer_number: InsurerNumber,
    pub symbol: Option<String>,
    pub number: String,
    pub branch: Option<String>,
}

/// What the institution knows for one visit's claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimEvidence {
    /// §3(1).
    pub confirmed: Option<KnownNumbers>,
    /// §3(2).
    pub told: Option<KnownNumbers>,
    /// §3(3).
    pub lost: Option<KnownNumbers>,
    /// A declaration was submitted (or treated as submitted) — required for 不詳.
    pub declaration_submitted: bool,
    /// The clinic contacted the patient for the numbers (the date goes in 摘要).
    pub contacted_on: Option<NaiveDate>,
    /// The receipt computer enforces the 検証番号 on 保険者番号 (→ 77777779).
    pub check_digit_enforced: bool,
    /// The claim is for 後期高齢者医療 (→ an 8-digit 不詳 number).
    pub kouki: bool,
}

/// Why a 不詳 claim is not allowed (notice §3(4): only with a 申立書, after
/// contacting the patient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnknownNotAllowed {
    #[error("不詳請求には被保険者資格申立書の提出（または提出があったものとする扱い）が必要です")]
    NoDeclaration,
    #[error("不詳請求の前に、医療機関から患者へ記号・番号等の確認を行ってください")]
    NotContacted,
}

impl UnknownNotAllowed {
    pub fn code(self) -> &'static str {
        match self {
            Self::NoDeclaration => "unknown_claim_needs_declaration",
            Self::NotContacted => "unknown_claim_needs_contact",
        }
    }
}

fn written(n: &KnownNumbers, basis: InsurerBasis) -> ClaimInsurer {
    ClaimInsurer {
        insurer_number: n.insurer_number.to_string(),
        symbol: n.symbol.clone(),
        number: n.number.clone(),
        branch: n.branch.clone(),
        basis,
    }
}

/// The insurer fields of a claim, by the order of notice §3: the confirmed
/// qualification (3(1)) → the one learned from the patient or a previous
/// visit (3(2)) → the lost one (3(3)) → 不詳 (3(4)), which needs a submitted
/// 申立書 and a contact with the patient. 不詳 writes 77777777 (77777779 where
/// the 検証番号 is enforced), no 記号, 番号 777777777 (77777777 for 後期) and no
/// 枝番 [D: DOMAIN §1.3 leaves 枝番 unrecorded].
pub fn insurer_fields(e: &ClaimEvidence) -> Result<ClaimInsurer, UnknownNotAllowed> {
    if let Some(n) = &e.confirmed {
        return Ok(written(n, InsurerBasis::Confirmed));
    }
    if let Some(n) = &e.told {
        return Ok(written(n, InsurerBasis::ToldOrally));
    }
    if let Some(n) = &e.lost {
        return Ok(written(n, InsurerBasis::LostQualification));
    }
    if !e.declaration_submitted {
        return Err(UnknownNotAllowed::NoDeclaration);
    }
    if e.contacted_on.is_none() {
        return Err(UnknownNotAllowed::NotContacted);
    }
    Ok(ClaimInsurer {
        insurer_number: if e.check_digit_enforced {
            UNKNOWN_INSURER_CHECKED
        } else {
            UNKNOWN_INSURER
        }
        .into(),
        symbol: None,
        number: if e.kouki {
            UNKNOWN_NUMBER_KOUKI
        } else {
            UNKNOWN_NUMBER
        }
        .into(),
        branch: None,
        basis: InsurerBasis::Unknown,
    })
}

/// Whether an insurer number on a claim is the 不詳 one.
pub fn is_unknown_insurer(s: &str) -> bool {
    s == UNKNOWN_INSURER || s == UNKNOWN_INSURER_CHECKED
}

/// The 摘要欄 of a 不詳 claim, in the order of DOMAIN §1.4 (MHLW 2025-10):
/// 「不詳」 first, then カナ氏名・保険種別・保険者等名称・事業所名・住所・連絡先・
/// 患者への連絡を行った日. An item the declaration leaves empty is written
/// 「不明」 [D]. The 居所 follows the 住所 when given.
pub fn unknown_tekiyo(d: &Declaration, contacted_on: Option<NaiveDate>) -> Vec<String> {
    let or_unknown =
        |v: Option<String>| v.filter(|s| !s.is_empty()).unwrap_or_else(|| "不明".into());
    let address = match (&d.address, &d.residence) {
        (Some(a), Some(r)) => Some(format!("{a}（居所：{r}）")),
        (a, _) => a.clone(),
    };
    vec![
        "不詳".into(),
        format!(
            "カナ氏名：{}",
            or_unknown(d.kana.as_ref().map(|k| k.to_string()))
        ),
        format!(
            "保険種別：{}",
            or_unknown(d.insurance_type.map(|t| t.label().to_owned()))
        ),
        format!("保険者等名称：{}", or_unknown(d.insurer_name.clone())),
        format!("事業所名：{}", or_unknown(d.employer.clone())),
        format!("住所：{}", or_unknown(address)),
        format!("連絡先：{}", or_unknown(d.phone.clone())),
        format!(
            "患者への連絡を行った日：{}",
            or_unknown(
                contacted_on
                    .and_then(|c| WarekiDate::from_gregorian(c).ok())
                    .map(|w| w.to_string())
            )
        ),
    ]
}

/// Where a claim goes (DOMAIN §1.5): 被用者保険 → 支払基金; 国保 and 後期 →
/// 国保連. For a 不詳 claim, the declared 保険種別 decides; when it is
/// 「わからない」 or その他, the institution's own choice (疑義解釈 問1).
pub fn route(
    insurer: Option<&InsurerNumber>,
    declared: Option<InsuranceType>,
    institution_choice: Payer,
) -> Payer {
    if let Some(n) = insurer {
        return n.kind().payer();
    }
    match declared {
        Some(InsuranceType::Shaho) => Payer::ShiharaiKikin,
        Some(InsuranceType::Kokuho) | Some(InsuranceType::Kouki) => Payer::Kokuhoren,
        _ => institution_choice,
    }
}

/// The scheme a claim's insurer number stands for, if it is a real one.
pub fn kind_of(insurer_number: &str) -> Option<InsuranceKind> {
    InsurerNumber::parse(insurer_number).ok().map(|n| n.kind())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declaration::RawDeclaration;

    fn known(n: &str, num: &str) -> KnownNumbers {
        KnownNumbers {
            insurer_number: InsurerNumber::parse(n).unwrap(),
            symbol: Some("1".into()),
            number: num.into(),
            branch: Some("00".into()),
        }
    }

    #[test]
    fn the_order_of_notice_3() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let all = ClaimEvidence {
            confirmed: Some(known("01130012", "1")),
            told: Some(known("06130017", "2")),
            lost: Some(known("39280003", "3")),
            declaration_submitted: true,
            contacted_on: Some(d("2026-11-30")),
            ..Default::default()
        };
        assert_eq!(insurer_fields(&all).unwrap().basis, InsurerBasis::Confirmed);
        let told = ClaimEvidence {
            confirmed: None,
            ..all.clone()
        };
        assert_eq!(insurer_fields(&told).unwrap().number, "2");
        let lost = ClaimEvidence {
            told: None,
            ..told.clone()
        };
        let l = insurer_fields(&lost).unwrap();
        assert_eq!(
            (l.basis, l.insurer_number.as_str()),
            (InsurerBasis::LostQualification, "39280003")
        );
        let unknown = ClaimEvidence {
            lost: None,
            ..lost.clone()
        };
        let u = insurer_fields(&unknown).unwrap();
        assert_eq!(
            (
                u.insurer_number.as_str(),
                u.number.as_str(),
                u.symbol.clone(),
                u.branch.clone()
            ),
            ("77777777", "777777777", None, None)
        );
        assert_eq!(u.basis.section(), "保発0710第1号 3(4)");
        let checked = ClaimEvidence {
            check_digit_enforced: true,
            kouki: true,
            ..unknown.clone()
        };
        let c = insurer_fields(&checked).unwrap();
        assert_eq!(
            (c.insurer_number.as_str(), c.number.as_str()),
            ("77777779", "77777777")
        );
        assert!(
            InsurerNumber::parse("77777779").is_err(),
            "77777779 is not a real insurer (法別 77)"
        );
        assert_eq!(crate::ids::check_digit(&[7, 7, 7, 7, 7, 7, 7]), 9);
        assert_eq!(
            insurer_fields(&ClaimEvidence {
                declaration_submitted: false,
                ..unknown.clone()
            }),
            Err(UnknownNotAllowed::NoDeclaration)
        );
        assert_eq!(
            insurer_fields(&ClaimEvidence {
                contacted_on: None,
                ..unknown
            }),
            Err(UnknownNotAllowed::NotContacted)
        );
    }

    #[test]
    fn tekiyo_in_the_mhlw_order() {
        let d = Declaration::parse(&RawDeclaration {
            kana: Some("すずき いちろう".into()),
            insurance_type: Some("shaho".into()),
            employer: Some("株式会社あおば商事".into()),
            address: Some("東京都世田谷区三軒茶屋1-1-1".into()),
            phone: Some("090-0000-1234".into()),
            ..Default::default()
        })
        .unwrap();
        let lines = unknown_tekiyo(&d, Some("2026-12-01".parse().unwrap()));
        assert_eq!(
            lines,
            [
                "不詳",
                "カナ氏名：スズキ イチロウ",
                "保険種別：社保",
                "保険者等名称：不明",
                "事業所名：株式会社あおば商事",
                "住所：東京都世田谷区三軒茶屋1-1-1",
                "連絡先：090-0000-1234",
                "患者への連絡を行った日：令和8年12月1日",
            ]
        );
    }

    #[test]
    fn routing() {
        let kyokai = InsurerNumber::parse("01130012").unwrap();
        let kouki = InsurerNumber::parse("39280003").unwrap();
        assert_eq!(
            route(Some(&kyokai), None, Payer::Kokuhoren),
            Payer::ShiharaiKikin
        );
        assert_eq!(
            route(Some(&kouki), None, Payer::ShiharaiKikin),
            Payer::Kokuhoren
        );
        assert_eq!(
            route(None, Some(InsuranceType::Shaho), Payer::Kokuhoren),
            Payer::ShiharaiKikin
        );
        assert_eq!(
            route(None, Some(InsuranceType::Kokuho), Payer::ShiharaiKikin),
            Payer::Kokuhoren
        );
        assert_eq!(
            route(None, Some(InsuranceType::Unknown), Payer::Kokuhoren),
            Payer::Kokuhoren
        );
        assert_eq!(
            route(None, None, Payer::ShiharaiKikin),
            Payer::ShiharaiKikin
        );
    }
}
