#!/usr/bin/env bash
# `ops lint` on real GitOps repositories: for each clone given, its YAML files, the
# files scanned, the findings per rule, the best wall time of RUNS and the peak memory.
# The findings themselves are judged by hand (bench/README.md has the table); the
# JSON of each lint is left in target/real-repos/NAME.json for that.
#
#   bench/real-repos.sh [--runs N] CLONE...
#
# Clones are not part of this repository; fetch them yourself (`git clone`).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
if [ "${1:-}" = "--runs" ]; then runs="$2"; shift 2; fi
[ $# -gt 0 ] || { echo "usage: bench/real-repos.sh [--runs N] CLONE..." >&2; exit 2; }
cargo build --release --quiet
ops="$PWD/target/release/ops"
out="$PWD/target/real-repos"
mkdir -p "$out"
printf '| repository | commit | YAML files | scanned | findings | by rule | time (best of %s) | peak memory |\n|---|---|---|---|---|---|---|---|\n' "$runs"
for clone in "$@"; do
  name=$(basename "$clone")
  commit=$(git -C "$clone" rev-parse --short=10 HEAD)
  yaml=$(git -C "$clone" ls-files '*.yaml' '*.yml' | wc -l)
  "$ops" --root "$clone" lint --format json > "$out/$name.json" || true
  best=""
  peak=0
  for _ in $(seq "$runs"); do
    # GNU time's %e counts in hundredths: the wall time is taken in nanoseconds around it.
    start=$(date +%s%N)
    kb=$({ /usr/bin/time -f '%M' "$ops" --root "$clone" lint --format json > /dev/null; } 2>&1 | tail -1 || true)
    secs=$(python3 -c "import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / 1e9)" "$start" "$(date +%s%N)")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$secs" "$best"; then best=$secs; fi
    [ "$kb" -gt "$peak" ] && peak=$kb
  done
  python3 - "$out/$name.json" "$name" "$commit" "$yaml" "$best" "$peak" <<'PY'
import collections, json, sys
path, name, commit, yaml, best, peak = sys.argv[1:]
report = json.load(open(path))
rules = collections.Counter(f["rule"] for f in report["findings"])
by_rule = ", ".join(f"{r} {n}" for r, n in rules.most_common())
print(f"| {name} | {commit} | {yaml} | {report['files_scanned']} | {len(report['findings'])} | {by_rule or '—'} | {float(best) * 1000:.0f} ms | {int(peak) // 1024} MB |")
PY
done
