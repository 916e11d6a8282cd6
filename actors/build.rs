//! Builds the jail's bridge program (`src/workspace/jail/bridge.rs`, the standard library
//! only) as a small program of its own, which the library embeds and writes out when it builds
//! the jail. It runs first in every jail with a network, so its start-up is on every command's
//! path: a program this size starts in a fraction of the server's own start-up time.
// A build script reports a broken toolchain by failing the build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "src/workspace/jail/bridge.rs";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("okcvm-jail-bridge");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = std::env::var("TARGET").unwrap();
    let status = Command::new(rustc)
        .args([
            "--edition=2021",
            "--crate-type=bin",
            "--crate-name=okcvm_jail_bridge",
            "-Copt-level=2",
            "-Cpanic=abort",
            "-Cstrip=symbols",
            // Static: no dynamic loader to run on every command.
            "-Ctarget-feature=+crt-static",
            "--target",
            &target,
            "-o",
        ])
        .arg(&out)
        .arg(source)
        .status()
        .expect("rustc runs");
    assert!(
        status.success(),
        "building the jail's bridge program failed"
    );
}
