//! Orchestrator overhead of one turn with two tool calls, the fake model answering at once.
//!
//! For each turn (each in a new, already loaded session): wall time from `start_turn` to the
//! `stop` event, minus the tools' own reported durations. What remains is the loop itself: two model round trips over loopback
//! HTTP (request building, SSE parsing), six durable commits, event fan-out, actor messaging.
//!
//! Run: `cargo bench --bench turn_overhead` (TURNS=500 to change the count).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use okcvm_actors::event::EventKind;
use support::bench::{block_on, env_or, percentile_ms};
use support::fake_model::*;
use support::runtime::*;

fn main() {
    let turns: usize = env_or("TURNS", 300);
    block_on(async move {
        let model = FakeModel::start().await;
        for i in 0..(turns + 20) {
            model.push(sse(vec![
                ev_tool_call(&format!("a{i}"), "mshtools-todo_read", "{}"),
                ev_tool_call(&format!("b{i}"), "mshtools-todo_read", "{}"),
                ev_done(),
            ]));
            model.push(sse(vec![ev_text("done"), ev_usage(10, 1), ev_done()]));
        }
        let dir = tempfile::tempdir().unwrap();
        let runtime = start(test_settings(dir.path(), &model.base_url())).await;
        let mut overheads = Vec::with_capacity(turns);
        for i in 0..(turns + 20) {
            // A fresh conversation per turn, so the figure is the loop's own cost and not the
            // cost of sending an ever longer history; the session is loaded before timing.
            let session = runtime.session(local(&format!("bench-{i}"))).unwrap();
            session.snapshot().await.unwrap();
            let begin = Instant::now();
            let (_, events) = run_turn(&session, say("go")).await;
            let total = begin.elapsed();
            let tools: u64 = events
                .iter()
                .map(|e| match &e.kind {
                    EventKind::ToolCompleted { duration_ms, .. } => *duration_ms,
                    _ => 0,
                })
                .sum();
            if i >= 20 {
                overheads.push(total.saturating_sub(Duration::from_millis(tools)));
            }
        }
        overheads.sort();
        println!(
            "turn_overhead: turns={} p50={:.2}ms p90={:.2}ms p99={:.2}ms (2 tool calls, 2 model calls per turn)",
            overheads.len(),
            percentile_ms(&overheads, 0.50),
            percentile_ms(&overheads, 0.90),
            percentile_ms(&overheads, 0.99),
        );
        runtime.shutdown().await;
    });
}
