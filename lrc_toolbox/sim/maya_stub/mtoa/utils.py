"""``mtoa.utils`` stand-in: ``getFileName``, MtoA's own path function (MTOA
``scripts/mtoa/utils.py``), answered by the simulator's model of it
(:func:`lrc_toolbox.sim.naming.mtoa_file_name`) for the current render layer."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from lrc_toolbox.sim.naming import mtoa_file_name
from lrc_toolbox.sim.runtime import MayaError, session


def getFileName(
    pathType: Any,
    tokens: Mapping[str, Any] | str,
    path: str = "<Scene>",
    frame: float | None = None,
    fileType: str = "images",
    createDirectory: bool = False,
    isSequence: bool | None = None,
    leaveUnmatchedTokens: bool = False,
    catchErrors: bool = True,
    **kwargs: Any,
) -> str:
    """MtoA's signature; ``pathType`` 'full' or 'temp' ('relative' is not modelled)."""
    sim = session()
    if isinstance(tokens, str):
        tokens = dict(pair.split("=", 1) for pair in shlex.split(tokens))
    if pathType not in ("full", "temp"):
        raise MayaError("mtoa.utils.getFileName: only 'full' and 'temp' are simulated")
    if fileType != "images" or leaveUnmatchedTokens or isSequence is False:
        raise MayaError("mtoa.utils.getFileName: only image sequences are simulated")
    values = {str(k): str(v) for k, v in tokens.items()}
    if "Extension" not in values:
        values["Extension"] = sim.extension("arnold")
    naming = sim.naming("arnold")
    when = sim.current_time if frame is None else float(frame)
    return mtoa_file_name(
        naming,
        path=path or "<Scene>",
        tokens=values,
        frame=round(when),
        strict_aovs=bool(kwargs.get("strictAOVs", False)),
        temp=pathType == "temp",
    )
