"""``maya.mel`` stand-in: the few MEL procedures the worker calls, and nothing else.

Unknown MEL raises ``RuntimeError`` the way Maya does ("Cannot find procedure"), so a scene's
pre-render MEL that the simulator does not know shows up in the log as it would in Maya.
"""

from __future__ import annotations

import re
from typing import Any

from lrc_toolbox.sim.runtime import REDSHIFT_EXTENSIONS, MayaError, session

_DISPLAY = re.compile(r'^\s*renderLayerDisplayName\s+"?([^";\s]+)"?\s*;?\s*$')
_RS_DEVICES = re.compile(r"^\s*redshiftSelectCudaDevices\s*\(\s*\{([\d,\s]*)\}\s*\)\s*;?\s*$")
# V-Ray's and Redshift's procedures that create their options node (DCM vray_handler.py
# calls "vrayCreateVRaySettingsNode"; DL MayaBatch.py "redshiftGetRedshiftOptionsNode(true)")
_VRAY_CREATE = re.compile(r"^\s*vrayCreateVRaySettingsNode\s*(\(\s*\))?\s*;?\s*$")
_RS_OPTIONS = re.compile(
    r"^\s*redshiftGetRedshiftOptionsNode\s*\(\s*(true|false|1|0)?\s*\)\s*;?\s*$"
)
_RS_EXT = re.compile(r"^\s*redshiftGetImageExtension\s*\(\s*(\d+)\s*\)\s*;?\s*$")


# Maya's batch-render MEL as Deadline's MayaBatch plug-in calls it (DL GetRenderCommand):
# ``setMayaSoftwareLayers($rl, $rp)`` with the layer(s) to render, then
# ``mayaBatchRenderProcedure(0, "", "", "<renderer>", $opt)``.
_SET_LAYERS = re.compile(
    r'^\s*setMayaSoftwareLayers\s*\(\s*"([^"]*)"\s*,\s*"([^"]*)"\s*\)\s*;?\s*$'
)
_BATCH = re.compile(
    r'^\s*mayaBatchRenderProcedure\s*\(\s*(\d)\s*,\s*"[^"]*"\s*,\s*"[^"]*"\s*,'
    r'\s*"([^"]*)"\s*,\s*"[^"]*"\s*\)\s*;?\s*$'
)
# DL runs it before every render-globals set (GetStartFrameCommand and the others)
_REMOVE_ADJ = re.compile(r'^\s*removeRenderLayerAdjustmentAndUnlock\s+"?([^";\s]+)"?\s*;?\s*$')


def _set_layers(names: str) -> None:
    """``setMayaSoftwareLayers``: the named layers (space or comma separated; an empty
    list keeps every layer as it is) become the only renderable ones. Modelled from
    DL's use of it to render one layer; Maya's script itself was not read."""
    wanted = [n for n in re.split(r"[\s,]+", names) if n]
    if not wanted:
        return
    sim = session()
    for node in wanted:
        if sim._layer(node) is None:
            raise MayaError(f"setMayaSoftwareLayers: {node!r} is not a render layer")
    for node in sim.layer_nodes():
        sim.layer_renderable[node] = node in wanted


def eval(text: str) -> Any:
    match = _SET_LAYERS.match(text)
    if match:
        _set_layers(match.group(1))
        return None
    match = _BATCH.match(text)
    if match:
        renderer = match.group(2) or str(session().get_attr("defaultRenderGlobals.currentRenderer"))
        if not session().renderer_loaded(renderer):
            raise MayaError(f"mayaBatchRenderProcedure: renderer {renderer!r} is not available")
        session().batch_render(renderer)
        return None
    match = _REMOVE_ADJ.match(text)
    if match:
        session().remove_adjustment(match.group(1))
        return None
    match = _DISPLAY.match(text)
    if match:
        return session().display_name(match.group(1))
    match = _RS_DEVICES.match(text)
    if match:
        if not session().renderer_loaded("redshift"):
            raise MayaError('Cannot find procedure "redshiftSelectCudaDevices".')
        ids = [int(i) for i in match.group(1).replace(" ", "").split(",") if i]
        for device in ids:
            if device != 0:
                # what real Redshift prints; it then falls back to every GPU (MAYA_REFERENCE §5)
                print(f"Invalid device id {device}", flush=True)
        return None
    if _VRAY_CREATE.match(text):
        if not session().renderer_loaded("vray"):
            raise MayaError('Cannot find procedure "vrayCreateVRaySettingsNode".')
        session().create_options("vray")
        return None
    match = _RS_OPTIONS.match(text)
    if match:
        if not session().renderer_loaded("redshift"):
            raise MayaError('Cannot find procedure "redshiftGetRedshiftOptionsNode".')
        # with true the node is created when missing; the name is returned either way
        # (an empty string when it does not exist and was not asked to be created)
        if match.group(1) in ("true", "1"):
            session().create_options("redshift")
        return "redshiftOptions" if session().exists("redshiftOptions") else ""
    match = _RS_EXT.match(text)
    if match:
        if not session().renderer_loaded("redshift"):
            raise MayaError('Cannot find procedure "redshiftGetImageExtension".')
        return REDSHIFT_EXTENSIONS.get(int(match.group(1)), "exr")
    name = text.strip().split("(")[0].split()[0] if text.strip() else ""
    raise MayaError(f'Cannot find procedure "{name}".')
