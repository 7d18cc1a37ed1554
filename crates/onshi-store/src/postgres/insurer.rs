//! The insurer side on PostgreSQL: registrations with the 5-attribute match,
//! losses, corrections, Idempotency-Keys, the insurer's own records and reports.

use ::postgres::{Row, Statement, ToStatement, Transaction};
use chrono::NaiveDate;
use onshi_core::matching::{Attribute, differing};
use onshi_core::{InsurerNumber, Person, PersonRef};

use super::*;
use crate::{InsurerStore, Result, StoreError};

/// Whether a write's transaction is kept, and the answer to store with its key.
enum Finish {
    Commit(StoredResponse),
    Rollback,
}

/// Claims `claim` for this transaction: `None` when the key is new (a
/// placeholder row now holds it until commit or rollback), else what the
/// first use of the key answers. A concurrent holder of the same key makes
/// this wait until it commits (then its answer is returned) or rolls back
/// (then the key is ours), as SQLite's single writer would.
fn claim_key(
    tx: &mut Transaction<'_>,
    claim: &IdemClaim,
    recorded_at: &str,
) -> Result<Option<Idem<()>>> {
    let fresh = tx
        .query_opt(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at) \
             VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (scope, key) DO NOTHING RETURNING 1",
            &[&claim.scope, &claim.key, &claim.request_hash, &recorded_at],
        )
        .db()?
        .is_some();
    if fresh {
        return Ok(None);
    }
    let prev = tx
        .query_opt(
            "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
            &[&claim.scope, &claim.key],
        )
        .db()?
        .ok_or_else(|| StoreError::Conflict("idempotency key released concurrently".into()))?;
    let hash: &str = col(&prev, 0)?;
    if hash != claim.request_hash {
        return Ok(Some(Idem::KeyReused));
    }
    let status: i32 = col(&prev, 1)?;
    let body: &str = col(&prev, 2)?;
    Ok(Some(Idem::Replay(StoredResponse {
        status: u16::try_from(status).map_err(|e| corrupt(1, e))?,
        body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    })))
}

fn into_idem<T>(prev: Idem<()>) -> Idem<T> {
    match prev {
        Idem::Replay(r) => Idem::Replay(r),
        _ => Idem::KeyReused,
    }
}

