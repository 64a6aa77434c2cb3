//! `herald-subscriber`: parse flags, set up logging, run until SIGTERM.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = herald_subscriber::Config::parse();
    config.log.init();
    herald_subscriber::server::run(config).await
}
