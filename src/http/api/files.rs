//! The session workspace over HTTP: listing folders and downloading files, always inside the
//! workspace and always shown in the agent's view (`/mnt/okcomputer/...`).

use std::collections::HashMap;
use std::path::Path;

use okcvm_actors::workspace::{Workspace, MOUNT};
use serde_json::json;
use warp::http::{header, StatusCode};
use warp::reply::Response;
use warp::Reply;

use crate::http::context::SessionCtx;
use crate::http::error::ApiError;
use crate::http::mime;

/// Most entries listed for one folder.
const MAX_ENTRIES: usize = 1000;

/// `GET /api/session/workspace/files?path=output`: the entries of one folder.
pub async fn list(ctx: SessionCtx, query: HashMap<String, String>) -> Result<Response, ApiError> {
    let relative = query.get("path").cloned().unwrap_or_default();
    let workspace = open(&ctx).await?;
    let body = tokio::task::spawn_blocking(move || {
        let dir = resolve(&workspace, &relative)?;
        if !dir.is_dir() {
            return Err(ApiError::bad_request(
                "not_a_folder",
                format!("{} is not a folder", agent_view(&workspace, &dir)),
            ));
        }
        let mut entries = Vec::new();
        let read = std::fs::read_dir(&dir)
            .map_err(|e| ApiError::internal("listing the workspace failed", e))?;
        for entry in read.flatten().take(MAX_ENTRIES) {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            let kind = if meta.is_dir() {
                "dir"
            } else if meta.is_file() {
                "file"
            } else {
                "other"
            };
            let path = workspace.agent_path(&entry.path());
            entries.push(json!({
                "name": entry.file_name().to_string_lossy(),
                "path": path,
                "relative_path": path.strip_prefix(&format!("{MOUNT}/")).unwrap_or(""),
                "type": kind,
                "size_bytes": meta.len(),
                "modified_ms": meta.modified().ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_millis() as u64),
            }));
        }
        entries.sort_by(|a, b| {
            (a["type"] != "dir", a["name"].as_str()).cmp(&(b["type"] != "dir", b["name"].as_str()))
        });
        Ok(json!({"path": agent_view(&workspace, &dir), "entries": entries}))
    })
    .await
    .map_err(|e| ApiError::internal("listing the workspace failed", e))??;
    Ok(warp::reply::json(&body).into_response())
}

/// `GET /api/session/workspace/files/{path}`: one file's bytes.
pub async fn download(tail: warp::path::Tail, ctx: SessionCtx) -> Result<Response, ApiError> {
    let relative = percent_decode(tail.as_str())?;
    let workspace = open(&ctx).await?;
    let path = tokio::task::spawn_blocking(move || resolve(&workspace, &relative))
        .await
        .map_err(|e| ApiError::internal("reading the workspace failed", e))??;
    file_response(&path, true).await
}

/// A file as a response: its content type, and headers that keep HTML or SVG from running
/// with this server's origin.
pub async fn file_response(path: &Path, attachment_for_active: bool) -> Result<Response, ApiError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|_| ApiError::not_found("file_not_found", "no such file"))?;
    if !meta.is_file() {
        return Err(ApiError::not_found("file_not_found", "no such file"));
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ApiError::internal("opening a file failed", e))?;
    let stream = tokio_util::io::ReaderStream::new(file);
    let content_type = mime::for_path(path);
    let mut response = warp::reply::stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CONTENT_LENGTH,
        header::HeaderValue::from(meta.len()),
    );
    headers.insert(
        "x-content-type-options",
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "content-security-policy",
        header::HeaderValue::from_static("sandbox"),
    );
    if attachment_for_active && mime::is_active(content_type) {
        headers.insert(
            header::CONTENT_DISPOSITION,
            header::HeaderValue::from_static("attachment"),
        );
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

async fn open(ctx: &SessionCtx) -> Result<Workspace, ApiError> {
    let dir = ctx.app.runtime.workspace_dir(&ctx.key);
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        Workspace::existing(&dir)
    })
    .await
    .map_err(|e| ApiError::internal("opening the workspace failed", e))?
    .map_err(|e| ApiError::internal("opening the workspace failed", e))
}

/// A path relative to the workspace (or in the agent's view) to the host path, refusing
/// anything that leads outside.
fn resolve(workspace: &Workspace, relative: &str) -> Result<std::path::PathBuf, ApiError> {
    let agent_path = if relative.starts_with(MOUNT) {
        relative.to_string()
    } else {
        format!("{MOUNT}/{}", relative.trim_start_matches('/'))
    };
    workspace
        .resolve_existing(&agent_path)
        .map_err(|e| match e {
            okcvm_actors::workspace::PathError::NotFound { .. } => {
                ApiError::not_found("file_not_found", format!("{agent_path} does not exist"))
            }
            other => ApiError::bad_request("path_outside_workspace", other.to_string()),
        })
}

fn agent_view(workspace: &Workspace, host: &Path) -> String {
    workspace.agent_path(host)
}

/// Decodes `%XX` escapes of a URL path.
pub fn percent_decode(raw: &str) -> Result<String, ApiError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(ApiError::bad_request(
                    "invalid_path",
                    "the path has a bad % escape",
                ));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::bad_request("invalid_path", "the path is not UTF-8"))
}
