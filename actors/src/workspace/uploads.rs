//! Files users upload into a session's workspace, kept in its `upload/` folder.
//!
//! The agent reads an upload at `/mnt/okcomputer/upload/<name>`. This module is the file-system
//! half of the upload API, independent of HTTP:
//! - [`sanitize_name`] turns the name a client sent into a safe single file name;
//! - [`UploadBatch`] takes the files of one request: it streams each into a staging folder
//!   outside the workspace (so the agent never sees a half-written file), checks the limits as
//!   the bytes arrive, and moves the whole batch in on [`UploadBatch::commit`], or nothing;
//! - [`list`] and [`remove_all`] read and clear the folder.
//!
//! An upload is a regular file directly in `upload/` whose name does not start with a dot
//! ([`sanitize_name`] never gives such a name, and a commit uses dot names for its transient
//! files). Symbolic links are never followed: an `upload` that is a link is refused, and a file
//! of the batch replaces a link of the same name rather than writing through it.
//!
//! What remains is a race, as for the file tools: a process in the workspace could swap the
//! checked `upload/` for a symbolic link between the check and the moves of a commit.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::dir::{is_symlink_refusal, Dir};
use super::MOUNT;
use crate::config::UploadSettings;

mod batch;
mod commit;
mod error;
mod name;

pub use batch::UploadBatch;
pub use error::UploadError;
pub use name::{sanitize_name, MAX_NAME_BYTES};

/// The folder of the workspace holding the uploads.
pub const UPLOAD_DIR: &str = "upload";

/// One uploaded file, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadEntry {
    /// The file name, e.g. `report.pdf`.
    pub name: String,
    /// The path relative to the workspace, e.g. `upload/report.pdf`.
    pub relative_path: String,
    /// Where the agent reads it, e.g. `/mnt/okcomputer/upload/report.pdf`.
    pub path: String,
    /// What clients show; the same as `path`.
    pub display_path: String,
    pub size_bytes: u64,
    /// The size for people, e.g. `12.5 KB` (see [`size_display`]).
    pub size_display: String,
}

impl UploadEntry {
    fn new(name: &str, size_bytes: u64) -> Self {
        let path = format!("{MOUNT}/{UPLOAD_DIR}/{name}");
        Self {
            name: name.to_owned(),
            relative_path: format!("{UPLOAD_DIR}/{name}"),
            display_path: path.clone(),
            path,
            size_bytes,
            size_display: size_display(size_bytes),
        }
    }
}

/// The limits a batch is checked against, in bytes. Built from the settings (which count in
/// MiB); tests build it directly to work at the byte level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Files `upload/` may hold once the batch is in.
    pub max_files: usize,
    /// Largest single file.
    pub max_file_bytes: u64,
    /// Largest total of `upload/` once the batch is in.
    pub quota_bytes: u64,
}

impl From<&UploadSettings> for UploadLimits {
    fn from(settings: &UploadSettings) -> Self {
        Self {
            max_files: settings.max_files,
            max_file_bytes: settings.max_file_bytes(),
            quota_bytes: settings.session_quota_bytes(),
        }
    }
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self::from(&UploadSettings::default())
    }
}

/// The uploads of the workspace at `workspace_root`, sorted by name. Empty when `upload/` does
/// not exist, and also when it is not a real folder (a symbolic link is never followed; a batch
/// refuses such a folder with [`UploadError::Unsafe`]).
pub fn list(workspace_root: &Path) -> io::Result<Vec<UploadEntry>> {
    Ok(scan(workspace_root)?
        .iter()
        .map(|(name, size)| UploadEntry::new(name, *size))
        .collect())
}

/// Deletes every upload of the workspace at `workspace_root` and returns how many there were.
/// Folders and anything else in `upload/` are left; a symbolic link is never followed.
pub fn remove_all(workspace_root: &Path) -> io::Result<usize> {
    let Some(dir) = upload_folder(workspace_root)? else {
        return Ok(0);
    };
    let mut removed = 0;
    for name in scan_in(&dir)?.keys() {
        // A name that went meanwhile (removed from inside the workspace) counts for nothing.
        removed += usize::from(dir.remove_file(OsStr::new(name))?);
    }
    Ok(removed)
}

/// `upload/` of the workspace at `workspace_root`, opened beneath it without following a
/// link: `None` when it is missing or not a real folder.
pub(crate) fn upload_folder(workspace_root: &Path) -> io::Result<Option<Dir>> {
    match Dir::open(workspace_root)?.open_dir(Path::new(UPLOAD_DIR)) {
        Ok(dir) => Ok(Some(dir)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if is_symlink_refusal(&e) || e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The uploads in `upload/`, name to size. Empty when the folder is missing or not a real
/// folder.
fn scan(workspace_root: &Path) -> io::Result<BTreeMap<String, u64>> {
    match upload_folder(workspace_root)? {
        Some(dir) => scan_in(&dir),
        None => Ok(BTreeMap::new()),
    }
}

/// The uploads in the opened `upload/` folder: its regular files not named with a dot.
fn scan_in(dir: &Dir) -> io::Result<BTreeMap<String, u64>> {
    let mut uploads = BTreeMap::new();
    for entry in dir.entries()? {
        if !entry.stat.is_file() {
            continue;
        }
        let Ok(name) = entry.name.into_string() else {
            continue; // not UTF-8, so not a name an upload can have
        };
        if !name.starts_with('.') {
            uploads.insert(name, entry.stat.len);
        }
    }
    Ok(uploads)
}

const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];

/// A size for people: `512 B` below 1 KB, else one decimal in the largest unit that keeps the
/// number under 1024 (`12.5 KB`, `3.0 MB`, `1.2 GB`). 1 KB is 1024 bytes.
pub fn size_display(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // Compare the rounded value, so 1023.96 KB shows as `1.0 MB` and not `1024.0 KB`.
    while (value * 10.0).round() / 10.0 >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A limit for messages: like [`size_display`] without a trailing `.0` (`100 MB`, `1 GB`).
fn limit_display(bytes: u64) -> String {
    let shown = size_display(bytes);
    match shown.split_once(".0 ") {
        Some((number, unit)) => format!("{number} {unit}"),
        None => shown,
    }
}

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
