//! A session's workspace: a host directory the agent sees as `/mnt/okcomputer`.
//!
//! Two halves keep the agent inside it:
//! - `paths` maps the agent's paths onto the directory and refuses any that lead outside it
//!   (`..`, other absolute paths, symbolic links, hard links), for the file tools;
//! - `process` runs commands in it: their own process group, a rebuilt environment, capped
//!   output, a timeout that kills the whole group, inside the [`jail`].
//!
//! [`uploads`] keeps the files users upload, in the workspace's `upload/` folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod dir;
pub mod jail;
mod paths;
mod process;
mod quota;
pub mod snapshots;
pub mod uploads;
pub mod view;

pub use jail::{Isolation, IsolationReport, Jail, JailSetup};
pub use paths::PathError;
pub use process::{
    process_cgroups_available, run_command, spawn_interactive, CommandOutcome, CommandSpec,
    EnvSource, Interactive, SandboxMode,
};
pub use quota::{disk_usage, OverQuota, Quota};

/// Where the agent sees its workspace.
pub const MOUNT: &str = "/mnt/okcomputer";

/// A handle on one session's workspace directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: Arc<PathBuf>,
}

impl Workspace {
    /// Opens (creating if needed) the workspace at `root`, with its `output/` and `upload/`.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("output"))?;
        std::fs::create_dir_all(root.join("upload"))?;
        Ok(Self {
            root: Arc::new(root.canonicalize()?),
        })
    }

    /// A handle on an existing directory, creating nothing (for serving files from it).
    pub fn existing(root: &Path) -> std::io::Result<Self> {
        Ok(Self {
            root: Arc::new(root.canonicalize()?),
        })
    }

    /// The host directory (canonical: no symbolic link on the way to it).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host path of an existing file or directory the agent named, with every symbolic link
    /// resolved. Refuses a path that is, or leads, outside the workspace.
    pub fn resolve_existing(&self, agent_path: &str) -> Result<PathBuf, PathError> {
        paths::resolve_existing(&self.root, agent_path)
    }

    /// The host path at which to create or overwrite the file the agent named. Missing parent
    /// folders are created (inside the workspace only). Open the result with `O_NOFOLLOW`: the
    /// returned path has no symbolic link in it, so a link swapped in later makes the open fail.
    pub fn resolve_for_write(&self, agent_path: &str) -> Result<PathBuf, PathError> {
        paths::resolve_for_write(&self.root, agent_path)
    }

    /// How the agent sees a host path inside the workspace, e.g. `/mnt/okcomputer/output/a.md`.
    /// A path outside the workspace is never shown: it comes back as a placeholder.
    pub fn agent_path(&self, host: &Path) -> String {
        match host.strip_prefix(self.root.as_path()) {
            Ok(relative) => paths::agent_view(relative),
            Err(_) => "(a path outside the workspace)".to_owned(),
        }
    }

    /// `text` with every occurrence of the host directory replaced by [`MOUNT`], so command
    /// output and error messages never show where the workspace lives on the host.
    pub fn to_agent_view(&self, text: &str) -> String {
        let root = self.root.to_string_lossy();
        if root.is_empty() || root == "/" {
            return text.to_owned();
        }
        text.replace(root.as_ref(), MOUNT)
    }
}

/// Removes everything inside `dir` (never `dir` itself, never following symlinks); returns
/// how many entries went.
pub fn empty_dir(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            removed += count_entries(&path)? + 1;
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn count_entries(dir: &Path) -> std::io::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        count += 1;
        if entry.file_type()?.is_dir() {
            count += count_entries(&entry.path())?;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emptying_a_folder_counts_and_removes_everything_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("output/deep")).unwrap();
        std::fs::write(dir.path().join("output/deep/a.txt"), "a").unwrap();
        std::fs::write(dir.path().join("b.txt"), "b").unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("link")).unwrap();
        assert_eq!(empty_dir(dir.path()).unwrap(), 5);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(std::path::Path::new("/etc").exists());
    }
}
