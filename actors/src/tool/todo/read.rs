//! `todo_read`: the list as stored.

use super::list_output;
use crate::storage::StorageError;
use crate::tool::{NoArgs, ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct TodoRead;

impl TypedTool for TodoRead {
    const NAME: &'static str = "todo_read";
    type Args = NoArgs;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, _args: NoArgs) -> Result<ToolOutput, ToolError> {
        let todos = match ctx.storage.read_todos(ctx.session.clone()).await {
            Ok(todos) => todos,
            Err(StorageError::Unavailable) => {
                return Err(ToolError::Failed("the to-do store did not answer".into()))
            }
            Err(e) => return Err(ToolError::Failed(e.to_string())),
        };
        Ok(list_output(&todos, "The to-do list is empty."))
    }
}
