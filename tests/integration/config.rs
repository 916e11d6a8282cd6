//! Configuration loading: layers, environment names, errors, masking, the example and the docs.
// Expected settings read best as "the defaults, with these changes".
#![allow(clippy::field_reassign_with_default)]

use std::path::{Path, PathBuf};

use okcvm::config::{
    check_chat, load, render_masked, CheckOutcome, ConfigError, LoadOptions, Overrides,
};
use okcvm_actors::config::{EndpointSettings, Settings};

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A temporary current directory, optionally holding an `okcvm.yaml`.
fn dir_with(yaml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(yaml) = yaml {
        std::fs::write(dir.path().join("okcvm.yaml"), yaml).unwrap();
    }
    dir
}

fn options_in(dir: &Path) -> LoadOptions {
    LoadOptions {
        config_file: None,
        current_dir: dir.to_path_buf(),
        overrides: Overrides::default(),
    }
}

fn load_yaml(yaml: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = dir_with(Some(yaml));
    load(&options_in(dir.path()), env(vars))
}

fn endpoint(model: &str, base_url: &str) -> EndpointSettings {
    EndpointSettings {
        model: model.into(),
        base_url: base_url.into(),
        api_key: None,
        api_key_env: None,
        supports_streaming: true,
    }
}

/// Dotted paths of every leaf (a null counts as a leaf) of a JSON value.
fn leaf_keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_keys(v, &key, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

fn lookup<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    key.split('.').try_fold(value, |v, k| v.as_object()?.get(k))
}

/// Every key of the settings: the defaults' leaves plus each field of an endpoint under `chat`.
fn every_key() -> Vec<String> {
    let mut keys = Vec::new();
    leaf_keys(
        &serde_json::to_value(Settings::default()).unwrap(),
        "",
        &mut keys,
    );
    let full = EndpointSettings {
        api_key: Some("k".into()),
        api_key_env: Some("K".into()),
        ..endpoint("m", "http://x")
    };
    leaf_keys(&serde_json::to_value(full).unwrap(), "chat", &mut keys);
    keys.retain(|k| k != "chat");
    keys
}

#[test]
fn the_example_file_sets_every_key_to_its_default() {
    let example = repo_file("config/okcvm.example.yaml");
    let yaml: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&example).unwrap()).unwrap();
    for key in every_key() {
        assert!(
            lookup(&yaml, &key).is_some(),
            "{key} is missing from the example"
        );
    }

    let dir = dir_with(None);
    let options = LoadOptions {
        config_file: Some(example),
        ..options_in(dir.path())
    };
    let settings = load(&options, env(&[("MOONSHOT_API_KEY", "sk-test")])).unwrap();
    let expected = Settings {
        chat: Some(EndpointSettings {
            api_key: Some("sk-test".into()),
            api_key_env: Some("MOONSHOT_API_KEY".into()),
            ..endpoint("kimi-k2-turbo-preview", "https://api.moonshot.ai/v1")
        }),
        ..Settings::default()
    };
    assert_eq!(settings, expected);
}

#[test]
fn the_docs_name_every_key() {
    let docs = std::fs::read_to_string(repo_file("docs/config.md")).unwrap();
    for key in every_key() {
        assert!(
            docs.contains(&format!("`{key}`")),
            "{key} is not in docs/config.md"
        );
    }
}

#[test]
fn no_file_and_no_environment_gives_the_defaults() {
    let dir = dir_with(None);
    assert_eq!(
        load(&options_in(dir.path()), env(&[("HOME", "/root")])).unwrap(),
        Settings::default()
    );
}

#[test]
fn a_file_of_comments_only_gives_the_defaults() {
    assert_eq!(
        load_yaml("# nothing yet\n\n# data_dir: x\n", &[]).unwrap(),
        Settings::default()
    );
}

#[test]
fn layers_override_in_order_defaults_file_env_flags() {
    let yaml = "data_dir: from-file\n\
                agent:\n  max_steps: 10\n\
                llm:\n  max_retries: 5\n\
                chat:\n  model: file-model\n  base_url: http://file.example/v1\n";
    let dir = dir_with(Some(yaml));
    let options = LoadOptions {
        overrides: Overrides {
            data_dir: Some("from-flag".into()),
            chat_model: None,
            chat_base_url: Some("http://flag.example/v1".into()),
            ..Overrides::default()
        },
        ..options_in(dir.path())
    };
    let vars = env(&[
        ("OKCVM_DATA_DIR", "from-env"),
        ("OKCVM_AGENT__MAX_STEPS", "20"),
        ("OKCVM_CHAT_MODEL", "env-model"),
    ]);
    let settings = load(&options, vars).unwrap();

    let mut expected = Settings::default();
    expected.data_dir = "from-flag".into();
    expected.agent.max_steps = 20;
    expected.llm.max_retries = 5;
    expected.chat = Some(endpoint("env-model", "http://flag.example/v1"));
    assert_eq!(settings, expected);
}

