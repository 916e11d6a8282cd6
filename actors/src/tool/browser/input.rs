//! `browser_input`: types into a numbered element; a final newline presses Enter, then a
//! navigation it started is waited for.

use serde::Deserialize;
use serde_json::json;

use super::{failed, on_element, settle, view};
use crate::net::browser::COMMAND_TIMEOUT;
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct Input;

#[derive(Deserialize)]
pub(super) struct Args {
    content: String,
    element_index: i64,
    citation_id: Option<i64>,
    url: Option<String>,
}

impl TypedTool for Input {
    const NAME: &'static str = "browser_input";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let (context, index, _) = on_element(
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
            settle(ctx, &mut events, &page.session).await;
        }
        view::state(
            ctx,
            &context,
            index,
            &format!(
                "Typed into [{}]{}.",
                args.element_index,
                if submit { " and pressed Enter" } else { "" }
            ),
        )
        .await
    }
}
