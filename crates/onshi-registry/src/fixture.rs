//! `onshi fixture load FILE.json`: reference data and people from a JSON file.
//!
//! The format (see README "Fixture format"):
//!
//! ```json
//! {
//!   "insurers":     [{ "number": "01130012", "name": "全国健康保険協会東京支部" }],
//!   "institutions": [{ "code": "1310000017", "name": "霞が関クリニック", "phone": "03-0000-0000" }],
//!   "persons": [{
//!     "person_ref": "R-0001",
//!     "name": "山田 太郎", "kana": "ヤマダ タロウ", "birth_date": "1980-04-01",
//!     "sex": "male", "address": "東京都千代田区霞が関1-2-3",
//!     "cards": [{ "serial": "DEMO-0001", "valid_to": "2030-03-31", "revoked_on": null }],
//!     "qualifications": [{
//!       "insurer_number": "01130012", "symbol": "1234", "number": "5678", "branch": "00",
//!       "relation": "insured", "acquired_on": "2015-04-01", "lost_on": null,
//!       "burden_ratio": null, "employer": "霞が関商事株式会社"
//!     }]
//!   }]
//! }
//! ```
//!
//! Every value is parsed into its domain type; the first problem is reported
//! with its path (`persons[2].qualifications[0].insurer_number`) and nothing is
//! written. A file is loaded in one transaction.

use chrono::NaiveDate;
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::{
    Address, BranchNumber, BurdenRatio, InstitutionCode, InsuredNumber, InsuredSymbol,
    InsurerNumber, KanaName, Person, PersonName, PersonRef, Qualification, Relation, Sex,
};
use onshi_store::{
    Batch, BatchCounts, InstitutionRow, InsurerRow, NewCard, NewPerson, RegistryStore,
};
use serde::{Deserialize, Serialize};

use crate::RegistryError;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub insurers: Vec<FixtureInsurer>,
    #[serde(default)]
    pub institutions: Vec<FixtureInstitution>,
    #[serde(default)]
    pub persons: Vec<FixturePerson>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureInsurer {
    pub number: InsurerNumber,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureInstitution {
    pub code: InstitutionCode,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixturePerson {
    /// The resident link key the insurer registers against; assigned at
    /// random (`P` + 16 hex digits) when absent.
    #[serde(default)]
    pub person_ref: Option<PersonRef>,
    pub name: PersonName,
    pub kana: KanaName,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub address: Address,
    #[serde(default)]
    pub cards: Vec<NewCard>,
    #[serde(default)]
    pub qualifications: Vec<FixtureQualification>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureQualification {
    pub insurer_number: InsurerNumber,
    #[serde(default)]
    pub symbol: Option<InsuredSymbol>,
    pub number: InsuredNumber,
    #[serde(default)]
    pub branch: Option<BranchNumber>,
    pub relation: Relation,
    pub acquired_on: NaiveDate,
    #[serde(default)]
    pub lost_on: Option<NaiveDate>,
    /// Percent (10, 20, 30).
    #[serde(default)]
    pub burden_ratio: Option<BurdenRatio>,
    #[serde(default)]
    pub employer: Option<String>,
}

impl FixtureQualification {
    /// Applies the rules that span fields (後期 numbers, date order).
    pub fn to_qualification(&self) -> Result<Qualification, onshi_core::ParseError> {
        let numbers = InsuranceNumbers::new(
            self.insurer_number.clone(),
            self.symbol.clone(),
            self.number.clone(),
            self.branch,
        )?;
        Qualification::validate_dates(self.acquired_on, self.lost_on)?;
        let burden_ratio = self.burden_ratio.map(BurdenRatio::registered).transpose()?;
        Ok(Qualification {
            numbers,
            relation: self.relation,
            acquired_on: self.acquired_on,
            lost_on: self.lost_on,
            burden_ratio,
            employer: self.employer.clone().filter(|e| !e.trim().is_empty()),
        })
    }

    pub fn from_qualification(q: &Qualification) -> Self {
        Self {
            insurer_number: q.numbers.insurer_number.clone(),
            symbol: q.numbers.symbol.clone(),
            number: q.numbers.number.clone(),
            branch: q.numbers.branch,
            relation: q.relation,
            acquired_on: q.acquired_on,
            lost_on: q.lost_on,
            burden_ratio: q.burden_ratio,
            employer: q.employer.clone(),
        }
    }
}

impl FixturePerson {
    pub fn from_new_person(p: &NewPerson) -> Self {
        Self {
            person_ref: p.person_ref.clone(),
            name: p.person.name.clone(),
            kana: p.person.kana.clone(),
            birth_date: p.person.birth_date,
            sex: p.person.sex,
            address: p.person.address.clone(),
            cards: p.cards.clone(),
            qualifications: p
                .qualifications
                .iter()
                .map(FixtureQualification::from_qualification)
                .collect(),
        }
    }
}

/// Parses fixture JSON, naming the path of the first bad value.
pub fn parse_fixture(json: &str) -> Result<Fixture, RegistryError> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| RegistryError::BadValue {
        field: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Turns a fixture into a batch, checking cross-field rules and that every
/// insurer a qualification names is in the file or already registered.
pub fn to_batch(store: &dyn RegistryStore, f: &Fixture) -> Result<Batch, RegistryError> {
    let mut persons = Vec::with_capacity(f.persons.len());
    for (pi, p) in f.persons.iter().enumerate() {
        let mut quals = Vec::with_capacity(p.qualifications.len());
        for (qi, q) in p.qualifications.iter().enumerate() {
            let path = || format!("persons[{pi}].qualifications[{qi}]");
            let qual = q.to_qualification().map_err(|e| RegistryError::BadValue {
                field: format!("{}.{}", path(), e.field),
                message: e.kind.to_string(),
            })?;
            let known = f.insurers.iter().any(|i| i.number == q.insurer_number)
                || store.insurer(&q.insurer_number)?.is_some();
            if !known {
                return Err(RegistryError::BadValue {
                    field: format!("{}.insurer_number", path()),
                    message: format!("保険者番号{}は登録されていません", q.insurer_number),
                });
            }
            quals.push(qual);
        }
        persons.push(NewPerson {
            person_ref: p.person_ref.clone(),
            person: Person {
                name: p.name.clone(),
                kana: p.kana.clone(),
                birth_date: p.birth_date,
                sex: p.sex,
                address: p.address.clone(),
            },
            cards: p.cards.clone(),
            qualifications: quals,
        });
    }
    Ok(Batch {
        insurers: f
            .insurers
            .iter()
            .map(|i| InsurerRow {
                number: i.number.clone(),
                name: i.name.clone(),
            })
            .collect(),
        institutions: f
            .institutions
            .iter()
            .map(|i| InstitutionRow {
                code: i.code.clone(),
                name: i.name.clone(),
                phone: i.phone.clone(),
            })
            .collect(),
        persons,
    })
}

/// Loads a fixture in one transaction.
pub fn load(
    store: &dyn RegistryStore,
    f: &Fixture,
    now: &str,
) -> Result<BatchCounts, RegistryError> {
    let batch = to_batch(store, f)?;
    Ok(store.write_batch(&batch, now)?)
}
