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

    /// Lays stored changes over these endpoints, which are the configured ones (file,
    /// environment, flags); unknown sections are ignored. A change without its own key uses
    /// the configured one only on the configured origin.
    pub fn apply_stored(&mut self, changes: &StoredChanges) {
        let configured = self.clone();
        self.apply_changes(&configured, changes);
    }

    /// Lays `changes` over these endpoints (those in force); `configured` gives the keys a
    /// change without its own key may use.
    pub fn apply_changes(&mut self, configured: &Endpoints, changes: &StoredChanges) {
        for section in SECTIONS {
            if let Some(change) = changes.get(section) {
                let endpoint = change
                    .as_ref()
                    .map(|stored| in_force(stored, configured.get(section)));
                self.0.insert(section, endpoint);
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

/// The endpoint in force for a stored change. A stored change holds a key only when a request
/// gave one (`""` for "no key"); without one, the configured key is used, and only while the
/// change's `base_url` has the configured one's origin, so a key is never sent to a host it
/// was not given for.
fn in_force(stored: &EndpointSettings, configured: Option<&EndpointSettings>) -> EndpointSettings {
    let mut endpoint = stored.clone();
    match stored.api_key.as_deref() {
        Some("") => endpoint.api_key = None,
        Some(_) => {}
        None => {
            let usable = configured.filter(|c| same_origin(&c.base_url, &stored.base_url));
            endpoint.api_key = usable.and_then(|c| c.api_key.clone());
            endpoint.api_key_env = usable.and_then(|c| c.api_key_env.clone());
        }
    }
    endpoint
}

/// Whether two URLs have the same origin (scheme, host and port, default ports included).
fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// Drops from stored changes any key that is the configured one (written by earlier versions,
/// which stored the key in force): configured keys live in the configuration only. Returns
/// whether anything changed.
pub fn scrub_configured_keys(stored: &mut StoredChanges, configured: &Endpoints) -> bool {
    let mut scrubbed = false;
    for (section, change) in stored.iter_mut() {
        let Some(change) = change.as_mut() else {
            continue;
        };
        let configured_key = configured.get(section).and_then(|c| c.api_key.as_deref());
        if configured_key.is_some() && change.api_key.as_deref() == configured_key {
            change.api_key = None;
            change.api_key_env = None;
            scrubbed = true;
        }
    }
    scrubbed
}

/// What a POST changes: the sections to store, and those whose key in force was dropped
/// because `base_url` moved to another origin without a key in the same request.
#[derive(Debug, Default)]
pub struct Resolved {
    pub changes: StoredChanges,
    pub keys_dropped: Vec<&'static str>,
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
    /// removes the endpoint. `configured` are the configured endpoints, `current` those in
    /// force, `stored` the changes stored so far.
    pub fn resolve(
        self,
        configured: &Endpoints,
        current: &Endpoints,
        stored: &StoredChanges,
    ) -> Result<Resolved, ApiError> {
        let mut resolved = Resolved::default();
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
                Some(patch) => {
                    let key_given = patch.api_key.is_some();
                    let previous = stored.get(section).and_then(Option::as_ref);
                    let merged = patch.merge(section, current.get(section), previous)?;
                    let had_key = current.get(section).is_some_and(|c| c.api_key.is_some());
                    let keeps_key = merged
                        .as_ref()
                        .is_some_and(|m| in_force(m, configured.get(section)).api_key.is_some());
                    if had_key && !keeps_key && !key_given && merged.is_some() {
                        resolved.keys_dropped.push(section);
                    }
                    merged
                }
            };
            resolved.changes.insert(section.to_string(), endpoint);
        }
        Ok(resolved)
    }
}

impl EndpointPatch {
    /// The change to store. Its key is the one given, else the key stored before if
    /// `base_url` keeps its origin; never a configured key (see [`in_force`]).
    fn merge(
        self,
        section: &str,
        current: Option<&EndpointSettings>,
        previous: Option<&EndpointSettings>,
    ) -> Result<Option<EndpointSettings>, ApiError> {
        let trimmed = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (Some(model), Some(base_url)) = (trimmed(self.model), trimmed(self.base_url)) else {
            return Ok(None);
        };
        if url::Url::parse(&base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .is_none()
        {
            return Err(ApiError::new(
                warp::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("{section}.base_url must be an http:// or https:// URL with a host"),
            ));
        }
        let api_key = match self.api_key {
            Some(key) => Some(key.trim().to_string()),
            None => previous
                .filter(|p| same_origin(&p.base_url, &base_url))
                .and_then(|p| p.api_key.clone()),
        };
        Ok(Some(EndpointSettings {
            model,
            base_url,
            api_key,
            api_key_env: None,
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

    /// The endpoints after a POST with `body`, from `configured` and what is `stored`.
    fn post(configured: &Endpoints, stored: &StoredChanges, body: Value) -> (Resolved, Endpoints) {
        let mut current = configured.clone();
        current.apply_stored(stored);
        let resolved = update(body).resolve(configured, &current, stored).unwrap();
        let mut next = current;
        next.apply_changes(configured, &resolved.changes);
        (resolved, next)
    }

    fn configured_with(key: Option<&str>) -> Endpoints {
        let mut configured = Endpoints::default();
        configured.0.insert("chat", Some(endpoint(key)));
        configured
    }

    #[test]
    fn a_key_set_through_the_api_is_kept_when_omitted_cleared_when_empty_and_values_trimmed() {
        let configured = Endpoints::default();
        let (first, _) = post(
            &configured,
            &StoredChanges::new(),
            json!({"chat": {"model": "m", "base_url": "http://y/v1", "api_key": "sk-api"}}),
        );
        let stored = merge_stored(StoredChanges::new(), &first.changes);
        let (kept, next) = post(
            &configured,
            &stored,
            json!({"chat": {"model": " m2 ", "base_url": "http://y/v2 "}}),
        );
        let chat = next.get("chat").unwrap();
        assert_eq!(
            (chat.model.as_str(), chat.base_url.as_str()),
            ("m2", "http://y/v2")
        );
        assert_eq!(chat.api_key.as_deref(), Some("sk-api"));
        assert!(kept.keys_dropped.is_empty());
        let (_, cleared) = post(
            &configured,
            &stored,
            json!({"chat": {"model": "m", "base_url": "http://y/v1", "api_key": ""}}),
        );
        assert_eq!(cleared.get("chat").unwrap().api_key, None);
    }

    #[test]
    fn a_configured_key_is_used_but_never_stored() {
        let configured = configured_with(Some("sk-env"));
        let (resolved, next) = post(
            &configured,
            &StoredChanges::new(),
            json!({"chat": {"model": "m2", "base_url": "http://x/v2"}}),
        );
        assert_eq!(next.get("chat").unwrap().api_key.as_deref(), Some("sk-env"));
        let stored = encode_stored(&resolved.changes).unwrap();
        assert!(!String::from_utf8_lossy(&stored).contains("sk-env"));
    }

    #[test]
    fn a_key_is_dropped_when_base_url_moves_to_another_origin_without_a_key() {
        for (configured, stored_key) in [
            (configured_with(Some("sk-env")), None),
            (Endpoints::default(), Some("sk-api")),
        ] {
            let mut stored = StoredChanges::new();
            if let Some(key) = stored_key {
                stored.insert("chat".into(), Some(endpoint(Some(key))));
            }
            let (resolved, next) = post(
                &configured,
                &stored,
                json!({"chat": {"model": "m", "base_url": "https://elsewhere.example/v1"}}),
            );
            assert_eq!(next.get("chat").unwrap().api_key, None, "{stored_key:?}");
            assert_eq!(resolved.keys_dropped, ["chat"]);
            // Given in the same request, the key goes with the new origin.
            let (resolved, next) = post(
                &configured,
                &stored,
                json!({"chat": {"model": "m", "base_url": "https://elsewhere.example/v1", "api_key": "sk-new"}}),
            );
            assert_eq!(next.get("chat").unwrap().api_key.as_deref(), Some("sk-new"));
            assert!(resolved.keys_dropped.is_empty());
        }
    }

    #[test]
    fn configured_keys_left_in_the_store_by_earlier_versions_are_scrubbed() {
        let configured = configured_with(Some("sk-env"));
        let mut stored = StoredChanges::new();
        stored.insert("chat".into(), Some(endpoint(Some("sk-env"))));
        assert!(scrub_configured_keys(&mut stored, &configured));
        assert_eq!(stored["chat"].as_ref().unwrap().api_key, None);
        assert!(!scrub_configured_keys(&mut stored, &configured));
    }

    #[test]
    fn null_or_a_section_without_model_removes_it_and_absent_sections_do_not_change() {
        let current = Endpoints::default();
        let changes = update(json!({"image": null, "speech": {"base_url": "http://s/v1"}}))
            .resolve(&current, &current, &StoredChanges::new())
            .unwrap()
            .changes;
        assert_eq!(changes.len(), 2);
        assert_eq!(changes["image"], None);
        assert_eq!(changes["speech"], None);
    }

    #[test]
    fn unknown_fields_and_bad_urls_are_refused() {
        assert!(serde_json::from_value::<ConfigUpdate>(json!({"chatt": null})).is_err());
        assert!(serde_json::from_value::<ConfigUpdate>(json!({"chat": {"modle": "x"}})).is_err());
        let error = update(json!({"chat": {"model": "m", "base_url": "ftp://x"}}))
            .resolve(
                &Endpoints::default(),
                &Endpoints::default(),
                &StoredChanges::new(),
            )
            .unwrap_err();
        assert_eq!(error.code, "invalid_field");
    }
}
