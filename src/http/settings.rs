//! The model and media endpoints in force, and their changes through `/api/config`:
//! what the contract's GET shows (never a key) and how a POST applies.
//!
//! Changes made here are the top configuration layer: they are stored as the sections that
//! were changed, and laid over the file/environment/flag settings at every start.

use std::collections::BTreeMap;

use okcvm_actors::config::{EndpointSettings, Settings};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::error::ApiError;

/// The setting name under which changed sections are stored.
pub const STORED_SETTING: &str = "endpoints";

/// Section names, in the order the API lists them.
pub const SECTIONS: [&str; 5] = ["chat", "image", "speech", "sound_effects", "asr"];

/// The endpoints in force, by section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Endpoints(pub BTreeMap<&'static str, Option<EndpointSettings>>);

/// Sections changed through the API (`None`: removed), as stored.
pub type StoredChanges = BTreeMap<String, Option<EndpointSettings>>;

impl Endpoints {
    pub fn from_settings(settings: &Settings) -> Self {
        let media = &settings.media;
        Self(BTreeMap::from([
            ("chat", settings.chat.clone()),
            ("image", media.image.clone()),
            ("speech", media.speech.clone()),
            ("sound_effects", media.sound_effects.clone()),
            ("asr", media.asr.clone()),
        ]))
    }

    pub fn get(&self, section: &str) -> Option<&EndpointSettings> {
        self.0.get(section).and_then(Option::as_ref)
    }

    /// The media endpoints in force, with the configured local speech engine.
    pub fn media(
        &self,
        configured: &okcvm_actors::config::MediaSettings,
    ) -> okcvm_actors::config::MediaSettings {
        okcvm_actors::config::MediaSettings {
            image: self.get("image").cloned(),
            speech: self.get("speech").cloned(),
            sound_effects: self.get("sound_effects").cloned(),
            asr: self.get("asr").cloned(),
            local_speech: configured.local_speech,
        }
    }

    /// Lays stored changes over these endpoints; unknown sections are ignored.
    pub fn apply_stored(&mut self, changes: &StoredChanges) {
        for section in SECTIONS {
            if let Some(change) = changes.get(section) {
                self.0.insert(section, change.clone());
            }
        }
    }

    /// The GET shape: each section `null` or `{model, base_url, supports_streaming,
    /// api_key_present?, api_key_env?}`.
    pub fn public_view(&self) -> Value {
        let mut out = serde_json::Map::new();
        for section in SECTIONS {
            let view = match self.get(section) {
                None => Value::Null,
                Some(e) => {
                    let mut view = json!({
                        "model": e.model,
                        "base_url": e.base_url,
                        "supports_streaming": e.supports_streaming,
                    });
                    if e.api_key.as_deref().is_some_and(|k| !k.is_empty()) {
                        view["api_key_present"] = json!(true);
                    }
                    if let Some(env) = &e.api_key_env {
                        view["api_key_env"] = json!(env);
                    }
                    view
                }
            };
            out.insert(section.to_string(), view);
        }
        Value::Object(out)
    }
}

/// A POST body: only the sections present change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigUpdate {
    #[serde(default, deserialize_with = "present")]
    chat: Option<Option<EndpointPatch>>,
    #[serde(default, deserialize_with = "present")]
    image: Option<Option<EndpointPatch>>,
    #[serde(default, deserialize_with = "present")]
    speech: Option<Option<EndpointPatch>>,
    #[serde(default, deserialize_with = "present")]
    sound_effects: Option<Option<EndpointPatch>>,
    #[serde(default, deserialize_with = "present")]
    asr: Option<Option<EndpointPatch>>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One section of a POST.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    model: Option<String>,
    base_url: Option<String>,
    /// Absent keeps the stored key; `""` clears it.
    api_key: Option<String>,
    supports_streaming: Option<bool>,
}

impl ConfigUpdate {
    /// The changed sections, validated: `null`, or a section without `model` or `base_url`,
    /// removes the endpoint.
    pub fn resolve(self, current: &Endpoints) -> Result<StoredChanges, ApiError> {
        let mut changes = StoredChanges::new();
        for (section, patch) in [
            ("chat", self.chat),
            ("image", self.image),
            ("speech", self.speech),
            ("sound_effects", self.sound_effects),
            ("asr", self.asr),
        ] {
            let Some(patch) = patch else { continue };
            let endpoint = match patch {
                None => None,
                Some(patch) => patch.merge(section, current.get(section))?,
            };
            changes.insert(section.to_string(), endpoint);
        }
        Ok(changes)
    }
}

