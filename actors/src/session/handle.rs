//! [`SessionHandle`]: the typed way to talk to a session from outside the actor system (the
//! HTTP layer, the CLI). It finds the session through the manager, which wakes it if it was
//! hibernating, and retries once if the actor went away between lookup and call.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};
use tokio::sync::broadcast;

use super::manager::ManagerMsg;
use super::{MessageView, SessionError, SessionMsg, SessionSnapshot, TurnRequest, TurnStarted};
use crate::event::Event;
use crate::storage::{StorageError, StorageHandle};
use crate::tool::ToolCallOutcome;
use crate::SessionKey;

/// Longest wait for a session to answer a call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Events read from the store per page while a subscriber catches up.
const REPLAY_PAGE: usize = 512;
/// Longest wait for a tool run outside a turn (longer than any tool's own timeout).
const TOOL_CALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Attempts at a call when the session actor stops under it (hibernation, restart).
const ATTEMPTS: usize = 3;

/// A handle on one session. Cheap to clone.
#[derive(Clone)]
pub struct SessionHandle {
    key: SessionKey,
    manager: ActorRef<ManagerMsg>,
    storage: StorageHandle,
}

impl SessionHandle {
    pub(crate) fn new(
        key: SessionKey,
        manager: ActorRef<ManagerMsg>,
        storage: StorageHandle,
    ) -> Self {
        Self {
            key,
            manager,
            storage,
        }
    }

    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    /// Starts a turn; returns once the user message is durable.
    pub async fn start_turn(&self, request: TurnRequest) -> Result<TurnStarted, SessionError> {
        self.ask(|reply| SessionMsg::StartTurn {
            request: request.clone(),
            reply,
        })
        .await?
    }

    /// Cancels the running turn; the id of the turn stopped, if one was running.
    pub async fn stop(&self) -> Result<Option<String>, SessionError> {
        self.ask(|reply| SessionMsg::Stop { reply }).await
    }

    pub async fn snapshot(&self) -> Result<SessionSnapshot, SessionError> {
        self.ask(|reply| SessionMsg::GetSnapshot { reply }).await
    }

    /// The session's upload lock: an upload holds it while its files arrive, so batches of
    /// one session take turns (and the session stays awake meanwhile).
    pub async fn upload_lock(&self) -> Result<super::UploadLock, SessionError> {
        self.ask(|reply| SessionMsg::GetUploadLock { reply }).await
    }

    pub async fn message(&self, id: &str) -> Result<Option<MessageView>, SessionError> {
        self.ask(|reply| SessionMsg::GetMessage {
            id: id.to_string(),
            reply,
        })
        .await
    }

    /// The active branch, each message with its siblings.
    pub async fn branch(&self) -> Result<super::BranchView, SessionError> {
        self.ask(|reply| SessionMsg::GetBranch { reply }).await
    }

    /// Makes the newest leaf under `message_id` the active branch.
    pub async fn switch_branch(&self, message_id: &str) -> Result<SessionSnapshot, SessionError> {
        self.ask(|reply| SessionMsg::SwitchBranch {
            message_id: message_id.to_string(),
            reply,
        })
        .await?
    }

    /// Deletes the history, events and to-do list and empties the workspace. Refused with
    /// [`SessionError::TurnInProgress`] while a turn runs.
    pub async fn clear(&self) -> Result<super::ClearReport, SessionError> {
        self.ask(|reply| SessionMsg::Clear { reply }).await?
    }

    /// Changes the workspace outside a turn (see [`super::WorkspaceChange`]); refused with
    /// `TurnInProgress` while a turn runs and `WorkspaceBusy` while another change does.
    pub async fn change_workspace(
        &self,
        change: super::WorkspaceChange,
    ) -> Result<super::WorkspaceChanged, super::WorkspaceChangeError> {
        self.ask_within(TOOL_CALL_TIMEOUT, |reply| SessionMsg::ChangeWorkspace {
            change: change.clone(),
            reply,
        })
        .await?
    }

