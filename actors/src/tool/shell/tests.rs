use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::tool::test_support::context_in;

async fn call(ctx: &ToolContext, args: Value) -> Result<ToolOutput, ToolError> {
    Shell.call(ctx, args).await
}

#[tokio::test]
async fn output_comes_back_followed_by_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = call(
        &ctx,
        json!({"command": "echo hello", "description": "greet"}),
    )
    .await
    .unwrap();
    assert_eq!(out.text, "hello\n[exit code: 0]");
}

#[tokio::test]
async fn a_failing_command_is_an_error_that_still_shows_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let error = call(&ctx, json!({"command": "echo oops >&2; exit 2"}))
        .await
        .unwrap_err();
    assert_eq!(error, ToolError::Failed("oops\n[exit code: 2]".into()));
}

#[tokio::test]
async fn output_past_the_cap_is_cut_with_a_notice_giving_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = call(
        &ctx,
        json!({"command": "head -c 1048576 /dev/zero | tr '\\0' x"}),
    )
    .await
    .unwrap();
    let expected = format!(
        "{}\n[output truncated: showing the first 10000 of 1048576 characters. Redirect the \
         output to a file and read it with read_file, or filter it with grep, head or tail]\n\
         [exit code: 0]",
        "x".repeat(10_000)
    );
    assert_eq!(out.text, expected);
}

#[tokio::test]
async fn a_timeout_is_reported_as_a_failure_naming_the_time() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let error = call(
        &ctx,
        json!({"command": "echo waiting; sleep 100", "timeout": 300}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        ToolError::Failed(
            "waiting\n[timed out after 300 ms: the command and its whole process group were \
             killed. Run long jobs with a larger timeout, or in smaller steps]"
                .into()
        )
    );
}

#[tokio::test]
async fn a_cancelled_turn_stops_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let started = ctx.workspace.root().join("started");
    let task = tokio::spawn({
        let ctx = ctx.clone();
        async move { call(&ctx, json!({"command": "touch started; sleep 100"})).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !started.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the command never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ctx.cancel.cancel();
    assert_eq!(task.await.unwrap(), Err(ToolError::Cancelled));
}

#[tokio::test]
async fn the_workspace_shows_as_the_mount_never_as_a_host_path() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = call(
        &ctx,
        json!({"command": "pwd; echo $HOME; ls -d /mnt/okcomputer/output"}),
    )
    .await
    .unwrap();
    assert_eq!(
        out.text,
        "/mnt/okcomputer\n/mnt/okcomputer\n/mnt/okcomputer/output\n[exit code: 0]"
    );
}

#[test]
fn a_command_killed_by_a_signal_says_so() {
    let outcome = CommandOutcome {
        exit_code: None,
        signal: Some(9),
        output: String::new(),
        total_chars: 0,
        truncated: false,
        timed_out: false,
        cancelled: false,
        duration: Duration::ZERO,
        mode: crate::workspace::SandboxMode::Host,
    };
    assert_eq!(report(&outcome, 1000), "(no output)\n[killed by signal 9]");
}

#[test]
fn the_shell_tool_carries_its_manifest_name() {
    let names: Vec<_> = tools().iter().map(|t| t.name()).collect();
    assert_eq!(names, ["shell"]);
}
