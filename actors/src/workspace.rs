//! A session's workspace: a host directory the agent sees as `/mnt/okcomputer`.
//! (Path confinement and sandboxed processes are filled in by their own change.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

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

    /// The host directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}
