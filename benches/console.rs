//! The web console's speed in headless Chromium against the real server: first paint, a
//! 500-message conversation opened and scrolled, and the page while a reply streams at 100
//! tokens/s. The server and its fake model run here; frontend/tests/perf/console-perf.mjs
//! drives the browser and reports.
//!
//! Run: `cargo bench --bench console` (needs node, Chromium and `npm ci --prefix frontend`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use support::bench::block_on;
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::TestServer;

/// Turns in the long conversation (two messages each).
const TURNS: usize = 250;

fn answer(i: usize) -> String {
    format!(
        "Answer {i}: here is a **point**, a list and some code.\n\n- first item\n- second item\n\n```python\nprint({i})\n```\n\nAnd a closing sentence with `inline code`."
    )
}

fn main() {
    block_on(async {
        let model = FakeModel::start().await;
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;

        let (status, _) = server
            .post(
                "/api/conversations",
                &json!({"id": "long", "title": "A long conversation"}),
            )
            .await;
        assert_eq!(status, 200);
        for i in 0..TURNS {
            model.push(sse(vec![ev_text(&answer(i)), ev_done()]));
            let (status, reply) = server
                .post(
                    "/api/chat?client_id=long",
                    &json!({"message": format!("Question {i}"), "stream": false}),
                )
                .await;
            assert_eq!(status, 200, "{reply}");
        }
        // The streamed reply: 1000 tokens, one every 10 ms.
        let mut chunks: Vec<Chunk> = (0..1000)
            .map(|i| {
                let token = if i % 50 == 49 {
                    "word.\n\n".to_owned()
                } else {
                    format!("word{i} ")
                };
                ev_text(&token).with_delay(Duration::from_millis(10))
            })
            .collect();
        chunks.push(ev_done());
        model.push(sse(chunks));

        let output = tokio::process::Command::new("node")
            .arg("tests/perf/console-perf.mjs")
            .arg(&server.url)
            .arg("long")
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/frontend"))
            .output()
            .await
            .expect("node runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            println!("console: {line}");
        }
        server.shutdown().await;
    });
}
