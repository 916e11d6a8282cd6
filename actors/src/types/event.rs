//! The events of a session's log: what subscribers (SSE clients, `okcvm exec`) receive.
//!
//! Each event has one sequence number per session, starting at 1 and never reused. The JSON form
//! carries `"type"` (`token`, `reasoning`, `tool_started`, `tool_completed`, `final`, `error`,
//! `stop`) next to the fields of its kind.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Characters of tool input and output carried by `tool_started` / `tool_completed` events;
/// the whole result is in the final payload and the history.
pub const EVENT_PREVIEW_CHARS: usize = 320;

/// One entry of a session's event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    /// The turn this event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// Milliseconds since the Unix epoch when the event was made.
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Whether a tool call succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Success,
    Error,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A piece of the answer text.
    Token { delta: String },
    /// A piece of the model's reasoning.
    Reasoning { delta: String },
    /// A tool call began; `input` is cut to [`EVENT_PREVIEW_CHARS`].
    ToolStarted {
        invocation_id: String,
        tool_name: String,
        input: String,
    },
    /// A tool call ended; `output` or `error` is cut to [`EVENT_PREVIEW_CHARS`].
    ToolCompleted {
        invocation_id: String,
        tool_name: String,
        status: ToolStatus,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The turn's result (the chat reply payload).
    Final { payload: Value },
    /// The turn failed or was interrupted.
    Error {
        code: TurnErrorCode,
        message: String,
    },
    /// The turn is over; nothing more for it follows.
    Stop {},
}

/// Why a turn ended with an `error` event: the stable code clients branch on. The turn sets
/// it and the HTTP layer maps it to a status, both by matching this type, never a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnErrorCode {
    /// No chat model is configured.
    ModelNotConfigured,
    ModelAuthFailed,
    ModelRateLimited,
    ModelContextTooLong,
    ModelProviderError,
    ModelUnreachable,
    ModelTimeout,
    ModelMalformedResponse,
    /// The model call was cancelled.
    Cancelled,
    /// The server stopped (or the session failed) while the turn ran.
    TurnInterrupted,
    /// Recording the turn failed.
    StorageError,
    /// The session could not be reached while the turn ran.
    SessionUnavailable,
    /// A bug; the error was logged.
    InternalError,
    /// A code this version does not know (stored by another version).
    #[serde(other)]
    Unknown,
}

impl TurnErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnErrorCode::ModelNotConfigured => "model_not_configured",
            TurnErrorCode::ModelAuthFailed => "model_auth_failed",
            TurnErrorCode::ModelRateLimited => "model_rate_limited",
            TurnErrorCode::ModelContextTooLong => "model_context_too_long",
            TurnErrorCode::ModelProviderError => "model_provider_error",
            TurnErrorCode::ModelUnreachable => "model_unreachable",
            TurnErrorCode::ModelTimeout => "model_timeout",
            TurnErrorCode::ModelMalformedResponse => "model_malformed_response",
            TurnErrorCode::Cancelled => "cancelled",
            TurnErrorCode::TurnInterrupted => "turn_interrupted",
            TurnErrorCode::StorageError => "storage_error",
            TurnErrorCode::SessionUnavailable => "session_unavailable",
            TurnErrorCode::InternalError => "internal_error",
            TurnErrorCode::Unknown => "unknown",
        }
    }
}

impl PartialEq<str> for TurnErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl std::fmt::Display for TurnErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EventKind {
    /// The error that records a turn cut short because the server stopped (or the session
    /// failed) while it ran.
    pub fn interrupted() -> EventKind {
        EventKind::Error {
            code: TurnErrorCode::TurnInterrupted,
            message: "The turn was interrupted because the server stopped while it was running. \
                      Send a message to continue."
                .into(),
        }
    }

    /// The `type` string of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::Token { .. } => "token",
            EventKind::Reasoning { .. } => "reasoning",
            EventKind::ToolStarted { .. } => "tool_started",
            EventKind::ToolCompleted { .. } => "tool_completed",
            EventKind::Final { .. } => "final",
            EventKind::Error { .. } => "error",
            EventKind::Stop {} => "stop",
        }
    }

    /// Deltas may wait a moment to be committed in a group; everything else is committed at once.
    pub fn is_delta(&self) -> bool {
        matches!(self, EventKind::Token { .. } | EventKind::Reasoning { .. })
    }
}

/// `text` cut to at most `max` characters, with `…` marking a cut.
pub fn preview(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => {
            let mut out = text[..cut].to_string();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_json_carries_type_next_to_fields() {
        let event = Event {
            seq: 7,
            turn_id: Some("t1".into()),
            at_ms: 1,
            kind: EventKind::Token { delta: "hi".into() },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"seq": 7, "turn_id": "t1", "at_ms": 1, "type": "token", "delta": "hi"})
        );
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn turn_error_codes_keep_their_wire_strings_and_unknown_ones_still_load() {
        let event = EventKind::Error {
            code: TurnErrorCode::ModelContextTooLong,
            message: "m".into(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "error", "code": "model_context_too_long", "message": "m"})
        );
        for code in [
            TurnErrorCode::TurnInterrupted,
            TurnErrorCode::InternalError,
            TurnErrorCode::StorageError,
        ] {
            let text = serde_json::to_value(code).unwrap();
            assert_eq!(text, code.as_str());
            assert_eq!(serde_json::from_value::<TurnErrorCode>(text).unwrap(), code);
        }
        // An event stored by a version with codes this one does not know is still read.
        let stored =
            serde_json::json!({"type": "error", "code": "from_the_future", "message": "m"});
        match serde_json::from_value::<EventKind>(stored).unwrap() {
            EventKind::Error { code, .. } => assert_eq!(code, TurnErrorCode::Unknown),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stop_event_round_trips_with_empty_body() {
        let json = serde_json::to_value(EventKind::Stop {}).unwrap();
        assert_eq!(json, serde_json::json!({"type": "stop"}));
    }

    #[test]
    fn preview_cuts_on_character_boundaries() {
        assert_eq!(preview("héllo", 10), "héllo");
        assert_eq!(preview("héllo", 2), "hé…");
    }
}
