//! Sets `cfg(onshi_browser)` when Debian's chromedriver is installed, so the
//! browser walks run; without it they are reported as ignored, by name.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(onshi_browser)");
    println!("cargo:rerun-if-changed=/usr/bin/chromedriver");
    if std::path::Path::new("/usr/bin/chromedriver").exists() {
        println!("cargo:rustc-cfg=onshi_browser");
    }
}
