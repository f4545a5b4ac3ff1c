# The package built with the nixpkgs of NIX_PATH (`<nixpkgs>`), for the `package` and
# `release` tasks of tasks/release.toml, which use nix-build rather than flakes; the
# flake builds the same nix/package.nix with its own nixpkgs.
{ pkgs ? import <nixpkgs> { } }:
pkgs.callPackage ./package.nix { }
