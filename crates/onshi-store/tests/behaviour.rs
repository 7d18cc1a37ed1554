//! The store's behaviour, run against both stores: every test of `both!`
//! runs as `<name>::sqlite` (always) and `<name>::postgres` (when the crate
//! was built with `ONSHI_PG_URL` set; otherwise it is listed as ignored).
//! Each PostgreSQL test works in a fresh schema of that database.

use std::ops::Deref;

use chrono::NaiveDate;
use onshi_core::matching::{Attribute, differing};
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::*;
use onshi_store::*;
use serde_json::json;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn person(name: &str, kana: &str, birth: &str) -> Person {
    Person {
        name: PersonName::parse(name).unwrap(),
        kana: KanaName::parse(kana).unwrap(),
        birth_date: d(birth),
        sex: Sex::Female,
        address: Address::parse("東京都千代田区霞が関1-1-1").unwrap(),
    }
}

fn qual(number: &str, branch: u8, from: &str, to: Option<&str>) -> Qualification {
    Qualification {
        numbers: InsuranceNumbers::new(
            InsurerNumber::parse("01130012").unwrap(),
            Some(InsuredSymbol::parse("10").unwrap()),
            InsuredNumber::parse(number).unwrap(),
            BranchNumber::new(branch),
        )
        .unwrap(),
        relation: Relation::Insured,
        acquired_on: d(from),
        lost_on: to.map(d),
        burden_ratio: None,
        employer: None,
    }
}

fn batch(serial: &str) -> Batch {
    Batch {
        insurers: vec![InsurerRow {
            number: InsurerNumber::parse("01130012").unwrap(),
            name: "協会けんぽ東京".into(),
        }],
        institutions: vec![InstitutionRow {
            code: InstitutionCode::parse("1311234567").unwrap(),
            name: "テスト医院".into(),
            phone: None,
        }],
        persons: vec![NewPerson {
            person_ref: None,
            person: person("髙橋 花子", "たかはし はなこ", "1990-01-02"),
            cards: vec![NewCard {
                serial: CertificateSerial::parse(serial).unwrap(),
                valid_to: d("2030-01-01"),
                revoked_on: None,
            }],
            qualifications: vec![
                qual("5", 0, "2015-04-01", Some("2020-04-01")),
                qual("5", 0, "2021-04-01", None),
            ],
        }],
    }
}

/// A second person, with a known person_ref and no qualification yet.
fn resident(person_ref: &str, serial: &str, name: &str, birth: &str) -> NewPerson {
    NewPerson {
        person_ref: Some(PersonRef::parse(person_ref).unwrap()),
        person: person(name, "すずき いちろう", birth),
        cards: vec![NewCard {
            serial: CertificateSerial::parse(serial).unwrap(),
            valid_to: d("2030-01-01"),
            revoked_on: None,
        }],
        qualifications: vec![],
    }
}

fn inst() -> InstitutionCode {
    InstitutionCode::parse("1311234567").unwrap()
}

fn insurer() -> InsurerNumber {
    InsurerNumber::parse("01130012").unwrap()
}

fn respond(o: &RegisterOutcome) -> StoredResponse {
    StoredResponse {
        status: 201,
        body: json!({ "registered": o.registered, "first_id": o.first_id }),
    }
}

fn respond_record(r: &InsurerRecord) -> StoredResponse {
    StoredResponse {
        status: 200,
        body: json!({ "id": r.id, "lost_on": r.qualification.lost_on }),
    }
}

fn claim(key: &str, hash: &str) -> IdemClaim {
    IdemClaim {
        scope: "insurer:01130012".into(),
        key: key.into(),
        request_hash: hash.into(),
    }
}

/// What a test needs beyond the four traits.
trait Backend: Store + Sized + 'static {
    /// How many migrations a fresh store applies.
    const MIGRATIONS: usize;
    fn version(&self) -> i64;
}

impl Backend for SqliteStore {
    const MIGRATIONS: usize = migrations::SQLITE.len();
    fn version(&self) -> i64 {
        self.schema_version().unwrap()
    }
}

impl Backend for PgStore {
    const MIGRATIONS: usize = migrations::POSTGRES.len();
    fn version(&self) -> i64 {
        self.schema_version().unwrap()
    }
}

/// Runs SQL on a test's database around the store; the error's text.
type RawSql = Box<dyn Fn(&str) -> std::result::Result<(), String>>;

/// A fresh store, a way to open it again, and what keeps its data alive.
struct Env<S> {
    store: S,
    reopen: Box<dyn Fn() -> S>,
    /// Runs SQL on the database directly, around the store.
    raw: RawSql,
    /// SQL that drops the append-only guards of the audit tables.
    drop_guards: String,
    _keep: Keep,
}

#[allow(dead_code)]
enum Keep {
    Dir(tempfile::TempDir),
    Schema(pg::SchemaGuard),
}

impl<S> Deref for Env<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.store
    }
}

fn sqlite_env() -> Env<SqliteStore> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let raw_path = path.clone();
    Env {
        store,
        reopen: Box::new(move || SqliteStore::open(&path).unwrap()),
        raw: Box::new(move |sql| {
            rusqlite::Connection::open(&raw_path)
                .and_then(|c| c.execute_batch(sql))
                .map_err(|e| e.to_string())
        }),
        drop_guards: "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; \
                      DROP TRIGGER check_history_no_update; DROP TRIGGER check_history_no_delete;"
            .into(),
        _keep: Keep::Dir(dir),
    }
}

fn pg_env() -> Env<PgStore> {
    let guard = pg::SchemaGuard::fresh();
    let (url, schema) = (guard.url.clone(), guard.schema.clone());
    let store = PgStore::connect_in_schema(&url, &schema).unwrap();
    let (raw_url, raw_schema) = (url.clone(), schema.clone());
    Env {
        store,
        reopen: Box::new(move || PgStore::connect_in_schema(&url, &schema).unwrap()),
        raw: Box::new(move |sql| {
            let mut c = ::postgres::Client::connect(&raw_url, ::postgres::NoTls)
                .map_err(|e| e.to_string())?;
            c.batch_execute(&format!("SET search_path TO \"{raw_schema}\"; {sql}"))
                .map_err(|e| {
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
                })
        }),
        drop_guards: "DROP TRIGGER audit_log_append_only ON audit_log; \
                      DROP TRIGGER check_history_append_only ON check_history;"
            .into(),
        _keep: Keep::Schema(guard),
    }
}

/// One test body, run on SQLite and on PostgreSQL.
macro_rules! both {
    ($(#[doc = $doc:literal])* fn $name:ident($s:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run<S: Backend>($s: Env<S>) $body

            #[test]
            fn sqlite() {
                run(sqlite_env())
            }

            #[test]
            #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
            fn postgres() {
                run(pg_env())
            }
        }
    };
}

both! {
    fn migrations_apply_once(s) {
        assert_eq!(s.version(), S::MIGRATIONS as i64);
        let again = (s.reopen)();
        assert_eq!(again.version(), S::MIGRATIONS as i64);
    }
}

both! {
    fn batch_round_trip_and_lookups(s) {
        let c = s.write_batch(&batch("C-1"), "t").unwrap();
        assert_eq!((c.persons, c.cards, c.qualifications), (1, 1, 2));
        let card = s
            .card(&CertificateSerial::parse("C-1").unwrap())
            .unwrap()
            .unwrap();
        let p = s.person(card.person_id).unwrap().unwrap();
        assert_eq!(p.person.kana.as_str(), "タカハシ ハナコ");
        assert!(
            p.person_ref.as_str().starts_with('P') && p.person_ref.as_str().len() == 17,
            "{}",
            p.person_ref
        );
        let qs = s.visible_qualifications_of(card.person_id).unwrap();
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].qualification.lost_on, Some(d("2020-04-01")));
        assert_eq!(qs[1].insurer_name, "協会けんぽ東京");
        let by_numbers = s
            .visible_qualifications_by_numbers(&qs[1].qualification.numbers, d("1990-01-02"))
            .unwrap();
        assert_eq!(by_numbers.len(), 2);
        let wrong_birth = s
            .visible_qualifications_by_numbers(&qs[1].qualification.numbers, d("1990-01-03"))
            .unwrap();
        assert!(wrong_birth.is_empty());
        let mut no_branch = qs[1].qualification.numbers.clone();
        no_branch.branch = None;
        assert_eq!(
            s.visible_qualifications_by_numbers(&no_branch, d("1990-01-02"))
                .unwrap()
                .len(),
            2
        );
        let mut no_symbol = qs[1].qualification.numbers.clone();
        no_symbol.symbol = None;
        assert!(
            s.visible_qualifications_by_numbers(&no_symbol, d("1990-01-02"))
                .unwrap()
                .is_empty()
        );
    }
}

