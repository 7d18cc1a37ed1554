//! Sets `cfg(onshi_pg)` when `ONSHI_PG_URL` is set at build time, so the
//! PostgreSQL half of the command tests runs; without it those tests are
//! reported as ignored, by name (see onshi-testkit).

fn main() {
    println!("cargo:rustc-check-cfg=cfg(onshi_pg)");
    println!("cargo:rerun-if-env-changed=ONSHI_PG_URL");
    if std::env::var("ONSHI_PG_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo:rustc-cfg=onshi_pg");
    }
}
