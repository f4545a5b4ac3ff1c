use std::process::ExitCode;

/// Loading ten thousand tasks or linting ten thousand manifests is mostly small
/// allocations; mimalloc makes them cheaper than the system allocator does
/// (`bench/README.md` has the figures).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ops::main()
}
