//! Why a model call failed, classified so the turn can tell the user something useful and
//! clients can branch on a stable code.

use std::time::Duration;

use crate::event::TurnErrorCode;

/// A failed model call. Every variant ends the turn with an `error` event carrying
/// [`LlmError::code`]; the retryable ones have already been retried by the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// No chat model is configured. Handled by telling the operator which setting to fill.
    #[error("no chat model is configured: set chat.model and chat.base_url (or OKCVM_CHAT_MODEL and OKCVM_CHAT_BASE_URL)")]
    NotConfigured,
    /// 401/403: the key is missing, wrong or lacks access.
    #[error("the model provider refused the credentials (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    /// 429 after every retry was spent.
    #[error("the model provider is rate limiting requests: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The conversation no longer fits the model's context window.
    #[error("the conversation is too long for the model's context window: {message}")]
    ContextTooLong { message: String },
    /// Any other error status from the provider (5xx after retries, 400, 404 ...).
    #[error("the model provider answered HTTP {status}: {message}")]
    Provider { status: u16, message: String },
    /// Connect failure, reset, or a connection dropped mid-response, after retries.
    #[error("could not reach the model provider: {0}")]
    Network(String),
    /// Connect, first-byte or idle timeout.
    #[error("the model provider timed out: {0}")]
    Timeout(String),
    /// The response could not be understood (bad JSON, bad SSE, missing fields).
    #[error("the model provider sent a response that could not be read: {0}")]
    MalformedResponse(String),
    /// The turn was cancelled while the call was running.
    #[error("the model call was cancelled")]
    Cancelled,
    /// The LLM actor gave no answer (the actor system is stopping or broken).
    #[error("could not reach the model provider: the model actor did not answer")]
    Unavailable,
}

impl LlmError {
    /// The stable code clients branch on (`error {code, message}` events, HTTP error bodies).
    pub fn code(&self) -> &'static str {
        self.turn_code().as_str()
    }

    /// The code a turn that ends on this error reports.
    pub fn turn_code(&self) -> TurnErrorCode {
        match self {
            LlmError::NotConfigured => TurnErrorCode::ModelNotConfigured,
            LlmError::Auth { .. } => TurnErrorCode::ModelAuthFailed,
            LlmError::RateLimited { .. } => TurnErrorCode::ModelRateLimited,
            LlmError::ContextTooLong { .. } => TurnErrorCode::ModelContextTooLong,
            LlmError::Provider { .. } => TurnErrorCode::ModelProviderError,
            LlmError::Network(_) | LlmError::Unavailable => TurnErrorCode::ModelUnreachable,
            LlmError::Timeout(_) => TurnErrorCode::ModelTimeout,
            LlmError::MalformedResponse(_) => TurnErrorCode::ModelMalformedResponse,
            LlmError::Cancelled => TurnErrorCode::Cancelled,
        }
    }
}
