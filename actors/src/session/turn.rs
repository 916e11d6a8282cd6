//! The agent loop of one turn, run in its own task.
//!
//! The loop: ask the model (streaming its text as events), record its message, run each tool
//! call it asked for and record each result, then ask again — until it answers without tools,
//! the step limit is reached, or the turn is cancelled. Every message is durable before the
//! next model call. Every step reaches the session actor as a message; the task never touches
//! session state directly.

use std::time::{Duration, Instant};

use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};
use serde_json::Value;
use tokio::sync::mpsc;

use super::payload::{final_payload, ToolCallRecord, TurnStatus, TurnSummary, VM_HISTORY_ENTRIES};
use super::request::wire_messages;
use super::{SessionError, SessionMsg, TurnStarted};
use crate::event::{preview, EventKind, ToolStatus, TurnErrorCode, EVENT_PREVIEW_CHARS};
use crate::history::{Message, Role};
use crate::llm::{Completion, CompletionRequest, LlmError, StreamDelta, ToolCallRequest, Usage};
use crate::services::Services;
use crate::storage::COMMIT_TIMEOUT;
use crate::tool::{ToolCallOutcome, ToolContext, ToolError};
use crate::workspace::snapshots::{SnapshotStore, BASELINE_LABEL};

/// Deltas buffered between the model client and this task.
const DELTA_BUFFER: usize = 256;
/// Time a tool call may take beyond the longest shell timeout before it is given up on.
const TOOL_GRACE: Duration = Duration::from_secs(60);

pub(crate) struct TurnTask {
    pub turn_id: String,
    /// The last sequence number assigned before this turn.
    pub after_seq: u64,
    pub session: ActorRef<SessionMsg>,
    pub services: Services,
    pub tool_ctx: ToolContext,
    /// The active branch up to the new message's parent.
    pub history: Vec<Message>,
    pub user_message: Message,
    pub started: RpcReplyPort<Result<TurnStarted, SessionError>>,
    /// The turn starts a new branch (regenerate or edit): bring back the files of the branch
    /// point first.
    pub restore_files: bool,
}

/// Starts the turn. If its task panics, the turn still ends with an error and `stop`.
pub(crate) fn spawn(task: TurnTask) {
    let session = task.session.clone();
    let turn_id = task.turn_id.clone();
    let running = tokio::spawn(task.run());
    tokio::spawn(async move {
        if let Err(e) = running.await {
            tracing::error!(turn = %turn_id, error = %e, "turn task failed");
            let _ = session.cast(SessionMsg::TurnEvents {
                turn_id: turn_id.clone(),
                kinds: vec![
                    EventKind::Error {
                        code: TurnErrorCode::InternalError,
                        message: "The turn failed unexpectedly; the error was logged.".into(),
                    },
                    EventKind::Stop {},
                ],
            });
        }
    });
}

/// Why the loop ended early with an error event.
struct TurnFailure {
    code: TurnErrorCode,
    message: String,
}

