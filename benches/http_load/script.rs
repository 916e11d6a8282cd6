//! The `script` phase: a model with a realistic pace, and what the server adds to it.
//!
//! Every answer is 64 tokens (the first after 100 ms, then one every 10 ms), each stamped by
//! the fake model with the time it wrote it. A text turn is one answer; a tool turn is a
//! `shell` call of `echo hi` (asked for after 100 ms), then an answer. Each client has its own
//! session and runs its turns one after another. For each level it reports the server's CPU
//! per turn (from `/proc`, every thread), turns/s against the limit the model's pace sets, the
//! overhead (latency minus the model's scripted time) and how long the first token took from
//! the model to the client. Then the same answers without any model time, for throughput.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::bench::{env_or, percentile_ms};
use support::binary::ServerProcess;
use support::fake_model::*;
use support::server::SseReader;

use super::Target;

pub(super) const TOKENS: usize = 64;
const FIRST: Duration = Duration::from_millis(100);
const EVERY: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Tool,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Json,
    Sse,
}

/// What one finished turn measured.
struct Measured {
    latency: Duration,
    /// From the model writing the first token to the client reading it (SSE only).
    first_token: Option<Duration>,
    /// The tool calls' own time, as the server reported it (`duration_ms`).
    tools: Duration,
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

pub(super) fn answer(paced: bool) -> Response {
    let chunks = (0..TOKENS)
        .map(|i| match (paced, i) {
            (false, _) => ev_timestamp(),
            (true, 0) => ev_timestamp().with_delay(FIRST),
            (true, _) => ev_timestamp().with_delay(EVERY),
        })
        .chain([ev_usage(100, TOKENS as u64), ev_done()])
        .collect();
    sse(chunks)
}

/// The model's own time for one turn.
fn model_time(kind: Kind, paced: bool) -> Duration {
    let answer = FIRST + EVERY * (TOKENS as u32 - 1);
    match (paced, kind) {
        (false, _) => Duration::ZERO,
        (true, Kind::Text) => answer,
        (true, Kind::Tool) => FIRST + answer,
    }
}

/// Scripts the model: for tool turns, a `shell` call until the conversation ends in a tool
/// result, then the answer.
fn script(model: &FakeModel, kind: Kind, paced: bool) {
    let calls = AtomicU64::new(0);
    model.set_responder(move |body: &Value| {
        let last_role = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["role"].as_str());
        if kind == Kind::Text || last_role == Some("tool") {
            return answer(paced);
        }
        let id = format!("call-{}", calls.fetch_add(1, Ordering::Relaxed));
        let call = ev_tool_call(&id, "mshtools-shell", r#"{"command":"echo hi"}"#);
        let call = if paced { call.with_delay(FIRST) } else { call };
        sse(vec![call, ev_usage(100, 10), ev_done()])
    });
}

async fn turn(target: &Target, session: &str, mode: Mode) -> Measured {
    let started = Instant::now();
    let response = target
        .post(&format!("/api/chat?client_id={session}"))
        .header(
            "accept",
            match mode {
                Mode::Json => "application/json",
                Mode::Sse => "text/event-stream",
            },
        )
        .json(&json!({"message": "go", "stream": mode == Mode::Sse}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    if mode == Mode::Json {
        let payload: Value = response.json().await.unwrap();
        let latency = started.elapsed();
        let tools = payload["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|call| reported_ms(&call["duration_ms"]))
            .sum();
        return Measured {
            latency,
            first_token: None,
            tools,
        };
    }
    let mut reader = SseReader::new(response);
    let mut first_token = None;
    let mut tools = Duration::ZERO;
    while let Some(frame) = reader.next().await {
        match frame.event.as_deref() {
            Some("tool_completed") => tools += reported_ms(&frame.data["duration_ms"]),
            Some("token") if first_token.is_none() => {
                let now = now_micros();
                let delta = frame.data["delta"].as_str().unwrap_or("");
                first_token = delta
                    .split(';')
                    .find_map(|s| s.strip_prefix('@'))
                    .and_then(|stamp| stamp.parse::<u128>().ok())
                    .map(|sent| Duration::from_micros(now.saturating_sub(sent) as u64));
            }
            Some("stop") => break,
            _ => {}
        }
    }
    Measured {
        latency: started.elapsed(),
        first_token,
        tools,
    }
}

fn reported_ms(value: &Value) -> Duration {
    Duration::from_millis(value.as_u64().expect("a tool call's duration_ms"))
}

/// `clients` clients, `turns` turns in all; prints one line.
async fn level(
    target: &Arc<Target>,
    server: Option<&ServerProcess>,
    (kind, mode, paced): (Kind, Mode, bool),
    clients: usize,
    turns: usize,
) {
    let label = format!(
        "{}-{}-{}",
        match kind {
            Kind::Text => "text",
            Kind::Tool => "tool",
        },
        match mode {
            Mode::Json => "json",
            Mode::Sse => "sse",
        },
        if paced { "paced" } else { "instant" }
    );
    let per_client = (turns / clients).max(1);
    let sessions: Vec<String> = (0..clients)
        .map(|c| format!("script-{label}-{clients}-{c}"))
        .collect();
    // Each session exists and has had a turn before timing.
    let warm: Vec<_> = sessions
        .iter()
        .map(|session| {
            let (target, session) = (target.clone(), session.clone());
            tokio::spawn(async move { turn(&target, &session, mode).await })
        })
        .collect();
    for task in warm {
        task.await.unwrap();
    }
    let cpu_before = server.map(ServerProcess::cpu_ms);
    let started = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|session| {
            let target = target.clone();
            tokio::spawn(async move {
                let mut measured = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    measured.push(turn(&target, &session, mode).await);
                }
                measured
            })
        })
        .collect();
    let mut measured = Vec::new();
    for task in tasks {
        measured.extend(task.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = match (server, cpu_before) {
        (Some(server), Some(before)) => format!(
            "{:.1}ms",
            (server.cpu_ms() - before) / measured.len() as f64
        ),
        _ => "n/a".into(),
    };
    let scripted = model_time(kind, paced);
    let mut overheads: Vec<Duration> = measured
        .iter()
        .map(|m| m.latency.saturating_sub(scripted))
        .collect();
    overheads.sort();
    let mut firsts: Vec<Duration> = measured.iter().filter_map(|m| m.first_token).collect();
    firsts.sort();
    let limit = if paced {
        format!(
            " (model-bound limit {:.0})",
            clients as f64 / scripted.as_secs_f64()
        )
    } else {
        String::new()
    };
    let first = if firsts.is_empty() {
        String::new()
    } else {
        format!(
            " first token relayed p50={:.2}ms p99={:.2}ms",
            percentile_ms(&firsts, 0.50),
            percentile_ms(&firsts, 0.99)
        )
    };
    // A tool turn's overhead, split: the tool's own time and the rest.
    let tools = if kind == Kind::Tool {
        let mut tools: Vec<Duration> = measured.iter().map(|m| m.tools).collect();
        tools.sort();
        format!(
            " (of which the tool itself p50={:.1}ms)",
            percentile_ms(&tools, 0.50)
        )
    } else {
        String::new()
    };
    println!(
        "http_load: script {label} clients={clients:>3} turns={} turns/s={:.1}{limit} cpu/turn={cpu} overhead p50={:.1}ms p99={:.1}ms{tools}{first}",
        measured.len(),
        measured.len() as f64 / wall,
        percentile_ms(&overheads, 0.50),
        percentile_ms(&overheads, 0.99),
    );
}

pub(super) async fn run(model: &FakeModel, target: &Arc<Target>, server: Option<&ServerProcess>) {
    let levels: String = env_or("SCRIPT_CLIENTS", "1,8,32,128".to_string());
    let levels: Vec<usize> = levels
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let turns: usize = env_or("SCRIPT_TURNS", 30);
    let instant_turns: usize = env_or("SCRIPT_INSTANT_TURNS", 1000);

    script(model, Kind::Text, true);
    level(target, server, (Kind::Text, Mode::Json, true), 1, turns).await;
    for &clients in &levels {
        level(
            target,
            server,
            (Kind::Text, Mode::Sse, true),
            clients,
            turns.max(clients),
        )
        .await;
    }
    script(model, Kind::Tool, true);
    for &clients in &levels {
        level(
            target,
            server,
            (Kind::Tool, Mode::Sse, true),
            clients,
            turns.max(clients),
        )
        .await;
    }
    script(model, Kind::Text, false);
    level(
        target,
        server,
        (Kind::Text, Mode::Json, false),
        8,
        instant_turns,
    )
    .await;
    script(model, Kind::Tool, false);
    level(
        target,
        server,
        (Kind::Tool, Mode::Json, false),
        8,
        instant_turns / 4,
    )
    .await;
    level(target, server, (Kind::Tool, Mode::Json, false), 1, turns).await;
}
