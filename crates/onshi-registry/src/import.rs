//! Bulk registration from a file: `onshi registry import --insurer … FILE`
//! and `POST /api/v1/insurer/imports`.
//!
//! Formats (README "Import format"): CSV with a header row naming the
//! [`RawRegistration`] fields, or JSON Lines with one such object a line.
//! Encoding: UTF-8 (a BOM is skipped) or, when the bytes are not UTF-8,
//! Shift_JIS (CP932, as insurers' systems write it); a byte sequence that is
//! neither is refused. The file is one batch and one transaction: every row is
//! parsed and matched, and if any row is rejected nothing is written and the
//! report lists every reject with its line.

use std::cell::RefCell;

use onshi_core::InsurerNumber;
use onshi_store::{IdemClaim, RegisterOutcome, RowInput, Store, StoreReject, StoredResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::RegistryError;
use crate::insurer::{RawRegistration, WriteAnswer, parse_registration};

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    JsonLines,
}

impl ImportFormat {
    /// From a file name (`.csv`, `.jsonl`, `.ndjson`).
    pub fn from_path(p: &std::path::Path) -> Option<Self> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            _ => None,
        }
    }

    /// From an HTTP Content-Type.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next()?.trim().to_ascii_lowercase();
        match base.as_str() {
            "text/csv" => Some(Self::Csv),
            "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" => {
                Some(Self::JsonLines)
            }
            _ => None,
        }
    }
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReject {
    /// 1-based line of the file (CSV: the header is line 1).
    pub line: u64,
    pub code: String,
    pub field: Option<String>,
    pub message: String,
}

/// A row stored with attributes that differ from the resident record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportMismatch {
    pub line: u64,
    /// The stored record (absent when the batch did not commit).
    pub id: Option<i64>,
    pub mismatch: Vec<String>,
    pub mismatch_labels: Vec<String>,
}

/// The per-row report of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Whether the batch was written. False when any row was rejected (then
    /// nothing was written) or on a dry run.
    pub committed: bool,
    pub dry_run: bool,
    pub rows: u64,
    pub registered: u64,
    pub mismatched: Vec<ImportMismatch>,
    pub rejected: Vec<ImportReject>,
}

/// How mismatches and dry runs are treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Reject rows whose 5 attributes differ (default: store them flagged and
    /// invisible, as a single registration does).
    pub reject_mismatch: bool,
    /// Parse and match everything, write nothing.
    pub dry_run: bool,
}

/// Bytes to text: UTF-8 (BOM skipped), else strict Shift_JIS (CP932).
pub fn decode(bytes: &[u8]) -> Result<String, RegistryError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    encoding_rs::SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
        .ok_or_else(|| RegistryError::BadValue {
            field: "file".into(),
            message: "文字コードを判別できません（UTF-8 または Shift_JIS で保存してください）"
                .into(),
        })
}

fn reject(line: u64, e: &RegistryError) -> ImportReject {
    ImportReject {
        line,
        code: e.code().to_owned(),
        field: e.field(),
        message: e.to_string(),
    }
}

/// The rows of `text` with their 1-based line numbers, parsed lazily.
fn rows<'a>(
    text: &'a str,
    format: ImportFormat,
) -> Box<dyn Iterator<Item = (u64, Result<RawRegistration, RegistryError>)> + 'a> {
    match format {
        ImportFormat::JsonLines => Box::new(
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    let parsed = serde_json::from_str::<RawRegistration>(l).map_err(|e| {
                        RegistryError::BadValue {
                            field: "line".into(),
                            message: format!("JSONとして読み取れません: {e}"),
                        }
                    });
                    (i as u64 + 1, parsed)
                }),
        ),
        ImportFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            let headers = reader.headers().cloned();
            // Lines are counted from the byte offsets: the csv crate's own line
            // numbers lag after blank lines. Counted incrementally, so a large
            // file is read once.
            let bytes = text.as_bytes();
            let (mut at, mut line) = (0usize, 1u64);
            let mut line_at = move |offset: u64| -> u64 {
                // A record's position is where the reader resumed, which is
                // before any blank lines it skipped: step over them.
                let mut offset = (offset as usize).min(bytes.len());
                while offset < bytes.len() && matches!(bytes[offset], b'\n' | b'\r') {
                    offset += 1;
                }
                if offset >= at {
                    line += bytes[at..offset].iter().filter(|&&b| b == b'\n').count() as u64;
                    at = offset;
                }
                line
            };
            Box::new(reader.into_records().map(move |r| {
                let bad = |line: u64, e: &dyn std::fmt::Display| {
                    (
                        line,
                        Err(RegistryError::BadValue {
                            field: "row".into(),
                            message: format!("CSVとして読み取れません: {e}"),
                        }),
                    )
                };
                let headers = match &headers {
                    Ok(h) => h,
                    Err(e) => return bad(1, e),
                };
                match r {
                    Ok(rec) => {
                        let line = rec.position().map_or(0, |p| line_at(p.byte()));
                        match rec.deserialize::<RawRegistration>(Some(headers)) {
                            Ok(raw) => (line, Ok(raw)),
                            Err(e) => bad(line, &e),
                        }
                    }
                    Err(e) => {
                        let line = e.position().map_or(0, |p| line_at(p.byte()));
                        bad(line, &e)
                    }
                }
            }))
        }
    }
}

