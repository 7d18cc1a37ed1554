//! The hash chains over the audit log and the check history.
//!
//! MHLW 安全管理ガイドライン 6.0 システム運用編 §17②: access logs must be
//! protected against deletion, tampering and insertion (ASVS 5.0 16.4.2). Each
//! entry carries `prev_hash` (the hash of the entry before it, or
//! [`GENESIS`]) and `hash`, SHA-256 over the entry's stored fields and
//! `prev_hash`. An edited entry no longer matches its hash; a deleted or
//! inserted one breaks the link of the entry after it.
//!
//! Two kinds of chain:
//! - the audit log (`audit_log`) is one chain, in id order: every read of a
//!   person's data outside a check, and every write;
//! - the check history (`check_history`, 資格確認履歴) is one chain per
//!   institution, in id order. A check's row is its audit entry (who: the
//!   institution and staff; when; which person; the answer as sent), and one
//!   chain per institution costs nothing on the hot path: an institution's
//!   checks are written one at a time already.
//!
//! Rows from before the chain existed carry no hash: migration 5 (PostgreSQL
//! 2) records each table's last id at that moment (`chain_start`), rows up to
//! it are counted as unchained, and any row after it without a hash is a
//! break, so clearing the hashes does not pass. After a break the walk goes
//! on from the stored hash, so every break is reported, not just the first. A chain's tail can be cut without breaking a link, so
//! [`ChainReport`] gives each chain's head: a reviewer keeps the heads of an
//! export and `onshi audit verify --expect` proves they are still there.
//!
//! Both stores append through [`audit_hash`] / [`check_hash`] inside the
//! transaction that holds the chain's lock, and the database refuses UPDATE
//! and DELETE on both tables (triggers); the chain catches what gets past that.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::records::{AuditRow, ChainStart, CheckLink};
use crate::{FailureModeStore, RegistryStore, Result};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn sha256_hex(fields: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// The hash of an audit entry. `detail` is the entry's detail as stored
/// (compact JSON).
pub fn audit_hash(
    at: &str,
    actor: &str,
    action: &str,
    person_id: Option<i64>,
    purpose: Option<&str>,
    detail: &str,
    prev: &str,
) -> String {
    sha256_hex(&serde_json::json!([
        "audit", at, actor, action, person_id, purpose, detail, prev
    ]))
}

/// The hash of a check-history row, over every column but its id.
pub fn check_hash(l: &CheckLink, prev: &str) -> String {
    sha256_hex(&serde_json::json!([
        "check",
        l.institution_code,
        l.checked_at,
        l.checked_on,
        l.reference,
        l.certificate_serial,
        l.insurer_number,
        l.symbol,
        l.number,
        l.branch,
        l.birth_date,
        l.person_id,
        l.validity,
        l.error_code,
        l.answer,
        l.identity_confirmed_by,
        l.staff_id,
        prev
    ]))
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// `audit_log` or `check_history:<institution code>`.
    pub chain: String,
    /// The id of the first entry that does not verify.
    pub id: i64,
    /// `hash_mismatch` (the entry was edited), `link_mismatch` (an entry
    /// before it was deleted, inserted or edited), `missing_hash` (a row
    /// written around the chain), `head_missing` (an expected head is gone).
    pub reason: &'static str,
}

/// The last entry of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub chain: String,
    pub id: i64,
    pub hash: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Entries whose hash and link verified.
    pub verified: u64,
    /// Rows from before the chain existed.
    pub unchained: u64,
    /// Every break found, in the order walked (at most [`MAX_BREAKS`]).
    pub breaks: Vec<Break>,
    /// The head of every chain, audit log first, then institutions by code.
    pub heads: Vec<Head>,
}

impl ChainReport {
    pub fn ok(&self) -> bool {
        self.breaks.is_empty()
    }
}

/// The most breaks a report lists; a log rewritten wholesale stops here.
pub const MAX_BREAKS: usize = 1_000;

/// One chain's state while walking it: the last entry that carried a hash.
#[derive(Default)]
struct Walk {
    last: Option<(i64, String)>,
}

impl Walk {
    /// Takes the next entry: its id, stored `prev_hash` and `hash`, the
    /// hash recomputed from its fields over the stored `prev_hash`, and
    /// whether it is from before the chain.
    fn step(
        &mut self,
        chain: &str,
        id: i64,
        stored: (Option<&str>, Option<&str>),
        recompute: impl FnOnce(&str) -> String,
        pre_chain: bool,
        report: &mut ChainReport,
    ) {
        let mut fail = |reason| {
            if report.breaks.len() < MAX_BREAKS {
                report.breaks.push(Break {
                    chain: chain.to_owned(),
                    id,
                    reason,
                });
            }
        };
        let (Some(prev), Some(hash)) = stored else {
            if pre_chain {
                report.unchained += 1;
            } else {
                fail("missing_hash");
            }
            return;
        };
        let expected_prev = self.last.as_ref().map_or(GENESIS, |(_, h)| h.as_str());
        if prev != expected_prev {
            fail("link_mismatch");
        } else if recompute(prev) != hash {
            fail("hash_mismatch");
        } else {
            report.verified += 1;
        }
        // Go on from what is stored, so a later break is found too.
        self.last = Some((id, hash.to_owned()));
    }
}

