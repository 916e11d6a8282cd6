//! Secrets at rest: the data directory is the server's alone, keys from the configuration
//! never reach the store, and a key never follows `base_url` to another origin unless given
//! again.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

/// A key as the configuration (or the environment) gives it.
const CONFIGURED_KEY: &str = "sk-configured-0123456789abcdef";

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Every path under `dir` (itself included) with its mode.
fn modes(dir: &Path) -> Vec<(String, u32, bool)> {
    let mut out = vec![(dir.display().to_string(), mode(dir), true)];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            out.extend(modes(&path));
        } else {
            out.push((path.display().to_string(), mode(&path), false));
        }
    }
    out
}

/// Sends one message and waits for the turn to end.
async fn say(server: &TestServer, message: &str) {
    let (status, body) = server
        .post(
            "/api/chat?client_id=s",
            &json!({"message": message, "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn bearer(request: &Recorded) -> Option<&str> {
    request.headers.get("authorization").map(String::as_str)
}

#[tokio::test]
async fn a_fresh_data_directory_is_private_and_its_store_and_snapshots_are_too() {
    let model = FakeModel::start().await;
    model.set_fallback(sse(vec![ev_text("ok"), ev_done()]));
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let server = TestServer::start(test_settings(&data, &model.base_url())).await;
    say(&server, "hi").await;

    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("okcvm.redb")), 0o600, "the store");
    // Snapshots were taken by the turn: every folder and file of the store is private.
    let snapshots = modes(&data.join("snapshots"));
    assert!(snapshots.len() > 3, "{snapshots:?}");
    for (path, mode, is_dir) in snapshots {
        assert_eq!(mode, if is_dir { 0o700 } else { 0o600 }, "{path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_existing_data_directory_and_store_are_made_private_at_start() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = TestServer::start(test_settings(&data, &model.base_url())).await;
    server.shutdown().await;
    std::fs::set_permissions(
        data.join("okcvm.redb"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let server = TestServer::start(test_settings(&data, &model.base_url())).await;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("okcvm.redb")), 0o600);
    server.shutdown().await;
}

#[tokio::test]
async fn a_configured_key_is_used_but_never_written_to_the_store() {
    let model = FakeModel::start().await;
    model.set_fallback(sse(vec![ev_text("ok"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    if let Some(chat) = settings.chat.as_mut() {
        chat.api_key = Some(CONFIGURED_KEY.into());
        chat.api_key_env = Some("OKCVM_TEST_CHAT_KEY".into());
    }
    let server = TestServer::start(settings).await;
    // Changes touching `chat` without a key, on the same origin, and to other sections.
    for body in [
        json!({"chat": {"model": "other-model", "base_url": model.base_url()}}),
        json!({"chat": {"model": "other-model", "base_url": model.base_url(), "supports_streaming": true}}),
        json!({"image": {"model": "img", "base_url": model.base_url()}}),
    ] {
        let (status, reply) = server.post("/api/config", &body).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["chat"]["api_key_present"], true, "{reply}");
        assert!(reply.get("api_key_dropped").is_none(), "{reply}");
    }
    say(&server, "hi").await;
    let last = model.requests().pop().unwrap();
    assert_eq!(
        bearer(&last),
        Some(format!("Bearer {CONFIGURED_KEY}").as_str())
    );
    server.shutdown().await;

    let raw = std::fs::read(dir.path().join("okcvm.redb")).unwrap();
    let found = raw
        .windows(CONFIGURED_KEY.len())
        .any(|w| w == CONFIGURED_KEY.as_bytes());
    assert!(!found, "the configured key is in the store file");
}

#[tokio::test]
async fn a_key_is_dropped_when_base_url_moves_to_another_origin_unless_given_again() {
    let model = FakeModel::start().await;
    let elsewhere = FakeModel::start().await;
    elsewhere.set_fallback(sse(vec![ev_text("ok"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    // First a key set through the API, on the first origin.
    let (status, reply) = server
        .post(
            "/api/config",
            &json!({"chat": {"model": "m", "base_url": model.base_url(), "api_key": "sk-stored"}}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");

    // Moved to another origin without a key: the answer says the key was dropped, and the new
    // host never sees it.
    let (status, reply) = server
        .post(
            "/api/config",
            &json!({"chat": {"model": "m", "base_url": elsewhere.base_url()}}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["api_key_dropped"], json!(["chat"]), "{reply}");
    assert!(reply["chat"].get("api_key_present").is_none(), "{reply}");
    say(&server, "hi").await;
    for request in elsewhere.requests() {
        assert_eq!(bearer(&request), None, "a key went to the new origin");
    }

    // Given in the same request, the key goes with the move.
    let (status, reply) = server
        .post(
            "/api/config",
            &json!({"chat": {"model": "m", "base_url": elsewhere.base_url(), "api_key": "sk-new"}}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply.get("api_key_dropped").is_none(), "{reply}");
    say(&server, "again").await;
    let last = elsewhere.requests().pop().unwrap();
    assert_eq!(bearer(&last), Some("Bearer sk-new"));
    server.shutdown().await;
}
