//! One request's files, taken in all together or not at all.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Display;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Buf;
use futures::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::{
    commit, sanitize_name, scan, upload_folder, UploadEntry, UploadError, UploadLimits, UPLOAD_DIR,
};
use crate::workspace::dir::Dir;

/// The files of one upload request. [`UploadBatch::add`] streams each file into a staging folder
/// of the batch's own, outside the workspace; [`UploadBatch::commit`] moves them all into
/// `upload/`. A batch dropped or aborted before it commits leaves nothing behind.
///
/// Limits are checked against the uploads present when the batch began, less those the batch
/// replaces (a file of the same name is replaced on commit). Two batches of one session running
/// at once each see only their own files: run one at a time per session where the limits must
/// hold exactly.
#[derive(Debug)]
pub struct UploadBatch {
    /// Identifies the batch's transient files.
    id: String,
    /// The workspace's root (its `upload/` may not exist yet).
    workspace_root: PathBuf,
    /// The batch's own folder under the staging root.
    staging: PathBuf,
    limits: UploadLimits,
    /// The uploads present when the batch began, name to size.
    existing: BTreeMap<String, u64>,
    existing_bytes: u64,
    files: Vec<Staged>,
    /// Numbers staging files, so a failed file's leftover never collides with the next one.
    next_index: usize,
    /// Set once the staging folder is gone, so `Drop` has nothing left to do.
    cleaned: bool,
}

/// A file of the batch, complete in the staging folder.
#[derive(Debug)]
pub(super) struct Staged {
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) size: u64,
}

impl UploadBatch {
    /// Starts a batch for the workspace at `workspace_root`. `staging_root` must be outside the
    /// workspace (the agent must never see a half-written file); the batch makes its own folder
    /// in it. Refuses an `upload` that is a symbolic link or not a folder.
    pub fn begin(
        workspace_root: &Path,
        staging_root: &Path,
        limits: UploadLimits,
    ) -> Result<Self, UploadError> {
        let unsafe_folder = Dir::open(workspace_root)
            .and_then(|root| root.stat(OsStr::new(UPLOAD_DIR)))
            .map_err(|e| UploadError::io("read the upload folder", e))?
            .is_some_and(|stat| !stat.is_dir());
        if unsafe_folder {
            return Err(UploadError::Unsafe);
        }
        let existing = scan(workspace_root).map_err(|e| UploadError::io("list the uploads", e))?;
        let existing_bytes = existing
            .values()
            .fold(0u64, |sum, size| sum.saturating_add(*size));

        let id = uuid::Uuid::new_v4().simple().to_string();
        let staging = staging_root.join(format!("batch-{id}"));
        fs::create_dir_all(staging_root)
            .and_then(|()| fs::create_dir(&staging))
            .map_err(|e| UploadError::io("prepare the upload", e))?;
        Ok(Self {
            id,
            workspace_root: workspace_root.to_path_buf(),
            staging,
            limits,
            existing,
            existing_bytes,
            files: Vec::new(),
            next_index: 0,
            cleaned: false,
        })
    }

    /// Streams one file of the request into the staging folder. `raw_name` is the name the
    /// client sent (see [`sanitize_name`]). Refuses a name already in the batch, a file that
    /// would bring the session over its file count, and stops as soon as the file passes the
    /// size limit or the session its quota. On error the file is discarded and the batch holds
    /// the files added before it; the caller normally aborts the batch.
    pub async fn add<S, B, E>(&mut self, raw_name: &str, mut chunks: S) -> Result<(), UploadError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: Buf,
        E: Display,
    {
        let name = sanitize_name(raw_name)?;
        if self.files.iter().any(|file| file.name == name) {
            return Err(UploadError::DuplicateName { name });
        }
        if self.is_folder(&name) {
            return Err(UploadError::InvalidName {
                shown: format!("\"{name}\""),
                reason: "a folder of that name is in the upload folder",
            });
        }
        let replaced = self.existing.get(&name).copied();
        if self.file_count() + usize::from(replaced.is_none()) > self.limits.max_files {
            return Err(UploadError::TooManyFiles {
                limit: self.limits.max_files,
            });
        }
        let others = self.total_bytes().saturating_sub(replaced.unwrap_or(0));

        let path = self.staging.join(format!("file-{}", self.next_index));
        self.next_index += 1;
        match self.write(&name, &path, others, &mut chunks).await {
            Ok(size) => {
                self.files.push(Staged { name, path, size });
                Ok(())
            }
            Err(e) => {
                // Best effort: a leftover goes with the staging folder.
                let _ = tokio::fs::remove_file(&path).await;
                Err(e)
            }
        }
    }