/// Imports a file's bytes for `insurer` as one batch.
pub fn import(
    store: &dyn Store,
    insurer: &InsurerNumber,
    bytes: &[u8],
    format: ImportFormat,
    options: ImportOptions,
    claim: Option<&IdemClaim>,
    now: &str,
) -> Result<WriteAnswer, RegistryError> {
    let text = decode(bytes)?;
    let lines: RefCell<Vec<u64>> = RefCell::new(Vec::new());
    let parse_rejects: RefCell<Vec<ImportReject>> = RefCell::new(Vec::new());
    let mut inputs = rows(&text, format).map(|(line, parsed)| {
        lines.borrow_mut().push(line);
        match parsed.and_then(|raw| parse_registration(&raw, insurer)) {
            Ok(reg) => RowInput::Row(reg),
            Err(e) => {
                parse_rejects.borrow_mut().push(reject(line, &e));
                RowInput::Invalid
            }
        }
    });
    let build = |o: &RegisterOutcome| -> ImportReport {
        let lines = lines.borrow();
        let line_of = |row: usize| lines.get(row).copied().unwrap_or(0);
        let mut rejected = parse_rejects.borrow().clone();
        for (row, r) in &o.rejected {
            let e = crate::insurer::reject_error(r, "");
            let mut rj = reject(line_of(*row), &e);
            match r {
                StoreReject::Mismatch { .. } => rj.code = "mismatch".into(),
                StoreReject::DuplicateInBatch { row: first } => {
                    rj.code = "duplicate".into();
                    rj.message = format!("{}行目と同じ資格です", line_of(*first));
                }
                _ => {}
            }
            rejected.push(rj);
        }
        rejected.sort_by_key(|r| r.line);
        ImportReport {
            committed: o.committed,
            dry_run: options.dry_run,
            rows: o.rows,
            registered: o.registered,
            mismatched: o
                .mismatched
                .iter()
                .map(|m| ImportMismatch {
                    line: line_of(m.row),
                    id: m.id,
                    mismatch: m.mismatch.iter().map(|a| a.as_str().to_owned()).collect(),
                    mismatch_labels: m.mismatch.iter().map(|a| a.kanji().to_owned()).collect(),
                })
                .collect(),
            rejected,
        }
    };
    let respond = |o: &RegisterOutcome| StoredResponse {
        status: 201,
        body: serde_json::to_value(build(o)).unwrap_or_default(),
    };
    let idem = store.register(
        insurer,
        &mut inputs,
        options.reject_mismatch,
        options.dry_run,
        now,
        claim,
        &respond,
    )?;
    drop(inputs);
    match idem {
        onshi_store::Idem::Fresh(o) => {
            let report = build(&o);
            let status = if o.committed {
                201
            } else if options.dry_run && report.rejected.is_empty() {
                200
            } else {
                422
            };
            Ok(WriteAnswer {
                status,
                body: serde_json::to_value(report).unwrap_or_default(),
                replayed: false,
            })
        }
        onshi_store::Idem::Replay(r) => Ok(WriteAnswer {
            status: r.status,
            body: r.body,
            replayed: true,
        }),
        onshi_store::Idem::KeyReused => Err(RegistryError::IdempotencyKeyReused),
    }
}
