//! `okcvm tokens`: API tokens for `auth.mode: tokens`.

use std::process::ExitCode;

use clap::Subcommand;

use super::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List the tokens (never the secrets).
    List,
}

pub async fn run(_global: &GlobalArgs, _command: TokensCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("token management is not available in this build yet")
}
