#!/usr/bin/env bash
# The main job on the bundled example repository: install what the example's steps
# use, build ops, then show the Authentik deployment plan and what each step would
# change. Nothing is applied.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
cargo build --release --quiet
ops="$PWD/target/release/ops"

echo "== ops run deploy-authentik --dry-run   (the plan; nothing runs)"
"$ops" --root examples/homelab run deploy-authentik --dry-run
echo
echo "== ops run deploy-authentik --diff --keep-going   (read-only checks; nothing changes)"
"$ops" --root examples/homelab run deploy-authentik --diff --keep-going || {
  rc=$?
  echo
  echo "(exit $rc: steps that need the k3s-ringtail cluster cannot be checked here;"
  echo " examples/homelab/README.md says how to point them at a cluster)"
}
