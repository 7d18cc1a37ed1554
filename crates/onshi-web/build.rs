//! Sets `cfg(onshi_pg)` when `ONSHI_PG_URL` is set at build time, so the
//! PostgreSQL half of the behaviour suite runs, and `cfg(onshi_pg_replica)`
//! when `ONSHI_PG_PRIMARY_URL` and `ONSHI_PG_REPLICA_URL` name a primary and
//! its streaming replica (scripts/pg-replica). Without them those tests are
//! reported as ignored, by name (see onshi-testkit).

fn set(var: &str) -> bool {
    println!("cargo:rerun-if-env-changed={var}");
    std::env::var(var).is_ok_and(|v| !v.trim().is_empty())
}

fn main() {
    println!("cargo:rustc-check-cfg=cfg(onshi_pg)");
    println!("cargo:rustc-check-cfg=cfg(onshi_pg_replica)");
    if set("ONSHI_PG_URL") {
        println!("cargo:rustc-cfg=onshi_pg");
    }
    if set("ONSHI_PG_PRIMARY_URL") & set("ONSHI_PG_REPLICA_URL") {
        println!("cargo:rustc-cfg=onshi_pg_replica");
    }
}
