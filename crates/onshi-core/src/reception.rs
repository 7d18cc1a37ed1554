//! The reception window when the My Number card check cannot be done:
//! why it failed (notice §1) and what the patient pays (notice §2).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::burden::{AgeBand, BurdenRatio, age_band, ratio_on};

/// Why the card check could not give the current qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// notice §1(1): 「資格(無効)」 (the latest qualification is lost).
    QualificationInvalid,
    /// notice §1(1): 「資格情報なし」.
    NoInformation,
    /// notice §1(2): 顔認証付きカードリーダーや資格確認端末の故障.
    ReaderBroken,
    /// notice §1(2): カードの券面汚損、ICチップの破損.
    CardUnreadable,
    /// notice §1(2): 利用者証明用電子証明書の有効期限切れ (past the grace).
    CertificateExpired,
    /// notice §1(2): 停電.
    PowerOutage,
    /// notice §1(2): 施設の通信障害、広範囲のネットワーク障害.
    NetworkOutage,
}

impl FailureKind {
    pub const ALL: [FailureKind; 7] = [
        FailureKind::QualificationInvalid,
        FailureKind::NoInformation,
        FailureKind::ReaderBroken,
        FailureKind::CardUnreadable,
        FailureKind::CertificateExpired,
        FailureKind::PowerOutage,
        FailureKind::NetworkOutage,
    ];

    /// Japanese wording for the screen.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::QualificationInvalid => "資格(無効)",
            FailureKind::NoInformation => "資格情報なし",
            FailureKind::ReaderBroken => "カードリーダー・資格確認端末の故障",
            FailureKind::CardUnreadable => "カードの券面汚損・ICチップの破損",
            FailureKind::CertificateExpired => "電子証明書の有効期限切れ",
            FailureKind::PowerOutage => "停電",
            FailureKind::NetworkOutage => "通信障害・ネットワーク障害",
        }
    }

    /// The notice section that describes it.
    pub fn section(self) -> &'static str {
        match self {
            FailureKind::QualificationInvalid | FailureKind::NoInformation => "1(1)",
            _ => "1(2)",
        }
    }

    /// Whether, in this case, the institution can usually still reach the
    /// registry (notice §1(2) splits the cases so): only power and network
    /// failures cut it off. The visit records the clerk's actual answer.
    pub fn registry_usually_reachable(self) -> bool {
        !matches!(self, FailureKind::PowerOutage | FailureKind::NetworkOutage)
    }
}

/// What the patient showed at the window in place of the card check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    /// マイナポータルの資格情報画面 on the patient's phone.
    MynaPortal,
    /// 健康保険証 (valid until 2025-12-01 at the latest).
    InsuranceCard,
    /// 資格確認書 (since 2024-12-02).
    QualificationCertificate,
}

/// The ratio written on a 被保険者資格申立書.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredRatio {
    Ratio(BurdenRatio),
    /// 「わからない」.
    Unknown,
}

/// Everything the window knows when deciding the burden, in the notice's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowInput {
    /// The ratio from a successful online check (有効), if one happened.
    pub online: Option<BurdenRatio>,
    /// notice §2(1): マイナポータル screen or card shown, with its ratio.
    pub shown: Option<(Shown, BurdenRatio)>,
    /// notice §2(2): a 被保険者資格申立書 was submitted, with its ratio box.
    pub declaration: Option<DeclaredRatio>,
    /// notice §2(2) なお書き: a returning patient confirmed orally that nothing
    /// changed; the ratio on file from the earlier visit.
    pub returning_oral: Option<BurdenRatio>,
    /// notice §2(3) ただし書き: the institution's recorded discretion for a known
    /// returning patient (e.g. 3割 instead of 10割).
    pub discretion: Option<BurdenRatio>,
    /// The patient's birth date, if known (to fill a declaration's 「わからない」).
    pub birth_date: Option<NaiveDate>,
}

/// On what the window burden rests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    OnlineCheck,
    MynaPortal,
    InsuranceCard,
    QualificationCertificate,
    Declaration,
    ReturningPatientOral,
    InstitutionDiscretion,
    FullCost,
}

