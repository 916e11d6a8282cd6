//! `todo_read` and `todo_write`: the session's to-do list, persisted with the session.

use std::sync::Arc;

use futures::future::BoxFuture;
use ractor::rpc::CallResult;
use serde::Deserialize;
use serde_json::Value;

use super::{parse_args, Tool, ToolContext, ToolError, ToolOutput, WorkspaceAccess};
use crate::storage::{StorageMsg, WriteBatch};
use crate::types::Todo;

/// Longest wait for the store when reading or saving the list.
const STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(TodoRead), Arc::new(TodoWrite)]
}

struct TodoRead;

impl Tool for TodoRead {
    fn name(&self) -> &'static str {
        "todo_read"
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
        })
    }
}

struct TodoWrite;

#[derive(Deserialize)]
struct TodoWriteArgs {
    todos: Vec<Todo>,
}

impl Tool for TodoWrite {
    fn name(&self) -> &'static str {
        "todo_write"
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
            let TodoWriteArgs { todos } = parse_args(args)?;
            let mut batch = WriteBatch::new(ctx.session.clone());
            batch.todos = Some(todos.clone());
            crate::storage::commit(&ctx.storage, batch)
                .await
                .map_err(|e| {
                    ToolError::Failed(format!("the to-do list could not be saved: {e}"))
                })?;
            Ok(list_output(&todos, "The to-do list is now empty."))
        })
    }
}

fn list_output(todos: &[Todo], empty: &str) -> ToolOutput {
    let text = if todos.is_empty() {
        empty.to_string()
    } else {
        serde_json::to_string_pretty(todos).unwrap_or_default()
    };
    ToolOutput {
        text,
        images: Vec::new(),
        data: serde_json::to_value(todos).ok(),
    }
}
