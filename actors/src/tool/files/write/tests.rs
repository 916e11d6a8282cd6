use std::fs;

use serde_json::{json, Value};

use super::*;
use crate::tool::files::read::ReadFile;
use crate::tool::test_support::context_in;
use crate::tool::Tool;

async fn call(ctx: &ToolContext, args: Value) -> Result<ToolOutput, ToolError> {
    WriteFile.call(ctx, args).await
}

#[tokio::test]
async fn writing_creates_parent_folders_and_reports_bytes_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = call(
        &ctx,
        json!({"file_path": "/mnt/okcomputer/output/site/index.html", "content": "<p>hi</p>"}),
    )
    .await
    .unwrap();
    assert_eq!(
        out.text,
        "Wrote 9 bytes to /mnt/okcomputer/output/site/index.html."
    );
    let host = ctx.workspace.root().join("output/site/index.html");
    assert_eq!(fs::read_to_string(&host).unwrap(), "<p>hi</p>");
    assert!(ctx
        .resources
        .was_read(std::path::Path::new("output/site/index.html")));
}

#[tokio::test]
async fn append_adds_to_the_end_and_overwrite_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    call(&ctx, json!({"file_path": "log.txt", "content": "one\n"}))
        .await
        .unwrap();
    let out = call(
        &ctx,
        json!({"file_path": "log.txt", "content": "two\n", "append": true}),
    )
    .await
    .unwrap();
    assert_eq!(
        out.text,
        "Appended 4 bytes to /mnt/okcomputer/log.txt (now 8 bytes)."
    );
    let host = ctx.workspace.root().join("log.txt");
    assert_eq!(fs::read_to_string(&host).unwrap(), "one\ntwo\n");
    call(&ctx, json!({"file_path": "log.txt", "content": "new"}))
        .await
        .unwrap();
    assert_eq!(fs::read_to_string(&host).unwrap(), "new");
}

#[tokio::test]
async fn an_existing_file_is_only_replaced_after_it_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let host = ctx.workspace.root().join("upload/data.csv");
    fs::write(&host, "a,b\n").unwrap();
    let error = call(
        &ctx,
        json!({"file_path": "upload/data.csv", "content": "x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        ToolError::Failed(
            "/mnt/okcomputer/upload/data.csv already exists and has not been read in this \
             session. Read it with read_file first, then write it again (or write to a new path)"
                .into()
        )
    );
    assert_eq!(fs::read_to_string(&host).unwrap(), "a,b\n");
    ReadFile
        .call(&ctx, json!({"file_path": "upload/data.csv"}))
        .await
        .unwrap();
    call(
        &ctx,
        json!({"file_path": "upload/data.csv", "content": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(fs::read_to_string(&host).unwrap(), "x");
}

#[tokio::test]
async fn paths_leading_outside_the_workspace_are_refused_and_nothing_outside_changes() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let root = ctx.workspace.root().to_path_buf();
    let secret = dir.path().join("secret.txt");
    fs::write(&secret, "secret").unwrap();
    std::os::unix::fs::symlink(&secret, root.join("file-link")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("dir-link")).unwrap();
    fs::hard_link(&secret, root.join("hard-link")).unwrap();
    // Even a path the model has "read" is checked again.
    ctx.resources.mark_read("hard-link".into());
    for path in [
        "/etc/okcvm-test",
        "/mnt/okcomputer/../escaped.txt",
        "../escaped.txt",
        "a/../../escaped.txt",
        "file-link",
        "/mnt/okcomputer/dir-link/secret.txt",
        "dir-link/new/escaped.txt",
        "hard-link",
    ] {
        let error = call(&ctx, json!({"file_path": path, "content": "pwned"}))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("outside the workspace"),
            "{path}: {error}"
        );
    }
    assert_eq!(fs::read_to_string(&secret).unwrap(), "secret");
    assert!(!dir.path().join("escaped.txt").exists());
    assert!(!dir.path().join("new").exists());
    assert!(!std::path::Path::new("/etc/okcvm-test").exists());
}