/// The window-burden decision: the ratio, on what it rests, and the section
/// of the notice that allows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowDecision {
    pub ratio: BurdenRatio,
    pub basis: Basis,
    /// e.g. `保発0710第1号 2(2)`.
    pub section: String,
    /// Japanese explanation for the clerk and the patient.
    pub explanation: String,
}

fn decision(
    ratio: BurdenRatio,
    basis: Basis,
    section: &str,
    explanation: String,
) -> WindowDecision {
    WindowDecision {
        ratio,
        basis,
        section: format!("保発0710第1号 {section}"),
        explanation,
    }
}

/// The ratio to charge on a declaration whose ratio box says 「わからない」.
///
/// [D] The notice charges "the ratio the patient declared" (§2(2)); the
/// explanation sheet says 3割, 未就学児 2割, 70歳以上 1〜3割. Under 70 the age
/// decides (2割 or 3割). From 70 the ratio depends on income, which the window
/// cannot know: onshi charges 3割 and says so, because notice §2(2) ※ lets the
/// insurer settle any difference with the patient afterwards. Without a birth
/// date, 3割.
pub fn ratio_for_unknown_declaration(birth: Option<NaiveDate>, visit: NaiveDate) -> BurdenRatio {
    match birth.map(|b| age_band(b, visit)) {
        Some(AgeBand::Preschool) => BurdenRatio::TWO,
        _ => BurdenRatio::THREE,
    }
}

/// Decides the window burden (窓口負担) in the order of notice §2:
///
/// 0. an online check that answered 有効 → that qualification's ratio;
/// 1. §2(1): マイナポータル screen, 健康保険証 or 資格確認書 shown → its ratio;
/// 2. §2(2): a 被保険者資格申立書 → the declared ratio (「わからない」: see
///    [`ratio_for_unknown_declaration`]);
/// 3. §2(2) なお書き: a returning patient who confirms orally that nothing
///    changed is treated as having submitted the declaration → the ratio on file;
/// 4. §2(3): nothing → 10割, unless the institution recorded its discretion for
///    a known returning patient (ただし書き) → that ratio.
pub fn decide_window_burden(input: &WindowInput, visit: NaiveDate) -> WindowDecision {
    if let Some(r) = input.online {
        return decision(
            r,
            Basis::OnlineCheck,
            "1",
            format!("オンライン資格確認の結果（{r}）で受領します"),
        );
    }
    if let Some((shown, r)) = input.shown {
        let (basis, what) = match shown {
            Shown::MynaPortal => (Basis::MynaPortal, "マイナポータルの資格情報画面"),
            Shown::InsuranceCard => (Basis::InsuranceCard, "健康保険証"),
            Shown::QualificationCertificate => (Basis::QualificationCertificate, "資格確認書"),
        };
        return decision(
            r,
            basis,
            "2(1)",
            format!("{what}で資格を確認し、自己負担分（{r}）を受領します"),
        );
    }
    if let Some(d) = input.declaration {
        return match d {
            DeclaredRatio::Ratio(r) => decision(
                r,
                Basis::Declaration,
                "2(2)",
                format!("被保険者資格申立書で申し立てられた負担割合（{r}）で受領します"),
            ),
            DeclaredRatio::Unknown => {
                let r = ratio_for_unknown_declaration(input.birth_date, visit);
                decision(
                    r,
                    Basis::Declaration,
                    "2(2)",
                    format!(
                        "被保険者資格申立書の負担割合が「わからない」のため、{r}で受領します（実際と異なる場合は保険者が精算します）"
                    ),
                )
            }
        };
    }
    if let Some(r) = input.returning_oral {
        return decision(
            r,
            Basis::ReturningPatientOral,
            "2(2)",
            format!(
                "前回受診時から資格情報に変更がないことを口頭で確認したため、申立書の提出があったものとして{r}で受領します"
            ),
        );
    }
    if let Some(r) = input.discretion {
        return decision(
            r,
            Basis::InstitutionDiscretion,
            "2(3)",
            format!("再診で身元が分かるため、医療機関の判断により{r}で受領します"),
        );
    }
    decision(
        BurdenRatio::FULL,
        Basis::FullCost,
        "2(3)",
        "資格を確認できず申立書もないため、医療費の全額（10割）を受領します".into(),
    )
}

