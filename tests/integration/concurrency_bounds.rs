//! Model and tool calls are bounded across sessions: those beyond the bound wait their turn
//! (outside any actor's mailbox), and a turn stopped while waiting stops waiting.

use std::time::Duration;

use okcvm_actors::event::EventKind;
use support::fake_model::*;
use support::runtime::*;

#[tokio::test]
async fn model_calls_beyond_the_bound_wait_and_a_stopped_turn_stops_waiting() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("slow "),
        ev_text("answer").with_delay(Duration::from_secs(2)),
        ev_done(),
    ]));
    model.set_fallback(sse(vec![ev_text("quick"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.llm.max_concurrent_calls = 1;
    let runtime = start(settings).await;
    let first = runtime.session(local("first")).unwrap();
    let second = runtime.session(local("second")).unwrap();
    let stopped = runtime.session(local("stopped")).unwrap();

    let first_turn = first.start_turn(say("one")).await.unwrap();
    assert!(model.wait_for_requests(1, Duration::from_secs(10)).await);
    let second_turn = second.start_turn(say("two")).await.unwrap();
    let stopped_turn = stopped.start_turn(say("three")).await.unwrap();
    assert!(
        !model.wait_for_requests(2, Duration::from_millis(500)).await,
        "a second model call started while the only permit was taken"
    );

    stopped.stop().await.unwrap();
    let events = collect_turn(&stopped, &stopped_turn).await;
    assert_eq!(final_payload(&events)["status"], "stopped", "{events:?}");
    assert_eq!(
        model.request_count(),
        1,
        "the stopped turn never reached the model"
    );

    for (session, turn) in [(&first, &first_turn), (&second, &second_turn)] {
        let events = collect_turn(session, turn).await;
        assert_eq!(final_payload(&events)["status"], "completed", "{events:?}");
    }
    assert_eq!(model.request_count(), 2);
    runtime.shutdown().await;
}

#[tokio::test]
async fn tool_calls_beyond_the_bound_run_one_after_another() {
    let model = FakeModel::start().await;
    // Each tool call prints when it started and ended, in nanoseconds.
    let command = r#"{"command":"s=$(date +%s%N); sleep 0.3; echo \"$s $(date +%s%N)\""}"#;
    for id in ["a", "b"] {
        model.push(sse(vec![
            ev_tool_call(id, "mshtools-shell", command),
            ev_done(),
        ]));
    }
    model.set_fallback(sse(vec![ev_text("done"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.agent.max_concurrent_tool_calls = 1;
    let runtime = start(settings).await;
    let sessions = [
        runtime.session(local("a")).unwrap(),
        runtime.session(local("b")).unwrap(),
    ];
    let mut turns = Vec::new();
    for session in &sessions {
        turns.push(session.start_turn(say("time it")).await.unwrap());
    }
    let mut spans = Vec::new();
    for (session, turn) in sessions.iter().zip(&turns) {
        let events = collect_turn(session, turn).await;
        let output = events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::ToolCompleted { output, .. } => output.clone(),
                _ => None,
            })
            .expect("the tool ran");
        let times: Vec<u128> = output
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        assert_eq!(times.len(), 2, "{output}");
        spans.push((times[0], times[1]));
    }
    spans.sort();
    assert!(
        spans[0].1 <= spans[1].0,
        "the two calls overlapped: {spans:?}"
    );
    runtime.shutdown().await;
}
