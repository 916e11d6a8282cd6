//! [`ToolHandle`]: the tool actor called through a typed method.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::ActorRef;

use super::{ToolCallOutcome, ToolContext, ToolMsg};

/// The tool actor's address. Cheap to clone.
#[derive(Clone)]
pub struct ToolHandle {
    actor: ActorRef<ToolMsg>,
}

impl From<ActorRef<ToolMsg>> for ToolHandle {
    fn from(actor: ActorRef<ToolMsg>) -> Self {
        Self { actor }
    }
}

impl ToolHandle {
    /// The actor itself, for supervision and stopping.
    pub fn actor(&self) -> &ActorRef<ToolMsg> {
        &self.actor
    }

    /// Validates and runs one call (`arguments` is the model's raw JSON text). `None` when the
    /// actor gave no answer within `timeout` (or at all).
    pub async fn execute(
        &self,
        ctx: ToolContext,
        name: String,
        arguments: String,
        timeout: Option<Duration>,
    ) -> Option<ToolCallOutcome> {
        let answer = self
            .actor
            .call(
                |reply| ToolMsg::Execute {
                    ctx,
                    name,
                    arguments,
                    reply,
                },
                timeout,
            )
            .await;
        match answer {
            Ok(CallResult::Success(outcome)) => Some(outcome),
            _ => None,
        }
    }
}