both! {
    fn a_failing_batch_writes_nothing(s) {
        s.write_batch(&batch("C-1"), "t").unwrap();
        let before = s.counts().unwrap();
        // The second person reuses a card serial: the whole batch must roll back.
        let mut b = batch("C-2");
        b.persons.push(batch("C-1").persons.remove(0));
        let e = s.write_batch(&b, "t").unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");
        assert_eq!(s.counts().unwrap(), before);
        assert!(
            s.card(&CertificateSerial::parse("C-2").unwrap())
                .unwrap()
                .is_none()
        );
    }
}

both! {
    /// Batches upsert reference data, give consecutive person ids and keep
    /// given person_refs.
    fn batches_upsert_reference_data_and_number_persons(s) {
        let first = s.write_batch(&batch("C-1"), "2024-04-01T00:00:00.000Z").unwrap();
        assert_eq!(first.first_person_id, Some(1));
        let mut b = batch("C-2");
        b.insurers[0].name = "協会けんぽ東京支部".into();
        b.institutions[0].phone = Some("03-0000-0000".into());
        b.persons.push(resident("REF-2", "C-3", "鈴木 一郎", "1980-05-06"));
        b.persons.push(resident("REF-3", "C-4", "鈴木 二郎", "1981-05-06"));
        let c = s.write_batch(&b, "2024-04-02T00:00:00.000Z").unwrap();
        assert_eq!(
            c,
            BatchCounts {
                insurers: 1,
                institutions: 1,
                persons: 3,
                cards: 3,
                qualifications: 2,
                first_person_id: Some(2),
            }
        );
        assert_eq!(s.insurer(&insurer()).unwrap().unwrap().name, "協会けんぽ東京支部");
        assert_eq!(
            s.institution(&inst()).unwrap().unwrap().phone.as_deref(),
            Some("03-0000-0000")
        );
        let p = s.person_by_ref(&PersonRef::parse("REF-3").unwrap()).unwrap().unwrap();
        assert_eq!(p.id, 4);
        let all = s.persons_after(0, 10).unwrap();
        assert_eq!(all.iter().map(|p| p.id).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        assert_eq!(s.persons_after(2, 1).unwrap()[0].id, 3);
        let empty = s.write_batch(&Batch::default(), "t").unwrap();
        assert_eq!(empty, BatchCounts::default());
        let counts = s.counts().unwrap();
        assert_eq!((counts.persons, counts.cards, counts.qualifications), (4, 4, 4));
        // Reference loads are matched by construction: visible, one revision.
        let rec = s.insurer_record(&insurer(), 3).unwrap().unwrap();
        assert!(rec.visible && rec.mismatch.is_empty());
        assert_eq!(rec.registered_at, "2024-04-02T00:00:00.000Z");
        let revs = s.revisions(&insurer(), 3).unwrap();
        assert_eq!(revs.len(), 1);
        assert_eq!(revs[0].action, "register");
        assert_eq!(revs[0].snapshot["declared"], serde_json::Value::Null);
        assert_eq!(revs[0].snapshot["mismatch"], json!([]));
    }
}

both! {
    /// Checks recorded at once from many threads (group commit on SQLite):
    /// each gets its own id, in order per thread, every row is kept with its
    /// own answer, and a failing row fails alone.
    fn concurrent_checks_are_each_kept_once(s) {
        s.write_batch(&batch("C-1"), "t").unwrap();
        let serial = CertificateSerial::parse("C-1").unwrap();
        let check = |inst: InstitutionCode, t: usize, i: usize| NewCheck {
            institution: inst,
            checked_at: "2024-05-01T00:00:00.000Z".into(),
            checked_on: d("2024-05-01"),
            query: CheckQuery::Card { serial: serial.clone() },
            person_id: None,
            validity: Some(1),
            error_code: None,
            answer: json!({ "t": t, "i": i }),
            identity_confirmed_by: None,
            staff_id: None,
        };
        let store = &s.store;
        let per_thread: Vec<Vec<i64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let check = &check;
                    scope.spawn(move || {
                        let mut ids = Vec::new();
                        for i in 0..40 {
                            ids.push(store.record_check(&check(inst(), t, i)).unwrap());
                            if i % 10 == 0 {
                                // An unknown institution breaks a reference.
                                let bad = InstitutionCode::parse("2711234567").unwrap();
                                let e = store.record_check(&check(bad, t, i)).unwrap_err();
                                assert!(matches!(e, StoreError::Conflict(_)), "{e}");
                            }
                        }
                        ids
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<i64> = per_thread.iter().flatten().copied().collect();
        for ids in &per_thread {
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        }
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 8 * 40);
        let day = s.checks_of(&inst(), d("2024-05-01")).unwrap();
        assert_eq!(day.iter().map(|c| c.id).collect::<Vec<_>>(), all);
        for (t, ids) in per_thread.iter().enumerate() {
            for (i, id) in ids.iter().enumerate() {
                let row = day.iter().find(|c| c.id == *id).unwrap();
                assert_eq!(row.answer, json!({ "t": t, "i": i }));
            }
        }
        // Written in groups, one institution's chain still links row to row.
        let report = chain::verify(store, &[]).unwrap();
        assert!(report.ok(), "{:?}", report.breaks);
        assert_eq!(report.verified, 8 * 40);
    }
}

both! {
    /// The hash chains (issue 10, item 2): an intact log verifies; the
    /// database refuses UPDATE and DELETE; with those guards dropped, an
    /// edited, deleted or inserted entry is found at its id, every break is
    /// reported, a chain cut at its tail is found by the heads kept from
    /// before, and clearing the hashes is not taken for rows from before the
    /// chain.
    fn audit_and_check_chains_catch_tampering(s) {
        s.write_batch(&batch("C-1"), "t").unwrap();
        let other = InstitutionCode::parse("2711234567").unwrap();
        s.write_batch(&Batch {
            institutions: vec![InstitutionRow { code: other.clone(), name: "大阪医院".into(), phone: None }],
            ..Batch::default()
        }, "t").unwrap();
        let check = |inst: &InstitutionCode, i: i64| NewCheck {
            institution: inst.clone(),
            checked_at: format!("2024-05-01T00:00:0{i}.000Z"),
            checked_on: d("2024-05-01"),
            query: CheckQuery::Numbers {
                numbers: qual("1", 0, "2020-01-01", None).numbers,
                birth_date: d("1990-01-02"),
            },
            person_id: Some(1),
            validity: Some(1),
            error_code: None,
            answer: json!({ "i": i }),
            identity_confirmed_by: Some("face".into()),
            staff_id: None,
        };
        let mut a_ids = Vec::new();
        for i in 0..3 {
            a_ids.push(s.record_check(&check(&inst(), i)).unwrap());
            s.record_check(&check(&other, i)).unwrap();
        }
        for i in 0..4 {
            s.audit(&format!("2024-05-01T01:00:0{i}.000Z"), "insurer:01130012", "read", Some(1), Some("報告"), &json!({ "i": i }))
                .unwrap();
        }
        let log = s.audit_entries(0, 10).unwrap();
        assert_eq!(log[0].prev_hash.as_deref(), Some(chain::GENESIS));
        assert_eq!(log[1].prev_hash, log[0].hash);

        let clean = chain::verify(&*s, &[]).unwrap();
        assert!(clean.ok(), "{:?}", clean.breaks);
        assert_eq!((clean.verified, clean.unchained), (10, 0));
        let chains: Vec<&str> = clean.heads.iter().map(|h| h.chain.as_str()).collect();
        assert_eq!(chains, ["audit_log", "check_history:1311234567", "check_history:2711234567"]);
        assert_eq!(clean.heads[0].id, log[3].id);

        // The database itself refuses edits and deletions.
        for sql in [
            "UPDATE audit_log SET actor = 'x'".to_owned(),
            format!("DELETE FROM audit_log WHERE id = {}", log[1].id),
            "UPDATE check_history SET person_id = NULL".to_owned(),
            format!("DELETE FROM check_history WHERE id = {}", a_ids[0]),
        ] {
            let e = (s.raw)(&sql).unwrap_err();
            assert!(e.contains("append-only"), "{sql}: {e}");
        }
        assert_eq!(chain::verify(&*s, &[]).unwrap(), clean);

        // Someone with the database's own rights drops the guards.
        (s.raw)(&s.drop_guards).unwrap();
        let broken = |sql: &str| {
            (s.raw)(sql).unwrap();
            chain::verify(&*s, &clean.heads).unwrap().breaks
        };
        let found = broken(&format!("UPDATE audit_log SET purpose = '診療' WHERE id = {}", log[1].id));
        assert_eq!(found, vec![chain::Break { chain: "audit_log".into(), id: log[1].id, reason: "hash_mismatch" }]);

        let found = broken(&format!("DELETE FROM check_history WHERE id = {}", a_ids[1]));
        assert_eq!(found, vec![
            chain::Break { chain: "audit_log".into(), id: log[1].id, reason: "hash_mismatch" },
            chain::Break { chain: "check_history:1311234567".into(), id: a_ids[2], reason: "link_mismatch" },
        ]);

        // The other institution's chain is untouched so far; a row slipped in
        // around the chain, and then its tail cut, are both found.
        let b_head = clean.heads[2].clone();
        let found = broken(
            "INSERT INTO check_history (institution_code, checked_at, checked_on, reference, answer) \
             VALUES ('2711234567', '2024-05-02T00:00:00.000Z', '2024-05-02', 'card', '{}')"
        );
        assert!(found.contains(&chain::Break {
            chain: "check_history:2711234567".into(),
            id: b_head.id + 1,
            reason: "missing_hash",
        }), "{found:?}");
        let found = broken(&format!("DELETE FROM check_history WHERE id >= {}", b_head.id));
        assert!(found.contains(&chain::Break {
            chain: b_head.chain.clone(),
            id: b_head.id,
            reason: "head_missing",
        }), "{found:?}");
        // Without the kept heads a cut tail verifies: why they are kept.
        assert!(!chain::verify(&*s, &[]).unwrap().breaks.iter().any(|b| b.chain == b_head.chain));
        // Clearing every hash does not make the log "from before the chain".
        let found = broken("UPDATE audit_log SET hash = NULL, prev_hash = NULL");
        let missing = found.iter().filter(|b| b.chain == "audit_log" && b.reason == "missing_hash").count();
        assert_eq!(missing, log.len(), "{found:?}");
    }
}

both! {
    fn checks_tokens_reader_mode_and_faults(s) {
        s.write_batch(&batch("C-1"), "t").unwrap();
        let serial = CertificateSerial::parse("C-1").unwrap();
        let card = s.card(&serial).unwrap().unwrap();
        let numbers = qual("5", 0, "2021-04-01", None).numbers;
        let mut ids = Vec::new();
        for (i, query) in [
            CheckQuery::Card { serial: serial.clone() },
            CheckQuery::Numbers { numbers, birth_date: d("1990-01-02") },
            CheckQuery::FailureMode { person_id: card.person_id },
        ]
        .into_iter()
        .enumerate()
        {
            ids.push(
                s.record_check(&NewCheck {
                    institution: inst(),
                    checked_at: format!("2024-05-01T00:00:0{i}.000Z"),
                    checked_on: d("2024-05-01"),
                    query,
                    person_id: Some(card.person_id),
                    validity: Some(1),
                    error_code: None,
                    answer: json!({ "i": i, "text": "資格確認" }),
                    identity_confirmed_by: Some("face".into()),
                    staff_id: None,
                })
                .unwrap(),
            );
        }
        let day = s.checks_of(&inst(), d("2024-05-01")).unwrap();
        assert_eq!(day.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
        assert_eq!(
            day.iter().map(|c| c.reference.as_str()).collect::<Vec<_>>(),
            ["card", "numbers", "failure_mode"]
        );
        assert_eq!(day[1].answer, json!({ "i": 1, "text": "資格確認" }));
        assert_eq!(day[0].validity, Some(1));
        assert!(s.checks_of(&inst(), d("2024-05-02")).unwrap().is_empty());
        let after = s.checks_after(&inst(), ids[0], 1).unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].id, ids[1]);
        // A check of an unknown institution breaks a reference.
        let e = s
            .record_check(&NewCheck {
                institution: InstitutionCode::parse("2711234567").unwrap(),
                checked_at: "2024-05-01T00:00:00.000Z".into(),
                checked_on: d("2024-05-01"),
                query: CheckQuery::Card { serial: serial.clone() },
                person_id: None,
                validity: None,
                error_code: Some("certificate_unknown".into()),
                answer: json!(null),
                identity_confirmed_by: None,
                staff_id: None,
            })
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");

        let ctx = s.check_context(&inst()).unwrap().unwrap();
        assert_eq!((ctx.reader_mode.as_str(), ctx.fault.is_none()), ("face", true));
        assert!(s.check_context(&InstitutionCode::parse("2711234567").unwrap()).unwrap().is_none());
        s.set_reader_mode(&inst(), "visual", Some("S1"), "2024-05-01T01:00:00.000Z").unwrap();
        s.set_reader_mode(&inst(), "face", None, "2024-05-01T02:00:00.000Z").unwrap();
        let e = s.set_reader_mode(&inst(), "blink", None, "2024-05-01T03:00:00.000Z").unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");
        let events = s.reader_mode_events(&inst()).unwrap();
        assert_eq!(
            events,
            vec![
                ReaderModeEvent {
                    mode: "visual".into(),
                    staff_id: Some("S1".into()),
                    changed_at: "2024-05-01T01:00:00.000Z".into(),
                },
                ReaderModeEvent {
                    mode: "face".into(),
                    staff_id: None,
                    changed_at: "2024-05-01T02:00:00.000Z".into(),
                },
            ]
        );
        s.set_fault(&inst(), "reader", None, "2024-05-01T04:00:00.000Z").unwrap();
        s.set_fault(&inst(), "network", Some("2024-05-02T00:00:00.000Z"), "2024-05-01T05:00:00.000Z")
            .unwrap();
        let ctx = s.check_context(&inst()).unwrap().unwrap();
        assert_eq!(
            ctx.fault,
            Some(FaultRow {
                kind: "network".into(),
                set_at: "2024-05-01T05:00:00.000Z".into(),
                until: Some("2024-05-02T00:00:00.000Z".into()),
            })
        );
        assert!(s.clear_fault(&inst()).unwrap());
        assert!(!s.clear_fault(&inst()).unwrap());

        let token = NewToken {
            hash: "h1".into(),
            role: "clinic".into(),
            institution: Some(inst()),
            insurer: None,
            certificate_serial: Some(serial),
            label: "受付".into(),
            created_at: "t".into(),
        };
        let id = s.insert_token(&token).unwrap();
        let row = s.token_by_hash("h1").unwrap().unwrap();
        assert_eq!((row.id, row.institution, row.label.as_str()), (id, Some(inst()), "受付"));
        assert!(s.token_by_hash("h2").unwrap().is_none());
        assert!(matches!(s.insert_token(&token), Err(StoreError::Conflict(_))));
        let stray = NewToken {
            hash: "h3".into(),
            insurer: Some(InsurerNumber::parse("06130017").unwrap()),
            ..token
        };
        assert!(matches!(s.insert_token(&stray), Err(StoreError::Conflict(_))));
        let counts = s.counts().unwrap();
        assert_eq!((counts.checks, counts.tokens), (3, 1));
        assert_eq!(s.institutions().unwrap().len(), 1);
    }
}

both! {
    /// Registration with the match, Idempotency-Keys, rejects, losses,
    /// corrections, revisions and the insurer's reports.
    fn insurer_side(s) {
        let mut b = batch("C-1");
        b.persons.push(resident("REF-2", "C-2", "鈴木 一郎", "1980-05-06"));
        s.write_batch(&b, "2024-01-01T00:00:00.000Z").unwrap();
        let p2 = s.person_by_ref(&PersonRef::parse("REF-2").unwrap()).unwrap().unwrap();
        let reg = |number: &str, declared: Person, from: &str| Registration {
            person_ref: PersonRef::parse("REF-2").unwrap(),
            declared,
            qualification: qual(number, 1, from, None),
        };
        let same = p2.person.clone();
        let mut other_name = p2.person.clone();
        other_name.name = PersonName::parse("鈴木 一朗").unwrap();
        let expect_mismatch = differing(&other_name, &p2.person);
        assert!(!expect_mismatch.is_empty());

        // A check before the registration arrives, within its validity.
        s.record_check(&NewCheck {
            institution: inst(),
            checked_at: "2024-04-05T09:00:00.000Z".into(),
            checked_on: d("2024-04-05"),
            query: CheckQuery::Card { serial: CertificateSerial::parse("C-2").unwrap() },
            person_id: Some(p2.id),
            validity: Some(4),
            error_code: None,
            answer: json!({}),
            identity_confirmed_by: Some("pin".into()),
            staff_id: None,
        })
        .unwrap();

        // A dry run writes nothing.
        let rows = vec![RowInput::Row(reg("7", same.clone(), "2024-04-01"))];
        let dry = s
            .register(&insurer(), &mut rows.into_iter(), false, true, "2024-04-10T00:00:00.000Z", None, &respond)
            .unwrap();
        let Idem::Fresh(dry) = dry else { panic!("{dry:?}") };
        assert!(!dry.committed);
        assert_eq!((dry.rows, dry.registered, dry.first_id), (1, 0, None));
        assert_eq!(s.counts().unwrap().qualifications, 2);

        // A matched row and a mismatched one, under a key.
        let rows = vec![
            RowInput::Row(reg("7", same.clone(), "2024-04-01")),
            RowInput::Row(reg("8", other_name.clone(), "2024-04-01")),
        ];
        let k = claim("k1", "hash-1");
        let out = s
            .register(&insurer(), &mut rows.clone().into_iter(), false, false, "2024-04-10T00:00:00.000Z", Some(&k), &respond)
            .unwrap();
        let Idem::Fresh(out) = out else { panic!("{out:?}") };
        assert!(out.committed);
        assert_eq!((out.rows, out.registered, out.first_id), (2, 2, Some(3)));
        assert_eq!(
            out.mismatched,
            vec![RowMismatch { row: 1, id: Some(4), mismatch: expect_mismatch.clone() }]
        );
        // The same key and body: the first answer; another body: refused.
        let replay = s
            .register(&insurer(), &mut rows.clone().into_iter(), false, false, "2024-04-11T00:00:00.000Z", Some(&k), &respond)
            .unwrap();
        assert_eq!(
            replay,
            Idem::Replay(StoredResponse { status: 201, body: json!({ "registered": 2, "first_id": 3 }) })
        );
        let reused = s
            .register(&insurer(), &mut rows.clone().into_iter(), false, false, "2024-04-11T00:00:00.000Z", Some(&claim("k1", "hash-2")), &respond)
            .unwrap();
        assert_eq!(reused, Idem::KeyReused);
        assert_eq!(s.counts().unwrap().qualifications, 4);

        let visible = s.visible_qualifications_of(p2.id).unwrap();
        assert_eq!(visible.iter().map(|q| q.id).collect::<Vec<_>>(), vec![3]);
        let rec = s.insurer_record(&insurer(), 4).unwrap().unwrap();
        assert!(!rec.visible);
        assert_eq!(rec.mismatch, expect_mismatch);
        assert_eq!(rec.declared, other_name);
        assert_eq!(rec.person_ref.as_str(), "REF-2");
        let newest = s.insurer_records(&insurer(), false, 10, 0).unwrap();
        assert_eq!(newest.iter().map(|r| r.id).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
        let page = s.insurer_records(&insurer(), false, 2, 1).unwrap();
        assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![3, 2]);
        let mism = s.insurer_records(&insurer(), true, 10, 0).unwrap();
        assert_eq!(mism.iter().map(|r| r.id).collect::<Vec<_>>(), vec![4]);
        assert!(s.insurer_record(&InsurerNumber::parse("06130017").unwrap(), 3).unwrap().is_none());

        // Rejects: another insurer, unknown person, duplicates, mismatch.
        let mut foreign = reg("9", same.clone(), "2024-04-01");
        foreign.qualification.numbers.insurer_number = InsurerNumber::parse("06130017").unwrap();
        let mut unknown = reg("9", same.clone(), "2024-04-01");
        unknown.person_ref = PersonRef::parse("NOBODY").unwrap();
        let rows = vec![
            RowInput::Row(reg("9", same.clone(), "2024-04-01")),
            RowInput::Row(foreign),
            RowInput::Row(unknown),
            RowInput::Row(reg("7", same.clone(), "2024-04-01")),
            RowInput::Row(reg("9", same.clone(), "2024-04-01")),
            RowInput::Invalid,
            RowInput::Row(reg("10", other_name.clone(), "2024-04-01")),
        ];
        let out = s
            .register(&insurer(), &mut rows.into_iter(), true, false, "2024-04-12T00:00:00.000Z", Some(&claim("k2", "h")), &respond)
            .unwrap();
        let Idem::Fresh(out) = out else { panic!("{out:?}") };
        assert!(!out.committed);
        assert_eq!((out.rows, out.registered, out.first_id, out.invalid_rows), (7, 0, None, 1));
        assert_eq!(
            out.rejected,
            vec![
                (1, StoreReject::OtherInsurer),
                (2, StoreReject::PersonUnknown),
                (3, StoreReject::Duplicate { id: 3 }),
                (4, StoreReject::DuplicateInBatch { row: 0 }),
                (6, StoreReject::Mismatch { mismatch: expect_mismatch.clone() }),
            ]
        );
        assert_eq!(s.counts().unwrap().qualifications, 4);
        // The rolled-back write did not keep its key.
        let again = s
            .register(&insurer(), &mut std::iter::empty(), false, false, "2024-04-12T00:00:00.000Z", Some(&claim("k2", "h")), &respond)
            .unwrap();
        assert!(matches!(again, Idem::Fresh(RegisterOutcome { committed: true, rows: 0, .. })), "{again:?}");

        // Reports: the check of 2024-04-05 came before the registration.
        let report = s.check_report(&insurer(), d("2024-04-01"), d("2024-04-30")).unwrap();
        assert_eq!(
            report,
            vec![DayCount { day: d("2024-04-05"), checks: 1, invalid: 0, no_information: 1 }]
        );
        let late = s.late_registrations(&insurer(), d("2024-04-10"), d("2024-04-10")).unwrap();
        assert_eq!(
            late,
            vec![LateRegistration {
                id: 3,
                person_ref: PersonRef::parse("REF-2").unwrap(),
                acquired_on: d("2024-04-01"),
                registered_at: "2024-04-10T00:00:00.000Z".into(),
                first_visit_at: "2024-04-05T09:00:00.000Z".into(),
                first_visit_on: d("2024-04-05"),
            }]
        );
        assert!(s.late_registrations(&insurer(), d("2024-04-11"), d("2024-04-30")).unwrap().is_empty());

        // Losses.
        let e = s
            .lose(&insurer(), 3, d("2024-03-01"), "2024-05-01T00:00:00.000Z", None, &respond_record)
            .unwrap_err();
        assert!(matches!(&e, StoreError::Conflict(m) if m == "loss_before_acquisition"), "{e}");
        let lost = s
            .lose(&insurer(), 3, d("2024-06-01"), "2024-05-01T00:00:00.000Z", Some(&claim("k3", "h")), &respond_record)
            .unwrap();
        let Idem::Fresh(Some(lost)) = lost else { panic!("{lost:?}") };
        assert_eq!(lost.qualification.lost_on, Some(d("2024-06-01")));
        let replay = s
            .lose(&insurer(), 3, d("2024-06-01"), "2024-05-02T00:00:00.000Z", Some(&claim("k3", "h")), &respond_record)
            .unwrap();
        assert_eq!(
            replay,
            Idem::Replay(StoredResponse { status: 200, body: json!({ "id": 3, "lost_on": "2024-06-01" }) })
        );
        let missing = s
            .lose(&insurer(), 99, d("2024-06-01"), "t", None, &respond_record)
            .unwrap();
        assert_eq!(missing, Idem::Fresh(None));

        // Corrections.
        let e = s
            .correct(&insurer(), 4, &reg("7", same.clone(), "2024-04-01"), "2024-05-03T00:00:00.000Z", None, &respond_record)
            .unwrap_err();
        assert!(matches!(e, StoreError::Duplicate(3)), "{e}");
        let mut nobody = reg("8", same.clone(), "2024-04-01");
        nobody.person_ref = PersonRef::parse("NOBODY").unwrap();
        let e = s
            .correct(&insurer(), 4, &nobody, "2024-05-03T00:00:00.000Z", None, &respond_record)
            .unwrap_err();
        assert!(matches!(&e, StoreError::Conflict(m) if m == "person_unknown"), "{e}");
        let mut foreign = reg("8", same.clone(), "2024-04-01");
        foreign.qualification.numbers.insurer_number = InsurerNumber::parse("06130017").unwrap();
        assert!(matches!(
            s.correct(&insurer(), 4, &foreign, "t", None, &respond_record),
            Err(StoreError::Conflict(_))
        ));
        let fixed = s
            .correct(&insurer(), 4, &reg("8", same.clone(), "2024-04-01"), "2024-05-03T00:00:00.000Z", None, &respond_record)
            .unwrap();
        let Idem::Fresh(Some(fixed)) = fixed else { panic!("{fixed:?}") };
        assert!(fixed.visible && fixed.mismatch.is_empty());
        assert_eq!(
            s.visible_qualifications_of(p2.id).unwrap().iter().map(|q| q.id).collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert_eq!(
            s.correct(&insurer(), 99, &reg("8", same.clone(), "2024-04-01"), "t", None, &respond_record).unwrap(),
            Idem::Fresh(None)
        );
        let revs = s.revisions(&insurer(), 4).unwrap();
        assert_eq!(
            revs.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["register", "correct"]
        );
        assert_eq!(revs[0].snapshot["mismatch"], json!(expect_mismatch));
        assert_eq!(revs[1].snapshot["mismatch"], json!([]));
        let revs = s.revisions(&insurer(), 3).unwrap();
        assert_eq!(
            revs.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["register", "lose"]
        );
        assert_eq!(revs[1].recorded_at, "2024-05-01T00:00:00.000Z");
        assert_eq!(Attribute::Name.as_str(), "name");
    }
}

both! {
    fn clinic_side(s) {
        s.write_batch(&batch("C-1"), "t").unwrap();
        let other = InstitutionCode::parse("2711234567").unwrap();
        s.write_batch(
            &Batch {
                institutions: vec![InstitutionRow { code: other.clone(), name: "大阪医院".into(), phone: None }],
                ..Batch::default()
            },
            "t",
        )
        .unwrap();
        let visit = |inst: &InstitutionCode, day: &str, key: Option<&str>, state: &str| NewVisit {
            institution: inst.clone(),
            visited_on: d(day),
            patient_key: key.map(str::to_owned),
            recheck_state: state.into(),
            record: json!({ "day": day }),
            at: format!("{day}T00:00:00.000Z"),
        };
        let v1 = s.insert_visit(&visit(&inst(), "2024-05-01", Some("K1"), "pending")).unwrap();
        let v2 = s.insert_visit(&visit(&inst(), "2024-05-02", Some("K1"), "none")).unwrap();
        let v3 = s.insert_visit(&visit(&inst(), "2024-05-01", None, "pending")).unwrap();
        let v4 = s.insert_visit(&visit(&other, "2024-05-01", Some("K1"), "pending")).unwrap();
        assert!(matches!(
            s.insert_visit(&visit(&inst(), "2024-05-01", None, "maybe")),
            Err(StoreError::Conflict(_))
        ));
        let row = s.visit(&inst(), v1).unwrap().unwrap();
        assert_eq!((row.patient_key.as_deref(), row.has_declaration), (Some("K1"), false));
        assert_eq!(row.record, json!({ "day": "2024-05-01" }));
        assert!(s.visit(&inst(), v4).unwrap().is_none());
        let on = s.visits_on(&inst(), d("2024-05-01")).unwrap();
        assert_eq!(on.iter().map(|v| v.id).collect::<Vec<_>>(), vec![v1, v3]);
        let between = s.visits_between(&inst(), d("2024-04-30"), d("2024-05-02")).unwrap();
        assert_eq!(between.iter().map(|v| v.id).collect::<Vec<_>>(), vec![v1, v3, v2]);
        assert_eq!(s.previous_visit(&inst(), "K1", v2).unwrap().map(|v| v.id), Some(v1));
        assert!(s.previous_visit(&inst(), "K1", v1).unwrap().is_none());
        assert_eq!(
            s.pending_rechecks(&inst(), 10).unwrap().iter().map(|v| v.id).collect::<Vec<_>>(),
            vec![v1, v3]
        );
        assert_eq!(s.pending_rechecks(&inst(), 1).unwrap().len(), 1);
        assert!(s.update_visit(&inst(), v1, "done", &json!({ "done": true }), "u").unwrap());
        assert!(!s.update_visit(&inst(), v4, "done", &json!({}), "u").unwrap());
        assert_eq!(s.visit(&inst(), v1).unwrap().unwrap().recheck_state, "done");

        assert!(s.put_declaration(&inst(), v1, &json!({ "v": 1 }), "a1").unwrap());
        assert!(s.put_declaration(&inst(), v1, &json!({ "v": 2 }), "a2").unwrap());
        assert!(!s.put_declaration(&inst(), v4, &json!({ "v": 1 }), "a1").unwrap());
        assert!(s.put_declaration(&other, v4, &json!({ "v": 4 }), "a4").unwrap());
        assert!(s.put_declaration(&inst(), v2, &json!({ "v": 3 }), "a3").unwrap());
        let decl = s.declaration(&inst(), v1).unwrap().unwrap();
        assert_eq!((decl.form, decl.submitted_at.as_str()), (json!({ "v": 2 }), "a2"));
        assert!(s.declaration(&inst(), v4).unwrap().is_none());
        assert!(s.visit(&inst(), v1).unwrap().unwrap().has_declaration);

        assert!(s.mark_claim_paid(&inst(), v1, d("2024-06-20")).unwrap());
        assert!(s.mark_claim_paid(&other, v4, d("2024-06-10")).unwrap());
        assert!(s.mark_claim_paid(&inst(), v2, d("2024-07-20")).unwrap());
        assert!(!s.mark_claim_paid(&inst(), v4, d("2024-06-20")).unwrap());
        let purged = s.purge_declarations(d("2024-06-30"), "2024-07-01T00:00:00.000Z").unwrap();
        assert_eq!(purged.iter().map(|p| p.visit_id).collect::<Vec<_>>(), vec![v1, v4]);
        assert_eq!(purged[1].institution_code, other.as_str());
        assert!(s.purge_declarations(d("2024-06-30"), "t").unwrap().is_empty());
        assert!(s.declaration(&inst(), v1).unwrap().is_none());
        assert!(s.declaration(&inst(), v2).unwrap().is_some());
        let log = s.deletions(&inst()).unwrap();
        assert_eq!(log, vec![purged[0].clone()]);
        assert_eq!(log[0].claim_paid_on, d("2024-06-20"));
        assert_eq!(s.visit(&inst(), v1).unwrap().unwrap().claim_paid_on, Some(d("2024-06-20")));
    }
}

both! {
    fn failure_mode(s) {
        let mut b = batch("C-1");
        b.institutions[0].phone = Some("03-1111-2222".into());
        b.persons.push(resident("REF-2", "C-2", "鈴木 一郎", "1990-01-02"));
        s.write_batch(&b, "t").unwrap();
        let id = s.fm_create_request(&inst(), "山田", Some("停電"), "2024-05-01T00:00:00.000Z").unwrap();
        let id2 = s.fm_create_request(&inst(), "佐藤", None, "2024-05-01T01:00:00.000Z").unwrap();
        assert!(matches!(
            s.fm_create_request(&InstitutionCode::parse("2711234567").unwrap(), "x", None, "t"),
            Err(StoreError::Conflict(_))
        ));
        let r = s.fm_request(id).unwrap().unwrap();
        assert_eq!(
            (r.status.as_str(), r.phone_on_file.as_deref(), r.institution_name.as_str()),
            ("requested", Some("03-1111-2222"), "テスト医院")
        );
        assert!(s.fm_request(999).unwrap().is_none());
        assert!(!s.fm_enable(id, "a", "b", d("2024-05-10")).unwrap());
        assert!(s.fm_confirm(id, "op", "03-1111-2222", "2024-05-01T00:10:00.000Z").unwrap());
        assert!(!s.fm_confirm(id, "op", "03-1111-2222", "t").unwrap());
        assert!(s
            .fm_enable(id, "2024-05-01T00:00:00.000Z", "2024-05-02T00:00:00.000Z", d("2024-05-10"))
            .unwrap());
        let all = s.fm_requests(None, None).unwrap();
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id2, id]);
        let enabled = s.fm_requests(Some(&inst()), Some("enabled")).unwrap();
        assert_eq!(enabled.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
        assert_eq!(s.fm_requests(None, Some("requested")).unwrap().len(), 1);
        assert_eq!(
            s.fm_active(&inst(), "2024-05-01T12:00:00.000Z").unwrap(),
            Some(format!("request:{id}"))
        );
        assert_eq!(s.fm_active(&inst(), "2024-05-02T00:00:00.000Z").unwrap(), None);
        assert_eq!(s.fm_overdue(d("2024-05-11")).unwrap().len(), 1);
        assert!(s.fm_overdue(d("2024-05-10")).unwrap().is_empty());
        assert!(s.fm_report(&inst(), id, "使用報告", "2024-05-05T00:00:00.000Z").unwrap());
        assert!(!s.fm_report(&inst(), id2, "x", "t").unwrap());
        assert!(s.fm_overdue(d("2024-05-11")).unwrap().is_empty());

        let dis = s
            .fm_add_disaster(13, "2024-06-01T00:00:00.000Z", "2024-07-01T00:00:00.000Z", "地震", "mhlw", "t")
            .unwrap();
        assert!(matches!(
            s.fm_add_disaster(48, "a", "b", "r", "by", "t"),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.fm_disasters().unwrap()[0].prefecture, 13);
        assert_eq!(
            s.fm_active(&inst(), "2024-06-15T00:00:00.000Z").unwrap(),
            Some(format!("disaster:{dis}"))
        );

        let alice = person("髙橋 花子", "たかはし はなこ", "1990-01-02");
        let found = s
            .fm_search_persons(
                &PersonSearch {
                    birth_date: d("1990-01-02"),
                    sex: 2,
                    name_key: None,
                    kana_key: None,
                    address_key: None,
                },
                10,
            )
            .unwrap();
        assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), vec![1, 2]);
        let by_kana = s
            .fm_search_persons(
                &PersonSearch {
                    birth_date: d("1990-01-02"),
                    sex: 2,
                    name_key: Some(alice.name.key()),
                    kana_key: Some(alice.kana.key()),
                    address_key: Some(alice.address.key()),
                },
                10,
            )
            .unwrap();
        assert_eq!(by_kana.iter().map(|p| p.id).collect::<Vec<_>>(), vec![1]);
        let prefix_is_no_match = s
            .fm_search_persons(
                &PersonSearch {
                    birth_date: d("1990-01-02"),
                    sex: 2,
                    name_key: None,
                    kana_key: Some(format!("{}%", alice.kana.key().chars().take(2).collect::<String>())),
                    address_key: None,
                },
                10,
            )
            .unwrap();
        assert!(prefix_is_no_match.is_empty());
        assert!(s
            .fm_search_persons(
                &PersonSearch { birth_date: d("1990-01-02"), sex: 1, name_key: None, kana_key: None, address_key: None },
                10,
            )
            .unwrap()
            .is_empty());

        let sid = s
            .fm_record_search(&inst(), "2024-05-01T10:00:00.000Z", d("2024-05-01"), &[2, 1], Some("診療"))
            .unwrap();
        let row = s.fm_search(&inst(), sid).unwrap().unwrap();
        assert_eq!((row.candidates, row.checked_on), (vec![2, 1], d("2024-05-01")));
        assert!(s.fm_search(&InstitutionCode::parse("2711234567").unwrap(), sid).unwrap().is_none());
        assert_eq!(s.fm_searches_since(&inst(), "2024-05-01T10:00:00.000Z").unwrap(), 1);
        assert_eq!(s.fm_searches_since(&inst(), "2024-05-01T10:00:00.001Z").unwrap(), 0);

        s.audit("2024-05-01T10:00:00.000Z", "clinic:1311234567", "fm_search", None, Some("診療"), &json!({ "n": 2 }))
            .unwrap();
        s.audit("2024-05-01T10:01:00.000Z", "clinic:1311234567", "fm_pick", Some(1), None, &json!(null))
            .unwrap();
        let log = s.audit_entries(0, 10).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!((log[0].detail.clone(), log[1].person_id), (json!({ "n": 2 }), Some(1)));
        let rest = s.audit_entries(log[0].id, 10).unwrap();
        assert_eq!(rest.iter().map(|a| a.id).collect::<Vec<_>>(), vec![log[1].id]);
        assert_eq!(s.audit_entries(0, 1).unwrap().len(), 1);
    }
}

