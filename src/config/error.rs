//! Why the configuration could not be loaded, said so the operator can fix it in one go.

use std::path::PathBuf;

/// A configuration that cannot be used. Handled by the command line, which prints it and exits;
/// every message names the key, and where the layer tells, the file or variable that set it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `--config` named a file that does not exist.
    #[error("config file {} does not exist", .path.display())]
    FileNotFound { path: PathBuf },
    /// The YAML file could not be read or parsed.
    #[error("could not read config file {}: {message}", .path.display())]
    File { path: PathBuf, message: String },
    /// A key that no setting has, usually a typo.
    #[error("unknown key \"{key}\"{}; valid keys there: {}", origin_suffix(.origin), .expected.join(", "))]
    UnknownKey {
        /// Dotted key, e.g. `chat.modle`.
        key: String,
        /// `YAML file okcvm.yaml`, `environment variable OKCVM_CHAT__MODLE`, ...
        origin: Option<String>,
        /// The keys allowed beside it.
        expected: Vec<String>,
    },
    /// A section was given without one of its required keys (`chat.model` without
    /// `chat.base_url`).
    #[error("missing key \"{key}\"{}", section_suffix(.origin))]
    MissingKey {
        key: String,
        /// Where the rest of the section came from.
        origin: Option<String>,
    },
    /// A value of the wrong type or shape.
    #[error("{key}: {message}{}", origin_suffix(.origin))]
    BadValue {
        key: String,
        message: String,
        origin: Option<String>,
    },
    /// Values that parsed but cannot work (an empty model, a zero timeout ...), all of them.
    #[error("invalid configuration: {}", .problems.join("; "))]
    Invalid { problems: Vec<String> },
    /// `api_key_env` names a variable that is not set.
    #[error("{key} names the environment variable {var}, which is not set or is empty")]
    KeyEnvUnset {
        /// Dotted key, e.g. `chat.api_key_env`.
        key: String,
        var: String,
    },
    /// Any other error figment reported.
    #[error("invalid configuration: {0}")]
    Other(String),
}

fn origin_suffix(origin: &Option<String>) -> String {
    match origin {
        Some(origin) => format!(" (from {origin})"),
        None => String::new(),
    }
}

fn section_suffix(origin: &Option<String>) -> String {
    match origin {
        Some(origin) => format!(" (the rest of its section comes from {origin})"),
        None => String::new(),
    }
}
