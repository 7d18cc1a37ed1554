//! The system-failure mode on PostgreSQL.

use ::postgres::Row;
use ::postgres::types::ToSql;
use chrono::NaiveDate;
use onshi_core::InstitutionCode;

use super::*;
use crate::{FailureModeStore, Result};

const REQ_COLS: &str = "r.id, r.institution_code, i.name, i.phone, r.contact_name, r.reason, r.status, r.requested_at, \
     r.confirmed_at, r.confirmed_by, r.called_number, r.enabled_from, r.enabled_until, r.report_due_on, r.report_received_at";

fn req_row(r: &Row) -> Result<FailureModeRequestRow> {
    Ok(FailureModeRequestRow {
        id: col(r, 0)?,
        institution_code: col(r, 1)?,
        institution_name: col(r, 2)?,
        phone_on_file: col(r, 3)?,
        contact_name: col(r, 4)?,
        reason: col(r, 5)?,
        status: col(r, 6)?,
        requested_at: col(r, 7)?,
        confirmed_at: col(r, 8)?,
        confirmed_by: col(r, 9)?,
        called_number: col(r, 10)?,
        enabled_from: col(r, 11)?,
        enabled_until: col(r, 12)?,
        report_due_on: col(r, 13)?,
        report_received_at: col(r, 14)?,
    })
}

/// Requests matching `filter`, newest first.
fn fm_where(
    c: &mut Client,
    filter: &str,
    p: &[&(dyn ToSql + Sync)],
) -> Result<Vec<FailureModeRequestRow>> {
    c.query(
            &format!(
                "SELECT {REQ_COLS} FROM failure_mode_requests r JOIN institutions i ON i.code = r.institution_code \
                 WHERE {filter} ORDER BY r.id DESC"
            ),
            p,
        )
        .db()?
        .iter()
        .map(req_row)
        .collect()
}

impl FailureModeStore for PgStore {
    fn fm_create_request(
        &self,
        institution: &InstitutionCode,
        contact: &str,
        reason: Option<&str>,
        at: &str,
    ) -> Result<i64> {
        let row = self
            .conn()?
            .query_one(
                "INSERT INTO failure_mode_requests (institution_code, contact_name, reason, status, requested_at) \
                 VALUES ($1, $2, $3, 'requested', $4) RETURNING id",
                &[&institution.as_str(), &contact, &reason, &at],
            )
            .db()?;
        col(&row, 0)
    }

    fn fm_request(&self, id: i64) -> Result<Option<FailureModeRequestRow>> {
        Ok(fm_where(&mut *self.conn()?, "r.id = $1", &[&id])?.pop())
    }

    fn fm_requests(
        &self,
        institution: Option<&InstitutionCode>,
        status: Option<&str>,
    ) -> Result<Vec<FailureModeRequestRow>> {
        // From the primary: the desk and the operator act on this list right
        // after changing it, so it must show their own writes.
        fm_where(
            &mut *self.conn()?,
            "($1::text IS NULL OR r.institution_code = $1::text) AND ($2::text IS NULL OR r.status = $2::text)",
            &[&institution.map(InstitutionCode::as_str), &status],
        )
    }

