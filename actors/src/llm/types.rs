//! What goes into and comes out of one model call, independent of the wire format.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::types::ToolCallRequest;

/// One call to `/chat/completions`: the conversation so far, in OpenAI wire shape, and the
/// tools offered.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// Messages exactly as they are sent (`{"role": .., "content": .., ..}`).
    pub messages: Vec<Value>,
    /// Tool declarations as they are sent (`{"type":"function","function":{..}}`).
    pub tools: std::sync::Arc<Vec<Value>>,
}

/// A piece of a streamed answer, forwarded as it arrives.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamDelta {
    /// Visible answer text.
    Text(String),
    /// The model's reasoning (`reasoning_content`), for providers that send it.
    Reasoning(String),
}

/// Token counts as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The whole answer of one model call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub content: String,
    pub reasoning: Option<String>,
    pub tool_calls: Vec<ToolCallRequest>,
    pub finish_reason: Option<String>,
    /// `None` when the provider sent no usage.
    pub usage: Option<Usage>,
    /// The model name the provider answered with (falls back to the one requested).
    pub model: String,
}
