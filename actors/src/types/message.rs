//! A stored message of a session's history.

use serde::{Deserialize, Serialize};

use super::{ToolCallRequest, ToolImage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    Tool,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub parent_id: Option<String>,
    pub role: Role,
    pub content: String,
    /// The model's reasoning for an assistant message, when the provider sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Tool calls an assistant message asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallRequest>,
    /// For a tool result: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For a tool result: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// For a tool result: whether the tool failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
    /// Images a tool returned for the model to see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ToolImage>,
    /// For a tool result: the structured facts the tool reported for clients (paths written,
    /// a deployed site, a deck's outline ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// For a tool result: how long the call took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// For a user message: files uploaded since the previous message (agent paths), which the
    /// model is told about with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// For an assistant message: the turn's measured figures up to it (model, provider token
    /// counts, time since the turn started), shown under the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measured>,
    /// The turn that produced this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// For an assistant message: the model's answer was cut off (the connection failed after
    /// some of it had streamed); `content` is what arrived, as the client saw it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    pub created_ms: i64,
}

impl Message {
    pub fn new(role: Role, parent_id: Option<String>, content: impl Into<String>) -> Self {
        Self {
            id: crate::ids::new_id(),
            parent_id,
            role,
            content: content.into(),
            reasoning: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
            is_error: false,
            images: Vec::new(),
            data: None,
            duration_ms: None,
            attachments: Vec::new(),
            measured: None,
            turn_id: None,
            incomplete: false,
            created_ms: crate::ids::now_ms(),
        }
    }
}

/// Measured figures of a turn, as far as an assistant message: never estimated. Token counts
/// are the provider's (absent when it sent no usage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<u64>,
    /// From the start of the turn to this message.
    pub latency_ms: u64,
}
