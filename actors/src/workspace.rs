//! A session's workspace: a host directory the agent sees as `/mnt/okcomputer`.
//!
//! Two halves keep the agent inside it:
//! - `paths` maps the agent's paths onto the directory and opens them through a [`Dir`]
//!   handle that refuses any that lead outside it (`..`, other absolute paths, symbolic
//!   links, hard links), for the file tools; the server's own file work (snapshots, deploys,
//!   downloads, uploads) goes through [`Dir`] handles too;
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

#[cfg(test)]
pub(crate) mod races;

pub use dir::Dir;
pub use jail::{Isolation, IsolationReport, Jail, JailSetup};
pub use paths::{OpenedFile, PathError};
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
        crate::private::create_dir_all(&root)?;
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

    /// A handle on the workspace directory, for file work that must not leave it (see
    /// [`dir`]).
    pub fn dir(&self) -> std::io::Result<Dir> {
        Dir::open(&self.root)
    }

    fn handle(&self) -> Result<paths::Root<'_>, PathError> {
        let dir = self.dir().map_err(|e| PathError::Io {
            path: MOUNT.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(paths::Root {
            dir,
            path: &self.root,
        })
    }

    /// Opens the existing regular file the agent named, for reading. Refuses a path that
    /// leads outside the workspace or through a symbolic link, and a file with other hard
    /// links.
    pub fn open_existing(&self, agent_path: &str) -> Result<OpenedFile, PathError> {
        paths::open_existing(&self.handle()?, agent_path, false)
    }

    /// [`Self::open_existing`] for reading and writing.
    pub fn open_existing_rw(&self, agent_path: &str) -> Result<OpenedFile, PathError> {
        paths::open_existing(&self.handle()?, agent_path, true)
    }

    /// Opens the file the agent named for reading and writing, creating it and any missing
    /// folders (inside the workspace only). Never truncates: the caller decides once it has
    /// looked at [`OpenedFile::created`]. Refused by the same rules as
    /// [`Self::open_existing`].
    pub fn open_for_write(&self, agent_path: &str) -> Result<OpenedFile, PathError> {
        paths::open_for_write(&self.handle()?, agent_path)
    }

    /// Opens the existing folder the agent named; returns it with its path as the agent sees
    /// it.
    pub fn open_existing_dir(&self, agent_path: &str) -> Result<(Dir, String), PathError> {
        paths::open_existing_dir(&self.handle()?, agent_path)
    }

    /// The agent's path normalized and relative to the workspace root, refused when it leads
    /// outside (without looking at the disk).
    pub fn relative(&self, agent_path: &str) -> Result<PathBuf, PathError> {
        paths::relative(agent_path)
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
    match Dir::open(dir) {
        Ok(handle) => handle.remove_all_inside(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
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