#[test]
fn flags_alone_can_configure_the_chat_model() {
    let dir = dir_with(None);
    let options = LoadOptions {
        overrides: Overrides {
            data_dir: None,
            chat_model: Some("llama3".into()),
            chat_base_url: Some("http://127.0.0.1:11434/v1".into()),
            ..Overrides::default()
        },
        ..options_in(dir.path())
    };
    let settings = load(&options, env(&[])).unwrap();
    assert_eq!(
        settings.chat,
        Some(endpoint("llama3", "http://127.0.0.1:11434/v1"))
    );
}

#[test]
fn an_explicit_config_file_replaces_the_one_in_the_current_directory() {
    let dir = dir_with(Some("agent:\n  max_steps: 7\n"));
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, "llm:\n  max_retries: 1\n").unwrap();
    let options = LoadOptions {
        config_file: Some("other.yaml".into()),
        ..options_in(dir.path())
    };
    let settings = load(&options, env(&[])).unwrap();
    assert_eq!(settings.agent.max_steps, 50);
    assert_eq!(settings.llm.max_retries, 1);
}

#[test]
fn flat_environment_names_set_every_endpoint() {
    let vars = env(&[
        ("OKCVM_CHAT_MODEL", "kimi"),
        ("OKCVM_CHAT_BASE_URL", "https://api.moonshot.ai/v1"),
        ("OKCVM_CHAT_API_KEY", "12345"),
        ("OKCVM_CHAT_SUPPORTS_STREAMING", "false"),
        ("OKCVM_IMAGE_MODEL", "gpt-image-1"),
        ("OKCVM_IMAGE_BASE_URL", "https://api.openai.com/v1"),
        ("OKCVM_IMAGE_API_KEY_ENV", "OPENAI_API_KEY"),
        ("OPENAI_API_KEY", "sk-openai"),
        ("OKCVM_SPEECH_MODEL", "tts"),
        ("OKCVM_SPEECH_BASE_URL", "http://speech.local/v1"),
        ("OKCVM_SOUND_EFFECTS_MODEL", "sfx"),
        ("OKCVM_SOUND_EFFECTS_BASE_URL", "http://sfx.local/v1"),
        ("OKCVM_ASR_MODEL", "whisper"),
        ("OKCVM_ASR_BASE_URL", "http://asr.local/v1"),
    ]);
    let dir = dir_with(None);
    let settings = load(&options_in(dir.path()), vars).unwrap();

    let mut expected = Settings::default();
    expected.chat = Some(EndpointSettings {
        // A key of digits stays a string.
        api_key: Some("12345".into()),
        supports_streaming: false,
        ..endpoint("kimi", "https://api.moonshot.ai/v1")
    });
    expected.media.image = Some(EndpointSettings {
        api_key: Some("sk-openai".into()),
        api_key_env: Some("OPENAI_API_KEY".into()),
        ..endpoint("gpt-image-1", "https://api.openai.com/v1")
    });
    expected.media.speech = Some(endpoint("tts", "http://speech.local/v1"));
    expected.media.sound_effects = Some(endpoint("sfx", "http://sfx.local/v1"));
    expected.media.asr = Some(endpoint("whisper", "http://asr.local/v1"));
    assert_eq!(settings, expected);
}

#[test]
fn nested_environment_names_set_any_key() {
    let vars = env(&[
        ("OKCVM_DATA_DIR", "/var/lib/okcvm"),
        ("OKCVM_AGENT__MAX_STEPS", "10"),
        ("OKCVM_LLM__TEMPERATURE", "0.5"),
        ("OKCVM_SESSIONS__IDLE_HIBERNATE_S", "30"),
        ("OKCVM_WORKSPACE__ENV_PASSTHROUGH", "[PATH, HOME]"),
        ("OKCVM_MEDIA__ASR__MODEL", "whisper"),
        ("OKCVM_MEDIA__ASR__BASE_URL", "http://asr.local/v1"),
        // Read by the command line, not a key.
        ("OKCVM_CONFIG", "elsewhere.yaml"),
    ]);
    let dir = dir_with(None);
    let settings = load(&options_in(dir.path()), vars).unwrap();

    let mut expected = Settings::default();
    expected.data_dir = "/var/lib/okcvm".into();
    expected.agent.max_steps = 10;
    expected.llm.temperature = Some(0.5);
    expected.sessions.idle_hibernate_s = 30.0;
    expected.workspace.env_passthrough = vec!["PATH".into(), "HOME".into()];
    expected.media.asr = Some(endpoint("whisper", "http://asr.local/v1"));
    assert_eq!(settings, expected);
}

