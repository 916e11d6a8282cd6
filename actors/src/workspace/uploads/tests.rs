use std::fs;
use std::os::unix::fs::symlink;

use super::*;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(UPLOAD_DIR)).unwrap();
    dir
}

fn invalid_reason(raw: &str) -> &'static str {
    match sanitize_name(raw) {
        Err(UploadError::InvalidName { reason, .. }) => reason,
        other => panic!("{raw:?} gave {other:?}"),
    }
}

#[test]
fn list_shows_regular_uploads_sorted_by_name_in_the_agents_view() {
    let ws = workspace();
    let dir = ws.path().join(UPLOAD_DIR);
    fs::write(dir.join("b.txt"), "bb").unwrap();
    fs::write(dir.join("a report.pdf"), vec![0u8; 1536]).unwrap();
    fs::create_dir(dir.join("folder")).unwrap();
    fs::write(dir.join(".hidden"), "x").unwrap();
    let outside = ws.path().join("outside.txt");
    fs::write(&outside, "secret").unwrap();
    symlink(&outside, dir.join("link.txt")).unwrap();

    assert_eq!(
        list(ws.path()).unwrap(),
        vec![
            UploadEntry {
                name: "a report.pdf".into(),
                relative_path: "upload/a report.pdf".into(),
                path: "/mnt/okcomputer/upload/a report.pdf".into(),
                display_path: "/mnt/okcomputer/upload/a report.pdf".into(),
                size_bytes: 1536,
                size_display: "1.5 KB".into(),
            },
            UploadEntry {
                name: "b.txt".into(),
                relative_path: "upload/b.txt".into(),
                path: "/mnt/okcomputer/upload/b.txt".into(),
                display_path: "/mnt/okcomputer/upload/b.txt".into(),
                size_bytes: 2,
                size_display: "2 B".into(),
            },
        ]
    );
}

#[test]
fn upload_entry_serializes_with_the_contract_field_names() {
    let value = serde_json::to_value(UploadEntry::new("a.txt", 3)).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "name": "a.txt",
            "relative_path": "upload/a.txt",
            "path": "/mnt/okcomputer/upload/a.txt",
            "display_path": "/mnt/okcomputer/upload/a.txt",
            "size_bytes": 3,
            "size_display": "3 B",
        })
    );
}

#[test]
fn list_is_empty_without_an_upload_folder() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(list(dir.path()).unwrap(), vec![]);
}

#[test]
fn list_does_not_follow_an_upload_folder_that_is_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("private.txt"), "x").unwrap();
    let ws = dir.path().join("ws");
    fs::create_dir(&ws).unwrap();
    symlink(&elsewhere, ws.join(UPLOAD_DIR)).unwrap();

    assert_eq!(list(&ws).unwrap(), vec![]);
    assert_eq!(remove_all(&ws).unwrap(), 0);
    assert!(elsewhere.join("private.txt").exists());
}

#[test]
fn remove_all_deletes_the_uploads_and_counts_them() {
    let ws = workspace();
    let dir = ws.path().join(UPLOAD_DIR);
    fs::write(dir.join("a.txt"), "a").unwrap();
    fs::write(dir.join("b.txt"), "b").unwrap();
    let outside = ws.path().join("outside.txt");
    fs::write(&outside, "keep").unwrap();
    symlink(&outside, dir.join("link.txt")).unwrap();

    assert_eq!(remove_all(ws.path()).unwrap(), 2);
    assert_eq!(list(ws.path()).unwrap(), vec![]);
    assert_eq!(fs::read_to_string(&outside).unwrap(), "keep");
    assert_eq!(remove_all(tempfile::tempdir().unwrap().path()).unwrap(), 0);
}

#[test]
fn size_display_uses_binary_units_with_one_decimal() {
    let cases = [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (12_800, "12.5 KB"),
        (1_048_575, "1.0 MB"),
        (3 << 20, "3.0 MB"),
        (1_288_490_189, "1.2 GB"),
        (5 << 40, "5.0 TB"),
    ];
    for (bytes, shown) in cases {
        assert_eq!(size_display(bytes), shown, "{bytes}");
    }
}

#[test]
fn limits_in_messages_drop_a_zero_decimal() {
    assert_eq!(limit_display(100 << 20), "100 MB");
    assert_eq!(limit_display(1 << 30), "1 GB");
    assert_eq!(limit_display(1536), "1.5 KB");
    assert_eq!(limit_display(10), "10 B");
}

#[test]
fn limits_come_from_the_settings_in_bytes() {
    assert_eq!(
        UploadLimits::default(),
        UploadLimits {
            max_files: 100,
            max_file_bytes: 100 << 20,
            quota_bytes: 1 << 30,
        }
    );
}

#[test]
fn sanitize_keeps_only_the_last_path_component() {
    assert_eq!(sanitize_name("../../etc/passwd").unwrap(), "passwd");
    assert_eq!(sanitize_name("C:\\x\\y.txt").unwrap(), "y.txt");
    assert_eq!(sanitize_name("/abs/dir\\mixed/z.md").unwrap(), "z.md");
    assert_eq!(sanitize_name("  notes.txt  ").unwrap(), "notes.txt");
}

