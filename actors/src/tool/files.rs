//! `read_file`, `write_file` and `edit_file`.
//!
//! Each opens the agent's path through the workspace, which refuses anything outside it or
//! through a symbolic link in the same step as the open, and runs its file work on the blocking
//! pool. Every error names the path as the agent sees it and says what to do.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Tool, ToolContext, ToolError};
use crate::workspace::{PathError, Workspace};

mod edit;
pub(crate) mod read;
mod write;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(read::ReadFile),
        Arc::new(write::WriteFile),
        Arc::new(edit::EditFile),
    ]
}

/// Runs blocking file work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ToolError> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ToolError::Failed(format!("the file operation stopped unexpectedly: {e}")))?
}

pub(super) fn path_error(error: PathError) -> ToolError {
    ToolError::Failed(error.to_string())
}

/// An I/O failure on `shown`. `io::Error` messages carry no path, so nothing of the host shows.
pub(super) fn io_failure(action: &str, shown: &str, error: &io::Error) -> ToolError {
    ToolError::Failed(format!("could not {action} {shown}: {error}"))
}

/// Reads the workspace file the agent named, refusing one over `limit` bytes; `refusal` says
/// why, given the file's size. Returns the bytes and the path as the agent sees it.
pub(crate) fn read_limited(
    workspace: &Workspace,
    agent_path: &str,
    limit: u64,
    refusal: impl FnOnce(&str, u64) -> String,
) -> Result<(Vec<u8>, String), ToolError> {
    use std::io::Read;
    let opened = workspace.open_existing(agent_path).map_err(path_error)?;
    let shown = opened.shown;
    if opened.stat.len > limit {
        return Err(ToolError::Failed(refusal(&shown, opened.stat.len)));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.stat.len).unwrap_or(0));
    opened
        .file
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_failure("read", &shown, &e))?;
    if bytes.len() as u64 > limit {
        return Err(ToolError::Failed(refusal(&shown, bytes.len() as u64)));
    }
    Ok((bytes, shown))
}

/// Writes `bytes` to the file the agent named, replacing one of the same name (a generated
/// output, so no earlier read is needed); returns the path as the agent sees it.
pub(crate) fn replace_file(
    workspace: &Workspace,
    agent_path: &str,
    bytes: &[u8],
) -> Result<String, ToolError> {
    use std::io::Write;
    let opened = workspace.open_for_write(agent_path).map_err(path_error)?;
    let (mut file, shown) = (opened.file, opened.shown);
    file.set_len(0)
        .and_then(|()| file.write_all(bytes))
        .map_err(|e| io_failure("write", &shown, &e))?;
    Ok(shown)
}

/// Records that the model has seen (or written) the file at `relative` (to the workspace).
pub(super) fn mark_read(ctx: &ToolContext, relative: PathBuf) {
    ctx.files_read
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(relative);
}

fn was_read(ctx: &ToolContext, relative: &Path) -> bool {
    ctx.files_read
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .contains(relative)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_tools_carry_their_manifest_names() {
        let names: Vec<_> = super::tools().iter().map(|t| t.name()).collect();
        assert_eq!(names, ["read_file", "write_file", "edit_file"]);
    }
}
