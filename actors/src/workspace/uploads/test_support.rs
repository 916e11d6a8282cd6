//! A workspace and a staging root for the batch and commit tests.

use std::convert::Infallible;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::stream;

use super::{UploadBatch, UploadLimits, UPLOAD_DIR};

/// A client's file as the HTTP layer would pass it.
pub(super) type Body = stream::Iter<std::vec::IntoIter<Result<Bytes, Infallible>>>;

/// A workspace with an `upload/` folder, and a staging root beside it (outside it).
pub(super) struct Fixture {
    pub(super) dir: tempfile::TempDir,
    pub(super) root: PathBuf,
    pub(super) staging: PathBuf,
}

impl Fixture {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        fs::create_dir_all(root.join(UPLOAD_DIR)).unwrap();
        let staging = dir.path().join("staging");
        Self { dir, root, staging }
    }

    pub(super) fn upload_dir(&self) -> PathBuf {
        self.root.join(UPLOAD_DIR)
    }

    pub(super) fn begin(&self, limits: UploadLimits) -> UploadBatch {
        UploadBatch::begin(&self.root, &self.staging, limits).unwrap()
    }

    /// Puts a file in `upload/` as an earlier batch would have.
    pub(super) fn existing(&self, name: &str, content: &str) {
        fs::write(self.upload_dir().join(name), content).unwrap();
    }

    pub(super) fn read(&self, name: &str) -> String {
        fs::read_to_string(self.upload_dir().join(name)).unwrap()
    }

    /// Names in `upload/`, dot files included, sorted.
    pub(super) fn upload_names(&self) -> Vec<String> {
        names_in(&self.upload_dir())
    }

    /// Whatever is left under the staging root.
    pub(super) fn staged_leftovers(&self) -> Vec<String> {
        if !self.staging.exists() {
            return vec![];
        }
        names_in(&self.staging)
    }
}

pub(super) fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

pub(super) fn limits(max_files: usize, max_file_bytes: u64, quota_bytes: u64) -> UploadLimits {
    UploadLimits {
        max_files,
        max_file_bytes,
        quota_bytes,
    }
}

/// A stream of `content` in chunks of at most `size` bytes.
pub(super) fn chunks(content: &str, size: usize) -> Body {
    let parts: Vec<Result<Bytes, Infallible>> = content
        .as_bytes()
        .chunks(size.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts)
}

pub(super) fn body(content: &str) -> Body {
    chunks(content, 4)
}
