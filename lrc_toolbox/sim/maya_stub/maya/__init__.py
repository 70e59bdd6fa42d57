"""A stand-in for Autodesk Maya's ``maya`` package, for the simulator only.

It implements exactly what :mod:`lrc_toolbox.worker` uses, backed by
:mod:`lrc_toolbox.sim.runtime`. Real Maya is never replaced by it: it is only importable
when ``python -m lrc_toolbox.sim.mayapy`` (or a test) puts its folder first on sys.path.
"""

from __future__ import annotations

SIMULATED = True
