//! The file name an upload is stored under.
//!
//! Clients send what they like as a file name: a full path (`C:\Users\me\report.pdf`), a
//! traversal (`../../etc/passwd`), control characters, names no shell quotes easily. The rule:
//! 1. keep only what follows the last `/` or `\`, then trim surrounding whitespace;
//! 2. refuse a name that is then empty, `.` or `..`, starts with `.` (hidden), or holds a
//!    control character (NUL included) anywhere in what the client sent;
//! 3. replace every character outside the safe set with `_`. The safe set is letters and
//!    digits of any script, the combining marks that decomposed (NFD) accented names carry, a
//!    space, and `.` `_` `-` `(` `)` `+` `,`;
//! 4. refuse a result longer than [`MAX_NAME_BYTES`] bytes of UTF-8 (file systems store no
//!    longer names).

use super::UploadError;

/// The longest name, in bytes of UTF-8, file systems accept.
pub const MAX_NAME_BYTES: usize = 255;

/// How much of a refused name a message shows.
const SHOWN_CHARS: usize = 60;

/// The name the client sent (`raw`), made safe to store under `upload/`, or why it can't be.
/// See the module documentation for the rule.
pub fn sanitize_name(raw: &str) -> Result<String, UploadError> {
    let refuse = |reason| UploadError::InvalidName {
        shown: shown(raw),
        reason,
    };
    if raw.chars().any(char::is_control) {
        return Err(refuse("it contains control characters"));
    }
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw).trim();
    if last.is_empty() {
        return Err(refuse("it is empty"));
    }
    if last == "." || last == ".." {
        return Err(refuse("it names a folder, not a file"));
    }
    if last.starts_with('.') {
        return Err(refuse(
            "names starting with a dot (hidden files) are not accepted",
        ));
    }
    let name: String = last
        .chars()
        .map(|c| if is_safe(c) { c } else { '_' })
        .collect();
    if name.len() > MAX_NAME_BYTES {
        return Err(refuse("it is longer than 255 bytes; shorten it"));
    }
    Ok(name)
}

fn is_safe(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, ' ' | '.' | '_' | '-' | '(' | ')' | '+' | ',')
        || is_combining_mark(c)
}

/// Combining marks that are not letters themselves: macOS sends `é` as `e` + U+0301, `が` as
/// `か` + U+3099. (Marks of scripts such as Devanagari count as letters already.)
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{3099}'..='\u{309A}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// `raw` for a message: quoted, control characters escaped, cut to a readable length.
fn shown(raw: &str) -> String {
    let mut cut: String = raw.chars().take(SHOWN_CHARS).collect();
    if cut.len() < raw.len() {
        cut.push('…');
    }
    format!("\"{}\"", cut.escape_debug())
}