/// What only the PostgreSQL store has: COPY batches, concurrent connects,
/// schemas, the replica.
mod pg {
    use super::*;
    use std::sync::{Arc, Barrier};

    pub fn url() -> String {
        std::env::var("ONSHI_PG_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .expect("ONSHI_PG_URL must name a PostgreSQL database for these tests (see README)")
    }

    /// A fresh schema name, dropped (with everything in it) at the end.
    pub struct SchemaGuard {
        pub url: String,
        pub schema: String,
    }

    impl SchemaGuard {
        pub fn fresh() -> SchemaGuard {
            SchemaGuard {
                url: url(),
                schema: format!("t_{:016x}", rand::random::<u64>()),
            }
        }

        pub fn client(&self) -> ::postgres::Client {
            ::postgres::Client::connect(&self.url, ::postgres::NoTls).unwrap()
        }
    }

    impl Drop for SchemaGuard {
        fn drop(&mut self) {
            if let Ok(mut c) = ::postgres::Client::connect(&self.url, ::postgres::NoTls) {
                let _ = c.batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                    self.schema
                ));
            }
        }
    }

    /// A batch of several persons with explicit refs, cards, qualifications
    /// of every shape, and an insurer and institution given twice.
    fn big_batch() -> Batch {
        let mut b = batch("C-1");
        b.insurers.push(b.insurers[0].clone());
        b.insurers.push(InsurerRow {
            number: InsurerNumber::parse("06130017").unwrap(),
            name: "健保組合".into(),
        });
        b.institutions.push(b.institutions[0].clone());
        b.persons[0].person_ref = Some(PersonRef::parse("REF-1").unwrap());
        for i in 2..=40u32 {
            let mut p = resident(
                &format!("REF-{i}"),
                &format!("C-{i}"),
                "鈴木 一郎",
                "1980-05-06",
            );
            p.cards.push(NewCard {
                serial: CertificateSerial::parse(&format!("D-{i}")).unwrap(),
                valid_to: d("2031-01-01"),
                revoked_on: Some(d("2025-01-01")),
            });
            let mut q = qual(&format!("{i}"), (i % 3) as u8, "2020-04-01", None);
            q.burden_ratio = Some(BurdenRatio::from_tenths(3).unwrap());
            q.employer = Some("株式会社テスト".into());
            q.relation = Relation::Dependent;
            if i % 4 == 0 {
                q.numbers.symbol = None;
                q.numbers.branch = None;
                q.lost_on = Some(d("2023-03-31"));
            }
            p.qualifications.push(q);
            b.persons.push(p);
        }
        b
    }

    fn snapshot<S: Store>(s: &S) -> Vec<String> {
        let mut out = Vec::new();
        for p in s.persons_after(0, 1000).unwrap() {
            out.push(format!("{:?} {:?}", p.id, p.person));
            out.push(format!(
                "{:?}",
                s.person_by_ref(&p.person_ref).unwrap().map(|r| r.id)
            ));
            out.push(format!("{:?}", s.visible_qualifications_of(p.id).unwrap()));
        }
        for mut r in s.insurer_records(&insurer(), false, 1000, 0).unwrap() {
            // Generated refs differ between stores; their shape does not.
            if r.person_ref.as_str().len() == 17 && r.person_ref.as_str().starts_with('P') {
                r.person_ref = PersonRef::parse("GENERATED").unwrap();
            }
            out.push(format!("{r:?}"));
            out.push(format!("{:?}", s.revisions(&insurer(), r.id).unwrap()));
        }
        for i in 2..=40 {
            out.push(format!(
                "{:?}",
                s.card(&CertificateSerial::parse(&format!("D-{i}")).unwrap())
                    .unwrap()
            ));
        }
        out.push(format!("{:?}", s.counts().unwrap()));
        out.push(format!("{:?}", s.institutions().unwrap()));
        out.push(format!(
            "{:?}",
            s.insurer(&InsurerNumber::parse("06130017").unwrap())
                .unwrap()
        ));
        out
    }

    #[test]
    #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
    fn copy_batch_matches_sqlite() {
        let (lite, pg) = (sqlite_env(), pg_env());
        for (i, b) in [big_batch(), {
            let mut b = batch("E-1");
            b.persons
                .push(resident("REF-99", "E-2", "佐藤 花", "2001-02-03"));
            b
        }]
        .iter()
        .enumerate()
        {
            let at = format!("2024-04-0{}T00:00:00.000Z", i + 1);
            assert_eq!(
                lite.write_batch(b, &at).unwrap(),
                pg.write_batch(b, &at).unwrap()
            );
        }
        assert_eq!(snapshot(&*lite), snapshot(&*pg));
        // The stored JSON is the same text.
        let guard = match &pg._keep {
            Keep::Schema(g) => g,
            Keep::Dir(_) => unreachable!(),
        };
        let mut c = guard.client();
        let row = c
            .query_one(
                &format!(
                    "SELECT snapshot FROM \"{}\".qualification_revisions WHERE qualification_id = 1",
                    guard.schema
                ),
                &[],
            )
            .unwrap();
        let text: String = row.get(0);
        let q = s_qual(&*lite, 1);
        assert_eq!(
            text,
            serde_json::to_string(&json!({ "qualification": q, "declared": null, "mismatch": [] }))
                .unwrap()
        );
    }

    fn s_qual<S: Store>(s: &S, id: i64) -> Qualification {
        s.insurer_record(&insurer(), id)
            .unwrap()
            .unwrap()
            .qualification
    }

    #[test]
    #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
    fn concurrent_connects_migrate_once() {
        let guard = SchemaGuard::fresh();
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (url, schema, barrier) =
                    (guard.url.clone(), guard.schema.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    PgStore::connect_in_schema(&url, &schema).map(|s| s.schema_version().unwrap())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(
                h.join().unwrap().unwrap(),
                migrations::POSTGRES.len() as i64
            );
        }
        let mut c = guard.client();
        let n: i64 = c
            .query_one(
                &format!(
                    "SELECT count(*) FROM \"{}\".schema_migrations",
                    guard.schema
                ),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, migrations::POSTGRES.len() as i64);
    }

    #[test]
    #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
    fn constraint_violations_are_conflicts_and_leave_nothing() {
        let s = pg_env();
        s.write_batch(&batch("C-1"), "t").unwrap();
        let before = s.counts().unwrap();
        // A qualification of an unknown insurer fails inside the COPY.
        let mut b = batch("C-2");
        b.insurers.clear();
        b.persons[0].qualifications[1].numbers.insurer_number =
            InsurerNumber::parse("06130017").unwrap();
        let e = s.write_batch(&b, "t").unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");
        // A duplicate person_ref.
        let mut b = batch("C-3");
        b.persons
            .push(resident("REF-X", "C-4", "鈴木 一郎", "1980-05-06"));
        b.persons
            .push(resident("REF-X", "C-5", "鈴木 一郎", "1980-05-06"));
        assert!(matches!(
            s.write_batch(&b, "t"),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.counts().unwrap(), before);
        for serial in ["C-2", "C-3", "C-4"] {
            assert!(
                s.card(&CertificateSerial::parse(serial).unwrap())
                    .unwrap()
                    .is_none()
            );
        }
        // The store still works after the failed transactions.
        let c = s.write_batch(&batch("C-6"), "t").unwrap();
        assert_eq!(c.persons, 1);
        assert!(c.first_person_id.unwrap() > 1);
        // A write rolled back by its CHECK keeps no revision and no key.
        let e = s
            .lose(
                &insurer(),
                2,
                d("2000-01-01"),
                "t",
                Some(&claim("k", "h")),
                &respond_record,
            )
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict(m) if m == "loss_before_acquisition"),
            "{e}"
        );
        assert_eq!(s.revisions(&insurer(), 2).unwrap().len(), 1);
        let ok = s
            .lose(
                &insurer(),
                2,
                d("2030-01-01"),
                "t",
                Some(&claim("k", "h")),
                &respond_record,
            )
            .unwrap();
        assert!(matches!(ok, Idem::Fresh(Some(_))), "{ok:?}");
    }

    #[test]
    #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
    fn schema_names_are_checked() {
        for bad in [
            "Upper",
            "semi;colon",
            "",
            "dash-ed",
            "x\"y",
            &"a".repeat(64),
        ] {
            let e = PgStore::connect_in_schema(&url(), bad).unwrap_err();
            assert!(matches!(e, StoreError::Conflict(_)), "{bad}: {e}");
        }
        // A name that needs quoting in SQL (a keyword, a leading digit) is fine.
        for good in ["select", "1abc"] {
            let guard = SchemaGuard {
                url: url(),
                schema: format!("{good}_{:08x}", rand::random::<u32>()),
            };
            let s = PgStore::connect_in_schema(&guard.url, &guard.schema).unwrap();
            assert_eq!(
                s.schema_version().unwrap(),
                migrations::POSTGRES.len() as i64
            );
        }
    }

    #[test]
    #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
    fn corrupt_rows_are_reported_as_corrupt() {
        let s = pg_env();
        s.write_batch(&batch("C-1"), "t").unwrap();
        let Keep::Schema(guard) = &s._keep else {
            unreachable!()
        };
        let mut c = guard.client();
        let schema = &guard.schema;
        c.batch_execute(&format!(
            "UPDATE \"{schema}\".qualifications SET number = 'not a number!' WHERE id = 2; \
             UPDATE \"{schema}\".persons SET kana = 'abc!?';"
        ))
        .unwrap();
        assert!(matches!(
            s.visible_qualifications_of(1),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(s.person(1), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            s.insurer_record(&insurer(), 2),
            Err(StoreError::Corrupt(_))
        ));
        assert!(s.insurer_record(&insurer(), 1).is_err());
    }

    #[test]
    #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
    fn connect_uses_the_urls_search_path() {
        let guard = SchemaGuard::fresh();
        guard
            .client()
            .batch_execute(&format!("CREATE SCHEMA \"{}\"", guard.schema))
            .unwrap();
        let sep = if guard.url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{sep}options=-c%20search_path%3D{}",
            guard.url, guard.schema
        );
        let s = PgStore::connect(&url).unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            migrations::POSTGRES.len() as i64
        );
        s.write_batch(&batch("C-1"), "t").unwrap();
        let n: i64 = guard
            .client()
            .query_one(
                &format!("SELECT count(*) FROM \"{}\".persons", guard.schema),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
        // Connecting again finds the schema up to date.
        assert_eq!(
            PgStore::connect(&url).unwrap().schema_version().unwrap(),
            migrations::POSTGRES.len() as i64
        );
    }

    #[test]
    #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
    fn replica_reads_what_the_primary_wrote() {
        let guard = SchemaGuard::fresh();
        let s = PgStore::connect_in_schema(&guard.url, &guard.schema)
            .unwrap()
            .with_replica(&guard.url)
            .unwrap();
        s.write_batch(&batch("C-1"), "t").unwrap();
        let card = s
            .card(&CertificateSerial::parse("C-1").unwrap())
            .unwrap()
            .unwrap();
        let id = s
            .record_check(&NewCheck {
                institution: inst(),
                checked_at: "2024-05-01T00:00:00.000Z".into(),
                checked_on: d("2024-05-01"),
                query: CheckQuery::Card {
                    serial: card.serial.clone(),
                },
                person_id: Some(card.person_id),
                validity: Some(1),
                error_code: None,
                answer: json!({ "ok": true }),
                identity_confirmed_by: None,
                staff_id: None,
            })
            .unwrap();
        assert_eq!(s.checks_of(&inst(), d("2024-05-01")).unwrap()[0].id, id);
        assert_eq!(s.checks_after(&inst(), 0, 10).unwrap().len(), 1);
        assert_eq!(s.counts().unwrap().persons, 1);
        assert_eq!(
            s.insurer_records(&insurer(), false, 10, 0).unwrap().len(),
            2
        );
        assert_eq!(
            s.check_report(&insurer(), d("2024-05-01"), d("2024-05-01"))
                .unwrap()
                .len(),
            1
        );
        s.audit("t", "a", "x", None, None, &json!({})).unwrap();
        assert_eq!(s.audit_entries(0, 10).unwrap().len(), 1);
        // A clone shares both pools.
        let clone = s.clone();
        assert_eq!(clone.counts().unwrap(), s.counts().unwrap());
    }

    #[test]
    #[cfg_attr(not(onshi_pg), ignore = "PostgreSQL: set ONSHI_PG_URL (see README)")]
    fn concurrent_registrations_under_one_key_apply_once() {
        let s = pg_env();
        let mut b = batch("C-1");
        b.persons
            .push(resident("REF-2", "C-2", "鈴木 一郎", "1980-05-06"));
        s.write_batch(&b, "t").unwrap();
        let declared = s
            .person_by_ref(&PersonRef::parse("REF-2").unwrap())
            .unwrap()
            .unwrap()
            .person;
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (store, barrier, declared) =
                    (s.store.clone(), barrier.clone(), declared.clone());
                std::thread::spawn(move || {
                    let rows = vec![RowInput::Row(Registration {
                        person_ref: PersonRef::parse("REF-2").unwrap(),
                        declared,
                        qualification: qual("7", 1, "2024-04-01", None),
                    })];
                    barrier.wait();
                    store
                        .register(
                            &insurer(),
                            &mut rows.into_iter(),
                            false,
                            false,
                            "t",
                            Some(&claim("same", "h")),
                            &respond,
                        )
                        .unwrap()
                })
            })
            .collect();
        let mut results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        results.sort_by_key(|r| matches!(r, Idem::Replay(_)));
        assert!(
            matches!(&results[0], Idem::Fresh(o) if o.committed && o.registered == 1),
            "{results:?}"
        );
        assert_eq!(
            results[1],
            Idem::Replay(StoredResponse {
                status: 201,
                body: json!({ "registered": 1, "first_id": 3 })
            })
        );
        assert_eq!(s.counts().unwrap().qualifications, 3);
    }
}

