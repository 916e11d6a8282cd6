//! The real `okcvm run` binary killed (SIGKILL) at random points of many streaming turns:
//! deltas reach clients before the store has them, yet no number a client received is ever
//! given to another event, and a client resuming with `Last-Event-ID` after the restart gets
//! every later event exactly once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::binary::ServerProcess;
use support::fake_model::*;
use support::server::{events, seq, Frame, SseReader};

const ROUNDS: usize = 10;
const SESSIONS: usize = 3;

/// A small deterministic generator, seeded from the clock (or `CRASH_SEED` to replay a run).
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("crash test seed: CRASH_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `count` tokens, one every `every`, then `end`.
fn streamed(count: usize, every: Duration, end: Vec<Chunk>) -> Response {
    let chunks = (0..count)
        .map(|i| ev_text(&format!("t{i} ")).with_delay(every))
        .chain(end)
        .collect();
    sse(chunks)
}

async fn start(okcvm: &str, dir: &Path, model: &FakeModel) -> ServerProcess {
    support::binary::start(okcvm, dir, &model.base_url(), &[]).await
}

/// The session's last durable event number, as the server reports it.
async fn last_event_id(client: &reqwest::Client, url: &str, session: &str) -> u64 {
    let info: Value = client
        .get(format!("{url}/api/session/boot?client_id={session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    info["vm"]["last_event_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no last_event_id in {info}"))
}

fn is_delta(frame: &Frame) -> bool {
    matches!(frame.event.as_deref(), Some("token" | "reasoning"))
}

#[tokio::test]
async fn sigkill_during_streaming_turns_never_renumbers_what_clients_received() {
    let okcvm = env!("CARGO_BIN_EXE_okcvm");
    let mut rng = Rng::seeded();
    let model = FakeModel::start().await;
    // Plain answers of 60 tokens; some turns first call a tool, whose events are written at
    // once and take the deltas before them along.
    model.set_fallback(streamed(60, Duration::from_millis(3), vec![ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    // Every frame any client received, per session, by number.
    let mut received: Vec<BTreeMap<u64, Frame>> = vec![BTreeMap::new(); SESSIONS];
    let mut interrupted_turns = 0;

    for round in 0..ROUNDS {
        let server = start(okcvm, dir.path(), &model).await;
        for _ in 0..rng.below(3) {
            model.push(streamed(
                20,
                Duration::from_millis(3),
                vec![
                    ev_tool_call(&format!("c{round}"), "mshtools-todo_read", "{}"),
                    ev_done(),
                ],
            ));
        }
        let seen: Vec<Arc<Mutex<Vec<Frame>>>> = (0..SESSIONS).map(|_| Arc::default()).collect();
        let mut readers = Vec::new();
        for (s, seen) in seen.iter().enumerate() {
            let response = client
                .post(format!("{}/api/chat?client_id=crash-{s}", server.url))
                .header("accept", "text/event-stream")
                .json(&json!({"message": format!("round {round}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let mut reader = SseReader::new(response);
            let seen = seen.clone();
            readers.push(tokio::spawn(async move {
                while let Some(frame) = reader.next().await {
                    seen.lock().unwrap().push(frame);
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(rng.below(250))).await;
        server.kill().await;
        for reader in readers {
            reader.await.unwrap();
        }

        let server = start(okcvm, dir.path(), &model).await;
        for (s, seen) in seen.iter().enumerate() {
            let session = format!("crash-{s}");
            let frames = std::mem::take(&mut *seen.lock().unwrap());
            let ids: Vec<u64> = frames.iter().map(seq).collect();
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "a client received numbers out of order: {ids:?}"
            );
            // A number is never given to two different events, before or after a crash.
            for frame in &frames {
                if let Some(earlier) = received[s].insert(seq(frame), frame.clone()) {
                    assert_eq!(&earlier, frame, "event {} renumbered", seq(frame));
                }
            }
            // The last number this client knows, from this round or an earlier one.
            let last_seen = received[s].keys().next_back().copied().unwrap_or(0);
            let ended = frames
                .last()
                .is_some_and(|f| f.event.as_deref() == Some("stop"));

            // Resuming from the last event received gives the rest of the turn, each event
            // once, numbered above everything received.
            let stored_last = last_event_id(&client, &server.url, &session).await;
            if !ended {
                assert!(
                    stored_last > last_seen,
                    "round {round}: the turn {session} was cut off in ends at {stored_last}, at or below {last_seen} received"
                );
                let rest = events(&client, &server.url, &session, Some(last_seen))
                    .await
                    .until_stop()
                    .await;
                let rest_ids: Vec<u64> = rest.iter().map(seq).collect();
                assert!(rest_ids.windows(2).all(|w| w[0] < w[1]), "{rest_ids:?}");
                assert!(rest_ids[0] > last_seen, "{rest_ids:?} after {last_seen}");
                assert_eq!(rest_ids.last(), Some(&stored_last));
                if rest.iter().any(|f| f.data["code"] == "turn_interrupted") {
                    interrupted_turns += 1;
                }
                for frame in rest {
                    assert!(received[s].insert(seq(&frame), frame).is_none());
                }
            }

            // The whole log from the start: in order, agreeing with every event any client
            // received under the same number, and holding every received event that is not
            // a delta (those were durable before they were sent).
            let mut replay = events(&client, &server.url, &session, Some(0)).await;
            let mut replayed = BTreeMap::new();
            while replayed.keys().next_back().copied().unwrap_or(0) < stored_last {
                let frame = replay.next().await.expect("the replay reaches the end");
                let n = seq(&frame);
                assert!(replayed.keys().next_back().is_none_or(|&last| last < n));
                replayed.insert(n, frame);
            }
            for (n, frame) in &received[s] {
                match replayed.get(n) {
                    Some(stored) => assert_eq!(stored, frame, "event {n} differs after restart"),
                    None => assert!(
                        is_delta(frame),
                        "round {round}: {session} lost event {n}, which is not a delta: {frame:?}"
                    ),
                }
            }
            received[s].extend(replayed);
        }
        server.kill().await;
    }
    assert!(
        interrupted_turns > 0,
        "no kill landed during a turn in {ROUNDS} rounds"
    );
}
