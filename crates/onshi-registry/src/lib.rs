//! # onshi-registry
//!
//! The central system (オンライン資格確認等システム): checks by card or by card
//! numbers and the check history they leave ([`check`]), bearer tokens and
//! roles ([`auth`]), fixture loading ([`fixture`]), the synthetic population
//! ([`generate`]) and the demo data with one named person per case of the
//! notice ([`demo`]).
//!
//! Rules come from `onshi-core`; rows from any [`onshi_store::RegistryStore`].
//! Nothing here reads the clock: callers pass the time and the 資格確認日.
//!
//! May depend on: onshi-core, onshi-store, serde, rand (tokens, generator),
//! sha2. Not on the web or CLI crates.

pub mod access;
pub mod auth;
pub mod check;
pub mod demo;
pub mod error;
pub mod failure_mode;
pub mod fhir;
pub mod fixture;
pub mod generate;
pub mod import;
pub mod insurer;
pub mod me;
mod names;
pub mod notice;
pub mod reader;

pub use auth::{Caller, Role};
pub use check::{CheckAnswer, CheckRequest, RawCheckRequest};
pub use error::RegistryError;
