//! `GET /api/session/files` and `POST /api/session/files` (multipart, field `files`): uploads
//! streamed to disk, all of a batch or nothing, into the workspace's `upload/` folder; the
//! model is told of them with the next message.

use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use okcvm_actors::session::{WorkspaceChange, WorkspaceChanged};
use okcvm_actors::workspace::uploads::{self, UploadBatch, UploadEntry, UploadError};
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::multipart::FormData;
use warp::reply::Response;
use warp::Reply;

use crate::http::context::SessionCtx;
use crate::http::error::ApiError;

/// The multipart field that carries files.
const FIELD: &str = "files";

/// `GET /api/session/files`
pub async fn list(ctx: SessionCtx) -> Result<Response, ApiError> {
    let files = listing(&ctx).await?;
    Ok(warp::reply::json(&reply_body(&ctx, files, None)).into_response())
}

/// `POST /api/session/files`
pub async fn upload(ctx: SessionCtx, form: FormData) -> Result<Response, ApiError> {
    let app = &ctx.app;
    // One batch at a time per session, so the limits hold exactly.
    let lock = app.runtime.session(ctx.key.clone())?.upload_lock().await?;
    let _guard = lock.lock().await;
    let root = app.runtime.workspace_dir(&ctx.key);
    tokio::fs::create_dir_all(&root)
        .await
        .map_err(|e| ApiError::internal("preparing the workspace failed", e))?;
    let mut batch = UploadBatch::begin(&root, &app.staging_dir, (&app.settings.uploads).into())
        .map_err(upload_error)?;
    let mut parts = form;
    while let Some(part) = parts.next().await {
        let part = part.map_err(|e| {
            ApiError::bad_request(
                "invalid_multipart",
                format!("the upload could not be read: {e}"),
            )
        })?;
        if part.name() != FIELD {
            continue;
        }
        let name = part.filename().unwrap_or_default().to_string();
        let stream = Box::pin(part.stream().map_err(|e| e.to_string()));
        batch.add(&name, stream).await.map_err(upload_error)?;
    }
    // The session moves the files in, refusing while a turn or another workspace change runs.
    let change = WorkspaceChange::CommitUploads {
        batch: Arc::new(Mutex::new(Some(batch))),
    };
    let session = app.runtime.session(ctx.key.clone())?;
    let added = match session.change_workspace(change).await {
        Ok(WorkspaceChanged::Uploads(added)) => added,
        Ok(_) => return Err(ApiError::internal("saving the upload failed", "no files")),
        Err(e) => return Err(super::snapshots::change_error(e)),
    };
    let summaries: Vec<String> = added
        .iter()
        .map(|e| format!("{} ({}) is at {}", e.name, e.size_display, e.path))
        .collect();
    let files = listing(&ctx).await?;
    Ok(warp::reply::json(&reply_body(&ctx, files, Some(summaries))).into_response())
}

async fn listing(ctx: &SessionCtx) -> Result<Vec<UploadEntry>, ApiError> {
    let root = ctx.app.runtime.workspace_dir(&ctx.key);
    tokio::task::spawn_blocking(move || uploads::list(&root))
        .await
        .map_err(|e| ApiError::internal("listing uploads failed", e))?
        .map_err(|e| ApiError::internal("listing uploads failed", e))
}

fn reply_body(ctx: &SessionCtx, files: Vec<UploadEntry>, summaries: Option<Vec<String>>) -> Value {
    let limits = &ctx.app.settings.uploads;
    let mut body = json!({
        "files": files,
        "limit": limits.max_files,
        "max_file_size_mb": limits.max_file_mb,
        "max_file_size_bytes": limits.max_file_bytes(),
        "session_quota_bytes": limits.session_quota_bytes(),
    });
    if let Some(summaries) = summaries {
        body["summaries"] = json!(summaries);
        body["system_prompt"] = json!(okcvm_actors::spec::system_prompt_today());
    }
    body
}

pub(super) fn upload_error(error: UploadError) -> ApiError {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if status.is_server_error() {
        tracing::error!(error = ?error, "upload failed");
    }
    ApiError::new(status, error.code(), error.to_string())
}
