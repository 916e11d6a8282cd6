//! Conversations: stored, listed, updated and deleted with their sessions.

use serde_json::json;
use support::fake_model::*;

use super::server;

#[tokio::test]
async fn conversations_are_stored_listed_newest_first_updated_and_deleted() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let (status, created) = server
        .post("/api/conversations", &json!({"id": "c-old", "messages": [{"role": "user", "content": "first question"}], "updatedAt": "2026-01-01T00:00:00Z", "custom": {"kept": true}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(created["conversation"]["title"], "first question");
    assert_eq!(created["conversation"]["custom"], json!({"kept": true}));
    assert!(created["conversation"]["createdAt"].is_string());
    server
        .post(
            "/api/conversations",
            &json!({"id": "c-new", "title": "Newer", "updatedAt": "2026-02-01T00:00:00Z"}),
        )
        .await;

    let (_, listed) = server.get("/api/conversations").await;
    let ids: Vec<&str> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c-new", "c-old"]);

    let (status, put) = server
        .put(
            "/api/conversations/c-old",
            &json!({"id": "ignored", "title": "Renamed", "updatedAt": "2026-03-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(put["conversation"]["id"], "c-old");
    let (_, listed) = server.get("/api/conversations").await;
    assert_eq!(listed["conversations"][0]["title"], "Renamed");

    let (status, deleted) = server.delete("/api/conversations/c-old").await;
    assert_eq!(status, 200);
    assert_eq!(deleted["deleted"], true);
    let (status, body) = server.delete("/api/conversations/c-old").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("conversation_not_found"))
    );

    let (status, body) = server
        .post("/api/conversations", &json!({"title": "no id"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_field"))
    );
    let (status, body) = server
        .post("/api/conversations", &json!({"id": "../x"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_conversation_id"))
    );
    let (status, body) = server.post("/api/conversations", &json!([1, 2])).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_field"))
    );
    let huge = "y".repeat(5 * 1024 * 1024);
    let (status, body) = server
        .post("/api/conversations", &json!({"id": "big", "blob": huge}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("body_too_large"))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_a_conversation_removes_its_session_history_and_files() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "c1",
            "mshtools-write_file",
            r#"{"file_path":"/mnt/okcomputer/output/keep.txt","content":"x"}"#,
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("ok"), ev_done()]));
    let (server, dir) = server(&model).await;
    server
        .post("/api/conversations", &json!({"id": "conv1"}))
        .await;
    let (status, _) = server
        .post(
            "/api/chat?client_id=conv1",
            &json!({"message": "go", "stream": false}),
        )
        .await;
    assert_eq!(status, 200);
    let file = dir.path().join("workspaces/local/conv1/output/keep.txt");
    assert!(file.exists());
    let (status, deleted) = server.delete("/api/conversations/conv1").await;
    assert_eq!(status, 200);
    assert!(deleted["workspace"]["removed_files"].as_u64().unwrap() >= 1);
    assert!(!file.exists());
    assert_eq!(
        server.get("/api/session/boot?client_id=conv1").await.1["vm"]["history_length"],
        0
    );
    server.shutdown().await;
}
