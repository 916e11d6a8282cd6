//! `todo_write`: replaces the whole list, durably, before answering.

use serde::Deserialize;

use super::list_output;
use crate::storage::WriteBatch;
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};
use crate::types::Todo;

pub(super) struct TodoWrite;

#[derive(Deserialize)]
pub(super) struct Args {
    todos: Vec<Todo>,
}

impl TypedTool for TodoWrite {
    const NAME: &'static str = "todo_write";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, Args { todos }: Args) -> Result<ToolOutput, ToolError> {
        let mut batch = WriteBatch::new(ctx.session.clone());
        batch.todos = Some(todos.clone());
        ctx.storage
            .commit(batch)
            .await
            .map_err(|e| ToolError::Failed(format!("the to-do list could not be saved: {e}")))?;
        Ok(list_output(&todos, "The to-do list is now empty."))
    }
}
