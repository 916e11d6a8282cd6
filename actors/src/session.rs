//! The session actor: one per live session. It owns the history tree, the running turn, the
//! event log and its subscribers. It never awaits long work in `handle`: the turn runs in its
//! own task (the `turn` module) and reports back by message; commits are acknowledged by the storage
//! writer by message too.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::event::{Event, EventKind};
use crate::history::{HistoryTree, Message, Role};
use crate::runtime::Services;
use crate::storage::{SessionRecord, StorageError, StorageMsg, WriteBatch};
use crate::tool::{ToolCallOutcome, ToolContext, ToolMsg};
use crate::workspace::Workspace;
use crate::SessionKey;

mod events;
mod handle;
mod lifecycle;
mod payload;
mod request;
mod turn;

pub use handle::{SessionHandle, Subscription};
pub use lifecycle::ClearReport;

pub use events::EventBatch;
use events::EventLog;

/// Longest wait for the store while a session starts.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Domain failures of a session call, returned in the reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("a turn is already running in this session")]
    TurnInProgress,
    #[error("the message is empty")]
    EmptyMessage,
    #[error("no history entry {0}")]
    UnknownMessage(String),
    #[error("history entry {0} is not a user message; only user messages can be edited")]
    NotAUserMessage(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the session is not available right now; try again")]
    Unavailable,
}

impl SessionError {
    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::TurnInProgress => "turn_in_progress",
            SessionError::EmptyMessage => "empty_message",
            SessionError::UnknownMessage(_) => "history_entry_not_found",
            SessionError::NotAUserMessage(_) => "invalid_edit_target",
            SessionError::Storage(_) => "storage_error",
            SessionError::Unavailable => "session_unavailable",
        }
    }
}

/// Where a new user message goes in the history tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BranchFrom {
    /// After the active leaf: an ordinary next message.
    #[default]
    Active,
    /// Beside the last user message of the active branch (regenerate or edit the last message).
    ReplaceLast,
    /// Beside the given user message (edit any earlier message).
    Edit(String),
}

/// A request to start a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnRequest {
    pub message: String,
    pub branch: BranchFrom,
}

/// The reply to a started turn: the user message is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TurnStarted {
    pub turn_id: String,
    pub user_message_id: String,
    /// Events of this turn have sequence numbers above this one.
    pub after_seq: u64,
}

/// A view of the session for callers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSnapshot {
    pub key: SessionKey,
    /// The active branch, root first.
    pub messages: Vec<Message>,
    /// Every message stored, all branches.
    pub total_messages: usize,
    pub running_turn: Option<String>,
    pub last_seq: u64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// One history entry with its place among its siblings (for `< 2/3 >` navigation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageView {
    pub message: Message,
    pub sibling_ids: Vec<String>,
    pub sibling_index: usize,
}

/// A live feed of committed events: everything after `committed_seq` arrives on `receiver`,
/// a commit's worth at a time.
pub struct LiveFeed {
    pub receiver: broadcast::Receiver<EventBatch>,
    pub committed_seq: u64,
}