#[test]
fn an_unknown_key_in_the_file_is_named_with_the_file() {
    let yaml = "chat:\n  modle: kimi\n  base_url: https://api.moonshot.ai/v1\n";
    let err = load_yaml(yaml, &[]).unwrap_err();
    let ConfigError::UnknownKey {
        key,
        origin,
        expected,
    } = &err
    else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(key, "chat.modle");
    assert!(origin.as_deref().unwrap().contains("okcvm.yaml"), "{err}");
    assert!(expected.contains(&"model".to_string()));
    let message = err.to_string();
    assert!(
        message.starts_with("unknown key \"chat.modle\""),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn an_unknown_top_level_key_in_the_file_is_named() {
    let err = load_yaml("dta_dir: x\n", &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, .. } if key == "dta_dir"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_in_the_environment_is_named_with_the_variable() {
    let dir = dir_with(None);
    let err = load(
        &options_in(dir.path()),
        env(&[("OKCVM_AGENT__MAX_STEP", "3")]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown key \"agent.max_step\" (from environment variable OKCVM_AGENT__MAX_STEP); \
         valid keys there: max_steps, max_concurrent_tool_calls"
    );

    let err = load(
        &options_in(dir.path()),
        env(&[("OKCVM_CHAT_MODLE", "kimi")]),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, origin: Some(origin), .. }
            if key == "chat_modle" && origin.contains("OKCVM_CHAT_MODLE")),
        "{err}"
    );
}

#[test]
fn a_bad_value_is_named_with_its_key_and_origin() {
    let dir = dir_with(None);
    let err = load(
        &options_in(dir.path()),
        env(&[("OKCVM_AGENT__MAX_STEPS", "ten")]),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("agent.max_steps: invalid type"),
        "{message}"
    );
    assert!(
        message.contains("environment variable OKCVM_AGENT__MAX_STEPS"),
        "{message}"
    );

    let err = load_yaml("llm:\n  max_retries: -1\n", &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::BadValue { key, origin: Some(origin), .. }
            if key == "llm.max_retries" && origin.contains("okcvm.yaml")),
        "{err}"
    );
}

#[test]
fn a_half_configured_endpoint_names_the_missing_key_and_what_set_the_rest() {
    let dir = dir_with(None);
    let err = load(
        &options_in(dir.path()),
        env(&[("OKCVM_CHAT_MODEL", "kimi")]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing key \"chat.base_url\" (the rest of its section comes from environment \
         variable OKCVM_CHAT_MODEL)"
    );

    let err = load_yaml("media:\n  image:\n    base_url: http://x/v1\n", &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::MissingKey { key, origin: Some(origin) }
            if key == "media.image.model" && origin.contains("okcvm.yaml")),
        "{err}"
    );
}

#[test]
fn a_broken_yaml_file_is_named() {
    let err = load_yaml("agent: [unclosed\n", &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::File { path, .. } if path.ends_with("okcvm.yaml")),
        "{err}"
    );
}

#[test]
fn values_that_cannot_work_are_all_reported() {
    let yaml = "chat:\n  model: ' '\n  base_url: api.moonshot.ai/v1\n\
                llm:\n  connect_timeout_s: 0\n\
                agent:\n  max_steps: 0\n\
                sessions:\n  idle_hibernate_s: -1\n\
                workspace:\n  max_output_chars: 50\n";
    let err = load_yaml(yaml, &[]).unwrap_err();
    let ConfigError::Invalid { problems } = &err else {
        panic!("unexpected error: {err}");
    };
    let keys: Vec<&str> = problems
        .iter()
        .map(|p| p.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec![
            "chat.model",
            "chat.base_url",
            "llm.connect_timeout_s",
            "sessions.idle_hibernate_s",
            "agent.max_steps",
            "workspace.max_output_chars",
        ]
    );
}