both! {
    /// Claim changes are one transaction guarded by versions: a stale step
    /// refuses the whole batch (the submission and earlier steps too);
    /// versions are append-only; a proposal is decided once.
    fn claim_changes_all_or_nothing(s) {
        use onshi_core::claim_life::ClaimState;
        let inst = InstitutionCode::parse("1311234567").unwrap();
        let meta = |reason: &str| ChangeMeta { at: "2026-11-25T00:00:00Z".into(), actor: "t".into(),
            reason: reason.into(), rule: "r".into(), ..ChangeMeta::default() };
        let (ids, sub) = s
            .apply_claim_changes(&inst, None, &[
                ClaimChange::Create { claim_month: "2026-11".into(), patient_key: "key-A".into(),
                    state: ClaimState::Draft, record: json!({"v": 1}), meta: meta("作成") },
                ClaimChange::Create { claim_month: "2026-11".into(), patient_key: "key-B".into(),
                    state: ClaimState::Draft, record: json!({"v": 1}), meta: meta("作成") },
            ])
            .unwrap();
        assert_eq!((ids.len(), sub), (2, None));
        let (a, b) = (ids[0], ids[1]);
        let new_sub = NewSubmission { claim_month: "2026-11".into(), payer: Payer::ShiharaiKikin,
            format: "jsonl".into(), body: b"{}\n".to_vec(), claims: 2, at: "t".into(), actor: "t".into() };
        let step = |id: i64, expected: i64, state: ClaimState| ClaimChange::Version {
            claim_id: id, expected_version: expected, state, record: json!({"v": expected + 1}),
            meta: meta("提出"), carried_by_submission: true };
        // b's step is stale: nothing at all is written.
        let e = s
            .apply_claim_changes(&inst, Some(&new_sub), &[step(a, 1, ClaimState::Submitted), step(b, 5, ClaimState::Submitted)])
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
        assert_eq!(s.claim(&inst, a).unwrap().unwrap().version, 1);
        assert!(s.submissions(Some(&inst), 10, 0).unwrap().is_empty());
        // Whole: both versions carry the submission.
        let (_, sub) = s
            .apply_claim_changes(&inst, Some(&new_sub), &[step(a, 1, ClaimState::Submitted), step(b, 1, ClaimState::Submitted)])
            .unwrap();
        let sub = sub.unwrap();
        let versions = s.claim_versions(&inst, a).unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!((versions[1].state, versions[1].meta.submission_id), (ClaimState::Submitted, Some(sub)));
        let (row, body) = s.submission(sub).unwrap().unwrap();
        assert_eq!((body.as_slice(), row.digest.len(), row.bytes), (&b"{}\n"[..], 64, 3));
        // Another institution sees none of it.
        let other = InstitutionCode::parse("1310000017").unwrap();
        assert!(s.claim(&other, a).unwrap().is_none());
        assert!(s.claim_versions(&other, a).unwrap().is_empty());
        assert!(s.apply_claim_changes(&other, None, &[step(a, 2, ClaimState::Paid)]).is_err());
        // Proposals: one decision, then refused.
        s.apply_claim_changes(&inst, None, &[ClaimChange::Propose { claim_id: a, based_on_version: 2,
            record: json!({"v": 9}), reason: "事実".into(), at: "t".into() }]).unwrap();
        let p = s.claim_proposals(&inst, "2026-11").unwrap();
        assert_eq!((p.len(), p[0].status), (1, ProposalStatus::Open));
        let decide = ClaimChange::DecideProposal { proposal_id: p[0].id, accepted: false, by: "t".into(),
            reason: "不要".into(), at: "t".into() };
        s.apply_claim_changes(&inst, None, std::slice::from_ref(&decide)).unwrap();
        assert!(matches!(s.apply_claim_changes(&inst, None, &[decide]), Err(StoreError::Conflict(_))));
        assert_eq!(s.claim_proposals(&inst, "2026-11").unwrap()[0].decision_reason.as_deref(), Some("不要"));
        // A proposal on a version the claim has left is refused.
        assert!(s.apply_claim_changes(&inst, None, &[ClaimChange::Propose { claim_id: a, based_on_version: 1,
            record: json!({}), reason: "古い".into(), at: "t".into() }]).is_err());
    }
}

