use std::io::Read;
use std::os::unix::fs::symlink;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::*;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    outside: std::path::PathBuf,
}

/// A workspace folder and, beside it, an outside folder holding `canary.txt`.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("d/canary.txt"), "inside").unwrap();
    std::fs::write(outside.join("canary.txt"), "CANARY").unwrap();
    Fixture {
        _tmp: tmp,
        root,
        outside,
    }
}

fn read(file: File) -> String {
    let mut text = String::new();
    let mut file = file;
    file.read_to_string(&mut text).unwrap();
    text
}

fn walked(dir: &Dir, relative: &str) -> io::Result<File> {
    let parts = names(Path::new(relative))?;
    dir.walk(&parts, OFlag::O_RDONLY | OFlag::O_NOFOLLOW, Mode::empty())
        .map(File::from)
}

#[test]
fn a_file_beneath_the_handle_opens_by_kernel_resolution_and_by_the_walk() {
    let fx = fixture();
    let dir = Dir::open(&fx.root).unwrap();
    assert_eq!(
        read(dir.open_file(Path::new("d/canary.txt")).unwrap()),
        "inside"
    );
    assert_eq!(read(walked(&dir, "d/canary.txt").unwrap()), "inside");
}

#[test]
fn a_symlinked_folder_on_the_path_is_refused_not_followed() {
    let fx = fixture();
    symlink(&fx.outside, fx.root.join("out")).unwrap();
    symlink("d", fx.root.join("inner")).unwrap();
    let dir = Dir::open(&fx.root).unwrap();
    for path in ["out/canary.txt", "inner/canary.txt"] {
        let error = dir.open_file(Path::new(path)).unwrap_err();
        assert!(is_symlink_refusal(&error), "{path}: {error}");
        let error = walked(&dir, path).unwrap_err();
        assert!(is_symlink_refusal(&error), "{path} walked: {error}");
        assert!(dir.open_dir(Path::new(path).parent().unwrap()).is_err());
    }
}

#[test]
fn a_symlinked_file_is_refused_not_followed() {
    let fx = fixture();
    symlink(fx.outside.join("canary.txt"), fx.root.join("link.txt")).unwrap();
    let dir = Dir::open(&fx.root).unwrap();
    let error = dir.open_file(Path::new("link.txt")).unwrap_err();
    assert!(is_symlink_refusal(&error), "{error}");
    let error = dir
        .open_file_rw(Path::new("link.txt"), true, 0o644)
        .unwrap_err();
    assert!(is_symlink_refusal(&error), "{error}");
    assert_eq!(
        std::fs::read_to_string(fx.outside.join("canary.txt")).unwrap(),
        "CANARY"
    );
}

#[test]
fn parent_steps_and_absolute_paths_are_refused() {
    let fx = fixture();
    let dir = Dir::open(&fx.root).unwrap();
    for path in [
        "../outside/canary.txt",
        "d/../../outside/canary.txt",
        "/etc/hostname",
    ] {
        assert!(dir.open_file(Path::new(path)).is_err(), "{path}");
    }
}

#[test]
fn creating_folders_stops_at_a_symlink_on_the_way() {
    let fx = fixture();
    symlink(&fx.outside, fx.root.join("out")).unwrap();
    let dir = Dir::open(&fx.root).unwrap();
    let error = dir.create_dir_all(Path::new("out/new")).unwrap_err();
    assert!(is_symlink_refusal(&error), "{error}");
    assert!(!fx.outside.join("new").exists());
    let made = dir.create_dir_all(Path::new("a/b/c")).unwrap();
    made.create_new(OsStr::new("f.txt"), 0o644).unwrap();
    assert!(fx.root.join("a/b/c/f.txt").is_file());
}

#[test]
fn listing_reports_links_as_links_and_removing_never_follows_them() {
    let fx = fixture();
    symlink(&fx.outside, fx.root.join("d/out")).unwrap();
    let dir = Dir::open(&fx.root).unwrap();
    let d = dir.open_dir(Path::new("d")).unwrap();
    let mut kinds: Vec<_> = d
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| (e.name.to_string_lossy().into_owned(), e.stat.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kinds,
        [
            ("canary.txt".into(), Kind::File),
            ("out".into(), Kind::Symlink)
        ]
    );
    assert_eq!(dir.remove_all_inside().unwrap(), 3);
    assert_eq!(std::fs::read_dir(&fx.root).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_to_string(fx.outside.join("canary.txt")).unwrap(),
        "CANARY"
    );
}

#[test]
fn a_tree_nested_past_the_limit_is_refused_by_the_recursive_walks() {
    let fx = fixture();
    let dir = Dir::open(&fx.root).unwrap();
    let deep: std::path::PathBuf = std::iter::repeat_n("n", MAX_DEPTH + 2).collect();
    dir.create_dir_all(&deep).unwrap();
    let error = dir.remove_all_inside().unwrap_err();
    assert!(error.to_string().contains("nested"), "{error}");
}

/// Swaps `d` between the real folder and a link to the outside folder until stopped.
fn swapper(fx: &Fixture, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let root = fx.root.clone();
    let outside = fx.outside.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let _ = std::fs::rename(root.join("d"), root.join("d.real"));
            let _ = symlink(&outside, root.join("d"));
            let _ = std::fs::remove_file(root.join("d"));
            let _ = std::fs::rename(root.join("d.real"), root.join("d"));
        }
    })
}

#[test]
fn a_folder_raced_into_a_symlink_never_leads_outside() {
    let fx = fixture();
    let dir = Dir::open(&fx.root).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapping = swapper(&fx, stop.clone());
    let (mut opened, mut walked_ok, mut refused) = (0, 0, 0);
    // At least 3000 rounds, and on until both opens have met the folder and the link (a
    // loaded machine can starve one side of the race for a while).
    for round in 0..200_000 {
        if round >= 3000 && opened > 0 && walked_ok > 0 && refused > 0 {
            break;
        }
        match dir.open_file(Path::new("d/canary.txt")) {
            Ok(file) => {
                assert_eq!(read(file), "inside");
                opened += 1;
            }
            Err(_) => refused += 1,
        }
        match walked(&dir, "d/canary.txt") {
            Ok(file) => {
                assert_eq!(read(file), "inside");
                walked_ok += 1;
            }
            Err(_) => refused += 1,
        }
        // (Through the folder, never creating `d` itself while it is briefly missing.)
        if let Ok(made) = dir
            .open_dir(Path::new("d"))
            .and_then(|d| d.create_dir_all(Path::new("made")))
        {
            let _ = made.create_new(OsStr::new("x"), 0o644);
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapping.join().unwrap();
    assert!(!fx.outside.join("made").exists());
    // The race was real: some opens met the link, some the folder.
    assert!(
        opened > 0 && walked_ok > 0 && refused > 0,
        "opened {opened}, walked {walked_ok}, refused {refused}"
    );
}