pub enum SessionMsg {
    StartTurn {
        request: TurnRequest,
        reply: RpcReplyPort<Result<TurnStarted, SessionError>>,
    },
    /// Cancel the running turn; replies with its id, or `None` if none was running.
    Stop {
        reply: RpcReplyPort<Option<String>>,
    },
    Subscribe {
        reply: RpcReplyPort<LiveFeed>,
    },
    GetSnapshot {
        reply: RpcReplyPort<SessionSnapshot>,
    },
    GetMessage {
        id: String,
        reply: RpcReplyPort<Option<MessageView>>,
    },
    /// Run one tool outside a turn (`okcvm tools call`), in this session's workspace.
    CallTool {
        name: String,
        arguments: String,
        reply: RpcReplyPort<ToolCallOutcome>,
    },
    /// The server is stopping: end the running turn, recording durably that it was
    /// interrupted (subscribers see `error {turn_interrupted}` then `stop`). Replies when done.
    Interrupt {
        reply: RpcReplyPort<()>,
    },
    /// Files were uploaded: tell the model of them (by agent path) with the next user message.
    NoteUploads {
        paths: Vec<String>,
        reply: RpcReplyPort<Result<(), SessionError>>,
    },
    /// Delete the history, events and to-do list and empty the workspace (not while a turn
    /// runs).
    Clear {
        reply: RpcReplyPort<Result<ClearReport, SessionError>>,
    },
    /// Make the newest leaf under `message_id` the active one.
    SwitchBranch {
        message_id: String,
        reply: RpcReplyPort<Result<SessionSnapshot, SessionError>>,
    },
    /// From the turn task: something happened. Events sent together are committed together.
    TurnEvents {
        turn_id: String,
        kinds: Vec<EventKind>,
    },
    /// From the turn task: store these messages, then append `events`; the reply comes once
    /// both are durable.
    RecordMessages {
        turn_id: String,
        messages: Vec<Message>,
        events: Vec<EventKind>,
        reply: RpcReplyPort<Result<(), SessionError>>,
    },
    /// From the storage writer: a batch of events is durable (or failed).
    EventsCommitted {
        events: Vec<Arc<Event>>,
        result: Result<(), StorageError>,
    },
    /// Hibernate if idle.
    IdleCheck,
    /// Fail the actor on purpose (fault-injection tests only).
    #[cfg(feature = "testing")]
    Crash,
}

pub struct SessionActor;

pub struct SessionArgs {
    pub key: SessionKey,
    pub services: Services,
}

struct RunningTurn {
    id: String,
    cancel: CancellationToken,
    /// Cancels the turn if this state is dropped (the actor failed or stopped).
    _guard: DropGuard,
}

pub struct SessionState {
    key: SessionKey,
    services: Services,
    record: SessionRecord,
    tree: HistoryTree,
    log: EventLog,
    running: Option<RunningTurn>,
    workspace: Workspace,
    files_read: Arc<Mutex<HashSet<std::path::PathBuf>>>,
    last_activity: Instant,
}

