//! The folder protocol between a receipt computer and the 資格確認端末
//! (DOMAIN §3.3 \[I\]): the receipt computer drops a request into `req`, the
//! terminal answers in `res` under the same name with `req` → `res`, and card
//! checks at the face reader appear unsolicited in `face`.
//!
//! The only module of the crate that does I/O. Choices:
//!
//! - **Which files are taken.** Only regular files whose name matches
//!   `OQS*req*.xml` ([`res_name`] gives `Some`). Anything else in `req` is left
//!   alone. A writer must create the file under another name (we recommend
//!   `<name>.xml.tmp`) and rename it into place when complete; that is the
//!   `.tmp` convention. As a second guard a file whose size or modification
//!   time changes while it is read is skipped and taken on a later pass.
//! - **Order.** By file name.
//! - **Answers.** Written to `res/<res name>.tmp`, synced, then renamed to the
//!   res name (atomic on one file system). Only then is the request deleted.
//! - **Unreadable requests** (truncated, wrong encoding, too large, …) get an
//!   error file ([`write_error`], SegmentOfResult 9) under the res name and are
//!   deleted too: every request taken produces exactly one res file, so no
//!   request is retried forever. A request over the size limit is not read
//!   past the limit. The error file is written in the encoding the request
//!   declares when it names UTF-8 or Shift_JIS, otherwise in UTF-8.
//! - **Variant.** A file named `OQSmu…` is answered in the batch layout even
//!   with a single query.
//! - **I/O failures** on a single request (it cannot be opened or read) skip
//!   that file for this pass; failures creating the folders, listing `req`, or
//!   writing into `res` are returned as `Err` (the request then stays in `req`).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::codes::Charset;
use crate::error::OqsError;
use crate::request::{MAX_REQUEST_BYTES, OqsRequest, RequestHeader, Variant, parse_request};
use crate::response::{QueryResult, write_error, write_response};
use crate::xml::{encodable, sniff_charset};

/// The response file name for a request file name: `OQSsiquc01req_0001.xml` →
/// `OQSsiquc01res_0001.xml` (the first `req` after `OQS` becomes `res`).
/// `None` for names that are not `OQS*req*.xml` or that contain a path
/// separator.
pub fn res_name(req_file_name: &str) -> Option<String> {
    if req_file_name.contains(['/', '\\']) {
        return None;
    }
    let stem = req_file_name
        .strip_suffix(".xml")
        .or_else(|| req_file_name.strip_suffix(".XML"))?;
    let ext = &req_file_name[stem.len()..];
    let middle = stem.strip_prefix("OQS")?;
    let at = middle.find("req")?;
    Some(format!(
        "OQS{}res{}{ext}",
        &middle[..at],
        &middle[at + "req".len()..]
    ))
}

/// What happened to one request file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Answered: `queries` results written.
    Answered { queries: usize },
    /// Could not be processed: an error file with this code was written.
    Rejected { code: String, message: String },
    /// Left in `req` for a later pass.
    Skipped { reason: String },
}

/// One request file handled by [`process_once`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The request's file name (in `req`).
    pub request: String,
    /// The response's path (in `res`), when one was written.
    pub response: Option<PathBuf>,
    pub outcome: Outcome,
}

/// Writes `bytes` to `dir/name` atomically: `name.tmp`, sync, rename.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let target = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| target)
}

/// Writes a card-check result into `dir/face/<file_stem>.xml` atomically
/// (creating `face` if needed). `file_stem` must be a plain name.
pub fn write_face_file(dir: &Path, file_stem: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    if file_stem.is_empty()
        || file_stem.contains(['/', '\\'])
        || file_stem == "."
        || file_stem == ".."
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid face file name: {file_stem:?}"),
        ));
    }
    let face = dir.join("face");
    fs::create_dir_all(&face)?;
    write_atomic(&face, &format!("{file_stem}.xml"), bytes)
}

/// Reads at most `MAX_REQUEST_BYTES + 1` bytes; `None` when the file changed
/// while being read (still being written).
fn read_stable(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let before = fs::metadata(path)?;
    let mut buf = Vec::new();
    File::open(path)?
        .take(MAX_REQUEST_BYTES as u64 + 1)
        .read_to_end(&mut buf)?;
    let after = fs::metadata(path)?;
    let same = before.len() == after.len()
        && before.modified().ok() == after.modified().ok()
        && (buf.len() as u64 == after.len() || after.len() > MAX_REQUEST_BYTES as u64);
    Ok(same.then_some(buf))
}

/// A message written so that every character can be encoded: characters that
/// cannot are shown as `U+XXXX` (explicitly, not silently replaced).
fn writable(message: &str, charset: Charset) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if encodable(c, charset) {
            out.push(c);
        } else {
            out.push_str(&format!("U+{:04X}", c as u32));
        }
    }
    out
}

