//! Embeds the web console: every file under `frontend/` that the browser loads (not its tests,
//! not `node_modules`) becomes an entry of a table compiled into the binary, so `okcvm run`
//! serves the console with no files beside it and no build step.
// A build script reports a broken checkout by failing the build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Folders and files under `frontend/` that are not part of the console.
const LEFT_OUT: [&str; 4] = ["tests", "node_modules", "package.json", "package-lock.json"];

fn collect(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if dir == root && LEFT_OUT.iter().any(|l| name == *l) {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else if !name.to_string_lossy().starts_with('.') {
            files.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("frontend");
    println!("cargo:rerun-if-changed=frontend");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut table = String::from("/// The console's files: path under `/ui/`, contents.\npub static CONSOLE_ASSETS: &[(&str, &[u8])] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            table,
            "    ({relative:?}, include_bytes!({:?})),",
            file.display().to_string()
        )
        .unwrap();
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("console_assets.rs");
    std::fs::write(out, table).unwrap();
}
