//! Tool call costs through a session (`SessionHandle::call_tool`, as `okcvm tools call` does):
//! a Python cell `1+1` on a warm interpreter, a trivial shell command, and deploying a 5 MB
//! site.
//!
//! Run: `cargo bench --bench tools` (CALLS=200 to change the count).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::runtime::*;

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |p: f64| {
        samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.99))
}

fn main() {
    let calls: usize = std::env::var("CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let runtime = start(test_settings(dir.path(), "http://127.0.0.1:9/v1")).await;
        let session = runtime.session(local("bench")).unwrap();

        let python = r#"{"code": "1+1"}"#;
        session.call_tool("ipython", python).await.unwrap();
        let mut samples = Vec::new();
        for _ in 0..calls {
            let started = Instant::now();
            let outcome = session.call_tool("ipython", python).await.unwrap();
            samples.push(started.elapsed());
            assert_eq!(outcome.result.unwrap().text, "Out: 2");
        }
        let (p50, p99) = percentiles(samples);
        println!("tools: ipython 1+1 on a warm interpreter: p50={p50:.2}ms p99={p99:.2}ms ({calls} calls)");

        let mut samples = Vec::new();
        for _ in 0..calls {
            let started = Instant::now();
            session.call_tool("shell", r#"{"command": "true"}"#).await.unwrap().result.unwrap();
            samples.push(started.elapsed());
        }
        let (p50, p99) = percentiles(samples);
        println!("tools: shell `true`: p50={p50:.2}ms p99={p99:.2}ms ({calls} calls)");

        let site = dir.path().join("workspaces/local/bench/output/site");
        std::fs::create_dir_all(site.join("assets")).unwrap();
        std::fs::write(site.join("index.html"), "<h1>bench</h1>").unwrap();
        for i in 0..50 {
            std::fs::write(site.join(format!("assets/a{i}.bin")), vec![i as u8; 100 * 1024]).unwrap();
        }
        let mut samples = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let outcome = session
                .call_tool("deploy_website", r#"{"type": "static", "local_dir": "/mnt/okcomputer/output/site"}"#)
                .await
                .unwrap();
            samples.push(started.elapsed());
            outcome.result.unwrap();
        }
        let (p50, p99) = percentiles(samples);
        println!("tools: deploy_website of a 5 MB, 51-file site: p50={p50:.1}ms p99={p99:.1}ms (10 deploys)");
        runtime.shutdown().await;
    });
}
