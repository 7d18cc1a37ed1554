//! The embedded SQLite store: one file, WAL, a small connection pool.

use std::path::Path;

use chrono::NaiveDate;
use onshi_core::matching::Attribute;
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::{
    Address, BranchNumber, BurdenRatio, CertificateSerial, InstitutionCode, InsuredNumber,
    InsuredSymbol, InsurerNumber, KanaName, ParseError, Person, PersonName, PersonRef,
    Qualification, Relation, Sex,
};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

mod check_log;
mod claims;
mod clinic;
mod failure_mode;
mod insurer;

use crate::migrations;
use crate::records::*;
use crate::{RegistryStore, Result, StoreError};

/// The SQLite store. Cloning is cheap (the pool is shared).
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    /// Appends the check history with group commit ([`check_log`]).
    checks: std::sync::Arc<check_log::CheckWriter>,
}

fn init_connection(c: &mut Connection) -> rusqlite::Result<()> {
    c.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -65536;
",
    )
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, switches it to WAL and
    /// applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let manager = SqliteConnectionManager::file(path).with_init(init_connection);
        let pool = Pool::builder().max_size(8).build(manager)?;
        {
            let mut c = pool.get()?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            migrate(&mut c)?;
        }
        let checks = std::sync::Arc::new(check_log::CheckWriter::open(path)?);
        Ok(Self { pool, checks })
    }

    pub(crate) fn conn(&self) -> Result<PooledConnection<SqliteConnectionManager>> {
        Ok(self.pool.get()?)
    }

    fn checks_where(&self, filter: &str, p: impl rusqlite::Params) -> Result<Vec<CheckRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT id, checked_at, checked_on, reference, validity, error_code, answer \
             FROM check_history WHERE {filter}"
        ))?;
        let rows = st.query_map(p, |r| {
            let answer: String = r.get(6)?;
            Ok(CheckRow {
                id: r.get(0)?,
                checked_at: r.get(1)?,
                checked_on: r.get(2)?,
                reference: r.get(3)?,
                validity: r.get(4)?,
                error_code: r.get(5)?,
                answer: serde_json::from_str(&answer).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(6, Type::Text, Box::new(e))
                })?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()?
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

fn migrate(c: &mut Connection) -> Result<()> {
    let current: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in migrations::SQLITE.iter().enumerate().skip(current as usize) {
        let tx = c.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied SQLite migration");
    }
    Ok(())
}

/// Turns constraint failures into [`StoreError::Conflict`].
pub(crate) fn classify(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| f.to_string()))
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Busy(f.to_string())
        }
        _ => StoreError::Sqlite(e),
    }
}

pub(crate) fn corrupt(idx: usize, e: ParseError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

pub(crate) fn parsed<T>(idx: usize, r: std::result::Result<T, ParseError>) -> rusqlite::Result<T> {
    r.map_err(|e| corrupt(idx, e))
}

pub(crate) fn opt_parsed<T>(
    row: &Row<'_>,
    idx: usize,
    f: impl Fn(&str) -> std::result::Result<T, ParseError>,
) -> rusqlite::Result<Option<T>> {
    row.get::<_, Option<String>>(idx)?
        .map(|s| parsed(idx, f(&s)))
        .transpose()
}

pub(crate) fn unwrap_corrupt(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(i, _, inner) => {
            StoreError::Corrupt(format!("column {i}: {inner}"))
        }
        other => classify(other),
    }
}

pub(crate) const PERSON_COLS: &str = "id, name, kana, birth_date, sex, address, person_ref";

/// The 5 attributes from columns `base..base + 5` (name, kana, birth_date,
/// sex, address).
pub(crate) fn person_at(r: &Row<'_>, base: usize) -> rusqlite::Result<Person> {
    let sex = match r.get::<_, i64>(base + 3)? {
        1 => Sex::Male,
        2 => Sex::Female,
        _ => return Err(corrupt(base + 3, onshi_core::ParseErrorKind::Sex.at("sex"))),
    };
    Ok(Person {
        name: parsed(base, PersonName::parse(&r.get::<_, String>(base)?))?,
        kana: parsed(base + 1, KanaName::parse(&r.get::<_, String>(base + 1)?))?,
        birth_date: r.get(base + 2)?,
        sex,
        address: parsed(base + 4, Address::parse(&r.get::<_, String>(base + 4)?))?,
    })
}

