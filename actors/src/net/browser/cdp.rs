//! A Chrome DevTools Protocol connection over the browser's pipe (`--remote-debugging-pipe`:
//! the browser reads commands from its descriptor 3 and writes answers and events to 4, each
//! message ending in a NUL byte), so no TCP port exists for anything else to reach. Commands
//! are matched to their answers by id, and events (with the target session they belong to) are
//! broadcast to whoever listens.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::sync::lock;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// What a call on a browser that has died answers: the next `browser_visit` starts a new one.
const GONE: &str =
    "the browser went away (it starts again with the next browser_visit: visit the page again)";

/// An event from the browser.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// The target session it came from (`None` for the browser itself).
    pub session: Option<String>,
    pub method: String,
    pub params: Value,
}

pub(crate) struct Cdp {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: AtomicU64,
    events: broadcast::Sender<Event>,
    /// Cancelled when the connection ends (the browser closed or crashed).
    pub closed: CancellationToken,
}

impl Cdp {
    /// Speaks over the browser's pipe: `to_browser` is its descriptor 3, `from_browser` its 4.
    pub fn over_pipe(to_browser: pipe::Sender, from_browser: pipe::Receiver) -> Arc<Self> {
        let mut sink = to_browser;
        let mut stream = BufReader::new(from_browser);
        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let pending: Pending = Arc::default();
        let (events, _) = broadcast::channel(1024);
        let closed = CancellationToken::new();
        let writer_closed = closed.clone();
        tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                let mut message = text.into_bytes();
                message.push(0);
                if sink.write_all(&message).await.is_err() {
                    break;
                }
            }
            writer_closed.cancel();
        });
        let (reader_pending, reader_events, reader_closed) =
            (pending.clone(), events.clone(), closed.clone());
        tokio::spawn(async move {
            let mut message = Vec::new();
            loop {
                message.clear();
                match stream.read_until(0, &mut message).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if message.last() == Some(&0) {
                    message.pop();
                }
                let Ok(value) = serde_json::from_slice::<Value>(&message) else {
                    continue;
                };
                if let Some(id) = value.get("id").and_then(Value::as_u64) {
                    let answer = match value.get("error") {
                        Some(error) => Err(error
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("the browser refused the command")
                            .to_owned()),
                        None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
                    };
                    let waiter = lock(&reader_pending).remove(&id);
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(answer);
                    }
                } else if let Some(method) = value.get("method").and_then(Value::as_str) {
                    let _ = reader_events.send(Event {
                        session: value
                            .get("sessionId")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        method: method.to_owned(),
                        params: value.get("params").cloned().unwrap_or(Value::Null),
                    });
                }
            }
            reader_closed.cancel();
            for (_, waiter) in lock(&reader_pending).drain() {
                let _ = waiter.send(Err(GONE.into()));
            }
        });
        Arc::new(Self {
            out,
            pending,
            next: AtomicU64::new(1),
            events,
            closed,
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Sends a command to the browser without waiting for an answer (its answer, matched to
    /// no caller, is dropped).
    pub fn send(&self, method: &str, params: Value) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let message = json!({"id": id, "method": method, "params": params});
        let _ = self.out.send(message.to_string());
    }

    /// Sends a command (to a target session, or the browser) and waits for its answer.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, String> {
        if self.closed.is_cancelled() {
            return Err(GONE.into());
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, tx);
        self.out
            .send(message.to_string())
            .map_err(|_| GONE.to_owned())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(GONE.into()),
            Err(_) => {
                lock(&self.pending).remove(&id);
                Err(format!(
                    "the browser did not answer {method} within {} s",
                    timeout.as_secs()
                ))
            }
        }
    }
}