impl Actor for SessionActor {
    type Msg = SessionMsg;
    type State = SessionState;
    type Arguments = SessionArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<SessionMsg>,
        args: SessionArgs,
    ) -> Result<SessionState, ActorProcessingErr> {
        let SessionArgs { key, services } = args;
        let storage = services.storage.clone();
        let load_key = key.clone();
        let stored = match storage
            .call(
                |reply| StorageMsg::LoadSession {
                    key: load_key,
                    reply,
                },
                Some(LOAD_TIMEOUT),
            )
            .await?
        {
            ractor::rpc::CallResult::Success(result) => result?,
            _ => return Err("the store did not answer while loading the session".into()),
        };
        let workspace_dir = services
            .settings
            .workspace_root()
            .join(&key.tenant)
            .join(&key.session);
        let workspace =
            tokio::task::spawn_blocking(move || Workspace::open(workspace_dir)).await??;

        let now = crate::ids::now_ms();
        let (record, messages, last_seq, is_new) = match stored {
            Some(s) => (s.record, s.messages, s.last_seq, false),
            None => (
                SessionRecord {
                    created_ms: now,
                    updated_ms: now,
                    ..SessionRecord::default()
                },
                Vec::new(),
                0,
                true,
            ),
        };
        let mut state = SessionState {
            log: EventLog::new(last_seq),
            key: key.clone(),
            services,
            record,
            tree: HistoryTree::from_messages(messages),
            running: None,
            workspace,
            files_read: Arc::default(),
            last_activity: Instant::now(),
        };

        let mut batch = WriteBatch::new(key);
        if let Some(turn_id) = state.record.running_turn.take() {
            // The process died (or this actor failed) while the turn ran: say so in the log.
            tracing::warn!(session = %state.key, turn = %turn_id, "marking interrupted turn");
            for kind in [
                EventKind::Error {
                    code: "turn_interrupted".into(),
                    message: "The turn was interrupted because the server stopped while it was running. Send a message to continue.".into(),
                },
                EventKind::Stop {},
            ] {
                batch.events.push(state.log.make(Some(turn_id.clone()), kind));
            }
            batch.record = Some(state.record.clone());
        } else if is_new {
            batch.record = Some(state.record.clone());
        }
        if batch.record.is_some() {
            state.log.mark_committed(&batch.events);
            crate::storage::commit(&state.services.storage, batch).await?;
        }

        let period = state.services.settings.sessions.idle_hibernate() / 4;
        myself.send_interval(period.max(Duration::from_millis(50)), || {
            SessionMsg::IdleCheck
        });
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<SessionMsg>,
        message: SessionMsg,
        state: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SessionMsg::StartTurn { request, reply } => {
                state.last_activity = Instant::now();
                start_turn(&myself, state, request, reply)?;
            }
            SessionMsg::Stop { reply } => {
                state.last_activity = Instant::now();
                let stopped = state.running.as_ref().map(|turn| {
                    turn.cancel.cancel();
                    turn.id.clone()
                });
                let _ = reply.send(stopped);
            }
            SessionMsg::Subscribe { reply } => {
                state.last_activity = Instant::now();
                let _ = reply.send(state.log.subscribe());
            }
            SessionMsg::GetSnapshot { reply } => {
                state.last_activity = Instant::now();
                let _ = reply.send(snapshot(state));
            }
            SessionMsg::GetMessage { id, reply } => {
                state.last_activity = Instant::now();
                let view = state.tree.get(&id).map(|message| {
                    let sibling_ids = state.tree.siblings(&id);
                    let sibling_index = sibling_ids.iter().position(|s| *s == id).unwrap_or(0);
                    MessageView {
                        message: message.clone(),
                        sibling_ids,
                        sibling_index,
                    }
                });
                let _ = reply.send(view);
            }
            SessionMsg::CallTool {
                name,
                arguments,
                reply,
            } => {
                state.last_activity = Instant::now();
                let name = match state.services.registry.spec(&name) {
                    Some(spec) => spec.name.clone(),
                    None => name,
                };
                let ctx = tool_context(state, CancellationToken::new());
                let execute = ToolMsg::Execute {
                    ctx,
                    name,
                    arguments,
                    reply,
                };
                if state.services.tools.cast(execute).is_err() {
                    return Err("the tool actor is gone".into());
                }
            }
            SessionMsg::SwitchBranch { message_id, reply } => {
                state.last_activity = Instant::now();
                let result = switch_branch(state, &message_id);
                let _ = reply.send(result);
            }
            SessionMsg::TurnEvents { turn_id, kinds } => {
                let current = state.running.as_ref().is_some_and(|t| t.id == turn_id);
                if !current {
                    // A turn from before a restart, or already finished: its results are dropped.
                    return Ok(());
                }
                let mut finished = false;
                let mut only_deltas = true;
                for kind in kinds {
                    finished |= matches!(kind, EventKind::Stop {});
                    only_deltas &= kind.is_delta();
                    state.log.push(Some(turn_id.clone()), kind);
                }
                if finished {
                    state.running = None;
                    state.record.running_turn = None;
                    state.record.updated_ms = crate::ids::now_ms();
                    state.last_activity = Instant::now();
                    flush(&myself, state, true);
                } else if !only_deltas || state.log.idle() {
                    // Deltas go at once when nothing is being committed; otherwise they wait
                    // for that commit and go together (group commit: low latency when quiet,
                    // few commits under load).
                    flush(&myself, state, false);
                }
            }
            SessionMsg::RecordMessages {
                turn_id,
                messages,
                events,
                reply,
            } => {
                if state.running.as_ref().is_none_or(|t| t.id != turn_id) {
                    let _ = reply.send(Err(SessionError::Unavailable));
                    return Ok(());
                }
                for message in &messages {
                    state.tree.insert(message.clone());
                }
                if let Some(last) = messages.last() {
                    state.record.active_leaf = Some(last.id.clone());
                }
                state.record.updated_ms = crate::ids::now_ms();
                for kind in events {
                    state.log.push(Some(turn_id.clone()), kind);
                }
                // The events waiting to be committed go in the same transaction: one commit
                // for a tool's result and its `tool_completed`, or an answer and its tokens.
                let events = state.log.take_pending();
                let mut batch = WriteBatch::new(state.key.clone());
                batch.record = Some(state.record.clone());
                batch.messages = messages;
                batch.events = events.clone();
                let me = myself.clone();
                send_write(
                    &state.services.storage,
                    batch,
                    Box::new(move |result| {
                        if !events.is_empty() {
                            let _ = me.cast(SessionMsg::EventsCommitted {
                                events,
                                result: result.clone(),
                            });
                        }
                        let _ = reply.send(result.map_err(SessionError::from));
                    }),
                )?;
            }
            SessionMsg::EventsCommitted { events, result } => {
                if let Err(e) = result {
                    // Subscribers may only hear what is durable; this actor can no longer
                    // promise that, so it fails and is restarted from what was committed.
                    return Err(format!("committing events failed: {e}").into());
                }
                state.log.publish(events);
                if state.log.idle() {
                    flush(&myself, state, false);
                }
            }
            SessionMsg::IdleCheck => {
                let idle = state.running.is_none()
                    && state.log.is_quiet()
                    && state.last_activity.elapsed()
                        >= state.services.settings.sessions.idle_hibernate();
                if idle {
                    tracing::debug!(session = %state.key, "hibernating idle session");
                    myself.stop(Some(crate::manager::HIBERNATED.into()));
                }
            }
            SessionMsg::Clear { reply } => lifecycle::clear(state, reply)?,
            SessionMsg::Interrupt { reply } => lifecycle::interrupt(&myself, state, reply)?,
            SessionMsg::NoteUploads { paths, reply } => {
                lifecycle::note_uploads(state, paths, reply)?
            }
            #[cfg(feature = "testing")]
            SessionMsg::Crash => panic!("fault injected into session {}", state.key),
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SessionMsg>,
        state: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        lifecycle::interrupt_running_turn(state).await;
        Ok(())
    }
}