pub(crate) fn person_row(r: &Row<'_>) -> rusqlite::Result<PersonRow> {
    Ok(PersonRow {
        id: r.get(0)?,
        person_ref: parsed(6, PersonRef::parse(&r.get::<_, String>(6)?))?,
        person: person_at(r, 1)?,
    })
}

pub(crate) const QUAL_COLS: &str = "q.id, q.person_id, i.name, q.insurer_number, q.symbol, q.number, q.branch, \
     q.relation, q.acquired_on, q.lost_on, q.burden_ratio, q.employer";

pub(crate) fn qualification_row(r: &Row<'_>) -> rusqlite::Result<QualificationRow> {
    let insurer = parsed(3, InsurerNumber::parse(&r.get::<_, String>(3)?))?;
    let symbol = opt_parsed(r, 4, InsuredSymbol::parse)?;
    let number = parsed(5, InsuredNumber::parse(&r.get::<_, String>(5)?))?;
    let branch = opt_parsed(r, 6, BranchNumber::parse)?;
    let relation = parsed(7, Relation::parse(&r.get::<_, i64>(7)?.to_string()))?;
    let burden_ratio = r
        .get::<_, Option<i64>>(10)?
        .map(|t| parsed(10, BurdenRatio::from_tenths(t as u8)))
        .transpose()?;
    Ok(QualificationRow {
        id: r.get(0)?,
        person_id: r.get(1)?,
        insurer_name: r.get(2)?,
        qualification: Qualification {
            numbers: parsed(3, InsuranceNumbers::new(insurer, symbol, number, branch))?,
            relation,
            acquired_on: r.get(8)?,
            lost_on: r.get(9)?,
            burden_ratio,
            employer: r.get(11)?,
        },
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

pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

pub(crate) fn insert_revision(
    tx: &Transaction<'_>,
    id: i64,
    action: &str,
    q: &Qualification,
    m: &MatchState<'_>,
    recorded_at: &str,
) -> rusqlite::Result<()> {
    let snapshot = serde_json::json!({
        "qualification": q,
        "declared": m.declared,
        "mismatch": m.mismatch,
    });
    tx.prepare_cached(
        "INSERT INTO qualification_revisions (qualification_id, recorded_at, action, snapshot) \
         VALUES ($1, $2, $3, $4)",
    )?
    .execute(params![id, recorded_at, action, json_text(&snapshot)?])?;
    Ok(())
}

pub(crate) fn insert_qualification(
    tx: &Transaction<'_>,
    person_id: i64,
    q: &Qualification,
    m: &MatchState<'_>,
    recorded_at: &str,
) -> rusqlite::Result<i64> {
    let n = &q.numbers;
    let declared = m.declared.map(json_text).transpose()?;
    tx.prepare_cached(
        "INSERT INTO qualifications (person_id, insurer_number, symbol, number, branch, relation, \
         acquired_on, lost_on, burden_ratio, employer, visible, registered_at, declared, mismatch) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )?
    .execute(params![
        person_id,
        n.insurer_number.as_str(),
        n.symbol.as_ref().map(InsuredSymbol::as_str),
        n.number.as_str(),
        n.branch.map(|b| b.to_string()),
        q.relation.code(),
        q.acquired_on,
        q.lost_on,
        q.burden_ratio.map(BurdenRatio::tenths),
        q.employer.as_deref(),
        m.mismatch.is_empty(),
        recorded_at,
        declared,
        mismatch_text(m.mismatch),
    ])?;
    let id = tx.last_insert_rowid();
    insert_revision(tx, id, "register", q, m, recorded_at)?;
    Ok(id)
}

fn write_batch_tx(
    tx: &Transaction<'_>,
    batch: &Batch,
    recorded_at: &str,
) -> rusqlite::Result<BatchCounts> {
    let mut counts = BatchCounts::default();
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO insurers (number, name, kind) VALUES ($1, $2, $3) \
             ON CONFLICT (number) DO UPDATE SET name = excluded.name",
        )?;
        for i in &batch.insurers {
            let kind = serde_json::to_value(i.number.kind())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            ins.execute(params![i.number.as_str(), i.name, kind])?;
            counts.insurers += 1;
        }
        let mut inst = tx.prepare_cached(
            "INSERT INTO institutions (code, name, phone) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, phone = excluded.phone",
        )?;
        for i in &batch.institutions {
            inst.execute(params![i.code.as_str(), i.name, i.phone])?;
            counts.institutions += 1;
        }
    }
    let mut person_stmt = tx.prepare_cached(
        "INSERT INTO persons (name, kana, birth_date, sex, address, name_key, kana_key, address_key, \
         person_ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )?;
    let mut ref_stmt = tx.prepare_cached(
        "UPDATE persons SET person_ref = 'P' || lower(hex(randomblob(8))) WHERE id = $1",
    )?;
    let mut card_stmt = tx.prepare_cached(
        "INSERT INTO cards (serial, person_id, valid_to, revoked_on) VALUES ($1, $2, $3, $4)",
    )?;
    for np in &batch.persons {
        let p = &np.person;
        person_stmt.execute(params![
            p.name.as_str(),
            p.kana.as_str(),
            p.birth_date,
            p.sex.code(),
            p.address.as_str(),
            p.name.key(),
            p.kana.key(),
            p.address.key(),
            np.person_ref.as_ref().map(PersonRef::as_str),
        ])?;
        let pid = tx.last_insert_rowid();
        if np.person_ref.is_none() {
            ref_stmt.execute([pid])?;
        }
        counts.first_person_id.get_or_insert(pid);
        counts.persons += 1;
        for c in &np.cards {
            card_stmt.execute(params![c.serial.as_str(), pid, c.valid_to, c.revoked_on])?;
            counts.cards += 1;
        }
        for q in &np.qualifications {
            let matched = MatchState {
                declared: None,
                mismatch: &[],
            };
            insert_qualification(tx, pid, q, &matched, recorded_at)?;
            counts.qualifications += 1;
        }
    }
    Ok(counts)
}

impl RegistryStore for SqliteStore {
    fn write_batch(&self, batch: &Batch, recorded_at: &str) -> Result<BatchCounts> {
        let mut c = self.conn()?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let counts = write_batch_tx(&tx, batch, recorded_at).map_err(classify)?;
        tx.commit()?;
        Ok(counts)
    }

    fn institution(&self, code: &InstitutionCode) -> Result<Option<InstitutionRow>> {
        let c = self.conn()?;
        let mut st =
            c.prepare_cached("SELECT code, name, phone FROM institutions WHERE code = $1")?;
        st.query_row([code.as_str()], |r| {
            Ok(InstitutionRow {
                code: parsed(0, InstitutionCode::parse(&r.get::<_, String>(0)?))?,
                name: r.get(1)?,
                phone: r.get(2)?,
            })
        })
        .optional()
        .map_err(unwrap_corrupt)
    }

    fn insurer(&self, number: &InsurerNumber) -> Result<Option<InsurerRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached("SELECT number, name FROM insurers WHERE number = $1")?;
        st.query_row([number.as_str()], |r| {
            Ok(InsurerRow {
                number: parsed(0, InsurerNumber::parse(&r.get::<_, String>(0)?))?,
                name: r.get(1)?,
            })
        })
        .optional()
        .map_err(unwrap_corrupt)
    }

    fn person(&self, id: i64) -> Result<Option<PersonRow>> {
        let c = self.conn()?;
        let mut st =
            c.prepare_cached(&format!("SELECT {PERSON_COLS} FROM persons WHERE id = $1"))?;
        st.query_row([id], person_row)
            .optional()
            .map_err(unwrap_corrupt)
    }

    fn card(&self, serial: &CertificateSerial) -> Result<Option<CardRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT serial, person_id, valid_to, revoked_on FROM cards WHERE serial = $1",
        )?;
        st.query_row([serial.as_str()], |r| {
            Ok(CardRow {
                serial: parsed(0, CertificateSerial::parse(&r.get::<_, String>(0)?))?,
                person_id: r.get(1)?,
                valid_to: r.get(2)?,
                revoked_on: r.get(3)?,
            })
        })
        .optional()
        .map_err(unwrap_corrupt)
    }

    fn visible_qualifications_of(&self, person_id: i64) -> Result<Vec<QualificationRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {QUAL_COLS} FROM qualifications q JOIN insurers i ON i.number = q.insurer_number \
             WHERE q.person_id = $1 AND q.visible = 1 ORDER BY q.acquired_on, q.id"
        ))?;
        let rows = st.query_map([person_id], qualification_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn visible_qualifications_by_numbers(
        &self,
        numbers: &InsuranceNumbers,
        birth_date: NaiveDate,
    ) -> Result<Vec<QualificationRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {QUAL_COLS} FROM qualifications q \
             JOIN insurers i ON i.number = q.insurer_number \
             JOIN persons p ON p.id = q.person_id \
             WHERE q.insurer_number = $1 AND q.number = $2 \
               AND q.symbol IS $3 AND ($4 IS NULL OR q.branch = $4) \
               AND p.birth_date = $5 AND q.visible = 1 \
             ORDER BY q.acquired_on, q.id"
        ))?;
        let rows = st.query_map(
            params![
                numbers.insurer_number.as_str(),
                numbers.number.as_str(),
                numbers.symbol.as_ref().map(InsuredSymbol::as_str),
                numbers.branch.map(|b| b.to_string()),
                birth_date,
            ],
            qualification_row,
        )?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn record_check(&self, check: &NewCheck) -> Result<i64> {
        self.checks.record(check)
    }

    fn checks_of(&self, institution: &InstitutionCode, on: NaiveDate) -> Result<Vec<CheckRow>> {
        self.checks_where(
            "institution_code = $1 AND checked_on = $2 ORDER BY id",
            params![institution.as_str(), on],
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
            params![institution.as_str(), after_id, limit],
        )
    }

    fn check_links(&self, after_id: i64, limit: u32) -> Result<Vec<CheckLink>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT id, institution_code, checked_at, checked_on, reference, certificate_serial, \
             insurer_number, symbol, number, branch, birth_date, person_id, validity, error_code, \
             answer, identity_confirmed_by, staff_id, prev_hash, hash \
             FROM check_history WHERE id > $1 ORDER BY id LIMIT $2",
        )?;
        let rows = st.query_map(params![after_id, limit], |r| {
            Ok(CheckLink {
                id: r.get(0)?,
                institution_code: r.get(1)?,
                checked_at: r.get(2)?,
                checked_on: r.get(3)?,
                reference: r.get(4)?,
                certificate_serial: r.get(5)?,
                insurer_number: r.get(6)?,
                symbol: r.get(7)?,
                number: r.get(8)?,
                branch: r.get(9)?,
                birth_date: r.get(10)?,
                person_id: r.get(11)?,
                validity: r.get(12)?,
                error_code: r.get(13)?,
                answer: r.get(14)?,
                identity_confirmed_by: r.get(15)?,
                staff_id: r.get(16)?,
                prev_hash: r.get(17)?,
                hash: r.get(18)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn check_context(&self, code: &InstitutionCode) -> Result<Option<CheckContext>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT i.code, i.name, i.phone, coalesce(m.mode, 'face'), f.kind, f.set_at, f.until \
             FROM institutions i \
             LEFT JOIN reader_modes m ON m.institution_code = i.code \
             LEFT JOIN faults f ON f.institution_code = i.code \
             WHERE i.code = $1",
        )?;
        st.query_row([code.as_str()], |r| {
            let kind: Option<String> = r.get(4)?;
            Ok(CheckContext {
                institution: InstitutionRow {
                    code: parsed(0, InstitutionCode::parse(&r.get::<_, String>(0)?))?,
                    name: r.get(1)?,
                    phone: r.get(2)?,
                },
                reader_mode: r.get(3)?,
                fault: match kind {
                    Some(kind) => Some(FaultRow {
                        kind,
                        set_at: r.get(5)?,
                        until: r.get(6)?,
                    }),
                    None => None,
                },
            })
        })
        .optional()
        .map_err(unwrap_corrupt)
    }

    fn set_reader_mode(
        &self,
        code: &InstitutionCode,
        mode: &str,
        staff_id: Option<&str>,
        at: &str,
    ) -> Result<()> {
        let mut c = self.conn()?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO reader_modes (institution_code, mode, staff_id, changed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (institution_code) DO UPDATE SET mode = excluded.mode, staff_id = excluded.staff_id, \
             changed_at = excluded.changed_at",
        )?
        .execute(params![code.as_str(), mode, staff_id, at])
        .map_err(classify)?;
        tx.prepare_cached(
            "INSERT INTO reader_mode_events (institution_code, mode, staff_id, changed_at) VALUES ($1, $2, $3, $4)",
        )?
        .execute(params![code.as_str(), mode, staff_id, at])
        .map_err(classify)?;
        tx.commit()?;
        Ok(())
    }

    fn reader_mode_events(&self, code: &InstitutionCode) -> Result<Vec<ReaderModeEvent>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT mode, staff_id, changed_at FROM reader_mode_events WHERE institution_code = $1 ORDER BY id",
        )?;
        let rows = st.query_map([code.as_str()], |r| {
            Ok(ReaderModeEvent {
                mode: r.get(0)?,
                staff_id: r.get(1)?,
                changed_at: r.get(2)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn set_fault(
        &self,
        code: &InstitutionCode,
        kind: &str,
        until: Option<&str>,
        at: &str,
    ) -> Result<()> {
        let c = self.conn()?;
        c.prepare_cached(
            "INSERT INTO faults (institution_code, kind, set_at, until) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (institution_code) DO UPDATE SET kind = excluded.kind, set_at = excluded.set_at, \
             until = excluded.until",
        )?
        .execute(params![code.as_str(), kind, at, until])
        .map_err(classify)?;
        Ok(())
    }

    fn clear_fault(&self, code: &InstitutionCode) -> Result<bool> {
        let c = self.conn()?;
        let n = c
            .prepare_cached("DELETE FROM faults WHERE institution_code = $1")?
            .execute([code.as_str()])?;
        Ok(n > 0)
    }

    fn persons_after(&self, after_id: i64, limit: u32) -> Result<Vec<PersonRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {PERSON_COLS} FROM persons WHERE id > $1 ORDER BY id LIMIT $2"
        ))?;
        let rows = st.query_map(params![after_id, limit], person_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn institutions(&self) -> Result<Vec<InstitutionRow>> {
        let c = self.conn()?;
        let mut st =
            c.prepare_cached("SELECT code, name, phone FROM institutions ORDER BY code")?;
        let rows = st.query_map([], |r| {
            Ok(InstitutionRow {
                code: parsed(0, InstitutionCode::parse(&r.get::<_, String>(0)?))?,
                name: r.get(1)?,
                phone: r.get(2)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unwrap_corrupt)
    }

    fn insert_token(&self, t: &NewToken) -> Result<i64> {
        let c = self.conn()?;
        c.prepare_cached(
            "INSERT INTO tokens (token_hash, role, institution_code, insurer_number, \
             certificate_serial, label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )?
        .execute(params![
            t.hash,
            t.role,
            t.institution.as_ref().map(InstitutionCode::as_str),
            t.insurer.as_ref().map(InsurerNumber::as_str),
            t.certificate_serial.as_ref().map(CertificateSerial::as_str),
            t.label,
            t.created_at,
        ])
        .map_err(classify)?;
        Ok(c.last_insert_rowid())
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        let c = self.conn()?;
        let mut st = c.prepare_cached(
            "SELECT id, role, institution_code, insurer_number, certificate_serial, label \
             FROM tokens WHERE token_hash = $1",
        )?;
        st.query_row([hash], |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                role: r.get(1)?,
                institution: opt_parsed(r, 2, InstitutionCode::parse)?,
                insurer: opt_parsed(r, 3, InsurerNumber::parse)?,
                certificate_serial: opt_parsed(r, 4, CertificateSerial::parse)?,
                label: r.get(5)?,
            })
        })
        .optional()
        .map_err(unwrap_corrupt)
    }

    fn counts(&self) -> Result<TableCounts> {
        let c = self.conn()?;
        let n = |t: &str| -> Result<u64> {
            Ok(c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
        };
        Ok(TableCounts {
            insurers: n("insurers")?,
            institutions: n("institutions")?,
            persons: n("persons")?,
            cards: n("cards")?,
            qualifications: n("qualifications")?,
            checks: n("check_history")?,
            tokens: n("tokens")?,
        })
    }
}
