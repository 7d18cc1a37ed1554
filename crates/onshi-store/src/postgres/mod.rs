//! The PostgreSQL store: the blocking `postgres` client in an r2d2 pool,
//! optionally confined to one schema, optionally with a read replica.
//!
//! It behaves as [`crate::SqliteStore`] does, call for call. What SQLite gets
//! from its single writer (an IMMEDIATE transaction serialises every write)
//! is obtained here with transaction-scoped advisory locks where a write reads
//! before it writes (registrations, batches, migrations) and with the
//! `idempotency_keys` primary key for Idempotency-Key claims.

use std::fmt;
use std::sync::Arc;

use ::postgres::error::SqlState;
use ::postgres::types::FromSql;
use ::postgres::{Client, NoTls, Row, Statement, ToStatement, Transaction};
use chrono::NaiveDate;
use onshi_core::matching::Attribute;
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::{
    Address, BranchNumber, BurdenRatio, CertificateSerial, InstitutionCode, InsuredNumber,
    InsuredSymbol, InsurerNumber, KanaName, ParseError, Person, PersonName, PersonRef,
    Qualification, Relation, Sex,
};
use r2d2::{CustomizeConnection, Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

mod batch;
mod claims;
mod clinic;
mod conn;
mod failure_mode;
mod insurer;

use crate::migrations;
use crate::records::*;
use crate::{RegistryStore, Result, StoreError};

use conn::{CachedClient, Manager};
pub(crate) type Conn = PooledConnection<Manager>;

/// The PostgreSQL store. Cloning is cheap (the pools are shared).
#[derive(Clone)]
pub struct PgStore {
    pools: Arc<Pools>,
    /// The schema every connection is confined to (`connect_in_schema`).
    schema: Option<String>,
}

/// The connection pools. Both are `Some` until the last store handle is
/// dropped.
struct Pools {
    primary: Option<Pool<Manager>>,
    /// Reads that may lag go here when a replica is configured.
    replica: Option<Pool<Manager>>,
}

impl Drop for Pools {
    /// A `postgres::Client` closes its connection by blocking on its own
    /// runtime, which panics on a thread that drives an async runtime (where
    /// the last handle of a server's state is usually dropped). So the pools
    /// are closed on a thread of their own when that is the case.
    fn drop(&mut self) {
        let pools = (self.primary.take(), self.replica.take());
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::spawn(move || drop(pools));
        }
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
            .field("replica", &self.pools.replica.is_some())
            .finish_non_exhaustive()
    }
}

/// How long a write waits for a lock (another write of the same insurer, a
/// concurrent holder of the same Idempotency-Key) before it gives up with
/// [`StoreError::Busy`], as SQLite's `busy_timeout` does: a waiting request
/// must not hold one of the pool's connections for ever.
const LOCK_TIMEOUT: &str = "5s";

/// Sets the search_path and the lock timeout of every new pooled connection.
#[derive(Debug)]
struct SearchPath(Option<String>);

