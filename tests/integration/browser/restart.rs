//! The shared Chromium going away (a crash) and coming back on the next call, and an idle
//! session's browser context being closed.

use std::time::Duration;

use serde_json::json;
use support::fake_http::{FakeHttp, Reply};
use support::runtime::{local, start, test_settings};

#[tokio::test]
async fn a_crashed_browser_is_started_again_and_idle_contexts_are_closed() {
    let site = FakeHttp::start().await;
    site.on(
        "GET",
        "/",
        Reply::bytes("text/html", b"<title>Up</title><h1>Up</h1>".to_vec()),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), "http://127.0.0.1:9/v1");
    settings.web.allow = vec!["127.0.0.1".into()];
    settings.browser.idle_close_s = 1.0;
    // A flag Chromium ignores marks this server's browser, the one to kill: other tests run
    // browsers in this process too.
    let mark = format!(
        "--okcvm-test-browser={}",
        dir.path().file_name().unwrap().to_string_lossy()
    );
    settings.browser.flags = vec![mark.clone()];
    assert!(
        okcvm_actors::tool::find_chromium(&settings.browser).is_some(),
        "the browser tests need Chromium"
    );
    let runtime = start(settings).await;
    let session = runtime.session(local("r")).unwrap();
    let visit = json!({"citation_id": 0, "url": format!("{}/", site.url)}).to_string();

    let first = session
        .call_tool("browser_visit", &visit)
        .await
        .unwrap()
        .result
        .unwrap();
    assert!(first.text.contains("Page: Up"));
    // The browser dies.
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", "--", &mark])
        .status()
        .unwrap();
    assert!(killed.success(), "a browser was running");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lost = session
        .call_tool("browser_state", "{}")
        .await
        .unwrap()
        .result
        .unwrap_err();
    assert!(lost.to_string().contains("visit the page again"), "{lost}");
    let again = session
        .call_tool("browser_visit", &visit)
        .await
        .unwrap()
        .result
        .unwrap();
    assert!(
        again.text.contains("Page: Up"),
        "the browser came back: {}",
        again.text
    );

    // Unused for longer than browser.idle_close_s, the session's context is closed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let closed = session
        .call_tool("browser_state", "{}")
        .await
        .unwrap()
        .result
        .unwrap_err();
    assert!(closed.to_string().contains("no page is open"), "{closed}");
    runtime.shutdown().await;
}
