"""A task file of the runbook language at scale: 2,500 tasks with a 2x2 matrix (10,000
instances, 2,500 aggregates), each release depending element-wise on its build, and
500 tasks that take arguments. Usage: gen_runbook.py OUT_DIR"""

import sys
from pathlib import Path


def main() -> None:
    out = Path(sys.argv[1])
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    lines = ['[vars]', 'arches = ["amd64", "arm64"]', '']
    for i in range(1250):
        lines.append(
            f'[tasks.build-{i}]\nmatrix = {{ container = ["a{i}", "b{i}"], arch = "arches" }}\n'
            'cmd = ["echo", "{{ matrix.container }}", "{{ matrix.arch }}"]\n'
        )
        lines.append(
            f'[tasks.release-{i}]\nmatrix = {{ container = ["a{i}", "b{i}"], arch = "arches" }}\n'
            f'deps = ["build-{i}[{{{{ matrix.container }}}},{{{{ matrix.arch }}}}]"]\n'
            'cmd = ["echo", "{{ matrix.container }}"]\n'
        )
    for i in range(500):
        lines.append(
            f'[tasks.tool-{i}]\nargs = [{{ name = "target", choices = ["x", "y"] }}, {{ name = "push", flag = true }}]\n'
            'cmd = ["echo", "{{ args.target }}", "{{ args.push }}"]\n'
        )
    (out / "tasks" / "runbook.toml").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
