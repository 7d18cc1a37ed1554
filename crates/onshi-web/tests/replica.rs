//! The path past one machine (issue 7.4), on a real PostgreSQL primary and a
//! real streaming replica on loopback (`scripts/pg-replica start`, which
//! `.ci/run` runs):
//!
//! - two `onshi serve` processes' worth of servers over one primary hold no
//!   state of their own: a check made at one is in the other's history, and
//!   an Idempotency-Key used at one is honoured at the other;
//! - a server given `--db-read` (PgStore::with_replica) reads the check
//!   history from the replica: while the replica's replay is paused it does
//!   not see a new check, and sees it once replay resumes.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{send, start_on, today};
use onshi_store::{PgStore, Store};
use serde_json::{Value, json};

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run scripts/pg-replica start and export what it prints")
    })
}

/// Runs one boolean query on the standby with a connection of its own (the
/// synchronous client is made and dropped off the async threads).
fn standby(url: &str, sql: &str) -> bool {
    tokio::task::block_in_place(|| {
        let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
        c.query_one(sql, &[]).unwrap().get(0)
    })
}

async fn history_len(s: &common::Server) -> usize {
    let (status, h) = s.history(&s.clinic, &today().to_string()).await;
    assert_eq!(status, 200, "{h}");
    h.as_array().expect("the history is an array").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(onshi_pg_replica),
    ignore = "PostgreSQL replica: run scripts/pg-replica start and set ONSHI_PG_PRIMARY_URL and ONSHI_PG_REPLICA_URL when building the tests (README)"
)]
async fn replicas_share_state_and_lagging_reads_come_from_the_standby() {
    let primary = env("ONSHI_PG_PRIMARY_URL");
    let replica = env("ONSHI_PG_REPLICA_URL");
    let schema = format!("r_{:016x}", rand::random::<u64>());

    // Server A: primary only. It creates the schema and loads the demo.
    let a_store: Arc<dyn Store> = tokio::task::block_in_place(|| {
        Arc::new(PgStore::connect_in_schema(&primary, &schema).unwrap())
    });
    let a = start_on(a_store, tempfile::tempdir().unwrap(), true).await;

    // The standby has replayed the schema before server B connects to it.
    let replayed =
        format!("SELECT to_regclass('{schema}.check_history') IS NOT NULL AND pg_is_in_recovery()");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !standby(&replica, &replayed) {
        assert!(
            Instant::now() < deadline,
            "the standby never replayed the schema"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Server B: same primary for writes, the standby for lagging reads.
    let b_store: Arc<dyn Store> = tokio::task::block_in_place(|| {
        Arc::new(
            PgStore::connect_in_schema(&primary, &schema)
                .unwrap()
                .with_replica(&replica)
                .unwrap(),
        )
    });
    let b = start_on(b_store, tempfile::tempdir().unwrap(), false).await;

    // Wait until B's history (from the standby) has caught up with A's.
    let b = &b;
    let caught_up = |n: usize| async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if history_len(b).await == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the standby never showed {n} checks"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(history_len(&a).await, 0);

    // Pause replay: B's reads now lag behind the primary.
    standby(&replica, "SELECT pg_wal_replay_pause() IS NULL");
    let paused = "SELECT pg_get_wal_replay_pause_state() = 'paused'";
    while !standby(&replica, paused) {
        assert!(Instant::now() < deadline, "the standby never paused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, answer) = b.card("DEMO-VALID").await; // written through B to the primary
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["validity"], 1);
    assert_eq!(history_len(&a).await, 1, "A reads the primary");
    assert_eq!(history_len(b).await, 0, "B reads the paused standby");

    standby(&replica, "SELECT pg_wal_replay_resume() IS NULL");
    caught_up(1).await;

    // An Idempotency-Key used at A is honoured at B: same answer, no second write.
    let birth = a
        .db(|st| st.person_by_ref(&onshi_core::PersonRef::parse("R-NONE").unwrap()))
        .unwrap()
        .unwrap()
        .person
        .birth_date;
    let body = json!({
        "person_ref": "R-NONE", "name": "鈴木 一郎", "kana": "スズキ イチロウ",
        "birth_date": birth, "sex": "male", "address": "東京都世田谷区三軒茶屋1丁目1番1号",
        "insurer_number": "01130012", "insured_symbol": "5001", "insured_number": "6001",
        "insured_branch": "00", "relation": "insured", "acquired_on": "2026-11-01",
    });
    let register = |s: &common::Server| {
        s.http
            .post(format!("{}/api/v1/insurer/qualifications", s.url))
            .header("content-type", "application/json")
            .header("Idempotency-Key", "replica-1")
            .body(body.to_string())
    };
    let (st_a, rec_a) = send(register(&a), &a.insurer).await;
    assert_eq!(st_a, 201, "{rec_a}");
    let before = a.db(|st| st.counts()).unwrap().qualifications;
    let (st_b, rec_b) = send(register(b), &b.insurer).await;
    assert_eq!((st_b, &rec_b), (201, &rec_a), "B replays A's stored answer");
    assert_eq!(a.db(|st| st.counts()).unwrap().qualifications, before);
    let v: &Value = &rec_b;
    assert!(v["id"].as_i64().is_some(), "{v}");
}
