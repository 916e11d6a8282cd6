//! The `burst` phase: what memory a burst of turns leaves behind.
//!
//! A server of its own on a new data directory: a few warm-up turns, then, once those sessions
//! have hibernated, a baseline RSS; then 100 turns at once, each in a new session, each a
//! 64-token answer; then RSS when the last ends, 10 s later (the sessions hibernate after 5 s
//! idle; the clients' keep-alive connections are still open), and 20 s after the clients
//! closed their connections. Reported per session of the burst, over the baseline, with the
//! anonymous part of RSS (the process's own memory, not pages of its program).

use std::time::Duration;

use support::bench::env_or;
use support::fake_model::*;

use super::{start_server, stop, Target};

pub(super) async fn run(model: &FakeModel) {
    let sessions: usize = env_or("BURST_SESSIONS", 100);
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &model.base_url()).await;
    let target = Target::new(server.url.clone(), None);
    let tokens: Vec<_> = (0..64).map(|i| ev_text(&format!("t{i} "))).collect();
    model.set_fallback(sse(tokens
        .into_iter()
        .chain([ev_usage(100, 64), ev_done()])
        .collect()));
    for i in 0..4 {
        target.turn_json(&format!("burst-warm-{i}")).await;
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    let baseline = Reading::of(&server);
    let tasks: Vec<_> = (0..sessions)
        .map(|i| {
            let target = target.clone();
            tokio::spawn(async move { target.turn_json(&format!("burst-{i}")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let ended = Reading::of(&server);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let later = Reading::of(&server);
    // The clients leave: their idle keep-alive connections close.
    drop(target);
    tokio::time::sleep(Duration::from_secs(20)).await;
    let settled = Reading::of(&server);
    println!(
        "http_load: burst of {sessions} concurrent turns: RSS (anonymous part) baseline {:.1} \
         ({:.1}) MiB; per session over it: at the end {}, 10 s later {}, 20 s after the \
         clients closed their connections {}",
        baseline.rss,
        baseline.anon,
        ended.over(&baseline, sessions),
        later.over(&baseline, sessions),
        settled.over(&baseline, sessions),
    );
    stop(server).await;
    model.set_fallback(super::short_answer());
}

/// RSS and its anonymous part, MiB.
struct Reading {
    rss: f64,
    anon: f64,
}

impl Reading {
    fn of(server: &support::binary::ServerProcess) -> Self {
        Self {
            rss: server.rss_mib(),
            anon: server.rss_anon_mib(),
        }
    }

    /// KiB per session over `baseline`, of RSS and of its anonymous part.
    fn over(&self, baseline: &Self, sessions: usize) -> String {
        let per = |now: f64, then: f64| (now - then) * 1024.0 / sessions as f64;
        format!(
            "{:.0} ({:.0}) KiB",
            per(self.rss, baseline.rss),
            per(self.anon, baseline.anon)
        )
    }
}
