//! `todo_read`: the list as stored.

use ractor::rpc::CallResult;

use super::{list_output, STORE_TIMEOUT};
use crate::storage::StorageMsg;
use crate::tool::{NoArgs, ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct TodoRead;

impl TypedTool for TodoRead {
    const NAME: &'static str = "todo_read";
    type Args = NoArgs;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, _args: NoArgs) -> Result<ToolOutput, ToolError> {
        let key = ctx.session.clone();
        let todos = match ctx
            .storage
            .call(
                |reply| StorageMsg::ReadTodos { key, reply },
                Some(STORE_TIMEOUT),
            )
            .await
        {
            Ok(CallResult::Success(Ok(todos))) => todos,
            Ok(CallResult::Success(Err(e))) => return Err(ToolError::Failed(e.to_string())),
            _ => return Err(ToolError::Failed("the to-do store did not answer".into())),
        };
        Ok(list_output(&todos, "The to-do list is empty."))
    }
}
