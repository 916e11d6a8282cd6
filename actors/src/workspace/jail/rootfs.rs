//! The jail's root: the runtime programs need and nothing else of the host.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::SANDBOX_UID;

/// Entries of `/etc` programs read, copied into the jail's `/etc` where they exist. Nothing
/// here holds a secret: of `/etc/ssl` only the certificates and OpenSSL's configuration are
/// taken (its `private/` folder holds keys).
const ETC: &[&str] = &[
    "alternatives",
    "bash.bashrc",
    "ca-certificates",
    "ca-certificates.conf",
    "chromium",
    "chromium.d",
    "debian_version",
    "fonts",
    "gai.conf",
    "host.conf",
    "inputrc",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "magic",
    "matplotlibrc",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "protocols",
    "services",
    "ssl/certs",
    "ssl/openssl.cnf",
    "timezone",
];

/// Top-level names that are, on merged-/usr systems, links into `/usr`.
const USR_LINKS: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// Builds the jail's `/etc` under `run_dir/jail-etc` and returns that folder: copies of the
/// entries of [`ETC`] and of the interpreter's configuration (world-readable files only, links
/// kept as links), and its own `passwd`, `group` and `hosts` (one user, the sandbox's; no host
/// account appears in the jail). One folder bound whole costs a jail one mount instead of one
/// per entry.
///
/// The folder follows the host's updates: it is rebuilt whenever what it is made of changed
/// (every source entry's kind, mode, size, modification time and link target, and the files
/// written here), and kept as it is otherwise, since making its hundreds of entries anew is
/// most of a start on a slow disk.
pub(super) fn prepare_etc(run_dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(run_dir)?;
    // bubblewrap needs absolute sources.
    let run_dir = run_dir.canonicalize()?;
    let dir = run_dir.join("jail-etc");
    let stamp = run_dir.join("jail-etc.stamp");
    let host = Path::new("/etc");
    let names = source_names(host);
    let files = own_files();
    let fingerprint = fingerprint(host, &names, &files)?;
    if dir.is_dir() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&fingerprint) {
        return Ok(dir);
    }
    let staged = run_dir.join(".jail-etc.new");
    if staged.exists() {
        std::fs::remove_dir_all(&staged)?;
    }
    std::fs::create_dir(&staged)?;
    for name in &names {
        let from = host.join(name);
        if std::fs::symlink_metadata(&from).is_err() {
            continue;
        }
        let to = staged.join(name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        copy_public(&from, &to)?;
    }
    for (name, text) in &files {
        std::fs::write(staged.join(name), text)?;
    }
    // The stamp goes first: a start cut short between the two steps rebuilds the folder.
    let _ = std::fs::remove_file(&stamp);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&staged, &dir)?;
    std::fs::write(&stamp, fingerprint)?;
    Ok(dir)
}

/// The entries of `host` (`/etc`) the jail's `/etc` is copied from.
fn source_names(host: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = ETC.iter().map(PathBuf::from).collect();
    if let Ok(entries) = std::fs::read_dir(host) {
        let mut python: Vec<PathBuf> = entries
            .flatten()
            .map(|e| PathBuf::from(e.file_name()))
            .filter(|name| name.to_string_lossy().starts_with("python3"))
            .collect();
        python.sort();
        names.extend(python);
    }
    names
}

