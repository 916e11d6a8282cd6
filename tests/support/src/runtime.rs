//! A runtime on a temporary data directory, pointed at a fake model.

use std::time::{Duration, Instant};

use okcvm_actors::config::{EndpointSettings, Settings};
use okcvm_actors::event::{Event, EventKind};
use okcvm_actors::session::{BranchFrom, TurnRequest, TurnStarted};
use okcvm_actors::{Runtime, SessionHandle, SessionKey};

/// Settings for tests: data in `dir`, the chat model at `base_url`, quick retries.
pub fn test_settings(dir: &std::path::Path, base_url: &str) -> Settings {
    let mut settings = Settings {
        data_dir: dir.to_path_buf(),
        chat: Some(EndpointSettings {
            model: "fake-model".into(),
            base_url: base_url.into(),
            api_key: Some("sk-test".into()),
            api_key_env: None,
            supports_streaming: true,
        }),
        ..Settings::default()
    };
    settings.llm.initial_backoff_s = 0.01;
    settings.llm.max_backoff_s = 0.05;
    settings.llm.first_byte_timeout_s = 5.0;
    settings.llm.idle_timeout_s = 5.0;
    settings
}

pub fn local(session: &str) -> SessionKey {
    SessionKey::new("local", session)
}

/// A plain next message.
pub fn say(text: &str) -> TurnRequest {
    TurnRequest {
        message: text.into(),
        branch: BranchFrom::Active,
    }
}

/// Starts a turn and collects its events up to and including `stop`.
pub async fn run_turn(session: &SessionHandle, request: TurnRequest) -> (TurnStarted, Vec<Event>) {
    let started = session.start_turn(request).await.expect("turn starts");
    let events = collect_turn(session, &started).await;
    (started, events)
}

/// The events of a started turn, up to and including its `stop`.
pub async fn collect_turn(session: &SessionHandle, started: &TurnStarted) -> Vec<Event> {
    let mut subscription = session.subscribe(started.after_seq);
    let mut events = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), subscription.next())
            .await
            .expect("the turn ends within 20 s")
            .expect("the session answers");
        let done = matches!(event.kind, EventKind::Stop {});
        events.push(event.as_ref().clone());
        if done {
            return events;
        }
    }
}

/// The `type` of each event, with consecutive deltas of one type folded into one entry.
pub fn shape(events: &[Event]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for event in events {
        let name = event.kind.type_name();
        if event.kind.is_delta() && out.last() == Some(&name) {
            continue;
        }
        out.push(name);
    }
    out
}

/// The final payload of a turn's events.
pub fn final_payload(events: &[Event]) -> serde_json::Value {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Final { payload } => Some(payload.clone()),
            _ => None,
        })
        .expect("a final event")
}

/// Polls `check` until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn start(settings: Settings) -> Runtime {
    Runtime::start(settings).await.expect("runtime starts")
}