    /// Runs one tool in this session's workspace, outside any turn.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: &str,
    ) -> Result<ToolCallOutcome, SessionError> {
        self.ask_within(TOOL_CALL_TIMEOUT, |reply| SessionMsg::CallTool {
            name: name.to_string(),
            arguments: arguments.to_string(),
            reply,
        })
        .await
    }

    /// Every event after `after`, exactly once and in order: first from the store, then live.
    pub fn subscribe(&self, after: u64) -> Subscription {
        Subscription {
            handle: self.clone(),
            last: after,
            replay: VecDeque::new(),
            catch_up_to: 0,
            tail: Vec::new(),
            live: None,
        }
    }

    /// Fails the session actor on purpose, to test supervision.
    #[cfg(feature = "testing")]
    pub async fn crash(&self) -> Result<(), SessionError> {
        self.actor()
            .await?
            .cast(SessionMsg::Crash)
            .map_err(|_| SessionError::Unavailable)
    }

    async fn actor(&self) -> Result<ActorRef<SessionMsg>, SessionError> {
        let key = self.key.clone();
        match self
            .manager
            .call(
                |reply| ManagerMsg::GetSession { key, reply },
                Some(CALL_TIMEOUT),
            )
            .await
        {
            Ok(CallResult::Success(result)) => result,
            _ => Err(SessionError::Unavailable),
        }
    }

    async fn ask<T: Send + 'static>(
        &self,
        build: impl Fn(RpcReplyPort<T>) -> SessionMsg,
    ) -> Result<T, SessionError> {
        self.ask_within(CALL_TIMEOUT, build).await
    }

    async fn ask_within<T: Send + 'static>(
        &self,
        timeout: Duration,
        build: impl Fn(RpcReplyPort<T>) -> SessionMsg,
    ) -> Result<T, SessionError> {
        for _ in 0..ATTEMPTS {
            let actor = self.actor().await?;
            match actor.call(&build, Some(timeout)).await {
                Ok(CallResult::Success(value)) => return Ok(value),
                Ok(CallResult::Timeout) => return Err(SessionError::Unavailable),
                // The actor stopped (hibernated or failed) before answering: find it again.
                Ok(CallResult::SenderError) | Err(_) => continue,
            }
        }
        Err(SessionError::Unavailable)
    }

    async fn read_events(&self, after: u64, upto: u64) -> Result<Vec<Event>, SessionError> {
        match self
            .storage
            .read_events(self.key.clone(), after, upto, REPLAY_PAGE)
            .await
        {
            Err(StorageError::Unavailable) => Err(SessionError::Unavailable),
            result => result.map_err(SessionError::from),
        }
    }
}

/// A session's events after a point, each exactly once, in order, across lag and restarts.
pub struct Subscription {
    handle: SessionHandle,
    /// The last sequence number handed out.
    last: u64,
    replay: VecDeque<Arc<Event>>,
    /// While catching up from the store: read up to here before going live.
    catch_up_to: u64,
    /// Published events the store may not have yet, handed out once the catch-up is done.
    tail: Vec<Arc<Event>>,
    live: Option<broadcast::Receiver<super::EventBatch>>,
}

impl Subscription {
    /// The last sequence number this subscription returned.
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// The next event. `Err` means the session could not be reached; calling again retries.
    pub async fn next(&mut self) -> Result<Arc<Event>, SessionError> {
        loop {
            if let Some(event) = self.replay.pop_front() {
                if event.seq > self.last {
                    self.last = event.seq;
                    return Ok(event);
                }
                continue;
            }
            if self.catch_up_to > self.last {
                let page = self.handle.read_events(self.last, self.catch_up_to).await?;
                if page.is_empty() {
                    // The store has less than the session said was committed: never expected,
                    // but do not spin on it.
                    self.catch_up_to = self.last;
                }
                self.replay.extend(page.into_iter().map(Arc::new));
                continue;
            }
            if !self.tail.is_empty() {
                self.replay.extend(self.tail.drain(..));
                continue;
            }
            let Some(receiver) = self.live.as_mut() else {
                let feed = self
                    .handle
                    .ask(|reply| SessionMsg::Subscribe { reply })
                    .await?;
                self.catch_up_to = feed.committed_seq;
                self.tail = feed.tail;
                self.live = Some(feed.receiver);
                continue;
            };
            match receiver.recv().await {
                Ok(batch) => self.replay.extend(batch.iter().cloned()),
                // Fell behind, or the session stopped (it restarts on the next call): catch up
                // from the store and listen again.
                Err(broadcast::error::RecvError::Lagged(_))
                | Err(broadcast::error::RecvError::Closed) => self.live = None,
            }
        }
    }
}