/// How many rows a page of the walk reads.
const PAGE: u32 = 10_000;

/// One entry as [`walk`] reads it.
pub enum Entry<'a> {
    Audit(&'a AuditRow),
    Check(&'a CheckLink),
}

/// Walks the audit log and every institution's check history, recomputing
/// each hash and link. `expect` are heads kept from an earlier report: each
/// must still be an entry of its chain with the same hash.
pub fn verify<S: RegistryStore + FailureModeStore + ?Sized>(
    store: &S,
    expect: &[Head],
) -> Result<ChainReport> {
    walk(store, expect, |_| Ok(()))
}

/// [`verify`], handing each entry to `visit` as it is read (the audit
/// export writes them out in the same pass, so its rows and its heads come
/// from one reading). An error of `visit` ends the walk.
pub fn walk<S, E>(
    store: &S,
    expect: &[Head],
    mut visit: impl FnMut(Entry<'_>) -> std::result::Result<(), E>,
) -> std::result::Result<ChainReport, E>
where
    S: RegistryStore + FailureModeStore + ?Sized,
    E: From<crate::StoreError>,
{
    let mut report = ChainReport::default();
    let start: ChainStart = store.chain_start()?;
    // Hashes of the entries named by `expect`, as found.
    let mut seen: BTreeMap<(String, i64), String> = BTreeMap::new();
    let expected: BTreeSet<(&str, i64)> = expect.iter().map(|h| (h.chain.as_str(), h.id)).collect();
    let wanted = |chain: &str, id: i64| expected.contains(&(chain, id));

    let mut audit = Walk::default();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for e in &page {
            visit(Entry::Audit(e))?;
            if wanted("audit_log", e.id)
                && let Some(h) = &e.hash
            {
                seen.insert(("audit_log".into(), e.id), h.clone());
            }
            audit.step(
                "audit_log",
                e.id,
                (e.prev_hash.as_deref(), e.hash.as_deref()),
                |prev| audit_row_hash(e, prev),
                e.id <= start.audit_log,
                &mut report,
            );
        }
    }
    if let Some((id, hash)) = audit.last {
        report.heads.push(Head {
            chain: "audit_log".into(),
            id,
            hash,
        });
    }

    let mut checks: BTreeMap<String, Walk> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = store.check_links(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for l in &page {
            visit(Entry::Check(l))?;
            let chain = format!("check_history:{}", l.institution_code);
            if wanted(&chain, l.id)
                && let Some(h) = &l.hash
            {
                seen.insert((chain.clone(), l.id), h.clone());
            }
            checks.entry(chain.clone()).or_default().step(
                &chain,
                l.id,
                (l.prev_hash.as_deref(), l.hash.as_deref()),
                |prev| check_hash(l, prev),
                l.id <= start.check_history,
                &mut report,
            );
        }
    }
    for (chain, walk) in checks {
        if let Some((id, hash)) = walk.last {
            report.heads.push(Head { chain, id, hash });
        }
    }

    for h in expect {
        if seen.get(&(h.chain.clone(), h.id)) != Some(&h.hash) {
            report.breaks.push(Break {
                chain: h.chain.clone(),
                id: h.id,
                reason: "head_missing",
            });
        }
    }
    Ok(report)
}

/// [`audit_hash`] of a row as read back.
pub fn audit_row_hash(e: &AuditRow, prev: &str) -> String {
    audit_hash(
        &e.at,
        &e.actor,
        &e.action,
        e.person_id,
        e.purpose.as_deref(),
        &e.detail.to_string(),
        prev,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_in_the_audit_hash() {
        let base = audit_hash("t", "a", "x", Some(1), Some("p"), "{}", GENESIS);
        for other in [
            audit_hash("u", "a", "x", Some(1), Some("p"), "{}", GENESIS),
            audit_hash("t", "b", "x", Some(1), Some("p"), "{}", GENESIS),
            audit_hash("t", "a", "y", Some(1), Some("p"), "{}", GENESIS),
            audit_hash("t", "a", "x", Some(2), Some("p"), "{}", GENESIS),
            audit_hash("t", "a", "x", None, Some("p"), "{}", GENESIS),
            audit_hash("t", "a", "x", Some(1), None, "{}", GENESIS),
            audit_hash("t", "a", "x", Some(1), Some("p"), "[]", GENESIS),
            audit_hash("t", "a", "x", Some(1), Some("p"), "{}", &"1".repeat(64)),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base.len(), 64);
    }

    #[test]
    fn fields_cannot_shift_into_each_other() {
        // "a|b" + "c" and "a" + "b|c" would collide under naive joining.
        assert_ne!(
            audit_hash("t", "ab", "c", None, None, "", GENESIS),
            audit_hash("t", "a", "bc", None, None, "", GENESIS)
        );
    }
}
