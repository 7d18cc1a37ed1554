//! The system-failure mode on SQLite.

use chrono::NaiveDate;
use onshi_core::InstitutionCode;
use rusqlite::{OptionalExtension, Row, params};

use super::*;
use crate::chain::{GENESIS, audit_hash};
use crate::{FailureModeStore, Result};

const REQ_COLS: &str = "r.id, r.institution_code, i.name, i.phone, r.contact_name, r.reason, r.status, r.requested_at, \
     r.confirmed_at, r.confirmed_by, r.called_number, r.enabled_from, r.enabled_until, r.report_due_on, r.report_received_at";

fn req_row(r: &Row<'_>) -> rusqlite::Result<FailureModeRequestRow> {
    Ok(FailureModeRequestRow {
        id: r.get(0)?,
        institution_code: r.get(1)?,
        institution_name: r.get(2)?,
        phone_on_file: r.get(3)?,
        contact_name: r.get(4)?,
        reason: r.get(5)?,
        status: r.get(6)?,
        requested_at: r.get(7)?,
        confirmed_at: r.get(8)?,
        confirmed_by: r.get(9)?,
        called_number: r.get(10)?,
        enabled_from: r.get(11)?,
        enabled_until: r.get(12)?,
        report_due_on: r.get(13)?,
        report_received_at: r.get(14)?,
    })
}

impl SqliteStore {
    fn fm_where(
        &self,
        filter: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<FailureModeRequestRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {REQ_COLS} FROM failure_mode_requests r JOIN institutions i ON i.code = r.institution_code \
             WHERE {filter} ORDER BY r.id DESC"
        ))?;
        let rows = st.query_map(p, req_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }
}