/// The files the jail's `/etc` gets from us rather than from the host.
fn own_files() -> [(&'static str, String); 3] {
    [
        (
            "passwd",
            format!(
                "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n\
                 okcomputer:x:{SANDBOX_UID}:{SANDBOX_UID}:OK Computer:/mnt/okcomputer:/bin/bash\n\
                 nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
            ),
        ),
        (
            "group",
            format!("root:x:0:\nokcomputer:x:{SANDBOX_UID}:\nnogroup:x:65534:\n"),
        ),
        (
            "hosts",
            "127.0.0.1\tlocalhost okcomputer\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                .to_owned(),
        ),
    ]
}

/// A digest of everything the jail's `/etc` is made of, read with `lstat` and `readlink`
/// only (no file is opened).
fn fingerprint(
    host: &Path,
    names: &[PathBuf],
    files: &[(&str, String)],
) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for (name, text) in files {
        digest.update(format!("file {name} {}\n", text.len()));
        digest.update(text.as_bytes());
    }
    let mut stack: Vec<PathBuf> = names.iter().rev().map(|n| host.join(n)).collect();
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            digest.update(format!("missing {}\n", path.display()));
            continue;
        };
        let kind = meta.file_type();
        let target = if kind.is_symlink() {
            std::fs::read_link(&path)?.display().to_string()
        } else {
            String::new()
        };
        digest.update(format!(
            "{} {:?} {:o} {} {}.{} {target}\n",
            path.display(),
            kind,
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()),
            meta.len(),
            std::os::unix::fs::MetadataExt::mtime(&meta),
            std::os::unix::fs::MetadataExt::mtime_nsec(&meta),
        ));
        if meta.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&path)?
                .flatten()
                .map(|e| e.path())
                .collect();
            children.sort();
            stack.extend(children.into_iter().rev());
        }
    }
    Ok(digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Copies `from` to `to`: folders whole, links as links, files only when anyone may read them
/// (nothing private of the host's reaches the jail through a copy).
fn copy_public(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else if meta.is_dir() {
        std::fs::create_dir(to)?;
        for entry in std::fs::read_dir(from)?.flatten() {
            copy_public(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else if meta.is_file() && meta.permissions().mode() & 0o004 != 0 {
        std::fs::copy(from, to).map(|_| ())
    } else {
        Ok(())
    }
}

/// bubblewrap's options for everything but the workspace and the command: namespaces, the
/// read-only root, `/proc`, `/dev` and `/tmp`.
pub(super) fn base_args(etc: &Path, tmp_bytes: u64) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--unshare-user",
        "--uid",
        &SANDBOX_UID.to_string(),
        "--gid",
        &SANDBOX_UID.to_string(),
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup",
        "--unshare-net",
        "--hostname",
        "okcomputer",
        "--disable-userns",
        "--cap-drop",
        "ALL",
        "--new-session",
        "--die-with-parent",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    for name in USR_LINKS {
        let host = Path::new("/").join(name);
        match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(&host) {
                    args.extend(["--symlink".into(), target.into(), host.into()]);
                }
            }
            Ok(meta) if meta.is_dir() => {
                args.extend(["--ro-bind".into(), host.clone().into(), host.into()]);
            }
            _ => {}
        }
    }
    args.extend(["--ro-bind".into(), etc.into(), "/etc".into()]);
    args.extend(
        [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--perms",
            "1777",
            "--size",
            &tmp_bytes.max(1 << 20).to_string(),
            "--tmpfs",
            "/tmp",
            "--symlink",
            "/tmp",
            "/var/tmp",
        ]
        .iter()
        .map(OsString::from),
    );
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jails_etc_is_kept_while_its_sources_are_unchanged_and_rebuilt_when_they_change() {
        let run = tempfile::tempdir().unwrap();
        let dir = prepare_etc(run.path()).unwrap();
        assert!(dir.join("passwd").is_file());
        // A file the build would not make: it survives a start that keeps the folder...
        std::fs::write(dir.join("kept-marker"), "x").unwrap();
        assert_eq!(prepare_etc(run.path()).unwrap(), dir);
        assert!(dir.join("kept-marker").exists(), "the folder was rebuilt");
        // ...and goes when what the folder was made from is not what it is now.
        std::fs::write(run.path().join("jail-etc.stamp"), "an older host").unwrap();
        prepare_etc(run.path()).unwrap();
        assert!(!dir.join("kept-marker").exists(), "the folder was kept");
        assert!(dir.join("passwd").is_file());
    }

    #[test]
    fn the_fingerprint_follows_contents_modes_links_and_new_entries() {
        let host = tempfile::tempdir().unwrap();
        std::fs::create_dir(host.path().join("folder")).unwrap();
        std::fs::write(host.path().join("folder/a"), "one").unwrap();
        std::os::unix::fs::symlink("a", host.path().join("folder/link")).unwrap();
        let names = [PathBuf::from("folder")];
        let files = own_files();
        let print = || fingerprint(host.path(), &names, &files).unwrap();
        let first = print();
        assert_eq!(print(), first, "the same tree gives the same fingerprint");
        let mut seen = vec![first];
        let mut changed = |change: &dyn Fn()| {
            change();
            let now = print();
            assert!(
                !seen.contains(&now),
                "a change left the fingerprint as it was"
            );
            seen.push(now);
        };
        changed(&|| std::fs::write(host.path().join("folder/a"), "one more").unwrap());
        changed(&|| {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(host.path().join("folder/a"), mode).unwrap();
        });
        changed(&|| {
            std::fs::remove_file(host.path().join("folder/link")).unwrap();
            std::os::unix::fs::symlink("b", host.path().join("folder/link")).unwrap();
        });
        changed(&|| std::fs::write(host.path().join("folder/new"), "").unwrap());
    }
}
