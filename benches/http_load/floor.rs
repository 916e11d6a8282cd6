//! The `floor` phase: what relaying a paced answer costs with nothing of OKCVM in the way.
//!
//! A relay of a few dozen lines on the libraries the server uses (reqwest to the model, warp
//! and hyper to the client, serde_json), on a runtime of its own with two worker threads like
//! the server's (`FLOOR_WORKERS` to change that): for each request it asks the fake model for
//! the `script` phase's paced 64-token answer, parses each chunk's JSON and writes its text to
//! the client as an SSE event. One
//! client, its turns one after another. The relay's CPU (its threads' user and system time
//! from `/proc/self/task`) divided by the turns is the floor under the server's own figure for
//! the same turn (`script`'s text, SSE, 1 client): two sockets' worth of system calls and
//! wake-ups per token, and the parsing and formatting no relay can skip. No history, no
//! numbering, no store, no session.

use std::convert::Infallible;
use std::time::Instant;

use futures::StreamExt;
use serde_json::{json, Value};
use support::bench::{env_or, stat_cpu_ms};
use support::fake_model::FakeModel;
use support::server::SseReader;
use warp::Filter;

use super::script::{answer, TOKENS};

const THREAD_NAME: &str = "relay-floor";

pub(super) async fn run(model: &FakeModel) {
    let turns: usize = env_or("SCRIPT_TURNS", 30);
    model.set_responder(|_| answer(true));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(env_or("FLOOR_WORKERS", 2))
        .thread_name(THREAD_NAME)
        .enable_all()
        .build()
        .unwrap();
    let model_url = format!("{}/chat/completions", model.base_url());
    let (addr, server) = runtime
        .spawn(async move {
            let client = reqwest::Client::new();
            let route = warp::path("relay").map(move || {
                let request = client
                    .post(&model_url)
                    .json(&json!({"model": "fake-model", "stream": true, "messages": []}));
                let events = futures::stream::once(request.send())
                    .flat_map(|response| response.unwrap().bytes_stream())
                    .scan(String::new(), |pending, chunk| {
                        pending.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
                        let mut texts = Vec::new();
                        while let Some(end) = pending.find("\n\n") {
                            let data = pending[..end].trim_start_matches("data: ").to_owned();
                            pending.drain(..end + 2);
                            if let Ok(chunk) = serde_json::from_str::<Value>(&data) {
                                if let Some(text) = chunk["choices"][0]["delta"]["content"].as_str()
                                {
                                    texts.push(text.to_owned());
                                }
                            }
                        }
                        std::future::ready(Some(futures::stream::iter(texts)))
                    })
                    .flatten()
                    .map(|text| {
                        let data = json!({"delta": text}).to_string();
                        Ok::<_, Infallible>(warp::sse::Event::default().event("token").data(data))
                    })
                    .chain(futures::stream::once(async {
                        Ok(warp::sse::Event::default().event("stop").data("{}"))
                    }));
                warp::sse::reply(events)
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            (
                addr,
                tokio::spawn(warp::serve(route).incoming(listener).run()),
            )
        })
        .await
        .unwrap();

    let client = reqwest::Client::new();
    let url = format!("http://{addr}/relay");
    turn(&client, &url).await;
    let before = relay_cpu_ms();
    let started = Instant::now();
    for _ in 0..turns {
        turn(&client, &url).await;
    }
    let cpu = (relay_cpu_ms() - before) / turns as f64;
    println!(
        "http_load: floor: a bare relay of the paced {TOKENS}-token answer, 1 client, {turns} turns in {:.1}s: relay CPU per turn {cpu:.1}ms",
        started.elapsed().as_secs_f64()
    );
    server.abort();
    runtime.shutdown_background();
}

/// One relayed answer, read to its end.
async fn turn(client: &reqwest::Client, url: &str) {
    let response = client.get(url).send().await.unwrap();
    let mut reader = SseReader::new(response);
    let mut tokens = 0;
    while let Some(frame) = reader.next().await {
        match frame.event.as_deref() {
            Some("token") => tokens += 1,
            Some("stop") => break,
            _ => {}
        }
    }
    assert_eq!(tokens, TOKENS, "the relay lost tokens");
}

/// User and system time of this process's relay threads, in milliseconds.
fn relay_cpu_ms() -> f64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(name, _)| name.contains(THREAD_NAME))
        })
        .map(|stat| stat_cpu_ms(&stat))
        .sum()
}
