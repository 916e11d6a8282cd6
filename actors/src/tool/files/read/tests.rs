use std::fs;

use serde_json::{json, Value};

use super::*;
use crate::tool::test_support::context_in;
use crate::tool::Tool;

async fn call(ctx: &ToolContext, args: Value) -> Result<ToolOutput, ToolError> {
    ReadFile.call(ctx, args).await
}

fn numbered(lines: std::ops::RangeInclusive<usize>) -> String {
    lines
        .map(|n| format!("{n:>6}\tline {n}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn write_lines(ctx: &ToolContext, name: &str, count: usize) {
    let text: String = (1..=count).map(|n| format!("line {n}\n")).collect();
    fs::write(ctx.workspace.root().join(name), text).unwrap();
}

#[tokio::test]
async fn lines_come_numbered_in_cat_n_form() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    write_lines(&ctx, "output/a.txt", 3);
    let out = call(&ctx, json!({"file_path": "/mnt/okcomputer/output/a.txt"}))
        .await
        .unwrap();
    assert_eq!(out.text, numbered(1..=3));
    assert!(out.images.is_empty());
}

#[tokio::test]
async fn a_hundred_lines_are_read_by_default_with_a_note_on_how_to_read_on() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    write_lines(&ctx, "long.txt", 150);
    let out = call(&ctx, json!({"file_path": "/mnt/okcomputer/long.txt"}))
        .await
        .unwrap();
    let expected = format!(
        "{}\n\n[Showing lines 1-100 of 150. To read on, call read_file with offset=101.]",
        numbered(1..=100)
    );
    assert_eq!(out.text, expected);
}

#[tokio::test]
async fn offset_and_limit_pick_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    write_lines(&ctx, "ten.txt", 10);
    let out = call(
        &ctx,
        json!({"file_path": "ten.txt", "offset": 3, "limit": 2}),
    )
    .await
    .unwrap();
    let expected = format!(
        "{}\n\n[Showing lines 3-4 of 10. To read on, call read_file with offset=5.]",
        numbered(3..=4)
    );
    assert_eq!(out.text, expected);
    let tail = call(
        &ctx,
        json!({"file_path": "ten.txt", "offset": 9, "limit": 5}),
    )
    .await
    .unwrap();
    assert_eq!(tail.text, numbered(9..=10));
}

#[tokio::test]
async fn an_offset_past_the_end_is_an_error_giving_the_line_count() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    write_lines(&ctx, "ten.txt", 10);
    let error = call(&ctx, json!({"file_path": "ten.txt", "offset": 11}))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ToolError::Failed(
            "offset 11 is past the end of /mnt/okcomputer/ten.txt, which has 10 lines. Use an \
             offset from 1 to 10"
                .into()
        )
    );
}

#[tokio::test]
async fn long_lines_are_cut_with_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let long = "é".repeat(1500);
    fs::write(
        ctx.workspace.root().join("wide.txt"),
        format!("{long}\nshort\n"),
    )
    .unwrap();
    let out = call(&ctx, json!({"file_path": "wide.txt"})).await.unwrap();
    let expected = format!(
        "     1\t{}... [line cut at 1000 of 1500 characters]\n     2\tshort",
        "é".repeat(1000)
    );
    assert_eq!(out.text, expected);
}

#[tokio::test]
async fn an_empty_file_gives_a_system_reminder() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    fs::write(ctx.workspace.root().join("empty.txt"), "").unwrap();
    let out = call(&ctx, json!({"file_path": "/mnt/okcomputer/empty.txt"}))
        .await
        .unwrap();
    assert_eq!(
        out.text,
        "<system-reminder>The file /mnt/okcomputer/empty.txt exists but is empty.</system-reminder>"
    );
}

