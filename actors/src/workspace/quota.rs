//! The per-workspace disk quota (`workspace.quota_mb`).
//!
//! The workspace is measured (disk blocks, as `du` counts them, each inode once, links never
//! followed) after every tool call that may write to it. Over the quota, the file tools refuse
//! to write, Python refuses to run, and shell commands run with a file-size limit of zero: they
//! can list and delete (the way back under the quota) but not write a byte. Every refusal says
//! how much to remove.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::dir::Dir;
use std::sync::atomic::{AtomicU64, Ordering};

/// Not measured yet.
const UNKNOWN: u64 = u64::MAX;

/// One workspace's quota and its last measured use.
#[derive(Debug)]
pub struct Quota {
    limit: u64,
    used: AtomicU64,
}

/// Why a write was refused: the workspace is over its quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the workspace is over its disk quota: it holds {} and may hold {} (workspace.quota_mb). \
     Remove at least {} (for example large files under /mnt/okcomputer, with a shell `rm`) \
     before writing again; shell commands can still list and delete files but not write",
    mib(*used),
    mib(*limit),
    mib(used.saturating_sub(*limit))
)]
pub struct OverQuota {
    pub used: u64,
    pub limit: u64,
}

impl Quota {
    /// A quota of `limit` bytes, not measured yet.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(UNKNOWN),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The last measured use, if there is one.
    pub fn used(&self) -> Option<u64> {
        Some(self.used.load(Ordering::Relaxed)).filter(|u| *u != UNKNOWN)
    }

    /// Whether the workspace was over its quota when last measured.
    pub fn check(&self) -> Result<(), OverQuota> {
        match self.used() {
            Some(used) if used > self.limit => Err(OverQuota {
                used,
                limit: self.limit,
            }),
            _ => Ok(()),
        }
    }

    /// Measures the workspace at `root` (on the blocking pool) and remembers the figure.
    pub async fn measure(&self, root: &Path) -> Result<(), OverQuota> {
        let root = root.to_path_buf();
        if let Ok(used) = tokio::task::spawn_blocking(move || disk_usage(&root)).await {
            self.used.store(used, Ordering::Relaxed);
        }
        self.check()
    }

    /// Measures only if there is no figure yet (a session that just started).
    pub async fn ensure_measured(&self, root: &Path) -> Result<(), OverQuota> {
        if self.used().is_none() {
            return self.measure(root).await;
        }
        self.check()
    }
}

/// Bytes of disk the tree at `root` takes: allocated blocks of every file, folder and link,
/// each inode counted once, links never followed. Entries that vanish meanwhile are skipped.
pub fn disk_usage(root: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let Ok(top) = Dir::open(root) else {
        return 0;
    };
    // Folders waiting are kept as paths, each opened beneath the root when its turn comes: a
    // handle per waiting folder would run out of descriptors in a wide tree, and the folders
    // it could not open would go uncounted.
    let mut pending = vec![(PathBuf::new(), 0)];
    while let Some((relative, depth)) = pending.pop() {
        let Ok(entries) = top.open_dir(&relative).and_then(|dir| dir.entries()) else {
            continue;
        };
        for entry in entries {
            let stat = entry.stat;
            if stat.nlink > 1 && !stat.is_dir() && !seen.insert(stat.inode) {
                continue;
            }
            total = total.saturating_add(stat.allocated);
            if stat.is_dir() && depth < super::dir::MAX_DEPTH {
                pending.push((relative.join(&entry.name), depth + 1));
            }
        }
    }
    total
}

/// Bytes as MiB for people, rounded up so "remove at least" is enough.
fn mib(bytes: u64) -> String {
    let tenths = bytes.saturating_mul(10).div_ceil(1 << 20);
    format!("{}.{} MiB", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[tokio::test]
    async fn a_workspace_over_its_quota_is_refused_with_how_much_to_remove() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![7u8; 3 << 20]).unwrap();
        let quota = Quota::new(1 << 20);
        let refused = quota.measure(dir.path()).await.unwrap_err();
        assert!(refused.used >= 3 << 20, "{refused:?}");
        let message = refused.to_string();
        assert!(message.contains("Remove at least 2.0 MiB"), "{message}");
        std::fs::remove_file(dir.path().join("big")).unwrap();
        assert_eq!(
            quota.check(),
            Err(refused.clone()),
            "the figure is the last measured"
        );
        quota.measure(dir.path()).await.unwrap();
    }

    #[test]
    fn hard_links_count_once_and_symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("huge"), vec![1u8; 4 << 20]).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        std::fs::write(dir.path().join("a"), vec![1u8; 1 << 20]).unwrap();
        std::fs::hard_link(dir.path().join("a"), dir.path().join("b")).unwrap();
        let used = disk_usage(dir.path());
        assert!((1 << 20..2 << 20).contains(&used), "{used}");
    }

    #[test]
    fn a_wide_tree_is_counted_whole_without_a_descriptor_per_folder() {
        // More folders than this process may hold descriptors, each with a one-block file: a
        // walk holding a handle per waiting folder could not open them all.
        let (soft, _) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        let folders = usize::try_from(soft).unwrap() + 64;
        let dir = tempfile::tempdir().unwrap();
        let mut expected = 0u64;
        for i in 0..folders {
            let folder = dir.path().join(format!("f{i}"));
            std::fs::create_dir(&folder).unwrap();
            std::fs::write(folder.join("data"), b"x").unwrap();
            for path in [folder.join("data"), folder] {
                expected += std::fs::metadata(path).unwrap().blocks() * 512;
            }
        }
        assert_eq!(disk_usage(dir.path()), expected);
    }
}
