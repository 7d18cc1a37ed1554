//! The `onshi` binary: wires the crates together; holds no rules of its own.
//!
//! Commands: `serve`, `demo`, `generate`, `fixture load`, `registry import`,
//! `clinic …`, `oqs watch`, `token issue`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{Local, NaiveDate, SecondsFormat, Utc};
use clap::{Parser, Subcommand};
use onshi_core::{CertificateSerial, InstitutionCode, InsurerNumber};
use onshi_registry::{Caller, RegistryError, Role, auth, demo, fixture, generate};
use onshi_store::{PgStore, SqliteStore, Store};

#[derive(Parser)]
#[command(
    name = "onshi",
    version,
    about = "オンライン資格確認 and the fallback rules of 保発0710第1号"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API on an existing database. Also deletes, once a day,
    /// the declarations whose claims were paid.
    Serve {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        /// A PostgreSQL streaming replica for the reads that may lag (check
        /// history, reports, dashboards); writes always go to --db.
        #[arg(long)]
        db_read: Option<String>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Days to keep a 被保険者資格申立書 after its claim was paid.
        #[arg(long, default_value_t = 0)]
        declaration_grace_days: u32,
        /// Serve HTTPS (TLS 1.3 only) with this PEM certificate chain.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Require client certificates issued by this PEM CA; an
        /// institution's token then works only on a connection whose
        /// certificate CN is its 医療機関コード.
        #[arg(long, requires = "tls_cert")]
        client_ca: Option<PathBuf>,
    },
    /// Create a fresh demo database (generated population + one person per
    /// case of the notice), print tokens and example requests, and serve it.
    Demo {
        #[arg(long, default_value = "onshi-demo.sqlite")]
        db: PathBuf,
        #[arg(long, default_value_t = 20_000)]
        persons: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Port 0 picks a free port; the URL is printed.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// The demo's "today" (YYYY-MM-DD); default: the local date.
        #[arg(long)]
        today: Option<NaiveDate>,
    },
    /// Add a deterministic synthetic population to a database.
    Generate {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        #[arg(long)]
        persons: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The date the population is drawn as of (default: the local date).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[arg(long, default_value_t = 20_000)]
        chunk: usize,
    },
    /// Fixture files (see README "Fixture format").
    Fixture {
        #[command(subcommand)]
        action: FixtureAction,
    },
    /// The reception side.
    Clinic {
        #[command(subcommand)]
        action: ClinicAction,
    },
    /// The receipt-computer XML interface (資格確認端末 emulation).
    Oqs {
        #[command(subcommand)]
        action: OqsAction,
    },
    /// The review-and-payment side.
    Payer {
        #[command(subcommand)]
        action: PayerAction,
    },
    /// The insurer side of the registry.
    Registry {
        #[command(subcommand)]
        action: RegistryAction,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// The hash-chained audit log and check history (README "Audit").
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute every hash and link of the audit log and of each
    /// institution's check history. Prints the report (JSON, with each
    /// chain's head); exits 2 if anything was edited, deleted or inserted.
    Verify {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        /// An earlier report (or export) whose heads must all still be there
        /// unchanged: catches a cut-off tail or a rewritten chain.
        #[arg(long)]
        expect: Option<PathBuf>,
    },
    /// Write the audit log and the check history, with their hashes, as
    /// JSON Lines for review; the last line holds the chains' heads.
    Export {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        /// Where to write (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum FixtureAction {
    /// Load a fixture file in one transaction (all or nothing).
    Load {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ClinicAction {
    /// The window-burden decision of notice §2 from the command line (no
    /// database): prints the ratio, its basis and section, and the amount.
    Decide {
        /// 受診日 (YYYY-MM-DD).
        #[arg(long)]
        visit_date: NaiveDate,
        /// The patient's birth date (ISO or 和暦), for a 「わからない」 ratio.
        #[arg(long)]
        birth_date: Option<String>,
        /// Ratio (percent) of a successful online check.
        #[arg(long)]
        online: Option<u16>,
        /// What was shown and its ratio: myna_portal:30, insurance_card:20,
        /// qualification_certificate:30.
        #[arg(long)]
        shown: Option<String>,
        /// The declared ratio: 30, 20, 10 or unknown.
        #[arg(long)]
        declared: Option<String>,
        /// The ratio on file for a returning patient who confirmed orally.
        #[arg(long)]
        returning: Option<u16>,
        /// The institution's discretion for a known returning patient.
        #[arg(long)]
        discretion: Option<u16>,
        /// 点数, for the amount.
        #[arg(long)]
        points: Option<u64>,
    },
    /// Build the month's claims from the institution's visits (JSON Lines);
    /// lists the visits not ready to be claimed on stderr.
    Claims {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        #[arg(long)]
        institution: String,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        /// Where a 不詳 claim of unknown type goes: shiharai_kikin or kokuhoren.
        #[arg(long, default_value = "shiharai_kikin")]
        unknown_payer: String,
        /// The receipt computer enforces the 検証番号 (→ 77777779).
        #[arg(long)]
        check_digit: bool,
        #[arg(long)]
        out: PathBuf,
    },
    /// Writes the blank 被保険者資格申立書 with its explanation sheet as PDF.
    Form {
        #[arg(long, default_value = "moushitatesho.pdf")]
        out: PathBuf,
    },
    /// Delete the declarations whose claims were paid at least GRACE days
    /// before TODAY, logging each deletion (for cron; `serve` does it daily).
    Purge {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        #[arg(long)]
        today: Option<NaiveDate>,
        #[arg(long, default_value_t = 0)]
        grace_days: u32,
    },
}

#[derive(Subcommand)]
enum OqsAction {
    /// Watch DIR/req for request files (OQSsiquc01req_*.xml, OQSmuquc01req_*.xml),
    /// answer each in DIR/res under the same name with req→res, and write the
    /// institution's card-check results into DIR/face.
    Watch {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        /// The 医療機関コード this terminal belongs to.
        #[arg(long)]
        institution: String,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 300)]
        interval_ms: u64,
        /// One pass, then exit.
        #[arg(long)]
        once: bool,
        /// Write face files for card checks recorded after this history id
        /// (default: only checks made after the watcher starts).
        #[arg(long)]
        face_after: Option<i64>,
    },
}

#[derive(Subcommand)]
enum PayerAction {
    /// Run the payer side over claim files (JSON Lines, or RECEIPTC.UKE
    /// electronic claim files by their .UKE extension): intake, 振替,
    /// 不詳 identification, 按分, bills. Writes report.jsonl, bills.json,
    /// ratio_differences.json and summary.json into OUT.
    Run {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        #[arg(long)]
        as_of: NaiveDate,
        #[arg(long, num_args = 1.., required = true)]
        claims: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// Months of payment record that weight 按分 (default 1: the claim's month).
        #[arg(long, default_value_t = 1)]
        reference_months: u32,
        /// Bill the written insurer when a lost qualification has nothing newer
        /// registered (default: return the claim).
        #[arg(long)]
        bill_written_when_unregistered: bool,
    },
    /// The stored payer runs, newest first (one JSON object a line).
    Runs {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// One stored run's outcome, as it was answered (JSON).
    Show {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        id: i64,
    },
    /// Write a deterministic month of claims drawn from the registry (JSON Lines).
    Generate {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        #[arg(long, default_value_t = 10_000)]
        claims: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum RegistryAction {
    /// Bulk registration from a CSV or JSON Lines file, as one transaction
    /// (see README "Import format"). Prints the report as JSON.
    Import {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        /// The registering insurer's 保険者番号.
        #[arg(long)]
        insurer: String,
        /// csv or jsonl (default: from the file name).
        #[arg(long)]
        format: Option<String>,
        /// Reject rows whose 5 attributes differ, instead of storing them flagged.
        #[arg(long)]
        reject_mismatch: bool,
        /// Parse and match only; write nothing.
        #[arg(long)]
        dry_run: bool,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Issue a token and print it (only its hash is stored).
    Issue {
        /// A SQLite file, or a PostgreSQL URL (postgres://…).
        #[arg(long, default_value = "onshi.sqlite")]
        db: PathBuf,
        /// institution, insurer, payer, operator or patient.
        #[arg(long)]
        role: Role,
        /// 医療機関コード (role institution).
        #[arg(long)]
        institution: Option<String>,
        /// 保険者番号 (role insurer).
        #[arg(long)]
        insurer: Option<String>,
        /// Card certificate serial (role patient).
        #[arg(long)]
        serial: Option<String>,
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

/// A failure of a command, printed as `error[code]: message`.
struct Failure {
    code: String,
    message: String,
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Self {
        let message = match e.field() {
            Some(f) if !e.to_string().starts_with(&f) => format!("{f}: {e}"),
            _ => e.to_string(),
        };
        Failure {
            code: e.code().to_owned(),
            message,
        }
    }
}
impl From<onshi_store::StoreError> for Failure {
    fn from(e: onshi_store::StoreError) -> Self {
        RegistryError::from(e).into()
    }
}
impl From<onshi_core::ParseError> for Failure {
    fn from(e: onshi_core::ParseError) -> Self {
        RegistryError::from(e).into()
    }
}
impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure {
            code: "io".into(),
            message: e.to_string(),
        }
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whether `--db` names a PostgreSQL server rather than a SQLite file.
fn is_postgres(db: &Path) -> bool {
    db.to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// Opens the store `--db` names: a SQLite file (created if missing) or a
/// `postgres://` URL (migrated if behind). `read` is a streaming replica for
/// the reads that may lag (PostgreSQL only).
fn open_with(db: &Path, read: Option<&str>) -> Result<Arc<dyn Store>, Failure> {
    if is_postgres(db) {
        let url = db.to_str().unwrap_or_default();
        let mut store = PgStore::connect(url)?;
        if let Some(r) = read {
            store = store.with_replica(r)?;
        }
        return Ok(Arc::new(store));
    }
    if read.is_some() {
        return Err(Failure {
            code: "invalid_value".into(),
            message: "--db-read は --db が postgres:// のときだけ使えます".into(),
        });
    }
    Ok(Arc::new(SqliteStore::open(db)?))
}

fn open(db: &Path) -> Result<Arc<dyn Store>, Failure> {
    open_with(db, None)
}

fn progress(label: &'static str) -> impl FnMut(u64, u64) {
    move |done, total| {
        eprint!("\r{label} {done}/{total}");
        if done == total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}

fn role_caller(
    role: Role,
    institution: Option<String>,
    insurer: Option<String>,
    serial: Option<String>,
) -> Result<Caller, Failure> {
    let need = |v: Option<String>, flag: &'static str| {
        v.ok_or(Failure {
            code: "missing_field".into(),
            message: format!("--{flag} を指定してください"),
        })
    };
    Ok(match role {
        Role::Institution => {
            Caller::Institution(InstitutionCode::parse(&need(institution, "institution")?)?)
        }
        Role::Insurer => Caller::Insurer(InsurerNumber::parse(&need(insurer, "insurer")?)?),
        Role::Payer => Caller::Payer,
        Role::Operator => Caller::Operator,
        Role::Patient => Caller::Patient(CertificateSerial::parse(&need(serial, "serial")?)?),
    })
}

/// Deletes paid claims' declarations now and then every 24 hours.
fn spawn_purge(store: Arc<dyn Store>, grace_days: u32) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(24 * 60 * 60));
        loop {
            every.tick().await;
            let s = store.clone();
            let today = Local::now().date_naive();
            let done = tokio::task::spawn_blocking(move || {
                onshi_clinic::visit::purge_declarations(s.as_ref(), today, grace_days, Utc::now())
            })
            .await;
            match done {
                Ok(Ok(d)) if !d.is_empty() => {
                    tracing::info!(deleted = d.len(), "declaration purge")
                }
                Ok(Err(e)) => tracing::error!(error = %e, "declaration purge failed"),
                _ => {}
            }
        }
    });
}

/// Serves the API on a Tokio runtime of its own. The store is synchronous
/// and is only ever called from blocking threads (`onshi_web::blocking`), so
/// everything before this point runs outside any runtime.
fn serve(
    store: Arc<dyn Store>,
    listen: SocketAddr,
    grace_days: u32,
    tls: Option<onshi_web::tls::TlsFiles>,
) -> Result<(), Failure> {
    let tls_failure = |e: onshi_web::tls::TlsError| Failure {
        code: "tls".into(),
        message: e.to_string(),
    };
    // Bad certificate files fail before anything listens.
    if let Some(files) = &tls {
        onshi_web::tls::server_config(files).map_err(tls_failure)?;
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        spawn_purge(store.clone(), grace_days);
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        // A server must not die because whoever started it stopped reading
        // its output (println! panics on a closed pipe): write, ignore.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "onshi listening on {scheme}://{addr}");
        let _ = writeln!(out, "ONSHI_URL={scheme}://{addr}");
        let _ = writeln!(
            out,
            "web UI (日本語): {scheme}://{addr}/ui/  (log in with a token)"
        );
        let _ = out.flush();
        drop(out);
        let state = onshi_web::AppState::new(store);
        match tls {
            None => onshi_web::serve(listener, state).await?,
            Some(files) => onshi_web::tls::serve_tls(listener.into_std()?, state, &files)
                .await
                .map_err(tls_failure)?,
        }
        Ok::<(), Failure>(())
    })
}

/// Appends a write made from the command line to the audit log (issue 10:
/// every write is audited), as actor `cli:<login>`. It follows the write's
/// own commit: a command killed in between leaves its write without the
/// entry, which the write's own rows (their timestamps, the import's
/// registrations) still show.
fn cli_audit(
    store: &dyn Store,
    action: &str,
    purpose: &str,
    detail: serde_json::Value,
) -> Result<(), Failure> {
    let login = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    store.audit(
        &now(),
        &format!("cli:{login}"),
        action,
        None,
        Some(purpose),
        &detail,
    )?;
    Ok(())
}

/// Replaces the directory `out` by one holding `files`, in one step: a run
/// killed at any point leaves `out` as it was (absent, or the previous
/// run's whole output) or as this run's whole output, never a mix
/// (issue 10, crash safety). The files are written and synced in a staging
/// directory beside `out`, which is then swapped with `out` atomically
/// (`renameat2(RENAME_EXCHANGE)`), or renamed to it when there is none. A
/// staging directory a killed run left behind is removed by the next run;
/// two runs into the same `out` at once are not supported.
fn replace_dir(out: &Path, files: &[(&str, &[u8])]) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{}: not a directory name", out.display())))?
        .to_string_lossy()
        .into_owned();
    std::fs::create_dir_all(&parent)?;
    let stale = format!(".{name}.partial-");
    for entry in std::fs::read_dir(&parent)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&stale) {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    let staging = parent.join(format!("{stale}{}", std::process::id()));
    std::fs::create_dir(&staging)?;
    for (file, bytes) in files {
        let mut f = std::fs::File::create(staging.join(file))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::File::open(&staging)?.sync_all()?;
    if out.is_dir() {
        match renameat_with(CWD, &staging, CWD, out, RenameFlags::EXCHANGE) {
            Ok(()) => {}
            // A filesystem without RENAME_EXCHANGE: move the old output
            // aside, then the new one in (a kill between the two leaves
            // the old output whole beside `out`, and no half of either).
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                let aside = parent.join(format!("{stale}old-{}", std::process::id()));
                std::fs::rename(out, &aside)?;
                std::fs::rename(&staging, out)?;
                std::fs::rename(&aside, &staging)?;
            }
            Err(e) => return Err(e.into()),
        }
        // The staging name now holds the previous output: the new one is in
        // place whatever happens to this clean-up.
        if let Err(e) = std::fs::remove_dir_all(&staging) {
            eprintln!("warning: {}: {e}", staging.display());
        }
    } else {
        std::fs::rename(&staging, out)?;
    }
    std::fs::File::open(&parent)?.sync_all()
}

/// The id of the institution's latest check (0 when none).
fn latest_check_id(store: &dyn Store, inst: &InstitutionCode) -> Result<i64, Failure> {
    let mut last = 0;
    loop {
        let page = store.checks_after(inst, last, 10_000)?;
        match page.last() {
            Some(r) => last = r.id,
            None => return Ok(last),
        }
    }
}

/// Writes a face file for each answered card check after `after`; returns
/// the last id seen.
fn write_faces(
    store: &dyn Store,
    inst: &InstitutionCode,
    dir: &Path,
    after: i64,
) -> Result<i64, Failure> {
    let mut last = after;
    for row in store.checks_after(inst, after, 500)? {
        last = row.id;
        if row.reference != "card" || row.validity.is_none() {
            continue;
        }
        let Ok(answer) = serde_json::from_value::<onshi_registry::CheckAnswer>(row.answer) else {
            continue;
        };
        let bytes = onshi_oqs::write_face(
            &answer,
            inst.as_str(),
            Local::now().naive_local(),
            onshi_oqs::Charset::Utf8,
        )
        .map_err(|e| Failure {
            code: e.code().into(),
            message: e.to_string(),
        })?;
        let path = onshi_oqs::write_face_file(dir, &format!("OQSface_{:010}", row.id), &bytes)?;
        let _ = writeln!(std::io::stdout(), "face → {}", path.display());
    }
    Ok(last)
}

fn remove_db(db: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve {
            db,
            db_read,
            listen,
            declaration_grace_days,
            tls_cert,
            tls_key,
            client_ca,
        } => serve(
            open_with(&db, db_read.as_deref())?,
            listen,
            declaration_grace_days,
            tls_cert
                .zip(tls_key)
                .map(|(cert, key)| onshi_web::tls::TlsFiles {
                    cert,
                    key,
                    client_ca,
                }),
        ),
        Command::Clinic {
            action:
                ClinicAction::Decide {
                    visit_date,
                    birth_date,
                    online,
                    shown,
                    declared,
                    returning,
                    discretion,
                    points,
                },
        } => {
            use onshi_core::BurdenRatio;
            use onshi_core::reception::{DeclaredRatio, Shown, WindowInput, decide_window_burden};
            let bad = || Failure {
                code: "invalid_value".into(),
                message: "--shown KIND:PERCENT".into(),
            };
            let pct = BurdenRatio::from_percent;
            let shown = match shown.as_deref() {
                None => None,
                Some(s) => {
                    let (kind, p) = s.split_once(':').ok_or_else(bad)?;
                    let kind = match kind {
                        "myna_portal" => Shown::MynaPortal,
                        "insurance_card" => Shown::InsuranceCard,
                        "qualification_certificate" => Shown::QualificationCertificate,
                        _ => return Err(bad()),
                    };
                    Some((kind, pct(p.parse().map_err(|_| bad())?)?))
                }
            };
            let declared = match declared.as_deref() {
                None => None,
                Some("unknown") => Some(DeclaredRatio::Unknown),
                Some(p) => Some(DeclaredRatio::Ratio(BurdenRatio::parse(p).or_else(
                    |_| {
                        p.parse::<u16>()
                            .map_err(|_| onshi_core::ParseErrorKind::BurdenRatio.at("declared"))
                            .and_then(pct)
                    },
                )?)),
            };
            let input = WindowInput {
                online: online.map(pct).transpose()?,
                shown,
                declaration: declared,
                returning_oral: returning.map(pct).transpose()?,
                discretion: discretion.map(pct).transpose()?,
                birth_date: birth_date
                    .as_deref()
                    .map(|b| onshi_core::parse_date_any("birth_date", b))
                    .transpose()?,
            };
            if points.is_some_and(|p| p > onshi_clinic::visit::MAX_POINTS) {
                return Err(Failure {
                    code: "invalid_value".into(),
                    message: "--points は 99999999 以下です".into(),
                });
            }
            let d = decide_window_burden(&input, visit_date);
            let amount = points.map(|p| onshi_core::burden::window_amount(p, d.ratio));
            let out = serde_json::json!({
                "ratio_percent": d.ratio.percent(), "basis": d.basis, "section": d.section,
                "explanation": d.explanation, "points": points, "amount_yen": amount,
            });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            Ok(())
        }
        Command::Clinic {
            action:
                ClinicAction::Claims {
                    db,
                    institution,
                    month,
                    unknown_payer,
                    check_digit,
                    out,
                },
        } => {
            let store = open(&db)?;
            let inst = InstitutionCode::parse(&institution)?;
            let month = onshi_clinic::claims::parse_month(&month)?;
            let unknown_payer = match unknown_payer.as_str() {
                "shiharai_kikin" => onshi_core::Payer::ShiharaiKikin,
                "kokuhoren" => onshi_core::Payer::Kokuhoren,
                _ => {
                    return Err(Failure {
                        code: "invalid_value".into(),
                        message: "--unknown-payer shiharai_kikin|kokuhoren".into(),
                    });
                }
            };
            let opts = onshi_clinic::claims::ClaimOptions {
                unknown_payer,
                check_digit_enforced: check_digit,
            };
            let m = onshi_clinic::claims::month_claims(store.as_ref(), &inst, month, opts)
                .map_err(|e| Failure {
                    code: e.code().into(),
                    message: e.to_string(),
                })?;
            std::fs::write(&out, onshi_payer::claim::to_jsonl(&m.claims))?;
            for n in &m.not_ready {
                eprintln!("not ready {:?}: {} {}", n.visit_ids, n.code, n.message);
            }
            println!(
                "wrote {} claims to {} ({} not ready)",
                m.claims.len(),
                out.display(),
                m.not_ready.len()
            );
            Ok(())
        }
        Command::Clinic {
            action: ClinicAction::Form { out },
        } => {
            let fonts = onshi_clinic::pdf::Fonts::load(None).map_err(|e| Failure {
                code: "font_unavailable".into(),
                message: e.to_string(),
            })?;
            let bytes = onshi_clinic::pdf::declaration_pdf(None, &fonts).map_err(|e| Failure {
                code: "pdf_failed".into(),
                message: e.to_string(),
            })?;
            std::fs::write(&out, bytes)?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Clinic {
            action:
                ClinicAction::Purge {
                    db,
                    today,
                    grace_days,
                },
        } => {
            let store = open(&db)?;
            let today = today.unwrap_or_else(|| Local::now().date_naive());
            let deleted = onshi_clinic::visit::purge_declarations(
                store.as_ref(),
                today,
                grace_days,
                Utc::now(),
            )
            .map_err(|e| Failure {
                code: e.code().into(),
                message: e.to_string(),
            })?;
            for d in &deleted {
                println!(
                    "deleted declaration of visit {} ({}; claim paid {})",
                    d.visit_id, d.institution_code, d.claim_paid_on
                );
            }
            println!("{} declarations deleted", deleted.len());
            Ok(())
        }
        Command::Generate {
            db,
            persons,
            seed,
            as_of,
            chunk,
        } => {
            let store = open(&db)?;
            let as_of = as_of.unwrap_or_else(|| Local::now().date_naive());
            let c = generate::generate(
                store.as_ref(),
                seed,
                persons,
                as_of,
                chunk,
                &now(),
                progress("generate"),
            )?;
            println!(
                "generated {} persons, {} cards, {} qualifications ({} insurers, {} institutions)",
                c.persons, c.cards, c.qualifications, c.insurers, c.institutions
            );
            Ok(())
        }
        Command::Fixture {
            action: FixtureAction::Load { db, file },
        } => {
            let text = std::fs::read_to_string(&file)?;
            let f = fixture::parse_fixture(&text)?;
            let store = open(&db)?;
            let c = fixture::load(store.as_ref(), &f, &now())?;
            cli_audit(
                store.as_ref(),
                "fixture load",
                "資格登録",
                serde_json::json!({
                    "file": file.display().to_string(),
                    "persons": c.persons,
                    "qualifications": c.qualifications,
                }),
            )?;
            println!(
                "loaded {} insurers, {} institutions, {} persons, {} cards, {} qualifications",
                c.insurers, c.institutions, c.persons, c.cards, c.qualifications
            );
            Ok(())
        }
        Command::Oqs {
            action:
                OqsAction::Watch {
                    db,
                    institution,
                    dir,
                    interval_ms,
                    once,
                    face_after,
                },
        } => {
            let store = open(&db)?;
            let inst = InstitutionCode::parse(&institution)?;
            if store.institution(&inst)?.is_none() {
                return Err(RegistryError::InstitutionUnknown(inst.to_string()).into());
            }
            let mut last = match face_after {
                Some(id) => id,
                None => latest_check_id(store.as_ref(), &inst)?,
            };
            println!("ONSHI_OQS_WATCHING={}", dir.display());
            let _ = std::io::stdout().flush();
            loop {
                let now = Utc::now();
                let mut answer = |req: &onshi_oqs::OqsRequest| {
                    onshi_oqs::service::answer(store.as_ref(), &inst, req, now)
                };
                for p in onshi_oqs::process_once(&dir, &mut answer, || Local::now().naive_local())?
                {
                    // A watcher must outlive whoever reads its output.
                    let _ = writeln!(std::io::stdout(), "{} → {:?}", p.request, p.outcome);
                }
                last = write_faces(store.as_ref(), &inst, &dir, last)?;
                let _ = std::io::stdout().flush();
                if once {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(interval_ms));
            }
        }
        Command::Payer {
            action: PayerAction::Runs { db, limit, offset },
        } => {
            let store = open(&db)?;
            for r in onshi_payer::memory::runs(store.as_ref(), limit, offset)? {
                println!(
                    "{}",
                    serde_json::json!({"id": r.id, "as_of": r.as_of, "at": r.at, "actor": r.actor,
                        "inputs": r.inputs, "summary": r.summary})
                );
            }
            Ok(())
        }
        Command::Payer {
            action: PayerAction::Show { db, id },
        } => {
            let store = open(&db)?;
            let (_, outcome) =
                onshi_payer::memory::stored_run(store.as_ref(), id)?.ok_or_else(|| Failure {
                    code: "not_found".into(),
                    message: format!("審査 {id} は保存されていません"),
                })?;
            println!("{outcome}");
            Ok(())
        }
        Command::Payer {
            action:
                PayerAction::Generate {
                    db,
                    month,
                    claims,
                    seed,
                    out,
                },
        } => {
            let first =
                NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| {
                    Failure {
                        code: "invalid_month".into(),
                        message: "--month は YYYY-MM です".into(),
                    }
                })?;
            let store = open(&db)?;
            let generated =
                onshi_payer::generate::month_of_claims(store.as_ref(), first, claims, seed)?;
            std::fs::write(&out, onshi_payer::claim::to_jsonl(&generated))?;
            println!("wrote {} claims to {}", generated.len(), out.display());
            Ok(())
        }
        Command::Payer {
            action:
                PayerAction::Run {
                    db,
                    as_of,
                    claims,
                    out,
                    reference_months,
                    bill_written_when_unregistered,
                },
        } => {
            let store = open(&db)?;
            let mut inputs = Vec::new();
            for path in &claims {
                let is_uke = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("uke"));
                let bytes = std::fs::read(path)?;
                let claims = if is_uke {
                    // An electronic claim file (RECEIPTC.UKE).
                    onshi_uke::claims_for_run(&bytes).map_err(|e| Failure {
                        code: e.code().into(),
                        message: format!("{}: {e}", path.display()),
                    })?
                } else {
                    let text = String::from_utf8(bytes.clone()).map_err(|_| Failure {
                        code: "invalid_encoding".into(),
                        message: format!("{}: UTF-8 の JSON Lines ではありません", path.display()),
                    })?;
                    onshi_payer::claim::parse_jsonl(&text)
                        .into_iter()
                        .map(|(line, parsed)| (format!("{line:08}"), parsed))
                        .collect()
                };
                inputs.push(onshi_payer::memory::RunInput {
                    label: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    digest: onshi_payer::memory::digest(&bytes),
                    submission_id: None,
                    claims,
                });
            }
            let policy = onshi_payer::run::Policy {
                bill_written_when_unregistered,
                reference_months,
            };
            // The run is stored (its inputs' digests, its outcome, the
            // results, the payment record) before the files are written.
            let login = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            let (run_id, outcome) = onshi_payer::memory::run_and_store(
                store.as_ref(),
                as_of,
                inputs,
                policy,
                &format!("cli:{login}"),
                &now(),
            )?;
            eprintln!("stored as payer run {run_id}");
            let report: String = outcome
                .report
                .iter()
                .filter_map(|r| serde_json::to_string(r).ok())
                .map(|l| l + "\n")
                .collect();
            let summary = serde_json::to_string_pretty(&outcome.summary).unwrap_or_default();
            let bills = serde_json::to_string_pretty(&outcome.bills).unwrap_or_default();
            let differences =
                serde_json::to_string_pretty(&outcome.ratio_differences).unwrap_or_default();
            replace_dir(
                &out,
                &[
                    ("report.jsonl", report.as_bytes()),
                    ("bills.json", bills.as_bytes()),
                    ("ratio_differences.json", differences.as_bytes()),
                    ("summary.json", summary.as_bytes()),
                ],
            )?;
            println!("{summary}");
            Ok(())
        }
        Command::Registry {
            action:
                RegistryAction::Import {
                    db,
                    insurer,
                    format,
                    reject_mismatch,
                    dry_run,
                    file,
                },
        } => {
            use onshi_registry::import::{ImportFormat, ImportOptions, import};
            let insurer = InsurerNumber::parse(&insurer)?;
            let format = match format.as_deref() {
                Some("csv") => Some(ImportFormat::Csv),
                Some("jsonl") | Some("ndjson") => Some(ImportFormat::JsonLines),
                Some(_) => None,
                None => ImportFormat::from_path(&file),
            }
            .ok_or(Failure {
                code: "invalid_format".into(),
                message: "--format csv か jsonl を指定してください".into(),
            })?;
            let bytes = std::fs::read(&file)?;
            let store = open(&db)?;
            if store.insurer(&insurer)?.is_none() {
                return Err(RegistryError::InsurerUnknown(insurer.to_string()).into());
            }
            let options = ImportOptions {
                reject_mismatch,
                dry_run,
            };
            let a = import(
                store.as_ref(),
                &insurer,
                &bytes,
                format,
                options,
                None,
                &now(),
            )?;
            println!(
                "{}",
                serde_json::to_string_pretty(&a.body).unwrap_or_default()
            );
            if a.status >= 400 {
                return Err(Failure {
                    code: "import_rejected".into(),
                    message: "rejected rows: nothing was written".into(),
                });
            }
            if !dry_run {
                cli_audit(
                    store.as_ref(),
                    "registry import",
                    "資格登録",
                    serde_json::json!({
                        "insurer": insurer.to_string(),
                        "file": file.display().to_string(),
                        "registered": a.body.get("registered"),
                    }),
                )?;
            }
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Verify { db, expect },
        } => {
            let store = open(&db)?;
            let expect = match expect {
                Some(path) => expected_heads(&path)?,
                None => Vec::new(),
            };
            let report = onshi_store::chain::verify(store.as_ref(), &expect)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            if report.ok() {
                Ok(())
            } else {
                Err(Failure {
                    code: "audit_chain_broken".into(),
                    message: format!(
                        "監査ログの連鎖が壊れています（{}件）: 最初は {} の id {}（{}）",
                        report.breaks.len(),
                        report.breaks[0].chain,
                        report.breaks[0].id,
                        report.breaks[0].reason
                    ),
                })
            }
        }
        Command::Audit {
            action: AuditAction::Export { db, out },
        } => {
            let store = open(&db)?;
            // The export holds the answers as sent (names, dates of birth):
            // readable by its owner only.
            let sink: Box<dyn Write> = match &out {
                Some(p) => {
                    use std::os::unix::fs::OpenOptionsExt;
                    Box::new(
                        std::fs::OpenOptions::new()
                            .write(true)
                            .create(true)
                            .truncate(true)
                            .mode(0o600)
                            .open(p)?,
                    )
                }
                None => Box::new(std::io::stdout().lock()),
            };
            let mut w = std::io::BufWriter::new(sink);
            let report = audit_export(store.as_ref(), &mut w)?;
            w.flush()?;
            eprintln!(
                "exported the logs ({} entries verified, {} from before the chain); heads on the last line",
                report.verified, report.unchained
            );
            if report.ok() {
                Ok(())
            } else {
                Err(Failure {
                    code: "audit_chain_broken".into(),
                    message: format!(
                        "書き出しましたが、監査ログの連鎖が壊れています（{}件）: 最後の行を確認してください",
                        report.breaks.len()
                    ),
                })
            }
        }
        Command::Token {
            action:
                TokenAction::Issue {
                    db,
                    role,
                    institution,
                    insurer,
                    serial,
                    label,
                },
        } => {
            let caller = role_caller(role, institution, insurer, serial)?;
            let store = open(&db)?;
            let token = auth::issue_token(store.as_ref(), &caller, &label, &now())?;
            // Whose token, never the token.
            cli_audit(
                store.as_ref(),
                "token issue",
                "運用管理",
                serde_json::json!({"for": onshi_registry::access::actor(&caller), "label": label}),
            )?;
            println!("{token}");
            Ok(())
        }
        Command::Demo {
            db,
            persons,
            seed,
            listen,
            today,
        } => {
            let today = today.unwrap_or_else(|| Local::now().date_naive());
            if !is_postgres(&db) {
                remove_db(&db)?;
            }
            let store = open(&db)?;
            if store.counts()?.persons > 0 {
                return Err(Failure {
                    code: "not_empty".into(),
                    message: format!("デモには空のデータベースが必要です: {}", db.display()),
                });
            }
            generate::generate(
                store.as_ref(),
                seed,
                persons,
                today,
                20_000,
                &now(),
                progress("generate"),
            )?;
            let (fx, cases) = demo::demo(today)?;
            fixture::load(store.as_ref(), &fx, &now())?;
            let issue =
                |c: Caller, label: &str| auth::issue_token(store.as_ref(), &c, label, &now());
            let clinic = issue(
                Caller::Institution(InstitutionCode::parse(demo::CLINIC_CODE)?),
                "demo clinic",
            )?;
            let other = issue(
                Caller::Institution(InstitutionCode::parse(demo::OTHER_CLINIC_CODE)?),
                "demo pharmacy",
            )?;
            let insurer = issue(
                Caller::Insurer(InsurerNumber::parse(demo::KYOKAI_TOKYO)?),
                "demo insurer",
            )?;
            let payer = issue(Caller::Payer, "demo payer")?;
            let operator = issue(Caller::Operator, "demo operator")?;
            let patient = issue(
                Caller::Patient(CertificateSerial::parse("DEMO-VALID")?),
                "demo patient",
            )?;
            let counts = store.counts()?;
            println!(
                "onshi demo: {} persons, {} qualifications in {}",
                counts.persons,
                counts.qualifications,
                db.display()
            );
            println!("demo date (資格確認日): {today}");
            println!();
            println!("tokens:");
            println!(
                "ONSHI_TOKEN_INSTITUTION={clinic}   # {} {}",
                demo::CLINIC_CODE,
                demo::CLINIC_NAME
            );
            println!(
                "ONSHI_TOKEN_INSTITUTION_2={other}   # {}",
                demo::OTHER_CLINIC_CODE
            );
            println!("ONSHI_TOKEN_INSURER={insurer}   # {}", demo::KYOKAI_TOKYO);
            println!("ONSHI_TOKEN_PAYER={payer}");
            println!("ONSHI_TOKEN_OPERATOR={operator}");
            println!("ONSHI_TOKEN_PATIENT={patient}   # DEMO-VALID");
            println!();
            println!("cases (one person each):");
            for c in &cases {
                let how = match (&c.certificate_serial, &c.numbers) {
                    (_, Some(n)) => format!(
                        "numbers {} {} {} {} {}",
                        n.insurer_number,
                        n.insured_symbol.as_deref().unwrap_or("-"),
                        n.insured_number,
                        n.insured_branch.as_deref().unwrap_or("(枝番なし)"),
                        n.birth_date
                    ),
                    (Some(s), None) => format!("card {s}"),
                    (None, None) => String::new(),
                };
                println!(
                    "  {:<10} {:<8} expect {:<20} {}  {}",
                    c.key, c.name, c.expect, how, c.title
                );
            }
            println!();
            println!("example:");
            println!(
                "  curl -s -H \"Authorization: Bearer $ONSHI_TOKEN_INSTITUTION\" -H 'content-type: application/json' \\"
            );
            println!(
                "    -d '{{\"reference\":\"card\",\"certificate_serial\":\"DEMO-LOST\",\"checked_on\":\"{today}\"}}' $ONSHI_URL/api/v1/checks"
            );
            println!(
                "  curl -s -H \"Authorization: Bearer $ONSHI_TOKEN_INSTITUTION\" \"$ONSHI_URL/api/v1/checks?date={today}\""
            );
            println!("  curl -s $ONSHI_URL/api/v1/openapi.json");
            serve(store, listen, 0, None)
        }
    }
}

