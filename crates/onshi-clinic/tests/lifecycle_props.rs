//! Property (issue 15): over random sequences of facts (check answers,
//! documents shown, declarations with 聞き取り, re-checks, payer results and
//! the clerk's decisions), a claim's insurer basis never goes down the
//! notice's order, and a frozen version never changes.
//!
//! The facts go through the real `visit::offer` (what a visit's claim rests
//! on) and the real `lifecycle::plan_sync` / `never_lower` /
//! `onshi_core::claim_life::transition`; the store is modelled as an
//! append-only list of versions with one open proposal at most, as
//! `ClaimStore::apply_claim_changes` keeps it (its own behaviour is tested
//! on both stores in `crates/onshi-web/tests/claim_life.rs`).

use chrono::NaiveDate;
use onshi_clinic::claims::{ClaimIdentity, ClaimRecord, IdentitySource};
use onshi_clinic::lifecycle::{Current, never_lower, plan_sync};
use onshi_clinic::visit::{ClaimBasis, VisitRecord, offer};
use onshi_core::claim::{ClaimInsurer, InsurerBasis};
use onshi_core::claim_life::{
    ClaimEvent, ClaimState, FactRank, FactSource, PayerDecision, transition,
};
use onshi_core::{InstitutionCode, Payer, Sex};
use onshi_store::{ChangeMeta, ClaimChange};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// A fact arrives: (basis, source, numbers index).
    Fact(InsurerBasis, FactSource, u8),
    Confirm,
    Submit,
    Decided(PayerDecision),
    Accept,
    Dismiss,
    Withdraw,
    Reclaim,
}

fn fact() -> impl Strategy<Value = Step> {
    (
        prop_oneof![
            Just((InsurerBasis::Confirmed, FactSource::Shown)),
            Just((InsurerBasis::Confirmed, FactSource::OnlineCheck)),
            Just((InsurerBasis::Confirmed, FactSource::Recheck)),
            Just((InsurerBasis::Confirmed, FactSource::FailureMode)),
            Just((InsurerBasis::ToldOrally, FactSource::Hearing)),
            Just((InsurerBasis::ToldOrally, FactSource::PreviousVisit)),
            Just((InsurerBasis::LostQualification, FactSource::Recheck)),
            Just((InsurerBasis::LostQualification, FactSource::OnlineCheck)),
        ],
        0u8..3,
    )
        .prop_map(|((b, s), n)| Step::Fact(b, s, n))
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => fact(),
        1 => Just(Step::Confirm),
        1 => Just(Step::Submit),
        1 => prop_oneof![
            Just(PayerDecision::Paid),
            Just(PayerDecision::Returned),
            Just(PayerDecision::Transferred),
            Just(PayerDecision::Held),
            Just(PayerDecision::Apportioned),
        ]
        .prop_map(Step::Decided),
        1 => Just(Step::Accept),
        1 => Just(Step::Dismiss),
        1 => Just(Step::Withdraw),
        1 => Just(Step::Reclaim),
    ]
}

const NUMBERS: [(&str, &str); 3] = [("01130012", "1"), ("06130017", "2"), ("39131014", "3")];

fn basis(b: InsurerBasis, source: FactSource, n: u8) -> ClaimBasis {
    let (insurer, number) = NUMBERS[n as usize % 3];
    ClaimBasis {
        basis: b,
        section: b.section().into(),
        source,
        insurer_number: insurer.into(),
        insured_symbol: Some("10".into()),
        insured_number: number.into(),
        insured_branch: Some("00".into()),
    }
}

/// The month's record from the visit, as `claims::build_month` maps a
/// visit's claim basis (the rest of the record stays fixed here).
fn built(v: &VisitRecord) -> ClaimRecord {
    let (insurer, rank, source) = match &v.claim {
        Some(c) => (
            ClaimInsurer {
                insurer_number: c.insurer_number.clone(),
                symbol: c.insured_symbol.clone(),
                number: c.insured_number.clone(),
                branch: c.insured_branch.clone(),
                basis: c.basis,
            },
            c.rank(),
            Some(c.source),
        ),
        None => (
            ClaimInsurer {
                insurer_number: "77777777".into(),
                symbol: None,
                number: "777777777".into(),
                branch: None,
                basis: InsurerBasis::Unknown,
            },
            FactRank::Unknown,
            None,
        ),
    };
    ClaimRecord {
        institution_code: InstitutionCode::parse("1311234567").unwrap(),
        claim_month: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        patient_key: "key-P".into(),
        visit_ids: vec![1],
        payer: Payer::ShiharaiKikin,
        patient: ClaimIdentity {
            name: "試験 太郎".into(),
            kana: None,
            sex: Sex::Male,
            birth_date: NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
        },
        identity_source: IdentitySource::Declaration,
        identity_differences: vec![],
        insurer,
        insurer_rank: rank,
        insurer_source: source,
        burden_ratio_percent: 30,
        visit_dates: vec![NaiveDate::from_ymd_opt(2026, 11, 10).unwrap()],
        points: 100,
        patient_paid_yen: 300,
        tekiyo: vec![],
        options: Default::default(),
    }
}

/// The stored claim, modelled: versions are only ever appended.
#[derive(Debug, Clone)]
struct Model {
    versions: Vec<(ClaimState, ClaimRecord)>,
    open: Option<ClaimRecord>,
}

