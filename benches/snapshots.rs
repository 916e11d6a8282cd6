//! Workspace snapshots of a large workspace: the first snapshot, then one after a single file
//! changed (only that file should be stored), then a restore.
//!
//! Run: `cargo bench --bench snapshots` (FILES=10000 to change the count).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use okcvm_actors::workspace::snapshots::SnapshotStore;
use support::bench::env_or;

fn main() {
    let files: usize = env_or("FILES", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    for i in 0..files {
        let sub = ws.join(format!("d{}", i % 100));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            sub.join(format!("f{i}.txt")),
            format!("file {i} ").repeat(20),
        )
        .unwrap();
    }
    let store = SnapshotStore::new(dir.path().join("snapshots"), u64::MAX);

    let started = Instant::now();
    let first = store.take("t", "s", &ws, None, None).unwrap();
    let first_ms = started.elapsed().as_secs_f64() * 1000.0;

    std::fs::write(ws.join("d7/f7.txt"), "changed").unwrap();
    let started = Instant::now();
    let second = store.take("t", "s", &ws, None, None).unwrap();
    let second_ms = started.elapsed().as_secs_f64() * 1000.0;

    std::fs::write(ws.join("d7/f7.txt"), "changed again").unwrap();
    let started = Instant::now();
    let changed = store.restore("t", "s", &second.id, &ws).unwrap();
    let restore_ms = started.elapsed().as_secs_f64() * 1000.0;

    println!(
        "snapshots: files={files} first: {first_ms:.0} ms, {} bytes stored; one file changed: {second_ms:.0} ms, {} bytes stored; restore of one changed file: {restore_ms:.0} ms ({changed} path changed)",
        first.stored_bytes, second.stored_bytes
    );
}