#[test]
fn sanitize_replaces_unsafe_characters_and_keeps_unicode_letters() {
    assert_eq!(
        sanitize_name("report (final), v2+3_a-b.pdf").unwrap(),
        "report (final), v2+3_a-b.pdf"
    );
    assert_eq!(
        sanitize_name("a:b*c?\"<>|$`;&.txt").unwrap(),
        "a_b_c_________.txt"
    );
    assert_eq!(
        sanitize_name("résumé 履歴書 Отчёт.docx").unwrap(),
        "résumé 履歴書 Отчёт.docx"
    );
    // Decomposed accents, as macOS sends them.
    assert_eq!(sanitize_name("cafe\u{301}.txt").unwrap(), "cafe\u{301}.txt");
    assert_eq!(sanitize_name("smile 😀.png").unwrap(), "smile _.png");
}

#[test]
fn sanitize_refuses_names_that_are_empty_or_only_dots() {
    for raw in ["", "   ", "dir/", "a\\b\\"] {
        assert_eq!(invalid_reason(raw), "it is empty", "{raw:?}");
    }
    for raw in [".", "..", "a/..", "..\\.."] {
        assert_eq!(
            invalid_reason(raw),
            "it names a folder, not a file",
            "{raw:?}"
        );
    }
}

#[test]
fn sanitize_refuses_hidden_names() {
    for raw in [".env", "dir/.bashrc", " .ssh"] {
        assert!(invalid_reason(raw).contains("hidden"), "{raw:?}");
    }
}

#[test]
fn sanitize_refuses_control_characters_anywhere() {
    for raw in [
        "a\0b.txt",
        "line\nbreak.txt",
        "tab\t.txt",
        "dir\x07/ok.txt",
        "ok.txt\r",
    ] {
        assert_eq!(
            invalid_reason(raw),
            "it contains control characters",
            "{raw:?}"
        );
    }
}

#[test]
fn sanitize_refuses_names_over_255_bytes() {
    let longest = format!("{}.txt", "a".repeat(MAX_NAME_BYTES - 4));
    assert_eq!(sanitize_name(&longest).unwrap(), longest);
    let too_long = format!("{}.txt", "a".repeat(MAX_NAME_BYTES - 3));
    assert!(invalid_reason(&too_long).contains("255 bytes"));
    // Counted in bytes: 128 two-byte letters are 256 bytes.
    assert!(invalid_reason(&"é".repeat(128)).contains("255 bytes"));
}

#[test]
fn a_refused_name_is_shown_escaped_and_cut_short() {
    let message = sanitize_name(&format!("bad\n{}", "x".repeat(200)))
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("the file name \"bad\\n"), "{message}");
    assert!(message.contains("…\" is refused"), "{message}");
    assert!(message.len() < 150, "{message}");
}

#[test]
fn errors_have_stable_codes_and_statuses() {
    let name = || "report.pdf".to_owned();
    let cases = [
        (UploadError::Empty, "empty_upload", 400),
        (
            UploadError::InvalidName {
                shown: "\"\"".into(),
                reason: "it is empty",
            },
            "invalid_file_name",
            400,
        ),
        (
            UploadError::DuplicateName { name: name() },
            "duplicate_file_name",
            400,
        ),
        (
            UploadError::TooManyFiles { limit: 100 },
            "too_many_files",
            400,
        ),
        (
            UploadError::FileTooLarge {
                name: name(),
                limit_bytes: 100 << 20,
            },
            "file_too_large",
            413,
        ),
        (
            UploadError::QuotaExceeded {
                name: name(),
                quota_bytes: 1 << 30,
            },
            "upload_quota_exceeded",
            413,
        ),
        (
            UploadError::Interrupted {
                name: name(),
                reason: "connection reset".into(),
            },
            "upload_interrupted",
            400,
        ),
        (
            UploadError::io("save report.pdf", io::Error::other("disk full")),
            "upload_failed",
            500,
        ),
        (UploadError::Unsafe, "unsafe_upload_folder", 400),
    ];
    for (error, code, status) in cases {
        assert_eq!((error.code(), error.status()), (code, status), "{error}");
    }
}

#[test]
fn messages_name_the_file_and_the_limit() {
    let too_large = UploadError::FileTooLarge {
        name: "report.pdf".into(),
        limit_bytes: 100 << 20,
    };
    assert_eq!(
        too_large.to_string(),
        "report.pdf is larger than the 100 MB limit"
    );
    let over_quota = UploadError::QuotaExceeded {
        name: "report.pdf".into(),
        quota_bytes: 1 << 30,
    };
    assert!(
        over_quota.to_string().contains("at most 1 GB"),
        "{over_quota}"
    );
    let failed = UploadError::io("save report.pdf", io::Error::other("/srv/secret/path"));
    assert_eq!(
        failed.to_string(),
        "could not save report.pdf: the server failed to store the upload"
    );
}
