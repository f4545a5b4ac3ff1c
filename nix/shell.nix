# Development shell: the Rust toolchain plus every real tool the test suite drives,
# so that `nix develop -c scripts/test.sh` runs the tests with nothing installed by hand
# (scripts/install-test-deps.sh finds them on PATH and installs only prek, from PyPI).
{ mkShell, cargo, rustc, clippy, rustfmt, rust-analyzer, cargo-nextest, cargo-insta, hyperfine, gnumake
, caddy, postgresql, git, kubectl, ansible, pre-commit, actionlint, nix, util-linux, groff, openssl, ops }:

mkShell {
  inputsFrom = [ ops ];
  packages = [
    cargo rustc clippy rustfmt rust-analyzer cargo-nextest cargo-insta hyperfine gnumake
    caddy postgresql git kubectl ansible pre-commit actionlint nix util-linux groff openssl
  ];
}