impl CustomizeConnection<CachedClient, ::postgres::Error> for SearchPath {
    fn on_acquire(&self, c: &mut CachedClient) -> std::result::Result<(), ::postgres::Error> {
        match &self.0 {
            Some(schema) => c.batch_execute(&format!(
                "SET search_path TO \"{schema}\"; SET lock_timeout = '{LOCK_TIMEOUT}'"
            )),
            None => c.batch_execute(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'")),
        }
    }
}

/// `[a-z0-9_]+`, at most 63 bytes (longer names would be truncated).
fn valid_schema(schema: &str) -> bool {
    (1..=63).contains(&schema.len())
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn pool(url: &str, schema: Option<&str>) -> Result<Pool<Manager>> {
    let config: ::postgres::Config = url.parse()?;
    let manager = Manager(PostgresConnectionManager::new(config, NoTls));
    // No round trip to test a connection at every checkout: a broken one is
    // found when it is used (an error) and dropped when it is returned.
    Ok(Pool::builder()
        .max_size(8)
        .test_on_check_out(false)
        .min_idle(Some(1))
        .connection_customizer(Box::new(SearchPath(schema.map(str::to_owned))))
        .build(manager)?)
}

impl PgStore {
    /// Connects and applies pending migrations in the schema the URL's
    /// search_path names (`public` by default).
    pub fn connect(url: &str) -> Result<PgStore> {
        Self::open(url, None)
    }

    /// Connects with every connection confined to `schema` (created when
    /// missing) and applies pending migrations there. `schema` must be
    /// `[a-z0-9_]+`.
    pub fn connect_in_schema(url: &str, schema: &str) -> Result<PgStore> {
        if !valid_schema(schema) {
            return Err(StoreError::Conflict(format!(
                "invalid schema name {schema:?}: expected [a-z0-9_]+"
            )));
        }
        Self::open(url, Some(schema))
    }

    fn open(url: &str, schema: Option<&str>) -> Result<PgStore> {
        let store = PgStore {
            pools: Arc::new(Pools {
                primary: Some(pool(url, schema)?),
                replica: None,
            }),
            schema: schema.map(str::to_owned),
        };
        migrate(&mut *store.conn()?, schema)?;
        Ok(store)
    }

    /// Sends the reads that may lag (history, reports, lists, counts) to a
    /// second server, e.g. a streaming replica. No migration runs there; its
    /// connections use the same schema as the primary's.
    pub fn with_replica(self, read_url: &str) -> Result<PgStore> {
        let replica = pool(read_url, self.schema.as_deref())?;
        Ok(PgStore {
            pools: Arc::new(Pools {
                primary: self.pools.primary.clone(),
                replica: Some(replica),
            }),
            schema: self.schema.clone(),
        })
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<i64> {
        let row = self
            .conn()?
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations",
                &[],
            )
            .db()?;
        col(&row, 0)
    }

    /// A connection to the primary.
    pub(crate) fn conn(&self) -> Result<Conn> {
        Ok(self.primary()?.get()?)
    }

    fn primary(&self) -> Result<&Pool<Manager>> {
        self.pools
            .primary
            .as_ref()
            .ok_or_else(|| StoreError::Conflict("the store is closed".into()))
    }

    /// A connection for a read that may lag: the replica's when there is one.
    pub(crate) fn read_conn(&self) -> Result<Conn> {
        match &self.pools.replica {
            Some(r) => Ok(r.get()?),
            None => self.conn(),
        }
    }

    fn checks_where(
        &self,
        filter: &str,
        p: &[&(dyn ::postgres::types::ToSql + Sync)],
    ) -> Result<Vec<CheckRow>> {
        let rows = self
            .read_conn()?
            .query(
                &format!(
                    "SELECT id, checked_at, checked_on, reference, validity, error_code, answer \
                     FROM check_history WHERE {filter}"
                ),
                p,
            )
            .db()?;
        rows.iter()
            .map(|r| {
                Ok(CheckRow {
                    id: col(r, 0)?,
                    checked_at: col(r, 1)?,
                    checked_on: col(r, 2)?,
                    reference: col(r, 3)?,
                    validity: opt_small(r, 4)?,
                    error_code: col(r, 5)?,
                    answer: json_col(r, 6)?,
                })
            })
            .collect()
    }
}

/// Applies pending migrations, each in its own transaction holding an
/// advisory lock keyed on the schema, so concurrent `connect`s apply each
/// migration once.
fn migrate(c: &mut Client, schema: Option<&str>) -> Result<()> {
    loop {
        let mut tx = c.transaction().db()?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('onshi.migrate:' || \
             coalesce($1::text, current_schema(), ''), 0))",
            &[&schema],
        )
        .db()?;
        if let Some(s) = schema {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{s}\""))
                .db()?;
        }
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
                 version    INT PRIMARY KEY, \
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .db()?;
        let row = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .db()?;
        let current: i32 = col(&row, 0)?;
        let Some(sql) = migrations::POSTGRES.get(current.max(0) as usize) else {
            tx.commit().db()?;
            return Ok(());
        };
        tx.batch_execute(sql).db()?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())",
            &[&(current + 1)],
        )
        .db()?;
        tx.commit().db()?;
        tracing::info!(
            version = current + 1,
            schema,
            "applied PostgreSQL migration"
        );
    }
}