fn start_turn(
    myself: &ActorRef<SessionMsg>,
    state: &mut SessionState,
    request: TurnRequest,
    reply: RpcReplyPort<Result<TurnStarted, SessionError>>,
) -> Result<(), ActorProcessingErr> {
    if state.running.is_some() {
        let _ = reply.send(Err(SessionError::TurnInProgress));
        return Ok(());
    }
    if request.message.trim().is_empty() {
        let _ = reply.send(Err(SessionError::EmptyMessage));
        return Ok(());
    }
    let active = state.record.active_leaf.clone();
    let parent = match &request.branch {
        BranchFrom::Active => active,
        BranchFrom::ReplaceLast => match state.tree.last_user_on_path(active.as_deref()) {
            Some(last_user) => last_user.parent_id.clone(),
            None => active,
        },
        BranchFrom::Edit(id) => match state.tree.get(id) {
            None => {
                let _ = reply.send(Err(SessionError::UnknownMessage(id.clone())));
                return Ok(());
            }
            Some(m) if m.role != Role::User => {
                let _ = reply.send(Err(SessionError::NotAUserMessage(id.clone())));
                return Ok(());
            }
            Some(m) => m.parent_id.clone(),
        },
    };
    let turn_id = crate::ids::new_id();
    let mut user_message = Message::new(Role::User, parent.clone(), request.message);
    user_message.turn_id = Some(turn_id.clone());
    user_message.attachments = std::mem::take(&mut state.record.pending_uploads);
    let history: Vec<Message> = state
        .tree
        .path_to(parent.as_deref())
        .into_iter()
        .cloned()
        .collect();

    let cancel = CancellationToken::new();
    state.running = Some(RunningTurn {
        id: turn_id.clone(),
        cancel: cancel.clone(),
        _guard: cancel.clone().drop_guard(),
    });
    state.record.running_turn = Some(turn_id.clone());
    let tool_ctx = tool_context(state, cancel);
    turn::spawn(turn::TurnTask {
        turn_id,
        after_seq: state.log.last_assigned(),
        session: myself.clone(),
        services: state.services.clone(),
        tool_ctx,
        history,
        user_message,
        started: reply,
    });
    Ok(())
}

