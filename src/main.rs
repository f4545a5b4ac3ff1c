use std::process::ExitCode;

/// With `--features mimalloc`: loading ten thousand tasks is mostly small
/// allocations, which mimalloc makes cheaper (twice as fast), at the price of memory
/// (`ops lint` on 10,000 manifests: 62 MB instead of 34); `bench/README.md` has
/// the figures.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ops::main()
}
