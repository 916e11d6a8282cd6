//! A scripted OpenAI-compatible model server on 127.0.0.1.
//!
//! It speaks HTTP/1.1 (with keep-alive) over a plain socket so that tests can script what real providers do
//! wrong as well as right: chunked server-sent events with delays between chunks, connections
//! cut mid-stream, requests that are never answered, error statuses with `Retry-After`.
//! Each request takes the next scripted [`Response`]; with nothing scripted it answers 500.
//! Every request is recorded (headers lower-cased, body parsed as JSON) for assertions.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Bytes(Vec<u8>),
    /// Chunked transfer, one HTTP chunk per item; `cut` drops the socket before the end.
    Stream {
        chunks: Vec<Chunk>,
        cut: bool,
    },
    /// Reads the request and never answers.
    Hang,
}

/// One piece of a streamed answer, written after its delay.
#[derive(Debug, Clone)]
pub struct Chunk {
    payload: Payload,
    delay: Duration,
}

#[derive(Debug, Clone)]
enum Payload {
    /// A `chat.completion.chunk`; `auto_index` asks [`sse`] to number its tool call.
    Json {
        value: Value,
        auto_index: bool,
    },
    Raw(String),
    /// A text delta `@<microseconds since the epoch>;` stamped when it is written, so a
    /// client can measure how long the token took to reach it.
    Timestamp,
}

impl Chunk {
    /// Writes the chunk this long after the one before was due (or after the headers).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn bytes(&self) -> String {
        match &self.payload {
            Payload::Json { value, .. } => format!("data: {value}\n\n"),
            Payload::Raw(raw) => raw.clone(),
            Payload::Timestamp => {
                let micros = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_micros())
                    .unwrap_or(0);
                format!(
                    "data: {}\n\n",
                    delta(json!({"content": format!("@{micros};")}))
                )
            }
        }
    }
}

impl Response {
    /// An empty answer with this status; add a body with [`Response::json`] or [`Response::text`].
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn json(mut self, value: Value) -> Self {
        self.headers
            .push(("content-type".into(), "application/json".into()));
        self.body = Body::Bytes(value.to_string().into_bytes());
        self
    }

    pub fn text(mut self, text: &str) -> Self {
        self.headers
            .push(("content-type".into(), "text/plain".into()));
        self.body = Body::Bytes(text.as_bytes().to_vec());
        self
    }

    /// Accepts the request and never answers it.
    pub fn hang() -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: Body::Hang,
        }
    }
}

/// A streamed answer. Tool calls made with [`ev_tool_call`] are numbered 0, 1, .. in order.
pub fn sse(mut chunks: Vec<Chunk>) -> Response {
    let mut next_index = 0;
    for chunk in &mut chunks {
        if let Payload::Json {
            value,
            auto_index: true,
        } = &mut chunk.payload
        {
            value["choices"][0]["delta"]["tool_calls"][0]["index"] = json!(next_index);
            next_index += 1;
        }
    }
    stream(chunks, false)
}

/// A streamed answer whose chunks are written exactly as given.
pub fn sse_raw(chunks: Vec<&str>) -> Response {
    stream(
        chunks
            .into_iter()
            .map(|raw| Chunk {
                payload: Payload::Raw(raw.to_string()),
                delay: Duration::ZERO,
            })
            .collect(),
        false,
    )
}

/// A streamed answer whose connection is cut after the chunks, without ending the stream.
pub fn sse_dropped(chunks: Vec<Chunk>) -> Response {
    match sse(chunks).body {
        Body::Stream { chunks, .. } => stream(chunks, true),
        _ => unreachable!("sse always streams"),
    }
}

fn stream(chunks: Vec<Chunk>, cut: bool) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: Body::Stream { chunks, cut },
    }
}

fn delta(delta: Value) -> Value {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "choices": [{"index": 0, "delta": delta, "finish_reason": null}]
    })
}

