# The `ops` binary, built from this repository's Cargo.lock.
# `rev` and `date` (YYYY-MM-DD) are what `ops --version` names; the flake passes its own.
{ lib, rustPlatform, installShellFiles, stdenv, rev ? null, date ? null }:

let
  manifest = lib.importTOML ../Cargo.toml;
in
rustPlatform.buildRustPackage {
  pname = manifest.package.name;
  version = manifest.package.version;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../build.rs
      ../rustfmt.toml
      ../src
      ../tests
      ../policies # the default policy, built in (include_str!)
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  env = lib.optionalAttrs (rev != null) { OPS_BUILD_COMMIT = rev; }
    // lib.optionalAttrs (date != null) { OPS_BUILD_DATE = date; };

  nativeBuildInputs = [ installShellFiles ];

  # The integration tests spawn processes and need tools (sh, sleep) that the
  # sandbox has; the suites that need nix, caddy or PostgreSQL run in CI instead.
  cargoTestFlags = [ "--lib" ];

  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    $out/bin/ops man > ops.1
    installManPage ops.1
    installShellCompletion --cmd ops \
      --bash <($out/bin/ops completions bash) \
      --zsh <($out/bin/ops completions zsh) \
      --fish <($out/bin/ops completions fish)
  '';

  meta = {
    description = manifest.package.description;
    license = with lib.licenses; [ mit asl20 ];
    mainProgram = "ops";
  };
}
