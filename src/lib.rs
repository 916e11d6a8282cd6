//! The `okcvm` binary's library: configuration loading, the command line, and (later) the
//! HTTP server. The actor core lives in the `okcvm-actors` crate.

pub mod cli;
pub mod config;
