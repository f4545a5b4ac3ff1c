#!/usr/bin/env bash
# A nix-build step through a Nix remote builder against the same step built locally:
# the fixed cost of handing a build to a builder (SSH, copying the derivation there and
# the output back). The builder is sshd on a loopback port whose /nix is a directory of
# its own (a private mount namespace), so a remote build really crosses stores. The
# derivation is trivial and new on every run (a nonce), so each run builds.
#
#   sudo bench/nix-remote.sh [RUNS]     (default 10; needs root, sshd, unshare, hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
cargo build --release --quiet
ops="$PWD/target/release/ops"
work=$(mktemp -d)
cleanup() { rc=$?; [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null; rm -rf "$work"; exit $rc; }
trap cleanup EXIT

mkdir -p "$work/nix" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/host"
ssh-keygen -q -t ed25519 -N '' -f "$work/client"
cp "$work/client.pub" "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $port
HostKey $work/host
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin yes
PidFile $work/sshd.pid
CFG
cat > "$work/ssh_config" <<CFG
Host builder
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $work/client
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
CFG
unshare -m --propagation private sh -c "mount --bind $work/nix /nix && exec /usr/sbin/sshd -f $work/sshd_config"
for _ in $(seq 50); do [ -s "$work/sshd.pid" ] && break; sleep 0.1; done
export NIX_SSHOPTS="-F $work/ssh_config"
# No binary cache is reachable here; asking one for each new output would time every
# run at the DNS timeout rather than at the build.
export NIX_CONFIG="substituters ="

repo="$work/repo"
mkdir -p "$repo/tasks"
cat > "$repo/image.nix" <<'NIX'
{ nonce ? "" }:
builtins.derivation {
  name = "bench-image";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [ "-c" "echo ${nonce} > $out" ];
}
NIX
cat > "$repo/tasks/main.toml" <<'TOML'
[vars]
nonce = ""

[tasks.local]
nix-build = { file = "image.nix", args = { nonce = "{{ nonce }}" } }

[tasks.remote]
nix-build = { file = "image.nix", args = { nonce = "{{ nonce }}" }, builders = "ssh://builder", max-jobs = 0 }
TOML
# The first remote build copies what the builder lacks; not part of the figures.
"$ops" -C "$repo" run remote --var nonce=warm >/dev/null
nonce='$(date +%s%N)'
hyperfine -N --runs "$runs" --export-json "$work/nix.json" \
  -n "nix-build (local)" "sh -c \"nix-build --no-out-link $repo/image.nix --argstr nonce $nonce\"" \
  -n "nix-build --builders ssh://builder --max-jobs 0" "sh -c \"nix-build --no-out-link $repo/image.nix --argstr nonce $nonce --builders ssh://builder --max-jobs 0\"" \
  -n "ops run local" "sh -c \"$ops -C $repo run local --var nonce=$nonce\"" \
  -n "ops run remote (builders, max-jobs 0)" "sh -c \"$ops -C $repo run remote --var nonce=$nonce\""
echo "outputs in the builder's store: $(ls "$work/nix/store" | grep bench-image | grep -vc '\.drv$') (timed remote runs: $((2 * runs)))"
