//! What an eligibility check answers: the OQSCD006 validity codes, the card
//! certificate's usability, and which qualifications a card check and a
//! number check show.
//!
//! Sources: notice §1(1) (資格(無効) and 資格情報なし, and the ※ that a check by
//! card numbers never reveals the latest qualification), DOMAIN §3.1 (OQSCD006
//! codes) and §7 (the 3-month grace of an expired 利用者証明用電子証明書).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::qualification::valid_between;

/// 資格有効性 (OQSCD006 `QualificationValidity`). JSON: the code number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Validity {
    /// 1 有効: valid on the 資格確認日.
    Valid = 1,
    /// 2 無効, shown as 「資格(無効)」: the latest qualification is lost and no
    /// newer one is registered (card check), or the queried one is lost
    /// (number check).
    Invalid = 2,
    /// 3 無効（新しい資格あり）. Part of the code list; onshi does not answer it,
    /// because a number check must not reveal a newer qualification (notice
    /// §1(1) ※) and a card check shows the newer one directly.
    InvalidNewerExists = 3,
    /// 4 該当資格なし, shown as 「資格情報なし」: nothing registered.
    NotFound = 4,
    /// 5 複数該当: several qualifications match.
    Multiple = 5,
}

impl Validity {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The wording of the 資格確認端末 (notice §1(1)) or of the code list.
    pub fn label(self) -> &'static str {
        match self {
            Validity::Valid => "有効",
            Validity::Invalid => "資格(無効)",
            Validity::InvalidNewerExists => "無効（新しい資格あり）",
            Validity::NotFound => "資格情報なし",
            Validity::Multiple => "複数該当",
        }
    }
}

impl From<Validity> for u8 {
    fn from(v: Validity) -> u8 {
        v.code()
    }
}
impl TryFrom<u8> for Validity {
    type Error = String;
    fn try_from(c: u8) -> Result<Self, String> {
        Ok(match c {
            1 => Validity::Valid,
            2 => Validity::Invalid,
            3 => Validity::InvalidNewerExists,
            4 => Validity::NotFound,
            5 => Validity::Multiple,
            _ => return Err(format!("unknown OQSCD006 code {c}")),
        })
    }
}

/// Whether a card's 利用者証明用電子証明書 can be used for a check on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CertificateStatus {
    Valid,
    /// Expired, but inside the grace: usable for the qualification only, up to
    /// and including `until`.
    Grace {
        until: NaiveDate,
    },
    /// Expired and past the grace, which ended on `grace_ended_on`.
    Expired {
        grace_ended_on: NaiveDate,
    },
    /// Revoked (失効) on or before the check date.
    Revoked,
}

/// The last day of the grace for a certificate valid to `valid_to`: 3 months
/// counted from the end of the month of expiry (DOMAIN §7; e.g. valid to
/// 2025-04-15 → usable for qualification up to 2025-07-31).
pub fn grace_until(valid_to: NaiveDate) -> NaiveDate {
    let months = valid_to.year() * 12 + valid_to.month0() as i32 + 4;
    let first_after = NaiveDate::from_ymd_opt(months / 12, (months % 12) as u32 + 1, 1);
    first_after
        .and_then(|f| f.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// The certificate's state on `d`. A revocation dated after `d` does not count,
/// so history can be replayed.
pub fn certificate_status(
    valid_to: NaiveDate,
    revoked_on: Option<NaiveDate>,
    d: NaiveDate,
) -> CertificateStatus {
    if revoked_on.is_some_and(|r| r <= d) {
        return CertificateStatus::Revoked;
    }
    if d <= valid_to {
        return CertificateStatus::Valid;
    }
    let until = grace_until(valid_to);
    if d <= until {
        CertificateStatus::Grace { until }
    } else {
        CertificateStatus::Expired {
            grace_ended_on: until,
        }
    }
}

/// One registered qualification as the answer rules see it: whose it is and
/// when it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Any stable identifier of the person.
    pub person: i64,
    pub acquired_on: NaiveDate,
    pub lost_on: Option<NaiveDate>,
}

/// The validity and the indices (into the input) of the qualifications to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub validity: Validity,
    pub shown: Vec<usize>,
}

