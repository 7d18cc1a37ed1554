//! `onshi-bench`: the tools `bench/run` drives. Nothing here is used by onshi
//! itself.
//!
//! - `baseline`: the HTTP-stack limit: a bare axum handler that parses the
//!   same check request and answers the same JSON bytes from a `HashMap`.
//! - `load`: a load generator over keep-alive connections, closed-loop (as fast
//!   as the server answers) or open-loop at a fixed rate, where latency is
//!   measured from the moment a request was due, so a stalled server cannot
//!   hide its queue (no coordinated omission). Prints one JSON line.
//! - `search`: the failure-mode search in process, over random persons.
//! - `registrations`: a CSV of matching registrations for existing persons,
//!   for the bulk-import benchmark.
//! - `payer`: the payer run in process, alternating the bare run (writes
//!   nothing) with the stored run (`onshi_payer::memory::run_and_store`) on
//!   the same claims: what the payer's memory costs, as a ratio.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use onshi_core::{CertificateSerial, InstitutionCode};
use onshi_registry::check::CheckRequest;
use onshi_registry::failure_mode::{self, RawSearch};
use onshi_store::{CheckQuery, PgStore, RegistryStore, SqliteStore, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::json;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve POST /api/v1/checks from a HashMap of serial → answer bytes.
    Baseline {
        #[arg(long)]
        listen: SocketAddr,
        /// The answer every known serial gets (a real onshi answer).
        #[arg(long)]
        answer: PathBuf,
        /// One certificate serial a line.
        #[arg(long)]
        serials: PathBuf,
    },
    /// Load a check endpoint and print {"rps", "p50_us", "p99_us", …}.
    Load {
        #[arg(long)]
        url: String,
        /// Bearer tokens (repeat the flag): connection `c` uses token
        /// `c mod n`, so the load comes from several institutions, as a
        /// real registry's does.
        #[arg(long = "token", required = true)]
        tokens: Vec<String>,
        /// One certificate serial a line; each request picks one at random.
        #[arg(long)]
        serials: PathBuf,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Requests per second (open loop); absent: as fast as answered.
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long)]
        checked_on: NaiveDate,
    },
    /// Time failure-mode searches in process on a SQLite database.
    Search {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 2000)]
        samples: usize,
        #[arg(long)]
        today: NaiveDate,
    },
    /// Time card checks in process (no HTTP), one thread after another:
    /// what a check costs the store and the rules alone.
    Check {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        serials: PathBuf,
        #[arg(long, default_value_t = 20_000)]
        samples: usize,
        #[arg(long)]
        checked_on: NaiveDate,
        /// Threads checking at once.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Time the payer run bare and stored, alternately, on one claims file.
    Payer {
        /// A SQLite file, or a PostgreSQL URL.
        #[arg(long)]
        db: String,
        /// JSON Lines claims (`onshi payer generate`).
        #[arg(long)]
        claims: PathBuf,
        #[arg(long)]
        as_of: NaiveDate,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Write a CSV of registrations that match the first ROWS persons.
    Registrations {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        insurer: String,
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Cmd::Baseline {
            listen,
            answer,
            serials,
        } => baseline(listen, answer, serials),
        Cmd::Load {
            url,
            tokens,
            serials,
            connections,
            seconds,
            rate,
            checked_on,
        } => load(url, tokens, serials, connections, seconds, rate, checked_on),
        Cmd::Search { db, samples, today } => search(db, samples, today),
        Cmd::Check {
            db,
            serials,
            samples,
            checked_on,
            threads,
        } => check_in_process(db, serials, samples, checked_on, threads),
        Cmd::Registrations {
            db,
            insurer,
            rows,
            out,
        } => registrations(db, insurer, rows, out),
        Cmd::Payer {
            db,
            claims,
            as_of,
            rounds,
        } => payer(db, claims, as_of, rounds),
    }
}

/// The bare run and the stored run, alternately, `rounds` times each; one
/// JSON line with the medians and their ratio.
fn payer(
    db: String,
    claims: PathBuf,
    as_of: NaiveDate,
    rounds: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    use onshi_payer::memory::{RunInput, digest, run_and_store};
    use onshi_payer::run::{Policy, run};
    let store: Arc<dyn Store> = if db.starts_with("postgres://") {
        Arc::new(PgStore::connect(&db)?)
    } else {
        Arc::new(SqliteStore::open(std::path::Path::new(&db))?)
    };
    let bytes = std::fs::read(&claims)?;
    let text = std::str::from_utf8(&bytes)?;
    let input: Vec<_> = onshi_payer::claim::parse_jsonl(text)
        .into_iter()
        .map(|(l, c)| (format!("{l:08}"), c))
        .collect();
    let n = input.len();
    let (mut bare, mut stored) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        let a = run(store.as_ref(), as_of, input.clone(), Policy::default())?;
        bare.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let (_, b) = run_and_store(
            store.as_ref(),
            as_of,
            vec![RunInput {
                label: "bench".into(),
                digest: digest(&bytes),
                submission_id: None,
                claims: input.clone(),
            }],
            Policy::default(),
            "bench",
            &Utc::now().to_rfc3339(),
        )?;
        stored.push(t.elapsed().as_secs_f64());
        if a.summary != b.summary {
            return Err("the stored run decided otherwise than the bare run".into());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.total_cmp(y));
        v[v.len() / 2]
    };
    let (b, s) = (median(&mut bare), median(&mut stored));
    println!(
        "{}",
        json!({"claims": n, "bare_s": b, "stored_s": s, "bare_claims_per_s": n as f64 / b,
               "stored_claims_per_s": n as f64 / s, "stored_over_bare": s / b})
    );
    Ok(())
}

