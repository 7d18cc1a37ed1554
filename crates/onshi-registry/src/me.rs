//! The patient's self view (マイナポータル-like): role patient, bound to one
//! card certificate. Shows the qualification on a date, the registration
//! notices, and the last 4 characters of the identity link on file so the
//! patient can tell the record is theirs. Mismatched registrations are not
//! shown (DOMAIN §7 [D]: hidden from checks and from the self view), and
//! nothing about any other person is.

use chrono::NaiveDate;
use onshi_core::check::{Held, card_selection};
use onshi_core::{CertificateSerial, Validity, WarekiDate};
use onshi_store::Store;
use serde::Serialize;
use utoipa::ToSchema;

use crate::RegistryError;
use crate::check::{QualificationView, view};
use crate::notice::{RegistrationNotice, notice_for};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SelfView {
    /// The last 4 characters of the identity link on file.
    pub identity_last4: String,
    pub name: String,
    pub kana: String,
    pub birth_date: NaiveDate,
    pub birth_date_wareki: String,
    pub sex: String,
    pub address: String,
    pub on: NaiveDate,
    /// What a card check would answer on `on` (OQSCD006 code and label).
    pub validity: u8,
    pub validity_label: String,
    /// The qualification valid on `on`, if exactly one.
    pub current: Option<QualificationView>,
    /// Every registered (matched) qualification, oldest first.
    pub history: Vec<QualificationView>,
    pub notices: Vec<RegistrationNotice>,
}

pub fn self_view(
    store: &dyn Store,
    serial: &CertificateSerial,
    on: NaiveDate,
) -> Result<SelfView, RegistryError> {
    let card = store
        .card(serial)?
        .ok_or(RegistryError::CertificateUnknown)?;
    // A revoked certificate can no longer sign in to the self view.
    if card.revoked_on.is_some_and(|r| r <= on) {
        return Err(RegistryError::CertificateRevoked);
    }
    let person = store
        .person(card.person_id)?
        .ok_or(RegistryError::CertificateUnknown)?;
    let quals = store.visible_qualifications_of(card.person_id)?;
    let held: Vec<Held> = quals
        .iter()
        .map(|q| Held {
            person: q.person_id,
            acquired_on: q.qualification.acquired_on,
            lost_on: q.qualification.lost_on,
        })
        .collect();
    let sel = card_selection(&held, on);
    let history: Vec<QualificationView> = quals.iter().map(|q| view(q, &person, on)).collect();
    let current = (sel.validity == Validity::Valid).then(|| history[sel.shown[0]].clone());
    let mut notices = Vec::new();
    for q in &quals {
        if let Some(rec) = store.insurer_record(&q.qualification.numbers.insurer_number, q.id)? {
            notices.extend(notice_for(&rec, on).ok());
        }
    }
    let p = &person.person;
    Ok(SelfView {
        identity_last4: person.person_ref.last4().to_owned(),
        name: p.name.to_string(),
        kana: p.kana.to_string(),
        birth_date: p.birth_date,
        birth_date_wareki: WarekiDate::from_gregorian(p.birth_date)
            .map(|w| w.to_string())
            .unwrap_or_default(),
        sex: serde_json::to_value(p.sex)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        address: p.address.to_string(),
        on,
        validity: sel.validity.code(),
        validity_label: sel.validity.label().to_owned(),
        current,
        history,
        notices,
    })
}
