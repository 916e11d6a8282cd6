use std::fs;
use std::io::Read;
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

fn read_err(ws: &Workspace, path: &str) -> PathError {
    ws.open_existing(path).unwrap_err()
}

fn write_err(ws: &Workspace, path: &str) -> PathError {
    ws.open_for_write(path).unwrap_err()
}

fn content(opened: OpenedFile) -> String {
    let mut text = String::new();
    let mut file = opened.file;
    file.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn mount_paths_and_relative_paths_map_into_the_root() {
    let (_dir, ws) = workspace();
    fs::write(ws.root().join("output/a.txt"), "a").unwrap();
    for given in [
        "/mnt/okcomputer/output/a.txt",
        "output/a.txt",
        "./output/../output/a.txt",
        "/mnt/okcomputer/../okcomputer/output/a.txt",
    ] {
        let opened = ws.open_existing(given).unwrap();
        assert_eq!(opened.relative, Path::new("output/a.txt"), "{given}");
        assert_eq!(opened.shown, "/mnt/okcomputer/output/a.txt", "{given}");
        assert_eq!(content(opened), "a", "{given}");
    }
    let (_, shown) = ws.open_existing_dir("/mnt/okcomputer").unwrap();
    assert_eq!(shown, "/mnt/okcomputer");
}

#[test]
fn absolute_paths_outside_the_mount_are_refused_for_read_and_write() {
    let (_dir, ws) = workspace();
    for given in ["/etc/passwd", "/mnt/okcomputerx/a", "/mnt", "/"] {
        assert_eq!(read_err(&ws, given), outside(given), "{given}");
        assert_eq!(write_err(&ws, given), outside(given), "{given}");
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
        assert_eq!(read_err(&ws, given), outside(given), "{given}");
        assert_eq!(write_err(&ws, given), outside(given), "{given}");
    }
}

#[test]
fn the_refusal_names_the_path_and_says_it_is_outside_the_workspace() {
    let (_dir, ws) = workspace();
    let message = read_err(&ws, "/etc/passwd").to_string();
    assert!(
        message.starts_with("/etc/passwd is outside the workspace"),
        "{message}"
    );
}

#[test]
fn empty_paths_and_nul_bytes_are_refused() {
    let (_dir, ws) = workspace();
    assert_eq!(read_err(&ws, ""), PathError::Empty);
    assert_eq!(write_err(&ws, ""), PathError::Empty);
    assert_eq!(read_err(&ws, "a\0b"), PathError::NulByte);
    assert_eq!(write_err(&ws, "a\0b"), PathError::NulByte);
}

#[test]
fn a_symlinked_file_is_refused_for_read_and_write_naming_the_link() {
    let (dir, ws) = workspace();
    let secret = outside_file(&dir);
    symlink(&secret, ws.root().join("link.txt")).unwrap();
    let refused = PathError::Symlink {
        path: "/mnt/okcomputer/link.txt".into(),
        link: "/mnt/okcomputer/link.txt".into(),
        target: "a path outside the workspace".into(),
    };
    assert_eq!(read_err(&ws, "link.txt"), refused);
    assert_eq!(write_err(&ws, "link.txt"), refused);
    assert_eq!(fs::read_to_string(&secret).unwrap(), "secret");
}

#[test]
fn a_symlinked_directory_is_refused_for_read_and_write_before_anything_is_made() {
    let (dir, ws) = workspace();
    outside_file(&dir);
    symlink(dir.path(), ws.root().join("escape")).unwrap();
    let refused = |path: &str| PathError::Symlink {
        path: path.into(),
        link: "/mnt/okcomputer/escape".into(),
        target: "a path outside the workspace".into(),
    };
    assert_eq!(
        read_err(&ws, "escape/secret.txt"),
        refused("/mnt/okcomputer/escape/secret.txt")
    );
    // Writing a new file (and new folders) through the link is refused before anything is made.
    assert_eq!(
        write_err(&ws, "/mnt/okcomputer/escape/new/file.txt"),
        refused("/mnt/okcomputer/escape/new/file.txt")
    );
    assert!(!dir.path().join("new").exists());
    // A missing file behind the link is reported as behind a link, not as missing.
    assert!(matches!(
        read_err(&ws, "escape/missing.txt"),
        PathError::Symlink { .. }
    ));
}

#[test]
fn a_dangling_symlink_is_not_written_through() {
    let (dir, ws) = workspace();
    symlink(dir.path().join("not-yet"), ws.root().join("dangling")).unwrap();
    assert!(matches!(
        write_err(&ws, "dangling"),
        PathError::Symlink { .. }
    ));
    assert!(!dir.path().join("not-yet").exists());
}

#[test]
fn symlinks_inside_the_workspace_are_not_followed_and_the_message_names_their_target() {
    let (_dir, ws) = workspace();
    fs::write(ws.root().join("output/real.txt"), "x").unwrap();
    symlink("real.txt", ws.root().join("output/alias.txt")).unwrap();
    let error = read_err(&ws, "output/alias.txt");
    assert_eq!(
        error,
        PathError::Symlink {
            path: "/mnt/okcomputer/output/alias.txt".into(),
            link: "/mnt/okcomputer/output/alias.txt".into(),
            target: "real.txt".into(),
        }
    );
    assert!(error
        .to_string()
        .contains("Use the path the link points to"));
}

#[test]
fn a_file_with_another_hard_link_is_refused_for_read_and_write() {
    let (dir, ws) = workspace();
    let secret = outside_file(&dir);
    fs::hard_link(&secret, ws.root().join("upload/linked.txt")).unwrap();
    let refused = PathError::HardLinked {
        path: "/mnt/okcomputer/upload/linked.txt".into(),
    };
    assert_eq!(read_err(&ws, "upload/linked.txt"), refused);
    assert_eq!(write_err(&ws, "upload/linked.txt"), refused);
}

#[test]
fn writing_creates_missing_folders_inside_the_workspace() {
    let (_dir, ws) = workspace();
    let opened = ws
        .open_for_write("/mnt/okcomputer/output/a/b/c.txt")
        .unwrap();
    assert!(opened.created);
    assert_eq!(opened.relative, Path::new("output/a/b/c.txt"));
    assert!(ws.root().join("output/a/b/c.txt").is_file());
    assert!(!ws.open_for_write("output/a/b/c.txt").unwrap().created);
}

#[test]
fn writing_to_a_directory_or_under_a_file_is_refused() {
    let (_dir, ws) = workspace();
    fs::write(ws.root().join("file"), "x").unwrap();
    assert_eq!(
        write_err(&ws, "output"),
        PathError::IsDirectory {
            path: "/mnt/okcomputer/output".into()
        }
    );
    assert_eq!(
        write_err(&ws, "/mnt/okcomputer"),
        PathError::IsDirectory {
            path: "/mnt/okcomputer".into()
        }
    );
    assert_eq!(
        write_err(&ws, "file/x.txt"),
        PathError::NotADirectory {
            path: "/mnt/okcomputer/file".into()
        }
    );
}

#[test]
fn a_missing_file_is_reported_in_the_agents_view() {
    let (_dir, ws) = workspace();
    let error = read_err(&ws, "output/none.txt");
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

/// Swaps `output/d` between a real folder and a link to `outside` until stopped.
fn swap_folder(
    root: PathBuf,
    outside: PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let d = root.join("output/d");
        let real = root.join("output/d.real");
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = fs::rename(&d, &real);
            let _ = symlink(&outside, &d);
            let _ = fs::remove_file(&d);
            let _ = fs::rename(&real, &d);
        }
    })
}

#[test]
fn the_file_tools_paths_never_lead_outside_while_a_folder_is_raced_into_a_symlink() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (dir, ws) = workspace();
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("f.txt"), "CANARY").unwrap();
    fs::create_dir_all(ws.root().join("output/d")).unwrap();
    fs::write(ws.root().join("output/d/f.txt"), "inside").unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let swapping = swap_folder(ws.root().to_path_buf(), outside.clone(), stop.clone());
    for i in 0..2000 {
        if let Ok(opened) = ws.open_existing("output/d/f.txt") {
            assert_eq!(content(opened), "inside");
        }
        if let Ok(opened) = ws.open_for_write(&format!("output/d/new/{i}.txt")) {
            drop(opened);
        }
        if let Ok(opened) = ws.open_for_write("output/d/f.txt") {
            use std::io::Write;
            let mut file = opened.file;
            file.write_all(b"inside").unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapping.join().unwrap();
    assert_eq!(fs::read_to_string(outside.join("f.txt")).unwrap(), "CANARY");
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        1,
        "nothing was made outside"
    );
}
