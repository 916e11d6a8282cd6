//! The LLM actor: holds the configured chat client and runs each completion in its own task,
//! so many sessions stream at once and a reconfiguration never waits for a running call. At
//! most `llm.max_concurrent_calls` run at once; the others wait in their tasks (never in the
//! mailbox), and a stopped turn stops waiting.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use super::{ChatClient, Completion, CompletionRequest, LlmError, StreamDelta};
use crate::config::{EndpointSettings, LlmSettings};

pub enum LlmMsg {
    /// Run one completion; deltas stream on `deltas` when given.
    Complete {
        request: CompletionRequest,
        deltas: Option<mpsc::Sender<StreamDelta>>,
        cancel: CancellationToken,
        reply: RpcReplyPort<Result<Completion, LlmError>>,
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
            LlmMsg::Complete {
                request,
                deltas,
                cancel,
                reply,
            } => match state.client.clone() {
                None => {
                    let _ = reply.send(Err(LlmError::NotConfigured));
                }
                Some(client) => {
                    let running = state.running.clone();
                    tokio::spawn(async move {
                        let permit = tokio::select! {
                            permit = running.acquire_owned() => permit,
                            () = cancel.cancelled() => {
                                let _ = reply.send(Err(LlmError::Cancelled));
                                return;
                            }
                        };
                        let result = client.complete(&request, deltas, &cancel).await;
                        drop(permit);
                        let _ = reply.send(result);
                    });
                }
            },
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
