//! Memory of hibernated and of live idle sessions.
//!
//! Creates N sessions with one short exchange each, in two steps (a third of them, then the
//! rest), lets them hibernate after each step, and reads the process's resident set size
//! (from /proc/self/statm) against a baseline taken after one warm-up session: per session
//! over the baseline, and per session of the second step (the memory each more session
//! costs, without what the first sessions cost once: the runtime's and allocator's warm-up).
//! The server's memory trimmer runs, as in the server, and each reading waits for it. Then
//! restarts the runtime with a long idle time, wakes every session from redb and reads it
//! again.
//!
//! Run: `cargo bench --bench session_memory` (SESSIONS=1000 to change).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use support::bench::{block_on, env_or};
use support::fake_model::*;
use support::runtime::*;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn main() {
    let sessions: usize = env_or("SESSIONS", 1000);
    block_on(async move {
        let model = FakeModel::start().await;
        // The fake model runs in this process: its copies of the requests are not OKCVM's.
        model.forget_requests();
        // One answer for every request, so that nothing the fake model holds is freed (or
        // added) while sessions are measured.
        model.set_fallback(sse(vec![ev_text("hello there"), ev_done()]));
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(dir.path(), &model.base_url());
        settings.sessions.idle_hibernate_s = 0.5;
        okcvm::memory::spawn_trimmer(tokio_util::sync::CancellationToken::new());
        let runtime = start(settings).await;
        // Warm up allocator and runtime with one session first.
        let warm = runtime.session(local("warm")).unwrap();
        warm.snapshot().await.unwrap();
        let baseline = settled_rss(&runtime).await;

        let first = (sessions / 3).max(1);
        let turn = |i: usize| {
            let session = runtime.session(local(&format!("s{i}"))).unwrap();
            async move { run_turn(&session, say("hi")).await }
        };
        for i in 0..first {
            turn(i).await;
        }
        let after_first = settled_rss(&runtime).await;
        for i in first..sessions {
            turn(i).await;
        }
        let hibernated = settled_rss(&runtime).await;

        // Live idle sessions: a runtime that keeps them awake, all loaded from redb.
        runtime.shutdown().await;
        let mut settings = test_settings(dir.path(), &model.base_url());
        settings.sessions.idle_hibernate_s = 3600.0;
        let runtime = start(settings).await;
        let warm = runtime.session(local("warm")).unwrap();
        warm.snapshot().await.unwrap();
        let before_wake = rss_bytes();
        let mut handles = Vec::new();
        for i in 0..sessions {
            let session = runtime.session(local(&format!("s{i}"))).unwrap();
            session.snapshot().await.unwrap();
            handles.push(session);
        }
        let live_count = runtime.live_sessions().await.unwrap();
        let live = rss_bytes();
        println!(
            "session_memory: sessions={} baseline_rss={:.1}MiB hibernated_rss={:.1}MiB ({:.1} KB/hibernated session; {:.1} KB each of the last {}) live={} live_rss_delta={:.1}MiB ({:.1} KB/live idle session)",
            sessions,
            baseline as f64 / 1048576.0,
            hibernated as f64 / 1048576.0,
            hibernated.saturating_sub(baseline) as f64 / 1000.0 / sessions as f64,
            hibernated.saturating_sub(after_first) as f64 / 1000.0 / (sessions - first).max(1) as f64,
            sessions - first,
            live_count,
            live.saturating_sub(before_wake) as f64 / 1048576.0,
            live.saturating_sub(before_wake) as f64 / 1000.0 / sessions as f64,
        );
        runtime.shutdown().await;
    });
}

/// RSS once every session has hibernated and the memory trimmer has had its chance (it looks
/// every 5 s, and trims once the process was quiet for a whole period).
async fn settled_rss(runtime: &okcvm_actors::Runtime) -> u64 {
    wait_hibernated(runtime).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    rss_bytes()
}

async fn wait_hibernated(runtime: &okcvm_actors::Runtime) {
    let ok = eventually(Duration::from_secs(60), || async {
        runtime.live_sessions().await.unwrap() == 0
    })
    .await;
    assert!(ok, "sessions did not hibernate");
}
