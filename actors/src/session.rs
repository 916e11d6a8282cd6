//! The session actor: one per live session. It owns the history tree, the running turn, the
//! event log and its subscribers. It never awaits long work in `handle`: the turn runs in its
//! own task (the `turn` module) and reports back by message; commits are acknowledged by the storage
//! writer by message too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::event::{Event, EventKind};
use crate::history::{HistoryTree, Message};
use crate::services::Services;
use crate::storage::{SessionRecord, StorageError, StorageHandle, WriteBatch};
use crate::tool::{SessionResources, ToolCallOutcome};
use crate::workspace::Workspace;
use crate::SessionKey;

mod events;
mod handle;
mod lifecycle;
pub mod manager;
mod payload;
mod request;
mod start;
#[cfg(test)]
mod tests;
mod turn;
mod types;
mod workspace_ops;

pub use handle::{SessionHandle, Subscription};
pub use lifecycle::ClearReport;
pub use types::{
    BranchFrom, BranchView, MessageView, SessionError, SessionSnapshot, TurnRequest, TurnStarted,
};
pub use workspace_ops::{
    RestoreTarget, WorkspaceActivity, WorkspaceChange, WorkspaceChangeError, WorkspaceChanged,
};

pub use events::EventBatch;
use events::EventLog;
use start::{branch_view, message_view, snapshot, start_turn, switch_branch_and_restore};

