//! `okcvm tokens`: API tokens for `auth.mode: tokens`. Works while a server runs: tokens live
//! in their own file, not in the database.

use std::process::ExitCode;

use clap::Subcommand;

use super::GlobalArgs;
use crate::auth::TokenStore;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token for a tenant; prints it once, alone on stdout.
    Create {
        /// The tenant the token acts as (1 to 64 of letters, digits, '.', '_', '-').
        #[arg(long)]
        tenant: String,
        /// A note to recognise the token by, e.g. who holds it.
        #[arg(long)]
        label: Option<String>,
    },
    /// List the tokens (never the secrets).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id; it stops working at once, also on a running server.
    Revoke {
        /// The token's id, as `okcvm tokens list` shows it.
        id: String,
    },
}

pub async fn run(global: &GlobalArgs, command: TokensCommand) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let store = TokenStore::open(&settings.data_dir)?;
    match command {
        TokensCommand::Create { tenant, label } => {
            let (info, token) = store.create(&tenant, label.as_deref())?;
            println!("{token}");
            eprintln!(
                "created {} for tenant {}; the token is shown only this once",
                info.id, info.tenant
            );
        }
        TokensCommand::List { json } => {
            let tokens = store.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else if tokens.is_empty() {
                println!("no tokens; make one with: okcvm tokens create --tenant NAME");
            } else {
                println!(
                    "{:<18} {:<20} {:<20} {:<17} PREFIX",
                    "ID", "TENANT", "LABEL", "CREATED (UTC)"
                );
                for t in tokens {
                    let created = chrono::DateTime::from_timestamp_millis(t.created_ms)
                        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default();
                    println!(
                        "{:<18} {:<20} {:<20} {:<17} {}",
                        t.id,
                        t.tenant,
                        t.label.unwrap_or_default(),
                        created,
                        t.prefix
                    );
                }
            }
        }
        TokensCommand::Revoke { id } => {
            if store.revoke(&id)? {
                println!("revoked {id}");
            } else {
                eprintln!("error: no token with id {id} (see okcvm tokens list)");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
