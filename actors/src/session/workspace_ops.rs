//! Changes to a session's workspace outside turns: restoring a snapshot, checking out a branch,
//! taking a snapshot, committing uploads, clearing, switching the history branch, running a
//! tool from the command line.
//!
//! The session actor owns every one of them. It refuses a change while a turn runs (the turn
//! owns the workspace then; a snapshot, which only reads, is the exception) and while another
//! change runs. Otherwise it marks the workspace busy with what is happening, starts the file
//! work off its mailbox, and refuses turns and other changes with
//! [`SessionError::WorkspaceBusy`] until the work reports back with [`SessionMsg::WorkspaceDone`].
//! The caller's answer is sent from that message, after the mark is gone, so a caller that
//! hears "done" can start a turn at once.

use std::sync::{Arc, Mutex};

use ractor::{ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;

use super::{SessionError, SessionMsg, SessionState};
use crate::tool::{ToolCallOutcome, ToolError};
use crate::workspace::snapshots::{SnapshotError, SnapshotStore};
use crate::workspace::uploads::{UploadBatch, UploadEntry, UploadError};

/// What is being done to a workspace outside a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceActivity {
    Restoring,
    CheckingOutBranch,
    TakingSnapshot,
    CommittingUploads,
    Clearing,
    SwitchingBranch,
    RunningTool,
}

impl std::fmt::Display for WorkspaceActivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Restoring => "a snapshot is being restored into it",
            Self::CheckingOutBranch => "a workspace branch is being checked out",
            Self::TakingSnapshot => "a snapshot of it is being taken",
            Self::CommittingUploads => "uploaded files are being saved into it",
            Self::Clearing => "it is being cleared",
            Self::SwitchingBranch => "the files of another history branch are being restored",
            Self::RunningTool => "a tool is running in it",
        })
    }
}

/// A change to the workspace asked for by a client.
#[derive(Clone)]
pub enum WorkspaceChange {
    /// A snapshot of the workspace now, attached to the active history entry.
    TakeSnapshot { label: Option<String> },
    /// The workspace as it was in a snapshot, or at a named branch's snapshot (which becomes
    /// the current branch when `checkout`).
    Restore {
        target: RestoreTarget,
        checkout: bool,
    },
    /// Names a snapshot (the given one, or one taken now) as a branch; with `checkout` the
    /// workspace moves to it and it becomes the current branch.
    Branch {
        name: String,
        snapshot_id: Option<String>,
        checkout: bool,
    },
    /// Moves a batch of staged uploads into `upload/` and tells the model of them with the
    /// next user message. (Shared so the message can be built again if the actor restarts;
    /// only one attempt can take the batch.)
    CommitUploads {
        batch: Arc<Mutex<Option<UploadBatch>>>,
    },
}

/// Which snapshot a restore brings back.
#[derive(Debug, Clone)]
pub enum RestoreTarget {
    Snapshot(String),
    Branch(String),
}

impl WorkspaceChange {
    fn activity(&self) -> WorkspaceActivity {
        match self {
            Self::TakeSnapshot { .. } => WorkspaceActivity::TakingSnapshot,
            Self::Restore { .. } => WorkspaceActivity::Restoring,
            Self::Branch { checkout: true, .. } => WorkspaceActivity::CheckingOutBranch,
            Self::Branch { .. } => WorkspaceActivity::TakingSnapshot,
            Self::CommitUploads { .. } => WorkspaceActivity::CommittingUploads,
        }
    }

    /// Whether the change only reads the workspace (and so may run beside a turn).
    fn reads_only(&self) -> bool {
        matches!(
            self,
            Self::TakeSnapshot { .. }
                | Self::Branch {
                    checkout: false,
                    ..
                }
        )
    }
}

/// What a change did.
#[derive(Debug)]
pub enum WorkspaceChanged {
    /// The id of the snapshot taken.
    Snapshot(String),
    /// How many paths the restore changed.
    Restored(usize),
    Branched,
    Uploads(Vec<UploadEntry>),
}

/// Why a change failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceChangeError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("no workspace branch {0:?}")]
    UnknownBranch(String),
}

type ChangeReply = RpcReplyPort<Result<WorkspaceChanged, WorkspaceChangeError>>;

/// Why the workspace can't be changed now, if it can't.
pub(super) fn refusal(state: &SessionState, reads_only: bool) -> Option<SessionError> {
    if let Some(activity) = state.busy {
        return Some(SessionError::WorkspaceBusy(activity));
    }
    (state.running.is_some() && !reads_only).then_some(SessionError::TurnInProgress)
}

/// Marks the workspace busy with `activity` and runs `work` off the mailbox; when it is done,
/// the mark goes and `finish` runs on the actor with the work's result.
pub(super) fn run<T: Send + 'static>(
    myself: &ActorRef<SessionMsg>,
    state: &mut SessionState,
    activity: WorkspaceActivity,
    work: impl std::future::Future<Output = T> + Send + 'static,
    finish: impl FnOnce(&mut SessionState, T) -> Result<(), ActorProcessingErr> + Send + 'static,
) {
    state.busy = Some(activity);
    let me = myself.clone();
    tokio::spawn(async move {
        let result = work.await;
        let _ = me.cast(SessionMsg::WorkspaceDone {
            finish: super::WorkspaceFinish(Box::new(move |state| finish(state, result))),
        });
    });
}

