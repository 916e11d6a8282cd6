//! The browser tools' costs in real headless Chromium: a warm `browser_visit` of a local page
//! (target under 300 ms), and the memory each session's browser context with one page adds.
//!
//! Run: `cargo bench --bench browser` (needs Chromium).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use support::bench::block_on;
use support::fake_http::{FakeHttp, Reply};
use support::runtime::{local, start, test_settings};

/// Proportional memory (PSS: shared pages divided between the processes sharing them, so the
/// sum is real) of every Chromium process this server started, in KiB (from /proc).
fn chromium_rss_kib() -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        // Chromium's processes (its profile is on its jail's /tmp), not the jail around them.
        let cmdline = String::from_utf8_lossy(&cmdline);
        if !cmdline.contains("user-data-dir=/tmp/profile")
            || cmdline.contains("bwrap")
            || cmdline.contains("jail-bridge")
        {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("smaps_rollup")).unwrap_or_default();
        if let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
        {
            total += kib;
        }
    }
    total
}

fn main() {
    block_on(async {
        let site = FakeHttp::start().await;
        let mut page = String::from("<title>Local page</title><main><h1>A local page</h1>");
        for i in 0..50 {
            page.push_str(&format!(
                "<p>Paragraph {i} with <a href=\"/p{i}\">a link</a>.</p>"
            ));
        }
        site.on("GET", "/", Reply::bytes("text/html", page.into_bytes()));
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(dir.path(), "http://127.0.0.1:9/v1");
        settings.web.allow = vec!["127.0.0.1".into()];
        let runtime = start(settings).await;
        let session = runtime.session(local("bench")).unwrap();
        let visit = json!({"citation_id": 0, "url": format!("{}/", site.url)}).to_string();

        let started = Instant::now();
        session
            .call_tool("browser_visit", &visit)
            .await
            .unwrap()
            .result
            .unwrap();
        println!(
            "browser: first browser_visit (starting Chromium): {:.0} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
        let mut samples: Vec<Duration> = Vec::new();
        for _ in 0..30 {
            let started = Instant::now();
            session
                .call_tool("browser_visit", &visit)
                .await
                .unwrap()
                .result
                .unwrap();
            samples.push(started.elapsed());
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "browser: warm browser_visit of a local page: p50={:.1}ms p99={:.1}ms (30 visits)",
            ms(samples[samples.len() / 2]),
            ms(samples[samples.len() - 1])
        );

        let before = chromium_rss_kib();
        let contexts = 10;
        for i in 0..contexts {
            let other = runtime.session(local(&format!("ctx{i}"))).unwrap();
            other
                .call_tool("browser_visit", &visit)
                .await
                .unwrap()
                .result
                .unwrap();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = chromium_rss_kib();
        println!(
            "browser: memory per session context with one page open: {:.1} MiB ({} contexts; Chromium's proportional total {:.0} -> {:.0} MiB)",
            after.saturating_sub(before) as f64 / 1024.0 / contexts as f64,
            contexts,
            before as f64 / 1024.0,
            after as f64 / 1024.0
        );
        runtime.shutdown().await;
    });
}
