use std::fs;
use std::io;
use std::os::unix::fs::symlink;

use super::*;
use crate::workspace::uploads::test_support::{body, names_in, Fixture};
use crate::workspace::uploads::UploadLimits;

#[tokio::test]
async fn a_committed_batch_lands_in_the_upload_folder() {
    let fx = Fixture::new();
    let mut batch = fx.begin(UploadLimits::default());
    batch.add("../notes.txt", body("hello")).await.unwrap();
    batch.add("C:\\data\\b.csv", body("1,2")).await.unwrap();
    let entries = batch.commit().await.unwrap();

    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["notes.txt", "b.csv"]);
    assert_eq!(entries[0].path, "/mnt/okcomputer/upload/notes.txt");
    assert_eq!(entries[0].size_bytes, 5);
    assert_eq!(fx.read("notes.txt"), "hello");
    assert_eq!(fx.read("b.csv"), "1,2");
    assert_eq!(fx.upload_names(), ["b.csv", "notes.txt"]);
    assert_eq!(fx.staged_leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn commit_creates_a_missing_upload_folder() {
    let fx = Fixture::new();
    fs::remove_dir(fx.upload_dir()).unwrap();
    let mut batch = fx.begin(UploadLimits::default());
    batch.add("a.txt", body("a")).await.unwrap();
    batch.commit().await.unwrap();
    assert_eq!(fx.read("a.txt"), "a");
}

#[tokio::test]
async fn reuploading_a_name_replaces_the_earlier_file() {
    let fx = Fixture::new();
    let mut first = fx.begin(UploadLimits::default());
    first.add("a.txt", body("first version")).await.unwrap();
    first.commit().await.unwrap();

    let mut second = fx.begin(UploadLimits::default());
    second.add("a.txt", body("second")).await.unwrap();
    let entries = second.commit().await.unwrap();

    assert_eq!(entries[0].size_bytes, 6);
    assert_eq!(fx.read("a.txt"), "second");
    assert_eq!(fx.upload_names(), ["a.txt"], "no transient file left");
}

#[tokio::test]
async fn an_upload_folder_swapped_for_a_link_before_commit_is_refused() {
    let fx = Fixture::new();
    let outside = fx.dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let mut batch = fx.begin(UploadLimits::default());
    batch.add("a.txt", body("a")).await.unwrap();
    fs::remove_dir(fx.upload_dir()).unwrap();
    symlink(&outside, fx.upload_dir()).unwrap();

    assert!(matches!(batch.commit().await, Err(UploadError::Unsafe)));
    assert_eq!(names_in(&outside), Vec::<String>::new());
    assert_eq!(fx.staged_leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn a_link_in_upload_is_replaced_not_written_through() {
    let fx = Fixture::new();
    let target = fx.dir.path().join("target.txt");
    fs::write(&target, "untouched").unwrap();
    symlink(&target, fx.upload_dir().join("a.txt")).unwrap();

    let mut batch = fx.begin(UploadLimits::default());
    batch.add("a.txt", body("uploaded")).await.unwrap();
    batch.commit().await.unwrap();

    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");
    let meta = fs::symlink_metadata(fx.upload_dir().join("a.txt")).unwrap();
    assert!(meta.is_file());
    assert_eq!(fx.read("a.txt"), "uploaded");
}

#[tokio::test]
async fn a_move_that_fails_takes_the_batch_back_out() {
    let fx = Fixture::new();
    fx.existing("a.txt", "old");
    let mut batch = fx.begin(UploadLimits::default());
    batch.add("a.txt", body("new")).await.unwrap();
    batch.add("b.txt", body("b")).await.unwrap();
    // Something in the workspace makes a folder of the second name before the commit.
    fs::create_dir(fx.upload_dir().join("b.txt")).unwrap();
    fs::write(fx.upload_dir().join("b.txt/inside"), "x").unwrap();

    let failed = batch.commit().await;
    match failed {
        Err(e @ UploadError::Io { .. }) => {
            assert_eq!(e.status(), 500);
            assert!(e.to_string().starts_with("could not save b.txt"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fx.read("a.txt"), "old", "the replaced upload is back");
    assert_eq!(
        fx.upload_names(),
        ["a.txt", "b.txt"],
        "no transient file left"
    );
    assert_eq!(fx.staged_leftovers(), Vec::<String>::new());
}

#[test]
fn a_copy_across_file_systems_moves_the_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from");
    let to = dir.path().join("to");
    let here = Dir::open(dir.path()).unwrap();
    fs::write(&from, "content").unwrap();
    copy_then_remove(&from, &here, OsStr::new("to")).unwrap();
    assert_eq!(fs::read_to_string(&to).unwrap(), "content");
    assert!(!from.exists());

    fs::write(&from, "again").unwrap();
    let refused = copy_then_remove(&from, &here, OsStr::new("to")).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(fs::read_to_string(&to).unwrap(), "content");
    assert!(from.exists(), "the source stays when the copy fails");
}
