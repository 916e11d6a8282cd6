//! The session workspace over HTTP: listing folders and downloading files, always inside the
//! workspace and always shown in the agent's view (`/mnt/okcomputer/...`).

use std::collections::HashMap;
use std::path::Path;

use okcvm_actors::workspace::dir::Kind;
use okcvm_actors::workspace::{PathError, Workspace, MOUNT};
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
        let agent_path = agent_path(&relative);
        let (dir, shown) = workspace
            .open_existing_dir(&agent_path)
            .map_err(|e| match e {
                PathError::NotADirectory { .. } => {
                    ApiError::bad_request("not_a_folder", format!("{agent_path} is not a folder"))
                }
                other => refusal(&agent_path, other),
            })?;
        let mut entries = Vec::new();
        let listed = dir
            .entries()
            .map_err(|e| ApiError::internal("listing the workspace failed", e))?;
        for entry in listed.into_iter().take(MAX_ENTRIES) {
            let kind = match entry.stat.kind {
                Kind::Dir => "dir",
                Kind::File => "file",
                _ => "other",
            };
            let name = entry.name.to_string_lossy();
            let path = if shown == MOUNT {
                format!("{MOUNT}/{name}")
            } else {
                format!("{shown}/{name}")
            };
            let modified_ms = u64::try_from(entry.stat.modified_ns / 1_000_000).ok();
            entries.push(json!({
                "name": name,
                "relative_path": path.strip_prefix(&format!("{MOUNT}/")).unwrap_or(""),
                "path": path,
                "type": kind,
                "size_bytes": entry.stat.len,
                "modified_ms": modified_ms,
            }));
        }
        entries.sort_by(|a, b| {
            (a["type"] != "dir", a["name"].as_str()).cmp(&(b["type"] != "dir", b["name"].as_str()))
        });
        Ok::<_, ApiError>(json!({"path": shown, "entries": entries}))
    })
    .await
    .map_err(|e| ApiError::internal("listing the workspace failed", e))??;
    Ok(warp::reply::json(&body).into_response())
}

/// `GET /api/session/workspace/files/{path}`: one file's bytes. The file is opened beneath
/// the workspace without following a link, and what is sent is what was opened.
pub async fn download(tail: warp::path::Tail, ctx: SessionCtx) -> Result<Response, ApiError> {
    let relative = percent_decode(tail.as_str())?;
    let workspace = open(&ctx).await?;
    let opened = tokio::task::spawn_blocking(move || {
        let agent_path = agent_path(&relative);
        workspace
            .open_existing(&agent_path)
            .map_err(|e| refusal(&agent_path, e))
    })
    .await
    .map_err(|e| ApiError::internal("reading the workspace failed", e))??;
    Ok(file_response(
        opened.file,
        &opened.shown,
        opened.stat.len,
        true,
    ))
}

/// An open file as a response: its content type (from `name`), and headers that keep HTML or
/// SVG from running with this server's origin.
pub fn file_response(
    file: std::fs::File,
    name: &str,
    len: u64,
    attachment_for_active: bool,
) -> Response {
    // At most the length announced, even if the file grew since it was opened.
    let file = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), len);
    let stream = tokio_util::io::ReaderStream::new(file);
    let content_type = mime::for_path(Path::new(name));
    let mut response = warp::reply::stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
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
    response
}

async fn open(ctx: &SessionCtx) -> Result<Workspace, ApiError> {
    let dir = ctx.app.runtime.workspace_dir(&ctx.key);
    tokio::task::spawn_blocking(move || {
        okcvm_actors::private::create_dir_all(&dir)?;
        Workspace::existing(&dir)
    })
    .await
    .map_err(|e| ApiError::internal("opening the workspace failed", e))?
    .map_err(|e| ApiError::internal("opening the workspace failed", e))
}

/// A path relative to the workspace, or already in the agent's view, in the agent's view.
fn agent_path(relative: &str) -> String {
    if relative.starts_with(MOUNT) {
        relative.to_string()
    } else {
        format!("{MOUNT}/{}", relative.trim_start_matches('/'))
    }
}

/// Why a path could not be served, as the API's error.
fn refusal(agent_path: &str, error: PathError) -> ApiError {
    match error {
        PathError::NotFound { .. } | PathError::IsDirectory { .. } => {
            ApiError::not_found("file_not_found", format!("{agent_path} does not exist"))
        }
        PathError::Io { .. } => ApiError::internal("reading the workspace failed", error),
        other => ApiError::bad_request("path_outside_workspace", other.to_string()),
    }
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
