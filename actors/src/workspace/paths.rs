//! Mapping the agent's paths onto the workspace and opening them without leaving it.
//!
//! A path is first normalized without touching the disk (so `..` can never climb above the
//! root), then opened through the workspace's [`Dir`] handle: the kernel resolves it beneath
//! the root and refuses any symbolic link on the way, in the same step as the open, so there
//! is no gap between a check and a use for a process in the workspace to race. What was opened
//! is checked by its descriptor: a regular file, with a single link (a file with another hard
//! link may be the same file as one outside the workspace).

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::dir::{Dir, Kind, Stat};
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
        "{path} goes through a symbolic link ({link} -> {target}), and the file tools never \
         follow links. Use the path the link points to, or replace the link with the file"
    )]
    Symlink {
        path: String,
        link: String,
        target: String,
    },
    #[error(
        "{path} is refused as possibly outside the workspace: it has more than one hard link, so \
         it may be the same file as one outside {MOUNT}. Copy it with the shell tool (cp) and use \
         the copy"
    )]
    HardLinked { path: String },
    #[error("{path} does not exist. Check the path, e.g. with the shell tool: ls {parent}")]
    NotFound { path: String, parent: String },
    #[error(
        "{path} is not a regular file (it is a device, FIFO or socket), so it can't be used \
         with the file tools"
    )]
    NotRegular { path: String },
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

/// A file opened for the agent, with what the tools need to report on it.
#[derive(Debug)]
pub struct OpenedFile {
    pub file: File,
    pub stat: Stat,
    /// The path relative to the workspace root (the key of the files a session has read).
    pub relative: PathBuf,
    /// The path as the agent sees it.
    pub shown: String,
    /// Whether the open created the file.
    pub created: bool,
}

/// The workspace root: its handle, and its host path (to show link targets as the agent sees
/// them).
pub(super) struct Root<'a> {
    pub dir: Dir,
    pub path: &'a Path,
}

impl Root<'_> {
    /// A link's target as the agent may see it: never a host path outside the workspace.
    fn shown_target(&self, target: &Path) -> String {
        if target.is_relative() || target.starts_with(MOUNT) {
            return target.display().to_string();
        }
        match target.strip_prefix(self.path) {
            Ok(inside) => agent_view(inside),
            Err(_) => "a path outside the workspace".to_owned(),
        }
    }
}

/// The agent's path, normalized, relative to the workspace root.
pub(super) fn relative(agent_path: &str) -> Result<PathBuf, PathError> {
    lexical(agent_path)
}

/// Explains why opening `relative` failed, naming paths as the agent sees them: the link on
/// the way, the deepest folder that exists, or the error itself.
fn explain(root: &Root<'_>, relative: &Path, error: &io::Error) -> PathError {
    let path = agent_view(relative);
    // Look at each step of the path, by handle, for what stopped the open.
    let mut at = match root.dir.try_clone() {
        Ok(at) => at,
        Err(e) => return io_error(relative, &e),
    };
    let mut seen = PathBuf::new();
    for part in relative.iter() {
        let parent = seen.clone();
        seen.push(part);
        match at.stat(part) {
            Ok(Some(stat)) if stat.kind == Kind::Symlink => {
                let target = at
                    .read_link(part)
                    .map(|t| root.shown_target(Path::new(&t)))
                    .unwrap_or_else(|_| "?".into());
                return PathError::Symlink {
                    path,
                    link: agent_view(&seen),
                    target,
                };
            }
            Ok(Some(stat)) if stat.is_dir() => match at.open_dir(Path::new(part)) {
                Ok(next) => at = next,
                Err(_) => break,
            },
            Ok(Some(_)) if seen.as_path() != relative => {
                return PathError::NotADirectory {
                    path: agent_view(&seen),
                }
            }
            Ok(Some(_)) => break,
            Ok(None) => {
                return PathError::NotFound {
                    path,
                    parent: agent_view(&parent),
                }
            }
            Err(_) => break,
        }
    }
    // The path changed between the open and this look (a process in the workspace is
    // swapping it): say what the open met.
    match error.raw_os_error() {
        Some(libc::EXDEV) => PathError::Outside { path },
        Some(libc::ENOENT) => PathError::NotFound {
            path,
            parent: agent_view(relative.parent().unwrap_or(Path::new(""))),
        },
        Some(libc::ELOOP) => PathError::Symlink {
            link: path.clone(),
            path,
            target: "a path that changed while it was opened".into(),
        },
        _ => io_error(relative, error),
    }
}