    fn fm_confirm(&self, id: i64, operator: &str, called_number: &str, at: &str) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "UPDATE failure_mode_requests SET status = 'confirmed', confirmed_at = $1, confirmed_by = $2, \
                 called_number = $3 WHERE id = $4 AND status = 'requested'",
                &[&at, &operator, &called_number, &id],
            )
            .db()?;
        Ok(n == 1)
    }

    fn fm_enable(
        &self,
        id: i64,
        from: &str,
        until: &str,
        report_due_on: NaiveDate,
    ) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "UPDATE failure_mode_requests SET status = 'enabled', enabled_from = $1, enabled_until = $2, \
                 report_due_on = $3 WHERE id = $4 AND status = 'confirmed'",
                &[&from, &until, &report_due_on, &id],
            )
            .db()?;
        Ok(n == 1)
    }

    fn fm_report(
        &self,
        institution: &InstitutionCode,
        id: i64,
        text: &str,
        at: &str,
    ) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "UPDATE failure_mode_requests SET report_received_at = $1, report_text = $2 \
                 WHERE id = $3 AND institution_code = $4 AND status = 'enabled'",
                &[&at, &text, &id, &institution.as_str()],
            )
            .db()?;
        Ok(n == 1)
    }

    fn fm_overdue(&self, today: NaiveDate) -> Result<Vec<FailureModeRequestRow>> {
        fm_where(
            &mut *self.read_conn()?,
            "r.status = 'enabled' AND r.report_received_at IS NULL AND r.report_due_on < $1",
            &[&today],
        )
    }

    fn fm_add_disaster(
        &self,
        prefecture: u8,
        from: &str,
        until: &str,
        reason: &str,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let row = self
            .conn()?
            .query_one(
                "INSERT INTO disaster_activations (prefecture, enabled_from, enabled_until, reason, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&i16::from(prefecture), &from, &until, &reason, &at, &by],
            )
            .db()?;
        col(&row, 0)
    }

    fn fm_disasters(&self) -> Result<Vec<DisasterRow>> {
        self.conn()?
            .query(
                "SELECT id, prefecture, enabled_from, enabled_until, reason, created_by FROM disaster_activations \
                 ORDER BY id DESC",
                &[],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(DisasterRow {
                    id: col(r, 0)?,
                    prefecture: small(r, 1)?,
                    enabled_from: col(r, 2)?,
                    enabled_until: col(r, 3)?,
                    reason: col(r, 4)?,
                    created_by: col(r, 5)?,
                })
            })
            .collect()
    }

    fn fm_active(&self, institution: &InstitutionCode, now: &str) -> Result<Option<String>> {
        let mut c = self.conn()?;
        let own = c
            .query_opt(
                "SELECT id FROM failure_mode_requests WHERE institution_code = $1 AND status = 'enabled' \
                 AND enabled_from <= $2 AND $2 < enabled_until ORDER BY id DESC LIMIT 1",
                &[&institution.as_str(), &now],
            )
            .db()?;
        if let Some(r) = own {
            return Ok(Some(format!("request:{}", col::<i64>(&r, 0)?)));
        }
        let disaster = c
            .query_opt(
                "SELECT id FROM disaster_activations WHERE prefecture = $1 AND enabled_from <= $2 \
                 AND $2 < enabled_until ORDER BY id DESC LIMIT 1",
                &[&i16::from(institution.prefecture()), &now],
            )
            .db()?;
        disaster
            .map(|r| Ok(format!("disaster:{}", col::<i64>(&r, 0)?)))
            .transpose()
    }

    fn fm_search_persons(&self, q: &PersonSearch, limit: u32) -> Result<Vec<PersonRow>> {
        // Exact key matches, compared byte for byte (the key columns are
        // COLLATE "C", as SQLite's BINARY).
        let keys = q.keys();
        let (sex, limit) = (i16::from(q.sex), big(limit));
        let mut sql =
            format!("SELECT {PERSON_COLS} FROM persons WHERE birth_date = $1 AND sex = $2");
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&q.birth_date, &sex];
        for (col, value) in &keys {
            args.push(value);
            sql.push_str(&format!(" AND {col} = ${}", args.len()));
        }
        args.push(&limit);
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", args.len()));
        self.conn()?
            .query(&sql, &args)
            .db()?
            .iter()
            .map(person_row)
            .collect()
    }

    fn fm_record_search(
        &self,
        institution: &InstitutionCode,
        at: &str,
        checked_on: NaiveDate,
        candidates: &[i64],
        purpose: Option<&str>,
    ) -> Result<i64> {
        let row = self
            .conn()?
            .query_one(
                "INSERT INTO failure_mode_searches (institution_code, searched_at, checked_on, candidates, purpose) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &institution.as_str(),
                    &at,
                    &checked_on,
                    &json_text(&candidates)?,
                    &purpose,
                ],
            )
            .db()?;
        col(&row, 0)
    }

    fn fm_search(&self, institution: &InstitutionCode, id: i64) -> Result<Option<SearchRow>> {
        self.conn()?
            .query_opt(
                "SELECT id, searched_at, checked_on, candidates FROM failure_mode_searches \
                 WHERE institution_code = $1 AND id = $2",
                &[&institution.as_str(), &id],
            )
            .db()?
            .map(|r| {
                Ok(SearchRow {
                    id: col(&r, 0)?,
                    searched_at: col(&r, 1)?,
                    checked_on: col(&r, 2)?,
                    candidates: json_col(&r, 3)?,
                })
            })
            .transpose()
    }

    fn fm_searches_since(&self, institution: &InstitutionCode, since: &str) -> Result<u64> {
        let r = self
            .conn()?
            .query_one(
                "SELECT count(*) FROM failure_mode_searches WHERE institution_code = $1 AND searched_at >= $2",
                &[&institution.as_str(), &since],
            )
            .db()?;
        u64::try_from(col::<i64>(&r, 0)?).map_err(|e| corrupt(0, e))
    }

    fn audit(
        &self,
        at: &str,
        actor: &str,
        action: &str,
        person_id: Option<i64>,
        purpose: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<()> {
        // Readers follow the log by id (`audit_entries`): entries are
        // serialised from before the id is drawn until commit, so ids become
        // visible in order (PostgreSQL assigns them at insert, not commit).
        let mut c = self.conn()?;
        let mut tx = c.transaction().db()?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('onshi.audit:' || current_schema(), 0))",
            &[],
        )
        .db()?;
        // The chain ([`crate::chain`]) follows the same lock.
        let prev: String = match tx
            .query_opt("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1", &[])
            .db()?
        {
            Some(r) => col::<Option<String>>(&r, 0)?,
            None => None,
        }
        .unwrap_or_else(|| crate::chain::GENESIS.to_owned());
        let detail = detail.to_string();
        let hash = crate::chain::audit_hash(at, actor, action, person_id, purpose, &detail, &prev);
        tx.execute(
            "INSERT INTO audit_log (at, actor, action, person_id, purpose, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&at, &actor, &action, &person_id, &purpose, &detail, &prev, &hash],
        )
        .db()?;
        tx.commit().db()?;
        Ok(())
    }

    fn chain_start(&self) -> Result<ChainStart> {
        let mut start = ChainStart::default();
        for r in self
            .conn()?
            .query("SELECT chain, before_id FROM chain_start", &[])
            .db()?
        {
            let (chain, id): (String, i64) = (col(&r, 0)?, col(&r, 1)?);
            match chain.as_str() {
                "audit_log" => start.audit_log = id,
                "check_history" => start.check_history = id,
                _ => {}
            }
        }
        Ok(start)
    }

    fn audit_entries(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRow>> {
        self.conn()?
            .query(
                "SELECT id, at, actor, action, person_id, purpose, detail, prev_hash, hash \
                 FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after_id, &big(limit)],
            )
            .db()?
            .iter()
            .map(|r| {
                let detail: Option<&str> = col(r, 6)?;
                Ok(AuditRow {
                    id: col(r, 0)?,
                    at: col(r, 1)?,
                    actor: col(r, 2)?,
                    action: col(r, 3)?,
                    person_id: col(r, 4)?,
                    purpose: col(r, 5)?,
                    detail: detail
                        .and_then(|d| serde_json::from_str(d).ok())
                        .unwrap_or(serde_json::Value::Null),
                    prev_hash: col(r, 7)?,
                    hash: col(r, 8)?,
                })
            })
            .collect()
    }
}
