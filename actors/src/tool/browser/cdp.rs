//! A Chrome DevTools Protocol connection: commands matched to their answers by id, and events
//! (with the target session they belong to) broadcast to whoever listens.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// An event from the browser.
#[derive(Debug, Clone)]
pub(super) struct Event {
    /// The target session it came from (`None` for the browser itself).
    pub session: Option<String>,
    pub method: String,
    pub params: Value,
}

pub(super) struct Cdp {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: AtomicU64,
    events: broadcast::Sender<Event>,
    /// Cancelled when the connection ends (the browser closed or crashed).
    pub closed: CancellationToken,
}

impl Cdp {
    pub async fn connect(url: &str) -> Result<Arc<Self>, String> {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| format!("cannot connect to the browser ({e})"))?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let pending: Pending = Arc::default();
        let (events, _) = broadcast::channel(1024);
        let closed = CancellationToken::new();
        let writer_closed = closed.clone();
        tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            writer_closed.cancel();
        });
        let (reader_pending, reader_events, reader_closed) =
            (pending.clone(), events.clone(), closed.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
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
                    let waiter = reader_pending.lock().ok().and_then(|mut p| p.remove(&id));
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
            if let Ok(mut pending) = reader_pending.lock() {
                for (_, waiter) in pending.drain() {
                    let _ = waiter.send(Err("the browser went away".into()));
                }
            }
        });
        Ok(Arc::new(Self {
            out,
            pending,
            next: AtomicU64::new(1),
            events,
            closed,
        }))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
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
            return Err("the browser went away".into());
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| "the browser connection failed")?
            .insert(id, tx);
        self.out
            .send(message.to_string())
            .map_err(|_| "the browser went away".to_owned())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err("the browser went away".into()),
            Err(_) => {
                if let Ok(mut pending) = self.pending.lock() {
                    pending.remove(&id);
                }
                Err(format!(
                    "the browser did not answer {method} within {} s",
                    timeout.as_secs()
                ))
            }
        }
    }
}