/// A card check (マイナ保険証) on `d`, over **all** of the person's visible
/// qualifications (notice §1(1)):
/// - one valid on `d` → 1 有効 with it; several → 5 複数該当 with all of them;
/// - none valid, but one acquired on or before `d` → 2 資格(無効) with the
///   latest such (by acquisition, then loss date): the lost numbers the
///   terminal shows;
/// - nothing acquired by `d` → 4 資格情報なし.
pub fn card_selection(held: &[Held], d: NaiveDate) -> Selection {
    let valid: Vec<usize> = (0..held.len())
        .filter(|&i| valid_between(held[i].acquired_on, held[i].lost_on, d))
        .collect();
    match valid.len() {
        1 => {
            return Selection {
                validity: Validity::Valid,
                shown: valid,
            };
        }
        n if n > 1 => {
            return Selection {
                validity: Validity::Multiple,
                shown: valid,
            };
        }
        _ => {}
    }
    let latest = (0..held.len())
        .filter(|&i| held[i].acquired_on <= d)
        .max_by_key(|&i| (held[i].acquired_on, held[i].lost_on));
    match latest {
        Some(i) => Selection {
            validity: Validity::Invalid,
            shown: vec![i],
        },
        None => Selection {
            validity: Validity::NotFound,
            shown: vec![],
        },
    }
}

