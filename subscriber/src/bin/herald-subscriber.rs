//! `herald-subscriber`: parse flags, set up logging, run until SIGTERM.

use clap::Parser;

/// mimalloc instead of glibc's malloc: a 50,000-task reconcile allocates and frees millions
/// of small strings, and glibc spent ~45% of its CPU in malloc/free (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (`mimalloc.h`; `libmimalloc-sys`
/// names the options around it, `mi_option_eager_commit_delay` = 14 and
/// `mi_option_use_numa_nodes` = 16, but not this one).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> anyhow::Result<()> {
    purge_freed_memory_at_once();
    // mimalloc's own switch, when set, decides (it acts at start-up).
    let huge_pages_off = std::env::var_os("MIMALLOC_ALLOW_THP")
        .is_none()
        .then(herald_subscriber::memory::no_transparent_huge_pages);
    let config = herald_subscriber::Config::parse();
    config.log.init();
    if let Some(Err(e)) = huge_pages_off {
        tracing::warn!(error = %e, "cannot turn transparent huge pages off: the resident memory may grow while idle");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(herald_subscriber::server::run(config))
}

/// Returns the pages a reconcile frees to the OS at once rather than after mimalloc's
/// default delay, which an idle process never reaches: a 50,000-task reconcile frees tens
/// of MB, and they stayed resident between reconciles (`BENCHMARKS.md`, issue #18).
/// The same as `MIMALLOC_PURGE_DELAY=0`; a `MIMALLOC_PURGE_DELAY` in the environment wins.
#[allow(unsafe_code)]
fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores an option value (mimalloc reads its options once at
    // process load, so a default set now would not apply); it takes no pointers and may be
    // called at any time, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}
