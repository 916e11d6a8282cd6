//! Chat: streamed and JSON turns, stopping, clients that leave, resuming event streams,
//! keep-alives, concurrent sessions, and bad requests.

use std::time::Duration;

use serde_json::json;
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

use super::server;

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