impl PgStore {
    /// Runs `work` in one transaction that first honours `claim` and, on
    /// commit, stores the answer under it. Writes of one insurer are
    /// serialised (an advisory lock), so the duplicate checks see every
    /// earlier write, as under SQLite's single writer.
    fn idempotent<T>(
        &self,
        insurer: &InsurerNumber,
        claim: Option<&IdemClaim>,
        recorded_at: &str,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<(T, Finish)>,
    ) -> Result<Idem<T>> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().db()?;
        if let Some(cl) = claim
            && let Some(prev) = claim_key(&mut tx, cl, recorded_at)?
        {
            return Ok(into_idem(prev));
        }
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('onshi.insurer:' || current_schema() || ':' || $1, 0))",
            &[&insurer.as_str()],
        )
        .db()?;
        let (value, finish) = work(&mut tx)?;
        if let Finish::Commit(resp) = finish {
            if let Some(cl) = claim {
                tx.execute(
                    "UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2",
                    &[
                        &cl.scope,
                        &cl.key,
                        &i32::from(resp.status),
                        &resp.body.to_string(),
                    ],
                )
                .db()?;
            }
            tx.commit().db()?;
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

fn record_row(r: &Row) -> Result<InsurerRecord> {
    let q = qualification_row(r)?;
    let declared = match col::<Option<&str>>(r, 13)? {
        Some(json) => serde_json::from_str::<Person>(json).map_err(|e| corrupt(13, e))?,
        None => person_at(r, 17)?,
    };
    let mismatch: Option<&str> = col(r, 15)?;
    Ok(InsurerRecord {
        id: q.id,
        person_ref: text_as(r, 12, PersonRef::parse)?,
        declared,
        insurer_name: q.insurer_name,
        qualification: q.qualification,
        visible: col(r, 14)?,
        mismatch: mismatch
            .iter()
            .flat_map(|m| m.split(','))
            .filter_map(Attribute::parse)
            .collect(),
        registered_at: col(r, 16)?,
    })
}

fn record_in(
    tx: &mut Transaction<'_>,
    insurer: &InsurerNumber,
    id: i64,
) -> Result<Option<InsurerRecord>> {
    tx.query_opt(&record_sql("AND q.id = $2"), &[&insurer.as_str(), &id])
        .db()?
        .as_ref()
        .map(record_row)
        .transpose()
}

const RESIDENT_SQL: &str =
    "SELECT id, name, kana, birth_date, sex, address FROM persons WHERE person_ref = $1";

fn resident<S: ?Sized + ToStatement>(
    tx: &mut Transaction<'_>,
    stmt: &S,
    person_ref: &PersonRef,
) -> Result<Option<(i64, Person)>> {
    tx.query_opt(stmt, &[&person_ref.as_str()])
        .db()?
        .map(|r| Ok((col(&r, 0)?, person_at(&r, 1)?)))
        .transpose()
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

const DUPLICATE_SQL: &str = "SELECT id FROM qualifications WHERE person_id = $1 AND insurer_number = $2 \
     AND number = $3 AND symbol IS NOT DISTINCT FROM $4::text AND branch IS NOT DISTINCT FROM $5::text \
     AND acquired_on = $6 AND id <> $7 ORDER BY id LIMIT 1";

/// An already registered qualification of the same person with the same
/// numbers and 資格取得日 (a re-sent registration), other than `except`.
fn duplicate_of<S: ?Sized + ToStatement>(
    tx: &mut Transaction<'_>,
    stmt: &S,
    person_id: i64,
    q: &onshi_core::Qualification,
    except: i64,
) -> Result<Option<i64>> {
    let n = &q.numbers;
    tx.query_opt(
        stmt,
        &[
            &person_id,
            &n.insurer_number.as_str(),
            &n.number.as_str(),
            &n.symbol.as_ref().map(|s| s.as_str()),
            &n.branch.map(|b| b.to_string()),
            &q.acquired_on,
            &except,
        ],
    )
    .db()?
    .map(|r| col(&r, 0))
    .transpose()
}

/// The statements `register` runs per row.
struct RegisterStmts {
    resident: Statement,
    duplicate: Statement,
    qual: QualStmts,
}

impl InsurerStore for PgStore {
    fn person_by_ref(&self, person_ref: &PersonRef) -> Result<Option<PersonRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {PERSON_COLS} FROM persons WHERE person_ref = $1"),
                &[&person_ref.as_str()],
            )
            .db()?
            .as_ref()
            .map(person_row)
            .transpose()
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
        self.idempotent(insurer, claim, recorded_at, |tx| {
            let st = RegisterStmts {
                resident: tx.prepare(RESIDENT_SQL).db()?,
                duplicate: tx.prepare(DUPLICATE_SQL).db()?,
                qual: QualStmts::prepare(tx)?,
            };
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
                let Some((pid, person)) = resident(tx, &st.resident, &reg.person_ref)? else {
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
                if let Some(id) = duplicate_of(tx, &st.duplicate, pid, &reg.qualification, 0)? {
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
                    let id = insert_qualification(
                        tx,
                        &st.qual,
                        pid,
                        &reg.qualification,
                        &state,
                        recorded_at,
                    )?;
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
        self.idempotent(insurer, claim, recorded_at, |tx| {
            let Some(before) = record_in(tx, insurer, id)? else {
                return Ok((None, Finish::Rollback));
            };
            tx.execute(
                "UPDATE qualifications SET lost_on = $1 WHERE id = $2",
                &[&lost_on, &id],
            )
            .map_err(|e| {
                // A loss date on or before the acquisition trips the CHECK.
                if is_check_violation(&e) {
                    StoreError::Conflict("loss_before_acquisition".into())
                } else {
                    classify(e)
                }
            })?;
            let mut q = before.qualification.clone();
            q.lost_on = Some(lost_on);
            let declared = before.declared.clone();
            let state = MatchState {
                declared: Some(&declared),
                mismatch: &before.mismatch,
            };
            insert_revision(tx, INSERT_REVISION, id, "lose", &q, &state, recorded_at)?;
            match record_in(tx, insurer, id)? {
                Some(rec) => {
                    let resp = respond(&rec);
                    Ok((Some(rec), Finish::Commit(resp)))
                }
                None => Ok((None, Finish::Rollback)),
            }
        })
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
        let result = self.idempotent(insurer, claim, recorded_at, |tx| {
            if record_in(tx, insurer, id)?.is_none() {
                return Ok((None, Finish::Rollback));
            }
            let Some((pid, person)) = resident(tx, RESIDENT_SQL, &reg.person_ref)? else {
                unknown_person = true;
                return Ok((None, Finish::Rollback));
            };
            if let Some(other) = duplicate_of(tx, DUPLICATE_SQL, pid, &reg.qualification, id)? {
                duplicate = Some(other);
                return Ok((None, Finish::Rollback));
            }
            let mismatch = differing(&reg.declared, &person);
            let q = &reg.qualification;
            let n = &q.numbers;
            tx.execute(
                "UPDATE qualifications SET person_id = $1, symbol = $2, number = $3, branch = $4, \
                 relation = $5, acquired_on = $6, lost_on = $7, burden_ratio = $8, employer = $9, \
                 visible = $10, declared = $11, mismatch = $12 WHERE id = $13",
                &[
                    &pid,
                    &n.symbol.as_ref().map(|s| s.as_str()),
                    &n.number.as_str(),
                    &n.branch.map(|b| b.to_string()),
                    &i16::from(q.relation.code()),
                    &q.acquired_on,
                    &q.lost_on,
                    &q.burden_ratio.map(|r| i16::from(r.tenths())),
                    &q.employer.as_deref(),
                    &mismatch.is_empty(),
                    &json_text(&reg.declared)?,
                    &mismatch_text(&mismatch),
                    &id,
                ],
            )
            .db()?;
            // The revisions follow their qualification to its (new) person.
            tx.execute(
                "UPDATE qualification_revisions SET person_id = $1 WHERE qualification_id = $2 \
                 AND person_id <> $1",
                &[&pid, &id],
            )
            .db()?;
            let state = MatchState {
                declared: Some(&reg.declared),
                mismatch: &mismatch,
            };
            insert_revision(tx, INSERT_REVISION, id, "correct", q, &state, recorded_at)?;
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
        self.conn()?
            .query_opt(&record_sql("AND q.id = $2"), &[&insurer.as_str(), &id])
            .db()?
            .as_ref()
            .map(record_row)
            .transpose()
    }

    fn insurer_records(
        &self,
        insurer: &InsurerNumber,
        mismatch_only: bool,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<InsurerRecord>> {
        let filter = if mismatch_only {
            "AND NOT q.visible"
        } else {
            ""
        };
        self.read_conn()?
            .query(
                &record_sql(&format!("{filter} ORDER BY q.id DESC LIMIT $2 OFFSET $3")),
                &[&insurer.as_str(), &big(limit), &big(offset)],
            )
            .db()?
            .iter()
            .map(record_row)
            .collect()
    }

    fn revisions(&self, insurer: &InsurerNumber, id: i64) -> Result<Vec<RevisionRow>> {
        self.conn()?
            .query(
                "SELECT r.recorded_at, r.action, r.snapshot FROM qualification_revisions r \
                 JOIN qualifications q ON q.id = r.qualification_id \
                 WHERE q.insurer_number = $1 AND q.id = $2 ORDER BY r.id",
                &[&insurer.as_str(), &id],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(RevisionRow {
                    recorded_at: col(r, 0)?,
                    action: col(r, 1)?,
                    snapshot: serde_json::from_str(col::<&str>(r, 2)?)
                        .unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }

    fn check_report(
        &self,
        insurer: &InsurerNumber,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayCount>> {
        self.read_conn()?
            .query(
                "SELECT h.checked_on, count(DISTINCT h.id), \
                        count(DISTINCT CASE WHEN h.validity = 2 THEN h.id END), \
                        count(DISTINCT CASE WHEN h.validity = 4 THEN h.id END) \
                 FROM check_history h JOIN qualifications q ON q.person_id = h.person_id \
                 WHERE q.insurer_number = $1 AND q.visible AND h.reference = 'card' \
                   AND h.checked_on BETWEEN $2 AND $3 \
                   AND q.acquired_on <= h.checked_on AND (q.lost_on IS NULL OR h.checked_on < q.lost_on) \
                 GROUP BY h.checked_on ORDER BY h.checked_on",
                &[&insurer.as_str(), &from, &to],
            )
            .db()?
            .iter()
            .map(|r| {
                let n = |i: usize| -> Result<u64> {
                    u64::try_from(col::<i64>(r, i)?).map_err(|e| corrupt(i, e))
                };
                Ok(DayCount {
                    day: col(r, 0)?,
                    checks: n(1)?,
                    invalid: n(2)?,
                    no_information: n(3)?,
                })
            })
            .collect()
    }

    fn late_registrations(
        &self,
        insurer: &InsurerNumber,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LateRegistration>> {
        self.read_conn()?
            .query(
                "SELECT q.id, p.person_ref, q.acquired_on, q.registered_at, min(h.checked_at), min(h.checked_on) \
                 FROM qualifications q \
                 JOIN persons p ON p.id = q.person_id \
                 JOIN check_history h ON h.person_id = q.person_id \
                   AND h.checked_on >= q.acquired_on AND (q.lost_on IS NULL OR h.checked_on < q.lost_on) \
                   AND h.checked_at < q.registered_at \
                 WHERE q.insurer_number = $1 AND q.visible \
                   AND substr(q.registered_at, 1, 10) BETWEEN $2 AND $3 \
                 GROUP BY q.id, p.person_ref ORDER BY q.registered_at, q.id",
                &[&insurer.as_str(), &from.to_string(), &to.to_string()],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(LateRegistration {
                    id: col(r, 0)?,
                    person_ref: text_as(r, 1, PersonRef::parse)?,
                    acquired_on: col(r, 2)?,
                    registered_at: col(r, 3)?,
                    first_visit_at: col(r, 4)?,
                    first_visit_on: col(r, 5)?,
                })
            })
            .collect()
    }
}
