//! The herald-dns binary: parse flags, set up logging and metrics, run the server.

use clap::Parser;
use herald_dns::config::Config;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    config.log.init();
    service::prometheus();
    herald_dns::server::run(config)
}
