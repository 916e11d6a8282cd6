//! The real server on 127.0.0.1:0, in-process, and a small HTTP + SSE client for tests.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use okcvm::app::RunningServer;
use okcvm::http::Authenticator;
use okcvm_actors::config::Settings;
use serde_json::Value;

pub struct TestServer {
    pub url: String,
    pub client: reqwest::Client,
    server: Option<RunningServer>,
}

impl TestServer {
    pub async fn start(settings: Settings) -> Self {
        Self::start_with_auth(settings, None).await
    }

    pub async fn start_with_auth(settings: Settings, auth: Option<Arc<dyn Authenticator>>) -> Self {
        let listener = okcvm::app::bind("127.0.0.1:0").await.unwrap();
        let server = okcvm::app::start(settings, listener, auth)
            .await
            .expect("server starts");
        Self {
            url: server.url(),
            client: reqwest::Client::new(),
            server: Some(server),
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.at(path)).send().await.unwrap();
        status_json(response).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.at(path))
            .json(body)
            .send()
            .await
            .unwrap();
        status_json(response).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .put(self.at(path))
            .json(body)
            .send()
            .await
            .unwrap();
        status_json(response).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let response = self.client.delete(self.at(path)).send().await.unwrap();
        status_json(response).await
    }

    /// A streamed chat in `session`; the response is open, read it with [`SseReader`].
    pub async fn chat_stream(&self, session: &str, message: &str) -> SseReader {
        let response = self
            .client
            .post(self.at(&format!("/api/chat?client_id={session}")))
            .header("accept", "text/event-stream")
            .json(&serde_json::json!({"message": message}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "chat did not start a stream");
        SseReader::new(response)
    }

    /// `GET /api/session/events` from after `after`.
    pub async fn events(&self, session: &str, last_event_id: Option<u64>) -> SseReader {
        events(&self.client, &self.url, session, last_event_id).await
    }

    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// `GET /api/session/events` of the server at `url` (e.g. `http://127.0.0.1:40123`), from
/// after `last_event_id` when one is given.
pub async fn events(
    client: &reqwest::Client,
    url: &str,
    session: &str,
    last_event_id: Option<u64>,
) -> SseReader {
    let mut request = client.get(format!("{url}/api/session/events?client_id={session}"));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    SseReader::new(response)
}

pub async fn status_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// One SSE frame as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Value,
}

/// Reads SSE frames off a response, skipping comments.
pub struct SseReader {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
    pub comments: usize,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            stream: response.bytes_stream().boxed(),
            buffer: String::new(),
            comments: 0,
        }
    }

    /// The next frame, or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame {
                    id: None,
                    event: None,
                    data: Value::Null,
                };
                let mut data = Vec::new();
                let mut only_comments = true;
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                        continue;
                    }
                    only_comments = false;
                    if let Some(v) = line.strip_prefix("id:") {
                        frame.id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        frame.event = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                    }
                }
                if only_comments {
                    continue;
                }
                frame.data = serde_json::from_str(&data.join("\n")).unwrap_or(Value::Null);
                return Some(frame);
            }
            match tokio::time::timeout(Duration::from_secs(20), self.stream.next()).await {
                Ok(Some(Ok(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Some(Err(_))) | Ok(None) => return None,
                Err(_) => panic!("no SSE data within 20 s"),
            }
        }
    }

    /// Frames up to and including the next `stop`.
    pub async fn until_stop(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next().await {
            let stop = frame.event.as_deref() == Some("stop");
            frames.push(frame);
            if stop {
                return frames;
            }
        }
        panic!("the stream ended before stop: {frames:?}");
    }
}

/// The `id:` of a frame as a number.
pub fn seq(frame: &Frame) -> u64 {
    frame.id.as_deref().unwrap().parse().unwrap()
}
