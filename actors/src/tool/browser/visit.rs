//! `browser_visit`: opens a page (by URL or citation id) in the session's context, or makes
//! it current if it is open, and waits for it to load.

use serde_json::json;

use super::{context, failed, target_url, view, wait_for_load, Target};
use crate::net::browser::COMMAND_TIMEOUT;
use crate::sync::lock;
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct Visit;

impl TypedTool for Visit {
    const NAME: &'static str = "browser_visit";
    type Args = Target;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Target) -> Result<ToolOutput, ToolError> {
        let url = target_url(ctx, args.citation_id, args.url.as_deref())?;
        ctx.web
            .guard
            .check_target(&url)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !ctx.web.browsers.available().await {
            let page = tokio::select! {
                page = ctx.resources.browser.visit_fetched(&ctx.web.guard, &url) => page.map_err(failed)?,
                () = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
            };
            return Ok(view::fetched(ctx, &page, ""));
        }
        let browsers = &ctx.web.browsers;
        let mut context = context(ctx).await?;
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
                return view::state(ctx, &context, index, &note).await;
            }
            Err(e) => return Err(failed(e)),
        };
        if let Some(error) = navigated["errorText"].as_str() {
            let refused = lock(&page.refused).join("; ");
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
        view::state(ctx, &context, index, &note).await
    }
}