fn io_error(relative: &Path, error: &io::Error) -> PathError {
    PathError::Io {
        path: agent_view(relative),
        reason: error.to_string(),
    }
}

/// Refuses what is not a regular file with a single link.
fn check_file(stat: &Stat, relative: &Path) -> Result<(), PathError> {
    let path = agent_view(relative);
    match stat.kind {
        Kind::Dir => Err(PathError::IsDirectory { path }),
        Kind::File if stat.nlink > 1 => Err(PathError::HardLinked { path }),
        Kind::File => Ok(()),
        _ => Err(PathError::NotRegular { path }),
    }
}

/// See [`super::Workspace::open_existing`].
pub(super) fn open_existing(
    root: &Root<'_>,
    agent_path: &str,
    writable: bool,
) -> Result<OpenedFile, PathError> {
    let relative = lexical(agent_path)?;
    let opened = if writable {
        root.dir.open_file_rw(&relative, false, 0)
    } else {
        root.dir.open_file(&relative)
    };
    let file = opened.map_err(|e| match e.raw_os_error() {
        Some(code) if code == nix::errno::Errno::EISDIR as i32 => PathError::IsDirectory {
            path: agent_view(&relative),
        },
        _ => explain(root, &relative, &e),
    })?;
    opened_file(file, relative, false)
}

/// What was opened, checked by its descriptor: a regular file with one link.
fn opened_file(file: File, relative: PathBuf, created: bool) -> Result<OpenedFile, PathError> {
    let stat = Stat::of(&file).map_err(|e| io_error(&relative, &e))?;
    check_file(&stat, &relative)?;
    Ok(OpenedFile {
        file,
        stat,
        shown: agent_view(&relative),
        relative,
        created,
    })
}

/// See [`super::Workspace::open_for_write`].
pub(super) fn open_for_write(root: &Root<'_>, agent_path: &str) -> Result<OpenedFile, PathError> {
    let relative = lexical(agent_path)?;
    let Some(name) = relative.file_name().map(OsStr::to_owned) else {
        return Err(PathError::IsDirectory {
            path: agent_view(&relative),
        });
    };
    let (file, created) = match root.dir.open_file_rw(&relative, false, 0o644) {
        Ok(file) => (file, false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Make the missing folders (never through a link), then the file itself.
            let parent = relative.parent().unwrap_or(Path::new(""));
            let folder = root
                .dir
                .create_dir_all(parent)
                .map_err(|e| explain(root, parent, &e))?;
            match folder.create_new(&name, 0o644) {
                Ok(file) => (file, true),
                // Made by someone else in between: open what is there now, by the same rules.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => (
                    folder
                        .open_file_rw(Path::new(&name), false, 0o644)
                        .map_err(|e| explain(root, &relative, &e))?,
                    false,
                ),
                Err(e) => return Err(explain(root, &relative, &e)),
            }
        }
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EISDIR as i32) => {
            return Err(PathError::IsDirectory {
                path: agent_view(&relative),
            })
        }
        Err(e) => return Err(explain(root, &relative, &e)),
    };
    opened_file(file, relative, created)
}

/// See [`super::Workspace::open_existing_dir`].
pub(super) fn open_existing_dir(
    root: &Root<'_>,
    agent_path: &str,
) -> Result<(Dir, String), PathError> {
    let relative = lexical(agent_path)?;
    let dir = root
        .dir
        .open_dir(&relative)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == nix::errno::Errno::ENOTDIR as i32 => PathError::NotADirectory {
                path: agent_view(&relative),
            },
            _ => explain(root, &relative, &e),
        })?;
    Ok((dir, agent_view(&relative)))
}

#[cfg(test)]
mod tests;