/// A check by card numbers (被保険者証・資格確認書の記号番号) on `d`, over the
/// qualifications registered under exactly those numbers and birth date:
/// - one valid → 1 有効; several valid (e.g. twins and no 枝番) → 5 複数該当;
/// - none valid and all of one person → 2 資格(無効) with the latest of them,
///   and **nothing** about that person's other qualifications (notice §1(1) ※);
/// - none valid and several people → 5 複数該当;
/// - no match, or only qualifications that start after `d` → 4 資格情報なし.
pub fn numbers_selection(matched: &[Held], d: NaiveDate) -> Selection {
    let valid: Vec<usize> = (0..matched.len())
        .filter(|&i| valid_between(matched[i].acquired_on, matched[i].lost_on, d))
        .collect();
    match valid.len() {
        1 => {
            return Selection {
                validity: Validity::Valid,
                shown: valid,
            };
        }
        n if n > 1 => {
            return Selection {
                validity: Validity::Multiple,
                shown: valid,
            };
        }
        _ => {}
    }
    // Only what had started by `d` counts: a qualification acquired later is
    // not 資格(無効) on `d`, it does not exist yet.
    let started: Vec<usize> = (0..matched.len())
        .filter(|&i| matched[i].acquired_on <= d)
        .collect();
    let people: BTreeSet<i64> = started.iter().map(|&i| matched[i].person).collect();
    match people.len() {
        0 => Selection {
            validity: Validity::NotFound,
            shown: vec![],
        },
        1 => {
            let latest = started
                .iter()
                .copied()
                .max_by_key(|&i| (matched[i].acquired_on, matched[i].lost_on))
                .into_iter()
                .collect();
            Selection {
                validity: Validity::Invalid,
                shown: latest,
            }
        }
        _ => Selection {
            validity: Validity::Multiple,
            shown: started,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn h(person: i64, a: &str, l: Option<&str>) -> Held {
        Held {
            person,
            acquired_on: d(a),
            lost_on: l.map(d),
        }
    }

    #[test]
    fn codes_and_labels() {
        assert_eq!(Validity::Invalid.label(), "資格(無効)");
        assert_eq!(Validity::NotFound.code(), 4);
        assert_eq!(serde_json::to_string(&Validity::Multiple).unwrap(), "5");
        for c in 1..=5u8 {
            assert_eq!(Validity::try_from(c).unwrap().code(), c);
        }
        assert!(Validity::try_from(6).is_err());
    }

    #[test]
    fn certificate_grace() {
        assert_eq!(grace_until(d("2025-04-15")), d("2025-07-31"));
        assert_eq!(grace_until(d("2025-11-30")), d("2026-02-28"));
        assert_eq!(grace_until(d("2023-11-01")), d("2024-02-29"));
        let vt = d("2025-04-15");
        assert_eq!(
            certificate_status(vt, None, d("2025-04-15")),
            CertificateStatus::Valid
        );
        assert_eq!(
            certificate_status(vt, None, d("2025-04-16")),
            CertificateStatus::Grace {
                until: d("2025-07-31")
            }
        );
        assert_eq!(
            certificate_status(vt, None, d("2025-07-31")),
            CertificateStatus::Grace {
                until: d("2025-07-31")
            }
        );
        assert_eq!(
            certificate_status(vt, None, d("2025-08-01")),
            CertificateStatus::Expired {
                grace_ended_on: d("2025-07-31")
            }
        );
        assert_eq!(
            certificate_status(vt, Some(d("2025-01-10")), d("2025-01-10")),
            CertificateStatus::Revoked
        );
        assert_eq!(
            certificate_status(vt, Some(d("2025-01-10")), d("2025-01-09")),
            CertificateStatus::Valid
        );
    }

    #[test]
    fn card_answers() {
        let on = d("2024-06-01");
        let job_change = [
            h(1, "2015-04-01", Some("2024-04-01")),
            h(1, "2024-04-01", None),
        ];
        assert_eq!(
            card_selection(&job_change, on),
            Selection {
                validity: Validity::Valid,
                shown: vec![1]
            }
        );
        let lost = [
            h(1, "2010-04-01", Some("2015-04-01")),
            h(1, "2015-04-01", Some("2024-05-01")),
        ];
        assert_eq!(
            card_selection(&lost, on),
            Selection {
                validity: Validity::Invalid,
                shown: vec![1]
            }
        );
        // A new qualification that starts after the check date is not shown.
        let gap = [
            h(1, "2015-04-01", Some("2024-05-01")),
            h(1, "2024-07-01", None),
        ];
        assert_eq!(
            card_selection(&gap, on),
            Selection {
                validity: Validity::Invalid,
                shown: vec![0]
            }
        );
        assert_eq!(card_selection(&[], on).validity, Validity::NotFound);
        assert_eq!(
            card_selection(&[h(1, "2024-07-01", None)], on).validity,
            Validity::NotFound
        );
        let overlap = [h(1, "2020-04-01", None), h(1, "2024-04-01", None)];
        assert_eq!(card_selection(&overlap, on).validity, Validity::Multiple);
    }

    #[test]
    fn number_answers() {
        let on = d("2024-06-01");
        assert_eq!(numbers_selection(&[], on).validity, Validity::NotFound);
        assert_eq!(
            numbers_selection(&[h(1, "2020-04-01", None)], on).validity,
            Validity::Valid
        );
        let lost = [h(1, "2020-04-01", Some("2024-04-01"))];
        assert_eq!(
            numbers_selection(&lost, on),
            Selection {
                validity: Validity::Invalid,
                shown: vec![0]
            }
        );
        let twins = [h(1, "2020-04-01", None), h(2, "2020-04-01", None)];
        assert_eq!(numbers_selection(&twins, on).validity, Validity::Multiple);
        let twins_lost = [
            h(1, "2020-04-01", Some("2024-04-01")),
            h(2, "2020-04-01", Some("2024-04-01")),
        ];
        assert_eq!(
            numbers_selection(&twins_lost, on).validity,
            Validity::Multiple
        );
        let future = [h(1, "2024-07-01", None)];
        assert_eq!(numbers_selection(&future, on).validity, Validity::NotFound);
        let lost_and_future = [
            h(1, "2020-04-01", Some("2024-04-01")),
            h(1, "2024-07-01", None),
        ];
        assert_eq!(
            numbers_selection(&lost_and_future, on),
            Selection {
                validity: Validity::Invalid,
                shown: vec![0]
            }
        );
        let rejoined = [
            h(1, "2018-04-01", Some("2020-04-01")),
            h(1, "2021-04-01", None),
        ];
        assert_eq!(
            numbers_selection(&rejoined, on),
            Selection {
                validity: Validity::Valid,
                shown: vec![1]
            }
        );
    }
}
