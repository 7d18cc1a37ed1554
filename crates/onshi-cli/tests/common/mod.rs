//! The store each test's `--db` names: a SQLite file in the test's directory,
//! or (for the `…::postgres` half, see onshi-testkit) a fresh schema on the
//! server named by `ONSHI_PG_URL`, passed as a URL whose `options` set the
//! search_path.

#![allow(dead_code)]

use std::cell::Cell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}
thread_local! {
    static SYNC_BACKEND: Cell<Option<Backend>> = const { Cell::new(None) };
}

pub async fn with_backend<F: Future<Output = ()>>(backend: Backend, body: F) {
    BACKEND.scope(backend, body).await
}

pub fn with_backend_sync(backend: Backend, body: impl FnOnce()) {
    SYNC_BACKEND.with(|b| b.set(Some(backend)));
    body()
}

fn backend() -> Backend {
    BACKEND
        .try_with(|b| *b)
        .ok()
        .or_else(|| SYNC_BACKEND.with(Cell::get))
        .unwrap_or(Backend::Sqlite)
}

/// What `--db` gets for the database called `name` in `dir`: the same
/// name in the same directory always names the same database.
pub fn db_at(dir: &Path, name: &str) -> PathBuf {
    match backend() {
        Backend::Sqlite => dir.join(name),
        Backend::Postgres => {
            let url = std::env::var("ONSHI_PG_URL")
                .expect("ONSHI_PG_URL names the PostgreSQL server for these tests (README, Tests)");
            let tag = format!("{}/{name}", dir.display());
            let hash = tag.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            let schema = format!("c_{hash:016x}");
            let create = {
                let (url, schema) = (url.clone(), schema.clone());
                // The sync client must not run on an async runtime's thread.
                std::thread::spawn(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                    c.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                        .unwrap();
                })
            };
            create.join().unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            PathBuf::from(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
        }
    }
}

/// The `onshi` binary under test.
pub fn onshi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onshi"))
}

/// Runs `c`, asserts it succeeded, and returns its stdout.
pub fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