impl Model {
    fn current(&self) -> Current {
        let (state, record) = self.versions.last().cloned().unwrap();
        Current {
            id: 1,
            version: self.versions.len() as i64,
            state,
            record,
            open: self.open.clone().map(|r| (7, r)),
            dismissed: None,
        }
    }

    fn push(&mut self, state: ClaimState, record: ClaimRecord) {
        self.versions.push((state, record));
    }

    fn step(&mut self, event: ClaimEvent, record: Option<ClaimRecord>) -> bool {
        let (state, current) = self.versions.last().cloned().unwrap();
        match transition(state, event) {
            Ok(t) => {
                self.push(t.to, record.unwrap_or(current));
                true
            }
            Err(_) => false,
        }
    }
}

fn meta() -> ChangeMeta {
    ChangeMeta {
        at: "2026-11-25T00:00:00Z".into(),
        actor: "prop".into(),
        ..ChangeMeta::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn basis_never_goes_down_and_frozen_versions_never_change(steps in proptest::collection::vec(step(), 1..40)) {
        let mut visit = VisitRecord {
            visited_on: NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(),
            patient_key: Some("P".into()),
            patient: None,
            attempt: None,
            check: None,
            failure: None,
            decision: None,
            claim: None,
            recheck: Default::default(),
            contacted_on: None,
            facts: vec![],
        };
        let mut m = Model { versions: vec![(ClaimState::Draft, built(&visit))], open: None };
        let mut best_rank = m.versions[0].1.insurer_rank;
        for s in steps {
            let frozen_before = m.versions.clone();
            let visit_rank_before = visit.claim.as_ref().map(ClaimBasis::rank);
            match s {
                Step::Fact(b, src, n) => {
                    offer(&mut visit, basis(b, src, n), "2026-11-25T00:00:00Z");
                    // The visit's own basis never goes down.
                    let after = visit.claim.as_ref().map(ClaimBasis::rank);
                    prop_assert!(after >= visit_rank_before, "{visit_rank_before:?} → {after:?}");
                    // The sync, as the store would apply it.
                    let plan = plan_sync(&[m.current()], &[built(&visit)], "2026-11", &meta()).unwrap();
                    for ch in plan {
                        match ch {
                            ClaimChange::Version { state, record, expected_version, .. } => {
                                prop_assert_eq!(expected_version, m.versions.len() as i64);
                                let (cur, _) = m.versions.last().cloned().unwrap();
                                prop_assert!(cur.is_editable(), "a frozen claim ({cur:?}) was rebuilt");
                                m.push(state, serde_json::from_value(record).unwrap());
                            }
                            ClaimChange::Propose { record, .. } => {
                                let (cur, _) = m.versions.last().cloned().unwrap();
                                prop_assert!(!cur.is_editable(), "a draft got a proposal");
                                m.open = Some(serde_json::from_value(record).unwrap());
                            }
                            ClaimChange::DecideProposal { accepted, .. } => {
                                prop_assert!(!accepted, "sync accepted a proposal");
                                prop_assert!(m.open.is_some(), "sync closed a proposal that was not open");
                                m.open = None;
                            }
                            ClaimChange::Create { .. } => prop_assert!(false, "the claim exists"),
                        }
                    }
                }
                Step::Confirm => { m.step(ClaimEvent::Confirm, None); }
                Step::Submit => { m.step(ClaimEvent::Submit, None); }
                Step::Decided(d) => { m.step(ClaimEvent::Decided(d), None); }
                Step::Withdraw => { m.step(ClaimEvent::Withdraw, None); }
                Step::Reclaim => {
                    let cur = m.current().record;
                    if m.step(ClaimEvent::Reclaim, Some(never_lower(&cur, built(&visit)))) {
                        // lifecycle::reclaim closes the open proposal with it.
                        m.open = None;
                    }
                }
                Step::Dismiss => { m.open = None; }
                Step::Accept => {
                    if let Some(p) = m.open.take() {
                        let cur = m.current();
                        let p = never_lower(&cur.record, p);
                        match cur.state {
                            ClaimState::Confirmed => { m.step(ClaimEvent::AcceptCorrection, Some(p)); }
                            ClaimState::Submitted | ClaimState::Held => {
                                m.step(ClaimEvent::Withdraw, None);
                                m.step(ClaimEvent::Reclaim, Some(p));
                            }
                            ClaimState::Returned | ClaimState::Withdrawn => { m.step(ClaimEvent::Reclaim, Some(p)); }
                            _ => {}
                        }
                    }
                }
            }
            // Versions are only appended: every earlier one is as it was.
            prop_assert_eq!(&m.versions[..frozen_before.len()], &frozen_before[..]);
            // The claim's basis never goes down the notice's order.
            let rank = m.versions.last().unwrap().1.insurer_rank;
            prop_assert!(rank >= best_rank, "the claim went from {best_rank:?} down to {rank:?}");
            best_rank = best_rank.max(rank);
            // An open proposal is on a frozen claim and never lowers it.
            if let Some(open) = &m.open {
                prop_assert!(!m.current().state.is_editable(), "an editable claim kept a proposal");
                prop_assert!(open.insurer_rank >= m.current().record.insurer_rank);
            }
        }
    }
}
