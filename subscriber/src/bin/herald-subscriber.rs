//! `herald-subscriber`: parse flags, set up logging, run until SIGTERM.

use clap::Parser;

/// mimalloc instead of glibc's malloc: a 50,000-task reconcile allocates and frees millions
/// of small strings, and glibc spent ~45% of its CPU in malloc/free (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = herald_subscriber::Config::parse();
    config.log.init();
    herald_subscriber::server::run(config).await
}
