//! Session routes: boot, info, one history entry, clearing the history.

use okcvm_actors::history::Role;
use okcvm_actors::session::SessionSnapshot;
use okcvm_actors::workspace::{view, MOUNT};
use serde_json::{json, Value};
use warp::reply::Response;
use warp::Reply;

use crate::http::context::SessionCtx;
use crate::http::error::ApiError;

/// `GET /api/session/boot`: the session's state to draw a console from; creates it if new,
/// never resets it.
pub async fn boot(ctx: SessionCtx) -> Result<Response, ApiError> {
    let handle = ctx.app.runtime.session(ctx.key.clone())?;
    let snapshot = handle.snapshot().await?;
    let reply = snapshot
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant && !m.content.is_empty())
        .map(|m| m.content.clone())
        .unwrap_or_default();
    // The newest site and deck the tools reported on this branch.
    let newest = |key: &str| {
        snapshot
            .messages
            .iter()
            .rev()
            .filter(|m| m.role == Role::Tool)
            .find_map(|m| m.data.as_ref()?.get(key).filter(|v| !v.is_null()).cloned())
    };
    let mut body = json!({
        "reply": reply,
        "meta": {"model": ctx.app.chat_model()},
        "web_preview": newest("web_preview"),
        "ppt_slides": newest("ppt_slides").unwrap_or_else(|| json!([])),
        "vm": vm(&ctx, &snapshot),
        "client_id": ctx.key.session,
    });
    extend(&mut body, workspace_fields(&ctx).await?);
    Ok(warp::reply::json(&body).into_response())
}

/// `GET /api/session/info`
pub async fn info(ctx: SessionCtx) -> Result<Response, ApiError> {
    let snapshot = ctx.app.runtime.session(ctx.key.clone())?.snapshot().await?;
    let tools: Vec<&str> = ctx
        .app
        .runtime
        .registry()
        .specs()
        .iter()
        .map(|s| s.short_name())
        .collect();
    Ok(warp::reply::json(&json!({
        "system_prompt": okcvm_actors::spec::system_prompt_today(),
        "tools": tools,
        "history_length": snapshot.messages.len(),
        "workspace_id": ctx.key.session,
        "workspace_mount": MOUNT,
        "workspace_output": format!("{MOUNT}/output"),
        "history_namespace": format!("{}/{}", ctx.key.tenant, ctx.key.session),
    }))
    .into_response())
}

/// `GET /api/session/history/{entry_id}`
pub async fn history_entry(entry_id: String, ctx: SessionCtx) -> Result<Response, ApiError> {
    let handle = ctx.app.runtime.session(ctx.key.clone())?;
    match handle.message(&entry_id).await? {
        Some(view) => Ok(warp::reply::json(&view).into_response()),
        None => Err(ApiError::not_found(
            "history_entry_not_found",
            format!("no history entry {entry_id} in this session"),
        )),
    }
}

/// `DELETE /api/session/history`: the history, events, to-do list, workspace files and
/// uploads of the session go; the session itself stays.
pub async fn clear_history(ctx: SessionCtx) -> Result<Response, ApiError> {
    let handle = ctx.app.runtime.session(ctx.key.clone())?;
    let report = handle.clear().await?;
    let snapshot = handle.snapshot().await?;
    let mut body = json!({
        "history_cleared": true,
        "cleared_messages": report.cleared_messages,
        "workspace": {"removed": true, "removed_files": report.removed_files},
        "vm": vm(&ctx, &snapshot),
    });
    extend(&mut body, workspace_fields(&ctx).await?);
    Ok(warp::reply::json(&body).into_response())
}

/// The `vm` object: where the workspace is in the agent's view and where the session stands.
fn vm(ctx: &SessionCtx, snapshot: &SessionSnapshot) -> Value {
    json!({
        "workspace_id": ctx.key.session,
        "mount": MOUNT,
        "output": format!("{MOUNT}/output"),
        "sandbox": ctx.app.runtime.jail().isolation().sandbox(),
        "history_length": snapshot.messages.len(),
        "total_messages": snapshot.total_messages,
        "running_turn": snapshot.running_turn,
        "last_event_id": snapshot.last_seq,
    })
}

/// `artifacts`, `workspace_state`, `uploads` and the upload limits.
pub async fn workspace_fields(
    ctx: &SessionCtx,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let root = ctx.app.runtime.workspace_dir(&ctx.key);
    let key = ctx.key.clone();
    let uploads = ctx.app.settings.uploads.clone();
    let store = ctx.app.snapshots();
    tokio::task::spawn_blocking(move || view::payload_fields(&root, &key, &uploads, &store))
        .await
        .map_err(|e| ApiError::internal("reading the workspace failed", e))
}

pub fn extend(body: &mut Value, fields: serde_json::Map<String, Value>) {
    if let Value::Object(map) = body {
        map.extend(fields);
    }
}

/// `GET /api/session/messages`: the active branch, each message with its siblings (the
/// console's `< 2/3 >`), the running turn and the newest event to follow from.
pub async fn messages(ctx: SessionCtx) -> Result<Response, ApiError> {
    let handle = ctx.app.runtime.session(ctx.key.clone())?;
    Ok(warp::reply::json(&handle.branch().await?).into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchRequest {
    message_id: String,
}

/// `POST /api/session/history/switch`: makes the newest branch under a message the active one
/// and brings back that branch's workspace files; answers as `GET /api/session/messages`.
pub async fn switch_branch(ctx: SessionCtx, body: bytes::Bytes) -> Result<Response, ApiError> {
    let request: SwitchRequest = crate::http::error::parse_json(&body)?;
    let handle = ctx.app.runtime.session(ctx.key.clone())?;
    handle.switch_branch(&request.message_id).await?;
    Ok(warp::reply::json(&handle.branch().await?).into_response())
}
