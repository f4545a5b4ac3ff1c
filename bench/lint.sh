#!/usr/bin/env bash
# Lint throughput: `ops lint` on 1,000 and 10,000 manifests in kustomize directories
# (all rules, and only pinned-image), its peak memory, the pre-commit path (5 changed
# files in the 10,000-manifest tree), and checkov's image-tag check on the same trees.
#
#   bench/lint.sh [RUNS]          (default 10)
#   CHECKOV=0 bench/lint.sh       without checkov (its 10,000-manifest run takes minutes)
#
# On the 10,000-manifest tree it also reads the same files with `cat` in the same run:
# the floor. Targets: ops lint at most 1.5x that, at most 40 MB peak.
#
# Installs checkov into target/bench-tools (PyPI); needs hyperfine and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
tools="$PWD/target/bench-tools"
checkov="${CHECKOV:-1}"
[ "$checkov" = 0 ] || [ -x "$tools/venv/bin/checkov" ] || { python3 -m venv "$tools/venv"; "$tools/venv/bin/pip" install -q --disable-pip-version-check checkov; }
cargo build --release --quiet
ops="$PWD/target/release/ops"
work=$(mktemp -d)
trap 'rc=$?; rm -rf "$work"; exit $rc' EXIT

mean() { python3 -c "import json,sys; print(f\"{json.load(open(sys.argv[1]))['results'][0]['mean']*1000:.0f}\")" "$1"; }

for size in 1000 10000; do
  tree="$work/tree-$size"
  python3 bench/gen_manifests.py $((size / 10)) 10 "$tree"
  (cd "$tree" && git init -q)
  expected=$((size / 50))
  # Same findings: the floating redis images, reported by both tools.
  ops_found=$( { "$ops" --root "$tree" lint --rule pinned-image --format json || true; } | python3 -c "import json,sys; print(len(json.load(sys.stdin)['findings']))")
  if [ "$checkov" != 0 ]; then
  checkov_found=$( { "$tools/venv/bin/checkov" -d "$tree" --framework kubernetes --check CKV_K8S_14 --quiet --compact -o json 2>/dev/null || true; } \
    | python3 -c "import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(len(d['results']['failed_checks']))")
  [ "$ops_found" -eq "$expected" ] || { echo "ops found $ops_found floating images, expected $expected" >&2; exit 1; }
  [ "$checkov_found" -eq "$expected" ] || { echo "checkov found $checkov_found, expected $expected" >&2; exit 1; }
  fi

  hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$work/all.json" "$ops --root $tree lint" >/dev/null 2>&1
  hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$work/pinned.json" "$ops --root $tree lint --rule pinned-image" >/dev/null 2>&1
  peak=$( { /usr/bin/time -f '%M' "$ops" --root "$tree" lint >/dev/null || true; } 2>&1 | tail -1 )
  all=$(mean "$work/all.json"); pinned=$(mean "$work/pinned.json")
  echo "$size manifests: ops lint ${all} ms (all rules), ${pinned} ms (pinned-image), peak ${peak} KiB; ${expected} findings"
  if [ "$checkov" != 0 ]; then
    hyperfine -i --runs 2 --export-json "$work/checkov.json" \
      "$tools/venv/bin/checkov -d $tree --framework kubernetes --check CKV_K8S_14 --quiet --compact" >/dev/null 2>&1
    checkov_ms=$(mean "$work/checkov.json")
    echo "  checkov CKV_K8S_14 ${checkov_ms} ms, ${expected} findings; checkov/ops = $(python3 -c "print(f'{$checkov_ms/$pinned:.0f}x')")"
  fi
done

# The floor: reading the same files, measured beside ops lint in one hyperfine run.
tree="$work/tree-10000"
hyperfine -i --warmup 2 --runs "$runs" --export-json "$work/floor.json" \
  "find $tree -name '*.yaml' -print0 | xargs -0 cat > /dev/null" "$ops --root $tree lint --format json" >/dev/null 2>&1
read -r cat_ms lint_ms < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(*(f\"{x['mean']*1000:.0f}\" for x in r))" "$work/floor.json")
peak=$( { /usr/bin/time -f '%M' "$ops" --root "$tree" lint --format json >/dev/null || true; } 2>&1 | tail -1 )
ratio=$(python3 -c "print(f'{$lint_ms/$cat_ms:.2f}')")
echo "10,000 manifests: cat ${cat_ms} ms, ops lint --format json ${lint_ms} ms = ${ratio}x cat (target <= 1.5x); peak $((peak / 1024)) MB (target <= 40 MB)"

tree="$work/tree-10000"
files=$(cd "$tree" && ls argocd/manifests/app1*/deployment-3.yaml | awk "NR <= 5" | tr '\n' ' ')
# With the lint index the full lints above wrote (.ops/lint-index), and without it.
sleep 2 # stamps younger than 2 s are not trusted: let the tree's settle
"$ops" --root "$tree" lint >/dev/null || true
hyperfine -N --warmup 3 --runs 30 --export-json "$work/five.json" "sh -c 'cd $tree && $ops lint $files'" >/dev/null 2>&1 || \
  hyperfine --warmup 3 --runs 30 --export-json "$work/five.json" "cd $tree && $ops lint $files" >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 30 --export-json "$work/five-nc.json" "sh -c 'cd $tree && $ops lint --no-cache $files'" >/dev/null 2>&1 || \
  hyperfine --warmup 3 --runs 30 --export-json "$work/five-nc.json" "cd $tree && $ops lint --no-cache $files" >/dev/null 2>&1
echo "pre-commit path, 5 files in the 10,000-manifest tree: $(mean "$work/five.json") ms with the lint index, $(mean "$work/five-nc.json") ms without (target < 10 ms)"
