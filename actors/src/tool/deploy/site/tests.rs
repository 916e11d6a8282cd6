use super::*;

#[test]
fn the_title_is_read_from_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("index.html");
    std::fs::write(&page, "<html><head><TITLE> My Trip </TITLE></head></html>").unwrap();
    assert_eq!(page_title(&page).as_deref(), Some("My Trip"));
    std::fs::write(&page, "<h1>No title</h1>").unwrap();
    assert_eq!(page_title(&page), None);
}

#[test]
fn publishing_copies_files_leaves_links_out_and_replaces_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("css")).unwrap();
    std::fs::write(src.join("index.html"), "v1").unwrap();
    std::fs::write(src.join("css/site.css"), "body{}").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.join("passwd")).unwrap();
    let sites = dir.path().join("sites");
    let id = "0123456789abcdef0123456789abcdef";
    let first = publish(&Dir::open(&src).unwrap(), &sites, id, (1 << 20, 100)).unwrap();
    assert_eq!((first.files, first.bytes), (2, 8));
    assert_eq!(first.skipped, ["passwd"]);
    assert!(!sites.join(id).join("passwd").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sites.join(id)), 0o700, "a site's folders are private");
    assert_eq!(
        mode(&sites.join(id).join("css/site.css")),
        0o600,
        "and its files"
    );
    std::fs::write(src.join("index.html"), "v2").unwrap();
    publish(&Dir::open(&src).unwrap(), &sites, id, (1 << 20, 100)).unwrap();
    assert_eq!(
        std::fs::read_to_string(sites.join(id).join("index.html")).unwrap(),
        "v2"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&sites)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, [id], "no staging or old copies remain");
}

#[test]
fn a_deploy_racing_files_and_folders_swapped_for_links_serves_no_outside_byte() {
    use crate::workspace::races::{Outside, Swapper, CANARY};
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("css")).unwrap();
    std::fs::write(src.join("index.html"), "<p>inside</p>").unwrap();
    std::fs::write(src.join("css/site.css"), "body{}").unwrap();
    let outside = Outside::new(dir.path(), &["site.css"]);
    let sites = dir.path().join("sites");
    let id = "0123456789abcdef0123456789abcdef";
    let file = Swapper::start(src.join("index.html"), outside.file());
    let folder = Swapper::start(src.join("css"), outside.dir.clone());
    let handle = Dir::open(&src).unwrap();
    for _ in 0..500 {
        let _ = publish(&handle, &sites, id, (1 << 20, 100));
    }
    assert!(file.finish() > 0 && folder.finish() > 0, "the race ran");
    let mut stack = vec![sites.clone()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            assert!(!meta.file_type().is_symlink(), "a link was published");
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                let served = std::fs::read_to_string(entry.path()).unwrap();
                assert!(!served.contains(CANARY), "{}", entry.path().display());
            }
        }
    }
    outside.assert_untouched(&["site.css"]);
}

#[test]
fn a_site_over_the_limits_is_refused_before_anything_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("index.html"), vec![b'x'; 2000]).unwrap();
    let sites = dir.path().join("sites");
    let error = publish(
        &Dir::open(&src).unwrap(),
        &sites,
        "0123456789abcdef0123456789abcdef",
        (1000, 100),
    )
    .err()
    .unwrap();
    assert!(error.contains("over the limit"), "{error}");
    assert!(error.contains("deploy.max_site_mb"), "{error}");
    assert!(!sites.exists());
    let error = publish(
        &Dir::open(&src).unwrap(),
        &sites,
        "0123456789abcdef0123456789abcdef",
        (1 << 20, 0),
    )
    .err()
    .unwrap();
    assert!(error.contains("deploy.max_site_files"), "{error}");
}
