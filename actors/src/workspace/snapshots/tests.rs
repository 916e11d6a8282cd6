use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    store: SnapshotStore,
    ws: PathBuf,
    root: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(ws.join("output/deep")).unwrap();
    std::fs::write(ws.join("output/a.txt"), "alpha").unwrap();
    std::fs::write(ws.join("output/deep/b.txt"), "beta").unwrap();
    std::fs::write(ws.join("run.sh"), "echo hi").unwrap();
    std::fs::set_permissions(ws.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("output/a.txt", ws.join("link")).unwrap();
    let root = dir.path().join("snapshots");
    Fixture {
        store: SnapshotStore::new(&root, LIMIT),
        _dir: dir,
        ws,
        root,
    }
}

fn blob_count(root: &Path) -> usize {
    walk_files(&root.join("blobs")).len()
}

const LIMIT: u64 = 1 << 30;

#[test]
fn a_snapshot_brings_back_changed_deleted_and_added_files() {
    let f = fixture();
    let snap = f
        .store
        .take("t", "s", &f.ws, Some("before".into()), None)
        .unwrap();
    assert_eq!((snap.files, snap.bytes), (3, 16));
    assert_eq!(snap.label.as_deref(), Some("before"));

    std::fs::write(f.ws.join("output/a.txt"), "changed").unwrap();
    std::fs::remove_file(f.ws.join("output/deep/b.txt")).unwrap();
    std::fs::write(f.ws.join("new.txt"), "added").unwrap();
    std::fs::create_dir_all(f.ws.join("extra/dir")).unwrap();
    std::fs::remove_file(f.ws.join("link")).unwrap();
    std::fs::set_permissions(f.ws.join("run.sh"), std::fs::Permissions::from_mode(0o644)).unwrap();

    let changed = f.store.restore("t", "s", &snap.id, &f.ws).unwrap();
    assert!(changed >= 5, "{changed}");
    assert_eq!(
        std::fs::read_to_string(f.ws.join("output/a.txt")).unwrap(),
        "alpha"
    );
    assert_eq!(
        std::fs::read_to_string(f.ws.join("output/deep/b.txt")).unwrap(),
        "beta"
    );
    assert!(!f.ws.join("new.txt").exists());
    assert!(!f.ws.join("extra").exists());
    assert_eq!(
        std::fs::read_link(f.ws.join("link")).unwrap(),
        Path::new("output/a.txt")
    );
    let mode = std::fs::metadata(f.ws.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    // Restoring again changes nothing.
    assert_eq!(f.store.restore("t", "s", &snap.id, &f.ws).unwrap(), 0);
}

#[test]
fn identical_files_are_stored_once_and_an_unchanged_workspace_adds_nothing() {
    let f = fixture();
    std::fs::write(f.ws.join("copy.txt"), "alpha").unwrap();
    let first = f.store.take("t", "s", &f.ws, None, None).unwrap();
    assert_eq!(blob_count(&f.root), 3, "alpha, beta and the script");
    assert_eq!(first.stored_bytes, 5 + 4 + 7);
    let second = f.store.take("t", "s", &f.ws, None, None).unwrap();
    assert_eq!(second.stored_bytes, 0);
    std::fs::write(f.ws.join("output/a.txt"), "one change").unwrap();
    let third = f
        .store
        .take("t", "other-session", &f.ws, None, None)
        .unwrap();
    assert_eq!(third.stored_bytes, 10, "only the change is stored");
    assert_eq!(blob_count(&f.root), 4);
}

#[test]
fn snapshots_are_listed_newest_first_per_session() {
    let f = fixture();
    let a = f
        .store
        .take("t", "s", &f.ws, Some("a".into()), None)
        .unwrap();
    let b = f
        .store
        .take("t", "s", &f.ws, Some("b".into()), None)
        .unwrap();
    f.store.take("t", "other", &f.ws, None, None).unwrap();
    let listed = f.store.list("t", "s").unwrap();
    assert_eq!(listed, vec![b, a]);
    assert!(f.store.list("t", "never").unwrap().is_empty());
    assert!(f.store.list("other-tenant", "s").unwrap().is_empty());
}

#[test]
fn unknown_and_malformed_ids_are_unknown_snapshots() {
    let f = fixture();
    f.store.take("t", "s", &f.ws, None, None).unwrap();
    for id in [
        "",
        "nope",
        "../../etc/passwd",
        "00000000000000000000000000000000",
    ] {
        assert!(
            matches!(
                f.store.restore("t", "s", id, &f.ws),
                Err(SnapshotError::Unknown(_))
            ),
            "{id:?}"
        );
    }
    // Another tenant's snapshot id is unknown here.
    let theirs = f.store.take("a", "s", &f.ws, None, None).unwrap();
    assert!(matches!(
        f.store.restore("b", "s", &theirs.id, &f.ws),
        Err(SnapshotError::Unknown(_))
    ));
}

#[test]
fn a_workspace_over_the_limit_is_refused_before_anything_is_stored() {
    let f = fixture();
    let small = SnapshotStore::new(&f.root, 10);
    let error = small.take("t", "s", &f.ws, None, None).unwrap_err();
    assert!(
        matches!(
            error,
            SnapshotError::TooLarge {
                size: 16,
                limit: 10
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("workspace.snapshot_limit_mb"));
    assert_eq!(blob_count(&f.root), 0);
    assert!(f.store.list("t", "s").unwrap().is_empty());
}

#[test]
fn deleting_a_session_frees_only_what_no_other_snapshot_references() {
    let f = fixture();
    f.store.take("t", "keep", &f.ws, None, None).unwrap();
    std::fs::write(f.ws.join("only-mine.txt"), "mine!").unwrap();
    f.store.take("t", "drop", &f.ws, None, None).unwrap();
    assert_eq!(blob_count(&f.root), 4);
    let freed = f.store.delete_session("t", "drop").unwrap();
    assert_eq!(freed, 5);
    assert_eq!(blob_count(&f.root), 3);
    let kept = f.store.list("t", "keep").unwrap();
    std::fs::write(f.ws.join("output/a.txt"), "x").unwrap();
    f.store.restore("t", "keep", &kept[0].id, &f.ws).unwrap();
    assert_eq!(
        std::fs::read_to_string(f.ws.join("output/a.txt")).unwrap(),
        "alpha"
    );
    assert_eq!(f.store.delete_session("t", "never").unwrap(), 0);
}

#[test]
fn a_same_size_edit_is_seen_and_unchanged_files_are_not_stored_again() {
    let f = fixture();
    let first = f.store.take("t", "s", &f.ws, None, None).unwrap();
    std::fs::write(f.ws.join("output/a.txt"), "omega").unwrap();
    let second = f.store.take("t", "s", &f.ws, None, None).unwrap();
    assert_eq!(second.stored_bytes, 5, "the edited file, and only it");
    f.store.restore("t", "s", &first.id, &f.ws).unwrap();
    assert_eq!(
        std::fs::read_to_string(f.ws.join("output/a.txt")).unwrap(),
        "alpha"
    );
    f.store.restore("t", "s", &second.id, &f.ws).unwrap();
    assert_eq!(
        std::fs::read_to_string(f.ws.join("output/a.txt")).unwrap(),
        "omega"
    );
}

#[test]
fn the_hash_index_is_rewritten_only_when_a_file_changed() {
    use std::os::unix::fs::MetadataExt;
    let f = fixture();
    f.store.take("t", "s", &f.ws, None, None).unwrap();
    let index = f.store.index_path("t", "s");
    let inode = || std::fs::metadata(&index).unwrap().ino();
    let first = inode();
    f.store.take("t", "s", &f.ws, None, None).unwrap();
    assert_eq!(inode(), first, "an unchanged workspace rewrote the index");
    std::fs::write(f.ws.join("output/a.txt"), "alpha, longer").unwrap();
    f.store.take("t", "s", &f.ws, None, None).unwrap();
    assert_ne!(inode(), first, "a changed file left the index as it was");
}

#[test]
fn the_newest_snapshots_are_listed_alone_in_order() {
    let f = fixture();
    for i in 0..5 {
        std::fs::write(f.ws.join("output/a.txt"), format!("version {i}")).unwrap();
        f.store
            .take("t", "s", &f.ws, Some(format!("v{i}")), None)
            .unwrap();
    }
    let all = f.store.list("t", "s").unwrap();
    let labels: Vec<_> = all.iter().map(|s| s.label.clone().unwrap()).collect();
    assert_eq!(labels, ["v4", "v3", "v2", "v1", "v0"]);
    let newest = f.store.list_newest("t", "s", 2).unwrap();
    assert_eq!(newest, all[..2].to_vec());
    assert!(f.store.list_newest("t", "never", 2).unwrap().is_empty());
}

#[test]
fn a_manifest_left_empty_by_a_power_loss_is_passed_over_in_listings() {
    let f = fixture();
    let older = f
        .store
        .take("t", "s", &f.ws, Some("older".into()), None)
        .unwrap();
    let lost = f
        .store
        .take("t", "s", &f.ws, Some("lost".into()), None)
        .unwrap();
    // What an unflushed file can be after a power loss: its name, none of its bytes.
    let manifest = f
        .root
        .join("manifests/t/s")
        .join(format!("{}.json", lost.id));
    std::fs::write(&manifest, b"").unwrap();
    let newer = f
        .store
        .take("t", "s", &f.ws, Some("newer".into()), None)
        .unwrap();

    assert_eq!(f.store.list("t", "s").unwrap(), vec![newer.clone(), older]);
    assert_eq!(f.store.list_newest("t", "s", 1).unwrap(), vec![newer]);
    assert!(matches!(
        f.store.restore("t", "s", &lost.id, &f.ws),
        Err(SnapshotError::Corrupt { .. })
    ));
}
