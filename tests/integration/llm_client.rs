//! The model client against a scripted OpenAI-compatible server on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use okcvm_actors::config::{EndpointSettings, LlmSettings};
use okcvm_actors::llm::{
    ChatClient, Completion, CompletionRequest, LlmError, StreamDelta, ToolCallRequest, Usage,
};
use serde_json::json;
use support::fake_model::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn settings() -> LlmSettings {
    LlmSettings {
        max_retries: 2,
        initial_backoff_s: 0.01,
        max_backoff_s: 1.0,
        first_byte_timeout_s: 5.0,
        idle_timeout_s: 5.0,
        ..LlmSettings::default()
    }
}

fn endpoint(base_url: &str, streaming: bool) -> EndpointSettings {
    EndpointSettings {
        model: "fake-model".into(),
        base_url: base_url.into(),
        api_key: Some("sk-secret".into()),
        api_key_env: None,
        supports_streaming: streaming,
    }
}

fn client(model: &FakeModel, settings: LlmSettings) -> ChatClient {
    ChatClient::new(endpoint(&model.base_url(), true), settings).unwrap()
}

fn request() -> CompletionRequest {
    CompletionRequest {
        messages: vec![json!({"role": "user", "content": "hi"})],
        tools: Arc::new(vec![json!({
            "type": "function",
            "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}
        })]),
    }
}

/// Runs a completion and returns it with every delta forwarded on the way.
async fn complete(client: &ChatClient) -> (Result<Completion, LlmError>, Vec<StreamDelta>) {
    let (tx, mut rx) = mpsc::channel(1024);
    let result = client
        .complete(&request(), Some(tx), &CancellationToken::new())
        .await;
    let mut deltas = Vec::new();
    while let Ok(delta) = rx.try_recv() {
        deltas.push(delta);
    }
    (result, deltas)
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCallRequest {
    ToolCallRequest {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

#[tokio::test]
async fn a_streamed_answer_forwards_reasoning_and_text_and_reports_usage() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_reasoning("Let me "),
        ev_reasoning("think."),
        ev_text("Hello"),
        ev_text(", world"),
        ev_finish("stop"),
        ev_usage(12, 3),
        ev_done(),
    ]));
    let (result, deltas) = complete(&client(&model, settings())).await;
    let done = result.unwrap();
    assert_eq!(done.content, "Hello, world");
    assert_eq!(done.reasoning.as_deref(), Some("Let me think."));
    assert_eq!(done.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        done.usage,
        Some(Usage {
            prompt_tokens: 12,
            completion_tokens: 3
        })
    );
    assert_eq!(done.model, "fake-model");
    assert_eq!(
        deltas,
        [
            StreamDelta::Reasoning("Let me ".into()),
            StreamDelta::Reasoning("think.".into()),
            StreamDelta::Text("Hello".into()),
            StreamDelta::Text(", world".into()),
        ]
    );

    let sent = &model.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.headers.get("authorization").map(String::as_str),
        Some("Bearer sk-secret")
    );
    assert_eq!(sent.body["model"], "fake-model");
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": "hi"}])
    );
    assert_eq!(sent.body["tools"][0]["function"]["name"], "f");
}

#[tokio::test]
async fn tool_calls_split_across_chunks_are_assembled_in_order() {
    let model = FakeModel::start().await;
    let fragment = |index: u64, id: Option<&str>, name: Option<&str>, args: &str| {
        let mut call = json!({"index": index, "function": {"arguments": args}});
        if let Some(id) = id {
            call["id"] = json!(id);
            call["type"] = json!("function");
            call["function"]["name"] = json!(name);
        }
        ev_json(json!({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}))
    };
    model.push(sse(vec![
        ev_text("Two calls."),
        fragment(0, Some("call_a"), Some("read"), ""),
        fragment(0, None, None, "{\"path\":"),
        fragment(1, Some("call_b"), Some("write"), "{\"x\""),
        fragment(0, None, None, "\"a.txt\"}"),
        fragment(1, None, None, ":1}"),
        ev_finish("tool_calls"),
        ev_done(),
    ]));
    let done = complete(&client(&model, settings())).await.0.unwrap();
    assert_eq!(
        done.tool_calls,
        [
            call("call_a", "read", "{\"path\":\"a.txt\"}"),
            call("call_b", "write", "{\"x\":1}")
        ]
    );
    assert_eq!(done.finish_reason.as_deref(), Some("tool_calls"));
}

