//! Content types by file extension, for files served from workspaces and deployed sites.

use std::path::Path;

/// The content type of a file, `application/octet-stream` when the extension is unknown.
pub fn for_path(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "bmp" => "image/bmp",
        "avif" => "image/avif",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "m4a" => "audio/mp4",
        "flac" => "audio/flac",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "wasm" => "application/wasm",
        "zip" => "application/zip",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// Types a browser would run or render as a document: served as downloads from the API.
pub fn is_active(content_type: &str) -> bool {
    content_type.starts_with("text/html")
        || content_type.starts_with("image/svg")
        || content_type.starts_with("application/xml")
        || content_type.starts_with("text/javascript")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_extensions_get_their_types_and_unknown_ones_are_binary() {
        assert_eq!(
            for_path(Path::new("a/index.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(for_path(Path::new("x.png")), "image/png");
        assert_eq!(for_path(Path::new("noext")), "application/octet-stream");
        assert!(is_active(for_path(Path::new("x.svg"))));
        assert!(!is_active(for_path(Path::new("x.png"))));
    }
}
