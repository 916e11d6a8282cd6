//! File work every tool family shares, on top of the workspace's file layer: running it off
//! the async threads, reading a file with a size bound, replacing a generated file, and the
//! errors the model reads. No tool module is imported here.

use std::io;

use super::ToolError;
use crate::workspace::{PathError, Workspace};

/// Runs blocking file work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ToolError> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ToolError::Failed(format!("the file operation stopped unexpectedly: {e}")))?
}

/// A path the workspace refused, as the model reads it.
pub(crate) fn path_error(error: PathError) -> ToolError {
    ToolError::Failed(error.to_string())
}

/// An I/O failure on `shown`. `io::Error` messages carry no path, so nothing of the host shows.
pub(crate) fn io_failure(action: &str, shown: &str, error: &io::Error) -> ToolError {
    ToolError::Failed(format!("could not {action} {shown}: {error}"))
}

/// Reads the workspace file the agent named, refusing one over `limit` bytes; `refusal` says
/// why, given the file's size. Returns the bytes and the path as the agent sees it.
pub(crate) fn read_limited(
    workspace: &Workspace,
    agent_path: &str,
    limit: u64,
    refusal: impl FnOnce(&str, u64) -> String,
) -> Result<(Vec<u8>, String), ToolError> {
    use std::io::Read;
    let opened = workspace.open_existing(agent_path).map_err(path_error)?;
    let shown = opened.shown;
    if opened.stat.len > limit {
        return Err(ToolError::Failed(refusal(&shown, opened.stat.len)));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.stat.len).unwrap_or(0));
    opened
        .file
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_failure("read", &shown, &e))?;
    if bytes.len() as u64 > limit {
        return Err(ToolError::Failed(refusal(&shown, bytes.len() as u64)));
    }
    Ok((bytes, shown))
}

/// Writes `bytes` to the file the agent named, replacing one of the same name (a generated
/// output, so no earlier read is needed); returns the path as the agent sees it.
pub(crate) fn replace_file(
    workspace: &Workspace,
    agent_path: &str,
    bytes: &[u8],
) -> Result<String, ToolError> {
    use std::io::Write;
    let opened = workspace.open_for_write(agent_path).map_err(path_error)?;
    let (mut file, shown) = (opened.file, opened.shown);
    file.set_len(0)
        .and_then(|()| file.write_all(bytes))
        .map_err(|e| io_failure("write", &shown, &e))?;
    Ok(shown)
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3F) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }
}
