//! `browser_state`: the current page's state again, without acting on it.

use super::{context, fetched_page, select, view};
use crate::tool::{NoArgs, ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct State;

impl TypedTool for State {
    const NAME: &'static str = "browser_state";
    type Args = NoArgs;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, _args: NoArgs) -> Result<ToolOutput, ToolError> {
        if !ctx.web.browsers.available().await {
            return Ok(view::fetched(ctx, &fetched_page(ctx, None)?, ""));
        }
        let context = context(ctx).await?;
        let index = select(&context, ctx, None, None)?;
        view::state(ctx, &context, index, "").await
    }
}
