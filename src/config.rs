//! Loading [`okcvm_actors::config::Settings`] from defaults, a YAML file, the environment and
//! command-line flags.