#[test]
fn api_key_env_is_read_from_the_given_environment() {
    let yaml = "chat:\n  model: m\n  base_url: http://x/v1\n  api_key_env: MY_KEY\n";
    let settings = load_yaml(yaml, &[("MY_KEY", "sk-from-env")]).unwrap();
    assert_eq!(
        settings.chat.unwrap().api_key.as_deref(),
        Some("sk-from-env")
    );
}

#[test]
fn an_inline_api_key_wins_over_api_key_env() {
    let yaml = "chat:\n  model: m\n  base_url: http://x/v1\n  api_key: inline\n  \
                api_key_env: MY_KEY\n";
    let settings = load_yaml(yaml, &[("MY_KEY", "from-env")]).unwrap();
    assert_eq!(settings.chat.unwrap().api_key.as_deref(), Some("inline"));
}

#[test]
fn an_unset_api_key_env_is_an_error_naming_the_key_and_variable() {
    let yaml =
        "media:\n  asr:\n    model: m\n    base_url: http://x/v1\n    api_key_env: ASR_KEY\n";
    let err = load_yaml(yaml, &[("ASR_KEY", "")]).unwrap_err();
    assert_eq!(
        err,
        ConfigError::KeyEnvUnset {
            key: "media.asr.api_key_env".into(),
            var: "ASR_KEY".into()
        }
    );
    let message = err.to_string();
    assert!(message.contains("media.asr.api_key_env") && message.contains("ASR_KEY"));
}

#[test]
fn a_missing_config_file_is_an_error() {
    let dir = dir_with(Some("agent:\n  max_steps: 7\n"));
    let options = LoadOptions {
        config_file: Some("nope.yaml".into()),
        ..options_in(dir.path())
    };
    let err = load(&options, env(&[])).unwrap_err();
    assert_eq!(
        err,
        ConfigError::FileNotFound {
            path: dir.path().join("nope.yaml")
        }
    );
}

#[test]
fn render_masked_never_shows_any_part_of_a_key() {
    let key = "sk-Zq83hLmP0vXw2Kd9";
    let mut settings = Settings::default();
    settings.chat = Some(EndpointSettings {
        api_key: Some(key.into()),
        ..endpoint("kimi", "https://api.moonshot.ai/v1")
    });
    settings.media.speech = Some(EndpointSettings {
        api_key: Some(key.into()),
        ..endpoint("tts", "http://speech.local/v1")
    });
    let shown = render_masked(&settings);

    let chars: Vec<char> = key.chars().collect();
    for piece in chars.windows(4) {
        let piece: String = piece.iter().collect();
        assert!(!shown.contains(&piece), "{piece:?} shown in:\n{shown}");
    }
    let yaml: serde_json::Value = serde_yaml::from_str(&shown).unwrap();
    assert_eq!(yaml["chat"]["api_key"], "<set>");
    assert_eq!(yaml["media"]["speech"]["api_key"], "<set>");
    assert_eq!(yaml["chat"]["model"], "kimi");
    assert_eq!(yaml["agent"]["max_steps"], 50);
}

#[test]
fn the_rendered_config_loads_back_to_the_same_settings() {
    let mut settings = Settings::default();
    settings.chat = Some(endpoint("kimi", "https://api.moonshot.ai/v1"));
    settings.agent.max_steps = 12;
    assert_eq!(load_yaml(&render_masked(&settings), &[]).unwrap(), settings);
}

#[tokio::test]
async fn check_without_a_chat_model_says_what_to_set() {
    let report = check_chat(&Settings::default()).await;
    assert_eq!(report.model, None);
    let CheckOutcome::NotConfigured { hint } = &report.outcome else {
        panic!("unexpected outcome: {report:?}");
    };
    assert!(hint.contains("chat.model") && hint.contains("OKCVM_CHAT_MODEL"));
    assert!(!report.is_ok());
}

#[tokio::test]
async fn check_reports_a_failed_call_with_its_code() {
    // Port 1 on loopback refuses connections: no request leaves the machine.
    let mut settings = Settings::default();
    settings.chat = Some(endpoint("m", "http://127.0.0.1:1/v1"));
    settings.llm.max_retries = 0;
    settings.llm.connect_timeout_s = 2.0;
    let report = check_chat(&settings).await;
    assert_eq!(report.model.as_deref(), Some("m"));
    assert_eq!(report.base_url.as_deref(), Some("http://127.0.0.1:1/v1"));
    let CheckOutcome::Failed { code, .. } = &report.outcome else {
        panic!("unexpected outcome: {report:?}");
    };
    assert!(code.starts_with("model_"), "{code}");
    assert!(report.to_string().contains(code.as_str()));
}
