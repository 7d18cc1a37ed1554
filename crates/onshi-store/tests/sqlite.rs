//! The SQLite store: migrations, all-or-nothing batches, lookups.

use chrono::NaiveDate;
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::*;
use onshi_store::*;

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

#[test]
fn migrations_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.schema_version().unwrap(),
        onshi_store::migrations::SQLITE.len() as i64
    );
    drop(s);
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(
        again.schema_version().unwrap(),
        onshi_store::migrations::SQLITE.len() as i64
    );
}

#[test]
fn batch_round_trip_and_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("s.sqlite")).unwrap();
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

#[test]
fn a_failing_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("s.sqlite")).unwrap();
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
