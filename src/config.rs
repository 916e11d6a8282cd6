//! Loading [`okcvm_actors::config::Settings`] from defaults, a YAML file, the environment and
//! command-line flags.
//!
//! Layers, lowest first: the built-in defaults, the YAML file (`--config PATH`, else
//! `okcvm.yaml` in the current directory when there is one), `OKCVM_*` environment variables,
//! then command-line flags. The environment and the current directory are parameters, never
//! read here, so tests do not depend on the machine they run on. After extraction each
//! endpoint's `api_key_env` is resolved and the values are checked; every error names the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Yaml};
use figment::value::Value;
use figment::Figment;
use okcvm_actors::config::Settings;

mod check;
mod error;
mod layer;
mod render;
mod validate;

pub use check::{check_chat, CheckOutcome, CheckReport};
pub use error::ConfigError;
pub use render::render_masked;

use layer::{Entry, Layer};

/// The file read from the current directory when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "okcvm.yaml";

/// Where to look for the file and what the command line overrides.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config PATH`; the file must exist. Relative paths are taken from `current_dir`.
    pub config_file: Option<PathBuf>,
    /// The directory searched for `okcvm.yaml` when `config_file` is `None`.
    pub current_dir: PathBuf,
    /// Values given as flags; they win over every other layer.
    pub overrides: Overrides,
}

/// Settings given on the command line. `None` leaves the lower layers' value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--chat-model`
    pub chat_model: Option<String>,
    /// `--chat-base-url`
    pub chat_base_url: Option<String>,
    /// `okcvm run --host`
    pub host: Option<String>,
    /// `okcvm run --port`
    pub port: Option<u16>,
}

impl Overrides {
    fn layer(&self) -> Layer {
        let mut entries = Vec::new();
        let mut set = |key: &str, flag: &str, value: Option<String>| {
            if let Some(value) = value {
                entries.push(Entry {
                    key: key.to_string(),
                    origin: flag.to_string(),
                    value: Value::from(value),
                });
            }
        };
        set(
            "data_dir",
            "--data-dir",
            self.data_dir
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        );
        set("chat.model", "--chat-model", self.chat_model.clone());
        set(
            "chat.base_url",
            "--chat-base-url",
            self.chat_base_url.clone(),
        );
        set("server.host", "--host", self.host.clone());
        if let Some(port) = self.port {
            entries.push(Entry {
                key: "server.port".into(),
                origin: "--port".into(),
                value: Value::from(port),
            });
        }
        Layer::new("command-line flag", entries)
    }
}

/// The YAML file that [`load`] reads for `options`, if any: `--config` (which must exist), else
/// `okcvm.yaml` in the current directory when it is a file.
pub fn config_file(options: &LoadOptions) -> Result<Option<PathBuf>, ConfigError> {
    match &options.config_file {
        Some(path) => {
            let path = options.current_dir.join(path);
            if path.is_file() {
                Ok(Some(path))
            } else {
                Err(ConfigError::FileNotFound { path })
            }
        }
        None => {
            let path = options.current_dir.join(DEFAULT_CONFIG_FILE);
            Ok(path.is_file().then_some(path))
        }
    }
}

/// Loads the effective settings: defaults < file < `env` (`OKCVM_*`) < `options.overrides`,
/// with `api_key_env` resolved from `env` and every value checked.
pub fn load(
    options: &LoadOptions,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let env: BTreeMap<String, String> = env.into_iter().collect();

    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    if let Some(path) = config_file(options)? {
        figment = figment.merge(yaml_layer(&path)?);
    }
    let figment = figment
        .merge(Layer::from_env(&env))
        .merge(options.overrides.layer());

    let mut settings: Settings = figment.extract().map_err(|e| explain(&figment, e))?;
    resolve_key_env(&mut settings, &env)?;

    let problems = validate::problems(&settings);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid { problems });
    }
    Ok(settings)
}

