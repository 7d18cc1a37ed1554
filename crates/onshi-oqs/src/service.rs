//! Answering request files from the registry: the glue the HTTP endpoint and
//! the folder watcher share. Each query becomes a number check (reference 2)
//! for the institution, dated on the header's QualificationConfirmationDate,
//! through `onshi_registry::check::check`, so it lands in the institution's
//! check history like any other check.

use chrono::{DateTime, Utc};
use onshi_core::InstitutionCode;
use onshi_registry::check::{CheckRequest, check};
use onshi_store::RegistryStore;

use crate::{OqsRequest, QueryResult};

/// The answers to every query of `req` for `institution`. A file whose
/// MedicalInstitutionCode is another institution's gets an error per query
/// (`institution_mismatch`): a receipt computer may only ask for its own.
pub fn answer(
    store: &dyn RegistryStore,
    institution: &InstitutionCode,
    req: &OqsRequest,
    now: DateTime<Utc>,
) -> Vec<QueryResult> {
    if req.header.medical_institution_code != institution.as_str() {
        return req
            .queries
            .iter()
            .map(|_| QueryResult::Error {
                code: "institution_mismatch".into(),
                message: format!(
                    "医療機関コード{}はこの接続の医療機関ではありません",
                    req.header.medical_institution_code
                ),
            })
            .collect();
    }
    let on = req.header.qualification_confirmation_date;
    req.queries
        .iter()
        .map(|q| {
            let result = CheckRequest::parse(&q.to_raw_check(on))
                .and_then(|r| check(store, institution, &r, now));
            match result {
                Ok(a) => QueryResult::Answer(a),
                Err(e) => QueryResult::Error {
                    code: e.code().to_owned(),
                    message: e.to_string(),
                },
            }
        })
        .collect()
}
