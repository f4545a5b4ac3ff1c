#!/usr/bin/env bash
# Runner overhead: `ops run` against make -j2, just, go-task and mise on the same graphs
# of 1,000 no-op tasks (a chain, a fan-out, a random DAG of width 20); startup (`ops list`
# against `just --list`, `task --list`, `mise tasks`); loading a 10,000-task graph.
#
#   bench/runners.sh [RUNS]      (default 10 timed runs per command)
#
# Installs what it compares into target/bench-tools: PyPI rust-just and go-task-bin,
# npm @jdxcode/mise-linux-x64; needs hyperfine and make (Debian packages).
# Before timing, every tool runs a variant whose tasks each make a directory named after
# the task, and the script checks that each tool ran the same 1,000 tasks exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
tools="$PWD/target/bench-tools"
if [ ! -x "$tools/venv/bin/just" ] || [ ! -x "$tools/venv/bin/task" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check rust-just go-task-bin
fi
mise_dir="$tools/npm/node_modules/@jdxcode/mise-linux-x64/bin"
[ -x "$mise_dir/mise" ] || npm install -s --prefix "$tools/npm" @jdxcode/mise-linux-x64 >/dev/null
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
export PATH="$tools/venv/bin:$mise_dir:$PATH" MISE_YES=1
cargo build --release --quiet
ops="$PWD/target/release/ops"
work=$(mktemp -d)
trap 'rc=$?; rm -rf "$work"; exit $rc' EXIT
export MISE_TRUSTED_CONFIG_PATHS="$work" MISE_DATA_DIR="$work/.mise-data" MISE_CACHE_DIR="$work/.mise-cache"

declare -A cmd=(
  [ops]="$ops run all -j 2"
  [make]="make -s -j2 all"
  [just]="just all"
  [task]="task --silent --concurrency 2 all"
  [mise]="mise run --quiet --jobs 2 all"
)
order=(ops make just task mise)

check_same_tasks() {  # every tool runs each of the N tasks exactly once
  local dir=$1 n=$2
  for tool in "${order[@]}"; do
    # A task makes its own directory: a second run of it would fail the tool.
    rm -rf "$dir/ran" && mkdir "$dir/ran"
    (cd "$dir" && ${cmd[$tool]} >/dev/null 2>&1) || { echo "$tool failed on $dir" >&2; exit 1; }
    local ran
    ran=$(find "$dir/ran" -mindepth 1 -maxdepth 1 -type d | wc -l)
    [ "$ran" -eq "$n" ] || { echo "$tool ran $ran tasks, expected $n" >&2; exit 1; }
  done
}

median_ms() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join(f\"{x['command']}={x['median']*1000:.1f}\" for x in r))" "$1"; }

printf '%-8s' graph; for tool in "${order[@]}"; do printf '%14s' "$tool"; done; printf '\n'
for shape in chain fanout dag; do
  python3 bench/gen_graph.py "$shape" 1000 "$work/$shape-check" 'mkdir ran/{name}'
  check_same_tasks "$work/$shape-check" 1000
  python3 bench/gen_graph.py "$shape" 1000 "$work/$shape"
  args=()
  for tool in "${order[@]}"; do args+=(-n "$tool" "cd $work/$shape && ${cmd[$tool]}"); done
  hyperfine --warmup 1 --runs "$runs" --export-json "$work/$shape.json" "${args[@]}" >/dev/null 2>&1
  python3 - "$work/$shape.json" "$shape" "${order[@]}" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
tools = sys.argv[3:]
cells = [f'{r[t]*1000:7.0f} ms {r[t]/r["make"]:4.2f}x' for t in tools]
print(f'{sys.argv[2]:<8}' + ''.join(f'{c:>14}' for c in cells).replace('  ', ' '))
PY
done
echo "(each cell: median wall time for 1,000 tasks, and the ratio to make -j2)"

python3 bench/gen_graph.py dag 50 "$work/small"
hyperfine -N --warmup 3 --runs 30 --export-json "$work/startup.json" \
  -n "ops list" "$ops --root $work/small list" \
  -n "just --list" "just --justfile $work/small/justfile --list" \
  -n "task --list-all" "task --taskfile $work/small/Taskfile.yml --list-all" \
  -n "mise tasks" "mise --cd $work/small tasks" >/dev/null 2>&1
echo "startup on 50 tasks (ms): $(median_ms "$work/startup.json")"

python3 bench/gen_graph.py dag 10000 "$work/big"
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/validate.json" -n validate "$ops --root $work/big validate" >/dev/null 2>&1
echo "load + validate 10,000 tasks (ms): $(median_ms "$work/validate.json")"
python3 bench/gen_runbook.py "$work/runbook"
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/runbook.json" -n validate "$ops --root $work/runbook validate" >/dev/null 2>&1
echo "load + validate 10,000 matrix instances, 2,500 aggregates, 500 tasks with arguments (ms): $(median_ms "$work/runbook.json")"
hyperfine -N --warmup 3 --runs 30 --export-json "$work/list.json" -n list "$ops --root examples/homelab list" >/dev/null 2>&1
echo "ops list on examples/homelab (ms): $(median_ms "$work/list.json")"
