use std::os::unix::fs::symlink;

use super::*;
use crate::workspace::Workspace;

fn workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path().join("ws")).unwrap();
    (dir, ws)
}

/// A file outside the workspace (beside it, in the temporary directory).
fn outside_file(dir: &tempfile::TempDir) -> PathBuf {
    let secret = dir.path().join("secret.txt");
    fs::write(&secret, "secret").unwrap();
    secret
}

fn outside(path: &str) -> PathError {
    PathError::Outside {
        path: path.to_owned(),
    }
}

#[test]
fn mount_paths_and_relative_paths_map_into_the_root() {
    let (_dir, ws) = workspace();
    fs::write(ws.root().join("output/a.txt"), "a").unwrap();
    let expected = ws.root().join("output/a.txt");
    for given in [
        "/mnt/okcomputer/output/a.txt",
        "output/a.txt",
        "./output/../output/a.txt",
        "/mnt/okcomputer/../okcomputer/output/a.txt",
    ] {
        assert_eq!(ws.resolve_existing(given), Ok(expected.clone()), "{given}");
    }
    assert_eq!(
        ws.resolve_existing("/mnt/okcomputer"),
        Ok(ws.root().to_path_buf())
    );
}

#[test]
fn absolute_paths_outside_the_mount_are_refused_for_read_and_write() {
    let (_dir, ws) = workspace();
    for given in ["/etc/passwd", "/mnt/okcomputerx/a", "/mnt", "/"] {
        assert_eq!(ws.resolve_existing(given), Err(outside(given)), "{given}");
        assert_eq!(ws.resolve_for_write(given), Err(outside(given)), "{given}");
    }
}

#[test]
fn parent_steps_that_escape_are_refused_for_read_and_write() {
    let (_dir, ws) = workspace();
    for given in [
        "/mnt/okcomputer/../etc",
        "../x",
        "a/../../x",
        "output/../../ws/x",
    ] {
        assert_eq!(ws.resolve_existing(given), Err(outside(given)), "{given}");
        assert_eq!(ws.resolve_for_write(given), Err(outside(given)), "{given}");
    }
}

#[test]
fn the_refusal_names_the_path_and_says_it_is_outside_the_workspace() {
    let (_dir, ws) = workspace();
    let message = ws.resolve_existing("/etc/passwd").unwrap_err().to_string();
    assert!(
        message.starts_with("/etc/passwd is outside the workspace"),
        "{message}"
    );
}

#[test]
fn empty_paths_and_nul_bytes_are_refused() {
    let (_dir, ws) = workspace();
    assert_eq!(ws.resolve_existing(""), Err(PathError::Empty));
    assert_eq!(ws.resolve_for_write(""), Err(PathError::Empty));
    assert_eq!(ws.resolve_existing("a\0b"), Err(PathError::NulByte));
    assert_eq!(ws.resolve_for_write("a\0b"), Err(PathError::NulByte));
}

#[test]
fn a_symlinked_file_pointing_outside_is_refused_for_read_and_write() {
    let (dir, ws) = workspace();
    symlink(outside_file(&dir), ws.root().join("link.txt")).unwrap();
    let refused = PathError::SymlinkOutside {
        path: "/mnt/okcomputer/link.txt".into(),
    };
    assert_eq!(ws.resolve_existing("link.txt"), Err(refused.clone()));
    assert_eq!(ws.resolve_for_write("link.txt"), Err(refused));
}

#[test]
fn a_symlinked_directory_pointing_outside_is_refused_for_read_and_write() {
    let (dir, ws) = workspace();
    outside_file(&dir);
    symlink(dir.path(), ws.root().join("escape")).unwrap();
    assert_eq!(
        ws.resolve_existing("escape/secret.txt"),
        Err(PathError::SymlinkOutside {
            path: "/mnt/okcomputer/escape/secret.txt".into()
        })
    );
    // Writing a new file (and new folders) through the link is refused before anything is made.
    assert_eq!(
        ws.resolve_for_write("/mnt/okcomputer/escape/new/file.txt"),
        Err(PathError::SymlinkOutside {
            path: "/mnt/okcomputer/escape".into()
        })
    );
    assert!(!dir.path().join("new").exists());
    // A missing file behind the link is reported as outside, not as missing.
    assert!(matches!(
        ws.resolve_existing("escape/missing.txt"),
        Err(PathError::SymlinkOutside { .. })
    ));
}

