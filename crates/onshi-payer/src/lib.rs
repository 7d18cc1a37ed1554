//! # onshi-payer
//!
//! Claims and the review-and-payment side (審査支払機関) of notice §3–§4:
//!
//! | module | holds |
//! | --- | --- |
//! | [`claim`] | the claim document (one per patient, institution and month) and its JSON Lines format |
//! | [`run`] | the payer run: intake, 振替/分割, 不詳 identification, 按分, bills, the 70+ ratio differences |
//! | [`memory`] | the payer with memory: stored runs, per-claim results for the institutions, the payment record, 照会 answers, ratio settlements |
//! | [`generate`] | a deterministic month of claims from the registry, for tests and benchmarks |
//!
//! May depend on: onshi-core, onshi-store. Not on the web or CLI crates.

pub mod claim;
pub mod generate;
pub mod memory;
pub mod run;
