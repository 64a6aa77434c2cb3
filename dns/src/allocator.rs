//! Handing freed memory back to the system after a full load of the registry. glibc keeps
//! a freed page resident while it sits between live allocations of its heap, and gives it
//! back only from the heap's top on its own: a Marathon load frees every decoded record at
//! once (the index converts them all first, see [`crate::index::ZoneIndex::apply`]), which
//! leaves whole pages free in the middle of the heap (~15 MB at 50,000 tasks) until
//! `malloc_trim` releases them. (A Mesos load still frees its records one at a time.)

/// Releases the allocator's free pages (glibc's `malloc_trim(0)`; nothing elsewhere).
pub fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: `malloc_trim` takes no pointer and only walks glibc's own heap bookkeeping,
    // under its own locks; it is safe to call from any thread at any time.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