    /// Moves every file of the batch into `upload/` (created if missing), replacing uploads of
    /// the same names, and returns their entries in the order they were added. All or nothing:
    /// if a move fails, the files already moved are taken out again and the ones they replaced
    /// put back. Refuses an empty batch. Runs on the blocking pool to the end even if the
    /// caller stops waiting, so a commit is never left half done.
    pub async fn commit(self) -> Result<Vec<UploadEntry>, UploadError> {
        if self.files.is_empty() {
            return Err(UploadError::Empty);
        }
        tokio::task::spawn_blocking(move || {
            commit::commit(&self.workspace_root, &self.id, &self.files)
            // `self` drops here, removing the (now empty) staging folder.
        })
        .await
        .map_err(|e| UploadError::io("finish the upload", io::Error::other(e.to_string())))?
    }

    /// Discards the batch and its staging folder.
    pub async fn abort(mut self) {
        if tokio::fs::remove_dir_all(&self.staging).await.is_ok() {
            self.cleaned = true;
        }
    }

    /// Whether `upload/<name>` is a real folder (a symbolic link is not followed).
    fn is_folder(&self, name: &str) -> bool {
        upload_folder(&self.workspace_root)
            .ok()
            .flatten()
            .and_then(|dir| dir.stat(OsStr::new(name)).ok().flatten())
            .is_some_and(|stat| stat.is_dir())
    }

    /// Files `upload/` would hold with the batch in.
    fn file_count(&self) -> usize {
        let new = self
            .files
            .iter()
            .filter(|f| !self.existing.contains_key(&f.name));
        self.existing.len() + new.count()
    }

    /// Bytes `upload/` would hold with the batch in.
    fn total_bytes(&self) -> u64 {
        self.files.iter().fold(self.existing_bytes, |sum, file| {
            let replaced = self.existing.get(&file.name).copied().unwrap_or(0);
            sum.saturating_sub(replaced).saturating_add(file.size)
        })
    }

    /// Writes the chunks to a new file at `path`, checking the limits before each chunk is
    /// written; `others` is what the rest of `upload/` holds. Returns the file's size.
    async fn write<S, B, E>(
        &self,
        name: &str,
        path: &Path,
        others: u64,
        chunks: &mut S,
    ) -> Result<u64, UploadError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: Buf,
        E: Display,
    {
        let failed = |e| UploadError::io(format!("save {name}"), e);
        let too_large = || UploadError::FileTooLarge {
            name: name.to_owned(),
            limit_bytes: self.limits.max_file_bytes,
        };
        let over_quota = || UploadError::QuotaExceeded {
            name: name.to_owned(),
            quota_bytes: self.limits.quota_bytes,
        };
        if others > self.limits.quota_bytes {
            return Err(over_quota());
        }
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .await
            .map_err(failed)?;
        let mut size = 0u64;
        while let Some(chunk) = chunks.next().await {
            let mut chunk = chunk.map_err(|e| UploadError::Interrupted {
                name: name.to_owned(),
                reason: e.to_string(),
            })?;
            size = size.saturating_add(chunk.remaining() as u64);
            if size > self.limits.max_file_bytes {
                return Err(too_large());
            }
            if others.saturating_add(size) > self.limits.quota_bytes {
                return Err(over_quota());
            }
            file.write_all_buf(&mut chunk).await.map_err(failed)?;
        }
        // A tokio file may still be writing the last chunk: wait for it before the file counts.
        file.flush().await.map_err(failed)?;
        Ok(size)
    }
}

impl Drop for UploadBatch {
    fn drop(&mut self) {
        if !self.cleaned {
            // Best effort, and synchronous: `Drop` can't wait. Usually the folder is empty.
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests;
