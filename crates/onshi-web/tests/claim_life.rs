//! Claims with a life and a payer with memory (issue 15, notice §3–§5,
//! 別添1), on SQLite and PostgreSQL: the service calls of `onshi_clinic::
//! lifecycle` and `onshi_payer::memory` walked case by case, and the HTTP
//! API that carries them.

mod common;

use chrono::Utc;
use common::{Server, start};
use onshi_clinic::claims::{ClaimOptions, first_of};
use onshi_clinic::lifecycle::{self, SubmissionFormat};
use onshi_clinic::visit::{self, RawHearing, RawVisit};
use onshi_core::claim::InsurerBasis;
use onshi_core::claim_life::{ClaimState, FactRank, FactSource};
use onshi_core::{InstitutionCode, Payer};
use onshi_payer::memory::{self, RunInput};
use onshi_payer::run::Policy;
use onshi_registry::check::{CheckRequest, RawCheckRequest};
use onshi_registry::demo;
use serde_json::{Value, json};

const NOW: &str = "2026-11-25T01:00:00Z";

fn inst() -> InstitutionCode {
    InstitutionCode::parse(demo::CLINIC_CODE).unwrap()
}

fn nov() -> chrono::NaiveDate {
    "2026-11-01".parse().unwrap()
}

/// Persons whose 協会けんぽ qualification was lost on 2026-10-31 and whose
/// new 組合 qualification is not registered yet (the job change of the
/// newcomer's defect 1).
fn load_changers(s: &Server, n: usize) {
    let persons: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "person_ref": format!("R-CHG{i}"), "name": format!("転職 {}郎", ["一", "二", "三", "四"][i % 4]),
                "kana": format!("テンショク {}ロウ", ["イチ", "ジ", "サブ", "シ"][i % 4]),
                "birth_date": format!("198{i}-03-03"), "sex": "male",
                "address": format!("東京都港区芝公園{}丁目1番1号", i + 1),
                "cards": [{"serial": format!("CL-CHG{i}"), "valid_to": "2030-03-31"}],
                "qualifications": [{"insurer_number": demo::KYOKAI_TOKYO, "symbol": "900", "number": format!("{}", 100 + i),
                    "branch": "00", "relation": "insured", "acquired_on": "2010-04-01", "lost_on": "2026-10-31"}]
            })
        })
        .collect();
    let f =
        onshi_registry::fixture::parse_fixture(&json!({ "persons": persons }).to_string()).unwrap();
    s.db(|st| onshi_registry::fixture::load(st, &f, NOW))
        .unwrap();
}