/// The file as a layer. A file with nothing but comments is an empty layer rather than a
/// parse error, so `okcvm.yaml` can start as a copy of the example with everything commented.
fn yaml_layer(path: &Path) -> Result<Figment, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
    if blank {
        return Ok(Figment::new());
    }
    Ok(Figment::from(Yaml::file_exact(path)))
}

/// Turns figment's error into one that names the key and the layer that set it.
fn explain(figment: &Figment, error: figment::Error) -> ConfigError {
    let mut errors = error.into_iter();
    let Some(error) = errors.next() else {
        return ConfigError::Other("unknown error".into());
    };
    let origin = |key: &str| origin_of(figment, key);
    match &error.kind {
        figment::error::Kind::UnknownField(field, expected) => {
            // figment puts the unknown field at the end of the path; older versions did not.
            let mut path = error.path.clone();
            if path.last() != Some(field) {
                path.push(field.clone());
            }
            let key = path.join(".");
            ConfigError::UnknownKey {
                origin: origin(&key),
                key,
                expected: expected.iter().map(|s| (*s).to_string()).collect(),
            }
        }
        figment::error::Kind::MissingField(field) => {
            // The section is there (the layer that set part of it is the likely culprit) but
            // one of its required keys is not.
            let mut path = error.path.clone();
            let section = path.join(".");
            if path.last().map(String::as_str) != Some(field.as_ref()) {
                path.push(field.to_string());
            }
            ConfigError::MissingKey {
                key: path.join("."),
                origin: origin(&section),
            }
        }
        _ if error.path.is_empty() => match error
            .metadata
            .as_ref()
            .and_then(|m| m.source.as_ref())
            .and_then(|s| s.file_path())
        {
            Some(path) => ConfigError::File {
                path: path.to_path_buf(),
                message: error.kind.to_string(),
            },
            None => ConfigError::Other(error.kind.to_string()),
        },
        kind => {
            let key = error.path.join(".");
            ConfigError::BadValue {
                origin: origin(&key),
                key,
                message: kind.to_string(),
            }
        }
    }
}

/// "YAML file okcvm.yaml", "environment variable OKCVM_CHAT_MODEL", ... for the layer that set
/// `key`; `None` for the defaults or when figment does not know.
fn origin_of(figment: &Figment, key: &str) -> Option<String> {
    let metadata = figment.find_metadata(key)?;
    if let Some(path) = metadata.source.as_ref().and_then(|s| s.file_path()) {
        return Some(format!("{} {}", metadata.name, path.display()));
    }
    if metadata.source.is_some() {
        // The defaults: the value was not set by the operator.
        return None;
    }
    let keys: Vec<&str> = key.split('.').collect();
    let name = metadata.interpolate(figment.profile(), &keys);
    Some(format!("{} {name}", metadata.name))
}

/// Fills each endpoint's `api_key` from the variable its `api_key_env` names, unless the key is
/// given inline.
fn resolve_key_env(
    settings: &mut Settings,
    env: &BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    if let Some(search) = &mut settings.search {
        if let (None, Some(var)) = (&search.api_key, &search.api_key_env) {
            match env.get(var).filter(|v| !v.is_empty()) {
                Some(value) => search.api_key = Some(value.clone()),
                None => {
                    return Err(ConfigError::KeyEnvUnset {
                        key: "search.api_key_env".into(),
                        var: var.clone(),
                    })
                }
            }
        }
    }
    for (key, endpoint) in validate::endpoints_mut(settings) {
        let Some(endpoint) = endpoint else { continue };
        if endpoint.api_key.is_some() {
            continue;
        }
        let Some(var) = &endpoint.api_key_env else {
            continue;
        };
        match env.get(var).filter(|v| !v.is_empty()) {
            Some(value) => endpoint.api_key = Some(value.clone()),
            None => {
                return Err(ConfigError::KeyEnvUnset {
                    key: format!("{key}.api_key_env"),
                    var: var.clone(),
                })
            }
        }
    }
    Ok(())
}
