//! The tool over a workspace: which page it reads, where the page's images are found, what
//! the deck is called and what the tool answers, and what it refuses. What a deck holds is
//! tested with the engine (okcvm-slides).

use serde_json::{json, Value};

use super::*;
use crate::tool::test_support::context_in;

/// A 2x1 PNG (a deck needs no more of it than its header).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    2, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x7b, 0x40, 0xe8, 0xdd,
];

/// Runs the tool; returns its output and the deck it wrote.
async fn generate(dir: &std::path::Path, ctx: &ToolContext, args: Value) -> (ToolOutput, Vec<u8>) {
    let output = SlidesGenerator.call(ctx, args).await.unwrap();
    let data = output.data.clone().unwrap();
    let agent = data["file"].as_str().unwrap();
    let host = dir
        .join("ws")
        .join(agent.strip_prefix("/mnt/okcomputer/").unwrap());
    let deck = std::fs::read(host).unwrap();
    (output, deck)
}

/// The parts of a .pptx package by name (text, or hex for binary parts), its creation times
/// blanked: they are the clock's.
fn parts(deck: &[u8]) -> Value {
    const READ: &str = r#"
import json, re, sys, zipfile
deck, parts = zipfile.ZipFile(sys.argv[1]), {}
for name in deck.namelist():
    data = deck.read(name)
    try:
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME", data.decode("utf-8"))
    except UnicodeDecodeError:
        text = data.hex()
    parts[name] = text
print(json.dumps(parts))
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deck.pptx");
    std::fs::write(&path, deck).unwrap();
    let output = std::process::Command::new("python3")
        .args(["-c", READ])
        .arg(&path)
        .output()
        .expect("python3 runs (the test suite needs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The parts of the deck the engine makes of `html` with the images in `files` (by source as
/// written): what the tool should write when it finds them.
fn engine_deck(html: &str, files: &[(&str, &[u8])]) -> Value {
    let load = |source: &str| {
        files
            .iter()
            .find(|(name, _)| *name == source)
            .map(|(_, bytes)| bytes.to_vec())
            .ok_or_else(|| format!("{source} does not exist"))
    };
    let (deck, _) = okcvm_slides::layout(parse(html).unwrap(), &load, None);
    parts(&okcvm_slides::write_pptx(&deck).unwrap())
}

#[tokio::test]
async fn a_deck_from_content_is_named_after_its_title_and_outlined() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let html = r#"<title>Quarterly Review</title>
        <div class="ppt-slide"><h1>Quarterly Review</h1><p>Results</p></div>
        <div class="ppt-slide"><h2>Highlights</h2><ul><li>Revenue up</li><li>Two new markets</li></ul></div>"#;
    let (output, deck) = generate(dir.path(), &ctx, json!({ "content": html })).await;
    assert_eq!(parts(&deck), engine_deck(html, &[]));
    assert_eq!(
        output.text,
        format!(
            "Created /mnt/okcomputer/output/quarterly-review.pptx: 2 slides (16:9), {}.\n\
             1. Quarterly Review (1 point)\n\
             2. Highlights (2 points)",
            size_display(deck.len() as u64)
        )
    );
    assert_eq!(
        output.data.unwrap(),
        json!({
            "file": "/mnt/okcomputer/output/quarterly-review.pptx",
            "bytes": deck.len(),
            "slides": 2,
            "warnings": [],
            "ppt_slides": [
                {"title": "Quarterly Review", "bullets": ["Results"]},
                {"title": "Highlights", "bullets": ["Revenue up", "Two new markets"]},
            ],
        })
    );
}

#[tokio::test]
async fn a_page_file_names_the_deck_and_its_images_are_read_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(ws.join("site/img")).unwrap();
    std::fs::write(ws.join("site/img/chart.png"), PNG).unwrap();
    std::fs::write(ws.join("site/img/two words.png"), PNG).unwrap();
    std::fs::write(ws.join("logo.png"), PNG).unwrap();
    let html = r#"<div class="ppt-slide"><h2>Two columns</h2>
        <img src="img/chart.png" alt="Sales chart">
        <img src="img/two%20words.png?v=2" alt="Escaped">
        <img src="/mnt/okcomputer/logo.png" alt="From the top"></div>"#;
    std::fs::write(ws.join("site/talk.html"), html).unwrap();
    let (output, deck) = generate(
        dir.path(),
        &ctx,
        json!({ "file_path": "/mnt/okcomputer/site/talk.html" }),
    )
    .await;
    let data = output.data.unwrap();
    assert_eq!(
        data["file"], "/mnt/okcomputer/output/talk.pptx",
        "named after the HTML file"
    );
    assert_eq!(data["warnings"], json!([]), "every image found");
    let files: [(&str, &[u8]); 3] = [
        ("img/chart.png", PNG),
        ("img/two%20words.png?v=2", PNG),
        ("/mnt/okcomputer/logo.png", PNG),
    ];
    assert_eq!(parts(&deck), engine_deck(html, &files));
}

