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

/// The client certificate a request's TLS connection presented, when the
/// server requires one (`onshi serve --client-ca`). An institution's bearer
/// token must belong to the institution the certificate names (MHLW 安全管理
/// ガイドライン 6.0: TLS 1.3 with client-certificate authentication; ASVS 5.0
/// 12.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The subject's common name: an institution's 医療機関コード.
    pub common_name: Option<String>,
}

impl ClientCertificate {
    /// Whether `caller` may use a connection made with this certificate:
    /// an institution only with its own code; other roles with any
    /// certificate the CA issued.
    pub fn admits(&self, caller: &Caller) -> bool {
        match caller {
            Caller::Institution(code) => self.common_name.as_deref() == Some(code.as_str()),
            _ => true,
        }
    }
}

/// The stable code of a refused request, carried on the response for the
/// audit layer, which logs every refusal by it (the JSON API's error code;
/// the web UI's own codes for its pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalCode(pub String);

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
