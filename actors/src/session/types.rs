//! The session's public vocabulary: what callers send, what they get back, how it fails.

use serde::Serialize;

use crate::history::Message;
use crate::storage::StorageError;
use crate::SessionKey;

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
    #[error("the workspace is busy: {0}. Try again when that is done")]
    WorkspaceBusy(super::WorkspaceActivity),
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
            SessionError::WorkspaceBusy(_) => "workspace_busy",
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

/// The active branch as a console draws it: every message with its place among its siblings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchView {
    pub messages: Vec<MessageView>,
    pub running_turn: Option<String>,
    /// For a running turn: its events have sequence numbers above this one, so a console that
    /// opens mid-turn replays them from here to show the turn so far.
    pub running_after_seq: Option<u64>,
    /// The newest event: follow `GET /api/session/events?after=` from here.
    pub last_seq: u64,
}
