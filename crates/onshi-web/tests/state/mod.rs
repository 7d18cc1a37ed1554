//! The store's observable state as text, to show that a refused call wrote
//! nothing (shared by the authorisation matrix and the API fuzz tests).

use onshi_core::{InstitutionCode, InsurerNumber};
use onshi_registry::demo;
use onshi_store::Store;

pub use crate::common::is_request_entry;

/// Everything a write through the API could change, as text.
pub fn fingerprint(st: &dyn Store) -> String {
    use std::fmt::Write;
    {
        let mut out = String::new();
        let mut w = |label: &str, v: String| writeln!(out, "{label}: {v}").unwrap();
        w("counts", format!("{:?}", st.counts().unwrap()));
        // The audit layer's own entries (one per request, refusals too) are
        // what a refused call may add; the domain's entries are state.
        let audit: Vec<_> = st
            .audit_entries(0, 1_000_000)
            .unwrap()
            .into_iter()
            .filter(|a| !is_request_entry(a))
            .collect();
        w("audit", format!("{audit:?}"));
        w("disasters", format!("{:?}", st.fm_disasters().unwrap()));
        w("fm", format!("{:?}", st.fm_requests(None, None).unwrap()));
        let from = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let to = chrono::NaiveDate::from_ymd_opt(2200, 1, 1).unwrap();
        for code in [demo::CLINIC_CODE, demo::OTHER_CLINIC_CODE] {
            let inst = InstitutionCode::parse(code).unwrap();
            let visits = st.visits_between(&inst, from, to).unwrap();
            for v in &visits {
                w(
                    "declaration",
                    format!("{:?}", st.declaration(&inst, v.id).unwrap()),
                );
            }
            w("visits", format!("{visits:?}"));
            w(
                "pending",
                format!("{:?}", st.pending_rechecks(&inst, 10_000).unwrap()),
            );
            w("deletions", format!("{:?}", st.deletions(&inst).unwrap()));
            w(
                "reader",
                format!("{:?}", st.reader_mode_events(&inst).unwrap()),
            );
            w("context", format!("{:?}", st.check_context(&inst).unwrap()));
            w(
                "checks",
                format!("{:?}", st.checks_after(&inst, 0, 1_000_000).unwrap()),
            );
            w(
                "searches",
                format!("{:?}", st.fm_searches_since(&inst, "0000").unwrap()),
            );
        }
        for number in [
            demo::KYOKAI_TOKYO,
            demo::KUMIAI_TOKYO,
            demo::KOUKI_HYOGO,
            demo::KOKUHO_CHIYODA,
        ] {
            let ins = InsurerNumber::parse(number).unwrap();
            let records = st.insurer_records(&ins, false, 100_000, 0).unwrap();
            for r in &records {
                w(
                    "revisions",
                    format!("{:?}", st.revisions(&ins, r.id).unwrap()),
                );
            }
            w("records", format!("{records:?}"));
        }
        out
    }
}
