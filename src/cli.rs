//! The command line: `okcvm run`, `okcvm exec`, `okcvm tools`, `okcvm tokens`, `okcvm config`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use okcvm_actors::config::Settings;

mod config_cmd;
mod exec;
mod run;
mod tokens;
mod tools;

#[derive(Debug, Parser)]
#[command(
    name = "okcvm",
    version,
    about = "A self-hosted OK Computer: an LLM agent with a sandboxed workspace"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// YAML configuration file (default: ./okcvm.yaml when present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Directory for the database and the workspaces (overrides `data_dir`).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Chat model name (overrides `chat.model`).
    #[arg(long, global = true, value_name = "NAME")]
    pub chat_model: Option<String>,
    /// Chat endpoint base URL (overrides `chat.base_url`).
    #[arg(long, global = true, value_name = "URL")]
    pub chat_base_url: Option<String>,
    /// Log filter, e.g. `info` or `okcvm_actors=debug` (default: warn; or RUST_LOG).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server and the web console.
    Run(run::RunArgs),
    /// Run one turn of the agent and stream it to the terminal.
    Exec(exec::ExecArgs),
    /// List the tools or call one.
    #[command(subcommand)]
    Tools(tools::ToolsCommand),
    /// Create, list or revoke API tokens (for `auth.mode: tokens`).
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Show or check the configuration.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
}

/// Logs go to stderr so they never mix with a command's output.
pub fn init_logging(cli: &Cli) {
    let filter = cli
        .global
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(&cli.global, args).await,
        Command::Exec(args) => exec::run(&cli.global, args).await,
        Command::Tools(command) => tools::run(&cli.global, command).await,
        Command::Tokens(command) => tokens::run(&cli.global, command).await,
        Command::Config(command) => config_cmd::run(&cli.global, command).await,
    }
}

/// The settings from every layer, with this command's flags on top.
pub(crate) fn load_settings(global: &GlobalArgs) -> anyhow::Result<Settings> {
    load_settings_with(global, None, None)
}

/// [`load_settings`] with `--host` / `--port` of `okcvm run` on top.
pub(crate) fn load_settings_with(
    global: &GlobalArgs,
    host: Option<String>,
    port: Option<u16>,
) -> anyhow::Result<Settings> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let options = crate::config::LoadOptions {
        config_file: global.config.clone(),
        current_dir: cwd,
        overrides: crate::config::Overrides {
            data_dir: global.data_dir.clone(),
            chat_model: global.chat_model.clone(),
            chat_base_url: global.chat_base_url.clone(),
            host,
            port,
        },
    };
    Ok(crate::config::load(&options, std::env::vars())?)
}