/// Starts a client's change (see the module documentation).
pub(super) fn change(
    myself: &ActorRef<SessionMsg>,
    state: &mut SessionState,
    change: WorkspaceChange,
    reply: ChangeReply,
) -> Result<(), ActorProcessingErr> {
    if let Some(refused) = refusal(state, change.reads_only()) {
        let _ = reply.send(Err(refused.into()));
        return Ok(());
    }
    let activity = change.activity();
    let store = SnapshotStore::for_settings(&state.services.settings);
    let key = state.key.clone();
    let root = state.workspace.root().to_path_buf();
    let leaf = state.record.active_leaf.clone();
    match change {
        WorkspaceChange::CommitUploads { batch } => {
            let taken = batch.lock().ok().and_then(|mut batch| batch.take());
            let Some(batch) = taken else {
                let _ = reply.send(Err(SessionError::Unavailable.into()));
                return Ok(());
            };
            run(
                myself,
                state,
                activity,
                batch.commit(),
                |state, result| match result {
                    Ok(added) => {
                        let paths = added.iter().map(|e| e.path.clone()).collect();
                        super::lifecycle::note_uploads(state, paths, move |noted| {
                            let _ = reply.send(
                                noted
                                    .map(|()| WorkspaceChanged::Uploads(added))
                                    .map_err(WorkspaceChangeError::from),
                            );
                        })
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                        Ok(())
                    }
                },
            );
        }
        other => {
            let work = async move {
                tokio::task::spawn_blocking(move || apply(&store, &key, &root, leaf, other))
                    .await
                    .unwrap_or(Err(SessionError::Unavailable.into()))
            };
            run(myself, state, activity, work, |_, result| {
                let _ = reply.send(result);
                Ok(())
            });
        }
    }
    Ok(())
}

/// The file work of a snapshot, restore or branch change. Blocking.
fn apply(
    store: &SnapshotStore,
    key: &crate::SessionKey,
    root: &std::path::Path,
    leaf: Option<String>,
    change: WorkspaceChange,
) -> Result<WorkspaceChanged, WorkspaceChangeError> {
    let (tenant, session) = (key.tenant.as_str(), key.session.as_str());
    crate::private::create_dir_all(root).map_err(|e| SnapshotError::Io {
        action: "prepare",
        what: "the workspace".into(),
        source: e,
    })?;
    match change {
        WorkspaceChange::TakeSnapshot { label } => Ok(WorkspaceChanged::Snapshot(
            store.take(tenant, session, root, label, leaf)?.id,
        )),
        WorkspaceChange::Restore { target, checkout } => {
            let mut branches = store.branches(tenant, session)?;
            let id = match &target {
                RestoreTarget::Snapshot(id) => id.clone(),
                RestoreTarget::Branch(name) => branches
                    .names
                    .get(name)
                    .cloned()
                    .ok_or_else(|| WorkspaceChangeError::UnknownBranch(name.clone()))?,
            };
            let changed = store.restore(tenant, session, &id, root)?;
            if let (RestoreTarget::Branch(name), true) = (target, checkout) {
                branches.current = Some(name);
                store.set_branches(tenant, session, &branches)?;
            }
            Ok(WorkspaceChanged::Restored(changed))
        }
        WorkspaceChange::Branch {
            name,
            snapshot_id,
            checkout,
        } => {
            let id = match snapshot_id {
                Some(id) if store.exists(tenant, session, &id) => id,
                Some(id) => return Err(SnapshotError::Unknown(id).into()),
                None => {
                    store
                        .take(tenant, session, root, Some(format!("branch {name}")), leaf)?
                        .id
                }
            };
            let mut branches = store.branches(tenant, session)?;
            branches.names.insert(name.clone(), id.clone());
            if checkout {
                store.restore(tenant, session, &id, root)?;
                branches.current = Some(name);
            }
            store.set_branches(tenant, session, &branches)?;
            Ok(WorkspaceChanged::Branched)
        }
        WorkspaceChange::CommitUploads { .. } => Err(SessionError::Unavailable.into()),
    }
}

/// Runs one tool in the workspace outside a turn (`okcvm tools call`): a change like the
/// others, refused while a turn or another change runs.
pub(super) fn call_tool(
    myself: &ActorRef<SessionMsg>,
    state: &mut SessionState,
    name: String,
    arguments: String,
    reply: RpcReplyPort<ToolCallOutcome>,
) -> Result<(), ActorProcessingErr> {
    if let Some(refused) = refusal(state, false) {
        let _ = reply.send(ToolCallOutcome {
            result: Err(ToolError::Failed(format!(
                "the tool was not run: {refused}"
            ))),
            duration: std::time::Duration::ZERO,
        });
        return Ok(());
    }
    let name = match state.services.registry.spec(&name) {
        Some(spec) => spec.name.clone(),
        None => name,
    };
    let ctx = super::start::tool_context(state, tokio_util::sync::CancellationToken::new());
    let tools = state.services.tools.clone();
    let work = async move {
        tools
            .execute(ctx, name, arguments, None)
            .await
            .unwrap_or_else(|| ToolCallOutcome {
                result: Err(ToolError::Failed("the tool actor did not answer".into())),
                duration: std::time::Duration::ZERO,
            })
    };
    run(
        myself,
        state,
        WorkspaceActivity::RunningTool,
        work,
        |_, outcome| {
            let _ = reply.send(outcome);
            Ok(())
        },
    );
    Ok(())
}
