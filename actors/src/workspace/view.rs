//! What clients are shown of a workspace: the files in `output/` as artifacts, and the
//! workspace state (paths in the agent's view, never host paths).

use std::path::Path;

use serde_json::{json, Value};

use super::dir::Dir;
use crate::config::UploadSettings;

/// Snapshots listed in `workspace_state`.
pub const LISTED_SNAPSHOTS: usize = 20;

/// Most artifacts listed; a workspace with more shows the newest-named first `MAX` of them.
const MAX_ARTIFACTS: usize = 200;

/// Files under `output/` as `[{type, name, url, size_bytes}]`: `name` is the path inside
/// `output/`, `url` where a client downloads it from this server.
pub fn artifacts(root: &Path, session_id: &str) -> Vec<Value> {
    let mut files = Vec::new();
    if let Ok(output) = Dir::open(root).and_then(|d| d.open_dir(Path::new("output"))) {
        collect(&output, "", &mut files, 0);
    }
    files.sort();
    files.truncate(MAX_ARTIFACTS);
    files
        .into_iter()
        .map(|(name, size)| {
            json!({
                "type": kind(&name),
                "name": name,
                "url": format!(
                    "/api/session/workspace/files/output/{}?client_id={session_id}",
                    encode_path(&name)
                ),
                "size_bytes": size,
            })
        })
        .collect()
}

/// `artifacts`, `workspace_state`, `uploads` and the upload limits of a workspace, as the chat
/// payload and the boot reply carry them.
pub fn payload_fields(
    root: &Path,
    key: &crate::SessionKey,
    limits: &UploadSettings,
    snapshots: &super::snapshots::SnapshotStore,
) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert(
        "artifacts".into(),
        Value::Array(artifacts(root, &key.session)),
    );
    map.insert(
        "workspace_state".into(),
        super::snapshots::workspace_state(snapshots, &key.tenant, &key.session, LISTED_SNAPSHOTS),
    );
    let uploads = super::uploads::list(root).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "listing uploads failed");
        Vec::new()
    });
    map.insert("uploads".into(), json!(uploads));
    map.extend(upload_limits(limits));
    map
}

/// The upload limits clients show: `upload_limit`, `max_upload_size_mb`,
/// `max_upload_size_bytes`.
pub fn upload_limits(limits: &UploadSettings) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("upload_limit".into(), json!(limits.max_files));
    map.insert("max_upload_size_mb".into(), json!(limits.max_file_mb));
    map.insert(
        "max_upload_size_bytes".into(),
        json!(limits.max_file_bytes()),
    );
    map
}

fn collect(dir: &Dir, prefix: &str, out: &mut Vec<(String, u64)>, depth: usize) {
    // Deep trees are cut rather than walked without end.
    if depth > 8 || out.len() > MAX_ARTIFACTS * 4 {
        return;
    }
    let Ok(entries) = dir.entries() else {
        return;
    };
    for entry in entries {
        let name = entry.name.to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        if entry.stat.is_dir() {
            if let Ok(inner) = dir.open_dir(Path::new(&entry.name)) {
                collect(&inner, &format!("{path}/"), out, depth + 1);
            }
        } else if entry.stat.is_file() {
            out.push((path, entry.stat.len));
        }
    }
}

/// A coarse kind from the extension, for clients choosing how to show a file.
fn kind(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" | "bmp" => "image",
        "mp3" | "wav" | "ogg" | "flac" | "m4a" => "audio",
        "mp4" | "webm" | "mov" => "video",
        "pptx" => "presentation",
        "html" | "htm" => "web",
        "pdf" | "doc" | "docx" | "xlsx" | "csv" | "md" | "txt" | "json" => "document",
        _ => "file",
    }
}

/// Percent-encodes a relative path for a URL, keeping `/` between segments.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_files_are_listed_with_kind_and_download_url() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("output/charts")).unwrap();
        std::fs::write(dir.path().join("output/report final.pdf"), "pdf").unwrap();
        std::fs::write(dir.path().join("output/charts/a.png"), "png!").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not an output").unwrap();
        let listed = artifacts(dir.path(), "s1");
        assert_eq!(
            listed,
            vec![
                json!({"type": "image", "name": "charts/a.png", "size_bytes": 4,
                       "url": "/api/session/workspace/files/output/charts/a.png?client_id=s1"}),
                json!({"type": "document", "name": "report final.pdf", "size_bytes": 3,
                       "url": "/api/session/workspace/files/output/report%20final.pdf?client_id=s1"}),
            ]
        );
    }

    #[test]
    fn a_workspace_without_output_has_no_artifacts() {
        let dir = tempfile::tempdir().unwrap();
        assert!(artifacts(dir.path(), "s").is_empty());
    }
}
