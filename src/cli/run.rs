//! `okcvm run`: the HTTP server and the web console.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Address to listen on (overrides `server.host`; default 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// Port to listen on (overrides `server.port`; default 8000).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

pub async fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let _settings = super::load_settings_with(global, args.host, args.port)?;
    anyhow::bail!("the server is not available in this build yet")
}
