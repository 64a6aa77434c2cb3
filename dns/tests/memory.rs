//! The index's heap per task, counted by a global allocator of this test binary alone (one
//! test, so no other thread allocates meanwhile): a guard against the index growing back
//! (issue #18: 1,128 bytes per task before it was made compact). The scale benchmark
//! measures the whole process (`BENCHMARKS.md`).
//!
//! `cargo test --release -p herald-dns --test memory -- --nocapture` prints the figures.

// A counting allocator needs `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use herald_dns::index::ZoneIndex;
use herald_dns::served::Naming;
use registry::harness::records;
use registry::{Change, TaskRecord};

/// `System`, counting the bytes allocated and not yet freed.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const APPS: usize = 10_000;
const TASKS_PER_APP: usize = 5;
/// The bound per task; 513 bytes when it was set (770 before the names an app's tasks
/// share were answered from its tasks instead of stored).
const MAX_BYTES_PER_TASK: usize = 600;
/// What 20,000 changes may add: the tables' spare room (~0.7 MB when it was set). Keeping
/// a moved task's old entry alive (~300 bytes) would add 6 MB.
const MAX_GROWTH_BYTES: usize = 1_500_000;

/// Task `j` of `/app{k}`, shaped as the scale benchmark's: one named host port, the
/// agent's address only.
fn task(k: usize, j: usize) -> TaskRecord {
    task_at(
        k,
        j,
        Ipv4Addr::new(10, (k >> 8) as u8, k as u8, j as u8 + 1),
    )
}

/// Task `j` of `/app{k}` on the agent at `ip`.
fn task_at(k: usize, j: usize, ip: Ipv4Addr) -> TaskRecord {
    let task_id = format!("app{k}.{k:08x}-0000-4000-8000-{j:012x}");
    records::task(&format!("/app{k}"), &task_id, &ip.to_string())
        .agent_id(&format!("2f3a9d0c-1111-4d7e-8a3b-5c2b1f0e9d77-S{j}"))
        .ports(vec![records::port("http", None, Some(31000 + j as u16))])
        .build()
}

#[test]
fn the_index_keeps_50_000_tasks_compactly() {
    // Counted from before the records exist: they are consumed (freed) as they are loaded.
    let before = LIVE.load(Relaxed);
    let tasks: Vec<TaskRecord> = (0..APPS)
        .flat_map(|k| (0..TASKS_PER_APP).map(move |j| task(k, j)))
        .collect();
    let mut index = ZoneIndex::new(Naming::default());
    index.load(1, tasks, vec![]);
    let loaded = LIVE.load(Relaxed) - before;
    assert_eq!(index.tasks(), APPS * TASKS_PER_APP);
    let per_task = loaded / (APPS * TASKS_PER_APP);
    println!(
        "index: {:.1} MB, {per_task} bytes per task",
        loaded as f64 / 1e6
    );
    assert!(per_task <= MAX_BYTES_PER_TASK, "{per_task} bytes per task");

    // Changes after publishes copy only the shards they touch; once the old snapshots are
    // gone, nothing is kept per change: every app's task moves to a new address twice (as
    // the scale benchmark's changes do), and only the tables' spare room may grow (the
    // reverse table's shards, whose keys are always new, keep the room they grew to).
    for i in 0..2 * APPS {
        let published = index.snapshot();
        let k = (i * 7919) % APPS;
        let moved = task_at(
            k,
            0,
            Ipv4Addr::new(11, (i >> 16) as u8, (i >> 8) as u8, i as u8),
        );
        index.apply(2 + i as i64, vec![Change::Task(moved)]);
        drop(published);
    }
    let after = LIVE.load(Relaxed) - before;
    println!("after {} changes: {:.1} MB", 2 * APPS, after as f64 / 1e6);
    assert!(
        after.saturating_sub(loaded) < MAX_GROWTH_BYTES,
        "{loaded} -> {after}"
    );
}