fn read_serials(path: &PathBuf) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let v: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if v.is_empty() {
        return Err("no serials".into());
    }
    Ok(v)
}

#[derive(Deserialize)]
struct BaselineRequest {
    reference: String,
    certificate_serial: Option<String>,
    #[allow(dead_code)]
    checked_on: Option<String>,
}

struct Baseline {
    answers: HashMap<String, Bytes>,
    missing: Bytes,
}

async fn baseline_check(
    State(b): State<Arc<Baseline>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = [(header::CONTENT_TYPE, "application/json")];
    if !headers.contains_key(header::AUTHORIZATION) {
        return (StatusCode::UNAUTHORIZED, json, b.missing.clone()).into_response();
    }
    let Ok(req) = serde_json::from_slice::<BaselineRequest>(&body) else {
        return (StatusCode::BAD_REQUEST, json, b.missing.clone()).into_response();
    };
    match req
        .certificate_serial
        .filter(|_| req.reference == "card")
        .and_then(|s| b.answers.get(&s))
    {
        Some(a) => (StatusCode::OK, json, a.clone()).into_response(),
        None => (StatusCode::UNPROCESSABLE_ENTITY, json, b.missing.clone()).into_response(),
    }
}

fn baseline(
    listen: SocketAddr,
    answer: PathBuf,
    serials: PathBuf,
) -> Result<(), Box<dyn std::error::Error>> {
    let template = Bytes::from(std::fs::read(answer)?);
    let answers = read_serials(&serials)?
        .into_iter()
        .map(|s| (s, template.clone()))
        .collect();
    let state = Arc::new(Baseline {
        answers,
        missing: Bytes::from_static(br#"{"error":{"code":"certificate_unknown"}}"#),
    });
    let app = axum::Router::new()
        .route("/api/v1/checks", axum::routing::post(baseline_check))
        .with_state(state);
    tokio::runtime::Runtime::new()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!("BASELINE_URL=http://{}", listener.local_addr()?);
        std::io::stdout().flush()?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
fn load(
    url: String,
    tokens: Vec<String>,
    serials: PathBuf,
    connections: usize,
    seconds: u64,
    rate: Option<f64>,
    checked_on: NaiveDate,
) -> Result<(), Box<dyn std::error::Error>> {
    let serials = Arc::new(read_serials(&serials)?);
    // One core for the load, the other for the server under test.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let endpoint = format!("{url}/api/v1/checks");
    let duration = Duration::from_secs(seconds);
    let results = rt.block_on(async move {
        // Warm the connections and caches for a second before measuring.
        let start = Instant::now() + Duration::from_secs(1);
        let end = start + duration;
        let mut tasks = Vec::new();
        for c in 0..connections {
            let (client, endpoint, token, serials) = (
                client.clone(),
                endpoint.clone(),
                tokens[c % tokens.len()].clone(),
                serials.clone(),
            );
            let interval = rate.map(|r| Duration::from_secs_f64(connections as f64 / r));
            tasks.push(tokio::spawn(async move {
                let mut rng = ChaCha8Rng::seed_from_u64(c as u64);
                let mut lat = Vec::new();
                let (mut ok, mut other, mut failed) = (0u64, 0u64, 0u64);
                // Stagger the open-loop schedules across connections.
                let mut due = Instant::now()
                    + interval.map_or(Duration::ZERO, |i| i.mul_f64(c as f64 / connections as f64));
                loop {
                    if interval.is_some() {
                        tokio::time::sleep_until(due.into()).await;
                    } else {
                        due = Instant::now();
                    }
                    if due >= end {
                        break;
                    }
                    let serial = &serials[rng.random_range(0..serials.len())];
                    let body = json!({"reference": "card", "certificate_serial": serial,
                                      "checked_on": checked_on})
                    .to_string();
                    let resp = client
                        .post(&endpoint)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    let status = match resp {
                        Ok(r) => {
                            let s = r.status();
                            let _ = r.bytes().await;
                            Some(s)
                        }
                        Err(_) => None,
                    };
                    let done = Instant::now();
                    if due >= start {
                        lat.push(done.duration_since(due).as_micros() as u64);
                        match status {
                            Some(s) if s.is_success() => ok += 1,
                            Some(_) => other += 1,
                            None => failed += 1,
                        }
                    }
                    if let Some(i) = interval {
                        due += i;
                    }
                }
                (lat, ok, other, failed)
            }));
        }
        let mut all = Vec::new();
        let (mut ok, mut other, mut failed) = (0, 0, 0);
        for t in tasks {
            if let Ok((l, o, x, f)) = t.await {
                all.extend(l);
                ok += o;
                other += x;
                failed += f;
            }
        }
        (all, ok, other, failed)
    });
    let (mut lat, ok, other, failed) = results;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{}",
        json!({
            "requests": lat.len(), "ok": ok, "non_2xx": other, "failed": failed,
            "rps": lat.len() as f64 / seconds as f64,
            "p50_us": pct(0.50), "p90_us": pct(0.90), "p99_us": pct(0.99),
            "max_us": lat.last().copied().unwrap_or(0),
            "rate": rate, "connections": connections,
        })
    );
    Ok(())
}

/// The institution the in-process benchmarks act as (the first one listed).
fn first_institution(store: &dyn Store) -> Result<InstitutionCode, Box<dyn std::error::Error>> {
    Ok(store
        .institutions()?
        .into_iter()
        .next()
        .ok_or("no institution")?
        .code)
}

fn search(db: PathBuf, samples: usize, today: NaiveDate) -> Result<(), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(&db)?;
    let inst = first_institution(&store)?;
    activate(&store, &inst, today)?;
    // Noon in Japan on `today`: inside the activation, whatever the clock says.
    let now = today.and_hms_opt(3, 0, 0).ok_or("bad date")?.and_utc();
    let max_id = i64::try_from(store.counts()?.persons)?;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut lat = Vec::with_capacity(samples);
    let mut found = 0u64;
    for _ in 0..samples {
        let id = rng.random_range(1..=max_id);
        let Some(p) = store.person(id)? else { continue };
        let raw = RawSearch {
            birth_date: Some(p.person.birth_date.to_string()),
            sex: Some(p.person.sex.code().to_string()),
            checked_on: Some(today.to_string()),
            name: Some(p.person.name.as_str().to_owned()),
            kana: None,
            address: Some(p.person.address.as_str().to_owned()),
            insurer_name: None,
            purpose: Some("bench".into()),
            visit_id: None,
        };
        let t = Instant::now();
        let r = failure_mode::search(&store, &inst, &raw, now, u64::MAX)?;
        lat.push(t.elapsed().as_micros() as u64);
        found += u64::from(r.hits > 0);
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "{}",
        json!({"samples": lat.len(), "found": found, "persons": max_id,
               "p50_us": pct(0.5), "p99_us": pct(0.99), "max_us": lat[lat.len() - 1]})
    );
    Ok(())
}

