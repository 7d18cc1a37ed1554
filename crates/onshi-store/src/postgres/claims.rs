//! Claims with a life and the payer's memory on PostgreSQL.

use ::postgres::Row;
use onshi_core::claim_life::ClaimState;
use onshi_core::{InstitutionCode, Payer};
use sha2::{Digest, Sha256};

use super::*;
use crate::{ClaimStore, PayerStore, Result, payer_code, payer_parse};

const CLAIM_COLS: &str =
    "id, institution_code, claim_month, patient_key, version, state, record, updated_at";

fn state_col(r: &Row, i: usize) -> Result<ClaimState> {
    let s: &str = col(r, i)?;
    ClaimState::parse(s).ok_or_else(|| corrupt(i, format!("unknown claim state {s:?}")))
}

fn payer_col(r: &Row, i: usize) -> Result<Payer> {
    let s: &str = col(r, i)?;
    payer_parse(s).ok_or_else(|| corrupt(i, format!("unknown payer {s:?}")))
}

fn claim_row(r: &Row) -> Result<ClaimRow> {
    Ok(ClaimRow {
        id: col(r, 0)?,
        institution: text_as(r, 1, InstitutionCode::parse)?,
        claim_month: col(r, 2)?,
        patient_key: col(r, 3)?,
        version: col(r, 4)?,
        state: state_col(r, 5)?,
        record: json_col(r, 6)?,
        updated_at: col(r, 7)?,
    })
}

const SUBMISSION_COLS: &str = "id, institution_code, claim_month, payer, format, digest, \
     octet_length(body)::bigint, claims, at, actor";

fn submission_row(r: &Row) -> Result<SubmissionRow> {
    Ok(SubmissionRow {
        id: col(r, 0)?,
        institution: text_as(r, 1, InstitutionCode::parse)?,
        claim_month: col(r, 2)?,
        payer: payer_col(r, 3)?,
        format: col(r, 4)?,
        digest: col(r, 5)?,
        bytes: col(r, 6)?,
        claims: col(r, 7)?,
        at: col(r, 8)?,
        actor: col(r, 9)?,
    })
}

fn run_row(r: &Row, whole: bool) -> Result<PayerRunRow> {
    Ok(PayerRunRow {
        id: col(r, 0)?,
        as_of: col(r, 1)?,
        at: col(r, 2)?,
        actor: col(r, 3)?,
        inputs: json_col(r, 4)?,
        policy: json_col(r, 5)?,
        summary: json_col(r, 6)?,
        outcome: if whole { Some(col(r, 7)?) } else { None },
    })
}

fn yen_i64(y: u64) -> Result<i64> {
    i64::try_from(y).map_err(|_| StoreError::Conflict("amount out of range".into()))
}

fn yen_u64(r: &Row, i: usize) -> Result<u64> {
    u64::try_from(col::<i64>(r, i)?).map_err(|e| corrupt(i, e))
}

impl ClaimStore for PgStore {
    fn claims_of_month(&self, institution: &InstitutionCode, month: &str) -> Result<Vec<ClaimRow>> {
        self.conn()?
            .query(
                &format!("SELECT {CLAIM_COLS} FROM claims WHERE institution_code = $1 AND claim_month = $2 ORDER BY id"),
                &[&institution.as_str(), &month],
            )
            .db()?
            .iter()
            .map(claim_row)
            .collect()
    }

    fn claim(&self, institution: &InstitutionCode, id: i64) -> Result<Option<ClaimRow>> {
        self.conn()?
            .query(
                &format!("SELECT {CLAIM_COLS} FROM claims WHERE institution_code = $1 AND id = $2"),
                &[&institution.as_str(), &id],
            )
            .db()?
            .first()
            .map(claim_row)
            .transpose()
    }

