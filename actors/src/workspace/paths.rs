//! Mapping the agent's paths onto the workspace directory, refusing any that lead outside it.
//!
//! A path is first normalized without touching the disk (so `..` can never climb above the
//! root), then checked on disk: the deepest part of it that exists is canonicalized (resolving
//! every symbolic link) and must still be under the canonical root. A regular file with more
//! than one hard link is refused too: one of its other names may be outside the workspace.
//!
//! What remains is a race: a process in the workspace could swap a checked directory for a
//! symbolic link between the check and the open. The file tools narrow it by opening the final
//! component with `O_NOFOLLOW` and checking the opened file again; closing it fully needs
//! `openat2(RESOLVE_BENEATH)`.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use super::MOUNT;

/// Why a path the agent gave cannot be used. Messages show paths as the agent sees them, never
/// as they are on the host; the file tools pass them on to the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the file path is empty: give a path under {MOUNT}/, e.g. {MOUNT}/output/notes.md")]
    Empty,
    #[error("the file path contains a NUL byte: give a plain path under {MOUNT}/")]
    NulByte,
    #[error(
        "{path} is outside the workspace: only {MOUNT} and paths under it (or paths relative to \
         it) can be used. Use a path under {MOUNT}/, e.g. {MOUNT}/output/"
    )]
    Outside { path: String },
    #[error(
        "{path} is outside the workspace: it goes through a symbolic link that points outside \
         {MOUNT}. Use the real path under {MOUNT}/ instead"
    )]
    SymlinkOutside { path: String },
    #[error(
        "{path} is a symbolic link whose target does not exist: remove the link or write to \
         another path"
    )]
    DanglingSymlink { path: String },
    #[error(
        "{path} is refused as possibly outside the workspace: it has more than one hard link, so \
         it may be the same file as one outside {MOUNT}. Copy it with the shell tool (cp) and use \
         the copy"
    )]
    HardLinked { path: String },
    #[error("{path} does not exist. Check the path, e.g. with the shell tool: ls {parent}")]
    NotFound { path: String, parent: String },
    #[error("{path} is a directory, not a file. List it with the shell tool (ls) to find files")]
    IsDirectory { path: String },
    #[error("{path} is a file, so nothing can be created under it. Choose another folder")]
    NotADirectory { path: String },
    #[error("could not access {path}: {reason}")]
    Io { path: String, reason: String },
}

/// How the agent sees `relative` (a path relative to the workspace root).
pub(super) fn agent_view(relative: &Path) -> String {
    if relative.as_os_str().is_empty() {
        MOUNT.to_owned()
    } else {
        format!("{MOUNT}/{}", relative.display())
    }
}

/// The agent's path as a path relative to the workspace root, normalized without touching the
/// disk. Accepts `/mnt/okcomputer`, paths under it, and relative paths.
fn lexical(agent_path: &str) -> Result<PathBuf, PathError> {
    if agent_path.is_empty() {
        return Err(PathError::Empty);
    }
    if agent_path.contains('\0') {
        return Err(PathError::NulByte);
    }
    let outside = || PathError::Outside {
        path: agent_path.to_owned(),
    };
    let path = Path::new(agent_path);
    let mut parts: Vec<&OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(outside)?;
            }
            Component::Normal(part) => parts.push(part),
        }
    }
    if !path.is_absolute() {
        return Ok(parts.iter().collect());
    }
    let mount: Vec<&OsStr> = Path::new(MOUNT)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    if !parts.starts_with(&mount) {
        return Err(outside());
    }
    Ok(parts[mount.len()..].iter().collect())
}

fn io_error(relative: &Path, error: &io::Error) -> PathError {
    PathError::Io {
        path: agent_view(relative),
        reason: error.to_string(),
    }
}

/// Canonicalizes `host` (which must exist) and checks it is still under `root`.
fn canonical_inside(root: &Path, host: &Path, relative: &Path) -> Result<PathBuf, PathError> {
    let canonical = host.canonicalize().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => PathError::DanglingSymlink {
            path: agent_view(relative),
        },
        _ => io_error(relative, &e),
    })?;
    if canonical.starts_with(root) {
        Ok(canonical)
    } else {
        Err(PathError::SymlinkOutside {
            path: agent_view(relative),
        })
    }
}

/// The deepest ancestor of `relative` (itself included) that exists, as a relative path.
fn deepest_existing(root: &Path, relative: &Path) -> PathBuf {
    let mut existing = relative.to_path_buf();
    while !existing.as_os_str().is_empty() && fs::symlink_metadata(root.join(&existing)).is_err() {
        existing.pop();
    }
    existing
}

fn refuse_hard_link(meta: &fs::Metadata, relative: &Path) -> Result<(), PathError> {
    if meta.is_file() && meta.nlink() > 1 {
        return Err(PathError::HardLinked {
            path: agent_view(relative),
        });
    }
    Ok(())
}

/// See [`super::Workspace::resolve_existing`].
pub(super) fn resolve_existing(root: &Path, agent_path: &str) -> Result<PathBuf, PathError> {
    let relative = lexical(agent_path)?;
    let host = root.join(&relative);
    if fs::symlink_metadata(&host).is_err() {
        // Report a link out of the workspace on the way as such, not as a missing file, and say
        // where the file was looked for as the agent sees it.
        let existing = deepest_existing(root, &relative);
        canonical_inside(root, &root.join(&existing), &existing)?;
        return Err(PathError::NotFound {
            path: agent_view(&relative),
            parent: agent_view(&existing),
        });
    }
    let canonical = canonical_inside(root, &host, &relative)?;
    let meta = fs::metadata(&canonical).map_err(|e| io_error(&relative, &e))?;
    refuse_hard_link(&meta, &relative)?;
    Ok(canonical)
}

/// See [`super::Workspace::resolve_for_write`].
pub(super) fn resolve_for_write(root: &Path, agent_path: &str) -> Result<PathBuf, PathError> {
    let relative = lexical(agent_path)?;
    let Some(file_name) = relative.file_name().map(OsStr::to_owned) else {
        return Err(PathError::IsDirectory {
            path: agent_view(&relative),
        });
    };
    let host = root.join(&relative);
    if fs::symlink_metadata(&host).is_ok() {
        // It exists (perhaps as a symbolic link): write to what it resolves to, if inside.
        let canonical = canonical_inside(root, &host, &relative)?;
        let meta = fs::metadata(&canonical).map_err(|e| io_error(&relative, &e))?;
        if meta.is_dir() {
            return Err(PathError::IsDirectory {
                path: agent_view(&relative),
            });
        }
        refuse_hard_link(&meta, &relative)?;
        return Ok(canonical);
    }

    let existing = deepest_existing(root, &relative);
    let mut dir = canonical_inside(root, &root.join(&existing), &existing)?;
    if !dir.is_dir() {
        return Err(PathError::NotADirectory {
            path: agent_view(&existing),
        });
    }
    // Create the missing folders one at a time under the checked ancestor, checking each is a
    // real directory (not a link raced in) before going into it.
    let parent = relative.parent().unwrap_or(Path::new(""));
    let missing = parent.strip_prefix(&existing).unwrap_or(Path::new(""));
    let mut made = existing.clone();
    for part in missing.components() {
        dir.push(part);
        made.push(part);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(&made, &e)),
        }
        let meta = fs::symlink_metadata(&dir).map_err(|e| io_error(&made, &e))?;
        if !meta.is_dir() {
            return Err(PathError::NotADirectory {
                path: agent_view(&made),
            });
        }
    }
    Ok(dir.join(file_name))
}

#[cfg(test)]
mod tests;
