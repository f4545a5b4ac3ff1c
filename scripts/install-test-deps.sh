#!/usr/bin/env bash
# Install the real tools the test suite drives, on a fresh Debian machine.
# Idempotent: only what is missing is installed. Needs root (or sudo) for apt.
set -euo pipefail

apt_packages=(
  nix-bin   # nix-instantiate --parse for flake.nix and nix/*.nix; nix-build for the example images
)

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-test-deps: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-test-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
