//! The reception side on PostgreSQL: visits, declarations and their deletion log.

use ::postgres::Row;
use ::postgres::types::ToSql;
use chrono::NaiveDate;
use onshi_core::InstitutionCode;

use super::*;
use crate::{ClinicStore, Result};

const VISIT_COLS: &str = "v.id, v.institution_code, v.visited_on, v.patient_key, v.recheck_state, \
     v.claim_paid_on, v.record, v.created_at, EXISTS (SELECT 1 FROM declarations d WHERE d.visit_id = v.id)";

fn visit_row(r: &Row) -> Result<VisitRow> {
    Ok(VisitRow {
        id: col(r, 0)?,
        institution: text_as(r, 1, InstitutionCode::parse)?,
        visited_on: col(r, 2)?,
        patient_key: col(r, 3)?,
        recheck_state: col(r, 4)?,
        claim_paid_on: col(r, 5)?,
        record: json_col(r, 6)?,
        created_at: col(r, 7)?,
        has_declaration: col(r, 8)?,
    })
}

const PURGE_REASON: &str = "請求に係る支払が済んだため廃棄（被保険者資格申立書の記載による）";

impl PgStore {
    fn visits_where(&self, filter: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Vec<VisitRow>> {
        self.conn()?
            .query(
                &format!("SELECT {VISIT_COLS} FROM visits v WHERE {filter}"),
                p,
            )
            .db()?
            .iter()
            .map(visit_row)
            .collect()
    }
}

impl ClinicStore for PgStore {
    fn insert_visit(&self, v: &NewVisit) -> Result<i64> {
        let row = self
            .conn()?
            .query_one(
                "INSERT INTO visits (institution_code, visited_on, patient_key, recheck_state, record, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                &[
                    &v.institution.as_str(),
                    &v.visited_on,
                    &v.patient_key,
                    &v.recheck_state,
                    &v.record.to_string(),
                    &v.at,
                ],
            )
            .db()?;
        col(&row, 0)
    }

    fn visit(&self, institution: &InstitutionCode, id: i64) -> Result<Option<VisitRow>> {
        Ok(self
            .visits_where(
                "v.institution_code = $1 AND v.id = $2",
                &[&institution.as_str(), &id],
            )?
            .pop())
    }

