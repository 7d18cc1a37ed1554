//! The rows the store reads and writes, built from `onshi-core` types.

use chrono::NaiveDate;
use onshi_core::{CertificateSerial, InstitutionCode, InsurerNumber, Person, Qualification};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsurerRow {
    pub number: InsurerNumber,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionRow {
    pub code: InstitutionCode,
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id: i64,
    pub person: Person,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCard {
    pub serial: CertificateSerial,
    pub valid_to: NaiveDate,
    pub revoked_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRow {
    pub serial: CertificateSerial,
    pub person_id: i64,
    pub valid_to: NaiveDate,
    pub revoked_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationRow {
    pub id: i64,
    pub person_id: i64,
    pub insurer_name: String,
    pub qualification: Qualification,
}

/// A person to create, with their cards and qualifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub person: Person,
    pub cards: Vec<NewCard>,
    pub qualifications: Vec<Qualification>,
}

/// One all-or-nothing write of reference data and people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub insurers: Vec<InsurerRow>,
    pub institutions: Vec<InstitutionRow>,
    pub persons: Vec<NewPerson>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    pub insurers: usize,
    pub institutions: usize,
    pub persons: usize,
    pub cards: usize,
    pub qualifications: usize,
    /// The id given to the first person of the batch (ids are consecutive).
    pub first_person_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableCounts {
    pub insurers: u64,
    pub institutions: u64,
    pub persons: u64,
    pub cards: u64,
    pub qualifications: u64,
    pub checks: u64,
    pub tokens: u64,
}

/// How a check identified the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckQuery {
    Card {
        serial: CertificateSerial,
    },
    Numbers {
        numbers: onshi_core::qualification::InsuranceNumbers,
        birth_date: NaiveDate,
    },
}

/// A check to append to the history.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCheck {
    pub institution: InstitutionCode,
    pub checked_at: String,
    pub checked_on: NaiveDate,
    pub query: CheckQuery,
    pub person_id: Option<i64>,
    pub validity: Option<u8>,
    pub error_code: Option<String>,
    /// The answer as sent, as JSON.
    pub answer: serde_json::Value,
}

/// A check as read back from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub id: i64,
    pub checked_at: String,
    pub checked_on: NaiveDate,
    pub reference: String,
    pub validity: Option<u8>,
    pub error_code: Option<String>,
    pub answer: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub hash: String,
    pub role: String,
    pub institution: Option<InstitutionCode>,
    pub insurer: Option<InsurerNumber>,
    pub certificate_serial: Option<CertificateSerial>,
    pub label: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub role: String,
    pub institution: Option<InstitutionCode>,
    pub insurer: Option<InsurerNumber>,
    pub certificate_serial: Option<CertificateSerial>,
    pub label: String,
}
