use std::fs;

use serde_json::{json, Value};

use super::*;
use crate::tool::files::read::ReadFile;
use crate::tool::test_support::context_in;
use crate::tool::Tool;

async fn call(ctx: &ToolContext, args: Value) -> Result<ToolOutput, ToolError> {
    EditFile.call(ctx, args).await
}

/// A context with `name` holding `content`, already read by the model.
async fn with_read_file(dir: &tempfile::TempDir, name: &str, content: &str) -> ToolContext {
    let ctx = context_in(dir.path()).await;
    fs::write(ctx.workspace.root().join(name), content).unwrap();
    ReadFile
        .call(&ctx, json!({"file_path": name}))
        .await
        .unwrap();
    ctx
}

fn content(ctx: &ToolContext, name: &str) -> String {
    fs::read_to_string(ctx.workspace.root().join(name)).unwrap()
}

#[tokio::test]
async fn a_file_not_read_first_is_not_edited() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    fs::write(ctx.workspace.root().join("a.py"), "x = 1\n").unwrap();
    let error = call(
        &ctx,
        json!({"file_path": "/mnt/okcomputer/a.py", "old_string": "1", "new_string": "2"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        ToolError::Failed(
            "/mnt/okcomputer/a.py has not been read in this session: read it with read_file \
             first, then edit it"
                .into()
        )
    );
    assert_eq!(content(&ctx, "a.py"), "x = 1\n");
}

#[tokio::test]
async fn a_unique_occurrence_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = with_read_file(&dir, "a.py", "x = 1\ny = 2\n").await;
    let out = call(
        &ctx,
        json!({"file_path": "a.py", "old_string": "y = 2", "new_string": "y = 3"}),
    )
    .await
    .unwrap();
    assert_eq!(
        out.text,
        "Edited /mnt/okcomputer/a.py: replaced 1 occurrence."
    );
    assert_eq!(content(&ctx, "a.py"), "x = 1\ny = 3\n");
}

#[tokio::test]
async fn text_that_does_not_occur_is_reported_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = with_read_file(&dir, "a.py", "x = 1\n").await;
    let error = call(
        &ctx,
        json!({"file_path": "a.py", "old_string": "     1\tx = 1", "new_string": "x = 2"}),
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("old_string was not found in /mnt/okcomputer/a.py."),
        "{message}"
    );
    assert_eq!(content(&ctx, "a.py"), "x = 1\n");
}

#[tokio::test]
async fn text_that_occurs_more_than_once_needs_more_context_or_replace_all() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = with_read_file(&dir, "a.py", "foo()\nfoo()\nfoo()\n").await;
    let error = call(
        &ctx,
        json!({"file_path": "a.py", "old_string": "foo", "new_string": "bar"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        ToolError::Failed(
            "old_string occurs 3 times in /mnt/okcomputer/a.py, so the edit is ambiguous. \
             Include more of the surrounding lines in old_string to make it unique, or set \
             replace_all to true to replace every occurrence"
                .into()
        )
    );
    let out = call(
        &ctx,
        json!({"file_path": "a.py", "old_string": "foo", "new_string": "bar", "replace_all": true}),
    )
    .await
    .unwrap();
    assert_eq!(
        out.text,
        "Edited /mnt/okcomputer/a.py: replaced 3 occurrences."
    );
    assert_eq!(content(&ctx, "a.py"), "bar()\nbar()\nbar()\n");
}

#[tokio::test]
async fn empty_or_unchanged_old_string_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = with_read_file(&dir, "a.py", "x\n").await;
    for (old, new) in [("", "y"), ("x", "x")] {
        let error = call(
            &ctx,
            json!({"file_path": "a.py", "old_string": old, "new_string": new}),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, ToolError::InvalidArguments(_)), "{error:?}");
    }
}

#[tokio::test]
async fn a_written_file_can_be_edited() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    crate::tool::files::write::WriteFile
        .call(&ctx, json!({"file_path": "new.md", "content": "# Draft\n"}))
        .await
        .unwrap();
    call(
        &ctx,
        json!({"file_path": "new.md", "old_string": "Draft", "new_string": "Final"}),
    )
    .await
    .unwrap();
    assert_eq!(content(&ctx, "new.md"), "# Final\n");
}
