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

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::batch::Staged;
use super::{UploadEntry, UploadError};

/// See the module documentation.
pub(super) fn commit(
    upload_dir: &Path,
    id: &str,
    files: &[Staged],
) -> Result<Vec<UploadEntry>, UploadError> {
    prepare_folder(upload_dir)?;

    let mut incoming: Vec<PathBuf> = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        let transient = upload_dir.join(format!(".okcvm-incoming-{id}-{index}"));
        if let Err(e) = move_file(&file.path, &transient) {
            remove_quietly(&incoming);
            return Err(UploadError::io(format!("save {}", file.name), e));
        }
        incoming.push(transient);
    }

    let mut placed: Vec<Placed> = Vec::with_capacity(files.len());
    for (index, (file, transient)) in files.iter().zip(&incoming).enumerate() {
        let target = upload_dir.join(&file.name);
        match place(upload_dir, id, index, transient, &target) {
            Ok(set_aside) => placed.push(Placed { target, set_aside }),
            Err(e) => {
                undo(&placed);
                remove_quietly(&incoming[placed.len()..]);
                return Err(UploadError::io(format!("save {}", file.name), e));
            }
        }
    }

    let set_aside: Vec<PathBuf> = placed.into_iter().filter_map(|p| p.set_aside).collect();
    remove_quietly(&set_aside);
    Ok(files
        .iter()
        .map(|file| UploadEntry::new(&file.name, file.size))
        .collect())
}

/// A file set in place, and the upload it replaced, set aside.
struct Placed {
    target: PathBuf,
    set_aside: Option<PathBuf>,
}

/// Creates `upload/` if missing and checks it is a real folder, not a symbolic link.
fn prepare_folder(upload_dir: &Path) -> Result<(), UploadError> {
    match fs::create_dir(upload_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(UploadError::io("create the upload folder", e)),
    }
    match fs::symlink_metadata(upload_dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(UploadError::Unsafe),
        Err(e) => Err(UploadError::io("read the upload folder", e)),
    }
}

/// Renames `transient` onto `target`, first setting aside what is at `target` (unless it is a
/// folder, which the rename then refuses). Returns where the old file was set aside.
fn place(
    upload_dir: &Path,
    id: &str,
    index: usize,
    transient: &Path,
    target: &Path,
) -> io::Result<Option<PathBuf>> {
    let set_aside = match fs::symlink_metadata(target) {
        Ok(meta) if !meta.is_dir() => {
            let aside = upload_dir.join(format!(".okcvm-replaced-{id}-{index}"));
            fs::rename(target, &aside)?;
            Some(aside)
        }
        Ok(_) => None,
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Err(e) = fs::rename(transient, target) {
        if let Some(aside) = &set_aside {
            let _ = fs::rename(aside, target);
        }
        return Err(e);
    }
    Ok(set_aside)
}

/// Takes out the files set in place, latest first, and puts back what they replaced.
fn undo(placed: &[Placed]) {
    for file in placed.iter().rev() {
        let _ = fs::remove_file(&file.target);
        if let Some(aside) = &file.set_aside {
            let _ = fs::rename(aside, &file.target);
        }
    }
}

/// Moves a file, copying it when a rename can't cross file systems. `to` must not exist.
fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => copy_then_remove(from, to),
        other => other,
    }
}

/// Copies `from` to a new file `to` (refusing one that exists, link or not), then removes
/// `from`. A failed copy removes what it wrote.
fn copy_then_remove(from: &Path, to: &Path) -> io::Result<()> {
    let copied = (|| {
        let mut source = fs::File::open(from)?;
        let mut target = OpenOptions::new().write(true).create_new(true).open(to)?;
        io::copy(&mut source, &mut target)?;
        target.sync_all()
    })();
    match copied {
        Ok(()) => fs::remove_file(from),
        Err(e) => {
            if e.kind() != io::ErrorKind::AlreadyExists {
                let _ = fs::remove_file(to);
            }
            Err(e)
        }
    }
}

fn remove_quietly(paths: &[PathBuf]) {
    for path in paths {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests;