both! {
    /// A stored payer run: its results, its payment record (replaced for the
    /// same claims, never doubled), the 照会 answers and the settlements.
    fn payer_memory(s) {
        let run = NewPayerRun { as_of: d("2026-11-25"), at: "t".into(), actor: "payer".into(),
            inputs: json!([{"label": "a"}]), policy: json!({}), summary: json!({"claims": 1}),
            outcome: "{\"summary\":{}}".into() };
        let pay = |claim: &str, insurer: &str, yen: u64| PaymentRow { institution_code: "1311234567".into(),
            payer: Payer::ShiharaiKikin, claim_month: "2026-10".into(), claim_id: claim.into(),
            insurer: insurer.into(), yen };
        let result = PayerResultRow { run_id: 0, institution_code: "1311234567".into(), claim_month: "2026-10".into(),
            claim_id: "c1".into(), fate: "billed".into(), detail: json!({"fate": "billed"}) };
        let first = s.save_payer_run(&run, std::slice::from_ref(&result), &[pay("c1", "01130012", 7000)], &[]).unwrap();
        let second = s.save_payer_run(&run, &[result], &[pay("c1", "06130017", 3000), pay("c2", "01130012", 100)], &[]).unwrap();
        assert!(second > first);
        let rec = s.payment_record("1311234567", Payer::ShiharaiKikin, "2026-01", "2026-12").unwrap();
        assert_eq!(rec, vec![pay("c1", "06130017", 3000), pay("c2", "01130012", 100)], "c1's record replaced");
        assert!(s.payment_record("1311234567", Payer::Kokuhoren, "2026-01", "2026-12").unwrap().is_empty());
        assert_eq!(s.payer_runs(10, 0).unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![second, first]);
        assert_eq!(s.payer_run(first).unwrap().unwrap().outcome.as_deref(), Some("{\"summary\":{}}"));
        assert_eq!(s.payer_results_for("1311234567", first).unwrap().len(), 1);
        // An amount past i64 is refused and the run is not stored.
        let n = s.payer_runs(10, 0).unwrap().len();
        assert!(s.save_payer_run(&run, &[], &[pay("c9", "01130012", u64::MAX)], &[]).is_err());
        assert_eq!(s.payer_runs(10, 0).unwrap().len(), n);
        // 照会 answers: one per insurer, the latest kept.
        let mut a = InquiryAnswerRow { institution_code: "1311234567".into(), claim_month: "2026-11".into(),
            claim_id: "u1".into(), insurer: "01130012".into(), matches: false, by: "payer".into(), at: "1".into() };
        s.put_inquiry_answer(&a).unwrap();
        a.matches = true;
        s.put_inquiry_answer(&a).unwrap();
        assert_eq!(s.inquiry_answers("1311234567", "2026-11", "u1").unwrap(), vec![a]);
    }
}
