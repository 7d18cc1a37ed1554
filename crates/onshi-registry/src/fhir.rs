//! A check answer as FHIR R4: a `Bundle` (type `collection`) holding a
//! `CoverageEligibilityResponse`, one `Coverage` per qualification shown,
//! their `Patient` and payor `Organization`s.
//!
//! JP Core naming where it exists: the 記号・番号・枝番 extensions
//! `JP_Coverage_InsuredPersonSymbol` / `…Number` / `…SubNumber`, and the
//! 保険者番号 identifier system `urn:oid:1.2.392.100495.20.3.61` [I: JP Core
//! examples]. The OQSCD006 validity code rides in an onshi extension, because
//! no standard element carries it.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::check::{CheckAnswer, QualificationView};

const JP_EXT: &str = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/";
const INSURER_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.61";
const VALIDITY_EXT: &str = "urn:onshi:fhir:StructureDefinition:oqscd006-qualification-validity";

fn patient(q: &QualificationView, id: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "name": [
            {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "IDE"}],
             "use": "official", "text": q.name},
            {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}],
             "use": "official", "text": q.kana},
        ],
        "gender": if q.sex == "female" { "female" } else { "male" },
        "birthDate": q.birth_date,
        "address": [{"text": q.address}],
    })
}

fn day_before(d: NaiveDate) -> NaiveDate {
    d.pred_opt().unwrap_or(d)
}

fn coverage(q: &QualificationView, id: &str, patient_id: &str, org_id: &str, valid: bool) -> Value {
    let mut ext = Vec::new();
    if let Some(s) = &q.insured_symbol {
        ext.push(
            json!({"url": format!("{JP_EXT}JP_Coverage_InsuredPersonSymbol"), "valueString": s}),
        );
    }
    ext.push(json!({"url": format!("{JP_EXT}JP_Coverage_InsuredPersonNumber"), "valueString": q.insured_number}));
    if let Some(b) = &q.insured_branch {
        ext.push(
            json!({"url": format!("{JP_EXT}JP_Coverage_InsuredPersonSubNumber"), "valueString": b}),
        );
    }
    let mut period = json!({"start": q.acquired_on});
    if let Some(l) = q.lost_on {
        period["end"] = json!(day_before(l));
    }
    let mut c = json!({
        "resourceType": "Coverage",
        "id": id,
        "extension": ext,
        "status": if valid { "active" } else { "cancelled" },
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PUBLICPOL"}],
                 "text": q.insurance_kind},
        "subscriberId": match &q.insured_symbol {
            Some(s) => format!("{s}・{}", q.insured_number),
            None => q.insured_number.clone(),
        },
        "beneficiary": {"reference": format!("Patient/{patient_id}")},
        "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
            "code": if q.relation == "insured" { "self" } else { "other" }}],
            "text": if q.relation == "insured" { "本人" } else { "家族" }},
        "period": period,
        "payor": [{"reference": format!("Organization/{org_id}")}],
    });
    if let Some(p) = q.burden_ratio_percent {
        c["costToBeneficiary"] = json!([{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-copay-type", "code": "copaypct"}]},
            "valueQuantity": {"value": p, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
        }]);
    }
    c
}

fn organization(q: &QualificationView, id: &str) -> Value {
    json!({
        "resourceType": "Organization",
        "id": id,
        "identifier": [{"system": INSURER_SYSTEM, "value": q.insurer_number}],
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "ins"}]}],
        "name": q.insurer_name,
    })
}

/// The answer as a FHIR R4 Bundle. `check_id` names the check (its history
/// id, or any stable reference) for `CoverageEligibilityResponse.request`.
pub fn bundle(a: &CheckAnswer, check_id: &str, created: &str) -> Value {
    let mut entries = Vec::new();
    let mut insurance = Vec::new();
    let mut first_org = None;
    for (i, q) in a.qualifications.iter().enumerate() {
        let (pid, cid, oid) = (
            format!("patient-{i}"),
            format!("coverage-{i}"),
            format!("insurer-{}", q.insurer_number),
        );
        let valid =
            a.validity == 1 || (a.validity == 5 && q.lost_on.is_none_or(|l| a.checked_on < l));
        insurance
            .push(json!({"coverage": {"reference": format!("Coverage/{cid}")}, "inforce": valid}));
        entries.push(patient(q, &pid));
        entries.push(coverage(q, &cid, &pid, &oid, valid));
        if !entries.iter().any(|e| e["id"] == oid) {
            entries.push(organization(q, &oid));
        }
        first_org.get_or_insert(oid);
    }
    let response = json!({
        "resourceType": "CoverageEligibilityResponse",
        "id": "response",
        "extension": [{"url": VALIDITY_EXT, "valueCode": a.validity.to_string()}],
        "status": "active",
        "purpose": ["validation"],
        "patient": match a.qualifications.first() {
            Some(_) => json!({"reference": "Patient/patient-0"}),
            None => json!({"display": "該当者なし"}),
        },
        "servicedDate": a.checked_on,
        "created": created,
        "request": {"identifier": {"system": "urn:onshi:check", "value": check_id}},
        "outcome": "complete",
        "disposition": a.validity_label,
        "insurer": match &first_org {
            Some(o) => json!({"reference": format!("Organization/{o}")}),
            None => json!({"display": "不明"}),
        },
        "insurance": insurance,
    });
    let mut all = vec![response];
    all.extend(entries);
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": created,
        "entry": all.into_iter().map(|r| {
            let url = format!("urn:onshi:{}/{}", r["resourceType"].as_str().unwrap_or_default(), r["id"].as_str().unwrap_or_default());
            json!({"fullUrl": url, "resource": r})
        }).collect::<Vec<_>>(),
    })
}
