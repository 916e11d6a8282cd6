//! The effective configuration as YAML, for `okcvm config show`.

use okcvm_actors::config::Settings;

/// What an `api_key` is shown as: that one is set, never any part of it.
pub const MASK: &str = "<set>";

/// `settings` as YAML with every `api_key` replaced by `"<set>"`.
pub fn render_masked(settings: &Settings) -> String {
    let mut masked = settings.clone();
    for (_, endpoint) in super::validate::endpoints_mut(&mut masked) {
        if let Some(endpoint) = endpoint {
            if endpoint.api_key.is_some() {
                endpoint.api_key = Some(MASK.to_string());
            }
        }
    }
    match serde_yaml::to_string(&masked) {
        Ok(yaml) => yaml,
        // Settings are plain strings, numbers and lists: this does not happen, but if it did the
        // masked settings are still worth showing in some form.
        Err(e) => format!("# could not render as YAML ({e})\n{masked:#?}\n"),
    }
}
