//! The seven browser tools over [`super::Browsers`]: visit, state, click, input, find and the
//! two scrolls. Each answers with the page's state: title, address, the interactive elements in
//! view (numbered from 0; click and input take those numbers), and the readable text; a
//! screenshot of the view is saved in the workspace for the console.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::OwnedMutexGuard;

use super::{evaluate, Browsers, Context, COMMAND_TIMEOUT};
use crate::tool::{parse_args, Tool, ToolContext, ToolError, ToolOutput, WorkspaceAccess};

/// How long a click may take to start a navigation before the page counts as settled.
const NAVIGATION_GRACE: Duration = Duration::from_millis(600);
/// Matches `browser_find` returns at once.
const FIND_LIMIT: usize = 10;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(Visit),
        Arc::new(State),
        Arc::new(Click),
        Arc::new(Input),
        Arc::new(Find),
        Arc::new(Scroll { down: true }),
        Arc::new(Scroll { down: false }),
    ]
}

struct Visit;
struct State;
struct Click;
struct Input;
struct Find;
struct Scroll {
    down: bool,
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
        .and_then(|id| ctx.web.citation(&ctx.session, id))
    {
        return Ok(cited);
    }
    Err(ToolError::InvalidArguments(format!(
        "{url:?} is not an address: give a full http(s) URL, or the citation id of a search result"
    )))
}

