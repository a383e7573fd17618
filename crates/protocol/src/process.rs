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