#[test]
fn a_dangling_symlink_is_not_written_through() {
    let (dir, ws) = workspace();
    symlink(dir.path().join("not-yet"), ws.root().join("dangling")).unwrap();
    assert_eq!(
        ws.resolve_for_write("dangling"),
        Err(PathError::DanglingSymlink {
            path: "/mnt/okcomputer/dangling".into()
        })
    );
    assert!(!dir.path().join("not-yet").exists());
}

#[test]
fn symlinks_inside_the_workspace_resolve_to_their_target() {
    let (_dir, ws) = workspace();
    fs::write(ws.root().join("output/real.txt"), "x").unwrap();
    symlink(ws.root().join("output"), ws.root().join("out")).unwrap();
    symlink("real.txt", ws.root().join("output/alias.txt")).unwrap();
    let real = ws.root().join("output/real.txt");
    assert_eq!(ws.resolve_existing("out/real.txt"), Ok(real.clone()));
    assert_eq!(ws.resolve_for_write("output/alias.txt"), Ok(real));
}

#[test]
fn a_file_with_another_hard_link_is_refused_for_read_and_write() {
    let (dir, ws) = workspace();
    let secret = outside_file(&dir);
    fs::hard_link(&secret, ws.root().join("upload/linked.txt")).unwrap();
    let refused = PathError::HardLinked {
        path: "/mnt/okcomputer/upload/linked.txt".into(),
    };
    assert_eq!(
        ws.resolve_existing("upload/linked.txt"),
        Err(refused.clone())
    );
    assert_eq!(ws.resolve_for_write("upload/linked.txt"), Err(refused));
}

#[test]
fn writing_creates_missing_folders_inside_the_workspace() {
    let (_dir, ws) = workspace();
    let path = ws
        .resolve_for_write("/mnt/okcomputer/output/a/b/c.txt")
        .unwrap();
    assert_eq!(path, ws.root().join("output/a/b/c.txt"));
    assert!(ws.root().join("output/a/b").is_dir());
    assert!(!path.exists());
}

#[test]
fn writing_to_a_directory_or_under_a_file_is_refused() {
    let (_dir, ws) = workspace();
    fs::write(ws.root().join("file"), "x").unwrap();
    assert_eq!(
        ws.resolve_for_write("output"),
        Err(PathError::IsDirectory {
            path: "/mnt/okcomputer/output".into()
        })
    );
    assert_eq!(
        ws.resolve_for_write("/mnt/okcomputer"),
        Err(PathError::IsDirectory {
            path: "/mnt/okcomputer".into()
        })
    );
    assert_eq!(
        ws.resolve_for_write("file/x.txt"),
        Err(PathError::NotADirectory {
            path: "/mnt/okcomputer/file".into()
        })
    );
}

#[test]
fn a_missing_file_is_reported_in_the_agents_view() {
    let (_dir, ws) = workspace();
    let error = ws.resolve_existing("output/none.txt").unwrap_err();
    assert_eq!(
        error,
        PathError::NotFound {
            path: "/mnt/okcomputer/output/none.txt".into(),
            parent: "/mnt/okcomputer/output".into()
        }
    );
    assert!(!error.to_string().contains(&*ws.root().to_string_lossy()));
}

#[test]
fn host_paths_are_shown_under_the_mount() {
    let (dir, ws) = workspace();
    assert_eq!(
        ws.agent_path(&ws.root().join("output/a.md")),
        "/mnt/okcomputer/output/a.md"
    );
    assert_eq!(ws.agent_path(ws.root()), "/mnt/okcomputer");
    assert!(!ws.agent_path(dir.path()).contains('/'));
    let text = format!("cd {}/output && ls", ws.root().display());
    assert_eq!(ws.to_agent_view(&text), "cd /mnt/okcomputer/output && ls");
}
