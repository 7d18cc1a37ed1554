//! # onshi-oqs
//!
//! The receipt-computer XML interface of the 資格確認端末: the オン資 XML
//! messages a receipt computer exchanges with the terminal (DOMAIN §3.2) and
//! the `req` / `res` / `face` folder protocol that carries them (DOMAIN §3.3).
//! onshi uses it to emulate a terminal in front of its registry, so that an
//! unmodified receipt-computer integration can be tested against onshi; a
//! receipt-computer author can use the same types to write requests' readers
//! and to read results ([`response::parse_response`]).
//!
//! | module | holds |
//! | --- | --- |
//! | [`codes`] | the code lists OQSCD002–007, 009–012 |
//! | [`request`] | [`parse_request`]: a request file → [`OqsRequest`]; [`SearchInfo::to_raw_check`] |
//! | [`response`] | [`write_response`], [`write_error`], [`write_face`], and [`parse_response`] for all three |
//! | [`folder`] | [`folder::process_once`], [`folder::res_name`], [`folder::write_face_file`] |
//! | [`kana`] | full-width → half-width katakana for `NameKana` |
//! | [`error`] | [`OqsError`] and its stable codes E1001–E1012, E1099 |
//!
//! **May depend on:** `onshi-core`, the check types of `onshi-registry`
//! (`RawCheckRequest`, `CheckAnswer`, `QualificationView`; never its services
//! or the store), `quick-xml` (Reader / Writer event API), `encoding_rs`,
//! `chrono`, `thiserror`. **No I/O** except in [`folder`]; no clock (the
//! caller passes the time).
//!
//! ## What is inferred, and what we chose
//!
//! The official 外部インターフェイス仕様書 was not available; the element
//! names and code lists come from vendor code and sample files (\[I\] in DOMAIN
//! §3.2–3.3). Where the material is silent (\[U\]) onshi chose:
//!
//! - **Error codes**: the official ErrorCode list is unknown; E1001… are
//!   onshi's own ([`error`]).
//! - **Batch layout**: each query's result in a `ResultOfQuery` element under
//!   `MessageBody`; the single variant puts the fields directly in
//!   `MessageBody` as the real single-check and face files do.
//! - **Element order** in what we write is fixed (header as listed in DOMAIN
//!   §3.2); readers accept any order, as real files vary.
//! - **Unknown elements** are ignored when reading; attributes are ignored.
//! - **Encodings**: UTF-8 and Shift_JIS (WHATWG Shift_JIS = Windows-31J, so
//!   NEC/IBM extension characters such as ① and 髙 are writable). Nothing is
//!   ever replaced: undecodable bytes and unencodable characters are errors.
//! - **Limits**: requests ≤ 1 MiB, ≤ 100 queries, nesting ≤ 16.
//! - **InsuredCardClassification** is always 01 (onshi has no other card
//!   kind); **PreschoolClassification** is derived exactly from the birth date
//!   and the 資格確認日 (`onshi_core::burden::preschool_until`).
//! - **OQSCD001, 008, 013** are not implemented: their contents are unknown.
//! - Elements the registry cannot fill (PostNumber, InsuredName, card dates,
//!   限度額 and 特定疾病 certificates, consent flags, Sex2, ReasonOfLoss,
//!   PrescriptionIssueSelect) are not written.

pub mod codes;
pub mod error;
pub mod folder;
pub mod kana;
pub mod request;
pub mod response;
pub mod service;
mod xml;

pub use codes::Charset;
pub use error::OqsError;
pub use folder::{Outcome, Processed, process_once, res_name, write_face_file};
pub use request::{OqsRequest, RequestHeader, SearchInfo, Variant, parse_request};
pub use response::{
    OqsResponse, QueryOutcome, QueryResult, ResponseHeader, ResultEntry, parse_response,
    write_error, write_face, write_message, write_response,
};