fn check_in_process(
    db: PathBuf,
    serials: PathBuf,
    samples: usize,
    checked_on: NaiveDate,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let store: Arc<dyn Store> = match db.to_str() {
        Some(url) if url.starts_with("postgres://") => Arc::new(PgStore::connect(url)?),
        _ => Arc::new(SqliteStore::open(&db)?),
    };
    let inst = first_institution(store.as_ref())?;
    let serials = Arc::new(read_serials(&serials)?);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads.max(1))
        .map(|t| {
            let (store, inst, serials) = (store.clone(), inst.clone(), serials.clone());
            std::thread::spawn(move || -> Result<Vec<u64>, String> {
                let mut rng = ChaCha8Rng::seed_from_u64(t as u64);
                let mut lat = Vec::with_capacity(samples);
                for _ in 0..samples {
                    let serial = &serials[rng.random_range(0..serials.len())];
                    let request = CheckRequest {
                        query: CheckQuery::Card {
                            serial: CertificateSerial::parse(serial).map_err(|e| e.to_string())?,
                        },
                        checked_on,
                        identity: None,
                        staff_id: None,
                    };
                    let t = Instant::now();
                    let _ =
                        onshi_registry::check::check(store.as_ref(), &inst, &request, Utc::now());
                    lat.push(t.elapsed().as_micros() as u64);
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.join().map_err(|_| "worker panicked")??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "{}",
        json!({"checks": lat.len(), "threads": threads, "per_s": (lat.len() as f64 / secs).round(),
               "p50_us": pct(0.5), "p99_us": pct(0.99)})
    );
    Ok(())
}

/// Turns the failure mode on for `inst` for the whole of `today`, through
/// the same workflow an operator follows (request → call-back → enable).
fn activate(
    store: &dyn Store,
    inst: &InstitutionCode,
    today: NaiveDate,
) -> Result<(), Box<dyn std::error::Error>> {
    let now = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let id = store.fm_create_request(inst, "bench", Some("benchmark"), &now)?;
    store.fm_confirm(id, "bench", "0000000000", &now)?;
    let from = format!("{}T00:00:00.000Z", today.pred_opt().unwrap_or(today));
    let until = format!("{}T00:00:00.000Z", today + chrono::Days::new(2));
    store.fm_enable(id, &from, &until, today + chrono::Days::new(14))?;
    Ok(())
}

fn registrations(
    db: PathBuf,
    insurer: String,
    rows: u64,
    out: PathBuf,
) -> Result<(), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(&db)?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    writeln!(
        f,
        "person_ref,name,kana,birth_date,sex,address,insurer_number,insured_symbol,insured_number,insured_branch,relation,acquired_on"
    )?;
    let (mut after, mut written) = (0i64, 0u64);
    while written < rows {
        let page = store.persons_after(after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for p in page {
            if written == rows {
                break;
            }
            let q = &p.person;
            // From April, or from birth for those born since.
            let acquired = q
                .birth_date
                .max(NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default());
            writeln!(
                f,
                "{},{},{},{},{},{},{insurer},B1,{},00,insured,{acquired}",
                p.person_ref.as_str(),
                q.name.as_str(),
                q.kana.as_str(),
                q.birth_date,
                q.sex.code(),
                q.address.as_str(),
                90_000_000 + p.id,
            )?;
            written += 1;
        }
    }
    f.flush()?;
    println!("{written}");
    Ok(())
}
