//! `browser_click`: a real mouse click on a numbered element, then waiting for a navigation
//! it started.

use serde::Deserialize;
use serde_json::json;

use super::{failed, on_element, settle, view};
use crate::net::browser::COMMAND_TIMEOUT;
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct Click;

#[derive(Deserialize)]
pub(super) struct Args {
    element_index: i64,
    citation_id: Option<i64>,
    url: Option<String>,
}

impl TypedTool for Click {
    const NAME: &'static str = "browser_click";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let (context, index, point) = on_element(
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
        settle(ctx, &mut events, &page.session).await;
        view::state(
            ctx,
            &context,
            index,
            &format!(
                "Clicked [{}] ({}).",
                args.element_index,
                point["tag"].as_str().unwrap_or("element")
            ),
        )
        .await
    }
}
