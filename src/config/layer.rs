//! The environment and command-line layers as figment providers built from data handed in, so
//! the loader never reads the process environment itself.

use std::collections::BTreeMap;

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// Prefix of every environment variable that sets a key.
pub(crate) const ENV_PREFIX: &str = "OKCVM_";

/// Separator of nested keys in environment variable names: `OKCVM_AGENT__MAX_STEPS`.
const ENV_NESTING: &str = "__";

/// `OKCVM_*` variables read by the command line rather than the settings; they are not keys.
pub(crate) const ENV_NOT_KEYS: &[&str] = &["OKCVM_CONFIG", "OKCVM_LOG"];

/// The endpoints with flat variable names (`OKCVM_<NAME>_<FIELD>`) and the key they set.
pub(crate) const FLAT_ENDPOINTS: &[(&str, &str)] = &[
    ("CHAT", "chat"),
    ("IMAGE", "media.image"),
    ("SPEECH", "media.speech"),
    ("SOUND_EFFECTS", "media.sound_effects"),
    ("ASR", "media.asr"),
];

/// Endpoint fields settable through flat names; `true` when the value is text as given rather
/// than parsed (a key or a model name that looks like a number stays a string).
pub(crate) const FLAT_FIELDS: &[(&str, bool)] = &[
    ("MODEL", true),
    ("BASE_URL", true),
    ("API_KEY", true),
    ("API_KEY_ENV", true),
    ("SUPPORTS_STREAMING", false),
];

/// One value of a layer: the dotted key it sets, where it came from (`OKCVM_CHAT_MODEL`,
/// `--data-dir`), and the value.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub origin: String,
    pub value: Value,
}

/// A layer of key/value entries with one name for all of them ("environment variable",
/// "command-line flag") and the origin of each key for error messages.
pub(crate) struct Layer {
    name: &'static str,
    entries: Vec<Entry>,
}

impl Layer {
    pub(crate) fn new(name: &'static str, entries: Vec<Entry>) -> Self {
        Self { name, entries }
    }

    /// The `OKCVM_*` variables of `env` as entries; everything else is ignored.
    pub(crate) fn from_env(env: &BTreeMap<String, String>) -> Self {
        let entries = env
            .iter()
            .filter(|(name, _)| !ENV_NOT_KEYS.contains(&name.as_str()))
            .filter_map(|(name, raw)| {
                let (key, verbatim) = env_key(name)?;
                let value = if verbatim {
                    Value::from(raw.clone())
                } else {
                    parse_value(raw)
                };
                Some(Entry {
                    key,
                    origin: name.clone(),
                    value,
                })
            })
            .collect();
        Self::new("environment variable", entries)
    }
}

/// The key an `OKCVM_*` variable sets, and whether its value is taken verbatim.
fn env_key(name: &str) -> Option<(String, bool)> {
    let rest = name.strip_prefix(ENV_PREFIX)?;
    for (endpoint, key) in FLAT_ENDPOINTS {
        let Some(field) = rest
            .strip_prefix(endpoint)
            .and_then(|r| r.strip_prefix('_'))
        else {
            continue;
        };
        if let Some((field, verbatim)) = FLAT_FIELDS.iter().find(|(f, _)| *f == field) {
            return Some((format!("{key}.{}", field.to_ascii_lowercase()), *verbatim));
        }
    }
    let key: Vec<String> = rest
        .split(ENV_NESTING)
        .map(str::to_ascii_lowercase)
        .collect();
    if key.iter().any(String::is_empty) {
        // `OKCVM_` alone or `OKCVM_A____B`: still a key, so the error names the variable.
        return Some((rest.to_ascii_lowercase(), false));
    }
    Some((key.join("."), false))
}

/// Parses a value the way figment's own `Env` provider does: `10` is a number, `true` a boolean,
/// `[a, b]` a list, anything else a string.
fn parse_value(raw: &str) -> Value {
    raw.parse::<Value>()
        .unwrap_or_else(|_| Value::from(raw.to_string()))
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let origins: BTreeMap<String, String> = self
            .entries
            .iter()
            .map(|e| (e.key.clone(), e.origin.clone()))
            .collect();
        Metadata::named(self.name).interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            if let Some(origin) = origins.get(&key) {
                return origin.clone();
            }
            // A section: name what was set inside it.
            let inside = format!("{key}.");
            let within: Vec<&str> = origins
                .iter()
                .filter(|(k, _)| k.starts_with(&inside))
                .map(|(_, origin)| origin.as_str())
                .collect();
            if within.is_empty() {
                key
            } else {
                within.join(", ")
            }
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for entry in &self.entries {
            let Some(nested) = figment::util::nest(&entry.key, entry.value.clone()).into_dict()
            else {
                continue;
            };
            dict = merge(dict, nested);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Merges `b` into `a`, `b` winning, recursing into dictionaries.
fn merge(mut a: Dict, b: Dict) -> Dict {
    for (key, value) in b {
        let merged = match (a.remove(&key), value) {
            (Some(Value::Dict(_, old)), Value::Dict(tag, new)) => Value::Dict(tag, merge(old, new)),
            (_, value) => value,
        };
        a.insert(key, merged);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::env_key;

    #[test]
    fn flat_and_nested_names_map_to_keys() {
        let key = |n: &str| env_key(n).map(|(k, _)| k);
        assert_eq!(key("OKCVM_CHAT_MODEL").as_deref(), Some("chat.model"));
        assert_eq!(
            key("OKCVM_SOUND_EFFECTS_API_KEY_ENV").as_deref(),
            Some("media.sound_effects.api_key_env")
        );
        assert_eq!(
            key("OKCVM_ASR_SUPPORTS_STREAMING").as_deref(),
            Some("media.asr.supports_streaming")
        );
        assert_eq!(
            key("OKCVM_AGENT__MAX_STEPS").as_deref(),
            Some("agent.max_steps")
        );
        assert_eq!(key("OKCVM_DATA_DIR").as_deref(), Some("data_dir"));
        assert_eq!(key("OKCVM_CHAT__MODEL").as_deref(), Some("chat.model"));
        assert_eq!(key("OKCVM_CHAT_MODLE").as_deref(), Some("chat_modle"));
        assert_eq!(key("HOME"), None);
    }
}
