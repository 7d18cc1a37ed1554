//! # onshi-testkit
//!
//! `#[onshi_testkit::both]` turns one behaviour test into two, one per store:
//!
//! ```text
//! #[onshi_testkit::both]
//! async fn loss_shows_the_old_numbers() { let s = common::start().await; … }
//! ```
//!
//! becomes the module `loss_shows_the_old_numbers` with the tests `sqlite` and
//! `postgres`. Each runs the same body inside
//! `crate::common::with_backend(crate::common::Backend::…, body)`, so the
//! test file's `common` module decides how a backend is opened (the harness
//! in `onshi-web/tests/common` opens a temporary SQLite file, or a fresh
//! schema on the PostgreSQL server named by `ONSHI_PG_URL`).
//!
//! The `postgres` test carries
//! `#[cfg_attr(not(onshi_pg), ignore = "…")]`: a crate whose build script sets
//! `cfg(onshi_pg)` only when `ONSHI_PG_URL` is set at build time reports the
//! PostgreSQL half as *ignored, by name* on a machine without PostgreSQL,
//! never as passed.
//!
//! Async bodies run on a multi-thread Tokio runtime so the harness can call
//! the synchronous store with `tokio::task::block_in_place`. Synchronous
//! bodies become plain `#[test]` functions calling
//! `crate::common::with_backend_sync`.
//!
//! Written by hand because it is this project's own test shape; it depends
//! only on syn and quote.

use proc_macro::TokenStream;
use quote::quote;
use syn::{ItemFn, parse_macro_input};

const IGNORE: &str = "PostgreSQL: set ONSHI_PG_URL when building the tests (README, Tests)";

/// Runs the annotated test once on SQLite and once on PostgreSQL.
#[proc_macro_attribute]
pub fn both(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(proc_macro2::Span::call_site(), "#[both] takes no arguments")
            .to_compile_error()
            .into();
    }
    let f = parse_macro_input!(item as ItemFn);
    if !f.sig.inputs.is_empty() {
        return syn::Error::new_spanned(&f.sig.inputs, "a #[both] test takes no arguments")
            .to_compile_error()
            .into();
    }
    let name = &f.sig.ident;
    let attrs = &f.attrs;
    let vis = &f.vis;
    let body = &f.block;
    let expanded = if f.sig.asyncness.is_some() {
        quote! {
            #vis mod #name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #(#attrs)*
                async fn sqlite() {
                    crate::common::with_backend(crate::common::Backend::Sqlite, async move #body).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(onshi_pg), ignore = #IGNORE)]
                #(#attrs)*
                async fn postgres() {
                    crate::common::with_backend(crate::common::Backend::Postgres, async move #body).await
                }
            }
        }
    } else {
        quote! {
            #vis mod #name {
                #[allow(unused_imports)]
                use super::*;

                #[test]
                #(#attrs)*
                fn sqlite() {
                    crate::common::with_backend_sync(crate::common::Backend::Sqlite, move || #body)
                }

                #[test]
                #[cfg_attr(not(onshi_pg), ignore = #IGNORE)]
                #(#attrs)*
                fn postgres() {
                    crate::common::with_backend_sync(crate::common::Backend::Postgres, move || #body)
                }
            }
        }
    };
    expanded.into()
}
