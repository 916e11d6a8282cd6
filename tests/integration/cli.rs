//! The `okcvm` binary end to end against the fake model.

use std::path::Path;
use std::process::Output;

use serde_json::json;
use support::fake_model::*;

/// Runs the real binary with a clean environment (plus `env`) in `dir`.
async fn okcvm(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_okcvm"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.unwrap()
}

fn model_env(model: &FakeModel) -> Vec<(&'static str, String)> {
    vec![
        ("OKCVM_CHAT_MODEL", "fake-model".to_string()),
        ("OKCVM_CHAT_BASE_URL", model.base_url()),
        ("OKCVM_CHAT_API_KEY", "sk-cli".to_string()),
    ]
}

#[tokio::test]
async fn exec_streams_the_answer_and_tool_lines_and_continues_a_session() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call("c1", "mshtools-shell", r#"{"command":"echo from-shell"}"#),
        ev_done(),
    ]));
    model.push(sse(vec![
        ev_text("The shell said "),
        ev_text("from-shell."),
        ev_usage(40, 6),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Second turn."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();

    let out = okcvm(
        dir.path(),
        &["exec", "--session", "cli-s", "run echo"],
        &model_env(&model),
    )
    .await;

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(stdout.trim(), "The shell said from-shell.");
    assert!(stderr.contains("→ shell"), "{stderr}");
    assert!(stderr.contains("✓ shell"), "{stderr}");
    assert!(stderr.contains("in 40 tokens"), "{stderr}");
    assert_eq!(
        model.requests()[0]
            .headers
            .get("authorization")
            .map(String::as_str),
        Some("Bearer sk-cli")
    );

    let out = okcvm(
        dir.path(),
        &["exec", "--session", "cli-s", "--json", "and again"],
        &model_env(&model),
    )
    .await;
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["type"], "stop");
    assert!(lines
        .iter()
        .any(|l| l["type"] == "final" && l["payload"]["reply"] == "Second turn."));
    // The continued session sent the whole first exchange along.
    let sent = model.requests()[2].body["messages"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        sent,
        1 + 4 + 1,
        "system + first turn (user, assistant, tool, assistant) + new user"
    );
}

#[tokio::test]
async fn exec_exits_non_zero_when_the_turn_fails() {
    let model = FakeModel::start().await;
    model.push(Response::status(401).json(json!({"error": {"message": "bad key"}})));
    let dir = tempfile::tempdir().unwrap();

    let out = okcvm(dir.path(), &["exec", "hi"], &model_env(&model)).await;

    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model_auth_failed"), "{stderr}");
}

#[tokio::test]
async fn exec_without_a_model_names_the_settings_to_configure() {
    let dir = tempfile::tempdir().unwrap();
    let out = okcvm(dir.path(), &["exec", "hi"], &[]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("OKCVM_CHAT_MODEL"), "{stderr}");
}

#[tokio::test]
async fn tools_list_shows_all_24_and_tools_call_runs_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = okcvm(dir.path(), &["tools", "list"], &[]).await;
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listing.lines().count(), 24);
    assert!(
        listing.lines().all(|l| l.contains("ready")),
        "every tool is built: {listing}"
    );

    let out = okcvm(
        dir.path(),
        &[
            "tools",
            "call",
            "write_file",
            r#"{"file_path":"/mnt/okcomputer/n.txt","content":"one\ntwo\n"}"#,
        ],
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = okcvm(
        dir.path(),
        &[
            "tools",
            "call",
            "read_file",
            r#"{"file_path":"/mnt/okcomputer/n.txt"}"#,
        ],
        &[],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("     1\tone"), "{text}");
    assert!(text.contains("     2\ttwo"), "{text}");

    let out = okcvm(
        dir.path(),
        &["tools", "call", "shell", r#"{"cmd":"ls"}"#],
        &[],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid arguments"));
}
