//! The LLM actor: holds the configured chat client and hands it out with the limit on calls
//! in flight. Each completion then runs in its caller's task (the turn that streams it), so
//! many sessions stream at once, a reconfiguration never waits for a running call, and a
//! token crosses no task of the actor's on its way to the session. At most
//! `llm.max_concurrent_calls` run at once; the others wait in their callers' tasks (never in
//! the mailbox), and a stopped turn stops waiting.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::Semaphore;

use super::{ChatClient, LlmError};
use crate::config::{EndpointSettings, LlmSettings};

/// What one completion runs with: the client configured when it was asked for, and the limit
/// on calls in flight to take a permit from.
pub struct Lease {
    pub client: ChatClient,
    pub running: Arc<Semaphore>,
}

pub enum LlmMsg {
    /// The client for one completion, or why there is none.
    Lease {
        reply: RpcReplyPort<Result<Lease, LlmError>>,
    },
    /// Replace the chat endpoint (`None` unconfigures it). Running calls finish on the old one.
    Configure {
        endpoint: Option<EndpointSettings>,
        reply: RpcReplyPort<Result<(), LlmError>>,
    },
    /// The configured model name, if any.
    GetModel { reply: RpcReplyPort<Option<String>> },
}

pub struct LlmActor;

pub struct LlmArgs {
    pub endpoint: Option<EndpointSettings>,
    pub settings: LlmSettings,
}

pub struct LlmState {
    client: Option<ChatClient>,
    settings: LlmSettings,
    /// One permit per model call allowed to run.
    running: Arc<Semaphore>,
}

impl Actor for LlmActor {
    type Msg = LlmMsg;
    type State = LlmState;
    type Arguments = LlmArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<LlmMsg>,
        args: LlmArgs,
    ) -> Result<LlmState, ActorProcessingErr> {
        let client = match args.endpoint {
            Some(endpoint) => Some(ChatClient::new(endpoint, args.settings.clone())?),
            None => None,
        };
        Ok(LlmState {
            client,
            running: Arc::new(Semaphore::new(args.settings.max_concurrent_calls.max(1))),
            settings: args.settings,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<LlmMsg>,
        message: LlmMsg,
        state: &mut LlmState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            LlmMsg::Lease { reply } => {
                let lease = state
                    .client
                    .clone()
                    .map(|client| Lease {
                        client,
                        running: state.running.clone(),
                    })
                    .ok_or(LlmError::NotConfigured);
                let _ = reply.send(lease);
            }
            LlmMsg::Configure { endpoint, reply } => {
                let result = match endpoint {
                    None => {
                        state.client = None;
                        Ok(())
                    }
                    Some(endpoint) => ChatClient::new(endpoint, state.settings.clone())
                        .map(|client| state.client = Some(client)),
                };
                let _ = reply.send(result);
            }
            LlmMsg::GetModel { reply } => {
                let _ = reply.send(state.client.as_ref().map(|c| c.model().to_string()));
            }
        }
        Ok(())
    }
}
