//! Sessions: boot, where the session id comes from, info, history entries and clearing.

use serde_json::json;
use support::fake_model::*;
use support::server::*;

use super::server;

#[tokio::test]
async fn boot_creates_a_session_once_and_never_resets_it() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("Hello back."), ev_done()]));
    let (server, _dir) = server(&model).await;
    let (status, boot) = server.get("/api/session/boot?client_id=b1").await;
    assert_eq!(status, 200);
    for key in [
        "reply",
        "meta",
        "web_preview",
        "ppt_slides",
        "artifacts",
        "vm",
        "workspace_state",
        "uploads",
    ] {
        assert!(boot.get(key).is_some(), "boot lacks {key}: {boot}");
    }
    assert_eq!(boot["upload_limit"], 100);
    assert_eq!(boot["max_upload_size_mb"], 100);
    assert_eq!(boot["vm"]["history_length"], 0);

    let (status, _) = server
        .post(
            "/api/chat?client_id=b1",
            &json!({"message": "hi", "stream": false}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, again) = server.get("/api/session/boot?client_id=b1").await;
    assert_eq!(again["reply"], "Hello back.");
    assert_eq!(again["vm"]["history_length"], 2);
    server.shutdown().await;
}

#[tokio::test]
async fn the_session_comes_from_query_header_or_cookie_and_bad_ids_are_refused() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let via_header = server
        .client
        .get(server.at("/api/session/boot"))
        .header("x-okc-client-id", "from-header")
        .send()
        .await
        .unwrap();
    assert_eq!(status_json(via_header).await.1["client_id"], "from-header");
    let via_cookie = server
        .client
        .get(server.at("/api/session/boot"))
        .header("cookie", "okc_client_id=from-cookie")
        .send()
        .await
        .unwrap();
    assert_eq!(status_json(via_cookie).await.1["client_id"], "from-cookie");
    assert_eq!(
        server.get("/api/session/boot").await.1["client_id"],
        "default"
    );
    for bad in ["..", "a%2Fb", "sp%20ace", &"x".repeat(129)] {
        let (status, body) = server
            .get(&format!("/api/session/boot?client_id={bad}"))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_client_id")),
            "{bad}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn info_lists_the_24_tools_and_todays_prompt() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let (status, info) = server.get("/api/session/info?client_id=i1").await;
    assert_eq!(status, 200);
    assert_eq!(info["tools"].as_array().unwrap().len(), 24);
    assert!(info["tools"]
        .as_array()
        .unwrap()
        .contains(&json!("read_file")));
    let today = chrono::Local::now().format("%Y年%m月%d日").to_string();
    assert!(info["system_prompt"].as_str().unwrap().contains(&today));
    assert_eq!(info["workspace_mount"], "/mnt/okcomputer");
    assert_eq!(info["workspace_output"], "/mnt/okcomputer/output");
    assert_eq!(info["history_length"], 0);
    server.shutdown().await;
}

#[tokio::test]
async fn history_entries_are_read_by_id_and_clearing_removes_history_and_files() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "c1",
            "mshtools-write_file",
            r#"{"file_path":"/mnt/okcomputer/output/x.txt","content":"x"}"#,
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("done"), ev_done()]));
    model.push(sse(vec![ev_text("fresh"), ev_done()]));
    let (server, _dir) = server(&model).await;
    let (_, reply) = server
        .post(
            "/api/chat?client_id=h",
            &json!({"message": "write", "stream": false}),
        )
        .await;
    let first_id = reply["vm_history"][0]["id"].as_str().unwrap().to_string();
    let (status, entry) = server
        .get(&format!("/api/session/history/{first_id}?client_id=h"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(entry["message"]["content"], "write");
    assert_eq!(entry["message"]["role"], "user");
    let (status, body) = server.get("/api/session/history/nope?client_id=h").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("history_entry_not_found"))
    );
    // Another session does not see the entry.
    let (status, _) = server
        .get(&format!("/api/session/history/{first_id}?client_id=other"))
        .await;
    assert_eq!(status, 404);

    let before = server.get("/api/session/boot?client_id=h").await.1["vm"]["last_event_id"]
        .as_u64()
        .unwrap();
    let (status, cleared) = server.delete("/api/session/history?client_id=h").await;
    assert_eq!(status, 200);
    assert_eq!(cleared["history_cleared"], true);
    assert_eq!(cleared["cleared_messages"], 4);
    assert_eq!(cleared["workspace"]["removed"], true);
    assert_eq!(cleared["uploads"], json!([]));
    assert_eq!(cleared["upload_limit"], 100);
    let (_, boot) = server.get("/api/session/boot?client_id=h").await;
    assert_eq!(boot["vm"]["history_length"], 0);
    assert_eq!(boot["artifacts"], json!([]));
    let (status, _) = server
        .get(&format!("/api/session/history/{first_id}?client_id=h"))
        .await;
    assert_eq!(status, 404);

    // Numbering goes on after the clear, so a client resuming from an old id misses nothing.
    let mut stream = server.chat_stream("h", "again").await;
    let frames = stream.until_stop().await;
    assert!(seq(&frames[0]) > before, "{} <= {before}", seq(&frames[0]));
    server.shutdown().await;
}
