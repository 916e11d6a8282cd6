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
/// per entry; it is rebuilt at every start, so it follows the host's updates then.
pub(super) fn prepare_etc(run_dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(run_dir)?;
    // bubblewrap needs absolute sources.
    let run_dir = run_dir.canonicalize()?;
    let dir = run_dir.join("jail-etc");
    let staged = run_dir.join(".jail-etc.new");
    if staged.exists() {
        std::fs::remove_dir_all(&staged)?;
    }
    std::fs::create_dir(&staged)?;
    let host = Path::new("/etc");
    let mut names: Vec<PathBuf> = ETC.iter().map(PathBuf::from).collect();
    if let Ok(entries) = std::fs::read_dir(host) {
        names.extend(
            entries
                .flatten()
                .map(|e| PathBuf::from(e.file_name()))
                .filter(|name| name.to_string_lossy().starts_with("python3")),
        );
    }
    for name in names {
        let from = host.join(&name);
        if std::fs::symlink_metadata(&from).is_err() {
            continue;
        }
        let to = staged.join(&name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        copy_public(&from, &to)?;
    }
    let files = [
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
    ];
    for (name, text) in files {
        std::fs::write(staged.join(name), text)?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&staged, &dir)?;
    Ok(dir)
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
