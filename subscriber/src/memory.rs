//! This process's resident memory between reconciles: no transparent huge pages.
//!
//! mimalloc asks for huge pages on its arenas (`madvise(MADV_HUGEPAGE)`), so even where the
//! system's THP mode is `madvise`, the kernel's khugepaged collapses any 2 MiB range of an
//! arena that still holds a few live 4 KiB pages into one huge page, filling back what
//! mimalloc had returned to the system after a reconcile: an idle subscriber grew by 5-10
//! MB every few seconds (`AnonHugePages` in `/proc/PID/smaps`), and a reconcile faulted in
//! whole huge pages (`BENCHMARKS.md`, issue #18).

use std::io;

/// Turns transparent huge pages off for the whole process, the memory it holds already
/// included (`prctl(PR_SET_THP_DISABLE)`, the same as mimalloc's `MIMALLOC_ALLOW_THP=0`,
/// which only acts at start-up); children inherit it. Not on a system without THP control
/// (not Linux): `Ok(false)`.
pub fn no_transparent_huge_pages() -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        rustix::thread::disable_transparent_huge_pages(true)?;
        Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's word on this process (`THP_enabled` in `/proc/self/status`, Linux 5.0+).
    fn thp_enabled() -> Option<bool> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("THP_enabled:"))?;
        Some(line.split_whitespace().nth(1)? != "0")
    }

    #[test]
    fn huge_pages_are_off_for_the_process_once_turned_off() {
        const TEST: &str = "memory::huge_pages_are_off_for_the_process_once_turned_off";
        match thp_enabled() {
            None => {
                return registry::harness::skip(TEST, "this kernel does not report THP_enabled");
            }
            // Inherited from whoever started the tests: nothing left to show.
            Some(false) => {
                return registry::harness::skip(TEST, "THP is off for this process already");
            }
            Some(true) => {}
        }
        assert!(no_transparent_huge_pages().expect("prctl"));
        assert_eq!(thp_enabled(), Some(false));
    }
}
