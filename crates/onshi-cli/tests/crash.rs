//! Crash safety (issue 10, item 4): `onshi` killed with SIGKILL at random
//! points of a bulk import and of a payer run, then run again.
//!
//! - Import (SQLite and PostgreSQL): each trial imports its own file of
//!   registrations and is killed after a random delay. Afterwards a dry run
//!   of the same file finds either every row already registered or none
//!   (never some), the database passes its integrity check and the audit
//!   chains verify; the trial's import is then run to completion if it had
//!   not committed. At the end every trial's rows are there exactly once.
//! - Payer run (read-only on the database; its output is the product): runs
//!   alternate between two months of claims into one output directory, and
//!   after each kill the directory is absent or byte-identical to one
//!   uninterrupted run's, never a mix of two runs or a half-written file.
//!
//! Trials: `ONSHI_CRASH_TRIALS` (default 10 here, 100 for the nightly run;
//! the payer test runs three times as many,
//! README "Longer runs"); the seed is printed and taken from
//! `ONSHI_CRASH_SEED` to replay a failure.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{db_at, ok, onshi};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

fn trials() -> usize {
    std::env::var("ONSHI_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

fn rng() -> rand::rngs::StdRng {
    let seed = std::env::var("ONSHI_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("ONSHI_CRASH_SEED={seed}");
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// Runs `cmd` and kills it with SIGKILL after `after`, unless it ended
/// first. Whether it was still running when killed.
fn kill_after(cmd: &mut Command, after: Duration) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + after;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if Instant::now() >= deadline {
            // Child::kill sends SIGKILL on Unix.
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

const ROWS: usize = 2_000;
const HEADER: &str = "person_ref,name,kana,birth_date,sex,address,insurer_number,insured_symbol,insured_number,insured_branch,relation,acquired_on";

/// Trial `t`'s registrations: one per person, numbers of its own.
fn registrations(t: usize) -> String {
    let mut csv = format!("{HEADER}\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "R-{i},山田 太郎,ヤマダ タロウ,1980-04-01,male,東京都千代田区霞が関1-2-3,01130012,{},{},00,insured,2020-04-01\n",
            100 + t,
            i + 1
        ));
    }
    csv
}

/// How many of the file's rows are registered already (a dry run rejects
/// each as a duplicate).
fn registered(db: &Path, file: &Path) -> usize {
    let out = onshi()
        .args([
            "registry",
            "import",
            "--insurer",
            "01130012",
            "--dry-run",
            "--db",
        ])
        .arg(db)
        .arg(file)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let rejected = report["rejected"].as_array().unwrap();
    assert!(
        rejected.iter().all(|r| r["code"] == "duplicate"),
        "{report}"
    );
    rejected.len()
}

fn intact(db: &Path) {
    if db.extension().is_some_and(|e| e == "sqlite") {
        let c = rusqlite::Connection::open(db).unwrap();
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
    ok(onshi().args(["audit", "verify", "--db"]).arg(db));
}

#[onshi_testkit::both]
fn bulk_import_killed_anywhere_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_at(dir.path(), "crash.sqlite");
    let persons: Vec<Value> = (0..ROWS)
        .map(|i| {
            json!({"person_ref": format!("R-{i}"), "name": "山田 太郎", "kana": "ヤマダ タロウ",
                   "birth_date": "1980-04-01", "sex": "male", "address": "東京都千代田区霞が関1-2-3"})
        })
        .collect();
    let fixture = dir.path().join("f.json");
    std::fs::write(
        &fixture,
        json!({"insurers": [{"number": "01130012", "name": "全国健康保険協会東京支部"}], "persons": persons})
            .to_string(),
    )
    .unwrap();
    ok(onshi()
        .args(["fixture", "load", "--db"])
        .arg(&db)
        .arg(&fixture));
    let import = |file: &Path| {
        let mut c = onshi();
        c.args(["registry", "import", "--insurer", "01130012", "--db"])
            .arg(&db)
            .arg(file);
        c
    };

    // An uninterrupted import, to time it.
    let first = dir.path().join("t0.csv");
    std::fs::write(&first, registrations(0)).unwrap();
    let started = Instant::now();
    ok(&mut import(&first));
    let full = started.elapsed();
    assert_eq!(registered(&db, &first), ROWS);

    let mut rng = rng();
    let (mut interrupted, mut committed_anyway) = (0, 0);
    let n = trials();
    for t in 1..=n {
        let file = dir.path().join(format!("t{t}.csv"));
        std::fs::write(&file, registrations(t)).unwrap();
        let after = full.mul_f64(rng.random_range(0.0..1.2));
        let killed = kill_after(&mut import(&file), after);
        intact(&db);
        let found = registered(&db, &file);
        assert!(
            found == 0 || found == ROWS,
            "trial {t} (killed after {after:?}): {found} of {ROWS} rows half-applied"
        );
        if killed {
            interrupted += 1;
            if found == ROWS {
                committed_anyway += 1;
            }
        } else {
            assert_eq!(found, ROWS, "trial {t} ended without committing");
        }
        if found == 0 {
            ok(&mut import(&file));
        }
        assert_eq!(registered(&db, &file), ROWS, "trial {t}");
    }
    eprintln!(
        "{n} trials: {interrupted} killed while running ({committed_anyway} of them after the commit)"
    );
    assert!(interrupted > 0, "no trial was killed while running");
    // Nothing lost, nothing twice: every trial's rows, once each.
    for t in 0..=n {
        let file = dir.path().join(format!("t{t}.csv"));
        assert_eq!(registered(&db, &file), ROWS, "trial {t} at the end");
    }
    intact(&db);
}

#[test]
fn payer_run_killed_anywhere_leaves_no_half_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("payer.sqlite");
    ok(onshi()
        .args([
            "generate",
            "--persons",
            "2000",
            "--as-of",
            "2026-11-25",
            "--db",
        ])
        .arg(&db));
    // Two months of claims: runs alternate between them, so an output that
    // mixes two runs' files differs from both whole outputs.
    let claims: Vec<_> = (1..=2)
        .map(|seed| {
            let f = dir.path().join(format!("claims-{seed}.jsonl"));
            ok(onshi()
                .args([
                    "payer", "generate", "--month", "2026-10", "--claims", "3000",
                ])
                .args(["--seed", &seed.to_string(), "--db"])
                .arg(&db)
                .arg("--out")
                .arg(&f));
            f
        })
        .collect();
    let run = |input: &Path, out: &Path| {
        let mut c = onshi();
        c.args(["payer", "run", "--as-of", "2026-11-25", "--db"])
            .arg(&db)
            .arg("--claims")
            .arg(input)
            .arg("--out")
            .arg(out);
        c
    };
    const FILES: [&str; 4] = [
        "report.jsonl",
        "bills.json",
        "ratio_differences.json",
        "summary.json",
    ];
    // The payer remembers (issue 15): each run stores its payment record,
    // which weights the 按分 of later runs. Once both inputs have run, a
    // whole run of either gives the same output every time (its own
    // claims' record is replaced, the other's is read), so the reference
    // outputs are taken from a second round.
    for (i, input) in claims.iter().enumerate() {
        ok(&mut run(input, &dir.path().join(format!("warm-up-{i}"))));
    }
    // The shorter of the two whole runs: runs vary with the machine's load
    // (the other crash tests run beside this one), and a kill aimed past
    // the end of every run would test nothing.
    let mut full = Duration::MAX;
    let whole: Vec<Vec<Vec<u8>>> = claims
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let reference = dir.path().join(format!("reference-{i}"));
            let started = Instant::now();
            ok(&mut run(input, &reference));
            full = full.min(started.elapsed());
            FILES
                .iter()
                .map(|f| std::fs::read(reference.join(f)).unwrap())
                .collect()
        })
        .collect();
    assert_ne!(
        whole[0], whole[1],
        "the two inputs must give different outputs"
    );
    // Which whole run's output `out` is, if it is one.
    let which = |out: &Path| -> usize {
        let mut names: Vec<String> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut want: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(names, want);
        let got: Vec<Vec<u8>> = FILES
            .iter()
            .map(|f| std::fs::read(out.join(f)).unwrap())
            .collect();
        whole
            .iter()
            .position(|w| *w == got)
            .unwrap_or_else(|| panic!("{} is not one whole run's output", out.display()))
    };

    let out = dir.path().join("out");
    let mut rng = rng();
    let mut interrupted = 0;
    let mut ever_written = false;
    // A payer trial is cheap: three times as many.
    let n = 3 * trials();
    for t in 0..n {
        // Most kills near the end, where the files are written; some anywhere.
        let at = if t % 4 == 0 {
            rng.random_range(0.0..1.2)
        } else {
            rng.random_range(0.85..1.05)
        };
        let after = full.mul_f64(at);
        if kill_after(&mut run(&claims[t % 2], &out), after) {
            interrupted += 1;
        }
        if out.exists() {
            ever_written = true;
            which(&out);
        } else {
            assert!(!ever_written, "trial {t}: a complete output was lost");
        }
    }
    eprintln!("{n} trials: {interrupted} killed while running");
    assert!(interrupted > 0, "no trial was killed while running");
    // Run to the end: the output is that run's, whole, and no staging
    // directory is left.
    ok(&mut run(&claims[1], &out));
    assert_eq!(which(&out), 1);
    // The stored runs went in whole or not at all.
    intact(&db);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
