//! `slides_generator` end to end: the agent writes a page and turns it into a deck; the reply
//! and the console's boot state carry the outline, and the deck downloads from the workspace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

const PAGE: &str = r#"<html><head><title>Launch plan</title></head><body>
<div class="ppt-slide"><h1>Launch plan</h1><ul><li>Beta in May</li><li>GA in June</li></ul>
<aside class="notes">Keep it short.</aside></div>
<div class="ppt-slide"><h2>Risks</h2><p>Supply of chips.</p></div>
</body></html>"#;

#[tokio::test]
async fn a_deck_made_in_a_turn_is_outlined_in_the_reply_and_boot_and_downloads() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "w",
            "mshtools-write_file",
            &json!({"file_path": "/mnt/okcomputer/slides.html", "content": PAGE}).to_string(),
        ),
        ev_tool_call(
            "s",
            "mshtools-slides_generator",
            &json!({"file_path": "/mnt/okcomputer/slides.html"}).to_string(),
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Your deck is ready."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;

    let (status, reply) = server
        .post(
            "/api/chat?client_id=deck",
            &json!({"message": "make slides", "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let outline = json!([
        {"title": "Launch plan", "bullets": ["Beta in May", "GA in June"]},
        {"title": "Risks", "bullets": ["Supply of chips."]},
    ]);
    assert_eq!(reply["ppt_slides"], outline);

    // What the model read: the file and the outline.
    let requests = model.requests();
    let results: Vec<&str> = requests.last().unwrap().body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert!(
        results[1].starts_with("Created /mnt/okcomputer/output/slides.pptx: 2 slides"),
        "{results:?}"
    );
    assert!(
        results[1].contains("1. Launch plan (2 points)"),
        "{results:?}"
    );

    let (status, boot) = server.get("/api/session/boot?client_id=deck").await;
    assert_eq!(status, 200);
    assert_eq!(
        boot["ppt_slides"], outline,
        "a reloaded console sees the deck"
    );

    let response =
        reqwest::get(server.at("/api/session/workspace/files/output/slides.pptx?client_id=deck"))
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip package");
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_conversion_reaches_the_model_and_leaves_the_outline_empty() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "s",
            "mshtools-slides_generator",
            &json!({"content": "<h1>forgot the slide wrappers</h1>"}).to_string(),
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Let me fix that."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let (status, reply) = server
        .post(
            "/api/chat?client_id=bad",
            &json!({"message": "slides", "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["ppt_slides"], json!([]));
    let call: &Value = &reply["tool_calls"][0];
    assert_eq!(call["status"], "error", "{call}");
    assert!(
        call["tool_output"].as_str().unwrap().contains("ppt-slide"),
        "{call}"
    );
    server.shutdown().await;
}