async fn context(
    ctx: &ToolContext,
) -> Result<(Arc<Browsers>, OwnedMutexGuard<Context>), ToolError> {
    let browsers = ctx.web.browsers.clone();
    let context = browsers
        .context(&ctx.session)
        .await
        .map_err(ToolError::Unavailable)?;
    let mut guard = context.lock_owned().await;
    guard.used = std::time::Instant::now();
    Ok((browsers, guard))
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
    events: &mut tokio::sync::broadcast::Receiver<super::cdp::Event>,
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
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// After an action: if it started a navigation, waits for the new page to load.
async fn settle(
    browsers: &Browsers,
    events: &mut tokio::sync::broadcast::Receiver<super::cdp::Event>,
    session: &str,
) {
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
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    if started {
        wait_for_load(events, session, browsers.page_timeout()).await;
    }
}

/// The page's state as the model reads it, with a screenshot saved for the console.
async fn state(
    ctx: &ToolContext,
    browsers: &Browsers,
    context: &Context,
    index: usize,
    note: &str,
) -> Result<ToolOutput, ToolError> {
    let page = &context.pages[index];
    let cdp = &context.cdp;
    let max = browsers.settings().max_text_chars;
    let state = evaluate(cdp, &page.session, &format!("window.__okcvm.state({max})"))
        .await
        .map_err(failed)?;
    let shot = cdp
        .call(
            "Page.captureScreenshot",
            json!({"format": "png"}),
            Some(&page.session),
            COMMAND_TIMEOUT,
        )
        .await
        .ok()
        .and_then(|s| s["data"].as_str().map(str::to_owned))
        .and_then(|data| base64::engine::general_purpose::STANDARD.decode(data).ok());
    let screenshot = match shot {
        Some(bytes) => {
            let path = format!("{}/browser/page-{}.png", crate::workspace::MOUNT, index + 1);
            let (ctx2, target) = (ctx.clone(), path.clone());
            crate::tool::files::blocking(move || {
                crate::tool::media::write_file(&ctx2, &target, &bytes)
            })
            .await
            .ok()
        }
        None => None,
    };
    let mut text = String::new();
    if !note.is_empty() {
        text.push_str(note);
        text.push_str("\n\n");
    }
    let string = |key: &str| state[key].as_str().unwrap_or_default().to_owned();
    text.push_str(&format!(
        "Page: {}\nURL: {}\n",
        string("title"),
        string("url")
    ));
    text.push_str(&format!(
        "Scrolled to {} of {} px (the view is {} px high)\n",
        state["scroll_y"], state["scroll_height"], state["viewport_height"]
    ));
    let elements = state["elements"].as_array().cloned().unwrap_or_default();
    text.push_str("\nInteractive elements in view (use their numbers with browser_click and browser_input):\n");
    if elements.is_empty() {
        text.push_str("(none)\n");
    }
    for element in &elements {
        let tag = element["tag"].as_str().unwrap_or_default();
        let mut line = format!("[{}] {tag}", element["index"]);
        if let Some(kind) = element["type"].as_str() {
            line.push_str(&format!("[{kind}]"));
        }
        if let Some(label) = element["text"].as_str().filter(|t| !t.is_empty()) {
            line.push_str(&format!(" \"{label}\""));
        }
        for key in ["name", "placeholder"] {
            if let Some(value) = element[key].as_str() {
                line.push_str(&format!(" {key}={value:?}"));
            }
        }
        if let Some(href) = element["href"].as_str() {
            line.push_str(&format!(" -> {href}"));
        }
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str("\nContent:\n");
    text.push_str(&string("text"));
    let refused: Vec<String> = page
        .refused
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    if !refused.is_empty() {
        text.push_str("\n\nBlocked by the network guard:\n");
        for r in refused.iter().take(10) {
            text.push_str(&format!("- {r}\n"));
        }
    }
    let mut data =
        json!({"url": state["url"], "title": state["title"], "elements": elements.len()});
    if let Some(path) = screenshot {
        data["file"] = json!(path);
        data["media"] = json!("image");
    }
    Ok(ToolOutput {
        text,
        images: Vec::new(),
        data: Some(data),
    })
}

/// A fetched page as the model reads it, from its current view.
fn fetched_state(ctx: &ToolContext, page: &super::fetched::FetchedPage, note: &str) -> ToolOutput {
    let max = ctx.web.browsers.settings().max_text_chars;
    let mut text = String::new();
    if !note.is_empty() {
        text.push_str(note);
        text.push_str("\n\n");
    }
    text.push_str(&format!("Page: {}\nURL: {}\n", page.title, page.url));
    text.push_str(
        "No browser runs here (Chromium is not installed), so the page was fetched and read \
         without running its scripts. Links are listed but cannot be clicked: visit their \
         address instead.\n",
    );
    if !page.links.is_empty() {
        text.push_str("\nLinks:\n");
        for (label, href) in page.links.iter().take(50) {
            text.push_str(&format!("- {label} -> {href}\n"));
        }
    }
    let mut shown = String::new();
    let mut last = page.top;
    for (i, line) in page.lines.iter().enumerate().skip(page.top) {
        if shown.len() + line.len() > max {
            break;
        }
        shown.push_str(line);
        shown.push('\n');
        last = i + 1;
    }
    text.push_str(&format!(
        "\nContent (lines {} to {} of {}):\n{shown}",
        (page.top + 1).min(page.lines.len()),
        last,
        page.lines.len()
    ));
    ToolOutput {
        text,
        images: Vec::new(),
        data: Some(json!({"url": page.url, "title": page.title, "browser": false})),
    }
}

fn no_browser(tool: &str) -> ToolError {
    ToolError::Unavailable(format!(
        "{tool} needs a browser, and Chromium is not installed here: install it (Debian: \
         apt-get install chromium) or set browser.path. Without it browser_visit, browser_state, \
         browser_find and the scrolls work on the fetched page."
    ))
}

fn fetched_page(
    ctx: &ToolContext,
    key: Option<String>,
) -> Result<super::fetched::FetchedPage, ToolError> {
    ctx.web
        .browsers
        .fetched
        .page(&ctx.session, key.as_deref())
        .ok_or_else(|| failed("no page is open in this session: open one with browser_visit first"))
}

#[derive(Deserialize)]
struct Target {
    citation_id: Option<i64>,
    url: Option<String>,
}

impl Tool for Visit {
    fn name(&self) -> &'static str {
        "browser_visit"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: Target = parse_args(args)?;
            let url = target_url(ctx, args.citation_id, args.url.as_deref())?;
            ctx.web
                .guard
                .check_target(&url)
                .await
                .map_err(|e| failed(e.to_string()))?;
            if !ctx.web.browsers.available() {
                let page = tokio::select! {
                    page = ctx.web.browsers.fetched.visit(&ctx.web.guard, &ctx.session, &url) => page.map_err(failed)?,
                    () = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
                };
                return Ok(fetched_state(ctx, &page, ""));
            }
            let (browsers, mut context) = context(ctx).await?;
            let index = match context.pages.iter().position(|p| p.key == url) {
                Some(i) => i,
                None => browsers
                    .open_page(&mut context, &url)
                    .await
                    .map_err(failed)?,
            };
            context.current = Some(index);
            let page = context.pages[index].clone();
            let cdp = context.cdp.clone();
            let mut events = cdp.subscribe();
            let timeout = browsers.page_timeout();
            // The browser answers a navigation once the page's response starts to arrive.
            let navigated = tokio::select! {
                answer = cdp.call("Page.navigate", json!({"url": url}), Some(&page.session), timeout) => answer,
                () = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
            };
            let navigated = match navigated {
                Ok(answer) => answer,
                Err(e) if e.starts_with("the browser did not answer") => {
                    let _ = cdp
                        .call(
                            "Page.stopLoading",
                            json!({}),
                            Some(&page.session),
                            COMMAND_TIMEOUT,
                        )
                        .await;
                    let note = format!(
                        "The page did not finish loading within {} s (browser.page_timeout_s): this is what had loaded.",
                        browsers.settings().page_timeout_s
                    );
                    return state(ctx, &browsers, &context, index, &note).await;
                }
                Err(e) => return Err(failed(e)),
            };
            if let Some(error) = navigated["errorText"].as_str() {
                let refused = page
                    .refused
                    .lock()
                    .map(|r| r.join("; "))
                    .unwrap_or_default();
                return Err(failed(if refused.is_empty() {
                    format!("{url} could not be loaded ({error})")
                } else {
                    format!("{url} was not loaded: {refused}")
                }));
            }
            let mut note = String::new();
            let loaded = tokio::select! {
                loaded = wait_for_load(&mut events, &page.session, browsers.page_timeout()) => loaded,
                () = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
            };
            if !loaded {
                let _ = cdp
                    .call(
                        "Page.stopLoading",
                        json!({}),
                        Some(&page.session),
                        COMMAND_TIMEOUT,
                    )
                    .await;
                note = format!(
                    "The page did not finish loading within {} s (browser.page_timeout_s): this is what had loaded.",
                    browsers.settings().page_timeout_s
                );
            }
            state(ctx, &browsers, &context, index, &note).await
        })
    }
}

