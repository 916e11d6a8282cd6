//! What OKCVM's integration tests (tests/integration) and benchmarks (benches/) share:
//! scripted fakes of the model ([`fake_model`]) and of other HTTP providers ([`fake_http`],
//! [`fixed_server`]), the server in-process ([`server`]) or as the `okcvm` binary
//! ([`binary`]), the runtime on a temporary data directory ([`runtime`]), and the benchmarks'
//! own plumbing ([`bench`](mod@bench)).
// Test code: a failed unwrap is a failed test or benchmark, with its place in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bench;
pub mod binary;
pub mod fake_http;
pub mod fake_model;
pub mod fixed_server;
pub mod runtime;
pub mod server;