    fn claim_versions(
        &self,
        institution: &InstitutionCode,
        id: i64,
    ) -> Result<Vec<ClaimVersionRow>> {
        self.conn()?
            .query(
                "SELECT v.claim_id, v.version, v.state, v.record, v.meta FROM claim_versions v \
                 JOIN claims c ON c.id = v.claim_id WHERE c.institution_code = $1 AND v.claim_id = $2 \
                 ORDER BY v.version",
                &[&institution.as_str(), &id],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(ClaimVersionRow {
                    claim_id: col(r, 0)?,
                    version: col(r, 1)?,
                    state: state_col(r, 2)?,
                    record: json_col(r, 3)?,
                    meta: json_col(r, 4)?,
                })
            })
            .collect()
    }

    fn claim_proposals(
        &self,
        institution: &InstitutionCode,
        month: &str,
    ) -> Result<Vec<ProposalRow>> {
        self.conn()?
            .query(
                "SELECT p.id, p.claim_id, p.based_on_version, p.record, p.reason, p.created_at, p.status, \
                 p.decided_at, p.decided_by, p.decision_reason FROM claim_proposals p \
                 JOIN claims c ON c.id = p.claim_id WHERE c.institution_code = $1 AND c.claim_month = $2 \
                 ORDER BY p.id",
                &[&institution.as_str(), &month],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(ProposalRow {
                    id: col(r, 0)?,
                    claim_id: col(r, 1)?,
                    based_on_version: col(r, 2)?,
                    record: json_col(r, 3)?,
                    reason: col(r, 4)?,
                    created_at: col(r, 5)?,
                    status: {
                        let v: &str = col(r, 6)?;
                        ProposalStatus::parse(v)
                            .ok_or_else(|| corrupt(6, format!("unknown proposal status {v:?}")))?
                    },
                    decided_at: col(r, 7)?,
                    decided_by: col(r, 8)?,
                    decision_reason: col(r, 9)?,
                })
            })
            .collect()
    }

    fn apply_claim_changes(
        &self,
        institution: &InstitutionCode,
        submission: Option<&NewSubmission>,
        changes: &[ClaimChange],
    ) -> Result<(Vec<i64>, Option<i64>)> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().db()?;
        let inst = institution.as_str();
        let submission_id: Option<i64> = match submission {
            None => None,
            Some(s) => {
                let digest = hex::encode(Sha256::digest(&s.body));
                let row = tx
                    .query_one(
                        "INSERT INTO claim_submissions (institution_code, claim_month, payer, format, digest, body, claims, at, actor) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                        &[&inst, &s.claim_month, &payer_code(s.payer), &s.format, &digest, &s.body, &s.claims, &s.at, &s.actor],
                    )
                    .db()?;
                Some(col(&row, 0)?)
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
                    let row = tx
                        .query_one(
                            "INSERT INTO claims (institution_code, claim_month, patient_key, version, state, record, updated_at) \
                             VALUES ($1, $2, $3, 1, $4, $5, $6) RETURNING id",
                            &[&inst, claim_month, patient_key, &state.code(), &rec, &meta.at],
                        )
                        .db()?;
                    let id: i64 = col(&row, 0)?;
                    tx.execute(
                        "INSERT INTO claim_versions (claim_id, version, state, record, meta) VALUES ($1, 1, $2, $3, $4)",
                        &[&id, &state.code(), &rec, &json_text(meta)?],
                    )
                    .db()?;
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
                        .execute(
                            "UPDATE claims SET version = version + 1, state = $1, record = $2, updated_at = $3 \
                             WHERE institution_code = $4 AND id = $5 AND version = $6",
                            &[&state.code(), &rec, &meta.at, &inst, claim_id, expected_version],
                        )
                        .db()?;
                    if n != 1 {
                        return Err(StoreError::Conflict("claim_changed".into()));
                    }
                    tx.execute(
                        "INSERT INTO claim_versions (claim_id, version, state, record, meta) VALUES ($1, $2, $3, $4, $5)",
                        &[claim_id, &(expected_version + 1), &state.code(), &rec, &json_text(&meta)?],
                    )
                    .db()?;
                }
                ClaimChange::Propose {
                    claim_id,
                    based_on_version,
                    record,
                    reason,
                    at,
                } => {
                    // The claim's row is locked so no other transaction can
                    // move it past the version the proposal is based on.
                    tx.query(
                        "SELECT 1 FROM claims WHERE institution_code = $1 AND id = $2 FOR UPDATE",
                        &[&inst, claim_id],
                    )
                    .db()?;
                    let n = tx
                        .execute(
                            "INSERT INTO claim_proposals (claim_id, based_on_version, record, reason, created_at) \
                             SELECT id, $1, $2, $3, $4 FROM claims WHERE institution_code = $5 AND id = $6 AND version = $1",
                            &[based_on_version, &record.to_string(), reason, at, &inst, claim_id],
                        )
                        .db()?;
                    if n != 1 {
                        return Err(StoreError::Conflict("claim_changed".into()));
                    }
                }
                ClaimChange::DecideProposal {
                    proposal_id,
                    accepted,
                    by,
                    reason,
                    at,
                } => {
                    let status = if *accepted {
                        ProposalStatus::Accepted
                    } else {
                        ProposalStatus::Dismissed
                    }
                    .code();
                    let n = tx
                        .execute(
                            "UPDATE claim_proposals SET status = $1, decided_at = $2, decided_by = $3, decision_reason = $4 \
                             WHERE id = $5 AND status = 'open' AND claim_id IN (SELECT id FROM claims WHERE institution_code = $6)",
                            &[&status, at, by, reason, proposal_id, &inst],
                        )
                        .db()?;
                    if n != 1 {
                        return Err(StoreError::Conflict("proposal_not_open".into()));
                    }
                }
            }
        }
        tx.commit().db()?;
        Ok((created, submission_id))
    }

    fn submissions(
        &self,
        institution: Option<&InstitutionCode>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<SubmissionRow>> {
        let inst = institution.map(|i| i.as_str().to_owned());
        self.conn()?
            .query(
                &format!(
                    "SELECT {SUBMISSION_COLS} FROM claim_submissions WHERE ($1::text IS NULL OR institution_code = $1) \
                     ORDER BY id DESC LIMIT $2 OFFSET $3"
                ),
                &[&inst, &i64::from(limit), &i64::from(offset)],
            )
            .db()?
            .iter()
            .map(submission_row)
            .collect()
    }

    fn submission(&self, id: i64) -> Result<Option<(SubmissionRow, Vec<u8>)>> {
        self.conn()?
            .query(
                &format!("SELECT {SUBMISSION_COLS}, body FROM claim_submissions WHERE id = $1"),
                &[&id],
            )
            .db()?
            .first()
            .map(|r| Ok((submission_row(r)?, col::<Vec<u8>>(r, 10)?)))
            .transpose()
    }
}

