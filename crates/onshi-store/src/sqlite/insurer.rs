//! The insurer side on SQLite: registrations with the 5-attribute match,
//! losses, corrections, Idempotency-Keys, the insurer's records and reports.

use chrono::NaiveDate;
use onshi_core::matching::{Attribute, differing};
use onshi_core::{InsurerNumber, Person, PersonRef};
use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::*;
use crate::{InsurerStore, Result, StoreError};

/// Whether a write's transaction is kept, and the answer to store with its key.
enum Finish {
    Commit(StoredResponse),
    Rollback,
}

fn claimed(tx: &Transaction<'_>, claim: &IdemClaim) -> rusqlite::Result<Option<Idem<()>>> {
    let prev: Option<(String, i64, String)> = tx
        .prepare_cached(
            "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
        )?
        .query_row(params![claim.scope, claim.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(prev.map(|(hash, status, body)| {
        if hash == claim.request_hash {
            Idem::Replay(StoredResponse {
                status: status as u16,
                body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
            })
        } else {
            Idem::KeyReused
        }
    }))
}

fn into_idem<T>(prev: Idem<()>) -> Idem<T> {
    match prev {
        Idem::Replay(r) => Idem::Replay(r),
        _ => Idem::KeyReused,
    }
}

impl SqliteStore {
    /// Runs `work` in one IMMEDIATE transaction that first honours `claim`
    /// and, on commit, stores the answer under it.
    fn idempotent<T>(
        &self,
        claim: Option<&IdemClaim>,
        recorded_at: &str,
        work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<(T, Finish)>,
    ) -> Result<Idem<T>> {
        let mut c = self.conn()?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(cl) = claim
            && let Some(prev) = claimed(&tx, cl)?
        {
            return Ok(into_idem(prev));
        }
        let (value, finish) = work(&tx).map_err(unwrap_corrupt)?;
        if let Finish::Commit(resp) = finish {
            if let Some(cl) = claim {
                tx.prepare_cached(
                    "INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )?
                .execute(params![cl.scope, cl.key, cl.request_hash, resp.status, resp.body.to_string(), recorded_at])
                .map_err(classify)?;
            }
            tx.commit()?;
        }
        Ok(Idem::Fresh(value))
    }
}

const RECORD_COLS: &str = "p.person_ref, q.declared, q.visible, q.mismatch, q.registered_at, \
     p.name, p.kana, p.birth_date, p.sex, p.address";

fn record_sql(filter: &str) -> String {
    format!(
        "SELECT {QUAL_COLS}, {RECORD_COLS} FROM qualifications q \
         JOIN insurers i ON i.number = q.insurer_number \
         JOIN persons p ON p.id = q.person_id WHERE q.insurer_number = $1 {filter}"
    )
}

fn record_row(r: &Row<'_>) -> rusqlite::Result<InsurerRecord> {
    let q = qualification_row(r)?;
    let declared: Option<String> = r.get(13)?;
    let declared = match declared {
        Some(json) => serde_json::from_str::<Person>(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(13, rusqlite::types::Type::Text, Box::new(e))
        })?,
        None => person_at(r, 17)?,
    };
    let mismatch: Option<String> = r.get(15)?;
    Ok(InsurerRecord {
        id: q.id,
        person_ref: parsed(12, PersonRef::parse(&r.get::<_, String>(12)?))?,
        declared,
        insurer_name: q.insurer_name,
        qualification: q.qualification,
        visible: r.get(14)?,
        mismatch: mismatch
            .iter()
            .flat_map(|m| m.split(','))
            .filter_map(Attribute::parse)
            .collect(),
        registered_at: r.get(16)?,
    })
}

fn record_in(
    tx: &Transaction<'_>,
    insurer: &InsurerNumber,
    id: i64,
) -> rusqlite::Result<Option<InsurerRecord>> {
    tx.prepare_cached(&record_sql("AND q.id = $2"))?
        .query_row(params![insurer.as_str(), id], record_row)
        .optional()
}

fn resident(
    tx: &Transaction<'_>,
    person_ref: &PersonRef,
) -> rusqlite::Result<Option<(i64, Person)>> {
    tx.prepare_cached(
        "SELECT id, name, kana, birth_date, sex, address FROM persons WHERE person_ref = $1",
    )?
    .query_row([person_ref.as_str()], |r| Ok((r.get(0)?, person_at(r, 1)?)))
    .optional()
}

/// (person, 保険者番号, 記号, 番号, 枝番, 資格取得日): what makes two rows of a
/// batch the same qualification.
type BatchKey = (
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    chrono::NaiveDate,
);

/// An already registered qualification of the same person with the same
/// numbers and 資格取得日 (a re-sent registration), other than `except`.
fn duplicate_of(
    tx: &Transaction<'_>,
    person_id: i64,
    q: &onshi_core::Qualification,
    except: i64,
) -> rusqlite::Result<Option<i64>> {
    let n = &q.numbers;
    tx.prepare_cached(
        "SELECT id FROM qualifications WHERE person_id = $1 AND insurer_number = $2 AND number = $3 \
         AND symbol IS $4 AND branch IS $5 AND acquired_on = $6 AND id <> $7 LIMIT 1",
    )?
    .query_row(
        params![
            person_id,
            n.insurer_number.as_str(),
            n.number.as_str(),
            n.symbol.as_ref().map(|s| s.as_str()),
            n.branch.map(|b| b.to_string()),
            q.acquired_on,
            except,
        ],
        |r| r.get(0),
    )
    .optional()
}

impl InsurerStore for SqliteStore {
    fn person_by_ref(&self, person_ref: &PersonRef) -> Result<Option<PersonRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {PERSON_COLS} FROM persons WHERE person_ref = $1"
        ))?;
        st.query_row([person_ref.as_str()], person_row)
            .optional()
            .map_err(unwrap_corrupt)
    }

    fn register(
        &self,
        insurer: &InsurerNumber,
        rows: &mut dyn Iterator<Item = RowInput>,
        reject_mismatch: bool,
        dry_run: bool,
        recorded_at: &str,
        claim: Option<&IdemClaim>,
        respond: &dyn Fn(&RegisterOutcome) -> StoredResponse,
    ) -> Result<Idem<RegisterOutcome>> {
        self.idempotent(claim, recorded_at, |tx| {
            let mut out = RegisterOutcome::default();
            let mut failed = dry_run;
            // (person, numbers, 取得日) → the first row that had them, so an
            // in-file duplicate is caught even when nothing is inserted.
            let mut seen: std::collections::HashMap<BatchKey, usize> =
                std::collections::HashMap::new();
            for (i, input) in rows.enumerate() {
                out.rows += 1;
                let reg = match input {
                    RowInput::Invalid => {
                        out.invalid_rows += 1;
                        failed = true;
                        continue;
                    }
                    RowInput::Row(reg) => reg,
                };
                if reg.qualification.numbers.insurer_number != *insurer {
                    out.rejected.push((i, StoreReject::OtherInsurer));
                    failed = true;
                    continue;
                }
                let Some((pid, person)) = resident(tx, &reg.person_ref)? else {
                    out.rejected.push((i, StoreReject::PersonUnknown));
                    failed = true;
                    continue;
                };
                let n = &reg.qualification.numbers;
                let key = (
                    pid,
                    n.insurer_number.to_string(),
                    n.symbol.as_ref().map(|s| s.to_string()),
                    n.number.to_string(),
                    n.branch.map(|b| b.to_string()),
                    reg.qualification.acquired_on,
                );
                if let Some(&row) = seen.get(&key) {
                    out.rejected
                        .push((i, StoreReject::DuplicateInBatch { row }));
                    failed = true;
                    continue;
                }
                seen.insert(key, i);
                if let Some(id) = duplicate_of(tx, pid, &reg.qualification, 0)? {
                    out.rejected.push((i, StoreReject::Duplicate { id }));
                    failed = true;
                    continue;
                }
                let mismatch = differing(&reg.declared, &person);
                if reject_mismatch && !mismatch.is_empty() {
                    out.rejected.push((i, StoreReject::Mismatch { mismatch }));
                    failed = true;
                    continue;
                }
                let id = if failed {
                    None
                } else {
                    let state = MatchState {
                        declared: Some(&reg.declared),
                        mismatch: &mismatch,
                    };
                    let id =
                        insert_qualification(tx, pid, &reg.qualification, &state, recorded_at)?;
                    out.first_id.get_or_insert(id);
                    out.registered += 1;
                    Some(id)
                };
                if !mismatch.is_empty() {
                    out.mismatched.push(RowMismatch {
                        row: i,
                        id,
                        mismatch,
                    });
                }
            }
            if failed {
                // Whatever was inserted before the first reject is rolled back.
                out.registered = 0;
                out.first_id = None;
                out.mismatched.iter_mut().for_each(|m| m.id = None);
                return Ok((out, Finish::Rollback));
            }
            out.committed = true;
            let resp = respond(&out);
            Ok((out, Finish::Commit(resp)))
        })
    }

    fn lose(
        &self,
        insurer: &InsurerNumber,
        id: i64,
        lost_on: NaiveDate,
        recorded_at: &str,
        claim: Option<&IdemClaim>,
        respond: &dyn Fn(&InsurerRecord) -> StoredResponse,
    ) -> Result<Idem<Option<InsurerRecord>>> {
        self.idempotent(claim, recorded_at, |tx| {
            let Some(before) = record_in(tx, insurer, id)? else {
                return Ok((None, Finish::Rollback));
            };
            tx.prepare_cached("UPDATE qualifications SET lost_on = $1 WHERE id = $2")?
                .execute(params![lost_on, id])?;
            let mut q = before.qualification.clone();
            q.lost_on = Some(lost_on);
            let declared = before.declared.clone();
            let state = MatchState {
                declared: Some(&declared),
                mismatch: &before.mismatch,
            };
            insert_revision(tx, id, "lose", &q, &state, recorded_at)?;
            let after = record_in(tx, insurer, id)?;
            match after {
                Some(rec) => {
                    let resp = respond(&rec);
                    Ok((Some(rec), Finish::Commit(resp)))
                }
                None => Ok((None, Finish::Rollback)),
            }
        })
        .map_err(lost_before_acquired)
    }

    fn correct(
        &self,
        insurer: &InsurerNumber,
        id: i64,
        reg: &Registration,
        recorded_at: &str,
        claim: Option<&IdemClaim>,
        respond: &dyn Fn(&InsurerRecord) -> StoredResponse,
    ) -> Result<Idem<Option<InsurerRecord>>> {
        if reg.qualification.numbers.insurer_number != *insurer {
            return Err(StoreError::Conflict(
                "a correction may not move a record to another insurer".into(),
            ));
        }
        let mut unknown_person = false;
        let mut duplicate = None;
        let result = self.idempotent(claim, recorded_at, |tx| {
            if record_in(tx, insurer, id)?.is_none() {
                return Ok((None, Finish::Rollback));
            }
            let Some((pid, person)) = resident(tx, &reg.person_ref)? else {
                unknown_person = true;
                return Ok((None, Finish::Rollback));
            };
            if let Some(other) = duplicate_of(tx, pid, &reg.qualification, id)? {
                duplicate = Some(other);
                return Ok((None, Finish::Rollback));
            }
            let mismatch = differing(&reg.declared, &person);
            let q = &reg.qualification;
            let n = &q.numbers;
            tx.prepare_cached(
                "UPDATE qualifications SET person_id = $1, symbol = $2, number = $3, branch = $4, \
                 relation = $5, acquired_on = $6, lost_on = $7, burden_ratio = $8, employer = $9, \
                 visible = $10, declared = $11, mismatch = $12 WHERE id = $13",
            )?
            .execute(params![
                pid,
                n.symbol.as_ref().map(|s| s.as_str()),
                n.number.as_str(),
                n.branch.map(|b| b.to_string()),
                q.relation.code(),
                q.acquired_on,
                q.lost_on,
                q.burden_ratio.map(|r| r.tenths()),
                q.employer.as_deref(),
                mismatch.is_empty(),
                json_text(&reg.declared)?,
                mismatch_text(&mismatch),
                id,
            ])?;
            let state = MatchState {
                declared: Some(&reg.declared),
                mismatch: &mismatch,
            };
            insert_revision(tx, id, "correct", q, &state, recorded_at)?;
            match record_in(tx, insurer, id)? {
                Some(rec) => {
                    let resp = respond(&rec);
                    Ok((Some(rec), Finish::Commit(resp)))
                }
                None => Ok((None, Finish::Rollback)),
            }
        })?;
        if unknown_person {
            return Err(StoreError::Conflict("person_unknown".into()));
        }
        if let Some(other) = duplicate {
            return Err(StoreError::Duplicate(other));
        }
        Ok(result)
    }

    fn insurer_record(&self, insurer: &InsurerNumber, id: i64) -> Result<Option<InsurerRecord>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&record_sql("AND q.id = $2"))?;
        st.query_row(params![insurer.as_str(), id], record_row)
            .optional()
            .map_err(unwrap_corrupt)
    }

    fn insurer_records(
        &self,
        insurer: &InsurerNumber,
        mismatch_only: bool,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<InsurerRecord>> {
        let c = self.conn()?;
        let filter = if mismatch_only {
            "AND q.visible = 0"
        } else {
            ""
        };
        let mut st = c.prepare_cached(&record_sql(&format!(
            "{filter} ORDER BY q.id DESC LIMIT $2 OFFSET $3"
        )))?;
        let rows = st.query_map(params![insurer.as_str(), limit, offset], record_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn revisions(&self, insurer: &InsurerNumber, id: i64) -> Result<Vec<RevisionRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT r.recorded_at, r.action, r.snapshot FROM qualification_revisions r \
             JOIN qualifications q ON q.id = r.qualification_id \
             WHERE q.insurer_number = $1 AND q.id = $2 ORDER BY r.id",
        )?;
        let rows = st.query_map(params![insurer.as_str(), id], |r| {
            let snap: String = r.get(2)?;
            Ok(RevisionRow {
                recorded_at: r.get(0)?,
                action: r.get(1)?,
                snapshot: serde_json::from_str(&snap).unwrap_or(serde_json::Value::Null),
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn check_report(
        &self,
        insurer: &InsurerNumber,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayCount>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT h.checked_on, count(DISTINCT h.id), \
                    count(DISTINCT CASE WHEN h.validity = 2 THEN h.id END), \
                    count(DISTINCT CASE WHEN h.validity = 4 THEN h.id END) \
             FROM check_history h JOIN qualifications q ON q.person_id = h.person_id \
             WHERE q.insurer_number = $1 AND q.visible = 1 AND h.reference = 'card' \
               AND h.checked_on BETWEEN $2 AND $3 \
               AND q.acquired_on <= h.checked_on AND (q.lost_on IS NULL OR h.checked_on < q.lost_on) \
             GROUP BY h.checked_on ORDER BY h.checked_on",
        )?;
        let rows = st.query_map(params![insurer.as_str(), from, to], |r| {
            Ok(DayCount {
                day: r.get(0)?,
                checks: r.get::<_, i64>(1)? as u64,
                invalid: r.get::<_, i64>(2)? as u64,
                no_information: r.get::<_, i64>(3)? as u64,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn late_registrations(
        &self,
        insurer: &InsurerNumber,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LateRegistration>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT q.id, p.person_ref, q.acquired_on, q.registered_at, min(h.checked_at), min(h.checked_on) \
             FROM qualifications q \
             JOIN persons p ON p.id = q.person_id \
             JOIN check_history h ON h.person_id = q.person_id \
               AND h.checked_on >= q.acquired_on AND (q.lost_on IS NULL OR h.checked_on < q.lost_on) \
               AND h.checked_at < q.registered_at \
             WHERE q.insurer_number = $1 AND q.visible = 1 AND substr(q.registered_at, 1, 10) BETWEEN $2 AND $3 \
             GROUP BY q.id ORDER BY q.registered_at, q.id",
        )?;
        let rows = st.query_map(
            params![insurer.as_str(), from.to_string(), to.to_string()],
            |r| {
                Ok(LateRegistration {
                    id: r.get(0)?,
                    person_ref: parsed(1, PersonRef::parse(&r.get::<_, String>(1)?))?,
                    acquired_on: r.get(2)?,
                    registered_at: r.get(3)?,
                    first_visit_at: r.get(4)?,
                    first_visit_on: r.get(5)?,
                })
            },
        )?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }
}

/// A loss date on or before the acquisition trips the table's CHECK.
fn lost_before_acquired(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(m) if m.contains("CHECK") => {
            StoreError::Conflict("loss_before_acquisition".into())
        }
        other => other,
    }
}
