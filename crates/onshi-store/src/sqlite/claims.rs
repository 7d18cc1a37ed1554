//! Claims with a life and the payer's memory on SQLite.

use onshi_core::claim_life::ClaimState;
use onshi_core::{InstitutionCode, Payer};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::*;
use crate::{ClaimStore, PayerStore, Result, payer_code, payer_parse};

const CLAIM_COLS: &str =
    "id, institution_code, claim_month, patient_key, version, state, record, updated_at";

fn json_at<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    serde_json::from_str(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn state_at(r: &Row<'_>, i: usize) -> rusqlite::Result<ClaimState> {
    let s: String = r.get(i)?;
    ClaimState::parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            Type::Text,
            format!("unknown claim state {s:?}").into(),
        )
    })
}

fn payer_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Payer> {
    let s: String = r.get(i)?;
    payer_parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            Type::Text,
            format!("unknown payer {s:?}").into(),
        )
    })
}

fn claim_row(r: &Row<'_>) -> rusqlite::Result<ClaimRow> {
    Ok(ClaimRow {
        id: r.get(0)?,
        institution: parsed(1, InstitutionCode::parse(&r.get::<_, String>(1)?))?,
        claim_month: r.get(2)?,
        patient_key: r.get(3)?,
        version: r.get(4)?,
        state: state_at(r, 5)?,
        record: json_at(r, 6)?,
        updated_at: r.get(7)?,
    })
}

fn submission_row(r: &Row<'_>) -> rusqlite::Result<SubmissionRow> {
    Ok(SubmissionRow {
        id: r.get(0)?,
        institution: parsed(1, InstitutionCode::parse(&r.get::<_, String>(1)?))?,
        claim_month: r.get(2)?,
        payer: payer_at(r, 3)?,
        format: r.get(4)?,
        digest: r.get(5)?,
        bytes: r.get(6)?,
        claims: r.get(7)?,
        at: r.get(8)?,
        actor: r.get(9)?,
    })
}

const SUBMISSION_COLS: &str =
    "id, institution_code, claim_month, payer, format, digest, length(body), claims, at, actor";

fn conflict(msg: &str) -> StoreError {
    StoreError::Conflict(msg.to_owned())
}

