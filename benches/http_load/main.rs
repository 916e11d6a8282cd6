//! A load driver for the HTTP API, against the real `okcvm` binary (or any server speaking
//! the API) with the fake model on loopback.
//!
//! Measures: cold start to ready; turns/s and per-turn latency p50/p99 at 1, 8, 32 and 128
//! concurrent sessions (JSON chat, the model answering at once); time from request to the
//! first relayed token (SSE chat); the delay each token takes from the model to the client
//! with 1,000 concurrent SSE streams, after each stream's first token (the fake model stamps
//! every token with the time it wrote it); server RSS with 10,000 stored sessions, and cold start with them;
//! the memory a burst of 100 concurrent turns leaves behind (`burst.rs`).
//! The `script` phase plays a model with a realistic pace (64-token answers, the first token
//! after 100 ms, then one every 10 ms; tool turns ask for one `shell` call of `echo hi`
//! first) to 1 to 128 clients, each in its own session, and reports the server's CPU per
//! turn, the overhead each turn adds to the model's own time, turns/s against the model-bound
//! limit, and the delay of the first relayed token; then the same answers at once (no model
//! time) to 8 clients, for turns/s. The `floor` phase relays the same paced answer through a
//! bare relay on the same libraries (`floor.rs`), for the part of a turn's CPU no server of
//! this kind can avoid on this machine.
//!
//! Run: `cargo bench --bench http_load`. Knobs (environment):
//! - `OKCVM_LOAD_URL=http://host:port`: drive that server instead of starting one (its chat
//!   model must be this driver's fake model, started on `OKCVM_LOAD_MODEL_PORT`, for token
//!   delays to mean anything); start and memory phases are skipped then.
//! - `OKCVM_LOAD_TOKEN`: a bearer token for servers with `auth.mode: tokens`.
//! - `TURNS` (per level, default 400), `STREAMS` (1000), `TOKENS` (20 per stream),
//!   `TOKEN_MS` (interval between a stream's tokens, 50),
//!   `STORED` (10000), `PHASES` (comma list of start,turns,first_token,streams,memory,burst,
//!   script,floor; all but script and floor by default), `SCRIPT_CLIENTS` (1,8,32,128),
//!   `SCRIPT_TURNS` (turns per level, at least one per client: 30), `BURST_SESSIONS` (100),
//!   `FLOOR_WORKERS` (the bare relay's runtime workers, 2).
//! - `OKCVM_LOAD_BINARY=path`: start that `okcvm` binary instead of the one built with this
//!   benchmark (to compare two builds on the same driver).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::bench::{block_on, env_or, percentile_ms};
use support::binary::ServerProcess;
use support::fake_model::*;
use support::server::SseReader;

mod burst;
mod floor;
mod script;

struct Target {
    url: String,
    client: reqwest::Client,
    token: Option<String>,
}

