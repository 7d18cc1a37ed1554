//! Bulk registration (`write_batch`) on PostgreSQL: reference data upserted
//! row by row, persons, cards, qualifications and revisions streamed with
//! binary `COPY … FROM STDIN` into the real tables, in one transaction.
//!
//! Ids are reserved up front from the tables' identity sequences, under a
//! transaction-scoped advisory lock, so each batch's persons get consecutive
//! ids (as in SQLite, where the single writer guarantees it) and cards,
//! qualifications and revisions can name them without reading them back.

use ::postgres::Transaction;
use ::postgres::binary_copy::BinaryCopyInWriter;
use ::postgres::types::{ToSql, Type};
use onshi_core::InsuredSymbol;
use rand::Rng;

use super::*;

/// `n` fresh ids of `table`'s identity column, ascending.
fn reserve_ids(tx: &mut Transaction<'_>, table: &str, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let n = i64::try_from(n).map_err(|e| StoreError::Conflict(format!("batch too large: {e}")))?;
    tx.query(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id \
         FROM generate_series(1::bigint, $2::bigint) ORDER BY id",
        &[&table, &n],
    )
    .db()?
    .iter()
    .map(|r| col(r, 0))
    .collect()
}

/// One value of a COPY row.
type Val<'r> = Box<dyn ToSql + Sync + 'r>;

/// `P` + 16 random lowercase hex digits, the shape of the column default.
fn new_person_ref() -> String {
    format!("P{:016x}", rand::rng().random::<u64>())
}

/// Streams `rows` through one binary COPY.
fn copy_rows<'r>(
    tx: &mut Transaction<'_>,
    sql: &str,
    types: &[Type],
    rows: impl Iterator<Item = Result<Vec<Val<'r>>>>,
) -> Result<u64> {
    let sink = tx.copy_in(sql).db()?;
    let mut w = BinaryCopyInWriter::new(sink, types);
    for row in rows {
        let row = row?;
        let refs: Vec<&(dyn ToSql + Sync)> = row.iter().map(|v| &**v).collect();
        w.write(&refs).db()?;
    }
    w.finish().db()
}

