//! `read_file`, `write_file` and `edit_file`.
//!
//! Each resolves the agent's path through the workspace (which refuses anything outside it),
//! opens the result with `O_NOFOLLOW` and checks the opened file again, and runs its file work
//! on the blocking pool. Every error names the path as the agent sees it and says what to do.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Tool, ToolContext, ToolError};
use crate::workspace::PathError;

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

/// Opens a resolved path without following a symbolic link swapped in since it was resolved,
/// and without blocking on a FIFO. (The flags come from nix's re-export of libc: nix's own
/// `OFlag` needs its `fs` feature, which this crate does not enable.)
pub(super) fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    options
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
}

/// Checks what was opened is a regular file with a single link: the path may have changed
/// between resolving and opening it.
pub(super) fn check_opened(file: &File, shown: &str) -> Result<Metadata, ToolError> {
    let meta = file
        .metadata()
        .map_err(|e| io_failure("inspect", shown, &e))?;
    if meta.is_dir() {
        return Err(path_error(PathError::IsDirectory {
            path: shown.to_owned(),
        }));
    }
    if !meta.is_file() {
        return Err(ToolError::Failed(format!(
            "{shown} is not a regular file (it is a device, FIFO or socket), so it can't be used \
             with the file tools"
        )));
    }
    if meta.nlink() > 1 {
        return Err(path_error(PathError::HardLinked {
            path: shown.to_owned(),
        }));
    }
    Ok(meta)
}

fn path_error(error: PathError) -> ToolError {
    ToolError::Failed(error.to_string())
}

/// An I/O failure on `shown`. `io::Error` messages carry no path, so nothing of the host shows.
pub(super) fn io_failure(action: &str, shown: &str, error: &io::Error) -> ToolError {
    let hint = match error.raw_os_error() {
        Some(code) if code == nix::errno::Errno::ELOOP as i32 => {
            " (it was replaced by a symbolic link; use the real path)"
        }
        _ => "",
    };
    ToolError::Failed(format!("could not {action} {shown}: {error}{hint}"))
}

/// Records that the model has seen (or written) the file at `host`.
pub(super) fn mark_read(ctx: &ToolContext, host: PathBuf) {
    ctx.files_read
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(host);
}

fn was_read(ctx: &ToolContext, host: &Path) -> bool {
    ctx.files_read
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .contains(host)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_tools_carry_their_manifest_names() {
        let names: Vec<_> = super::tools().iter().map(|t| t.name()).collect();
        assert_eq!(names, ["read_file", "write_file", "edit_file"]);
    }
}
