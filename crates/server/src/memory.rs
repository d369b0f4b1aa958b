//! How the process asks the kernel for memory: without transparent huge pages.
//!
//! mimalloc marks its arenas for huge pages (`madvise(MADV_HUGEPAGE)`), so the first touch of any
//! 2 MiB region there makes the kernel zero all of it. A burst of requests grows many small heaps
//! at once (each new thread's, and the buffers of a thousand requests in flight), and with huge
//! pages a fifth of the process's CPU went to zeroing pages (`clear_page_erms` in `perf`) while
//! a thousand generations were being taken, which they waited for. Without them the kernel zeroes
//! only the 4 KiB pages touched. This is the switch mimalloc's own `MIMALLOC_ALLOW_THP=0` turns.

/// Turns transparent huge pages off for this process (Linux; elsewhere nothing to do). Called
/// first thing by the binary and the benchmarks, which run as it does.
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        // Not fatal: the server runs as before, only slower in bursts.
        eprintln!("could not turn transparent huge pages off: {e}");
    }
}
