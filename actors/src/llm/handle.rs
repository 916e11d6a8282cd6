//! [`LlmHandle`]: the LLM actor called through typed methods.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::ActorRef;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Completion, CompletionRequest, LlmError, LlmMsg, StreamDelta};
use crate::config::EndpointSettings;

/// Longest wait for the actor to take a new configuration or say which model it uses.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The LLM actor's address. Cheap to clone.
#[derive(Clone)]
pub struct LlmHandle {
    actor: ActorRef<LlmMsg>,
}

impl From<ActorRef<LlmMsg>> for LlmHandle {
    fn from(actor: ActorRef<LlmMsg>) -> Self {
        Self { actor }
    }
}

impl LlmHandle {
    /// The actor itself, for supervision and stopping.
    pub fn actor(&self) -> &ActorRef<LlmMsg> {
        &self.actor
    }

    /// Runs one completion in the caller's task, streaming deltas on `deltas` when given.
    /// Waits for a free slot (`llm.max_concurrent_calls`), then as long as the call runs (the
    /// client's own timeouts bound it); `cancel` ends either wait.
    pub async fn complete(
        &self,
        request: CompletionRequest,
        deltas: Option<mpsc::Sender<StreamDelta>>,
        cancel: CancellationToken,
    ) -> Result<Completion, LlmError> {
        let lease = match self
            .actor
            .call(|reply| LlmMsg::Lease { reply }, Some(QUERY_TIMEOUT))
            .await
        {
            Ok(CallResult::Success(lease)) => lease?,
            _ => return Err(LlmError::Unavailable),
        };
        let _permit = tokio::select! {
            permit = lease.running.acquire_owned() => {
                permit.map_err(|_| LlmError::Unavailable)?
            }
            () = cancel.cancelled() => return Err(LlmError::Cancelled),
        };
        lease.client.complete(&request, deltas, &cancel).await
    }

    /// Replaces the chat endpoint (`None` unconfigures it); running calls finish on the old one.
    pub async fn configure(&self, endpoint: Option<EndpointSettings>) -> Result<(), LlmError> {
        match self
            .actor
            .call(
                |reply| LlmMsg::Configure { endpoint, reply },
                Some(QUERY_TIMEOUT),
            )
            .await
        {
            Ok(CallResult::Success(result)) => result,
            _ => Err(LlmError::Unavailable),
        }
    }

    /// The configured model's name, if any.
    pub async fn model(&self) -> Result<Option<String>, LlmError> {
        match self
            .actor
            .call(|reply| LlmMsg::GetModel { reply }, Some(QUERY_TIMEOUT))
            .await
        {
            Ok(CallResult::Success(model)) => Ok(model),
            _ => Err(LlmError::Unavailable),
        }
    }
}