#[tokio::test]
async fn what_cannot_be_converted_is_said_and_the_rest_still_made() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let html = r#"<div class="ppt-slide"><h1>Charts</h1><canvas id="c"></canvas>
        <img src="missing.png" width="100" height="50"><img src="https://example.com/a.png"></div>"#;
    let (output, deck) = generate(dir.path(), &ctx, json!({ "content": html })).await;
    assert_eq!(parts(&deck), engine_deck(html, &[]));
    let data = output.data.unwrap();
    let warnings: Vec<&str> = data["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("canvas"));
    assert!(
        warnings[1].starts_with(
            "slide 1: image missing.png left out: /mnt/okcomputer/missing.png does not exist"
        ),
        "{warnings:?}"
    );
    assert!(
        warnings[2].contains("save the image in the workspace"),
        "{warnings:?}"
    );
    let said: String = warnings.iter().map(|w| format!("\n- {w}")).collect();
    assert!(
        output.text.ends_with(&format!("\nNot carried over:{said}")),
        "{}",
        output.text
    );
    assert_eq!(data["ppt_slides"][0]["title"], "Charts");
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let err = |args: Value| {
        let ctx = &ctx;
        async move {
            SlidesGenerator
                .call(ctx, args)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let no_slides = err(json!({"content": "<h1>no slides here</h1>"})).await;
    assert!(no_slides.contains("class \"ppt-slide\""), "{no_slides}");
    let outside = err(json!({"file_path": "../../etc/passwd"})).await;
    assert!(outside.contains("outside"), "{outside}");
    let missing = err(json!({"file_path": "nope.html"})).await;
    assert!(missing.contains("nope.html"), "{missing}");
    let both = err(json!({"file_path": "a.html", "content": "<p>"})).await;
    assert!(both.contains("not both"), "{both}");
    std::fs::create_dir_all(dir.path().join("ws/folder")).unwrap();
    let folder = err(json!({"file_path": "folder"})).await;
    assert!(folder.contains("folder"), "{folder}");
    assert!(
        !dir.path()
            .join("ws/output")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "nothing written"
    );
}

#[tokio::test]
async fn regenerating_a_deck_replaces_the_file_of_the_same_name() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let html =
        |title: &str| format!("<title>Same</title><div class=\"ppt-slide\"><h1>{title}</h1></div>");
    generate(dir.path(), &ctx, json!({ "content": html("First") })).await;
    let (output, deck) = generate(dir.path(), &ctx, json!({ "content": html("Second") })).await;
    let data = output.data.unwrap();
    assert_eq!(data["file"], "/mnt/okcomputer/output/same.pptx");
    assert_eq!(data["ppt_slides"][0]["title"], "Second");
    assert_eq!(parts(&deck), engine_deck(&html("Second"), &[]));
    assert_eq!(dir.path().join("ws/output").read_dir().unwrap().count(), 1);
}
