//! The data directory's files are the server's alone: folders are made 0700 and files 0600,
//! so other local users cannot read stored keys, tokens, conversations, snapshots or sites.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of the data directory's folders.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the data directory's files.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and its missing parents with mode 0700 (existing folders keep theirs).
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
}

/// Makes `path` (an existing folder) 0700: the data directory's root, which may predate this.
pub fn restrict_dir(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(DIR_MODE))
}

/// Makes `path` (an existing file) 0600.
pub fn restrict_file(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))
}

/// Creates (or truncates) `path` for writing, mode 0600.
pub fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
}

/// A new file at `path` (which must not exist), mode 0600.
pub fn create_new_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}
