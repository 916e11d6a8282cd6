//! Directory handles that keep the server's own file work inside a workspace.
//!
//! Agent code writes to a workspace while the server reads, copies, restores and empties it.
//! A path checked and then used can change in between: a folder swapped for a symbolic link
//! sends the use elsewhere. So the server never uses a workspace path twice. It holds a
//! [`Dir`] (an open directory), and every path below it is resolved by the kernel in one step
//! with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
//! RESOLVE_NO_XDEV)`: a symbolic link anywhere on the path fails the open with `ELOOP` instead
//! of being followed, and nothing can resolve above the handle. On a kernel without `openat2`
//! the path is walked one component at a time, each opened with `O_NOFOLLOW` relative to the
//! last, which gives the same guarantee with more system calls.
//!
//! Everything else (stat, remove, rename, link) acts on a single name relative to a handle,
//! never on a path, so it cannot be redirected either. All of it is blocking.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

/// Set once `openat2` answered `ENOSYS`: later opens go straight to the component walk.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// How often an open is retried when `openat2` reports a concurrent rename (`EAGAIN`) before
/// it takes the component walk instead.
const RACE_RETRIES: usize = 16;

/// What a name in a directory is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

/// The parts of `stat` the server uses.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub kind: Kind,
    pub len: u64,
    /// Permission bits.
    pub mode: u32,
    pub nlink: u64,
    /// Modification time, nanoseconds since the epoch.
    pub modified_ns: i128,
    /// Bytes of disk allocated.
    pub allocated: u64,
    /// Device and inode: the same for every name of one file.
    pub inode: (u64, u64),
}

impl Stat {
    fn from(st: &FileStat) -> Self {
        let format = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        let kind = match format {
            SFlag::S_IFREG => Kind::File,
            SFlag::S_IFDIR => Kind::Dir,
            SFlag::S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        };
        Self {
            kind,
            len: u64::try_from(st.st_size).unwrap_or(0),
            mode: st.st_mode & 0o7777,
            nlink: st.st_nlink,
            modified_ns: i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec),
            allocated: u64::try_from(st.st_blocks).unwrap_or(0).saturating_mul(512),
            inode: (st.st_dev, st.st_ino),
        }
    }

    /// The stat of an open file.
    pub fn of(file: &impl AsFd) -> io::Result<Self> {
        Ok(Self::from(&fstat(file.as_fd())?))
    }

    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }

    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }
}

/// One name in a directory, as listed.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: OsString,
    pub stat: Stat,
}

/// An open directory. Paths given to its methods are relative, made of plain names only
/// (`.` and `..` are refused), and are never resolved through a symbolic link.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `true` when `error` says a symbolic link was met on the way (and refused).
pub fn is_symlink_refusal(error: &io::Error) -> bool {
    error.raw_os_error() == Some(Errno::ELOOP as i32)
}

fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// The plain names of `relative`; anything else (`..`, a root, a prefix) is refused.
fn names(relative: &Path) -> io::Result<Vec<&OsStr>> {
    relative
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "only plain names can be resolved beneath a directory",
            )),
        })
        .collect()
}

/// Opens folder `name` in `at` as an `O_PATH` handle, refusing a symbolic link (`ELOOP`) and
/// anything but a folder (`ENOTDIR`).
fn open_folder(at: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let fd = openat(
        at,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)?;
    ensure_folder(&fd)?;
    Ok(fd)
}

fn ensure_folder(fd: &OwnedFd) -> io::Result<()> {
    match Stat::of(fd)?.kind {
        Kind::Dir => Ok(()),
        Kind::Symlink => Err(errno(Errno::ELOOP)),
        _ => Err(errno(Errno::ENOTDIR)),
    }
}

/// A single plain name (no `/`), for the calls that act on one entry.
fn single(name: &OsStr) -> io::Result<&OsStr> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.contains(&b'/') || name == "." || name == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "expected a single name in a directory",
        ));
    }
    Ok(name)
}