pub(super) fn write_batch_tx(
    tx: &mut Transaction<'_>,
    batch: &Batch,
    recorded_at: &str,
) -> Result<BatchCounts> {
    let mut counts = BatchCounts::default();
    // One batch at a time per schema: the person ids stay consecutive.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('onshi.write_batch:' || current_schema(), 0))",
        &[],
    )
    .db()?;
    // And no registration, loss or correction of an insurer whose rows this
    // batch writes runs beside it (their duplicate checks must see them):
    // the same per-insurer locks, taken in order.
    let mut insurers: Vec<&str> = batch
        .persons
        .iter()
        .flat_map(|p| &p.qualifications)
        .map(|q| q.numbers.insurer_number.as_str())
        .collect();
    insurers.sort_unstable();
    insurers.dedup();
    for number in insurers {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('onshi.insurer:' || current_schema() || ':' || $1, 0))",
            &[&number],
        )
        .db()?;
    }
    let ins = tx
        .prepare(
            "INSERT INTO insurers (number, name, kind) VALUES ($1, $2, $3) \
             ON CONFLICT (number) DO UPDATE SET name = excluded.name",
        )
        .db()?;
    for i in &batch.insurers {
        let kind = serde_json::to_value(i.number.kind())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        tx.execute(&ins, &[&i.number.as_str(), &i.name, &kind])
            .db()?;
        counts.insurers += 1;
    }
    let inst = tx
        .prepare(
            "INSERT INTO institutions (code, name, phone) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, phone = excluded.phone",
        )
        .db()?;
    for i in &batch.institutions {
        tx.execute(&inst, &[&i.code.as_str(), &i.name, &i.phone])
            .db()?;
        counts.institutions += 1;
    }
    if batch.persons.is_empty() {
        return Ok(counts);
    }

    let person_ids = reserve_ids(tx, "persons", batch.persons.len())?;
    let n_quals = batch.persons.iter().map(|p| p.qualifications.len()).sum();
    let qual_ids = reserve_ids(tx, "qualifications", n_quals)?;
    counts.first_person_id = person_ids.first().copied();

    // Persons, with their refs generated here when not given.
    counts.persons = copy_rows(
        tx,
        "COPY persons (id, name, kana, birth_date, sex, address, name_key, kana_key, address_key, \
         person_ref) FROM STDIN (FORMAT binary)",
        &[
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::DATE,
            Type::INT2,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
        batch.persons.iter().zip(&person_ids).map(|(np, &id)| {
            let p = &np.person;
            let person_ref = match &np.person_ref {
                Some(r) => r.as_str().to_owned(),
                None => new_person_ref(),
            };
            Ok(vec![
                Box::new(id) as Val<'_>,
                Box::new(p.name.as_str().to_owned()),
                Box::new(p.kana.as_str().to_owned()),
                Box::new(p.birth_date),
                Box::new(i16::from(p.sex.code())),
                Box::new(p.address.as_str().to_owned()),
                Box::new(p.name.key()),
                Box::new(p.kana.key()),
                Box::new(p.address.key()),
                Box::new(person_ref),
            ])
        }),
    )? as usize;

    counts.cards = copy_rows(
        tx,
        "COPY cards (serial, person_id, valid_to, revoked_on) FROM STDIN (FORMAT binary)",
        &[Type::TEXT, Type::INT8, Type::DATE, Type::DATE],
        batch
            .persons
            .iter()
            .zip(&person_ids)
            .flat_map(|(np, &pid)| np.cards.iter().map(move |c| (c, pid)))
            .map(|(c, pid)| {
                Ok(vec![
                    Box::new(c.serial.as_str()) as Val<'_>,
                    Box::new(pid),
                    Box::new(c.valid_to),
                    Box::new(c.revoked_on),
                ])
            }),
    )? as usize;

    // Qualifications in batch order, each with the id reserved for it.
    let quals = || {
        batch
            .persons
            .iter()
            .zip(&person_ids)
            .flat_map(|(np, &pid)| np.qualifications.iter().map(move |q| (q, pid)))
            .zip(&qual_ids)
            .map(|((q, pid), &id)| (id, pid, q))
    };
    counts.qualifications = copy_rows(
        tx,
        "COPY qualifications (id, person_id, insurer_number, symbol, number, branch, relation, \
         acquired_on, lost_on, burden_ratio, employer, visible, registered_at, declared, mismatch) \
         FROM STDIN (FORMAT binary)",
        &[
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT2,
            Type::DATE,
            Type::DATE,
            Type::INT2,
            Type::TEXT,
            Type::BOOL,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
        quals().map(|(id, pid, q)| {
            let n = &q.numbers;
            Ok(vec![
                Box::new(id) as Val<'_>,
                Box::new(pid),
                Box::new(n.insurer_number.as_str()),
                Box::new(n.symbol.as_ref().map(InsuredSymbol::as_str)),
                Box::new(n.number.as_str()),
                Box::new(n.branch.map(|b| b.to_string())),
                Box::new(i16::from(q.relation.code())),
                Box::new(q.acquired_on),
                Box::new(q.lost_on),
                Box::new(q.burden_ratio.map(|b| i16::from(b.tenths()))),
                Box::new(q.employer.as_deref()),
                Box::new(true),
                Box::new(recorded_at),
                Box::new(None::<String>),
                Box::new(None::<String>),
            ])
        }),
    )? as usize;

    // One "register" revision per qualification, in the same order (their
    // ids come from the column default, row by row).
    let matched = MatchState {
        declared: None,
        mismatch: &[],
    };
    copy_rows(
        tx,
        "COPY qualification_revisions (qualification_id, person_id, recorded_at, action, snapshot) \
         FROM STDIN (FORMAT binary)",
        &[Type::INT8, Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT],
        quals().map(|(id, pid, q)| {
            Ok(vec![
                Box::new(id) as Val<'_>,
                Box::new(pid),
                Box::new(recorded_at),
                Box::new("register"),
                Box::new(snapshot_text(q, &matched)?),
            ])
        }),
    )?;
    Ok(counts)
}
