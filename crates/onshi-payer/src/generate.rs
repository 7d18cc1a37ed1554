//! A deterministic month of claims from the registry, covering every fate of
//! the payer run: claims with the valid qualification, with a lost one that
//! a newer registration replaces (振替) or nothing replaces (返戻), 不詳
//! claims that can be identified and ones that cannot (按分), and 70+ patients
//! charged at another ratio. Person `p` gets the same claim on every run.

use chrono::{Datelike, NaiveDate};
use onshi_core::burden::{BurdenRatio, ratio_on, window_amount};
use onshi_core::claim::{
    ClaimInsurer, InsurerBasis, UNKNOWN_INSURER, UNKNOWN_NUMBER, UNKNOWN_NUMBER_KOUKI,
};
use onshi_store::{QualificationRow, Store, StoreError};

use crate::claim::{Claim, ClaimPatient};

/// A small deterministic mixer (SplitMix64), enough to spread persons over
/// the cases without pulling a generator crate into the payer.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn written(q: &QualificationRow, basis: InsurerBasis) -> ClaimInsurer {
    let n = &q.qualification.numbers;
    ClaimInsurer {
        insurer_number: n.insurer_number.to_string(),
        symbol: n.symbol.as_ref().map(ToString::to_string),
        number: n.number.to_string(),
        branch: n.branch.map(|b| b.to_string()),
        basis,
    }
}

/// Up to `limit` claims for `month` (any day of it), seed `seed`.
pub fn month_of_claims(
    store: &dyn Store,
    month: NaiveDate,
    limit: usize,
    seed: u64,
) -> Result<Vec<Claim>, StoreError> {
    let institutions = store.institutions()?;
    if institutions.is_empty() {
        return Ok(vec![]);
    }
    let first = month.with_day(1).unwrap_or(month);
    let days_in_month = (first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first)
        - first)
        .num_days()
        .max(1) as u64;
    let label = first.format("%Y-%m").to_string();
    let mut claims = Vec::new();
    let mut after = 0;
    'outer: loop {
        let page = store.persons_after(after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for p in page {
            if claims.len() >= limit {
                break 'outer;
            }
            let r = mix(seed ^ (p.id as u64).wrapping_mul(0x0100_0000_01B3));
            let day = |k: u64| first + chrono::Days::new((r >> (8 * k)) % days_in_month);
            let mut dates = vec![day(0), day(1)];
            dates.sort();
            dates.dedup();
            let on = dates[0];
            let quals = store.visible_qualifications_of(p.id)?;
            let valid = quals.iter().find(|q| {
                q.qualification.is_valid_on(on)
                    && dates.iter().all(|d| q.qualification.is_valid_on(*d))
            });
            let lost = quals
                .iter()
                .rev()
                .find(|q| q.qualification.lost_on.is_some_and(|l| l <= on));
            let inst = &institutions[(r % institutions.len() as u64) as usize];
            let points = 100 + (r >> 20) % 3000;
            let case = (r >> 40) % 100;
            let (insurer, ratio, tekiyo, payer) = match (case, valid, lost) {
                // 不詳 with details enough to identify the person.
                (0..6, Some(v), _) => {
                    let kouki = v.qualification.numbers.insurer_number.is_kouki();
                    let tekiyo = vec![
                        "不詳".to_owned(),
                        format!("カナ氏名：{}", p.person.kana),
                        "保険種別：不明".to_owned(),
                        format!("保険者等名称：{}", v.insurer_name),
                        format!(
                            "事業所名：{}",
                            v.qualification
                                .employer
                                .clone()
                                .unwrap_or_else(|| "不明".into())
                        ),
                        format!("住所：{}", p.person.address),
                        "連絡先：不明".to_owned(),
                        format!("患者への連絡を行った日：{}", on),
                    ];
                    let unknown = ClaimInsurer {
                        insurer_number: UNKNOWN_INSURER.into(),
                        symbol: None,
                        number: if kouki {
                            UNKNOWN_NUMBER_KOUKI
                        } else {
                            UNKNOWN_NUMBER
                        }
                        .into(),
                        branch: None,
                        basis: InsurerBasis::Unknown,
                    };
                    (
                        unknown,
                        BurdenRatio::THREE,
                        tekiyo,
                        v.qualification.numbers.insurer_number.kind().payer(),
                    )
                }
                // 不詳 with nothing usable: stays unidentified and is shared out.
                (6..9, Some(v), _) => {
                    let tekiyo = vec![
                        "不詳".to_owned(),
                        "カナ氏名：ミカクニン".to_owned(),
                        "住所：不明".to_owned(),
                    ];
                    let unknown = ClaimInsurer {
                        insurer_number: UNKNOWN_INSURER.into(),
                        symbol: None,
                        number: UNKNOWN_NUMBER.into(),
                        branch: None,
                        basis: InsurerBasis::Unknown,
                    };
                    (
                        unknown,
                        BurdenRatio::THREE,
                        tekiyo,
                        v.qualification.numbers.insurer_number.kind().payer(),
                    )
                }
                // Written with the lost qualification (旧資格請求).
                (9..20, _, Some(l)) => (
                    written(l, InsurerBasis::LostQualification),
                    BurdenRatio::THREE,
                    vec![],
                    l.qualification.numbers.insurer_number.kind().payer(),
                ),
                (_, Some(v), _) => {
                    let kouki = v.qualification.numbers.insurer_number.is_kouki();
                    let due =
                        ratio_on(p.person.birth_date, kouki, v.qualification.burden_ratio, on)
                            .unwrap_or(BurdenRatio::THREE);
                    // Some 70+ patients declared a ratio other than their own.
                    let charged = if case >= 95 && (kouki || due == BurdenRatio::TWO) {
                        BurdenRatio::THREE
                    } else {
                        due
                    };
                    (
                        written(v, InsurerBasis::Confirmed),
                        charged,
                        vec![],
                        v.qualification.numbers.insurer_number.kind().payer(),
                    )
                }
                _ => continue,
            };
            claims.push(Claim {
                claim_id: format!("G{seed}-{:08}", p.id),
                institution_code: inst.code.to_string(),
                claim_month: label.clone(),
                payer,
                patient: ClaimPatient {
                    name: p.person.name.to_string(),
                    kana: Some(p.person.kana.to_string()),
                    sex: p.person.sex,
                    birth_date: p.person.birth_date,
                },
                insurer,
                burden_ratio_percent: ratio.percent(),
                visit_dates: dates,
                points,
                patient_paid_yen: window_amount(points, ratio),
                tekiyo,
                diagnoses: vec!["急性上気道炎".into()],
            });
        }
    }
    Ok(claims)
}