/// The 組合 registers changer `i`'s new qualification (late, after the visit).
async fn register_new(s: &Server, i: usize) {
    let p = s
        .db(|st| st.person_by_ref(&onshi_core::PersonRef::parse(&format!("R-CHG{i}")).unwrap()))
        .unwrap()
        .unwrap()
        .person;
    let body = json!({
        "person_ref": format!("R-CHG{i}"), "name": p.name.to_string(), "kana": p.kana.to_string(),
        "birth_date": p.birth_date.to_string(), "sex": "male", "address": p.address.to_string(),
        "insurer_number": demo::KUMIAI_TOKYO, "insured_symbol": "77", "insured_number": format!("{}", 500 + i),
        "insured_branch": "00", "relation": "insured", "acquired_on": "2026-11-01",
    });
    let r = s
        .http
        .post(format!("{}/api/v1/insurer/qualifications", s.url))
        .bearer_auth(&s.other_insurer)
        .header("Idempotency-Key", format!("reg-chg-{i}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["match_status"], "matched", "{v}");
}

fn card_visit(serial: &str, key: &str, day: &str) -> RawVisit {
    serde_json::from_value(json!({"visited_on": day, "patient_key": key,
        "attempt": {"reference": "card", "certificate_serial": serial}}))
    .unwrap()
}

fn open(s: &Server, v: RawVisit) -> i64 {
    s.db(|st| visit::open_visit(st, &inst(), &v, Utc::now()))
        .unwrap()
        .id
}

fn decide(s: &Server, id: i64, body: Value) -> visit::VisitView {
    let raw: visit::RawDecision = serde_json::from_value(body).unwrap();
    s.db(|st| visit::decide(st, &inst(), id, &raw, Utc::now()))
        .unwrap()
}

fn sync(s: &Server) -> lifecycle::MonthView {
    s.db(|st| {
        lifecycle::sync_month(
            st,
            &inst(),
            nov(),
            ClaimOptions::default(),
            "test:clerk",
            Utc::now(),
        )
    })
    .unwrap()
}

fn claim_of(m: &lifecycle::MonthView, key: &str) -> lifecycle::ClaimView {
    m.claims
        .iter()
        .find(|c| c.patient_key == format!("key-{key}"))
        .unwrap_or_else(|| panic!("no claim for {key}: {:?}", m.not_ready))
        .clone()
}

fn detail(s: &Server, id: i64) -> lifecycle::ClaimDetail {
    s.db(|st| lifecycle::claim_detail(st, &inst(), id)).unwrap()
}

fn confirm_all(s: &Server) {
    s.db(|st| lifecycle::confirm(st, &inst(), nov(), &[], "test:clerk", Utc::now()))
        .unwrap();
}

fn submit(s: &Server, payer: Payer) -> lifecycle::SubmissionView {
    s.db(|st| {
        lifecycle::submit(
            st,
            &inst(),
            nov(),
            payer,
            SubmissionFormat::Uke,
            "test:clerk",
            Utc::now(),
        )
    })
    .unwrap()
}

/// The payer runs on stored submissions, as the payer would.
fn payer_run(s: &Server, submissions: &[i64]) -> (i64, onshi_payer::run::RunOutcome) {
    s.db(|st| {
        let inputs = submissions
            .iter()
            .map(|id| {
                let (row, bytes) = st.submission(*id).unwrap().unwrap();
                RunInput {
                    label: format!("submission {id}"),
                    digest: row.digest,
                    submission_id: Some(*id),
                    claims: onshi_uke::claims_for_run(&bytes).unwrap(),
                }
            })
            .collect();
        memory::run_and_store(
            st,
            "2026-12-10".parse().unwrap(),
            inputs,
            Policy::default(),
            "payer",
            NOW,
        )
    })
    .unwrap()
}

fn receive(s: &Server) -> Vec<lifecycle::ReceivedResult> {
    s.db(|st| lifecycle::receive_results(st, &inst(), "test:clerk", Utc::now()))
        .unwrap()
}

fn rechecks(s: &Server) {
    s.db(|st| visit::run_rechecks(st, &inst(), Utc::now()))
        .unwrap();
}

/// Defect 1 of the newcomer review: a visit decided on a presented
/// 資格確認書 (§3(1)) whose deferred re-check answers 資格(無効) keeps the
/// document's numbers on the claim in every state, and the payer pays it.
#[onshi_testkit::both]
async fn a_presented_document_outranks_the_lost_record() {
    let s = start().await;
    load_changers(&s, 1);
    let v = open(&s, card_visit("CL-CHG0", "DOC", "2026-11-10"));
    let shown = json!({"shown": {"kind": "qualification_certificate", "ratio_percent": 30,
        "insurer_number": demo::KUMIAI_TOKYO, "insured_symbol": "77", "insured_number": "500", "insured_branch": "00"},
        "points": 1000});
    let after = decide(&s, v, shown);
    let c = after.record.claim.clone().unwrap();
    assert_eq!(
        (c.basis, c.source, c.rank()),
        (
            InsurerBasis::Confirmed,
            FactSource::Shown,
            FactRank::Presented
        )
    );
    // The re-check still answers 資格(無効): a fact, not the claim's basis.
    rechecks(&s);
    let after = s.db(|st| visit::visit(st, &inst(), v)).unwrap();
    let c = after.record.claim.clone().unwrap();
    assert_eq!(
        (c.insurer_number.as_str(), c.source),
        (demo::KUMIAI_TOKYO, FactSource::Shown)
    );
    let lost: Vec<_> = after.record.facts.iter().filter(|f| !f.taken).collect();
    assert_eq!(lost.len(), 1, "{:?}", after.record.facts);
    assert_eq!(lost[0].basis.basis, InsurerBasis::LostQualification);

    let m = sync(&s);
    let claim = claim_of(&m, "DOC");
    assert_eq!(claim.state, ClaimState::Draft);
    assert_eq!(claim.record.insurer.insurer_number, demo::KUMIAI_TOKYO);
    assert_eq!(claim.record.insurer_rank, FactRank::Presented);
    // 確定 and 提出; another re-check changes nothing, proposes nothing.
    confirm_all(&s);
    let sub = submit(&s, Payer::ShiharaiKikin);
    assert_eq!((sub.claims, sub.format.as_str()), (1, "uke"));
    rechecks(&s);
    let d = detail(&s, claim.id);
    assert_eq!(d.claim.state, ClaimState::Submitted);
    assert!(d.proposals.is_empty(), "{:?}", d.proposals);
    assert_eq!(d.versions.last().unwrap().submission_id, Some(sub.id));
    // The 組合 registers late; the payer bills the document's insurer.
    register_new(&s, 0).await;
    let (run, out) = payer_run(&s, &[sub.id]);
    let line = &out.report[0];
    assert_eq!(line.claim_id, claim.id.to_string());
    assert!(
        matches!(&line.fate, onshi_payer::run::Fate::Billed { insurer, .. } if insurer == demo::KUMIAI_TOKYO),
        "{:?}",
        line.fate
    );
    let got = receive(&s);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].state, got[0].run_id), (ClaimState::Paid, run));
    assert!(receive(&s).is_empty(), "a result is taken once");
    let d = detail(&s, claim.id);
    let states: Vec<_> = d.versions.iter().map(|v| v.state).collect();
    assert_eq!(
        states,
        [
            ClaimState::Draft,
            ClaimState::Confirmed,
            ClaimState::Submitted,
            ClaimState::Paid
        ]
    );
    assert!(
        d.versions
            .iter()
            .all(|v| !v.rule.is_empty() && !v.actor.is_empty())
    );
}