impl Tool for State {
    fn name(&self) -> &'static str {
        "browser_state"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        _args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            if !ctx.web.browsers.available() {
                return Ok(fetched_state(ctx, &fetched_page(ctx, None)?, ""));
            }
            let (browsers, context) = context(ctx).await?;
            let index = select(&context, ctx, None, None)?;
            state(ctx, &browsers, &context, index, "").await
        })
    }
}

/// Runs a page helper (`center`, `focus`) on element `index` of the page a call names, making
/// it current; fails when the element is not on the page now.
async fn on_element(
    ctx: &ToolContext,
    tool: &str,
    helper: &str,
    index: i64,
    citation_id: Option<i64>,
    url: Option<&str>,
) -> Result<(Arc<Browsers>, OwnedMutexGuard<Context>, usize, Value), ToolError> {
    if !ctx.web.browsers.available() {
        return Err(no_browser(tool));
    }
    let (browsers, mut context) = context(ctx).await?;
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
    Ok((browsers, context, page_index, answer))
}

#[derive(Deserialize)]
struct ClickArgs {
    element_index: i64,
    citation_id: Option<i64>,
    url: Option<String>,
}

impl Tool for Click {
    fn name(&self) -> &'static str {
        "browser_click"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: ClickArgs = parse_args(args)?;
            let (browsers, context, index, point) = on_element(
                ctx,
                "browser_click",
                "center",
                args.element_index,
                args.citation_id,
                args.url.as_deref(),
            )
            .await?;
            let page = context.pages[index].clone();
            let cdp = context.cdp.clone();
            let (x, y) = (
                point["x"].as_f64().unwrap_or(0.0),
                point["y"].as_f64().unwrap_or(0.0),
            );
            let mut events = cdp.subscribe();
            for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
                cdp.call(
                    "Input.dispatchMouseEvent",
                    json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
                    Some(&page.session),
                    COMMAND_TIMEOUT,
                )
                .await
                .map_err(failed)?;
            }
            settle(&browsers, &mut events, &page.session).await;
            state(
                ctx,
                &browsers,
                &context,
                index,
                &format!(
                    "Clicked [{}] ({}).",
                    args.element_index,
                    point["tag"].as_str().unwrap_or("element")
                ),
            )
            .await
        })
    }
}

#[derive(Deserialize)]
struct InputArgs {
    content: String,
    element_index: i64,
    citation_id: Option<i64>,
    url: Option<String>,
}

impl Tool for Input {
    fn name(&self) -> &'static str {
        "browser_input"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: InputArgs = parse_args(args)?;
            let (browsers, context, index, _) = on_element(
                ctx,
                "browser_input",
                "focus",
                args.element_index,
                args.citation_id,
                args.url.as_deref(),
            )
            .await?;
            let page = context.pages[index].clone();
            let cdp = context.cdp.clone();
            let (text, submit) = match args.content.strip_suffix('\n') {
                Some(text) => (text, true),
                None => (args.content.as_str(), false),
            };
            cdp.call(
                "Input.insertText",
                json!({"text": text}),
                Some(&page.session),
                COMMAND_TIMEOUT,
            )
            .await
            .map_err(failed)?;
            let mut events = cdp.subscribe();
            if submit {
                for kind in ["keyDown", "keyUp"] {
                    cdp.call(
                        "Input.dispatchKeyEvent",
                        json!({"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"}),
                        Some(&page.session),
                        COMMAND_TIMEOUT,
                    )
                    .await
                    .map_err(failed)?;
                }
                settle(&browsers, &mut events, &page.session).await;
            }
            state(
                ctx,
                &browsers,
                &context,
                index,
                &format!(
                    "Typed into [{}]{}.",
                    args.element_index,
                    if submit { " and pressed Enter" } else { "" }
                ),
            )
            .await
        })
    }
}

