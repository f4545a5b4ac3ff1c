#!/usr/bin/env bash
# The main job on the bundled example repository: install what the example's steps
# use, build ops, then show the Authentik deployment plan and what each step would
# change. Nothing is applied.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
cargo build --release --quiet
ops="$PWD/target/release/ops"
# ansible-playbook from the tools venv (scripts/install-test-deps.sh).
export PATH="$PWD/target/test-tools/venv/bin:$PATH"

echo "== ops run deploy-authentik --dry-run   (the plan; nothing runs)"
"$ops" --root examples/homelab run deploy-authentik --dry-run
echo
echo "== ops run deploy-authentik --diff   (every step reports what it would change; nothing changes)"
rc=0
"$ops" --root examples/homelab run deploy-authentik --diff --keep-going || rc=$?
echo
echo "Steps marked 'unknown' need what this machine does not have: the k3s-ringtail kube"
echo "context, a running Caddy, the deployed service. examples/homelab/README.md says how"
echo "to point them at a real homelab or a kind/k3d test cluster (--context-map);"
echo "\`ops doctor deploy-authentik\` lists what this machine lacks, with the way out."
exit "$rc"