/// Turns integrity-constraint violations (SQLSTATE class 23: unique, foreign
/// key, check, not-null, exclusion) into [`StoreError::Conflict`].
pub(crate) fn classify(e: ::postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) if db.code().code().starts_with("23") => {
            StoreError::Conflict(db.message().to_owned())
        }
        Some(db)
            if [SqlState::LOCK_NOT_AVAILABLE, SqlState::QUERY_CANCELED].contains(db.code()) =>
        {
            StoreError::Busy(db.message().to_owned())
        }
        _ => StoreError::Postgres(e),
    }
}

/// Whether `e` is a CHECK constraint violation.
pub(crate) fn is_check_violation(e: &::postgres::Error) -> bool {
    e.code() == Some(&SqlState::CHECK_VIOLATION)
}

/// `.db()?`: a postgres result with constraint violations classified.
pub(crate) trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for std::result::Result<T, ::postgres::Error> {
    fn db(self) -> Result<T> {
        self.map_err(classify)
    }
}

pub(crate) fn corrupt(idx: usize, e: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {idx}: {e}"))
}

/// Column `idx`; a value that does not decode is a corrupt row.
pub(crate) fn col<'a, T: FromSql<'a>>(r: &'a Row, idx: usize) -> Result<T> {
    r.try_get(idx).map_err(|e| corrupt(idx, e))
}

pub(crate) fn parsed<T>(idx: usize, r: std::result::Result<T, ParseError>) -> Result<T> {
    r.map_err(|e| corrupt(idx, e))
}

/// A text column parsed into its domain type.
pub(crate) fn text_as<T>(
    r: &Row,
    idx: usize,
    f: impl Fn(&str) -> std::result::Result<T, ParseError>,
) -> Result<T> {
    parsed(idx, f(col::<&str>(r, idx)?))
}

pub(crate) fn opt_text_as<T>(
    r: &Row,
    idx: usize,
    f: impl Fn(&str) -> std::result::Result<T, ParseError>,
) -> Result<Option<T>> {
    col::<Option<&str>>(r, idx)?
        .map(|s| parsed(idx, f(s)))
        .transpose()
}

/// A SMALLINT column holding a `u8`.
pub(crate) fn small(r: &Row, idx: usize) -> Result<u8> {
    let v: i16 = col(r, idx)?;
    u8::try_from(v).map_err(|e| corrupt(idx, e))
}

pub(crate) fn opt_small(r: &Row, idx: usize) -> Result<Option<u8>> {
    col::<Option<i16>>(r, idx)?
        .map(|v| u8::try_from(v).map_err(|e| corrupt(idx, e)))
        .transpose()
}

/// A JSON text column.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(r: &Row, idx: usize) -> Result<T> {
    serde_json::from_str(col::<&str>(r, idx)?).map_err(|e| corrupt(idx, e))
}

pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("json: {e}")))
}

/// A `u32` limit or offset as the BIGINT PostgreSQL expects.
pub(crate) fn big(n: u32) -> i64 {
    i64::from(n)
}

pub(crate) const PERSON_COLS: &str = "id, name, kana, birth_date, sex, address, person_ref";

