use std::process::ExitCode;

use clap::Parser;
use okcvm_actors::workspace::jail::bridge;

fn main() -> ExitCode {
    // Inside the jail, this binary is the bridge to the network proxy (see the jail's docs).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == bridge::COMMAND) {
        let code = bridge::main(&args[2..]);
        return ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX));
    }
    let cli = okcvm::cli::Cli::parse();
    okcvm::cli::init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(okcvm::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