fn json_chunk(value: Value) -> Chunk {
    Chunk {
        payload: Payload::Json {
            value,
            auto_index: false,
        },
        delay: Duration::ZERO,
    }
}

/// A chunk exactly as given (for provider quirks).
pub fn ev_json(value: Value) -> Chunk {
    json_chunk(value)
}

pub fn ev_text(text: &str) -> Chunk {
    json_chunk(delta(json!({"role": "assistant", "content": text})))
}

/// A text delta `@<microseconds since the epoch>;` stamped when it is written, so a client can
/// measure how long the token took to reach it.
pub fn ev_timestamp() -> Chunk {
    Chunk {
        payload: Payload::Timestamp,
        delay: Duration::ZERO,
    }
}

pub fn ev_reasoning(text: &str) -> Chunk {
    json_chunk(delta(
        json!({"role": "assistant", "reasoning_content": text}),
    ))
}

/// A whole tool call in one chunk, as most providers send short calls.
pub fn ev_tool_call(id: &str, name: &str, arguments: &str) -> Chunk {
    Chunk {
        payload: Payload::Json {
            value: delta(json!({"tool_calls": [{
                "id": id,
                "type": "function",
                "function": {"name": name, "arguments": arguments}
            }]})),
            auto_index: true,
        },
        delay: Duration::ZERO,
    }
}

pub fn ev_finish(reason: &str) -> Chunk {
    json_chunk(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]
    }))
}

/// The usage chunk sent last when `stream_options.include_usage` is set.
pub fn ev_usage(prompt_tokens: u64, completion_tokens: u64) -> Chunk {
    json_chunk(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        }
    }))
}

pub fn ev_done() -> Chunk {
    Chunk {
        payload: Payload::Raw("data: [DONE]\n\n".into()),
        delay: Duration::ZERO,
    }
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body parsed as JSON (`Null` when it was not JSON).
    pub body: Value,
}

/// A request as read off the socket; parsed when a test asks, so that parsing is not part
/// of what benchmarks measure.
struct RawRequest {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl RawRequest {
    fn parse(&self) -> Recorded {
        Recorded {
            method: self.method.clone(),
            path: self.path.clone(),
            headers: self.headers.clone(),
            body: serde_json::from_slice(&self.body).unwrap_or(Value::Null),
        }
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Response>,
    requests: Vec<RawRequest>,
    /// Benchmarks turn this on so that what the fake model keeps does not count in their
    /// memory or time: requests are then only counted, not kept.
    forget_requests: bool,
    /// Requests counted and not kept.
    forgotten: usize,
    /// Answers every request the script does not cover, from the request's body.
    responder: Option<Responder>,
    /// Answers every request the script and the responder do not cover (instead of a 500).
    fallback: Option<Response>,
}

/// Picks the answer to a request from its body (JSON).
type Responder = Arc<dyn Fn(&Value) -> Response + Send + Sync>;

/// The running server; stops when dropped.
pub struct FakeModel {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeModel {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// On a given port (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let arrived = Arc::new(Notify::new());
        let task = tokio::spawn({
            let state = state.clone();
            let arrived = arrived.clone();
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    tokio::spawn(serve(socket, state.clone(), arrived.clone()));
                }
            }
        });
        Self {
            addr,
            state,
            arrived,
            task,
        }
    }

    /// The base URL to configure, with the `/v1` suffix providers use.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues the answer to a future request.
    pub fn push(&self, response: Response) {
        self.state
            .lock()
            .expect("fake model state")
            .script
            .push_back(response);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        let state = self.state.lock().expect("fake model state");
        state.requests.iter().map(RawRequest::parse).collect()
    }

    /// The answer to every request once the script is used up.
    pub fn set_fallback(&self, response: Response) {
        self.state.lock().expect("fake model state").fallback = Some(response);
    }

