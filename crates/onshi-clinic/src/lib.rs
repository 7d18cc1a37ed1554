//! # onshi-clinic
//!
//! The reception side (受付) of notice 保発0710第1号 §1–§3 and 別添1–3:
//!
//! | module | holds |
//! | --- | --- |
//! | [`visit`] | a patient at the window: the check attempt and why it failed, the window-burden decision, the declaration, what the claim must use, the deferred re-check (事後確認) |
//! | [`claims`] | the month's claims from the visits: insurer fields by notice §3, 不詳 with 摘要, routing |
//! | [`lifecycle`] | the claims as stored records with a life: 作成中 → 確定 → 提出済 → the payer's decision → 再請求, proposed corrections, submissions, the payer's results taken back |
//! | [`pdf`] | the 被保険者資格申立書 and its explanation sheet as an A4 PDF (krilla, IPAex fonts, subset embedded) |
//!
//! The rules (failure kinds, the decision order, ratios, amounts, the form's
//! validation) are `onshi-core`'s; this crate moves data between the window,
//! the registry's check service and the store.
//!
//! May depend on: onshi-core, onshi-store, onshi-registry, onshi-payer (the
//! claim document), onshi-uke (the submitted file), krilla. Not on the
//! web or CLI crates.

pub mod claims;
pub mod lifecycle;
pub mod pdf;
pub mod visit;
