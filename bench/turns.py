#!/usr/bin/env python3
"""Run commands taking turns, and print each one's median and its ratio to the first.

usage: turns.py DIR RUNS NAME=COMMAND ...

Each command runs once untimed, then RUNS times, one after the other in turn, in DIR
(output discarded), so that the machine's drift touches all of them alike. The figures
of the interleaved tables of bench/README.md come from it, e.g.

    python3 bench/gen_graph.py fanout 1000 /tmp/fanout
    python3 bench/turns.py /tmp/fanout 30 make="make -s -j2 all" ops="ops run all -j 2"
"""
import statistics
import subprocess
import sys
import time


def main() -> None:
    cwd, runs = sys.argv[1], int(sys.argv[2])
    commands = [arg.split("=", 1) for arg in sys.argv[3:]]
    times: dict[str, list[float]] = {name: [] for name, _ in commands}
    quiet = {"cwd": cwd, "shell": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    for _, command in commands:
        subprocess.run(command, **quiet)
    for _ in range(runs):
        for name, command in commands:
            start = time.perf_counter()
            subprocess.run(command, **quiet)
            times[name].append((time.perf_counter() - start) * 1000)
    first = statistics.median(times[commands[0][0]])
    for name, _ in commands:
        median = statistics.median(times[name])
        print(f"{name:>12}: median {median:7.1f} ms  min {min(times[name]):7.1f}  ratio {median / first:.3f}")


if __name__ == "__main__":
    main()
