//! Why an upload was refused or failed.

use std::io;

use super::limit_display;

/// Why an upload was refused or failed. The HTTP layer answers with [`UploadError::status`] and
/// [`UploadError::code`] and shows the message to the user; messages name files by their
/// upload name and never show a host path. Whatever the error, nothing of the batch is kept.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The request held no file.
    #[error("no file was uploaded: choose at least one file")]
    Empty,
    /// The client's file name can't be made safe (see [`super::sanitize_name`]).
    #[error("the file name {shown} is refused: {reason}")]
    InvalidName {
        /// The name as sent, quoted, escaped and cut short.
        shown: String,
        reason: &'static str,
    },
    /// Two files of the batch have the same name (after sanitizing).
    #[error("{name} appears more than once in this upload: give each file a different name")]
    DuplicateName { name: String },
    /// The session would hold more files than allowed.
    #[error(
        "too many files: a session holds at most {limit} uploaded files and this upload would \
         go over; remove some or upload fewer"
    )]
    TooManyFiles { limit: usize },
    /// One file is over the size limit.
    #[error("{name} is larger than the {} limit", limit_display(*limit_bytes))]
    FileTooLarge { name: String, limit_bytes: u64 },
    /// The session's uploads would total more than the quota.
    #[error(
        "{name} does not fit: a session's uploads may total at most {}; remove some first",
        limit_display(*quota_bytes)
    )]
    QuotaExceeded { name: String, quota_bytes: u64 },
    /// The client's stream of a file failed (a dropped connection, a malformed request).
    #[error("the upload of {name} was interrupted: {reason}")]
    Interrupted { name: String, reason: String },
    /// A file-system operation failed on the server. `action` says what, in terms of file
    /// names; the source carries the detail for the server's log.
    #[error("could not {action}: the server failed to store the upload")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    /// The workspace's `upload` is a symbolic link or not a folder, so nothing is written into
    /// it.
    #[error(
        "the session's upload folder was replaced by a link or a file, so nothing can be \
         uploaded; clear the session or remove it from the workspace"
    )]
    Unsafe,
}

impl UploadError {
    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_upload",
            Self::InvalidName { .. } => "invalid_file_name",
            Self::DuplicateName { .. } => "duplicate_file_name",
            Self::TooManyFiles { .. } => "too_many_files",
            Self::FileTooLarge { .. } => "file_too_large",
            Self::QuotaExceeded { .. } => "upload_quota_exceeded",
            Self::Interrupted { .. } => "upload_interrupted",
            Self::Io { .. } => "upload_failed",
            Self::Unsafe => "unsafe_upload_folder",
        }
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::FileTooLarge { .. } | Self::QuotaExceeded { .. } => 413,
            Self::Io { .. } => 500,
            Self::Empty
            | Self::InvalidName { .. }
            | Self::DuplicateName { .. }
            | Self::TooManyFiles { .. }
            | Self::Interrupted { .. }
            | Self::Unsafe => 400,
        }
    }

    pub(super) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}
