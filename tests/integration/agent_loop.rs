//! The agent loop end to end: the real runtime, a real redb file, real tools, and a scripted
//! fake model on loopback.

use std::time::Duration;

use okcvm_actors::event::{EventKind, ToolStatus};
use okcvm_actors::session::{BranchFrom, SessionError, TurnRequest};
use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::*;

fn tool_messages(request: &Value) -> Vec<Value> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .cloned()
        .collect()
}

/// The role and content of every message a request sent after the system prompt.
fn conversation_sent(request: &Recorded) -> Vec<(Value, Value)> {
    request.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|m| (m["role"].clone(), m["content"].clone()))
        .collect()
}

#[tokio::test]
async fn turn_runs_tools_then_answers_and_everything_is_stored() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("Writing the file."),
        ev_tool_call(
            "call_w",
            "mshtools-write_file",
            r#"{"file_path":"/mnt/okcomputer/output/a.txt","content":"alpha\n"}"#,
        ),
        ev_usage(100, 10),
        ev_done(),
    ]));
    model.push(sse(vec![
        ev_text("Done: "),
        ev_text("a.txt holds alpha."),
        ev_usage(150, 8),
        ev_done(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s1")).unwrap();

    let (started, events) = run_turn(&session, say("write alpha to a.txt")).await;

    assert_eq!(
        shape(&events),
        [
            "token",
            "tool_started",
            "tool_completed",
            "token",
            "final",
            "stop"
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        ((started.after_seq + 1)..=(started.after_seq + events.len() as u64)).collect::<Vec<_>>()
    );
    let payload = final_payload(&events);
    assert_eq!(payload["reply"], "Done: a.txt holds alpha.");
    assert_eq!(payload["status"], "completed");
    assert_eq!(payload["meta"]["tokensIn"], "250 tokens");
    assert_eq!(payload["meta"]["tokensOut"], "18 tokens");
    assert_eq!(payload["tool_calls"][0]["tool_name"], "mshtools-write_file");
    assert_eq!(payload["tool_calls"][0]["status"], "success");
    let started_event = events.iter().find_map(|e| match &e.kind {
        EventKind::ToolStarted { invocation_id, .. } => Some(invocation_id.clone()),
        _ => None,
    });
    assert_eq!(
        payload["tool_calls"][0]["invocation_id"].as_str(),
        started_event.as_deref()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("workspaces/local/s1/output/a.txt")).unwrap(),
        "alpha\n"
    );

    // What the model was sent: the manifest's 24 tools, today's prompt, then the tool result.
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0].body;
    assert_eq!(first["model"], "fake-model");
    assert_eq!(first["tools"].as_array().unwrap().len(), 24);
    let system = first["messages"][0]["content"].as_str().unwrap();
    let today = chrono::Local::now().format("%Y年%m月%d日").to_string();
    assert!(system.contains(&format!("Current date: {today}")));
    assert_eq!(
        first["messages"][1],
        json!({"role": "user", "content": "write alpha to a.txt"})
    );
    let results = tool_messages(&requests[1].body);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["tool_call_id"], "call_w");

    // The history survives a restart of the whole runtime.
    runtime.shutdown().await;
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let snapshot = runtime
        .session(local("s1"))
        .unwrap()
        .snapshot()
        .await
        .unwrap();
    let roles: Vec<&str> = snapshot
        .messages
        .iter()
        .map(|m| match m.role {
            okcvm_actors::history::Role::User => "user",
            okcvm_actors::history::Role::Assistant => "assistant",
            okcvm_actors::history::Role::Tool => "tool",
        })
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool", "assistant"]);
    assert_eq!(snapshot.last_seq, events.last().unwrap().seq);
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_failing_tool_goes_back_to_the_model_and_the_turn_continues() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "c1",
            "mshtools-read_file",
            r#"{"file_path":"/mnt/okcomputer/missing.txt"}"#,
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("The file does not exist."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    let (_, events) = run_turn(&session, say("read missing.txt")).await;

    let completed = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCompleted { status, error, .. } => Some((*status, error.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(completed.0, ToolStatus::Error);
    let payload = final_payload(&events);
    assert_eq!(payload["status"], "completed");
    assert_eq!(payload["reply"], "The file does not exist.");
    let result = &tool_messages(&model.requests()[1].body)[0];
    assert!(
        result["content"].as_str().unwrap().starts_with("Error:"),
        "{result}"
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn schema_invalid_arguments_are_explained_to_the_model() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call("c1", "mshtools-shell", r#"{"cmd":"ls"}"#),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Sorry."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    run_turn(&session, say("list files")).await;

    let result = tool_messages(&model.requests()[1].body)[0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(result.contains("invalid arguments"), "{result}");
    assert!(result.contains("\"cmd\""), "{result}");
    assert!(result.contains("\"command\""), "{result}");
    runtime.shutdown().await;
}

#[tokio::test]
async fn the_step_limit_ends_the_turn_with_a_clear_message() {
    let model = FakeModel::start().await;
    for i in 0..3 {
        model.push(sse(vec![
            ev_tool_call(&format!("c{i}"), "mshtools-todo_read", "{}"),
            ev_done(),
        ]));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.agent.max_steps = 2;
    let runtime = start(settings).await;
    let session = runtime.session(local("s")).unwrap();

    let (_, events) = run_turn(&session, say("loop forever")).await;

    let payload = final_payload(&events);
    assert_eq!(payload["status"], "step_limit");
    assert!(payload["reply"]
        .as_str()
        .unwrap()
        .contains("limit of 2 model calls"));
    assert_eq!(model.requests().len(), 2);
    runtime.shutdown().await;
}

#[tokio::test]
async fn stop_cancels_a_running_turn_and_the_session_takes_the_next_one() {
    let model = FakeModel::start().await;
    model.push(Response::hang());
    model.push(sse(vec![ev_text("fresh answer"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    let started = session.start_turn(say("take your time")).await.unwrap();
    assert!(model.wait_for_requests(1, Duration::from_secs(5)).await);
    assert_eq!(
        session.start_turn(say("again")).await.unwrap_err(),
        SessionError::TurnInProgress
    );
    assert_eq!(session.stop().await.unwrap(), Some(started.turn_id.clone()));
    let events = collect_turn(&session, &started).await;
    assert_eq!(final_payload(&events)["status"], "stopped");

    let (_, events) = run_turn(&session, say("now answer")).await;
    assert_eq!(final_payload(&events)["reply"], "fresh answer");
    runtime.shutdown().await;
}

#[tokio::test]
async fn regenerating_and_editing_make_branches_that_stay_readable() {
    let model = FakeModel::start().await;
    for answer in ["first answer", "second answer", "third answer"] {
        model.push(sse(vec![ev_text(answer), ev_done()]));
    }
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    let (first, _) = run_turn(&session, say("hello")).await;
    let (second, _) = run_turn(
        &session,
        TurnRequest {
            message: "hello again".into(),
            branch: BranchFrom::ReplaceLast,
        },
    )
    .await;

    // The regenerated turn's request holds only its own branch.
    let sent = model.requests()[1].body["messages"].clone();
    assert_eq!(sent.as_array().unwrap().len(), 2, "{sent}");
    assert_eq!(sent[1]["content"], "hello again");

    let view = session
        .message(&second.user_message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        view.sibling_ids,
        [
            first.user_message_id.clone(),
            second.user_message_id.clone()
        ]
    );
    assert_eq!(view.sibling_index, 1);
    let active: Vec<String> = session
        .snapshot()
        .await
        .unwrap()
        .messages
        .iter()
        .map(|m| m.content.clone())
        .collect();
    assert_eq!(active, ["hello again", "second answer"]);

    // Back to the first branch: its answer is still there.
    let snapshot = session.switch_branch(&first.user_message_id).await.unwrap();
    let active: Vec<&str> = snapshot
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(active, ["hello", "first answer"]);

    // Editing the first message of that branch makes a third sibling.
    let (third, _) = run_turn(
        &session,
        TurnRequest {
            message: "hi there".into(),
            branch: BranchFrom::Edit(first.user_message_id.clone()),
        },
    )
    .await;
    let view = session
        .message(&third.user_message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.sibling_ids.len(), 3);
    assert_eq!(
        session
            .start_turn(TurnRequest {
                message: "x".into(),
                branch: BranchFrom::Edit("nope".into())
            })
            .await
            .unwrap_err(),
        SessionError::UnknownMessage("nope".into())
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn rate_limited_call_is_retried_inside_the_turn() {
    let model = FakeModel::start().await;
    model.push(
        Response::status(429)
            .header("retry-after", "0")
            .json(json!({"error": {"message": "slow down"}})),
    );
    model.push(sse(vec![ev_text("ok"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    let (_, events) = run_turn(&session, say("hi")).await;

    assert_eq!(shape(&events), ["token", "final", "stop"]);
    assert_eq!(model.requests().len(), 2);
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_malformed_stream_ends_the_turn_with_a_clear_error() {
    let model = FakeModel::start().await;
    model.push(sse_raw(vec!["data: {this is not json\n\n"]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    let (_, events) = run_turn(&session, say("hi")).await;

    assert_eq!(shape(&events), ["error", "stop"]);
    match &events[0].kind {
        EventKind::Error { code, .. } => assert_eq!(code, "model_malformed_response"),
        other => panic!("unexpected {other:?}"),
    }
    runtime.shutdown().await;
}

#[tokio::test]
async fn the_request_after_a_failed_turn_never_holds_two_user_messages_in_a_row() {
    let model = FakeModel::start().await;
    // The first turn's model call fails for good (a provider error the client does not retry).
    model.push(Response::status(400).json(json!({"error": {"message": "bad request"}})));
    model.push(sse(vec![ev_text("Hello."), ev_usage(10, 2), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    let (_, failed) = run_turn(&session, say("first")).await;
    assert_eq!(shape(&failed), ["error", "stop"]);
    let (_, answered) = run_turn(&session, say("second")).await;
    assert_eq!(shape(&answered), ["token", "final", "stop"]);

    let requests = model.requests();
    assert_eq!(
        conversation_sent(requests.last().unwrap()),
        [
            (json!("user"), json!("first")),
            (
                json!("assistant"),
                json!("[No reply was given to the message above: its turn ended before the model answered.]")
            ),
            (json!("user"), json!("second")),
        ]
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn text_streamed_before_the_model_connection_failed_is_kept_and_marked_cut_off() {
    let model = FakeModel::start().await;
    model.push(sse_dropped(vec![
        ev_text("The first half"),
        ev_text(" of it"),
    ]));
    model.push(sse(vec![
        ev_text("Again, whole."),
        ev_usage(10, 3),
        ev_done(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    let (_, cut) = run_turn(&session, say("tell me")).await;
    assert_eq!(shape(&cut), ["token", "error", "stop"]);
    match &cut[cut.len() - 2].kind {
        EventKind::Error { code, .. } => assert_eq!(code, "model_unreachable"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        model.requests().len(),
        1,
        "not retried once output was relayed"
    );
    let kept = session.snapshot().await.unwrap().messages;
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1].content, "The first half of it");
    assert!(kept[1].incomplete);

    // The next request carries the cut-off answer, saying so, between the two user messages.
    run_turn(&session, say("go on")).await;
    assert_eq!(
        conversation_sent(&model.requests()[1]),
        [
            (json!("user"), json!("tell me")),
            (
                json!("assistant"),
                json!("The first half of it\n\n[This answer was cut off: the connection to the model failed before it ended.]")
            ),
            (json!("user"), json!("go on")),
        ]
    );
    // Stored as it is, and reloaded so.
    runtime.shutdown().await;
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let kept = runtime
        .session(local("s"))
        .unwrap()
        .snapshot()
        .await
        .unwrap()
        .messages;
    assert!(kept[1].incomplete);
    assert!(!kept[3].incomplete);
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_turn_replayed_from_the_store_after_a_restart_is_what_was_sent_live() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call("call_t", "mshtools-todo_read", "{}"),
        ev_usage(100, 10),
        ev_done(),
    ]));
    model.push(sse(vec![
        ev_text("Nothing to do."),
        ev_usage(120, 4),
        ev_done(),
    ]));
    model.push(sse(vec![
        ev_text("Still nothing."),
        ev_usage(130, 3),
        ev_done(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();
    let first = run_turn(&session, say("what is left?")).await;
    let second = run_turn(&session, say("and now?")).await;
    runtime.shutdown().await;

    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();
    for (started, live) in [first, second] {
        let replayed = collect_turn(&session, &started).await;
        assert_eq!(replayed, live);
        match &replayed[replayed.len() - 2].kind {
            EventKind::Final { payload } => {
                assert!(!payload["vm_history"].as_array().unwrap().is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    runtime.shutdown().await;
}

#[tokio::test]
async fn without_a_chat_model_the_turn_says_which_setting_to_fill() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), "http://127.0.0.1:9");
    settings.chat = None;
    let runtime = start(settings).await;
    let session = runtime.session(local("s")).unwrap();

    let (_, events) = run_turn(&session, say("hi")).await;

    match &events[0].kind {
        EventKind::Error { code, message } => {
            assert_eq!(code, "model_not_configured");
            assert!(message.contains("chat.model"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_subscriber_far_behind_resyncs_and_gets_every_event_once() {
    let model = FakeModel::start().await;
    let mut stream: Vec<_> = (0..3000).map(|i| ev_text(&format!("{i} "))).collect();
    stream.push(ev_done());
    model.push(sse(stream));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("s")).unwrap();

    let started = session.start_turn(say("count")).await.unwrap();
    // Subscribe now but read nothing until the turn is over: the live buffer overflows.
    let mut slow = session.subscribe(started.after_seq);
    let fast = collect_turn(&session, &started).await;
    let mut slow_events = Vec::new();
    loop {
        let event = slow.next().await.unwrap();
        let done = matches!(event.kind, EventKind::Stop {});
        slow_events.push(event.as_ref().clone());
        if done {
            break;
        }
    }
    assert_eq!(slow_events, fast);
    let text: String = fast
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Token { delta } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, (0..3000).map(|i| format!("{i} ")).collect::<String>());
    runtime.shutdown().await;
}

#[tokio::test]
async fn an_idle_session_hibernates_and_wakes_with_its_history() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("remembered"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.sessions.idle_hibernate_s = 0.2;
    let runtime = start(settings).await;
    let session = runtime.session(local("s")).unwrap();
    run_turn(&session, say("remember this")).await;

    assert!(
        eventually(Duration::from_secs(10), || async {
            runtime.live_sessions().await.unwrap() == 0
        })
        .await
    );
    let snapshot = session.snapshot().await.unwrap();
    assert_eq!(snapshot.messages.len(), 2);
    assert_eq!(snapshot.messages[1].content, "remembered");
    assert_eq!(runtime.live_sessions().await.unwrap(), 1);
    runtime.shutdown().await;
}

#[tokio::test]
async fn the_todo_list_is_kept_per_session_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), "http://127.0.0.1:9/v1");
    let runtime = start(settings.clone()).await;
    let list = json!({"todos": [
        {"content": "collect data", "id": "1", "priority": "high", "status": "in_progress"},
        {"content": "write report", "id": "2", "priority": "medium", "status": "pending"}
    ]});
    let a = runtime.session(local("todo-a")).unwrap();
    let written = a.call_tool("todo_write", &list.to_string()).await.unwrap();
    assert_eq!(written.result.unwrap().data, Some(list["todos"].clone()));
    let other = runtime.session(local("todo-b")).unwrap();
    let empty = other
        .call_tool("todo_read", "{}")
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(empty.text, "The to-do list is empty.");
    runtime.shutdown().await;

    let runtime = start(settings).await;
    let read = runtime
        .session(local("todo-a"))
        .unwrap()
        .call_tool("todo_read", "{}")
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(read.data, Some(list["todos"].clone()));
    assert!(read.text.contains("write report"), "{}", read.text);
    runtime.shutdown().await;
}

#[tokio::test]
async fn switching_branches_brings_back_each_branchs_files() {
    let model = FakeModel::start().await;
    for content in ["first", "second"] {
        model.push(sse(vec![
            ev_tool_call(
                &format!("w-{content}"),
                "mshtools-write_file",
                &json!({"file_path": "/mnt/okcomputer/output/a.txt", "content": content})
                    .to_string(),
            ),
            ev_done(),
        ]));
        model.push(sse(vec![ev_text(content), ev_done()]));
    }
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(test_settings(dir.path(), &model.base_url())).await;
    let session = runtime.session(local("b")).unwrap();
    let file = dir.path().join("workspaces/local/b/output/a.txt");

    let (first, _) = run_turn(&session, say("write")).await;
    let (second, _) = run_turn(
        &session,
        TurnRequest {
            message: "write differently".into(),
            branch: BranchFrom::ReplaceLast,
        },
    )
    .await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "second");

    session.switch_branch(&first.user_message_id).await.unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "first");
    session
        .switch_branch(&second.user_message_id)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "second");
    runtime.shutdown().await;
}
