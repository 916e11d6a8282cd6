//! The OpenAI-compatible chat completions client.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Completion, CompletionRequest, LlmError, StreamDelta};
use crate::config::{EndpointSettings, LlmSettings};

/// A client for one chat endpoint.
#[derive(Debug, Clone)]
pub struct ChatClient {
    endpoint: EndpointSettings,
    settings: LlmSettings,
}

impl ChatClient {
    pub fn new(endpoint: EndpointSettings, settings: LlmSettings) -> Result<Self, LlmError> {
        Ok(Self { endpoint, settings })
    }

    /// The model this client asks for.
    pub fn model(&self) -> &str {
        &self.endpoint.model
    }

    /// Runs one completion. When the endpoint streams, text and reasoning are sent on `deltas`
    /// as they arrive; the returned [`Completion`] always holds the whole answer.
    pub async fn complete(
        &self,
        _request: &CompletionRequest,
        _deltas: Option<mpsc::Sender<StreamDelta>>,
        _cancel: &CancellationToken,
    ) -> Result<Completion, LlmError> {
        let _ = &self.settings;
        Err(LlmError::NotConfigured)
    }
}
