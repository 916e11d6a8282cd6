//! `browser_scroll_down` and `browser_scroll_up`: one tool in two directions, moving the
//! view of a page by some pixels.

use serde::Deserialize;

use super::{context, failed, select, target_url, view};
use crate::net::browser::evaluate;
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct ScrollDown;
pub(super) struct ScrollUp;

#[derive(Deserialize)]
pub(super) struct Args {
    scroll_amount: i64,
    citation_id: Option<i64>,
    url: Option<String>,
}

impl TypedTool for ScrollDown {
    const NAME: &'static str = "browser_scroll_down";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        scroll(ctx, args, true).await
    }
}

impl TypedTool for ScrollUp {
    const NAME: &'static str = "browser_scroll_up";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        scroll(ctx, args, false).await
    }
}

/// Scrolls the page a call names, `down` or up.
async fn scroll(ctx: &ToolContext, args: Args, down: bool) -> Result<ToolOutput, ToolError> {
    if args.scroll_amount <= 0 {
        return Err(ToolError::InvalidArguments(format!(
            "scroll_amount is in pixels and must be above 0, got {}",
            args.scroll_amount
        )));
    }
    let amount = if down {
        args.scroll_amount
    } else {
        -args.scroll_amount
    };
    if !ctx.web.browsers.available().await {
        let key = target_url(ctx, args.citation_id, args.url.as_deref()).ok();
        let page = ctx
            .resources
            .browser
            .scroll_fetched(key.as_deref(), amount)
            .ok_or_else(|| {
                failed("no page is open in this session: open one with browser_visit first")
            })?;
        return Ok(view::fetched(ctx, &page, ""));
    }
    let mut context = context(ctx).await?;
    let index = select(&context, ctx, args.citation_id, args.url.as_deref())?;
    context.current = Some(index);
    let page = context.pages[index].clone();
    evaluate(
        &context.cdp,
        &page.session,
        &format!("window.scrollBy(0, {amount}); true"),
    )
    .await
    .map_err(failed)?;
    view::state(
        ctx,
        &context,
        index,
        &format!(
            "Scrolled {} {} px.",
            if down { "down" } else { "up" },
            args.scroll_amount
        ),
    )
    .await
}
