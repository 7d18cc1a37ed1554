//! The reception side on SQLite: visits, declarations and their deletion log.

use chrono::NaiveDate;
use onshi_core::InstitutionCode;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::*;
use crate::{ClinicStore, Result};

const VISIT_COLS: &str = "v.id, v.institution_code, v.visited_on, v.patient_key, v.recheck_state, \
     v.claim_paid_on, v.record, v.created_at, EXISTS (SELECT 1 FROM declarations d WHERE d.visit_id = v.id)";

fn visit_row(r: &Row<'_>) -> rusqlite::Result<VisitRow> {
    let record: String = r.get(6)?;
    Ok(VisitRow {
        id: r.get(0)?,
        institution: parsed(1, InstitutionCode::parse(&r.get::<_, String>(1)?))?,
        visited_on: r.get(2)?,
        patient_key: r.get(3)?,
        recheck_state: r.get(4)?,
        claim_paid_on: r.get(5)?,
        record: serde_json::from_str(&record).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
        })?,
        created_at: r.get(7)?,
        has_declaration: r.get(8)?,
    })
}

impl SqliteStore {
    fn visits_where(&self, filter: &str, p: impl rusqlite::Params) -> Result<Vec<VisitRow>> {
        let c = self.conn()?;
        let mut st =
            c.prepare_cached(&format!("SELECT {VISIT_COLS} FROM visits v WHERE {filter}"))?;
        let rows = st.query_map(p, visit_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }
}

impl ClinicStore for SqliteStore {
    fn insert_visit(&self, v: &NewVisit) -> Result<i64> {
        let c = self.conn()?;
        c.prepare_cached(
            "INSERT INTO visits (institution_code, visited_on, patient_key, recheck_state, record, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )?
        .execute(params![v.institution.as_str(), v.visited_on, v.patient_key, v.recheck_state, v.record.to_string(), v.at])
        .map_err(classify)?;
        Ok(c.last_insert_rowid())
    }

    fn visit(&self, institution: &InstitutionCode, id: i64) -> Result<Option<VisitRow>> {
        Ok(self
            .visits_where(
                "v.institution_code = $1 AND v.id = $2",
                params![institution.as_str(), id],
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
        let c = self.conn()?;
        let n = c
            .prepare_cached(
                "UPDATE visits SET recheck_state = $1, record = $2, updated_at = $3 \
                 WHERE institution_code = $4 AND id = $5",
            )?
            .execute(params![
                recheck_state,
                record.to_string(),
                at,
                institution.as_str(),
                id
            ])
            .map_err(classify)?;
        Ok(n == 1)
    }

    fn visits_on(&self, institution: &InstitutionCode, day: NaiveDate) -> Result<Vec<VisitRow>> {
        self.visits_where(
            "v.institution_code = $1 AND v.visited_on = $2 ORDER BY v.id",
            params![institution.as_str(), day],
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
            params![institution.as_str(), from, to],
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
                params![institution.as_str(), patient_key, before_id],
            )?
            .pop())
    }

    fn pending_rechecks(&self, institution: &InstitutionCode, limit: u32) -> Result<Vec<VisitRow>> {
        self.visits_where(
            "v.institution_code = $1 AND v.recheck_state = 'pending' ORDER BY v.id LIMIT $2",
            params![institution.as_str(), limit],
        )
    }

    fn put_declaration(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
        form: &serde_json::Value,
        at: &str,
    ) -> Result<bool> {
        let c = self.conn()?;
        let n = c
            .prepare_cached(
                "INSERT INTO declarations (visit_id, form, submitted_at) \
                 SELECT id, $1, $2 FROM visits WHERE institution_code = $3 AND id = $4 \
                 ON CONFLICT (visit_id) DO UPDATE SET form = excluded.form, submitted_at = excluded.submitted_at",
            )?
            .execute(params![form.to_string(), at, institution.as_str(), visit_id])
            .map_err(classify)?;
        Ok(n == 1)
    }

    fn declaration(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
    ) -> Result<Option<DeclarationRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT d.visit_id, d.form, d.submitted_at FROM declarations d JOIN visits v ON v.id = d.visit_id \
             WHERE v.institution_code = $1 AND d.visit_id = $2",
        )?;
        st.query_row(params![institution.as_str(), visit_id], |r| {
            let form: String = r.get(1)?;
            Ok(DeclarationRow {
                visit_id: r.get(0)?,
                form: serde_json::from_str(&form).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        1,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
                submitted_at: r.get(2)?,
            })
        })
        .optional()
        .map_err(unwrap_corrupt)
    }

    fn mark_claim_paid(
        &self,
        institution: &InstitutionCode,
        visit_id: i64,
        paid_on: NaiveDate,
    ) -> Result<bool> {
        let c = self.conn()?;
        let n = c
            .prepare_cached(
                "UPDATE visits SET claim_paid_on = $1 WHERE institution_code = $2 AND id = $3",
            )?
            .execute(params![paid_on, institution.as_str(), visit_id])?;
        Ok(n == 1)
    }

    fn purge_declarations(
        &self,
        paid_on_or_before: NaiveDate,
        at: &str,
    ) -> Result<Vec<DeletionRow>> {
        let mut c = self.conn()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let due: Vec<(i64, String, NaiveDate)> = {
            let mut st = tx.prepare_cached(
                "SELECT v.id, v.institution_code, v.claim_paid_on FROM declarations d JOIN visits v ON v.id = d.visit_id \
                 WHERE v.claim_paid_on IS NOT NULL AND v.claim_paid_on <= $1 ORDER BY v.id",
            )?;
            let rows = st.query_map([paid_on_or_before], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let reason = "請求に係る支払が済んだため廃棄（被保険者資格申立書の記載による）";
        let mut out = Vec::with_capacity(due.len());
        for (visit_id, inst, paid) in due {
            tx.prepare_cached("DELETE FROM declarations WHERE visit_id = $1")?
                .execute([visit_id])?;
            tx.prepare_cached(
                "INSERT INTO declaration_deletions (visit_id, institution_code, claim_paid_on, deleted_at, reason) \
                 VALUES ($1, $2, $3, $4, $5)",
            )?
            .execute(params![visit_id, inst, paid, at, reason])?;
            out.push(DeletionRow {
                visit_id,
                institution_code: inst,
                claim_paid_on: paid,
                deleted_at: at.to_owned(),
                reason: reason.into(),
            });
        }
        tx.commit()?;
        Ok(out)
    }

    fn deletions(&self, institution: &InstitutionCode) -> Result<Vec<DeletionRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT visit_id, institution_code, claim_paid_on, deleted_at, reason FROM declaration_deletions \
             WHERE institution_code = $1 ORDER BY id",
        )?;
        let rows = st.query_map([institution.as_str()], |r| {
            Ok(DeletionRow {
                visit_id: r.get(0)?,
                institution_code: r.get(1)?,
                claim_paid_on: r.get(2)?,
                deleted_at: r.get(3)?,
                reason: r.get(4)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }
}
