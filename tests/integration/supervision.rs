//! Supervision and crash safety: a failing session is restarted from the store without
//! touching other sessions, and a process killed mid-turn comes back with its history intact
//! and the turn marked interrupted.

use std::process::Stdio;
use std::time::Duration;

use okcvm_actors::event::EventKind;
use support::fake_model::*;
use support::runtime::*;

#[tokio::test]
async fn a_panicking_session_restarts_with_its_history_and_others_keep_working() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("kept"), ev_done()]));
    // The other session's answer arrives slowly, across the crash.
    let slow: Vec<_> = (0..20)
        .map(|i| ev_text(&format!("{i} ")).with_delay(Duration::from_millis(25)))
        .chain([ev_done()])
        .collect();
    model.push(sse(slow));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let crashing = runtime.session(local("crashing")).unwrap();
    let steady = runtime.session(local("steady")).unwrap();
    run_turn(&crashing, say("keep this")).await;

    let started = steady.start_turn(say("count slowly")).await.unwrap();
    let mut follow = steady.subscribe(started.after_seq);
    follow.next().await.unwrap();
    crashing.crash().await.unwrap();

    // The crashed session answers again, from the store.
    let restored = crashing.snapshot().await.unwrap();
    let contents: Vec<&str> = restored
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(contents, ["keep this", "kept"]);
    // The other turn finished untouched.
    let mut text = String::new();
    loop {
        let event = follow.next().await.unwrap();
        match &event.kind {
            EventKind::Token { delta } => text.push_str(delta),
            EventKind::Final { payload } => assert_eq!(payload["status"], "completed"),
            EventKind::Stop {} => break,
            EventKind::Error { code, .. } => panic!("steady session failed: {code}"),
            _ => {}
        }
    }
    assert_eq!(text, (1..20).map(|i| format!("{i} ")).collect::<String>());
    runtime.shutdown().await;
}

#[tokio::test]
async fn sigkill_mid_turn_keeps_history_and_marks_the_turn_interrupted() {
    let model = FakeModel::start().await;
    // Some text, then silence long enough for the kill.
    model.push(sse(vec![
        ev_text("partial "),
        ev_text("never sent").with_delay(Duration::from_secs(60)),
        ev_done(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_okcvm"))
        .args(["exec", "--session", "victim", "--json", "--data-dir"])
        .arg(dir.path())
        .arg("do something long")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OKCVM_CHAT_MODEL", "fake-model")
        .env("OKCVM_CHAT_BASE_URL", model.base_url())
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait until the first token is printed: published at once, not yet stored.
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a first event within 30 s")
        .unwrap()
        .expect("a line");
    let first: okcvm_actors::event::Event = serde_json::from_str(&first).unwrap();
    assert_eq!(
        first.kind,
        EventKind::Token {
            delta: "partial ".into()
        }
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().await.unwrap();

    let model_after = FakeModel::start().await;
    model_after.push(sse(vec![ev_text("back"), ev_done()]));
    let runtime = start(test_settings(dir.path(), &model_after.base_url())).await;
    let session = runtime.session(local("victim")).unwrap();
    let snapshot = session.snapshot().await.unwrap();
    assert_eq!(snapshot.messages[0].content, "do something long");
    assert_eq!(snapshot.running_turn, None);

    // The token may be lost with the process, but its number is never reused: the turn ends
    // with `turn_interrupted` and `stop`, numbered above it.
    let mut rest = session.subscribe(first.seq);
    let interrupted = rest.next().await.unwrap();
    assert!(
        matches!(&interrupted.kind, EventKind::Error { code, .. } if code == "turn_interrupted"),
        "{interrupted:?}"
    );
    assert!(interrupted.seq > first.seq);
    let stop = rest.next().await.unwrap();
    assert_eq!(stop.kind, EventKind::Stop {});
    assert_eq!(stop.seq, snapshot.last_seq);

    // The session carries on.
    let (_, events) = run_turn(&session, say("try again")).await;
    assert_eq!(final_payload(&events)["reply"], "back");
    runtime.shutdown().await;
}
