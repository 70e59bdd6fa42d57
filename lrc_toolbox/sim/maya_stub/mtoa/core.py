"""``mtoa.core`` stand-in: ``createOptions()``.

MtoA's ``scripts/mtoa/core.py`` ``createOptions`` (MTOA, history of
``sebastienblor/arnold-usd`` @ f0920e993c42) creates ``defaultArnoldRenderOptions``,
``defaultArnoldFilter``, ``defaultArnoldDriver`` and ``defaultArnoldDisplayDriver`` as
shared nodes, so an existing node is kept, and connects them. MtoA's own render command
calls it when the options node is missing (``ArnoldSession.cpp``
``GetDefaultArnoldRenderOptions``). The new nodes take MtoA's defaults
(:data:`lrc_toolbox.sim.runtime.OPTION_NODE_DEFAULTS`).
"""

from __future__ import annotations

from lrc_toolbox.sim.runtime import session


def createOptions() -> None:
    """Create the Arnold options nodes that do not exist yet (raises like Maya when the
    mtoa plug-in, which defines their node types, is not loaded)."""
    session().create_options("arnold")
