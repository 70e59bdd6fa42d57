"""A stand-in for MtoA's ``mtoa`` Python package (Arnold for Maya's scripts), for the
simulator only: just what MtoA itself runs at render time and the worker calls.

Like the stand-in ``maya``, it is importable only when ``lrc_toolbox.sim.mayapy`` (or a
test) puts ``lrc_toolbox/sim/maya_stub`` first on sys.path. It imports nothing from
:mod:`lrc_toolbox.worker` (a test checks): it models MtoA, not the worker.
"""

from __future__ import annotations

SIMULATED = True