/// The 5 attributes from columns `base..base + 5` (name, kana, birth_date,
/// sex, address).
pub(crate) fn person_at(r: &Row, base: usize) -> Result<Person> {
    let sex = match col::<i16>(r, base + 3)? {
        1 => Sex::Male,
        2 => Sex::Female,
        _ => {
            return Err(corrupt(base + 3, onshi_core::ParseErrorKind::Sex.at("sex")));
        }
    };
    Ok(Person {
        name: text_as(r, base, PersonName::parse)?,
        kana: text_as(r, base + 1, KanaName::parse)?,
        birth_date: col(r, base + 2)?,
        sex,
        address: text_as(r, base + 4, Address::parse)?,
    })
}

pub(crate) fn person_row(r: &Row) -> Result<PersonRow> {
    Ok(PersonRow {
        id: col(r, 0)?,
        person_ref: text_as(r, 6, PersonRef::parse)?,
        person: person_at(r, 1)?,
    })
}

pub(crate) const QUAL_COLS: &str = "q.id, q.person_id, i.name, q.insurer_number, q.symbol, q.number, q.branch, \
     q.relation, q.acquired_on, q.lost_on, q.burden_ratio, q.employer";

pub(crate) fn qualification_row(r: &Row) -> Result<QualificationRow> {
    let insurer = text_as(r, 3, InsurerNumber::parse)?;
    let symbol = opt_text_as(r, 4, InsuredSymbol::parse)?;
    let number = text_as(r, 5, InsuredNumber::parse)?;
    let branch = opt_text_as(r, 6, BranchNumber::parse)?;
    let relation = parsed(7, Relation::parse(&col::<i16>(r, 7)?.to_string()))?;
    let burden_ratio = opt_small(r, 10)?
        .map(|t| parsed(10, BurdenRatio::from_tenths(t)))
        .transpose()?;
    Ok(QualificationRow {
        id: col(r, 0)?,
        person_id: col(r, 1)?,
        insurer_name: col(r, 2)?,
        qualification: Qualification {
            numbers: parsed(3, InsuranceNumbers::new(insurer, symbol, number, branch))?,
            relation,
            acquired_on: col(r, 8)?,
            lost_on: col(r, 9)?,
            burden_ratio,
            employer: col(r, 11)?,
        },
    })
}

fn institution_row(r: &Row) -> Result<InstitutionRow> {
    Ok(InstitutionRow {
        code: text_as(r, 0, InstitutionCode::parse)?,
        name: col(r, 1)?,
        phone: col(r, 2)?,
    })
}

/// How a qualification row stands against the resident record.
pub(crate) struct MatchState<'a> {
    /// The insurer's declared attributes; `None` for reference-data loads.
    pub declared: Option<&'a Person>,
    pub mismatch: &'a [Attribute],
}

pub(crate) fn mismatch_text(m: &[Attribute]) -> Option<String> {
    (!m.is_empty()).then(|| m.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(","))
}

/// The revision snapshot, as the same JSON text the SQLite store writes.
pub(crate) fn snapshot_text(q: &Qualification, m: &MatchState<'_>) -> Result<String> {
    json_text(&serde_json::json!({
        "qualification": q,
        "declared": m.declared,
        "mismatch": m.mismatch,
    }))
}

pub(crate) const INSERT_REVISION: &str = "INSERT INTO qualification_revisions \
     (qualification_id, person_id, recorded_at, action, snapshot) \
     SELECT id, person_id, $2, $3, $4 FROM qualifications WHERE id = $1";

/// Appends a revision (`stmt`: [`INSERT_REVISION`], as text or prepared);
/// its person_id is the qualification's.
pub(crate) fn insert_revision<S: ?Sized + ToStatement>(
    tx: &mut Transaction<'_>,
    stmt: &S,
    id: i64,
    action: &str,
    q: &Qualification,
    m: &MatchState<'_>,
    recorded_at: &str,
) -> Result<()> {
    tx.execute(stmt, &[&id, &recorded_at, &action, &snapshot_text(q, m)?])
        .db()?;
    Ok(())
}

/// The statements a stream of registrations runs for each row.
pub(crate) struct QualStmts {
    insert: Statement,
    revision: Statement,
}

