//! The check history's writer: group commit for `record_check`.
//!
//! Every check appends one row to `check_history`, so on SQLite (one writer
//! at a time) the checks of all desks queue on the write lock. Left to
//! SQLite, each waiting connection sleeps in its busy handler (1, 2, 5 … ms)
//! and every row is its own commit, which writes the same table and index
//! pages into the WAL once per check.
//!
//! Here a check joins a queue and then waits for the one writer connection.
//! Whoever gets it writes everything queued by then in one transaction, its
//! own check included, and tells each check its id; a check that finds its
//! id already written when its turn comes returns at once. A lone check so
//! writes itself with no hand-off to another thread, and a hundred waiting
//! checks cost one commit. A request still gets its answer only after its
//! row is committed: the history is never behind an answer.
//!
//! A row that fails (a constraint) fails alone: SQLite rolls back just that
//! statement and the rest of the group commits. A failed commit fails every
//! check of its group, and nothing of the group is kept.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};

use super::{classify, init_connection};
use crate::chain::{GENESIS, check_hash};
use crate::records::{CheckLink, NewCheck};
use crate::{Result, StoreError};

/// Where a queued check learns its id.
type Slot = Arc<Mutex<Option<Result<i64>>>>;
type Job = (NewCheck, Slot);

/// The queue and the writer connection the store keeps.
pub(super) struct CheckWriter {
    queue: Mutex<Vec<Job>>,
    writer: Mutex<Connection>,
}

impl CheckWriter {
    /// Opens the writer's own connection to `path`.
    pub(super) fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        init_connection(&mut conn)?;
        Ok(Self {
            queue: Mutex::new(Vec::new()),
            writer: Mutex::new(conn),
        })
    }

    /// Appends `check` and returns its id once it is committed.
    pub(super) fn record(&self, check: &NewCheck) -> Result<i64> {
        let slot: Slot = Arc::new(Mutex::new(None));
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((check.clone(), slot.clone()));
        let conn = match self.writer.lock() {
            Ok(c) => c,
            Err(poisoned) => {
                // A writer panicked, perhaps inside its transaction.
                let c = poisoned.into_inner();
                let _ = c.execute_batch("ROLLBACK");
                c
            }
        };
        let taken = |s: &Slot| s.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(done) = taken(&slot) {
            return done;
        }
        let group = std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner));
        let results = write_group(&conn, &group);
        for ((_, s), r) in group.iter().zip(results) {
            *s.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        }
        drop(conn);
        taken(&slot).unwrap_or_else(|| Err(StoreError::Corrupt("check not written".into())))
    }
}

/// One transaction for the group; the result of each check, in order.
fn write_group(conn: &Connection, group: &[Job]) -> Vec<Result<i64>> {
    let fail_all = |e: rusqlite::Error| {
        let message = e.to_string();
        let kind = classify(e);
        group
            .iter()
            .map(|_| {
                Err(match &kind {
                    StoreError::Busy(m) => StoreError::Busy(m.clone()),
                    _ => StoreError::Corrupt(format!("check history: {message}")),
                })
            })
            .collect::<Vec<_>>()
    };
    let step = |sql: &str| conn.prepare_cached(sql).and_then(|mut st| st.execute([]));
    if let Err(e) = step("BEGIN IMMEDIATE") {
        return fail_all(e);
    }
    let results: Vec<Result<i64>> = group.iter().map(|(c, _)| insert(conn, c)).collect();
    if let Err(e) = step("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return fail_all(e);
    }
    results
}

fn insert(c: &Connection, check: &NewCheck) -> Result<i64> {
    let mut link = CheckLink::of(check);
    // The institution's chain: the row before this one is the institution's
    // last, written in this transaction or committed before it (the writer
    // holds the write lock).
    let prev: Option<Option<String>> = c
        .prepare_cached(
            "SELECT hash FROM check_history WHERE institution_code = $1 ORDER BY id DESC LIMIT 1",
        )?
        .query_row([&link.institution_code], |r| r.get(0))
        .optional()?;
    // A last row from before the chain (no hash) starts the chain over.
    let prev = prev.flatten().unwrap_or_else(|| GENESIS.to_owned());
    let hash = check_hash(&link, &prev);
    link.prev_hash = Some(prev);
    link.hash = Some(hash);
    let mut st = c.prepare_cached(
        "INSERT INTO check_history (institution_code, checked_at, checked_on, reference, \
         certificate_serial, insurer_number, symbol, number, branch, birth_date, person_id, \
         validity, error_code, answer, identity_confirmed_by, staff_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )?;
    st.execute(params![
        link.institution_code,
        link.checked_at,
        link.checked_on,
        link.reference,
        link.certificate_serial,
        link.insurer_number,
        link.symbol,
        link.number,
        link.branch,
        link.birth_date,
        link.person_id,
        link.validity,
        link.error_code,
        link.answer,
        link.identity_confirmed_by,
        link.staff_id,
        link.prev_hash,
        link.hash,
    ])
    .map_err(classify)?;
    Ok(c.last_insert_rowid())
}
