//! The parts of a session's life outside turns: clearing its history and workspace, and what
//! happens to a running turn when the session is stopped.

use std::sync::Arc;

use ractor::{ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;

use super::{send_write, SessionError, SessionMsg, SessionState};
use crate::event::EventKind;
use crate::history::HistoryTree;
use crate::storage::WriteBatch;
use crate::workspace::snapshots::SnapshotStore;

/// What clearing a session removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClearReport {
    /// History entries deleted (every branch).
    pub cleared_messages: usize,
    /// Files and folders deleted from the workspace (uploads included).
    pub removed_files: usize,
}

/// Deletes the session's history, events and to-do list and empties its workspace. Refused
/// while a turn runs. Event numbers continue from where they were.
pub(super) fn clear(
    myself: &ActorRef<SessionMsg>,
    state: &mut SessionState,
    reply: RpcReplyPort<Result<ClearReport, SessionError>>,
) -> Result<(), ActorProcessingErr> {
    if let Some(refused) = super::workspace_ops::refusal(state, false) {
        let _ = reply.send(Err(refused));
        return Ok(());
    }
    let cleared_messages = state.tree.len();
    state.tree = HistoryTree::default();
    // Its interpreter, browser context, pages, citations and files read go with the history.
    state.resources = Arc::default();
    state.record.active_leaf = None;
    state.record.pending_uploads.clear();
    state.record.seq_floor = state.log.last_assigned();
    state.record.updated_ms = crate::ids::now_ms();

    let mut batch = WriteBatch::new(state.key.clone());
    batch.clear = true;
    batch.record = Some(state.record.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    send_write(
        &state.services.storage,
        batch,
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    )?;
    let root = state.workspace.root().to_path_buf();
    let storage = state.services.storage.clone();
    let (key, sites) = (state.key.clone(), state.services.settings.sites_dir());
    let snapshots = SnapshotStore::for_settings(&state.services.settings);
    let work = async move {
        match rx.await {
            Ok(Ok(())) => {
                remove_deployments(&storage, key.clone(), sites).await;
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = snapshots.delete_session(&key.tenant, &key.session) {
                        tracing::error!(error = %e, "removing a cleared session's snapshots failed");
                    }
                    crate::workspace::empty_dir(&root)
                })
                .await
                .map_err(|_| SessionError::Unavailable)
                .and_then(|removed| {
                    removed.map_err(|e| {
                        tracing::error!(error = %e, "emptying a workspace failed");
                        SessionError::Unavailable
                    })
                })
                .map(|removed_files| ClearReport {
                    cleared_messages,
                    removed_files,
                })
            }
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(SessionError::Unavailable),
        }
    };
    super::workspace_ops::run(
        myself,
        state,
        super::WorkspaceActivity::Clearing,
        work,
        |_, result| {
            let _ = reply.send(result);
            Ok(())
        },
    );
    Ok(())
}

/// Makes the workspace match the newest snapshot on `path` (a history branch, root first),
/// or the session's baseline; a failure is logged and the files are left as they are.
pub(super) async fn restore_branch(
    store: SnapshotStore,
    key: crate::SessionKey,
    root: std::path::PathBuf,
    path: Vec<String>,
) {
    let restored = tokio::task::spawn_blocking(move || {
        store.restore_path(&key.tenant, &key.session, &path, &root)
    })
    .await;
    if let Ok(Err(e)) = restored {
        tracing::warn!(error = %e, "restoring the branch's files failed");
    }
}

/// Takes the session's deployment records from the store and deletes their sites.
async fn remove_deployments(
    storage: &crate::storage::StorageHandle,
    key: crate::SessionKey,
    sites: std::path::PathBuf,
) {
    match storage.take_deployments(key).await {
        Ok(records) => {
            let _ =
                tokio::task::spawn_blocking(move || crate::tool::remove_sites(&sites, &records))
                    .await;
        }
        _ => tracing::error!("could not remove the sites of a cleared session"),
    }
}

/// Remembers uploaded files for the next user message, durably; `done` hears when they are.
pub(super) fn note_uploads(
    state: &mut SessionState,
    paths: Vec<String>,
    done: impl FnOnce(Result<(), SessionError>) + Send + 'static,
) -> Result<(), ActorProcessingErr> {
    for path in paths {
        if !state.record.pending_uploads.contains(&path) {
            state.record.pending_uploads.push(path);
        }
    }
    let mut batch = WriteBatch::new(state.key.clone());
    batch.record = Some(state.record.clone());
    send_write(
        &state.services.storage,
        batch,
        Box::new(move |result| done(result.map_err(SessionError::from))),
    )
}

/// The batch that records a running turn as interrupted (and takes it off the session), or
/// `None` when no turn runs.
fn interruption(state: &mut SessionState) -> Option<WriteBatch> {
    let turn = state.running.take()?;
    turn.cancel.cancel();
    for kind in [EventKind::interrupted(), EventKind::Stop {}] {
        state.log.push(Some(turn.id.clone()), kind);
    }
    let mut batch = WriteBatch::new(state.key.clone());
    batch.events = state.log.take_pending();
    state.record.running_turn = None;
    state.record.updated_ms = crate::ids::now_ms();
    batch.record = Some(state.record.clone());
    Some(batch)
}

/// The server is stopping: end the running turn and tell its subscribers why, through the
/// normal commit-then-publish path. Replies once the record is durable.
pub(super) fn interrupt(
    myself: &ActorRef<SessionMsg>,
    state: &mut SessionState,
    reply: RpcReplyPort<()>,
) -> Result<(), ActorProcessingErr> {
    let Some(batch) = interruption(state) else {
        let _ = reply.send(());
        return Ok(());
    };
    let events = batch.events.clone();
    let me = myself.clone();
    send_write(
        &state.services.storage,
        batch,
        Box::new(move |result| {
            let _ = me.cast(SessionMsg::EventsCommitted { events, result });
            let _ = reply.send(());
        }),
    )
}

/// A session stopped while its turn ran (the server is shutting down): cancel the turn and
/// record, durably, that it was interrupted.
pub(super) async fn interrupt_running_turn(state: &mut SessionState) {
    let Some(batch) = interruption(state) else {
        return;
    };
    let events = batch.events.clone();
    match state.services.storage.commit(batch).await {
        Ok(()) => state.log.committed(&events),
        Err(e) => {
            tracing::error!(session = %state.key, error = %e, "could not record the interrupted turn")
        }
    }
}
