//! OKCVM's integration tests: one binary, one module per area. Each drives the real thing
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
mod config;
mod console;
mod deploy;
mod http;
mod jail;
mod llm_client;
mod networked_tools;
mod openapi;
mod secrets_at_rest;
mod slides;
mod supervision;
