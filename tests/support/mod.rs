//! Shared test support: a scripted fake model server and runtime helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod binary;
pub mod fake_http;
pub mod fake_model;
pub mod fixed_server;
pub mod runtime;
pub mod server;
