//! # onshi-payer
//!
//! Claims and the review-and-payment side (審査支払機関) of notice §3–§4:
//!
//! | module | holds |
//! | --- | --- |
//! | [`claim`] | the claim document (one per patient, institution and month) and its JSON Lines format |
//!
//! May depend on: onshi-core, onshi-store. Not on the web or CLI crates.

pub mod claim;
