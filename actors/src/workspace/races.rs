//! Race tests: a thread keeps swapping a folder or a file of the workspace for a symbolic link
//! to an outside canary while the server's file work runs. Nothing may be read from, written
//! to or removed from the outside, however the race falls.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// What the canary files hold.
pub(crate) const CANARY: &str = "CANARY-outside-the-workspace";

/// A thread swapping `path` between what it is and a symbolic link to `target`, until
/// dropped.
pub(crate) struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Swapper {
    pub(crate) fn start(path: PathBuf, target: PathBuf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicUsize::new(0));
        let (stopping, counting) = (stop.clone(), swaps.clone());
        let thread = std::thread::spawn(move || {
            let aside = path.with_extension("swapped-aside");
            while !stopping.load(Ordering::Relaxed) {
                if std::fs::rename(&path, &aside).is_ok() {
                    if symlink(&target, &path).is_ok() {
                        counting.fetch_add(1, Ordering::Relaxed);
                        std::thread::yield_now();
                        let _ = std::fs::remove_file(&path);
                    }
                    let _ = std::fs::rename(&aside, &path);
                }
                std::thread::yield_now();
            }
        });
        Self {
            stop,
            swaps,
            thread: Some(thread),
        }
    }

    /// Stops the thread; returns how often the link was in place.
    pub(crate) fn finish(mut self) -> usize {
        self.halt();
        self.swaps.load(Ordering::Relaxed)
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.halt();
    }
}

/// An outside folder holding `canary.txt` (and files named like the workspace's), and a check
/// that it is exactly as made.
pub(crate) struct Outside {
    pub(crate) dir: PathBuf,
}

impl Outside {
    pub(crate) fn new(beside: &Path, names: &[&str]) -> Self {
        let dir = beside.join("outside");
        std::fs::create_dir_all(&dir).unwrap();
        for name in names.iter().chain(&["canary.txt"]) {
            std::fs::write(dir.join(name), CANARY).unwrap();
        }
        Self { dir }
    }

    pub(crate) fn file(&self) -> PathBuf {
        self.dir.join("canary.txt")
    }

    /// Panics unless the folder holds exactly the files it was made with, unchanged.
    pub(crate) fn assert_untouched(&self, names: &[&str]) {
        let mut expected: Vec<String> = names
            .iter()
            .chain(&["canary.txt"])
            .map(|n| n.to_string())
            .collect();
        expected.sort();
        let mut found: Vec<String> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        assert_eq!(found, expected, "something was made or removed outside");
        for name in &expected {
            assert_eq!(
                std::fs::read_to_string(self.dir.join(name)).unwrap(),
                CANARY,
                "{name} outside was changed"
            );
        }
    }
}

mod snapshots {
    use super::*;
    use std::ffi::OsStr;
    use std::io::Write;

    use crate::workspace::dir::Dir;
    use crate::workspace::snapshots::{SnapshotError, SnapshotStore};

    fn workspace(dir: &Path) -> PathBuf {
        let ws = dir.join("ws");
        std::fs::create_dir_all(ws.join("output/d")).unwrap();
        std::fs::write(ws.join("output/d/page.txt"), "inside").unwrap();
        std::fs::write(ws.join("output/f.txt"), "inside").unwrap();
        ws
    }

    /// Every blob the store holds, read back.
    fn blobs(store_root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![store_root.join("blobs")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().unwrap().is_dir() {
                    stack.push(entry.path());
                } else {
                    out.push(String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into());
                }
            }
        }
        out
    }

    #[test]
    fn a_snapshot_taken_while_a_folder_and_a_file_are_swapped_for_links_stores_no_outside_byte() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = workspace(tmp.path());
        let outside = Outside::new(tmp.path(), &["page.txt"]);
        let store_root = tmp.path().join("store");
        let store = SnapshotStore::new(&store_root, 1 << 30);
        let folder = Swapper::start(ws.join("output/d"), outside.dir.clone());
        let file = Swapper::start(ws.join("output/f.txt"), outside.file());
        for _ in 0..400 {
            // Losing the race is said as such, never as a failure of the store.
            match store.take("t", "s", &ws, None, None) {
                Ok(_) | Err(SnapshotError::Changed { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(folder.finish() > 0 && file.finish() > 0, "the race ran");
        assert!(!blobs(&store_root).iter().any(|b| b.contains(CANARY)));
        outside.assert_untouched(&["page.txt"]);
    }

    #[test]
    fn a_restore_racing_a_folder_swapped_for_a_link_never_writes_or_removes_outside() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = workspace(tmp.path());
        let outside = Outside::new(tmp.path(), &["page.txt", "extra.txt"]);
        let store = SnapshotStore::new(tmp.path().join("store"), 1 << 30);
        let snapshot = store.take("t", "s", &ws, None, None).unwrap();
        let folder = Swapper::start(ws.join("output/d"), outside.dir.clone());
        for round in 0..400 {
            // Change the raced folder (through a handle, as the test must not follow the link
            // itself) so every restore has work to do in it.
            if let Ok(d) = Dir::open(&ws).and_then(|w| w.open_dir(Path::new("output/d"))) {
                for (name, text) in [
                    ("page.txt", format!("changed {round}")),
                    ("extra.txt", "new".into()),
                ] {
                    let _ = d.remove_file(OsStr::new(name));
                    if let Ok(mut file) = d.create_new(OsStr::new(name), 0o644) {
                        let _ = file.write_all(text.as_bytes());
                    }
                }
            }
            match store.restore("t", "s", &snapshot.id, &ws) {
                Ok(_) | Err(SnapshotError::Changed { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(folder.finish() > 0, "the race ran");
        outside.assert_untouched(&["page.txt", "extra.txt"]);
        // Undisturbed, the restore does what it promises.
        store.restore("t", "s", &snapshot.id, &ws).unwrap();
        assert_eq!(
            std::fs::read_to_string(ws.join("output/d/page.txt")).unwrap(),
            "inside"
        );
        assert!(!ws.join("output/d/extra.txt").exists());
    }
}

mod uploads {
    use super::*;
    use crate::workspace::uploads::{UploadBatch, UploadLimits, UPLOAD_DIR};

    #[tokio::test]
    async fn an_upload_committed_while_its_folder_is_swapped_for_a_link_never_lands_outside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("ws");
        std::fs::create_dir_all(root.join(UPLOAD_DIR)).unwrap();
        let outside = Outside::new(tmp.path(), &["data.csv"]);
        let staging = tmp.path().join("staging");
        let folder = Swapper::start(root.join(UPLOAD_DIR), outside.dir.clone());
        for round in 0..300 {
            let Ok(mut batch) = UploadBatch::begin(&root, &staging, UploadLimits::default()) else {
                continue;
            };
            let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(
                bytes::Bytes::from(format!("upload {round}")),
            )]);
            if batch.add("data.csv", body).await.is_ok() {
                let _ = batch.commit().await;
            }
        }
        assert!(folder.finish() > 0, "the race ran");
        outside.assert_untouched(&["data.csv"]);
    }
}
