//! The real `okcvm run` binary: graceful shutdown on SIGTERM, and event streams that resume
//! across a restart.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::binary::ServerProcess;
use support::fake_model::*;
use support::server::*;
use tokio::process::Command;

struct Running {
    process: ServerProcess,
    url: String,
    client: reqwest::Client,
}

async fn run(dir: &Path, model: &FakeModel) -> Running {
    let process = support::binary::start(
        env!("CARGO_BIN_EXE_okcvm"),
        dir,
        &model.base_url(),
        &[("OKCVM_LLM__INITIAL_BACKOFF_S", "0.01")],
    )
    .await;
    Running {
        url: process.url.clone(),
        process,
        client: reqwest::Client::new(),
    }
}

impl Running {
    async fn events(&self, session: &str, after: u64) -> SseReader {
        events(&self.client, &self.url, session, Some(after)).await
    }

    async fn terminate(self) -> std::process::ExitStatus {
        self.process.terminate().await
    }
}

#[tokio::test]
async fn a_stream_resumes_from_last_event_id_across_a_restart() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("one "),
        ev_text("two "),
        ev_text("three"),
        ev_done(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let server = run(dir.path(), &model).await;
    let response = server
        .client
        .post(format!("{}/api/chat?client_id=r", server.url))
        .json(&json!({"message": "count", "stream": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let before = server.events("r", 0).await.until_stop().await;
    assert!(server.terminate().await.success());

    let server = run(dir.path(), &model).await;
    let middle = seq(&before[1]);
    let after = server.events("r", middle).await.until_stop().await;
    assert_eq!(
        after,
        before[2..].to_vec(),
        "the rest, with no gap and no duplicate"
    );
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn sigterm_mid_turn_ends_streams_and_records_the_turn_as_interrupted() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("started "),
        ev_text("never sent").with_delay(Duration::from_secs(120)),
        ev_done(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let server = run(dir.path(), &model).await;
    let response = server
        .client
        .post(format!("{}/api/chat?client_id=t", server.url))
        .header("accept", "text/event-stream")
        .json(&json!({"message": "long job"}))
        .send()
        .await
        .unwrap();
    let mut stream = SseReader::new(response);
    assert_eq!(stream.next().await.unwrap().event.as_deref(), Some("token"));

    let exit = server.terminate().await;
    assert!(exit.success(), "{exit:?}");
    // The open stream was ended by the shutdown, after the interruption was sent.
    let mut rest = Vec::new();
    while let Some(frame) = stream.next().await {
        rest.push(frame);
    }
    let kinds: Vec<_> = rest.iter().filter_map(|f| f.event.clone()).collect();
    assert_eq!(kinds, ["error", "stop"], "{rest:?}");
    assert_eq!(rest[0].data["code"], "turn_interrupted");

    // After a restart the log says the same, once, and the session takes a new turn.
    model.push(sse(vec![ev_text("back"), ev_done()]));
    let server = run(dir.path(), &model).await;
    let all = server.events("t", 0).await.until_stop().await;
    let errors: Vec<_> = all
        .iter()
        .filter(|f| f.event.as_deref() == Some("error"))
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].data["code"], "turn_interrupted");
    let (status, boot) = status_json(
        server
            .client
            .get(format!("{}/api/session/boot?client_id=t", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(boot["vm"]["running_turn"], serde_json::Value::Null);
    let response = server
        .client
        .post(format!("{}/api/chat?client_id=t", server.url))
        .json(&json!({"message": "again", "stream": false}))
        .send()
        .await
        .unwrap();
    let (status, reply) = status_json(response).await;
    assert_eq!((status, reply["reply"].as_str()), (200, Some("back")));
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn auth_off_on_a_public_address_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_okcvm"))
        .args(["run", "--host", "0.0.0.0", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("authentication off"), "{stderr}");
    assert!(stderr.contains("allow_unauthenticated_remote"), "{stderr}");
}

#[tokio::test]
async fn reduced_isolation_is_said_at_startup() {
    // The operator's choice: agent code on the host.
    let stderr = startup_stderr(&[("OKCVM_WORKSPACE__SANDBOX", "none")]).await;
    assert!(
        stderr.contains("warning: workspace.sandbox is none: agent code runs on the host"),
        "{stderr}"
    );
    // A machine where the jail cannot be built: said, with the reason, never run unjailed.
    let stderr = startup_stderr(&[("PATH", "/nonexistent")]).await;
    assert!(
        stderr.contains("warning: the jail cannot be built, so shell commands and Python are refused: bubblewrap is not installed"),
        "{stderr}"
    );
}

/// Starts `okcvm run` with `env` over a clean environment, stops it once it is ready, and
/// returns what it wrote to stderr.
async fn startup_stderr(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_okcvm"));
    command
        .args(["run", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    let mut stdout = tokio::io::BufReader::new(child.stdout.unwrap());
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        use tokio::io::AsyncBufReadExt;
        while stdout.read_line(&mut line).await.unwrap() > 0 {
            if line.contains("OKCVM is running") {
                return;
            }
            line.clear();
        }
        panic!("the server exited before it was ready");
    })
    .await
    .unwrap();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.unwrap(), &mut stderr)
        .await
        .unwrap();
    stderr
}
