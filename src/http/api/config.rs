//! `GET /api/config` and `POST /api/config`: the model and media endpoints, never a key.

use bytes::Bytes;
use warp::reply::Response;
use warp::Reply;

use crate::http::context::TenantCtx;
use crate::http::error::{parse_json, ApiError};
use crate::http::settings::{self, ConfigUpdate};

pub async fn get(ctx: TenantCtx) -> Result<Response, ApiError> {
    let view = ctx.app.endpoints_view();
    Ok(warp::reply::json(&view).into_response())
}

/// Applies the sections present, stores them (they win over the file at the next start) and
/// hands a changed chat endpoint to the model actor. A key is stored only when the request
/// gives one; a `base_url` moved to another origin without one loses the key in force, and the
/// answer lists those sections under `api_key_dropped`.
pub async fn post(ctx: TenantCtx, body: Bytes) -> Result<Response, ApiError> {
    let app = &ctx.app;
    // The endpoints serve every tenant: with tokens, only the operator's tenants change them.
    if app.auth.is_some() && !app.settings.auth.admin_tenants.contains(&ctx.tenant) {
        return Err(ApiError::new(
            warp::http::StatusCode::FORBIDDEN,
            "forbidden",
            "the model endpoints are shared by every tenant: only tenants listed in auth.admin_tenants can change them",
        ));
    }
    let update: ConfigUpdate = parse_json(&body)?;
    // One change at a time, so two POSTs cannot interleave their read-modify-write.
    let _guard = app.config_lock.lock().await;
    let current = app.endpoints_snapshot();
    let configured = settings::Endpoints::from_settings(&app.settings);
    let stored = settings::decode_stored(app.runtime.get_setting(settings::STORED_SETTING).await?);
    let resolved = update.resolve(&configured, &current, &stored)?;
    let changes = resolved.changes;
    let merged = settings::merge_stored(stored, &changes);
    app.runtime
        .put_setting(
            settings::STORED_SETTING,
            Some(settings::encode_stored(&merged)?),
        )
        .await?;
    let mut next = current;
    next.apply_changes(&configured, &changes);
    if changes.contains_key("chat") {
        app.runtime
            .configure_chat(next.get("chat").cloned())
            .await?;
    }
    if changes.keys().any(|section| section != "chat") {
        app.runtime.configure_media(next.media(&app.settings.media));
    }
    app.set_endpoints(next);
    let mut view = app.endpoints_view();
    if !resolved.keys_dropped.is_empty() {
        // Said in the answer: the key in force was not carried to the new origin.
        view["api_key_dropped"] = serde_json::json!(resolved.keys_dropped);
    }
    Ok(warp::reply::json(&view).into_response())
}
