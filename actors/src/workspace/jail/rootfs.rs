//! The jail's root: the runtime programs need and nothing else of the host.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::SANDBOX_UID;

/// Entries of `/etc` programs read, bound read-only where they exist. Nothing here holds a
/// secret: `/etc/ssl` is bound by its certificates only (its `private/` folder holds keys).
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

/// Writes the jail's own `passwd`, `group` and `hosts` under `run_dir/jail-etc` (one user, the
/// sandbox's; no host account appears in the jail) and returns that folder.
pub(super) fn generate_etc(run_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = run_dir.join("jail-etc");
    std::fs::create_dir_all(&dir)?;
    // bubblewrap needs absolute sources.
    let dir = dir.canonicalize()?;
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
        let path = dir.join(name);
        // Written whole, then renamed, so a jail starting meanwhile sees the old or the new.
        let staged = dir.join(format!(".{name}.new"));
        std::fs::write(&staged, text)?;
        std::fs::rename(&staged, &path)?;
    }
    Ok(dir)
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
    for name in ETC {
        let host = Path::new("/etc").join(name);
        if host.exists() {
            args.extend(["--ro-bind".into(), host.clone().into(), host.into()]);
        }
    }
    // The interpreter's own configuration (`/etc/python3`, `/etc/python3.11`, ...).
    if let Ok(entries) = std::fs::read_dir("/etc") {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("python3") {
                let host = entry.path();
                args.extend(["--ro-bind".into(), host.clone().into(), host.into()]);
            }
        }
    }
    for name in ["passwd", "group", "hosts"] {
        args.extend([
            "--ro-bind".into(),
            etc.join(name).into(),
            Path::new("/etc").join(name).into(),
        ]);
    }
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
