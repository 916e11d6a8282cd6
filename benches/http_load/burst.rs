//! The `burst` phase: what memory a burst of turns leaves behind.
//!
//! A server of its own on a new data directory: a few warm-up turns, then, once those sessions
//! have hibernated, a baseline RSS; then 100 turns at once, each in a new session, each a
//! 64-token answer; then RSS when the last ends, 10 s later (the sessions hibernate after 5 s
//! idle) and 30 s later. Reported per session of the burst, over the baseline.

use std::sync::Arc;
use std::time::Duration;

use support::bench::env_or;
use support::fake_model::*;

use super::{start_server, stop, Target};

pub(super) async fn run(model: &FakeModel) {
    let sessions: usize = env_or("BURST_SESSIONS", 100);
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &model.base_url()).await;
    let target = Arc::new(Target {
        url: server.url.clone(),
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(2048)
            .build()
            .unwrap(),
        token: None,
    });
    let tokens: Vec<_> = (0..64).map(|i| ev_text(&format!("t{i} "))).collect();
    model.set_fallback(sse(tokens
        .into_iter()
        .chain([ev_usage(100, 64), ev_done()])
        .collect()));
    for i in 0..4 {
        target.turn_json(&format!("burst-warm-{i}")).await;
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    let baseline = server.rss_mib();
    let tasks: Vec<_> = (0..sessions)
        .map(|i| {
            let target = target.clone();
            tokio::spawn(async move { target.turn_json(&format!("burst-{i}")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let ended = server.rss_mib();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let later = server.rss_mib();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let settled = server.rss_mib();
    let per_session = |mib: f64| (mib - baseline) * 1024.0 / sessions as f64;
    println!(
        "http_load: burst of {sessions} concurrent turns: RSS baseline {baseline:.1} MiB, at the \
         end {ended:.1} MiB ({:.0} KiB per session), 10 s later {later:.1} MiB ({:.0} KiB per \
         session), 30 s later {settled:.1} MiB ({:.0} KiB per session)",
        per_session(ended),
        per_session(later),
        per_session(settled),
    );
    stop(server).await;
    model.set_fallback(sse(vec![ev_text("ok"), ev_usage(10, 1), ev_done()]));
}