impl Dir {
    /// Opens a directory the server trusts (a workspace root it made, a folder of its data
    /// directory). The last component must not be a symbolic link.
    pub fn open(path: &Path) -> io::Result<Self> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        Ok(Self { fd })
    }

    /// A second handle on the same directory.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            fd: self.fd.try_clone()?,
        })
    }

    /// Opens `relative` beneath this directory with `flags` (`O_NOFOLLOW` and `O_CLOEXEC` are
    /// always added), creating it with `mode` when `flags` has `O_CREAT`.
    fn open_beneath(&self, relative: &Path, flags: OFlag, mode: Mode) -> io::Result<OwnedFd> {
        let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        // openat2 refuses a mode without O_CREAT.
        let mode = if flags.contains(OFlag::O_CREAT) {
            mode
        } else {
            Mode::empty()
        };
        let parts = names(relative)?;
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            let path: &Path = if parts.is_empty() {
                Path::new(".")
            } else {
                relative
            };
            let how = OpenHow::new().flags(flags).mode(mode).resolve(
                ResolveFlag::RESOLVE_BENEATH
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS
                    | ResolveFlag::RESOLVE_NO_XDEV,
            );
            // `EAGAIN` is the kernel unable to be sure a lookup raced by a rename stayed
            // beneath the handle. One that keeps losing takes the walk below, which holds the
            // same guarantee, rather than failing the caller.
            for _ in 0..RACE_RETRIES {
                match openat2(&self.fd, path, how) {
                    Err(Errno::EAGAIN) => continue,
                    Err(Errno::ENOSYS) => {
                        NO_OPENAT2.store(true, Ordering::Relaxed);
                        break;
                    }
                    result => return result.map_err(errno),
                }
            }
        }
        self.walk(&parts, flags, mode)
    }

    /// The component walk behind [`Self::open_beneath`] where `openat2` is missing: every
    /// folder on the way is opened with `O_NOFOLLOW` relative to the one before.
    fn walk(&self, parts: &[&OsStr], flags: OFlag, mode: Mode) -> io::Result<OwnedFd> {
        let Some((last, folders)) = parts.split_last() else {
            return openat(&self.fd, ".", flags, mode).map_err(errno);
        };
        let mut current: Option<OwnedFd> = None;
        for name in folders {
            let at = current.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
            current = Some(open_folder(at, name)?);
        }
        let at = current.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
        openat(at, *last, flags, mode).map_err(errno)
    }

    /// The folder at `relative` beneath this one.
    pub fn open_dir(&self, relative: &Path) -> io::Result<Self> {
        // `O_PATH` opens the name itself without touching what it is (a FIFO, a device); a
        // symbolic link comes back as itself and is refused here.
        let fd = self.open_beneath(relative, OFlag::O_PATH, Mode::empty())?;
        ensure_folder(&fd)?;
        Ok(Self { fd })
    }

    /// The existing file at `relative`, for reading. A FIFO opens without blocking; check
    /// what was opened with [`Stat::of`].
    pub fn open_file(&self, relative: &Path) -> io::Result<File> {
        let fd = self.open_beneath(relative, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty())?;
        Ok(File::from(fd))
    }

    /// The file at `relative` for reading and writing, created (with `mode`) when missing and
    /// never truncated: check it before changing it.
    pub fn open_file_rw(&self, relative: &Path, create: bool, mode: u32) -> io::Result<File> {
        let mut flags = OFlag::O_RDWR | OFlag::O_NONBLOCK;
        if create {
            flags |= OFlag::O_CREAT;
        }
        let fd = self.open_beneath(relative, flags, Mode::from_bits_truncate(mode))?;
        Ok(File::from(fd))
    }

    /// A new file named `name` in this folder (which must not exist), for writing.
    pub fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let fd = openat(
            &self.fd,
            single(name)?,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(mode),
        )
        .map_err(errno)?;
        Ok(File::from(fd))
    }

    /// The folder at `relative`, creating each missing folder on the way (with mode 0755);
    /// an existing symbolic link on the way fails it.
    pub fn create_dir_all(&self, relative: &Path) -> io::Result<Self> {
        let mut current = self.try_clone()?;
        for name in names(relative)? {
            match mkdirat(&current.fd, name, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(errno(e)),
            }
            current = current.open_dir(Path::new(name))?;
        }
        Ok(current)
    }

    /// Makes folder `name` here (mode 0755); `false` when something already has that name.
    pub fn create_dir(&self, name: &OsStr) -> io::Result<bool> {
        match mkdirat(&self.fd, single(name)?, Mode::from_bits_truncate(0o755)) {
            Ok(()) => Ok(true),
            Err(Errno::EEXIST) => Ok(false),
            Err(e) => Err(errno(e)),
        }
    }

    /// What `name` in this folder is, not following a link; `None` when nothing has the name.
    pub fn stat(&self, name: &OsStr) -> io::Result<Option<Stat>> {
        match fstatat(
            &self.fd,
            single(name)?,
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) => Ok(Some(Stat::from(&st))),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(errno(e)),
        }
    }

    /// Every name in this folder (without `.` and `..`), each with what it is.
    pub fn entries(&self) -> io::Result<Vec<Entry>> {
        let listing = nix::dir::Dir::openat(
            &self.fd,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        let mut out = Vec::new();
        for entry in listing {
            let entry = entry.map_err(errno)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            // Gone since it was listed: skip it, as a later listing would.
            if let Some(stat) = self.stat(name)? {
                out.push(Entry {
                    name: name.to_owned(),
                    stat,
                });
            }
        }
        Ok(out)
    }

    /// The target of the symbolic link `name` in this folder.
    pub fn read_link(&self, name: &OsStr) -> io::Result<OsString> {
        nix::fcntl::readlinkat(&self.fd, single(name)?).map_err(errno)
    }

    /// Makes `name` here a symbolic link to `target`.
    pub fn symlink(&self, target: &OsStr, name: &OsStr) -> io::Result<()> {
        nix::unistd::symlinkat(target, &self.fd, single(name)?).map_err(errno)
    }

    /// Moves `from` in this folder to `to` in `dest`, replacing what is there (unless it is a
    /// folder that is not empty).
    pub fn rename(&self, from: &OsStr, dest: &Dir, to: &OsStr) -> io::Result<()> {
        nix::fcntl::renameat(&self.fd, single(from)?, &dest.fd, single(to)?).map_err(errno)
    }

    /// Removes `name` here unless it is a folder; `false` when nothing had the name.
    pub fn remove_file(&self, name: &OsStr) -> io::Result<bool> {
        match unlinkat(&self.fd, single(name)?, UnlinkatFlags::NoRemoveDir) {
            Ok(()) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(errno(e)),
        }
    }

    /// Removes `name` here, whatever it is; a folder goes with everything in it. Returns how
    /// many entries went (0 when nothing had the name).
    pub fn remove(&self, name: &OsStr) -> io::Result<usize> {
        self.remove_at_depth(single(name)?, 0, RACE_RETRIES)
    }

    /// Removes everything in this folder (never the folder itself); returns how many entries
    /// went.
    pub fn remove_all_inside(&self) -> io::Result<usize> {
        self.empty_at_depth(0)
    }

    fn empty_at_depth(&self, depth: usize) -> io::Result<usize> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let mut removed = 0;
        for entry in self.entries()? {
            removed += self.remove_at_depth(&entry.name, depth, RACE_RETRIES)?;
        }
        Ok(removed)
    }

    /// `retries` bounds how often a name that changes kind under us is looked at again.
    fn remove_at_depth(&self, name: &OsStr, depth: usize, retries: usize) -> io::Result<usize> {
        let changed = || {
            if retries == 0 {
                Err(io::Error::other(
                    "an entry kept changing between a folder and a file while being removed",
                ))
            } else {
                self.remove_at_depth(name, depth, retries - 1)
            }
        };
        let Some(stat) = self.stat(name)? else {
            return Ok(0);
        };
        if !stat.is_dir() {
            return match unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir) {
                Ok(()) => Ok(1),
                Err(Errno::ENOENT) => Ok(0),
                Err(Errno::EISDIR) => changed(),
                Err(e) => Err(errno(e)),
            };
        }
        let inside = match self.open_dir(Path::new(name)) {
            Ok(dir) => dir.empty_at_depth(depth + 1)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            // Swapped for a link or a file since the stat.
            Err(e) if is_symlink_refusal(&e) || e.raw_os_error() == Some(Errno::ENOTDIR as i32) => {
                return changed()
            }
            Err(e) => return Err(e),
        };
        match unlinkat(&self.fd, name, UnlinkatFlags::RemoveDir) {
            Ok(()) => Ok(inside + 1),
            Err(Errno::ENOENT) => Ok(inside),
            Err(Errno::ENOTDIR | Errno::ENOTEMPTY) => changed().map(|n| n + inside),
            Err(e) => Err(errno(e)),
        }
    }
}

/// Folders nested deeper than this are refused by the recursive walks, which hold a handle
/// per level.
pub const MAX_DEPTH: usize = 256;

/// The error for a tree nested deeper than [`MAX_DEPTH`].
pub fn too_deep() -> io::Error {
    io::Error::other(format!("folders are nested more than {MAX_DEPTH} deep"))
}

#[cfg(test)]
mod tests;