impl EndpointPatch {
    fn merge(
        self,
        section: &str,
        current: Option<&EndpointSettings>,
    ) -> Result<Option<EndpointSettings>, ApiError> {
        let trimmed = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (Some(model), Some(base_url)) = (trimmed(self.model), trimmed(self.base_url)) else {
            return Ok(None);
        };
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ApiError::new(
                warp::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("{section}.base_url must start with http:// or https://"),
            ));
        }
        let api_key = match self.api_key {
            None => current.and_then(|c| c.api_key.clone()),
            Some(key) => Some(key.trim().to_string()).filter(|k| !k.is_empty()),
        };
        Ok(Some(EndpointSettings {
            model,
            base_url,
            api_key,
            // A key set here replaces one read from the environment.
            api_key_env: current.and_then(|c| c.api_key_env.clone()),
            supports_streaming: self
                .supports_streaming
                .or(current.map(|c| c.supports_streaming))
                .unwrap_or(true),
        }))
    }
}

/// Stored changes from their JSON; an unreadable value is logged and ignored.
pub fn decode_stored(raw: Option<Vec<u8>>) -> StoredChanges {
    raw.and_then(|raw| match serde_json::from_slice(&raw) {
        Ok(changes) => Some(changes),
        Err(e) => {
            tracing::error!(error = %e, "stored endpoint settings could not be read; ignoring them");
            None
        }
    })
    .unwrap_or_default()
}

/// Merges new changes into the stored ones, for saving.
pub fn merge_stored(mut stored: StoredChanges, new: &StoredChanges) -> StoredChanges {
    for (section, change) in new {
        stored.insert(section.clone(), change.clone());
    }
    stored
}

/// Serialises changes for the store.
pub fn encode_stored(changes: &StoredChanges) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(changes).map_err(|e| ApiError::internal("saving the settings failed", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(key: Option<&str>) -> EndpointSettings {
        EndpointSettings {
            model: "m".into(),
            base_url: "http://x/v1".into(),
            api_key: key.map(String::from),
            api_key_env: None,
            supports_streaming: true,
        }
    }

    fn update(body: Value) -> ConfigUpdate {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn the_public_view_never_shows_a_key() {
        let mut endpoints = Endpoints::default();
        endpoints
            .0
            .insert("chat", Some(endpoint(Some("sk-secret"))));
        let view = endpoints.public_view();
        assert_eq!(
            view["chat"],
            json!({"model": "m", "base_url": "http://x/v1", "supports_streaming": true, "api_key_present": true})
        );
        assert_eq!(view["image"], Value::Null);
        assert!(!view.to_string().contains("sk-secret"));
    }

    #[test]
    fn an_omitted_key_is_kept_an_empty_key_is_cleared_and_values_are_trimmed() {
        let mut current = Endpoints::default();
        current.0.insert("chat", Some(endpoint(Some("sk-old"))));
        let kept = update(json!({"chat": {"model": " m2 ", "base_url": "http://y/v1 "}}))
            .resolve(&current)
            .unwrap();
        let chat = kept["chat"].clone().unwrap();
        assert_eq!(
            (chat.model.as_str(), chat.base_url.as_str()),
            ("m2", "http://y/v1")
        );
        assert_eq!(chat.api_key.as_deref(), Some("sk-old"));
        let cleared =
            update(json!({"chat": {"model": "m", "base_url": "http://y/v1", "api_key": ""}}))
                .resolve(&current)
                .unwrap();
        assert_eq!(cleared["chat"].clone().unwrap().api_key, None);
    }

    #[test]
    fn null_or_a_section_without_model_removes_it_and_absent_sections_do_not_change() {
        let current = Endpoints::default();
        let changes = update(json!({"image": null, "speech": {"base_url": "http://s/v1"}}))
            .resolve(&current)
            .unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes["image"], None);
        assert_eq!(changes["speech"], None);
    }

    #[test]
    fn unknown_fields_and_bad_urls_are_refused() {
        assert!(serde_json::from_value::<ConfigUpdate>(json!({"chatt": null})).is_err());
        assert!(serde_json::from_value::<ConfigUpdate>(json!({"chat": {"modle": "x"}})).is_err());
        let error = update(json!({"chat": {"model": "m", "base_url": "ftp://x"}}))
            .resolve(&Endpoints::default())
            .unwrap_err();
        assert_eq!(error.code, "invalid_field");
    }
}