/// Writes every audit entry and check-history row as a JSON line while the
/// chains are verified, then their heads (and any break) last.
fn audit_export(
    store: &dyn Store,
    w: &mut impl Write,
) -> Result<onshi_store::chain::ChainReport, Failure> {
    let line = |w: &mut dyn Write, kind: &str, v: serde_json::Value| -> std::io::Result<()> {
        let mut v = v;
        if let Some(o) = v.as_object_mut() {
            o.insert("kind".into(), kind.into());
        }
        writeln!(w, "{v}")
    };
    use onshi_store::chain::Entry;
    let report = onshi_store::chain::walk(store, &[], |entry| -> Result<(), Failure> {
        match entry {
            Entry::Audit(e) => line(w, "audit", serde_json::to_value(e).unwrap_or_default())?,
            Entry::Check(l) => line(w, "check", serde_json::to_value(l).unwrap_or_default())?,
        }
        Ok(())
    })?;
    line(
        w,
        "heads",
        serde_json::json!({ "heads": report.heads, "breaks": report.breaks }),
    )?;
    Ok(report)
}

/// The heads of an earlier `audit verify` report, or of an export's last line.
fn expected_heads(path: &Path) -> Result<Vec<onshi_store::chain::Head>, Failure> {
    let text = std::fs::read_to_string(path)?;
    let bad = |why: String| Failure {
        code: "invalid_value".into(),
        message: format!("--expect {}: {why}", path.display()),
    };
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(last))
        .map_err(|e| bad(format!("JSON として読めません: {e}")))?;
    let heads = value
        .get("heads")
        .ok_or_else(|| bad("heads がありません".into()))?;
    heads
        .as_array()
        .ok_or_else(|| bad("heads が配列ではありません".into()))?
        .iter()
        .map(|h| {
            let s = |k: &str| h.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            match (s("chain"), h.get("id").and_then(|v| v.as_i64()), s("hash")) {
                (Some(chain), Some(id), Some(hash)) => {
                    Ok(onshi_store::chain::Head { chain, id, hash })
                }
                _ => Err(bad(format!("head として読めません: {h}"))),
            }
        })
        .collect()
}

fn main() -> ExitCode {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    // tokio-postgres logs every statement's parameters at debug level: names
    // and addresses must never reach a log (issue 10, privacy), whatever
    // RUST_LOG asks for, even by a more specific directive.
    let no_parameters = tracing_subscriber::filter::filter_fn(|m| {
        let db = m.target().starts_with("tokio_postgres") || m.target().starts_with("postgres");
        !(db && matches!(*m.level(), tracing::Level::DEBUG | tracing::Level::TRACE))
    });
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter)
                .with_filter(no_parameters),
        )
        .try_init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error[{}]: {}", f.code, f.message);
            ExitCode::from(2)
        }
    }
}
