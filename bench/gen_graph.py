#!/usr/bin/env python3
"""Generate the same task graph for ops, make, just, go-task and mise.

usage: gen_graph.py SHAPE N DIR [COMMAND]    (SHAPE: chain | fanout | dag)

Every task runs COMMAND (default `true`; `{name}` is replaced by the task's name, so
a run can be checked: e.g. `echo {name} >> log`). `all` depends on every task
without dependents. Writes tasks/graph.toml, Makefile, justfile, Taskfile.yml and
mise.toml in DIR.
"""
import json
import random
import sys
from pathlib import Path


def edges(shape: str, n: int) -> list[list[int]]:
    deps: list[list[int]] = [[] for _ in range(n)]
    if shape == "chain":
        for i in range(1, n):
            deps[i] = [i - 1]
    elif shape == "fanout":
        for i in range(1, n):
            deps[i] = [0]
    elif shape == "dag":
        # Layers of ~20 tasks; each task depends on 1-3 tasks of the previous layer.
        rng = random.Random(42)
        width = 20
        for i in range(width, n):
            layer_start = (i // width - 1) * width
            deps[i] = sorted(set(rng.randrange(layer_start, layer_start + width) for _ in range(rng.randint(1, 3))))
    else:
        raise SystemExit(f"unknown shape {shape}")
    return deps


def main() -> None:
    shape, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    command = sys.argv[4] if len(sys.argv) > 4 else "true"
    deps = edges(shape, n)
    has_dependents = {d for ds in deps for d in ds}
    leaves = [i for i in range(n) if i not in has_dependents]
    run = lambda i: command.replace("{name}", f"t{i}")  # noqa: E731
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    with open(out / "tasks" / "graph.toml", "w") as f:
        for i, ds in enumerate(deps):
            f.write(f"[tasks.t{i}]\n")
            if ds:
                f.write("deps = [" + ", ".join(f'"t{d}"' for d in ds) + "]\n")
            if command == "true":
                f.write('cmd = ["true"]\n\n')
            else:
                f.write(f"shell = '{run(i)}'\n\n")
        f.write("[tasks.all]\ndeps = [" + ", ".join(f'"t{i}"' for i in leaves) + "]\n")
    with open(out / "Makefile", "w") as f:
        f.write(".PHONY: all " + " ".join(f"t{i}" for i in range(n)) + "\n")
        f.write("all: " + " ".join(f"t{i}" for i in leaves) + "\n")
        for i, ds in enumerate(deps):
            f.write(f"t{i}: " + " ".join(f"t{d}" for d in ds) + f"\n\t@{run(i)}\n")
    with open(out / "justfile", "w") as f:
        f.write("all: " + " ".join(f"t{i}" for i in leaves) + "\n\n")
        for i, ds in enumerate(deps):
            f.write(f"t{i}: " + " ".join(f"t{d}" for d in ds) + f"\n    @{run(i)}\n\n")
    with open(out / "Taskfile.yml", "w") as f:
        f.write("version: '3'\ntasks:\n  all:\n    deps: [" + ", ".join(f"t{i}" for i in leaves) + "]\n")
        for i, ds in enumerate(deps):
            f.write(f"  t{i}:\n    run: once\n")
            if ds:
                f.write("    deps: [" + ", ".join(f"t{d}" for d in ds) + "]\n")
            f.write(f"    cmds: [{json.dumps(run(i))}]\n")
    with open(out / "mise.toml", "w") as f:
        f.write("[tasks.all]\ndepends = [" + ", ".join(f'"t{i}"' for i in leaves) + "]\n\n")
        for i, ds in enumerate(deps):
            f.write(f"[tasks.t{i}]\nrun = {json.dumps(run(i))}\n")
            if ds:
                f.write("depends = [" + ", ".join(f'"t{d}"' for d in ds) + "]\n")
            f.write("\n")


if __name__ == "__main__":
    main()
