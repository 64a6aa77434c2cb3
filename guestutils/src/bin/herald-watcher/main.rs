//! `herald-watcher`: runs a handler when watched Marathon services change.

mod args;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args::Args::parse();
    args.log.init();
    args.run().await
}
