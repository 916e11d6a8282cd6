//! Workspace snapshots over HTTP: taken after every turn, on request, restored, named as
//! branches, and brought back when a message is regenerated.

use std::time::Duration;

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

fn write(path: &str, content: &str) -> Chunk {
    ev_tool_call(
        &format!("w-{path}-{content}"),
        "mshtools-write_file",
        &json!({"file_path": path, "content": content}).to_string(),
    )
}

async fn chat(server: &TestServer, body: Value) -> Value {
    let (status, reply) = server.post("/api/chat?client_id=s", &body).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

#[tokio::test]
async fn every_turn_leaves_a_snapshot_and_regenerating_brings_back_that_branchs_files() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        write("/mnt/okcomputer/output/a.txt", "one"),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("first"), ev_done()]));
    model.push(sse(vec![
        write("/mnt/okcomputer/output/a.txt", "two"),
        write("/mnt/okcomputer/output/b.txt", "extra"),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("second"), ev_done()]));
    // The regenerated second turn looks at the files it finds.
    model.push(sse(vec![
        ev_tool_call(
            "look",
            "mshtools-shell",
            r#"{"command":"cat output/a.txt; echo; ls output"}"#,
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("regenerated"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;

    let first = chat(&server, json!({"message": "one", "stream": false})).await;
    let state = &first["workspace_state"];
    assert_eq!(state["enabled"], true);
    // The baseline from before the first turn, and the one after it.
    assert_eq!(state["snapshots"].as_array().unwrap().len(), 2);
    assert_eq!(state["latest_snapshot"]["message_id"], first["message_id"]);

    chat(&server, json!({"message": "two", "stream": false})).await;
    let ws = dir.path().join("workspaces/local/s/output");
    assert_eq!(std::fs::read_to_string(ws.join("a.txt")).unwrap(), "two");

    let regenerated = chat(
        &server,
        json!({"message": "two again", "replace_last": true, "stream": false}),
    )
    .await;
    assert_eq!(regenerated["reply"], "regenerated");
    let seen = regenerated["tool_calls"][0]["tool_output"]
        .as_str()
        .unwrap();
    assert!(seen.starts_with("one"), "the regenerated turn saw: {seen}");
    assert!(
        !seen.contains("b.txt"),
        "the second branch's file is gone: {seen}"
    );
    assert_eq!(
        regenerated["workspace_state"]["snapshots"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    server.shutdown().await;
}

#[tokio::test]
async fn snapshots_on_request_restore_and_branches_round_trip() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    server.get("/api/session/boot?client_id=s").await;
    let out = dir.path().join("workspaces/local/s/output");
    std::fs::write(out.join("plan.md"), "v1").unwrap();

    let (status, state) = server
        .post(
            "/api/session/workspace/snapshots?client_id=s",
            &json!({"label": "first draft"}),
        )
        .await;
    assert_eq!(status, 200, "{state}");
    let v1 = state["latest_snapshot"]["id"].as_str().unwrap().to_string();
    assert_eq!(state["latest_snapshot"]["label"], "first draft");

    std::fs::write(out.join("plan.md"), "v2").unwrap();
    std::fs::write(out.join("notes.md"), "later").unwrap();
    let (status, body) = server
        .post(
            "/api/session/workspace/restore?client_id=s",
            &json!({"snapshot_id": v1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["workspace_state"]["enabled"].as_bool().unwrap());
    assert_eq!(std::fs::read_to_string(out.join("plan.md")).unwrap(), "v1");
    assert!(!out.join("notes.md").exists());

    // A branch named from the workspace as it is now, then one at the first draft.
    std::fs::write(out.join("plan.md"), "experiment").unwrap();
    let (status, body) = server
        .post(
            "/api/session/workspace/branch?client_id=s",
            &json!({"branch": "experiment"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["workspace_state"]["current_branch"], "experiment");
    let (_, body) = server
        .post(
            "/api/session/workspace/branch?client_id=s",
            &json!({"branch": "main", "snapshot_id": v1}),
        )
        .await;
    assert_eq!(body["workspace_state"]["current_branch"], "main");
    assert_eq!(std::fs::read_to_string(out.join("plan.md")).unwrap(), "v1");
    let (_, body) = server
        .post(
            "/api/session/workspace/restore?client_id=s",
            &json!({"branch": "experiment"}),
        )
        .await;
    assert_eq!(body["workspace_state"]["current_branch"], "experiment");
    assert_eq!(
        std::fs::read_to_string(out.join("plan.md")).unwrap(),
        "experiment"
    );

    let (_, listed) = server
        .get("/api/session/workspace/snapshots?client_id=s&limit=1")
        .await;
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 1);

    for (path, body, status, code) in [
        (
            "restore",
            json!({"snapshot_id": "00ff"}),
            400,
            "unknown_snapshot",
        ),
        ("restore", json!({"branch": "nope"}), 400, "unknown_branch"),
        ("restore", json!({}), 422, "invalid_field"),
        (
            "restore",
            json!({"snapshot_id": v1, "branch": "main"}),
            422,
            "invalid_field",
        ),
        ("branch", json!({"branch": ""}), 422, "invalid_field"),
        (
            "branch",
            json!({"branch": "x", "snapshot_id": "abc"}),
            400,
            "unknown_snapshot",
        ),
        (
            "snapshots",
            json!({"label": "x".repeat(201)}),
            422,
            "invalid_field",
        ),
        ("snapshots", json!({"tag": "x"}), 422, "invalid_field"),
    ] {
        let (got, reply) = server
            .post(&format!("/api/session/workspace/{path}?client_id=s"), &body)
            .await;
        assert_eq!(
            (got, reply["code"].as_str()),
            (status, Some(code)),
            "{path} {body}"
        );
    }
    // Another session does not see these snapshots.
    let (status, reply) = server
        .post(
            "/api/session/workspace/restore?client_id=other",
            &json!({"snapshot_id": v1}),
        )
        .await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (400, Some("unknown_snapshot"))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_workspace_over_the_limit_is_refused_a_snapshot_and_restores_wait_for_the_turn() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("slow").with_delay(Duration::from_secs(30)),
        ev_done(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.workspace.snapshot_limit_mb = 1;
    let server = TestServer::start(settings).await;
    server.get("/api/session/boot?client_id=s").await;
    std::fs::write(
        dir.path().join("workspaces/local/s/big.bin"),
        vec![0u8; 2 << 20],
    )
    .unwrap();
    let (status, body) = server
        .post("/api/session/workspace/snapshots?client_id=s", &json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("workspace_too_large")),
        "{body}"
    );
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("workspace.snapshot_limit_mb"));

    let mut stream = server.chat_stream("s", "long").await;
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
    let (status, body) = server
        .post(
            "/api/session/workspace/branch?client_id=s",
            &json!({"branch": "b"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("turn_in_progress"))
    );
    server
        .post("/api/session/stop?client_id=s", &json!({}))
        .await;
    server.shutdown().await;
}

#[tokio::test]
async fn regenerating_the_first_message_brings_back_the_workspace_from_before_it() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        write("/mnt/okcomputer/output/a.txt", "one"),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("first"), ev_done()]));
    model.push(sse(vec![
        ev_tool_call(
            "look",
            "mshtools-shell",
            r#"{"command":"ls -A output upload"}"#,
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("again"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    server.get("/api/session/boot?client_id=s").await;
    std::fs::write(
        dir.path().join("workspaces/local/s/upload/brief.txt"),
        "uploaded first",
    )
    .unwrap();
    chat(&server, json!({"message": "one", "stream": false})).await;
    let regenerated = chat(
        &server,
        json!({"message": "one, again", "replace_last": true, "stream": false}),
    )
    .await;
    let seen = regenerated["tool_calls"][0]["tool_output"]
        .as_str()
        .unwrap();
    assert!(
        seen.contains("brief.txt"),
        "the upload from before the first turn is kept: {seen}"
    );
    assert!(
        !seen.contains("a.txt"),
        "the first turn's file is gone: {seen}"
    );
    server.shutdown().await;
}
