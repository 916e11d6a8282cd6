//! The OpenAI-compatible chat completions client: one POST to `{base_url}/chat/completions`,
//! streamed or not, with timeouts, retries and error classification.
//!
//! Retries cover what is worth retrying: 408, 429, 5xx, failed connects and connections that
//! drop before the answer is complete. A retry never happens once a piece of the answer has
//! been forwarded to the caller, because the user has already seen it.

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::assemble::{error_message, whole_response, Assembler};
use super::sse::SseDecoder;
use super::{Completion, CompletionRequest, LlmError, StreamDelta};
use crate::config::{EndpointSettings, LlmSettings};
use crate::net::tls::LazyClient;

/// The most of an error body kept for the message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// The most of a whole (non-streamed) response read into memory.
const RESPONSE_LIMIT: usize = 32 * 1024 * 1024;

/// A client for one chat endpoint.
#[derive(Debug, Clone)]
pub struct ChatClient {
    http: LazyClient,
    url: String,
    endpoint: EndpointSettings,
    settings: LlmSettings,
}

/// How one attempt failed, and whether another may follow.
struct AttemptError {
    error: LlmError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl AttemptError {
    fn fatal(error: LlmError) -> Self {
        Self {
            error,
            retryable: false,
            retry_after: None,
        }
    }
    fn retryable(error: LlmError) -> Self {
        Self {
            error,
            retryable: true,
            retry_after: None,
        }
    }
}

impl ChatClient {
    pub fn new(endpoint: EndpointSettings, settings: LlmSettings) -> Result<Self, LlmError> {
        let base = endpoint.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LlmError::Provider {
                status: 0,
                message: format!("base_url must start with http:// or https://, got {base:?}"),
            });
        }
        let connect_timeout = settings.connect_timeout();
        let http = LazyClient::new(move |builder| {
            builder
                .connect_timeout(connect_timeout)
                .user_agent(concat!("okcvm/", env!("CARGO_PKG_VERSION")))
        });
        Ok(Self {
            http,
            url: format!("{base}/chat/completions"),
            endpoint,
            settings,
        })
    }

    /// The model this client asks for.
    pub fn model(&self) -> &str {
        &self.endpoint.model
    }

    /// Runs one completion. When the endpoint streams, text and reasoning are sent on `deltas`
    /// as they arrive; the returned [`Completion`] always holds the whole answer.
    pub async fn complete(
        &self,
        request: &CompletionRequest,
        deltas: Option<mpsc::Sender<StreamDelta>>,
        cancel: &CancellationToken,
    ) -> Result<Completion, LlmError> {
        let body = self.body(request);
        let mut backoff = self.settings.initial_backoff();
        let mut attempt = 0;
        loop {
            let mut forwarded = false;
            let outcome = tokio::select! {
                outcome = self.attempt(&body, deltas.as_ref(), &mut forwarded) => outcome,
                () = cancel.cancelled() => return Err(LlmError::Cancelled),
            };
            let failure = match outcome {
                Ok(completion) => return Ok(completion),
                Err(failure) => failure,
            };
            if !failure.retryable || forwarded || attempt >= self.settings.max_retries {
                return Err(failure.error);
            }
            let delay = failure
                .retry_after
                .unwrap_or(backoff)
                .min(self.settings.max_backoff());
            tracing::warn!(
                model = %self.endpoint.model,
                attempt = attempt + 1,
                delay_ms = delay.as_millis() as u64,
                error = %failure.error,
                "model call failed; retrying"
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = cancel.cancelled() => return Err(LlmError::Cancelled),
            }
            backoff = (backoff * 2).min(self.settings.max_backoff());
            attempt += 1;
        }
    }

    /// The request's JSON, written once from borrowed parts (the tool list and the history
    /// are not copied) and sent as it is by every attempt.
    fn body(&self, request: &CompletionRequest) -> bytes::Bytes {
        #[derive(serde::Serialize)]
        struct StreamOptions {
            include_usage: bool,
        }
        #[derive(serde::Serialize)]
        struct Body<'a> {
            model: &'a str,
            messages: &'a [Value],
            stream: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            stream_options: Option<StreamOptions>,
            #[serde(skip_serializing_if = "<[Value]>::is_empty")]
            tools: &'a [Value],
            #[serde(skip_serializing_if = "Option::is_none")]
            temperature: Option<f64>,
        }
        let streaming = self.endpoint.supports_streaming;
        let body = Body {
            model: &self.endpoint.model,
            messages: &request.messages,
            stream: streaming,
            stream_options: streaming.then_some(StreamOptions {
                include_usage: true,
            }),
            tools: &request.tools,
            temperature: self.settings.temperature,
        };
        // Serialising values, strings and numbers cannot fail.
        serde_json::to_vec(&body).map_or_else(|_| bytes::Bytes::new(), bytes::Bytes::from)
    }

    async fn attempt(
        &self,
        body: &bytes::Bytes,
        deltas: Option<&mpsc::Sender<StreamDelta>>,
        forwarded: &mut bool,
    ) -> Result<Completion, AttemptError> {
        let http = self
            .http
            .get()
            .map_err(|e| AttemptError::fatal(LlmError::Network(e)))?;
        let mut builder = http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone());
        if let Some(key) = self.endpoint.api_key.as_deref().filter(|k| !k.is_empty()) {
            builder = builder.bearer_auth(key);
        }
        let first_byte = self.settings.first_byte_timeout();
        let response = tokio::time::timeout(first_byte, builder.send())
            .await
            .map_err(|_| {
                AttemptError::fatal(LlmError::Timeout(format!(
                    "no response within {} s",
                    first_byte.as_secs_f64()
                )))
            })?
            .map_err(|e| self.send_error(e))?;

        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let mut body = Body::new(response, &self.settings);
            let text = body.read_to_end(ERROR_BODY_LIMIT).await.unwrap_or_default();
            return Err(classify_status(status.as_u16(), &text, retry_after));
        }
        let is_sse = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut body = Body::new(response, &self.settings);
        if is_sse {
            self.read_stream(&mut body, deltas, forwarded).await
        } else {
            let bytes = body.read_to_end(RESPONSE_LIMIT).await?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
                AttemptError::fatal(LlmError::MalformedResponse(format!(
                    "the response is not JSON ({e}): {}",
                    snippet(&bytes)
                )))
            })?;
            let completion = whole_response(&value, &self.endpoint.model)
                .map_err(|e| AttemptError::fatal(LlmError::MalformedResponse(e)))?;
            // A caller that asked for deltas still sees the answer, in one piece.
            if let Some(tx) = deltas {
                if let Some(reasoning) = &completion.reasoning {
                    let _ = tx.send(StreamDelta::Reasoning(reasoning.clone())).await;
                }
                if !completion.content.is_empty() {
                    let _ = tx.send(StreamDelta::Text(completion.content.clone())).await;
                }
            }
            Ok(completion)
        }
    }

    async fn read_stream(
        &self,
        body: &mut Body,
        deltas: Option<&mpsc::Sender<StreamDelta>>,
        forwarded: &mut bool,
    ) -> Result<Completion, AttemptError> {
        let mut decoder = SseDecoder::default();
        let mut assembler = Assembler::default();
        let mut done = false;
        while !done {
            let Some(chunk) = body.next().await? else {
                break;
            };
            let payloads = decoder
                .feed(&chunk)
                .map_err(|e| AttemptError::fatal(LlmError::MalformedResponse(e)))?;
            for payload in payloads {
                if payload.trim() == "[DONE]" {
                    done = true;
                    break;
                }
                let value: Value = serde_json::from_str(&payload).map_err(|e| {
                    AttemptError::fatal(LlmError::MalformedResponse(format!(
                        "a stream event is not JSON ({e}): {}",
                        snippet(payload.as_bytes())
                    )))
                })?;
                let pieces = assembler.chunk(&value).map_err(|message| {
                    AttemptError::retryable(LlmError::Provider {
                        status: 200,
                        message,
                    })
                })?;
                if let Some(tx) = deltas {
                    for piece in pieces {
                        *forwarded = true;
                        let _ = tx.send(piece).await;
                    }
                }
            }
        }
        if !done {
            if let Some(payload) = decoder.finish() {
                done = payload.trim() == "[DONE]";
            }
        }
        if !done && !assembler.saw_finish() {
            return Err(AttemptError::retryable(LlmError::Network(
                "the connection closed before the answer was complete".into(),
            )));
        }
        if !assembler.saw_choice() {
            // A lone `[DONE]`, or chunks with empty `choices`: not an empty answer, no answer.
            return Err(AttemptError::fatal(LlmError::MalformedResponse(
                "the stream ended without any choice: the provider sent no answer".into(),
            )));
        }
        Ok(assembler.finish(&self.endpoint.model))
    }

    fn send_error(&self, e: reqwest::Error) -> AttemptError {
        let detail = error_chain(&e);
        if e.is_timeout() {
            AttemptError::retryable(LlmError::Timeout(format!(
                "connecting to {}: {detail}",
                self.url
            )))
        } else if e.is_connect() || e.is_request() {
            AttemptError::retryable(LlmError::Network(format!("{}: {detail}", self.url)))
        } else {
            AttemptError::fatal(LlmError::Network(format!("{}: {detail}", self.url)))
        }
    }
}