    fn update_visit(
        &self,
        institution: &InstitutionCode,
        id: i64,
        recheck_state: &str,
        record: &serde_json::Value,
        at: &str,
    ) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "UPDATE visits SET recheck_state = $1, record = $2, updated_at = $3 \
                 WHERE institution_code = $4 AND id = $5",
                &[
                    &recheck_state,
                    &record.to_string(),
                    &at,
                    &institution.as_str(),
                    &id,
                ],
            )
            .db()?;
        Ok(n == 1)
    }

    fn visits_on(&self, institution: &InstitutionCode, day: NaiveDate) -> Result<Vec<VisitRow>> {
        self.visits_where(
            "v.institution_code = $1 AND v.visited_on = $2 ORDER BY v.id",
            &[&institution.as_str(), &day],
        )
    }

    fn visits_between(
        &self,
        institution: &InstitutionCode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<VisitRow>> {
        self.visits_where(
            "v.institution_code = $1 AND v.visited_on BETWEEN $2 AND $3 ORDER BY v.visited_on, v.id",
            &[&institution.as_str(), &from, &to],
        )
    }

    fn previous_visit(
        &self,
        institution: &InstitutionCode,
        patient_key: &str,
        before_id: i64,
    ) -> Result<Option<VisitRow>> {
        Ok(self
            .visits_where(
                "v.institution_code = $1 AND v.patient_key = $2 AND v.id < $3 ORDER BY v.id DESC LIMIT 1",
                &[&institution.as_str(), &patient_key, &before_id],
            )?
            .pop())
    }

    fn pending_rechecks(&self, institution: &InstitutionCode, limit: u32) -> Result<Vec<VisitRow>> {
        self.visits_where(
            "v.institution_code = $1 AND v.recheck_state = 'pending' ORDER BY v.id LIMIT $2",
            &[&institution.as_str(), &big(limit)],
        )
    }

    fn put_declaration(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
        form: &serde_json::Value,
        at: &str,
    ) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "INSERT INTO declarations (visit_id, form, submitted_at) \
                 SELECT id, $1, $2 FROM visits WHERE institution_code = $3 AND id = $4 \
                 ON CONFLICT (visit_id) DO UPDATE SET form = excluded.form, submitted_at = excluded.submitted_at",
                &[&form.to_string(), &at, &institution.as_str(), &visit_id],
            )
            .db()?;
        Ok(n == 1)
    }

    fn declaration(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
    ) -> Result<Option<DeclarationRow>> {
        self.conn()?
            .query_opt(
                "SELECT d.visit_id, d.form, d.submitted_at FROM declarations d JOIN visits v ON v.id = d.visit_id \
                 WHERE v.institution_code = $1 AND d.visit_id = $2",
                &[&institution.as_str(), &visit_id],
            )
            .db()?
            .map(|r| {
                Ok(DeclarationRow {
                    visit_id: col(&r, 0)?,
                    form: json_col(&r, 1)?,
                    submitted_at: col(&r, 2)?,
                })
            })
            .transpose()
    }

    fn mark_claim_paid(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
        paid_on: NaiveDate,
    ) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "UPDATE visits SET claim_paid_on = $1 WHERE institution_code = $2 AND id = $3",
                &[&paid_on, &institution.as_str(), &visit_id],
            )
            .db()?;
        Ok(n == 1)
    }

    fn purge_declarations(
        &self,
        paid_on_or_before: NaiveDate,
        at: &str,
    ) -> Result<Vec<DeletionRow>> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().db()?;
        // The declarations are locked, so a concurrent purge waits and then
        // finds them gone instead of logging them twice.
        let due = tx
            .query(
                "SELECT v.id, v.institution_code, v.claim_paid_on FROM declarations d \
                 JOIN visits v ON v.id = d.visit_id \
                 WHERE v.claim_paid_on IS NOT NULL AND v.claim_paid_on <= $1 ORDER BY v.id FOR UPDATE OF d",
                &[&paid_on_or_before],
            )
            .db()?;
        let delete = tx
            .prepare("DELETE FROM declarations WHERE visit_id = $1")
            .db()?;
        let log = tx
            .prepare(
                "INSERT INTO declaration_deletions (visit_id, institution_code, claim_paid_on, deleted_at, reason) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .db()?;
        let mut out = Vec::with_capacity(due.len());
        for r in &due {
            let visit_id: i64 = col(r, 0)?;
            let inst: String = col(r, 1)?;
            let paid: NaiveDate = col(r, 2)?;
            if tx.execute(&delete, &[&visit_id]).db()? == 0 {
                continue;
            }
            tx.execute(&log, &[&visit_id, &inst, &paid, &at, &PURGE_REASON])
                .db()?;
            out.push(DeletionRow {
                visit_id,
                institution_code: inst,
                claim_paid_on: paid,
                deleted_at: at.to_owned(),
                reason: PURGE_REASON.into(),
            });
        }
        tx.commit().db()?;
        Ok(out)
    }

    fn deletions(&self, institution: &InstitutionCode) -> Result<Vec<DeletionRow>> {
        self.read_conn()?
            .query(
                "SELECT visit_id, institution_code, claim_paid_on, deleted_at, reason FROM declaration_deletions \
                 WHERE institution_code = $1 ORDER BY id",
                &[&institution.as_str()],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(DeletionRow {
                    visit_id: col(r, 0)?,
                    institution_code: col(r, 1)?,
                    claim_paid_on: col(r, 2)?,
                    deleted_at: col(r, 3)?,
                    reason: col(r, 4)?,
                })
            })
            .collect()
    }
}
