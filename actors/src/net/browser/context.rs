//! A session's share of the browser: its own browser context (cookies and storage of its
//! own), the pages open in it, and the pages it fetched when there is no Chromium. The
//! context is made on first use, closed when unused for `browser.idle_close_s`, and closed
//! when the session lets go of it; a context of a browser that went away is replaced.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{MappedMutexGuard, MutexGuard};
use tokio_util::sync::CancellationToken;

use super::cdp::Cdp;
use super::fetched::{self, FetchedPage, FetchedPages};
use super::{Browsers, COMMAND_TIMEOUT, IDLE_SWEEP};
use crate::net::NetGuard;
use crate::sync::lock;

/// One open page of a session.
#[derive(Clone)]
pub(crate) struct Page {
    /// The URL the model opened it with (how later calls name it).
    pub key: String,
    pub target: String,
    pub session: String,
    /// Requests the guard refused, to tell the model.
    pub refused: Arc<Mutex<Vec<String>>>,
    /// Stops the page's request checker.
    pub stop: CancellationToken,
}

/// A session's browser context and its pages.
pub(crate) struct Context {
    pub id: String,
    pub pages: Vec<Page>,
    pub current: Option<usize>,
    pub used: Instant,
    /// The browser this context lives in (a restarted browser has none of the old pages).
    pub cdp: Arc<Cdp>,
}

impl Drop for Context {
    /// Closes the context and its pages in the browser (without waiting: nothing is left to
    /// answer to).
    fn drop(&mut self) {
        for page in &self.pages {
            page.stop.cancel();
        }
        self.cdp.send(
            "Target.disposeBrowserContext",
            json!({"browserContextId": self.id}),
        );
    }
}

/// What one session has of the browser. Dropping it closes the session's context.
#[derive(Default)]
pub struct BrowserSession {
    /// Shared only with the task that closes the context when it is idle, which holds it
    /// weakly.
    context: Arc<tokio::sync::Mutex<Option<Context>>>,
    /// Pages read without a browser, when Chromium is not installed.
    fetched: Mutex<FetchedPages>,
}

impl BrowserSession {
    /// Fetches and reads a page without a browser, making it the session's current one.
    pub(crate) async fn visit_fetched(
        &self,
        guard: &NetGuard,
        key: &str,
    ) -> Result<FetchedPage, String> {
        let page = fetched::fetch(guard, key).await?;
        lock(&self.fetched).show(page.clone());
        Ok(page)
    }

    /// The fetched page named by `key`, else the current one.
    pub(crate) fn fetched_page(&self, key: Option<&str>) -> Option<FetchedPage> {
        lock(&self.fetched).page(key)
    }

    /// Moves the view of a fetched page by `px` (down when positive); the page after.
    pub(crate) fn scroll_fetched(&self, key: Option<&str>, px: i64) -> Option<FetchedPage> {
        lock(&self.fetched).scroll(key, px)
    }
}

impl Browsers {
    /// The session's context, made on first use (and again after the browser restarted or the
    /// context was closed as idle); marked as used now.
    pub(crate) async fn context<'a>(
        &self,
        session: &'a BrowserSession,
    ) -> Result<MappedMutexGuard<'a, Context>, String> {
        let cdp = self.browser().await?;
        let mut slot = session.context.lock().await;
        if slot.as_ref().is_some_and(|c| !Arc::ptr_eq(&c.cdp, &cdp)) {
            // Its browser went away, and the context with it.
            *slot = None;
        }
        if slot.is_none() {
            let made = cdp
                .call(
                    "Target.createBrowserContext",
                    json!({"disposeOnDetach": false}),
                    None,
                    COMMAND_TIMEOUT,
                )
                .await?;
            let id = made["browserContextId"]
                .as_str()
                .ok_or("the browser made no context")?
                .to_owned();
            *slot = Some(Context {
                id,
                pages: Vec::new(),
                current: None,
                used: Instant::now(),
                cdp: cdp.clone(),
            });
            self.close_when_idle(Arc::downgrade(&session.context), &cdp);
        }
        let mut context = MutexGuard::try_map(slot, Option::as_mut)
            .map_err(|_| "the browser made no context".to_owned())?;
        context.used = Instant::now();
        Ok(context)
    }

    /// Closes the context in `slot` once nobody used it for `browser.idle_close_s`; stops
    /// when the session or the browser is gone, or the context was closed.
    fn close_when_idle(&self, slot: Weak<tokio::sync::Mutex<Option<Context>>>, cdp: &Cdp) {
        let limit = Duration::from_secs_f64(self.settings.idle_close_s);
        let every = IDLE_SWEEP.min(Duration::from_secs_f64(self.settings.idle_close_s / 2.0));
        let closed = cdp.closed.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = closed.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                let Some(slot) = slot.upgrade() else {
                    return;
                };
                // A context a call holds is in use.
                let Ok(mut context) = slot.try_lock() else {
                    continue;
                };
                match context.as_ref() {
                    None => return,
                    Some(open) if open.used.elapsed() >= limit => {
                        *context = None;
                        return;
                    }
                    Some(_) => {}
                }
            }
        });
    }

    /// Opens a new page in the context, with the guard checking its every request.
    pub(crate) async fn open_page(
        &self,
        context: &mut Context,
        key: &str,
    ) -> Result<usize, String> {
        let cdp = context.cdp.clone();
        let target = cdp
            .call(
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context.id}),
                None,
                COMMAND_TIMEOUT,
            )
            .await?;
        let target = target["targetId"]
            .as_str()
            .ok_or("the browser opened no page")?
            .to_owned();
        let attached = cdp
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
                None,
                COMMAND_TIMEOUT,
            )
            .await?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("the browser gave no page session")?
            .to_owned();
        let page = Page {
            key: key.to_owned(),
            target,
            session: session.clone(),
            refused: Arc::default(),
            stop: CancellationToken::new(),
        };
        self.watch_requests(&cdp, &page);
        for (method, params) in [
            ("Page.enable", json!({})),
            (
                "Fetch.enable",
                json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
            ),
        ] {
            cdp.call(method, params, Some(&session), COMMAND_TIMEOUT)
                .await?;
        }
        context.pages.push(page);
        Ok(context.pages.len() - 1)
    }

    /// Checks each request the page makes; refused ones fail as blocked.
    fn watch_requests(&self, cdp: &Arc<Cdp>, page: &Page) {
        let mut events = cdp.subscribe();
        let (cdp, guard) = (cdp.clone(), self.guard.clone());
        let (session, stop, refused) = (
            page.session.clone(),
            page.stop.clone(),
            page.refused.clone(),
        );
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    event = events.recv() => event,
                    () = stop.cancelled() => return,
                    () = cdp.closed.cancelled() => return,
                };
                let event = match event {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return,
                };
                if event.method != "Fetch.requestPaused"
                    || event.session.as_deref() != Some(session.as_str())
                {
                    continue;
                }
                let id = event.params["requestId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let url = event.params["request"]["url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let (cdp, guard, session, refused) =
                    (cdp.clone(), guard.clone(), session.clone(), refused.clone());
                tokio::spawn(async move {
                    let (method, params) = match guard.check_target(&url).await {
                        Ok(()) => ("Fetch.continueRequest", json!({"requestId": id})),
                        Err(e) => {
                            lock(&refused).push(format!("{url}: {e}"));
                            (
                                "Fetch.failRequest",
                                json!({"requestId": id, "errorReason": "BlockedByClient"}),
                            )
                        }
                    };
                    let _ = cdp
                        .call(method, params, Some(&session), COMMAND_TIMEOUT)
                        .await;
                });
            }
        });
    }
}