/// A response body read chunk by chunk under the first-byte and idle timeouts.
struct Body {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    first_byte: Duration,
    idle: Duration,
    started: bool,
}

impl Body {
    fn new(response: reqwest::Response, settings: &LlmSettings) -> Self {
        Self {
            stream: response.bytes_stream().boxed(),
            first_byte: settings.first_byte_timeout(),
            idle: settings.idle_timeout(),
            started: false,
        }
    }

    async fn next(&mut self) -> Result<Option<bytes::Bytes>, AttemptError> {
        let (limit, what) = if self.started {
            (self.idle, "no data from the model for")
        } else {
            (self.first_byte, "no first byte of the answer within")
        };
        let next = tokio::time::timeout(limit, self.stream.next())
            .await
            .map_err(|_| {
                AttemptError::fatal(LlmError::Timeout(format!(
                    "{what} {} s",
                    limit.as_secs_f64()
                )))
            })?;
        self.started = true;
        match next {
            None => Ok(None),
            Some(Ok(bytes)) => Ok(Some(bytes)),
            Some(Err(e)) => Err(AttemptError::retryable(LlmError::Network(format!(
                "the connection dropped while reading the answer: {}",
                error_chain(&e)
            )))),
        }
    }

    async fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, AttemptError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next().await? {
            if out.len() + chunk.len() > limit {
                return Err(AttemptError::fatal(LlmError::MalformedResponse(format!(
                    "the response is larger than {limit} bytes"
                ))));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// Sorts an error status into the class the turn reports and decides whether to retry.
fn classify_status(status: u16, body: &[u8], retry_after: Option<Duration>) -> AttemptError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .map(error_message)
                .or_else(|| v.get("message").and_then(Value::as_str).map(str::to_string))
                .or_else(|| v.get("detail").and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| snippet(body));
    let lowered = message.to_lowercase();
    let context = [
        "context_length_exceeded",
        "context length",
        "context window",
        "maximum context",
        "too many tokens",
        "prompt is too long",
    ]
    .iter()
    .any(|needle| lowered.contains(needle));
    match status {
        401 | 403 => AttemptError::fatal(LlmError::Auth { status, message }),
        429 => AttemptError {
            error: LlmError::RateLimited {
                message,
                retry_after,
            },
            retryable: true,
            retry_after,
        },
        400 | 413 | 422 if context => AttemptError::fatal(LlmError::ContextTooLong { message }),
        408 | 500..=599 => AttemptError {
            error: LlmError::Provider { status, message },
            retryable: true,
            retry_after,
        },
        _ => AttemptError::fatal(LlmError::Provider { status, message }),
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// An error with its causes, which is where reqwest keeps the useful part.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// The start of a body, for error messages.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty body)".to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let body =
            br#"{"error": {"message": "This model's maximum context length is 8192 tokens"}}"#;
        assert_eq!(
            classify_status(400, body, None).error.code(),
            "model_context_too_long"
        );
        assert_eq!(
            classify_status(400, br#"{"error": "bad"}"#, None).error,
            LlmError::Provider {
                status: 400,
                message: "bad".into()
            }
        );
        let auth = classify_status(401, b"no", None);
        assert_eq!(auth.error.code(), "model_auth_failed");
        assert!(!auth.retryable);
        let limited = classify_status(429, b"{}", Some(Duration::from_secs(2)));
        assert!(limited.retryable);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(2)));
        assert!(classify_status(503, b"", None).retryable);
        assert!(!classify_status(404, b"", None).retryable);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "1.5".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        headers.insert(
            RETRY_AFTER,
            "Thu, 01 Jan 1970 00:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn a_base_url_without_scheme_is_refused() {
        let endpoint = EndpointSettings {
            model: "m".into(),
            base_url: "localhost:8000/v1".into(),
            api_key: None,
            api_key_env: None,
            supports_streaming: true,
        };
        assert!(ChatClient::new(endpoint, LlmSettings::default()).is_err());
    }
}
