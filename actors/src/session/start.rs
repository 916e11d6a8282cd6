//! Handlers that start a turn or move the active branch, and the snapshot callers see.

use ractor::{ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio_util::sync::CancellationToken;

use super::{
    send_write, turn, BranchFrom, BranchView, MessageView, RunningTurn, SessionError, SessionMsg,
    SessionSnapshot, SessionState, TurnRequest, TurnStarted,
};
use crate::history::{HistoryTree, Message, Role};
use crate::storage::{StorageError, WriteBatch};
use crate::tool::ToolContext;

pub(super) fn start_turn(
    myself: &ActorRef<SessionMsg>,
    state: &mut SessionState,
    request: TurnRequest,
    reply: RpcReplyPort<Result<TurnStarted, SessionError>>,
) -> Result<(), ActorProcessingErr> {
    if let Some(refused) = super::workspace_ops::refusal(state, false) {
        let _ = reply.send(Err(refused));
        return Ok(());
    }
    if request.message.trim().is_empty() {
        let _ = reply.send(Err(SessionError::EmptyMessage));
        return Ok(());
    }
    let active = state.record.active_leaf.clone();
    let parent = match &request.branch {
        BranchFrom::Active => active.clone(),
        BranchFrom::ReplaceLast => match state.tree.last_user_on_path(active.as_deref()) {
            Some(last_user) => last_user.parent_id.clone(),
            None => active.clone(),
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
    // A regenerate or edit branches off before the active leaf: its files come back first.
    let restore_files = parent != active;
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
    let after_seq = state.log.last_assigned();
    state.running = Some(RunningTurn {
        id: turn_id.clone(),
        after_seq,
        cancel: cancel.clone(),
        _guard: cancel.clone().drop_guard(),
    });
    state.record.running_turn = Some(turn_id.clone());
    let tool_ctx = tool_context(state, cancel);
    turn::spawn(turn::TurnTask {
        turn_id,
        after_seq,
        session: myself.clone(),
        services: state.services.clone(),
        tool_ctx,
        history,
        user_message,
        started: reply,
        restore_files,
    });
    Ok(())
}

pub(super) fn tool_context(state: &SessionState, cancel: CancellationToken) -> ToolContext {
    ToolContext {
        session: state.key.clone(),
        workspace: state.workspace.clone(),
        storage: state.services.storage.clone(),
        resources: state.resources.clone(),
        settings: state.services.settings.clone(),
        cancel,
        web: state.services.web.clone(),
        jail: state.services.jail.clone(),
        quota: state.quota.clone(),
    }
}

fn switch_branch(
    state: &mut SessionState,
    message_id: &str,
) -> Result<SessionSnapshot, SessionError> {
    if let Some(refused) = super::workspace_ops::refusal(state, false) {
        return Err(refused);
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

/// [`switch_branch`], then the branch's files come back before the caller hears it switched
/// (the workspace is busy meanwhile).
pub(super) fn switch_branch_and_restore(
    myself: &ActorRef<SessionMsg>,
    state: &mut SessionState,
    message_id: &str,
    reply: RpcReplyPort<Result<SessionSnapshot, SessionError>>,
) {
    let snapshot = match switch_branch(state, message_id) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            let _ = reply.send(Err(e));
            return;
        }
    };
    let store = crate::workspace::snapshots::SnapshotStore::for_settings(&state.services.settings);
    let key = state.key.clone();
    let root = state.workspace.root().to_path_buf();
    let path = snapshot.messages.iter().map(|m| m.id.clone()).collect();
    super::workspace_ops::run(
        myself,
        state,
        super::WorkspaceActivity::SwitchingBranch,
        super::lifecycle::restore_branch(store, key, root, path),
        move |_, ()| {
            let _ = reply.send(Ok(snapshot));
            Ok(())
        },
    );
}

/// One message with its place among its siblings.
pub(super) fn message_view(tree: &HistoryTree, id: &str) -> Option<MessageView> {
    let message = tree.get(id)?;
    let sibling_ids = tree.siblings(id);
    let sibling_index = sibling_ids.iter().position(|s| s == id).unwrap_or(0);
    Some(MessageView {
        message: message.clone(),
        sibling_ids,
        sibling_index,
    })
}

pub(super) fn branch_view(state: &SessionState) -> BranchView {
    let path = state.tree.path_to(state.record.active_leaf.as_deref());
    BranchView {
        messages: path
            .iter()
            .filter_map(|m| message_view(&state.tree, &m.id))
            .collect(),
        running_turn: state.running.as_ref().map(|t| t.id.clone()),
        running_after_seq: state.running.as_ref().map(|t| t.after_seq),
        last_seq: state.log.durable(),
    }
}

pub(super) fn snapshot(state: &SessionState) -> SessionSnapshot {
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
        last_seq: state.log.durable(),
        created_ms: state.record.created_ms,
        updated_ms: state.record.updated_ms,
    }
}
