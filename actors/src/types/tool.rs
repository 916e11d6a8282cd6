//! What passes between the model, the tools and the store about tool calls.

use serde::{Deserialize, Serialize};

/// A tool call the model asked for, assembled from the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallRequest {
    /// The provider's call id; answered by the tool result's `tool_call_id`.
    pub id: String,
    /// Tool name as declared (for the manifest tools, with the `mshtools-` prefix).
    pub name: String,
    /// Arguments as the raw JSON text the model produced (may be invalid JSON).
    pub arguments: String,
}

/// An image a tool returns for the model to see (and the console to show).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolImage {
    /// MIME type, e.g. `image/png`.
    pub mime: String,
    /// Where the agent sees the file, e.g. `/mnt/okcomputer/output/chart.png`.
    pub path: String,
    /// The bytes, base64-encoded.
    pub data_base64: String,
}

/// One item of the to-do list, exactly as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Todo {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub priority: String,
    pub status: String,
}
