//! `guestutils`: maestro's guest functions for shell entrypoints of Marathon tasks.

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli.log.init();
    match cli.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guestutils: {e:#}");
            ExitCode::FAILURE
        }
    }
}
