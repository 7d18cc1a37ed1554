//! The note one request leaves for the audit log.
//!
//! The HTTP layer puts an [`AccessSlot`] into every request; whoever
//! authenticates the caller writes who it is, and after the answer the HTTP
//! layer appends one audit entry from the note and the route
//! (`onshi_web::audit`). A card or number check marks the note
//! as kept in the check history instead, which is its own hash-chained audit
//! (`onshi_store::chain`), so the hot path writes one row, not two.

use std::sync::{Arc, Mutex, PoisonError};

use crate::Caller;

/// What a request did, as far as the audit log is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessNote {
    /// [`actor`] of the authenticated caller; `None`: nobody authenticated.
    pub actor: Option<String>,
    /// The request's whole effect is one row of the check history.
    pub in_check_history: bool,
}

/// A request's [`AccessNote`], shared by the layers that fill it.
#[derive(Debug, Clone, Default)]
pub struct AccessSlot(Arc<Mutex<AccessNote>>);

impl AccessSlot {
    fn with(&self, f: impl FnOnce(&mut AccessNote)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub fn caller(&self, caller: &Caller) {
        self.with(|n| n.actor = Some(actor(caller)));
    }

    pub fn kept_in_check_history(&self) {
        self.with(|n| n.in_check_history = true);
    }

    pub fn note(&self) -> AccessNote {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// How the audit log names a caller: `institution:<医療機関コード>`,
/// `insurer:<保険者番号>`, `payer`, `operator`, `patient:<card serial>`.
pub fn actor(caller: &Caller) -> String {
    match caller {
        Caller::Institution(c) => format!("institution:{c}"),
        Caller::Insurer(n) => format!("insurer:{n}"),
        Caller::Payer => "payer".into(),
        Caller::Operator => "operator".into(),
        Caller::Patient(s) => format!("patient:{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onshi_core::InstitutionCode;

    #[test]
    fn a_slot_collects_one_note_across_clones() {
        let slot = AccessSlot::default();
        let other = slot.clone();
        other.caller(&Caller::Institution(
            InstitutionCode::parse("1311234567").unwrap(),
        ));
        slot.kept_in_check_history();
        assert_eq!(
            other.note(),
            AccessNote {
                actor: Some("institution:1311234567".into()),
                in_check_history: true,
            }
        );
    }
}
