//! `read_file`: text in `cat -n` form, images for the model to see.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use crate::tool::file_io::{base64, blocking, io_failure, path_error};
use crate::tool::media::asr;
use crate::tool::{ToolContext, ToolError, ToolImage, ToolOutput, TypedTool, WorkspaceAccess};

/// Lines returned when the call gives no `limit`.
const DEFAULT_LIMIT: usize = 100;
/// Characters of one line shown before it is cut.
const MAX_LINE_CHARS: usize = 1000;
/// Largest image returned to the model.
const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
/// Bytes looked at to tell text, images and other binary files apart.
const SNIFF_BYTES: usize = 8 * 1024;

#[derive(Debug, Deserialize)]
pub(super) struct Args {
    file_path: String,
    offset: Option<i64>,
    limit: Option<i64>,
}

pub(super) struct ReadFile;

impl TypedTool for ReadFile {
    const NAME: &'static str = "read_file";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        // An audio file reads as its transcript when a speech recognition endpoint is set.
        if asr::is_audio(&args.file_path) {
            if let Some(endpoint) = ctx.web.media().asr {
                return asr::transcribe(ctx, &args.file_path, endpoint).await;
            }
        }
        let ctx = ctx.clone();
        blocking(move || read(&ctx, &args)).await
    }
}

fn read(ctx: &ToolContext, args: &Args) -> Result<ToolOutput, ToolError> {
    // Offset 0 is taken as "from the start", as models often mean it.
    let first = usize::try_from(args.offset.unwrap_or(1).max(1)).unwrap_or(usize::MAX);
    let limit = match args.limit {
        None => DEFAULT_LIMIT,
        Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => {
            return Err(ToolError::InvalidArguments(format!(
                "limit must be at least 1 (got {n}); leave it out to read {DEFAULT_LIMIT} lines"
            )))
        }
    };

    let ws = &ctx.workspace;
    let opened = ws.open_existing(&args.file_path).map_err(path_error)?;
    let (file, shown, relative) = (opened.file, opened.shown, opened.relative);
    let size = opened.stat.len;
    if size == 0 {
        ctx.resources.mark_read(relative);
        return Ok(ToolOutput::text(format!(
            "<system-reminder>The file {shown} exists but is empty.</system-reminder>"
        )));
    }

    let mut reader = BufReader::with_capacity(SNIFF_BYTES, file);
    let head = reader
        .fill_buf()
        .map_err(|e| io_failure("read", &shown, &e))?;
    let output = if let Some(mime) = image_mime(head, &relative) {
        image(reader, size, mime, &shown)?
    } else if looks_binary(head) && asr::is_audio(&shown) {
        return Err(ToolError::Failed(format!(
            "{shown} is an audio file: its transcript needs a speech recognition endpoint, and \
             none is configured (set media.asr in the configuration or the console's Settings)"
        )));
    } else if looks_binary(head) {
        return Err(ToolError::Failed(format!(
            "{shown} is a binary file{kind} and can't be read as text yet (converting PDF and \
             Office documents is not available yet). Inspect it with the shell tool instead, e.g. \
             `file {shown}`, or extract its text with a python3 script",
            kind = binary_kind(&relative),
        )));
    } else {
        text(reader, first, limit, &shown)?
    };
    ctx.resources.mark_read(relative);
    Ok(output)
}

fn image(
    mut reader: impl Read,
    size: u64,
    mime: &'static str,
    shown: &str,
) -> Result<ToolOutput, ToolError> {
    if size > MAX_IMAGE_BYTES {
        return Err(ToolError::Failed(format!(
            "{shown} is an image of {size} bytes, more than the {MAX_IMAGE_BYTES} bytes that can be \
             shown. Make a smaller copy with the shell tool (e.g. python3 with Pillow, or \
             ImageMagick's convert) and read that"
        )));
    }
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| io_failure("read", shown, &e))?;
    Ok(ToolOutput {
        text: format!("Image {shown} ({mime}, {} bytes) is attached.", bytes.len()),
        images: vec![ToolImage {
            mime: mime.to_owned(),
            path: shown.to_owned(),
            data_base64: base64(&bytes),
        }],
        data: Some(json!({ "path": shown, "mime": mime, "bytes": bytes.len() })),
    })
}

/// Lines `first..first + limit` in `cat -n` form, then a note if more follow.
fn text(
    mut reader: impl BufRead,
    first: usize,
    limit: usize,
    shown: &str,
) -> Result<ToolOutput, ToolError> {
    let last_wanted = first.saturating_add(limit - 1);
    let mut out = String::new();
    let mut line = Vec::new();
    let mut total = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io_failure("read", shown, &e))?;
        if n == 0 {
            break;
        }
        total += 1;
        if (first..=last_wanted).contains(&total) {
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            push_line(&mut out, total, &String::from_utf8_lossy(&line));
        }
    }
    if first > total {
        return Err(ToolError::Failed(format!(
            "offset {first} is past the end of {shown}, which has {total} line{s}. Use an offset \
             from 1 to {total}",
            s = if total == 1 { "" } else { "s" },
        )));
    }
    let last = last_wanted.min(total);
    if last < total {
        out.push_str(&format!(
            "\n[Showing lines {first}-{last} of {total}. To read on, call read_file with \
             offset={next}.]",
            next = last + 1,
        ));
    } else {
        // `cat -n` output has no newline after the last line shown.
        out.pop();
    }
    Ok(ToolOutput {
        text: out,
        images: Vec::new(),
        data: Some(json!({
            "path": shown,
            "first_line": first,
            "last_line": last,
            "total_lines": total,
        })),
    })
}

fn push_line(out: &mut String, number: usize, line: &str) {
    out.push_str(&format!("{number:>6}\t"));
    match line.char_indices().nth(MAX_LINE_CHARS) {
        None => out.push_str(line),
        Some((cut, _)) => {
            out.push_str(&line[..cut]);
            out.push_str(&format!(
                "... [line cut at {MAX_LINE_CHARS} of {} characters]",
                line.chars().count()
            ));
        }
    }
    out.push('\n');
}

/// The image type, by the file's first bytes or else its extension.
fn image_mime(head: &[u8], path: &Path) -> Option<&'static str> {
    let by_content = if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else if head.starts_with(b"BM") && looks_binary(head) {
        Some("image/bmp")
    } else {
        None
    };
    by_content.or_else(|| {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "png" => Some("image/png"),
            "jpg" | "jpeg" => Some("image/jpeg"),
            "gif" => Some("image/gif"),
            "webp" => Some("image/webp"),
            "bmp" => Some("image/bmp"),
            _ => None,
        }
    })
}

/// A NUL byte or invalid UTF-8 (other than a character cut at the end of `head`).
fn looks_binary(head: &[u8]) -> bool {
    head.contains(&0) || std::str::from_utf8(head).is_err_and(|error| error.error_len().is_some())
}

fn binary_kind(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("pdf") => " (PDF)",
        Some("doc" | "docx" | "xls" | "xlsx" | "ppt" | "pptx" | "odt" | "ods" | "odp") => {
            " (an Office document)"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests;
