//! The browser engine: one headless Chromium shared by the server, started on first use (and
//! again after a crash) in a jail of its own (`launch`), driven over the DevTools protocol
//! through its pipe (`cdp`). Each session has its own browser context, with its own cookies
//! and storage, in a [`BrowserSession`] the session owns (`context`); its pages are keyed by
//! the URL the model gave, and every request a page makes is paused until the network guard
//! has checked it. `render` lays a page out for the slides. Without Chromium, pages are
//! fetched and read instead (`fetched`).

mod cdp;
mod context;
mod fetched;
mod launch;
mod render;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::BrowserSettings;
use crate::net::NetGuard;
use crate::workspace::{Isolation, Jail};

pub(crate) use cdp::{Cdp, Event};
pub use context::BrowserSession;
pub(crate) use context::Context;
pub(crate) use fetched::FetchedPage;
pub use launch::find_chromium;

/// The helpers run inside pages.
const PAGE_JS: &str = include_str!("browser/page.js");
/// Longest wait for a DevTools command that is not a page load.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for Chromium to start.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an idle context is looked for (more often when contexts close sooner).
const IDLE_SWEEP: Duration = Duration::from_secs(30);

/// The shared browser.
pub struct Browsers {
    settings: BrowserSettings,
    /// The Chromium program, found once when the server starts.
    program: Option<PathBuf>,
    guard: NetGuard,
    /// What the browser runs in.
    jail: Arc<Jail>,
    chrome: tokio::sync::Mutex<Option<launch::Chrome>>,
}

impl Browsers {
    pub fn new(settings: BrowserSettings, guard: NetGuard, jail: Arc<Jail>) -> Self {
        let program = find_chromium(&settings);
        Self {
            program,
            settings,
            guard,
            jail,
            chrome: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether a real browser can run here (else pages are fetched and read). Where the jail
    /// cannot be built there is no browser; while it is being built, this waits for it.
    pub async fn available(&self) -> bool {
        self.program.is_some() && !matches!(self.jail.ready().await, Isolation::Unavailable(_))
    }

    pub(crate) fn settings(&self) -> &BrowserSettings {
        &self.settings
    }

    pub(crate) fn page_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.settings.page_timeout_s)
    }

    /// The browser's connection, starting Chromium (again, if it went away) when needed.
    async fn browser(&self) -> Result<Arc<Cdp>, String> {
        let mut chrome = self.chrome.lock().await;
        if let Some(running) = chrome.as_ref() {
            if !running.cdp.closed.is_cancelled() {
                return Ok(running.cdp.clone());
            }
            tracing::warn!("the browser went away; starting it again");
        }
        let started = self.launch().await?;
        let cdp = started.cdp.clone();
        *chrome = Some(started);
        Ok(cdp)
    }
}

/// Runs `expression` in the page (with the helpers loaded) and returns its value.
pub(crate) async fn evaluate(cdp: &Cdp, session: &str, expression: &str) -> Result<Value, String> {
    let answer = cdp
        .call(
            "Runtime.evaluate",
            json!({
                "expression": format!("{PAGE_JS}\n{expression}"),
                "returnByValue": true,
                "awaitPromise": true,
            }),
            Some(session),
            COMMAND_TIMEOUT,
        )
        .await?;
    if let Some(exception) = answer.get("exceptionDetails") {
        let text = exception
            .pointer("/exception/description")
            .and_then(Value::as_str)
            .or_else(|| exception.get("text").and_then(Value::as_str))
            .unwrap_or("the page's script failed");
        return Err(text.to_owned());
    }
    Ok(answer
        .pointer("/result/value")
        .cloned()
        .unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests;