impl ClaimStore for SqliteStore {
    fn claims_of_month(&self, institution: &InstitutionCode, month: &str) -> Result<Vec<ClaimRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {CLAIM_COLS} FROM claims WHERE institution_code = $1 AND claim_month = $2 ORDER BY id"
        ))?;
        let rows = st.query_map(params![institution.as_str(), month], claim_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn claim(&self, institution: &InstitutionCode, id: i64) -> Result<Option<ClaimRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {CLAIM_COLS} FROM claims WHERE institution_code = $1 AND id = $2"
        ))?;
        st.query_row(params![institution.as_str(), id], claim_row)
            .optional()
            .map_err(unwrap_corrupt)
    }

    fn claim_versions(
        &self,
        institution: &InstitutionCode,
        id: i64,
    ) -> Result<Vec<ClaimVersionRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT v.claim_id, v.version, v.state, v.record, v.meta FROM claim_versions v \
             JOIN claims c ON c.id = v.claim_id WHERE c.institution_code = $1 AND v.claim_id = $2 \
             ORDER BY v.version",
        )?;
        let rows = st.query_map(params![institution.as_str(), id], |r| {
            Ok(ClaimVersionRow {
                claim_id: r.get(0)?,
                version: r.get(1)?,
                state: state_at(r, 2)?,
                record: json_at(r, 3)?,
                meta: json_at(r, 4)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn claim_proposals(
        &self,
        institution: &InstitutionCode,
        month: &str,
    ) -> Result<Vec<ProposalRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT p.id, p.claim_id, p.based_on_version, p.record, p.reason, p.created_at, p.status, \
             p.decided_at, p.decided_by, p.decision_reason FROM claim_proposals p \
             JOIN claims c ON c.id = p.claim_id WHERE c.institution_code = $1 AND c.claim_month = $2 \
             ORDER BY p.id",
        )?;
        let rows = st.query_map(params![institution.as_str(), month], |r| {
            Ok(ProposalRow {
                id: r.get(0)?,
                claim_id: r.get(1)?,
                based_on_version: r.get(2)?,
                record: json_at(r, 3)?,
                reason: r.get(4)?,
                created_at: r.get(5)?,
                status: {
                    let v: String = r.get(6)?;
                    ProposalStatus::parse(&v).ok_or_else(|| {
                        rusqlite::Error::FromSqlConversionFailure(
                            6,
                            Type::Text,
                            format!("unknown proposal status {v:?}").into(),
                        )
                    })?
                },
                decided_at: r.get(7)?,
                decided_by: r.get(8)?,
                decision_reason: r.get(9)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn apply_claim_changes(
        &self,
        institution: &InstitutionCode,
        submission: Option<&NewSubmission>,
        changes: &[ClaimChange],
    ) -> Result<(Vec<i64>, Option<i64>)> {
        let mut c = self.conn()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inst = institution.as_str();
        let submission_id = match submission {
            None => None,
            Some(s) => {
                let digest = hex::encode(Sha256::digest(&s.body));
                tx.prepare_cached(
                    "INSERT INTO claim_submissions (institution_code, claim_month, payer, format, digest, body, claims, at, actor) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )?
                .execute(params![inst, s.claim_month, payer_code(s.payer), s.format, digest, s.body, s.claims, s.at, s.actor])
                .map_err(classify)?;
                Some(tx.last_insert_rowid())
            }
        };
        let mut created = Vec::new();
        for ch in changes {
            match ch {
                ClaimChange::Create {
                    claim_month,
                    patient_key,
                    state,
                    record,
                    meta,
                } => {
                    let rec = record.to_string();
                    tx.prepare_cached(
                        "INSERT INTO claims (institution_code, claim_month, patient_key, version, state, record, updated_at) \
                         VALUES ($1, $2, $3, 1, $4, $5, $6)",
                    )?
                    .execute(params![inst, claim_month, patient_key, state.code(), rec, meta.at])
                    .map_err(classify)?;
                    let id = tx.last_insert_rowid();
                    tx.prepare_cached(
                        "INSERT INTO claim_versions (claim_id, version, state, record, meta) VALUES ($1, 1, $2, $3, $4)",
                    )?
                    .execute(params![id, state.code(), rec, serde_json::to_string(meta).map_err(|e| StoreError::Corrupt(e.to_string()))?])
                    .map_err(classify)?;
                    created.push(id);
                }
                ClaimChange::Version {
                    claim_id,
                    expected_version,
                    state,
                    record,
                    meta,
                    carried_by_submission,
                } => {
                    let mut meta = meta.clone();
                    if *carried_by_submission {
                        meta.submission_id = submission_id;
                    }
                    let rec = record.to_string();
                    let n = tx
                        .prepare_cached(
                            "UPDATE claims SET version = version + 1, state = $1, record = $2, updated_at = $3 \
                             WHERE institution_code = $4 AND id = $5 AND version = $6",
                        )?
                        .execute(params![state.code(), rec, meta.at, inst, claim_id, expected_version])
                        .map_err(classify)?;
                    if n != 1 {
                        return Err(conflict("claim_changed"));
                    }
                    tx.prepare_cached(
                        "INSERT INTO claim_versions (claim_id, version, state, record, meta) VALUES ($1, $2, $3, $4, $5)",
                    )?
                    .execute(params![claim_id, expected_version + 1, state.code(), rec, serde_json::to_string(&meta).map_err(|e| StoreError::Corrupt(e.to_string()))?])
                    .map_err(classify)?;
                }
                ClaimChange::Propose {
                    claim_id,
                    based_on_version,
                    record,
                    reason,
                    at,
                } => {
                    let n = tx
                        .prepare_cached(
                            "INSERT INTO claim_proposals (claim_id, based_on_version, record, reason, created_at) \
                             SELECT id, $1, $2, $3, $4 FROM claims WHERE institution_code = $5 AND id = $6 AND version = $1",
                        )?
                        .execute(params![based_on_version, record.to_string(), reason, at, inst, claim_id])
                        .map_err(classify)?;
                    if n != 1 {
                        return Err(conflict("claim_changed"));
                    }
                }
                ClaimChange::DecideProposal {
                    proposal_id,
                    accepted,
                    by,
                    reason,
                    at,
                } => {
                    let n = tx
                        .prepare_cached(
                            "UPDATE claim_proposals SET status = $1, decided_at = $2, decided_by = $3, decision_reason = $4 \
                             WHERE id = $5 AND status = 'open' AND claim_id IN (SELECT id FROM claims WHERE institution_code = $6)",
                        )?
                        .execute(params![if *accepted { ProposalStatus::Accepted } else { ProposalStatus::Dismissed }.code(), at, by, reason, proposal_id, inst])
                        .map_err(classify)?;
                    if n != 1 {
                        return Err(conflict("proposal_not_open"));
                    }
                }
            }
        }
        tx.commit()?;
        Ok((created, submission_id))
    }

    fn submissions(
        &self,
        institution: Option<&InstitutionCode>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<SubmissionRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {SUBMISSION_COLS} FROM claim_submissions WHERE ($1 IS NULL OR institution_code = $1) \
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        ))?;
        let rows = st.query_map(
            params![institution.map(|i| i.as_str()), limit, offset],
            submission_row,
        )?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn submission(&self, id: i64) -> Result<Option<(SubmissionRow, Vec<u8>)>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {SUBMISSION_COLS}, body FROM claim_submissions WHERE id = $1"
        ))?;
        st.query_row([id], |r| Ok((submission_row(r)?, r.get::<_, Vec<u8>>(10)?)))
            .optional()
            .map_err(unwrap_corrupt)
    }
}

fn run_row(r: &Row<'_>, whole: bool) -> rusqlite::Result<PayerRunRow> {
    Ok(PayerRunRow {
        id: r.get(0)?,
        as_of: r.get(1)?,
        at: r.get(2)?,
        actor: r.get(3)?,
        inputs: json_at(r, 4)?,
        policy: json_at(r, 5)?,
        summary: json_at(r, 6)?,
        outcome: if whole { Some(r.get(7)?) } else { None },
    })
}

fn result_row(r: &Row<'_>) -> rusqlite::Result<PayerResultRow> {
    Ok(PayerResultRow {
        run_id: r.get(0)?,
        institution_code: r.get(1)?,
        claim_month: r.get(2)?,
        claim_id: r.get(3)?,
        fate: r.get(4)?,
        detail: json_at(r, 5)?,
    })
}

fn yen_i64(y: u64) -> Result<i64> {
    i64::try_from(y).map_err(|_| StoreError::Conflict("amount out of range".into()))
}

impl PayerStore for SqliteStore {
    fn save_payer_run(
        &self,
        run: &NewPayerRun,
        results: &[PayerResultRow],
        payments: &[PaymentRow],
        differences: &[RatioDifferenceRow],
    ) -> Result<i64> {
        let mut c = self.conn()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO payer_runs (as_of, at, actor, inputs, policy, summary, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )?
        .execute(params![
            run.as_of,
            run.at,
            run.actor,
            run.inputs.to_string(),
            run.policy.to_string(),
            run.summary.to_string(),
            run.outcome
        ])
        .map_err(classify)?;
        let id = tx.last_insert_rowid();
        for r in results {
            tx.prepare_cached(
                "INSERT INTO payer_results (run_id, institution_code, claim_month, claim_id, fate, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )?
            .execute(params![id, r.institution_code, r.claim_month, r.claim_id, r.fate, r.detail.to_string()])
            .map_err(classify)?;
        }
        for d in differences {
            tx.prepare_cached(
                "INSERT INTO payer_ratio_differences (run_id, insurer, institution_code, claim_month, claim_id, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )?
            .execute(params![id, d.insurer, d.institution_code, d.claim_month, d.claim_id, d.detail.to_string()])
            .map_err(classify)?;
        }
        // The payment record of these claims is replaced: the old rows go,
        // the new ones (summed per insurer) come in.
        let mut sums: std::collections::BTreeMap<(&str, &str, &str, &str, Payer), u64> =
            std::collections::BTreeMap::new();
        for p in payments {
            let e = sums
                .entry((
                    &p.institution_code,
                    p.claim_month.as_str(),
                    &p.claim_id,
                    &p.insurer,
                    p.payer,
                ))
                .or_default();
            *e = e
                .checked_add(p.yen)
                .ok_or_else(|| StoreError::Conflict("amount out of range".into()))?;
        }
        // Every claim the run decided loses its old record, whether or not
        // it is paid now (a claim returned or held now weights nothing).
        let keys: std::collections::BTreeSet<(&str, &str, &str)> = sums
            .keys()
            .map(|k| (k.0, k.1, k.2))
            .chain(results.iter().map(|r| {
                (
                    r.institution_code.as_str(),
                    r.claim_month.as_str(),
                    r.claim_id.as_str(),
                )
            }))
            .collect();
        for (inst, month, claim) in keys {
            tx.prepare_cached(
                "DELETE FROM payment_record WHERE institution_code = $1 AND claim_month = $2 AND claim_id = $3",
            )?
            .execute(params![inst, month, claim])
            .map_err(classify)?;
        }
        for ((inst, month, claim, insurer, payer), yen) in &sums {
            tx.prepare_cached(
                "INSERT INTO payment_record (institution_code, payer, claim_month, claim_id, insurer, yen) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )?
            .execute(params![inst, payer_code(*payer), month, claim, insurer, yen_i64(*yen)?])
            .map_err(classify)?;
        }
        tx.commit()?;
        Ok(id)
    }

    fn ratio_differences(&self, insurer: &str) -> Result<Vec<RatioDifferenceRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT d.run_id, d.insurer, d.institution_code, d.claim_month, d.claim_id, d.detail \
             FROM payer_ratio_differences d WHERE d.insurer = $1 AND d.run_id = ( \
               SELECT max(e.run_id) FROM payer_ratio_differences e WHERE e.institution_code = d.institution_code \
               AND e.claim_month = d.claim_month AND e.claim_id = d.claim_id) \
             ORDER BY d.claim_month, d.institution_code, d.claim_id",
        )?;
        let rows = st.query_map([insurer], |r| {
            Ok(RatioDifferenceRow {
                run_id: r.get(0)?,
                insurer: r.get(1)?,
                institution_code: r.get(2)?,
                claim_month: r.get(3)?,
                claim_id: r.get(4)?,
                detail: json_at(r, 5)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn payer_runs(&self, limit: u32, offset: u32) -> Result<Vec<PayerRunRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT id, as_of, at, actor, inputs, policy, summary FROM payer_runs ORDER BY id DESC LIMIT $1 OFFSET $2",
        )?;
        let rows = st.query_map(params![limit, offset], |r| run_row(r, false))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn payer_run(&self, id: i64) -> Result<Option<PayerRunRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT id, as_of, at, actor, inputs, policy, summary, outcome FROM payer_runs WHERE id = $1",
        )?;
        st.query_row([id], |r| run_row(r, true))
            .optional()
            .map_err(unwrap_corrupt)
    }

    fn payer_results_for(&self, institution: &str, after_run: i64) -> Result<Vec<PayerResultRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT run_id, institution_code, claim_month, claim_id, fate, detail FROM payer_results \
             WHERE institution_code = $1 AND run_id > $2 ORDER BY run_id, claim_month, claim_id",
        )?;
        let rows = st.query_map(params![institution, after_run], result_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn payment_record(
        &self,
        institution: &str,
        payer: Payer,
        from: &str,
        to: &str,
    ) -> Result<Vec<PaymentRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT institution_code, payer, claim_month, claim_id, insurer, yen FROM payment_record \
             WHERE institution_code = $1 AND payer = $2 AND claim_month BETWEEN $3 AND $4 \
             ORDER BY claim_month, claim_id, insurer",
        )?;
        let rows = st.query_map(params![institution, payer_code(payer), from, to], |r| {
            Ok(PaymentRow {
                institution_code: r.get(0)?,
                payer: payer_at(r, 1)?,
                claim_month: r.get(2)?,
                claim_id: r.get(3)?,
                insurer: r.get(4)?,
                yen: u64::try_from(r.get::<_, i64>(5)?).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(5, Type::Integer, Box::new(e))
                })?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn put_inquiry_answer(&self, a: &InquiryAnswerRow) -> Result<()> {
        let c = self.conn()?;
        c.prepare_cached(
            "INSERT INTO payer_inquiries (institution_code, claim_month, claim_id, insurer, matches, answered_by, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO UPDATE SET matches = excluded.matches, \
             answered_by = excluded.answered_by, at = excluded.at",
        )?
        .execute(params![a.institution_code, a.claim_month, a.claim_id, a.insurer, a.matches, a.by, a.at])
        .map_err(classify)?;
        Ok(())
    }

    fn inquiry_answers(
        &self,
        institution: &str,
        month: &str,
        claim_id: &str,
    ) -> Result<Vec<InquiryAnswerRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT institution_code, claim_month, claim_id, insurer, matches, answered_by, at FROM payer_inquiries \
             WHERE institution_code = $1 AND claim_month = $2 AND claim_id = $3 ORDER BY insurer",
        )?;
        let rows = st.query_map(params![institution, month, claim_id], |r| {
            Ok(InquiryAnswerRow {
                institution_code: r.get(0)?,
                claim_month: r.get(1)?,
                claim_id: r.get(2)?,
                insurer: r.get(3)?,
                matches: r.get(4)?,
                by: r.get(5)?,
                at: r.get(6)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn put_settlement(&self, s: &SettlementRow) -> Result<()> {
        let c = self.conn()?;
        c.prepare_cached(
            "INSERT INTO ratio_settlements (insurer, institution_code, claim_month, claim_id, kind, yen, settled_on, done, settled_by, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO UPDATE SET kind = excluded.kind, \
             yen = excluded.yen, settled_on = excluded.settled_on, done = excluded.done, settled_by = excluded.settled_by, at = excluded.at",
        )?
        .execute(params![s.insurer, s.institution_code, s.claim_month, s.claim_id, s.kind, yen_i64(s.yen)?, s.settled_on, s.done, s.by, s.at])
        .map_err(classify)?;
        Ok(())
    }

    fn settlements(&self, insurer: &str) -> Result<Vec<SettlementRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT insurer, institution_code, claim_month, claim_id, kind, yen, settled_on, done, settled_by, at \
             FROM ratio_settlements WHERE insurer = $1 ORDER BY claim_month, institution_code, claim_id",
        )?;
        let rows = st.query_map([insurer], |r| {
            Ok(SettlementRow {
                insurer: r.get(0)?,
                institution_code: r.get(1)?,
                claim_month: r.get(2)?,
                claim_id: r.get(3)?,
                kind: r.get(4)?,
                yen: u64::try_from(r.get::<_, i64>(5)?).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(5, Type::Integer, Box::new(e))
                })?,
                settled_on: r.get(6)?,
                done: r.get(7)?,
                by: r.get(8)?,
                at: r.get(9)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }
}
