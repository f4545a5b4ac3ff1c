#!/usr/bin/env bash
# Scheduling overhead of `ops run` against `make -j2` on the same graph of 1,000
# no-op tasks (a chain, a fan-out, a random DAG of width 20), and the time to load
# and validate a 10,000-task graph. Needs hyperfine (Debian package) and make.
#
#   bench/runner.sh            # builds ops --release first
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
ops="$PWD/target/release/ops"
work=$(mktemp -d)
trap 'rc=$?; rm -rf "$work"; exit $rc' EXIT

printf '%-8s %12s %12s %8s\n' shape "ops -j2" "make -j2" ratio
for shape in chain fanout dag; do
  dir="$work/$shape"
  python3 bench/gen_graph.py "$shape" 1000 "$dir"
  # Same work: every task runs exactly once in both.
  test "$(cd "$dir" && "$ops" run all -j 2 --output json | grep -c '"event":"task_started"')" -eq 1000
  test "$(make -s -j2 -C "$dir" -n all | grep -c '^true$')" -eq 1000
  hyperfine --warmup 2 --runs 10 --export-json "$work/$shape.json" 2>/dev/null \
    -n ops "cd $dir && $ops run all -j 2" \
    -n make "make -s -j2 -C $dir all" >/dev/null
  python3 - "$work/$shape.json" "$shape" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f'{sys.argv[2]:<8} {r["ops"]*1000:>10.1f}ms {r["make"]*1000:>10.1f}ms {r["ops"]/r["make"]:>7.2f}x')
PY
done

python3 bench/gen_graph.py dag 10000 "$work/big"
hyperfine -N --warmup 2 --runs 10 --export-json "$work/validate.json" -n validate "$ops --root $work/big validate" >/dev/null
python3 - "$work/validate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f'load + validate 10,000 tasks: {r["mean"]*1000:.1f} ms ± {r["stddev"]*1000:.1f}')
PY
hyperfine -N --warmup 3 --runs 30 --export-json "$work/list.json" -n list "$ops --root examples/homelab list" >/dev/null
python3 - "$work/list.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f'ops list on examples/homelab: {r["mean"]*1000:.2f} ms ± {r["stddev"]*1000:.2f}')
PY
