//! `slides_generator` end to end: the agent writes a page and turns it into a deck; the reply
//! and the console's boot state carry the outline, and the deck downloads from the workspace.

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

/// Each shape's text (or name), position in slide pixels, and first run's size (pt) and colour,
/// as python-pptx reads the deck.
type Read = (String, f64, f64, f64, f64, Option<f64>, Option<String>);

fn shapes(path: &std::path::Path) -> Vec<Read> {
    let script = r#"
import json, sys
from pptx import Presentation
px = 12192000 / 1024
deck = Presentation(sys.argv[1])
def run(s):
    if not s.has_text_frame or not s.text_frame.paragraphs[0].runs:
        return [None, None]
    r = s.text_frame.paragraphs[0].runs[0]
    return [r.font.size.pt if r.font.size else None, str(r.font.color.rgb) if r.font.color.type is not None else None]
print(json.dumps([[s.text_frame.text if s.has_text_frame else s.name, s.left / px, s.top / px, s.width / px, s.height / px] + run(s) for s in deck.slides[0].shapes]))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 with python-pptx (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn with_chromium_the_deck_follows_the_browsers_layout() {
    // Offsets our own layout does not compute (relative positions, calc, floats): only the
    // browser's layout puts these boxes where the page shows them.
    let page = r#"<html><head><style>
        .ppt-slide { width: 1024px; height: 576px; padding: 30px; box-sizing: border-box; position: relative; font-family: sans-serif }
        .moved { position: relative; left: 50px; top: 30px; width: 200px; margin: 0 }
        .calc { margin: 0 0 0 calc(100px + 20px); width: 300px; --brand: #123456; color: var(--brand); font-size: calc(10px + 14px) }
        .float { float: right; width: 150px; margin: 0 }
        </style></head><body>
        <div class="ppt-slide"><p class="float">Floating right</p><p class="moved">Moved by CSS</p><p class="calc">Indented by calc</p></div>
        </body></html>"#;
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "s",
            "mshtools-slides_generator",
            &json!({"content": page}).to_string(),
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Done."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), &model.base_url());
    assert!(
        okcvm_actors::tool::find_chromium(&settings.browser).is_some(),
        "this test needs Chromium (.ci/run installs it)"
    );
    let server = TestServer::start(settings).await;
    let (status, reply) = server
        .post(
            "/api/chat?client_id=layout",
            &json!({"message": "deck", "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let output = reply["tool_calls"][0]["tool_output"].as_str().unwrap();
    assert!(!output.contains("positions are estimated"), "{output}");
    let deck = dir
        .path()
        .join("workspaces/local/layout/output/presentation.pptx");
    let found = shapes(&deck);
    let shape = |text: &str| {
        found
            .iter()
            .find(|s| s.0 == text)
            .unwrap_or_else(|| panic!("{text} in {found:?}"))
            .clone()
    };
    let near = |a: f64, b: f64| (a - b).abs() <= 2.0;
    let floating = shape("Floating right");
    assert!(
        near(floating.1, 1024.0 - 30.0 - 150.0) && near(floating.3, 150.0),
        "{floating:?}"
    );
    let moved = shape("Moved by CSS");
    assert!(
        near(moved.1, 30.0 + 50.0) && near(moved.2, 30.0 + 30.0),
        "{moved:?}"
    );
    let indented = shape("Indented by calc");
    assert!(
        near(indented.1, 30.0 + 120.0) && near(indented.3, 300.0),
        "{indented:?}"
    );
    // Its font size and colour come from values only the browser computes (calc, var).
    assert_eq!(
        (indented.5, indented.6.as_deref()),
        (Some(22.5), Some("123456")),
        "{indented:?}"
    );
    assert!(indented.2 > moved.2 - 30.0, "flow order kept: {found:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn when_a_pages_tailwind_cannot_load_the_deck_uses_its_own_layout_and_says_so() {
    // The script's address is refused by the network guard, as a CDN is on an offline server.
    let page = r#"<script src="http://127.0.0.1:9/tailwindcss.js"></script>
        <div class="ppt-slide w-[1024px] h-[576px] p-[30px]"><h1 class="text-4xl">Styled by Tailwind</h1></div>"#;
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "s",
            "mshtools-slides_generator",
            &json!({"content": page}).to_string(),
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Done."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let (status, reply) = server
        .post(
            "/api/chat?client_id=tw",
            &json!({"message": "deck", "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let output = reply["tool_calls"][0]["tool_output"].as_str().unwrap();
    assert!(
        output.contains("Tailwind script could not be loaded): positions are estimated"),
        "{output}"
    );
    let found = shapes(
        &dir.path()
            .join("workspaces/local/tw/output/presentation.pptx"),
    );
    let title = found.iter().find(|s| s.0 == "Styled by Tailwind").unwrap();
    assert!(
        (title.1 - 30.0).abs() < 1.0 && (title.2 - 30.0).abs() < 1.0,
        "our cascade's Tailwind: {title:?}"
    );
    server.shutdown().await;
}
