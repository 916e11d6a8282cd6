//! Workspace snapshots and branches: `GET/POST /api/session/workspace/snapshots`,
//! `POST /api/session/workspace/restore`, `POST /api/session/workspace/branch`.

use std::collections::HashMap;

use bytes::Bytes;
use okcvm_actors::session::{
    RestoreTarget, WorkspaceChange, WorkspaceChangeError, WorkspaceChanged,
};
use okcvm_actors::workspace::snapshots::{self, SnapshotError, SnapshotStore};
use okcvm_actors::SessionKey;
use serde::Deserialize;
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

use crate::http::context::SessionCtx;
use crate::http::error::{parse_json, ApiError};

/// Longest label or branch name.
const MAX_NAME: usize = 200;

/// `GET /api/session/workspace/snapshots?limit=20`
pub async fn list(ctx: SessionCtx, query: HashMap<String, String>) -> Result<Response, ApiError> {
    let limit = match query.get("limit") {
        None => okcvm_actors::workspace::view::LISTED_SNAPSHOTS,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    "limit must be a whole number from 1 to 1000",
                )
            })?,
    };
    let state = state(&ctx, limit).await?;
    Ok(warp::reply::json(&state).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeRequest {
    label: Option<String>,
}

/// `POST /api/session/workspace/snapshots`
pub async fn take(ctx: SessionCtx, body: Bytes) -> Result<Response, ApiError> {
    let request: TakeRequest = if body.is_empty() {
        TakeRequest { label: None }
    } else {
        parse_json(&body)?
    };
    if request
        .label
        .as_ref()
        .is_some_and(|l| l.chars().count() > MAX_NAME)
    {
        return Err(invalid("label is longer than 200 characters"));
    }
    change(
        &ctx,
        WorkspaceChange::TakeSnapshot {
            label: request.label,
        },
    )
    .await?;
    let state = state(&ctx, okcvm_actors::workspace::view::LISTED_SNAPSHOTS).await?;
    Ok(warp::reply::json(&state).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreRequest {
    snapshot_id: Option<String>,
    branch: Option<String>,
    #[serde(default = "yes")]
    checkout: bool,
}

fn yes() -> bool {
    true
}

/// `POST /api/session/workspace/restore`: the workspace as it was in a snapshot, or at a
/// branch's snapshot (which becomes the current branch unless `checkout` is false).
pub async fn restore(ctx: SessionCtx, body: Bytes) -> Result<Response, ApiError> {
    let request: RestoreRequest = parse_json(&body)?;
    let target = match (request.snapshot_id, request.branch) {
        (Some(id), None) => RestoreTarget::Snapshot(id),
        (None, Some(branch)) => RestoreTarget::Branch(branch),
        _ => return Err(invalid("give exactly one of snapshot_id and branch")),
    };
    change(
        &ctx,
        WorkspaceChange::Restore {
            target,
            checkout: request.checkout,
        },
    )
    .await?;
    let state = state(&ctx, okcvm_actors::workspace::view::LISTED_SNAPSHOTS).await?;
    Ok(warp::reply::json(&json!({ "workspace_state": state })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchRequest {
    branch: String,
    snapshot_id: Option<String>,
    #[serde(default = "yes")]
    checkout: bool,
}

/// `POST /api/session/workspace/branch`: names a snapshot (the given one, or one taken now);
/// with `checkout` (default) the workspace moves to it and it becomes the current branch.
pub async fn branch(ctx: SessionCtx, body: Bytes) -> Result<Response, ApiError> {
    let request: BranchRequest = parse_json(&body)?;
    let name = request.branch.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(invalid("branch must be 1 to 200 characters"));
    }
    change(
        &ctx,
        WorkspaceChange::Branch {
            name,
            snapshot_id: request.snapshot_id,
            checkout: request.checkout,
        },
    )
    .await?;
    let state = state(&ctx, okcvm_actors::workspace::view::LISTED_SNAPSHOTS).await?;
    Ok(warp::reply::json(&json!({ "workspace_state": state })).into_response())
}

/// Asks the session to change its workspace; the session refuses while a turn or another
/// change runs.
async fn change(ctx: &SessionCtx, change: WorkspaceChange) -> Result<WorkspaceChanged, ApiError> {
    let session = ctx.app.runtime.session(ctx.key.clone())?;
    session.change_workspace(change).await.map_err(change_error)
}

/// A failed workspace change as the API's error.
pub fn change_error(error: WorkspaceChangeError) -> ApiError {
    match error {
        WorkspaceChangeError::Session(e) => e.into(),
        WorkspaceChangeError::Snapshot(e) => snapshot_error(e),
        WorkspaceChangeError::Upload(e) => super::uploads::upload_error(e),
        WorkspaceChangeError::UnknownBranch(name) => {
            ApiError::bad_request("unknown_branch", format!("no workspace branch {name:?}"))
        }
    }
}

async fn state(ctx: &SessionCtx, limit: usize) -> Result<Value, ApiError> {
    let store: SnapshotStore = ctx.app.snapshots();
    let key: SessionKey = ctx.key.clone();
    blocking(move || {
        Ok(snapshots::workspace_state(
            &store,
            &key.tenant,
            &key.session,
            limit,
        ))
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal("a snapshot operation failed", e))?
}

fn invalid(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", detail)
}

fn internal(error: SnapshotError) -> ApiError {
    ApiError::internal("the snapshot store failed", error)
}

fn snapshot_error(error: SnapshotError) -> ApiError {
    match error {
        SnapshotError::Unknown(id) => ApiError::bad_request(
            "unknown_snapshot",
            format!("no snapshot {id} in this session"),
        ),
        SnapshotError::Changed { .. } => {
            ApiError::new(StatusCode::CONFLICT, "workspace_changed", error.to_string())
        }
        SnapshotError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "workspace_too_large",
            error.to_string(),
        ),
        other => internal(other),
    }
}