/// The bytes of an error file; falls back to UTF-8 and then to a fixed text
/// so that a request always gets its answer.
fn error_bytes(
    e: &OqsError,
    header: Option<&RequestHeader>,
    charset: Charset,
    at: NaiveDateTime,
) -> Vec<u8> {
    let message = writable(&e.to_string(), charset);
    write_error(e.code(), &message, header, charset, at)
        .or_else(|_| write_error(e.code(), &message, None, Charset::Utf8, at))
        .unwrap_or_else(|_| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<XmlMsg>\n  <MessageHeader>\n    <SegmentOfResult>9</SegmentOfResult>\n    <ErrorCode>{}</ErrorCode>\n  </MessageHeader>\n</XmlMsg>\n",
                e.code()
            )
            .into_bytes()
        })
}

/// Handles every request now in `dir/req` (see the module doc), calling
/// `answer` once per readable request with the parsed request; it must
/// return one result per query. `now` stamps ProcessExecutionTime.
/// Answers the bytes of one request file: the response bytes (an error file
/// when the request cannot be read or the answer cannot be written) and what
/// happened. `batch` forces the batch layout (the `OQSmu…` file names). Used by
/// [`process_once`] and by the HTTP endpoint, so both answer alike.
pub fn respond(
    bytes: &[u8],
    batch: bool,
    answer: &mut dyn FnMut(&OqsRequest) -> Vec<QueryResult>,
    at: NaiveDateTime,
) -> (Vec<u8>, Outcome) {
    match parse_request(bytes) {
        Ok(mut req) => {
            if batch {
                req.variant = Variant::Batch;
            }
            let results = answer(&req);
            let charset = req.response_charset();
            match write_response(&req, &results, at, charset) {
                Ok(b) => (
                    b,
                    Outcome::Answered {
                        queries: results.len(),
                    },
                ),
                Err(e) => (
                    error_bytes(&e, Some(&req.header), charset, at),
                    Outcome::Rejected {
                        code: e.code().to_owned(),
                        message: e.to_string(),
                    },
                ),
            }
        }
        Err(e) => {
            let charset = sniff_charset(bytes).unwrap_or(Charset::Utf8);
            (
                error_bytes(&e, None, charset, at),
                Outcome::Rejected {
                    code: e.code().to_owned(),
                    message: e.to_string(),
                },
            )
        }
    }
}

pub fn process_once(
    dir: &Path,
    answer: &mut dyn FnMut(&OqsRequest) -> Vec<QueryResult>,
    now: impl Fn() -> NaiveDateTime,
) -> io::Result<Vec<Processed>> {
    let req_dir = dir.join("req");
    let res_dir = dir.join("res");
    for d in [&req_dir, &res_dir, &dir.join("face")] {
        fs::create_dir_all(d)?;
    }
    let mut names: Vec<(String, String)> = Vec::new();
    for entry in fs::read_dir(&req_dir)? {
        let entry = entry?;
        if !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if let Some(res) = res_name(&name) {
            names.push((name, res));
        }
    }
    names.sort();

    let mut done = Vec::new();
    for (name, res) in names {
        let path = req_dir.join(&name);
        let bytes = match read_stable(&path) {
            Ok(Some(b)) => b,
            Ok(None) => {
                done.push(Processed {
                    request: name,
                    response: None,
                    outcome: Outcome::Skipped {
                        reason: "読み込み中に変更されました（書き込み中）".into(),
                    },
                });
                continue;
            }
            Err(e) => {
                done.push(Processed {
                    request: name,
                    response: None,
                    outcome: Outcome::Skipped {
                        reason: format!("読み込めません: {e}"),
                    },
                });
                continue;
            }
        };
        let (out, outcome) = respond(&bytes, name.starts_with("OQSmu"), answer, now());
        let written = write_atomic(&res_dir, &res, &out)?;
        fs::remove_file(&path)?;
        done.push(Processed {
            request: name,
            response: Some(written),
            outcome,
        });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn res_names() {
        assert_eq!(
            res_name("OQSsiquc01req_0001.xml").as_deref(),
            Some("OQSsiquc01res_0001.xml")
        );
        assert_eq!(
            res_name("OQSmuquc01req_req.xml").as_deref(),
            Some("OQSmuquc01res_req.xml")
        );
        assert_eq!(
            res_name("OQSsiquc01req_1.XML").as_deref(),
            Some("OQSsiquc01res_1.XML")
        );
        for bad in [
            "OQSsiquc01res_0001.xml",
            "OQSsiquc01req_0001.xml.tmp",
            "YZKsiquc01req_0001.xml",
            "notes.txt",
            "OQS/req.xml",
            "OQSreq",
        ] {
            assert_eq!(res_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn writable_messages() {
        assert_eq!(writable("𠮷野", Charset::ShiftJis), "U+20BB7野");
        assert_eq!(writable("𠮷野", Charset::Utf8), "𠮷野");
    }
}
