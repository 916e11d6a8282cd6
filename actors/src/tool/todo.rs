//! `todo_read` and `todo_write`: the session's to-do list, persisted with the session.

use std::sync::Arc;

use super::{Tool, ToolOutput};
use crate::types::Todo;

mod read;
mod write;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(read::TodoRead), Arc::new(write::TodoWrite)]
}

/// The list as the model reads it (or `empty`), with the items as data for clients.
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
