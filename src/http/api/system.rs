//! Routes about the server itself: health, the OpenAPI document, the console and its icon.

use serde_json::json;
use warp::http::{header, StatusCode};
use warp::reply::Response;
use warp::Reply;

use okcvm_actors::storage::StoreStatus;

use crate::http::context::TenantCtx;
use crate::http::error::ApiError;

/// The OpenAPI document describing every route.
pub const OPENAPI: &str = include_str!("../openapi.json");

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// The console's security policy: its own scripts only (never inline ones, so even markup that
/// slipped past sanitising cannot run), deployed sites framed from this origin (they carry
/// their own sandbox policy), nothing framing the console.
const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; frame-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `GET /api/health`: 200 while everything works; 503 with `status: degraded` while the store
/// is down (it is reopened once the error, e.g. a full disk, clears).
pub async fn health(ctx: TenantCtx) -> Result<Response, ApiError> {
    let app = ctx.app;
    let sessions_live = app.runtime.live_sessions().await?;
    let (status, storage) = match app.runtime.store_status() {
        StoreStatus::Ok => (StatusCode::OK, json!({"status": "ok"})),
        StoreStatus::Failed {
            error,
            for_,
            attempts,
        } => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({
                "status": "failed",
                "error": error,
                "failed_for_s": for_.as_secs(),
                "reopen_attempts": attempts,
            }),
        ),
    };
    let isolation = app.runtime.jail().report();
    let body = warp::reply::json(&json!({
        "status": if status == StatusCode::OK { "ok" } else { "degraded" },
        "storage": storage,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": app.started.elapsed().as_secs(),
        "sessions_live": sessions_live,
        "auth": if app.auth.is_some() { "tokens" } else { "none" },
        "sandbox": isolation.sandbox,
        "isolation": &isolation,
        "chat_model": app.chat_model(),
        "warnings": &isolation.not_isolated,
    }));
    Ok(warp::reply::with_status(body, status).into_response())
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

/// `GET /ui/<path>`: a file of the console (`index.html` for the folder), with headers that
/// keep it from being framed or sniffed, and an ETag so a reload revalidates in one round trip.
pub fn console(path: &str, if_none_match: Option<&str>) -> Response {
    let path = if path.is_empty() { "index.html" } else { path };
    let Some((_, body)) = CONSOLE_ASSETS.iter().find(|(name, _)| *name == path) else {
        return ApiError::not_found(
            "console_file_not_found",
            format!("the console has no file {path}"),
        )
        .into_response();
    };
    let etag = console_etag(path, body);
    let mut response =
        if if_none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag)) {
            warp::reply::with_status(warp::reply(), StatusCode::NOT_MODIFIED).into_response()
        } else {
            Response::new(body.to_vec().into())
        };
    let headers = response.headers_mut();
    let content_type = crate::http::mime::for_path(std::path::Path::new(path));
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    if let Ok(value) = header::HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    for (name, value) in [
        ("content-security-policy", CONSOLE_CSP),
        ("cache-control", "no-cache"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

/// The console's icon, a file of the console linked from its page.
const ICON: &str = "favicon.svg";

/// `GET /favicon.ico`: the console's icon, for browsers that ask for it at this path whatever
/// the page links. It is an SVG (browsers go by the content type, not the name), served like
/// the console's other files.
pub fn favicon(if_none_match: Option<&str>) -> Response {
    console(ICON, if_none_match)
}

/// A strong validator for a console file: its content hash (computed once per file).
fn console_etag(path: &str, body: &[u8]) -> String {
    use sha2::Digest;
    static TAGS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
        std::sync::OnceLock::new();
    let tags = TAGS.get_or_init(Default::default);
    let mut tags = tags
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tags.entry(path.to_owned())
        .or_insert_with(|| {
            let digest = sha2::Sha256::digest(body);
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            format!("\"{hex}\"")
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_the_icon_that_favicon_ico_serves_like_every_console_file() {
        let (_, page) = CONSOLE_ASSETS
            .iter()
            .find(|(name, _)| *name == "index.html")
            .unwrap();
        let page = String::from_utf8_lossy(page);
        assert!(
            page.contains(&format!(
                r#"<link rel="icon" href="{ICON}" type="image/svg+xml">"#
            )),
            "the page links the icon"
        );

        let icon = favicon(None);
        assert_eq!(icon.status(), StatusCode::OK);
        let linked = console(ICON, None);
        for name in [
            "content-type",
            "cache-control",
            "etag",
            "content-security-policy",
            "x-content-type-options",
        ] {
            assert_eq!(
                icon.headers().get(name),
                linked.headers().get(name),
                "{name}"
            );
        }
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
        assert_eq!(icon.headers()["cache-control"], "no-cache");

        let etag = icon.headers()["etag"].to_str().unwrap();
        assert_eq!(favicon(Some(etag)).status(), StatusCode::NOT_MODIFIED);
    }
}
