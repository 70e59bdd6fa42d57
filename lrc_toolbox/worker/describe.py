"""Describe the scene open in a Maya session as a :class:`SceneDescription`.

Used by ``mayapy -m lrc_toolbox.worker --describe SCENE`` (how the manager reads a binary
.mb, which only Maya can open) and by the ``describe`` command. ``cmds``/``mel`` are passed
in, so this asks Maya itself — layer by layer, through the legacy render-layer API that
also covers Render Setup (MAYA_REFERENCE §2, after deadline-cloud-for-maya's
``render_layers.py``) — rather than re-implementing what Maya already knows.
"""

from __future__ import annotations

import os
from typing import Any

from lrc_toolbox.records.renderers import MAYA_DEFAULT_RENDERER
from lrc_toolbox.scene.description import (
    MASTER_LAYER,
    MASTER_NODE,
    LayerDescription,
    SceneDescription,
    render_frames,
)
from lrc_toolbox.worker.mel import mel_call
from lrc_toolbox.worker.renderers import arnold_aovs

_GLOBALS = "defaultRenderGlobals"


def _get(cmds: Any, plug: str, default: Any) -> Any:
    try:
        value = cmds.getAttr(plug)
    except Exception:
        return default
    return default if value is None else value


def _layer_settings(cmds: Any) -> dict[str, Any]:
    return {
        "renderer": str(_get(cmds, f"{_GLOBALS}.currentRenderer", MAYA_DEFAULT_RENDERER)),
        "animation": bool(_get(cmds, f"{_GLOBALS}.animation", False)),
        "start_frame": float(_get(cmds, f"{_GLOBALS}.startFrame", 1.0)),
        "end_frame": float(_get(cmds, f"{_GLOBALS}.endFrame", 10.0)),
        "by_frame": float(_get(cmds, f"{_GLOBALS}.byFrameStep", 1.0)),
        "image_prefix": str(_get(cmds, f"{_GLOBALS}.imageFilePrefix", "") or ""),
        "resolution": (
            int(_get(cmds, "defaultResolution.width", 640)),
            int(_get(cmds, "defaultResolution.height", 480)),
        ),
    }


def _all_cameras(cmds: Any) -> list[str]:
    """Every camera shape and its transform (``--camera`` may name either)."""
    names: list[str] = []
    for shape in cmds.ls(type="camera") or []:
        for name in [*(cmds.listRelatives(shape, parent=True) or []), shape]:
            if str(name) not in names:
                names.append(str(name))
    return names


def _cameras(cmds: Any) -> list[str]:
    shapes = []
    for shape in cmds.ls(type="camera") or []:
        if _get(cmds, f"{shape}.renderable", False):
            shapes.append(str(shape))
    return shapes


def describe_open_scene(cmds: Any, mel: Any, path: str | None = None) -> SceneDescription:
    """Ask Maya for every layer's renderer, frames, prefix and cameras.

    Switches through the layers and back to the one that was current, so the scene is
    left as it was found.
    """
    scene_path = path or str(cmds.file(query=True, sceneName=True) or "")
    current_time = float(cmds.currentTime(query=True))
    original = None
    try:
        original = cmds.editRenderLayerGlobals(query=True, currentRenderLayer=True)
        cmds.editRenderLayerGlobals(currentRenderLayer=MASTER_NODE)
    except Exception:
        pass
    master = _layer_settings(cmds)
    description = SceneDescription(
        path=os.path.abspath(scene_path) if scene_path else "",
        maya_version=str(cmds.about(version=True)),
        time_unit=str(cmds.currentUnit(query=True, time=True)),
        current_time=current_time,
        renderable_cameras=_cameras(cmds),
        cameras=_all_cameras(cmds),
    )
    warnings: list[str] = []
    nodes = [str(n) for n in cmds.ls(type="renderLayer") or [] if ":" not in str(n)]
    if MASTER_NODE in nodes:
        nodes.remove(MASTER_NODE)
    nodes.insert(0, MASTER_NODE)
    for node in nodes:
        try:
            cmds.editRenderLayerGlobals(currentRenderLayer=node)
        except Exception as exc:
            warnings.append(f"layer {node}: could not switch to it ({exc}); skipped")
            continue
        settings = _layer_settings(cmds) if node != MASTER_NODE else master
        if node == MASTER_NODE:
            name = MASTER_LAYER
        else:
            try:
                name = str(mel.eval(mel_call("renderLayerDisplayName", node)) or node)
            except Exception:
                name = node
        frames, frame_warnings = render_frames(
            settings["animation"],
            settings["start_frame"],
            settings["end_frame"],
            settings["by_frame"],
            current_time,
            label=f"layer {name}: ",
        )
        warnings += frame_warnings
        overrides = {
            f"{_GLOBALS}.{key}": value
            for key, value in settings.items()
            if key != "resolution" and value != master[key]
        }
        description.layers.append(
            LayerDescription(
                name=name,
                node=node,
                master=node == MASTER_NODE,
                renderable=bool(_get(cmds, f"{node}.renderable", True)),
                renderer=settings["renderer"],
                animation=settings["animation"],
                start_frame=settings["start_frame"],
                end_frame=settings["end_frame"],
                by_frame=settings["by_frame"],
                image_prefix=settings["image_prefix"],
                frames=frames,
                overrides=overrides,
                legacy=not node.startswith("rs_") and node != MASTER_NODE,
                cameras=_cameras(cmds),
                resolution=settings["resolution"],
            )
        )
    if original:
        try:
            cmds.editRenderLayerGlobals(currentRenderLayer=original)
        except Exception:
            pass
    for key in ("renderer", "animation", "start_frame", "end_frame", "by_frame", "image_prefix"):
        setattr(description, key, master[key])
    description.resolution = master["resolution"]
    description.render_setup = any(n.startswith("rs_") for n in nodes)
    description.arnold_aovs = arnold_aovs(cmds)
    description.warnings = warnings
    return description
