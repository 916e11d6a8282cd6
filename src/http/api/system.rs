//! Routes about the server itself: health, the OpenAPI document, the console entry point.

use serde_json::json;
use warp::http::{header, StatusCode};
use warp::reply::Response;
use warp::Reply;

use crate::http::context::TenantCtx;
use crate::http::error::ApiError;

/// The OpenAPI document describing every route.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The console page served at `/ui/`.
const CONSOLE_INDEX: &str = include_str!("../../../frontend/index.html");

/// `GET /api/health`
pub async fn health(ctx: TenantCtx) -> Result<Response, ApiError> {
    let app = ctx.app;
    let sessions_live = app.runtime.live_sessions().await?;
    Ok(warp::reply::json(&json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": app.started.elapsed().as_secs(),
        "sessions_live": sessions_live,
        "auth": if app.auth.is_some() { "tokens" } else { "none" },
        "sandbox": sandbox_name(app.sandbox),
        "chat_model": app.chat_model(),
        "warnings": app.isolation_warnings,
    }))
    .into_response())
}

/// How `sandbox` is shown in health and boot replies.
pub fn sandbox_name(mode: okcvm_actors::workspace::SandboxMode) -> &'static str {
    match mode {
        okcvm_actors::workspace::SandboxMode::Bubblewrap => "bubblewrap",
        okcvm_actors::workspace::SandboxMode::Host => "none",
    }
}

/// `GET /api/openapi.json`
pub fn openapi() -> Response {
    warp::reply::with_header(OPENAPI, header::CONTENT_TYPE, "application/json").into_response()
}

/// A temporary redirect (`GET /` and `GET /ui` to the console).
pub fn redirect(to: &'static str) -> Response {
    warp::reply::with_header(
        warp::reply::with_status(warp::reply(), StatusCode::TEMPORARY_REDIRECT),
        header::LOCATION,
        to,
    )
    .into_response()
}

/// `GET /ui/`: the console, with headers that keep it from being framed or sniffed.
pub fn console() -> Response {
    let mut response = warp::reply::with_header(
        CONSOLE_INDEX,
        header::CONTENT_TYPE,
        "text/html; charset=utf-8",
    )
    .into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}
