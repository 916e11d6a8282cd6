//! OKCVM's integration tests: one binary, one module per area. Most drive the real thing
//! through its real interfaces (the server over HTTP on 127.0.0.1:0, in-process or as the
//! `okcvm` binary; the runtime and its tools; the CLI) against scripted fakes of the model and
//! the other providers on loopback, from the `support` crate (tests/support, shared with the
//! benchmarks).
//!
//! The tests run as threads of this one process, so none may change what the process shares:
//! no environment variable, current directory, resource limit or signal handler set by a test
//! (give them to an `okcvm` child process instead, as `support::binary` does), and nothing done
//! to processes the test did not start itself.
//!
//! A new test goes in the module of its area (a new area is a new module here); one area runs
//! with `cargo test --test integration http::`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_loop;
mod browser;
mod cli;
mod concurrency_bounds;
mod config;
mod console;
mod deploy;
mod http;
mod jail;
mod layers;
mod llm_client;
mod networked_tools;
mod openapi;
mod secrets_at_rest;
mod slides;
mod store_recovery;
mod supervision;

/// A test file directly under tests/ is not built (the package turns test discovery off so that
/// there is one binary): it belongs here as a module.
#[test]
fn every_integration_test_is_a_module_of_this_binary() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut outside: Vec<String> = std::fs::read_dir(tests)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "rs")
                || (path.join("main.rs").is_file() && !path.ends_with("integration"))
        })
        .map(|path| path.display().to_string())
        .collect();
    outside.sort();
    assert_eq!(
        outside,
        Vec::<String>::new(),
        "move these into tests/integration/ as modules"
    );
}
