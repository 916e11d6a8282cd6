//! Every route over real HTTP on 127.0.0.1, with the fake model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

async fn server(model: &FakeModel) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    (server, dir)
}

#[tokio::test]
async fn health_reports_status_version_and_live_sessions() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let (status, body) = server.get("/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["chat_model"], "fake-model");
    assert!(body["uptime_s"].is_u64());
    server.get("/api/session/boot?client_id=h1").await;
    assert_eq!(server.get("/api/health").await.1["sessions_live"], 1);
    server.shutdown().await;
}

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
async fn a_streamed_turn_and_the_json_reply_carry_the_same_final_payload() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "c1",
            "mshtools-write_file",
            r#"{"file_path":"/mnt/okcomputer/output/a.txt","content":"alpha"}"#,
        ),
        ev_done(),
    ]));
    model.push(sse(vec![
        ev_text("Wrote "),
        ev_text("a.txt."),
        ev_usage(30, 4),
        ev_done(),
    ]));
    model.push(sse(vec![
        ev_text("Second answer."),
        ev_usage(40, 3),
        ev_done(),
    ]));
    let (server, _dir) = server(&model).await;

    let mut stream = server.chat_stream("j1", "write a file").await;
    let frames = stream.until_stop().await;
    let types: Vec<&str> = frames.iter().map(|f| f.event.as_deref().unwrap()).collect();
    assert_eq!(
        types,
        [
            "tool_started",
            "tool_completed",
            "token",
            "token",
            "final",
            "stop"
        ]
    );
    for frame in &frames {
        assert_eq!(
            frame.data["type"].as_str(),
            frame.event.as_deref(),
            "data repeats type"
        );
        assert_eq!(frame.data["seq"].as_u64(), Some(seq(frame)));
    }
    let payload = &frames[4].data["payload"];
    assert_eq!(payload["reply"], "Wrote a.txt.");
    assert_eq!(payload["artifacts"][0]["name"], "a.txt");
    assert_eq!(
        payload["tool_calls"][0]["invocation_id"],
        frames[0].data["invocation_id"]
    );

    let (status, reply) = server
        .post(
            "/api/chat?client_id=j1",
            &json!({"message": "again", "stream": false}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(reply["reply"], "Second answer.");
    assert_eq!(reply["meta"]["tokensIn"], "40 tokens");
    // The JSON body is exactly the `final` event's payload, as stored.
    let mut replay = server.events("j1", Some(seq(&frames[5]))).await;
    let second = replay.until_stop().await;
    let final_frame = second
        .iter()
        .find(|f| f.event.as_deref() == Some("final"))
        .unwrap();
    assert_eq!(final_frame.data["payload"], reply);
    for key in [
        "reply",
        "meta",
        "web_preview",
        "ppt_slides",
        "artifacts",
        "tool_calls",
        "vm_history",
        "workspace_state",
        "uploads",
    ] {
        assert!(reply.get(key).is_some(), "reply lacks {key}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_second_chat_while_a_turn_runs_is_409_and_stop_ends_the_turn() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("slow "),
        ev_text("never").with_delay(Duration::from_secs(60)),
        ev_done(),
    ]));
    let (server, _dir) = server(&model).await;
    let mut stream = server.chat_stream("busy", "go").await;
    assert_eq!(stream.next().await.unwrap().event.as_deref(), Some("token"));

    let (status, body) = server
        .post("/api/chat?client_id=busy", &json!({"message": "again"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("turn_in_progress"))
    );

    let (status, stopped) = server
        .post("/api/session/stop?client_id=busy", &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stopped["stopped"], true);
    let rest = stream.until_stop().await;
    let final_frame = rest
        .iter()
        .find(|f| f.event.as_deref() == Some("final"))
        .unwrap();
    assert_eq!(final_frame.data["payload"]["status"], "stopped");
    assert_eq!(final_frame.data["payload"]["reply"], "slow ");
    let (_, again) = server
        .post("/api/session/stop?client_id=busy", &json!({}))
        .await;
    assert_eq!(again["stopped"], false);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_disconnects_does_not_stop_the_turn() {
    let model = FakeModel::start().await;
    let slow: Vec<_> = (0..10)
        .map(|i| ev_text(&format!("{i} ")).with_delay(Duration::from_millis(30)))
        .chain([ev_done()])
        .collect();
    model.push(sse(slow));
    let (server, _dir) = server(&model).await;
    let mut stream = server.chat_stream("leave", "count").await;
    stream.next().await.unwrap();
    drop(stream);
    let mut replay = server.events("leave", None).await;
    let frames = replay.until_stop().await;
    let final_frame = frames
        .iter()
        .find(|f| f.event.as_deref() == Some("final"))
        .unwrap();
    assert_eq!(final_frame.data["payload"]["status"], "completed");
    assert_eq!(final_frame.data["payload"]["reply"], "0 1 2 3 4 5 6 7 8 9 ");
    server.shutdown().await;
}

#[tokio::test]
async fn resuming_with_last_event_id_gives_the_rest_without_gap_or_duplicate() {
    let model = FakeModel::start().await;
    let slow: Vec<_> = (0..12)
        .map(|i| ev_text(&format!("t{i} ")).with_delay(Duration::from_millis(20)))
        .chain([ev_done()])
        .collect();
    model.push(sse(slow));
    let (server, _dir) = server(&model).await;
    let mut first = server.events("resume", None).await;
    let mut second = server.events("resume", None).await;
    let (status, _) = server
        .client
        .post(server.at("/api/chat?client_id=resume"))
        .json(&json!({"message": "go"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 200);

    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(first.next().await.unwrap());
    }
    drop(first);
    let last = seq(seen.last().unwrap());
    let mut resumed = server.events("resume", Some(last)).await;
    seen.extend(resumed.until_stop().await);
    let seqs: Vec<u64> = seen.iter().map(seq).collect();
    let expected: Vec<u64> = (seqs[0]..seqs[0] + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "no gap, no duplicate");

    // The second subscriber, following all along, saw the same events.
    let all = second.until_stop().await;
    assert_eq!(all.iter().map(seq).collect::<Vec<_>>(), seqs);
    assert_eq!(all, seen);

    // `?after=` works the same as the header.
    let mut after = server
        .client
        .get(server.at(&format!(
            "/api/session/events?client_id=resume&after={last}"
        )))
        .send()
        .await
        .map(SseReader::new)
        .unwrap();
    assert_eq!(after.next().await.map(|f| seq(&f)), Some(last + 1));
    let (status, body) = server
        .get("/api/session/events?client_id=resume&after=x")
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_event_id"))
    );
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

#[tokio::test]
async fn a_turn_without_a_model_fails_with_a_code_naming_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), "http://127.0.0.1:9/v1");
    settings.chat = None;
    let server = TestServer::start(settings).await;
    let (status, body) = server
        .post("/api/chat", &json!({"message": "hi", "stream": false}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("model_not_configured"))
    );
    assert!(body["detail"].as_str().unwrap().contains("chat.model"));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_bodies_get_clear_errors_with_stable_codes() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let raw = |body: &'static str| {
        server
            .client
            .post(server.at("/api/chat"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(&str, u16, &str)> = vec![
        ("{not json", 400, "invalid_json"),
        ("", 400, "invalid_json"),
        (r#"{"message": "x", "extra": 1}"#, 422, "invalid_field"),
        (r#"{"message": 5}"#, 422, "invalid_field"),
        (r#"{"message": "   "}"#, 400, "empty_message"),
        (r#"{}"#, 422, "invalid_field"),
    ];
    for (body, status, code) in cases {
        let (got, json) = status_json(raw(body).await.unwrap()).await;
        assert_eq!(
            (got, json["code"].as_str()),
            (status, Some(code)),
            "{body}: {json}"
        );
        assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let big = "x".repeat(300 * 1024);
    let (status, body) = server.post("/api/chat", &json!({"message": big})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("body_too_large"))
    );
    let (status, body) = server.get("/api/nothing-here").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = server.get("/api/chat").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    assert_eq!(model.request_count(), 0, "no bad request reached the model");
    server.shutdown().await;
}

#[tokio::test]
async fn config_never_shows_a_key_keeps_an_omitted_one_and_survives_a_restart() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("from the new model"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), &model.base_url());
    let server = TestServer::start(settings.clone()).await;

    let (status, config) = server.get("/api/config").await;
    assert_eq!(status, 200);
    assert_eq!(config["chat"]["model"], "fake-model");
    assert_eq!(config["chat"]["api_key_present"], true);
    assert_eq!(config["image"], Value::Null);
    assert!(!config.to_string().contains("sk-test"));

    let (status, updated) = server
        .post("/api/config", &json!({"chat": {"model": " model-b ", "base_url": model.base_url(), "api_key": "sk-new"}, "image": {"model": "img", "base_url": "http://127.0.0.1:9/v1"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["chat"]["model"], "model-b");
    assert_eq!(updated["image"]["model"], "img");
    assert!(!updated.to_string().contains("sk-new"));

    // The model actor uses the new endpoint and key.
    let (status, _) = server
        .post("/api/chat", &json!({"message": "hi", "stream": false}))
        .await;
    assert_eq!(status, 200);
    let sent = &model.requests()[0];
    assert_eq!(sent.body["model"], "model-b");
    assert_eq!(sent.headers["authorization"], "Bearer sk-new");

    // An omitted key keeps the stored one; "" clears it.
    let (_, kept) = server
        .post(
            "/api/config",
            &json!({"chat": {"model": "model-c", "base_url": model.base_url()}}),
        )
        .await;
    assert_eq!(kept["chat"]["api_key_present"], true);
    let (_, cleared) = server
        .post(
            "/api/config",
            &json!({"image": {"model": "img", "base_url": "http://127.0.0.1:9/v1", "api_key": ""}}),
        )
        .await;
    assert!(cleared["image"].get("api_key_present").is_none());
    let (_, removed) = server
        .post("/api/config", &json!({"speech": null, "image": null}))
        .await;
    assert_eq!(removed["image"], Value::Null);
    assert_eq!(removed["chat"]["model"], "model-c");

    let (status, body) = server
        .post(
            "/api/config",
            &json!({"chat": {"model": "m", "base_url": "ftp://x"}}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_field"))
    );
    let (status, _) = server.post("/api/config", &json!({"chatt": null})).await;
    assert_eq!(status, 422);

    server.shutdown().await;
    let server = TestServer::start(settings).await;
    let (_, after) = server.get("/api/config").await;
    assert_eq!(after["chat"]["model"], "model-c");
    assert_eq!(after["chat"]["api_key_present"], true);
    assert_eq!(after["image"], Value::Null);
    server.shutdown().await;
}

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

#[tokio::test]
async fn workspace_files_are_listed_and_downloaded_and_nothing_outside_is_reachable() {
    let model = FakeModel::start().await;
    let (server, dir) = server(&model).await;
    server.get("/api/session/boot?client_id=wf").await;
    let root = dir.path().join("workspaces/local/wf");
    std::fs::write(root.join("output/report.md"), "# Report").unwrap();
    std::fs::write(root.join("output/page.html"), "<script>alert(1)</script>").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "TOPSECRET-CONTENT").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("output/link.txt"))
        .unwrap();

    let (status, listing) = server
        .get("/api/session/workspace/files?client_id=wf&path=output")
        .await;
    assert_eq!(status, 200);
    assert_eq!(listing["path"], "/mnt/okcomputer/output");
    let names: Vec<&str> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["link.txt", "page.html", "report.md"]);
    assert!(
        !listing.to_string().contains(dir.path().to_str().unwrap()),
        "no host path"
    );

    let report = server
        .client
        .get(server.at("/api/session/workspace/files/output/report.md?client_id=wf"))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 200);
    assert_eq!(
        report.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    assert_eq!(report.text().await.unwrap(), "# Report");
    let page = server
        .client
        .get(server.at("/api/session/workspace/files/output/page.html?client_id=wf"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-disposition"], "attachment");
    assert_eq!(page.headers()["content-security-policy"], "sandbox");

    for path in [
        "output/link.txt",
        "..%2F..%2F..%2Fsecret.txt",
        "%2Fetc%2Fpasswd",
        "output/missing.txt",
    ] {
        let response = server
            .client
            .get(server.at(&format!("/api/session/workspace/files/{path}?client_id=wf")))
            .send()
            .await
            .unwrap();
        let (status, body) = status_json(response).await;
        assert!(status == 400 || status == 404, "{path}: {status}");
        assert!(!body.to_string().contains("TOPSECRET"), "{path}: {body}");
        assert!(
            !body.to_string().contains(dir.path().to_str().unwrap()),
            "{path}: {body}"
        );
    }
    let (status, _) = server
        .get("/api/session/workspace/files?client_id=wf&path=../..")
        .await;
    assert_eq!(status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn deployed_sites_are_served_sandboxed_with_index_for_folders() {
    let model = FakeModel::start().await;
    let (server, dir) = server(&model).await;
    let id = "0123456789abcdef0123456789abcdef";
    let site = dir.path().join("sites").join(id);
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(site.join("index.html"), "<h1>Home</h1>").unwrap();
    std::fs::write(site.join("docs/index.html"), "<h1>Docs</h1>").unwrap();
    std::fs::write(site.join("style.css"), "h1{}").unwrap();

    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = no_redirect
        .get(server.at(&format!("/sites/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 301);
    assert_eq!(bare.headers()["location"], format!("/sites/{id}/"));

    let home = server
        .client
        .get(server.at(&format!("/sites/{id}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(home.headers()["content-type"], "text/html; charset=utf-8");
    assert!(home.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox allow-scripts"));
    assert_eq!(home.text().await.unwrap(), "<h1>Home</h1>");
    let docs = server
        .client
        .get(server.at(&format!("/sites/{id}/docs/")))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.text().await.unwrap(), "<h1>Docs</h1>");
    let css = server
        .client
        .get(server.at(&format!("/sites/{id}/style.css")))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    for path in [
        format!("/sites/{id}/missing.html"),
        "/sites/ffffffffffffffffffffffffffffffff/".to_string(),
        "/sites/not-an-id/".to_string(),
        format!("/sites/{id}/..%2F..%2Fokcvm.redb"),
    ] {
        let (status, body) = server.get(&path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("site_not_found")),
            "{path}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_console_and_every_response_carry_their_headers() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = no_redirect.get(server.at("/")).send().await.unwrap();
    assert_eq!(root.status(), 307);
    assert_eq!(root.headers()["location"], "/ui/");
    let console = server.client.get(server.at("/ui/")).send().await.unwrap();
    assert_eq!(console.status(), 200);
    assert_eq!(console.headers()["x-frame-options"], "DENY");
    assert_eq!(console.headers()["x-content-type-options"], "nosniff");
    assert!(console.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(console.headers()["x-request-id"].len(), 32);
    let openapi = server
        .client
        .get(server.at("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.headers()["content-type"], "application/json");
    // Same origin only by default: no CORS header for a foreign origin.
    let foreign = server
        .client
        .get(server.at("/api/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(foreign
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn configured_origins_get_cors_and_others_are_refused() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.server.cors_origins = vec!["https://console.example".into()];
    let server = TestServer::start(settings).await;
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, server.at("/api/chat"))
        .header("origin", "https://console.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://console.example"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );
    let allowed = server
        .client
        .get(server.at("/api/health"))
        .header("origin", "https://console.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://console.example"
    );
    // The server's own origin (the console's) stays allowed.
    let own = server
        .client
        .post(server.at("/api/session/stop"))
        .header("origin", server.url.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let refused = server
        .client
        .get(server.at("/api/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(refused).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("cors_forbidden"))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_chats_in_many_sessions_all_complete() {
    let model = FakeModel::start().await;
    for _ in 0..16 {
        model.push(sse(vec![ev_text("ok"), ev_done()]));
    }
    let (server, _dir) = server(&model).await;
    let server = std::sync::Arc::new(server);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            server
                .post(
                    &format!("/api/chat?client_id=c{i}"),
                    &json!({"message": "hi", "stream": false}),
                )
                .await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!((status, body["reply"].as_str()), (200, Some("ok")));
    }
    std::sync::Arc::try_unwrap(server)
        .ok()
        .unwrap()
        .shutdown()
        .await;
}

#[tokio::test]
async fn an_idle_event_stream_gets_keep_alive_comments() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.server.sse_keepalive_s = 0.1;
    let server = TestServer::start(settings).await;
    model.push(sse(vec![
        ev_text("late").with_delay(Duration::from_millis(500)),
        ev_done(),
    ]));
    let mut follower = server.events("idle", None).await;
    server
        .client
        .post(server.at("/api/chat?client_id=idle"))
        .json(&json!({"message": "wait"}))
        .send()
        .await
        .unwrap();
    let frames = follower.until_stop().await;
    assert!(frames.iter().any(|f| f.event.as_deref() == Some("token")));
    assert!(follower.comments >= 2, "comments: {}", follower.comments);
    server.shutdown().await;
}

#[tokio::test]
async fn health_says_what_the_jail_isolates_and_warns_when_agent_code_runs_on_the_host() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let (_, health) = server.get("/api/health").await;
    assert_eq!(health["sandbox"], "bubblewrap", "{health}");
    assert_eq!(health["isolation"]["network"], "proxy", "{health}");
    assert_eq!(health["isolation"]["isolated"].as_array().unwrap().len(), 3);
    assert_eq!(health["warnings"], health["isolation"]["not_isolated"]);
    server.shutdown().await;

    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.workspace.sandbox = okcvm_actors::config::SandboxChoice::None;
    let server = TestServer::start(settings).await;
    let (_, health) = server.get("/api/health").await;
    assert_eq!(health["sandbox"], "none");
    assert_eq!(health["isolation"]["network"], "host");
    let warnings = health["warnings"].as_array().unwrap();
    assert!(
        warnings[0].as_str().unwrap().contains("runs on the host"),
        "{health}"
    );
    assert_eq!(
        server.get("/api/session/boot").await.1["vm"]["sandbox"],
        "none"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn tenants_are_never_served_without_the_jail_unless_the_operator_says_so() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.workspace.sandbox = okcvm_actors::config::SandboxChoice::None;
    settings.auth.mode = okcvm_actors::config::AuthMode::Tokens;
    let listener = okcvm::app::bind("127.0.0.1:0").await.unwrap();
    let refused = okcvm::app::start(settings.clone(), listener, None)
        .await
        .err()
        .expect("refused");
    assert!(
        refused.to_string().contains("workspace.allow_unsandboxed"),
        "{refused}"
    );
    settings.workspace.allow_unsandboxed = true;
    let listener = okcvm::app::bind("127.0.0.1:0").await.unwrap();
    let server = okcvm::app::start(settings, listener, None).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn the_console_files_come_from_the_binary_with_validators_and_nothing_else_is_served() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let get = |path: &str| server.client.get(server.at(path)).send();

    let index = get("/ui/").await.unwrap();
    assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let etag = index.headers()["etag"].to_str().unwrap().to_owned();
    let body = index.text().await.unwrap();
    assert!(
        body.contains("<script type=\"module\""),
        "the console page loads its modules"
    );

    let again = server
        .client
        .get(server.at("/ui/index.html"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        304,
        "an unchanged file is revalidated, not resent"
    );
    assert!(again.bytes().await.unwrap().is_empty());

    let library = get("/ui/vendor/marked.esm.js").await.unwrap();
    assert_eq!(library.status(), 200);
    assert_eq!(
        library.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(library.headers()["cache-control"], "no-cache");

    for missing in [
        "/ui/nope.js",
        "/ui/tests/unit/sse.test.mjs",
        "/ui/package.json",
    ] {
        let (status, body) = status_json(get(missing).await.unwrap()).await;
        assert_eq!(status, 404, "{missing}: {body}");
        assert_eq!(body["code"], "console_file_not_found", "{missing}");
    }
}
