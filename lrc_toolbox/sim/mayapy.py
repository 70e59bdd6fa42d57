"""A stand-in for ``mayapy``: ``python -m lrc_toolbox.sim.mayapy [mayapy arguments]``.

It behaves like mayapy for the forms the manager uses — ``-m module args...``,
``script.py args...`` and ``-c code`` — after putting the ``maya`` stand-in first on
``sys.path``, so the REAL worker code runs unchanged against the simulated Maya. The
cost model and the faults come from the environment (see :mod:`lrc_toolbox.sim.config`);
a bad simulator profile is reported and exits 2, like a bad command line.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Sequence

STUB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "maya_stub")

USAGE = "usage: python -m lrc_toolbox.sim.mayapy (-m MODULE | -c CODE | SCRIPT) [ARGS...]"


def install_stub() -> None:
    """Make ``import maya`` (and MtoA's ``import mtoa``) find the stand-ins (first on
    sys.path, no cached real ones)."""
    if STUB_DIR not in sys.path:
        sys.path.insert(0, STUB_DIR)
    stubs = ("maya", "mtoa")
    for name in [n for n in sys.modules if n.split(".")[0] in stubs]:
        del sys.modules[name]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from lrc_toolbox.sim.config import SimConfigError, load_sim_config

    try:
        load_sim_config()
    except SimConfigError as exc:
        print(f"lrc_toolbox.sim.mayapy: bad simulator settings: {exc}", file=sys.stderr)
        return 2
    install_stub()
    # line-buffered like a real mayapy writing to a pipe that the manager reads
    try:
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        pass
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    if args[0] == "-m" and len(args) >= 2:
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    if args[0] == "-c" and len(args) >= 2:
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
        return 0
    if args[0].startswith("-"):
        print(f"lrc_toolbox.sim.mayapy: unsupported option {args[0]}\n{USAGE}", file=sys.stderr)
        return 2
    sys.argv = list(args)
    runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