/// A live feed of a session's events: the store has everything up to `committed_seq`; `tail`
/// holds the deltas published after it that the store may not have yet; everything later
/// arrives on `receiver`.
pub struct LiveFeed {
    pub receiver: broadcast::Receiver<EventBatch>,
    pub committed_seq: u64,
    pub tail: Vec<Arc<Event>>,
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
    /// The lock an upload holds while its files arrive (see [`SessionHandle::upload_lock`]).
    GetUploadLock {
        reply: RpcReplyPort<UploadLock>,
    },
    GetMessage {
        id: String,
        reply: RpcReplyPort<Option<MessageView>>,
    },
    /// The active branch with each message's siblings.
    GetBranch {
        reply: RpcReplyPort<BranchView>,
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
    /// Change the workspace outside a turn (snapshot, restore, branch, uploads); the session
    /// refuses it while a turn or another change runs.
    ChangeWorkspace {
        change: WorkspaceChange,
        reply: RpcReplyPort<Result<WorkspaceChanged, WorkspaceChangeError>>,
    },
    /// From the task doing a workspace change: it is done; `finish` answers the caller.
    WorkspaceDone {
        finish: WorkspaceFinish,
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
    /// Write the deltas waiting for the store (they have waited `events::DELTA_FLUSH`).
    FlushDeltas,
    /// Hibernate if idle.
    IdleCheck,
    /// Fail the actor on purpose (fault-injection tests only).
    #[cfg(feature = "testing")]
    Crash,
}

/// Work that runs on the actor with its state.
type OnActor = dyn FnOnce(&mut SessionState) -> Result<(), ActorProcessingErr> + Send;

/// What runs on the actor when a workspace change outside a turn is done: it answers the
/// caller once the workspace is free again.
pub struct WorkspaceFinish(Box<OnActor>);

pub struct SessionActor;

pub struct SessionArgs {
    pub key: SessionKey,
    pub services: Services,
}

struct RunningTurn {
    id: String,
    /// The turn's events have sequence numbers above this one.
    after_seq: u64,
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
    /// A workspace change outside a turn that has not reported back yet.
    busy: Option<WorkspaceActivity>,
    workspace: Workspace,
    /// What the session's tools keep between calls (its Python interpreter, browser context,
    /// citations, pages, the files read): made with the session, replaced when its history is
    /// cleared, dropped when it stops.
    resources: Arc<SessionResources>,
    /// The workspace's disk quota and its last measured use.
    quota: Arc<crate::workspace::Quota>,
    /// Held by an upload while its files arrive: one batch at a time, so the limits hold
    /// exactly. The session does not hibernate while someone holds it.
    uploads: UploadLock,
    /// A [`SessionMsg::FlushDeltas`] is on its way.
    delta_flush_due: bool,
    last_activity: Instant,
}

/// The session's upload lock, handed to the upload in progress.
pub type UploadLock = Arc<tokio::sync::Mutex<()>>;

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
        let stored = services.storage.load_session(key.clone()).await?;
        let workspace_dir = services
            .settings
            .workspace_root()
            .join(&key.tenant)
            .join(&key.session);
        let workspace =
            tokio::task::spawn_blocking(move || Workspace::open(workspace_dir)).await??;

        let now = crate::ids::now_ms();
        let (mut record, messages, last_seq, is_new) = match stored {
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
        let quota = Arc::new(crate::workspace::Quota::new(
            services.settings.workspace.quota_bytes(),
        ));
        // A turn still marked as running was cut off by a crash: deltas it published may not
        // have been stored, so numbering skips past every number they could have had.
        let interrupted = record.running_turn.take();
        let log = match interrupted {
            Some(_) => EventLog::after_crash(last_seq),
            None => EventLog::new(last_seq),
        };
        let mut state = SessionState {
            log,
            key: key.clone(),
            services,
            record,
            tree: HistoryTree::from_messages(messages),
            running: None,
            busy: None,
            workspace,
            resources: Arc::default(),
            quota,
            uploads: UploadLock::default(),
            delta_flush_due: false,
            last_activity: Instant::now(),
        };

        let mut batch = WriteBatch::new(key);
        if let Some(turn_id) = interrupted {
            // The process died (or this actor failed) while the turn ran: say so in the log.
            tracing::warn!(session = %state.key, turn = %turn_id, "marking interrupted turn");
            for kind in [EventKind::interrupted(), EventKind::Stop {}] {
                batch
                    .events
                    .push(state.log.make(Some(turn_id.clone()), kind));
            }
            batch.record = Some(state.record.clone());
        } else if is_new {
            batch.record = Some(state.record.clone());
        }
        if batch.record.is_some() {
            state.log.mark_committed(&batch.events);
            state.services.storage.commit(batch).await?;
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
            SessionMsg::GetUploadLock { reply } => {
                state.last_activity = Instant::now();
                let _ = reply.send(state.uploads.clone());
            }
            SessionMsg::GetMessage { id, reply } => {
                state.last_activity = Instant::now();
                let _ = reply.send(message_view(&state.tree, &id));
            }
            SessionMsg::GetBranch { reply } => {
                state.last_activity = Instant::now();
                let _ = reply.send(branch_view(state));
            }
            SessionMsg::CallTool {
                name,
                arguments,
                reply,
            } => {
                state.last_activity = Instant::now();
                workspace_ops::call_tool(&myself, state, name, arguments, reply)?;
            }
            SessionMsg::SwitchBranch { message_id, reply } => {
                state.last_activity = Instant::now();
                switch_branch_and_restore(&myself, state, &message_id, reply);
            }
            SessionMsg::ChangeWorkspace { change, reply } => {
                state.last_activity = Instant::now();
                workspace_ops::change(&myself, state, change, reply)?;
            }
            SessionMsg::WorkspaceDone { finish } => {
                state.busy = None;
                state.last_activity = Instant::now();
                (finish.0)(state)?;
            }
            SessionMsg::TurnEvents { turn_id, kinds } => {
                let current = state.running.as_ref().is_some_and(|t| t.id == turn_id);
                if !current {
                    // A turn from before a restart, or already finished: its results are dropped.
                    return Ok(());
                }
                let finished = kinds.iter().any(|k| matches!(k, EventKind::Stop {}));
                let only_deltas = kinds.iter().all(EventKind::is_delta);
                state.log.push_all(Some(turn_id.clone()), kinds);
                if finished {
                    state.running = None;
                    state.record.running_turn = None;
                    state.record.updated_ms = crate::ids::now_ms();
                    state.last_activity = Instant::now();
                    flush(&myself, state, true);
                } else if !only_deltas || state.log.unwritten() >= events::DELTA_BATCH {
                    // Deltas already reached subscribers; they are written with the next
                    // event that is not a delta, in batches, or after a moment.
                    flush(&myself, state, false);
                } else if !state.delta_flush_due {
                    state.delta_flush_due = true;
                    myself.send_after(events::DELTA_FLUSH, || SessionMsg::FlushDeltas);
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
                state.log.committed(&events);
            }
            SessionMsg::FlushDeltas => {
                state.delta_flush_due = false;
                flush(&myself, state, false);
            }
            SessionMsg::IdleCheck => {
                let idle = state.running.is_none()
                    && state.busy.is_none()
                    && Arc::strong_count(&state.uploads) == 1
                    && state.log.is_quiet()
                    && state.last_activity.elapsed()
                        >= state.services.settings.sessions.idle_hibernate();
                if idle {
                    tracing::debug!(session = %state.key, "hibernating idle session");
                    myself.stop(Some(manager::HIBERNATED.into()));
                }
            }
            SessionMsg::Clear { reply } => lifecycle::clear(&myself, state, reply)?,
            SessionMsg::Interrupt { reply } => lifecycle::interrupt(&myself, state, reply)?,
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
        // A hibernating or stopping session lets go of its resources: its interpreter is
        // killed and its browser context closed (once a call still running ends); they come
        // back empty when the session wakes.
        drop(std::mem::take(&mut state.resources));
        Ok(())
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
    storage: &StorageHandle,
    batch: WriteBatch,
    done: crate::storage::WriteDone,
) -> Result<(), ActorProcessingErr> {
    storage
        .write(batch, done)
        .map_err(|e| format!("the storage actor is gone: {e}").into())
}