impl From<SessionError> for TurnFailure {
    fn from(e: SessionError) -> Self {
        let code = match &e {
            SessionError::Storage(_) => TurnErrorCode::StorageError,
            SessionError::Unavailable => TurnErrorCode::SessionUnavailable,
            // Not a failure a running turn can meet.
            SessionError::TurnInProgress
            | SessionError::EmptyMessage
            | SessionError::UnknownMessage(_)
            | SessionError::NotAUserMessage(_)
            | SessionError::WorkspaceBusy(_) => TurnErrorCode::InternalError,
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl From<LlmError> for TurnFailure {
    fn from(e: LlmError) -> Self {
        Self {
            code: e.turn_code(),
            message: e.to_string(),
        }
    }
}

struct Turn {
    turn_id: String,
    session: ActorRef<SessionMsg>,
    services: Services,
    tool_ctx: ToolContext,
    history: Vec<Message>,
    usage: Option<Usage>,
    model: String,
    steps: u32,
    tool_calls: Vec<ToolCallRecord>,
    started_at: Instant,
}

impl TurnTask {
    async fn run(self) {
        let started_at = Instant::now();
        let TurnTask {
            turn_id,
            after_seq,
            session,
            services,
            tool_ctx,
            history,
            user_message,
            started,
            restore_files,
        } = self;
        let user_message_id = user_message.id.clone();
        // A turn from the root of the history (a session's first message, or an edit of it).
        let from_root = history.is_empty();
        let mut turn = Turn {
            turn_id: turn_id.clone(),
            session,
            model: String::new(),
            services,
            tool_ctx,
            history,
            usage: None,
            steps: 0,
            tool_calls: Vec::new(),
            started_at,
        };
        // The user message is durable before the caller hears that the turn started.
        if let Err(e) = turn.record(vec![user_message]).await {
            let _ = started.send(Err(e.clone()));
            turn.fail(e.into());
            return;
        }
        let _ = started.send(Ok(TurnStarted {
            turn_id,
            user_message_id,
            after_seq,
        }));
        if restore_files {
            turn.restore_branch_files().await;
        } else if from_root {
            turn.take_baseline().await;
        }
        match turn.run_loop().await {
            Ok((status, reply, message_id)) => {
                let workspace = turn.snapshot_workspace(message_id.clone()).await;
                let recent = turn.history.len().saturating_sub(VM_HISTORY_ENTRIES);
                let payload = final_payload(&TurnSummary {
                    turn_id: &turn.turn_id,
                    message_id: message_id.as_deref(),
                    reply: &reply,
                    model: &turn.model,
                    status,
                    usage: turn.usage,
                    elapsed: started_at.elapsed(),
                    steps: turn.steps,
                    tool_calls: &turn.tool_calls,
                    vm_history: &turn.history[recent..],
                    workspace,
                });
                turn.emit_all(vec![EventKind::Final { payload }, EventKind::Stop {}]);
            }
            Err(failure) => turn.fail(failure),
        }
    }
}

impl Turn {
    /// The loop; returns how it ended, the reply text, and the id of the last assistant message.
    async fn run_loop(&mut self) -> Result<(TurnStatus, String, Option<String>), TurnFailure> {
        let system_prompt = crate::spec::system_prompt_today();
        let tools = self.services.registry.declarations();
        let max_steps = self.services.settings.agent.max_steps;
        loop {
            if self.steps >= max_steps {
                let text = format!(
                    "I stopped because this turn reached its limit of {max_steps} model calls. Ask me to continue and I will pick up where I left off."
                );
                let id = self
                    .record_assistant(text.clone(), None, Vec::new())
                    .await?;
                return Ok((TurnStatus::StepLimit, text, Some(id)));
            }
            self.steps += 1;
            let request = CompletionRequest {
                messages: wire_messages(&system_prompt, &self.history),
                tools: tools.clone(),
            };
            let (result, partial) = self.complete(request).await;
            let completion = match result {
                Ok(completion) => completion,
                Err(LlmError::Cancelled) => {
                    let id = if partial.is_empty() {
                        None
                    } else {
                        Some(
                            self.record_assistant(partial.clone(), None, Vec::new())
                                .await?,
                        )
                    };
                    return Ok((TurnStatus::Stopped, partial, id));
                }
                Err(e) => {
                    // What the client already saw of an answer cut off stays in the history,
                    // marked as cut off, before the error that ended it.
                    if !partial.is_empty() {
                        self.record_incomplete(partial).await?;
                    }
                    return Err(e.into());
                }
            };
            if let Some(usage) = completion.usage {
                let total = self.usage.get_or_insert_with(Usage::default);
                total.prompt_tokens += usage.prompt_tokens;
                total.completion_tokens += usage.completion_tokens;
            }
            self.model = completion.model.clone();
            let Completion {
                content,
                reasoning,
                tool_calls,
                ..
            } = completion;
            let message_id = self
                .record_assistant(content.clone(), reasoning, tool_calls.clone())
                .await?;
            if tool_calls.is_empty() {
                return Ok((TurnStatus::Completed, content, Some(message_id)));
            }
            for (i, call) in tool_calls.iter().enumerate() {
                if self.tool_ctx.cancel.is_cancelled() {
                    // Every call gets a result so the history stays a valid conversation.
                    let results = tool_calls[i..]
                        .iter()
                        .map(|call| {
                            self.tool_message(
                                call,
                                "Error: cancelled: the turn was stopped".into(),
                                true,
                                Vec::new(),
                            )
                        })
                        .collect();
                    self.record(results).await?;
                    return Ok((TurnStatus::Stopped, content, Some(message_id)));
                }
                self.run_tool(call).await?;
            }
        }
    }

    /// One model call, relaying deltas as events. Returns the text streamed so far as well, so
    /// a stopped turn keeps what the user already saw.
    async fn complete(
        &mut self,
        request: CompletionRequest,
    ) -> (Result<Completion, LlmError>, String) {
        let (tx, mut rx) = mpsc::channel(DELTA_BUFFER);
        let cancel = self.tool_ctx.cancel.clone();
        let call = self.services.llm.complete(request, Some(tx), cancel);
        let mut partial = String::new();
        let relay = async {
            let mut deltas = Vec::new();
            // Deltas that arrived together go to the session as one message.
            while rx.recv_many(&mut deltas, DELTA_BUFFER).await > 0 {
                let kinds = deltas
                    .drain(..)
                    .map(|delta| match delta {
                        StreamDelta::Text(delta) => {
                            partial.push_str(&delta);
                            EventKind::Token { delta }
                        }
                        StreamDelta::Reasoning(delta) => EventKind::Reasoning { delta },
                    })
                    .collect();
                self.emit_all(kinds);
            }
        };
        let cancelled = self.tool_ctx.cancel.clone();
        let result = tokio::select! {
            (result, ()) = async { tokio::join!(call, relay) } => result,
            _ = cancelled.cancelled() => Err(LlmError::Cancelled),
        };
        (result, partial)
    }

    async fn run_tool(&mut self, call: &ToolCallRequest) -> Result<(), TurnFailure> {
        let invocation_id = crate::ids::new_id();
        self.emit(EventKind::ToolStarted {
            invocation_id: invocation_id.clone(),
            tool_name: call.name.clone(),
            input: preview(&call.arguments, EVENT_PREVIEW_CHARS),
        });
        let timeout = Duration::from_millis(self.services.settings.workspace.max_shell_timeout_ms)
            + TOOL_GRACE;
        let ctx = self.tool_ctx.clone();
        let (name, arguments) = (call.name.clone(), call.arguments.clone());
        let started = Instant::now();
        let outcome = match self
            .services
            .tools
            .execute(ctx, name, arguments, Some(timeout))
            .await
        {
            Some(outcome) => outcome,
            None => ToolCallOutcome {
                result: Err(ToolError::Failed(format!(
                    "{} did not finish within {} s",
                    call.name,
                    timeout.as_secs()
                ))),
                duration: started.elapsed(),
            },
        };
        let duration_ms = outcome.duration.as_millis() as u64;
        let (text, images, data, error) = match outcome.result {
            Ok(output) => (output.text, output.images, output.data, None),
            Err(e) => (format!("Error: {e}"), Vec::new(), None, Some(e.to_string())),
        };
        let status = if error.is_some() {
            ToolStatus::Error
        } else {
            ToolStatus::Success
        };
        let completed = EventKind::ToolCompleted {
            invocation_id: invocation_id.clone(),
            tool_name: call.name.clone(),
            status,
            duration_ms,
            output: error.is_none().then(|| preview(&text, EVENT_PREVIEW_CHARS)),
            error: error.as_ref().map(|e| preview(e, EVENT_PREVIEW_CHARS)),
        };
        let mut message = self.tool_message(call, text.clone(), error.is_some(), images);
        message.data = data.clone();
        message.duration_ms = Some(duration_ms);
        // The result and its event are committed in one transaction.
        self.record_with(vec![message], vec![completed]).await?;
        self.tool_calls.push(ToolCallRecord {
            step: self.steps,
            tool_name: call.name.clone(),
            tool_input: serde_json::from_str(&call.arguments)
                .unwrap_or_else(|_| Value::String(call.arguments.clone())),
            tool_output: text,
            payload: data,
            source: "mshtools",
            invocation_id,
            log: Vec::new(),
            status,
            duration_ms,
            error,
        });
        Ok(())
    }

    fn tool_message(
        &self,
        call: &ToolCallRequest,
        text: String,
        is_error: bool,
        images: Vec<crate::tool::ToolImage>,
    ) -> Message {
        let mut message = Message::new(Role::Tool, None, text);
        message.tool_call_id = Some(call.id.clone());
        message.tool_name = Some(call.name.clone());
        message.is_error = is_error;
        message.images = images;
        message
    }

    async fn record_assistant(
        &mut self,
        content: String,
        reasoning: Option<String>,
        tool_calls: Vec<ToolCallRequest>,
    ) -> Result<String, TurnFailure> {
        let mut message = Message::new(Role::Assistant, None, content);
        message.reasoning = reasoning;
        message.tool_calls = tool_calls;
        // A turn stopped before the model answered has nothing measured to show.
        message.measured = (!self.model.is_empty()).then(|| crate::history::Measured {
            model: self.model.clone(),
            tokens_in: self.usage.map(|u| u.prompt_tokens),
            tokens_out: self.usage.map(|u| u.completion_tokens),
            latency_ms: self.started_at.elapsed().as_millis() as u64,
        });
        let id = message.id.clone();
        self.record(vec![message]).await?;
        Ok(id)
    }

    /// Records the part of an answer that streamed before the model call failed.
    async fn record_incomplete(&mut self, partial: String) -> Result<(), TurnFailure> {
        let mut message = Message::new(Role::Assistant, None, partial);
        message.incomplete = true;
        self.record(vec![message]).await?;
        Ok(())
    }

    /// Appends messages to the branch (each the child of the one before) and waits until the
    /// session says they are durable.
    async fn record(&mut self, messages: Vec<Message>) -> Result<(), SessionError> {
        self.record_with(messages, Vec::new()).await
    }

    /// [`Self::record`], with events that are appended after the messages and committed with
    /// them.
    async fn record_with(
        &mut self,
        mut messages: Vec<Message>,
        events: Vec<EventKind>,
    ) -> Result<(), SessionError> {
        let mut parent = self.history.last().map(|m| m.id.clone());
        for message in &mut messages {
            // A user message already names its parent (the branch point it was sent at).
            if message.role != Role::User {
                message.parent_id = parent.clone();
            }
            message.turn_id = Some(self.turn_id.clone());
            parent = Some(message.id.clone());
        }
        let turn_id = self.turn_id.clone();
        let to_send = messages.clone();
        let answer = self
            .session
            .call(
                |reply| SessionMsg::RecordMessages {
                    turn_id,
                    messages: to_send,
                    events,
                    reply,
                },
                Some(COMMIT_TIMEOUT),
            )
            .await;
        match answer {
            Ok(CallResult::Success(Ok(()))) => {
                self.history.extend(messages);
                Ok(())
            }
            Ok(CallResult::Success(Err(e))) => Err(e),
            _ => Err(SessionError::Unavailable),
        }
    }

    /// Puts back the workspace of the newest snapshot on the branch this turn continues, so a
    /// regenerated or edited message sees the files it saw the first time.
    async fn restore_branch_files(&self) {
        let path = self.history.iter().map(|m| m.id.clone()).collect();
        super::lifecycle::restore_branch(
            SnapshotStore::for_settings(&self.services.settings),
            self.tool_ctx.session.clone(),
            self.tool_ctx.workspace.root().to_path_buf(),
            path,
        )
        .await;
    }

    /// Before a session's first turn: records the workspace as it is (uploads included), so
    /// that regenerating or editing the first message can go back to it.
    async fn take_baseline(&self) {
        let settings = self.services.settings.clone();
        let key = self.tool_ctx.session.clone();
        let root = self.tool_ctx.workspace.root().to_path_buf();
        let taken = tokio::task::spawn_blocking(move || {
            let store = SnapshotStore::for_settings(&settings);
            if store.baseline(&key.tenant, &key.session)?.is_some() {
                return Ok(());
            }
            store
                .take(
                    &key.tenant,
                    &key.session,
                    &root,
                    Some(BASELINE_LABEL.into()),
                    None,
                )
                .map(drop)
        })
        .await;
        if let Ok(Err(e)) = taken {
            tracing::warn!(error = %e, "no baseline snapshot before the first turn");
        }
    }

    /// Takes the after-turn snapshot (attached to the turn's last message) and reads the
    /// workspace fields of the payload.
    async fn snapshot_workspace(
        &self,
        message_id: Option<String>,
    ) -> serde_json::Map<String, Value> {
        let settings = self.services.settings.clone();
        let key = self.tool_ctx.session.clone();
        let root = self.tool_ctx.workspace.root().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let store = SnapshotStore::for_settings(&settings);
            if let Err(e) = store.take(
                &key.tenant,
                &key.session,
                &root,
                Some("after turn".into()),
                message_id,
            ) {
                tracing::warn!(session = %key, error = %e, "no snapshot after this turn");
            }
            crate::workspace::view::payload_fields(&root, &key, &settings.uploads, &store)
        })
        .await
        .unwrap_or_default()
    }

    fn emit(&self, kind: EventKind) {
        self.emit_all(vec![kind]);
    }

    /// Events that belong together (an answer and the end of the turn) are committed together.
    fn emit_all(&self, kinds: Vec<EventKind>) {
        let _ = self.session.cast(SessionMsg::TurnEvents {
            turn_id: self.turn_id.clone(),
            kinds,
        });
    }

    fn fail(&self, failure: TurnFailure) {
        self.emit_all(vec![
            EventKind::Error {
                code: failure.code,
                message: failure.message,
            },
            EventKind::Stop {},
        ]);
    }
}
