//! The browser tools, one file each: visit, state, click, input, find and the two scrolls,
//! over the browser engine (`net::browser`: one Chromium shared by the server, one context
//! per session kept in the session's resources). Each answers with the page's state (`view`):
//! title, address, the interactive elements in view (numbered from 0; click and input take
//! those numbers), and the readable text; a screenshot of the view is saved in the workspace
//! for the console. Without Chromium, visit, state, find and the scrolls work on pages fetched
//! and read instead.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::MappedMutexGuard;

use super::{Tool, ToolContext, ToolError};
use crate::net::browser::{evaluate, Context, Event, FetchedPage};

mod click;
mod find;
mod input;
mod scroll;
mod state;
mod view;
mod visit;

/// How long a click may take to start a navigation before the page counts as settled.
const NAVIGATION_GRACE: Duration = Duration::from_millis(600);

/// The session's browser context, held for the length of a call.
type ContextGuard<'a> = MappedMutexGuard<'a, Context>;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(visit::Visit),
        Arc::new(state::State),
        Arc::new(click::Click),
        Arc::new(input::Input),
        Arc::new(find::Find),
        Arc::new(scroll::ScrollDown),
        Arc::new(scroll::ScrollUp),
    ]
}

/// Which page a call means: the URL it was opened with, or a search result's citation id.
#[derive(Deserialize)]
pub(super) struct Target {
    citation_id: Option<i64>,
    url: Option<String>,
}

fn failed(e: impl Into<String>) -> ToolError {
    ToolError::Failed(e.into())
}

/// The address the model means: a full URL, a bare domain, or a search result's citation id.
fn target_url(
    ctx: &ToolContext,
    citation_id: Option<i64>,
    url: Option<&str>,
) -> Result<String, ToolError> {
    let url = url.unwrap_or_default().trim();
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(url.to_owned());
    }
    if !url.is_empty() && !url.contains("://") && url.contains('.') && !url.contains(' ') {
        return Ok(format!("https://{url}"));
    }
    if let Some(cited) = citation_id
        .and_then(|id| usize::try_from(id).ok())
        .and_then(|id| ctx.resources.citation(id))
    {
        return Ok(cited);
    }
    Err(ToolError::InvalidArguments(format!(
        "{url:?} is not an address: give a full http(s) URL, or the citation id of a search result"
    )))
}

/// The session's browser context (Chromium starts if it is not running).
async fn context(ctx: &ToolContext) -> Result<ContextGuard<'_>, ToolError> {
    ctx.web
        .browsers
        .context(&ctx.resources.browser)
        .await
        .map_err(ToolError::Unavailable)
}

/// The page a call names (by the URL it was opened with), else the current one.
fn select(
    context: &Context,
    ctx: &ToolContext,
    citation_id: Option<i64>,
    url: Option<&str>,
) -> Result<usize, ToolError> {
    if let Ok(wanted) = target_url(ctx, citation_id, url) {
        if let Some(i) = context.pages.iter().position(|p| p.key == wanted) {
            return Ok(i);
        }
    }
    context.current.ok_or_else(|| {
        failed("no page is open in this session: open one with browser_visit first (after a browser restart, visit the page again)")
    })
}

/// Waits for the page's load event, up to `timeout`; false when it did not come.
async fn wait_for_load(
    events: &mut broadcast::Receiver<Event>,
    session: &str,
    timeout: Duration,
) -> bool {
    tokio::time::timeout(timeout, async {
        loop {
            match events.recv().await {
                Ok(e)
                    if e.method == "Page.loadEventFired"
                        && e.session.as_deref() == Some(session) =>
                {
                    return true
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// After an action: if it started a navigation, waits for the new page to load.
async fn settle(ctx: &ToolContext, events: &mut broadcast::Receiver<Event>, session: &str) {
    let started = tokio::time::timeout(NAVIGATION_GRACE, async {
        loop {
            match events.recv().await {
                Ok(e)
                    if e.session.as_deref() == Some(session)
                        && e.method == "Page.frameStartedLoading" =>
                {
                    return true
                }
                Ok(e)
                    if e.session.as_deref() == Some(session)
                        && e.method == "Page.loadEventFired" =>
                {
                    return false
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    if started {
        wait_for_load(events, session, ctx.web.browsers.page_timeout()).await;
    }
}

/// Runs a page helper (`center`, `focus`) on element `index` of the page a call names, making
/// it current; fails when the element is not on the page now.
async fn on_element<'a>(
    ctx: &'a ToolContext,
    tool: &str,
    helper: &str,
    index: i64,
    citation_id: Option<i64>,
    url: Option<&str>,
) -> Result<(ContextGuard<'a>, usize, Value), ToolError> {
    if !ctx.web.browsers.available().await {
        return Err(no_browser(tool));
    }
    let mut context = context(ctx).await?;
    let page_index = select(&context, ctx, citation_id, url)?;
    context.current = Some(page_index);
    let session = context.pages[page_index].session.clone();
    let answer = evaluate(
        &context.cdp,
        &session,
        &format!("window.__okcvm.{helper}({index})"),
    )
    .await
    .map_err(failed)?;
    if answer.is_null() || answer == Value::Bool(false) {
        return Err(failed(format!(
            "there is no element [{index}] on the page now: call browser_state to see the elements in view"
        )));
    }
    Ok((context, page_index, answer))
}

/// A browser tool that needs Chromium, where there is none.
fn no_browser(tool: &str) -> ToolError {
    ToolError::Unavailable(format!(
        "{tool} needs a browser, and Chromium is not installed here: install it (Debian: \
         apt-get install chromium) or set browser.path. Without it browser_visit, browser_state, \
         browser_find and the scrolls work on the fetched page."
    ))
}

/// The fetched page a call names, else the current one.
fn fetched_page(ctx: &ToolContext, key: Option<String>) -> Result<FetchedPage, ToolError> {
    ctx.resources
        .browser
        .fetched_page(key.as_deref())
        .ok_or_else(|| failed("no page is open in this session: open one with browser_visit first"))
}
