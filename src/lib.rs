//! The `okcvm` binary's library: configuration loading, the command line, and the HTTP
//! server. The actor core lives in the `okcvm-actors` crate.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod http;
pub mod memory;
