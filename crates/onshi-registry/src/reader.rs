//! The face reader's mode (目視確認モード, notice 別添2) and fault injection
//! for vendors.
//!
//! Visual mode: the institution switches its reader to 目視確認; staff compare
//! the card photo with the patient and the check records
//! `identity_confirmed_by: visual` with the staff member. Every switch is
//! kept in `reader_mode_events` (the audit).
//!
//! Faults: an institution (a vendor's test clinic) can make its own checks
//! fail as if the reader (`reader`), the card certificate (`certificate`), the
//! network (`network`) or the registry itself (`registry`) had failed, so a
//! receipt computer can rehearse every branch of notice §1(2). A fault may
//! carry an end time; it never touches another institution.

use onshi_core::InstitutionCode;
use onshi_store::{ReaderModeEvent, RegistryStore};

use crate::RegistryError;

pub const MODES: [&str; 2] = ["face", "visual"];
pub const FAULTS: [&str; 4] = ["reader", "certificate", "network", "registry"];

/// Switches the reader mode (`face` or `visual`), naming the staff member.
pub fn set_mode(
    store: &dyn RegistryStore,
    institution: &InstitutionCode,
    mode: &str,
    staff_id: Option<&str>,
    at: &str,
) -> Result<(), RegistryError> {
    if !MODES.contains(&mode) {
        return Err(RegistryError::BadValue {
            field: "mode".into(),
            message: "face または visual です".into(),
        });
    }
    let staff = staff_id
        .map(|s| onshi_core::error::clean_text("staff_id", s, 32))
        .transpose()?
        .ok_or(RegistryError::Missing("staff_id"))?;
    Ok(store.set_reader_mode(institution, mode, Some(&staff), at)?)
}

/// The audit of reader-mode switches.
pub fn mode_events(
    store: &dyn RegistryStore,
    institution: &InstitutionCode,
) -> Result<Vec<ReaderModeEvent>, RegistryError> {
    Ok(store.reader_mode_events(institution)?)
}

/// Injects a fault for the institution's own checks until `until` (RFC 3339)
/// or until cleared.
pub fn set_fault(
    store: &dyn RegistryStore,
    institution: &InstitutionCode,
    kind: &str,
    until: Option<&str>,
    at: &str,
) -> Result<(), RegistryError> {
    if !FAULTS.contains(&kind) {
        return Err(RegistryError::BadValue {
            field: "kind".into(),
            message: "reader, certificate, network, registry のいずれかです".into(),
        });
    }
    if let Some(u) = until
        && chrono::DateTime::parse_from_rfc3339(u).is_err()
    {
        return Err(RegistryError::BadValue {
            field: "until".into(),
            message: "RFC 3339 の日時で指定してください".into(),
        });
    }
    Ok(store.set_fault(institution, kind, until, at)?)
}

pub fn clear_fault(
    store: &dyn RegistryStore,
    institution: &InstitutionCode,
) -> Result<bool, RegistryError> {
    Ok(store.clear_fault(institution)?)
}