    /// Answers every request the script does not cover with what `respond` makes of its
    /// body, e.g. a tool call until the conversation ends in a tool result, then text.
    pub fn set_responder(&self, respond: impl Fn(&Value) -> Response + Send + Sync + 'static) {
        self.state.lock().expect("fake model state").responder = Some(Arc::new(respond));
    }

    /// Back to the script and the fallback alone.
    pub fn clear_responder(&self) {
        self.state.lock().expect("fake model state").responder = None;
    }

    /// Stops keeping requests: from now on they are only counted ([`Self::request_count`]),
    /// and [`Self::requests`] does not list them.
    pub fn forget_requests(&self) {
        self.state.lock().expect("fake model state").forget_requests = true;
    }

    /// How many requests arrived so far.
    pub fn request_count(&self) -> usize {
        let state = self.state.lock().expect("fake model state");
        state.requests.len() + state.forgotten
    }

    /// Waits until at least `n` requests arrived; false on timeout.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            if self.request_count() >= n {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.request_count() >= n;
            }
        }
    }
}

async fn serve(mut socket: TcpStream, state: Arc<Mutex<State>>, arrived: Arc<Notify>) {
    // Chunks go out as they are written, as a provider's streaming server sends them.
    let _ = socket.set_nodelay(true);
    // Keep-alive, as providers do: one request after another until a response ends the
    // connection (a cut stream, a hang) or the client closes it.
    while let Some(request) = read_request(&mut socket).await {
        let (scripted, responder) = {
            let mut state = state.lock().expect("fake model state");
            (state.script.pop_front(), state.responder.clone())
        };
        let response = match (scripted, responder) {
            (Some(response), _) => Some(response),
            (None, Some(respond)) => Some(respond(
                &serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            )),
            (None, None) => None,
        };
        let response = {
            let mut state = state.lock().expect("fake model state");
            if state.forget_requests {
                state.forgotten += 1;
            } else {
                state.requests.push(request);
            }
            response.or_else(|| state.fallback.clone())
        };
        arrived.notify_waiters();
        let response = response.unwrap_or_else(|| {
            Response::status(500)
                .json(json!({"error": {"message": "fake model: no scripted response left"}}))
        });
        match write_response(&mut socket, response).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<RawRequest> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer.split_off(header_end);
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(RawRequest {
        method,
        path,
        headers,
        body,
    })
}

/// Writes the answer; `Ok(true)` when the connection can carry another request.
async fn write_response(socket: &mut TcpStream, response: Response) -> std::io::Result<bool> {
    let mut head = format!("HTTP/1.1 {} Fake\r\n", response.status);
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match response.body {
        Body::Hang => {
            // Hold the connection until the client gives up.
            let mut sink = [0u8; 1024];
            while socket.read(&mut sink).await.unwrap_or(0) > 0 {}
            Ok(false)
        }
        Body::Bytes(bytes) => {
            head.push_str(&format!("content-length: {}\r\n\r\n", bytes.len()));
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&bytes).await?;
            socket.flush().await?;
            Ok(true)
        }
        Body::Stream { chunks, cut } => {
            head.push_str("transfer-encoding: chunked\r\n\r\n");
            socket.write_all(head.as_bytes()).await?;
            socket.flush().await?;
            // Each delay counts from when the chunk before was due, not from when the timer
            // woke: a token every 10 ms is 100 tokens a second, as a provider's pace is.
            let mut due = tokio::time::Instant::now();
            for chunk in chunks {
                if !chunk.delay.is_zero() {
                    due += chunk.delay;
                    tokio::time::sleep_until(due).await;
                }
                let data = chunk.bytes();
                socket
                    .write_all(format!("{:x}\r\n{data}\r\n", data.len()).as_bytes())
                    .await?;
                socket.flush().await?;
            }
            if cut {
                // Closing without the final empty chunk: the body ends mid-message.
                return Ok(false);
            }
            socket.write_all(b"0\r\n\r\n").await?;
            socket.flush().await?;
            Ok(true)
        }
    }
}