impl QualStmts {
    pub(crate) fn prepare(tx: &mut Transaction<'_>) -> Result<QualStmts> {
        Ok(QualStmts {
            insert: tx
                .prepare(
                    "INSERT INTO qualifications (person_id, insurer_number, symbol, number, branch, \
                     relation, acquired_on, lost_on, burden_ratio, employer, visible, registered_at, \
                     declared, mismatch) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                )
                .db()?,
            revision: tx.prepare(INSERT_REVISION).db()?,
        })
    }
}

/// Inserts a qualification with its "register" revision; returns its id.
pub(crate) fn insert_qualification(
    tx: &mut Transaction<'_>,
    st: &QualStmts,
    person_id: i64,
    q: &Qualification,
    m: &MatchState<'_>,
    recorded_at: &str,
) -> Result<i64> {
    let n = &q.numbers;
    let declared = m.declared.map(json_text).transpose()?;
    let row = tx
        .query_one(
            &st.insert,
            &[
                &person_id,
                &n.insurer_number.as_str(),
                &n.symbol.as_ref().map(InsuredSymbol::as_str),
                &n.number.as_str(),
                &n.branch.map(|b| b.to_string()),
                &i16::from(q.relation.code()),
                &q.acquired_on,
                &q.lost_on,
                &q.burden_ratio.map(|b| i16::from(b.tenths())),
                &q.employer.as_deref(),
                &m.mismatch.is_empty(),
                &recorded_at,
                &declared,
                &mismatch_text(m.mismatch),
            ],
        )
        .db()?;
    let id: i64 = col(&row, 0)?;
    insert_revision(tx, &st.revision, id, "register", q, m, recorded_at)?;
    Ok(id)
}

impl RegistryStore for PgStore {
    fn write_batch(&self, batch: &Batch, recorded_at: &str) -> Result<BatchCounts> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().db()?;
        let counts = batch::write_batch_tx(&mut tx, batch, recorded_at)?;
        tx.commit().db()?;
        Ok(counts)
    }

    fn institution(&self, code: &InstitutionCode) -> Result<Option<InstitutionRow>> {
        self.conn()?
            .query_opt(
                "SELECT code, name, phone FROM institutions WHERE code = $1",
                &[&code.as_str()],
            )
            .db()?
            .as_ref()
            .map(institution_row)
            .transpose()
    }

    fn insurer(&self, number: &InsurerNumber) -> Result<Option<InsurerRow>> {
        self.conn()?
            .query_opt(
                "SELECT number, name FROM insurers WHERE number = $1",
                &[&number.as_str()],
            )
            .db()?
            .map(|r| {
                Ok(InsurerRow {
                    number: text_as(&r, 0, InsurerNumber::parse)?,
                    name: col(&r, 1)?,
                })
            })
            .transpose()
    }

