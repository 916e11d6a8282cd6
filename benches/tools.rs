//! Tool call costs through a session (`SessionHandle::call_tool`, as `okcvm tools call` does):
//! a Python cell `1+1` on a warm interpreter, a trivial shell command (a new jail each time),
//! a 1 MB download from a loopback server through the jail's proxy next to the same download
//! made directly on the host, deploying a 5 MB site, a 5-query web search against a provider
//! that takes 100 ms, and turning a 20-slide page into a deck.
//!
//! Run: `cargo bench --bench tools` (CALLS=200 to change the count).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use support::bench::{block_on, env_or, percentile_ms};
use support::runtime::*;

/// p50 and p99 of `samples`, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    (percentile_ms(&samples, 0.5), percentile_ms(&samples, 0.99))
}

fn main() {
    let calls: usize = env_or("CALLS", 200);
    block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        // A search provider on loopback answering after 100 ms, as a remote one might.
        let provider = support::fake_http::FakeHttp::start().await;
        provider.on(
            "GET",
            "/search",
            support::fake_http::Reply::json(serde_json::json!({"results": [
                {"title": "A result", "url": "https://example.com/a", "content": "text"}
            ]}))
            .after(Duration::from_millis(100)),
        );
        let mut settings = test_settings(dir.path(), "http://127.0.0.1:9/v1");
        settings.web.allow = vec!["127.0.0.1".into(), "127.0.0.2".into()];
        settings.search = Some(okcvm_actors::config::SearchSettings {
            provider: okcvm_actors::config::SearchProvider::Searxng,
            base_url: Some(provider.url.clone()),
            api_key: None,
            api_key_env: None,
        });
        let runtime = start(settings).await;
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
            session
                .call_tool("shell", r#"{"command": "true"}"#)
                .await
                .unwrap()
                .result
                .unwrap();
            samples.push(started.elapsed());
        }
        let (p50, p99) = percentiles(samples);
        println!("tools: shell `true`: p50={p50:.2}ms p99={p99:.2}ms ({calls} calls)");

        // 1 MB from a server on 127.0.0.2 (not the jail's own loopback, so through the proxy),
        // timed by curl itself: the transfer only, not curl's start.
        let megabyte = support::fixed_server::FixedServer::start(
            "127.0.0.2",
            "application/octet-stream",
            vec![b'x'; 1 << 20],
        );
        let megabyte = format!("127.0.0.2:{}", megabyte.port);
        let downloads = 30;
        let command = format!(
            "for i in $(seq {downloads}); do curl -s -o /dev/null -w '%{{time_total}}\\n' http://{megabyte}/; done"
        );
        let jailed = session
            .call_tool(
                "shell",
                &serde_json::json!({"command": command}).to_string(),
            )
            .await
            .unwrap()
            .result
            .unwrap()
            .text;
        let direct = std::process::Command::new("bash")
            .args(["-c", &command])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .output()
            .unwrap();
        let seconds = |text: &str| -> Vec<Duration> {
            text.lines()
                .filter_map(|l| l.trim().parse::<f64>().ok())
                .map(Duration::from_secs_f64)
                .collect()
        };
        let (jail_p50, jail_p99) = percentiles(seconds(&jailed));
        let (host_p50, host_p99) = percentiles(seconds(&String::from_utf8_lossy(&direct.stdout)));
        println!("tools: 1 MB over loopback by curl, through the jail's proxy: p50={jail_p50:.2}ms p99={jail_p99:.2}ms; directly on the host: p50={host_p50:.2}ms p99={host_p99:.2}ms ({downloads} downloads)");

        let site = dir.path().join("workspaces/local/bench/output/site");
        std::fs::create_dir_all(site.join("assets")).unwrap();
        std::fs::write(site.join("index.html"), "<h1>bench</h1>").unwrap();
        for i in 0..50 {
            std::fs::write(
                site.join(format!("assets/a{i}.bin")),
                vec![i as u8; 100 * 1024],
            )
            .unwrap();
        }
        let mut samples = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let outcome = session
                .call_tool(
                    "deploy_website",
                    r#"{"type": "static", "local_dir": "/mnt/okcomputer/output/site"}"#,
                )
                .await
                .unwrap();
            samples.push(started.elapsed());
            outcome.result.unwrap();
        }
        let (p50, p99) = percentiles(samples);
        println!("tools: deploy_website of a 5 MB, 51-file site: p50={p50:.1}ms p99={p99:.1}ms (10 deploys)");

        let mut samples = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let outcome = session
                .call_tool("web_search", r#"{"queries": ["a", "b", "c", "d", "e"]}"#)
                .await
                .unwrap();
            samples.push(started.elapsed());
            outcome.result.unwrap();
        }
        let (p50, p99) = percentiles(samples);
        println!("tools: web_search of 5 queries, provider latency 100 ms: p50={p50:.1}ms p99={p99:.1}ms (20 calls)");

        let workspace = dir.path().join("workspaces/local/bench");
        std::fs::write(workspace.join("deck.html"), deck_html(20)).unwrap();
        let mut samples = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let outcome = session
                .call_tool("slides_generator", r#"{"file_path": "deck.html"}"#)
                .await
                .unwrap();
            samples.push(started.elapsed());
            assert!(outcome.result.unwrap().text.contains("20 slides"));
        }
        let (p50, p99) = percentiles(samples);
        println!("tools: slides_generator, 20 Tailwind slides (cards, lists, a table): p50={p50:.1}ms p99={p99:.1}ms (10 decks)");
        runtime.shutdown().await;
    });
}

/// A page of `slides` slides in the style models write: a title, three cards, a list, a table.
fn deck_html(slides: usize) -> String {
    let mut html = String::from(
        r#"<html><head><title>Bench</title><script src="https://cdn.tailwindcss.com"></script>
<style type="text/tailwindcss">@layer utilities { .ppt-slide { @apply relative w-[1024px] h-[576px] p-[30px]; } }</style>
</head><body>"#,
    );
    for i in 0..slides {
        html.push_str(&format!(
            r#"<div class="ppt-slide bg-gradient-to-br from-slate-50 to-blue-50">
<h2 class="text-3xl font-bold text-slate-800 mb-6">Slide {i}</h2>
<div class="grid grid-cols-3 gap-6 mb-6">{cards}</div>
<div class="flex gap-6"><ul class="list-disc pl-5 space-y-2 flex-1"><li>First point with <strong>bold</strong> text</li><li>Second point<ul class="pl-5"><li>Nested</li></ul></li><li>Third point</li></ul>
<table class="w-1/2 text-sm"><tr class="bg-slate-800 text-white"><th class="p-2">A</th><th class="p-2">B</th></tr><tr class="border-b"><td class="p-2">1</td><td class="p-2">2</td></tr></table></div>
<aside class="notes">Notes for slide {i}.</aside></div>"#,
            cards = r#"<div class="bg-white rounded-xl p-6 border-t-4 border-blue-500"><div class="text-4xl font-bold text-blue-600">42%</div><p class="text-sm text-slate-600">A short explanation of the figure.</p></div>"#.repeat(3)
        ));
    }
    html.push_str("</body></html>");
    html
}