#[derive(Deserialize)]
struct FindArgs {
    keyword: String,
    citation_id: Option<i64>,
    #[serde(default)]
    skip: Option<i64>,
    url: Option<String>,
}

impl Tool for Find {
    fn name(&self) -> &'static str {
        "browser_find"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: FindArgs = parse_args(args)?;
            if args.keyword.trim().is_empty() {
                return Err(ToolError::InvalidArguments(
                    "keyword must not be empty".into(),
                ));
            }
            let skip = args.skip.unwrap_or(0).max(0);
            if !ctx.web.browsers.available() {
                let key = target_url(ctx, args.citation_id, args.url.as_deref()).ok();
                let page = fetched_page(ctx, key)?;
                let needle = args.keyword.to_lowercase();
                let hits: Vec<&String> = page
                    .lines
                    .iter()
                    .filter(|l| l.to_lowercase().contains(&needle))
                    .collect();
                let mut text = format!(
                    "{} lines with {:?} on {}\n",
                    hits.len(),
                    args.keyword,
                    page.url
                );
                for (i, line) in hits.iter().enumerate().skip(skip as usize).take(FIND_LIMIT) {
                    text.push_str(&format!("{}. {line}\n", i + 1));
                }
                return Ok(ToolOutput::text(text));
            }
            let (_browsers, context) = context(ctx).await?;
            let index = select(&context, ctx, args.citation_id, args.url.as_deref())?;
            let page = &context.pages[index];
            let keyword = serde_json::to_string(&args.keyword).unwrap_or_default();
            let found = evaluate(
                &context.cdp,
                &page.session,
                &format!("window.__okcvm.find({keyword}, {skip}, {FIND_LIMIT})"),
            )
            .await
            .map_err(failed)?;
            let total = found["total"].as_u64().unwrap_or(0);
            let matches = found["matches"].as_array().cloned().unwrap_or_default();
            let mut text = format!("{total} matches of {:?} on {}", args.keyword, page.key);
            if total > 0 {
                text.push_str(&format!(
                    " (showing {} from match {})",
                    matches.len(),
                    skip + 1
                ));
            }
            text.push('\n');
            for (i, m) in matches.iter().enumerate() {
                text.push_str(&format!(
                    "{}. …{}…\n",
                    skip as usize + i + 1,
                    m.as_str().unwrap_or_default()
                ));
            }
            if (skip as u64) + (matches.len() as u64) < total {
                text.push_str(&format!(
                    "Use skip={} for the next matches.",
                    skip as usize + matches.len()
                ));
            }
            Ok(ToolOutput {
                text,
                images: Vec::new(),
                data: Some(json!({"total": total, "matches": matches})),
            })
        })
    }
}

#[derive(Deserialize)]
struct ScrollArgs {
    scroll_amount: i64,
    citation_id: Option<i64>,
    url: Option<String>,
}

impl Tool for Scroll {
    fn name(&self) -> &'static str {
        if self.down {
            "browser_scroll_down"
        } else {
            "browser_scroll_up"
        }
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: ScrollArgs = parse_args(args)?;
            if args.scroll_amount <= 0 {
                return Err(ToolError::InvalidArguments(format!(
                    "scroll_amount is in pixels and must be above 0, got {}",
                    args.scroll_amount
                )));
            }
            let down = if self.down {
                args.scroll_amount
            } else {
                -args.scroll_amount
            };
            if !ctx.web.browsers.available() {
                let key = target_url(ctx, args.citation_id, args.url.as_deref()).ok();
                let page = ctx
                    .web
                    .browsers
                    .fetched
                    .scroll(&ctx.session, key.as_deref(), down)
                    .ok_or_else(|| {
                        failed("no page is open in this session: open one with browser_visit first")
                    })?;
                return Ok(fetched_state(ctx, &page, ""));
            }
            let (browsers, mut context) = context(ctx).await?;
            let index = select(&context, ctx, args.citation_id, args.url.as_deref())?;
            context.current = Some(index);
            let page = context.pages[index].clone();
            let amount = if self.down {
                args.scroll_amount
            } else {
                -args.scroll_amount
            };
            evaluate(
                &context.cdp,
                &page.session,
                &format!("window.scrollBy(0, {amount}); true"),
            )
            .await
            .map_err(failed)?;
            state(
                ctx,
                &browsers,
                &context,
                index,
                &format!(
                    "Scrolled {} {} px.",
                    if self.down { "down" } else { "up" },
                    args.scroll_amount
                ),
            )
            .await
        })
    }
}
