//! Bearer tokens and the roles they stand for.
//!
//! A token is 32 random bytes, shown once as `onshi_` + 64 hex digits; the
//! store keeps only its SHA-256 (RELIABILITY.md: no secret at rest). Each token
//! carries one role and, for scoped roles, the one tenant it may act for.

use std::fmt;
use std::str::FromStr;

use onshi_core::{CertificateSerial, InstitutionCode, InsurerNumber};
use onshi_store::{NewToken, RegistryStore};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::RegistryError;

/// Who may call onshi.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A clinic or pharmacy (保険医療機関・薬局), scoped to one 医療機関コード.
    Institution,
    /// An insurer (保険者), scoped to one 保険者番号.
    Insurer,
    /// A review and payment organisation (審査支払機関).
    Payer,
    /// The call centre / operator of the system (医療保険情報提供等実施機関).
    Operator,
    /// A patient (マイナポータル), scoped to one card certificate.
    Patient,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Institution,
        Role::Insurer,
        Role::Payer,
        Role::Operator,
        Role::Patient,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Institution => "institution",
            Role::Insurer => "insurer",
            Role::Payer => "payer",
            Role::Operator => "operator",
            Role::Patient => "patient",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| RegistryError::BadValue {
                field: "role".into(),
                message: "institution, insurer, payer, operator, patient のいずれかです".into(),
            })
    }
}

/// The authenticated caller of a request: a role and its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Institution(InstitutionCode),
    Insurer(InsurerNumber),
    Payer,
    Operator,
    Patient(CertificateSerial),
}

impl Caller {
    pub fn role(&self) -> Role {
        match self {
            Caller::Institution(_) => Role::Institution,
            Caller::Insurer(_) => Role::Insurer,
            Caller::Payer => Role::Payer,
            Caller::Operator => Role::Operator,
            Caller::Patient(_) => Role::Patient,
        }
    }

    /// The institution this caller acts for, or `Forbidden`.
    pub fn institution(&self) -> Result<&InstitutionCode, RegistryError> {
        match self {
            Caller::Institution(c) => Ok(c),
            _ => Err(RegistryError::Forbidden),
        }
    }
}

/// The SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token for `caller`, stores its hash, and returns the token text
/// (shown once). The tenant must exist: an unknown institution, insurer or card
/// is refused and nothing is written.
pub fn issue_token(
    store: &dyn RegistryStore,
    caller: &Caller,
    label: &str,
    now: &str,
) -> Result<String, RegistryError> {
    match caller {
        Caller::Institution(code) if store.institution(code)?.is_none() => {
            return Err(RegistryError::InstitutionUnknown(code.to_string()));
        }
        Caller::Insurer(n) if store.insurer(n)?.is_none() => {
            return Err(RegistryError::InsurerUnknown(n.to_string()));
        }
        Caller::Patient(s) if store.card(s)?.is_none() => {
            return Err(RegistryError::CertificateUnknown);
        }
        _ => {}
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("onshi_{}", hex::encode(bytes));
    store.insert_token(&NewToken {
        hash: token_hash(&token),
        role: caller.role().as_str().to_owned(),
        institution: match caller {
            Caller::Institution(c) => Some(c.clone()),
            _ => None,
        },
        insurer: match caller {
            Caller::Insurer(n) => Some(n.clone()),
            _ => None,
        },
        certificate_serial: match caller {
            Caller::Patient(s) => Some(s.clone()),
            _ => None,
        },
        label: label.to_owned(),
        created_at: now.to_owned(),
    })?;
    Ok(token)
}

/// Whether `token` has the shape of an onshi token (`onshi_` + 64 hex).
pub fn well_formed(token: &str) -> bool {
    token.len() == 70 && token.starts_with("onshi_")
}

/// Resolves a bearer token to its caller; any unknown or malformed token is
/// `Unauthorized`, with no hint which.
pub fn authenticate(store: &dyn RegistryStore, token: &str) -> Result<Caller, RegistryError> {
    if !well_formed(token) {
        return Err(RegistryError::Unauthorized);
    }
    let row = store
        .token_by_hash(&token_hash(token))?
        .ok_or(RegistryError::Unauthorized)?;
    let role: Role = row.role.parse().map_err(|_| RegistryError::Unauthorized)?;
    let caller = match role {
        Role::Institution => {
            Caller::Institution(row.institution.ok_or(RegistryError::Unauthorized)?)
        }
        Role::Insurer => Caller::Insurer(row.insurer.ok_or(RegistryError::Unauthorized)?),
        Role::Payer => Caller::Payer,
        Role::Operator => Caller::Operator,
        Role::Patient => {
            Caller::Patient(row.certificate_serial.ok_or(RegistryError::Unauthorized)?)
        }
    };
    Ok(caller)
}
