//! Process-wide settings the server and the app share.

/// glibc's malloc raises its mmap threshold the first time a large block is freed, and from
/// then on keeps blocks of that size in its heaps, resident for good. A fixed threshold keeps
/// blocks of 1 MiB or more mapped, so they go back to the system when freed:
///
/// - the server: argon2 takes 19 MiB per password check, and an idle server that had hashed
///   the demo users' passwords held 62.7 MB instead of 22.5 MB (BENCHMARKS.md, row 8);
/// - the app: the pages of a first sync (each several MB as JSON and as records) left the
///   device process 145 MB larger after a first sync of 60,000 accounts, 97 MB with the
///   threshold (BENCHMARKS.md, round two, part 4).
///
/// Called first thing in `main` (before the runtime's threads start allocating); a no-op
/// elsewhere than on glibc.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // Blocks of 1 MiB or more are mapped for each allocation and unmapped when freed.
        const MMAP_THRESHOLD: i32 = 1 << 20;
        // SAFETY: mallopt only changes a setting of the allocator, under the allocator's own
        // lock. Refused (it answers 0), the allocator keeps its default: only memory is at
        // stake, and logging may not be set up yet to say so.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    }
}

/// A device's process (the app; the bench's stand-in for it) keeps to two malloc heaps
/// (arenas) instead of up to eight per core: a first sync decodes pages on the runtime's
/// threads and builds the search index on two more, and each thread's heap kept what it had
/// freed. At 200,000 accounts the engine's peak went from 155 to 142 MB, the sync's time
/// unchanged (BENCHMARKS.md, round two, part 7). Not for the server: its many request
/// threads would wait on each other's heap.
///
/// Called first thing in `main`, beside [`return_large_blocks_to_the_system`].
pub fn few_heaps_for_a_device() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: as in return_large_blocks_to_the_system: a setting of the allocator.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
    }
}

/// Hands the free memory inside malloc's heaps back to the system (glibc keeps it otherwise:
/// only the top of the main heap is given back by itself). For after a burst of short-lived
/// allocations, e.g. a first sync's pages and the search index's build; it takes a few
/// milliseconds. A no-op elsewhere than on glibc.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim walks the allocator's own heaps under their locks; it frees
        // nothing that is in use.
        unsafe { libc::malloc_trim(0) };
    }
}
