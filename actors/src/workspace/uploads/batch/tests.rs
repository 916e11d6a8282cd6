use std::fs;
use std::os::unix::fs::symlink;

use bytes::Bytes;
use futures::stream;

use super::*;
use crate::workspace::uploads::list;
use crate::workspace::uploads::test_support::{body, chunks, limits, names_in, Fixture};

#[tokio::test]
async fn an_empty_batch_is_refused() {
    let fx = Fixture::new();
    let batch = fx.begin(UploadLimits::default());
    assert!(matches!(batch.commit().await, Err(UploadError::Empty)));
    assert_eq!(fx.staged_leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn a_batch_may_reach_max_files_but_not_pass_it() {
    let fx = Fixture::new();
    fx.existing("old.txt", "o");
    let mut batch = fx.begin(limits(3, 100, 1000));
    batch.add("a.txt", body("a")).await.unwrap();
    batch.add("b.txt", body("b")).await.unwrap();
    let refused = batch.add("c.txt", body("c")).await;
    assert!(
        matches!(refused, Err(UploadError::TooManyFiles { limit: 3 })),
        "{refused:?}"
    );
    // The files added before still commit: at the limit is allowed.
    assert_eq!(batch.commit().await.unwrap().len(), 2);
    assert_eq!(list(&fx.root).unwrap().len(), 3);
}

#[tokio::test]
async fn replacing_an_upload_does_not_count_as_another_file() {
    let fx = Fixture::new();
    fx.existing("a.txt", "old");
    fx.existing("b.txt", "old");
    let mut batch = fx.begin(limits(2, 100, 1000));
    batch.add("a.txt", body("new")).await.unwrap();
    batch.add("b.txt", body("new")).await.unwrap();
    batch.commit().await.unwrap();
    assert_eq!(
        (fx.read("a.txt"), fx.read("b.txt")),
        ("new".into(), "new".into())
    );
}

#[tokio::test]
async fn a_file_may_reach_max_file_bytes_but_not_pass_it() {
    let fx = Fixture::new();
    let mut batch = fx.begin(limits(10, 8, 1000));
    batch.add("exact.bin", body("12345678")).await.unwrap();
    let refused = batch.add("over.bin", body("123456789")).await;
    match refused {
        Err(e @ UploadError::FileTooLarge { .. }) => {
            assert_eq!(e.to_string(), "over.bin is larger than the 8 B limit");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fx.staged_leftovers().len(), 1, "only the batch folder");
    assert_eq!(
        names_in(&fx.staging.join(&fx.staged_leftovers()[0])),
        ["file-0"]
    );
}

#[tokio::test]
async fn a_file_too_large_is_stopped_before_the_rest_is_read() {
    let fx = Fixture::new();
    let mut batch = fx.begin(limits(10, 4, 1000));
    let mut source = chunks("abcdefghijkl", 3);
    let refused = batch.add("big.bin", &mut source).await;
    assert!(matches!(refused, Err(UploadError::FileTooLarge { .. })));
    // Two chunks were read (6 bytes > 4); the third and fourth were never asked for.
    assert_eq!(source.count().await, 2);
}

#[tokio::test]
async fn the_quota_counts_existing_uploads_and_the_batch() {
    let fx = Fixture::new();
    fx.existing("old.txt", "1234");
    let mut batch = fx.begin(limits(10, 100, 10));
    batch.add("a.txt", body("1234")).await.unwrap();
    let refused = batch.add("b.txt", body("123")).await;
    match refused {
        Err(e @ UploadError::QuotaExceeded { .. }) => {
            assert_eq!(e.code(), "upload_quota_exceeded");
            assert!(e.to_string().starts_with("b.txt does not fit"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Exactly at the quota is allowed.
    batch.add("c.txt", body("12")).await.unwrap();
}

#[tokio::test]
async fn the_quota_discounts_the_upload_a_file_replaces() {
    let fx = Fixture::new();
    fx.existing("a.txt", "12345678");
    let mut batch = fx.begin(limits(10, 100, 10));
    batch.add("a.txt", body("123456789")).await.unwrap();
    let refused = batch.add("b.txt", body("12")).await;
    assert!(matches!(refused, Err(UploadError::QuotaExceeded { .. })));
    batch.add("c.txt", body("1")).await.unwrap();
    batch.commit().await.unwrap();
    assert_eq!(fx.read("a.txt"), "123456789");
}

#[tokio::test]
async fn a_name_twice_in_one_batch_is_refused() {
    let fx = Fixture::new();
    let mut batch = fx.begin(UploadLimits::default());
    batch.add("dir/a.txt", body("1")).await.unwrap();
    let refused = batch.add("other\\a.txt", body("2")).await;
    assert!(
        matches!(&refused, Err(UploadError::DuplicateName { name }) if name == "a.txt"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_invalid_name_is_refused_before_reading() {
    let fx = Fixture::new();
    let mut batch = fx.begin(UploadLimits::default());
    let mut source = body("content");
    let refused = batch.add("../.env", &mut source).await;
    assert!(matches!(refused, Err(UploadError::InvalidName { .. })));
    assert_eq!(source.count().await, 2, "nothing was read");
}

#[tokio::test]
async fn a_name_held_by_a_folder_in_upload_is_refused() {
    let fx = Fixture::new();
    fs::create_dir(fx.upload_dir().join("data")).unwrap();
    let mut batch = fx.begin(UploadLimits::default());
    let refused = batch.add("data", body("x")).await;
    assert!(matches!(refused, Err(UploadError::InvalidName { .. })));
}

#[tokio::test]
async fn a_failed_batch_leaves_the_upload_folder_unchanged_and_nothing_staged() {
    let fx = Fixture::new();
    fx.existing("a.txt", "old");
    let before = list(&fx.root).unwrap();
    let mut batch = fx.begin(limits(10, 5, 1000));
    batch.add("a.txt", body("new")).await.unwrap();
    assert!(batch.add("b.txt", body("too large")).await.is_err());
    batch.abort().await;

    assert_eq!(list(&fx.root).unwrap(), before);
    assert_eq!(fx.read("a.txt"), "old");
    assert_eq!(fx.upload_names(), ["a.txt"]);
    assert_eq!(fx.staged_leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn an_upload_folder_that_links_outside_is_refused() {
    let fx = Fixture::new();
    let outside = fx.dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::remove_dir(fx.upload_dir()).unwrap();
    symlink(&outside, fx.upload_dir()).unwrap();

    let refused = UploadBatch::begin(&fx.root, &fx.staging, UploadLimits::default());
    assert!(matches!(refused, Err(UploadError::Unsafe)), "{refused:?}");
    assert_eq!(names_in(&outside), Vec::<String>::new());
}

#[tokio::test]
async fn an_upload_that_is_a_file_is_refused() {
    let fx = Fixture::new();
    fs::remove_dir(fx.upload_dir()).unwrap();
    fs::write(fx.upload_dir(), "not a folder").unwrap();
    let refused = UploadBatch::begin(&fx.root, &fx.staging, UploadLimits::default());
    assert!(matches!(refused, Err(UploadError::Unsafe)));
}

#[tokio::test]
async fn dropping_a_batch_without_commit_leaves_nothing() {
    let fx = Fixture::new();
    let mut batch = fx.begin(UploadLimits::default());
    batch.add("a.txt", body("a")).await.unwrap();
    assert_eq!(fx.staged_leftovers().len(), 1);
    drop(batch);

    assert_eq!(fx.staged_leftovers(), Vec::<String>::new());
    assert_eq!(fx.upload_names(), Vec::<String>::new());
}

#[tokio::test]
async fn a_stream_error_fails_the_file_cleanly() {
    let fx = Fixture::new();
    let mut batch = fx.begin(UploadLimits::default());
    batch.add("a.txt", body("a")).await.unwrap();
    let failing = stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err("connection reset by peer"),
    ]);
    let refused = batch.add("b.txt", failing).await;
    match refused {
        Err(e @ UploadError::Interrupted { .. }) => {
            assert_eq!(
                e.to_string(),
                "the upload of b.txt was interrupted: connection reset by peer"
            );
            assert_eq!(e.status(), 400);
        }
        other => panic!("{other:?}"),
    }
    let batch_dir = fx.staging.join(&fx.staged_leftovers()[0]);
    assert_eq!(names_in(&batch_dir), ["file-0"], "the partial file is gone");
    drop(batch);
    assert_eq!(fx.staged_leftovers(), Vec::<String>::new());
    assert_eq!(fx.upload_names(), Vec::<String>::new());
}