#[tokio::test]
async fn providers_that_omit_or_reuse_the_index_still_give_separate_calls() {
    let model = FakeModel::start().await;
    // No index at all: fragments continue the latest call.
    model.push(sse(vec![
        ev_json(json!({"choices": [{"delta": {"tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":"}}
        ]}}]})),
        ev_json(
            json!({"choices": [{"delta": {"tool_calls": [{"function": {"arguments": "1}"}}]}}]}),
        ),
        ev_json(json!({"choices": [{"delta": {"tool_calls": [
            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{}"}}
        ]}}]})),
        ev_done(),
    ]));
    // Every call at index 0, told apart by its id.
    model.push(sse(vec![
        ev_json(json!({"choices": [{"delta": {"tool_calls": [
            {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}
        ]}}]})),
        ev_json(json!({"choices": [{"delta": {"tool_calls": [
            {"index": 0, "id": "c2", "function": {"name": "g", "arguments": "{\"b\""}}
        ]}}]})),
        ev_json(json!({"choices": [{"delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": ":2}"}}
        ]}}]})),
        ev_done(),
    ]));
    let client = client(&model, settings());
    let omitted = complete(&client).await.0.unwrap();
    assert_eq!(
        omitted.tool_calls,
        [call("c1", "f", "{\"a\":1}"), call("c2", "g", "{}")]
    );
    let reused = complete(&client).await.0.unwrap();
    assert_eq!(
        reused.tool_calls,
        [call("c1", "f", "{}"), call("c2", "g", "{\"b\":2}")]
    );
}

#[tokio::test]
async fn a_non_streaming_endpoint_gets_one_json_answer() {
    let model = FakeModel::start().await;
    model.push(Response::status(200).json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "served-model",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant",
            "content": "Checking.",
            "reasoning_content": "The user wants f.",
            "tool_calls": [{"id": "c9", "type": "function", "function": {"name": "f", "arguments": "{\"q\":1}"}}]
        }}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 7, "total_tokens": 47}
    })));
    let client = ChatClient::new(endpoint(&model.base_url(), false), settings()).unwrap();
    let (result, deltas) = complete(&client).await;
    let done = result.unwrap();
    assert_eq!(done.content, "Checking.");
    assert_eq!(done.reasoning.as_deref(), Some("The user wants f."));
    assert_eq!(done.tool_calls, [call("c9", "f", "{\"q\":1}")]);
    assert_eq!(done.model, "served-model");
    assert_eq!(done.usage.map(|u| u.completion_tokens), Some(7));
    assert_eq!(
        deltas,
        [
            StreamDelta::Reasoning("The user wants f.".into()),
            StreamDelta::Text("Checking.".into())
        ]
    );
    let sent = &model.requests()[0].body;
    assert_eq!(sent["stream"], false);
    assert!(sent.get("stream_options").is_none(), "{sent}");
}