impl Target {
    /// A driver of the server at `url`, with a connection pool wide enough for every worker.
    fn new(url: String, token: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            url,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(2048)
                .build()
                .unwrap(),
            token,
        })
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.post(format!("{}{path}", self.url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.get(format!("{}{path}", self.url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Waits until `/api/health` no longer says `sandbox: preparing`.
    async fn wait_for_the_jail(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let health: serde_json::Value = self
                .get("/api/health")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if health["sandbox"] != "preparing" {
                return;
            }
            assert!(Instant::now() < deadline, "the jail was never built");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn turn_json(&self, session: &str) -> Duration {
        let started = Instant::now();
        let response = self
            .post(&format!("/api/chat?client_id={session}"))
            .json(&json!({"message": "hello", "stream": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
        response.bytes().await.unwrap();
        started.elapsed()
    }
}

/// The model's answer unless a phase scripts another: one token.
fn short_answer() -> Response {
    sse(vec![ev_text("ok"), ev_usage(10, 1), ev_done()])
}

async fn start_server(data_dir: &std::path::Path, model_url: &str) -> ServerProcess {
    let binary = std::env::var("OKCVM_LOAD_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_okcvm").to_string());
    support::binary::start(
        binary,
        data_dir,
        model_url,
        &[("OKCVM_SESSIONS__IDLE_HIBERNATE_S", "5")],
    )
    .await
}

async fn stop(server: ServerProcess) {
    server.terminate().await;
}

fn raise_open_files() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

fn main() {
    raise_open_files();
    block_on(drive());
}

async fn drive() {
    let phases: String = env_or(
        "PHASES",
        "start,turns,first_token,streams,memory,burst".to_string(),
    );
    let has = |p: &str| phases.split(',').any(|x| x.trim() == p);
    let model = FakeModel::start_on(env_or("OKCVM_LOAD_MODEL_PORT", 0)).await;
    model.forget_requests();
    model.set_fallback(short_answer());
    let external: Option<String> = std::env::var("OKCVM_LOAD_URL").ok();
    let dir = tempfile::tempdir().unwrap();

    let (server, url) = match &external {
        Some(url) => {
            println!(
                "http_load: driving {url}; its chat model should be {}",
                model.base_url()
            );
            (None, url.clone())
        }
        None => {
            let server = start_server(dir.path(), &model.base_url()).await;
            if has("start") {
                let (at_ready, own) = (server.rss_mib(), server.rss_anon_mib());
                // By then the jail is built and the TLS roots are read, on their own threads.
                tokio::time::sleep(Duration::from_secs(1)).await;
                println!(
                    "http_load: cold start to ready (empty data dir): {:.0} ms; RSS at ready \
                     {at_ready:.1} MiB ({own:.1} MiB of it anonymous), 1 s later {:.1} MiB \
                     ({:.1} MiB anonymous)",
                    server.ready_after.as_secs_f64() * 1000.0,
                    server.rss_mib(),
                    server.rss_anon_mib(),
                );
            }
            let url = server.url.clone();
            (Some(server), url)
        }
    };
    let target = Target::new(url, std::env::var("OKCVM_LOAD_TOKEN").ok());
    // The jail is built beside the server's start, on a thread of its own; what follows
    // measures turns, so it waits for that work to be over rather than count it.
    target.wait_for_the_jail().await;

    if has("turns") {
        let turns: usize = env_or("TURNS", 400);
        for concurrency in [1usize, 8, 32, 128] {
            let total = turns.max(concurrency * 4);
            // Warm-up: each worker's session exists before timing.
            let mut warm = Vec::new();
            for w in 0..concurrency {
                let target = target.clone();
                warm.push(tokio::spawn(async move {
                    target.turn_json(&format!("load-c{concurrency}-w{w}")).await
                }));
            }
            for task in warm {
                task.await.unwrap();
            }
            let started = Instant::now();
            let per_worker = total / concurrency;
            let mut tasks = Vec::new();
            for w in 0..concurrency {
                let target = target.clone();
                tasks.push(tokio::spawn(async move {
                    let session = format!("load-c{concurrency}-w{w}");
                    let mut latencies = Vec::with_capacity(per_worker);
                    for _ in 0..per_worker {
                        latencies.push(target.turn_json(&session).await);
                    }
                    latencies
                }));
            }
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            let wall = started.elapsed().as_secs_f64();
            latencies.sort();
            println!(
                "http_load: concurrency={concurrency:>3} turns={} turns/s={:.0} latency p50={:.2}ms p99={:.2}ms",
                latencies.len(),
                latencies.len() as f64 / wall,
                percentile_ms(&latencies, 0.50),
                percentile_ms(&latencies, 0.99),
            );
        }
    }

    if has("first_token") {
        let mut firsts = Vec::new();
        for i in 0..100 {
            let started = Instant::now();
            let response = target
                .post(&format!("/api/chat?client_id=first-{i}"))
                .header("accept", "text/event-stream")
                .json(&json!({"message": "hi"}))
                .send()
                .await
                .unwrap();
            let mut reader = SseReader::new(response);
            loop {
                let frame = reader.next().await.expect("stream");
                if frame.event.as_deref() == Some("token") {
                    firsts.push(started.elapsed());
                }
                if frame.event.as_deref() == Some("stop") {
                    break;
                }
            }
        }
        firsts.sort();
        println!(
            "http_load: request to first relayed token over SSE: p50={:.2}ms p99={:.2}ms (100 turns)",
            percentile_ms(&firsts, 0.50),
            percentile_ms(&firsts, 0.99)
        );
    }

    if has("streams") {
        let streams: usize = env_or("STREAMS", 1000);
        let tokens: usize = env_or("TOKENS", 20);
        let interval = Duration::from_millis(env_or("TOKEN_MS", 50));
        // Streams are not in step with each other: each starts at its own offset within the
        // token interval.
        for i in 0..streams {
            let offset = interval * i as u32 / streams as u32;
            let answer: Vec<_> = (0..tokens)
                .map(|t| {
                    let wait = if t == 0 { offset } else { interval };
                    ev_timestamp().with_delay(wait)
                })
                .chain([ev_done()])
                .collect();
            model.push(sse(answer));
        }
        // The sessions exist before the turns start, as they do for clients following
        // running conversations.
        let mut warm = Vec::new();
        for i in 0..streams {
            let target = target.clone();
            warm.push(tokio::spawn(async move {
                target
                    .get(&format!("/api/session/boot?client_id=stream-{i}"))
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
            }));
        }
        for task in warm {
            task.await.unwrap();
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..streams {
            let target = target.clone();
            tasks.push(tokio::spawn(async move {
                let response = target
                    .post(&format!("/api/chat?client_id=stream-{i}"))
                    .header("accept", "text/event-stream")
                    .json(&json!({"message": "stream"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let mut reader = SseReader::new(response);
                let mut delays = Vec::new();
                let mut first = true;
                while let Some(frame) = reader.next().await {
                    if frame.event.as_deref() == Some("token") && std::mem::take(&mut first) {
                        // The first token carries the turn's start-up (its own figure above).
                        continue;
                    }
                    if frame.event.as_deref() == Some("token") {
                        let now = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .unwrap()
                            .as_micros();
                        let delta = frame.data["delta"].as_str().unwrap_or("");
                        for stamp in delta.split(';').filter_map(|s| s.strip_prefix('@')) {
                            let sent: u128 = stamp.parse().unwrap();
                            delays.push(Duration::from_micros(now.saturating_sub(sent) as u64));
                        }
                    }
                    if frame.event.as_deref() == Some("stop") {
                        break;
                    }
                }
                delays
            }));
        }
        let mut delays = Vec::new();
        for task in tasks {
            delays.extend(task.await.unwrap());
        }
        delays.sort();
        println!(
            "http_load: {streams} concurrent SSE streams, a token every {} ms each, {} tokens after each stream's first, relayed in {:.1}s: added delay per token p50={:.2}ms p99={:.2}ms max={:.2}ms",
            interval.as_millis(),
            delays.len(),
            started.elapsed().as_secs_f64(),
            percentile_ms(&delays, 0.50),
            percentile_ms(&delays, 0.99),
            percentile_ms(&delays, 1.0),
        );
    }

    if has("script") {
        script::run(&model, &target, server.as_ref()).await;
        model.clear_responder();
    }

    if has("floor") {
        floor::run(&model).await;
        model.clear_responder();
    }

    if external.is_none() && has("burst") {
        burst::run(&model).await;
    }

    if let (Some(server), true) = (server, has("memory")) {
        let stored: usize = env_or("STORED", 10_000);
        let before = server.rss_mib();
        let created = Instant::now();
        let mut tasks = Vec::new();
        let per_worker = stored / 32;
        for w in 0..32 {
            let target = target.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per_worker {
                    target.turn_json(&format!("stored-{w}-{i}")).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let after_create = server.rss_mib();
        // Hibernation after 5 s idle; give it time, then read again.
        tokio::time::sleep(Duration::from_secs(8)).await;
        let hibernated = server.rss_mib();
        stop(server).await;
        let restarted = start_server(dir.path(), &model.base_url()).await;
        let cold = restarted.ready_after;
        let fresh = restarted.rss_mib();
        println!(
            "http_load: {} stored sessions created in {:.1}s; server RSS before={before:.1}MiB after={after_create:.1}MiB hibernated={hibernated:.1}MiB; restarted with them: ready in {:.0} ms, RSS={fresh:.1}MiB",
            per_worker * 32,
            created.elapsed().as_secs_f64(),
            cold.as_secs_f64() * 1000.0,
        );
        stop(restarted).await;
    }
}
