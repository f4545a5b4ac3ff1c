#!/usr/bin/env bash
# Run every fuzz target for a fixed number of iterations (not part of the test suite).
#   fuzz/run.sh [RUNS]        default 200000 runs per target
# Needs cargo-fuzz (`cargo install cargo-fuzz`); uses the stable toolchain with
# RUSTC_BOOTSTRAP=1 for the sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")"
runs="${1:-200000}"
export RUSTC_BOOTSTRAP=1
mkdir -p corpus
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target"
  # Seed the task-file target with the bad-input corpus and the example task files.
  case "$target" in
    task_file) cp ../tests/bad-input/*.toml ../examples/homelab/tasks/*.toml "corpus/$target/" 2>/dev/null || true ;;
    manifest) find ../tests/fixtures/lint ../tests/bad-input ../examples/homelab -name '*.yaml' -exec cp {} "corpus/$target/" \; 2>/dev/null || true ;;
    kube_yaml) find ../tests/fixtures/kube ../examples/homelab/argocd -name '*.yaml' -exec cp {} "corpus/$target/" \; 2>/dev/null || true ;;
    policy_file) find ../tests/fixtures/lint ../examples/homelab -path '*policies*' -name '*.toml' -exec cp {} "corpus/$target/" \; 2>/dev/null || true ;;
    image_ref) printf 'nginx:1.27\nregistry:5000/app\nghcr.io/o/a@sha256:%064d\n' 0 | split -l 1 - "corpus/$target/seed-" ;;
  esac
  echo "== $target: $runs runs"
  start=$(date +%s)
  cargo fuzz run "$target" "corpus/$target" -- -runs="$runs" -max_len=65536 2>&1 | tail -n 3
  echo "== $target: done in $(( $(date +%s) - start ))s, no crash"
done