#[tokio::test]
async fn rate_limiting_is_retried_after_the_time_the_provider_asks_for() {
    let model = FakeModel::start().await;
    model.push(
        Response::status(429)
            .header("retry-after", "0.4")
            .json(json!({"error": {"message": "slow down"}})),
    );
    model.push(sse(vec![ev_text("ok"), ev_done()]));
    let started = Instant::now();
    let done = complete(&client(&model, settings())).await.0.unwrap();
    assert_eq!(done.content, "ok");
    assert_eq!(model.requests().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "retried after {:?}, before Retry-After",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_with_the_providers_message() {
    let model = FakeModel::start().await;
    for _ in 0..3 {
        model.push(Response::status(503).json(json!({"error": {"message": "overloaded"}})));
    }
    model.push(sse(vec![ev_text("too late"), ev_done()]));
    let error = complete(&client(&model, settings())).await.0.unwrap_err();
    assert_eq!(
        error,
        LlmError::Provider {
            status: 503,
            message: "overloaded".into()
        }
    );
    assert_eq!(error.code(), "model_provider_error");
    assert_eq!(model.requests().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn a_connection_dropped_before_any_output_is_retried() {
    let model = FakeModel::start().await;
    model.push(sse_dropped(vec![]));
    model.push(sse(vec![ev_text("second try"), ev_done()]));
    let (result, deltas) = complete(&client(&model, settings())).await;
    assert_eq!(result.unwrap().content, "second try");
    assert_eq!(deltas, [StreamDelta::Text("second try".into())]);
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn a_connection_dropped_after_output_is_not_retried() {
    let model = FakeModel::start().await;
    model.push(sse_dropped(vec![ev_text("half an ans")]));
    model.push(sse(vec![ev_text("never asked for"), ev_done()]));
    let (result, deltas) = complete(&client(&model, settings())).await;
    let error = result.unwrap_err();
    assert_eq!(error.code(), "model_unreachable", "{error}");
    assert_eq!(deltas, [StreamDelta::Text("half an ans".into())]);
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn bad_credentials_fail_at_once_as_auth_errors() {
    let model = FakeModel::start().await;
    model.push(Response::status(401).json(json!({"error": {"message": "invalid api key"}})));
    let error = complete(&client(&model, settings())).await.0.unwrap_err();
    assert_eq!(
        error,
        LlmError::Auth {
            status: 401,
            message: "invalid api key".into()
        }
    );
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn an_overlong_conversation_is_reported_as_context_too_long() {
    let model = FakeModel::start().await;
    model.push(Response::status(400).json(json!({"error": {
        "message": "This model's maximum context length is 8192 tokens.",
        "code": "context_length_exceeded"
    }})));
    let error = complete(&client(&model, settings())).await.0.unwrap_err();
    assert_eq!(error.code(), "model_context_too_long");
    assert!(error.to_string().contains("8192 tokens"), "{error}");
}

#[tokio::test]
async fn an_unanswered_request_hits_the_first_byte_timeout() {
    let model = FakeModel::start().await;
    model.push(Response::hang());
    let settings = LlmSettings {
        first_byte_timeout_s: 0.3,
        ..settings()
    };
    let error = complete(&client(&model, settings)).await.0.unwrap_err();
    assert_eq!(error.code(), "model_timeout", "{error}");
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_that_goes_silent_hits_the_idle_timeout() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("start"),
        ev_text("much later").with_delay(Duration::from_secs(30)),
        ev_done(),
    ]));
    let settings = LlmSettings {
        idle_timeout_s: 0.3,
        ..settings()
    };
    let (result, deltas) = complete(&client(&model, settings)).await;
    let error = result.unwrap_err();
    assert_eq!(error.code(), "model_timeout");
    assert!(error.to_string().contains("no data"), "{error}");
    assert_eq!(deltas, [StreamDelta::Text("start".into())]);
}

#[tokio::test]
async fn cancelling_ends_a_running_call() {
    let model = FakeModel::start().await;
    model.push(Response::hang());
    let client = client(&model, settings());
    let cancel = CancellationToken::new();
    let call = tokio::spawn({
        let cancel = cancel.clone();
        async move { client.complete(&request(), None, &cancel).await }
    });
    assert!(model.wait_for_requests(1, Duration::from_secs(5)).await);
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the call ends once cancelled")
        .unwrap();
    assert_eq!(result.unwrap_err(), LlmError::Cancelled);
}

#[tokio::test]
async fn a_malformed_stream_is_reported_and_not_retried() {
    let model = FakeModel::start().await;
    model.push(sse_raw(vec!["data: {\"choices\": [\n\n"]));
    let error = complete(&client(&model, settings())).await.0.unwrap_err();
    assert_eq!(error.code(), "model_malformed_response");
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_without_any_choice_is_malformed_not_an_empty_answer() {
    let model = FakeModel::start().await;
    model.push(sse_raw(vec!["data: [DONE]\n\n"]));
    model.push(sse(vec![
        ev_json(json!({"id": "c", "object": "chat.completion.chunk", "choices": []})),
        ev_usage(10, 0),
        ev_done(),
    ]));
    let client = client(&model, settings());
    for _ in 0..2 {
        let error = complete(&client).await.0.unwrap_err();
        assert_eq!(error.code(), "model_malformed_response", "{error}");
    }
    assert_eq!(model.requests().len(), 2, "not retried");
}

#[tokio::test]
async fn an_error_sent_inside_the_stream_is_a_provider_error() {
    let model = FakeModel::start().await;
    for _ in 0..3 {
        model.push(sse(vec![ev_json(
            json!({"error": {"message": "upstream overloaded", "type": "server_error"}}),
        )]));
    }
    let error = complete(&client(&model, settings())).await.0.unwrap_err();
    assert_eq!(error.code(), "model_provider_error");
    assert!(error.to_string().contains("upstream overloaded"), "{error}");
}

#[tokio::test]
async fn an_unreachable_provider_is_a_network_error_after_retries() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = ChatClient::new(
        endpoint(&format!("http://127.0.0.1:{port}/v1"), true),
        settings(),
    )
    .unwrap();
    let error = complete(&client).await.0.unwrap_err();
    assert_eq!(error.code(), "model_unreachable", "{error}");
    assert!(error.to_string().contains(&port.to_string()), "{error}");
}