fn tool_context(state: &SessionState, cancel: CancellationToken) -> ToolContext {
    ToolContext {
        session: state.key.clone(),
        workspace: state.workspace.clone(),
        storage: state.services.storage.clone(),
        files_read: state.files_read.clone(),
        settings: Arc::new(state.services.settings.workspace.clone()),
        cancel,
    }
}

fn switch_branch(
    state: &mut SessionState,
    message_id: &str,
) -> Result<SessionSnapshot, SessionError> {
    if state.running.is_some() {
        return Err(SessionError::TurnInProgress);
    }
    let leaf = state
        .tree
        .newest_leaf_from(message_id)
        .ok_or_else(|| SessionError::UnknownMessage(message_id.to_string()))?;
    if state.record.active_leaf.as_deref() != Some(leaf.as_str()) {
        state.record.active_leaf = Some(leaf);
        state.record.updated_ms = crate::ids::now_ms();
        let mut batch = WriteBatch::new(state.key.clone());
        batch.record = Some(state.record.clone());
        send_write(
            &state.services.storage,
            batch,
            Box::new(|result| {
                if let Err(e) = result {
                    tracing::error!(error = %e, "storing the active branch failed");
                }
            }),
        )
        .map_err(|_| SessionError::Storage(StorageError::Unavailable))?;
    }
    Ok(snapshot(state))
}

fn snapshot(state: &SessionState) -> SessionSnapshot {
    SessionSnapshot {
        key: state.key.clone(),
        messages: state
            .tree
            .path_to(state.record.active_leaf.as_deref())
            .into_iter()
            .cloned()
            .collect(),
        total_messages: state.tree.len(),
        running_turn: state.running.as_ref().map(|t| t.id.clone()),
        last_seq: state.log.committed(),
        created_ms: state.record.created_ms,
        updated_ms: state.record.updated_ms,
    }
}

/// Sends the waiting events (and, with `with_record`, the session record) to the store; they
/// are fanned out when the store says they are durable.
fn flush(myself: &ActorRef<SessionMsg>, state: &mut SessionState, with_record: bool) {
    let events = state.log.take_pending();
    if events.is_empty() && !with_record {
        return;
    }
    let mut batch = WriteBatch::new(state.key.clone());
    batch.events = events.clone();
    if with_record {
        batch.record = Some(state.record.clone());
    }
    let me = myself.clone();
    let done: crate::storage::WriteDone = Box::new(move |result| {
        let _ = me.cast(SessionMsg::EventsCommitted { events, result });
    });
    if let Err(e) = send_write(&state.services.storage, batch, done) {
        tracing::error!(error = %e, session = %state.key, "the store is gone; events not committed");
    }
}

fn send_write(
    storage: &ActorRef<StorageMsg>,
    batch: WriteBatch,
    done: crate::storage::WriteDone,
) -> Result<(), ActorProcessingErr> {
    storage
        .cast(StorageMsg::Write { batch, done })
        .map_err(|e| format!("the storage actor is gone: {e}").into())
}
