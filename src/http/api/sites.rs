//! Deployed sites, served by this server under `/sites/<id>/`: an unguessable id per site,
//! `index.html` for folders, and a sandbox policy so a page can never act with the console's
//! origin (no cookies, no storage, no API calls as the user).

use std::path::Path;
use std::sync::Arc;

use okcvm_actors::workspace::dir::{Dir, Stat};
use warp::http::{header, StatusCode};
use warp::reply::Response;
use warp::Reply;

use super::files::{file_response, percent_decode};
use crate::http::context::App;
use crate::http::error::ApiError;
use okcvm_actors::tool::is_site_id;

/// The policy every deployed page is served with: scripts run, but in an opaque origin.
const SITE_CSP: &str =
    "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads";

/// `GET /sites/<id>`: to the folder form, so relative links in the page work.
fn redirect_to_folder(id: &str) -> Response {
    warp::reply::with_header(
        warp::reply::with_status(warp::reply(), StatusCode::MOVED_PERMANENTLY),
        header::LOCATION,
        format!("/sites/{id}/"),
    )
    .into_response()
}

/// `GET /sites/<id>/<path>`
pub async fn serve(
    id: String,
    tail: warp::path::Tail,
    full: warp::path::FullPath,
    app: Arc<App>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("site_not_found", "no such site or page");
    if !is_site_id(&id) {
        return Err(not_found());
    }
    if tail.as_str().is_empty() && !full.as_str().ends_with('/') {
        return Ok(redirect_to_folder(&id));
    }
    let root = app.sites_dir.join(&id);
    let relative = match percent_decode(tail.as_str())? {
        tail if tail.is_empty() => ".".to_string(),
        tail => tail,
    };
    let found = tokio::task::spawn_blocking(move || -> Option<(std::fs::File, String, u64)> {
        let site = Dir::open(&root).ok()?;
        let mut name = relative;
        let mut file = site.open_file(Path::new(&name)).ok()?;
        let mut stat = Stat::of(&file).ok()?;
        if stat.is_dir() {
            name = format!("{name}/index.html");
            file = site.open_file(Path::new(&name)).ok()?;
            stat = Stat::of(&file).ok()?;
        }
        stat.is_file().then_some((file, name, stat.len))
    })
    .await
    .map_err(|e| ApiError::internal("reading a site failed", e))?
    .ok_or_else(not_found)?;
    let (file, name, len) = found;
    let mut response = file_response(file, &name, len, false);
    response.headers_mut().insert(
        "content-security-policy",
        header::HeaderValue::from_static(SITE_CSP),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_long_lower_hex_ids_are_site_ids() {
        assert!(is_site_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_site_id("0123456789ABCDEF0123456789ABCDEF"));
        assert!(!is_site_id("../etc"));
        assert!(!is_site_id("abc"));
    }
}