    fn person(&self, id: i64) -> Result<Option<PersonRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {PERSON_COLS} FROM persons WHERE id = $1"),
                &[&id],
            )
            .db()?
            .as_ref()
            .map(person_row)
            .transpose()
    }

    fn card(&self, serial: &CertificateSerial) -> Result<Option<CardRow>> {
        self.conn()?
            .query_opt(
                "SELECT serial, person_id, valid_to, revoked_on FROM cards WHERE serial = $1",
                &[&serial.as_str()],
            )
            .db()?
            .map(|r| {
                Ok(CardRow {
                    serial: text_as(&r, 0, CertificateSerial::parse)?,
                    person_id: col(&r, 1)?,
                    valid_to: col(&r, 2)?,
                    revoked_on: col(&r, 3)?,
                })
            })
            .transpose()
    }

    fn visible_qualifications_of(&self, person_id: i64) -> Result<Vec<QualificationRow>> {
        self.conn()?
            .query(
                &format!(
                    "SELECT {QUAL_COLS} FROM qualifications q JOIN insurers i ON i.number = q.insurer_number \
                     WHERE q.person_id = $1 AND q.visible ORDER BY q.acquired_on, q.id"
                ),
                &[&person_id],
            )
            .db()?
            .iter()
            .map(qualification_row)
            .collect()
    }

    fn visible_qualifications_by_numbers(
        &self,
        numbers: &InsuranceNumbers,
        birth_date: NaiveDate,
    ) -> Result<Vec<QualificationRow>> {
        self.conn()?
            .query(
                &format!(
                    "SELECT {QUAL_COLS} FROM qualifications q \
                     JOIN insurers i ON i.number = q.insurer_number \
                     JOIN persons p ON p.id = q.person_id \
                     WHERE q.insurer_number = $1 AND q.number = $2 \
                       AND q.symbol IS NOT DISTINCT FROM $3::text \
                       AND ($4::text IS NULL OR q.branch = $4::text) \
                       AND p.birth_date = $5 AND q.visible \
                     ORDER BY q.acquired_on, q.id"
                ),
                &[
                    &numbers.insurer_number.as_str(),
                    &numbers.number.as_str(),
                    &numbers.symbol.as_ref().map(InsuredSymbol::as_str),
                    &numbers.branch.map(|b| b.to_string()),
                    &birth_date,
                ],
            )
            .db()?
            .iter()
            .map(qualification_row)
            .collect()
    }

    fn record_check(&self, check: &NewCheck) -> Result<i64> {
        // The row as stored and hashed: one derivation for both.
        let mut link = CheckLink::of(check);
        // Readers follow an institution's history by id (`checks_after`), so
        // its ids must become visible in order: PostgreSQL assigns them at
        // insert, not at commit, so one institution's inserts are serialised
        // from before the id is drawn until commit.
        let mut c = self.conn()?;
        let lock = c
            .prepared("SELECT pg_advisory_xact_lock(hashtextextended('onshi.check:' || current_schema() || ':' || $1, 0))")
            .db()?;
        let insert = c
            .prepared(
                "INSERT INTO check_history (institution_code, checked_at, checked_on, reference, \
                 certificate_serial, insurer_number, symbol, number, branch, birth_date, person_id, \
                 validity, error_code, answer, identity_confirmed_by, staff_id, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CAST($10::text AS date), $11, $12, $13, \
                 $14, $15, $16, $17, $18) RETURNING id",
            )
            .db()?;
        let last = c
            .prepared(
                "SELECT hash FROM check_history WHERE institution_code = $1 ORDER BY id DESC LIMIT 1",
            )
            .db()?;
        let mut tx = c.transaction().db()?;
        tx.execute(&lock, &[&check.institution.as_str()]).db()?;
        // The institution's chain ([`crate::chain`]), under its lock. A last
        // row from before the chain (no hash) starts it over.
        let prev: String = match tx.query_opt(&last, &[&check.institution.as_str()]).db()? {
            Some(r) => col::<Option<String>>(&r, 0)?,
            None => None,
        }
        .unwrap_or_else(|| crate::chain::GENESIS.to_owned());
        link.hash = Some(crate::chain::check_hash(&link, &prev));
        link.prev_hash = Some(prev);
        let row = tx
            .query_one(
                &insert,
                &[
                    &link.institution_code,
                    &link.checked_at,
                    &check.checked_on,
                    &link.reference,
                    &link.certificate_serial,
                    &link.insurer_number,
                    &link.symbol,
                    &link.number,
                    &link.branch,
                    &link.birth_date,
                    &link.person_id,
                    &check.validity.map(i16::from),
                    &link.error_code,
                    &link.answer,
                    &link.identity_confirmed_by,
                    &link.staff_id,
                    &link.prev_hash,
                    &link.hash,
                ],
            )
            .db()?;
        let id = col(&row, 0)?;
        tx.commit().db()?;
        Ok(id)
    }

    fn check_links(&self, after_id: i64, limit: u32) -> Result<Vec<CheckLink>> {
        // From the primary: a verification must not read a lagging replica.
        self.conn()?
            .query(
                "SELECT id, institution_code, checked_at, checked_on, reference, certificate_serial, \
                 insurer_number, symbol, number, branch, birth_date, person_id, validity, error_code, \
                 answer, identity_confirmed_by, staff_id, prev_hash, hash \
                 FROM check_history WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after_id, &big(limit)],
            )
            .db()?
            .iter()
            .map(|r| {
                let date = |i| col::<Option<NaiveDate>>(r, i).map(|d| d.map(|d| d.to_string()));
                Ok(CheckLink {
                    id: col(r, 0)?,
                    institution_code: col(r, 1)?,
                    checked_at: col(r, 2)?,
                    checked_on: col::<NaiveDate>(r, 3)?.to_string(),
                    reference: col(r, 4)?,
                    certificate_serial: col(r, 5)?,
                    insurer_number: col(r, 6)?,
                    symbol: col(r, 7)?,
                    number: col(r, 8)?,
                    branch: col(r, 9)?,
                    birth_date: date(10)?,
                    person_id: col(r, 11)?,
                    validity: col::<Option<i16>>(r, 12)?.map(i64::from),
                    error_code: col(r, 13)?,
                    answer: col(r, 14)?,
                    identity_confirmed_by: col(r, 15)?,
                    staff_id: col(r, 16)?,
                    prev_hash: col(r, 17)?,
                    hash: col(r, 18)?,
                })
            })
            .collect()
    }

    fn checks_of(&self, institution: &InstitutionCode, on: NaiveDate) -> Result<Vec<CheckRow>> {
        self.checks_where(
            "institution_code = $1 AND checked_on = $2 ORDER BY id",
            &[&institution.as_str(), &on],
        )
    }

    fn checks_after(
        &self,
        institution: &InstitutionCode,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<CheckRow>> {
        self.checks_where(
            "institution_code = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&institution.as_str(), &after_id, &big(limit)],
        )
    }

    fn check_context(&self, code: &InstitutionCode) -> Result<Option<CheckContext>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT i.code, i.name, i.phone, coalesce(m.mode, 'face'), f.kind, f.set_at, f.until \
                 FROM institutions i \
                 LEFT JOIN reader_modes m ON m.institution_code = i.code \
                 LEFT JOIN faults f ON f.institution_code = i.code \
                 WHERE i.code = $1",
                &[&code.as_str()],
            )
            .db()?;
        let Some(r) = row else {
            return Ok(None);
        };
        let kind: Option<String> = col(&r, 4)?;
        Ok(Some(CheckContext {
            institution: institution_row(&r)?,
            reader_mode: col(&r, 3)?,
            fault: match kind {
                Some(kind) => Some(FaultRow {
                    kind,
                    set_at: col(&r, 5)?,
                    until: col(&r, 6)?,
                }),
                None => None,
            },
        }))
    }

    fn set_reader_mode(
        &self,
        code: &InstitutionCode,
        mode: &str,
        staff_id: Option<&str>,
        at: &str,
    ) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().db()?;
        tx.execute(
            "INSERT INTO reader_modes (institution_code, mode, staff_id, changed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (institution_code) DO UPDATE SET mode = excluded.mode, staff_id = excluded.staff_id, \
             changed_at = excluded.changed_at",
            &[&code.as_str(), &mode, &staff_id, &at],
        )
        .db()?;
        tx.execute(
            "INSERT INTO reader_mode_events (institution_code, mode, staff_id, changed_at) VALUES ($1, $2, $3, $4)",
            &[&code.as_str(), &mode, &staff_id, &at],
        )
        .db()?;
        tx.commit().db()?;
        Ok(())
    }

    fn reader_mode_events(&self, code: &InstitutionCode) -> Result<Vec<ReaderModeEvent>> {
        self.conn()?
            .query(
                "SELECT mode, staff_id, changed_at FROM reader_mode_events WHERE institution_code = $1 ORDER BY id",
                &[&code.as_str()],
            )
            .db()?
            .iter()
            .map(|r| {
                Ok(ReaderModeEvent {
                    mode: col(r, 0)?,
                    staff_id: col(r, 1)?,
                    changed_at: col(r, 2)?,
                })
            })
            .collect()
    }

    fn set_fault(
        &self,
        code: &InstitutionCode,
        kind: &str,
        until: Option<&str>,
        at: &str,
    ) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO faults (institution_code, kind, set_at, until) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (institution_code) DO UPDATE SET kind = excluded.kind, set_at = excluded.set_at, \
                 until = excluded.until",
                &[&code.as_str(), &kind, &at, &until],
            )
            .db()?;
        Ok(())
    }

    fn clear_fault(&self, code: &InstitutionCode) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "DELETE FROM faults WHERE institution_code = $1",
                &[&code.as_str()],
            )
            .db()?;
        Ok(n > 0)
    }

    fn insert_token(&self, t: &NewToken) -> Result<i64> {
        let row = self
            .conn()?
            .query_one(
                "INSERT INTO tokens (token_hash, role, institution_code, insurer_number, \
                 certificate_serial, label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &t.hash,
                    &t.role,
                    &t.institution.as_ref().map(InstitutionCode::as_str),
                    &t.insurer.as_ref().map(InsurerNumber::as_str),
                    &t.certificate_serial.as_ref().map(CertificateSerial::as_str),
                    &t.label,
                    &t.created_at,
                ],
            )
            .db()?;
        col(&row, 0)
    }

    fn persons_after(&self, after_id: i64, limit: u32) -> Result<Vec<PersonRow>> {
        self.conn()?
            .query(
                &format!("SELECT {PERSON_COLS} FROM persons WHERE id > $1 ORDER BY id LIMIT $2"),
                &[&after_id, &big(limit)],
            )
            .db()?
            .iter()
            .map(person_row)
            .collect()
    }

    fn institutions(&self) -> Result<Vec<InstitutionRow>> {
        self.conn()?
            .query(
                "SELECT code, name, phone FROM institutions ORDER BY code",
                &[],
            )
            .db()?
            .iter()
            .map(institution_row)
            .collect()
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        self.conn()?
            .query_opt(
                "SELECT id, role, institution_code, insurer_number, certificate_serial, label \
                 FROM tokens WHERE token_hash = $1",
                &[&hash],
            )
            .db()?
            .map(|r| {
                Ok(TokenRow {
                    id: col(&r, 0)?,
                    role: col(&r, 1)?,
                    institution: opt_text_as(&r, 2, InstitutionCode::parse)?,
                    insurer: opt_text_as(&r, 3, InsurerNumber::parse)?,
                    certificate_serial: opt_text_as(&r, 4, CertificateSerial::parse)?,
                    label: col(&r, 5)?,
                })
            })
            .transpose()
    }

    fn counts(&self) -> Result<TableCounts> {
        let r = self
            .read_conn()?
            .query_one(
                "SELECT (SELECT count(*) FROM insurers), (SELECT count(*) FROM institutions), \
                 (SELECT count(*) FROM persons), (SELECT count(*) FROM cards), \
                 (SELECT count(*) FROM qualifications), (SELECT count(*) FROM check_history), \
                 (SELECT count(*) FROM tokens)",
                &[],
            )
            .db()?;
        let n = |i: usize| -> Result<u64> {
            let v: i64 = col(&r, i)?;
            u64::try_from(v).map_err(|e| corrupt(i, e))
        };
        Ok(TableCounts {
            insurers: n(0)?,
            institutions: n(1)?,
            persons: n(2)?,
            cards: n(3)?,
            qualifications: n(4)?,
            checks: n(5)?,
            tokens: n(6)?,
        })
    }
}
