use std::process::ExitCode;

/// With `--features mimalloc`: loading ten thousand tasks is mostly small
/// allocations, which mimalloc makes cheaper (twice as fast), at the price of memory
/// (`ops lint` on 10,000 manifests: 62 MB instead of 34); `bench/README.md` has
/// the figures.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
    pad_malloc_arenas();
    ops::main()
}

/// glibc's malloc gives each thread that allocates an arena of its own and grows it
/// a few pages at a time, each step an `mprotect` that takes the process's lock on
/// its memory map, which the page faults of the other threads wait for (`ops lint`
/// on a repository of 500 files made 4,753 of them, 15% of its system time). The
/// padding makes each arena start with 32 MiB of address space, not of memory: a
/// page is only used once it is touched.
#[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
#[allow(unsafe_code)]
fn pad_malloc_arenas() {
    // SAFETY: `mallopt` sets a parameter of the allocator, which has no other effect;
    // no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 32 << 20);
    }
}
