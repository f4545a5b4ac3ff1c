# Development shell: the Rust toolchain plus the real tools the test suite drives.
{ mkShell, cargo, rustc, clippy, rustfmt, rust-analyzer, cargo-nextest, cargo-insta, hyperfine, gnumake, ops }:

mkShell {
  inputsFrom = [ ops ];
  packages = [ cargo rustc clippy rustfmt rust-analyzer cargo-nextest cargo-insta hyperfine gnumake ];
}
