//! A session's resources (its Python interpreter, pages and citations) belong to it alone and
//! go when it hibernates or its history is cleared.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{SearchProvider, SearchSettings, Settings};
use crate::tool::test_support::{eventually, kernel_alive, kernel_lock, HOLD_LOCK};
use crate::tool::{ToolError, ToolOutput};
use crate::{Runtime, SessionHandle, SessionKey};

/// A search provider (SearXNG's JSON API) with one result, and the page it points to.
async fn search_site() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let page = format!("{base}/kiwi");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let page = page.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                let (kind, body) = if head.starts_with(b"GET /search") {
                    let results = json!({"results": [
                        {"title": "Kiwis", "url": page, "content": "about kiwis"}
                    ]});
                    ("application/json", results.to_string())
                } else {
                    (
                        "text/html",
                        "<title>Kiwi page</title><p>Kiwis are birds.</p>".to_owned(),
                    )
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

/// A runtime whose search provider is `search`, without Chromium (pages are fetched), whose
/// sessions hibernate after `idle_s` unused.
async fn runtime(dir: &std::path::Path, search: &str, idle_s: f64) -> Runtime {
    let mut settings = Settings {
        data_dir: dir.to_path_buf(),
        search: Some(SearchSettings {
            provider: SearchProvider::Searxng,
            base_url: Some(search.to_owned()),
            api_key: None,
            api_key_env: None,
        }),
        ..Settings::default()
    };
    settings.web.allow = vec!["127.0.0.1".into()];
    settings.browser.path = Some("/nonexistent/chromium".into());
    settings.sessions.idle_hibernate_s = idle_s;
    Runtime::start(settings).await.unwrap()
}

async fn call(session: &SessionHandle, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
    session
        .call_tool(tool, &args.to_string())
        .await
        .unwrap()
        .result
}

/// Gives the session a citation, a page open on it and an interpreter holding its lock.
async fn use_resources(session: &SessionHandle) {
    let found = call(session, "web_search", json!({"queries": ["kiwi"]}))
        .await
        .unwrap();
    assert_eq!(
        found.data.unwrap()["searches"][0]["results"][0]["citation_id"],
        1
    );
    let page = call(
        session,
        "browser_visit",
        json!({"citation_id": 1, "url": ""}),
    )
    .await
    .unwrap();
    assert!(page.text.contains("Page: Kiwi page"), "{}", page.text);
    call(session, "ipython", json!({ "code": HOLD_LOCK }))
        .await
        .unwrap();
}

/// The session has no citation, no page and a fresh interpreter.
async fn assert_fresh(session: &SessionHandle) {
    let cited = call(
        session,
        "browser_visit",
        json!({"citation_id": 1, "url": ""}),
    )
    .await
    .unwrap_err();
    assert!(cited.to_string().contains("is not an address"), "{cited}");
    let state = call(session, "browser_state", json!({})).await.unwrap_err();
    assert!(state.to_string().contains("no page is open"), "{state}");
    let kernel = call(session, "ipython", json!({"code": "marker"}))
        .await
        .unwrap();
    assert!(kernel.text.contains("NameError"), "{}", kernel.text);
}

#[tokio::test]
async fn a_hibernating_session_lets_go_of_its_interpreter_pages_and_citations() {
    let dir = tempfile::tempdir().unwrap();
    let search = search_site().await;
    let runtime = runtime(dir.path(), &search, 2.0).await;
    let key = SessionKey::new("local", "sleepy");
    let root = runtime.workspace_dir(&key);
    let session = runtime.session(key).unwrap();
    use_resources(&session).await;
    let lock = kernel_lock(&root);
    assert!(kernel_alive(&lock));

    let deadline = Instant::now() + Duration::from_secs(20);
    while runtime.live_sessions().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the session did not hibernate");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eventually("the interpreter exiting", || !kernel_alive(&lock)).await;
    assert_fresh(&session).await;
    runtime.shutdown().await;
}

#[tokio::test]
async fn clearing_a_session_lets_go_of_its_interpreter_pages_and_citations() {
    let dir = tempfile::tempdir().unwrap();
    let search = search_site().await;
    let runtime = runtime(dir.path(), &search, 600.0).await;
    let key = SessionKey::new("local", "cleared");
    let root = runtime.workspace_dir(&key);
    let session = runtime.session(key).unwrap();
    use_resources(&session).await;
    // Opened now: clearing empties the workspace, the file included.
    let lock = kernel_lock(&root);
    assert!(kernel_alive(&lock));

    session.clear().await.unwrap();
    eventually("the interpreter exiting", || !kernel_alive(&lock)).await;
    assert_fresh(&session).await;
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_session_sees_none_of_another_sessions_citations_pages_or_variables() {
    let dir = tempfile::tempdir().unwrap();
    let search = search_site().await;
    let runtime = runtime(dir.path(), &search, 600.0).await;
    let mine = runtime.session(SessionKey::new("local", "mine")).unwrap();
    let other = runtime.session(SessionKey::new("local", "other")).unwrap();
    use_resources(&mine).await;

    assert_fresh(&other).await;
    let state = call(&mine, "browser_state", json!({})).await.unwrap();
    assert!(state.text.contains("Page: Kiwi page"), "{}", state.text);
    let kernel = call(&mine, "ipython", json!({"code": "marker"}))
        .await
        .unwrap();
    assert_eq!(kernel.text, "Out: 1");
    runtime.shutdown().await;
}

#[tokio::test]
async fn an_upload_in_progress_holds_the_sessions_one_lock_and_keeps_it_awake() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime(dir.path(), "http://127.0.0.1:9", 0.3).await;
    let session = runtime
        .session(SessionKey::new("local", "uploading"))
        .unwrap();
    let lock = session.upload_lock().await.unwrap();
    let guard = lock.clone().lock_owned().await;
    // A second upload of the same session waits for the first.
    let second = session.upload_lock().await.unwrap();
    assert!(Arc::ptr_eq(&lock, &second));
    assert!(second.try_lock().is_err());
    drop(second);
    // Idle for several hibernation periods, but an upload is arriving: it stays up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(runtime.live_sessions().await.unwrap(), 1);
    assert!(Arc::ptr_eq(&lock, &session.upload_lock().await.unwrap()));

    drop(guard);
    drop(lock);
    let deadline = Instant::now() + Duration::from_secs(20);
    while runtime.live_sessions().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the session did not hibernate");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runtime.shutdown().await;
}
