//! `okcvm config show` and `okcvm config check`.

use std::process::ExitCode;

use clap::Subcommand;

use super::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (every layer applied), secrets masked.
    Show,
    /// Validate the configuration and ask the chat model for a one-word answer.
    Check,
}

pub(crate) async fn run(global: &GlobalArgs, command: ConfigCommand) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    match command {
        ConfigCommand::Show => {
            print!("{}", crate::config::render_masked(&settings));
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Check => {
            println!("configuration: valid");
            let report = crate::config::check_chat(&settings).await;
            println!("{report}");
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