/// The person search with only the present key columns: `?1` birth date,
/// `?2` sex, then one parameter per key, then the limit.
fn person_search_sql(keys: &[(&'static str, &str)]) -> String {
    let mut sql = format!("SELECT {PERSON_COLS} FROM persons WHERE birth_date = ?1 AND sex = ?2");
    for (i, (col, _)) in keys.iter().enumerate() {
        sql.push_str(&format!(" AND {col} = ?{}", i + 3));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT ?{}", keys.len() + 3));
    sql
}

impl FailureModeStore for SqliteStore {
    fn fm_create_request(
        &self,
        institution: &InstitutionCode,
        contact: &str,
        reason: Option<&str>,
        at: &str,
    ) -> Result<i64> {
        let c = self.conn()?;
        c.prepare_cached(
            "INSERT INTO failure_mode_requests (institution_code, contact_name, reason, status, requested_at) \
             VALUES ($1, $2, $3, 'requested', $4)",
        )?
        .execute(params![institution.as_str(), contact, reason, at])
        .map_err(classify)?;
        Ok(c.last_insert_rowid())
    }

    fn fm_request(&self, id: i64) -> Result<Option<FailureModeRequestRow>> {
        Ok(self.fm_where("r.id = $1", [id])?.pop())
    }

    fn fm_requests(
        &self,
        institution: Option<&InstitutionCode>,
        status: Option<&str>,
    ) -> Result<Vec<FailureModeRequestRow>> {
        self.fm_where(
            "($1 IS NULL OR r.institution_code = $1) AND ($2 IS NULL OR r.status = $2)",
            params![institution.map(InstitutionCode::as_str), status],
        )
    }

    fn fm_confirm(&self, id: i64, operator: &str, called_number: &str, at: &str) -> Result<bool> {
        let c = self.conn()?;
        let n = c
            .prepare_cached(
                "UPDATE failure_mode_requests SET status = 'confirmed', confirmed_at = $1, confirmed_by = $2, \
                 called_number = $3 WHERE id = $4 AND status = 'requested'",
            )?
            .execute(params![at, operator, called_number, id])?;
        Ok(n == 1)
    }

    fn fm_enable(
        &self,
        id: i64,
        from: &str,
        until: &str,
        report_due_on: NaiveDate,
    ) -> Result<bool> {
        let c = self.conn()?;
        let n = c
            .prepare_cached(
                "UPDATE failure_mode_requests SET status = 'enabled', enabled_from = $1, enabled_until = $2, \
                 report_due_on = $3 WHERE id = $4 AND status = 'confirmed'",
            )?
            .execute(params![from, until, report_due_on, id])?;
        Ok(n == 1)
    }

    fn fm_report(
        &self,
        institution: &InstitutionCode,
        id: i64,
        text: &str,
        at: &str,
    ) -> Result<bool> {
        let c = self.conn()?;
        let n = c
            .prepare_cached(
                "UPDATE failure_mode_requests SET report_received_at = $1, report_text = $2 \
                 WHERE id = $3 AND institution_code = $4 AND status = 'enabled'",
            )?
            .execute(params![at, text, id, institution.as_str()])?;
        Ok(n == 1)
    }

    fn fm_overdue(&self, today: NaiveDate) -> Result<Vec<FailureModeRequestRow>> {
        self.fm_where(
            "r.status = 'enabled' AND r.report_received_at IS NULL AND r.report_due_on < $1",
            [today],
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
        let c = self.conn()?;
        c.prepare_cached(
            "INSERT INTO disaster_activations (prefecture, enabled_from, enabled_until, reason, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )?
        .execute(params![prefecture, from, until, reason, at, by])
        .map_err(classify)?;
        Ok(c.last_insert_rowid())
    }

    fn fm_disasters(&self) -> Result<Vec<DisasterRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT id, prefecture, enabled_from, enabled_until, reason, created_by FROM disaster_activations ORDER BY id DESC",
        )?;
        let rows = st.query_map([], |r| {
            Ok(DisasterRow {
                id: r.get(0)?,
                prefecture: r.get(1)?,
                enabled_from: r.get(2)?,
                enabled_until: r.get(3)?,
                reason: r.get(4)?,
                created_by: r.get(5)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn fm_active(&self, institution: &InstitutionCode, now: &str) -> Result<Option<String>> {
        let c = self.conn()?;
        let own: Option<i64> = c
            .prepare_cached(
                "SELECT id FROM failure_mode_requests WHERE institution_code = $1 AND status = 'enabled' \
                 AND enabled_from <= $2 AND $2 < enabled_until ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![institution.as_str(), now], |r| r.get(0))
            .optional()?;
        if let Some(id) = own {
            return Ok(Some(format!("request:{id}")));
        }
        let disaster: Option<i64> = c
            .prepare_cached(
                "SELECT id FROM disaster_activations WHERE prefecture = $1 AND enabled_from <= $2 AND $2 < enabled_until \
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![institution.prefecture(), now], |r| r.get(0))
            .optional()?;
        Ok(disaster.map(|id| format!("disaster:{id}")))
    }

    fn fm_search_persons(&self, q: &PersonSearch, limit: u32) -> Result<Vec<PersonRow>> {
        let keys = q.keys();
        let sql = person_search_sql(&keys);
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&q.birth_date, &q.sex];
        args.extend(keys.iter().map(|(_, v)| v as &dyn rusqlite::ToSql));
        args.push(&limit);
        let c = self.conn()?;
        let mut st = c.prepare_cached(&sql)?;
        let rows = st.query_map(args.as_slice(), person_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn fm_record_search(
        &self,
        institution: &InstitutionCode,
        at: &str,
        checked_on: NaiveDate,
        candidates: &[i64],
        purpose: Option<&str>,
    ) -> Result<i64> {
        let c = self.conn()?;
        c.prepare_cached(
            "INSERT INTO failure_mode_searches (institution_code, searched_at, checked_on, candidates, purpose) \
             VALUES ($1, $2, $3, $4, $5)",
        )?
        .execute(params![institution.as_str(), at, checked_on, json_text(&candidates)?, purpose])
        .map_err(classify)?;
        Ok(c.last_insert_rowid())
    }

    fn fm_search(&self, institution: &InstitutionCode, id: i64) -> Result<Option<SearchRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT id, searched_at, checked_on, candidates FROM failure_mode_searches WHERE institution_code = $1 AND id = $2",
        )?;
        st.query_row(params![institution.as_str(), id], |r| {
            let cands: String = r.get(3)?;
            Ok(SearchRow {
                id: r.get(0)?,
                searched_at: r.get(1)?,
                checked_on: r.get(2)?,
                candidates: serde_json::from_str(&cands).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        3,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
            })
        })
        .optional()
        .map_err(unwrap_corrupt)
    }

    fn fm_searches_since(&self, institution: &InstitutionCode, since: &str) -> Result<u64> {
        let c = self.conn()?;
        let n: i64 = c
            .prepare_cached("SELECT count(*) FROM failure_mode_searches WHERE institution_code = $1 AND searched_at >= $2")?
            .query_row(params![institution.as_str(), since], |r| r.get(0))?;
        Ok(n as u64)
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
        let mut c = self.conn()?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let detail = detail.to_string();
        let prev: Option<Option<String>> = tx
            .prepare_cached("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        // A last entry from before the chain (no hash) starts it over.
        let prev = prev.flatten().unwrap_or_else(|| GENESIS.to_owned());
        let hash = audit_hash(at, actor, action, person_id, purpose, &detail, &prev);
        tx.prepare_cached(
            "INSERT INTO audit_log (at, actor, action, person_id, purpose, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )?
        .execute(params![at, actor, action, person_id, purpose, detail, prev, hash])
        .map_err(classify)?;
        tx.commit().map_err(classify)?;
        Ok(())
    }

    fn chain_start(&self) -> Result<ChainStart> {
        let c = self.conn()?;
        let mut st = c.prepare_cached("SELECT chain, before_id FROM chain_start")?;
        let mut start = ChainStart::default();
        for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (chain, id) = row?;
            match chain.as_str() {
                "audit_log" => start.audit_log = id,
                "check_history" => start.check_history = id,
                _ => {}
            }
        }
        Ok(start)
    }

    fn audit_entries(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT id, at, actor, action, person_id, purpose, detail, prev_hash, hash \
             FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
        )?;
        let rows = st.query_map(params![after_id, limit], |r| {
            let detail: Option<String> = r.get(6)?;
            Ok(AuditRow {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                person_id: r.get(4)?,
                purpose: r.get(5)?,
                detail: detail
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or(serde_json::Value::Null),
                prev_hash: r.get(7)?,
                hash: r.get(8)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan SQLite chooses for the person search: an index, never a scan
    /// of every person (the search's p99 at 10 M persons depends on it).
    #[test]
    fn person_search_uses_a_key_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plan.sqlite")).unwrap();
        let c = store.conn().unwrap();
        for keys in [
            vec![("name_key", "x")],
            vec![("kana_key", "x")],
            vec![("name_key", "x"), ("address_key", "y")],
            vec![("kana_key", "x"), ("address_key", "y")],
            vec![("name_key", "x"), ("kana_key", "z"), ("address_key", "y")],
        ] {
            let sql = format!("EXPLAIN QUERY PLAN {}", person_search_sql(&keys));
            let mut st = c.prepare(&sql).unwrap();
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&"1980-01-01", &1];
            args.extend(keys.iter().map(|(_, v)| v as &dyn rusqlite::ToSql));
            args.push(&50);
            let plan: Vec<String> = st
                .query_map(args.as_slice(), |r| r.get::<_, String>(3))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let plan = plan.join(" | ");
            assert!(plan.contains("USING INDEX persons_"), "{keys:?}: {plan}");
            assert!(!plan.contains("SCAN persons"), "{keys:?}: {plan}");
        }
    }
}