/// The default ratio a receipt computer shows before the patient says
/// anything: the statutory ratio by age (for 後期, the registered one).
pub fn expected_ratio(
    birth: NaiveDate,
    kouki: bool,
    registered: Option<BurdenRatio>,
    visit: NaiveDate,
) -> Option<BurdenRatio> {
    ratio_on(birth, kouki, registered, visit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// One row per branch of notice §2.
    #[test]
    fn every_branch_of_notice_2() {
        let visit = d("2026-11-25");
        let three = BurdenRatio::THREE;
        let two = BurdenRatio::TWO;
        let base = WindowInput::default();
        let cases: Vec<(&str, WindowInput, u8, Basis, &str)> = vec![
            (
                "online check",
                WindowInput {
                    online: Some(three),
                    ..base
                },
                3,
                Basis::OnlineCheck,
                "1",
            ),
            (
                "portal",
                WindowInput {
                    shown: Some((Shown::MynaPortal, two)),
                    ..base
                },
                2,
                Basis::MynaPortal,
                "2(1)",
            ),
            (
                "card",
                WindowInput {
                    shown: Some((Shown::InsuranceCard, three)),
                    ..base
                },
                3,
                Basis::InsuranceCard,
                "2(1)",
            ),
            (
                "資格確認書",
                WindowInput {
                    shown: Some((Shown::QualificationCertificate, three)),
                    ..base
                },
                3,
                Basis::QualificationCertificate,
                "2(1)",
            ),
            (
                "declaration",
                WindowInput {
                    declaration: Some(DeclaredRatio::Ratio(BurdenRatio::ONE)),
                    ..base
                },
                1,
                Basis::Declaration,
                "2(2)",
            ),
            (
                "declaration unknown, preschool",
                WindowInput {
                    declaration: Some(DeclaredRatio::Unknown),
                    birth_date: Some(d("2022-01-01")),
                    ..base
                },
                2,
                Basis::Declaration,
                "2(2)",
            ),
            (
                "declaration unknown, 72",
                WindowInput {
                    declaration: Some(DeclaredRatio::Unknown),
                    birth_date: Some(d("1954-01-01")),
                    ..base
                },
                3,
                Basis::Declaration,
                "2(2)",
            ),
            (
                "returning oral",
                WindowInput {
                    returning_oral: Some(two),
                    ..base
                },
                2,
                Basis::ReturningPatientOral,
                "2(2)",
            ),
            (
                "discretion",
                WindowInput {
                    discretion: Some(three),
                    ..base
                },
                3,
                Basis::InstitutionDiscretion,
                "2(3)",
            ),
            ("nothing", base, 10, Basis::FullCost, "2(3)"),
            // The order: a shown card wins over a declaration, a declaration over discretion.
            (
                "card before declaration",
                WindowInput {
                    shown: Some((Shown::InsuranceCard, two)),
                    declaration: Some(DeclaredRatio::Ratio(three)),
                    ..base
                },
                2,
                Basis::InsuranceCard,
                "2(1)",
            ),
            (
                "declaration before discretion",
                WindowInput {
                    declaration: Some(DeclaredRatio::Ratio(two)),
                    discretion: Some(three),
                    ..base
                },
                2,
                Basis::Declaration,
                "2(2)",
            ),
        ];
        for (name, input, tenths, basis, section) in cases {
            let got = decide_window_burden(&input, visit);
            assert_eq!(got.ratio.tenths(), tenths, "{name}");
            assert_eq!(got.basis, basis, "{name}");
            assert_eq!(got.section, format!("保発0710第1号 {section}"), "{name}");
            assert!(!got.explanation.is_empty());
        }
    }

    #[test]
    fn failure_kinds() {
        assert_eq!(FailureKind::NoInformation.section(), "1(1)");
        assert_eq!(FailureKind::CardUnreadable.section(), "1(2)");
        assert!(!FailureKind::NetworkOutage.registry_usually_reachable());
        assert!(FailureKind::ReaderBroken.registry_usually_reachable());
        assert_eq!(
            serde_json::to_string(&FailureKind::PowerOutage).unwrap(),
            "\"power_outage\""
        );
    }
}
