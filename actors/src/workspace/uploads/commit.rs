//! Moving a batch's staged files into `upload/`, all or nothing.
//!
//! Three steps, on the blocking pool:
//! 1. bring each staged file into `upload/` under a transient dot name (a rename, or a copy
//!    when the staging folder is on another file system). A failure here has touched no upload;
//! 2. set each file in place: an upload of the same name is first renamed aside to a dot name,
//!    then the transient file renamed to the upload's name. Both are renames within one folder,
//!    so each is atomic, and a failure can be undone: the files set in place are removed and
//!    the ones set aside renamed back;
//! 3. delete the set-aside files.
//!
//! Renaming onto a name replaces a symbolic link there instead of following it, and a copy
//! only ever creates a new file, so nothing is written through a link.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::Path;

use super::batch::Staged;
use super::{UploadEntry, UploadError, UPLOAD_DIR};
use crate::workspace::dir::{is_symlink_refusal, Dir};

/// See the module documentation.
pub(super) fn commit(
    workspace_root: &Path,
    id: &str,
    files: &[Staged],
) -> Result<Vec<UploadEntry>, UploadError> {
    let upload = prepare_folder(workspace_root)?;

    let mut incoming: Vec<OsString> = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        let transient = OsString::from(format!(".okcvm-incoming-{id}-{index}"));
        if let Err(e) = move_file(&file.path, &upload, &transient) {
            remove_quietly(&upload, &incoming);
            return Err(UploadError::io(format!("save {}", file.name), e));
        }
        incoming.push(transient);
    }

    let mut placed: Vec<Placed> = Vec::with_capacity(files.len());
    for (index, (file, transient)) in files.iter().zip(&incoming).enumerate() {
        let target = OsString::from(&file.name);
        match place(&upload, id, index, transient, &target) {
            Ok(set_aside) => placed.push(Placed { target, set_aside }),
            Err(e) => {
                undo(&upload, &placed);
                remove_quietly(&upload, &incoming[placed.len()..]);
                return Err(UploadError::io(format!("save {}", file.name), e));
            }
        }
    }

    let set_aside: Vec<OsString> = placed.into_iter().filter_map(|p| p.set_aside).collect();
    remove_quietly(&upload, &set_aside);
    Ok(files
        .iter()
        .map(|file| UploadEntry::new(&file.name, file.size))
        .collect())
}

/// A file set in place, and the upload it replaced, set aside (names in `upload/`).
struct Placed {
    target: OsString,
    set_aside: Option<OsString>,
}

/// `upload/`, created if missing, opened beneath the workspace: a symbolic link or a file in
/// its place is refused, and every later step works through this handle, so a link swapped in
/// afterwards changes nothing.
fn prepare_folder(workspace_root: &Path) -> Result<Dir, UploadError> {
    let root = Dir::open(workspace_root).map_err(|e| UploadError::io("open the workspace", e))?;
    match root.create_dir_all(Path::new(UPLOAD_DIR)) {
        Ok(dir) => Ok(dir),
        Err(e) if is_symlink_refusal(&e) || e.raw_os_error() == Some(libc::ENOTDIR) => {
            Err(UploadError::Unsafe)
        }
        Err(e) => Err(UploadError::io("create the upload folder", e)),
    }
}

/// Renames `transient` onto `target` (both in `upload`), first setting aside what is at
/// `target` (unless it is a folder, which the rename then refuses). Returns the name the old
/// file was set aside under.
fn place(
    upload: &Dir,
    id: &str,
    index: usize,
    transient: &OsStr,
    target: &OsStr,
) -> io::Result<Option<OsString>> {
    let set_aside = match upload.stat(target)? {
        Some(stat) if !stat.is_dir() => {
            let aside = OsString::from(format!(".okcvm-replaced-{id}-{index}"));
            upload.rename(target, upload, &aside)?;
            Some(aside)
        }
        _ => None,
    };
    if let Err(e) = upload.rename(transient, upload, target) {
        if let Some(aside) = &set_aside {
            let _ = upload.rename(aside, upload, target);
        }
        return Err(e);
    }
    Ok(set_aside)
}

/// Takes out the files set in place, latest first, and puts back what they replaced.
fn undo(upload: &Dir, placed: &[Placed]) {
    for file in placed.iter().rev() {
        let _ = upload.remove_file(&file.target);
        if let Some(aside) = &file.set_aside {
            let _ = upload.rename(aside, upload, &file.target);
        }
    }
}

/// Moves the staged file `from` (outside the workspace) to the new name `to` in `upload`,
/// copying it when a rename can't cross file systems.
fn move_file(from: &Path, upload: &Dir, to: &OsStr) -> io::Result<()> {
    let (Some(folder), Some(name)) = (from.parent(), from.file_name()) else {
        return Err(io::Error::other("a staged file has no folder"));
    };
    let staging = Dir::open(folder)?;
    match staging.rename(name, upload, to) {
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => copy_then_remove(from, upload, to),
        other => other,
    }
}

/// Copies `from` to the new name `to` in `upload` (refusing one that exists, link or not),
/// then removes `from`. A failed copy removes what it wrote.
fn copy_then_remove(from: &Path, upload: &Dir, to: &OsStr) -> io::Result<()> {
    let copied = (|| {
        let mut source = fs::File::open(from)?;
        let mut target = upload.create_new(to, 0o644)?;
        io::copy(&mut source, &mut target)?;
        target.sync_all()
    })();
    match copied {
        Ok(()) => fs::remove_file(from),
        Err(e) => {
            if e.kind() != io::ErrorKind::AlreadyExists {
                let _ = upload.remove_file(to);
            }
            Err(e)
        }
    }
}

fn remove_quietly(upload: &Dir, names: &[OsString]) {
    for name in names {
        let _ = upload.remove_file(name);
    }
}

#[cfg(test)]
mod tests;
