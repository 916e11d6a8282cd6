//! What every handler starts from: the shared [`App`], the caller's tenant, and the session a
//! request is about, resolved exactly as the API contract says.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use okcvm_actors::config::Settings;
use okcvm_actors::{Runtime, SessionKey};
use tokio_util::sync::CancellationToken;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

use super::error::ApiError;

pub use okcvm_actors::LOCAL_TENANT;

/// The session a request is about when it names none.
pub const DEFAULT_SESSION: &str = "default";

/// Decides which tenant a bearer token belongs to.
pub trait Authenticator: Send + Sync + 'static {
    /// The tenant, or `None` for a token that is unknown or revoked.
    fn tenant_for(&self, token: &str) -> Option<String>;
}

/// Everything the handlers share.
pub struct App {
    pub runtime: Runtime,
    /// The settings the server started with (endpoints may since have changed, see
    /// `endpoints`).
    pub settings: Settings,
    /// The model and media endpoints in force, changed through `/api/config`.
    pub endpoints: super::EndpointsCell,
    /// `None` when `auth.mode` is `none`: everyone is [`LOCAL_TENANT`].
    pub auth: Option<Arc<dyn Authenticator>>,
    pub started: Instant,
    /// Cancelled when the server shuts down: open event streams end.
    pub shutdown: CancellationToken,
    /// Where uploads are written before a batch is complete (outside every workspace).
    pub staging_dir: PathBuf,
    /// Where deployed sites live, one folder per site id.
    pub sites_dir: PathBuf,
    /// Serialises `/api/config` changes (read, merge, store, apply).
    pub config_lock: tokio::sync::Mutex<()>,
}

/// A request about one session of one tenant.
#[derive(Clone)]
pub struct SessionCtx {
    pub app: Arc<App>,
    pub key: SessionKey,
}

/// A request about a tenant's data as a whole.
#[derive(Clone)]
pub struct TenantCtx {
    pub app: Arc<App>,
    pub tenant: String,
}

/// The shared app, for routes that need no caller identity (health, deployed sites).
pub fn with_app(
    app: Arc<App>,
) -> impl Filter<Extract = (Arc<App>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || app.clone())
}

/// The cookie the console's sign-in sets (HttpOnly, SameSite=Strict): the token, so that
/// images and downloads the page loads are authorised like its API calls.
pub const TOKEN_COOKIE: &str = "okc_token";

/// The caller's tenant: from the bearer token (or the console's sign-in cookie) when
/// authentication is on.
pub fn tenant(app: Arc<App>) -> impl Filter<Extract = (TenantCtx,), Error = Rejection> + Clone {
    with_app(app)
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::cookie::optional::<String>(TOKEN_COOKIE))
        .and_then(
            |app: Arc<App>, authorization: Option<String>, cookie: Option<String>| async move {
                let tenant = authenticate(&app, authorization.as_deref(), cookie.as_deref())?;
                Ok::<_, Rejection>(TenantCtx { app, tenant })
            },
        )
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
}

fn authenticate(
    app: &App,
    authorization: Option<&str>,
    cookie: Option<&str>,
) -> Result<String, ApiError> {
    let Some(auth) = &app.auth else {
        return Ok(LOCAL_TENANT.to_string());
    };
    let token = match authorization {
        Some(header) => header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must be Bearer <token>"))?,
        None => cookie
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unauthorized("this server needs an API token: send Authorization: Bearer <token>")
            })?,
    };
    auth.tenant_for(token)
        .ok_or_else(|| unauthorized("the API token is not valid (unknown or revoked)"))
}

/// The tenant a token names, for the console's sign-in (`None` when authentication is off).
pub fn tenant_for_token(app: &App, token: &str) -> Result<Option<String>, ApiError> {
    let Some(auth) = &app.auth else {
        return Ok(None);
    };
    auth.tenant_for(token.trim())
        .map(Some)
        .ok_or_else(|| unauthorized("the API token is not valid (unknown or revoked)"))
}

/// The tenant and the session: `client_id` query parameter, else the `x-okc-client-id`
/// header, else the `okc_client_id` cookie, else `default`; trimmed and validated.
pub fn session(app: Arc<App>) -> impl Filter<Extract = (SessionCtx,), Error = Rejection> + Clone {
    tenant(app)
        .and(warp::query::<HashMap<String, String>>())
        .and(warp::header::optional::<String>("x-okc-client-id"))
        .and(warp::cookie::optional::<String>("okc_client_id"))
        .and_then(
            |tenant: TenantCtx,
             query: HashMap<String, String>,
             header: Option<String>,
             cookie: Option<String>| async move {
                let id = resolve_session_id(query.get("client_id").cloned(), header, cookie)?;
                Ok::<_, Rejection>(SessionCtx {
                    key: SessionKey::new(tenant.tenant, id),
                    app: tenant.app,
                })
            },
        )
}

/// The session id rule of the contract.
pub fn resolve_session_id(
    query: Option<String>,
    header: Option<String>,
    cookie: Option<String>,
) -> Result<String, ApiError> {
    let raw = query.or(header).or(cookie);
    let id = raw.as_deref().map(str::trim).unwrap_or(DEFAULT_SESSION);
    if okcvm_actors::is_valid_id(id) {
        Ok(id.to_string())
    } else {
        Err(ApiError::bad_request(
            "invalid_client_id",
            "client_id must be 1 to 128 characters of letters, digits, '.', '_' or '-'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_id_comes_from_query_then_header_then_cookie_then_default() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(resolve_session_id(s("q"), s("h"), s("c")).unwrap(), "q");
        assert_eq!(resolve_session_id(None, s("h"), s("c")).unwrap(), "h");
        assert_eq!(resolve_session_id(None, None, s("c")).unwrap(), "c");
        assert_eq!(resolve_session_id(None, None, None).unwrap(), "default");
        assert_eq!(
            resolve_session_id(s("  padded "), None, None).unwrap(),
            "padded"
        );
    }

    #[test]
    fn a_bad_session_id_is_refused_with_a_stable_code() {
        for bad in ["", "   ", "../x", "a/b", "sp ace", &"x".repeat(129)] {
            let error = resolve_session_id(Some(bad.into()), None, None).unwrap_err();
            assert_eq!(error.code, "invalid_client_id", "{bad:?}");
        }
    }
}