/// Defect 2: nothing registered at the window (申立書, 不詳); the re-check
/// later confirms a registered person with another birth date. The claim
/// takes the registry's identity (a proposal once confirmed), keeps the
/// difference, and the payer bills it.
#[onshi_testkit::both]
async fn the_registry_identity_replaces_the_declaration_and_the_difference_is_kept() {
    let s = start().await;
    let real_birth = s
        .db(|st| st.person_by_ref(&onshi_core::PersonRef::parse("R-NONE").unwrap()))
        .unwrap()
        .unwrap()
        .person
        .birth_date;
    let declared = real_birth - chrono::Days::new(7);
    let v = open(&s, card_visit("DEMO-NONE", "NONE", "2026-11-12"));
    let raw: onshi_core::declaration::RawDeclaration = serde_json::from_value(json!({
        "has_valid_card": true, "insurance_type": "shaho", "employer": "株式会社あおば商事",
        "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": declared.to_string(), "sex": "male",
        "address": "東京都世田谷区三軒茶屋1丁目1番1号", "ratio": "3割", "phone": "090-0000-1234",
        "declared_on": "2026-11-12", "signature": "鈴木 一郎"}))
    .unwrap();
    s.db(|st| visit::put_declaration(st, &inst(), v, &raw, Utc::now()))
        .unwrap();
    decide(&s, v, json!({"use_declaration": true, "points": 800}));
    s.db(|st| visit::record_contact(st, &inst(), v, "2026-11-20".parse().unwrap(), Utc::now()))
        .unwrap();
    let m = sync(&s);
    let claim = claim_of(&m, "NONE");
    assert_eq!(claim.record.insurer.basis, InsurerBasis::Unknown);
    assert_eq!(claim.record.patient.birth_date, declared);
    confirm_all(&s);

    // The insurer registers the person; the re-check confirms them.
    let r = s
        .http
        .post(format!("{}/api/v1/insurer/qualifications", s.url))
        .bearer_auth(&s.insurer)
        .header("Idempotency-Key", "reg-none")
        .json(&json!({
            "person_ref": "R-NONE", "name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": real_birth,
            "sex": "male", "address": "東京都世田谷区三軒茶屋1丁目1番1号", "insurer_number": demo::KYOKAI_TOKYO,
            "insured_symbol": "5001", "insured_number": "42", "insured_branch": "00", "relation": "insured",
            "acquired_on": "2026-11-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    rechecks(&s);
    // The frozen version is untouched; a correction is proposed.
    let d = detail(&s, claim.id);
    assert_eq!(d.claim.state, ClaimState::Confirmed);
    assert_eq!(d.claim.version, 2);
    assert_eq!(
        d.claim.record, d.versions[1].record,
        "the confirmed version is frozen"
    );
    assert_eq!(d.claim.record.patient.birth_date, declared);
    let p = d
        .claim
        .open_proposal
        .clone()
        .expect("a proposed correction");
    assert_eq!(p.record.patient.birth_date, real_birth);
    assert_eq!(p.record.insurer.insurer_number, demo::KYOKAI_TOKYO);
    assert_eq!(
        p.record.identity_source,
        onshi_clinic::claims::IdentitySource::Registry
    );
    let diff = p
        .record
        .identity_differences
        .iter()
        .find(|d| d.field == "birth_date")
        .expect("the difference is kept");
    assert_eq!(
        (diff.on_claim.as_str(), diff.other.as_str()),
        (
            real_birth.to_string().as_str(),
            declared.to_string().as_str()
        )
    );
    assert!(
        p.changes.iter().any(|c| c.starts_with("生年月日")),
        "{:?}",
        p.changes
    );
    // Accepting it over HTTP: a new confirmed version with who and why.
    let r = s
        .http
        .post(format!(
            "{}/api/v1/claim-records/{}/proposal/accept",
            s.url, claim.id
        ))
        .bearer_auth(&s.clinic)
        .json(&json!({"reason": "事後確認で資格を確認", "proposal_id": p.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["claim"]["version"], 3);
    assert_eq!(d["claim"]["state"], "confirmed");
    assert_eq!(
        d["claim"]["record"]["patient"]["birth_date"],
        real_birth.to_string()
    );
    assert_eq!(
        d["versions"][2]["actor"],
        format!("institution:{}", demo::CLINIC_CODE)
    );
    assert!(
        d["versions"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("事後確認で資格を確認")
    );
    assert_eq!(d["proposals"][0]["status"], "accepted");

    let sub = submit(&s, Payer::ShiharaiKikin);
    let (_, out) = payer_run(&s, &[sub.id]);
    assert!(
        matches!(&out.report[0].fate, onshi_payer::run::Fate::Billed { insurer, .. } if insurer == demo::KYOKAI_TOKYO),
        "{:?}",
        out.report[0].fate
    );
    assert_eq!(receive(&s)[0].state, ClaimState::Paid);
}

/// How a later fact acts on a claim of a given state.
#[derive(Clone, Copy, Debug)]
enum Fact {
    Recheck,
    FailureModePick,
    Hearing,
}

async fn fact_against(state: ClaimState) {
    let s = start().await;
    load_changers(&s, 3);
    let facts = [Fact::Recheck, Fact::FailureModePick, Fact::Hearing];
    let mut visits = Vec::new();
    for (i, _) in facts.iter().enumerate() {
        let v = open(
            &s,
            card_visit(&format!("CL-CHG{i}"), &format!("F{i}"), "2026-11-10"),
        );
        decide(&s, v, json!({"points": 500}));
        visits.push(v);
    }
    let m = sync(&s);
    let claims: Vec<_> = (0..3).map(|i| claim_of(&m, &format!("F{i}"))).collect();
    for c in &claims {
        assert_eq!(c.record.insurer_rank, FactRank::Lost, "{:?}", c.record);
    }
    if state != ClaimState::Draft {
        confirm_all(&s);
    }
    if state == ClaimState::Submitted {
        submit(&s, Payer::ShiharaiKikin);
    }
    let before: Vec<_> = claims.iter().map(|c| detail(&s, c.id)).collect();
    for (i, fact) in facts.iter().enumerate() {
        register_new(&s, i).await;
        match fact {
            Fact::Recheck => rechecks(&s),
            Fact::FailureModePick => {
                let p = s
                    .db(|st| {
                        st.person_by_ref(
                            &onshi_core::PersonRef::parse(&format!("R-CHG{i}")).unwrap(),
                        )
                    })
                    .unwrap()
                    .unwrap();
                let req = CheckRequest::parse(&RawCheckRequest {
                    reference: Some("numbers".into()),
                    insurer_number: Some(demo::KUMIAI_TOKYO.into()),
                    insured_symbol: Some("77".into()),
                    insured_number: Some(format!("{}", 500 + i)),
                    birth_date: Some(p.person.birth_date.to_string()),
                    checked_on: Some("2026-11-10".into()),
                    ..Default::default()
                })
                .unwrap();
                let a = s
                    .db(|st| onshi_registry::check::check(st, &inst(), &req, Utc::now()))
                    .unwrap();
                assert_eq!(a.validity, 1);
                s.db(|st| {
                    visit::attach_answer(
                        st,
                        &inst(),
                        visits[i],
                        &a,
                        FactSource::FailureMode,
                        Utc::now(),
                    )
                })
                .unwrap();
            }
            Fact::Hearing => {
                let raw = RawHearing {
                    insurer_number: Some(demo::KUMIAI_TOKYO.into()),
                    insured_symbol: Some("77".into()),
                    insured_number: Some(format!("{}", 500 + i)),
                    insured_branch: None,
                };
                s.db(|st| visit::record_hearing(st, &inst(), visits[i], &raw, Utc::now()))
                    .unwrap();
            }
        }
        // Running the month again changes nothing more.
        sync(&s);
        let d = detail(&s, claims[i].id);
        let want_rank = match fact {
            Fact::Hearing => FactRank::Oral,
            _ => FactRank::Registry,
        };
        let want_source = match fact {
            Fact::Recheck => FactSource::Recheck,
            Fact::FailureModePick => FactSource::FailureMode,
            Fact::Hearing => FactSource::Hearing,
        };
        if state == ClaimState::Draft {
            assert_eq!(d.claim.state, ClaimState::Draft, "{fact:?}");
            assert_eq!(
                d.claim.record.insurer.insurer_number,
                demo::KUMIAI_TOKYO,
                "{fact:?}"
            );
            assert_eq!(d.claim.record.insurer_rank, want_rank, "{fact:?}");
            assert_eq!(d.claim.record.insurer_source, Some(want_source), "{fact:?}");
            assert!(d.proposals.is_empty(), "{fact:?}");
            assert_eq!(
                d.versions.len(),
                before[i].versions.len() + 1,
                "{fact:?}: one rebuilt version"
            );
            continue;
        }
        // Frozen: the versions are exactly as before; one open proposal.
        assert_eq!(
            d.versions, before[i].versions,
            "{fact:?} rewrote a frozen claim"
        );
        let p = d
            .claim
            .open_proposal
            .clone()
            .unwrap_or_else(|| panic!("{fact:?}: no proposal"));
        assert_eq!(p.record.insurer.insurer_number, demo::KUMIAI_TOKYO);
        assert_eq!(
            (p.record.insurer_rank, p.record.insurer_source),
            (want_rank, Some(want_source))
        );
        assert_eq!(
            d.proposals.len(),
            1,
            "{fact:?}: {:?}",
            d.proposals
                .iter()
                .map(|p| (&p.reason, &p.changes))
                .collect::<Vec<_>>()
        );
        // The clerk decides: accept.
        let after = s
            .db(|st| {
                lifecycle::decide_proposal(
                    st,
                    &inst(),
                    claims[i].id,
                    Some(p.id),
                    true,
                    "確認済み",
                    "test:clerk",
                    Utc::now(),
                )
            })
            .unwrap();
        let states: Vec<_> = after.versions.iter().map(|v| v.state).collect();
        let tail = &states[before[i].versions.len()..];
        if state == ClaimState::Confirmed {
            assert_eq!(tail, [ClaimState::Confirmed], "{fact:?}");
        } else {
            assert_eq!(
                tail,
                [ClaimState::Withdrawn, ClaimState::Resubmission],
                "{fact:?}: 取下げ and 再請求"
            );
            let last = after.versions.last().unwrap();
            assert_eq!(last.previous_version, Some(before[i].claim.version));
        }
        assert_eq!(
            after.claim.record.insurer.insurer_number,
            demo::KUMIAI_TOKYO
        );
        assert_eq!(
            after.proposals[0].status,
            onshi_store::ProposalStatus::Accepted
        );
        // A stale decision is refused and changes nothing.
        let again = s.db(|st| {
            lifecycle::decide_proposal(
                st,
                &inst(),
                claims[i].id,
                Some(p.id),
                false,
                "二度目",
                "test:clerk",
                Utc::now(),
            )
        });
        assert_eq!(again.unwrap_err().code(), "proposal_not_open");
    }
}

#[onshi_testkit::both]
async fn later_facts_against_a_draft() {
    fact_against(ClaimState::Draft).await;
}

#[onshi_testkit::both]
async fn later_facts_against_a_confirmed_claim() {
    fact_against(ClaimState::Confirmed).await;
}

#[onshi_testkit::both]
async fn later_facts_against_a_submitted_claim() {
    fact_against(ClaimState::Submitted).await;
}

/// 返戻 goes back to the clinic with its reason; 再請求 is a new version
/// linked to the old one; the corrected claim is paid.
#[onshi_testkit::both]
async fn a_returned_claim_is_fixed_and_claimed_again() {
    let s = start().await;
    load_changers(&s, 1);
    let v = open(&s, card_visit("CL-CHG0", "RET", "2026-11-10"));
    decide(&s, v, json!({"points": 700}));
    let claim = claim_of(&sync(&s), "RET");
    confirm_all(&s);
    let sub = submit(&s, Payer::ShiharaiKikin);
    // Lost with nothing newer registered: the payer returns it.
    let (_, out) = payer_run(&s, &[sub.id]);
    assert!(matches!(
        out.report[0].fate,
        onshi_payer::run::Fate::Returned { .. }
    ));
    let got = receive(&s);
    assert_eq!(got[0].state, ClaimState::Returned);
    let d = detail(&s, claim.id);
    let returned = d.versions.last().unwrap();
    assert!(
        returned.reason.contains("有効な資格が登録されていません"),
        "{}",
        returned.reason
    );
    assert_eq!(
        returned.payer_detail.as_ref().unwrap()["submission_id"],
        sub.id
    );
    // The desk lists it; the numbers are learned by 聞き取り; 再請求.
    let m = s
        .db(|st| lifecycle::month_view(st, &inst(), nov(), ClaimOptions::default()))
        .unwrap();
    assert_eq!(claim_of(&m, "RET").state, ClaimState::Returned);
    register_new(&s, 0).await;
    s.db(|st| {
        visit::record_hearing(
            st,
            &inst(),
            v,
            &RawHearing {
                insurer_number: Some(demo::KUMIAI_TOKYO.into()),
                insured_symbol: Some("77".into()),
                insured_number: Some("500".into()),
                insured_branch: Some("00".into()),
            },
            Utc::now(),
        )
    })
    .unwrap();
    let d = s
        .db(|st| {
            lifecycle::reclaim(
                st,
                &inst(),
                claim.id,
                None,
                "記号番号を聞き取り",
                "test:clerk",
                Utc::now(),
            )
        })
        .unwrap();
    assert_eq!(d.claim.state, ClaimState::Resubmission);
    assert_eq!(d.versions.last().unwrap().previous_version, Some(4));
    assert_eq!(d.claim.record.insurer_source, Some(FactSource::Hearing));
    confirm_all(&s);
    let sub2 = submit(&s, Payer::ShiharaiKikin);
    // The old submission's result is not taken again for the new version.
    let (_, out) = payer_run(&s, &[sub2.id]);
    assert!(
        matches!(out.report[0].fate, onshi_payer::run::Fate::Billed { .. }),
        "{:?}",
        out.report[0].fate
    );
    let got = receive(&s);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].state, ClaimState::Paid);
    // Paid takes no correction; a withdraw is refused.
    let e = s
        .db(|st| lifecycle::withdraw(st, &inst(), claim.id, "訂正", "test:clerk", Utc::now()))
        .unwrap_err();
    assert_eq!(e.code(), "claim_transition_refused");
}

/// §5(2) and the valid-card rule: a 不詳 claim before 令和5年9月請求 and one
/// without a valid card are not made, and the clerk is told why.
#[onshi_testkit::both]
async fn unknown_claims_follow_the_notice_rules() {
    let s = start().await;
    let decl = |valid: bool| -> onshi_core::declaration::RawDeclaration {
        serde_json::from_value(json!({
            "has_valid_card": valid, "insurance_type": "kokuho", "name": "鈴木 一郎", "kana": "スズキ イチロウ",
            "birth_date": "1990-01-01", "sex": "male", "ratio": "3割",
            "declared_on": "2023-07-10", "signature": "鈴木 一郎"}))
        .unwrap()
    };
    let reported = |day: &str, key: &str| -> RawVisit {
        serde_json::from_value(json!({"visited_on": day, "patient_key": key,
            "failure": {"kind": "reader_broken"}}))
        .unwrap()
    };
    let mut cases = Vec::new();
    for (day, key, valid) in [
        ("2023-07-10", "OLD", true),
        ("2023-08-10", "AUG", true),
        ("2023-08-11", "NOCARD", false),
    ] {
        let v = open(&s, reported(day, key));
        s.db(|st| visit::put_declaration(st, &inst(), v, &decl(valid), Utc::now()))
            .unwrap();
        decide(&s, v, json!({"use_declaration": true, "points": 100}));
        s.db(|st| visit::record_contact(st, &inst(), v, day.parse().unwrap(), Utc::now()))
            .unwrap();
        cases.push((day, key));
    }
    let july = s
        .db(|st| {
            onshi_clinic::claims::build_month(
                st,
                &inst(),
                "2023-07-01".parse().unwrap(),
                ClaimOptions::default(),
            )
        })
        .unwrap();
    assert!(july.records.is_empty());
    assert_eq!(july.not_ready[0].code, "unknown_claim_before_reiwa5_9");
    let aug = s
        .db(|st| {
            onshi_clinic::claims::build_month(
                st,
                &inst(),
                "2023-08-01".parse().unwrap(),
                ClaimOptions::default(),
            )
        })
        .unwrap();
    assert_eq!(aug.records.len(), 1);
    assert_eq!(aug.records[0].patient_key, "key-AUG");
    assert_eq!(aug.not_ready[0].code, "unknown_claim_needs_valid_card");
    assert!(aug.not_ready[0].message.contains("有効な保険証"));
    // 別添3 ※1: 社保 without 事業所名 is incomplete for the claim.
    let d = onshi_core::declaration::Declaration::parse(
        &serde_json::from_value(json!({
        "insurance_type": "shaho", "declared_on": "2026-11-01", "signature": "x"}))
        .unwrap(),
    )
    .unwrap();
    let born = "1950-01-01".parse().unwrap();
    assert_eq!(
        d.missing_for_claim(born, "2026-11-01".parse().unwrap()),
        ["事業所名（※1）", "負担割合（※2）"]
    );
    let _ = first_of(nov());
}

/// The payer with memory: a lone 不詳 claim is apportioned from earlier
/// months' stored record, is held with no record at all, and 照会 answers
/// decide a claim with several candidates.
#[onshi_testkit::both]
async fn the_payer_remembers() {
    let s = start().await;
    let payer = s.token(&onshi_registry::Caller::Payer);
    let claim = |id: &str,
                 month: &str,
                 day: &str,
                 insurer: Value,
                 birth: &str,
                 kana: &str,
                 tekiyo: Value| {
        json!({"claim_id": id, "institution_code": demo::CLINIC_CODE, "claim_month": month, "payer": "shiharai_kikin",
               "patient": {"name": "不詳 患者", "kana": kana, "sex": "male", "birth_date": birth},
               "insurer": insurer, "burden_ratio_percent": 30, "visit_dates": [day], "points": 1000,
               "patient_paid_yen": 3000, "tekiyo": tekiyo})
    };
    let unknown = json!({"insurer_number": "77777777", "number": "777777777", "basis": "unknown"});
    let run = |body: String, as_of: &'static str| {
        let s = &s;
        let payer = payer.clone();
        async move {
            let r = s
                .http
                .post(format!("{}/api/v1/payer/runs?as_of={as_of}", s.url))
                .bearer_auth(&payer)
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let fate = |out: &Value, id: &str| {
        out["report"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["claim_id"] == id)
            .unwrap()
            .clone()
    };
    // A lone 不詳 claim with no record at all: held, and until when.
    let lone = claim(
        "u1",
        "2026-11",
        "2026-11-10",
        unknown.clone(),
        "1999-09-09",
        "ダレモ イナイ",
        json!(["不詳"]),
    );
    let out = run(format!("{lone}\n"), "2026-11-25").await;
    assert_eq!(fate(&out, "u1")["fate"], "unapportionable");
    assert_eq!(fate(&out, "u1")["held_until"], "2026-12-31");
    assert_eq!(out["holds"][0]["claim_id"], "u1");
    // October's billed claims (another run) become the record.
    let valid = s
        .db(|st| st.person_by_ref(&onshi_core::PersonRef::parse("R-VALID").unwrap()))
        .unwrap()
        .unwrap();
    let q = s.db(|st| st.visible_qualifications_of(valid.id)).unwrap();
    let n = &q[0].qualification.numbers;
    let billed = claim(
        "o1",
        "2026-10",
        "2026-10-10",
        json!({"insurer_number": n.insurer_number.to_string(), "symbol": n.symbol.as_ref().map(|s| s.to_string()),
               "number": n.number.to_string(), "branch": n.branch.as_ref().map(|b| b.to_string()), "basis": "confirmed"}),
        &valid.person.birth_date.to_string(),
        &valid.person.kana.to_string(),
        json!([]),
    );
    let oct = run(format!("{billed}\n"), "2026-11-05").await;
    assert_eq!(fate(&oct, "o1")["fate"], "billed");
    // The lone claim again: now apportioned from October's stored record.
    let out = run(format!("{lone}\n"), "2026-11-25").await;
    let f = fate(&out, "u1");
    assert_eq!(f["fate"], "apportioned", "{f}");
    assert_eq!(f["shares"][0]["insurer"], n.insurer_number.to_string());
    assert_eq!(f["shares"][0]["yen"], 7000);
    assert!(f["reference"].as_str().unwrap().contains("3か月"), "{f}");
    // Re-running October's input does not double its record.
    run(format!("{billed}\n"), "2026-11-05").await;
    let rec = s
        .db(|st| {
            st.payment_record(
                demo::CLINIC_CODE,
                Payer::ShiharaiKikin,
                "2026-01",
                "2026-12",
            )
        })
        .unwrap();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].yen, 7000);
    // The same claim twice in one input: the second is refused at intake,
    // the run is still stored (one result a claim).
    let twice = run(format!("{billed}\n{billed}\n"), "2026-11-05").await;
    assert_eq!(twice["summary"]["rejected"], 1, "{twice}");
    assert!(twice["run_id"].as_i64().is_some());
    // A claim billed before and returned now no longer weights 按分.
    let mut wrong = billed.clone();
    wrong["insurer"]["number"] = json!("999999");
    let back = run(format!("{wrong}\n"), "2026-11-05").await;
    assert_eq!(fate(&back, "o1")["fate"], "returned", "{back}");
    assert!(
        s.db(|st| st.payment_record(
            demo::CLINIC_CODE,
            Payer::ShiharaiKikin,
            "2026-01",
            "2026-12"
        ))
        .unwrap()
        .is_empty()
    );
    run(format!("{billed}\n"), "2026-11-05").await;
    // Stored runs are listed, newest first, with paging.
    let list: Value = s
        .http
        .get(format!("{}/api/v1/payer/runs?limit=2&offset=1", s.url))
        .bearer_auth(&payer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], 6);
    assert_eq!(list[0]["inputs"][0]["label"], "body.jsonl");
    assert_eq!(list[0]["inputs"][0]["digest"].as_str().unwrap().len(), 64);
}

/// 照会: several candidates; one 非該当 and one 該当 identify the claim; all
/// 非該当 apportion it.
#[onshi_testkit::both]
async fn inquiry_answers_decide_a_claim_with_several_candidates() {
    let s = start().await;
    // Two namesakes born the same day, with two insurers.
    let twins = json!({"persons": [
        {"person_ref": "R-TW1", "name": "田中 一郎", "kana": "タナカ イチロウ", "birth_date": "1970-01-01", "sex": "male",
         "address": "東京都新宿区西新宿9丁目9番9号",
         "qualifications": [{"insurer_number": demo::KYOKAI_TOKYO, "symbol": "71", "number": "1", "branch": "00", "relation": "insured", "acquired_on": "2000-04-01"}]},
        {"person_ref": "R-TW2", "name": "田中 一郎", "kana": "タナカ イチロウ", "birth_date": "1970-01-01", "sex": "male",
         "address": "東京都八王子市旭町8丁目8番8号",
         "qualifications": [{"insurer_number": demo::KUMIAI_TOKYO, "symbol": "72", "number": "2", "branch": "00", "relation": "insured", "acquired_on": "2000-04-01"}]}
    ]});
    let f = onshi_registry::fixture::parse_fixture(&twins.to_string()).unwrap();
    s.db(|st| onshi_registry::fixture::load(st, &f, NOW))
        .unwrap();
    let c = onshi_payer::claim::parse_jsonl(
        &json!({"claim_id": "t1", "institution_code": demo::CLINIC_CODE, "claim_month": "2026-11", "payer": "shiharai_kikin",
            "patient": {"name": "田中 一郎", "kana": "タナカ イチロウ", "sex": "male", "birth_date": "1970-01-01"},
            "insurer": {"insurer_number": "77777777", "number": "777777777", "basis": "unknown"},
            "burden_ratio_percent": 30, "visit_dates": ["2026-11-10"], "points": 100, "patient_paid_yen": 300,
            "tekiyo": ["不詳"]})
        .to_string(),
    );
    let go = || {
        s.db(|st| {
            memory::run_and_store(
                st,
                "2026-11-25".parse().unwrap(),
                vec![RunInput {
                    label: "t".into(),
                    digest: "0".repeat(64),
                    submission_id: None,
                    claims: c.iter().map(|(l, c)| (l.to_string(), c.clone())).collect(),
                }],
                Policy::default(),
                "payer",
                NOW,
            )
        })
        .unwrap()
        .1
    };
    let answer = |insurer: &str, a: &str| {
        let raw = memory::RawInquiryAnswer {
            institution_code: Some(demo::CLINIC_CODE.into()),
            claim_month: Some("2026-11".into()),
            claim_id: Some("t1".into()),
            insurer: Some(insurer.into()),
            answer: Some(a.into()),
        };
        s.db(|st| memory::answer_inquiry(st, &raw, "payer", NOW))
            .unwrap();
    };
    let first = go();
    assert!(
        matches!(&first.report[0].fate, onshi_payer::run::Fate::PendingInquiry { answers, .. } if answers.is_empty())
    );
    answer(demo::KYOKAI_TOKYO, "no_match");
    let second = go();
    assert!(
        matches!(&second.report[0].fate, onshi_payer::run::Fate::PendingInquiry { answers, .. } if answers.len() == 1)
    );
    answer(demo::KUMIAI_TOKYO, "match");
    let third = go();
    assert!(
        matches!(&third.report[0].fate, onshi_payer::run::Fate::Identified { insurer, .. } if insurer == demo::KUMIAI_TOKYO),
        "{:?}",
        third.report[0].fate
    );
    answer(demo::KUMIAI_TOKYO, "no_match");
    let fourth = go();
    assert!(
        matches!(
            &fourth.report[0].fate,
            onshi_payer::run::Fate::Apportioned { .. }
                | onshi_payer::run::Fate::Unapportionable { .. }
        ),
        "all 非該当: shared out (or held for want of a record): {:?}",
        fourth.report[0].fate
    );
    // A bad answer is refused and writes nothing.
    let bad = memory::RawInquiryAnswer {
        answer: Some("maybe".into()),
        ..Default::default()
    };
    assert!(
        s.db(|st| memory::answer_inquiry(st, &bad, "payer", NOW))
            .is_err()
    );
}

/// Notice §2(2) ※: a 70+ patient charged 3割 where 2割 is registered. No
/// 返戻: the difference goes to the insurer, who records its settlement
/// (返還 here) on the portal's API; a 請求 of a negative difference, or a
/// difference of another insurer, is refused and writes nothing.
#[onshi_testkit::both]
async fn the_insurer_settles_a_ratio_difference() {
    let s = start().await;
    let p = s
        .db(|st| st.person_by_ref(&onshi_core::PersonRef::parse("R-ELDERLY").unwrap()))
        .unwrap()
        .unwrap();
    let q = s.db(|st| st.visible_qualifications_of(p.id)).unwrap();
    let n = q[0].qualification.numbers.clone();
    let insurer = s.token(&onshi_registry::Caller::Insurer(n.insurer_number.clone()));
    let payer = s.token(&onshi_registry::Caller::Payer);
    let claim = json!({"claim_id": "e1", "institution_code": demo::CLINIC_CODE, "claim_month": "2026-11",
        "payer": "shiharai_kikin",
        "patient": {"name": p.person.name.to_string(), "kana": p.person.kana.to_string(), "sex": "male",
                    "birth_date": p.person.birth_date},
        "insurer": {"insurer_number": n.insurer_number.to_string(), "symbol": n.symbol.as_ref().map(|s| s.to_string()),
                    "number": n.number.to_string(), "branch": n.branch.as_ref().map(|b| b.to_string()), "basis": "confirmed"},
        "burden_ratio_percent": 30, "visit_dates": ["2026-11-10"], "points": 1000, "patient_paid_yen": 3000});
    let r = s
        .http
        .post(format!("{}/api/v1/payer/runs?as_of=2026-11-25", s.url))
        .bearer_auth(&payer)
        .body(format!("{claim}\n"))
        .send()
        .await
        .unwrap();
    let out: Value = r.json().await.unwrap();
    assert_eq!(
        out["ratio_differences"][0]["difference_yen"], -1000,
        "{out}"
    );
    let get = |token: String| {
        let s = &s;
        async move {
            s.http
                .get(format!("{}/api/v1/insurer/ratio-differences", s.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let list = get(insurer.clone()).await;
    assert_eq!(list[0]["claim_id"], "e1", "{list}");
    assert!(list[0]["settlement"].is_null());
    assert_eq!(
        get(s.insurer.clone()).await,
        json!([]),
        "another insurer sees none"
    );
    let put = |token: &str, body: Value| {
        let s = &s;
        let token = token.to_owned();
        async move {
            let r = s
                .http
                .put(format!(
                    "{}/api/v1/insurer/ratio-differences/settlement",
                    s.url
                ))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let key =
        json!({"institution_code": demo::CLINIC_CODE, "claim_month": "2026-11", "claim_id": "e1"});
    let with = |extra: Value| {
        let mut b = key.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let (st, e) = put(&insurer, with(json!({"kind": "claim"}))).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (400, Some("invalid_value")),
        "{e}"
    );
    let (st, _) = put(&s.insurer, with(json!({"kind": "refund"}))).await;
    assert_eq!(st, 400, "not that insurer's difference");
    assert!(
        get(insurer.clone()).await[0]["settlement"].is_null(),
        "nothing written"
    );
    let (st, v) = put(
        &insurer,
        with(json!({"kind": "refund", "settled_on": "2026-12-15", "done": true})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["settlement"]["yen"], 1000);
    assert_eq!(v["settlement"]["kind"], "refund");
    assert_eq!(v["settlement"]["done"], true);
    assert_eq!(
        get(insurer).await[0]["settlement"]["settled_on"],
        "2026-12-15"
    );
}

/// The whole life over HTTP: sync → confirm → submit (UKE) → the payer runs
/// on the stored submission → the clinic receives 支払済; refusals change
/// nothing.
#[onshi_testkit::both]
async fn the_life_of_a_claim_over_http() {
    let s = start().await;
    let payer = s.token(&onshi_registry::Caller::Payer);
    let call = |token: String, method: reqwest::Method, path: String, body: Option<Value>| {
        let s = &s;
        async move {
            let mut r = s
                .http
                .request(method, format!("{}{path}", s.url))
                .bearer_auth(token);
            if let Some(b) = body {
                r = r.json(&b);
            }
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
            )
        }
    };
    use reqwest::Method as M;
    let clinic = s.clinic.clone();
    let (st, v) = call(clinic.clone(), M::POST, "/api/v1/visits".into(), Some(json!({"visited_on": "2026-11-10",
        "patient_key": "H1", "attempt": {"reference": "card", "certificate_serial": "DEMO-VALID"}}))).await;
    assert_eq!(st, 201, "{v}");
    let (st, _) = call(
        clinic.clone(),
        M::POST,
        format!("/api/v1/visits/{}/decision", v["id"]),
        Some(json!({"points": 900})),
    )
    .await;
    assert_eq!(st, 200);
    // Confirming or submitting before anything exists is refused.
    let (st, e) = call(
        clinic.clone(),
        M::POST,
        "/api/v1/claim-records/confirm".into(),
        Some(json!({"month": "2026-11"})),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("nothing_to_do")),
        "{e}"
    );
    let (st, m) = call(
        clinic.clone(),
        M::POST,
        "/api/v1/claim-records/sync".into(),
        Some(json!({"month": "2026-11"})),
    )
    .await;
    assert_eq!(st, 200, "{m}");
    let id = m["claims"][0]["id"].as_i64().unwrap();
    assert_eq!(m["claims"][0]["state"], "draft");
    assert_eq!(m["claims"][0]["state_label"], "作成中");
    let (st, e) = call(
        clinic.clone(),
        M::POST,
        "/api/v1/claim-records/submit".into(),
        Some(json!({"month": "2026-11", "payer": "shiharai_kikin"})),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("nothing_to_do")),
        "a draft is not submitted"
    );
    let (st, bad) = call(
        clinic.clone(),
        M::POST,
        "/api/v1/claim-records/confirm".into(),
        Some(json!({"month": "2026-11", "ids": [id + 1000]})),
    )
    .await;
    assert_eq!(
        (st, bad["error"]["code"].as_str()),
        (400, Some("claim_not_in_month"))
    );
    let (st, _) = call(
        clinic.clone(),
        M::POST,
        "/api/v1/claim-records/confirm".into(),
        Some(json!({"month": "2026-11"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, e) = call(
        clinic.clone(),
        M::POST,
        format!("/api/v1/claim-records/{id}/reclaim"),
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("claim_transition_refused")),
        "{e}"
    );
    let (st, sub) = call(
        clinic.clone(),
        M::POST,
        "/api/v1/claim-records/submit".into(),
        Some(json!({"month": "2026-11", "payer": "shiharai_kikin", "format": "uke"})),
    )
    .await;
    assert_eq!(st, 201, "{sub}");
    assert_eq!(sub["digest"].as_str().unwrap().len(), 64);
    // The payer sees the submission and runs on it.
    let (_, subs) = call(
        payer.clone(),
        M::GET,
        "/api/v1/payer/submissions".into(),
        None,
    )
    .await;
    assert_eq!(subs[0]["id"], sub["id"]);
    let (st, out) = call(
        payer.clone(),
        M::POST,
        format!(
            "/api/v1/payer/runs?as_of=2026-12-10&submissions={}",
            sub["id"]
        ),
        None,
    )
    .await;
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["report"][0]["claim_id"], id.to_string());
    assert_eq!(out["report"][0]["fate"], "billed");
    let (st, got) = call(
        clinic.clone(),
        M::POST,
        "/api/v1/claim-records/results/receive".into(),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(got[0]["state"], "paid", "{got}");
    let (_, d) = call(
        clinic.clone(),
        M::GET,
        format!("/api/v1/claim-records/{id}"),
        None,
    )
    .await;
    let states: Vec<&str> = d["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["draft", "confirmed", "submitted", "paid"]);
    assert_eq!(d["versions"][2]["submission_id"], sub["id"]);
    assert_eq!(d["versions"][3]["payer_run_id"], out["run_id"]);
    // Another institution sees none of it.
    let (st, _) = call(
        s.other_clinic.clone(),
        M::GET,
        format!("/api/v1/claim-records/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 404);
    let (_, theirs) = call(
        s.other_clinic.clone(),
        M::GET,
        "/api/v1/claim-submissions".into(),
        None,
    )
    .await;
    assert_eq!(theirs, json!([]));
}

/// The institution's choices (77777779 where its receipt computer enforces
/// the 検証番号, where a 不詳 claim of unknown type goes) are recorded on its
/// claims: a re-check's automatic refresh rebuilds with them, not with the
/// defaults.
#[onshi_testkit::both]
async fn a_refresh_keeps_the_institutions_choices() {
    let s = start().await;
    let v = open(&s, card_visit("DEMO-NONE", "OPT", "2026-11-12"));
    let raw: onshi_core::declaration::RawDeclaration = serde_json::from_value(json!({
        "has_valid_card": true, "insurance_type": "unknown", "employer": "不明商店", "name": "鈴木 一郎",
        "kana": "スズキ イチロウ", "birth_date": "2004-05-09", "sex": "male", "ratio": "3割",
        "declared_on": "2026-11-12", "signature": "鈴木 一郎"}))
    .unwrap();
    s.db(|st| visit::put_declaration(st, &inst(), v, &raw, Utc::now()))
        .unwrap();
    decide(&s, v, json!({"use_declaration": true, "points": 100}));
    s.db(|st| visit::record_contact(st, &inst(), v, "2026-11-20".parse().unwrap(), Utc::now()))
        .unwrap();
    let opts = ClaimOptions {
        unknown_payer: Payer::Kokuhoren,
        check_digit_enforced: true,
    };
    let m = s
        .db(|st| lifecycle::sync_month(st, &inst(), nov(), opts, "test:clerk", Utc::now()))
        .unwrap();
    let c = claim_of(&m, "OPT");
    assert_eq!(
        (c.record.insurer.insurer_number.as_str(), c.record.payer),
        ("77777779", Payer::Kokuhoren)
    );
    // The re-check (still 資格情報なし) refreshes the month: nothing changes.
    rechecks(&s);
    let d = detail(&s, c.id);
    assert_eq!(
        d.versions.len(),
        1,
        "{:?}",
        d.versions.iter().map(|v| &v.reason).collect::<Vec<_>>()
    );
    assert_eq!(d.claim.record.options, opts);
    // And a sync that names nothing keeps them too.
    let (st, m) = {
        let r = s
            .http
            .post(format!("{}/api/v1/claim-records/sync", s.url))
            .bearer_auth(&s.clinic)
            .json(&json!({"month": "2026-11"}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(st, 200);
    assert_eq!(m["claims"][0]["version"], 1, "{m}");
    assert_eq!(
        m["claims"][0]["record"]["insurer"]["insurer_number"],
        "77777779"
    );
}

/// A correction the clerk dismissed is not proposed again by the next
/// refresh; a newer, different fact still is.
#[onshi_testkit::both]
async fn a_dismissed_correction_stays_dismissed() {
    let s = start().await;
    load_changers(&s, 1);
    let v = open(&s, card_visit("CL-CHG0", "DIS", "2026-11-10"));
    decide(&s, v, json!({"points": 500}));
    let c = claim_of(&sync(&s), "DIS");
    confirm_all(&s);
    let hearing = |number: &str| RawHearing {
        insurer_number: Some(demo::KUMIAI_TOKYO.into()),
        insured_symbol: Some("77".into()),
        insured_number: Some(number.into()),
        insured_branch: None,
    };
    let h = hearing("500");
    s.db(|st| visit::record_hearing(st, &inst(), v, &h, Utc::now()))
        .unwrap();
    assert!(detail(&s, c.id).claim.open_proposal.is_some());
    s.db(|st| {
        lifecycle::decide_proposal(
            st,
            &inst(),
            c.id,
            None,
            false,
            "患者の記憶違い",
            "test:clerk",
            Utc::now(),
        )
    })
    .unwrap();
    rechecks(&s);
    sync(&s);
    let d = detail(&s, c.id);
    assert!(d.claim.open_proposal.is_none(), "{:?}", d.proposals);
    assert_eq!(d.proposals.len(), 1);
    let h = hearing("501");
    s.db(|st| visit::record_hearing(st, &inst(), v, &h, Utc::now()))
        .unwrap();
    let d = detail(&s, c.id);
    assert_eq!(
        d.claim.open_proposal.map(|p| p.record.insurer.number),
        Some("501".to_owned())
    );
}
