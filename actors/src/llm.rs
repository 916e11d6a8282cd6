//! The model: an OpenAI-compatible chat completions client and the actor that runs its calls.

mod actor;
mod assemble;
mod client;
mod error;
mod handle;
mod sse;
mod types;

pub use actor::{Lease, LlmActor, LlmArgs, LlmMsg};
pub use client::ChatClient;
pub use error::LlmError;
pub use handle::LlmHandle;
pub use types::{Completion, CompletionRequest, StreamDelta, ToolCallRequest, Usage};