#[tokio::test]
async fn an_image_is_returned_base64_encoded_for_the_model_to_see() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    // Named .dat: the type comes from the content.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    fs::write(ctx.workspace.root().join("output/chart.dat"), png).unwrap();
    let out = call(
        &ctx,
        json!({"file_path": "/mnt/okcomputer/output/chart.dat"}),
    )
    .await
    .unwrap();
    assert_eq!(
        out.images,
        vec![ToolImage {
            mime: "image/png".into(),
            path: "/mnt/okcomputer/output/chart.dat".into(),
            data_base64: "iVBORw0KGgoAAAANSUhEUg==".into(),
        }]
    );
    assert_eq!(
        out.text,
        "Image /mnt/okcomputer/output/chart.dat (image/png, 16 bytes) is attached."
    );
}

#[tokio::test]
async fn other_binary_files_are_refused_as_not_readable_as_text_yet() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    fs::write(
        ctx.workspace.root().join("upload/report.pdf"),
        b"%PDF-1.7\n\xff\xfe\0\x01",
    )
    .unwrap();
    let error = call(
        &ctx,
        json!({"file_path": "/mnt/okcomputer/upload/report.pdf"}),
    )
    .await
    .unwrap_err();
    let ToolError::Failed(message) = error else {
        panic!("expected a failure, got {error:?}");
    };
    assert!(
        message.starts_with(
            "/mnt/okcomputer/upload/report.pdf is a binary file (PDF) and can't be read as text yet"
        ),
        "{message}"
    );
    assert!(ctx.resources.files_read().is_empty());
}

#[tokio::test]
async fn a_successful_read_is_recorded_by_its_path_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    write_lines(&ctx, "seen.txt", 1);
    call(&ctx, json!({"file_path": "seen.txt"})).await.unwrap();
    let seen = ctx.resources.files_read();
    assert_eq!(seen, [std::path::PathBuf::from("seen.txt")].into());
}

#[tokio::test]
async fn paths_leading_outside_the_workspace_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let root = ctx.workspace.root().to_path_buf();
    let secret = dir.path().join("secret.txt");
    fs::write(&secret, "secret").unwrap();
    std::os::unix::fs::symlink(&secret, root.join("file-link")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("dir-link")).unwrap();
    fs::hard_link(&secret, root.join("hard-link")).unwrap();
    for path in [
        "/etc/passwd",
        "/mnt/okcomputer/../etc/passwd",
        "../secret.txt",
        "a/../../secret.txt",
        "file-link",
        "/mnt/okcomputer/dir-link/secret.txt",
        "hard-link",
    ] {
        let error = call(&ctx, json!({"file_path": path})).await.unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("outside the workspace"),
            "{path}: {message}"
        );
        assert!(
            !message.contains(&*dir.path().to_string_lossy()),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_missing_file_is_an_error_that_says_where_to_look() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let error = call(&ctx, json!({"file_path": "/mnt/okcomputer/output/none.md"}))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ToolError::Failed(
            "/mnt/okcomputer/output/none.md does not exist. Check the path, e.g. with the shell \
             tool: ls /mnt/okcomputer/output"
                .into()
        )
    );
}

#[tokio::test]
async fn read_file_racing_a_folder_and_a_file_swapped_for_links_never_returns_outside_bytes() {
    use crate::workspace::races::{Outside, Swapper, CANARY};
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let root = ctx.workspace.root().to_path_buf();
    fs::create_dir_all(root.join("output/d")).unwrap();
    fs::write(root.join("output/d/notes.txt"), "inside").unwrap();
    fs::write(root.join("output/f.txt"), "inside").unwrap();
    let outside = Outside::new(dir.path(), &["notes.txt"]);
    let folder = Swapper::start(root.join("output/d"), outside.dir.clone());
    let file = Swapper::start(root.join("output/f.txt"), outside.file());
    let mut read = 0;
    for _ in 0..1500 {
        for path in ["output/d/notes.txt", "output/f.txt"] {
            if let Ok(out) = call(&ctx, json!({"file_path": path})).await {
                assert!(!out.text.contains(CANARY), "{path}: {}", out.text);
                read += 1;
            }
        }
    }
    assert!(folder.finish() > 0 && file.finish() > 0, "the race ran");
    assert!(read > 0, "some reads met the real files");
    outside.assert_untouched(&["notes.txt"]);
}