impl PayerStore for PgStore {
    fn save_payer_run(
        &self,
        run: &NewPayerRun,
        results: &[PayerResultRow],
        payments: &[PaymentRow],
        differences: &[RatioDifferenceRow],
    ) -> Result<i64> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().db()?;
        let row = tx
            .query_one(
                "INSERT INTO payer_runs (as_of, at, actor, inputs, policy, summary, outcome) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &run.as_of,
                    &run.at,
                    &run.actor,
                    &run.inputs.to_string(),
                    &run.policy.to_string(),
                    &run.summary.to_string(),
                    &run.outcome,
                ],
            )
            .db()?;
        let id: i64 = col(&row, 0)?;
        // Each table takes its rows in one statement (arrays unnested), not
        // one round trip a row: a month's run is tens of thousands of rows.
        let col_of =
            |f: &dyn Fn(&PayerResultRow) -> String| results.iter().map(f).collect::<Vec<_>>();
        tx.execute(
            "INSERT INTO payer_results (run_id, institution_code, claim_month, claim_id, fate, detail) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
            &[
                &id,
                &col_of(&|r| r.institution_code.clone()),
                &col_of(&|r| r.claim_month.clone()),
                &col_of(&|r| r.claim_id.clone()),
                &col_of(&|r| r.fate.clone()),
                &col_of(&|r| r.detail.to_string()),
            ],
        )
        .db()?;
        let diff_of = |f: &dyn Fn(&RatioDifferenceRow) -> String| {
            differences.iter().map(f).collect::<Vec<_>>()
        };
        tx.execute(
            "INSERT INTO payer_ratio_differences (run_id, insurer, institution_code, claim_month, claim_id, detail) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
            &[
                &id,
                &diff_of(&|d| d.insurer.clone()),
                &diff_of(&|d| d.institution_code.clone()),
                &diff_of(&|d| d.claim_month.clone()),
                &diff_of(&|d| d.claim_id.clone()),
                &diff_of(&|d| d.detail.to_string()),
            ],
        )
        .db()?;
        // The payment record of these claims is replaced: the old rows go,
        // the new ones (summed per insurer) come in.
        let mut sums: std::collections::BTreeMap<(&str, &str, &str, &str, &str), u64> =
            std::collections::BTreeMap::new();
        for p in payments {
            let e = sums
                .entry((
                    &p.institution_code,
                    p.claim_month.as_str(),
                    &p.claim_id,
                    &p.insurer,
                    payer_code(p.payer),
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
        let key_col = |n: usize| {
            keys.iter()
                .map(|k| [k.0, k.1, k.2][n].to_owned())
                .collect::<Vec<_>>()
        };
        tx.execute(
            "DELETE FROM payment_record p USING unnest($1::text[], $2::text[], $3::text[]) AS k(i, m, c) \
             WHERE p.institution_code = k.i AND p.claim_month = k.m AND p.claim_id = k.c",
            &[&key_col(0), &key_col(1), &key_col(2)],
        )
        .db()?;
        let sum_col = |n: usize| {
            sums.keys()
                .map(|k| [k.0, k.1, k.2, k.3, k.4][n].to_owned())
                .collect::<Vec<_>>()
        };
        let yen = sums
            .values()
            .map(|y| yen_i64(*y))
            .collect::<Result<Vec<_>>>()?;
        tx.execute(
            "INSERT INTO payment_record (institution_code, claim_month, claim_id, insurer, payer, yen) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])",
            &[&sum_col(0), &sum_col(1), &sum_col(2), &sum_col(3), &sum_col(4), &yen],
        )
        .db()?;
        tx.commit().db()?;
        Ok(id)
    }

    fn ratio_differences(&self, insurer: &str) -> Result<Vec<RatioDifferenceRow>> {
        self.conn()?
            .query(
                "SELECT d.run_id, d.insurer, d.institution_code, d.claim_month, d.claim_id, d.detail \
                 FROM payer_ratio_differences d WHERE d.insurer = $1 AND d.run_id = ( \
                   SELECT max(e.run_id) FROM payer_ratio_differences e WHERE e.institution_code = d.institution_code \
                   AND e.claim_month = d.claim_month AND e.claim_id = d.claim_id) \
                 ORDER BY d.claim_month, d.institution_code, d.claim_id",
                &[&insurer],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(RatioDifferenceRow {
                    run_id: col(r, 0)?,
                    insurer: col(r, 1)?,
                    institution_code: col(r, 2)?,
                    claim_month: col(r, 3)?,
                    claim_id: col(r, 4)?,
                    detail: json_col(r, 5)?,
                })
            })
            .collect()
    }

    fn payer_runs(&self, limit: u32, offset: u32) -> Result<Vec<PayerRunRow>> {
        self.conn()?
            .query(
                "SELECT id, as_of, at, actor, inputs, policy, summary FROM payer_runs ORDER BY id DESC LIMIT $1 OFFSET $2",
                &[&i64::from(limit), &i64::from(offset)],
            )
            .db()?
            .iter()
            .map(|r| run_row(r, false))
            .collect()
    }

    fn payer_run(&self, id: i64) -> Result<Option<PayerRunRow>> {
        self.conn()?
            .query(
                "SELECT id, as_of, at, actor, inputs, policy, summary, outcome FROM payer_runs WHERE id = $1",
                &[&id],
            )
            .db()?
            .first()
            .map(|r| run_row(r, true))
            .transpose()
    }

    fn payer_results_for(&self, institution: &str, after_run: i64) -> Result<Vec<PayerResultRow>> {
        self.conn()?
            .query(
                "SELECT run_id, institution_code, claim_month, claim_id, fate, detail FROM payer_results \
                 WHERE institution_code = $1 AND run_id > $2 ORDER BY run_id, claim_month, claim_id",
                &[&institution, &after_run],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(PayerResultRow {
                    run_id: col(r, 0)?,
                    institution_code: col(r, 1)?,
                    claim_month: col(r, 2)?,
                    claim_id: col(r, 3)?,
                    fate: col(r, 4)?,
                    detail: json_col(r, 5)?,
                })
            })
            .collect()
    }

    fn payment_record(
        &self,
        institution: &str,
        payer: Payer,
        from: &str,
        to: &str,
    ) -> Result<Vec<PaymentRow>> {
        self.conn()?
            .query(
                "SELECT institution_code, payer, claim_month, claim_id, insurer, yen FROM payment_record \
                 WHERE institution_code = $1 AND payer = $2 AND claim_month BETWEEN $3 AND $4 \
                 ORDER BY claim_month, claim_id, insurer",
                &[&institution, &payer_code(payer), &from, &to],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(PaymentRow {
                    institution_code: col(r, 0)?,
                    payer: payer_col(r, 1)?,
                    claim_month: col(r, 2)?,
                    claim_id: col(r, 3)?,
                    insurer: col(r, 4)?,
                    yen: yen_u64(r, 5)?,
                })
            })
            .collect()
    }

    fn put_inquiry_answer(&self, a: &InquiryAnswerRow) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO payer_inquiries (institution_code, claim_month, claim_id, insurer, matches, answered_by, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (institution_code, claim_month, claim_id, insurer) \
                 DO UPDATE SET matches = excluded.matches, answered_by = excluded.answered_by, at = excluded.at",
                &[&a.institution_code, &a.claim_month, &a.claim_id, &a.insurer, &a.matches, &a.by, &a.at],
            )
            .db()?;
        Ok(())
    }

    fn inquiry_answers(
        &self,
        institution: &str,
        month: &str,
        claim_id: &str,
    ) -> Result<Vec<InquiryAnswerRow>> {
        self.conn()?
            .query(
                "SELECT institution_code, claim_month, claim_id, insurer, matches, answered_by, at FROM payer_inquiries \
                 WHERE institution_code = $1 AND claim_month = $2 AND claim_id = $3 ORDER BY insurer",
                &[&institution, &month, &claim_id],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(InquiryAnswerRow {
                    institution_code: col(r, 0)?,
                    claim_month: col(r, 1)?,
                    claim_id: col(r, 2)?,
                    insurer: col(r, 3)?,
                    matches: col(r, 4)?,
                    by: col(r, 5)?,
                    at: col(r, 6)?,
                })
            })
            .collect()
    }

    fn put_settlement(&self, s: &SettlementRow) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO ratio_settlements (insurer, institution_code, claim_month, claim_id, kind, yen, settled_on, done, settled_by, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (insurer, institution_code, claim_month, claim_id) DO UPDATE SET kind = excluded.kind, \
                 yen = excluded.yen, settled_on = excluded.settled_on, done = excluded.done, \
                 settled_by = excluded.settled_by, at = excluded.at",
                &[&s.insurer, &s.institution_code, &s.claim_month, &s.claim_id, &s.kind, &yen_i64(s.yen)?, &s.settled_on, &s.done, &s.by, &s.at],
            )
            .db()?;
        Ok(())
    }

    fn settlements(&self, insurer: &str) -> Result<Vec<SettlementRow>> {
        self.conn()?
            .query(
                "SELECT insurer, institution_code, claim_month, claim_id, kind, yen, settled_on, done, settled_by, at \
                 FROM ratio_settlements WHERE insurer = $1 ORDER BY claim_month, institution_code, claim_id",
                &[&insurer],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(SettlementRow {
                    insurer: col(r, 0)?,
                    institution_code: col(r, 1)?,
                    claim_month: col(r, 2)?,
                    claim_id: col(r, 3)?,
                    kind: col(r, 4)?,
                    yen: yen_u64(r, 5)?,
                    settled_on: col(r, 6)?,
                    done: col(r, 7)?,
                    by: col(r, 8)?,
                    at: col(r, 9)?,
                })
            })
            .collect()
    }
}
