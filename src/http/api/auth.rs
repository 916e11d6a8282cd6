//! The console's sign-in: a token exchanged for an HttpOnly, SameSite=Strict cookie (so the
//! images and downloads a page loads are authorised too, and no script can read the token),
//! who the caller is, and sign-out.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use warp::http::header;
use warp::reply::Response;
use warp::Reply;

use crate::http::context::{tenant_for_token, App, TenantCtx, LOCAL_TENANT, TOKEN_COOKIE};
use crate::http::error::{parse_json, ApiError};

/// How long the sign-in cookie lasts: 30 days.
const COOKIE_MAX_AGE_S: u64 = 30 * 24 * 3600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    token: String,
}

fn auth_mode(app: &App) -> &'static str {
    if app.auth.is_some() {
        "tokens"
    } else {
        "none"
    }
}

fn cookie(app: &App, value: &str, max_age: u64) -> String {
    let secure = app
        .settings
        .server
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    format!(
        "{TOKEN_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `POST /api/auth/login` `{token}`: checks the token and sets the sign-in cookie.
pub async fn login(app: Arc<App>, body: bytes::Bytes) -> Result<Response, ApiError> {
    let request: LoginRequest = parse_json(&body)?;
    let token = request.token.trim();
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(ApiError::bad_request(
            "invalid_token",
            "token must be the API token as `okcvm tokens create` printed it",
        ));
    }
    let Some(tenant) = tenant_for_token(&app, token)? else {
        return Ok(
            warp::reply::json(&json!({"tenant": LOCAL_TENANT, "auth": "none"})).into_response(),
        );
    };
    let reply = warp::reply::json(&json!({"tenant": tenant, "auth": "tokens"}));
    Ok(warp::reply::with_header(
        reply,
        header::SET_COOKIE,
        cookie(&app, token, COOKIE_MAX_AGE_S),
    )
    .into_response())
}

/// `POST /api/auth/logout`: removes the sign-in cookie.
pub async fn logout(app: Arc<App>) -> Result<Response, ApiError> {
    let reply = warp::reply::json(&json!({"signed_out": true}));
    Ok(warp::reply::with_header(reply, header::SET_COOKIE, cookie(&app, "", 0)).into_response())
}

/// `GET /api/auth/me`: the caller's tenant and whether tokens are required (401 without a
/// valid token when they are).
pub async fn me(ctx: TenantCtx) -> Result<Response, ApiError> {
    Ok(
        warp::reply::json(&json!({"tenant": ctx.tenant, "auth": auth_mode(&ctx.app)}))
            .into_response(),
    )
}
