//! Turns: `POST /api/chat` (streamed or JSON), `POST /api/session/stop`, and
//! `GET /api/session/events` (replay, then live).

use std::collections::HashMap;

use bytes::Bytes;
use okcvm_actors::event::{EventKind, TurnErrorCode};
use okcvm_actors::session::{BranchFrom, TurnRequest};
use serde::Deserialize;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

use crate::http::context::SessionCtx;
use crate::http::error::{parse_json, ApiError};
use crate::http::sse::{self, Until};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatRequest {
    message: String,
    #[serde(default)]
    replace_last: bool,
    /// A user message of this session to edit: the new message goes beside it, as a branch.
    #[serde(default)]
    edit_of: Option<String>,
    #[serde(default = "default_stream")]
    stream: bool,
}

fn default_stream() -> bool {
    true
}

/// `POST /api/chat`: starts a turn. SSE when `stream` is true and the client accepts
/// `text/event-stream`; otherwise waits for the turn and answers the `final` payload.
pub async fn chat(
    ctx: SessionCtx,
    accept: Option<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ChatRequest = parse_json(&body)?;
    if request.message.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty_message",
            "message must not be empty",
        ));
    }
    let handle = ctx.app.runtime.session(ctx.key.clone())?;
    let started = handle
        .start_turn(TurnRequest {
            message: request.message,
            branch: match (request.edit_of, request.replace_last) {
                (Some(id), false) => BranchFrom::Edit(id),
                (Some(_), true) => {
                    return Err(ApiError::new(
                        warp::http::StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_field",
                        "give either edit_of or replace_last, not both",
                    ))
                }
                (None, true) => BranchFrom::ReplaceLast,
                (None, false) => BranchFrom::Active,
            },
        })
        .await?;
    let subscription = handle.subscribe(started.after_seq);
    let wants_sse = accept
        .as_deref()
        .is_some_and(|a| a.contains("text/event-stream"));
    if request.stream && wants_sse {
        let reply = sse::reply(
            subscription,
            Until::Stop,
            ctx.app.shutdown.clone(),
            ctx.app.settings.server.sse_keepalive(),
        );
        // The turn's events come after `x-okc-after-seq`: a client that loses this stream
        // resumes with `GET /api/session/events?after=` from there.
        let reply = warp::reply::with_header(reply, "x-okc-turn-id", started.turn_id);
        return Ok(warp::reply::with_header(
            reply,
            "x-okc-after-seq",
            started.after_seq.to_string(),
        )
        .into_response());
    }
    json_reply(subscription, &ctx).await
}

/// Waits for the turn's `final` (or `error`) and answers it as JSON.
async fn json_reply(
    mut subscription: okcvm_actors::session::Subscription,
    ctx: &SessionCtx,
) -> Result<Response, ApiError> {
    let shutdown = ctx.app.shutdown.clone();
    loop {
        let event = tokio::select! {
            event = subscription.next() => event?,
            () = shutdown.cancelled() => return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is shutting down; the turn was recorded as interrupted",
            )),
        };
        match &event.kind {
            EventKind::Final { payload } => {
                return Ok(warp::reply::json(payload).into_response());
            }
            EventKind::Error { code, message } => {
                return Err(turn_error(*code, message));
            }
            _ => {}
        }
    }
}

/// The HTTP answer for a turn that ended with an `error` event: the turn's own code, or
/// `turn_failed` for a failure of the server's.
fn turn_error(code: TurnErrorCode, message: &str) -> ApiError {
    use TurnErrorCode as C;
    let status = match code {
        C::ModelNotConfigured | C::TurnInterrupted => StatusCode::SERVICE_UNAVAILABLE,
        C::ModelAuthFailed
        | C::ModelRateLimited
        | C::ModelContextTooLong
        | C::ModelProviderError
        | C::ModelUnreachable
        | C::ModelMalformedResponse => StatusCode::BAD_GATEWAY,
        C::ModelTimeout => StatusCode::GATEWAY_TIMEOUT,
        C::Cancelled | C::StorageError | C::SessionUnavailable | C::InternalError | C::Unknown => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "turn_failed", message);
        }
    };
    ApiError::new(status, code.as_str(), message)
}

/// `POST /api/session/stop`
pub async fn stop(ctx: SessionCtx) -> Result<Response, ApiError> {
    let handle = ctx.app.runtime.session(ctx.key.clone())?;
    let stopped = handle.stop().await?;
    Ok(warp::reply::json(&json!({
        "stopped": stopped.is_some(),
        "turn_id": stopped,
    }))
    .into_response())
}

/// `GET /api/session/events`: every event after `Last-Event-ID` (or `?after=`), then live.
pub async fn events(
    ctx: SessionCtx,
    last_event_id: Option<String>,
    query: HashMap<String, String>,
) -> Result<Response, ApiError> {
    let after = match last_event_id.or_else(|| query.get("after").cloned()) {
        None => 0,
        Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
            ApiError::bad_request(
                "invalid_event_id",
                format!("Last-Event-ID / after must be a whole number, got {raw:?}"),
            )
        })?,
    };
    let handle = ctx.app.runtime.session(ctx.key.clone())?;
    let subscription = handle.subscribe(after);
    Ok(sse::reply(
        subscription,
        Until::Closed,
        ctx.app.shutdown.clone(),
        ctx.app.settings.server.sse_keepalive(),
    )
    .into_response())
}
